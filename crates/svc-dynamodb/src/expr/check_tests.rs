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

fn names(v: &[(&str, &str)]) -> HashMap<String, String> {
    v.iter().map(|(k, x)| (k.to_string(), x.to_string())).collect()
}
fn values(v: &[(&str, AttrValue)]) -> HashMap<String, AttrValue> {
    v.iter().map(|(k, x)| (k.to_string(), x.clone())).collect()
}

fn filter_err(expr: &str, n: &HashMap<String, String>, v: &HashMap<String, AttrValue>) -> String {
    let p = Params::new(Some(n), Some(v));
    match parse_condition(expr, "FilterExpression", &p) {
        Ok(c) => format!("ok: {:?}", c),
        Err(e) => e,
    }
}

fn err(expr: &str) -> String {
    filter_err(expr, &names(&[("#zz", "zz")]), &values(&[(":zz", s("zz"))]))
}

const P: &str = "Invalid FilterExpression: ";

#[test]
fn empty_and_size() {
    assert_eq!(err(""), format!("{}The expression can not be empty;", P));
    let long = format!("a = :v{}", " ".repeat(4100));
    assert_eq!(err(&long), format!("{}Expression size has exceeded the maximum allowed size; expression size: 4106", P));
    let p = Params::new(None, None);
    assert_eq!(
        parse_condition("a = b =", "ConditionExpression", &p).unwrap_err(),
        "Invalid ConditionExpression: Syntax error; token: \"=\", near: \"b =\""
    );
}

#[test]
fn redundant_parens() {
    for e in [
        "a=a and a > ((views))",
        "(a)between(((b.c)).d)and(c)",
        "a > whatever((:things), ((a)))",
        "a=a AND ((a=a AND a=a)) AND a=a",
        "a=a OR ((a=a OR a=a)) OR a=a",
        "a=a AND ((a=a AND (a=a AND a=a)))",
        "a=a OR ((a=a OR (a=a OR a=a)))",
    ] {
        assert_eq!(err(e), format!("{}The expression has redundant parentheses;", P), "{}", e);
    }
}

#[test]
fn invalid_function_names() {
    assert_eq!(err("a=a and whatever((:things)) > a"), format!("{}Invalid function name; function: whatever", P));
    assert_eq!(err("attRIbute_exIsts((views), #a)"), format!("{}Invalid function name; function: attRIbute_exIsts", P));
}

#[test]
fn misused_functions() {
    for (e, f) in [
        ("a=a and attribute_exists((views), (#a)) > b", "attribute_exists"),
        ("attribute_not_exists(things) > b", "attribute_not_exists"),
        ("attribute_type(things, :a) > b", "attribute_type"),
        ("begins_with(things, a) > b", "begins_with"),
        ("contains(:things, c) > b", "contains"),
        ("size(contains(a, b)) > a", "contains"),
        ("size(things)", "size"),
        ("a between b and attribute_exists(things)", "attribute_exists"),
        ("a in (b, attribute_exists(things))", "attribute_exists"),
        ("NOT size(a)", "size"),
        ("a = b AND size(a)", "size"),
    ] {
        assert_eq!(err(e), format!("{}The function is not allowed to be used this way in an expression; function: {}", P, f), "{}", e);
    }
}

#[test]
fn reserved_words() {
    assert_eq!(err("attribute_exists(views, #a)"), format!("{}Attribute name is a reserved keyword; reserved keyword: views", P));
    assert_eq!(err(":a < abOrT"), format!("{}Attribute name is a reserved keyword; reserved keyword: abOrT", P));
    assert_eq!(err("a.name = :zz"), format!("{}Attribute name is a reserved keyword; reserved keyword: name", P));
}

#[test]
fn undefined_placeholders() {
    for (e, k) in [
        ("attribute_exists(#Pictures.RearView, :a) and a=a", "#Pictures"),
        ("begins_with(Pictures.#RearView)", "#RearView"),
        ("(#P between :lo and :hi) and (#PC in (:cat1, :cat2))", "#P"),
        ("#4g > a", "#4g"),
        ("#_ > a", "#_"),
        ("(a)between(b.c[45].#d)and(:a)", "#d"),
    ] {
        assert_eq!(
            err(e),
            format!("{}An expression attribute name used in the document path is not defined; attribute name: {}", P, k),
            "{}",
            e
        );
    }
    for (e, k) in [("begins_with(:hello, #a, #b)", ":hello"), (":a < :b", ":a"), (":_ > a", ":_")] {
        assert_eq!(
            err(e),
            format!("{}An expression attribute value used in expression is not defined; attribute value: {}", P, k),
            "{}",
            e
        );
    }
    let p = Params::new(None, None);
    assert_eq!(
        parse_condition("a = :x", "FilterExpression", &p).unwrap_err(),
        format!("{}An expression attribute value used in expression is not defined; attribute value: :x", P)
    );
    assert_eq!(
        parse_condition("#x = a", "ConditionExpression", &p).unwrap_err(),
        "Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #x"
    );
}

#[test]
fn operand_counts() {
    for (e, f, n) in [
        ("attribute_exists(things, a) and a=a", "attribute_exists", 2),
        ("attribute_not_exists(things, b)", "attribute_not_exists", 2),
        ("attribute_type(things)", "attribute_type", 1),
        ("begins_with(things)", "begins_with", 1),
        ("begins_with(things, size(a), b)", "begins_with", 3),
        ("contains(things)", "contains", 1),
        ("size(things, a) > b", "size", 2),
    ] {
        assert_eq!(
            err(e),
            format!("{}Incorrect number of operands for operator or function; operator or function: {}, number of operands: {}", P, f, n),
            "{}",
            e
        );
    }
}

#[test]
fn operand_types() {
    let types = [
        num("1"),
        AttrValue::B(vec![b'a']),
        AttrValue::Bool(true),
        AttrValue::Null,
        AttrValue::L(vec![]),
        AttrValue::M(BTreeMap::new()),
        AttrValue::SS(vec!["1".into()]),
        AttrValue::NS(vec![Number::parse("1").unwrap()]),
        AttrValue::BS(vec![vec![b'a']]),
    ];
    let n = names(&[]);
    for v in &types {
        let vals = values(&[(":a", v.clone())]);
        let msg = |f: &str| {
            format!("{}Incorrect operand type for operator or function; operator or function: {}, operand type: {}", P, f, v.type_name())
        };
        assert_eq!(filter_err("attribute_type(a, :a)", &n, &vals), msg("attribute_type"));
        if v.type_name() != "B" {
            assert_eq!(filter_err("begins_with(a, :a)", &n, &vals), msg("begins_with"));
            assert_eq!(filter_err("begins_with(:a, a)", &n, &vals), msg("begins_with"));
        }
        if ["N", "BOOL", "NULL"].contains(&v.type_name()) {
            assert_eq!(filter_err("size(:a) > a", &n, &vals), msg("size"));
        }
    }
    let vals = values(&[(":a", num("1"))]);
    let m = |f: &str| format!("{}Incorrect operand type for operator or function; operator or function: {}, operand type: N", P, f);
    assert_eq!(filter_err("attribute_type(a, size(a)) and a=a and a=:a", &n, &vals), m("attribute_type"));
    assert_eq!(filter_err("begins_with(a, size(a)) and a=:a", &n, &vals), m("begins_with"));
    assert_eq!(filter_err("size(size(a)) > :a", &n, &vals), m("size"));
    assert_eq!(filter_err("attribute_not_exists(size(:a))", &n, &vals), m("size"));
    assert_eq!(
        filter_err("attribute_type(a, b)", &n, &vals),
        format!("{}Incorrect operand type for operator or function; operator or function: attribute_type, operand type: {{NS,SS,L,BS,N,M,B,BOOL,NULL,S}}", P)
    );
    let vals = values(&[(":a", s("1"))]);
    assert_eq!(
        filter_err("attribute_type(a, :a)", &n, &vals),
        format!("{}Invalid attribute type name found; type: 1, valid types: {{B,NULL,SS,BOOL,L,BS,N,NS,S,M}}", P)
    );
    for (e, f) in [("attribute_exists(:a) and a=a", "attribute_exists"), ("attribute_not_exists(size(:a))", "attribute_not_exists")] {
        assert_eq!(filter_err(e, &n, &vals), format!("{}Operator or function requires a document path; operator or function: {}", P, f));
    }
}

#[test]
fn distinct_operands() {
    let n = names(&[("#a", "a")]);
    let v = values(&[(":views", s("x"))]);
    for (e, op, path) in [
        ("a = a AND #a = b AND :views > a", "=", "[a]"),
        ("#a <> a", "<>", "[a]"),
        ("a > #a", ">", "[a]"),
        ("((a=a) OR (a=a))", "=", "[a]"),
        ("((a=a) AND (a=a))", "=", "[a]"),
        ("contains(ab.bc[1].a, ab.bc[1].#a)", "contains", "[ab, bc, [1], a]"),
        ("attribute_type(ab.bc[1].#a, ab.bc[1].a)", "attribute_type", "[ab, bc, [1], a]"),
        ("begins_with(ab.bc[1].a, ab.bc[1].#a)", "begins_with", "[ab, bc, [1], a]"),
    ] {
        assert_eq!(
            filter_err(e, &n, &v),
            format!("{}The first operand must be distinct from the remaining operands for this operator or function; operator: {}, first operand: {}", P, op, path),
            "{}",
            e
        );
    }
    assert!(filter_err(":views > :views", &n, &v).starts_with("ok"));
}

#[test]
fn between_bounds() {
    let n = names(&[]);
    let v = values(&[(":a", num("2")), (":b", num("1")), (":c", s("x"))]);
    assert_eq!(
        filter_err("x between :a and :b", &n, &v),
        format!("{}The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {{N:2}}, upper bound operand: AttributeValue: {{N:1}}", P)
    );
    assert_eq!(
        filter_err("x between :a and :c", &n, &v),
        format!("{}The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {{N:2}}, upper bound operand: AttributeValue: {{S:x}}", P)
    );
    assert!(filter_err("x between :b and :a", &n, &v).starts_with("ok"));
    assert!(filter_err("x between :a and :a", &n, &v).starts_with("ok"));
}

#[test]
fn error_precedence() {
    // A leaf's first error wins over a later leaf's higher-ranked kind.
    let n = names(&[]);
    let v = values(&[(":v", num("1"))]);
    assert_eq!(
        filter_err("size(a, b) > :v AND c = :undef", &n, &v),
        format!("{}Incorrect number of operands for operator or function; operator or function: size, number of operands: 2", P)
    );
    // Within a leaf, an undefined placeholder outranks the operand count.
    assert_eq!(
        filter_err("begins_with(:hello, #a, #b)", &n, &v),
        format!("{}An expression attribute value used in expression is not defined; attribute value: :hello", P)
    );
    // Syntax errors come before everything.
    assert!(filter_err("((a)) = name =", &n, &v).contains("Syntax error"));
    // Unknown function outranks a reserved word.
    assert_eq!(filter_err("name = foo(a)", &n, &v), format!("{}Invalid function name; function: foo", P));
}

#[test]
fn in_limit() {
    let list: Vec<String> = (0..101).map(|i| format!("b{}", i)).collect();
    let e = format!("a IN ({})", list.join(","));
    assert_eq!(err(&e), format!("{}The IN operator is provided with too many operands; number of operands: 101", P));
    let e = format!("a IN ({})", list[..100].join(","));
    assert!(err(&e).starts_with("ok"));
}

fn item(pairs: &[(&str, AttrValue)]) -> Item {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

fn eval(expr: &str, it: &Item) -> bool {
    let n = names(&[("#n", "name"), ("#s", "size")]);
    let v = values(&[
        (":one", num("1")),
        (":two", num("2")),
        (":ten", num("10")),
        (":a", s("a")),
        (":ab", s("ab")),
        (":b", s("b")),
        (":x", s("x")),
        (":S", s("S")),
        (":N", s("N")),
        (":L", s("L")),
        (":bin", AttrValue::B(vec![1, 2])),
        (":t", AttrValue::Bool(true)),
        (":list", AttrValue::L(vec![num("1"), s("a")])),
        (":ss", AttrValue::SS(vec!["y".into(), "x".into()])),
    ]);
    let p = Params::new(Some(&n), Some(&v));
    parse_condition(expr, "ConditionExpression", &p).unwrap_or_else(|e| panic!("{}: {}", expr, e)).eval(it)
}

#[test]
fn evaluation() {
    let mut m = BTreeMap::new();
    m.insert("x".to_string(), num("1"));
    m.insert("l".to_string(), AttrValue::L(vec![s("a"), num("2"), AttrValue::M(BTreeMap::new())]));
    let it = item(&[
        ("n", num("1")),
        ("str", s("ab")),
        ("bin", AttrValue::B(vec![1, 2, 3])),
        ("ss", AttrValue::SS(vec!["x".into(), "y".into()])),
        ("ns", AttrValue::NS(vec![Number::parse("2").unwrap()])),
        ("m", AttrValue::M(m)),
        ("name", s("joe")),
        ("size", num("10")),
        ("uni", s("é𝄞")),
        ("t", AttrValue::Bool(true)),
        ("nul", AttrValue::Null),
    ]);
    let yes = |e: &str| assert!(eval(e, &it), "expected true: {}", e);
    let no = |e: &str| assert!(!eval(e, &it), "expected false: {}", e);
    yes("n = :one");
    yes("n <> :two");
    yes("n < :two");
    yes("n <= :one");
    no("n > :one");
    yes("n >= :one");
    no("n = :a");
    no("n < :a");
    yes("n <> :a");
    yes("absent <> :a");
    no("absent = :a");
    no("absent < :a");
    yes("str > :a");
    yes("str BETWEEN :a AND :b");
    no("n BETWEEN :a AND :b");
    yes("n BETWEEN :one AND :two");
    no("absent BETWEEN :one AND :two");
    yes("n IN (:two, :one)");
    no("n IN (:two, :a)");
    no("absent IN (:two, :a)");
    yes("attribute_exists(m.x)");
    yes("attribute_exists(m.l[2])");
    no("attribute_exists(m.l[3])");
    yes("attribute_not_exists(m.y)");
    yes("attribute_type(ss, :S) OR attribute_type(n, :N)");
    yes("attribute_type(m.l, :L)");
    no("attribute_type(absent, :S)");
    yes("begins_with(str, :a)");
    no("begins_with(str, :b)");
    yes("begins_with(bin, :bin)");
    no("begins_with(n, :a)");
    yes("contains(str, :b)");
    yes("contains(ss, :x)");
    no("contains(ss, :a) OR contains(ss, str)");
    yes("contains(m.l, :a)");
    yes("contains(m.l, :two)");
    no("contains(m.l, :one)");
    yes("contains(ns, :two)");
    no("contains(ns, :one)");
    yes("size(str) = :two");
    yes("size(uni) > :two");
    yes("size(m) = :two");
    yes("size(m.l) > :two");
    yes("size(bin) > :two");
    yes("size(:ab) = :two");
    no("size(absent) = :two");
    no("size(n) = :one");
    yes("#n = :a OR #s = :ten");
    yes("NOT n = :two");
    yes("n = :one AND str = :ab");
    no("n = :one AND str = :a");
    yes("n = :two OR str = :ab");
    // NOT binds tighter than AND, AND tighter than OR.
    yes("n = :two AND str = :a OR n = :one");
    no("NOT n = :one AND n = :one");
    yes("NOT (n = :one AND n = :two)");
    yes("n = :one OR n = :two AND str = :a");
    yes("t = :t");
    yes("attribute_exists(nul)");
    yes(":one = :one");
    yes("m.l[0] = :a");
    yes("(m.l)[0] = :a");
    yes("m.x = n");
}

#[test]
fn size_counts_utf16_units() {
    let it = item(&[("uni", s("é𝄞"))]);
    let n = names(&[]);
    let v = values(&[(":three", num("3"))]);
    let p = Params::new(Some(&n), Some(&v));
    assert!(parse_condition("size(uni) = :three", "ConditionExpression", &p).unwrap().eval(&it));
}

#[test]
fn path_heads_and_usage() {
    let n = names(&[("#a", "alpha"), ("#unused", "x")]);
    let v = values(&[(":v", num("1"))]);
    let p = Params::new(Some(&n), Some(&v));
    let c = parse_condition("#a.b = :v AND size(c[1]) > :v AND attribute_exists(alpha)", "FilterExpression", &p).unwrap();
    assert_eq!(c.path_heads(), vec!["alpha", "c"]);
    assert_eq!(
        p.check_unused().unwrap_err(),
        "Value provided in ExpressionAttributeNames unused in expressions: keys: {#unused}"
    );
}

#[test]
fn keywords_case_insensitive() {
    let it = item(&[("n", num("1"))]);
    assert!(eval("n between :one and :two aNd not n in (:two)", &it));
    assert!(eval("n = :two oR n = :one", &it));
}

#[test]
fn base64_rendering() {
    assert_eq!(base64(b"a"), "YQ==");
    assert_eq!(base64(b"ab"), "YWI=");
    assert_eq!(base64(b"abc"), "YWJj");
    assert_eq!(render(&AttrValue::B(vec![b'a'])), "YQ==");
}
