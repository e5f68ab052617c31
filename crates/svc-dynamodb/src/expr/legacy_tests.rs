use super::*;
use crate::number::Number;
use crate::value::Item;
use std::collections::HashMap;

fn num(s: &str) -> AttrValue {
    AttrValue::N(Number::parse(s).unwrap())
}
fn s(x: &str) -> AttrValue {
    AttrValue::S(x.into())
}
fn one(k: &str, e: ExpectedAttr) -> HashMap<String, ExpectedAttr> {
    [(k.to_string(), e)].into_iter().collect()
}
fn cmp(op: &str, vals: Vec<AttrValue>) -> ExpectedAttr {
    ExpectedAttr { comparison_operator: Some(op.into()), attribute_value_list: Some(vals), ..Default::default() }
}

#[test]
fn expected_validation() {
    let e = |x: ExpectedAttr| expected_to_condition(&one("a", x), None).unwrap_err();
    assert_eq!(
        e(ExpectedAttr { value: Some(s("x")), attribute_value_list: Some(vec![]), ..Default::default() }),
        "One or more parameter values were invalid: Value and AttributeValueList cannot be used together for Attribute: a"
    );
    assert_eq!(
        e(ExpectedAttr { exists: Some(true), comparison_operator: Some("EQ".into()), value: Some(s("x")), ..Default::default() }),
        "One or more parameter values were invalid: Exists and ComparisonOperator cannot be used together for Attribute: a"
    );
    assert_eq!(
        e(ExpectedAttr { comparison_operator: Some("EQ".into()), ..Default::default() }),
        "One or more parameter values were invalid: Value or AttributeValueList must be used with ComparisonOperator: EQ for Attribute: a"
    );
    assert_eq!(e(cmp("BETWEEN", vec![num("1")])), "One or more parameter values were invalid: Invalid number of argument(s) for the BETWEEN ComparisonOperator");
    assert_eq!(e(cmp("NULL", vec![num("1")])), "One or more parameter values were invalid: Invalid number of argument(s) for the NULL ComparisonOperator");
    assert_eq!(e(cmp("IN", vec![num("1"), s("x")])), "One or more parameter values were invalid: AttributeValues inside AttributeValueList must be of same type");
    assert_eq!(e(cmp("BETWEEN", vec![num("2"), num("1")])), "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound");
    assert_eq!(
        e(ExpectedAttr { attribute_value_list: Some(vec![s("x")]), ..Default::default() }),
        "One or more parameter values were invalid: AttributeValueList can only be used with a ComparisonOperator for Attribute: a"
    );
    assert_eq!(e(ExpectedAttr::default()), "One or more parameter values were invalid: Value must be provided when Exists is null for Attribute: a");
    assert_eq!(
        e(ExpectedAttr { exists: Some(true), ..Default::default() }),
        "One or more parameter values were invalid: Value must be provided when Exists is true for Attribute: a"
    );
    assert_eq!(
        e(ExpectedAttr { exists: Some(false), value: Some(s("x")), ..Default::default() }),
        "One or more parameter values were invalid: Value cannot be used when Exists is false for Attribute: a"
    );
    assert!(e(cmp("FOO", vec![])).contains("Member must satisfy enum value set: [IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]"));
}

fn item() -> Item {
    [("a", num("5")), ("s", s("hello")), ("ss", AttrValue::SS(vec!["x".into()])), ("l", AttrValue::L(vec![num("1")]))]
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

#[test]
fn expected_evaluation() {
    let it = item();
    let t = |m: HashMap<String, ExpectedAttr>, op: Option<&str>| expected_to_condition(&m, op).unwrap().eval(&it);
    assert!(t(one("a", ExpectedAttr { value: Some(num("5.0")), ..Default::default() }), None));
    assert!(!t(one("a", ExpectedAttr { value: Some(num("4")), exists: Some(true), ..Default::default() }), None));
    assert!(t(one("zz", ExpectedAttr { exists: Some(false), ..Default::default() }), None));
    assert!(!t(one("a", ExpectedAttr { exists: Some(false), ..Default::default() }), None));
    assert!(t(one("a", cmp("GT", vec![num("4")])), None));
    assert!(t(one("a", ExpectedAttr { comparison_operator: Some("LE".into()), value: Some(num("5")), ..Default::default() }), None));
    assert!(t(one("a", cmp("BETWEEN", vec![num("1"), num("5")])), None));
    assert!(t(one("a", cmp("IN", vec![num("1"), num("5")])), None));
    assert!(t(one("a", cmp("NOT_NULL", vec![])), None));
    assert!(t(one("zz", cmp("NULL", vec![])), None));
    assert!(t(one("zz", cmp("NE", vec![num("1")])), None));
    assert!(t(one("s", cmp("BEGINS_WITH", vec![s("he")])), None));
    assert!(t(one("s", cmp("CONTAINS", vec![s("ll")])), None));
    assert!(t(one("ss", cmp("CONTAINS", vec![s("x")])), None));
    assert!(t(one("l", cmp("CONTAINS", vec![num("1")])), None));
    assert!(t(one("s", cmp("NOT_CONTAINS", vec![s("zz")])), None));
    let mut two = one("a", cmp("EQ", vec![num("1")]));
    two.insert("s".into(), cmp("EQ", vec![s("hello")]));
    assert!(!t(two.clone(), None));
    assert!(!t(two.clone(), Some("AND")));
    assert!(t(two, Some("OR")));
    assert!(t(HashMap::new(), None));
}

#[test]
fn filters() {
    let it = item();
    let f = |m: HashMap<String, ExpectedAttr>| conditions_to_condition(&m, None, "scanFilter");
    assert!(f(one("a", cmp("GE", vec![num("5")]))).unwrap().eval(&it));
    assert_eq!(
        f(one("a", cmp("GE", vec![AttrValue::Bool(true)]))).unwrap_err(),
        "One or more parameter values were invalid: ComparisonOperator GE is not valid for BOOL AttributeValue type"
    );
    assert_eq!(
        f(one("a", cmp("EQ", vec![]))).unwrap_err(),
        "One or more parameter values were invalid: Invalid number of argument(s) for the EQ ComparisonOperator"
    );
    assert_eq!(
        f(one("a", cmp("BETWEEN", vec![s("b"), s("a")]))).unwrap_err(),
        "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound"
    );
    assert_eq!(
        f(one("a", ExpectedAttr::default())).unwrap_err(),
        "1 validation error detected: Value null at 'scanFilter.a.member.comparisonOperator' failed to satisfy constraint: Member must not be null"
    );
    assert!(f(one("a", cmp("EQ", vec![AttrValue::SS(vec!["x".into()])]))).is_ok());
    assert!(f(one("zz", cmp("NULL", vec![]))).unwrap().eval(&it));
}

#[test]
fn attribute_updates() {
    let up = |k: &str, a: Option<&str>, v: Option<AttrValue>| -> HashMap<String, AttributeUpdate> {
        [(k.to_string(), AttributeUpdate { action: a.map(String::from), value: v })].into_iter().collect()
    };
    let mut it = item();
    attribute_updates_to_update(&up("a", Some("ADD"), Some(num("2")))).unwrap().apply(&mut it).unwrap();
    assert_eq!(it["a"], num("7"));
    attribute_updates_to_update(&up("l", Some("ADD"), Some(AttrValue::L(vec![num("2")])))).unwrap().apply(&mut it).unwrap();
    assert_eq!(it["l"], AttrValue::L(vec![num("1"), num("2")]));
    attribute_updates_to_update(&up("n", None, Some(s("v")))).unwrap().apply(&mut it).unwrap();
    assert_eq!(it["n"], s("v"));
    attribute_updates_to_update(&up("n", Some("DELETE"), None)).unwrap().apply(&mut it).unwrap();
    assert!(!it.contains_key("n"));
    attribute_updates_to_update(&up("ss", Some("DELETE"), Some(AttrValue::SS(vec!["x".into()])))).unwrap().apply(&mut it).unwrap();
    assert!(!it.contains_key("ss"));
    assert_eq!(
        attribute_updates_to_update(&up("s", Some("ADD"), Some(num("1")))).unwrap().apply(&mut it).unwrap_err(),
        "Type mismatch for attribute to update"
    );
    let u = attribute_updates_to_update(&up("a", Some("PUT"), Some(num("1")))).unwrap();
    assert_eq!(u.top_level_attrs(), vec!["a"]);
    assert_eq!(
        attribute_updates_to_update(&up("a", Some("PUT"), None)).unwrap_err(),
        "One or more parameter values were invalid: Only DELETE action is allowed when no attribute value is specified"
    );
    assert_eq!(
        attribute_updates_to_update(&up("a", Some("DELETE"), Some(num("1")))).unwrap_err(),
        "One or more parameter values were invalid: DELETE action with value is not supported for the type N"
    );
    assert_eq!(
        attribute_updates_to_update(&up("a", Some("ADD"), Some(s("x")))).unwrap_err(),
        "One or more parameter values were invalid: ADD action is not supported for the type S"
    );
    assert!(attribute_updates_to_update(&up("a", Some("MOVE"), Some(s("x")))).unwrap_err().contains("[ADD, DELETE, PUT]"));
}
