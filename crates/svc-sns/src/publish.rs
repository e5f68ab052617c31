//! Publishing: checks, FIFO ordering and deduplication, and fan-out to each confirmed
//! subscription whose filter policy matches. Queues get the SNS envelope (or the raw
//! message); email and SMS go to the outbox; functions and HTTP endpoints await the
//! Lambda issue and an HTTP client.

use crate::error::{Result, SnsError};
use crate::filter::{self, Candidate};
use crate::records::{OutboxEntry, SubscriptionRecord, TopicRecord, TOPICS};
use crate::Sns;
use nubo_core::RequestContext;
use nubo_model::generated::sns::*;
use nubo_store::{get_json, put_json};
use serde_json::{json, Value as Json};
use sha2::Digest;
use std::collections::BTreeMap;

const MAX_MESSAGE: usize = 256 * 1024;
const DEDUP_WINDOW_MS: i64 = 5 * 60 * 1000;

/// A message to publish: from `Publish` or one `PublishBatch` entry.
pub(crate) struct Outgoing {
    pub message: String,
    pub subject: Option<String>,
    pub structure: Option<String>,
    pub attributes: BTreeMap<String, MessageAttributeValue>,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
}

fn check_attributes(attrs: &BTreeMap<String, MessageAttributeValue>) -> Result<()> {
    for (name, a) in attrs {
        let base = a.data_type.split('.').next().unwrap_or("");
        let ok = match a.data_type.as_str() {
            "String.Array" => a.string_value.as_deref().is_some_and(|v| serde_json::from_str::<Vec<Json>>(v).is_ok()),
            _ if base == "String" => a.string_value.is_some(),
            _ if base == "Number" => a.string_value.as_deref().is_some_and(|v| v.trim().parse::<f64>().is_ok()),
            _ if base == "Binary" => a.binary_value.is_some(),
            _ => false,
        };
        if !ok {
            return Err(SnsError::InvalidParameter(format!(
                "Invalid parameter: Message attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String."
            )));
        }
    }
    Ok(())
}

/// The message attribute values a filter policy tests.
fn attribute_lookup(attrs: &BTreeMap<String, MessageAttributeValue>) -> impl Fn(&[String]) -> Option<Vec<Candidate>> + '_ {
    move |path: &[String]| {
        let a = attrs.get(path.first()?)?;
        let v = a.string_value.clone().unwrap_or_default();
        Some(match a.data_type.as_str() {
            "String.Array" => serde_json::from_str::<Vec<Json>>(&v)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|j| match j {
                    Json::String(s) => Some(Candidate::Str(s)),
                    Json::Number(n) => n.as_f64().map(Candidate::Num),
                    _ => None,
                })
                .collect(),
            t if t.starts_with("Number") => v.trim().parse().map(|n| vec![Candidate::Num(n)]).unwrap_or_default(),
            _ => vec![Candidate::Str(v)],
        })
    }
}

fn selected(s: &SubscriptionRecord, m: &Outgoing) -> bool {
    let Some(policy) = s.attributes.get("FilterPolicy").and_then(|p| serde_json::from_str::<Json>(p).ok()) else { return true };
    if s.attributes.get("FilterPolicyScope").map(String::as_str) == Some("MessageBody") {
        let Ok(body) = serde_json::from_str::<Json>(&m.message) else { return false };
        return filter::matches(&policy, &filter::body_lookup(&body));
    }
    filter::matches(&policy, &attribute_lookup(&m.attributes))
}

impl Sns {
    /// The JSON a subscriber receives, signed as SNS signs it.
    fn envelope(&self, ctx: &RequestContext, s: &SubscriptionRecord, id: &str, m: &Outgoing, message: &str, signer: Option<&crate::signing::Signer>, version: &str) -> String {
        let timestamp = self.clock.now().to_iso8601();
        let mut fields: Vec<(&str, &str)> = vec![("Message", message), ("MessageId", id)];
        if let Some(subject) = &m.subject {
            fields.push(("Subject", subject));
        }
        fields.extend([("Timestamp", timestamp.as_str()), ("TopicArn", s.topic_arn.as_str()), ("Type", "Notification")]);
        let signature = signer.map(|k| k.sign(version, &fields)).unwrap_or_default();
        let mut e = json!({
            "Type": "Notification",
            "MessageId": id,
            "TopicArn": s.topic_arn,
            "Message": message,
            "Timestamp": timestamp,
            "SignatureVersion": version,
            "Signature": signature,
            "SigningCertURL": format!("http://{}/_nubo/sns/SimpleNotificationService.pem", ctx.host),
            "UnsubscribeURL": format!("http://{}/?Action=Unsubscribe&SubscriptionArn={}", ctx.host, s.arn),
        });
        if let Some(subject) = &m.subject {
            e["Subject"] = json!(subject);
        }
        if !m.attributes.is_empty() {
            e["MessageAttributes"] = m
                .attributes
                .iter()
                .map(|(k, a)| {
                    let value = a.string_value.clone().unwrap_or_else(|| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, a.binary_value.clone().unwrap_or_default()));
                    (k.clone(), json!({"Type": a.data_type, "Value": value}))
                })
                .collect::<serde_json::Map<_, _>>()
                .into();
        }
        e.to_string()
    }

    /// The message a protocol gets: with `MessageStructure=json`, its own entry or `default`.
    fn message_for(m: &Outgoing, protocol: &str) -> String {
        if m.structure.as_deref() != Some("json") {
            return m.message.clone();
        }
        let doc: Json = serde_json::from_str(&m.message).unwrap_or_default();
        doc.get(protocol).or_else(|| doc.get("default")).and_then(|v| v.as_str()).unwrap_or_default().to_string()
    }

    async fn deliver(&self, ctx: &RequestContext, s: &SubscriptionRecord, id: &str, m: &Outgoing, version: &str, topic_policy: Option<&String>) {
        let message = Self::message_for(m, &s.protocol);
        let raw = s.attributes.get("RawMessageDelivery").map(String::as_str) == Some("true");
        let signer = if raw || !matches!(s.protocol.as_str(), "sqs" | "http" | "https" | "email-json" | "lambda") { None } else { self.signer().await };
        let signer = signer.as_deref();
        let result = match s.protocol.as_str() {
            "sqs" => {
                let (body, attributes) = if raw {
                    let attrs = m.attributes.iter().map(|(k, a)| (k.clone(), a.data_type.clone(), a.string_value.clone().unwrap_or_default())).collect();
                    (message, attrs)
                } else {
                    (self.envelope(ctx, s, id, m, &message, signer, version), Vec::new())
                };
                let dedup = m.group_id.as_ref().map(|_| m.dedup_id.clone().unwrap_or_else(|| hex::encode(sha2::Sha256::digest(m.message.as_bytes()))));
                self.delivery.to_queue(
                    &s.endpoint,
                    crate::QueueMessage { body, attributes, group_id: m.group_id.clone(), deduplication_id: dedup },
                )
            }
            "email" | "email-json" | "sms" => {
                let body = if s.protocol == "email-json" { self.envelope(ctx, s, id, m, &message, signer, version) } else { message };
                self.to_outbox(OutboxEntry {
                    timestamp: self.clock.now().to_iso8601(),
                    protocol: s.protocol.clone(),
                    endpoint: s.endpoint.clone(),
                    topic_arn: s.topic_arn.clone(),
                    subject: m.subject.clone(),
                    message: body,
                })
                .map_err(|e| format!("{e:?}"))
            }
            "http" | "https" => {
                let body = if raw { message } else { self.envelope(ctx, s, id, m, &message, signer, version) };
                let policy = crate::http::RetryPolicy::of(s.attributes.get("DeliveryPolicy").or(topic_policy));
                self.post(&s.endpoint, &s.topic_arn, Some(&s.arn), "Notification", id, body, policy);
                Ok(())
            }
            "lambda" => {
                let event = json!({"Records": [{
                    "EventSource": "aws:sns",
                    "EventVersion": "1.0",
                    "EventSubscriptionArn": s.arn,
                    "Sns": serde_json::from_str::<Json>(&self.envelope(ctx, s, id, m, &message, signer, version)).unwrap_or_default(),
                }]});
                self.delivery.to_function(&s.endpoint, event.to_string())
            }
            other => Err(format!("delivery to {other} endpoints is not available yet")),
        };
        if let Err(e) = result {
            tracing::warn!("SNS delivery to {} ({}) failed: {e}", s.endpoint, s.protocol);
        }
    }

    /// Checks and fans out one message; returns its id and FIFO sequence number.
    pub(crate) async fn publish_one(&self, ctx: &RequestContext, topic_arn: &str, m: Outgoing) -> Result<(String, Option<String>)> {
        if m.message.is_empty() {
            return Err(SnsError::InvalidParameter("Invalid parameter: Empty message".into()));
        }
        if m.message.len() > MAX_MESSAGE {
            return Err(SnsError::InvalidParameter("Invalid parameter: Message too long".into()));
        }
        if let Some(s) = &m.subject {
            if s.is_empty() || s.len() > 100 || s.chars().any(|c| c.is_control()) {
                return Err(SnsError::InvalidParameter("Invalid parameter: Subject".into()));
            }
        }
        if m.structure.as_deref() == Some("json") {
            let doc: Json = serde_json::from_str(&m.message).map_err(|_| SnsError::InvalidParameter("Invalid parameter: Message Structure - JSON message body failed to parse".into()))?;
            if doc.get("default").and_then(|d| d.as_str()).is_none() {
                return Err(SnsError::InvalidParameter("Invalid parameter: Message Structure - No default entry in JSON message body".into()));
            }
        }
        check_attributes(&m.attributes)?;
        let (arn, topic) = self.topic(topic_arn)?;
        let version = topic.attributes.get("SignatureVersion").cloned().unwrap_or_else(|| "1".into());
        let fifo = arn.resource.ends_with(".fifo");
        let now = self.clock.now().as_millis();
        let id = nubo_core::ids::uuid();
        let (id, sequence, duplicate) = if fifo {
            let group = m.group_id.clone().ok_or_else(|| SnsError::InvalidParameter("Invalid parameter: The MessageGroupId parameter is required for FIFO topics".into()))?;
            let _ = group;
            self.store.write(|tx| -> Result<(String, Option<String>, bool)> {
                let key = nubo_store::key::key(&[&arn.account, &arn.region, &arn.resource]);
                let mut t = get_json::<TopicRecord>(tx, TOPICS, &key)?.ok_or(SnsError::NotFound("Topic"))?;
                let dedup = match &m.dedup_id {
                    Some(d) => d.clone(),
                    None if t.attributes.get("ContentBasedDeduplication").map(String::as_str) == Some("true") => hex::encode(sha2::Sha256::digest(m.message.as_bytes())),
                    None => return Err(SnsError::InvalidParameter("Invalid parameter: The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly".into())),
                };
                t.dedup.retain(|_, (at, _)| now - *at < DEDUP_WINDOW_MS);
                if let Some((_, original)) = t.dedup.get(&dedup) {
                    return Ok((original.clone(), Some(format!("{:020}", t.next_seq)), true));
                }
                let seq = t.next_seq;
                t.next_seq += 1;
                t.dedup.insert(dedup, (now, id.clone()));
                put_json(tx, TOPICS, &key, &t)?;
                Ok((id.clone(), Some(format!("{seq:020}")), false))
            })?
        } else {
            (id, None, false)
        };
        if !duplicate {
            for s in self.subscriptions_of(&arn.to_string())?.iter().filter(|s| s.confirmed && selected(s, &m)) {
                self.deliver(ctx, s, &id, &m, &version, topic.attributes.get("DeliveryPolicy")).await;
            }
        }
        Ok((id, sequence))
    }

    /// Publishes on behalf of another service (CloudWatch alarm notifications): the
    /// topic's own account and region publish it. Returns the message id.
    pub async fn notify(&self, topic_arn: &str, subject: &str, message: &str) -> std::result::Result<String, String> {
        let arn = nubo_core::arn::Arn::parse(topic_arn).ok_or_else(|| format!("not a topic ARN: {topic_arn}"))?;
        let mut ctx = RequestContext::for_tests("sns", "Publish");
        ctx.scope = nubo_core::Scope::new(arn.account.clone(), arn.region.clone());
        ctx.principal = nubo_core::Principal::Root { account: arn.account.clone() };
        let m = Outgoing { message: message.to_string(), subject: Some(subject.to_string()), structure: None, attributes: BTreeMap::new(), group_id: None, dedup_id: None };
        self.publish_one(&ctx, topic_arn, m).await.map(|(id, _)| id).map_err(|e| format!("{e:?}"))
    }

    pub(crate) async fn publish(&self, ctx: &RequestContext, input: PublishInput) -> Result<PublishResponse> {
        let m = Outgoing {
            message: input.message,
            subject: input.subject,
            structure: input.message_structure,
            attributes: input.message_attributes.unwrap_or_default(),
            group_id: input.message_group_id,
            dedup_id: input.message_deduplication_id,
        };
        if let Some(phone) = input.phone_number {
            self.to_outbox(OutboxEntry {
                timestamp: self.clock.now().to_iso8601(),
                protocol: "sms".into(),
                endpoint: phone,
                topic_arn: String::new(),
                subject: None,
                message: m.message,
            })?;
            return Ok(PublishResponse { message_id: Some(nubo_core::ids::uuid()), sequence_number: None });
        }
        let topic = input.topic_arn.or(input.target_arn).ok_or_else(|| SnsError::InvalidParameter("Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter".into()))?;
        let (id, sequence_number) = self.publish_one(ctx, &topic, m).await?;
        Ok(PublishResponse { message_id: Some(id), sequence_number })
    }

    pub(crate) async fn publish_batch(&self, ctx: &RequestContext, input: PublishBatchInput) -> Result<PublishBatchResponse> {
        self.topic(&input.topic_arn)?;
        let entries = input.publish_batch_request_entries;
        if entries.is_empty() {
            return Err(SnsError::EmptyBatchRequest);
        }
        if entries.len() > 10 {
            return Err(SnsError::TooManyEntriesInBatchRequest);
        }
        for (i, e) in entries.iter().enumerate() {
            if e.id.is_empty() || e.id.len() > 80 || !e.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return Err(SnsError::InvalidBatchEntryId);
            }
            if entries[..i].iter().any(|x| x.id == e.id) {
                return Err(SnsError::BatchEntryIdsNotDistinct);
            }
        }
        let (mut successful, mut failed) = (Vec::new(), Vec::new());
        for e in entries {
            let m = Outgoing {
                message: e.message,
                subject: e.subject,
                structure: e.message_structure,
                attributes: e.message_attributes.unwrap_or_default(),
                group_id: e.message_group_id,
                dedup_id: e.message_deduplication_id,
            };
            match self.publish_one(ctx, &input.topic_arn, m).await {
                Ok((id, seq)) => successful.push(PublishBatchResultEntry { id: Some(e.id), message_id: Some(id), sequence_number: seq }),
                Err(err) => {
                    let aws: nubo_core::AwsError = err.into();
                    failed.push(BatchResultErrorEntry { id: e.id, code: aws.code.into_owned(), message: Some(aws.message), sender_fault: aws.status < 500 });
                }
            }
        }
        Ok(PublishBatchResponse { successful: Some(successful), failed: Some(failed) })
    }
}
