//! Amazon S3. The foundation answers `ListBuckets` (no buckets exist yet); buckets and
//! objects arrive with the S3 issue.

use nubo_core::{AwsError, RequestContext};
use nubo_model::generated::s3::{self, ListBucketsOutput, ListBucketsRequest, Owner};
use nubo_model::Handler;

pub struct S3;

pub fn service() -> Box<dyn Handler> {
    Box::new(s3::Service(S3))
}

impl s3::S3 for S3 {
    async fn list_buckets(&self, ctx: &RequestContext, _: ListBucketsRequest) -> Result<ListBucketsOutput, AwsError> {
        Ok(ListBucketsOutput {
            buckets: Some(Vec::new()),
            owner: Some(Owner { id: Some(ctx.scope.account.clone()), display_name: Some("nubo".into()) }),
            ..Default::default()
        })
    }
}
