//! AWS STS: temporary credentials over IAM's identities. It lives beside IAM because its
//! every answer reads IAM's state (roles, trust policies, MFA devices) and writes the
//! sessions IAM's [`Guard`](nubo_model::guard::Guard) authenticates.
//!
//! Sessions expire on nubo's clock: advancing the clock past `Expiration` makes their keys
//! answer `ExpiredToken`.

use crate::error::{IamError, Result};
use crate::guard::{Asker, Policies};
use crate::keys::{new_key_id, new_secret};
use crate::records::{self, Kind, SessionRecord, SessionSubject};
use crate::Iam;
use nubo_core::{AwsError, Principal, RequestContext, Timestamp};
use nubo_iam_policy::{Decision, Policy, PolicyKind};
use nubo_model::access::Access;
use std::sync::{Arc, OnceLock};
use nubo_model::generated::sts::{self, *};
use nubo_model::Handler;
use nubo_store::put_json;

pub struct Sts(pub Iam);

pub fn service(iam: Iam) -> Box<dyn Handler> {
    Box::new(sts::Service(Sts(iam)))
}

/// A policy that allows everything: stands in for the caller's identity when only the
/// trust policy is asked whether it lets the caller in.
fn allow_all() -> Arc<Policy> {
    static ALLOW: OnceLock<Arc<Policy>> = OnceLock::new();
    ALLOW
        .get_or_init(|| {
            let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
            Arc::new(Policy::parse(doc, PolicyKind::Identity).expect("a valid policy"))
        })
        .clone()
}

fn session_token() -> String {
    format!("FwoGZXIvYXdzE{}", nubo_core::ids::random_string(nubo_core::ids::ALNUM, 180))
}

fn check_duration(d: Option<i32>, default: i32, max: i32, what: &str) -> Result<i32> {
    let d = d.unwrap_or(default);
    if d < 900 {
        return Err(IamError::StsValidation(format!(
            "1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
        )));
    }
    if d > max {
        return Err(IamError::StsValidation(format!("The requested DurationSeconds exceeds the {what} set for this role.")));
    }
    Ok(d)
}

/// `arn:aws:iam::123456789012:role/path/Name` → (account, name).
fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let path_and_name = resource.strip_prefix("role/")?;
    Some((account, path_and_name.rsplit('/').next()?))
}

impl Sts {
    fn issue(&self, account: &str, seconds: i32, mfa: bool, subject: SessionSubject) -> Result<Credentials> {
        let expiration = Timestamp::from_millis(self.0.clock.now().as_millis() + i64::from(seconds) * 1000);
        let record = SessionRecord {
            access_key: new_key_id("ASIA"),
            secret: new_secret(),
            token: session_token(),
            account: account.to_string(),
            expiration,
            mfa_authenticated: mfa,
            subject,
        };
        let now = self.0.clock.now();
        self.0.store.write(|tx| -> Result<()> {
            // Expired sessions are of no use to anyone: they go as new ones come.
            for (key, old) in nubo_store::scan_json::<SessionRecord>(tx, records::SESSIONS, b"", None, usize::MAX)? {
                if old.expiration <= now {
                    tx.delete(records::SESSIONS, &key)?;
                }
            }
            put_json(tx, records::SESSIONS, record.access_key.as_bytes(), &record)?;
            Ok(())
        })?;
        Ok(Credentials { access_key_id: record.access_key, secret_access_key: record.secret, session_token: record.token, expiration })
    }

    fn assume_role(&self, ctx: &RequestContext, input: AssumeRoleRequest) -> Result<AssumeRoleResponse> {
        let session_name = input.role_session_name;
        let valid_name = (2..=64).contains(&session_name.len()) && session_name.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
        if !valid_name {
            return Err(IamError::StsValidation(format!(
                "1 validation error detected: Value '{session_name}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
            )));
        }
        let denied = || {
            IamError::AccessDenied(format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {}",
                ctx.principal.arn(),
                input.role_arn
            ))
        };
        let (account, name) = parse_role_arn(&input.role_arn).ok_or_else(denied)?;
        let role = self.0.entity(Kind::Role, account, name).map_err(|_| denied())?;
        let mfa = match (&input.serial_number, &input.token_code) {
            (Some(serial), Some(code)) => {
                self.0.check_mfa_code(&ctx.scope.account, &ctx.principal, serial, code)?;
                true
            }
            _ => false,
        };
        if self.0.enforce {
            // The trust policy must let the caller in, whoever else allows it (the
            // gateway weighed the caller's identity policies with it).
            let trust = role.trust_policy.as_deref().and_then(|d| self.0.policies.get(d, PolicyKind::Trust)).ok_or_else(denied)?;
            let mut access = Access::new("sts:AssumeRole", role.arn.clone());
            if let Some(id) = &input.external_id {
                access = access.with_context("sts:ExternalId", id.clone());
            }
            let asker = Asker { mfa: Some(mfa || ctx.mfa_authenticated == Some(true)), ..Asker::of(ctx) };
            let identity = [("caller".to_string(), allow_all())];
            let policies = Policies { identity: &identity, resource: Some(&trust), session: &[], same_account: false };
            if self.0.decide(&asker, &policies, &access).decision != Decision::Allow {
                return Err(denied());
            }
        }
        let max = role.max_session_duration.unwrap_or(3600);
        // Role chaining is limited to an hour, as on AWS.
        let max = if matches!(ctx.principal, Principal::AssumedRole { .. }) { max.min(3600) } else { max };
        let seconds = check_duration(input.duration_seconds, 3600, max, "MaxSessionDuration")?;
        // Session policies: the inline one and the managed ones named, as documents.
        let mut session_policies = Vec::new();
        if let Some(p) = &input.policy {
            crate::entities::validate_document(p, PolicyKind::Identity)?;
            session_policies.push(p.clone());
        }
        for arn in input.policy_arns.iter().flatten().filter_map(|d| d.arn.as_deref()) {
            let m = self.0.managed_policy(account, arn)?;
            session_policies.extend(m.default_document().map(str::to_string));
        }
        let credentials = self.issue(
            account,
            seconds,
            mfa,
            SessionSubject::AssumedRole {
                role_name: role.name.clone(),
                role_id: role.id.clone(),
                role_path: role.path.clone(),
                session_name: session_name.clone(),
                policies: session_policies,
            },
        )?;
        self.0.note_role_used(account, &role.name, &ctx.scope.region);
        Ok(AssumeRoleResponse {
            credentials: Some(credentials),
            assumed_role_user: Some(AssumedRoleUser {
                assumed_role_id: format!("{}:{session_name}", role.id),
                arn: format!("arn:aws:sts::{account}:assumed-role/{}/{session_name}", role.name),
            }),
            packed_policy_size: None,
            source_identity: input.source_identity,
        })
    }

    fn get_session_token(&self, ctx: &RequestContext, input: GetSessionTokenRequest) -> Result<GetSessionTokenResponse> {
        let (subject, default, max) = match &ctx.principal {
            Principal::User { name, .. } => (SessionSubject::User { name: name.clone() }, 43_200, 129_600),
            Principal::Root { .. } => (SessionSubject::Root, 3600, 3600),
            _ => return Err(IamError::AccessDenied("Cannot call GetSessionToken with session credentials".into())),
        };
        let seconds = check_duration(input.duration_seconds, default, max, "maximum session duration")?;
        let mfa = match (&input.serial_number, &input.token_code) {
            (Some(serial), Some(code)) => {
                self.0.check_mfa_code(&ctx.scope.account, &ctx.principal, serial, code)?;
                true
            }
            (None, None) => false,
            _ => return Err(IamError::StsValidation("SerialNumber and TokenCode must be given together.".into())),
        };
        Ok(GetSessionTokenResponse { credentials: Some(self.issue(&ctx.scope.account, seconds, mfa, subject)?) })
    }
}

impl sts::Sts for Sts {
    /// `GetCallerIdentity` and `GetSessionToken` need no permission, as on AWS; other
    /// calls are authorized as usual.
    fn access(&self, ctx: &RequestContext, input: &nubo_model::Value) -> Vec<nubo_model::access::Access> {
        match ctx.operation.as_str() {
            "GetCallerIdentity" | "GetSessionToken" => Vec::new(),
            _ => nubo_model::access::derive(ctx, input),
        }
    }

    /// A role's trust policy is the resource policy of `sts:AssumeRole` on it.
    fn resource_policy(&self, _: &RequestContext, arn: &str) -> Option<String> {
        let (account, name) = parse_role_arn(arn)?;
        self.0.entity(Kind::Role, account, name).ok()?.trust_policy
    }
    async fn get_caller_identity(&self, ctx: &RequestContext, _: GetCallerIdentityRequest) -> std::result::Result<GetCallerIdentityResponse, AwsError> {
        Ok(GetCallerIdentityResponse {
            user_id: Some(ctx.principal.user_id()),
            account: Some(ctx.principal.account().to_string()),
            arn: Some(ctx.principal.arn()),
        })
    }
    async fn assume_role(&self, ctx: &RequestContext, input: AssumeRoleRequest) -> std::result::Result<AssumeRoleResponse, AwsError> {
        Sts::assume_role(self, ctx, input).map_err(Into::into)
    }
    async fn get_session_token(&self, ctx: &RequestContext, input: GetSessionTokenRequest) -> std::result::Result<GetSessionTokenResponse, AwsError> {
        Sts::get_session_token(self, ctx, input).map_err(Into::into)
    }
    async fn get_access_key_info(&self, ctx: &RequestContext, input: GetAccessKeyInfoRequest) -> std::result::Result<GetAccessKeyInfoResponse, AwsError> {
        let id = input.access_key_id;
        let account = match nubo_model::guard::Guard::credentials(&self.0, &id) {
            Some(c) => c.principal.account().to_string(),
            None => ctx.scope.account.clone(),
        };
        Ok(GetAccessKeyInfoResponse { account: Some(account) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_name_their_account_and_role() {
        assert_eq!(parse_role_arn("arn:aws:iam::123456789012:role/ops/Admin"), Some(("123456789012", "Admin")));
        assert_eq!(parse_role_arn("arn:aws:iam::123456789012:user/bob"), None);
    }

    #[test]
    fn durations_are_bounded() {
        assert_eq!(check_duration(None, 3600, 3600, "x").unwrap(), 3600);
        assert!(check_duration(Some(899), 3600, 3600, "x").is_err());
        assert!(check_duration(Some(7200), 3600, 3600, "x").is_err());
    }
}

/// What EC2 hands an instance for its instance profile's role.
#[derive(Debug, Clone)]
pub struct InstanceRoleCredentials {
    pub role_name: String,
    pub profile_arn: String,
    pub profile_id: String,
    pub credentials: Credentials,
}

impl Iam {
    /// Whether IAM is enforced (`--enforce-iam`).
    pub fn enforcing(&self) -> bool {
        self.enforce
    }

    /// Temporary credentials for a role, as a service that the role trusts gets them
    /// (Lambda for a function's execution role): the session is named `session`.
    pub fn service_role_credentials(&self, role_arn: &str, session: &str, seconds: i32) -> std::result::Result<Credentials, String> {
        let (account, name) = parse_role_arn(role_arn).ok_or_else(|| format!("{role_arn} is not a role ARN"))?;
        let role = self.entity(Kind::Role, account, name).map_err(|e| format!("{e:?}"))?;
        Sts(self.clone())
            .issue(
                account,
                seconds,
                false,
                SessionSubject::AssumedRole { role_name: role.name.clone(), role_id: role.id.clone(), role_path: role.path.clone(), session_name: session.to_string(), policies: Vec::new() },
            )
            .map_err(|e| format!("{e:?}"))
    }

    /// Temporary credentials for the role of an instance profile (its ARN or name), for a
    /// session named after the instance, as EC2 gets them by assuming the role as
    /// `ec2.amazonaws.com` (the trust policy is between the role and EC2, so it is not
    /// asked here). Valid six hours, as instance credentials are.
    pub fn instance_profile_credentials(&self, account: &str, profile: &str, session: &str) -> std::result::Result<InstanceRoleCredentials, String> {
        let name = profile.rsplit('/').next().unwrap_or(profile);
        let p = self.instance_profile(account, name).map_err(|e| format!("{e:?}"))?;
        let role_name = p.roles.first().ok_or_else(|| format!("instance profile {name} has no role"))?;
        let role = self.entity(Kind::Role, account, role_name).map_err(|e| format!("{e:?}"))?;
        let credentials = Sts(self.clone())
            .issue(
                account,
                6 * 3600,
                false,
                SessionSubject::AssumedRole { role_name: role.name.clone(), role_id: role.id.clone(), role_path: role.path.clone(), session_name: session.to_string(), policies: Vec::new() },
            )
            .map_err(|e| format!("{e:?}"))?;
        Ok(InstanceRoleCredentials { role_name: role.name, profile_arn: p.arn, profile_id: p.id, credentials })
    }
}
