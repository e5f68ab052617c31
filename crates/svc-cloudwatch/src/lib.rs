//! Amazon CloudWatch. The foundation answers `ListMetrics` (no metrics exist yet);
//! metrics, alarms and dashboards arrive with the CloudWatch issue.

use nubo_core::{AwsError, RequestContext};
use nubo_model::generated::cloudwatch::{self, ListMetricsInput, ListMetricsOutput};
use nubo_model::Handler;

pub struct CloudWatch;

pub fn service() -> Box<dyn Handler> {
    Box::new(cloudwatch::Service(CloudWatch))
}

impl cloudwatch::CloudWatch for CloudWatch {
    async fn list_metrics(&self, _: &RequestContext, _: ListMetricsInput) -> Result<ListMetricsOutput, AwsError> {
        Ok(ListMetricsOutput { metrics: Some(Vec::new()), ..Default::default() })
    }
}
