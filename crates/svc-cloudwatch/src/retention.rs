//! Retention by resolution, as CloudWatch keeps data: sub-minute points for 3 hours,
//! then one-minute aggregates for 15 days, five-minute aggregates until 63 days, hourly
//! aggregates until 455 days, then nothing. Alarm history is kept two weeks.
//!
//! A rollup replaces the points of one period (and unit) by one point at the period's
//! start: their values with counts while they are few (so percentiles stay exact),
//! otherwise a statistic set. [`run`] rolls up every hour of nubo's clock; the work is
//! [`CloudWatch::roll_up`], a function of the store and a time.

use crate::alarms::{HistoryRecord, HISTORY};
use crate::error::Result;
use crate::metrics::{point_key, points_prefix, MetricRecord, Sample, METRICS, POINTS};
use crate::CloudWatch;
use nubo_core::{Scope, Timestamp};
use std::collections::BTreeMap;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// From which age points are kept at which resolution.
const TIERS: [(i64, i64); 3] = [(3 * HOUR, MINUTE), (15 * DAY, 5 * MINUTE), (63 * DAY, HOUR)];
/// Nothing older is kept.
const RETAINED: i64 = 455 * DAY;
const HISTORY_KEPT: i64 = 14 * DAY;
/// A rolled-up point keeps its distinct values (and counts) up to this many.
const KEEP_VALUES: usize = 150;

/// The samples of one period as one.
pub fn merge(samples: &[Sample]) -> Sample {
    let mut values: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
    let mut only_values = true;
    let (mut count, mut sum, mut min, mut max) = (0.0, 0.0, f64::INFINITY, f64::NEG_INFINITY);
    for s in samples {
        match s {
            Sample::Values(v) => {
                for (value, c) in v {
                    values.entry(value.to_bits()).or_insert((*value, 0.0)).1 += c;
                    count += c;
                    sum += value * c;
                    min = min.min(*value);
                    max = max.max(*value);
                }
            }
            Sample::Set { count: c, sum: s, min: lo, max: hi } => {
                only_values = false;
                count += c;
                sum += s;
                min = min.min(*lo);
                max = max.max(*hi);
            }
        }
    }
    if only_values && values.len() <= KEEP_VALUES {
        Sample::Values(values.into_values().collect())
    } else {
        Sample::Set { count, sum, min, max }
    }
}

impl CloudWatch {
    /// Rolls up and expires every metric's points, and trims alarm history; says how many
    /// points it removed.
    pub fn roll_up(&self, now: Timestamp) -> Result<usize> {
        let now = now.as_millis();
        let metrics: Vec<(Vec<u8>, MetricRecord)> = self.store.read(|tx| nubo_store::scan_json(tx, METRICS, b"", None, usize::MAX))?;
        let mut removed = 0;
        for (key, m) in metrics {
            let mut parts = key.split(|b| *b == 0).map(|p| String::from_utf8_lossy(p).into_owned());
            let (Some(account), Some(region)) = (parts.next(), parts.next()) else { continue };
            let scope = Scope::new(account, region);
            let identity = crate::metrics::identity(&m.namespace, &m.name, &m.dimensions);
            removed += self.roll_up_metric(&scope, &identity, now)?;
        }
        removed += self.trim_history(now)?;
        Ok(removed)
    }

    fn roll_up_metric(&self, scope: &Scope, identity: &str, now: i64) -> Result<usize> {
        self.write(|tx| {
            let mut removed = 0;
            // Expired: everything before the retention.
            let prefix = points_prefix(scope, identity);
            let cutoff = point_key(scope, identity, now - RETAINED, 0);
            for (k, _) in tx.range(POINTS, &prefix, &cutoff, false, usize::MAX)? {
                tx.delete(POINTS, &k)?;
                removed += 1;
            }
            // Coarsest tier first: each covers the ages from its start to the next one's.
            for (i, (age, period)) in TIERS.iter().enumerate().rev() {
                let older = TIERS.get(i + 1).map(|t| t.0).unwrap_or(RETAINED);
                let (lo, hi) = (now - older, now - age);
                let rows = tx.range(POINTS, &point_key(scope, identity, lo.max(0), 0), &point_key(scope, identity, hi.max(0), 0), false, usize::MAX)?;
                let mut groups: BTreeMap<(i64, u8), Vec<(Vec<u8>, i64, Sample)>> = BTreeMap::new();
                for (k, v) in rows {
                    let Some(at) = crate::metrics::parse_time(&k) else { continue };
                    let Some((sample, unit)) = Sample::decode(&v) else { continue };
                    groups.entry((at - at.rem_euclid(*period), unit)).or_default().push((k, at, sample));
                }
                for ((start, unit), points) in groups {
                    if points.len() == 1 && points[0].1 == start {
                        continue;
                    }
                    let merged = merge(&points.iter().map(|(_, _, s)| s.clone()).collect::<Vec<_>>());
                    for (k, _, _) in &points {
                        tx.delete(POINTS, k)?;
                    }
                    removed += points.len() - 1;
                    tx.put(POINTS, &point_key(scope, identity, start, fastrand::u64(..)), &merged.encode(unit))?;
                }
            }
            Ok(removed)
        })
    }

    fn trim_history(&self, now: i64) -> Result<usize> {
        let all: Vec<(Vec<u8>, HistoryRecord)> = self.store.read(|tx| nubo_store::scan_json(tx, HISTORY, b"", None, usize::MAX))?;
        let old: Vec<Vec<u8>> = all.into_iter().filter(|(_, h)| h.timestamp.as_millis() < now - HISTORY_KEPT).map(|(k, _)| k).collect();
        self.write(|tx| {
            for k in &old {
                tx.delete(HISTORY, k)?;
            }
            Ok(old.len())
        })
    }
}

/// Rolls up at start and then every hour of nubo's clock.
pub async fn run(cw: CloudWatch) {
    loop {
        let now = cw.clock.now();
        if let Err(e) = cw.roll_up(now) {
            tracing::warn!("metric rollup failed: {e:?}");
        }
        let next = Timestamp::from_millis(now.as_millis() - now.as_millis().rem_euclid(HOUR) + HOUR);
        cw.clock.sleep_until(next).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nubo_core::Clock;
    use nubo_store::Store;

    #[test]
    fn old_points_roll_up_to_coarser_periods_and_expire() {
        let now = Timestamp::from_millis(1_000 * DAY);
        let cw = CloudWatch::new(Store::in_memory(), Clock::manual(now));
        let scope = Scope::new("000000000000", "us-east-1");
        let id = crate::metrics::identity("App", "Latency", &[]);
        let n = now.as_millis();
        let at = |age: i64, offset: i64| n - age + offset;
        cw.write(|tx| {
            nubo_store::put_json(tx, METRICS, &crate::metrics::metric_key(&scope, &id), &MetricRecord { namespace: "App".into(), name: "Latency".into(), dimensions: vec![], last_put: now })?;
            let mut put = |t: i64, v: f64| tx.put(POINTS, &point_key(&scope, &id, t, fastrand::u64(..)), &Sample::Values(vec![(v, 1.0)]).encode(0));
            // Fresh high-resolution points stay as they are.
            put(at(HOUR, 0), 1.0)?;
            put(at(HOUR, 1_000), 2.0)?;
            // Four hours old: one minute holds both.
            let minute_start = (n - 4 * HOUR) - (n - 4 * HOUR).rem_euclid(MINUTE);
            put(minute_start + 5_000, 3.0)?;
            put(minute_start + 10_000, 5.0)?;
            // Twenty days old: five minutes hold three.
            let five = (n - 20 * DAY) - (n - 20 * DAY).rem_euclid(5 * MINUTE);
            for (i, v) in [1.0, 2.0, 3.0].iter().enumerate() {
                put(five + i as i64 * MINUTE, *v)?;
            }
            // Two years old: gone.
            put(at(730 * DAY, 0), 9.0)?;
            Ok(())
        })
        .unwrap();
        assert_eq!(cw.roll_up(now).unwrap(), 1 + 1 + 2);
        let all = cw.samples(&scope, &id, 0, n + HOUR).unwrap();
        let times: Vec<i64> = all.iter().map(|(t, _, _)| *t).collect();
        let minute_start = (n - 4 * HOUR) - (n - 4 * HOUR).rem_euclid(MINUTE);
        let five = (n - 20 * DAY) - (n - 20 * DAY).rem_euclid(5 * MINUTE);
        assert_eq!(times, vec![five, minute_start, at(HOUR, 0), at(HOUR, 1_000)]);
        assert_eq!(all[1].1, Sample::Values(vec![(3.0, 1.0), (5.0, 1.0)]));
        // A second pass changes nothing.
        assert_eq!(cw.roll_up(now).unwrap(), 0);
    }

    #[test]
    fn many_values_become_a_statistic_set() {
        let samples: Vec<Sample> = (0..200).map(|i| Sample::Values(vec![(i as f64, 1.0)])).collect();
        assert_eq!(merge(&samples), Sample::Set { count: 200.0, sum: 19_900.0, min: 0.0, max: 199.0 });
    }
}
