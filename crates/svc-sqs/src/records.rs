//! What SQS keeps in the store.
//!
//! * `sqs.queues`: `account \0 region \0 name` → [`QueueRecord`];
//! * `sqs.messages`: `account \0 region \0 name \0 <seq>` → [`MessageRecord`], in send order
//!   (FIFO receives walk it);
//! * `sqs.visible`: `account \0 region \0 name \0 <visible-at> \0 <seq>` → `seq`, in the
//!   order messages become receivable (standard receives walk it up to now).
//!
//! A receipt handle names the message's `seq` and the receive that issued it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const QUEUES: &str = "sqs.queues";
pub const MESSAGES: &str = "sqs.messages";
pub const VISIBLE: &str = "sqs.visible";

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueueId {
    pub account: String,
    pub region: String,
    pub name: String,
}

impl QueueId {
    pub fn key(&self) -> Vec<u8> {
        nubo_store::key::key(&[&self.account, &self.region, &self.name])
    }

    pub fn message_key(&self, seq: u64) -> Vec<u8> {
        nubo_store::key::key(&[&self.account, &self.region, &self.name, &format!("{seq:016x}")])
    }

    pub fn visible_key(&self, visible_at_ms: i64, seq: u64) -> Vec<u8> {
        nubo_store::key::key(&[&self.account, &self.region, &self.name, &format!("{:016x}", visible_at_ms.max(0)), &format!("{seq:016x}")])
    }

    pub fn arn(&self) -> String {
        nubo_core::arn::Arn::new("sqs", &self.region, &self.account, self.name.clone()).to_string()
    }

    pub fn is_fifo(&self) -> bool {
        self.name.ends_with(".fifo")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueueRecord {
    pub name: String,
    /// Queue attributes as set (defaults filled in at creation).
    pub attributes: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub created_ms: i64,
    pub modified_ms: i64,
    /// The next message sequence number.
    pub next_seq: u64,
    #[serde(default)]
    pub last_purge_ms: Option<i64>,
    /// FIFO deduplication ids seen in the last five minutes: id → (sent ms, message id, seq).
    #[serde(default)]
    pub dedup: BTreeMap<String, (i64, String, u64)>,
}

impl QueueRecord {
    pub fn attr_i64(&self, name: &str, default: i64) -> i64 {
        self.attributes.get(name).and_then(|v| v.parse().ok()).unwrap_or(default)
    }
}

/// A message attribute as it was sent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Attribute {
    pub data_type: String,
    pub string_value: Option<String>,
    pub binary_value: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessageRecord {
    pub id: String,
    pub seq: u64,
    pub body: String,
    pub md5_of_body: String,
    pub attributes: BTreeMap<String, Attribute>,
    pub md5_of_attributes: Option<String>,
    pub system_attributes: BTreeMap<String, Attribute>,
    pub sent_ms: i64,
    pub visible_at_ms: i64,
    pub receive_count: u32,
    pub first_receive_ms: Option<i64>,
    /// Identifies the latest receive; only its receipt handle may delete the message.
    pub receipt: Option<String>,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
    pub sender: String,
    /// Set when the message came to this queue as a dead letter (its source's ARN).
    #[serde(default)]
    pub dead_letter_source: Option<String>,
}
