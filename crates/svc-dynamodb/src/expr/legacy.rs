//! The legacy conditional parameters (Expected, QueryFilter, ScanFilter, KeyConditions)
//! and AttributeUpdates, validated with DynamoDB's messages and turned into the same
//! `Condition`/`Update` structures the expressions produce.

use super::compare::compare_values;
use super::condition::{CmpOp, Condition, Operand};
use super::docpath::PathElem;
use super::keycond::validate_value_types;
use super::update::{SetValue, UOperand, Update, UpdateAction};
use crate::value::AttrValue;
use std::cmp::Ordering;
use std::collections::HashMap;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExpectedAttr {
    pub value: Option<AttrValue>,
    pub exists: Option<bool>,
    pub comparison_operator: Option<String>,
    pub attribute_value_list: Option<Vec<AttrValue>>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AttributeUpdate {
    pub action: Option<String>,
    pub value: Option<AttrValue>,
}

const INVALID: &str = "One or more parameter values were invalid: ";
const OPERATORS: [&str; 13] =
    ["IN", "NULL", "BETWEEN", "LT", "NOT_CONTAINS", "EQ", "GT", "NOT_NULL", "NE", "LE", "BEGINS_WITH", "GE", "CONTAINS"];
const BETWEEN_ORDER: &str =
    "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound";

/// Maps arrive unordered; checking in name order keeps the reported error stable.
fn sorted<T>(map: &HashMap<String, T>) -> Vec<(&String, &T)> {
    let mut v: Vec<(&String, &T)> = map.iter().collect();
    v.sort_by(|a, b| a.0.cmp(b.0));
    v
}

fn check_operator(op: Option<&String>, which: &str, key: &str) -> Result<String, String> {
    match op {
        None => Err(format!(
            "1 validation error detected: Value null at '{}.{}.member.comparisonOperator' failed to satisfy constraint: Member must not be null",
            which, key
        )),
        Some(o) if !OPERATORS.contains(&o.as_str()) => Err(format!(
            "1 validation error detected: Value '{}' at '{}.{}.member.comparisonOperator' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            o,
            which,
            key,
            OPERATORS.join(", ")
        )),
        Some(o) => Ok(o.clone()),
    }
}

fn count_ok(op: &str, n: usize) -> bool {
    match op {
        "NULL" | "NOT_NULL" => n == 0,
        "IN" => n > 0,
        "BETWEEN" => n == 2,
        _ => n == 1,
    }
}

fn same_types(vals: &[AttrValue]) -> Result<(), String> {
    if let Some(first) = vals.first() {
        if vals.iter().any(|v| v.type_name() != first.type_name()) {
            return Err(format!("{}AttributeValues inside AttributeValueList must be of same type", INVALID));
        }
    }
    Ok(())
}

fn between_order(op: &str, vals: &[AttrValue]) -> Result<(), String> {
    if let (true, [lo, hi]) = (op == "BETWEEN", vals) {
        if compare_values(lo, hi) == Some(Ordering::Greater) {
            return Err(BETWEEN_ORDER.into());
        }
    }
    Ok(())
}

/// QueryFilter, ScanFilter and KeyConditions share these rules; `which` is the
/// parameter's name as DynamoDB spells it in messages (`scanFilter`, `queryFilter`,
/// `keyConditions`).
pub(crate) fn validate_conditions(map: &HashMap<String, ExpectedAttr>, which: &str) -> Result<(), String> {
    for (key, c) in sorted(map) {
        let op = check_operator(c.comparison_operator.as_ref(), which, key)?;
        let vals = c.attribute_value_list.as_deref().unwrap_or(&[]);
        if !count_ok(&op, vals.len()) {
            return Err(format!("{}Invalid number of argument(s) for the {} ComparisonOperator", INVALID, op));
        }
        same_types(vals)?;
        validate_value_types(&op, vals)?;
        between_order(&op, vals)?;
    }
    Ok(())
}

fn validate_expected(map: &HashMap<String, ExpectedAttr>) -> Result<(), String> {
    for (key, c) in sorted(map) {
        if c.attribute_value_list.is_some() && c.value.is_some() {
            return Err(format!("{}Value and AttributeValueList cannot be used together for Attribute: {}", INVALID, key));
        }
        if let Some(op) = &c.comparison_operator {
            let op = check_operator(Some(op), "expected", key)?;
            if c.exists.is_some() {
                return Err(format!("{}Exists and ComparisonOperator cannot be used together for Attribute: {}", INVALID, key));
            }
            if op != "NULL" && op != "NOT_NULL" && c.attribute_value_list.is_none() && c.value.is_none() {
                return Err(format!(
                    "{}Value or AttributeValueList must be used with ComparisonOperator: {} for Attribute: {}",
                    INVALID, op, key
                ));
            }
            let n = match (&c.attribute_value_list, &c.value) {
                (Some(l), _) => l.len(),
                (None, Some(_)) => 1,
                _ => 0,
            };
            if !count_ok(&op, n) {
                return Err(format!("{}Invalid number of argument(s) for the {} ComparisonOperator", INVALID, op));
            }
            if let Some(l) = &c.attribute_value_list {
                same_types(l)?;
                between_order(&op, l)?;
            }
        } else if c.attribute_value_list.is_some() {
            return Err(format!("{}AttributeValueList can only be used with a ComparisonOperator for Attribute: {}", INVALID, key));
        } else {
            let exists = c.exists.unwrap_or(true);
            if exists && c.value.is_none() {
                let shown = if c.exists.is_none() { "null" } else { "true" };
                return Err(format!("{}Value must be provided when Exists is {} for Attribute: {}", INVALID, shown, key));
            }
            if !exists && c.value.is_some() {
                return Err(format!("{}Value cannot be used when Exists is false for Attribute: {}", INVALID, key));
            }
        }
    }
    Ok(())
}

/// One attribute's legacy test as a condition on the top-level attribute `key`.
fn to_condition(key: &str, op: &str, vals: Vec<AttrValue>) -> Condition {
    let path = vec![PathElem::Attr(key.to_string())];
    let attr = Operand::Path(path.clone());
    let mut it = vals.into_iter().map(Operand::Value);
    let mut v = || it.next().unwrap_or(Operand::Value(AttrValue::Null));
    match op {
        "NULL" => Condition::AttributeNotExists(path),
        "NOT_NULL" => Condition::AttributeExists(path),
        "NE" => Condition::Cmp(CmpOp::Ne, attr, v()),
        "LT" => Condition::Cmp(CmpOp::Lt, attr, v()),
        "LE" => Condition::Cmp(CmpOp::Le, attr, v()),
        "GT" => Condition::Cmp(CmpOp::Gt, attr, v()),
        "GE" => Condition::Cmp(CmpOp::Ge, attr, v()),
        "CONTAINS" => Condition::Contains(attr, v()),
        "NOT_CONTAINS" => Condition::Not(Box::new(Condition::Contains(attr, v()))),
        "BEGINS_WITH" => Condition::BeginsWith(attr, v()),
        "IN" => Condition::In(attr, it.collect()),
        "BETWEEN" => {
            let lo = v();
            Condition::Between(attr, lo, v())
        }
        _ => Condition::Cmp(CmpOp::Eq, attr, v()),
    }
}

fn combine(parts: Vec<Condition>, conditional_operator: Option<&str>) -> Condition {
    let or = conditional_operator == Some("OR");
    parts
        .into_iter()
        .reduce(|a, b| if or { Condition::Or(Box::new(a), Box::new(b)) } else { Condition::And(Box::new(a), Box::new(b)) })
        .unwrap_or(Condition::True)
}

pub fn expected_to_condition(
    expected: &HashMap<String, ExpectedAttr>,
    conditional_operator: Option<&str>,
) -> Result<Condition, String> {
    validate_expected(expected)?;
    let parts = sorted(expected)
        .into_iter()
        .map(|(key, c)| match (&c.comparison_operator, c.exists) {
            (Some(op), _) => {
                let vals = match (&c.attribute_value_list, &c.value) {
                    (Some(l), _) => l.clone(),
                    (None, Some(v)) => vec![v.clone()],
                    _ => vec![],
                };
                to_condition(key, op, vals)
            }
            (None, Some(false)) => to_condition(key, "NULL", vec![]),
            (None, _) => to_condition(key, "EQ", c.value.clone().into_iter().collect()),
        })
        .collect();
    Ok(combine(parts, conditional_operator))
}

/// QueryFilter / ScanFilter (and KeyConditions when used as a plain condition).
pub fn conditions_to_condition(
    map: &HashMap<String, ExpectedAttr>,
    conditional_operator: Option<&str>,
    which: &str,
) -> Result<Condition, String> {
    validate_conditions(map, which)?;
    let parts = sorted(map)
        .into_iter()
        .map(|(key, c)| {
            to_condition(
                key,
                c.comparison_operator.as_deref().unwrap_or("EQ"),
                c.attribute_value_list.clone().unwrap_or_default(),
            )
        })
        .collect();
    Ok(combine(parts, conditional_operator))
}

pub fn attribute_updates_to_update(map: &HashMap<String, AttributeUpdate>) -> Result<Update, String> {
    let mut actions = Vec::new();
    for (key, u) in sorted(map) {
        let action = u.action.as_deref().unwrap_or("PUT");
        if !["ADD", "PUT", "DELETE"].contains(&action) {
            return Err(format!(
                "1 validation error detected: Value '{}' at 'attributeUpdates.{}.member.action' failed to satisfy constraint: Member must satisfy enum value set: [ADD, DELETE, PUT]",
                action, key
            ));
        }
        let path = vec![PathElem::Attr(key.clone())];
        let act = match (&u.value, action) {
            (None, "DELETE") => UpdateAction::Remove(path),
            (None, _) => {
                return Err(format!("{}Only DELETE action is allowed when no attribute value is specified", INVALID))
            }
            (Some(v), "DELETE") => {
                if !matches!(v, AttrValue::SS(_) | AttrValue::NS(_) | AttrValue::BS(_)) {
                    return Err(format!("{}DELETE action with value is not supported for the type {}", INVALID, v.type_name()));
                }
                UpdateAction::Delete(path, v.clone())
            }
            (Some(v), "ADD") => {
                if !matches!(v, AttrValue::L(_) | AttrValue::SS(_) | AttrValue::NS(_) | AttrValue::BS(_) | AttrValue::N(_)) {
                    return Err(format!("{}ADD action is not supported for the type {}", INVALID, v.type_name()));
                }
                UpdateAction::Add(path, v.clone())
            }
            (Some(v), _) => UpdateAction::Set(path, SetValue::Operand(UOperand::Value(v.clone()))),
        };
        actions.push(act);
    }
    Ok(Update { actions, legacy: true })
}

#[cfg(test)]
#[path = "legacy_tests.rs"]
mod tests;
