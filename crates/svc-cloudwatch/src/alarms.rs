//! Metric alarms: their configuration, their state machine (INSUFFICIENT_DATA → ALARM ↔ OK),
//! their history, and the actions a transition takes.
//!
//! Every state change goes through [`CloudWatch::transition`]: it writes the new state and a
//! history item in one transaction and then runs the actions (SNS through the
//! [`AlarmActions`] seam). The evaluation itself is a pure function ([`evaluate`]) of the
//! alarm and its datapoints; [`run`] is the controller that applies it on the clock.

use crate::error::{CwError, Result};
use crate::metrics::{identity, sorted_dims};
use crate::CloudWatch;
use nubo_core::{Scope, Timestamp};
use nubo_model::generated::cloudwatch::*;
use nubo_store::{get_json, put_json, scan_json};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub const ALARMS: &str = "cloudwatch.alarms";
pub const HISTORY: &str = "cloudwatch.alarm-history";

/// Why an action could not be taken.
#[derive(Debug, Clone)]
pub struct ActionError(pub String);

pub type ActionFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = std::result::Result<(), ActionError>> + Send + 'a>>;

/// How CloudWatch reaches the services alarm actions name. Each resolves once the other
/// service took the action (or not), so the history tells what happened.
pub trait AlarmActions: Send + Sync + 'static {
    /// Publishes an alarm notification to an SNS topic.
    fn publish<'a>(&'a self, topic_arn: &'a str, subject: &'a str, message: &'a str) -> ActionFuture<'a>;

    /// Stops, terminates or reboots the instance an alarm watches (`arn:aws:automate:
    /// <region>:ec2:<action>` with the alarm's `InstanceId` dimension).
    fn ec2<'a>(&'a self, _scope: &'a Scope, instance_id: &'a str, action: &'a str) -> ActionFuture<'a> {
        Box::pin(async move { Err(ActionError(format!("no EC2 wired to {action} {instance_id}"))) })
    }

    /// Executes an Auto Scaling policy with the breaching value (the last datapoint the
    /// alarm evaluated) and the alarm's threshold, as CloudWatch hands them to Auto
    /// Scaling: step policies pick their step by the difference.
    fn scaling_policy<'a>(&'a self, policy_arn: &'a str, _alarm_name: &'a str, _value: Option<f64>, _threshold: f64) -> ActionFuture<'a> {
        Box::pin(async move { Err(ActionError(format!("no Auto Scaling wired to execute {policy_arn}"))) })
    }
}

pub struct NoActions;

impl AlarmActions for NoActions {
    fn publish<'a>(&'a self, topic_arn: &'a str, _: &'a str, _: &'a str) -> ActionFuture<'a> {
        Box::pin(async move { Err(ActionError(format!("no SNS wired to notify {topic_arn}"))) })
    }
}

/// What an alarm action ARN asks for.
enum ActionKind<'a> {
    Sns,
    Ec2(&'a str),
    ScalingPolicy,
    Unknown,
}

fn action_kind(arn: &str) -> ActionKind<'_> {
    if arn.starts_with("arn:aws:sns:") {
        return ActionKind::Sns;
    }
    if arn.starts_with("arn:aws:autoscaling:") && arn.contains(":scalingPolicy:") {
        return ActionKind::ScalingPolicy;
    }
    // arn:aws:automate:<region>:ec2:<stop|terminate|reboot|recover>
    match arn.strip_prefix("arn:aws:automate:").and_then(|r| r.split_once(":ec2:")) {
        Some((_, action @ ("stop" | "terminate" | "reboot" | "recover"))) => ActionKind::Ec2(action),
        _ => ActionKind::Unknown,
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlarmRecord {
    pub name: String,
    pub arn: String,
    pub account: String,
    pub region: String,
    pub description: Option<String>,
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: Vec<(String, String)>,
    /// `Average`, …, or a percentile (`p90`) for extended statistics.
    pub statistic: String,
    pub extended: bool,
    pub period: i32,
    pub evaluation_periods: i32,
    pub datapoints_to_alarm: i32,
    /// Whether the client set `DatapointsToAlarm` (AWS shows it only then).
    #[serde(default)]
    pub datapoints_given: bool,
    pub threshold: f64,
    pub comparison: String,
    pub treat_missing: String,
    pub unit: Option<String>,
    pub actions_enabled: bool,
    pub alarm_actions: Vec<String>,
    pub ok_actions: Vec<String>,
    pub insufficient_actions: Vec<String>,
    pub state: String,
    pub state_reason: String,
    pub state_reason_data: Option<String>,
    pub state_updated: Timestamp,
    pub configuration_updated: Timestamp,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    /// A composite alarm's AlarmRule (its metric fields are then unused).
    #[serde(default)]
    pub rule: Option<String>,
    /// A metric math alarm's queries (its metric fields are then unused).
    #[serde(default)]
    pub metrics: Option<Vec<crate::queries::Query>>,
}

impl AlarmRecord {
    /// A composite alarm's record before its configuration is filled in.
    pub fn composite(name: String) -> AlarmRecord {
        AlarmRecord {
            name,
            arn: String::new(),
            account: String::new(),
            region: String::new(),
            description: None,
            namespace: String::new(),
            metric_name: String::new(),
            dimensions: Vec::new(),
            statistic: String::new(),
            extended: false,
            period: 0,
            evaluation_periods: 0,
            datapoints_to_alarm: 0,
            datapoints_given: false,
            threshold: 0.0,
            comparison: String::new(),
            treat_missing: String::new(),
            unit: None,
            actions_enabled: true,
            alarm_actions: Vec::new(),
            ok_actions: Vec::new(),
            insufficient_actions: Vec::new(),
            state: "INSUFFICIENT_DATA".into(),
            state_reason: String::new(),
            state_reason_data: None,
            state_updated: Timestamp::from_millis(0),
            configuration_updated: Timestamp::from_millis(0),
            tags: Vec::new(),
            rule: None,
            metrics: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryRecord {
    pub alarm_name: String,
    pub timestamp: Timestamp,
    pub item_type: String,
    pub summary: String,
    pub data: String,
}

pub(crate) fn alarm_key(scope: &Scope, name: &str) -> Vec<u8> {
    nubo_store::key::key(&[&scope.account, &scope.region, name])
}

const COMPARISONS: &[&str] = &["GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold"];

fn breaches(comparison: &str, value: f64, threshold: f64) -> bool {
    match comparison {
        "GreaterThanOrEqualToThreshold" => value >= threshold,
        "GreaterThanThreshold" => value > threshold,
        "LessThanThreshold" => value < threshold,
        _ => value <= threshold,
    }
}

fn comparison_words(comparison: &str) -> &'static str {
    match comparison {
        "GreaterThanOrEqualToThreshold" => "greater than or equal to",
        "GreaterThanThreshold" => "greater than",
        "LessThanThreshold" => "less than",
        _ => "less than or equal to",
    }
}

/// `23/11/26 13:45:00`, as state reasons print datapoint times.
fn reason_time(t: Timestamp) -> String {
    let iso = t.to_iso8601_seconds();
    format!("{}/{}/{} {}", &iso[8..10], &iso[5..7], &iso[2..4], &iso[11..19])
}

/// `2026-11-23T13:45:00.000+0000`, as reason data and notifications write times.
pub fn aws_time(t: Timestamp) -> String {
    t.to_iso8601().replace('Z', "+0000")
}

/// The outcome of one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub state: &'static str,
    pub reason: String,
    pub reason_data: String,
}

/// Decides an alarm's state from the values of its last `EvaluationPeriods` periods
/// (newest first; `None` where a period has no data), as CloudWatch does with its
/// `DatapointsToAlarm` (M of N) and `TreatMissingData` rules. `None` keeps the state.
pub fn evaluate(a: &AlarmRecord, values: &[(Timestamp, Option<f64>)], now: Timestamp) -> Option<Verdict> {
    let present: Vec<(Timestamp, f64)> = values.iter().filter_map(|(t, v)| v.map(|v| (*t, v))).collect();
    let missing = values.len() - present.len();
    let breaching_present = present.iter().filter(|(_, v)| breaches(&a.comparison, *v, a.threshold)).count();
    let (breaching, considered) = match a.treat_missing.as_str() {
        "breaching" => (breaching_present + missing, values.len()),
        "notBreaching" => (breaching_present, values.len()),
        _ => (breaching_present, present.len()),
    };
    let start = values.last().map(|(t, _)| *t).unwrap_or(now);
    let data = json!({
        "version": "1.0",
        "queryDate": aws_time(now),
        "startDate": aws_time(start),
        "statistic": a.statistic,
        "period": a.period,
        "recentDatapoints": present.iter().map(|(_, v)| v).collect::<Vec<_>>(),
        "threshold": a.threshold,
        "evaluatedDatapoints": present.iter().map(|(t, v)| json!({"timestamp": aws_time(*t), "value": v})).collect::<Vec<_>>(),
    })
    .to_string();
    // `ignore` keeps the state until enough datapoints exist to decide; `missing` decides
    // on what exists, needing at most as many breaching datapoints as there are.
    let needed = match a.treat_missing.as_str() {
        "ignore" if present.len() < a.datapoints_to_alarm as usize => return None,
        "missing" => (a.datapoints_to_alarm as usize).min(present.len()),
        _ => a.datapoints_to_alarm as usize,
    };
    if considered == 0 {
        return match a.treat_missing.as_str() {
            "ignore" => None,
            _ => Some(Verdict {
                state: "INSUFFICIENT_DATA",
                reason: format!(
                    "Insufficient Data: {} datapoint{} {} unknown.",
                    values.len(),
                    if values.len() == 1 { "" } else { "s" },
                    if values.len() == 1 { "was" } else { "were" }
                ),
                reason_data: data,
            }),
        };
    }
    let alarm = breaching >= needed;
    let shown: Vec<String> = present.iter().map(|(t, v)| format!("{v:?} ({})", reason_time(*t))).collect();
    let (state, verb, transition) = if alarm {
        ("ALARM", format!("{} {}", if breaching == 1 { "was" } else { "were" }, comparison_words(&a.comparison)), "OK -> ALARM")
    } else {
        let good = considered - breaching;
        ("OK", format!("{} not {}", if good == 1 { "was" } else { "were" }, comparison_words(&a.comparison)), "ALARM -> OK")
    };
    let count = if alarm { breaching } else { considered - breaching };
    Some(Verdict {
        state,
        reason: format!(
            "Threshold Crossed: {count} out of the last {} datapoints [{}] {verb} the threshold ({:?}) (minimum {} datapoint{} for {transition} transition).",
            values.len(),
            shown.join(", "),
            a.threshold,
            a.datapoints_to_alarm,
            if a.datapoints_to_alarm == 1 { "" } else { "s" },
        ),
        reason_data: data,
    })
}

/// `SampleCount` -> `SAMPLE_COUNT`, as notifications name statistics.
fn statistic_constant(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn region_name(region: &str) -> String {
    match region {
        "us-east-1" => "US East (N. Virginia)".into(),
        "us-east-2" => "US East (Ohio)".into(),
        "us-west-1" => "US West (N. California)".into(),
        "us-west-2" => "US West (Oregon)".into(),
        "eu-west-1" => "EU (Ireland)".into(),
        "eu-central-1" => "EU (Frankfurt)".into(),
        other => other.into(),
    }
}

/// The message SNS subscribers of an alarm receive, in AWS's shape.
pub fn notification(a: &AlarmRecord, old: &str, now: Timestamp) -> String {
    if let Some(rule) = &a.rule {
        return json!({
            "AlarmName": a.name,
            "AlarmDescription": a.description,
            "AWSAccountId": a.account,
            "NewStateValue": a.state,
            "NewStateReason": a.state_reason,
            "StateChangeTime": aws_time(now),
            "Region": region_name(&a.region),
            "AlarmArn": a.arn,
            "OldStateValue": old,
            "AlarmRule": rule,
            "OKActions": a.ok_actions,
            "AlarmActions": a.alarm_actions,
            "InsufficientDataActions": a.insufficient_actions,
        })
        .to_string();
    }
    json!({
        "AlarmName": a.name,
        "AlarmDescription": a.description,
        "AWSAccountId": a.account,
        "AlarmConfigurationUpdatedTimestamp": aws_time(a.configuration_updated),
        "NewStateValue": a.state,
        "NewStateReason": a.state_reason,
        "StateChangeTime": aws_time(now),
        "Region": region_name(&a.region),
        "AlarmArn": a.arn,
        "OldStateValue": old,
        "OKActions": a.ok_actions,
        "AlarmActions": a.alarm_actions,
        "InsufficientDataActions": a.insufficient_actions,
        "Trigger": if let Some(queries) = &a.metrics {
            json!({
                "Metrics": queries.iter().map(|q| json!({
                    "Id": q.id,
                    "Expression": q.expression,
                    "Label": q.label,
                    "ReturnData": q.return_data,
                    "MetricStat": q.stat.as_ref().map(|s| json!({
                        "Metric": {"Namespace": s.namespace, "MetricName": s.metric_name, "Dimensions": s.dimensions.iter().map(|(n, v)| json!({"value": v, "name": n})).collect::<Vec<_>>()},
                        "Period": s.period, "Stat": s.stat, "Unit": s.unit,
                    })),
                })).collect::<Vec<_>>(),
                "Period": a.period,
                "EvaluationPeriods": a.evaluation_periods,
                "DatapointsToAlarm": a.datapoints_to_alarm,
                "ComparisonOperator": a.comparison,
                "Threshold": a.threshold,
                "TreatMissingData": a.treat_missing,
                "EvaluateLowSampleCountPercentile": "",
            })
        } else { json!({
            "MetricName": a.metric_name,
            "Namespace": a.namespace,
            "StatisticType": if a.extended { "ExtendedStatistic" } else { "Statistic" },
            "Statistic": if a.extended { serde_json::Value::Null } else { statistic_constant(&a.statistic).into() },
            "ExtendedStatistic": if a.extended { a.statistic.clone().into() } else { serde_json::Value::Null },
            "Unit": a.unit,
            "Dimensions": a.dimensions.iter().map(|(n, v)| json!({"value": v, "name": n})).collect::<Vec<_>>(),
            "Period": a.period,
            "EvaluationPeriods": a.evaluation_periods,
            "DatapointsToAlarm": a.datapoints_to_alarm,
            "ComparisonOperator": a.comparison,
            "Threshold": a.threshold,
            "TreatMissingData": a.treat_missing,
            "EvaluateLowSampleCountPercentile": "",
        })}
    })
    .to_string()
}

pub fn alarm_out(a: &AlarmRecord) -> MetricAlarm {
    let math = a.metrics.is_none();
    MetricAlarm {
        alarm_name: Some(a.name.clone()),
        alarm_arn: Some(a.arn.clone()),
        alarm_description: a.description.clone(),
        alarm_configuration_updated_timestamp: Some(a.configuration_updated),
        actions_enabled: Some(a.actions_enabled),
        ok_actions: Some(a.ok_actions.clone()),
        alarm_actions: Some(a.alarm_actions.clone()),
        insufficient_data_actions: Some(a.insufficient_actions.clone()),
        state_value: Some(a.state.clone()),
        state_reason: Some(a.state_reason.clone()),
        state_reason_data: a.state_reason_data.clone(),
        state_updated_timestamp: Some(a.state_updated),
        state_transitioned_timestamp: Some(a.state_updated),
        // A math alarm describes its Metrics instead of one metric.
        metric_name: math.then(|| a.metric_name.clone()),
        namespace: math.then(|| a.namespace.clone()),
        statistic: (math && !a.extended).then(|| a.statistic.clone()),
        extended_statistic: (math && a.extended).then(|| a.statistic.clone()),
        dimensions: math.then(|| a.dimensions.iter().map(|(n, v)| Dimension { name: n.clone(), value: v.clone() }).collect()),
        period: math.then_some(a.period),
        unit: a.unit.clone(),
        evaluation_periods: Some(a.evaluation_periods),
        datapoints_to_alarm: a.datapoints_given.then_some(a.datapoints_to_alarm),
        threshold: Some(a.threshold),
        comparison_operator: Some(a.comparison.clone()),
        treat_missing_data: Some(a.treat_missing.clone()),
        metrics: a.metrics.as_ref().map(|qs| qs.iter().map(|q| q.to_wire()).collect()),
        ..Default::default()
    }
}

impl CloudWatch {
    pub(crate) fn put_metric_alarm(&self, scope: &Scope, input: PutMetricAlarmInput) -> Result<()> {
        let missing = |p: &str| CwError::MissingParameter(format!("The parameter {p} is required."));
        // A metric math alarm watches the one query of its Metrics that returns data.
        let metrics = match &input.metrics {
            None => None,
            Some(list) => {
                if input.namespace.is_some() || input.metric_name.is_some() || input.statistic.is_some() || input.extended_statistic.is_some() || input.dimensions.is_some() || input.period.is_some() {
                    return Err(CwError::InvalidParameterCombination(
                        "The parameters MetricName, Namespace, Statistic, ExtendedStatistic, Dimensions and Period cannot be specified with Metrics.".into(),
                    ));
                }
                let queries = list.iter().cloned().map(crate::queries::Query::from_wire).collect::<Result<Vec<_>>>()?;
                crate::queries::check_all(&queries)?;
                if queries.iter().filter(|q| q.return_data).count() != 1 {
                    return Err(CwError::InvalidParameterValue("Exactly one element of the metrics list should return data.".into()));
                }
                Some(queries)
            }
        };
        let math_period = metrics.as_ref().map(|qs| qs.iter().find(|q| q.return_data).map(|q| q.period(qs)).unwrap_or(60));
        let namespace = match &metrics {
            Some(_) => String::new(),
            None => input.namespace.clone().ok_or_else(|| missing("Namespace"))?,
        };
        let metric_name = match &metrics {
            Some(_) => String::new(),
            None => input.metric_name.clone().ok_or_else(|| missing("MetricName"))?,
        };
        let period = match math_period {
            Some(p) => p,
            None => input.period.ok_or_else(|| missing("Period"))?,
        };
        let evaluation_periods = input.evaluation_periods.ok_or_else(|| missing("EvaluationPeriods"))?;
        let threshold = input.threshold.ok_or_else(|| missing("Threshold"))?;
        let comparison = input.comparison_operator.clone().ok_or_else(|| missing("ComparisonOperator"))?;
        if !COMPARISONS.contains(&comparison.as_str()) {
            return Err(CwError::InvalidParameterValue(format!("The value {comparison} for parameter ComparisonOperator is invalid.")));
        }
        let (statistic, extended) = match (input.statistic.clone(), input.extended_statistic.clone()) {
            _ if metrics.is_some() => (String::new(), false),
            (Some(s), None) if ["SampleCount", "Average", "Sum", "Minimum", "Maximum"].contains(&s.as_str()) => (s, false),
            (Some(s), None) => return Err(CwError::InvalidParameterValue(format!("The value {s} for parameter Statistic is invalid."))),
            (None, Some(e)) if crate::statistics::parse_percentile(&e).is_some() => (e, true),
            (None, Some(e)) => return Err(CwError::InvalidParameterValue(format!("The value {e} for parameter ExtendedStatistic is invalid."))),
            _ => return Err(CwError::InvalidParameterCombination("Exactly one of Statistic and ExtendedStatistic must be specified.".into())),
        };
        if !(period == 10 || period == 20 || period == 30 || (period >= 60 && period % 60 == 0)) {
            return Err(CwError::InvalidParameterValue("Period must be 10, 20, 30 or a multiple of 60.".into()));
        }
        // A bad unit would fail every evaluation: refuse it here.
        crate::metrics::unit_code(input.unit.as_deref())?;
        let datapoints = input.datapoints_to_alarm.unwrap_or(evaluation_periods);
        if evaluation_periods < 1 || datapoints < 1 || datapoints > evaluation_periods {
            return Err(CwError::InvalidParameterValue("DatapointsToAlarm must be between 1 and EvaluationPeriods.".into()));
        }
        let limit = if period < 3600 { 86_400 } else { 86_400 * 7 };
        if i64::from(evaluation_periods) * i64::from(period) > limit {
            return Err(CwError::InvalidParameterValue(format!(
                "The evaluation period of the alarm cannot exceed {}.",
                if period < 3600 { "one day for periods under an hour" } else { "7 days" }
            )));
        }
        let treat_missing = input.treat_missing_data.clone().unwrap_or_else(|| "missing".into());
        if !["missing", "ignore", "breaching", "notBreaching"].contains(&treat_missing.as_str()) {
            return Err(CwError::InvalidParameterValue(format!("The value {treat_missing} for parameter TreatMissingData is invalid.")));
        }
        for arn in input.alarm_actions.iter().chain(&input.ok_actions).chain(&input.insufficient_data_actions).flatten() {
            if !arn.starts_with("arn:") {
                return Err(CwError::InvalidParameterValue(format!("Invalid arn syntax: {arn}")));
            }
        }
        let now = self.clock.now();
        let name = input.alarm_name.clone();
        self.write(|tx| {
            let key = alarm_key(scope, &name);
            let existing = get_json::<AlarmRecord>(tx, ALARMS, &key)?;
            let record = AlarmRecord {
                arn: format!("arn:aws:cloudwatch:{}:{}:alarm:{name}", scope.region, scope.account),
                account: scope.account.clone(),
                region: scope.region.clone(),
                description: input.alarm_description.clone(),
                namespace: namespace.clone(),
                metric_name: metric_name.clone(),
                dimensions: sorted_dims(input.dimensions.clone()),
                statistic: statistic.clone(),
                extended,
                period,
                evaluation_periods,
                datapoints_to_alarm: datapoints,
                datapoints_given: input.datapoints_to_alarm.is_some(),
                threshold,
                comparison: comparison.clone(),
                treat_missing: treat_missing.clone(),
                unit: input.unit.clone(),
                actions_enabled: input.actions_enabled.unwrap_or(true),
                alarm_actions: input.alarm_actions.clone().unwrap_or_default(),
                ok_actions: input.ok_actions.clone().unwrap_or_default(),
                insufficient_actions: input.insufficient_data_actions.clone().unwrap_or_default(),
                // A new alarm starts without data; an updated one keeps its state.
                state: existing.as_ref().map_or("INSUFFICIENT_DATA".into(), |e| e.state.clone()),
                state_reason: existing.as_ref().map_or("Unchecked: Initial alarm creation".into(), |e| e.state_reason.clone()),
                state_reason_data: existing.as_ref().and_then(|e| e.state_reason_data.clone()),
                state_updated: existing.as_ref().map_or(now, |e| e.state_updated),
                configuration_updated: now,
                // Tags given with a put replace nothing when absent (an update keeps them).
                tags: match &input.tags {
                    Some(t) => t.iter().map(|t| (t.key.clone(), t.value.clone())).collect(),
                    None => existing.as_ref().map(|e| e.tags.clone()).unwrap_or_default(),
                },
                name: name.clone(),
                rule: None,
                metrics: metrics.clone(),
            };
            put_json(tx, ALARMS, &key, &record)?;
            let summary = if existing.is_some() { format!("Alarm \"{name}\" updated") } else { format!("Alarm \"{name}\" created") };
            self.history(tx, scope, &name, now, "ConfigurationUpdate", &summary, &json!({"type": if existing.is_some() { "Update" } else { "Create" }, "version": "1.0"}).to_string())?;
            Ok(())
        })?;
        self.alarms_changed.notify_one();
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn history(&self, tx: &mut dyn nubo_store::WriteTxn, scope: &Scope, name: &str, at: Timestamp, kind: &str, summary: &str, data: &str) -> Result<()> {
        let key = nubo_store::key::key(&[&scope.account, &scope.region, &format!("{:016x}", at.as_millis()), &nubo_core::ids::uuid()]);
        let item = HistoryRecord { alarm_name: name.to_string(), timestamp: at, item_type: kind.to_string(), summary: summary.to_string(), data: data.to_string() };
        Ok(put_json(tx, HISTORY, &key, &item)?)
    }

    pub(crate) fn alarms(&self, scope: &Scope) -> Result<Vec<AlarmRecord>> {
        let prefix = nubo_store::key::key(&[&scope.account, &scope.region]);
        Ok(self.store.read(|tx| scan_json::<AlarmRecord>(tx, ALARMS, &prefix, None, usize::MAX))?.into_iter().map(|(_, a)| a).collect())
    }

    pub(crate) fn delete_alarms(&self, scope: &Scope, names: &[String]) -> Result<()> {
        self.write(|tx| {
            for n in names {
                if get_json::<AlarmRecord>(tx, ALARMS, &alarm_key(scope, n))?.is_none() {
                    return Err(CwError::ResourceNotFound(format!("{n} alarm does not exist")));
                }
            }
            for n in names {
                tx.delete(ALARMS, &alarm_key(scope, n))?;
            }
            Ok(())
        })
    }

    /// Changes an alarm's tags, by its ARN (the only taggable CloudWatch resource here).
    pub(crate) fn change_tags<T>(&self, arn: &str, change: impl FnOnce(&mut Vec<(String, String)>) -> T) -> Result<T> {
        let a = nubo_core::arn::Arn::parse(arn).filter(|a| a.service == "cloudwatch").ok_or_else(|| CwError::InvalidParameterValue(format!("Invalid ARN: {arn}")))?;
        let name = a.resource.strip_prefix("alarm:").ok_or_else(|| CwError::ResourceNotFound(format!("{arn} not found")))?.to_string();
        let scope = Scope::new(a.account, a.region);
        self.write(|tx| {
            let key = alarm_key(&scope, &name);
            let mut alarm = get_json::<AlarmRecord>(tx, ALARMS, &key)?.ok_or_else(|| CwError::ResourceNotFound(format!("{arn} not found")))?;
            let out = change(&mut alarm.tags);
            put_json(tx, ALARMS, &key, &alarm)?;
            Ok(out)
        })
    }

    pub(crate) fn set_actions_enabled(&self, scope: &Scope, names: &[String], enabled: bool) -> Result<()> {
        self.write(|tx| {
            for n in names {
                if let Some(mut a) = get_json::<AlarmRecord>(tx, ALARMS, &alarm_key(scope, n))? {
                    a.actions_enabled = enabled;
                    put_json(tx, ALARMS, &alarm_key(scope, n), &a)?;
                }
            }
            Ok(())
        })
    }

    /// The one way an alarm changes state: record it with its history, then act.
    pub(crate) async fn transition(&self, scope: &Scope, name: &str, state: &str, reason: &str, reason_data: Option<String>) -> Result<bool> {
        let now = self.clock.now();
        let changed = self.write(|tx| {
            let key = alarm_key(scope, name);
            let mut a = get_json::<AlarmRecord>(tx, ALARMS, &key)?.ok_or_else(|| CwError::ResourceNotFound(format!("Alarm {name} not found")))?;
            let old = a.state.clone();
            a.state_reason = reason.to_string();
            a.state_reason_data = reason_data.clone();
            if old == state {
                put_json(tx, ALARMS, &key, &a)?;
                return Ok(Err(a));
            }
            a.state = state.to_string();
            a.state_updated = now;
            put_json(tx, ALARMS, &key, &a)?;
            let data = json!({
                "version": "1.0",
                "oldState": {"stateValue": old},
                "newState": {"stateValue": state, "stateReason": reason, "stateReasonData": reason_data.as_deref().and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())},
            })
            .to_string();
            self.history(tx, scope, name, now, "StateUpdate", &format!("Alarm updated from {old} to {state}"), &data)?;
            Ok(Ok((a, old)))
        })?;
        let (a, old) = match changed {
            Ok(c) => c,
            // An alarm that stays in ALARM keeps invoking its Auto Scaling policies at
            // each evaluation, as CloudWatch does (the policy's cooldown or warm-up decides).
            Err(a) => {
                if a.actions_enabled && a.state == "ALARM" {
                    for arn in a.alarm_actions.iter().filter(|arn| matches!(action_kind(arn), ActionKind::ScalingPolicy)) {
                        let _ = self.actions.scaling_policy(arn, &a.name, last_datapoint(&a), a.threshold).await;
                    }
                }
                return Ok(false);
            }
        };
        if a.actions_enabled {
            let actions = match a.state.as_str() {
                "ALARM" => &a.alarm_actions,
                "OK" => &a.ok_actions,
                _ => &a.insufficient_actions,
            };
            // SNS takes subjects of up to 100 characters: long alarm names are cut.
            let subject: String = format!("{}: \"{}\" in {}", a.state, a.name, region_name(&a.region)).chars().take(100).collect();
            let message = notification(&a, &old, now);
            let instance = a.dimensions.iter().find(|(n, _)| n == "InstanceId").map(|(_, v)| v.clone());
            for arn in actions {
                let outcome = match action_kind(arn) {
                    ActionKind::Sns => self.actions.publish(arn, &subject, &message).await,
                    ActionKind::Ec2(action) => match &instance {
                        Some(id) => self.actions.ec2(scope, id, action).await,
                        None => Err(ActionError("the alarm has no InstanceId dimension".into())),
                    },
                    ActionKind::ScalingPolicy => self.actions.scaling_policy(arn, &a.name, last_datapoint(&a), a.threshold).await,
                    ActionKind::Unknown => Err(ActionError("unsupported action".into())),
                };
                let (kind, summary) = match &outcome {
                    Ok(()) => ("Action", format!("Successfully executed action {arn}")),
                    Err(e) => ("Action", format!("Failed to execute action {arn}: {}", e.0)),
                };
                self.write(|tx| self.history(tx, scope, name, now, kind, &summary, &json!({"actionState": if outcome.is_ok() { "Succeeded" } else { "Failed" }}).to_string()))?;
            }
        }
        Ok(true)
    }

    pub(crate) fn describe_history(&self, scope: &Scope, input: &DescribeAlarmHistoryInput) -> Result<Vec<AlarmHistoryItem>> {
        let prefix = nubo_store::key::key(&[&scope.account, &scope.region]);
        let mut items: Vec<HistoryRecord> = self.store.read(|tx| scan_json::<HistoryRecord>(tx, HISTORY, &prefix, None, usize::MAX))?.into_iter().map(|(_, h)| h).collect();
        items.retain(|h| {
            input.alarm_name.as_ref().is_none_or(|n| *n == h.alarm_name)
                && input.history_item_type.as_ref().is_none_or(|t| *t == h.item_type)
                && input.start_date.is_none_or(|s| h.timestamp >= s)
                && input.end_date.is_none_or(|e| h.timestamp <= e)
        });
        if input.scan_by.as_deref() != Some("TimestampAscending") {
            items.reverse();
        }
        items.truncate(input.max_records.unwrap_or(100).clamp(1, 100) as usize);
        Ok(items
            .into_iter()
            .map(|h| AlarmHistoryItem {
                alarm_name: Some(h.alarm_name),
                alarm_type: Some("MetricAlarm".into()),
                timestamp: Some(h.timestamp),
                history_item_type: Some(h.item_type),
                history_summary: Some(h.summary),
                history_data: Some(h.data),
                ..Default::default()
            })
            .collect())
    }

    /// The values of an alarm's last `EvaluationPeriods` complete periods, newest first.
    pub(crate) fn alarm_values(&self, a: &AlarmRecord, now: Timestamp) -> Result<Vec<(Timestamp, Option<f64>)>> {
        let scope = Scope::new(a.account.clone(), a.region.clone());
        let period_ms = i64::from(a.period) * 1000;
        let end = now.as_millis() - now.as_millis().rem_euclid(period_ms);
        let start = end - period_ms * i64::from(a.evaluation_periods);
        let mut buckets = match &a.metrics {
            Some(queries) => {
                let returned = self.evaluate_queries(&scope, queries, Timestamp::from_millis(start), Timestamp::from_millis(end))?;
                returned.into_iter().next().map(|r| r.points).unwrap_or_default()
            }
            None => {
                let metric = identity(&a.namespace, &a.metric_name, &a.dimensions);
                self.period_stats(&scope, &metric, Timestamp::from_millis(start), Timestamp::from_millis(end), a.period, a.unit.as_deref(), &a.statistic)?
            }
        };
        Ok((0..a.evaluation_periods)
            .map(|i| {
                let slot = end - period_ms * i64::from(i + 1);
                (Timestamp::from_millis(slot), buckets.remove(&slot))
            })
            .collect())
    }

    /// Evaluates every alarm of every scope at `now`.
    pub async fn evaluate_alarms(&self, now: Timestamp) -> Result<usize> {
        let all: Vec<AlarmRecord> = self.store.read(|tx| scan_json::<AlarmRecord>(tx, ALARMS, b"", None, usize::MAX))?.into_iter().map(|(_, a)| a).collect();
        let mut changed = 0;
        for a in all.into_iter().filter(|a| a.rule.is_none()) {
            // One alarm's trouble (deleted meanwhile, say) never stops the others.
            let outcome = match self.alarm_values(&a, now).map(|values| evaluate(&a, &values, now)) {
                // An alarm staying in ALARM goes through too: its Auto Scaling policies are
                // invoked again with the new breaching value.
                Ok(Some(v)) if v.state != a.state || (v.state == "ALARM" && invokes_scaling(&a)) => {
                    let scope = Scope::new(a.account.clone(), a.region.clone());
                    self.transition(&scope, &a.name, v.state, &v.reason, Some(v.reason_data)).await
                }
                Ok(_) => Ok(false),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(true) => changed += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!("alarm {} not evaluated: {e:?}", a.name),
            }
        }
        changed += self.evaluate_composites().await?;
        Ok(changed)
    }
}

/// The alarm evaluator: evaluates every alarm at each minute boundary of nubo's clock
/// (and at once when an alarm is put), as CloudWatch evaluates alarms every minute.
pub async fn run(cw: CloudWatch) {
    loop {
        let now = cw.clock.now();
        if let Err(e) = cw.evaluate_alarms(now).await {
            tracing::warn!("alarm evaluation failed: {e:?}");
        }
        let next = Timestamp::from_millis(now.as_millis() - now.as_millis().rem_euclid(60_000) + 60_000);
        tokio::select! {
            _ = cw.clock.sleep_until(next) => {}
            _ = cw.alarms_changed.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alarm(treat: &str, n: i32, m: i32) -> AlarmRecord {
        AlarmRecord {
            name: "cpu-high".into(),
            arn: "arn:aws:cloudwatch:us-east-1:000000000000:alarm:cpu-high".into(),
            account: "000000000000".into(),
            region: "us-east-1".into(),
            description: None,
            namespace: "AWS/EC2".into(),
            metric_name: "CPUUtilization".into(),
            dimensions: Vec::new(),
            statistic: "Average".into(),
            extended: false,
            period: 60,
            evaluation_periods: n,
            datapoints_to_alarm: m,
            datapoints_given: true,
            threshold: 60.0,
            comparison: "GreaterThanThreshold".into(),
            treat_missing: treat.into(),
            unit: None,
            actions_enabled: true,
            alarm_actions: Vec::new(),
            ok_actions: Vec::new(),
            insufficient_actions: Vec::new(),
            state: "INSUFFICIENT_DATA".into(),
            state_reason: String::new(),
            state_reason_data: None,
            state_updated: Timestamp::from_secs(0),
            configuration_updated: Timestamp::from_secs(0),
            tags: Vec::new(),
            rule: None,
            metrics: None,
        }
    }

    fn at(m: i64) -> Timestamp {
        Timestamp::from_secs(1_800_000_000 + m * 60)
    }

    #[test]
    fn m_of_n_breaching_datapoints_alarm() {
        let a = alarm("missing", 3, 2);
        let v = evaluate(&a, &[(at(2), Some(70.0)), (at(1), Some(10.0)), (at(0), Some(80.0))], at(3)).unwrap();
        assert_eq!(v.state, "ALARM");
        assert!(v.reason.starts_with("Threshold Crossed: 2 out of the last 3 datapoints [70.0 ("), "{}", v.reason);
        assert!(v.reason.ends_with("were greater than the threshold (60.0) (minimum 2 datapoints for OK -> ALARM transition)."), "{}", v.reason);
        let ok = evaluate(&a, &[(at(2), Some(70.0)), (at(1), Some(10.0)), (at(0), Some(20.0))], at(3)).unwrap();
        assert_eq!(ok.state, "OK");
    }

    #[test]
    fn missing_data_follows_treat_missing_data() {
        let none = [(at(0), None)];
        assert_eq!(evaluate(&alarm("missing", 1, 1), &none, at(1)).unwrap().state, "INSUFFICIENT_DATA");
        assert_eq!(evaluate(&alarm("breaching", 1, 1), &none, at(1)).unwrap().state, "ALARM");
        assert_eq!(evaluate(&alarm("notBreaching", 1, 1), &none, at(1)).unwrap().state, "OK");
        assert_eq!(evaluate(&alarm("ignore", 1, 1), &none, at(1)), None);
    }

    #[test]
    fn partial_data_decides_under_missing_and_waits_under_ignore() {
        let partial = [(at(2), Some(90.0)), (at(1), None), (at(0), None)];
        assert_eq!(evaluate(&alarm("missing", 3, 3), &partial, at(3)).unwrap().state, "ALARM");
        assert_eq!(evaluate(&alarm("ignore", 3, 3), &partial, at(3)), None);
        let full = [(at(2), Some(90.0)), (at(1), Some(91.0)), (at(0), Some(92.0))];
        assert_eq!(evaluate(&alarm("ignore", 3, 3), &full, at(3)).unwrap().state, "ALARM");
    }

    #[test]
    fn the_notification_is_awss_json() {
        let mut a = alarm("missing", 1, 1);
        a.state = "ALARM".into();
        let n: serde_json::Value = serde_json::from_str(&notification(&a, "OK", at(0))).unwrap();
        assert_eq!(n["NewStateValue"], "ALARM");
        assert_eq!(n["OldStateValue"], "OK");
        assert_eq!(n["Region"], "US East (N. Virginia)");
        assert_eq!(n["Trigger"]["Statistic"], "AVERAGE");
        assert_eq!(statistic_constant("SampleCount"), "SAMPLE_COUNT");
        assert_eq!(n["Trigger"]["ComparisonOperator"], "GreaterThanThreshold");
    }
}

/// An alarm whose ALARM actions include an Auto Scaling policy.
fn invokes_scaling(a: &AlarmRecord) -> bool {
    a.actions_enabled && a.alarm_actions.iter().any(|arn| matches!(action_kind(arn), ActionKind::ScalingPolicy))
}

/// The newest of the datapoints an alarm's last evaluation recorded in its reason data.
fn last_datapoint(a: &AlarmRecord) -> Option<f64> {
    let data: serde_json::Value = serde_json::from_str(a.state_reason_data.as_deref()?).ok()?;
    data.get("recentDatapoints")?.as_array()?.first()?.as_f64()
}

impl CloudWatch {
    /// An alarm another service owns (Auto Scaling's target tracking alarms).
    pub fn put_service_alarm(&self, scope: &Scope, input: PutMetricAlarmInput) -> std::result::Result<(), nubo_core::AwsError> {
        Ok(self.put_metric_alarm(scope, input)?)
    }

    /// An alarm's state (`OK`, `ALARM`, `INSUFFICIENT_DATA`), for services that watch one
    /// (an instance refresh's alarm specification).
    pub fn alarm_state(&self, scope: &Scope, name: &str) -> Option<String> {
        let key = alarm_key(scope, name);
        self.store.read(|tx| get_json::<AlarmRecord>(tx, ALARMS, &key)).ok().flatten().map(|a| a.state)
    }

    /// Deletes alarms another service owns; those already gone are ignored.
    pub fn delete_service_alarms(&self, scope: &Scope, names: &[String]) {
        for n in names {
            let _ = self.delete_alarms(scope, std::slice::from_ref(n));
        }
    }
}
