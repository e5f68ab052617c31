//! DynamoDB expressions (condition, filter, key condition, projection, update) and the
//! legacy parameters that predate them, parsed into one set of structures and evaluated
//! with DynamoDB's semantics. Every error is DynamoDB's ValidationException message.

mod check;
mod compare;
mod condition;
mod docpath;
mod keycond;
mod legacy;
mod lexer;
mod params;
mod parser;
mod projection;
mod reserved;
mod update;
mod update_apply;

#[cfg(test)]
mod garbage_tests;

pub use compare::{compare_values, values_equal};
pub use condition::{CmpOp, Condition, Operand};
pub use docpath::{get_path, path_str, Path, PathElem};
pub use keycond::{key_conditions_to_key_condition, parse_key_condition, KeyCondition, RangeCond};
pub use legacy::{
    attribute_updates_to_update, conditions_to_condition, expected_to_condition, AttributeUpdate,
    ExpectedAttr,
};
pub use params::Params;
pub use projection::{parse_projection, project};
pub use reserved::is_reserved;
pub use update::{parse_update, SetValue, UOperand, Update, UpdateAction};

pub use check::parse_condition;

/// DynamoDB caps every expression string at 4 KB, counted in bytes as sent.
pub(crate) const MAX_EXPRESSION_BYTES: usize = 4096;
/// DynamoDB counts comparators, logical operators and functions; more than 300 is refused.
pub(crate) const MAX_OPERATORS: usize = 300;
/// IN takes at most 100 candidates.
pub(crate) const MAX_IN_OPERANDS: usize = 100;
