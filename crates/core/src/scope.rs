//! Who is calling, and in which account and region.
//!
//! Every request resolves to a [`Scope`] (account + region) and a [`Principal`]. Services
//! key their state by scope; global services (IAM, S3's bucket namespace) ignore the region.

/// The account that `test`/`test` and any unrecognised access key map to, as in other local clouds.
pub const DEFAULT_ACCOUNT: &str = "000000000000";
pub const DEFAULT_REGION: &str = "us-east-1";

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    pub account: String,
    pub region: String,
}

impl Scope {
    pub fn new(account: impl Into<String>, region: impl Into<String>) -> Scope {
        Scope { account: account.into(), region: region.into() }
    }
}

impl Default for Scope {
    fn default() -> Self {
        Scope::new(DEFAULT_ACCOUNT, DEFAULT_REGION)
    }
}

/// The identity a request acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The account's root user: allowed everything, as on AWS.
    Root { account: String },
    /// An IAM user, by its own keys or by temporary keys from `GetSessionToken`.
    User { account: String, name: String, id: String, path: String },
    /// A session of an assumed role (`sts:AssumeRole`).
    AssumedRole { account: String, role_name: String, role_id: String, role_path: String, session_name: String },
    /// An unsigned request (only S3 accepts them, where a bucket policy allows `"*"`).
    Anonymous,
}

impl Principal {
    pub fn account(&self) -> &str {
        match self {
            Principal::Root { account } | Principal::User { account, .. } | Principal::AssumedRole { account, .. } => account,
            Principal::Anonymous => DEFAULT_ACCOUNT,
        }
    }

    /// The ARN `GetCallerIdentity` reports, and denial messages name.
    pub fn arn(&self) -> String {
        match self {
            Principal::Root { account } => format!("arn:aws:iam::{account}:root"),
            Principal::User { account, name, path, .. } => format!("arn:aws:iam::{account}:user{path}{name}"),
            Principal::AssumedRole { account, role_name, session_name, .. } => {
                format!("arn:aws:sts::{account}:assumed-role/{role_name}/{session_name}")
            }
            Principal::Anonymous => "anonymous".into(),
        }
    }

    /// The `UserId` `GetCallerIdentity` reports (`aws:userid`).
    pub fn user_id(&self) -> String {
        match self {
            Principal::Root { account } => account.clone(),
            Principal::User { id, .. } => id.clone(),
            Principal::AssumedRole { role_id, session_name, .. } => format!("{role_id}:{session_name}"),
            Principal::Anonymous => "anonymous".into(),
        }
    }

    /// The role an assumed-role session belongs to (`aws:PrincipalArn`, trust policies).
    pub fn role_arn(&self) -> Option<String> {
        match self {
            Principal::AssumedRole { account, role_name, role_path, .. } => Some(format!("arn:aws:iam::{account}:role{role_path}{role_name}")),
            _ => None,
        }
    }

    pub fn is_root(&self) -> bool {
        matches!(self, Principal::Root { .. })
    }
}

/// The account an access key belongs to before IAM knows it: a 12-digit key names its
/// account (a convention other local clouds share), any other key is the default account.
pub fn account_for_access_key(access_key: &str) -> String {
    if access_key.len() == 12 && access_key.bytes().all(|b| b.is_ascii_digit()) {
        access_key.to_string()
    } else {
        DEFAULT_ACCOUNT.to_string()
    }
}

/// Everything a service operation needs to know about the request besides its input.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: String,
    pub scope: Scope,
    pub principal: Principal,
    pub access_key: Option<String>,
    /// `Host` header as the client sent it: services build callable URLs from it (queue URLs).
    pub host: String,
    pub service: &'static str,
    pub operation: String,
    /// The caller's address (`aws:SourceIp`).
    pub source_ip: Option<std::net::IpAddr>,
    /// For temporary credentials: whether their session was opened with MFA
    /// (`aws:MultiFactorAuthPresent`); `None` for long-term keys, as AWS leaves the key out.
    pub mfa_authenticated: Option<bool>,
}

impl RequestContext {
    /// An unsigned request from `source_ip` outside every API model (S3's website endpoint).
    pub fn anonymous(service: &'static str, source_ip: Option<std::net::IpAddr>) -> RequestContext {
        RequestContext { principal: Principal::Anonymous, source_ip, ..RequestContext::for_tests(service, "-") }
    }

    /// A call one service makes to another for the account that owns `scope` (a load
    /// balancer invoking its Lambda target, an alarm publishing): its root acts.
    pub fn on_behalf(service: &'static str, operation: &str, scope: Scope) -> RequestContext {
        RequestContext { principal: Principal::Root { account: scope.account.clone() }, scope, ..RequestContext::for_tests(service, operation) }
    }

    /// A context for the default account and region, as tests and internal callers need.
    pub fn for_tests(service: &'static str, operation: &str) -> RequestContext {
        RequestContext {
            request_id: crate::ids::uuid(),
            scope: Scope::default(),
            principal: Principal::Root { account: DEFAULT_ACCOUNT.into() },
            access_key: None,
            host: "localhost:4566".into(),
            service,
            operation: operation.into(),
            source_ip: None,
            mfa_authenticated: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_digit_keys_name_their_account() {
        assert_eq!(account_for_access_key("123456789012"), "123456789012");
        assert_eq!(account_for_access_key("test"), DEFAULT_ACCOUNT);
        assert_eq!(account_for_access_key("AKIAIOSFODNN7EXAMPLE"), DEFAULT_ACCOUNT);
    }
}
