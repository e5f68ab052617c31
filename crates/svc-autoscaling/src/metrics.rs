//! Group metrics (EnableMetricsCollection): each minute of nubo's clock, a group's sizes
//! and its instances by lifecycle state, to CloudWatch AWS/AutoScaling with the
//! `AutoScalingGroupName` dimension, as Auto Scaling publishes them. Capacity metrics
//! count instances (every instance weighs 1); warm pool metrics are 0 (no warm pools).

use crate::error::{AsError, Result};
use crate::records::{self, GroupRecord, GROUPS};
use crate::AutoScaling;
use nubo_core::Scope;
use nubo_model::generated::autoscaling::*;

/// (scope, group name, [(metric, value)]).
pub type GroupFigures = (Scope, String, Vec<(String, f64)>);

/// Every metric Auto Scaling collects, in AWS's order.
pub const METRICS: &[&str] = &[
    "GroupMinSize",
    "GroupMaxSize",
    "GroupDesiredCapacity",
    "GroupInServiceInstances",
    "GroupPendingInstances",
    "GroupStandbyInstances",
    "GroupTerminatingInstances",
    "GroupTotalInstances",
    "GroupInServiceCapacity",
    "GroupPendingCapacity",
    "GroupStandbyCapacity",
    "GroupTerminatingCapacity",
    "GroupTotalCapacity",
    "WarmPoolDesiredCapacity",
    "WarmPoolWarmedCapacity",
    "WarmPoolPendingCapacity",
    "WarmPoolTerminatingCapacity",
    "WarmPoolTotalCapacity",
    "GroupAndWarmPoolDesiredCapacity",
    "GroupAndWarmPoolTotalCapacity",
];

/// A metric's value for a group now.
fn value(g: &GroupRecord, metric: &str) -> f64 {
    let count = |f: &dyn Fn(&str) -> bool| g.members.iter().filter(|m| f(&m.lifecycle)).count() as f64;
    let in_service = || count(&|l| l == "InService");
    let pending = || count(&|l| l.starts_with("Pending"));
    let standby = || count(&|l| l.contains("Standby"));
    let terminating = || count(&|l| l.starts_with("Terminating"));
    let total = || count(&|l| l != "Terminated" && l != "Detached");
    match metric {
        "GroupMinSize" => f64::from(g.min),
        "GroupMaxSize" => f64::from(g.max),
        "GroupDesiredCapacity" | "GroupAndWarmPoolDesiredCapacity" => f64::from(g.desired),
        "GroupInServiceInstances" | "GroupInServiceCapacity" => in_service(),
        "GroupPendingInstances" | "GroupPendingCapacity" => pending(),
        "GroupStandbyInstances" | "GroupStandbyCapacity" => standby(),
        "GroupTerminatingInstances" | "GroupTerminatingCapacity" => terminating(),
        "GroupTotalInstances" | "GroupTotalCapacity" | "GroupAndWarmPoolTotalCapacity" => total(),
        _ => 0.0,
    }
}

impl AutoScaling {
    pub(crate) fn enable_metrics(&self, scope: &Scope, input: EnableMetricsCollectionQuery) -> Result<()> {
        if input.granularity != "1Minute" {
            return Err(AsError::Validation(format!("Valid granularity values are: [1Minute]; {} is not valid", input.granularity)));
        }
        let wanted = input.metrics.filter(|m| !m.is_empty()).unwrap_or_else(|| METRICS.iter().map(|m| m.to_string()).collect());
        if let Some(bad) = wanted.iter().find(|m| !METRICS.contains(&m.as_str())) {
            return Err(AsError::Validation(format!("Metric {bad} is not valid. Valid metrics are: [{}]", METRICS.join(", "))));
        }
        self.update(scope, &input.auto_scaling_group_name, |g, _| {
            for m in wanted {
                if !g.metrics.contains(&m) {
                    g.metrics.push(m);
                }
            }
            g.metrics.sort_by_key(|m| METRICS.iter().position(|x| x == m));
            Ok(())
        })
    }

    pub(crate) fn disable_metrics(&self, scope: &Scope, input: DisableMetricsCollectionQuery) -> Result<()> {
        self.update(scope, &input.auto_scaling_group_name, |g, _| {
            match input.metrics.filter(|m| !m.is_empty()) {
                Some(some) => g.metrics.retain(|m| !some.contains(m)),
                None => g.metrics.clear(),
            }
            Ok(())
        })
    }

    /// The values of every group's enabled metrics now.
    pub fn group_metrics(&self) -> Vec<GroupFigures> {
        let groups: Vec<(Scope, GroupRecord)> = self.read(|tx| Ok(records::everywhere(tx, GROUPS)?)).unwrap_or_default();
        groups
            .into_iter()
            .filter(|(_, g)| !g.metrics.is_empty())
            .map(|(scope, g)| {
                let values = g.metrics.iter().map(|m| (m.clone(), value(&g, m))).collect();
                (scope, g.name, values)
            })
            .collect()
    }
}

pub fn collection_types() -> DescribeMetricCollectionTypesAnswer {
    DescribeMetricCollectionTypesAnswer {
        metrics: Some(METRICS.iter().map(|m| MetricCollectionType { metric: Some(m.to_string()) }).collect()),
        granularities: Some(vec![MetricGranularityType { granularity: Some("1Minute".into()) }]),
    }
}
