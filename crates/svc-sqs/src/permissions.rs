//! `AddPermission` / `RemovePermission`: the older way to grant other accounts access to a
//! queue. Each label is one statement of the queue's `Policy` attribute, which IAM
//! enforces like any queue policy.

use crate::error::{Result, SqsError};
use crate::records::{QueueRecord, QUEUES};
use crate::Sqs;
use nubo_core::RequestContext;
use nubo_store::{get_json, put_json};
use serde_json::{json, Value};

/// The actions `AddPermission` may grant (and `*`).
const ACTIONS: &[&str] = &[
    "*", "SendMessage", "ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility", "GetQueueAttributes", "GetQueueUrl",
    "ListDeadLetterSourceQueues", "PurgeQueue", "ListQueueTags",
];

fn invalid_label(label: &str, reason: &str) -> SqsError {
    SqsError::InvalidParameterValue(format!("Value {label} for parameter Label is invalid. Reason: {reason}."))
}

impl Sqs {
    /// Changes a queue's policy document in one transaction (`None` when it has none).
    fn change_policy(&self, ctx: &RequestContext, url: &str, change: impl FnOnce(Option<Value>, &str) -> Result<Option<Value>>) -> Result<()> {
        let q = self.queue_id(ctx, url)?;
        let arn = q.arn();
        let now = self.clock.now().as_millis();
        self.store.write(|tx| -> Result<()> {
            let mut rec = get_json::<QueueRecord>(tx, QUEUES, &q.key())?.ok_or(SqsError::QueueDoesNotExist)?;
            let current = rec.attributes.get("Policy").and_then(|p| serde_json::from_str(p).ok());
            match change(current, &arn)? {
                Some(doc) => rec.attributes.insert("Policy".into(), doc.to_string()),
                None => rec.attributes.remove("Policy"),
            };
            rec.modified_ms = now;
            put_json(tx, QUEUES, &q.key(), &rec)?;
            Ok(())
        })
    }

    pub(crate) async fn add_permission(&self, ctx: &RequestContext, url: &str, label: &str, accounts: &[String], actions: &[String]) -> Result<()> {
        let label_ok = (1..=80).contains(&label.len()) && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !label_ok {
            return Err(invalid_label(label, "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"));
        }
        if accounts.is_empty() || actions.is_empty() {
            return Err(SqsError::InvalidParameterValue("AWSAccountIds and Actions must each name at least one value.".into()));
        }
        for a in actions {
            if !ACTIONS.contains(&a.as_str()) {
                return Err(SqsError::InvalidParameterValue(format!("Value SQS:{a} for parameter ActionName is invalid. Reason: Only the queue owner is allowed to invoke this action.")));
            }
        }
        let principals: Vec<String> = accounts.iter().map(|a| format!("arn:aws:iam::{a}:root")).collect();
        let sqs_actions: Vec<String> = actions.iter().map(|a| format!("SQS:{a}")).collect();
        self.change_policy(ctx, url, |current, arn| {
            let mut doc = current.unwrap_or_else(|| json!({"Version": "2012-10-17", "Id": format!("{arn}/SQSDefaultPolicy"), "Statement": []}));
            let statements = doc["Statement"].as_array_mut().ok_or_else(|| SqsError::InvalidParameterValue("The queue's policy has no Statement list.".into()))?;
            if statements.iter().any(|s| s["Sid"] == label) {
                return Err(invalid_label(label, "Already exists"));
            }
            statements.push(json!({"Sid": label, "Effect": "Allow", "Principal": {"AWS": principals}, "Action": sqs_actions, "Resource": arn}));
            Ok(Some(doc))
        })
    }

    pub(crate) async fn remove_permission(&self, ctx: &RequestContext, url: &str, label: &str) -> Result<()> {
        self.change_policy(ctx, url, |current, _| {
            let mut doc = current.ok_or_else(|| invalid_label(label, "can't find label"))?;
            let statements = doc["Statement"].as_array_mut().ok_or_else(|| invalid_label(label, "can't find label"))?;
            let before = statements.len();
            statements.retain(|s| s["Sid"] != label);
            if statements.len() == before {
                return Err(invalid_label(label, "can't find label"));
            }
            Ok((!statements.is_empty()).then_some(doc))
        })
    }
}
