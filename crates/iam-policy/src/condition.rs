//! The `Condition` element: operators, their parsing and their evaluation against the
//! request context.
//!
//! Semantics, from "IAM JSON policy elements: Condition operators" and "Conditions with
//! multiple context keys or values":
//! * operators of one block are ANDed, keys of one operator are ANDed, the policy values of
//!   one key are ORed — for negated operators (`StringNotEquals`, `NotIpAddress`…) the
//!   values are NORed: the request value must match none of them;
//! * a key absent from the request makes positive operators false and negated ones true;
//!   `…IfExists` makes any operator true on an absent key; `Null` tests presence itself;
//! * `ForAnyValue:` — some request value satisfies the operator (false if the key is
//!   absent or empty); `ForAllValues:` — every request value does (true if absent or
//!   empty). With a negated operator, "satisfies" means "matches none of the values";
//! * without a set operator a multivalued key behaves as "any request value matches", and
//!   its negated form as "no request value matches";
//! * key names are case-insensitive, values case-sensitive (except `…IgnoreCase`, `Bool`);
//! * policy variables are resolved in string, ARN and `Bool` values only.
//!
//! A variable without a value makes its value match nothing; a negated operator holding
//! such a value evaluates to false, so an unresolved variable never widens what a
//! statement covers by turning "not equal to ?" into true.

use serde_json::Value;

use crate::context::Context;
use crate::error::{self, PolicyError};
use crate::typed::{self, Cidr};
use crate::variables::Pattern;

/// One operator applied to one key: `"StringLike": {"s3:prefix": ["home/", "home/*"]}`
/// yields one `Condition` per key.
#[derive(Clone, Debug)]
pub(crate) struct Condition {
    test: Test,
    negated: bool,
    set: SetOp,
    if_exists: bool,
    /// Lowercased: context keys are case-insensitive.
    key: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SetOp {
    Single,
    ForAnyValue,
    ForAllValues,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    /// `request <op> policy`: `NumericLessThan {"s3:max-keys": "10"}` is `max-keys < 10`.
    fn test<T: PartialOrd>(self, request: T, policy: T) -> bool {
        match self {
            Cmp::Eq => request == policy,
            Cmp::Lt => request < policy,
            Cmp::Le => request <= policy,
            Cmp::Gt => request > policy,
            Cmp::Ge => request >= policy,
        }
    }
}

/// The operator family with its parsed policy values. Policy values that cannot be what
/// the family compares (a number that is not one, a malformed CIDR) are dropped: they match
/// no request value.
#[derive(Clone, Debug)]
enum Test {
    /// String operators; exact ones were parsed without wildcards.
    String {
        fold: bool,
        values: Vec<Pattern>,
    },
    Bool(Vec<Pattern>),
    /// ARN operators: each value split into its colon-separated segments.
    Arn(Vec<Vec<Pattern>>),
    Numeric(Cmp, Vec<f64>),
    /// Milliseconds since the epoch.
    Date(Cmp, Vec<i64>),
    Binary(Vec<Vec<u8>>),
    Ip(Vec<Cidr>),
    /// `true`: the key must be absent; `false`: present.
    Null(Vec<bool>),
}

#[derive(Clone, Copy)]
enum Family {
    String { fold: bool, wildcards: bool },
    Bool,
    Arn,
    Numeric(Cmp),
    Date(Cmp),
    Binary,
    Ip,
    Null,
}

/// Reads an operator name: `[ForAnyValue:|ForAllValues:]<Operator>[IfExists]`.
fn operator(name: &str) -> Option<(Family, bool, SetOp, bool)> {
    let lower = name.to_ascii_lowercase();
    let (set, rest) = if let Some(r) = lower.strip_prefix("foranyvalue:") {
        (SetOp::ForAnyValue, r)
    } else if let Some(r) = lower.strip_prefix("forallvalues:") {
        (SetOp::ForAllValues, r)
    } else {
        (SetOp::Single, lower.as_str())
    };
    let (if_exists, base) = match rest.strip_suffix("ifexists") {
        Some(base) => (true, base),
        None => (false, rest),
    };
    let exact = Family::String {
        fold: false,
        wildcards: false,
    };
    let ignore_case = Family::String {
        fold: true,
        wildcards: false,
    };
    let like = Family::String {
        fold: false,
        wildcards: true,
    };
    let (family, negated) = match base {
        "stringequals" => (exact, false),
        "stringnotequals" => (exact, true),
        "stringequalsignorecase" => (ignore_case, false),
        "stringnotequalsignorecase" => (ignore_case, true),
        "stringlike" => (like, false),
        "stringnotlike" => (like, true),
        "numericequals" => (Family::Numeric(Cmp::Eq), false),
        "numericnotequals" => (Family::Numeric(Cmp::Eq), true),
        "numericlessthan" => (Family::Numeric(Cmp::Lt), false),
        "numericlessthanequals" => (Family::Numeric(Cmp::Le), false),
        "numericgreaterthan" => (Family::Numeric(Cmp::Gt), false),
        "numericgreaterthanequals" => (Family::Numeric(Cmp::Ge), false),
        "dateequals" => (Family::Date(Cmp::Eq), false),
        "datenotequals" => (Family::Date(Cmp::Eq), true),
        "datelessthan" => (Family::Date(Cmp::Lt), false),
        "datelessthanequals" => (Family::Date(Cmp::Le), false),
        "dategreaterthan" => (Family::Date(Cmp::Gt), false),
        "dategreaterthanequals" => (Family::Date(Cmp::Ge), false),
        "bool" => (Family::Bool, false),
        "binaryequals" => (Family::Binary, false),
        "ipaddress" => (Family::Ip, false),
        "notipaddress" => (Family::Ip, true),
        "arnequals" | "arnlike" => (Family::Arn, false),
        "arnnotequals" | "arnnotlike" => (Family::Arn, true),
        // The docs: IfExists goes on "any condition operator name except the Null condition".
        "null" if !if_exists => (Family::Null, false),
        _ => return None,
    };
    Some((family, negated, set, if_exists))
}

/// Parses a statement's `Condition` element. `variables`: whether the document's version
/// has policy variables.
pub(crate) fn parse_block(block: &Value, variables: bool) -> Result<Vec<Condition>, PolicyError> {
    let Value::Object(operators) = block else {
        return Err(error::SYNTAX.into());
    };
    let mut out = Vec::new();
    for (name, body) in operators {
        let (family, negated, set, if_exists) = operator(name).ok_or(error::SYNTAX)?;
        let Value::Object(keys) = body else {
            return Err(error::SYNTAX.into());
        };
        for (key, values) in keys {
            if key.is_empty() {
                return Err(error::SYNTAX.into());
            }
            let raw = scalars(values).ok_or(error::SYNTAX)?;
            out.push(Condition {
                test: compile(family, &raw, variables)?,
                negated,
                set,
                if_exists,
                key: key.to_lowercase(),
            });
        }
    }
    Ok(out)
}

/// A condition value: a string, number or boolean, or a list of them.
fn scalars(v: &Value) -> Option<Vec<String>> {
    fn one(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
    match v {
        Value::Array(items) => items.iter().map(one).collect(),
        v => one(v).map(|s| vec![s]),
    }
}

fn compile(family: Family, raw: &[String], variables: bool) -> Result<Test, PolicyError> {
    Ok(match family {
        Family::String { fold, wildcards } => Test::String {
            fold,
            values: raw
                .iter()
                .map(|v| Pattern::parse(v, wildcards, variables))
                .collect(),
        },
        Family::Bool => Test::Bool(
            raw.iter()
                .map(|v| Pattern::parse(v, false, variables))
                .collect(),
        ),
        Family::Arn => Test::Arn(
            raw.iter()
                .map(|v| Pattern::parse(v, true, variables).split_arn())
                .collect(),
        ),
        Family::Numeric(cmp) => {
            Test::Numeric(cmp, raw.iter().filter_map(|v| typed::number(v)).collect())
        }
        // IAM refuses a document whose dates it cannot read.
        Family::Date(cmp) => Test::Date(
            cmp,
            raw.iter()
                .map(|v| typed::date_millis(v).ok_or(error::LEGACY))
                .collect::<Result<_, _>>()?,
        ),
        Family::Binary => Test::Binary(raw.iter().filter_map(|v| typed::base64(v)).collect()),
        Family::Ip => Test::Ip(raw.iter().filter_map(|v| Cidr::parse(v)).collect()),
        Family::Null => Test::Null(
            raw.iter()
                .filter_map(|v| match v.to_ascii_lowercase().as_str() {
                    "true" => Some(true),
                    "false" => Some(false),
                    _ => None,
                })
                .collect(),
        ),
    })
}

impl Condition {
    /// Whether the condition holds for the request context.
    pub(crate) fn holds(&self, ctx: &Context) -> bool {
        if let Test::Null(wants) = &self.test {
            let absent = ctx.values(&self.key).is_none();
            return wants.contains(&absent);
        }
        let Some(request) = ctx.values(&self.key) else {
            return self.if_exists
                || match self.set {
                    SetOp::ForAllValues => true,
                    SetOp::ForAnyValue => false,
                    SetOp::Single => self.negated,
                };
        };
        if self.negated && !self.resolvable(ctx) {
            return false;
        }
        // `satisfied(v)`: v matches some policy value (positive operators) or none of them
        // (negated operators).
        let satisfied = |v: &String| self.matches_any(v, ctx) != self.negated;
        match self.set {
            SetOp::Single => {
                let any = request.iter().any(|v| self.matches_any(v, ctx));
                any != self.negated
            }
            SetOp::ForAnyValue => request.iter().any(satisfied),
            SetOp::ForAllValues => request.iter().all(satisfied),
        }
    }

    fn resolvable(&self, ctx: &Context) -> bool {
        match &self.test {
            Test::String { values, .. } | Test::Bool(values) => {
                values.iter().all(|p| p.resolvable(ctx))
            }
            Test::Arn(values) => values.iter().flatten().all(|p| p.resolvable(ctx)),
            _ => true,
        }
    }

    /// Whether one request value matches at least one policy value.
    fn matches_any(&self, value: &str, ctx: &Context) -> bool {
        match &self.test {
            Test::String { fold, values } => values
                .iter()
                .any(|p| p.matches(value, *fold, ctx) == Some(true)),
            Test::Bool(values) => values
                .iter()
                .any(|p| p.matches(value.trim(), true, ctx) == Some(true)),
            Test::Arn(values) => values
                .iter()
                .any(|segments| arn_matches(segments, value, ctx)),
            Test::Numeric(cmp, values) => {
                typed::number(value).is_some_and(|x| values.iter().any(|n| cmp.test(x, *n)))
            }
            Test::Date(cmp, values) => {
                typed::date_millis(value).is_some_and(|x| values.iter().any(|d| cmp.test(x, *d)))
            }
            Test::Binary(values) => typed::base64(value).is_some_and(|x| values.contains(&x)),
            Test::Ip(values) => {
                typed::address(value).is_some_and(|ip| values.iter().any(|c| c.contains(ip)))
            }
            Test::Null(_) => false,
        }
    }
}

/// ARN operators compare segment by segment, so a `*` cannot run past a colon — except in
/// the last segment of the policy value (the resource part, or a shorter value such as
/// `"*"` or `arn:aws:sns:*`, whose last wildcard covers the rest of the ARN).
fn arn_matches(segments: &[Pattern], value: &str, ctx: &Context) -> bool {
    let mut parts = value.splitn(segments.len(), ':');
    segments.iter().all(|seg| {
        parts
            .next()
            .is_some_and(|part| seg.matches(part, false, ctx) == Some(true))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn conditions(block: Value) -> Vec<Condition> {
        parse_block(&block, true).unwrap()
    }

    /// Whether every condition of the block holds.
    fn holds(block: Value, ctx: &Context) -> bool {
        conditions(block).iter().all(|c| c.holds(ctx))
    }

    fn ctx(pairs: &[(&str, &str)]) -> Context {
        let mut c = Context::new();
        for (k, v) in pairs {
            c.set(k, *v);
        }
        c
    }

    fn multi(key: &str, values: &[&str]) -> Context {
        let mut c = Context::new();
        c.set_many(key, values.iter().map(|v| v.to_string()).collect());
        c
    }

    // ---- string operators ----

    #[test]
    fn string_equals_is_exact_and_case_sensitive() {
        let c = ctx(&[("aws:PrincipalTag/job", "admin")]);
        assert!(holds(
            json!({"StringEquals": {"aws:PrincipalTag/job": "admin"}}),
            &c
        ));
        assert!(!holds(
            json!({"StringEquals": {"aws:PrincipalTag/job": "Admin"}}),
            &c
        ));
        assert!(!holds(
            json!({"StringEquals": {"aws:PrincipalTag/job": "adm*"}}),
            &c
        ));
        assert!(holds(
            json!({"StringEquals": {"aws:principaltag/JOB": ["x", "admin"]}}),
            &c
        ));
    }

    #[test]
    fn string_equals_treats_wildcards_literally() {
        let c = ctx(&[("k", "a*")]);
        assert!(holds(json!({"StringEquals": {"k": "a*"}}), &c));
        assert!(!holds(json!({"StringEquals": {"k": "a?"}}), &c));
    }

    #[test]
    fn string_not_equals_needs_every_value_to_differ() {
        let c = ctx(&[("aws:PrincipalTag/role", "audit")]);
        assert!(!holds(
            json!({"StringNotEquals": {"aws:PrincipalTag/role": ["audit", "security"]}}),
            &c
        ));
        assert!(holds(
            json!({"StringNotEquals": {"aws:PrincipalTag/role": ["dev", "security"]}}),
            &c
        ));
        assert!(holds(
            json!({"StringNotEquals": {"aws:PrincipalTag/role": "Audit"}}),
            &c
        ));
    }

    #[test]
    fn ignore_case_operators_fold_case() {
        let c = ctx(&[("k", "MiXed")]);
        assert!(holds(json!({"StringEqualsIgnoreCase": {"k": "mixed"}}), &c));
        assert!(!holds(
            json!({"StringEqualsIgnoreCase": {"k": "mixe*"}}),
            &c
        ));
        assert!(!holds(
            json!({"StringNotEqualsIgnoreCase": {"k": "MIXED"}}),
            &c
        ));
        assert!(holds(
            json!({"StringNotEqualsIgnoreCase": {"k": "other"}}),
            &c
        ));
    }

    #[test]
    fn string_like_uses_wildcards_case_sensitively() {
        let c = ctx(&[("s3:prefix", "home/alice/docs")]);
        assert!(holds(
            json!({"StringLike": {"s3:prefix": ["", "home/*"]}}),
            &c
        ));
        assert!(holds(
            json!({"StringLike": {"s3:prefix": "home/?lice/*"}}),
            &c
        ));
        assert!(!holds(json!({"StringLike": {"s3:prefix": "Home/*"}}), &c));
        assert!(!holds(
            json!({"StringNotLike": {"s3:prefix": "home/*"}}),
            &c
        ));
        assert!(holds(
            json!({"StringNotLike": {"s3:prefix": ["tmp/*", "Home/*"]}}),
            &c
        ));
    }

    #[test]
    fn string_values_take_policy_variables() {
        let c = ctx(&[("s3:prefix", "home/alice/x"), ("aws:username", "alice")]);
        assert!(holds(
            json!({"StringLike": {"s3:prefix": "home/${aws:username}/*"}}),
            &c
        ));
        assert!(!holds(
            json!({"StringLike": {"s3:prefix": "home/${aws:userid}/*"}}),
            &c
        ));
        assert!(holds(
            json!({"StringLike": {"s3:prefix": ["home/${aws:userid}/*", "home/*"]}}),
            &c
        ));
        assert!(holds(
            json!({"StringEquals": {"aws:username": "${aws:username}"}}),
            &c
        ));
    }

    #[test]
    fn negated_operator_with_unresolvable_variable_is_false() {
        let c = ctx(&[("s3:prefix", "home/alice/x")]);
        assert!(!holds(
            json!({"StringNotLike": {"s3:prefix": "home/${aws:username}/*"}}),
            &c
        ));
        let with = ctx(&[("s3:prefix", "home/alice/x"), ("aws:username", "bob")]);
        assert!(holds(
            json!({"StringNotLike": {"s3:prefix": "home/${aws:username}/*"}}),
            &with
        ));
    }

    #[test]
    fn version_2008_values_are_literal() {
        let c = ctx(&[("k", "${aws:username}"), ("aws:username", "alice")]);
        let conds = parse_block(&json!({"StringEquals": {"k": "${aws:username}"}}), false).unwrap();
        assert!(conds[0].holds(&c));
    }

    // ---- numeric operators ----

    #[test]
    fn numeric_operators_compare_request_to_policy() {
        let c = ctx(&[("s3:max-keys", "10")]);
        let t = |op: &str, v: Value| holds(json!({ op: {"s3:max-keys": v} }), &c);
        assert!(t("NumericEquals", json!("10")));
        assert!(t("NumericEquals", json!("10.0")));
        assert!(t("NumericEquals", json!(10)));
        assert!(!t("NumericEquals", json!("11")));
        assert!(t("NumericNotEquals", json!("11")));
        assert!(!t("NumericNotEquals", json!(["11", "10"])));
        assert!(t("NumericLessThan", json!("11")));
        assert!(!t("NumericLessThan", json!("10")));
        assert!(t("NumericLessThanEquals", json!("10")));
        assert!(!t("NumericLessThanEquals", json!("9.5")));
        assert!(t("NumericGreaterThan", json!("9")));
        assert!(!t("NumericGreaterThan", json!("10")));
        assert!(t("NumericGreaterThanEquals", json!("10")));
        assert!(!t("NumericGreaterThanEquals", json!("10.01")));
        assert!(t("NumericLessThan", json!(["5", "20"])));
    }

    #[test]
    fn numeric_garbage_never_matches() {
        let c = ctx(&[("n", "ten")]);
        assert!(!holds(json!({"NumericEquals": {"n": "10"}}), &c));
        assert!(holds(json!({"NumericNotEquals": {"n": "10"}}), &c));
        let c = ctx(&[("n", "10")]);
        assert!(!holds(json!({"NumericEquals": {"n": "ten"}}), &c));
    }

    // ---- date operators ----

    #[test]
    fn date_operators_compare_instants_in_any_accepted_form() {
        let c = ctx(&[("aws:CurrentTime", "2020-06-01T12:00:00Z")]);
        let t = |op: &str, v: &str| holds(json!({ op: {"aws:CurrentTime": v} }), &c);
        assert!(t("DateEquals", "2020-06-01T12:00:00Z"));
        assert!(t("DateEquals", "2020-06-01T14:00:00+02:00"));
        assert!(t("DateEquals", "1591012800"));
        assert!(!t("DateEquals", "2020-06-01"));
        assert!(t("DateNotEquals", "2020-06-01"));
        assert!(!t("DateNotEquals", "1591012800"));
        assert!(t("DateLessThan", "2021-01-01"));
        assert!(!t("DateLessThan", "2020-06-01T12:00:00Z"));
        assert!(t("DateLessThanEquals", "2020-06-01T12:00:00Z"));
        assert!(!t("DateLessThanEquals", "2020-01-01"));
        assert!(t("DateGreaterThan", "2020-01-01T00:00:01Z"));
        assert!(!t("DateGreaterThan", "2020-06-01T12:00:00Z"));
        assert!(t("DateGreaterThanEquals", "2020-06-01T12:00:00Z"));
        assert!(!t("DateGreaterThanEquals", "2030-01-01"));
    }

    #[test]
    fn date_request_values_may_be_epoch_seconds() {
        let c = ctx(&[("aws:EpochTime", "1591012800")]);
        assert!(holds(
            json!({"DateGreaterThan": {"aws:EpochTime": "2020-01-01T00:00:00Z"}}),
            &c
        ));
        let bad = ctx(&[("aws:CurrentTime", "soon")]);
        assert!(!holds(
            json!({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01"}}),
            &bad
        ));
    }

    #[test]
    fn unreadable_policy_dates_fail_legacy_parsing() {
        let err = parse_block(
            &json!({"DateLessThan": {"aws:CurrentTime": "tomorrow"}}),
            true,
        )
        .unwrap_err();
        assert_eq!(err.0, "The policy failed legacy parsing");
    }

    // ---- bool, binary, ip ----

    #[test]
    fn bool_compares_true_and_false_ignoring_case() {
        let c = ctx(&[("aws:SecureTransport", "false")]);
        assert!(holds(json!({"Bool": {"aws:SecureTransport": "false"}}), &c));
        assert!(holds(json!({"Bool": {"aws:SecureTransport": false}}), &c));
        assert!(holds(json!({"Bool": {"aws:SecureTransport": "FALSE"}}), &c));
        assert!(!holds(json!({"Bool": {"aws:SecureTransport": "true"}}), &c));
        assert!(!holds(
            json!({"Bool": {"aws:MultiFactorAuthPresent": "true"}}),
            &c
        ));
        assert!(holds(
            json!({"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}),
            &c
        ));
    }

    #[test]
    fn binary_equals_compares_decoded_bytes() {
        let c = ctx(&[("k", "QmluYXJ5VmFsdWVJbkJhc2U2NA==")]);
        assert!(holds(
            json!({"BinaryEquals": {"k": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}),
            &c
        ));
        assert!(holds(
            json!({"BinaryEquals": {"k": "QmluYXJ5VmFsdWVJbkJhc2U2NA"}}),
            &c
        ));
        assert!(!holds(json!({"BinaryEquals": {"k": "YQ=="}}), &c));
        assert!(!holds(json!({"BinaryEquals": {"k": "not base64!"}}), &c));
    }

    #[test]
    fn ip_address_checks_cidr_ranges_of_both_families() {
        let c = ctx(&[("aws:SourceIp", "203.0.113.7")]);
        assert!(holds(
            json!({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}),
            &c
        ));
        assert!(holds(
            json!({"IpAddress": {"aws:SourceIp": ["2001:DB8:1234:5678::/64", "203.0.113.7"]}}),
            &c
        ));
        assert!(!holds(
            json!({"IpAddress": {"aws:SourceIp": "203.0.113.8"}}),
            &c
        ));
        assert!(!holds(
            json!({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}),
            &c
        ));
        assert!(holds(
            json!({"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}}),
            &c
        ));
        let v6 = ctx(&[("aws:SourceIp", "2001:db8:1234:5678::1")]);
        assert!(holds(
            json!({"IpAddress": {"aws:SourceIp": "2001:DB8:1234:5678::/64"}}),
            &v6
        ));
        assert!(!holds(
            json!({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}),
            &v6
        ));
        assert!(!holds(
            json!({"IpAddress": {"aws:SourceIp": "garbage"}}),
            &c
        ));
    }

    // ---- ARN operators ----

    #[test]
    fn arn_operators_match_segment_by_segment() {
        let c = ctx(&[("aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:topic")]);
        for op in ["ArnEquals", "ArnLike"] {
            assert!(holds(
                json!({ op: {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:topic"}}),
                &c
            ));
            assert!(holds(
                json!({ op: {"aws:SourceArn": "arn:aws:sns:*:123456789012:*"}}),
                &c
            ));
            assert!(holds(
                json!({ op: {"aws:SourceArn": "arn:aws:sns:us-east-?:*:top*"}}),
                &c
            ));
            assert!(!holds(
                json!({ op: {"aws:SourceArn": "arn:aws:sqs:*:123456789012:*"}}),
                &c
            ));
            assert!(holds(json!({ op: {"aws:SourceArn": "*"}}), &c));
            assert!(holds(json!({ op: {"aws:SourceArn": "arn:aws:sns:*"}}), &c));
        }
        for op in ["ArnNotEquals", "ArnNotLike"] {
            assert!(!holds(
                json!({ op: {"aws:SourceArn": "arn:aws:sns:*:123456789012:*"}}),
                &c
            ));
            assert!(holds(
                json!({ op: {"aws:SourceArn": "arn:aws:sns:*:999999999999:*"}}),
                &c
            ));
        }
    }

    #[test]
    fn arn_wildcards_do_not_cross_segments_where_string_like_does() {
        let value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt";
        let c = ctx(&[("k", value)]);
        let pattern = "arn:aws:someservice:*:111122223333:finance/*";
        assert!(holds(json!({"StringLike": {"k": pattern}}), &c));
        assert!(!holds(json!({"ArnLike": {"k": pattern}}), &c));
    }

    #[test]
    fn arn_values_take_variables_and_reject_short_request_values() {
        let c = ctx(&[
            ("aws:SourceArn", "arn:aws:s3:::alice-bucket"),
            ("aws:username", "alice"),
        ]);
        assert!(holds(
            json!({"ArnLike": {"aws:SourceArn": "arn:aws:s3:::${aws:username}-*"}}),
            &c
        ));
        let short = ctx(&[("aws:SourceArn", "not-an-arn")]);
        assert!(!holds(
            json!({"ArnLike": {"aws:SourceArn": "arn:aws:s3:::*"}}),
            &short
        ));
        assert!(holds(
            json!({"ArnNotLike": {"aws:SourceArn": "arn:aws:s3:::*"}}),
            &short
        ));
    }

    // ---- absent keys, IfExists, Null ----

    #[test]
    fn absent_key_is_false_for_positive_and_true_for_negated_operators() {
        let c = Context::new();
        for op in [
            "StringEquals",
            "StringEqualsIgnoreCase",
            "StringLike",
            "NumericEquals",
            "NumericLessThan",
            "NumericLessThanEquals",
            "NumericGreaterThan",
            "NumericGreaterThanEquals",
            "DateEquals",
            "DateLessThan",
            "DateLessThanEquals",
            "DateGreaterThan",
            "DateGreaterThanEquals",
            "Bool",
            "BinaryEquals",
            "IpAddress",
            "ArnEquals",
            "ArnLike",
        ] {
            assert!(!holds(json!({ op: {"k": "1"}}), &c), "{op}");
            assert!(
                holds(json!({ format!("{op}IfExists"): {"k": "1"}}), &c),
                "{op}IfExists"
            );
        }
        for op in [
            "StringNotEquals",
            "StringNotEqualsIgnoreCase",
            "StringNotLike",
            "NumericNotEquals",
            "DateNotEquals",
            "NotIpAddress",
            "ArnNotEquals",
            "ArnNotLike",
        ] {
            assert!(holds(json!({ op: {"k": "1"}}), &c), "{op}");
            assert!(
                holds(json!({ format!("{op}IfExists"): {"k": "1"}}), &c),
                "{op}IfExists"
            );
        }
    }

    #[test]
    fn if_exists_still_tests_a_present_key() {
        let c = ctx(&[("ec2:InstanceType", "m5.large")]);
        assert!(!holds(
            json!({"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*"]}}),
            &c
        ));
        assert!(holds(
            json!({"StringLikeIfExists": {"ec2:InstanceType": ["m5.*"]}}),
            &c
        ));
        assert!(!holds(
            json!({"StringNotEqualsIfExists": {"ec2:InstanceType": "m5.large"}}),
            &c
        ));
    }

    #[test]
    fn null_tests_presence() {
        let present = ctx(&[("aws:TokenIssueTime", "2020-01-01T00:00:00Z")]);
        let absent = Context::new();
        assert!(holds(
            json!({"Null": {"aws:TokenIssueTime": "true"}}),
            &absent
        ));
        assert!(!holds(
            json!({"Null": {"aws:TokenIssueTime": "true"}}),
            &present
        ));
        assert!(holds(
            json!({"Null": {"aws:TokenIssueTime": "false"}}),
            &present
        ));
        assert!(holds(
            json!({"Null": {"aws:TokenIssueTime": false}}),
            &present
        ));
        assert!(!holds(
            json!({"Null": {"aws:TokenIssueTime": "false"}}),
            &absent
        ));
        assert!(holds(
            json!({"Null": {"aws:TokenIssueTime": ["true", "false"]}}),
            &absent
        ));
        assert!(holds(
            json!({"Null": {"aws:tagkeys": "true"}}),
            &multi("aws:TagKeys", &[])
        ));
    }

    #[test]
    fn null_has_no_if_exists_form() {
        assert!(parse_block(&json!({"NullIfExists": {"k": "true"}}), true).is_err());
    }

    // ---- set operators ----

    #[test]
    fn for_all_values_needs_every_request_value_listed() {
        let block = json!({"ForAllValues:StringLike": {"dynamodb:requestedAttributes": ["PostDateTime", "Message", "Tags"]}});
        let ok = multi("dynamodb:requestedAttributes", &["PostDateTime", "Message"]);
        let extra = multi(
            "dynamodb:requestedAttributes",
            &["PostDateTime", "UserName"],
        );
        assert!(holds(block.clone(), &ok));
        assert!(!holds(block.clone(), &extra));
        assert!(holds(block.clone(), &Context::new()));
        assert!(holds(block, &multi("dynamodb:requestedAttributes", &[])));
    }

    #[test]
    fn for_any_value_needs_one_request_value_listed() {
        let block = json!({"ForAnyValue:StringLike": {"dynamodb:requestedAttributes": ["ID", "PostDateTime"]}});
        assert!(holds(
            block.clone(),
            &multi(
                "dynamodb:requestedAttributes",
                &["UserName", "PostDateTime"]
            )
        ));
        assert!(!holds(
            block.clone(),
            &multi("dynamodb:requestedAttributes", &["UserName"])
        ));
        assert!(!holds(block.clone(), &Context::new()));
        assert!(!holds(
            block.clone(),
            &multi("dynamodb:requestedAttributes", &[])
        ));
        let if_exists =
            json!({"ForAnyValue:StringLikeIfExists": {"dynamodb:requestedAttributes": ["ID"]}});
        assert!(holds(if_exists, &Context::new()));
    }

    #[test]
    fn for_all_values_with_a_negated_operator_needs_every_value_unlisted() {
        // The docs' example: deny tagging unless every tag key starts with key1.
        let block = json!({"ForAllValues:StringNotLike": {"aws:TagKeys": "key1*"}});
        assert!(!holds(
            block.clone(),
            &multi("aws:TagKeys", &["key1:legal"])
        ));
        assert!(!holds(
            block.clone(),
            &multi("aws:TagKeys", &["key1:hr", "key1:personnel"])
        ));
        assert!(holds(block.clone(), &multi("aws:TagKeys", &["key2:audit"])));
        assert!(!holds(
            block.clone(),
            &multi("aws:TagKeys", &["key2:audit", "key1:hr"])
        ));
        assert!(holds(block, &Context::new()));
    }

    #[test]
    fn for_any_value_with_a_negated_operator_needs_one_value_unlisted() {
        let block = json!({"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["a", "b"]}});
        assert!(holds(block.clone(), &multi("aws:TagKeys", &["a", "c"])));
        assert!(!holds(block.clone(), &multi("aws:TagKeys", &["a", "b"])));
        assert!(!holds(block, &Context::new()));
    }

    #[test]
    fn plain_operators_on_multivalued_keys_mean_any_and_none() {
        let c = multi("aws:TagKeys", &["a", "b"]);
        assert!(holds(json!({"StringEquals": {"aws:TagKeys": "b"}}), &c));
        assert!(!holds(json!({"StringEquals": {"aws:TagKeys": "z"}}), &c));
        assert!(!holds(json!({"StringNotEquals": {"aws:TagKeys": "b"}}), &c));
        assert!(holds(json!({"StringNotEquals": {"aws:TagKeys": "z"}}), &c));
    }

    #[test]
    fn set_operators_combine_with_every_family() {
        let c = multi("n", &["1", "5"]);
        assert!(holds(
            json!({"ForAllValues:NumericLessThan": {"n": "10"}}),
            &c
        ));
        assert!(!holds(
            json!({"ForAllValues:NumericLessThan": {"n": "3"}}),
            &c
        ));
        assert!(holds(
            json!({"ForAnyValue:NumericLessThan": {"n": "3"}}),
            &c
        ));
        let ips = multi("ip", &["10.0.0.1", "192.168.1.1"]);
        assert!(holds(
            json!({"ForAnyValue:IpAddress": {"ip": "10.0.0.0/8"}}),
            &ips
        ));
        assert!(!holds(
            json!({"ForAllValues:IpAddress": {"ip": "10.0.0.0/8"}}),
            &ips
        ));
    }

    // ---- combination and parsing ----

    #[test]
    fn operators_and_keys_are_anded_values_ored() {
        let c = ctx(&[("a", "1"), ("b", "2")]);
        assert!(holds(
            json!({"StringEquals": {"a": ["0", "1"], "b": "2"}}),
            &c
        ));
        assert!(!holds(json!({"StringEquals": {"a": "1", "b": "3"}}), &c));
        assert!(holds(
            json!({"StringEquals": {"a": "1"}, "NumericEquals": {"b": "2"}}),
            &c
        ));
        assert!(!holds(
            json!({"StringEquals": {"a": "1"}, "NumericEquals": {"b": "3"}}),
            &c
        ));
    }

    #[test]
    fn operator_names_and_set_prefixes_are_recognised() {
        for name in [
            "StringEquals",
            "stringequals",
            "ForAnyValue:StringLike",
            "ForAllValues:ArnLikeIfExists",
            "NumericGreaterThanEqualsIfExists",
            "DateNotEqualsIfExists",
            "BinaryEqualsIfExists",
            "NotIpAddressIfExists",
        ] {
            assert!(operator(name).is_some(), "{name}");
        }
        for name in [
            "StringEqual",
            "ForSomeValues:StringLike",
            "IfExists",
            "Nul",
            "StringLikeIfExistsIfExists",
            "",
        ] {
            assert!(operator(name).is_none(), "{name}");
        }
    }

    #[test]
    fn malformed_condition_blocks_are_syntax_errors() {
        for bad in [
            json!("StringEquals"),
            json!({"StringEquals": "k"}),
            json!({"StringEquals": {"k": {"nested": 1}}}),
            json!({"StringEquals": {"k": [["x"]]}}),
            json!({"StringEquals": {"k": null}}),
            json!({"StringEquals": {"": "x"}}),
            json!({"NoSuchOperator": {"k": "x"}}),
        ] {
            assert_eq!(
                parse_block(&bad, true).unwrap_err().0,
                "Syntax errors in policy.",
                "{bad}"
            );
        }
    }
}
