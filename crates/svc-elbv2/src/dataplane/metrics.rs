//! What the load balancers count for CloudWatch (AWS/ApplicationELB, AWS/NetworkELB),
//! taken each minute of nubo's clock by the composition root: requests, response codes,
//! target response time, connections, and healthy/unhealthy hosts per target group.

use super::{health, Plane};
use nubo_core::Scope;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default, Clone)]
struct Counts {
    requests: u64,
    target_2xx: u64,
    target_3xx: u64,
    target_4xx: u64,
    target_5xx: u64,
    elb_4xx: u64,
    elb_5xx: u64,
    response_seconds: f64,
    responses: u64,
    connections: u64,
}

/// Counts since the last take, per (load balancer, target group).
#[derive(Default)]
pub struct Meter {
    counts: Mutex<HashMap<(String, Option<String>), Counts>>,
}

impl Meter {
    pub fn connection(&self, lb: &str) {
        self.counts.lock().unwrap().entry((lb.to_string(), None)).or_default().connections += 1;
    }

    /// A request answered by the load balancer itself (`status` ≥ 400: an ELB error).
    pub fn own_answer(&self, lb: &str, status: u16) {
        let mut counts = self.counts.lock().unwrap();
        let c = counts.entry((lb.to_string(), None)).or_default();
        c.requests += 1;
        match status {
            400..=499 => c.elb_4xx += 1,
            500..=599 => c.elb_5xx += 1,
            _ => {}
        }
    }

    /// A request a target answered.
    pub fn target_answer(&self, lb: &str, tg: &str, status: u16, seconds: f64) {
        let mut counts = self.counts.lock().unwrap();
        let c = counts.entry((lb.to_string(), Some(tg.to_string()))).or_default();
        c.requests += 1;
        c.responses += 1;
        c.response_seconds += seconds;
        match status {
            200..=299 => c.target_2xx += 1,
            300..=399 => c.target_3xx += 1,
            400..=499 => c.target_4xx += 1,
            _ => c.target_5xx += 1,
        }
    }
}

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
        let counts = std::mem::take(&mut *self.meter.counts.lock().unwrap());
        let view = self.view();
        let mut out = Vec::new();
        let mut totals: HashMap<String, Counts> = HashMap::new();
        for ((lb_arn, tg), c) in &counts {
            let t = totals.entry(lb_arn.clone()).or_default();
            t.requests += c.requests;
            t.target_2xx += c.target_2xx;
            t.target_3xx += c.target_3xx;
            t.target_4xx += c.target_4xx;
            t.target_5xx += c.target_5xx;
            t.elb_4xx += c.elb_4xx;
            t.elb_5xx += c.elb_5xx;
            t.response_seconds += c.response_seconds;
            t.responses += c.responses;
            t.connections += c.connections;
            let _ = tg;
        }
        for (arn, (scope, lb)) in &view.load_balancers {
            let namespace = if lb.kind == "network" { "AWS/NetworkELB" } else { "AWS/ApplicationELB" };
            let lb_dim = dimension(arn, "loadbalancer/");
            let lb_dims = vec![("LoadBalancer".to_string(), lb_dim.clone())];
            let datum = |name: &'static str, dims: Vec<(String, String)>, value: f64, unit: &'static str| Datum { scope: scope.clone(), namespace, name, dimensions: dims, value, unit };
            let t = totals.get(arn).cloned().unwrap_or_default();
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
            for (tg_arn, (_, tg)) in &view.target_groups {
                let used = view.listeners.values().filter(|l| &l.load_balancer_arn == arn).any(|l| {
                    let rules = view.rules.get(&l.arn).into_iter().flatten().flat_map(|r| r.actions.iter());
                    l.default_actions.iter().chain(rules).any(|a| a.target_groups.iter().any(|(g, _)| g == tg_arn))
                });
                if !used {
                    continue;
                }
                let dims = vec![("TargetGroup".to_string(), format!("targetgroup/{}", dimension(tg_arn, "targetgroup/"))), ("LoadBalancer".to_string(), lb_dim.clone())];
                let live: Vec<_> = tg.targets.iter().filter(|t| t.draining_since.is_none()).collect();
                let healthy = live.iter().filter(|t| self.health.state(&health::TargetKey::of(tg_arn, t)) == health::State::Healthy).count();
                out.push(datum("HealthyHostCount", dims.clone(), healthy as f64, "Count"));
                out.push(datum("UnHealthyHostCount", dims.clone(), (live.len() - healthy) as f64, "Count"));
                if lb.kind != "network" {
                    let requests = counts.get(&(arn.clone(), Some(tg_arn.clone()))).map_or(0, |c| c.requests);
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
