//! Statistics over periods: `GetMetricStatistics` and the `MetricStat` queries of
//! `GetMetricData`. Periods are aligned to multiples of their length since the epoch, and
//! a data point's timestamp is the start of its period, as CloudWatch reports them.
//! Percentiles (`p90`, `p99.9`) come from the values with their counts; statistic sets
//! carry no values, so buckets made only of sets have no percentiles.

use crate::error::{CwError, Result};
use crate::metrics::{identity, sorted_dims, Sample, UNITS};
use crate::CloudWatch;
use nubo_core::{Scope, Timestamp};
use nubo_model::generated::cloudwatch::*;
use std::collections::BTreeMap;

pub const MAX_DATAPOINTS: i64 = 1440;

#[derive(Debug, Clone, Default)]
struct Bucket {
    count: f64,
    sum: f64,
    min: f64,
    max: f64,
    values: Vec<(f64, f64)>,
    unit: u8,
}

impl Bucket {
    fn add(&mut self, s: &Sample, unit: u8) {
        let (count, sum, min, max) = match s {
            Sample::Values(v) => {
                self.values.extend_from_slice(v);
                let count: f64 = v.iter().map(|(_, c)| c).sum();
                let sum: f64 = v.iter().map(|(x, c)| x * c).sum();
                let min = v.iter().map(|(x, _)| *x).fold(f64::INFINITY, f64::min);
                let max = v.iter().map(|(x, _)| *x).fold(f64::NEG_INFINITY, f64::max);
                (count, sum, min, max)
            }
            Sample::Set { count, sum, min, max } => (*count, *sum, *min, *max),
        };
        if self.count == 0.0 {
            self.min = min;
            self.max = max;
        } else {
            self.min = self.min.min(min);
            self.max = self.max.max(max);
        }
        self.count += count;
        self.sum += sum;
        self.unit = unit;
    }

    /// A statistic by CloudWatch's name (`Average`, `p99`, …), if this bucket has it.
    fn stat(&mut self, name: &str) -> Option<f64> {
        match name {
            "SampleCount" => Some(self.count),
            "Sum" => Some(self.sum),
            "Average" => Some(self.sum / self.count),
            "Minimum" => Some(self.min),
            "Maximum" => Some(self.max),
            p => percentile(&mut self.values, parse_percentile(p)?),
        }
    }
}

/// `p99` → 99.0, `p99.9` → 99.9; `None` for anything else.
pub fn parse_percentile(s: &str) -> Option<f64> {
    let p: f64 = s.strip_prefix('p')?.parse().ok()?;
    (0.0..=100.0).contains(&p).then_some(p)
}

/// The smallest value at or above which `p` percent of the (weighted) values lie.
fn percentile(values: &mut [(f64, f64)], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = values.iter().map(|(_, c)| c).sum();
    let target = (p / 100.0 * total).max(f64::MIN_POSITIVE);
    let mut seen = 0.0;
    for (v, c) in values.iter() {
        seen += c;
        if seen >= target - 1e-9 {
            return Some(*v);
        }
    }
    values.last().map(|(v, _)| *v)
}

pub(crate) fn check_period(period: i32) -> Result<()> {
    let ok = matches!(period, 1 | 5 | 10 | 20 | 30) || (period >= 60 && period % 60 == 0);
    if ok {
        Ok(())
    } else {
        Err(CwError::InvalidParameterValue(format!(
            "The parameter Period must be 1, 5, 10, 20, 30, or a multiple of 60 ({period} given)."
        )))
    }
}

fn check_range(start: Timestamp, end: Timestamp) -> Result<()> {
    if start >= end {
        return Err(CwError::InvalidParameterValue("The parameter StartTime must be less than the parameter EndTime.".into()));
    }
    Ok(())
}

impl CloudWatch {
    /// A metric's data in `[start, end)`, bucketed by period (start of period, ms → bucket).
    fn buckets(&self, scope: &Scope, metric: &str, start: Timestamp, end: Timestamp, period: i32, unit: Option<&str>) -> Result<BTreeMap<i64, Bucket>> {
        let period_ms = i64::from(period) * 1000;
        let unit = match unit {
            Some(u) => Some(crate::metrics::unit_code(Some(u))?),
            None => None,
        };
        // Periods run from the start time, rounded down to the minute (the second for
        // high-resolution periods), as CloudWatch builds them.
        let granule = if period_ms < 60_000 { 1000 } else { 60_000 };
        let origin = start.as_millis() - start.as_millis().rem_euclid(granule);
        let mut out: BTreeMap<i64, Bucket> = BTreeMap::new();
        for (at, sample, u) in self.samples(scope, metric, origin, end.as_millis())? {
            if unit.is_some_and(|want| want != u) {
                continue;
            }
            let slot = origin + (at - origin).div_euclid(period_ms) * period_ms;
            if at < origin || slot >= end.as_millis() {
                continue;
            }
            out.entry(slot).or_default().add(&sample, u);
        }
        Ok(out)
    }

    /// One statistic per period of a metric in `[start, end)`: what alarms evaluate.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn period_stats(&self, scope: &Scope, metric: &str, start: Timestamp, end: Timestamp, period: i32, unit: Option<&str>, stat: &str) -> Result<BTreeMap<i64, f64>> {
        let buckets = self.buckets(scope, metric, start, end, period, unit)?;
        Ok(buckets.into_iter().filter(|(slot, _)| *slot >= start.as_millis()).filter_map(|(slot, mut b)| Some((slot, b.stat(stat)?))).collect())
    }

    pub(crate) fn get_metric_statistics(&self, scope: &Scope, input: GetMetricStatisticsInput) -> Result<GetMetricStatisticsOutput> {
        check_period(input.period)?;
        check_range(input.start_time, input.end_time)?;
        let stats = input.statistics.clone().unwrap_or_default();
        let extended = input.extended_statistics.clone().unwrap_or_default();
        if stats.is_empty() == extended.is_empty() {
            return Err(CwError::InvalidParameterCombination("Must specify either Statistics or ExtendedStatistics, but not both.".into()));
        }
        for s in &stats {
            if !["SampleCount", "Average", "Sum", "Minimum", "Maximum"].contains(&s.as_str()) {
                return Err(CwError::InvalidParameterValue(format!("The parameter Statistics must be one of SampleCount, Average, Sum, Minimum, Maximum ({s} given).")));
            }
        }
        for e in &extended {
            if parse_percentile(e).is_none() {
                return Err(CwError::InvalidParameterValue(format!("The value {e} for parameter ExtendedStatistics is invalid.")));
            }
        }
        let span = (input.end_time.as_millis() - input.start_time.as_millis()) / (i64::from(input.period) * 1000);
        if span > MAX_DATAPOINTS {
            return Err(CwError::InvalidParameterCombination(format!(
                "You have requested up to {} datapoints, which exceeds the limit of {MAX_DATAPOINTS}. You may reduce the datapoints requested by increasing Period, or decreasing the time range.",
                span
            )));
        }
        let dims = sorted_dims(input.dimensions.clone());
        let metric = identity(&input.namespace, &input.metric_name, &dims);
        let buckets = self.buckets(scope, &metric, input.start_time, input.end_time, input.period, input.unit.as_deref())?;
        let datapoints = buckets
            .into_iter()
            .map(|(slot, mut b)| {
                let mut d = Datapoint {
                    timestamp: Some(Timestamp::from_millis(slot)),
                    unit: Some(input.unit.clone().unwrap_or_else(|| UNITS[b.unit as usize].to_string())),
                    ..Default::default()
                };
                for s in &stats {
                    let v = b.stat(s);
                    match s.as_str() {
                        "SampleCount" => d.sample_count = v,
                        "Sum" => d.sum = v,
                        "Average" => d.average = v,
                        "Minimum" => d.minimum = v,
                        _ => d.maximum = v,
                    }
                }
                if !extended.is_empty() {
                    d.extended_statistics = Some(extended.iter().filter_map(|e| Some((e.clone(), b.stat(e)?))).collect());
                }
                d
            })
            .collect();
        Ok(GetMetricStatisticsOutput { label: Some(input.metric_name), datapoints: Some(datapoints) })
    }

    pub(crate) fn get_metric_data(&self, scope: &Scope, input: GetMetricDataInput) -> Result<GetMetricDataOutput> {
        check_range(input.start_time, input.end_time)?;
        if input.metric_data_queries.is_empty() || input.metric_data_queries.len() > 500 {
            return Err(CwError::InvalidParameterValue("The collection MetricDataQueries must have between 1 and 500 members.".into()));
        }
        let ascending = input.scan_by.as_deref() == Some("TimestampAscending");
        let queries = input.metric_data_queries.into_iter().map(crate::queries::Query::from_wire).collect::<Result<Vec<_>>>()?;
        let results = self
            .evaluate_queries(scope, &queries, input.start_time, input.end_time)?
            .into_iter()
            .map(|r| {
                let mut points: Vec<(i64, f64)> = r.points.into_iter().filter(|(t, _)| *t < input.end_time.as_millis()).collect();
                if !ascending {
                    points.reverse();
                }
                MetricDataResult {
                    id: Some(r.id),
                    label: Some(r.label),
                    timestamps: Some(points.iter().map(|(t, _)| Timestamp::from_millis(*t)).collect()),
                    values: Some(points.iter().map(|(_, v)| *v).collect()),
                    status_code: Some("Complete".into()),
                    messages: Some(Vec::new()),
                }
            })
            .collect();
        Ok(GetMetricDataOutput { metric_data_results: Some(results), next_token: None, messages: Some(Vec::new()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_combine_values_and_sets() {
        let mut b = Bucket::default();
        b.add(&Sample::Values(vec![(10.0, 1.0), (20.0, 1.0)]), 0);
        b.add(&Sample::Set { count: 2.0, sum: 4.0, min: 1.0, max: 3.0 }, 0);
        assert_eq!((b.stat("SampleCount"), b.stat("Sum"), b.stat("Minimum"), b.stat("Maximum")), (Some(4.0), Some(34.0), Some(1.0), Some(20.0)));
        assert_eq!(b.stat("Average"), Some(8.5));
    }

    #[test]
    fn percentiles_weigh_values_by_their_counts() {
        let mut v: Vec<(f64, f64)> = (1..=100).map(|i| (i as f64, 1.0)).collect();
        assert_eq!(percentile(&mut v, 50.0), Some(50.0));
        assert_eq!(percentile(&mut v, 99.0), Some(99.0));
        assert_eq!(percentile(&mut v, 100.0), Some(100.0));
        let mut w = vec![(1.0, 9.0), (100.0, 1.0)];
        assert_eq!(percentile(&mut w, 90.0), Some(1.0));
        assert_eq!(percentile(&mut w, 91.0), Some(100.0));
        assert_eq!(parse_percentile("p99.9"), Some(99.9));
        assert_eq!(parse_percentile("Average"), None);
    }

    #[test]
    fn periods_follow_cloudwatch() {
        assert!(check_period(60).is_ok() && check_period(300).is_ok() && check_period(1).is_ok());
        assert!(check_period(61).is_err() && check_period(0).is_err() && check_period(45).is_err());
    }
}
