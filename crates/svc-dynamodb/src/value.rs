//! DynamoDB's attribute values, as nubo holds them in memory and in the store.

use crate::number::Number;
use std::collections::BTreeMap;

/// One attribute value: exactly one of DynamoDB's ten data types.
/// Sets keep the order the client sent (DynamoDB does not promise one) and never hold
/// duplicates or nothing (the conversion from the wire checks that).
#[derive(Clone, Debug, PartialEq)]
pub enum AttrValue {
    S(String),
    N(Number),
    B(Vec<u8>),
    SS(Vec<String>),
    NS(Vec<Number>),
    BS(Vec<Vec<u8>>),
    M(BTreeMap<String, AttrValue>),
    L(Vec<AttrValue>),
    Null,
    Bool(bool),
}

/// An item: attribute names to values.
pub type Item = BTreeMap<String, AttrValue>;

impl AttrValue {
    /// DynamoDB's short type name, as `attribute_type` takes it and messages print it.
    pub fn type_name(&self) -> &'static str {
        match self {
            AttrValue::S(_) => "S",
            AttrValue::N(_) => "N",
            AttrValue::B(_) => "B",
            AttrValue::SS(_) => "SS",
            AttrValue::NS(_) => "NS",
            AttrValue::BS(_) => "BS",
            AttrValue::M(_) => "M",
            AttrValue::L(_) => "L",
            AttrValue::Null => "NULL",
            AttrValue::Bool(_) => "BOOL",
        }
    }
}
