//! Metrics and their data points.
//!
//! A metric is its namespace, name and dimensions (sorted: the order a client sends them
//! in does not make another metric). Its record says when data last arrived (for
//! `RecentlyActive`). Data points are stored one key per datum, under the metric's id and
//! the point's time, in a compact binary form: a sample is either values with counts
//! (what `Value`, `Values`/`Counts` send) or a statistic set; 17 bytes per single value.

use crate::error::{CwError, Result};
use crate::CloudWatch;
use nubo_core::{Scope, Timestamp};
use nubo_model::generated::cloudwatch::{Dimension, DimensionFilter, Metric, MetricDatum};
use nubo_store::{get_json, put_json, scan_json};
use serde::{Deserialize, Serialize};

pub const METRICS: &str = "cloudwatch.metrics";
pub const POINTS: &str = "cloudwatch.points";

/// How far back and ahead a data point's timestamp may be, as AWS accepts.
const MAX_AGE_MS: i64 = 14 * 24 * 3600 * 1000;
const MAX_AHEAD_MS: i64 = 2 * 3600 * 1000;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MetricRecord {
    pub namespace: String,
    pub name: String,
    pub dimensions: Vec<(String, String)>,
    pub last_put: Timestamp,
}

impl MetricRecord {
    pub fn out(&self) -> Metric {
        Metric {
            namespace: Some(self.namespace.clone()),
            metric_name: Some(self.name.clone()),
            dimensions: Some(self.dimensions.iter().map(|(n, v)| Dimension { name: n.clone(), value: v.clone() }).collect()),
        }
    }
}

/// What one datum contributes: values with their counts, or a pre-aggregated set.
#[derive(Debug, Clone, PartialEq)]
pub enum Sample {
    Values(Vec<(f64, f64)>),
    Set { count: f64, sum: f64, min: f64, max: f64 },
}

impl Sample {
    pub fn encode(&self, unit: u8) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Sample::Values(v) => {
                out.push(unit << 1);
                for (value, count) in v {
                    out.extend_from_slice(&value.to_le_bytes());
                    out.extend_from_slice(&count.to_le_bytes());
                }
            }
            Sample::Set { count, sum, min, max } => {
                out.push(unit << 1 | 1);
                for x in [count, sum, min, max] {
                    out.extend_from_slice(&x.to_le_bytes());
                }
            }
        }
        out
    }

    /// (sample, unit code).
    pub fn decode(bytes: &[u8]) -> Option<(Sample, u8)> {
        let (&tag, rest) = bytes.split_first()?;
        let floats: Vec<f64> = rest.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))).collect();
        let sample = if tag & 1 == 1 {
            let [count, sum, min, max] = floats[..] else { return None };
            Sample::Set { count, sum, min, max }
        } else {
            Sample::Values(floats.chunks_exact(2).map(|p| (p[0], p[1])).collect())
        };
        Some((sample, tag >> 1))
    }
}

/// CloudWatch's units, by a one-byte code (0: none given).
pub const UNITS: &[&str] = &[
    "None", "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes", "Bits", "Kilobits",
    "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second",
];

pub fn unit_code(unit: Option<&str>) -> Result<u8> {
    match unit {
        None => Ok(0),
        Some(u) => UNITS
            .iter()
            .position(|x| *x == u)
            .map(|i| i as u8)
            .ok_or_else(|| CwError::InvalidParameterValue(format!("The parameter Unit must be one of: {}.", UNITS.join(", ")))),
    }
}

/// The metric's identity, as one string: its key among the scope's metrics.
pub fn identity(namespace: &str, name: &str, dims: &[(String, String)]) -> String {
    let mut s = format!("{namespace}\u{1f}{name}");
    for (k, v) in dims {
        s.push('\u{1f}');
        s.push_str(k);
        s.push('=');
        s.push_str(v);
    }
    s
}

pub fn sorted_dims(dims: Option<Vec<Dimension>>) -> Vec<(String, String)> {
    let mut d: Vec<(String, String)> = dims.unwrap_or_default().into_iter().map(|d| (d.name, d.value)).collect();
    d.sort();
    d
}

pub fn metric_key(scope: &Scope, identity: &str) -> Vec<u8> {
    nubo_store::key::key(&[&scope.account, &scope.region, identity])
}

pub fn points_prefix(scope: &Scope, identity: &str) -> Vec<u8> {
    nubo_store::key::key(&[&scope.account, &scope.region, identity])
}

pub fn point_key(scope: &Scope, identity: &str, at_ms: i64, seq: u64) -> Vec<u8> {
    nubo_store::key::key(&[&scope.account, &scope.region, identity, &format!("{:016x}", at_ms.max(0)), &format!("{seq:016x}")])
}

fn check_value(v: f64) -> Result<()> {
    if !v.is_finite() || v.abs() > 2f64.powi(360) || (v != 0.0 && v.abs() < 2f64.powi(-260)) {
        return Err(CwError::InvalidParameterValue(format!("The value {v} for parameter MetricData.member.Value is invalid.")));
    }
    Ok(())
}

/// What a datum stores, validated as AWS validates it.
fn sample_of(d: &MetricDatum) -> Result<Sample> {
    let given = [d.value.is_some(), d.statistic_values.is_some(), d.values.is_some()].iter().filter(|x| **x).count();
    if given > 1 {
        return Err(CwError::InvalidParameterCombination(
            "The parameters MetricData.member.Value, MetricData.member.Values and MetricData.member.StatisticValues are mutually exclusive and you have specified more than one.".into(),
        ));
    }
    if let Some(v) = d.value {
        check_value(v)?;
        return Ok(Sample::Values(vec![(v, 1.0)]));
    }
    if let Some(s) = &d.statistic_values {
        for v in [s.sum, s.minimum, s.maximum] {
            check_value(v)?;
        }
        if s.sample_count <= 0.0 || s.minimum > s.maximum {
            return Err(CwError::InvalidParameterValue("The parameter MetricData.member.StatisticValues is invalid: SampleCount must be positive and Minimum at most Maximum.".into()));
        }
        return Ok(Sample::Set { count: s.sample_count, sum: s.sum, min: s.minimum, max: s.maximum });
    }
    if let Some(values) = &d.values {
        let counts = d.counts.clone().unwrap_or_else(|| vec![1.0; values.len()]);
        if values.is_empty() {
            return Err(CwError::InvalidParameterValue("The collection MetricData.member.Values must not be empty.".into()));
        }
        if counts.iter().any(|c| !c.is_finite() || *c <= 0.0) {
            return Err(CwError::InvalidParameterValue("The values of MetricData.member.Counts must be positive numbers.".into()));
        }
        if counts.len() != values.len() {
            return Err(CwError::InvalidParameterValue("The parameters MetricData.member.Values and MetricData.member.Counts must be of the same size.".into()));
        }
        if values.len() > 150 {
            return Err(CwError::InvalidParameterValue("The collection MetricData.member.Values must not have a size greater than 150.".into()));
        }
        for v in values {
            check_value(*v)?;
        }
        return Ok(Sample::Values(values.iter().copied().zip(counts).collect()));
    }
    Err(CwError::InvalidParameterCombination("At least one of the parameters MetricData.member.Value, MetricData.member.Values or MetricData.member.StatisticValues must be specified.".into()))
}

impl CloudWatch {
    /// Records metrics nubo's own services publish (`AWS/SQS`, …): the `AWS/` namespaces
    /// clients may not write to.
    pub fn publish_service_metrics(&self, scope: &Scope, namespace: &str, data: Vec<MetricDatum>) -> Result<()> {
        self.put(scope, namespace, data, true)
    }

    pub(crate) fn put_metric_data(&self, scope: &Scope, namespace: &str, data: Vec<MetricDatum>) -> Result<()> {
        self.put(scope, namespace, data, false)
    }

    fn put(&self, scope: &Scope, namespace: &str, data: Vec<MetricDatum>, service: bool) -> Result<()> {
        if namespace.is_empty() || namespace.len() > 255 || namespace.starts_with(':') {
            return Err(CwError::InvalidParameterValue(format!("The value {namespace} for parameter Namespace is invalid.")));
        }
        if namespace.starts_with("AWS/") && !service {
            return Err(CwError::InvalidParameterValue("The value AWS/ for parameter Namespace is invalid.".into()));
        }
        if data.is_empty() {
            return Err(CwError::MissingParameter("The parameter MetricData is required.".into()));
        }
        if data.len() > 1000 {
            return Err(CwError::InvalidParameterValue("The collection MetricData must not have a size greater than 1000.".into()));
        }
        let now = self.clock.now();
        let mut rows = Vec::with_capacity(data.len());
        for d in &data {
            let dims = sorted_dims(d.dimensions.clone());
            if dims.len() > 30 {
                return Err(CwError::InvalidParameterValue("The collection MetricData.member.Dimensions must not have a size greater than 30.".into()));
            }
            if d.metric_name.is_empty() || d.metric_name.len() > 255 {
                return Err(CwError::InvalidParameterValue(format!("The value {} for parameter MetricName is invalid.", d.metric_name)));
            }
            if let Some(r) = d.storage_resolution {
                if r != 1 && r != 60 {
                    return Err(CwError::InvalidParameterValue("The value for parameter StorageResolution must be 1 or 60.".into()));
                }
            }
            let at = d.timestamp.unwrap_or(now);
            if at.as_millis() < now.as_millis() - MAX_AGE_MS || at.as_millis() > now.as_millis() + MAX_AHEAD_MS {
                return Err(CwError::InvalidParameterValue(format!(
                    "The parameter MetricData.member.Timestamp must specify a time no more than two weeks in the past and no more than two hours in the future ({}).",
                    at.to_iso8601()
                )));
            }
            // Standard resolution keeps minutes; high resolution keeps seconds.
            let granule = if d.storage_resolution == Some(1) { 1000 } else { 60_000 };
            let at_ms = at.as_millis() - at.as_millis().rem_euclid(granule);
            let sample = sample_of(d)?;
            let unit = unit_code(d.unit.as_deref())?;
            rows.push((identity(namespace, &d.metric_name, &dims), d.metric_name.clone(), dims, at_ms, sample.encode(unit)));
        }
        self.write(|tx| {
            for (id, name, dims, at_ms, bytes) in &rows {
                let key = metric_key(scope, id);
                let record = MetricRecord { namespace: namespace.to_string(), name: name.clone(), dimensions: dims.clone(), last_put: now };
                if get_json::<MetricRecord>(tx, METRICS, &key)?.is_none_or(|r| r.last_put.as_millis() + 60_000 < now.as_millis()) {
                    put_json(tx, METRICS, &key, &record)?;
                }
                // A random suffix: points at the same time never overwrite each other, across restarts too.
                tx.put(POINTS, &point_key(scope, id, *at_ms, fastrand::u64(..)), bytes)?;
            }
            Ok(())
        })
    }

    pub(crate) fn list_metrics(&self, scope: &Scope, namespace: Option<&str>, name: Option<&str>, filters: &[DimensionFilter], recently_active: bool) -> Result<Vec<MetricRecord>> {
        let prefix = nubo_store::key::key(&[&scope.account, &scope.region]);
        let all = self.store.read(|tx| scan_json::<MetricRecord>(tx, METRICS, &prefix, None, usize::MAX))?;
        let now = self.clock.now().as_millis();
        Ok(all
            .into_iter()
            .map(|(_, m)| m)
            .filter(|m| namespace.is_none_or(|n| n == m.namespace) && name.is_none_or(|n| n == m.name))
            .filter(|m| filters.iter().all(|f| m.dimensions.iter().any(|(k, v)| *k == f.name && f.value.as_ref().is_none_or(|fv| fv == v))))
            .filter(|m| !recently_active || m.last_put.as_millis() >= now - 3 * 3600 * 1000)
            .collect())
    }

    /// The samples of one metric in `[start, end)`, with their times (ms) and unit codes.
    pub(crate) fn samples(&self, scope: &Scope, identity: &str, start_ms: i64, end_ms: i64) -> Result<Vec<(i64, Sample, u8)>> {
        let prefix = points_prefix(scope, identity);
        let from = point_key(scope, identity, start_ms, 0);
        let rows = self.store.read(|tx| {
            let mut out = Vec::new();
            // Scan from the start time on (just before its first key), stopping at the end time.
            let mut after: Option<Vec<u8>> = (start_ms > 0).then(|| point_key(scope, identity, start_ms - 1, u64::MAX));
            loop {
                let batch = tx.scan(POINTS, &prefix, after.as_deref(), 4096)?;
                let done = batch.len() < 4096;
                for (k, v) in &batch {
                    if k.as_slice() < from.as_slice() {
                        continue;
                    }
                    let at = parse_time(k).unwrap_or(i64::MAX);
                    if at >= end_ms {
                        return Ok(out);
                    }
                    out.push((at, v.clone()));
                }
                match batch.last() {
                    Some((k, _)) if !done => after = Some(k.clone()),
                    _ => return Ok(out),
                }
            }
        })?;
        Ok(rows.into_iter().filter_map(|(at, v)| Sample::decode(&v).map(|(s, u)| (at, s, u))).collect())
    }
}

/// The time component of a point key.
pub(crate) fn parse_time(key: &[u8]) -> Option<i64> {
    let parts: Vec<&[u8]> = key.split(|b| *b == 0).filter(|p| !p.is_empty()).collect();
    let t = parts.get(parts.len().checked_sub(2)?)?;
    i64::from_str_radix(std::str::from_utf8(t).ok()?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_round_trip_compactly() {
        let v = Sample::Values(vec![(1.5, 1.0)]);
        let bytes = v.encode(15);
        assert_eq!(bytes.len(), 17);
        assert_eq!(Sample::decode(&bytes), Some((v, 15)));
        let s = Sample::Set { count: 3.0, sum: 6.0, min: 1.0, max: 3.0 };
        assert_eq!(Sample::decode(&s.encode(0)), Some((s, 0)));
    }

    #[test]
    fn dimension_order_does_not_make_another_metric() {
        let a = sorted_dims(Some(vec![Dimension { name: "b".into(), value: "2".into() }, Dimension { name: "a".into(), value: "1".into() }]));
        let b = sorted_dims(Some(vec![Dimension { name: "a".into(), value: "1".into() }, Dimension { name: "b".into(), value: "2".into() }]));
        assert_eq!(identity("ns", "m", &a), identity("ns", "m", &b));
    }

    #[test]
    fn point_keys_carry_their_time() {
        let scope = Scope::default();
        assert_eq!(parse_time(&point_key(&scope, "ns\u{1f}m", 123_456, 7)), Some(123_456));
    }
}
