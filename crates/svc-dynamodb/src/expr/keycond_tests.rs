use super::*;
use crate::number::Number;
use std::collections::HashMap;

fn num(s: &str) -> AttrValue {
    AttrValue::N(Number::parse(s).unwrap())
}
fn s(x: &str) -> AttrValue {
    AttrValue::S(x.into())
}

fn kc(src: &str, range: Option<&str>) -> Result<KeyCondition, String> {
    let n: HashMap<String, String> = [("#r".to_string(), "sk".to_string())].into_iter().collect();
    let v: HashMap<String, AttrValue> = [(":h", s("h")), (":a", s("a")), (":b", s("b")), (":n", num("1")), (":l", AttrValue::L(vec![]))]
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    parse_key_condition(src, &Params::new(Some(&n), Some(&v)), "pk", range)
}

#[test]
fn good_conditions() {
    assert_eq!(kc("pk = :h", Some("sk")).unwrap(), KeyCondition { hash: s("h"), range: None });
    assert_eq!(kc("pk = :h", None).unwrap(), KeyCondition { hash: s("h"), range: None });
    assert_eq!(kc("pk = :h AND #r < :a", Some("sk")).unwrap().range, Some(RangeCond::Lt(s("a"))));
    assert_eq!(kc(":a < sk AND :h = pk", Some("sk")).unwrap().range, Some(RangeCond::Gt(s("a"))));
    assert_eq!(kc("pk = :h AND sk <= :a", Some("sk")).unwrap().range, Some(RangeCond::Le(s("a"))));
    assert_eq!(kc("pk = :h AND sk >= :a", Some("sk")).unwrap().range, Some(RangeCond::Ge(s("a"))));
    assert_eq!(kc("pk = :h AND sk > :a", Some("sk")).unwrap().range, Some(RangeCond::Gt(s("a"))));
    assert_eq!(kc("pk = :h AND sk = :a", Some("sk")).unwrap().range, Some(RangeCond::Eq(s("a"))));
    assert_eq!(kc("pk = :h AND sk BETWEEN :a AND :b", Some("sk")).unwrap().range, Some(RangeCond::Between(s("a"), s("b"))));
    assert_eq!(kc("(pk = :h) AND begins_with(sk, :a)", Some("sk")).unwrap().range, Some(RangeCond::BeginsWith(s("a"))));
}

#[test]
fn bad_conditions() {
    let e = |src: &str| kc(src, Some("sk")).unwrap_err();
    assert_eq!(e(""), "Invalid KeyConditionExpression: The expression can not be empty;");
    assert_eq!(e("pk = :h OR sk = :a"), "Invalid operator used in KeyConditionExpression: OR");
    assert_eq!(e("NOT pk = :h"), "Invalid operator used in KeyConditionExpression: NOT");
    assert_eq!(e("pk IN (:h)"), "Invalid operator used in KeyConditionExpression: IN");
    assert_eq!(e("pk <> :h"), "Invalid operator used in KeyConditionExpression: <>");
    assert_eq!(e("attribute_exists(pk)"), "Invalid operator used in KeyConditionExpression: attribute_exists");
    assert_eq!(e("contains(pk, :h)"), "Invalid operator used in KeyConditionExpression: contains");
    assert_eq!(e("size(pk) = :n"), "KeyConditionExpressions cannot contain nested operations");
    assert_eq!(e(":a BETWEEN sk AND :b"), "Invalid condition in KeyConditionExpression: BETWEEN operator must have the key attribute as its first operand");
    assert_eq!(e("begins_with(:a, sk)"), "Invalid condition in KeyConditionExpression: begins_with operator must have the key attribute as its first operand");
    assert_eq!(e("pk = sk"), "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition");
    assert_eq!(e(":h = :a"), "Invalid condition in KeyConditionExpression: No key attribute specified");
    assert_eq!(e("pk.x = :h"), "KeyConditionExpressions cannot have conditions on nested attributes");
    assert_eq!(e("pk = :h AND pk = :a"), "KeyConditionExpressions must only contain one condition per key");
    assert_eq!(e("pk = :h AND sk = :a AND x = :b"), "Conditions can be of length 1 or 2 only");
    assert_eq!(e("sk = :a"), "Query condition missed key schema element: pk");
    assert_eq!(e("pk = :h AND x = :a"), "Query condition missed key schema element: sk");
    assert_eq!(kc("pk = :h AND x = :a", None).unwrap_err(), "Query key condition not supported");
    assert_eq!(e("pk < :h"), "Query key condition not supported");
    assert_eq!(e("begins_with(pk, :h)"), "Query key condition not supported");
    assert_eq!(e("pk = :h AND begins_with(sk, :n)"), "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N");
    assert_eq!(e("pk = :l"), "One or more parameter values were invalid: ComparisonOperator EQ is not valid for L AttributeValue type");
    assert_eq!(e("pk = :h AND sk BETWEEN :b AND :a"), "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {S:b}, upper bound operand: AttributeValue: {S:a}");
}

#[test]
fn legacy_key_conditions() {
    let c = |op: &str, vals: Vec<AttrValue>| ExpectedAttr {
        comparison_operator: Some(op.into()),
        attribute_value_list: Some(vals),
        ..Default::default()
    };
    let mut m = HashMap::new();
    m.insert("pk".to_string(), c("EQ", vec![s("h")]));
    m.insert("sk".to_string(), c("BETWEEN", vec![s("a"), s("b")]));
    assert_eq!(
        key_conditions_to_key_condition(&m, "pk", Some("sk")).unwrap(),
        KeyCondition { hash: s("h"), range: Some(RangeCond::Between(s("a"), s("b"))) }
    );
    m.insert("sk".to_string(), c("NE", vec![s("a")]));
    assert_eq!(key_conditions_to_key_condition(&m, "pk", Some("sk")).unwrap_err(), "Attempted conditional constraint is not an indexable operation");
    m.insert("sk".to_string(), c("BEGINS_WITH", vec![num("1")]));
    assert_eq!(
        key_conditions_to_key_condition(&m, "pk", Some("sk")).unwrap_err(),
        "One or more parameter values were invalid: ComparisonOperator BEGINS_WITH is not valid for N AttributeValue type"
    );
    m.remove("sk");
    m.insert("pk".to_string(), c("GT", vec![s("h")]));
    assert_eq!(key_conditions_to_key_condition(&m, "pk", Some("sk")).unwrap_err(), "Query key condition not supported");
    assert_eq!(key_conditions_to_key_condition(&HashMap::new(), "pk", None).unwrap_err(), "Conditions can be of length 1 or 2 only");
}
