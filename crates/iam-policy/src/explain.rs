//! The sentence AWS puts in `AccessDenied` messages, from an [`Evaluation`].
//!
//! The shapes, as AWS services return them:
//! * `User: <arn> is not authorized to perform: <action> on resource: <resource> because no
//!   identity-based policy allows the <action> action` (also `no resource-based policy`,
//!   `no session policy`);
//! * `User: <arn> is not authorized to perform: <action> on resource: <resource> with an
//!   explicit deny in an identity-based policy` (also `in a resource-based policy`,
//!   `in a session policy`).
//!
//! S3 quotes the resource (`on resource: "arn:aws:s3:::b/k"`), other services do not.
//! Unsigned callers are `anonymous`.

use crate::evaluate::{Decision, Evaluation, PolicyType, Request};

/// The explanation AWS writes in AccessDenied messages (and a plain statement of the
/// grant for an `Allow`, which AWS never writes).
pub fn explain(eval: &Evaluation, req: &Request) -> String {
    let who = req.principal.display_name();
    let action = req.action;
    let is_s3 = action
        .split_once(':')
        .is_some_and(|(svc, _)| svc.eq_ignore_ascii_case("s3"));
    let resource = if is_s3 {
        format!("\"{}\"", req.resource)
    } else {
        req.resource.to_string()
    };
    match eval.decision {
        Decision::Allow => {
            format!("User: {who} is authorized to perform: {action} on resource: {resource}")
        }
        Decision::ExplicitDeny => {
            let kind = eval
                .matched
                .first()
                .map_or(&PolicyType::Identity, |m| &m.kind);
            let policy = match kind {
                PolicyType::Identity => "an identity-based policy",
                PolicyType::Resource => "a resource-based policy",
                PolicyType::Session => "a session policy",
            };
            format!("User: {who} is not authorized to perform: {action} on resource: {resource} with an explicit deny in {policy}")
        }
        Decision::ImplicitDeny => {
            let policy = match eval.missing.as_ref().unwrap_or(&PolicyType::Identity) {
                PolicyType::Identity => "identity-based",
                PolicyType::Resource => "resource-based",
                PolicyType::Session => "session",
            };
            format!(
                "User: {who} is not authorized to perform: {action} on resource: {resource} because no {policy} policy allows the {action} action"
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Context;
    use crate::evaluate::MatchedStatement;
    use crate::principal::PrincipalInfo;

    fn user() -> PrincipalInfo {
        PrincipalInfo {
            arn: "arn:aws:iam::123456789012:user/user-1".into(),
            account: "123456789012".into(),
            ..Default::default()
        }
    }

    fn implicit(missing: PolicyType) -> Evaluation {
        Evaluation {
            decision: Decision::ImplicitDeny,
            matched: vec![],
            missing: Some(missing),
        }
    }

    fn explicit(kind: PolicyType) -> Evaluation {
        Evaluation {
            decision: Decision::ExplicitDeny,
            matched: vec![MatchedStatement {
                policy: "P".into(),
                sid: None,
                kind,
            }],
            missing: None,
        }
    }

    fn say(eval: &Evaluation, who: &PrincipalInfo, action: &str, resource: &str) -> String {
        let ctx = Context::new();
        explain(
            eval,
            &Request {
                action,
                resource,
                principal: who,
                context: &ctx,
            },
        )
    }

    #[test]
    fn implicit_deny_names_the_missing_policy_kind() {
        assert_eq!(
            say(
                &implicit(PolicyType::Identity),
                &user(),
                "s3:PutObject",
                "arn:aws:s3:::b/k"
            ),
            r#"User: arn:aws:iam::123456789012:user/user-1 is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::b/k" because no identity-based policy allows the s3:PutObject action"#
        );
        assert_eq!(
            say(&implicit(PolicyType::Session), &user(), "dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/T"),
            "User: arn:aws:iam::123456789012:user/user-1 is not authorized to perform: dynamodb:GetItem on resource: arn:aws:dynamodb:us-east-1:123456789012:table/T because no session policy allows the dynamodb:GetItem action"
        );
        assert_eq!(
            say(&implicit(PolicyType::Resource), &user(), "kms:Decrypt", "*"),
            "User: arn:aws:iam::123456789012:user/user-1 is not authorized to perform: kms:Decrypt on resource: * because no resource-based policy allows the kms:Decrypt action"
        );
    }

    #[test]
    fn explicit_deny_names_where_the_deny_was() {
        assert_eq!(
            say(
                &explicit(PolicyType::Resource),
                &user(),
                "s3:DeleteObject",
                "arn:aws:s3:::b/k"
            ),
            r#"User: arn:aws:iam::123456789012:user/user-1 is not authorized to perform: s3:DeleteObject on resource: "arn:aws:s3:::b/k" with an explicit deny in a resource-based policy"#
        );
        assert!(say(&explicit(PolicyType::Identity), &user(), "iam:DeleteRole", "arn:aws:iam::123456789012:role/R")
            .ends_with("on resource: arn:aws:iam::123456789012:role/R with an explicit deny in an identity-based policy"));
        assert!(say(
            &explicit(PolicyType::Session),
            &user(),
            "sqs:SendMessage",
            "q"
        )
        .ends_with("with an explicit deny in a session policy"));
    }

    #[test]
    fn anonymous_callers_are_called_anonymous() {
        assert_eq!(
            say(&implicit(PolicyType::Resource), &PrincipalInfo::anonymous(), "execute-api:Invoke", "arn:aws:execute-api:us-east-1:1:a/dev/GET/x"),
            "User: anonymous is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:1:a/dev/GET/x because no resource-based policy allows the execute-api:Invoke action"
        );
    }

    #[test]
    fn allow_is_stated_plainly() {
        let allow = Evaluation {
            decision: Decision::Allow,
            matched: vec![],
            missing: None,
        };
        assert_eq!(
            say(&allow, &user(), "sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:q"),
            "User: arn:aws:iam::123456789012:user/user-1 is authorized to perform: sqs:SendMessage on resource: arn:aws:sqs:us-east-1:123456789012:q"
        );
    }
}
