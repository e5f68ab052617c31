//! Amazon SQS. The foundation answers `ListQueues` (no queues exist yet); queues, messages
//! and their semantics arrive with the SQS issue.

use nubo_core::{AwsError, RequestContext};
use nubo_model::generated::sqs::{self, ListQueuesRequest, ListQueuesResult};
use nubo_model::Handler;

pub struct Sqs;

pub fn service() -> Box<dyn Handler> {
    Box::new(sqs::Service(Sqs))
}

impl sqs::Sqs for Sqs {
    async fn list_queues(&self, _: &RequestContext, _: ListQueuesRequest) -> Result<ListQueuesResult, AwsError> {
        Ok(ListQueuesResult::default())
    }
}
