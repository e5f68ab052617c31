//! The seam between the gateway, which authenticates requests and asks, and IAM, which
//! knows the identities and their policies and decides.
//!
//! The gateway verifies signatures itself (it holds the request); it needs only the
//! secret of an access key and whom the key stands for ([`Guard::credentials`]). Whether
//! that principal may make an [`Access`] is IAM's answer ([`Guard::authorize`]), with the
//! resource's own policy (a bucket policy) that the owning service handed the gateway.

use crate::access::Access;
use nubo_core::{Principal, RequestContext, Timestamp};

/// What an access key stands for.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub secret: String,
    /// Temporary keys (`ASIA…`) come with a session token the request must carry.
    pub session_token: Option<String>,
    pub principal: Principal,
    /// Temporary keys stop working then (on nubo's clock).
    pub expiration: Option<Timestamp>,
    /// `UpdateAccessKey --status Inactive` keeps the key but refuses it.
    pub active: bool,
    pub session: Session,
}

/// What a temporary session carries beside its principal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Session {
    /// Temporary credentials (from STS): only they carry `aws:MultiFactorAuthPresent`.
    pub temporary: bool,
    /// The session was opened with an MFA code (`aws:MultiFactorAuthPresent`).
    pub mfa_authenticated: bool,
    /// Session policies (`AssumeRole`'s `Policy` and `PolicyArns` documents): they can
    /// only narrow what the role allows.
    pub policies: Vec<String>,
}

/// One authorization question.
pub struct Question<'a> {
    /// The caller, its region, address and MFA state.
    pub ctx: &'a RequestContext,
    pub access: &'a Access,
    /// The resource-based policy of the resource, if it has one (bucket, queue, topic).
    pub resource_policy: Option<&'a str>,
    /// The session policies of the caller's temporary credentials.
    pub session_policies: &'a [String],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Denied; `reason` is AWS's explanation ("User: … is not authorized to perform: … because …").
    Deny { reason: String },
}

pub trait Guard: Send + Sync + 'static {
    /// Whom `access_key` belongs to, or `None` if nubo never issued it.
    fn credentials(&self, access_key: &str) -> Option<Credentials>;

    fn authorize(&self, question: &Question<'_>) -> Verdict;

    /// Notes that a key was used to call `service` (for `GetAccessKeyLastUsed` and the
    /// service-last-accessed reports). Must be cheap: it runs on every request.
    fn record_use(&self, access_key: &str, principal: &Principal, service: &str, region: &str) {
        let _ = (access_key, principal, service, region);
    }
}
