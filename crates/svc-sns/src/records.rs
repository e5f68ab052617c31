//! What SNS keeps: topics (`account \0 region \0 name`), subscriptions (by id, and
//! indexed by topic), and the outbox of deliveries nubo does not send anywhere (email,
//! SMS), readable at `/_nubo/sns/outbox`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const TOPICS: &str = "sns.topics";
pub const SUBSCRIPTIONS: &str = "sns.subscriptions";
pub const BY_TOPIC: &str = "sns.subscriptions-by-topic";
pub const OUTBOX: &str = "sns.outbox";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TopicRecord {
    pub arn: String,
    pub attributes: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    /// FIFO deduplication ids seen in the last five minutes: id → (ms, message id).
    #[serde(default)]
    pub dedup: BTreeMap<String, (i64, String)>,
    #[serde(default)]
    pub next_seq: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubscriptionRecord {
    pub arn: String,
    pub topic_arn: String,
    pub protocol: String,
    pub endpoint: String,
    pub owner: String,
    pub attributes: BTreeMap<String, String>,
    pub confirmed: bool,
    /// The token a `ConfirmSubscription` must present.
    pub token: String,
}

/// A delivery kept for the user to read instead of being sent (email, SMS, and
/// confirmation requests nubo cannot send).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub timestamp: String,
    pub protocol: String,
    pub endpoint: String,
    pub topic_arn: String,
    pub subject: Option<String>,
    pub message: String,
}
