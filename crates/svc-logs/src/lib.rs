//! Amazon CloudWatch Logs.
//!
//! Log groups, streams and events live in the store ([`records`]); a stream's events are
//! keyed by time, so reads are key ranges and retention ([`retention`], a controller on
//! nubo's clock) deletes a prefix. [`groups`], [`streams`], [`events`] and
//! [`metric_filters`] are the API; [`pattern`] is the filter pattern language that
//! FilterLogEvents and metric filters share. Metric filters publish to CloudWatch through
//! the [`MetricSink`] the composition root wires.

mod error;
mod events;
mod groups;
pub mod metric_filters;
pub mod pattern;
mod records;
pub mod retention;
mod streams;

pub use metric_filters::{MetricPoint, MetricSink};
use nubo_core::{AwsError, Clock, RequestContext};
use nubo_model::generated::logs::{self, *};
use nubo_model::Handler;
use nubo_store::{ReadTxn, Store};
use std::sync::Arc;
use tokio::sync::Notify;

#[derive(Clone)]
pub struct Logs {
    store: Store,
    clock: Clock,
    metrics: Option<Arc<dyn MetricSink>>,
    /// Wakes the retention controller when a policy changes.
    retention_changed: Arc<Notify>,
}

impl Logs {
    pub fn new(store: Store, clock: Clock) -> Logs {
        Logs { store, clock, metrics: None, retention_changed: Default::default() }
    }

    pub fn with_metrics(mut self, sink: Arc<dyn MetricSink>) -> Logs {
        self.metrics = Some(sink);
        self
    }

    /// Runs `f` on a snapshot of the store.
    fn read<T>(&self, f: impl FnOnce(&dyn ReadTxn) -> error::Result<T>) -> error::Result<T> {
        self.store.read(|tx| Ok(f(tx)))?
    }
}

pub fn service(logs: Logs) -> Box<dyn Handler> {
    Box::new(logs::Service(logs))
}

/// Every operation delegates to its module; this block is the whole API surface.
impl logs::Logs for Logs {
    async fn create_log_group(&self, ctx: &RequestContext, input: CreateLogGroupRequest) -> std::result::Result<(), AwsError> {
        Ok(Logs::create_log_group(self, ctx, input).await?)
    }
    async fn delete_log_group(&self, ctx: &RequestContext, input: DeleteLogGroupRequest) -> std::result::Result<(), AwsError> {
        Ok(Logs::delete_log_group(self, ctx, input).await?)
    }
    async fn describe_log_groups(&self, ctx: &RequestContext, input: DescribeLogGroupsRequest) -> std::result::Result<DescribeLogGroupsResponse, AwsError> {
        Ok(Logs::describe_log_groups(self, ctx, input).await?)
    }
    async fn create_log_stream(&self, ctx: &RequestContext, input: CreateLogStreamRequest) -> std::result::Result<(), AwsError> {
        Ok(Logs::create_log_stream(self, ctx, input).await?)
    }
    async fn delete_log_stream(&self, ctx: &RequestContext, input: DeleteLogStreamRequest) -> std::result::Result<(), AwsError> {
        Ok(Logs::delete_log_stream(self, ctx, input).await?)
    }
    async fn describe_log_streams(&self, ctx: &RequestContext, input: DescribeLogStreamsRequest) -> std::result::Result<DescribeLogStreamsResponse, AwsError> {
        Ok(Logs::describe_log_streams(self, ctx, input).await?)
    }
    async fn put_log_events(&self, ctx: &RequestContext, input: PutLogEventsRequest) -> std::result::Result<PutLogEventsResponse, AwsError> {
        Ok(Logs::put_log_events(self, ctx, input).await?)
    }
    async fn get_log_events(&self, ctx: &RequestContext, input: GetLogEventsRequest) -> std::result::Result<GetLogEventsResponse, AwsError> {
        Ok(Logs::get_log_events(self, ctx, input).await?)
    }
    async fn filter_log_events(&self, ctx: &RequestContext, input: FilterLogEventsRequest) -> std::result::Result<FilterLogEventsResponse, AwsError> {
        Ok(Logs::filter_log_events(self, ctx, input).await?)
    }
    async fn put_retention_policy(&self, ctx: &RequestContext, input: PutRetentionPolicyRequest) -> std::result::Result<(), AwsError> {
        Ok(Logs::put_retention_policy(self, ctx, input).await?)
    }
    async fn delete_retention_policy(&self, ctx: &RequestContext, input: DeleteRetentionPolicyRequest) -> std::result::Result<(), AwsError> {
        Ok(Logs::delete_retention_policy(self, ctx, input).await?)
    }
    async fn tag_log_group(&self, ctx: &RequestContext, input: TagLogGroupRequest) -> std::result::Result<(), AwsError> {
        Ok(Logs::tag_log_group(self, ctx, input).await?)
    }
    async fn untag_log_group(&self, ctx: &RequestContext, input: UntagLogGroupRequest) -> std::result::Result<(), AwsError> {
        Ok(Logs::untag_log_group(self, ctx, input).await?)
    }
    async fn list_tags_log_group(&self, ctx: &RequestContext, input: ListTagsLogGroupRequest) -> std::result::Result<ListTagsLogGroupResponse, AwsError> {
        Ok(Logs::list_tags_log_group(self, ctx, input).await?)
    }
    async fn tag_resource(&self, ctx: &RequestContext, input: TagResourceRequest) -> std::result::Result<(), AwsError> {
        Ok(Logs::tag_resource(self, ctx, input).await?)
    }
    async fn untag_resource(&self, ctx: &RequestContext, input: UntagResourceRequest) -> std::result::Result<(), AwsError> {
        Ok(Logs::untag_resource(self, ctx, input).await?)
    }
    async fn list_tags_for_resource(&self, ctx: &RequestContext, input: ListTagsForResourceRequest) -> std::result::Result<ListTagsForResourceResponse, AwsError> {
        Ok(Logs::list_tags_for_resource(self, ctx, input).await?)
    }
    async fn put_metric_filter(&self, ctx: &RequestContext, input: PutMetricFilterRequest) -> std::result::Result<(), AwsError> {
        Ok(Logs::put_metric_filter(self, ctx, input).await?)
    }
    async fn describe_metric_filters(&self, ctx: &RequestContext, input: DescribeMetricFiltersRequest) -> std::result::Result<DescribeMetricFiltersResponse, AwsError> {
        Ok(Logs::describe_metric_filters(self, ctx, input).await?)
    }
    async fn delete_metric_filter(&self, ctx: &RequestContext, input: DeleteMetricFilterRequest) -> std::result::Result<(), AwsError> {
        Ok(Logs::delete_metric_filter(self, ctx, input).await?)
    }
    async fn test_metric_filter(&self, ctx: &RequestContext, input: TestMetricFilterRequest) -> std::result::Result<TestMetricFilterResponse, AwsError> {
        Ok(Logs::test_metric_filter(self, ctx, input).await?)
    }
}
