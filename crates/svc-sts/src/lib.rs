//! AWS STS. Today: `GetCallerIdentity`, answered from the principal the gateway resolved.

use nubo_core::{AwsError, RequestContext};
use nubo_model::generated::sts::{self, GetCallerIdentityRequest, GetCallerIdentityResponse};
use nubo_model::Handler;

pub struct Sts;

pub fn service() -> Box<dyn Handler> {
    Box::new(sts::Service(Sts))
}

impl sts::Sts for Sts {
    async fn get_caller_identity(&self, ctx: &RequestContext, _: GetCallerIdentityRequest) -> Result<GetCallerIdentityResponse, AwsError> {
        Ok(GetCallerIdentityResponse {
            user_id: Some(ctx.principal.user_id()),
            account: Some(ctx.principal.account().to_string()),
            arn: Some(ctx.principal.arn()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nubo_model::generated::sts::Sts as _;

    #[tokio::test]
    async fn root_caller_is_the_account_root() {
        let ctx = RequestContext::for_tests("sts", "GetCallerIdentity");
        let out = Sts.get_caller_identity(&ctx, Default::default()).await.unwrap();
        assert_eq!(out.account.as_deref(), Some("000000000000"));
        assert_eq!(out.arn.as_deref(), Some("arn:aws:iam::000000000000:root"));
    }
}
