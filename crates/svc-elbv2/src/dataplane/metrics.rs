//! What the load balancers count for CloudWatch (AWS/ApplicationELB, AWS/NetworkELB),
//! taken each minute of nubo's clock by the composition root: requests, response codes,
//! target response time, connections, and healthy/unhealthy hosts per target group.

use super::live::Taken;
use super::Plane;
use nubo_core::Scope;
use std::collections::HashMap;

/// One figure for CloudWatch.
#[derive(Debug, Clone)]
pub struct Datum {
    pub scope: Scope,
    pub namespace: &'static str,
    pub name: &'static str,
    pub dimensions: Vec<(String, String)>,
    pub value: f64,
    pub unit: &'static str,
}

/// `app/<name>/<id>` from a load balancer ARN; `targetgroup/<name>/<id>` from a group's.
fn dimension(arn: &str, marker: &str) -> String {
    arn.split_once(marker).map(|(_, rest)| rest.to_string()).unwrap_or_default()
}

impl Plane {
    /// The figures of the minute that ended, and a fresh start for the next.
    pub fn take_metrics(&self) -> Vec<Datum> {
        let view = self.view();
        let mut out = Vec::new();
        // Each group's counts go to the load balancers that use it.
        let groups: HashMap<&String, Taken> = view.routing.iter().map(|(arn, r)| (arn, r.group.counts.take())).collect();
        for (arn, (scope, lb)) in &view.load_balancers {
            let namespace = if lb.kind == "network" { "AWS/NetworkELB" } else { "AWS/ApplicationELB" };
            let lb_dim = dimension(arn, "loadbalancer/");
            let lb_dims = vec![("LoadBalancer".to_string(), lb_dim.clone())];
            let datum = |name: &'static str, dims: Vec<(String, String)>, value: f64, unit: &'static str| Datum { scope: scope.clone(), namespace, name, dimensions: dims, value, unit };
            let mut t = view.counts.get(arn).map(|c| c.take()).unwrap_or_default();
            let used: Vec<&String> = view
                .target_groups
                .keys()
                .filter(|tg_arn| {
                    view.listeners.values().filter(|l| &l.load_balancer_arn == arn).any(|l| {
                        let rules = view.rules.get(&l.arn).into_iter().flatten().flat_map(|r| r.actions.iter());
                        l.default_actions.iter().chain(rules).any(|a| a.target_groups.iter().any(|(g, _)| g == *tg_arn))
                    })
                })
                .collect();
            for g in &used {
                t += groups.get(g).copied().unwrap_or_default();
            }
            if lb.kind == "network" {
                out.push(datum("NewFlowCount", lb_dims.clone(), t.connections as f64, "Count"));
            } else {
                out.push(datum("RequestCount", lb_dims.clone(), t.requests as f64, "Count"));
                out.push(datum("HTTPCode_Target_2XX_Count", lb_dims.clone(), t.target_2xx as f64, "Count"));
                out.push(datum("HTTPCode_Target_3XX_Count", lb_dims.clone(), t.target_3xx as f64, "Count"));
                out.push(datum("HTTPCode_Target_4XX_Count", lb_dims.clone(), t.target_4xx as f64, "Count"));
                out.push(datum("HTTPCode_Target_5XX_Count", lb_dims.clone(), t.target_5xx as f64, "Count"));
                out.push(datum("HTTPCode_ELB_4XX_Count", lb_dims.clone(), t.elb_4xx as f64, "Count"));
                out.push(datum("HTTPCode_ELB_5XX_Count", lb_dims.clone(), t.elb_5xx as f64, "Count"));
                out.push(datum("ActiveConnectionCount", lb_dims.clone(), t.connections as f64, "Count"));
                if t.responses > 0 {
                    out.push(datum("TargetResponseTime", lb_dims.clone(), t.response_seconds / t.responses as f64, "Seconds"));
                }
            }
            // Per target group of this load balancer: hosts and requests per target.
            for tg_arn in used {
                let Some((_, tg)) = view.target_groups.get(tg_arn) else { continue };
                let dims = vec![("TargetGroup".to_string(), format!("targetgroup/{}", dimension(tg_arn, "targetgroup/"))), ("LoadBalancer".to_string(), lb_dim.clone())];
                let live: Vec<usize> = (0..tg.targets.len()).filter(|&i| tg.targets[i].draining_since.is_none()).collect();
                let healthy = view.routing.get(tg_arn).map_or(0, |r| live.iter().filter(|&&i| r.targets[i].healthy()).count());
                out.push(datum("HealthyHostCount", dims.clone(), healthy as f64, "Count"));
                out.push(datum("UnHealthyHostCount", dims.clone(), (live.len() - healthy) as f64, "Count"));
                if lb.kind != "network" {
                    let requests = groups.get(tg_arn).map_or(0, |c| c.requests);
                    let per_target = if live.is_empty() { 0.0 } else { requests as f64 / live.len() as f64 };
                    out.push(datum("RequestCount", dims.clone(), requests as f64, "Count"));
                    out.push(datum("RequestCountPerTarget", dims[..1].to_vec(), per_target, "Count"));
                    out.push(datum("RequestCountPerTarget", dims.clone(), per_target, "Count"));
                }
            }
        }
        out
    }
}
