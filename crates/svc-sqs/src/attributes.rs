//! Queue attributes: defaults, validation, and the computed ones.

use crate::error::{Result, SqsError};
use std::collections::BTreeMap;

/// Settable attributes with their valid range (numbers) and default.
const NUMERIC: [(&str, i64, i64, i64); 5] = [
    ("DelaySeconds", 0, 900, 0),
    ("MaximumMessageSize", 1024, 1_048_576, 1_048_576),
    ("MessageRetentionPeriod", 60, 1_209_600, 345_600),
    ("ReceiveMessageWaitTimeSeconds", 0, 20, 0),
    ("VisibilityTimeout", 0, 43_200, 30),
];

const OTHER: [&str; 10] = [
    "Policy",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

/// Computed attributes a client may ask for (with `All`).
pub const COMPUTED: [&str; 6] = [
    "QueueArn",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
];

pub fn defaults(fifo: bool) -> BTreeMap<String, String> {
    let mut a: BTreeMap<String, String> = NUMERIC.iter().map(|(n, _, _, d)| (n.to_string(), d.to_string())).collect();
    a.insert("SqsManagedSseEnabled".into(), "true".into());
    if fifo {
        a.insert("FifoQueue".into(), "true".into());
        a.insert("ContentBasedDeduplication".into(), "false".into());
        a.insert("DeduplicationScope".into(), "queue".into());
        a.insert("FifoThroughputLimit".into(), "perQueue".into());
    }
    a
}

/// Checks attributes a client sets; `creating` allows `FifoQueue`.
pub fn validate(attrs: &BTreeMap<String, String>, fifo: bool, creating: bool) -> Result<()> {
    for (name, value) in attrs {
        if let Some((_, lo, hi, _)) = NUMERIC.iter().find(|(n, ..)| n == name) {
            match value.trim().parse::<i64>() {
                Ok(v) if (*lo..=*hi).contains(&v) => {}
                _ => return Err(SqsError::InvalidAttributeValue(format!("Invalid value for the parameter {name}."))),
            }
            continue;
        }
        if !OTHER.contains(&name.as_str()) {
            return Err(SqsError::InvalidAttributeName(format!("Unknown Attribute {name}.")));
        }
        match name.as_str() {
            "FifoQueue" if !creating => return Err(SqsError::InvalidAttributeName("Unknown Attribute FifoQueue.".into())),
            "FifoQueue" if value != "true" && fifo => return Err(SqsError::InvalidAttributeValue("Invalid value for the parameter FifoQueue.".into())),
            "FifoQueue" if value == "true" && !fifo => {
                return Err(SqsError::InvalidParameterValue("The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.".into()))
            }
            "ContentBasedDeduplication" | "DeduplicationScope" | "FifoThroughputLimit" if !fifo => {
                return Err(SqsError::InvalidAttributeName(format!("Unknown Attribute {name}.")))
            }
            "RedrivePolicy" => {
                let p: serde_json::Value = serde_json::from_str(value).map_err(|_| SqsError::InvalidAttributeValue("Invalid value for the parameter RedrivePolicy. Reason: Redrive policy is not a valid JSON map.".into()))?;
                let max = p.get("maxReceiveCount").and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()));
                if p.get("deadLetterTargetArn").and_then(|v| v.as_str()).is_none() || !max.is_some_and(|m| (1..=1000).contains(&m)) {
                    return Err(SqsError::InvalidAttributeValue(
                        "Invalid value for the parameter RedrivePolicy. Reason: Redrive policy requires deadLetterTargetArn and maxReceiveCount (1 to 1000).".into(),
                    ));
                }
            }
            // A queue policy is enforced by IAM's engine: it must parse as a resource policy.
            "Policy" if !value.is_empty() => {
                if let Err(e) = nubo_iam_policy::Policy::parse(value, nubo_iam_policy::PolicyKind::Resource) {
                    return Err(SqsError::InvalidAttributeValue(format!("Invalid value for the parameter Policy. Reason: {}", e.0)));
                }
            }
            "RedriveAllowPolicy" if serde_json::from_str::<serde_json::Value>(value).is_err() => {
                return Err(SqsError::InvalidAttributeValue(format!("Invalid value for the parameter {name}.")))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Whether a client may name this attribute (to set or to read).
pub fn is_known(name: &str) -> bool {
    NUMERIC.iter().any(|(n, ..)| *n == name) || OTHER.contains(&name) || COMPUTED.contains(&name)
}

/// The dead-letter target and receive limit of a redrive policy.
pub fn redrive(attrs: &BTreeMap<String, String>) -> Option<(String, u32)> {
    let p: serde_json::Value = serde_json::from_str(attrs.get("RedrivePolicy")?).ok()?;
    let arn = p.get("deadLetterTargetArn")?.as_str()?.to_string();
    let max = p.get("maxReceiveCount").and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))?;
    Some((arn, max as u32))
}

/// A queue name: 1–80 of letters, digits, `-` and `_`, plus `.fifo` for FIFO queues.
pub fn valid_name(name: &str) -> bool {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    !base.is_empty() && name.len() <= 80 && base.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn numeric_ranges_and_names_are_checked() {
        assert!(validate(&attrs(&[("VisibilityTimeout", "60")]), false, true).is_ok());
        assert!(matches!(validate(&attrs(&[("VisibilityTimeout", "43201")]), false, true), Err(SqsError::InvalidAttributeValue(_))));
        assert!(matches!(validate(&attrs(&[("Bogus", "1")]), false, true), Err(SqsError::InvalidAttributeName(_))));
        assert!(matches!(validate(&attrs(&[("ContentBasedDeduplication", "true")]), false, true), Err(SqsError::InvalidAttributeName(_))));
        assert!(validate(&attrs(&[("RedrivePolicy", r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:0:d","maxReceiveCount":"3"}"#)]), false, true).is_ok());
        assert!(validate(&attrs(&[("RedrivePolicy", r#"{"maxReceiveCount":3}"#)]), false, true).is_err());
    }

    #[test]
    fn queue_names() {
        assert!(valid_name("orders-1_x"));
        assert!(valid_name("orders.fifo"));
        assert!(!valid_name("bad name"));
        assert!(!valid_name(".fifo"));
        assert!(!valid_name(&"a".repeat(81)));
    }
}
