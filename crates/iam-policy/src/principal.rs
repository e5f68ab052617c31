//! The `Principal` / `NotPrincipal` element of resource-based and trust policies, and who
//! the caller is as those elements see them ([`PrincipalInfo`]).
//!
//! Forms, from "AWS JSON policy elements: Principal":
//! * `"*"` and `{"AWS": "*"}`: everyone, anonymous callers included;
//! * `{"AWS": "123456789012"}` or `arn:aws:iam::123456789012:root`: every principal of that
//!   account (the account delegates to its own identity policies);
//! * `{"AWS": "<user or role ARN>"}`: that user or role; a role ARN also covers the
//!   sessions of the role (they carry it in [`PrincipalInfo::also`]);
//! * `{"Service": "sns.amazonaws.com"}`: a service calling on a resource owner's behalf;
//! * `{"Federated": …}` and `{"CanonicalUser": …}`: accepted, never matched (nubo has no
//!   identity providers nor S3 canonical ids yet).
//!
//! `NotPrincipal` applies to everyone the list does not match. AWS warns it "might" check
//! the account, then the role, then the session separately; nubo uses the same matching as
//! `Principal`, so listing an account excludes all of its principals and listing a role
//! excludes its sessions.

use serde_json::Value;

use crate::error::{self, PolicyError};

/// Who is asking, as a resource policy's Principal/NotPrincipal sees them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrincipalInfo {
    /// e.g. `arn:aws:iam::111122223333:user/alice`, or
    /// `arn:aws:sts::111122223333:assumed-role/R/session`.
    pub arn: String,
    /// 12 digits.
    pub account: String,
    /// Other ARNs this principal matches as: for an assumed-role session, the role's ARN
    /// `arn:aws:iam::acct:role/R`.
    pub also: Vec<String>,
    /// For service principals like `sns.amazonaws.com`.
    pub service: Option<String>,
    /// Unsigned request: matches only Principal `"*"` / `{"AWS":"*"}`.
    pub anonymous: bool,
}

impl PrincipalInfo {
    /// The caller of an unsigned request.
    pub fn anonymous() -> Self {
        PrincipalInfo {
            anonymous: true,
            ..Default::default()
        }
    }

    /// A service principal such as `sns.amazonaws.com`.
    pub fn service(name: &str) -> Self {
        PrincipalInfo {
            service: Some(name.to_string()),
            ..Default::default()
        }
    }

    /// How an anonymous or service caller is named in messages: they have no ARN.
    pub(crate) fn display_name(&self) -> &str {
        if self.anonymous {
            "anonymous"
        } else if !self.arn.is_empty() {
            &self.arn
        } else {
            self.service.as_deref().unwrap_or("anonymous")
        }
    }
}

/// One entry of a Principal element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    /// `"*"` or `{"AWS": "*"}`.
    Everyone,
    /// An account id, from `"123456789012"` or its root ARN.
    Account(String),
    /// A user, role, session… ARN.
    Arn(String),
    Service(String),
    /// Federated and canonical-user principals: nubo cannot match them yet.
    Unmatchable,
}

/// How a statement's principal element matched the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Match {
    No,
    /// Through the caller's account (`"123456789012"`, `…:root`): in the caller's own
    /// account this delegates to its identity policies rather than granting.
    Account,
    /// Through `*`, or an ARN in [`PrincipalInfo::also`].
    Indirect,
    /// By the caller's own ARN: for a role session, a policy naming the session itself,
    /// which the evaluation logic lets bypass the session policies.
    Direct,
}

impl Entry {
    fn matches(&self, who: &PrincipalInfo) -> Match {
        match self {
            Entry::Everyone => Match::Indirect,
            _ if who.anonymous => Match::No,
            Entry::Account(acct) if *acct == who.account => Match::Account,
            Entry::Arn(arn) if *arn == who.arn => Match::Direct,
            Entry::Arn(arn) if who.also.iter().any(|a| a == arn) => Match::Indirect,
            Entry::Service(svc)
                if who
                    .service
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case(svc)) =>
            {
                Match::Direct
            }
            _ => Match::No,
        }
    }
}

/// The best match of the caller against a list of entries.
pub(crate) fn best_match(entries: &[Entry], who: &PrincipalInfo) -> Match {
    let mut best = Match::No;
    for e in entries {
        match e.matches(who) {
            Match::Direct => return Match::Direct,
            Match::Indirect => best = Match::Indirect,
            Match::Account if best == Match::No => best = Match::Account,
            Match::Account | Match::No => {}
        }
    }
    best
}

/// Parses a Principal/NotPrincipal value.
pub(crate) fn parse(value: &Value) -> Result<Vec<Entry>, PolicyError> {
    match value {
        Value::String(s) if s == "*" => Ok(vec![Entry::Everyone]),
        Value::Object(map) if !map.is_empty() => {
            let mut entries = Vec::new();
            for (kind, v) in map {
                let ids = strings(v).ok_or_else(|| error::invalid_principal(kind, v))?;
                for id in ids {
                    entries.push(parse_entry(kind, id)?);
                }
            }
            Ok(entries)
        }
        _ => Err(PolicyError(error::INVALID_PRINCIPAL.to_string())),
    }
}

fn parse_entry(kind: &str, id: &str) -> Result<Entry, PolicyError> {
    let bad = || error::invalid_principal(kind, &Value::String(id.to_string()));
    match kind {
        "AWS" => {
            if id == "*" {
                Ok(Entry::Everyone)
            } else if is_account_id(id) {
                Ok(Entry::Account(id.to_string()))
            } else if let Some(acct) = root_account(id) {
                Ok(Entry::Account(acct.to_string()))
            } else if is_principal_arn(id) {
                Ok(Entry::Arn(id.to_string()))
            } else {
                Err(bad())
            }
        }
        "Service" if !id.is_empty() && !id.contains('*') => Ok(Entry::Service(id.to_string())),
        "Federated" | "CanonicalUser" if !id.is_empty() => Ok(Entry::Unmatchable),
        _ => Err(bad()),
    }
}

fn strings(v: &Value) -> Option<Vec<&str>> {
    match v {
        Value::String(s) => Some(vec![s.as_str()]),
        Value::Array(items) if !items.is_empty() => items.iter().map(Value::as_str).collect(),
        _ => None,
    }
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `arn:<partition>:iam::<account>:root` → the account.
fn root_account(s: &str) -> Option<&str> {
    let mut parts = s.splitn(6, ':');
    let ok = parts.next()? == "arn" && !parts.next()?.is_empty() && parts.next()? == "iam";
    let region = parts.next()?;
    let account = parts.next()?;
    (ok && region.is_empty() && is_account_id(account) && parts.next()? == "root")
        .then_some(account)
}

/// An IAM or STS ARN naming a principal (`arn:aws:iam::123456789012:user/alice`). Wildcards
/// are not allowed in principal ARNs.
fn is_principal_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", p, "iam" | "sts", "", acct, rest]
        if !p.is_empty() && is_account_id(acct) && !rest.is_empty())
        && !s.contains(['*', '?'])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn alice() -> PrincipalInfo {
        PrincipalInfo {
            arn: "arn:aws:iam::111122223333:user/alice".into(),
            account: "111122223333".into(),
            ..Default::default()
        }
    }

    fn session() -> PrincipalInfo {
        PrincipalInfo {
            arn: "arn:aws:sts::111122223333:assumed-role/R/s1".into(),
            account: "111122223333".into(),
            also: vec!["arn:aws:iam::111122223333:role/R".into()],
            ..Default::default()
        }
    }

    fn m(v: Value, who: &PrincipalInfo) -> Match {
        best_match(&parse(&v).unwrap(), who)
    }

    #[test]
    fn star_matches_everyone_including_anonymous() {
        assert_eq!(m(json!("*"), &alice()), Match::Indirect);
        assert_eq!(m(json!("*"), &PrincipalInfo::anonymous()), Match::Indirect);
        assert_eq!(
            m(json!({"AWS": "*"}), &PrincipalInfo::anonymous()),
            Match::Indirect
        );
        assert_eq!(m(json!({"AWS": ["*"]}), &session()), Match::Indirect);
    }

    #[test]
    fn account_forms_match_every_principal_of_the_account() {
        assert_eq!(m(json!({"AWS": "111122223333"}), &alice()), Match::Account);
        assert_eq!(
            m(json!({"AWS": "arn:aws:iam::111122223333:root"}), &session()),
            Match::Account
        );
        assert_eq!(m(json!({"AWS": "444455556666"}), &alice()), Match::No);
        assert_eq!(
            m(json!({"AWS": "111122223333"}), &PrincipalInfo::anonymous()),
            Match::No
        );
    }

    #[test]
    fn arns_match_directly_or_through_also() {
        assert_eq!(
            m(
                json!({"AWS": "arn:aws:iam::111122223333:user/alice"}),
                &alice()
            ),
            Match::Direct
        );
        assert_eq!(
            m(
                json!({"AWS": "arn:aws:iam::111122223333:user/bob"}),
                &alice()
            ),
            Match::No
        );
        assert_eq!(
            m(
                json!({"AWS": "arn:aws:iam::111122223333:role/R"}),
                &session()
            ),
            Match::Indirect
        );
        assert_eq!(
            m(
                json!({"AWS": "arn:aws:sts::111122223333:assumed-role/R/s1"}),
                &session()
            ),
            Match::Direct
        );
        assert_eq!(
            m(
                json!({"AWS": ["arn:aws:iam::111122223333:role/R", "arn:aws:sts::111122223333:assumed-role/R/s1"]}),
                &session()
            ),
            Match::Direct
        );
    }

    #[test]
    fn services_match_service_callers_only() {
        let sns = PrincipalInfo::service("sns.amazonaws.com");
        assert_eq!(
            m(json!({"Service": "sns.amazonaws.com"}), &sns),
            Match::Direct
        );
        assert_eq!(
            m(
                json!({"Service": ["s3.amazonaws.com", "SNS.amazonaws.com"]}),
                &sns
            ),
            Match::Direct
        );
        assert_eq!(m(json!({"Service": "s3.amazonaws.com"}), &sns), Match::No);
        assert_eq!(
            m(json!({"Service": "sns.amazonaws.com"}), &alice()),
            Match::No
        );
        assert_eq!(m(json!({"AWS": "111122223333"}), &sns), Match::No);
    }

    #[test]
    fn federated_and_canonical_users_never_match() {
        assert_eq!(
            m(
                json!({"Federated": "cognito-identity.amazonaws.com"}),
                &alice()
            ),
            Match::No
        );
        assert_eq!(
            m(
                json!({"CanonicalUser": "79a59df900b949e55d96a1e698fbace"}),
                &alice()
            ),
            Match::No
        );
    }

    #[test]
    fn malformed_principals_are_rejected_with_the_iam_message() {
        let err = parse(&json!({"AWS": "bob"})).unwrap_err();
        assert_eq!(err.0, r#"Invalid principal in policy: "AWS":"bob""#);
        for bad in [
            json!("arn:aws:iam::111122223333:root"),
            json!({}),
            json!({"AWS": []}),
            json!({"AWS": 12}),
            json!({"AWS": "arn:aws:iam::111122223333:user/*"}),
            json!({"AWS": "arn:aws:s3:::bucket"}),
            json!({"Service": ""}),
            json!({"Bogus": "x"}),
            json!(["*"]),
        ] {
            assert!(parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn display_names_follow_aws_messages() {
        assert_eq!(PrincipalInfo::anonymous().display_name(), "anonymous");
        assert_eq!(
            alice().display_name(),
            "arn:aws:iam::111122223333:user/alice"
        );
        assert_eq!(
            PrincipalInfo::service("sns.amazonaws.com").display_name(),
            "sns.amazonaws.com"
        );
    }
}
