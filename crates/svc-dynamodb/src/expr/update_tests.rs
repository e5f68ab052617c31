use super::*;
use crate::number::Number;
use crate::value::Item;
use std::collections::{BTreeMap, HashMap};

fn num(s: &str) -> AttrValue {
    AttrValue::N(Number::parse(s).unwrap())
}
fn s(x: &str) -> AttrValue {
    AttrValue::S(x.into())
}

fn vals() -> HashMap<String, AttrValue> {
    [
        (":one", num("1")),
        (":two", num("2")),
        (":s", s("x")),
        (":b", AttrValue::B(vec![1])),
        (":l", AttrValue::L(vec![s("z")])),
        (":e", AttrValue::L(vec![])),
        (":m", AttrValue::M(BTreeMap::new())),
        (":t", AttrValue::Bool(true)),
        (":nul", AttrValue::Null),
        (":ss", AttrValue::SS(vec!["a".into(), "c".into()])),
        (":ns", AttrValue::NS(vec![Number::parse("1").unwrap()])),
        (":big", num("9.9999999999999999999999999999999999999E+125")),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.clone()))
    .collect()
}

fn names() -> HashMap<String, String> {
    [("#n", "name"), ("#a", "a")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn parse(src: &str) -> Result<Update, String> {
    let (n, v) = (names(), vals());
    parse_update(src, &Params::new(Some(&n), Some(&v)))
}

const P: &str = "Invalid UpdateExpression: ";

#[test]
fn errors() {
    let e = |src: &str| parse(src).unwrap_err();
    assert_eq!(e(""), format!("{}The expression can not be empty;", P));
    assert_eq!(e(&format!("SET a = :one{}", " ".repeat(4090))), format!("{}Expression size has exceeded the maximum allowed size;", P));
    assert_eq!(e("INVALID SYNTAX HERE"), format!("{}Syntax error; token: \"INVALID\", near: \"INVALID SYNTAX\"", P));
    assert_eq!(e("SET a = :one SET b = :two"), format!("{}The \"SET\" section can only be used once in an update expression;", P));
    assert_eq!(e("REMOVE a ADD b :one remove c"), format!("{}The \"REMOVE\" section can only be used once in an update expression;", P));
    assert_eq!(e("SET name = :one"), format!("{}Attribute name is a reserved keyword; reserved keyword: name", P));
    assert_eq!(e("SET a = size(b)"), format!("{}Invalid function name; function: size", P));
    assert_eq!(e("SET a = :nope"), format!("{}An expression attribute value used in expression is not defined; attribute value: :nope", P));
    assert_eq!(e("SET #nope = :one"), format!("{}An expression attribute name used in the document path is not defined; attribute name: #nope", P));
    assert_eq!(e("SET #nope = :nope"), format!("{}An expression attribute name used in the document path is not defined; attribute name: #nope", P));
    assert_eq!(
        e("SET a = :one REMOVE a"),
        format!("{}Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]", P)
    );
    assert_eq!(
        e("SET a.b = :one REMOVE #a[0]"),
        format!("{}Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a, [0]]", P)
    );
    assert_eq!(e("ADD a :s"), format!("{}Incorrect operand type for operator or function; operator: ADD, operand type: STRING", P));
    assert_eq!(e("ADD a :l"), format!("{}Incorrect operand type for operator or function; operator: ADD, operand type: LIST", P));
    assert_eq!(e("ADD a :m"), format!("{}Incorrect operand type for operator or function; operator: ADD, operand type: MAP", P));
    assert_eq!(e("ADD a :t"), format!("{}Incorrect operand type for operator or function; operator: ADD, operand type: BOOLEAN", P));
    assert_eq!(e("ADD a :nul"), format!("{}Incorrect operand type for operator or function; operator: ADD, operand type: NULL", P));
    assert_eq!(e("ADD a :b"), format!("{}Incorrect operand type for operator or function; operator: ADD, operand type: BINARY", P));
    assert_eq!(e("DELETE a :one"), format!("{}Incorrect operand type for operator or function; operator: DELETE, operand type: NUMBER", P));
    assert_eq!(e("SET a = :s + b"), format!("{}Incorrect operand type for operator or function; operator or function: +, operand type: S", P));
    assert_eq!(e("SET a = b - :l"), format!("{}Incorrect operand type for operator or function; operator or function: -, operand type: L", P));
    assert_eq!(e("SET a = list_append(:one, b)"), format!("{}Incorrect operand type for operator or function; operator or function: list_append, operand type: N", P));
    assert_eq!(e("SET a = list_append(b)"), format!("{}Incorrect number of operands for operator or function; operator or function: list_append, number of operands: 1", P));
    assert_eq!(e("SET a = if_not_exists(:one, b)"), format!("{}Operator or function requires a document path; operator or function: if_not_exists", P));
    // Precedence: reserved word first, then unknown function, then sections.
    assert_eq!(e("SET a = foo(b) SET name = :one"), format!("{}Attribute name is a reserved keyword; reserved keyword: name", P));
    assert_eq!(e("SET a = foo(b) SET c = :one"), format!("{}Invalid function name; function: foo", P));
}

#[test]
fn parses_and_reports_attrs() {
    let u = parse("SET a.b[1] = :one, #n = if_not_exists(#n, :two) + :one REMOVE c, d ADD e :ns DELETE f :ss").unwrap();
    assert_eq!(u.top_level_attrs(), vec!["a", "name", "c", "d", "e", "f"]);
    assert_eq!(u.paths().len(), 6);
    assert!(matches!(&u.actions[1], UpdateAction::Set(_, SetValue::Plus(UOperand::IfNotExists(..), UOperand::Value(_)))));
}

fn item(pairs: &[(&str, AttrValue)]) -> Item {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

fn run(src: &str, it: &Item) -> Result<Item, String> {
    let u = parse(src)?;
    let mut copy = it.clone();
    u.apply(&mut copy)?;
    Ok(copy)
}

#[test]
fn apply_set() {
    let mut m = BTreeMap::new();
    m.insert("c".to_string(), num("10"));
    let it = item(&[("n", num("5")), ("m", AttrValue::M(m)), ("l", AttrValue::L(vec![s("a"), s("b")])), ("str", s("q"))]);
    let out = run("SET x = :one, n = n + :two, m.c = m.c - :one, m.d = :s, l[0] = :s, l[9] = :t", &it).unwrap();
    assert_eq!(out["x"], num("1"));
    assert_eq!(out["n"], num("7"));
    let AttrValue::M(m) = &out["m"] else { panic!() };
    assert_eq!(m["c"], num("9"));
    assert_eq!(m["d"], s("x"));
    assert_eq!(out["l"], AttrValue::L(vec![s("x"), s("b"), AttrValue::Bool(true)]));
    // Reads see the item as it was before the update.
    let out = run("SET n = :one, x = n", &it).unwrap();
    assert_eq!(out["x"], num("5"));
    let out = run("SET l = list_append(l, :l), e = list_append(if_not_exists(e, :e), :l)", &it).unwrap();
    assert_eq!(out["l"], AttrValue::L(vec![s("a"), s("b"), s("z")]));
    assert_eq!(out["e"], AttrValue::L(vec![s("z")]));
    let out = run("SET y = if_not_exists(n, :one)", &it).unwrap();
    assert_eq!(out["y"], num("5"));
    let err = |src: &str| run(src, &it).unwrap_err();
    assert_eq!(err("SET x = absent + :one"), "The provided expression refers to an attribute that does not exist in the item");
    assert_eq!(err("SET x = absent"), "The provided expression refers to an attribute that does not exist in the item");
    assert_eq!(err("SET x = str + :one"), "An operand in the update expression has an incorrect data type");
    assert_eq!(err("SET x = list_append(str, :l)"), "An operand in the update expression has an incorrect data type");
    assert_eq!(err("SET q.r = :one"), "The document path provided in the update expression is invalid for update");
    assert_eq!(err("SET str.r = :one"), "The document path provided in the update expression is invalid for update");
    assert_eq!(err("SET m[0] = :one"), "The document path provided in the update expression is invalid for update");
    assert_eq!(err("SET x = :big + :big"), crate::number::MSG_OVERFLOW);
}

#[test]
fn apply_remove_add_delete() {
    let it = item(&[
        ("l", AttrValue::L(vec![s("a"), s("b"), s("c"), s("d")])),
        ("n", num("1")),
        ("ss", AttrValue::SS(vec!["a".into(), "b".into()])),
        ("str", s("q")),
    ]);
    let out = run("REMOVE l[1], l[2], n, nothing", &it).unwrap();
    assert_eq!(out["l"], AttrValue::L(vec![s("a"), s("d")]));
    assert!(!out.contains_key("n"));
    let out = run("REMOVE l[7]", &it).unwrap();
    assert_eq!(out["l"], it["l"]);
    assert_eq!(run("REMOVE x.y", &it).unwrap_err(), "The document path provided in the update expression is invalid for update");
    let out = run("ADD n :two, fresh :one, ss :ss, fs :ss", &it).unwrap();
    assert_eq!(out["n"], num("3"));
    assert_eq!(out["fresh"], num("1"));
    assert_eq!(out["ss"], AttrValue::SS(vec!["a".into(), "b".into(), "c".into()]));
    assert_eq!(out["fs"], AttrValue::SS(vec!["a".into(), "c".into()]));
    assert_eq!(run("ADD str :one", &it).unwrap_err(), "An operand in the update expression has an incorrect data type");
    assert_eq!(run("ADD ss :ns", &it).unwrap_err(), "An operand in the update expression has an incorrect data type");
    let out = run("DELETE ss :ss", &it).unwrap();
    assert_eq!(out["ss"], AttrValue::SS(vec!["b".into()]));
    let it2 = item(&[("ss", AttrValue::SS(vec!["a".into()]))]);
    let out = run("DELETE ss :ss, absent :ss", &it2).unwrap();
    assert!(out.is_empty());
    assert_eq!(run("DELETE str :ss", &it).unwrap_err(), "An operand in the update expression has an incorrect data type");
}

#[test]
fn failed_apply_is_reported_before_any_change() {
    let it = item(&[("n", num("1"))]);
    let u = parse("SET a = :one, b = absent").unwrap();
    let mut copy = it.clone();
    assert!(u.apply(&mut copy).is_err());
    assert_eq!(copy, it);
}
