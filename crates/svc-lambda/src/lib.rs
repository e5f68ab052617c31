//! AWS Lambda. The foundation answers `ListFunctions` (no functions exist yet); functions
//! and their runtime arrive with the Lambda issue.

use nubo_core::{AwsError, RequestContext};
use nubo_model::generated::lambda::{self, ListFunctionsRequest, ListFunctionsResponse};
use nubo_model::Handler;

pub struct Lambda;

pub fn service() -> Box<dyn Handler> {
    Box::new(lambda::Service(Lambda))
}

impl lambda::Lambda for Lambda {
    async fn list_functions(&self, _: &RequestContext, _: ListFunctionsRequest) -> Result<ListFunctionsResponse, AwsError> {
        Ok(ListFunctionsResponse { functions: Some(Vec::new()), next_marker: None })
    }
}
