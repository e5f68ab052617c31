//! CloudWatch metric math ("Using metric math" / "Metric math syntax and functions",
//! Amazon CloudWatch User Guide), evaluated over in-memory series.
//!
//! Conventions taken from the guide, because GetMetricData callers rely on them:
//! function names and keywords are uppercase only, ids start with a lowercase letter,
//! missing points of one operand count as 0 when two series are combined, and a point
//! whose computation divides by zero (or is otherwise not a finite number) is dropped.

use std::collections::BTreeMap;

mod eval;
mod funcs;
mod lex;
mod parse;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_eval;
#[cfg(test)]
mod tests_series;
mod time;

/// One time series: timestamps (ms since epoch) → values, in time order.
pub type Series = BTreeMap<i64, f64>;

/// What an expression evaluates to.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar(f64),
    Series(Series),
    /// An array of labelled series (METRICS(), [m1, m2]).
    Array(Vec<(String, Series)>),
}

/// What an expression can see.
pub trait Context {
    /// The series of another query, by id (its MetricStat result or its own expression's result).
    /// Err for an unknown id (the caller evaluates expressions referencing expressions, and detects cycles).
    fn series(&self, id: &str) -> Result<Value, String>;
    /// Ids and series of all MetricStat queries (for METRICS() and METRICS("filter")), in request order.
    fn metrics(&self) -> Vec<(String, Series)>;
    /// The timestamps of the request's time grid (start..end by the period): FILL fills these.
    fn grid(&self) -> Vec<i64>;
    /// The period in seconds (PERIOD(), RATE).
    fn period(&self) -> i64;
}

/// The MetricDataQuery `Expression` member is limited to 2048 characters by the API model.
pub const MAX_LENGTH: usize = 2048;
/// Bounds recursion (parens, calls, arrays, unary operators) so hostile input cannot
/// overflow the stack; AWS documents no figure, 100 is far beyond real expressions.
pub const MAX_DEPTH: usize = 100;

/// AWS rejects an expression whose final result is a single number; the caller decides
/// whether a query is final, so it raises this message itself for a `Value::Scalar`.
pub const SCALAR_RESULT_ERROR: &str =
    "The final result of a math expression must be a time series or an array of time series, not a scalar";

/// A parsed metric math expression, reusable across evaluations.
#[derive(Debug, Clone)]
pub struct Expression {
    root: parse::Node,
    refs: Vec<String>,
}

impl Expression {
    /// Parses; errors are the message to return in a `ValidationError`.
    pub fn parse(src: &str) -> Result<Expression, String> {
        let root = parse::parse(src)?;
        let mut refs = Vec::new();
        root.collect_ids(&mut refs);
        Ok(Expression { root, refs })
    }

    /// The query ids the expression names, in order of first appearance, without
    /// duplicates (METRICS() names none: it only reads MetricStat queries).
    pub fn references(&self) -> Vec<String> {
        self.refs.clone()
    }

    pub fn eval(&self, ctx: &dyn Context) -> Result<Value, String> {
        eval::eval(&self.root, ctx)
    }
}
