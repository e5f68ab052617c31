//! Metric filters: patterns that turn matching log events into CloudWatch metrics as
//! the events are put (through the [`MetricSink`] the composition root wires to
//! CloudWatch), and TestMetricFilter.

use crate::error::{invalid, LogsError, Result};
use crate::groups::page_limit;
use crate::pattern::FilterPattern;
use crate::records::{self, MetricFilterRecord, Transformation, METRIC_FILTERS};
use crate::Logs;
use nubo_core::{RequestContext, Scope};
use nubo_model::generated::logs::*;


/// One value a metric filter emits.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint {
    pub namespace: String,
    pub name: String,
    pub value: f64,
    pub unit: Option<String>,
    pub dimensions: Vec<(String, String)>,
    /// The log event's timestamp, in milliseconds.
    pub timestamp: i64,
}

/// Where metric filters publish: CloudWatch, wired by the composition root.
pub trait MetricSink: Send + Sync {
    fn publish(&self, scope: &Scope, points: Vec<MetricPoint>);
}

/// A group may have at most 100 metric filters.
const MAX_FILTERS: usize = 100;

/// The points one event yields under one filter: the transformation's value where the
/// event matches, its default value where it does not.
fn points(pattern: &FilterPattern, filter: &MetricFilterRecord, timestamp: i64, message: &str) -> Vec<MetricPoint> {
    filter
        .transformations
        .iter()
        .filter_map(|t| {
            let value = match pattern.metric_value(message, &t.value) {
                Some(v) => v,
                None if !pattern.matches(message) => t.default_value?,
                None => return None,
            };
            let matched = pattern.matches(message);
            let dimensions = if matched {
                t.dimensions.iter().filter_map(|(k, sel)| Some((k.clone(), pattern.field(message, sel)?))).collect()
            } else {
                Vec::new()
            };
            Some(MetricPoint { namespace: t.namespace.clone(), name: t.metric_name.clone(), value, unit: t.unit.clone(), dimensions, timestamp })
        })
        .collect()
}

impl Logs {
    /// Publishes what the group's metric filters make of freshly put events.
    pub(crate) fn apply_metric_filters(&self, scope: &Scope, group: &str, events: &[(i64, String)]) {
        let Some(sink) = &self.metrics else { return };
        if events.is_empty() {
            return;
        }
        let filters = match self.read(|tx| records::metric_filters(tx, scope, group)) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!("metric filters of {group} not read: {e:?}");
                return;
            }
        };
        let mut out = Vec::new();
        for f in &filters {
            let Ok(pattern) = FilterPattern::parse(&f.pattern) else { continue };
            for (ts, message) in events {
                out.extend(points(&pattern, f, *ts, message));
            }
        }
        if !out.is_empty() {
            sink.publish(scope, out);
        }
    }

    pub async fn put_metric_filter(&self, ctx: &RequestContext, input: PutMetricFilterRequest) -> Result<()> {
        let pattern = FilterPattern::parse(&input.filter_pattern).map_err(LogsError::InvalidParameter)?;
        let dimensions = input.metric_transformations.iter().any(|t| t.dimensions.as_ref().is_some_and(|d| !d.is_empty()));
        if dimensions && !matches!(pattern.kind(), crate::pattern::PatternKind::Json | crate::pattern::PatternKind::SpaceDelimited) {
            return invalid("The specified filter pattern does not support dimensions");
        }
        if input.metric_transformations.len() != 1 {
            return invalid("1 validation error detected: Value at 'metricTransformations' failed to satisfy constraint: Member must have length less than or equal to 1");
        }
        let filter = MetricFilterRecord {
            name: input.filter_name,
            pattern: input.filter_pattern,
            transformations: input
                .metric_transformations
                .into_iter()
                .map(|t| Transformation {
                    metric_name: t.metric_name,
                    namespace: t.metric_namespace,
                    value: t.metric_value,
                    default_value: t.default_value,
                    dimensions: t.dimensions.unwrap_or_default(),
                    unit: t.unit,
                })
                .collect(),
            created: self.clock.now().as_millis(),
        };
        self.store.write(|tx| {
            records::group(tx, &ctx.scope, &input.log_group_name)?;
            let existing = records::metric_filters(tx, &ctx.scope, &input.log_group_name)?;
            if existing.len() >= MAX_FILTERS && !existing.iter().any(|f| f.name == filter.name) {
                return Err(LogsError::LimitExceeded("Resource limit exceeded.".into()));
            }
            let k = nubo_store::key::key(&[&ctx.scope.account, &ctx.scope.region, &input.log_group_name, &filter.name]);
            Ok(nubo_store::put_json(tx, METRIC_FILTERS, &k, &filter)?)
        })
    }

    pub async fn delete_metric_filter(&self, ctx: &RequestContext, input: DeleteMetricFilterRequest) -> Result<()> {
        self.store.write(|tx| {
            records::group(tx, &ctx.scope, &input.log_group_name)?;
            let k = nubo_store::key::key(&[&ctx.scope.account, &ctx.scope.region, &input.log_group_name, &input.filter_name]);
            if !tx.delete(METRIC_FILTERS, &k)? {
                return Err(LogsError::ResourceNotFound("The specified metric filter does not exist."));
            }
            Ok(())
        })
    }

    pub async fn describe_metric_filters(&self, ctx: &RequestContext, input: DescribeMetricFiltersRequest) -> Result<DescribeMetricFiltersResponse> {
        if input.metric_name.is_some() != input.metric_namespace.is_some() {
            return invalid("If you specify one of metricName or metricNamespace, you must specify both.");
        }
        let limit = page_limit(input.limit, 50)?;
        let scope = &ctx.scope;
        let prefix = match &input.log_group_name {
            Some(g) => records::group_key(scope, g),
            None => nubo_store::key::key(&[&scope.account, &scope.region]),
        };
        let all: Vec<(Vec<u8>, MetricFilterRecord)> = self.read(|tx| Ok(nubo_store::scan_json(tx, METRIC_FILTERS, &prefix, None, usize::MAX)?))?;
        let mut out: Vec<MetricFilter> = all
            .into_iter()
            .filter(|(_, f)| input.filter_name_prefix.as_ref().is_none_or(|p| f.name.starts_with(p.as_str())))
            .filter(|(_, f)| {
                input.metric_name.as_ref().is_none_or(|n| f.transformations.iter().any(|t| &t.metric_name == n && Some(&t.namespace) == input.metric_namespace.as_ref()))
            })
            .map(|(k, f)| {
                // The group is the key's third component.
                let group = k.split(|b| *b == 0).nth(2).map(|g| String::from_utf8_lossy(g).into_owned());
                MetricFilter {
                    filter_name: Some(f.name),
                    filter_pattern: Some(f.pattern),
                    metric_transformations: Some(
                        f.transformations
                            .into_iter()
                            .map(|t| MetricTransformation {
                                metric_name: t.metric_name,
                                metric_namespace: t.namespace,
                                metric_value: t.value,
                                default_value: t.default_value,
                                dimensions: (!t.dimensions.is_empty()).then_some(t.dimensions),
                                unit: t.unit,
                            })
                            .collect(),
                    ),
                    creation_time: Some(f.created),
                    log_group_name: group,
                    ..Default::default()
                }
            })
            .collect();
        let start: usize = input.next_token.as_deref().map(|t| t.parse().unwrap_or(0)).unwrap_or(0);
        let total = out.len();
        out = out.into_iter().skip(start).take(limit).collect();
        let next = start + out.len();
        Ok(DescribeMetricFiltersResponse { metric_filters: Some(out), next_token: (next < total).then(|| next.to_string()) })
    }

    pub async fn test_metric_filter(&self, _: &RequestContext, input: TestMetricFilterRequest) -> Result<TestMetricFilterResponse> {
        let pattern = FilterPattern::parse(&input.filter_pattern).map_err(LogsError::InvalidParameter)?;
        let matches = input
            .log_event_messages
            .iter()
            .enumerate()
            .filter(|(_, m)| pattern.matches(m))
            .map(|(i, m)| MetricFilterMatchRecord { event_number: Some(i as i64 + 1), event_message: Some(m.clone()), extracted_values: Some(Default::default()) })
            .collect();
        Ok(TestMetricFilterResponse { matches: Some(matches) })
    }
}

