//! Attribute values between the wire and nubo: the checks DynamoDB makes on every value a
//! request carries (exactly one type, sets neither empty nor with duplicates, numbers in
//! range), DynamoDB JSON for the store and for error bodies, and item sizes as DynamoDB
//! counts them (the 400 KB limit, the 1 MB page, capacity units).

use crate::error::{validation, Result};
use crate::number::Number;
use crate::value::{AttrValue, Item};
use base64::Engine as _;
use bytes::Bytes;
use nubo_model::generated::dynamodb::AttributeValue as Wire;
use serde_json::{json, Map, Value as Json};
use std::collections::{BTreeMap, HashMap, HashSet};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// DynamoDB nests maps and lists at most 32 deep.
pub const MAX_NESTING: usize = 32;

const TOO_DEEP: &str = "Nesting Levels have exceeded supported limits";

pub fn from_wire(v: Wire) -> Result<AttrValue> {
    from_wire_at(v, 0)
}

/// The depth of maps and lists in a value (0 for a scalar or a set).
pub fn nesting(v: &AttrValue) -> usize {
    match v {
        AttrValue::M(m) => 1 + m.values().map(nesting).max().unwrap_or(0),
        AttrValue::L(l) => 1 + l.iter().map(nesting).max().unwrap_or(0),
        _ => 0,
    }
}

/// Refuses an item nested deeper than DynamoDB stores (an update can deepen one).
pub fn check_nesting(item: &Item) -> Result<()> {
    if item.values().any(|v| nesting(v) > MAX_NESTING) {
        return validation(TOO_DEEP);
    }
    Ok(())
}

fn from_wire_at(v: Wire, depth: usize) -> Result<AttrValue> {
    if (v.m.is_some() || v.l.is_some()) && depth >= MAX_NESTING {
        return validation(TOO_DEEP);
    }
    let count = [v.s.is_some(), v.n.is_some(), v.b.is_some(), v.ss.is_some(), v.ns.is_some(), v.bs.is_some(), v.m.is_some(), v.l.is_some(), v.null.is_some(), v.bool.is_some()]
        .iter()
        .filter(|x| **x)
        .count();
    if count == 0 {
        return validation("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes");
    }
    // DynamoDB checks each type's content before it complains about there being several.
    let mut out = None;
    if let Some(n) = v.n {
        out = Some(AttrValue::N(number(&n)?));
    }
    if let Some(null) = v.null {
        if !null {
            return validation("One or more parameter values were invalid: Null attribute value types must have the value of true");
        }
        out = Some(AttrValue::Null);
    }
    if let Some(ss) = v.ss {
        if ss.is_empty() {
            return validation("One or more parameter values were invalid: An string set  may not be empty");
        }
        if has_duplicates(&ss) {
            return validation(format!("One or more parameter values were invalid: Input collection [{}] contains duplicates.", ss.join(", ")));
        }
        out = Some(AttrValue::SS(ss));
    }
    if let Some(ns) = v.ns {
        if ns.is_empty() {
            return validation("One or more parameter values were invalid: An number set  may not be empty");
        }
        let nums = ns.iter().map(|n| number(n)).collect::<Result<Vec<_>>>()?;
        if has_duplicates(&nums) {
            return validation("Input collection contains duplicates");
        }
        out = Some(AttrValue::NS(nums));
    }
    if let Some(bs) = v.bs {
        if bs.is_empty() {
            return validation("One or more parameter values were invalid: Binary sets should not be empty");
        }
        if has_duplicates(&bs) {
            let shown: Vec<String> = bs.iter().map(|b| B64.encode(b)).collect();
            return validation(format!("One or more parameter values were invalid: Input collection [{}]of type BS contains duplicates.", shown.join(", ")));
        }
        out = Some(AttrValue::BS(bs.into_iter().map(|b| b.to_vec()).collect()));
    }
    if let Some(m) = v.m {
        out = Some(AttrValue::M(m.into_iter().map(|(k, v)| Ok((k, from_wire_at(v, depth + 1)?))).collect::<Result<_>>()?));
    }
    if let Some(l) = v.l {
        out = Some(AttrValue::L(l.into_iter().map(|v| from_wire_at(v, depth + 1)).collect::<Result<_>>()?));
    }
    if count > 1 {
        return validation("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes");
    }
    Ok(match out {
        Some(v) => v,
        None => match (v.s, v.b, v.bool) {
            (Some(s), _, _) => AttrValue::S(s),
            (_, Some(b), _) => AttrValue::B(b.to_vec()),
            (_, _, Some(b)) => AttrValue::Bool(b),
            _ => unreachable!("count == 1"),
        },
    })
}

fn number(s: &str) -> Result<Number> {
    if s.is_empty() {
        return validation("The parameter cannot be converted to a numeric value");
    }
    Number::parse(s).map_err(crate::error::DynamoError::Validation)
}

fn has_duplicates<T: std::hash::Hash + Eq>(v: &[T]) -> bool {
    let mut seen = HashSet::with_capacity(v.len());
    v.iter().any(|x| !seen.insert(x))
}

pub fn item_from_wire(m: BTreeMap<String, Wire>) -> Result<Item> {
    m.into_iter().map(|(k, v)| Ok((k, from_wire(v)?))).collect()
}

/// Optional maps of values (ExpressionAttributeValues), converted with the key in the message.
pub fn values_from_wire(m: Option<BTreeMap<String, Wire>>) -> Result<Option<HashMap<String, AttrValue>>> {
    let Some(m) = m else { return Ok(None) };
    let mut out = HashMap::with_capacity(m.len());
    for (k, v) in m {
        match from_wire(v) {
            Ok(v) => {
                out.insert(k, v);
            }
            Err(crate::error::DynamoError::Validation(msg)) => {
                return validation(format!("ExpressionAttributeValues contains invalid value: {msg} for key {k}"))
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Some(out))
}

pub fn to_wire(v: &AttrValue) -> Wire {
    let mut w = Wire::default();
    match v {
        AttrValue::S(s) => w.s = Some(s.clone()),
        AttrValue::N(n) => w.n = Some(n.to_string()),
        AttrValue::B(b) => w.b = Some(Bytes::copy_from_slice(b)),
        AttrValue::SS(s) => w.ss = Some(s.clone()),
        AttrValue::NS(s) => w.ns = Some(s.iter().map(|n| n.to_string()).collect()),
        AttrValue::BS(s) => w.bs = Some(s.iter().map(|b| Bytes::copy_from_slice(b)).collect()),
        AttrValue::M(m) => w.m = Some(item_to_wire(m)),
        AttrValue::L(l) => w.l = Some(l.iter().map(to_wire).collect()),
        AttrValue::Null => w.null = Some(true),
        AttrValue::Bool(b) => w.bool = Some(*b),
    }
    w
}

pub fn item_to_wire(item: &Item) -> BTreeMap<String, Wire> {
    item.iter().map(|(k, v)| (k.clone(), to_wire(v))).collect()
}

/// DynamoDB JSON (`{"S": "x"}`): how items are stored and how error bodies carry them.
pub fn to_json(v: &AttrValue) -> Json {
    match v {
        AttrValue::S(s) => json!({ "S": s }),
        AttrValue::N(n) => json!({ "N": n.to_string() }),
        AttrValue::B(b) => json!({ "B": B64.encode(b) }),
        AttrValue::SS(s) => json!({ "SS": s }),
        AttrValue::NS(s) => json!({ "NS": s.iter().map(|n| n.to_string()).collect::<Vec<_>>() }),
        AttrValue::BS(s) => json!({ "BS": s.iter().map(|b| B64.encode(b)).collect::<Vec<_>>() }),
        AttrValue::M(m) => json!({ "M": item_to_json(m) }),
        AttrValue::L(l) => json!({ "L": l.iter().map(to_json).collect::<Vec<_>>() }),
        AttrValue::Null => json!({ "NULL": true }),
        AttrValue::Bool(b) => json!({ "BOOL": b }),
    }
}

pub fn item_to_json(item: &Item) -> Json {
    Json::Object(item.iter().map(|(k, v)| (k.clone(), to_json(v))).collect::<Map<_, _>>())
}

/// Reads what [`to_json`] wrote (the store's own records: trusted, so `None` means corrupt).
pub fn from_json(v: &Json) -> Option<AttrValue> {
    let (t, v) = v.as_object()?.iter().next()?;
    let strings = |v: &Json| -> Option<Vec<String>> { v.as_array()?.iter().map(|s| s.as_str().map(str::to_string)).collect() };
    Some(match t.as_str() {
        "S" => AttrValue::S(v.as_str()?.to_string()),
        "N" => AttrValue::N(Number::parse(v.as_str()?).ok()?),
        "B" => AttrValue::B(B64.decode(v.as_str()?).ok()?),
        "SS" => AttrValue::SS(strings(v)?),
        "NS" => AttrValue::NS(strings(v)?.iter().map(|n| Number::parse(n).ok()).collect::<Option<_>>()?),
        "BS" => AttrValue::BS(strings(v)?.iter().map(|b| B64.decode(b).ok()).collect::<Option<_>>()?),
        "M" => AttrValue::M(item_from_json(v)?),
        "L" => AttrValue::L(v.as_array()?.iter().map(from_json).collect::<Option<_>>()?),
        "NULL" => AttrValue::Null,
        "BOOL" => AttrValue::Bool(v.as_bool()?),
        _ => return None,
    })
}

pub fn item_from_json(v: &Json) -> Option<Item> {
    v.as_object()?.iter().map(|(k, v)| Some((k.clone(), from_json(v)?))).collect()
}

/// An item's size as DynamoDB counts it against the 400 KB limit and in capacity units:
/// attribute names in UTF-8 plus each value's size.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

pub fn value_size(v: &AttrValue) -> usize {
    match v {
        AttrValue::S(s) => s.len(),
        AttrValue::N(n) => n.size_bytes(),
        AttrValue::B(b) => b.len(),
        AttrValue::SS(s) => s.iter().map(|x| x.len()).sum(),
        AttrValue::NS(s) => s.iter().map(|x| x.size_bytes()).sum(),
        AttrValue::BS(s) => s.iter().map(|x| x.len()).sum(),
        // Maps and lists cost 3 bytes plus 1 per element, on top of their contents.
        AttrValue::M(m) => 3 + m.len() + item_size(m),
        AttrValue::L(l) => 3 + l.iter().map(|x| 1 + value_size(x)).sum::<usize>(),
        AttrValue::Null | AttrValue::Bool(_) => 1,
    }
}

/// DynamoDB's limit on one item: 400 KB.
pub const MAX_ITEM_SIZE: usize = 400 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Wire {
        Wire { s: Some(x.into()), ..Default::default() }
    }

    #[test]
    fn a_value_has_exactly_one_type() {
        let empty = from_wire(Wire::default()).unwrap_err();
        assert!(format!("{empty:?}").contains("Supplied AttributeValue is empty"));
        let two = from_wire(Wire { s: Some("a".into()), bool: Some(true), ..Default::default() }).unwrap_err();
        assert!(format!("{two:?}").contains("more than one datatypes"));
        assert_eq!(from_wire(s("x")).unwrap(), AttrValue::S("x".into()));
    }

    #[test]
    fn sets_are_neither_empty_nor_repeated() {
        let e = from_wire(Wire { ss: Some(vec![]), ..Default::default() }).unwrap_err();
        assert!(format!("{e:?}").contains("An string set  may not be empty"));
        let e = from_wire(Wire { ss: Some(vec!["a".into(), "a".into()]), ..Default::default() }).unwrap_err();
        assert!(format!("{e:?}").contains("Input collection [a, a] contains duplicates."));
    }

    #[test]
    fn nesting_stops_at_32_levels() {
        let nest = |levels: usize| (0..levels).fold(s("leaf"), |inner, _| Wire { l: Some(vec![inner]), ..Default::default() });
        assert!(from_wire(nest(32)).is_ok());
        let e = from_wire(nest(33)).unwrap_err();
        assert!(format!("{e:?}").contains(TOO_DEEP));
        assert_eq!(nesting(&from_wire(nest(32)).unwrap()), 32);
    }

    #[test]
    fn json_round_trips_every_type() {
        let mut m = Item::new();
        m.insert("s".into(), AttrValue::S("x".into()));
        m.insert("b".into(), AttrValue::B(vec![0, 255]));
        m.insert("l".into(), AttrValue::L(vec![AttrValue::Null, AttrValue::Bool(false), AttrValue::SS(vec!["a".into()])]));
        m.insert("bs".into(), AttrValue::BS(vec![vec![1], vec![2]]));
        let mut outer = Item::new();
        outer.insert("m".into(), AttrValue::M(m));
        assert_eq!(item_from_json(&item_to_json(&outer)).unwrap(), outer);
    }

    #[test]
    fn sizes_count_names_and_nesting() {
        let mut item = Item::new();
        item.insert("ab".into(), AttrValue::S("xyz".into()));
        assert_eq!(item_size(&item), 5);
        item.insert("l".into(), AttrValue::L(vec![AttrValue::Bool(true)]));
        assert_eq!(item_size(&item), 5 + 1 + 3 + 2);
    }
}
