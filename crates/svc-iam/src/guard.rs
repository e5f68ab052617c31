//! IAM as the gateway's [`Guard`]: whom an access key stands for, and whether a principal
//! may make an access, decided by the policy engine over the principal's identity
//! policies (its own, its groups', its role's) and the resource's policy.
//!
//! Root keys follow the local-cloud convention: any key IAM did not issue (`test`, or a
//! 12-digit account id) is the root user of its account, with the secret `test`.

use crate::keys::LastUse;
use crate::records::{self, AccessKeyRecord, EntityRecord, Kind, SessionRecord, SessionSubject};
use crate::Iam;
use nubo_core::scope::account_for_access_key;
use nubo_core::Principal;
use nubo_iam_policy::{evaluate, explain, Context, Decision, Evaluation, Named, Policy, PolicyKind, PolicySet, PrincipalInfo, Request};
use nubo_model::access::Access;
use nubo_model::guard::{Credentials, Guard, Question, Session, Verdict};
use nubo_store::get_json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The secret of every root key.
pub const ROOT_SECRET: &str = "test";

/// Parsed policy documents, by their text: parsing once per document, not per request.
#[derive(Default)]
pub struct PolicyCache {
    parsed: Mutex<HashMap<String, Option<Arc<Policy>>>>,
}

impl PolicyCache {
    /// A policy by a key that names its text for good (a managed policy's id and
    /// version), so that large documents are neither hashed nor copied per request.
    pub fn get_keyed(&self, key: &str, kind: PolicyKind, document: impl FnOnce() -> Option<String>) -> Option<Arc<Policy>> {
        let mut map = self.parsed.lock().ok()?;
        if let Some(p) = map.get(key) {
            return p.clone();
        }
        if map.len() > 4096 {
            map.clear();
        }
        let p = document().and_then(|d| Policy::parse(&d, kind).ok()).map(Arc::new);
        map.insert(key.to_string(), p.clone());
        p
    }

    pub fn get(&self, document: &str, kind: PolicyKind) -> Option<Arc<Policy>> {
        let mut map = self.parsed.lock().ok()?;
        if let Some(p) = map.get(document) {
            return p.clone();
        }
        if map.len() > 4096 {
            map.clear();
        }
        let p = Policy::parse(document, kind).ok().map(Arc::new);
        map.insert(document.to_string(), p.clone());
        p
    }
}

/// Who used what, when: for `GetAccessKeyLastUsed`, `RoleLastUsed` and the
/// service-last-accessed reports.
#[derive(Default)]
pub struct Usage {
    pub keys: HashMap<String, LastUse>,
    /// (entity ARN, service prefix) → last use.
    pub services: HashMap<(String, String), LastUse>,
}

/// The policies that apply to a principal, with the names explanations use.
pub(crate) struct Applicable {
    pub identity: Vec<(String, Arc<Policy>)>,
}

impl Iam {
    fn session(&self, key: &str) -> Option<SessionRecord> {
        self.store.read(|tx| get_json::<SessionRecord>(tx, records::SESSIONS, key.as_bytes())).ok().flatten()
    }

    /// An attached managed policy, parsed: AWS's once for good, the account's once per
    /// version (a version's document never changes; the id tells re-created policies apart).
    fn attached_policy(&self, account: &str, arn: &str) -> Option<Arc<Policy>> {
        if let Some(m) = crate::managed::find(arn) {
            return m.policy();
        }
        let record: crate::records::PolicyRecord = self.store.read(|tx| get_json(tx, records::POLICIES, arn.as_bytes())).ok().flatten()?;
        if !arn.starts_with(&format!("arn:aws:iam::{account}:")) {
            return None;
        }
        let key = format!("{}#{}", record.id, record.default_version);
        self.policies.get_keyed(&key, PolicyKind::Identity, || record.versions.iter().find(|v| v.id == record.default_version).map(|v| v.document.clone()))
    }

    pub(crate) fn user_principal(&self, account: &str, name: &str) -> Principal {
        match self.entity(Kind::User, account, name) {
            Ok(u) => Principal::User { account: account.into(), name: u.name, id: u.id, path: u.path },
            Err(_) => Principal::User { account: account.into(), name: name.into(), id: String::new(), path: "/".into() },
        }
    }

    /// The identity-based policies of a principal: inline and attached, its groups' too.
    pub(crate) fn applicable(&self, principal: &Principal) -> Applicable {
        let mut identity = Vec::new();
        let mut add_entity = |iam: &Iam, kind: Kind, account: &str, record: &EntityRecord| {
            for (name, doc) in &record.inline {
                if let Some(p) = iam.policies.get(doc, PolicyKind::Identity) {
                    identity.push((format!("{}:{}/{name}", kind.noun(), record.name), p));
                }
            }
            for arn in &record.attached {
                if let Some(p) = iam.attached_policy(account, arn) {
                    identity.push((arn.clone(), p));
                }
            }
        };
        match principal {
            Principal::User { account, name, .. } => {
                if let Ok(user) = self.entity(Kind::User, account, name) {
                    add_entity(self, Kind::User, account, &user);
                    for g in &user.groups {
                        if let Ok(group) = self.entity(Kind::Group, account, g) {
                            add_entity(self, Kind::Group, account, &group);
                        }
                    }
                }
            }
            Principal::AssumedRole { account, role_name, .. } => {
                if let Ok(role) = self.entity(Kind::Role, account, role_name) {
                    add_entity(self, Kind::Role, account, &role);
                }
            }
            Principal::Root { .. } | Principal::Anonymous => {}
        }
        Applicable { identity }
    }

    /// The request's condition keys that nubo knows, plus the service's own (`extra`).
    pub(crate) fn context(&self, asker: &Asker<'_>, extra: &[(String, Vec<String>)]) -> Context {
        let principal = asker.principal;
        let mut c = Context::new();
        let now = self.clock.now();
        c.set("aws:CurrentTime", now.to_iso8601_seconds());
        c.set("aws:EpochTime", (now.as_secs_f64() as i64).to_string());
        c.set("aws:SecureTransport", "false");
        c.set("aws:RequestedRegion", asker.region);
        c.set("aws:PrincipalAccount", principal.account());
        c.set("aws:userid", principal.user_id());
        if let Some(mfa) = asker.mfa {
            c.set("aws:MultiFactorAuthPresent", if mfa { "true" } else { "false" });
        }
        if let Some(ip) = asker.source_ip {
            c.set("aws:SourceIp", ip.to_string());
        }
        let tags = |kind: Kind, account: &str, name: &str| self.entity(kind, account, name).map(|r| r.tags).unwrap_or_default();
        let (principal_type, principal_arn, tags) = match principal {
            Principal::User { account, name, .. } => {
                c.set("aws:username", name.clone());
                ("User", Some(principal.arn()), tags(Kind::User, account, name))
            }
            Principal::AssumedRole { account, role_name, .. } => ("AssumedRole", principal.role_arn(), tags(Kind::Role, account, role_name)),
            Principal::Root { .. } => ("Account", Some(principal.arn()), Vec::new()),
            Principal::Anonymous => ("Anonymous", None, Vec::new()),
        };
        c.set("aws:PrincipalType", principal_type);
        if let Some(arn) = principal_arn {
            c.set("aws:PrincipalArn", arn);
        }
        for (k, v) in tags {
            c.set(&format!("aws:PrincipalTag/{k}"), v);
        }
        for (k, values) in extra {
            c.set_many(k, values.clone());
        }
        c
    }

    /// The one evaluation every decision goes through: enforcement, the simulator and
    /// STS's trust check.
    pub(crate) fn decide(&self, asker: &Asker<'_>, policies: &Policies<'_>, access: &Access) -> Evaluation {
        let context = self.context(asker, &access.context);
        let info = principal_info(asker.principal);
        let set = PolicySet {
            identity: policies.identity.iter().map(|(n, p)| Named { name: n, policy: p }).collect(),
            resource: policies.resource.map(|p| Named { name: "resource policy", policy: p }),
            session: policies.session.iter().map(|p| Named { name: "session policy", policy: p }).collect(),
            same_account: policies.same_account,
        };
        evaluate(&set, &Request { action: &access.action, resource: &access.resource, principal: &info, context: &context })
    }
}

/// Who asks, from where, with which session: what condition keys are made of.
pub(crate) struct Asker<'a> {
    pub principal: &'a Principal,
    pub region: &'a str,
    pub source_ip: Option<std::net::IpAddr>,
    /// `Some` for temporary credentials only.
    pub mfa: Option<bool>,
}

impl<'a> Asker<'a> {
    pub fn of(ctx: &'a nubo_core::RequestContext) -> Asker<'a> {
        Asker { principal: &ctx.principal, region: &ctx.scope.region, source_ip: ctx.source_ip, mfa: ctx.mfa_authenticated }
    }
}

/// The policies one decision weighs.
pub(crate) struct Policies<'a> {
    pub identity: &'a [(String, Arc<Policy>)],
    pub resource: Option<&'a Policy>,
    pub session: &'a [Arc<Policy>],
    pub same_account: bool,
}

pub(crate) fn principal_info(principal: &Principal) -> PrincipalInfo {
    PrincipalInfo {
        arn: principal.arn(),
        account: principal.account().to_string(),
        also: principal.role_arn().into_iter().collect(),
        service: None,
        anonymous: matches!(principal, Principal::Anonymous),
    }
}

/// The account that owns a resource, read off its ARN (S3 ARNs name none: the caller's).
fn resource_account<'a>(arn: &'a str, fallback: &'a str) -> &'a str {
    arn.split(':').nth(4).filter(|a| !a.is_empty()).unwrap_or(fallback)
}

impl Guard for Iam {
    fn credentials(&self, key: &str) -> Option<Credentials> {
        if key.starts_with("ASIA") {
            let s = self.session(key)?;
            let principal = match &s.subject {
                SessionSubject::AssumedRole { role_name, role_id, role_path, session_name, .. } => Principal::AssumedRole {
                    account: s.account.clone(),
                    role_name: role_name.clone(),
                    role_id: role_id.clone(),
                    role_path: role_path.clone(),
                    session_name: session_name.clone(),
                },
                SessionSubject::User { name } => self.user_principal(&s.account, name),
                SessionSubject::Root => Principal::Root { account: s.account.clone() },
            };
            return Some(Credentials {
                secret: s.secret,
                session_token: Some(s.token),
                principal,
                expiration: Some(s.expiration),
                active: true,
                session: Session {
                    temporary: true,
                    mfa_authenticated: s.mfa_authenticated,
                    policies: match s.subject {
                        SessionSubject::AssumedRole { policies, .. } => policies,
                        _ => Vec::new(),
                    },
                },
            });
        }
        if key.starts_with("AKIA") {
            let k: AccessKeyRecord = self.store.read(|tx| get_json(tx, records::ACCESS_KEYS, key.as_bytes())).ok().flatten()?;
            let principal = match &k.user {
                Some(u) => self.user_principal(&k.account, u),
                None => Principal::Root { account: k.account.clone() },
            };
            return Some(Credentials { secret: k.secret, session_token: None, principal, expiration: None, active: k.active, session: Session::default() });
        }
        Some(Credentials {
            secret: ROOT_SECRET.into(),
            session_token: None,
            principal: Principal::Root { account: account_for_access_key(key) },
            expiration: None,
            active: true,
            session: Session::default(),
        })
    }

    fn authorize(&self, q: &Question<'_>) -> Verdict {
        let principal = &q.ctx.principal;
        if principal.is_root() {
            return Verdict::Allow;
        }
        let applicable = self.applicable(principal);
        // A resource policy that does not parse denies rather than being skipped: a Deny
        // in it must not silently vanish.
        let kind = if q.access.action.eq_ignore_ascii_case("sts:AssumeRole") { PolicyKind::Trust } else { PolicyKind::Resource };
        let resource = match q.resource_policy {
            Some(text) => match self.policies.get(text, kind) {
                Some(p) => Some(p),
                None => return Verdict::Deny { reason: format!("The resource-based policy of {} could not be parsed", q.access.resource) },
            },
            None => None,
        };
        let session: Vec<Arc<Policy>> = q.session_policies.iter().filter_map(|d| self.policies.get(d, PolicyKind::Identity)).collect();
        let policies = Policies {
            identity: &applicable.identity,
            resource: resource.as_deref(),
            session: &session,
            same_account: resource_account(&q.access.resource, principal.account()) == principal.account(),
        };
        let eval = self.decide(&Asker::of(q.ctx), &policies, q.access);
        match eval.decision {
            Decision::Allow => Verdict::Allow,
            _ => {
                let info = principal_info(principal);
                let context = Context::new();
                let req = Request { action: &q.access.action, resource: &q.access.resource, principal: &info, context: &context };
                Verdict::Deny { reason: explain(&eval, &req) }
            }
        }
    }

    fn record_use(&self, access_key: &str, principal: &Principal, service: &str, region: &str) {
        let use_ = LastUse { at: self.clock.now(), service: nubo_model::access::action_prefix(service).to_string(), region: region.to_string() };
        if let Ok(mut u) = self.usage.lock() {
            let entity = principal.role_arn().unwrap_or_else(|| principal.arn());
            u.services.insert((entity, use_.service.clone()), use_.clone());
            u.keys.insert(access_key.to_string(), use_);
        }
    }
}
