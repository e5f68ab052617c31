//! Messages: send (delays, FIFO groups and deduplication), receive (visibility timeouts,
//! long polling on nubo's clock, redrive to a dead-letter queue), delete and visibility
//! changes by receipt handle, and the counts behind `ApproximateNumberOf*`.

use crate::attributes;
use crate::error::{Result, SqsError};
use crate::md5;
use crate::records::{Attribute, MessageRecord, QueueId, QueueRecord, MESSAGES, QUEUES, VISIBLE};
use crate::Sqs;
use base64::Engine;
use nubo_core::{RequestContext, Timestamp};
use nubo_model::generated::sqs::*;
use nubo_store::{get_json, put_json, scan_json, WriteTxn};
use sha2::Digest;
use std::collections::BTreeMap;

const DEDUP_WINDOW_MS: i64 = 5 * 60 * 1000;

fn valid_body_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// A receipt handle: base64 of the message's sequence and the receive that issued it.
fn receipt_handle(seq: u64, receipt: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{seq:016x}:{receipt}"))
}

fn parse_handle(handle: &str) -> Result<(u64, String)> {
    let invalid = || SqsError::ReceiptHandleIsInvalid(handle.to_string());
    let raw = base64::engine::general_purpose::STANDARD.decode(handle).map_err(|_| invalid())?;
    let text = String::from_utf8(raw).map_err(|_| invalid())?;
    let (seq, receipt) = text.split_once(':').ok_or_else(invalid)?;
    Ok((u64::from_str_radix(seq, 16).map_err(|_| invalid())?, receipt.to_string()))
}

fn to_attributes(attrs: Option<BTreeMap<String, MessageAttributeValue>>) -> Result<BTreeMap<String, Attribute>> {
    let attrs = attrs.unwrap_or_default();
    if attrs.len() > 10 {
        return Err(SqsError::InvalidParameterValue("Number of message attributes [11] exceeds the allowed maximum [10].".into()));
    }
    attrs
        .into_iter()
        .map(|(name, v)| {
            let base = v.data_type.split('.').next().unwrap_or("");
            if !matches!(base, "String" | "Number" | "Binary") {
                return Err(SqsError::InvalidParameterValue(format!("The type of message (user) attribute '{name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String.")));
            }
            if base == "Binary" && v.binary_value.is_none() || base != "Binary" && v.string_value.is_none() {
                return Err(SqsError::InvalidParameterValue(format!("The message (user) attribute '{name}' must contain a non-empty message attribute value for message attribute type '{base}'.")));
            }
            Ok((name, Attribute { data_type: v.data_type, string_value: v.string_value, binary_value: v.binary_value.map(|b| b.to_vec()) }))
        })
        .collect()
}

fn attribute_value(a: &Attribute) -> MessageAttributeValue {
    MessageAttributeValue {
        string_value: a.string_value.clone(),
        binary_value: a.binary_value.clone().map(bytes::Bytes::from),
        string_list_values: None,
        binary_list_values: None,
        data_type: a.data_type.clone(),
    }
}

/// A message to send, taken from `SendMessage` or one `SendMessageBatch` entry.
pub(crate) struct Outgoing {
    pub body: String,
    pub delay: Option<i32>,
    pub attributes: Option<BTreeMap<String, MessageAttributeValue>>,
    pub system_attributes: Option<BTreeMap<String, MessageSystemAttributeValue>>,
    pub dedup_id: Option<String>,
    pub group_id: Option<String>,
}

impl Sqs {
    /// Checks a message against its queue and stores it; returns it as stored.
    pub(crate) fn enqueue(&self, tx: &mut dyn WriteTxn, q: &QueueId, m: Outgoing, sender: &str, now: i64) -> Result<MessageRecord> {
        let mut queue = get_json::<QueueRecord>(tx, QUEUES, &q.key())?.ok_or(SqsError::QueueDoesNotExist)?;
        if m.body.is_empty() {
            return Err(SqsError::MissingParameter("MessageBody".into()));
        }
        if !m.body.chars().all(valid_body_char) {
            return Err(SqsError::InvalidMessageContents);
        }
        let attributes = to_attributes(m.attributes)?;
        let system_attributes: BTreeMap<String, Attribute> = m
            .system_attributes
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, Attribute { data_type: v.data_type, string_value: v.string_value, binary_value: v.binary_value.map(|b| b.to_vec()) }))
            .collect();
        let size = m.body.len()
            + attributes.iter().map(|(k, a)| k.len() + a.data_type.len() + a.string_value.as_ref().map_or(0, String::len) + a.binary_value.as_ref().map_or(0, Vec::len)).sum::<usize>();
        let max = queue.attr_i64("MaximumMessageSize", 1_048_576) as usize;
        if size > max {
            return Err(SqsError::InvalidParameterValue(format!("One or more parameters are invalid. Reason: Message must be shorter than {max} bytes.")));
        }
        let fifo = q.is_fifo();
        let delay = match (m.delay, fifo) {
            (Some(d), true) if d != 0 => {
                return Err(SqsError::InvalidParameterValue(
                    "Value 1 for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.".replace('1', &d.to_string()),
                ))
            }
            (Some(d), _) if !(0..=900).contains(&d) => {
                return Err(SqsError::InvalidParameterValue(format!("Value {d} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.")))
            }
            (Some(d), false) => d as i64,
            _ => queue.attr_i64("DelaySeconds", 0),
        };
        let (group_id, dedup_id) = if fifo {
            let group = m.group_id.ok_or_else(|| SqsError::MissingParameter("MessageGroupId".into()))?;
            let dedup = match m.dedup_id {
                Some(d) => d,
                None if queue.attributes.get("ContentBasedDeduplication").map(String::as_str) == Some("true") => {
                    hex::encode(sha2::Sha256::digest(m.body.as_bytes()))
                }
                None => {
                    return Err(SqsError::InvalidParameterValue(
                        "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly".into(),
                    ))
                }
            };
            (Some(group), Some(dedup))
        } else {
            (m.group_id, None)
        };
        queue.dedup.retain(|_, (sent, _, _)| now - *sent < DEDUP_WINDOW_MS);
        // A duplicate within five minutes is accepted and not delivered again.
        if let Some((_, id, seq)) = dedup_id.as_ref().and_then(|d| queue.dedup.get(d)).cloned() {
            if let Some(existing) = get_json::<MessageRecord>(tx, MESSAGES, &q.message_key(seq))? {
                return Ok(existing);
            }
            return Ok(MessageRecord {
                id,
                seq,
                md5_of_body: md5::of_body(&m.body),
                md5_of_attributes: md5::of_attributes(&attributes),
                body: m.body,
                attributes,
                system_attributes,
                sent_ms: now,
                visible_at_ms: now,
                receive_count: 0,
                first_receive_ms: None,
                receipt: None,
                group_id,
                dedup_id,
                sender: sender.to_string(),
                dead_letter_source: None,
            });
        }
        let seq = queue.next_seq;
        queue.next_seq += 1;
        let record = MessageRecord {
            id: nubo_core::ids::uuid(),
            seq,
            md5_of_body: md5::of_body(&m.body),
            md5_of_attributes: md5::of_attributes(&attributes),
            body: m.body,
            attributes,
            system_attributes,
            sent_ms: now,
            visible_at_ms: now + delay * 1000,
            receive_count: 0,
            first_receive_ms: None,
            receipt: None,
            group_id,
            dedup_id: dedup_id.clone(),
            sender: sender.to_string(),
            dead_letter_source: None,
        };
        if let Some(d) = dedup_id {
            queue.dedup.insert(d, (now, record.id.clone(), seq));
        }
        put_json(tx, QUEUES, &q.key(), &queue)?;
        put_json(tx, MESSAGES, &q.message_key(seq), &record)?;
        tx.put(VISIBLE, &q.visible_key(record.visible_at_ms, seq), &seq.to_be_bytes())?;
        Ok(record)
    }

    fn sequence_number(q: &QueueId, m: &MessageRecord) -> Option<String> {
        q.is_fifo().then(|| format!("{:020}", m.seq))
    }

    pub(crate) async fn send_message(&self, ctx: &RequestContext, input: SendMessageRequest) -> Result<SendMessageResult> {
        let q = self.queue_id(ctx, &input.queue_url)?;
        let now = self.clock.now().as_millis();
        let m = Outgoing {
            body: input.message_body,
            delay: input.delay_seconds,
            attributes: input.message_attributes,
            system_attributes: input.message_system_attributes,
            dedup_id: input.message_deduplication_id,
            group_id: input.message_group_id,
        };
        let sender = ctx.principal.user_id();
        let size = m.body.len() as u64;
        let rec = self.store.write(|tx| self.enqueue(tx, &q, m, &sender, now))?;
        self.note(&q, |a| {
            a.sent += 1;
            a.sent_bytes += size;
        });
        self.wake(&q);
        Ok(SendMessageResult {
            md5_of_message_body: Some(rec.md5_of_body.clone()),
            md5_of_message_attributes: rec.md5_of_attributes.clone(),
            md5_of_message_system_attributes: md5::of_attributes(&rec.system_attributes),
            message_id: Some(rec.id.clone()),
            sequence_number: Self::sequence_number(&q, &rec),
        })
    }

    fn check_batch<'a>(ids: impl Iterator<Item = &'a String>) -> Result<()> {
        let ids: Vec<&String> = ids.collect();
        if ids.is_empty() {
            return Err(SqsError::EmptyBatchRequest);
        }
        if ids.len() > 10 {
            return Err(SqsError::TooManyEntriesInBatchRequest);
        }
        for (i, id) in ids.iter().enumerate() {
            if id.is_empty() || id.len() > 80 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return Err(SqsError::InvalidBatchEntryId);
            }
            if ids[..i].contains(id) {
                return Err(SqsError::BatchEntryIdsNotDistinct((*id).clone()));
            }
        }
        Ok(())
    }

    fn failure(id: String, e: SqsError) -> BatchResultErrorEntry {
        let aws: nubo_core::AwsError = e.into();
        BatchResultErrorEntry { id, sender_fault: aws.status < 500, code: aws.code.into_owned(), message: Some(aws.message) }
    }

    pub(crate) async fn send_message_batch(&self, ctx: &RequestContext, input: SendMessageBatchRequest) -> Result<SendMessageBatchResult> {
        let q = self.queue_id(ctx, &input.queue_url)?;
        self.queue(&q)?;
        Self::check_batch(input.entries.iter().map(|e| &e.id))?;
        if input.entries.iter().map(|e| e.message_body.len()).sum::<usize>() > 1_048_576 {
            return Err(SqsError::BatchRequestTooLong);
        }
        let now = self.clock.now().as_millis();
        let sender = ctx.principal.user_id();
        let (mut successful, mut failed) = (Vec::new(), Vec::new());
        for e in input.entries {
            let m = Outgoing {
                body: e.message_body,
                delay: e.delay_seconds,
                attributes: e.message_attributes,
                system_attributes: e.message_system_attributes,
                dedup_id: e.message_deduplication_id,
                group_id: e.message_group_id,
            };
            let size = m.body.len() as u64;
            match self.store.write(|tx| self.enqueue(tx, &q, m, &sender, now)).inspect(|_| {
                self.note(&q, |a| {
                    a.sent += 1;
                    a.sent_bytes += size;
                })
            }) {
                Ok(rec) => successful.push(SendMessageBatchResultEntry {
                    id: e.id,
                    message_id: rec.id.clone(),
                    md5_of_message_body: rec.md5_of_body.clone(),
                    md5_of_message_attributes: rec.md5_of_attributes.clone(),
                    md5_of_message_system_attributes: md5::of_attributes(&rec.system_attributes),
                    sequence_number: Self::sequence_number(&q, &rec),
                }),
                Err(err) => failed.push(Self::failure(e.id, err)),
            }
        }
        self.wake(&q);
        Ok(SendMessageBatchResult { successful, failed })
    }

    /// Moves a message that was received too often to its queue's dead-letter queue.
    fn dead_letter(&self, tx: &mut dyn WriteTxn, from: &QueueId, dlq_arn: &str, mut m: MessageRecord, now: i64) -> Result<()> {
        tx.delete(MESSAGES, &from.message_key(m.seq))?;
        tx.delete(VISIBLE, &from.visible_key(m.visible_at_ms, m.seq))?;
        let Some(dlq) = self.queue_by_arn(dlq_arn) else { return Ok(()) };
        let Some(mut target) = get_json::<QueueRecord>(tx, QUEUES, &dlq.key())? else { return Ok(()) };
        m.seq = target.next_seq;
        target.next_seq += 1;
        m.visible_at_ms = now;
        m.receipt = None;
        m.dead_letter_source = Some(from.arn());
        put_json(tx, QUEUES, &dlq.key(), &target)?;
        put_json(tx, MESSAGES, &dlq.message_key(m.seq), &m)?;
        tx.put(VISIBLE, &dlq.visible_key(m.visible_at_ms, m.seq), &m.seq.to_be_bytes())?;
        Ok(())
    }

    /// Candidates for a receive, in the order they may be delivered: standard queues by
    /// visibility time, FIFO queues by send order with each message group blocked while
    /// one of its messages is in flight.
    fn candidates(tx: &mut dyn WriteTxn, q: &QueueId, now: i64) -> Result<(Vec<MessageRecord>, Option<i64>)> {
        let mut out = Vec::new();
        let mut next_visible = None;
        if q.is_fifo() {
            let mut blocked: Vec<String> = Vec::new();
            for (_, m) in scan_json::<MessageRecord>(tx, MESSAGES, &q.key(), None, usize::MAX)? {
                let group = m.group_id.clone().unwrap_or_default();
                if m.visible_at_ms > now {
                    next_visible = Some(next_visible.map_or(m.visible_at_ms, |n: i64| n.min(m.visible_at_ms)));
                    blocked.push(group);
                } else if !blocked.contains(&group) {
                    out.push(m);
                }
            }
            return Ok((out, next_visible));
        }
        let mut after: Option<Vec<u8>> = None;
        'scan: loop {
            let batch = tx.scan(VISIBLE, &q.key(), after.as_deref(), 256)?;
            if batch.is_empty() {
                break;
            }
            for (k, v) in batch {
                let seq = u64::from_be_bytes(v.as_slice().try_into().unwrap_or_default());
                let at = i64::from_str_radix(std::str::from_utf8(&k[q.key().len()..q.key().len() + 16]).unwrap_or("0"), 16).unwrap_or(0);
                if at > now {
                    next_visible = Some(at);
                    break 'scan;
                }
                if let Some(m) = get_json::<MessageRecord>(tx, MESSAGES, &q.message_key(seq))? {
                    out.push(m);
                }
                if out.len() >= 64 {
                    break 'scan;
                }
                after = Some(k);
            }
        }
        Ok((out, next_visible))
    }

    /// One receive attempt: the messages handed out, and when the next one becomes visible.
    fn try_receive(&self, q: &QueueId, max: usize, visibility: Option<i32>, now: i64) -> Result<(Vec<MessageRecord>, Option<i64>)> {
        // Messages moved to a dead-letter queue wake its long polls once committed.
        let mut dead_lettered: Option<String> = None;
        let out = self.store.write(|tx| -> Result<(Vec<MessageRecord>, Option<i64>)> {
            let queue = get_json::<QueueRecord>(tx, QUEUES, &q.key())?.ok_or(SqsError::QueueDoesNotExist)?;
            let retention_ms = queue.attr_i64("MessageRetentionPeriod", 345_600) * 1000;
            let vt = visibility.map(i64::from).unwrap_or_else(|| queue.attr_i64("VisibilityTimeout", 30));
            let redrive = attributes::redrive(&queue.attributes);
            let (candidates, next_visible) = Self::candidates(tx, q, now)?;
            let mut taken: Vec<MessageRecord> = Vec::new();
            for mut m in candidates {
                if taken.len() >= max {
                    break;
                }
                if m.sent_ms + retention_ms <= now {
                    tx.delete(MESSAGES, &q.message_key(m.seq))?;
                    tx.delete(VISIBLE, &q.visible_key(m.visible_at_ms, m.seq))?;
                    continue;
                }
                if let Some((arn, max_receives)) = &redrive {
                    if m.receive_count >= *max_receives {
                        self.dead_letter(tx, q, arn, m, now)?;
                        dead_lettered = Some(arn.clone());
                        continue;
                    }
                }
                tx.delete(VISIBLE, &q.visible_key(m.visible_at_ms, m.seq))?;
                m.receive_count += 1;
                m.first_receive_ms.get_or_insert(now);
                m.visible_at_ms = now + vt * 1000;
                m.receipt = Some(nubo_core::ids::random_string(nubo_core::ids::ALNUM, 24));
                put_json(tx, MESSAGES, &q.message_key(m.seq), &m)?;
                tx.put(VISIBLE, &q.visible_key(m.visible_at_ms, m.seq), &m.seq.to_be_bytes())?;
                taken.push(m);
            }
            Ok((taken, next_visible))
        })?;
        if let Some(dlq) = dead_lettered.and_then(|arn| self.queue_by_arn(&arn)) {
            self.wake(&dlq);
        }
        Ok(out)
    }

    pub(crate) async fn receive_message(&self, ctx: &RequestContext, input: ReceiveMessageRequest) -> Result<ReceiveMessageResult> {
        let q = self.queue_id(ctx, &input.queue_url)?;
        let queue = self.queue(&q)?;
        let max = input.max_number_of_messages.unwrap_or(1);
        if !(1..=10).contains(&max) {
            return Err(SqsError::InvalidParameterValue(format!(
                "Value {max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."
            )));
        }
        if let Some(v) = input.visibility_timeout.filter(|v| !(0..=43_200).contains(v)) {
            return Err(SqsError::InvalidParameterValue(format!("Value {v} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided.")));
        }
        let wait = input.wait_time_seconds.map(i64::from).unwrap_or_else(|| queue.attr_i64("ReceiveMessageWaitTimeSeconds", 0));
        if !(0..=20).contains(&wait) {
            return Err(SqsError::InvalidParameterValue(format!("Value {wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.")));
        }
        let deadline = self.clock.now().as_millis() + wait * 1000;
        // Long polling: answer as soon as a message is there, waking on sends and on the
        // moment the next message becomes visible, never later than the wait time.
        let messages = loop {
            let waker = self.waker(&q);
            let sent = waker.notified();
            tokio::pin!(sent);
            sent.as_mut().enable();
            let now = self.clock.now().as_millis();
            let (taken, next_visible) = self.try_receive(&q, max as usize, input.visibility_timeout, now)?;
            if !taken.is_empty() || now >= deadline {
                break taken;
            }
            let wake_at = next_visible.map_or(deadline, |n| n.min(deadline));
            tokio::select! {
                _ = self.clock.sleep_until(Timestamp::from_millis(wake_at)) => {}
                _ = sent => {}
            }
        };
        let mut names: Vec<String> = input.attribute_names.unwrap_or_default();
        names.extend(input.message_system_attribute_names.unwrap_or_default());
        let all_attrs = names.iter().any(|n| n == "All");
        let wanted = input.message_attribute_names.unwrap_or_default();
        let all_user = wanted.iter().any(|n| n == "All" || n == ".*");
        let out = messages
            .into_iter()
            .map(|m| {
                let mut system = BTreeMap::new();
                let want = |n: &str| all_attrs || names.iter().any(|x| x == n);
                let put = |sys: &mut BTreeMap<String, String>, n: &str, v: String| {
                    if want(n) {
                        sys.insert(n.to_string(), v);
                    }
                };
                put(&mut system, "SenderId", m.sender.clone());
                put(&mut system, "SentTimestamp", m.sent_ms.to_string());
                put(&mut system, "ApproximateReceiveCount", m.receive_count.to_string());
                put(&mut system, "ApproximateFirstReceiveTimestamp", m.first_receive_ms.unwrap_or(m.sent_ms).to_string());
                if let Some(g) = &m.group_id {
                    put(&mut system, "MessageGroupId", g.clone());
                }
                if let Some(d) = &m.dedup_id {
                    put(&mut system, "MessageDeduplicationId", d.clone());
                }
                if q.is_fifo() {
                    put(&mut system, "SequenceNumber", format!("{:020}", m.seq));
                }
                if let Some(src) = &m.dead_letter_source {
                    put(&mut system, "DeadLetterQueueSourceArn", src.clone());
                }
                if let Some(trace) = m.system_attributes.get("AWSTraceHeader").and_then(|a| a.string_value.clone()) {
                    put(&mut system, "AWSTraceHeader", trace);
                }
                let chosen: BTreeMap<String, Attribute> = m
                    .attributes
                    .iter()
                    .filter(|(k, _)| all_user || wanted.iter().any(|w| w == *k || w.strip_suffix(".*").is_some_and(|p| k.starts_with(p))))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                Message {
                    message_id: Some(m.id.clone()),
                    receipt_handle: Some(receipt_handle(m.seq, m.receipt.as_deref().unwrap_or(""))),
                    md5_of_body: Some(m.md5_of_body.clone()),
                    body: Some(m.body.clone()),
                    attributes: (!system.is_empty()).then_some(system),
                    md5_of_message_attributes: md5::of_attributes(&chosen),
                    message_attributes: (!chosen.is_empty()).then(|| chosen.iter().map(|(k, a)| (k.clone(), attribute_value(a))).collect()),
                }
            })
            .collect::<Vec<_>>();
        let got = out.len() as u64;
        self.note(&q, |a| if got == 0 { a.empty_receives += 1 } else { a.received += got });
        Ok(ReceiveMessageResult { messages: (!out.is_empty()).then_some(out) })
    }

    /// Deletes by receipt handle. A stale handle (the message was received again since)
    /// succeeds without deleting, as SQS does.
    pub(crate) fn delete_by_handle(&self, q: &QueueId, handle: &str) -> Result<()> {
        let (seq, receipt) = parse_handle(handle)?;
        self.store.write(|tx| -> Result<()> {
            get_json::<QueueRecord>(tx, QUEUES, &q.key())?.ok_or(SqsError::QueueDoesNotExist)?;
            if let Some(m) = get_json::<MessageRecord>(tx, MESSAGES, &q.message_key(seq))? {
                if m.receipt.as_deref() == Some(receipt.as_str()) {
                    tx.delete(MESSAGES, &q.message_key(seq))?;
                    tx.delete(VISIBLE, &q.visible_key(m.visible_at_ms, seq))?;
                }
            }
            Ok(())
        })
    }

    pub(crate) async fn delete_message(&self, ctx: &RequestContext, input: DeleteMessageRequest) -> Result<()> {
        let q = self.queue_id(ctx, &input.queue_url)?;
        self.delete_by_handle(&q, &input.receipt_handle)?;
        self.note(&q, |a| a.deleted += 1);
        self.wake(&q);
        Ok(())
    }

    pub(crate) async fn delete_message_batch(&self, ctx: &RequestContext, input: DeleteMessageBatchRequest) -> Result<DeleteMessageBatchResult> {
        let q = self.queue_id(ctx, &input.queue_url)?;
        self.queue(&q)?;
        Self::check_batch(input.entries.iter().map(|e| &e.id))?;
        let (mut successful, mut failed) = (Vec::new(), Vec::new());
        for e in input.entries {
            match self.delete_by_handle(&q, &e.receipt_handle) {
                Ok(()) => successful.push(DeleteMessageBatchResultEntry { id: e.id }),
                Err(err) => failed.push(Self::failure(e.id, err)),
            }
        }
        let deleted = successful.len() as u64;
        self.note(&q, |a| a.deleted += deleted);
        self.wake(&q);
        Ok(DeleteMessageBatchResult { successful, failed })
    }

    fn change_visibility(&self, q: &QueueId, handle: &str, timeout: i32) -> Result<()> {
        if !(0..=43_200).contains(&timeout) {
            return Err(SqsError::InvalidParameterValue(format!(
                "Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200."
            )));
        }
        let (seq, receipt) = parse_handle(handle)?;
        let now = self.clock.now().as_millis();
        self.store.write(|tx| -> Result<()> {
            get_json::<QueueRecord>(tx, QUEUES, &q.key())?.ok_or(SqsError::QueueDoesNotExist)?;
            let mut m = get_json::<MessageRecord>(tx, MESSAGES, &q.message_key(seq))?.ok_or(SqsError::MessageNotInflight)?;
            if m.receipt.as_deref() != Some(receipt.as_str()) || m.visible_at_ms <= now {
                return Err(SqsError::MessageNotInflight);
            }
            tx.delete(VISIBLE, &q.visible_key(m.visible_at_ms, seq))?;
            m.visible_at_ms = now + timeout as i64 * 1000;
            put_json(tx, MESSAGES, &q.message_key(seq), &m)?;
            tx.put(VISIBLE, &q.visible_key(m.visible_at_ms, seq), &seq.to_be_bytes())?;
            Ok(())
        })
    }

    pub(crate) async fn change_message_visibility(&self, ctx: &RequestContext, input: ChangeMessageVisibilityRequest) -> Result<()> {
        let q = self.queue_id(ctx, &input.queue_url)?;
        self.change_visibility(&q, &input.receipt_handle, input.visibility_timeout)?;
        self.wake(&q);
        Ok(())
    }

    pub(crate) async fn change_message_visibility_batch(&self, ctx: &RequestContext, input: ChangeMessageVisibilityBatchRequest) -> Result<ChangeMessageVisibilityBatchResult> {
        let q = self.queue_id(ctx, &input.queue_url)?;
        self.queue(&q)?;
        Self::check_batch(input.entries.iter().map(|e| &e.id))?;
        let (mut successful, mut failed) = (Vec::new(), Vec::new());
        for e in input.entries {
            match self.change_visibility(&q, &e.receipt_handle, e.visibility_timeout.unwrap_or(0)) {
                Ok(()) => successful.push(ChangeMessageVisibilityBatchResultEntry { id: e.id }),
                Err(err) => failed.push(Self::failure(e.id, err)),
            }
        }
        self.wake(&q);
        Ok(ChangeMessageVisibilityBatchResult { successful, failed })
    }

    /// (visible, in flight, delayed) message counts; messages past the retention period
    /// are gone (they are dropped when a receive meets them).
    pub(crate) fn counts(&self, q: &QueueId) -> Result<(usize, usize, usize)> {
        let now = self.clock.now().as_millis();
        let retention_ms = self.queue(q)?.attr_i64("MessageRetentionPeriod", 345_600) * 1000;
        let all = self.store.read(|tx| scan_json::<MessageRecord>(tx, MESSAGES, &q.key(), None, usize::MAX))?;
        let (mut visible, mut in_flight, mut delayed) = (0, 0, 0);
        for (_, m) in all.into_iter().filter(|(_, m)| m.sent_ms + retention_ms > now) {
            match (m.visible_at_ms <= now, m.receive_count > 0) {
                (true, _) => visible += 1,
                (false, true) => in_flight += 1,
                (false, false) => delayed += 1,
            }
        }
        Ok((visible, in_flight, delayed))
    }
}
