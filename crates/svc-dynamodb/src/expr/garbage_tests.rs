//! Every parser must answer any input with a value or an error, never a panic.

use super::*;
use crate::number::Number;
use crate::value::AttrValue;
use std::collections::HashMap;

/// A tiny deterministic generator; no external crates.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[(self.next() % v.len() as u64) as usize]
    }
}

const PIECES: &[&str] = &[
    "a", "b.c", "#n", "#x", ":v", ":w", ":x", "(", ")", "((", "))", "[", "]", "[0]", "[99999999999999999999999]", ".", ",", "=", "<>", "<", "<=",
    ">", ">=", "+", "-", " AND ", " OR ", " NOT ", " BETWEEN ", " IN ", "SET ", "REMOVE ", "ADD ", "DELETE ", "size(", "contains(",
    "attribute_exists(", "attribute_type(", "begins_with(", "if_not_exists(", "list_append(", "foo(", "name", " ", "ü", "\"", "!",
    "#", ":", "0", "1e5", "\t", "€",
];

fn garbage(rng: &mut Rng) -> String {
    let n = (rng.next() % 24) as usize;
    (0..n).map(|_| rng.pick(PIECES)).collect()
}

#[test]
fn parsers_never_panic() {
    let names: HashMap<String, String> = [("#n".to_string(), "n".to_string())].into_iter().collect();
    let values: HashMap<String, AttrValue> = [
        (":v".to_string(), AttrValue::N(Number::parse("1").unwrap())),
        (":w".to_string(), AttrValue::S("S".into())),
    ]
    .into_iter()
    .collect();
    let p = Params::new(Some(&names), Some(&values));
    let item: crate::value::Item =
        [("a".to_string(), AttrValue::L(vec![AttrValue::Null])), ("n".to_string(), AttrValue::S("x".into()))].into_iter().collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..600 {
        let g = garbage(&mut rng);
        if let Ok(c) = parse_condition(&g, "ConditionExpression", &p) {
            c.eval(&item);
        }
        if let Ok(u) = parse_update(&g, &p) {
            let mut copy = item.clone();
            let _ = u.apply(&mut copy);
        }
        if let Ok(paths) = parse_projection(&g, &p) {
            project(&item, &paths);
        }
        let _ = parse_key_condition(&g, &p, "a", Some("b"));
        let _ = Number::parse(&g);
    }
    // Random bytes too, cut at character boundaries.
    for _ in 0..300 {
        let len = (rng.next() % 40) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| (rng.next() % 256) as u8).collect();
        let s = String::from_utf8_lossy(&bytes).into_owned();
        let _ = parse_condition(&s, "FilterExpression", &p);
        let _ = parse_update(&s, &p);
        let _ = parse_projection(&s, &p);
        let _ = Number::parse(&s);
    }
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let p = Params::new(None, None);
    for depth in [150, 1000, 2040] {
        let e = format!("{}a = b{}", "(".repeat(depth), ")".repeat(depth));
        assert!(parse_condition(&e, "ConditionExpression", &p).is_err());
        let f = format!("SET a = {}b{}", "list_append(".repeat(depth / 2), ", c)".repeat(depth / 2));
        let _ = parse_update(&f, &p);
        let n = format!("{}a = b", "NOT ".repeat(depth));
        let _ = parse_condition(&n, "ConditionExpression", &p);
    }
}
