//! Dead-letter redrive: who may send dead letters to a queue (`RedriveAllowPolicy`), and
//! message move tasks that take dead letters back to their source (or elsewhere).
//!
//! A move task runs to completion when started (nubo's queues are local and small), so it
//! is listed as `COMPLETED` with the count it moved; `MaxNumberOfMessagesPerSecond` is kept
//! but not applied.

use crate::attributes;
use crate::error::{Result, SqsError};
use crate::messages::Outgoing;
use crate::records::{MessageRecord, QueueId, QueueRecord, MESSAGES, QUEUES, VISIBLE};
use crate::Sqs;
use base64::Engine;
use nubo_model::generated::sqs::*;
use nubo_store::{put_json, scan_json};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const TASKS: &str = "sqs.move-tasks";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TaskRecord {
    handle: String,
    status: String,
    source_arn: String,
    destination_arn: Option<String>,
    rate: Option<i32>,
    moved: i64,
    to_move: i64,
    started_ms: i64,
}

impl Sqs {
    /// A source may name `dlq` as its dead-letter target only if the DLQ exists, is of the
    /// same kind, and its `RedriveAllowPolicy` lets the source in.
    pub(crate) fn check_redrive(&self, source: &QueueId, attrs: &BTreeMap<String, String>) -> Result<()> {
        let Some((dlq_arn, _)) = attributes::redrive(attrs) else { return Ok(()) };
        let invalid = |reason: &str| SqsError::InvalidParameterValue(format!("Value {} for parameter RedrivePolicy is invalid. Reason: {reason}", attrs["RedrivePolicy"]));
        let dlq = self.queue_by_arn(&dlq_arn).ok_or_else(|| invalid("Dead-letter target does not exist."))?;
        let record = self.queue(&dlq).map_err(|_| invalid("Dead-letter target does not exist."))?;
        if dlq.is_fifo() != source.is_fifo() {
            return Err(invalid("Dead-letter queue must be of the same type as the source queue."));
        }
        if let Some(policy) = record.attributes.get("RedriveAllowPolicy").and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok()) {
            let allowed = match policy.get("redrivePermission").and_then(|v| v.as_str()) {
                Some("denyAll") => false,
                Some("byQueue") => policy
                    .get("sourceQueueArns")
                    .and_then(|v| v.as_array())
                    .is_some_and(|arns| arns.iter().any(|a| a.as_str() == Some(&source.arn()))),
                _ => true,
            };
            if !allowed {
                return Err(invalid(&format!("Queue {} does not allow redrive from this source.", dlq.arn())));
            }
        }
        Ok(())
    }

    pub(crate) async fn start_message_move_task(&self, input: StartMessageMoveTaskRequest) -> Result<StartMessageMoveTaskResult> {
        let source = self.queue_by_arn(&input.source_arn).ok_or(SqsError::QueueDoesNotExist)?;
        self.queue(&source)?;
        if self.dead_letter_sources(&source)?.is_empty() {
            return Err(SqsError::InvalidParameterValue("Source queue must be configured as a Dead Letter Queue.".into()));
        }
        if let Some(dest) = &input.destination_arn {
            self.queue(&self.queue_by_arn(dest).ok_or(SqsError::QueueDoesNotExist)?)?;
        }
        let now = self.clock.now().as_millis();
        let handle = base64::engine::general_purpose::STANDARD.encode(format!("{}|{}", input.source_arn, nubo_core::ids::uuid()));
        let messages = self.store.read(|tx| scan_json::<MessageRecord>(tx, MESSAGES, &source.key(), None, usize::MAX))?;
        let to_move = messages.len() as i64;
        let mut moved = 0;
        for (_, m) in messages {
            let target = input.destination_arn.clone().or(m.dead_letter_source.clone());
            let Some(target) = target.and_then(|t| self.queue_by_arn(&t)) else { continue };
            let attributes = (!m.attributes.is_empty()).then(|| {
                m.attributes
                    .iter()
                    .map(|(k, a)| {
                        let v = MessageAttributeValue {
                            string_value: a.string_value.clone(),
                            binary_value: a.binary_value.clone().map(bytes::Bytes::from),
                            data_type: a.data_type.clone(),
                            ..Default::default()
                        };
                        (k.clone(), v)
                    })
                    .collect()
            });
            let out = Outgoing { body: m.body.clone(), delay: None, attributes, system_attributes: None, dedup_id: m.dedup_id.clone(), group_id: m.group_id.clone() };
            let done = self.store.write(|tx| -> Result<()> {
                self.enqueue(tx, &target, out, &m.sender, now)?;
                tx.delete(MESSAGES, &source.message_key(m.seq))?;
                tx.delete(VISIBLE, &source.visible_key(m.visible_at_ms, m.seq))?;
                Ok(())
            });
            if done.is_ok() {
                moved += 1;
                self.wake(&target);
            }
        }
        let task = TaskRecord {
            handle: handle.clone(),
            status: "COMPLETED".into(),
            source_arn: input.source_arn.clone(),
            destination_arn: input.destination_arn,
            rate: input.max_number_of_messages_per_second,
            moved,
            to_move,
            started_ms: now,
        };
        let key = nubo_store::key::key(&[&input.source_arn, &format!("{:016x}", u64::MAX - now as u64), &handle]);
        self.store.write(|tx| put_json(tx, TASKS, &key, &task))?;
        Ok(StartMessageMoveTaskResult { task_handle: Some(handle) })
    }

    pub(crate) async fn list_message_move_tasks(&self, input: ListMessageMoveTasksRequest) -> Result<ListMessageMoveTasksResult> {
        let max = input.max_results.unwrap_or(1).clamp(1, 10) as usize;
        let tasks = self.store.read(|tx| scan_json::<TaskRecord>(tx, TASKS, &nubo_store::key::key(&[&input.source_arn]), None, max))?;
        let results = tasks
            .into_iter()
            .map(|(_, t)| ListMessageMoveTasksResultEntry {
                task_handle: (t.status == "RUNNING").then_some(t.handle),
                status: Some(t.status),
                source_arn: Some(t.source_arn),
                destination_arn: t.destination_arn,
                max_number_of_messages_per_second: t.rate,
                approximate_number_of_messages_moved: Some(t.moved),
                approximate_number_of_messages_to_move: Some(t.to_move),
                failure_reason: None,
                started_timestamp: Some(t.started_ms),
            })
            .collect();
        Ok(ListMessageMoveTasksResult { results: Some(results) })
    }

    /// Tasks complete as they start, so there is never one left to cancel.
    pub(crate) async fn cancel_message_move_task(&self, input: CancelMessageMoveTaskRequest) -> Result<CancelMessageMoveTaskResult> {
        let _ = input;
        Err(SqsError::UnsupportedOperation("Only active (non-completed) message movement tasks can be cancelled.".into()))
    }

    /// Queues whose redrive policy names `dlq`.
    pub(crate) fn dead_letter_sources(&self, dlq: &QueueId) -> Result<Vec<String>> {
        let prefix = QueueId { account: dlq.account.clone(), region: dlq.region.clone(), name: String::new() }.key();
        let arn = dlq.arn();
        let all = self.store.read(|tx| scan_json::<QueueRecord>(tx, QUEUES, &prefix[..prefix.len() - 1], None, usize::MAX))?;
        Ok(all.into_iter().filter(|(_, r)| attributes::redrive(&r.attributes).is_some_and(|(t, _)| t == arn)).map(|(_, r)| r.name).collect())
    }
}
