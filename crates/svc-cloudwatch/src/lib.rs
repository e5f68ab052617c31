//! Amazon CloudWatch: metrics ([`metrics`]: `PutMetricData`, `ListMetrics`;
//! [`statistics`]: `GetMetricStatistics`, `GetMetricData`), metric data queries and
//! metric math ([`queries`] evaluates `MetricStat`s and expressions, [`math`] is the
//! expression language), metric alarms ([`alarms`]: configuration, state machine,
//! history, SNS actions, and the evaluator that runs on the clock), composite alarms
//! ([`composite`]: rules over other alarms' states) and dashboards ([`dashboards`]);
//! [`retention`] rolls old points up to coarser periods as CloudWatch keeps them.

pub mod alarms;
mod composite;
mod dashboards;
mod error;
mod math;
mod metrics;
mod queries;
pub mod retention;
mod statistics;

use error::CwError;
use nubo_core::{AwsError, Clock, RequestContext};
use nubo_model::generated::cloudwatch::{self, *};
use nubo_model::Handler;
use nubo_store::Store;
use std::sync::Arc;

#[derive(Clone)]
pub struct CloudWatch {
    store: Store,
    clock: Clock,
    actions: Arc<dyn alarms::AlarmActions>,
    /// Wakes the evaluator when an alarm is put.
    alarms_changed: Arc<tokio::sync::Notify>,
}

impl CloudWatch {
    pub fn new(store: Store, clock: Clock) -> CloudWatch {
        CloudWatch { store, clock, actions: Arc::new(alarms::NoActions), alarms_changed: Default::default() }
    }

    /// One write transaction, with CloudWatch's errors.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&mut dyn nubo_store::WriteTxn) -> error::Result<T>) -> error::Result<T> {
        self.store.write(f)
    }

    pub fn with_actions(mut self, actions: Arc<dyn alarms::AlarmActions>) -> CloudWatch {
        self.actions = actions;
        self
    }
}

pub fn service(cw: CloudWatch) -> Box<dyn Handler> {
    Box::new(cloudwatch::Service(cw))
}

/// How many metrics one `ListMetrics` page holds, as CloudWatch.
const PAGE: usize = 500;

impl cloudwatch::CloudWatch for CloudWatch {
    async fn list_metrics(&self, ctx: &RequestContext, input: ListMetricsInput) -> Result<ListMetricsOutput, AwsError> {
        let recently = match input.recently_active.as_deref() {
            None => false,
            Some("PT3H") => true,
            Some(other) => return Err(CwError::InvalidParameterValue(format!("The value {other} for parameter RecentlyActive is invalid.")).into()),
        };
        let filters = input.dimensions.unwrap_or_default();
        let all = self.list_metrics(&ctx.scope, input.namespace.as_deref(), input.metric_name.as_deref(), &filters, recently)?;
        let start: usize = match &input.next_token {
            Some(t) => t.parse().map_err(|_| AwsError::new("InvalidNextToken", 400, "The service returned an invalid NextToken."))?,
            None => 0,
        };
        let page: Vec<Metric> = all.iter().skip(start).take(PAGE).map(|m| m.out()).collect();
        let next = (start + PAGE < all.len()).then(|| (start + PAGE).to_string());
        Ok(ListMetricsOutput { metrics: Some(page), next_token: next, owning_accounts: None })
    }
    async fn put_metric_data(&self, ctx: &RequestContext, input: PutMetricDataInput) -> Result<(), AwsError> {
        let mut data = input.metric_data.unwrap_or_default();
        data.extend(input.entity_metric_data.into_iter().flatten().flat_map(|e| e.metric_data.unwrap_or_default()));
        Ok(self.put_metric_data(&ctx.scope, &input.namespace, data)?)
    }
    async fn get_metric_statistics(&self, ctx: &RequestContext, input: GetMetricStatisticsInput) -> Result<GetMetricStatisticsOutput, AwsError> {
        Ok(self.get_metric_statistics(&ctx.scope, input)?)
    }
    async fn get_metric_data(&self, ctx: &RequestContext, input: GetMetricDataInput) -> Result<GetMetricDataOutput, AwsError> {
        Ok(self.get_metric_data(&ctx.scope, input)?)
    }

    // Alarms.
    async fn put_metric_alarm(&self, ctx: &RequestContext, input: PutMetricAlarmInput) -> Result<(), AwsError> {
        Ok(self.put_metric_alarm(&ctx.scope, input)?)
    }
    async fn describe_alarms(&self, ctx: &RequestContext, input: DescribeAlarmsInput) -> Result<DescribeAlarmsOutput, AwsError> {
        // Without AlarmTypes, only metric alarms are described (as CloudWatch does).
        let types = input.alarm_types.clone().unwrap_or_else(|| vec!["MetricAlarm".into()]);
        let all = self.alarms(&ctx.scope)?;
        // ChildrenOfAlarmName / ParentsOfAlarmName select along composite rules.
        let rule_of = |name: &str| all.iter().find(|a| a.name == name).and_then(|a| a.rule.as_deref()).and_then(|r| composite::Rule::parse(r).ok());
        let children: Option<Vec<String>> = input.children_of_alarm_name.as_deref().map(|n| rule_of(n).map(|r| r.children()).unwrap_or_default());
        let parents: Option<Vec<String>> = input.parents_of_alarm_name.as_deref().map(|n| {
            all.iter().filter(|a| a.rule.as_deref().and_then(|r| composite::Rule::parse(r).ok()).is_some_and(|r| r.children().iter().any(|c| c == n))).map(|a| a.name.clone()).collect()
        });
        let selected: Vec<&alarms::AlarmRecord> = all
            .iter()
            .filter(|a| children.as_ref().is_none_or(|c| c.contains(&a.name)))
            .filter(|a| parents.as_ref().is_none_or(|p| p.contains(&a.name)))
            .filter(|a| input.alarm_names.as_ref().is_none_or(|n| n.contains(&a.name)))
            .filter(|a| input.alarm_name_prefix.as_ref().is_none_or(|p| a.name.starts_with(p.as_str())))
            .filter(|a| input.state_value.as_ref().is_none_or(|s| *s == a.state))
            .filter(|a| input.action_prefix.as_ref().is_none_or(|p| a.alarm_actions.iter().chain(&a.ok_actions).chain(&a.insufficient_actions).any(|x| x.starts_with(p.as_str()))))
            .collect();
        let metric = if types.iter().any(|t| t == "MetricAlarm") || input.children_of_alarm_name.is_some() {
            selected.iter().filter(|a| a.rule.is_none()).map(|a| alarms::alarm_out(a)).collect()
        } else {
            Vec::new()
        };
        let composites = if types.iter().any(|t| t == "CompositeAlarm") || input.children_of_alarm_name.is_some() || input.parents_of_alarm_name.is_some() {
            selected.iter().filter(|a| a.rule.is_some()).map(|a| composite::composite_out(a)).collect()
        } else {
            Vec::new()
        };
        Ok(DescribeAlarmsOutput { metric_alarms: Some(metric), composite_alarms: Some(composites), next_token: None })
    }
    async fn describe_alarms_for_metric(&self, ctx: &RequestContext, input: DescribeAlarmsForMetricInput) -> Result<DescribeAlarmsForMetricOutput, AwsError> {
        let dims = metrics::sorted_dims(input.dimensions.clone());
        let alarms = self
            .alarms(&ctx.scope)?
            .into_iter()
            .filter(|a| a.namespace == input.namespace && a.metric_name == input.metric_name)
            .filter(|a| input.dimensions.is_none() || a.dimensions == dims)
            .filter(|a| input.statistic.as_ref().is_none_or(|s| !a.extended && *s == a.statistic))
            .filter(|a| input.extended_statistic.as_ref().is_none_or(|s| a.extended && *s == a.statistic))
            .filter(|a| input.period.is_none_or(|p| p == a.period))
            .map(|a| alarms::alarm_out(&a))
            .collect();
        Ok(DescribeAlarmsForMetricOutput { metric_alarms: Some(alarms) })
    }
    async fn delete_alarms(&self, ctx: &RequestContext, input: DeleteAlarmsInput) -> Result<(), AwsError> {
        Ok(self.delete_alarms(&ctx.scope, &input.alarm_names)?)
    }
    async fn set_alarm_state(&self, ctx: &RequestContext, input: SetAlarmStateInput) -> Result<(), AwsError> {
        if !["OK", "ALARM", "INSUFFICIENT_DATA"].contains(&input.state_value.as_str()) {
            return Err(CwError::InvalidParameterValue(format!("The value {} for parameter StateValue is invalid.", input.state_value)).into());
        }
        if let Some(d) = &input.state_reason_data {
            if serde_json::from_str::<serde_json::Value>(d).is_err() {
                return Err(AwsError::new("InvalidFormat", 400, "The StateReasonData must be valid JSON."));
            }
        }
        self.transition(&ctx.scope, &input.alarm_name, &input.state_value, &input.state_reason, input.state_reason_data).await?;
        // Composite alarms follow at once.
        self.evaluate_composites().await?;
        Ok(())
    }
    async fn describe_alarm_history(&self, ctx: &RequestContext, input: DescribeAlarmHistoryInput) -> Result<DescribeAlarmHistoryOutput, AwsError> {
        Ok(DescribeAlarmHistoryOutput { alarm_history_items: Some(self.describe_history(&ctx.scope, &input)?), next_token: None })
    }
    async fn enable_alarm_actions(&self, ctx: &RequestContext, input: EnableAlarmActionsInput) -> Result<(), AwsError> {
        Ok(self.set_actions_enabled(&ctx.scope, &input.alarm_names, true)?)
    }
    async fn tag_resource(&self, _: &RequestContext, input: TagResourceInput) -> Result<TagResourceOutput, AwsError> {
        self.change_tags(&input.resource_arn, |tags| {
            for t in input.tags {
                tags.retain(|(k, _)| *k != t.key);
                tags.push((t.key, t.value));
            }
        })?;
        Ok(TagResourceOutput {})
    }
    async fn untag_resource(&self, _: &RequestContext, input: UntagResourceInput) -> Result<UntagResourceOutput, AwsError> {
        self.change_tags(&input.resource_arn, |tags| tags.retain(|(k, _)| !input.tag_keys.contains(k)))?;
        Ok(UntagResourceOutput {})
    }
    async fn list_tags_for_resource(&self, _: &RequestContext, input: ListTagsForResourceInput) -> Result<ListTagsForResourceOutput, AwsError> {
        let arn = nubo_core::arn::Arn::parse(&input.resource_arn).ok_or_else(|| CwError::InvalidParameterValue(format!("Invalid ARN: {}", input.resource_arn)))?;
        let scope = nubo_core::Scope::new(arn.account.clone(), arn.region.clone());
        let alarm = self.alarms(&scope)?.into_iter().find(|a| a.arn == input.resource_arn);
        let tags = alarm.ok_or_else(|| CwError::ResourceNotFound(format!("{} not found", input.resource_arn)))?.tags;
        Ok(ListTagsForResourceOutput { tags: Some(tags.into_iter().map(|(key, value)| Tag { key, value }).collect()) })
    }
    async fn disable_alarm_actions(&self, ctx: &RequestContext, input: DisableAlarmActionsInput) -> Result<(), AwsError> {
        Ok(self.set_actions_enabled(&ctx.scope, &input.alarm_names, false)?)
    }
    async fn put_dashboard(&self, ctx: &RequestContext, input: PutDashboardInput) -> Result<PutDashboardOutput, AwsError> {
        Ok(CloudWatch::put_dashboard(self, &ctx.scope, input)?)
    }
    async fn get_dashboard(&self, ctx: &RequestContext, input: GetDashboardInput) -> Result<GetDashboardOutput, AwsError> {
        Ok(CloudWatch::get_dashboard(self, &ctx.scope, input)?)
    }
    async fn list_dashboards(&self, ctx: &RequestContext, input: ListDashboardsInput) -> Result<ListDashboardsOutput, AwsError> {
        Ok(CloudWatch::list_dashboards(self, &ctx.scope, input)?)
    }
    async fn delete_dashboards(&self, ctx: &RequestContext, input: DeleteDashboardsInput) -> Result<DeleteDashboardsOutput, AwsError> {
        CloudWatch::delete_dashboards(self, &ctx.scope, &input.dashboard_names)?;
        Ok(DeleteDashboardsOutput::default())
    }
    async fn put_composite_alarm(&self, ctx: &RequestContext, input: PutCompositeAlarmInput) -> Result<(), AwsError> {
        Ok(CloudWatch::put_composite_alarm(self, &ctx.scope, input).await?)
    }
}
