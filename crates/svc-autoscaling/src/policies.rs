//! Scaling policies: simple and step scaling with cooldowns, and target tracking, which
//! creates and owns the CloudWatch alarms AWS creates for it (AlarmHigh after 3 one-minute
//! periods above the target, AlarmLow after 15 below 90 % of it). An alarm in ALARM
//! executes its policy ([`AutoScaling::alarm_fired`]) with the breaching value.

use crate::error::{AsError, Result};
use crate::groups::when;
use crate::records::{self, GroupRecord, PolicyRecord, StepRecord, TrackingRecord, POLICIES};
use crate::{AlarmSpec, AutoScaling};
use nubo_core::Scope;
use nubo_model::generated::autoscaling::*;

fn policy_key(group: &str, name: &str) -> String {
    format!("{group}\u{1}{name}")
}

fn policy_out(p: &PolicyRecord) -> ScalingPolicy {
    ScalingPolicy {
        auto_scaling_group_name: Some(p.group.clone()),
        policy_name: Some(p.name.clone()),
        policy_arn: Some(p.arn.clone()),
        policy_type: Some(p.kind.clone()),
        adjustment_type: p.adjustment_type.clone(),
        scaling_adjustment: p.scaling_adjustment,
        min_adjustment_magnitude: p.min_adjustment_magnitude,
        cooldown: p.cooldown,
        step_adjustments: (!p.steps.is_empty())
            .then(|| p.steps.iter().map(|s| StepAdjustment { metric_interval_lower_bound: s.lower, metric_interval_upper_bound: s.upper, scaling_adjustment: s.adjustment }).collect()),
        metric_aggregation_type: p.metric_aggregation_type.clone(),
        estimated_instance_warmup: p.warmup,
        alarms: Some(p.alarms.iter().map(|(n, a)| Alarm { alarm_name: Some(n.clone()), alarm_arn: Some(a.clone()) }).collect()),
        target_tracking_configuration: p.tracking.as_ref().map(|t| TargetTrackingConfiguration {
            predefined_metric_specification: (t.metric_type != "Customized").then(|| PredefinedMetricSpecification { predefined_metric_type: t.metric_type.clone(), resource_label: t.resource_label.clone() }),
            customized_metric_specification: t.custom.as_ref().map(|(ns, name, stat, dims)| CustomizedMetricSpecification {
                metric_name: Some(name.clone()),
                namespace: Some(ns.clone()),
                statistic: Some(stat.clone()),
                dimensions: Some(dims.iter().map(|(n, v)| MetricDimension { name: n.clone(), value: v.clone() }).collect()),
                ..Default::default()
            }),
            target_value: t.target,
            disable_scale_in: Some(t.disable_scale_in),
        }),
        enabled: Some(p.enabled),
        ..Default::default()
    }
}

/// The metric a target tracking policy watches: (namespace, name, statistic, dimensions).
fn tracked_metric(t: &TrackingRecord, group: &str) -> Result<(String, String, String, Vec<(String, String)>)> {
    let asg = vec![("AutoScalingGroupName".to_string(), group.to_string())];
    Ok(match t.metric_type.as_str() {
        "ASGAverageCPUUtilization" => ("AWS/EC2".into(), "CPUUtilization".into(), "Average".into(), asg),
        "ASGAverageNetworkIn" => ("AWS/EC2".into(), "NetworkIn".into(), "Average".into(), asg),
        "ASGAverageNetworkOut" => ("AWS/EC2".into(), "NetworkOut".into(), "Average".into(), asg),
        "ALBRequestCountPerTarget" => {
            // app/<lb name>/<lb id>/targetgroup/<tg name>/<tg id>
            let label = t.resource_label.clone().ok_or_else(|| AsError::Validation("ResourceLabel is required for ALBRequestCountPerTarget".into()))?;
            let tg = label.split_once("/targetgroup/").map(|(_, tg)| format!("targetgroup/{tg}")).ok_or_else(|| AsError::Validation(format!("Invalid ResourceLabel: {label}")))?;
            ("AWS/ApplicationELB".into(), "RequestCountPerTarget".into(), "Sum".into(), vec![("TargetGroup".into(), tg)])
        }
        "Customized" => t.custom.clone().ok_or_else(|| AsError::Validation("A customized metric specification is required".into()))?,
        other => return Err(AsError::Validation(format!("Unknown predefined metric type: {other}"))),
    })
}

impl AutoScaling {
    pub(crate) fn put_policy(&self, scope: &Scope, input: PutScalingPolicyType) -> Result<PolicyARNType> {
        let g = self.group(scope, &input.auto_scaling_group_name)?;
        let kind = input.policy_type.clone().unwrap_or_else(|| "SimpleScaling".into());
        let key = policy_key(&g.name, &input.policy_name);
        let existing: Option<PolicyRecord> = self.read(|tx| Ok(records::get(tx, POLICIES, scope, &key)?))?;
        let arn = existing.as_ref().map(|p| p.arn.clone()).unwrap_or_else(|| {
            format!("arn:aws:autoscaling:{}:{}:scalingPolicy:{}:autoScalingGroupName/{}:policyName/{}", scope.region, scope.account, nubo_core::ids::uuid(), g.name, input.policy_name)
        });
        let mut record = PolicyRecord {
            name: input.policy_name.clone(),
            arn: arn.clone(),
            group: g.name.clone(),
            kind: kind.clone(),
            adjustment_type: input.adjustment_type.clone(),
            scaling_adjustment: input.scaling_adjustment,
            min_adjustment_magnitude: input.min_adjustment_magnitude,
            cooldown: input.cooldown,
            steps: input.step_adjustments.clone().unwrap_or_default().into_iter().map(|s| StepRecord { lower: s.metric_interval_lower_bound, upper: s.metric_interval_upper_bound, adjustment: s.scaling_adjustment }).collect(),
            metric_aggregation_type: input.metric_aggregation_type.clone().or_else(|| (kind == "StepScaling").then(|| "Average".into())),
            warmup: input.estimated_instance_warmup,
            tracking: None,
            alarms: Vec::new(),
            enabled: input.enabled.unwrap_or(true),
        };
        match kind.as_str() {
            "SimpleScaling" => {
                if input.scaling_adjustment.is_none() {
                    return Err(AsError::Validation("ScalingAdjustment is required for SimpleScaling policies".into()));
                }
                if record.adjustment_type.is_none() {
                    return Err(AsError::Validation("AdjustmentType is required for SimpleScaling policies".into()));
                }
            }
            "StepScaling" => {
                if record.steps.is_empty() {
                    return Err(AsError::Validation("StepAdjustments are required for StepScaling policies".into()));
                }
                if record.adjustment_type.is_none() {
                    return Err(AsError::Validation("AdjustmentType is required for StepScaling policies".into()));
                }
            }
            "TargetTrackingScaling" => {
                let c = input.target_tracking_configuration.clone().ok_or_else(|| AsError::Validation("TargetTrackingConfiguration is required for TargetTrackingScaling policies".into()))?;
                let tracking = TrackingRecord {
                    metric_type: c.predefined_metric_specification.as_ref().map(|p| p.predefined_metric_type.clone()).unwrap_or_else(|| "Customized".into()),
                    resource_label: c.predefined_metric_specification.as_ref().and_then(|p| p.resource_label.clone()),
                    custom: c.customized_metric_specification.as_ref().map(|m| {
                        (
                            m.namespace.clone().unwrap_or_default(),
                            m.metric_name.clone().unwrap_or_default(),
                            m.statistic.clone().unwrap_or_else(|| "Average".into()),
                            m.dimensions.clone().unwrap_or_default().into_iter().map(|d| (d.name, d.value)).collect(),
                        )
                    }),
                    target: c.target_value,
                    disable_scale_in: c.disable_scale_in.unwrap_or(false),
                };
                let (namespace, metric, statistic, dimensions) = tracked_metric(&tracking, &g.name)?;
                // The alarms are made again on each put, as AWS replaces them.
                if let Some(old) = &existing {
                    self.alarms.delete(scope, &old.alarms.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>());
                }
                let description = format!("DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {arn}.");
                let mut specs = vec![AlarmSpec {
                    name: format!("TargetTracking-{}-AlarmHigh-{}", g.name, nubo_core::ids::uuid()),
                    description: description.clone(),
                    namespace: namespace.clone(),
                    metric: metric.clone(),
                    dimensions: dimensions.clone(),
                    statistic: statistic.clone(),
                    period: 60,
                    evaluation_periods: 3,
                    threshold: tracking.target,
                    comparison: "GreaterThanThreshold".into(),
                    actions: vec![arn.clone()],
                }];
                if !tracking.disable_scale_in {
                    specs.push(AlarmSpec {
                        name: format!("TargetTracking-{}-AlarmLow-{}", g.name, nubo_core::ids::uuid()),
                        description,
                        namespace,
                        metric,
                        dimensions,
                        statistic,
                        period: 60,
                        evaluation_periods: 15,
                        threshold: tracking.target * 0.9,
                        comparison: "LessThanThreshold".into(),
                        actions: vec![arn.clone()],
                    });
                }
                for s in specs {
                    let name = s.name.clone();
                    self.alarms.put(scope, s).map_err(AsError::Internal)?;
                    record.alarms.push((name.clone(), format!("arn:aws:cloudwatch:{}:{}:alarm:{name}", scope.region, scope.account)));
                }
                record.tracking = Some(tracking);
            }
            "PredictiveScaling" => {}
            other => return Err(AsError::Validation(format!("Invalid policy type: {other}"))),
        }
        let alarms = record.alarms.clone();
        self.write(|tx| Ok(records::put(tx, POLICIES, scope, &key, &record)?))?;
        Ok(PolicyARNType { policy_arn: Some(arn), alarms: Some(alarms.into_iter().map(|(n, a)| Alarm { alarm_name: Some(n), alarm_arn: Some(a) }).collect()) })
    }

    pub(crate) fn describe_policies_op(&self, scope: &Scope, input: DescribePoliciesType) -> Result<PoliciesType> {
        let all: Vec<PolicyRecord> = self.read(|tx| Ok(records::all(tx, POLICIES, scope)?))?;
        let out = all
            .iter()
            .filter(|p| input.auto_scaling_group_name.as_ref().is_none_or(|g| &p.group == g))
            .filter(|p| input.policy_names.as_ref().is_none_or(|n| n.contains(&p.name) || n.contains(&p.arn)))
            .filter(|p| input.policy_types.as_ref().is_none_or(|t| t.contains(&p.kind)))
            .map(policy_out)
            .collect();
        Ok(PoliciesType { scaling_policies: Some(out), next_token: None })
    }

    fn find_policy(&self, scope: &Scope, group: Option<&str>, name_or_arn: &str) -> Result<PolicyRecord> {
        let all: Vec<PolicyRecord> = self.read(|tx| Ok(records::all(tx, POLICIES, scope)?))?;
        all.into_iter()
            .find(|p| (p.arn == name_or_arn) || (p.name == name_or_arn && group.is_none_or(|g| g == p.group)))
            .ok_or_else(|| AsError::Validation(format!("No scaling policy found for service namespace: autoscaling, resource ID: {}, scalable dimension: autoScalingGroup:DesiredCapacity, policy name: {name_or_arn}", group.unwrap_or_default())))
    }

    pub(crate) fn delete_policy_op(&self, scope: &Scope, group: Option<&str>, name: &str) -> Result<()> {
        let p = self.find_policy(scope, group, name)?;
        self.alarms.delete(scope, &p.alarms.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>());
        self.write(|tx| {
            tx.delete(POLICIES, &records::key(scope, &policy_key(&p.group, &p.name)))?;
            Ok(())
        })
    }

    pub(crate) fn execute_policy_op(&self, scope: &Scope, input: ExecutePolicyType) -> Result<()> {
        let p = self.find_policy(scope, input.auto_scaling_group_name.as_deref(), &input.policy_name)?;
        if p.kind == "StepScaling" && (input.metric_value.is_none() || input.breach_threshold.is_none()) {
            return Err(AsError::Validation("MetricValue and BreachThreshold are required for step scaling policies".into()));
        }
        self.execute(scope, &p, input.metric_value, input.breach_threshold, input.honor_cooldown.unwrap_or(false), "a user request executed policy")
    }

    /// A CloudWatch alarm in ALARM executes a policy (found by its ARN in any scope) with
    /// the breaching value and the alarm's threshold.
    pub fn alarm_fired(&self, policy_arn: &str, alarm_name: &str, value: Option<f64>, threshold: f64) -> std::result::Result<(), String> {
        let mut parts = policy_arn.split(':');
        let (region, account) = (parts.nth(3).unwrap_or_default().to_string(), parts.next().unwrap_or_default().to_string());
        let scope = Scope::new(account, region);
        let all: Vec<PolicyRecord> = self.read(|tx| Ok(records::all(tx, POLICIES, &scope)?)).map_err(|e| format!("{e:?}"))?;
        let p = all.into_iter().find(|p| p.arn == policy_arn).ok_or_else(|| format!("no policy {policy_arn}"))?;
        if !p.enabled {
            return Ok(());
        }
        let cause = format!("monitor alarm {alarm_name} in state ALARM triggered policy {}", p.name);
        self.execute(&scope, &p, value, Some(threshold), true, &cause).map_err(|e| format!("{e:?}"))
    }

    /// What a policy does to the desired capacity, with cooldowns as AWS applies them.
    fn execute(&self, scope: &Scope, p: &PolicyRecord, value: Option<f64>, threshold: Option<f64>, honor_cooldown: bool, cause: &str) -> Result<()> {
        let g: GroupRecord = self.group(scope, &p.group)?;
        let now = self.clock.now();
        let current = g.desired;
        // Instances still warming up do not count toward the capacity a scale-out starts
        // from, so repeated breaches within one step's range launch once, as on AWS.
        let warmup = i64::from(p.warmup.or(g.default_instance_warmup).unwrap_or(g.default_cooldown));
        let base = current - warming(&g, warmup, now);
        let adjusted = |kind: &str, adjustment: i32, current: i32| -> i32 {
            match kind {
                "ExactCapacity" => adjustment,
                "PercentChangeInCapacity" => {
                    let delta = (f64::from(current) * f64::from(adjustment) / 100.0).trunc() as i32;
                    let delta = if delta == 0 && adjustment != 0 { adjustment.signum() * p.min_adjustment_magnitude.unwrap_or(1).max(1) } else { delta };
                    current + delta
                }
                _ => current + adjustment,
            }
        };
        let target = match p.kind.as_str() {
            "TargetTrackingScaling" => {
                let t = p.tracking.as_ref().expect("target tracking policies track");
                let Some(v) = value else { return Ok(()) };
                let scale_in = v < t.target * 0.9;
                let wanted = (f64::from(if scale_in { current } else { base }) * v / t.target).ceil() as i32;
                let wanted = if scale_in { wanted.min(current) } else { wanted.max(current) };
                if wanted < current && t.disable_scale_in {
                    return Ok(());
                }
                // Scale-in waits until recently launched instances have warmed up.
                if wanted < current && g.cooldown_from.is_some_and(|c| now.as_millis() < c.as_millis() + warmup * 1000) {
                    return Ok(());
                }
                wanted
            }
            "StepScaling" => {
                let (Some(v), Some(th)) = (value, threshold) else { return Ok(()) };
                let over = v - th;
                let step = p.steps.iter().find(|s| s.lower.is_none_or(|l| over >= l) && s.upper.is_none_or(|u| over < u));
                let Some(step) = step else { return Ok(()) };
                let wanted = adjusted(p.adjustment_type.as_deref().unwrap_or("ChangeInCapacity"), step.adjustment, if step.adjustment > 0 { base } else { current });
                if step.adjustment > 0 && wanted <= current {
                    return Ok(());
                }
                wanted
            }
            "SimpleScaling" => {
                let cooldown = i64::from(p.cooldown.unwrap_or(g.default_cooldown));
                if honor_cooldown && g.cooldown_from.is_some_and(|c| now.as_millis() < c.as_millis() + cooldown * 1000) {
                    return Err(AsError::ScalingActivityInProgress("Scaling activity is in progress and blocks this action".into()));
                }
                adjusted(p.adjustment_type.as_deref().unwrap_or("ChangeInCapacity"), p.scaling_adjustment.unwrap_or(0), current)
            }
            _ => return Ok(()),
        };
        let target = target.clamp(g.min, g.max);
        if target == current {
            return Ok(());
        }
        self.update(scope, &g.name, |g, tx| {
            let old = g.desired;
            g.desired = target;
            g.cooldown_from = Some(now);
            let verb = if target > old { "increasing" } else { "shrinking" };
            self.note_desired(tx, scope, g, old, format!("At {} a {cause} changing the desired capacity from {old} to {target}.  At {} an instance was {} in response to a difference between desired and actual capacity, {verb} the capacity from {old} to {target}.", when(now), when(now), if target > old { "started" } else { "taken out of service" }))
        })
    }
}

/// Members launched but not yet past the warm-up (seconds) after entering service.
fn warming(g: &GroupRecord, warmup: i64, now: nubo_core::Timestamp) -> i32 {
    g.members
        .iter()
        .filter(|m| crate::controller::counted(m) && m.lifecycle != "Standby")
        .filter(|m| m.lifecycle.starts_with("Pending") || m.in_service_since.is_some_and(|t| t.as_millis() + warmup * 1000 > now.as_millis()))
        .count() as i32
}
