//! Amazon CloudWatch: metrics today ([`metrics`]: `PutMetricData`, `ListMetrics`;
//! [`statistics`]: `GetMetricStatistics`, `GetMetricData` with `MetricStat` queries).
//! Alarms, dashboards and metric math arrive with the rest of the CloudWatch issue.

mod error;
mod metrics;
mod statistics;

use error::CwError;
use nubo_core::{AwsError, Clock, RequestContext};
use nubo_model::generated::cloudwatch::{self, *};
use nubo_model::Handler;
use nubo_store::Store;

#[derive(Clone)]
pub struct CloudWatch {
    store: Store,
    clock: Clock,
}

impl CloudWatch {
    pub fn new(store: Store, clock: Clock) -> CloudWatch {
        CloudWatch { store, clock }
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
}
