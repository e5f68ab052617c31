//! The decision: does this set of policies allow this request? ("Policy evaluation logic".)
//!
//! 1. An applicable `Deny` statement in any policy — identity, resource or session — decides:
//!    explicit deny.
//! 2. Otherwise an `Allow` is needed, and where it must come from depends on the caller:
//!    * same account: an identity-based policy **or** the resource-based policy;
//!    * another account: an identity-based policy **and** the resource-based policy;
//!    * anonymous callers and AWS services (no identity, no identity policies): the
//!      resource-based policy alone;
//!    * a role session with session policies: additionally a session policy, unless the
//!      resource-based policy names the session's own ARN (the docs: such a policy "is not
//!      limited by the session policy").
//! 3. Nothing allows: implicit deny, naming the kind of policy whose allow was missing.
//!
//! Permissions boundaries and SCPs are out of scope: nubo has neither.
//!
//! A statement applies when its action, resource, principal (resource policies) and every
//! condition match. Matching allocates nothing unless a statement matches.

use crate::context::Context;
use crate::document::{Effect, Element, Policy, Statement};
use crate::matching::action_matches;
use crate::principal::{self, Match, PrincipalInfo};

/// One authorization question.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// `"s3:GetObject"` (matched case-insensitively).
    pub action: &'a str,
    /// An ARN, or `"*"`.
    pub resource: &'a str,
    pub principal: &'a PrincipalInfo,
    /// Condition keys.
    pub context: &'a Context,
}

/// The policies that apply to a request, by kind.
#[derive(Clone, Debug, Default)]
pub struct PolicySet<'a> {
    /// The principal's identity-based policies (user inline+attached, groups', role's).
    pub identity: Vec<Named<'a>>,
    /// The resource-based policy (bucket policy, queue policy, trust policy…).
    pub resource: Option<Named<'a>>,
    /// Session policies of an assumed-role session (intersection: they can only restrict).
    pub session: Vec<Named<'a>>,
    /// The principal's account is the resource owner's account.
    pub same_account: bool,
}

/// A policy and the name explanations use for it, e.g. `"S3ReadOnly"` or
/// `"arn:aws:iam::aws:policy/ReadOnlyAccess"`.
#[derive(Clone, Copy, Debug)]
pub struct Named<'a> {
    pub name: &'a str,
    pub policy: &'a Policy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyType {
    Identity,
    Resource,
    Session,
}

/// A statement that took part in the decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedStatement {
    /// The [`Named::name`] of its policy.
    pub policy: String,
    pub sid: Option<String>,
    pub kind: PolicyType,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub decision: Decision,
    /// The statements that decided: for ExplicitDeny the denying statement(s); for Allow the
    /// allowing one(s).
    pub matched: Vec<MatchedStatement>,
    /// For ImplicitDeny: which kind of policy was missing an allow.
    pub missing: Option<PolicyType>,
}

/// Evaluates `req` against every policy of `set`.
pub fn evaluate(set: &PolicySet, req: &Request) -> Evaluation {
    let mut denies = Vec::new();
    let identity = Tally::scan(&set.identity, PolicyType::Identity, req, &mut denies);
    let resource = Tally::scan(
        set.resource.as_slice(),
        PolicyType::Resource,
        req,
        &mut denies,
    );
    let session = Tally::scan(&set.session, PolicyType::Session, req, &mut denies);
    if !denies.is_empty() {
        return Evaluation {
            decision: Decision::ExplicitDeny,
            matched: denies,
            missing: None,
        };
    }

    let who = req.principal;
    let identity_allows = !identity.allows.is_empty();
    let resource_allows = !resource.allows.is_empty();
    let (base, base_missing) = if who.anonymous || (who.service.is_some() && who.arn.is_empty()) {
        (resource_allows, PolicyType::Resource)
    } else if set.same_account {
        // A resource policy naming only the caller's account delegates to identity policies.
        (identity_allows || resource.grants, PolicyType::Identity)
    } else if !identity_allows {
        (false, PolicyType::Identity)
    } else {
        (resource_allows, PolicyType::Resource)
    };
    let session_allows =
        set.session.is_empty() || !session.allows.is_empty() || resource.names_caller;

    if base && session_allows {
        let mut matched = identity.allows;
        matched.extend(resource.allows);
        matched.extend(session.allows);
        return Evaluation {
            decision: Decision::Allow,
            matched,
            missing: None,
        };
    }
    let missing = if base {
        PolicyType::Session
    } else {
        base_missing
    };
    Evaluation {
        decision: Decision::ImplicitDeny,
        matched: Vec::new(),
        missing: Some(missing),
    }
}

/// The allowing statements found in the policies of one kind.
struct Tally {
    allows: Vec<MatchedStatement>,
    /// An allowing statement granted by itself: its principal was not merely the
    /// caller's account (which delegates to the account's identity policies).
    grants: bool,
    /// An allowing statement named the caller's own ARN.
    names_caller: bool,
}

impl Tally {
    fn scan(
        policies: &[Named],
        kind: PolicyType,
        req: &Request,
        denies: &mut Vec<MatchedStatement>,
    ) -> Tally {
        let mut tally = Tally {
            allows: Vec::new(),
            grants: false,
            names_caller: false,
        };
        for named in policies {
            for st in &named.policy.statements {
                let Some(principal) = applies(st, &kind, req) else {
                    continue;
                };
                let found = MatchedStatement {
                    policy: named.name.to_string(),
                    sid: st.sid.clone(),
                    kind: kind.clone(),
                };
                match st.effect {
                    Effect::Deny => denies.push(found),
                    Effect::Allow => {
                        tally.names_caller |= principal == Match::Direct;
                        tally.grants |= principal != Match::Account;
                        tally.allows.push(found);
                    }
                }
            }
        }
        tally
    }
}

/// Whether the statement covers the request; `Some` tells how its principal matched.
fn applies(st: &Statement, kind: &PolicyType, req: &Request) -> Option<Match> {
    if !element_covers(&st.actions, |p| action_matches(p, req.action)) {
        return None;
    }
    if let Some(resources) = &st.resources {
        let covered = element_covers(resources, |p| {
            p.matches(req.resource, false, req.context) == Some(true)
        });
        if !covered {
            return None;
        }
    }
    let principal = match &st.principals {
        Some(el) => match (principal::best_match(&el.items, req.principal), el.not) {
            (Match::No, false) => return None,
            (m, false) => m,
            (Match::No, true) => Match::Indirect,
            (_, true) => return None,
        },
        // A resource policy statement names who it is for; without a Principal (a document
        // parsed as another kind) it is for no one.
        None if *kind == PolicyType::Resource => return None,
        None => Match::Indirect,
    };
    st.conditions
        .iter()
        .all(|c| c.holds(req.context))
        .then_some(principal)
}

/// `Action`-like elements list what they cover; `Not…` elements cover everything else.
fn element_covers<T>(el: &Element<T>, mut matches: impl FnMut(&T) -> bool) -> bool {
    el.items.iter().any(&mut matches) != el.not
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::PolicyKind;

    const ACCT: &str = "111122223333";
    const OTHER: &str = "444455556666";

    fn alice() -> PrincipalInfo {
        PrincipalInfo {
            arn: format!("arn:aws:iam::{ACCT}:user/alice"),
            account: ACCT.into(),
            ..Default::default()
        }
    }

    fn session() -> PrincipalInfo {
        PrincipalInfo {
            arn: format!("arn:aws:sts::{ACCT}:assumed-role/R/s1"),
            account: ACCT.into(),
            also: vec![format!("arn:aws:iam::{ACCT}:role/R")],
            ..Default::default()
        }
    }

    fn outsider() -> PrincipalInfo {
        PrincipalInfo {
            arn: format!("arn:aws:iam::{OTHER}:user/eve"),
            account: OTHER.into(),
            ..Default::default()
        }
    }

    fn id(json: &str) -> Policy {
        Policy::parse(json, PolicyKind::Identity).unwrap()
    }

    fn res(json: &str) -> Policy {
        Policy::parse(json, PolicyKind::Resource).unwrap()
    }

    /// An identity statement list wrapped in a 2012-10-17 document.
    fn idp(statements: &str) -> Policy {
        id(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#
        ))
    }

    fn resp(statements: &str) -> Policy {
        res(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#
        ))
    }

    fn ask(
        set: &PolicySet,
        who: &PrincipalInfo,
        action: &str,
        resource: &str,
        ctx: &Context,
    ) -> Evaluation {
        evaluate(
            set,
            &Request {
                action,
                resource,
                principal: who,
                context: ctx,
            },
        )
    }

    fn identity_only<'a>(policies: &'a [Policy]) -> PolicySet<'a> {
        PolicySet {
            identity: policies
                .iter()
                .map(|p| Named {
                    name: "P",
                    policy: p,
                })
                .collect(),
            same_account: true,
            ..Default::default()
        }
    }

    fn decision(policies: &[Policy], action: &str, resource: &str) -> Decision {
        ask(
            &identity_only(policies),
            &alice(),
            action,
            resource,
            &Context::new(),
        )
        .decision
    }

    // ---- Allow / Deny / implicit deny ----

    #[test]
    fn nothing_attached_is_an_implicit_deny_for_want_of_an_identity_policy() {
        let e = ask(
            &PolicySet {
                same_account: true,
                ..Default::default()
            },
            &alice(),
            "s3:GetObject",
            "*",
            &Context::new(),
        );
        assert_eq!(e.decision, Decision::ImplicitDeny);
        assert_eq!(e.missing, Some(PolicyType::Identity));
        assert!(e.matched.is_empty());
    }

    #[test]
    fn an_allow_statement_allows_and_is_reported() {
        let p = [idp(
            r#"{"Sid":"Read","Effect":"Allow","Action":"s3:Get*","Resource":"arn:aws:s3:::b/*"}"#,
        )];
        let e = ask(
            &identity_only(&p),
            &alice(),
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            &Context::new(),
        );
        assert_eq!(e.decision, Decision::Allow);
        assert_eq!(
            e.matched,
            vec![MatchedStatement {
                policy: "P".into(),
                sid: Some("Read".into()),
                kind: PolicyType::Identity
            }]
        );
        assert_eq!(
            decision(&p, "s3:PutObject", "arn:aws:s3:::b/k"),
            Decision::ImplicitDeny
        );
        assert_eq!(
            decision(&p, "s3:GetObject", "arn:aws:s3:::other/k"),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn explicit_deny_beats_any_allow() {
        let p = [
            idp(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#),
            idp(r#"{"Sid":"NoDelete","Effect":"Deny","Action":"s3:Delete*","Resource":"*"}"#),
        ];
        let e = ask(
            &identity_only(&p),
            &alice(),
            "s3:DeleteObject",
            "arn:aws:s3:::b/k",
            &Context::new(),
        );
        assert_eq!(e.decision, Decision::ExplicitDeny);
        assert_eq!(e.matched.len(), 1);
        assert_eq!(e.matched[0].sid.as_deref(), Some("NoDelete"));
        assert_eq!(e.missing, None);
        assert_eq!(
            decision(&p, "s3:GetObject", "arn:aws:s3:::b/k"),
            Decision::Allow
        );
    }

    #[test]
    fn every_denying_statement_is_reported() {
        let p = [idp(
            r#"{"Sid":"A","Effect":"Deny","Action":"s3:*","Resource":"*"},
               {"Sid":"B","Effect":"Deny","Action":"*","Resource":"*"},
               {"Sid":"C","Effect":"Deny","Action":"sqs:*","Resource":"*"}"#,
        )];
        let e = ask(
            &identity_only(&p),
            &alice(),
            "s3:GetObject",
            "*",
            &Context::new(),
        );
        let sids: Vec<_> = e.matched.iter().map(|m| m.sid.clone().unwrap()).collect();
        assert_eq!(sids, ["A", "B"]);
    }

    #[test]
    fn action_matching_is_case_insensitive() {
        let p = [idp(
            r#"{"Effect":"Allow","Action":"S3:getobject","Resource":"*"}"#,
        )];
        assert_eq!(
            decision(&p, "s3:GetObject", "arn:aws:s3:::b/k"),
            Decision::Allow
        );
    }

    // ---- NotAction / NotResource ----

    #[test]
    fn not_action_allows_everything_else() {
        let p = [idp(
            r#"{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}"#,
        )];
        assert_eq!(decision(&p, "s3:GetObject", "*"), Decision::Allow);
        assert_eq!(decision(&p, "iam:CreateUser", "*"), Decision::ImplicitDeny);
    }

    #[test]
    fn deny_with_not_action_denies_everything_else() {
        let p = [
            idp(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#),
            idp(
                r#"{"Effect":"Deny","NotAction":["iam:ChangePassword","sts:GetCallerIdentity"],"Resource":"*"}"#,
            ),
        ];
        assert_eq!(decision(&p, "s3:GetObject", "*"), Decision::ExplicitDeny);
        assert_eq!(decision(&p, "iam:ChangePassword", "*"), Decision::Allow);
    }

    #[test]
    fn not_resource_covers_every_other_resource() {
        let p = [idp(
            r#"{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::secret/*"}"#,
        )];
        assert_eq!(
            decision(&p, "s3:GetObject", "arn:aws:s3:::public/k"),
            Decision::Allow
        );
        assert_eq!(
            decision(&p, "s3:GetObject", "arn:aws:s3:::secret/k"),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn deny_with_not_resource_protects_all_but_the_listed() {
        let p = [
            idp(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"}"#),
            idp(
                r#"{"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::ok","arn:aws:s3:::ok/*"]}"#,
            ),
        ];
        assert_eq!(
            decision(&p, "s3:GetObject", "arn:aws:s3:::ok/k"),
            Decision::Allow
        );
        assert_eq!(
            decision(&p, "s3:GetObject", "arn:aws:s3:::other/k"),
            Decision::ExplicitDeny
        );
    }

    #[test]
    fn not_action_and_not_resource_together() {
        let p = [idp(
            r#"{"Effect":"Allow","NotAction":"s3:Delete*","NotResource":"arn:aws:s3:::x/*"}"#,
        )];
        assert_eq!(
            decision(&p, "s3:GetObject", "arn:aws:s3:::y/k"),
            Decision::Allow
        );
        assert_eq!(
            decision(&p, "s3:DeleteObject", "arn:aws:s3:::y/k"),
            Decision::ImplicitDeny
        );
        assert_eq!(
            decision(&p, "s3:GetObject", "arn:aws:s3:::x/k"),
            Decision::ImplicitDeny
        );
    }

    // ---- variables and conditions in statements ----

    #[test]
    fn resource_variables_come_from_the_request_context() {
        let p = [idp(
            r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}"#,
        )];
        let set = identity_only(&p);
        let mut ctx = Context::new();
        ctx.set("aws:username", "alice");
        assert_eq!(
            ask(
                &set,
                &alice(),
                "s3:GetObject",
                "arn:aws:s3:::home/alice/f",
                &ctx
            )
            .decision,
            Decision::Allow
        );
        assert_eq!(
            ask(
                &set,
                &alice(),
                "s3:GetObject",
                "arn:aws:s3:::home/bob/f",
                &ctx
            )
            .decision,
            Decision::ImplicitDeny
        );
        let empty = Context::new();
        assert_eq!(
            ask(
                &set,
                &alice(),
                "s3:GetObject",
                "arn:aws:s3:::home//f",
                &empty
            )
            .decision,
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn old_documents_do_not_substitute_variables() {
        let p = [id(
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}}"#,
        )];
        let set = identity_only(&p);
        let mut ctx = Context::new();
        ctx.set("aws:username", "alice");
        assert_eq!(
            ask(
                &set,
                &alice(),
                "s3:GetObject",
                "arn:aws:s3:::home/alice/f",
                &ctx
            )
            .decision,
            Decision::ImplicitDeny
        );
        let literal = "arn:aws:s3:::home/${aws:username}/f";
        assert_eq!(
            ask(&set, &alice(), "s3:GetObject", literal, &ctx).decision,
            Decision::Allow
        );
    }

    #[test]
    fn conditions_gate_allow_and_deny_statements() {
        let p = [idp(
            r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}},
               {"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#,
        )];
        let set = identity_only(&p);
        let mut ctx = Context::new();
        ctx.set("aws:SourceIp", "10.1.2.3");
        ctx.set("aws:SecureTransport", "true");
        assert_eq!(
            ask(&set, &alice(), "s3:GetObject", "*", &ctx).decision,
            Decision::Allow
        );
        ctx.set("aws:SecureTransport", "false");
        assert_eq!(
            ask(&set, &alice(), "s3:GetObject", "*", &ctx).decision,
            Decision::ExplicitDeny
        );
        ctx.set("aws:SecureTransport", "true");
        ctx.set("aws:SourceIp", "192.168.0.1");
        assert_eq!(
            ask(&set, &alice(), "s3:GetObject", "*", &ctx).decision,
            Decision::ImplicitDeny
        );
    }

    // ---- resource-based policies, Principal and NotPrincipal ----

    fn with_resource<'a>(
        identity: &'a [Policy],
        resource: &'a Policy,
        same_account: bool,
    ) -> PolicySet<'a> {
        PolicySet {
            identity: identity
                .iter()
                .map(|p| Named {
                    name: "Id",
                    policy: p,
                })
                .collect(),
            resource: Some(Named {
                name: "BucketPolicy",
                policy: resource,
            }),
            session: Vec::new(),
            same_account,
        }
    }

    #[test]
    fn same_account_resource_policy_alone_allows() {
        let bucket = resp(&format!(
            r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCT}:user/alice"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}"#
        ));
        let set = with_resource(&[], &bucket, true);
        let e = ask(
            &set,
            &alice(),
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            &Context::new(),
        );
        assert_eq!(e.decision, Decision::Allow);
        assert_eq!(e.matched[0].kind, PolicyType::Resource);
        assert_eq!(e.matched[0].policy, "BucketPolicy");
    }

    #[test]
    fn same_account_resource_policy_naming_the_account_delegates_to_identity_policies() {
        let trust = Policy::parse(
            &format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCT}:root"}},"Action":"sts:AssumeRole"}}]}}"#),
            PolicyKind::Trust,
        )
        .unwrap();
        let e = ask(&with_resource(&[], &trust, true), &alice(), "sts:AssumeRole", "arn:aws:iam::111122223333:role/R", &Context::new());
        assert_eq!((e.decision, e.missing), (Decision::ImplicitDeny, Some(PolicyType::Identity)));
        let allow = idp(r#"{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}"#);
        let set = PolicySet {
            identity: vec![Named { name: "p", policy: &allow }],
            resource: Some(Named { name: "trust", policy: &trust }),
            session: Vec::new(),
            same_account: true,
        };
        assert_eq!(ask(&set, &alice(), "sts:AssumeRole", "arn:aws:iam::111122223333:role/R", &Context::new()).decision, Decision::Allow);
    }

    #[test]
    fn cross_account_needs_both_identity_and_resource_allows() {
        let bucket = resp(&format!(
            r#"{{"Effect":"Allow","Principal":{{"AWS":"{OTHER}"}},"Action":"s3:*","Resource":"*"}}"#
        ));
        let idents = [idp(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"}"#)];
        let both = with_resource(&idents, &bucket, false);
        assert_eq!(
            ask(
                &both,
                &outsider(),
                "s3:GetObject",
                "arn:aws:s3:::b/k",
                &Context::new()
            )
            .decision,
            Decision::Allow
        );

        let only_resource = with_resource(&[], &bucket, false);
        let e = ask(
            &only_resource,
            &outsider(),
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            &Context::new(),
        );
        assert_eq!(
            (e.decision, e.missing),
            (Decision::ImplicitDeny, Some(PolicyType::Identity))
        );

        let other_bucket = resp(
            r#"{"Effect":"Allow","Principal":{"AWS":"999999999999"},"Action":"s3:*","Resource":"*"}"#,
        );
        let only_identity = with_resource(&idents, &other_bucket, false);
        let e = ask(
            &only_identity,
            &outsider(),
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            &Context::new(),
        );
        assert_eq!(
            (e.decision, e.missing),
            (Decision::ImplicitDeny, Some(PolicyType::Resource))
        );

        let no_policy = PolicySet {
            identity: vec![Named {
                name: "Id",
                policy: &idents[0],
            }],
            ..Default::default()
        };
        let e = ask(
            &no_policy,
            &outsider(),
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            &Context::new(),
        );
        assert_eq!(e.missing, Some(PolicyType::Resource));
    }

    #[test]
    fn resource_policy_deny_beats_identity_allow() {
        let bucket = resp(
            r#"{"Sid":"Lock","Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"*"}"#,
        );
        let idents = [idp(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#)];
        let set = with_resource(&idents, &bucket, true);
        let e = ask(
            &set,
            &alice(),
            "s3:DeleteObject",
            "arn:aws:s3:::b/k",
            &Context::new(),
        );
        assert_eq!(e.decision, Decision::ExplicitDeny);
        assert_eq!(e.matched[0].kind, PolicyType::Resource);
        assert_eq!(e.matched[0].sid.as_deref(), Some("Lock"));
    }

    #[test]
    fn resource_statements_apply_only_to_their_principals() {
        let bucket = resp(
            r#"{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":"*","Resource":"*"}"#,
        );
        let idents = [idp(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#)];
        let set = with_resource(&idents, &bucket, true);
        assert_eq!(
            ask(&set, &alice(), "s3:GetObject", "*", &Context::new()).decision,
            Decision::Allow
        );
    }

    #[test]
    fn not_principal_deny_applies_to_everyone_but_the_listed() {
        let bucket = resp(&format!(
            r#"{{"Effect":"Deny","NotPrincipal":{{"AWS":["arn:aws:iam::{ACCT}:user/alice","{ACCT}"]}},"Action":"s3:*","Resource":"*"}},
               {{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}"#
        ));
        let set = with_resource(&[], &bucket, true);
        assert_eq!(
            ask(&set, &alice(), "s3:GetObject", "*", &Context::new()).decision,
            Decision::Allow
        );
        let anonymous = PrincipalInfo::anonymous();
        assert_eq!(
            ask(&set, &anonymous, "s3:GetObject", "*", &Context::new()).decision,
            Decision::ExplicitDeny
        );
        let set_x = with_resource(&[], &bucket, false);
        assert_eq!(
            ask(&set_x, &outsider(), "s3:GetObject", "*", &Context::new()).decision,
            Decision::ExplicitDeny
        );
    }

    #[test]
    fn not_principal_allow_allows_everyone_but_the_listed() {
        let bucket = resp(
            r#"{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"s3:*","Resource":"*"}"#,
        );
        let set = with_resource(&[], &bucket, true);
        assert_eq!(
            ask(&set, &alice(), "s3:GetObject", "*", &Context::new()).decision,
            Decision::ImplicitDeny
        );
        let bob = PrincipalInfo {
            arn: "arn:aws:iam::111122223333:user/bob".into(),
            account: ACCT.into(),
            ..Default::default()
        };
        assert_eq!(
            ask(&set, &bob, "s3:GetObject", "*", &Context::new()).decision,
            Decision::Allow
        );
    }

    #[test]
    fn anonymous_callers_need_a_public_resource_policy() {
        let public = resp(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#,
        );
        let account_only = resp(
            r#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"s3:GetObject","Resource":"*"}"#,
        );
        let anon = PrincipalInfo::anonymous();
        let e = ask(
            &with_resource(&[], &public, false),
            &anon,
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            &Context::new(),
        );
        assert_eq!(e.decision, Decision::Allow);
        let e = ask(
            &with_resource(&[], &account_only, false),
            &anon,
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            &Context::new(),
        );
        assert_eq!(
            (e.decision, e.missing),
            (Decision::ImplicitDeny, Some(PolicyType::Resource))
        );
        let e = ask(
            &PolicySet::default(),
            &anon,
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            &Context::new(),
        );
        assert_eq!(e.missing, Some(PolicyType::Resource));
    }

    #[test]
    fn service_principals_are_judged_by_the_resource_policy() {
        let queue = resp(
            r#"{"Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111122223333:q",
                "Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:111122223333:t"}}}"#,
        );
        let sns = PrincipalInfo::service("sns.amazonaws.com");
        let set = with_resource(&[], &queue, false);
        let mut ctx = Context::new();
        ctx.set("aws:SourceArn", "arn:aws:sns:us-east-1:111122223333:t");
        assert_eq!(
            ask(
                &set,
                &sns,
                "sqs:SendMessage",
                "arn:aws:sqs:us-east-1:111122223333:q",
                &ctx
            )
            .decision,
            Decision::Allow
        );
        ctx.set("aws:SourceArn", "arn:aws:sns:us-east-1:111122223333:other");
        assert_eq!(
            ask(
                &set,
                &sns,
                "sqs:SendMessage",
                "arn:aws:sqs:us-east-1:111122223333:q",
                &ctx
            )
            .decision,
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn resource_policy_without_resource_covers_the_attached_resource() {
        let topic =
            resp(r#"{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sns:Publish"}"#);
        let set = with_resource(&[], &topic, true);
        assert_eq!(
            ask(
                &set,
                &alice(),
                "sns:Publish",
                "arn:aws:sns:us-east-1:111122223333:t",
                &Context::new()
            )
            .decision,
            Decision::Allow
        );
    }

    #[test]
    fn identity_policy_in_the_resource_slot_grants_nobody() {
        let not_a_resource_policy = idp(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#);
        let set = with_resource(&[], &not_a_resource_policy, true);
        assert_eq!(
            ask(&set, &alice(), "s3:GetObject", "*", &Context::new()).decision,
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn role_arn_in_a_resource_policy_covers_its_sessions() {
        let bucket = resp(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/R"},"Action":"s3:*","Resource":"*"}"#,
        );
        let set = with_resource(&[], &bucket, true);
        assert_eq!(
            ask(&set, &session(), "s3:GetObject", "*", &Context::new()).decision,
            Decision::Allow
        );
    }

    // ---- session policies ----

    fn with_sessions<'a>(
        identity: &'a [Policy],
        resource: Option<&'a Policy>,
        sessions: &'a [Policy],
    ) -> PolicySet<'a> {
        PolicySet {
            identity: identity
                .iter()
                .map(|p| Named {
                    name: "RolePolicy",
                    policy: p,
                })
                .collect(),
            resource: resource.map(|p| Named {
                name: "BucketPolicy",
                policy: p,
            }),
            session: sessions
                .iter()
                .map(|p| Named {
                    name: "SessionPolicy",
                    policy: p,
                })
                .collect(),
            same_account: true,
        }
    }

    #[test]
    fn session_policies_only_restrict() {
        let role = [idp(
            r#"{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"*"}"#,
        )];
        let limit = [idp(
            r#"{"Effect":"Allow","Action":["s3:GetObject","ec2:*"],"Resource":"*"}"#,
        )];
        let set = with_sessions(&role, None, &limit);
        let e = ask(&set, &session(), "s3:GetObject", "*", &Context::new());
        assert_eq!(e.decision, Decision::Allow);
        assert_eq!(
            e.matched.iter().map(|m| m.kind.clone()).collect::<Vec<_>>(),
            [PolicyType::Identity, PolicyType::Session]
        );
        let e = ask(&set, &session(), "s3:PutObject", "*", &Context::new());
        assert_eq!(
            (e.decision, e.missing),
            (Decision::ImplicitDeny, Some(PolicyType::Session))
        );
        let e = ask(&set, &session(), "ec2:RunInstances", "*", &Context::new());
        assert_eq!(
            (e.decision, e.missing),
            (Decision::ImplicitDeny, Some(PolicyType::Identity))
        );
    }

    #[test]
    fn session_policy_deny_is_an_explicit_deny() {
        let role = [idp(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#)];
        let limit = [idp(
            r#"{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"s3:*","Resource":"*"}"#,
        )];
        let e = ask(
            &with_sessions(&role, None, &limit),
            &session(),
            "s3:GetObject",
            "*",
            &Context::new(),
        );
        assert_eq!(e.decision, Decision::ExplicitDeny);
        assert_eq!(e.matched[0].kind, PolicyType::Session);
    }

    #[test]
    fn resource_policy_naming_the_session_bypasses_session_policies() {
        let role: [Policy; 0] = [];
        let limit = [idp(r#"{"Effect":"Allow","Action":"ec2:*","Resource":"*"}"#)];
        let names_session = resp(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::111122223333:assumed-role/R/s1"},"Action":"s3:*","Resource":"*"}"#,
        );
        let e = ask(
            &with_sessions(&role, Some(&names_session), &limit),
            &session(),
            "s3:GetObject",
            "*",
            &Context::new(),
        );
        assert_eq!(e.decision, Decision::Allow);

        let names_role = resp(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/R"},"Action":"s3:*","Resource":"*"}"#,
        );
        let e = ask(
            &with_sessions(&role, Some(&names_role), &limit),
            &session(),
            "s3:GetObject",
            "*",
            &Context::new(),
        );
        assert_eq!(
            (e.decision, e.missing),
            (Decision::ImplicitDeny, Some(PolicyType::Session))
        );

        let everyone = resp(r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}"#);
        let e = ask(
            &with_sessions(&role, Some(&everyone), &limit),
            &session(),
            "s3:GetObject",
            "*",
            &Context::new(),
        );
        assert_eq!(e.missing, Some(PolicyType::Session));
    }

    #[test]
    fn role_and_session_both_allowing_through_resource_policy() {
        let role: [Policy; 0] = [];
        let limit = [idp(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"}"#)];
        let names_role = resp(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/R"},"Action":"s3:*","Resource":"*"}"#,
        );
        let e = ask(
            &with_sessions(&role, Some(&names_role), &limit),
            &session(),
            "s3:GetObject",
            "*",
            &Context::new(),
        );
        assert_eq!(e.decision, Decision::Allow);
    }
}
