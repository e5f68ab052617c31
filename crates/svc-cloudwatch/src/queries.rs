//! Metric data queries: `MetricStat`s and metric math `Expression`s over them, evaluated
//! for a time range. GetMetricData answers with them; metric math alarms store them and
//! evaluate them at each minute. Expressions may name other expressions; a cycle is an
//! error, not a hang.

use crate::error::{CwError, Result};
use crate::math::{self, Expression, Series, Value};
use crate::metrics::{identity, sorted_dims};
use crate::statistics::{check_period, parse_percentile};
use crate::CloudWatch;
use nubo_core::{Scope, Timestamp};
use nubo_model::generated::cloudwatch::{Dimension, Metric, MetricDataQuery, MetricStat};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::HashMap;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StatQuery {
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: Vec<(String, String)>,
    pub period: i32,
    pub stat: String,
    pub unit: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Query {
    pub id: String,
    pub label: Option<String>,
    pub return_data: bool,
    pub period: Option<i32>,
    pub stat: Option<StatQuery>,
    pub expression: Option<String>,
}

const STATISTICS: [&str; 5] = ["SampleCount", "Average", "Sum", "Minimum", "Maximum"];

impl Query {
    /// A query as the API gives it, checked: an id that starts with a lowercase letter,
    /// and exactly one of MetricStat and Expression.
    pub fn from_wire(q: MetricDataQuery) -> Result<Query> {
        let id_ok = q.id.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && q.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !id_ok {
            return Err(CwError::InvalidParameterValue(format!("The value {} for parameter MetricDataQueries.member.Id is invalid. Ids must start with a lowercase letter and contain only letters, numbers and underscores.", q.id)));
        }
        let stat = match (q.metric_stat, &q.expression) {
            (Some(_), Some(_)) => {
                return Err(CwError::InvalidParameterCombination(format!("The query {} must have either a MetricStat or an Expression, not both.", q.id)))
            }
            (None, None) => return Err(CwError::InvalidParameterValue(format!("The query {} must have a MetricStat or an Expression.", q.id))),
            (Some(s), None) => {
                check_period(s.period)?;
                if !STATISTICS.contains(&s.stat.as_str()) && parse_percentile(&s.stat).is_none() {
                    return Err(CwError::InvalidParameterValue(format!("The value {} for parameter MetricDataQueries.member.MetricStat.Stat is invalid.", s.stat)));
                }
                Some(StatQuery {
                    namespace: s.metric.namespace.unwrap_or_default(),
                    metric_name: s.metric.metric_name.unwrap_or_default(),
                    dimensions: sorted_dims(s.metric.dimensions),
                    period: s.period,
                    stat: s.stat,
                    unit: s.unit,
                })
            }
            (None, Some(e)) => {
                Expression::parse(e).map_err(|m| CwError::InvalidParameterValue(format!("Error in expression '{}': {m}", q.id)))?;
                None
            }
        };
        Ok(Query { id: q.id, label: q.label, return_data: q.return_data.unwrap_or(true), period: q.period, stat, expression: q.expression })
    }

    pub fn to_wire(&self) -> MetricDataQuery {
        MetricDataQuery {
            id: self.id.clone(),
            metric_stat: self.stat.as_ref().map(|s| MetricStat {
                metric: Metric {
                    namespace: Some(s.namespace.clone()),
                    metric_name: Some(s.metric_name.clone()),
                    dimensions: Some(s.dimensions.iter().map(|(n, v)| Dimension { name: n.clone(), value: v.clone() }).collect()),
                },
                period: s.period,
                stat: s.stat.clone(),
                unit: s.unit.clone(),
            }),
            expression: self.expression.clone(),
            label: self.label.clone(),
            return_data: Some(self.return_data),
            period: self.period,
            account_id: None,
        }
    }

    /// The period a query's points fall on: its MetricStat's, or the expression's own.
    pub fn period(&self, all: &[Query]) -> i32 {
        self.stat.as_ref().map(|s| s.period).or(self.period).unwrap_or_else(|| all.iter().filter_map(|q| q.stat.as_ref().map(|s| s.period)).min().unwrap_or(60))
    }
}

/// Checks a request's queries together: ids unique, expressions naming queries that exist.
pub fn check_all(queries: &[Query]) -> Result<()> {
    for (i, q) in queries.iter().enumerate() {
        if queries[..i].iter().any(|p| p.id == q.id) {
            return Err(CwError::InvalidParameterValue(format!("The value {} for parameter MetricDataQueries.member.Id is not unique.", q.id)));
        }
    }
    for q in queries {
        if let Some(e) = &q.expression {
            let parsed = Expression::parse(e).map_err(|m| CwError::InvalidParameterValue(format!("Error in expression '{}': {m}", q.id)))?;
            if let Some(missing) = parsed.references().into_iter().find(|r| !queries.iter().any(|q| q.id == *r)) {
                return Err(CwError::InvalidParameterValue(format!("Error in expression '{}': Unknown id '{missing}'", q.id)));
            }
        }
    }
    Ok(())
}

/// What an expression sees while the queries of one request are evaluated.
struct Evaluation<'a> {
    cw: &'a CloudWatch,
    scope: &'a Scope,
    queries: &'a [Query],
    start: Timestamp,
    end: Timestamp,
    period: i32,
    done: RefCell<HashMap<String, Value>>,
    /// Expressions being evaluated: meeting one again is a cycle.
    busy: RefCell<Vec<String>>,
}

impl Evaluation<'_> {
    fn stat_series(&self, s: &StatQuery) -> std::result::Result<Series, String> {
        let metric = identity(&s.namespace, &s.metric_name, &s.dimensions);
        self.cw.period_stats(self.scope, &metric, self.start, self.end, s.period, s.unit.as_deref(), &s.stat).map_err(|e| format!("{e:?}"))
    }

    fn value(&self, id: &str) -> std::result::Result<Value, String> {
        if let Some(v) = self.done.borrow().get(id) {
            return Ok(v.clone());
        }
        let q = self.queries.iter().find(|q| q.id == id).ok_or_else(|| format!("Unknown id '{id}'"))?;
        let v = match (&q.stat, &q.expression) {
            (Some(s), _) => Value::Series(self.stat_series(s)?),
            (None, Some(e)) => {
                if self.busy.borrow().iter().any(|b| b == id) {
                    return Err(format!("Circular dependency detected between expressions: {}", self.busy.borrow().join(" -> ")));
                }
                self.busy.borrow_mut().push(id.to_string());
                let out = Expression::parse(e).and_then(|x| x.eval(self));
                self.busy.borrow_mut().pop();
                out?
            }
            (None, None) => return Err(format!("The query {id} has nothing to evaluate")),
        };
        self.done.borrow_mut().insert(id.to_string(), v.clone());
        Ok(v)
    }
}

impl math::Context for Evaluation<'_> {
    fn series(&self, id: &str) -> std::result::Result<Value, String> {
        self.value(id)
    }

    fn metrics(&self) -> Vec<(String, Series)> {
        self.queries
            .iter()
            .filter_map(|q| Some((q.id.clone(), self.stat_series(q.stat.as_ref()?).ok()?)))
            .collect()
    }

    fn grid(&self) -> Vec<i64> {
        let step = i64::from(self.period.max(1)) * 1000;
        let granule = if step < 60_000 { 1000 } else { 60_000 };
        let first = self.start.as_millis() - self.start.as_millis().rem_euclid(granule);
        (0..).map(|i| first + i * step).take_while(|t| *t < self.end.as_millis()).take(100_800).collect()
    }

    fn period(&self) -> i64 {
        i64::from(self.period)
    }
}

/// One returned series: the query's id, its label, the points.
pub struct Returned {
    pub id: String,
    pub label: String,
    pub points: Series,
}

impl CloudWatch {
    /// Evaluates the queries over `[start, end)` and answers with what those with
    /// ReturnData produce (an expression that yields an array gives one series per member).
    pub(crate) fn evaluate_queries(&self, scope: &Scope, queries: &[Query], start: Timestamp, end: Timestamp) -> Result<Vec<Returned>> {
        check_all(queries)?;
        let mut out = Vec::new();
        for q in queries.iter().filter(|q| q.return_data) {
            let eval = Evaluation { cw: self, scope, queries, start, end, period: q.period(queries), done: Default::default(), busy: Default::default() };
            let value = eval.value(&q.id).map_err(|m| CwError::InvalidParameterValue(format!("Error in expression '{}': {m}", q.id)))?;
            let default_label = || q.stat.as_ref().map(|s| s.metric_name.clone()).unwrap_or_else(|| q.id.clone());
            match value {
                Value::Series(points) => out.push(Returned { id: q.id.clone(), label: q.label.clone().unwrap_or_else(default_label), points }),
                Value::Array(members) => {
                    for (label, points) in members {
                        out.push(Returned { id: q.id.clone(), label: q.label.clone().map(|l| format!("{l} {label}")).unwrap_or(label), points });
                    }
                }
                Value::Scalar(_) => return Err(CwError::InvalidParameterValue(format!("Error in expression '{}': {}", q.id, math::SCALAR_RESULT_ERROR))),
            }
        }
        Ok(out)
    }
}
