//! What every item operation checks before it touches a table: the expression
//! parameters (not mixed with their legacy counterparts, names and values well formed,
//! all of them used), ReturnValues and ReturnConsumedCapacity.

use crate::error::{validation, DynamoError, Result};
use crate::expr::{self, Params};
use crate::schema::TableRecord;
use crate::value::AttrValue;
use crate::wire;
use nubo_model::generated::dynamodb::{AttributeValue as Wire, Capacity, ConsumedCapacity};
use std::collections::{BTreeMap, HashMap};

/// ExpressionAttributeNames and ExpressionAttributeValues, checked and converted. They
/// outlive the [`Params`] that borrow them while the request's expressions are parsed.
pub struct Substitutions {
    pub names: Option<HashMap<String, String>>,
    pub values: Option<HashMap<String, AttrValue>>,
}

impl Substitutions {
    pub fn new(names: Option<BTreeMap<String, String>>, values: Option<BTreeMap<String, Wire>>) -> Result<Substitutions> {
        if let Some(n) = &names {
            if n.is_empty() {
                return validation("ExpressionAttributeNames must not be empty");
            }
            if let Some(k) = n.keys().find(|k| !well_formed(k, '#')) {
                return validation(format!("ExpressionAttributeNames contains invalid key: Syntax error; key: \"{k}\""));
            }
        }
        if let Some(v) = &values {
            if v.is_empty() {
                return validation("ExpressionAttributeValues must not be empty");
            }
            if let Some(k) = v.keys().find(|k| !well_formed(k, ':')) {
                return validation(format!("ExpressionAttributeValues contains invalid key: Syntax error; key: \"{k}\""));
            }
        }
        Ok(Substitutions { names: names.map(|n| n.into_iter().collect()), values: wire::values_from_wire(values)? })
    }

    pub fn params(&self) -> Params<'_> {
        Params::new(self.names.as_ref(), self.values.as_ref())
    }
}

fn well_formed(key: &str, sigil: char) -> bool {
    key.strip_prefix(sigil).is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

/// DynamoDB refuses a request that mixes expressions with the legacy parameters, and
/// substitutions without expressions. `expressions` and `legacy` name the parameters
/// the operation has, with whether the request set them.
pub fn check_mixing(expressions: &[(&str, bool)], legacy: &[(&str, bool)], names: bool, values: bool) -> Result<()> {
    let used: Vec<&str> = expressions.iter().filter(|(_, set)| *set).map(|(n, _)| *n).collect();
    if !used.is_empty() {
        // Query may pair KeyConditions with the other expressions.
        let key_condition_expression = expressions.iter().any(|(n, set)| *n == "KeyConditionExpression" && *set);
        let legacy_used: Vec<&str> = legacy
            .iter()
            .filter(|(n, set)| *set && (key_condition_expression || *n != "KeyConditions"))
            .map(|(n, _)| *n)
            .collect();
        if !legacy_used.is_empty() {
            return validation(format!(
                "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {{{}}} Expression parameters: {{{}}}",
                legacy_used.join(", "),
                used.join(", ")
            ));
        }
    }
    if names && used.is_empty() {
        return validation("ExpressionAttributeNames can only be specified when using expressions");
    }
    let value_expressions: Vec<&str> = expressions.iter().map(|(n, _)| *n).filter(|n| *n != "ProjectionExpression").collect();
    let value_used = expressions.iter().any(|(n, set)| *set && *n != "ProjectionExpression");
    if values && !value_expressions.is_empty() && !value_used {
        return validation(format!(
            "ExpressionAttributeValues can only be specified when using expressions: {} {} null",
            value_expressions.join(" and "),
            if value_expressions.len() > 1 { "are" } else { "is" }
        ));
    }
    Ok(())
}

pub fn projection(src: Option<&str>, p: &Params) -> Result<Option<Vec<expr::Path>>> {
    match src {
        None => Ok(None),
        Some("") => validation("Invalid ProjectionExpression: The expression can not be empty;"),
        Some(s) => expr::parse_projection(s, p).map(Some).map_err(DynamoError::Validation),
    }
}

pub fn condition(src: Option<&str>, which: &str, p: &Params) -> Result<Option<expr::Condition>> {
    match src {
        None => Ok(None),
        Some("") => validation(format!("Invalid {which}: The expression can not be empty;")),
        Some(s) => expr::parse_condition(s, which, p).map(Some).map_err(DynamoError::Validation),
    }
}

/// AttributesToGet as a projection of top-level names.
pub fn attributes_to_get(names: Option<Vec<String>>) -> Result<Option<Vec<expr::Path>>> {
    let Some(names) = names else { return Ok(None) };
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = names.iter().find(|n| !seen.insert(n.as_str())) {
        return validation(format!("One or more parameter values were invalid: Duplicate value in attribute name: {dup}"));
    }
    Ok(Some(names.into_iter().map(|n| vec![expr::PathElem::Attr(n)]).collect()))
}

/// Converts the legacy Expected / QueryFilter / ScanFilter shapes.
pub fn expected(map: Option<BTreeMap<String, nubo_model::generated::dynamodb::ExpectedAttributeValue>>) -> Result<Option<HashMap<String, expr::ExpectedAttr>>> {
    let Some(map) = map else { return Ok(None) };
    let mut out = HashMap::new();
    for (k, e) in map {
        out.insert(
            k,
            expr::ExpectedAttr {
                value: e.value.map(wire::from_wire).transpose()?,
                exists: e.exists,
                comparison_operator: e.comparison_operator,
                attribute_value_list: e.attribute_value_list.map(|l| l.into_iter().map(wire::from_wire).collect::<Result<Vec<_>>>()).transpose()?,
            },
        );
    }
    Ok(Some(out))
}

pub fn conditions(map: Option<BTreeMap<String, nubo_model::generated::dynamodb::Condition>>) -> Result<Option<HashMap<String, expr::ExpectedAttr>>> {
    let Some(map) = map else { return Ok(None) };
    let mut out = HashMap::new();
    for (k, c) in map {
        out.insert(
            k,
            expr::ExpectedAttr {
                value: None,
                exists: None,
                comparison_operator: Some(c.comparison_operator),
                attribute_value_list: c.attribute_value_list.map(|l| l.into_iter().map(wire::from_wire).collect::<Result<Vec<_>>>()).transpose()?,
            },
        );
    }
    Ok(Some(out))
}

/// The capacity a request consumed, when asked for: reads cost one unit per 4 KB (half
/// when eventually consistent), writes one per 1 KB.
pub fn consumed(table: &TableRecord, mode: Option<&str>, units: f64) -> Option<ConsumedCapacity> {
    match mode {
        Some("TOTAL") => Some(ConsumedCapacity { table_name: Some(table.name.clone()), capacity_units: Some(units), ..Default::default() }),
        Some("INDEXES") => Some(ConsumedCapacity {
            table_name: Some(table.name.clone()),
            capacity_units: Some(units),
            table: Some(Capacity { capacity_units: Some(units), ..Default::default() }),
            ..Default::default()
        }),
        _ => None,
    }
}

/// Capacity per table across a batch or transaction, in the order tables first appear.
#[derive(Default)]
pub struct Tally<'a>(Vec<(&'a TableRecord, f64)>);

impl<'a> Tally<'a> {
    pub fn add(&mut self, table: &'a TableRecord, units: f64) {
        match self.0.iter_mut().find(|(t, _)| t.id == table.id) {
            Some((_, u)) => *u += units,
            None => self.0.push((table, units)),
        }
    }

    /// ConsumedCapacity for each table when asked for, or `None`.
    pub fn consumed(self, mode: Option<&str>) -> Option<Vec<ConsumedCapacity>> {
        let out: Vec<ConsumedCapacity> = self.0.into_iter().filter_map(|(t, u)| consumed(t, mode, u)).collect();
        (!out.is_empty()).then_some(out)
    }
}

pub fn read_units(bytes: usize, consistent: bool) -> f64 {
    let units = bytes.div_ceil(4096).max(1) as f64;
    if consistent { units } else { units / 2.0 }
}

pub fn write_units(bytes: usize) -> f64 {
    bytes.div_ceil(1024).max(1) as f64
}
