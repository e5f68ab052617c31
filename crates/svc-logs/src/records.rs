//! Where CloudWatch Logs keeps things.
//!
//! * `logs_groups`: `account / region / group` → [`GroupRecord`].
//! * `logs_streams`: `account / region / group / stream` → [`StreamRecord`].
//! * `logs_events`: `account / region / group / stream /` + timestamp (8 bytes, order-
//!   preserving) + sequence (8 bytes) → [`EventRecord`]: a stream's events in time order,
//!   so a time range is one range read and retention deletes a prefix.
//! * `logs_metric_filters`: `account / region / group / filter` → [`MetricFilterRecord`].

use crate::error::{Result, NO_GROUP, NO_STREAM};
use nubo_core::Scope;
use nubo_store::{key::key, ReadTxn};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const GROUPS: &str = "logs_groups";
pub const STREAMS: &str = "logs_streams";
pub const EVENTS: &str = "logs_events";
pub const METRIC_FILTERS: &str = "logs_metric_filters";

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct GroupRecord {
    pub name: String,
    /// Milliseconds since the epoch, as the API reports times.
    pub created: i64,
    #[serde(default)]
    pub retention_days: Option<i32>,
    #[serde(default)]
    pub kms_key_id: Option<String>,
    #[serde(default)]
    pub class: Option<String>,
    #[serde(default)]
    pub deletion_protection: bool,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct StreamRecord {
    pub name: String,
    pub created: i64,
    #[serde(default)]
    pub first_event: Option<i64>,
    #[serde(default)]
    pub last_event: Option<i64>,
    #[serde(default)]
    pub last_ingestion: Option<i64>,
    /// Events put so far: the next event's sequence number, and the upload token.
    #[serde(default)]
    pub sequence: u64,
    #[serde(default)]
    pub stored_bytes: i64,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct EventRecord {
    #[serde(rename = "m")]
    pub message: String,
    #[serde(rename = "i")]
    pub ingestion: i64,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct MetricFilterRecord {
    pub name: String,
    pub pattern: String,
    pub transformations: Vec<Transformation>,
    pub created: i64,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Transformation {
    pub metric_name: String,
    pub namespace: String,
    pub value: String,
    #[serde(default)]
    pub default_value: Option<f64>,
    #[serde(default)]
    pub dimensions: BTreeMap<String, String>,
    #[serde(default)]
    pub unit: Option<String>,
}

pub fn group_key(scope: &Scope, group: &str) -> Vec<u8> {
    key(&[&scope.account, &scope.region, group])
}

pub fn stream_key(scope: &Scope, group: &str, stream: &str) -> Vec<u8> {
    key(&[&scope.account, &scope.region, group, stream])
}

/// The position of an event in its stream's order.
pub fn event_key(stream_key: &[u8], timestamp: i64, sequence: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(stream_key.len() + 16);
    k.extend_from_slice(stream_key);
    k.extend_from_slice(&ordered(timestamp));
    k.extend_from_slice(&sequence.to_be_bytes());
    k
}

/// Timestamps sort as signed numbers: flip the sign bit.
pub fn ordered(timestamp: i64) -> [u8; 8] {
    ((timestamp as u64) ^ (1 << 63)).to_be_bytes()
}

/// Reads back a position from an event key (the 16 bytes after the stream's key).
pub fn position(stream_key: &[u8], event_key: &[u8]) -> Option<(i64, u64)> {
    let rest = event_key.get(stream_key.len()..)?;
    let ts = u64::from_be_bytes(rest.get(..8)?.try_into().ok()?) ^ (1 << 63);
    let seq = u64::from_be_bytes(rest.get(8..16)?.try_into().ok()?);
    Some((ts as i64, seq))
}

pub fn group(tx: &(impl ReadTxn + ?Sized), scope: &Scope, name: &str) -> Result<GroupRecord> {
    nubo_store::get_json(tx, GROUPS, &group_key(scope, name))?.ok_or(NO_GROUP)
}

pub fn stream(tx: &(impl ReadTxn + ?Sized), scope: &Scope, group: &str, name: &str) -> Result<StreamRecord> {
    nubo_store::get_json(tx, STREAMS, &stream_key(scope, group, name))?.ok_or(NO_STREAM)
}

pub fn streams(tx: &(impl ReadTxn + ?Sized), scope: &Scope, group: &str) -> Result<Vec<StreamRecord>> {
    Ok(nubo_store::scan_json(tx, STREAMS, &group_key(scope, group), None, usize::MAX)?.into_iter().map(|(_, s)| s).collect())
}

pub fn metric_filters(tx: &(impl ReadTxn + ?Sized), scope: &Scope, group: &str) -> Result<Vec<MetricFilterRecord>> {
    Ok(nubo_store::scan_json(tx, METRIC_FILTERS, &group_key(scope, group), None, usize::MAX)?.into_iter().map(|(_, f)| f).collect())
}

/// The smallest key after every key that starts with `prefix`.
pub fn successor(prefix: &[u8]) -> Vec<u8> {
    let mut s = prefix.to_vec();
    while let Some(last) = s.pop() {
        if last < 0xFF {
            s.push(last + 1);
            return s;
        }
    }
    vec![0xFF; prefix.len() + 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_sort_by_time_then_sequence_and_read_back() {
        let s = key(&["a", "r", "g", "s"]);
        let keys = [event_key(&s, -5, 9), event_key(&s, 0, 1), event_key(&s, 0, 2), event_key(&s, 1_700_000_000_000, 0)];
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(position(&s, &keys[0]), Some((-5, 9)));
    }
}
