//! A Query's key condition, from KeyConditionExpression or legacy KeyConditions, checked
//! against the key schema the way DynamoDB does.

use super::check::parse_condition;
use super::condition::{CmpOp, Condition, Operand};
use super::legacy::{validate_conditions, ExpectedAttr};
use super::params::Params;
use crate::value::AttrValue;
use std::collections::HashMap;

#[derive(Clone, Debug, PartialEq)]
pub enum RangeCond {
    Eq(AttrValue),
    Lt(AttrValue),
    Le(AttrValue),
    Gt(AttrValue),
    Ge(AttrValue),
    Between(AttrValue, AttrValue),
    BeginsWith(AttrValue),
}

#[derive(Clone, Debug, PartialEq)]
pub struct KeyCondition {
    pub hash: AttrValue,
    pub range: Option<RangeCond>,
}

/// One key's condition in legacy form (operator name and its values), the common ground
/// of both parameters.
pub(crate) struct KeyConds(pub Vec<(String, String, Vec<AttrValue>)>);

const KCE: &str = "KeyConditionExpression";

pub fn parse_key_condition(
    src: &str,
    p: &Params,
    hash_key: &str,
    range_key: Option<&str>,
) -> Result<KeyCondition, String> {
    let cond = parse_condition(src, KCE, p)?;
    let mut conds = KeyConds(Vec::new());
    convert(&cond, &mut conds)?;
    for (_, op, vals) in &conds.0 {
        validate_value_types(op, vals)?;
    }
    finish(conds, hash_key, range_key)
}

pub fn key_conditions_to_key_condition(
    map: &HashMap<String, ExpectedAttr>,
    hash_key: &str,
    range_key: Option<&str>,
) -> Result<KeyCondition, String> {
    validate_conditions(map, "keyConditions")?;
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    let conds = KeyConds(
        keys.into_iter()
            .map(|k| {
                let c = &map[k];
                (k.clone(), c.comparison_operator.clone().unwrap_or_default(), c.attribute_value_list.clone().unwrap_or_default())
            })
            .collect(),
    );
    finish(conds, hash_key, range_key)
}

fn invalid_op(op: &str) -> String {
    format!("Invalid operator used in {}: {}", KCE, op)
}

fn convert(c: &Condition, out: &mut KeyConds) -> Result<(), String> {
    let (op, args): (&str, Vec<&Operand>) = match c {
        Condition::And(a, b) => {
            convert(a, out)?;
            return convert(b, out);
        }
        Condition::Or(..) => return Err(invalid_op("OR")),
        Condition::Not(..) => return Err(invalid_op("NOT")),
        Condition::In(..) => return Err(invalid_op("IN")),
        Condition::Cmp(CmpOp::Ne, ..) => return Err(invalid_op("<>")),
        Condition::AttributeExists(_) => return Err(invalid_op("attribute_exists")),
        Condition::AttributeNotExists(_) => return Err(invalid_op("attribute_not_exists")),
        Condition::AttributeType(..) => return Err(invalid_op("attribute_type")),
        Condition::Contains(..) => return Err(invalid_op("contains")),
        Condition::True => return Ok(()),
        Condition::Cmp(op, a, b) => (
            match op {
                CmpOp::Eq => "EQ",
                CmpOp::Lt => "LT",
                CmpOp::Le => "LE",
                CmpOp::Gt => "GT",
                _ => "GE",
            },
            vec![a, b],
        ),
        Condition::Between(a, b, c) => {
            if !matches!(a, Operand::Path(_)) {
                return Err(format!(
                    "Invalid condition in {}: BETWEEN operator must have the key attribute as its first operand",
                    KCE
                ));
            }
            ("BETWEEN", vec![a, b, c])
        }
        Condition::BeginsWith(a, b) => {
            if !matches!(a, Operand::Path(_)) {
                return Err(format!(
                    "Invalid condition in {}: begins_with operator must have the key attribute as its first operand",
                    KCE
                ));
            }
            ("BEGINS_WITH", vec![a, b])
        }
    };
    let mut attr: Option<(&str, usize)> = None;
    for (i, a) in args.iter().enumerate() {
        match a {
            Operand::Path(p) => {
                if attr.is_some() {
                    return Err(format!("Invalid condition in {}: Multiple attribute names used in one condition", KCE));
                }
                if p.len() > 1 {
                    return Err("KeyConditionExpressions cannot have conditions on nested attributes".into());
                }
                match p.first() {
                    Some(super::docpath::PathElem::Attr(name)) => attr = Some((name, i)),
                    _ => return Err("KeyConditionExpressions cannot have conditions on nested attributes".into()),
                }
            }
            Operand::Size(_) => return Err("KeyConditionExpressions cannot contain nested operations".into()),
            Operand::Value(_) => {}
        }
    }
    let Some((name, ix)) = attr else {
        return Err(format!("Invalid condition in {}: No key attribute specified", KCE));
    };
    if out.0.iter().any(|(k, _, _)| k == name) {
        return Err("KeyConditionExpressions must only contain one condition per key".into());
    }
    // `:v < key` is `key > :v`.
    let op = if ix == 0 {
        op
    } else {
        match op {
            "LT" => "GT",
            "LE" => "GE",
            "GT" => "LT",
            "GE" => "LE",
            o => o,
        }
    };
    let vals: Vec<AttrValue> = args
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != ix)
        .filter_map(|(_, a)| if let Operand::Value(v) = a { Some(v.clone()) } else { None })
        .collect();
    out.0.push((name.to_string(), op.to_string(), vals));
    Ok(())
}

/// The per-operator type rules legacy conditions follow, which key conditions inherit.
pub(crate) fn validate_value_types(op: &str, vals: &[AttrValue]) -> Result<(), String> {
    let allowed: &[&str] = match op {
        "EQ" | "NE" => &["S", "N", "B", "SS", "NS", "BS"],
        "BEGINS_WITH" => &["S", "B"],
        "NULL" | "NOT_NULL" => return Ok(()),
        _ => &["S", "N", "B"],
    };
    for v in vals {
        if !allowed.contains(&v.type_name()) {
            return Err(format!(
                "One or more parameter values were invalid: ComparisonOperator {} is not valid for {} AttributeValue type",
                op,
                v.type_name()
            ));
        }
    }
    Ok(())
}

fn finish(conds: KeyConds, hash_key: &str, range_key: Option<&str>) -> Result<KeyCondition, String> {
    let n = conds.0.len();
    if n != 1 && n != 2 {
        return Err("Conditions can be of length 1 or 2 only".into());
    }
    let get = |k: &str| conds.0.iter().find(|(name, _, _)| name == k);
    let mut keys = vec![(hash_key, true)];
    if let Some(r) = range_key {
        keys.push((r, false));
    }
    for (attr, is_hash) in &keys {
        if *is_hash && range_key.is_none() && n > 1 {
            return Err("Query key condition not supported".into());
        }
        let Some((_, op, _)) = get(attr) else {
            if *is_hash || n > 1 {
                return Err(format!("Query condition missed key schema element: {}", attr));
            }
            continue;
        };
        if ["NULL", "NOT_NULL", "NE", "CONTAINS", "NOT_CONTAINS", "IN"].contains(&op.as_str()) {
            return Err("Attempted conditional constraint is not an indexable operation".into());
        }
        if *is_hash && op != "EQ" {
            return Err("Query key condition not supported".into());
        }
    }
    let first = |v: &[AttrValue]| v.first().cloned().ok_or_else(|| "Query key condition not supported".to_string());
    let (_, _, hv) = get(hash_key).ok_or_else(|| format!("Query condition missed key schema element: {}", hash_key))?;
    let hash = first(hv)?;
    let range = match range_key.and_then(get) {
        None => None,
        Some((_, op, v)) => Some(match op.as_str() {
            "EQ" => RangeCond::Eq(first(v)?),
            "LT" => RangeCond::Lt(first(v)?),
            "LE" => RangeCond::Le(first(v)?),
            "GT" => RangeCond::Gt(first(v)?),
            "GE" => RangeCond::Ge(first(v)?),
            "BEGINS_WITH" => RangeCond::BeginsWith(first(v)?),
            "BETWEEN" => match v.as_slice() {
                [a, b] => RangeCond::Between(a.clone(), b.clone()),
                _ => return Err("Query key condition not supported".into()),
            },
            _ => return Err("Query key condition not supported".into()),
        }),
    };
    Ok(KeyCondition { hash, range })
}

#[cfg(test)]
#[path = "keycond_tests.rs"]
mod tests;
