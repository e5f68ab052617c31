//! Policy documents: parsing and validation, once, into [`Policy`] — the compiled form that
//! evaluation reads many times.
//!
//! Grammar, from "IAM JSON policy elements reference" and "Grammar of the IAM JSON policy
//! language": a document has `Version` (optional; `2012-10-17` or `2008-10-17`, absent
//! meaning the old one, without policy variables), `Id` (optional) and `Statement` (one
//! object or a list). A statement has `Sid`, `Effect` (`Allow`|`Deny`), exactly one of
//! `Action`/`NotAction`, at most one of `Resource`/`NotResource` and of
//! `Principal`/`NotPrincipal`, and `Condition`. Which of them a document needs depends on
//! where it is attached ([`PolicyKind`]). Anything else is an error with AWS's wording
//! (see `error.rs`); checks run in the order IAM reports them: syntax, legacy parsing,
//! statement ids, actions, resources, principals, then the format of values.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::condition::{self, Condition};
use crate::error::{self, PolicyError};
use crate::principal::{self, Entry};
use crate::variables::Pattern;

/// Where a document is attached, which decides the elements it needs and may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyKind {
    /// Attached to a user, group or role (and session policies): no Principal; Action and
    /// Resource required.
    Identity,
    /// Attached to a resource (bucket, queue, topic, key policy): Principal required;
    /// Resource optional (absent = the resource the policy is attached to).
    Resource,
    /// A role's trust policy: Principal required, only `sts:` actions, no Resource.
    Trust,
}

/// A parsed and validated policy document.
#[derive(Clone, Debug)]
pub struct Policy {
    version: Option<&'static str>,
    id: Option<String>,
    pub(crate) statements: Vec<Statement>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    Allow,
    Deny,
}

/// `Action`, `Resource` or `Principal`, or their `Not…` form.
#[derive(Clone, Debug)]
pub(crate) struct Element<T> {
    pub(crate) not: bool,
    pub(crate) items: Vec<T>,
}

#[derive(Clone, Debug)]
pub(crate) struct Statement {
    pub(crate) sid: Option<String>,
    pub(crate) effect: Effect,
    /// Action patterns, matched case-insensitively.
    pub(crate) actions: Element<String>,
    /// `None`: no Resource element (resource and trust policies): the attached resource.
    pub(crate) resources: Option<Element<Pattern>>,
    /// `None`: no Principal element (identity policies).
    pub(crate) principals: Option<Element<Entry>>,
    /// ANDed.
    pub(crate) conditions: Vec<Condition>,
}

const V2012: &str = "2012-10-17";
const V2008: &str = "2008-10-17";

impl Policy {
    /// Parses and validates a policy document (JSON text). `kind` decides which elements
    /// are required/allowed.
    pub fn parse(json: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
        let doc: Value = serde_json::from_str(json).map_err(|_| match kind {
            PolicyKind::Identity => PolicyError::from(error::SYNTAX),
            PolicyKind::Resource | PolicyKind::Trust => PolicyError::from(error::INVALID_JSON),
        })?;
        let Value::Object(top) = &doc else {
            return Err(error::SYNTAX.into());
        };
        if top
            .keys()
            .any(|k| !matches!(k.as_str(), "Version" | "Id" | "Statement"))
        {
            return Err(error::SYNTAX.into());
        }
        let version = match top.get("Version") {
            None => None,
            Some(Value::String(v)) if v == V2012 => Some(V2012),
            Some(Value::String(v)) if v == V2008 => Some(V2008),
            Some(_) => return Err(error::SYNTAX.into()),
        };
        let id = match top.get("Id") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(error::SYNTAX.into()),
        };
        let objects: Vec<&Map<String, Value>> = match top.get("Statement") {
            Some(Value::Object(one)) => vec![one],
            Some(Value::Array(list)) if !list.is_empty() => list
                .iter()
                .map(Value::as_object)
                .collect::<Option<_>>()
                .ok_or(error::SYNTAX)?,
            _ => return Err(error::SYNTAX.into()),
        };
        let variables = version == Some(V2012);
        let raws = objects
            .into_iter()
            .map(|o| Raw::read(o, variables))
            .collect::<Result<Vec<_>, _>>()?;
        check(kind, &raws)?;
        let statements = raws
            .into_iter()
            .map(Raw::compile)
            .collect::<Result<_, _>>()?;
        Ok(Policy {
            version,
            id,
            statements,
        })
    }

    /// The document's `Version` element, if it has one (`"2012-10-17"` or `"2008-10-17"`).
    /// IAM's `CreatePolicy` demands 2012-10-17 ("Policy document must be version 2012-10-17
    /// or greater."); the caller decides.
    pub fn version(&self) -> Option<&'static str> {
        self.version
    }

    /// The document's `Id` element.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}

/// A statement as written, after the syntax checks, before the semantic ones.
struct Raw<'v> {
    sid: Option<&'v str>,
    effect: &'v str,
    action: Option<(bool, Vec<&'v str>)>,
    resource: Option<(bool, Vec<&'v str>)>,
    principal: Option<(bool, &'v Value)>,
    conditions: Vec<Condition>,
    variables: bool,
}

impl<'v> Raw<'v> {
    fn read(map: &'v Map<String, Value>, variables: bool) -> Result<Raw<'v>, PolicyError> {
        let mut sid = None;
        let mut effect = None;
        let mut action = None;
        let mut resource = None;
        let mut principal = None;
        let mut conditions = Vec::new();
        for (key, value) in map {
            let not = key.starts_with("Not");
            match key.as_str() {
                "Sid" => sid = Some(value.as_str().ok_or(error::SYNTAX)?),
                "Effect" => effect = Some(value.as_str().ok_or(error::SYNTAX)?),
                "Action" | "NotAction" => set_once(&mut action, (not, strings(value)?))?,
                "Resource" | "NotResource" => set_once(&mut resource, (not, strings(value)?))?,
                "Principal" | "NotPrincipal" => set_once(&mut principal, (not, value))?,
                "Condition" => conditions = condition::parse_block(value, variables)?,
                _ => return Err(error::SYNTAX.into()),
            }
        }
        let effect = effect.ok_or(error::SYNTAX)?;
        if !effect.eq_ignore_ascii_case("Allow") && !effect.eq_ignore_ascii_case("Deny") {
            return Err(error::SYNTAX.into());
        }
        Ok(Raw {
            sid,
            effect,
            action,
            resource,
            principal,
            conditions,
            variables,
        })
    }

    fn compile(self) -> Result<Statement, PolicyError> {
        let effect = if self.effect == "Deny" {
            Effect::Deny
        } else {
            Effect::Allow
        };
        let (not, items) = self.action.unwrap_or_default();
        let actions = Element {
            not,
            items: items.into_iter().map(str::to_string).collect(),
        };
        let resources = self.resource.map(|(not, items)| Element {
            not,
            items: items
                .iter()
                .map(|r| Pattern::parse(r, true, self.variables))
                .collect(),
        });
        let principals = match self.principal {
            Some((not, value)) => Some(Element {
                not,
                items: principal::parse(value)?,
            }),
            None => None,
        };
        Ok(Statement {
            sid: self.sid.filter(|s| !s.is_empty()).map(str::to_string),
            effect,
            actions,
            resources,
            principals,
            conditions: self.conditions,
        })
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T) -> Result<(), PolicyError> {
    // `Action` with `NotAction` (and the like) in one statement.
    if slot.is_some() {
        return Err(error::SYNTAX.into());
    }
    *slot = Some(value);
    Ok(())
}

/// A string or a list of strings.
fn strings(value: &Value) -> Result<Vec<&str>, PolicyError> {
    match value {
        Value::String(s) => Ok(vec![s.as_str()]),
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().ok_or(error::SYNTAX.into()))
            .collect(),
        _ => Err(error::SYNTAX.into()),
    }
}

/// The semantic checks, each over every statement before the next, as IAM orders them.
fn check(kind: PolicyKind, raws: &[Raw<'_>]) -> Result<(), PolicyError> {
    if raws
        .iter()
        .any(|r| r.effect != "Allow" && r.effect != "Deny")
    {
        return Err(error::LEGACY.into());
    }
    if kind == PolicyKind::Identity && raws.iter().any(|r| r.principal.is_some()) {
        return Err(error::PRINCIPAL_NOT_ALLOWED.into());
    }
    if kind == PolicyKind::Identity {
        let mut seen = HashSet::new();
        if raws
            .iter()
            .filter_map(|r| r.sid)
            .filter(|s| !s.is_empty())
            .any(|s| !seen.insert(s))
        {
            return Err(error::DUPLICATE_SID.into());
        }
    }
    if raws
        .iter()
        .any(|r| r.action.as_ref().is_none_or(|(_, a)| a.is_empty()))
    {
        return Err(error::MISSING_ACTIONS.into());
    }
    for r in raws {
        match (kind, &r.resource) {
            (PolicyKind::Trust, Some((not, _))) => {
                return Err(error::prohibited_field(if *not {
                    "NotResource"
                } else {
                    "Resource"
                }));
            }
            (PolicyKind::Identity, None) => return Err(error::MISSING_RESOURCES.into()),
            (_, Some((_, items))) if items.is_empty() => {
                return Err(error::MISSING_RESOURCES.into())
            }
            _ => {}
        }
    }
    if kind != PolicyKind::Identity && raws.iter().any(|r| r.principal.is_none()) {
        return Err(error::MISSING_PRINCIPAL.into());
    }
    for r in raws {
        if let Some((_, actions)) = &r.action {
            for a in actions {
                check_action(a)?;
            }
        }
    }
    if kind == PolicyKind::Trust {
        let only_sts = |a: &&str| a.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("sts:"));
        if raws
            .iter()
            .any(|r| matches!(&r.action, Some((false, a)) if !a.iter().all(only_sts)))
        {
            return Err(error::TRUST_ACTIONS.into());
        }
    }
    for r in raws {
        if let Some((_, resources)) = &r.resource {
            for res in resources {
                check_resource(res)?;
            }
        }
    }
    Ok(())
}

/// `service:Action`, or `*`.
fn check_action(action: &str) -> Result<(), PolicyError> {
    if action == "*" {
        return Ok(());
    }
    let Some((vendor, rest)) = action.split_once(':') else {
        return Err(error::NO_VENDOR.into());
    };
    if rest.contains(':') {
        return Err(error::ONE_COLON.into());
    }
    if vendor.is_empty() {
        return Err(error::NO_VENDOR.into());
    }
    let valid = vendor == "*"
        || vendor
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if !valid {
        return Err(error::invalid_vendor(vendor));
    }
    Ok(())
}

/// An ARN (wildcards allowed) or `*`.
fn check_resource(resource: &str) -> Result<(), PolicyError> {
    if resource == "*" {
        return Ok(());
    }
    if !resource.starts_with("arn:") {
        return Err(error::resource_not_arn(resource));
    }
    // `arn:aws:s3::bucket`: an ARN with a segment missing, which IAM's old parser refuses.
    if resource.contains("::") && resource.matches(':').count() < 5 {
        return Err(error::LEGACY.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(json: &str) -> Result<Policy, String> {
        Policy::parse(json, PolicyKind::Identity).map_err(|e| e.0)
    }

    fn err(json: &str, kind: PolicyKind) -> String {
        Policy::parse(json, kind).unwrap_err().0
    }

    const ALLOW_ALL: &str =
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;

    #[test]
    fn minimal_identity_policy_parses() {
        let p = identity(ALLOW_ALL).unwrap();
        assert_eq!(p.version(), Some("2012-10-17"));
        assert_eq!(p.statements.len(), 1);
        assert_eq!(p.statements[0].effect, Effect::Allow);
        assert!(p.statements[0].principals.is_none());
    }

    #[test]
    fn statement_may_be_a_list_with_every_element() {
        let p = identity(
            r#"{"Version":"2008-10-17","Id":"doc","Statement":[
                {"Sid":"One","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":["arn:aws:s3:::b/*"]},
                {"Effect":"Deny","NotAction":"iam:*","NotResource":"arn:aws:iam::123456789012:user/x",
                 "Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#,
        )
        .unwrap();
        assert_eq!(p.version(), Some("2008-10-17"));
        assert_eq!(p.id(), Some("doc"));
        assert_eq!(p.statements[0].sid.as_deref(), Some("One"));
        assert_eq!(p.statements[0].actions.items.len(), 2);
        assert!(p.statements[1].actions.not);
        assert!(p.statements[1].resources.as_ref().unwrap().not);
        assert_eq!(p.statements[1].conditions.len(), 1);
    }

    #[test]
    fn version_is_optional_but_must_be_known() {
        let p =
            identity(r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#).unwrap();
        assert_eq!(p.version(), None);
        assert_eq!(
            identity(r#"{"Version":"2012-10-18","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#)
                .unwrap_err(),
            "Syntax errors in policy."
        );
    }

    #[test]
    fn invalid_json_wording_depends_on_the_api() {
        assert_eq!(err("{", PolicyKind::Identity), "Syntax errors in policy.");
        assert_eq!(err("", PolicyKind::Identity), "Syntax errors in policy.");
        assert_eq!(
            err("{", PolicyKind::Trust),
            "This policy contains invalid Json"
        );
        assert_eq!(
            err("not json", PolicyKind::Resource),
            "This policy contains invalid Json"
        );
    }

    #[test]
    fn structural_mistakes_are_syntax_errors() {
        for doc in [
            "[]",
            "\"x\"",
            r#"{"Version":"2012-10-17"}"#,
            r#"{"Version":"2012-10-17","Statement":[]}"#,
            r#"{"Version":"2012-10-17","Statement":"x"}"#,
            r#"{"Version":"2012-10-17","Statement":["x"]}"#,
            r#"{"Version":"2012-10-17","Unknown":1,"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
            r#"{"Version":2012,"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
            r#"{"Id":1,"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Extra":1}}"#,
            r#"{"Statement":{"effect":"Allow","Action":"*","Resource":"*"}}"#,
            r#"{"Statement":{"Action":"*","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Maybe","Action":"*","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":true,"Action":"*","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":"*","NotAction":"s3:*","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":5,"Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":["s3:*",5],"Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":{"a":1}}}"#,
            r#"{"Statement":{"Sid":1,"Effect":"Allow","Action":"*","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":[]}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualz":{"k":"v"}}}}"#,
        ] {
            assert_eq!(
                identity(doc).unwrap_err(),
                "Syntax errors in policy.",
                "{doc}"
            );
        }
    }

    #[test]
    fn effect_in_the_wrong_case_fails_legacy_parsing() {
        assert_eq!(
            identity(r#"{"Statement":{"Effect":"allow","Action":"*","Resource":"*"}}"#)
                .unwrap_err(),
            "The policy failed legacy parsing"
        );
    }

    #[test]
    fn identity_policies_must_not_name_principals() {
        for p in ["Principal", "NotPrincipal"] {
            let doc = format!(
                r#"{{"Statement":{{"Effect":"Allow","{p}":"*","Action":"*","Resource":"*"}}}}"#
            );
            assert_eq!(
                identity(&doc).unwrap_err(),
                "Policy document should not specify a principal."
            );
        }
    }

    #[test]
    fn identity_sids_must_be_unique() {
        let doc = r#"{"Statement":[{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"},
                                   {"Sid":"A","Effect":"Deny","Action":"*","Resource":"*"}]}"#;
        assert_eq!(
            identity(doc).unwrap_err(),
            "Statement IDs (SID) in a single policy must be unique."
        );
        let empty_sids = r#"{"Statement":[{"Sid":"","Effect":"Allow","Action":"*","Resource":"*"},
                                          {"Sid":"","Effect":"Deny","Action":"*","Resource":"*"}]}"#;
        assert!(identity(empty_sids).is_ok());
    }

    #[test]
    fn actions_are_required_in_every_kind() {
        let none = r#"{"Statement":{"Effect":"Allow","Resource":"*"}}"#;
        let empty = r#"{"Statement":{"Effect":"Allow","Action":[],"Resource":"*"}}"#;
        assert_eq!(
            identity(none).unwrap_err(),
            "Policy statement must contain actions."
        );
        assert_eq!(
            identity(empty).unwrap_err(),
            "Policy statement must contain actions."
        );
        let trust = r#"{"Statement":{"Effect":"Allow","Principal":"*"}}"#;
        assert_eq!(
            err(trust, PolicyKind::Trust),
            "Policy statement must contain actions."
        );
        assert_eq!(
            err(trust, PolicyKind::Resource),
            "Policy statement must contain actions."
        );
    }

    #[test]
    fn identity_policies_need_resources() {
        assert_eq!(
            identity(r#"{"Statement":{"Effect":"Allow","Action":"s3:*"}}"#).unwrap_err(),
            "Policy statement must contain resources."
        );
        assert_eq!(
            identity(r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":[]}}"#)
                .unwrap_err(),
            "Policy statement must contain resources."
        );
    }

    #[test]
    fn resource_policies_need_principals_not_resources() {
        let no_resource = r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sns:*"}}"#;
        let p = Policy::parse(no_resource, PolicyKind::Resource).unwrap();
        assert!(p.statements[0].resources.is_none());
        let no_principal =
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}}"#;
        assert_eq!(
            err(no_principal, PolicyKind::Resource),
            "Missing required field Principal"
        );
    }

    #[test]
    fn trust_policies_need_principals_and_refuse_resources() {
        let ok = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}}"#;
        assert!(Policy::parse(ok, PolicyKind::Trust).is_ok());
        let no_principal = r#"{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}"#;
        assert_eq!(
            err(no_principal, PolicyKind::Trust),
            "Missing required field Principal"
        );
        let resource = r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}}"#;
        assert_eq!(
            err(resource, PolicyKind::Trust),
            "Has prohibited field Resource"
        );
        let not_resource = r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","NotResource":"*"}}"#;
        assert_eq!(
            err(not_resource, PolicyKind::Trust),
            "Has prohibited field NotResource"
        );
    }

    #[test]
    fn trust_policies_only_allow_sts_actions() {
        for action in [
            r#""s3:GetObject""#,
            r#""*""#,
            r#"["sts:AssumeRole","iam:PassRole"]"#,
        ] {
            let doc = format!(
                r#"{{"Statement":{{"Effect":"Allow","Principal":"*","Action":{action}}}}}"#
            );
            assert_eq!(
                err(&doc, PolicyKind::Trust),
                "AssumeRole policy may only specify STS AssumeRole actions."
            );
        }
        let sts = r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"STS:AssumeRoleWithWebIdentity"}}"#;
        assert!(Policy::parse(sts, PolicyKind::Trust).is_ok());
    }

    #[test]
    fn action_formats_are_checked() {
        let with = |a: &str| {
            identity(&format!(
                r#"{{"Statement":{{"Effect":"Allow","Action":"{a}","Resource":"*"}}}}"#
            ))
        };
        assert_eq!(
            with("GetObject").unwrap_err(),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
        );
        assert_eq!(
            with("").unwrap_err(),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
        );
        assert_eq!(
            with(":GetObject").unwrap_err(),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
        );
        assert_eq!(
            with("s3:a:b").unwrap_err(),
            "Actions/Condition can contain only one colon."
        );
        assert_eq!(
            with("s_3:GetObject").unwrap_err(),
            "Vendor s_3 is not valid"
        );
        for ok in [
            "*",
            "s3:*",
            "*:*",
            "s3:Get*",
            "execute-api:Invoke",
            "s3:?etObject",
        ] {
            assert!(with(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn resource_formats_are_checked() {
        let with = |r: &str| {
            identity(&format!(
                r#"{{"Statement":{{"Effect":"Allow","Action":"s3:*","Resource":"{r}"}}}}"#
            ))
        };
        assert_eq!(
            with("bucket").unwrap_err(),
            r#"Resource bucket must be in ARN format or "*"."#
        );
        assert_eq!(
            with("arn:aws:s3::bucket").unwrap_err(),
            "The policy failed legacy parsing"
        );
        for ok in [
            "*",
            "arn:aws:s3:::b",
            "arn:aws:s3:::b/*",
            "arn:aws:sqs:*:*:q",
            "arn:*",
        ] {
            assert!(with(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn principal_forms_are_checked() {
        let with = |p: &str| {
            Policy::parse(
                &format!(r#"{{"Statement":{{"Effect":"Allow","Principal":{p},"Action":"s3:*","Resource":"*"}}}}"#),
                PolicyKind::Resource,
            )
            .map_err(|e| e.0)
        };
        assert!(with(r#""*""#).is_ok());
        assert!(with(r#"{"AWS":["123456789012","arn:aws:iam::123456789012:role/R"]}"#).is_ok());
        assert_eq!(
            with(r#"{"AWS":"bob"}"#).unwrap_err(),
            r#"Invalid principal in policy: "AWS":"bob""#
        );
    }

    #[test]
    fn variables_are_only_parsed_in_2012_documents() {
        let doc = |v: &str| {
            format!(
                r#"{{{v}"Statement":{{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${{aws:username}}/*"}}}}"#
            )
        };
        let new = identity(&doc(r#""Version":"2012-10-17","#)).unwrap();
        assert!(new.statements[0].resources.as_ref().unwrap().items[0].has_vars());
        let old = identity(&doc("")).unwrap();
        assert!(!old.statements[0].resources.as_ref().unwrap().items[0].has_vars());
    }

    #[test]
    fn condition_values_may_be_numbers_and_booleans() {
        let doc = r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*",
            "Condition":{"NumericLessThan":{"s3:max-keys":10},"Bool":{"aws:SecureTransport":true}}}}"#;
        assert_eq!(identity(doc).unwrap().statements[0].conditions.len(), 2);
    }
}
