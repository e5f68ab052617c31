//! Event source mappings: a poller per enabled mapping reads its source and invokes the
//! function with batches.
//!
//! * SQS queues (through the [`QueueSource`] wired to SQS), in Lambda's SQS event shape;
//!   what the function handled is deleted: every message on success, all but the reported
//!   ones with `ReportBatchItemFailures`, none on an error (they come back after their
//!   visibility timeout, and to the queue's DLQ in the end).
//! * DynamoDB streams (through the [`StreamSource`] wired to DynamoDB), in order, from
//!   `TRIM_HORIZON` or `LATEST`; the mapping's checkpoint moves past a batch once the
//!   function succeeded with it, and a failed batch is retried.
//!
//! * `lambda.mappings`: `account / region / uuid` → [`MappingRecord`].

use crate::error::{invalid, LambdaError, Result};
use crate::runtime::Outcome;
use crate::Lambda;
use bytes::Bytes;
use nubo_core::{ids, RequestContext, Scope, Timestamp};
use nubo_model::generated::lambda::*;
use nubo_store::key::key;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;

pub const MAPPINGS: &str = "lambda.mappings";

/// One message as a mapping receives it.
pub struct QueueMessage {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    pub md5_of_body: String,
    pub attributes: BTreeMap<String, String>,
    pub message_attributes: serde_json::Value,
}

pub type PollFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = std::result::Result<Vec<QueueMessage>, String>> + Send + 'a>>;

/// How mappings read queues: SQS, wired by the composition root.
pub trait QueueSource: Send + Sync {
    /// Long-polls up to `max` messages, waiting up to `wait_secs`.
    fn receive<'a>(&'a self, queue_arn: &'a str, max: i32, wait_secs: i32) -> PollFuture<'a>;
    fn delete(&self, queue_arn: &str, receipt_handle: &str) -> std::result::Result<(), String>;
}

/// How mappings read DynamoDB streams: DynamoDB, wired by the composition root.
pub trait StreamSource: Send + Sync {
    /// Records after sequence number `after`, as Lambda's event carries them.
    fn records(&self, stream_arn: &str, after: u64, limit: usize) -> std::result::Result<Vec<(u64, serde_json::Value)>, String>;
    /// The stream's last sequence number.
    fn latest(&self, stream_arn: &str) -> std::result::Result<u64, String>;
    /// Woken when a write may have added records.
    fn activity(&self) -> std::sync::Arc<tokio::sync::Notify>;
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MappingRecord {
    pub uuid: String,
    pub function_arn: String,
    pub source_arn: String,
    pub batch_size: i32,
    pub window_secs: i32,
    pub enabled: bool,
    pub report_failures: bool,
    pub last_modified: Timestamp,
    #[serde(default)]
    pub last_result: Option<String>,
    /// For streams: where the mapping began, and the last sequence number delivered.
    #[serde(default)]
    pub starting_position: Option<String>,
    #[serde(default)]
    pub checkpoint: Option<u64>,
}

impl MappingRecord {
    fn out(&self) -> EventSourceMappingConfiguration {
        EventSourceMappingConfiguration {
            uuid: Some(self.uuid.clone()),
            batch_size: Some(self.batch_size),
            maximum_batching_window_in_seconds: Some(self.window_secs),
            event_source_arn: Some(self.source_arn.clone()),
            function_arn: Some(self.function_arn.clone()),
            last_modified: Some(self.last_modified),
            last_processing_result: Some(self.last_result.clone().unwrap_or_else(|| "No records processed".into())),
            state: Some(if self.enabled { "Enabled" } else { "Disabled" }.into()),
            state_transition_reason: Some("USER_INITIATED".into()),
            function_response_types: Some(if self.report_failures { vec!["ReportBatchItemFailures".into()] } else { Vec::new() }),
            starting_position: self.starting_position.clone(),
            event_source_mapping_arn: Some(format!("{}:event-source-mapping:{}", self.function_arn.split(":function:").next().unwrap_or_default(), self.uuid)),
            ..Default::default()
        }
    }
}

fn mapping_key(scope: &Scope, uuid: &str) -> Vec<u8> {
    key(&[&scope.account, &scope.region, uuid])
}

fn not_found<T>(uuid: &str) -> Result<T> {
    Err(LambdaError::ResourceNotFound(format!("The resource you requested does not exist. (Service: Lambda, Status Code: 404, Request ID: {uuid})")))
}

/// The SQS event Lambda gives a function.
fn sqs_event(source_arn: &str, region: &str, messages: &[QueueMessage]) -> String {
    let records: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": m.message_id,
                "receiptHandle": m.receipt_handle,
                "body": m.body,
                "attributes": m.attributes,
                "messageAttributes": m.message_attributes,
                "md5OfBody": m.md5_of_body,
                "eventSource": "aws:sqs",
                "eventSourceARN": source_arn,
                "awsRegion": region,
            })
        })
        .collect();
    json!({ "Records": records }).to_string()
}

impl Lambda {
    pub async fn create_event_source_mapping(&self, ctx: &RequestContext, input: CreateEventSourceMappingRequest) -> Result<EventSourceMappingConfiguration> {
        let Some(source) = input.event_source_arn.clone() else { return invalid("Unrecognized event source, must be an SQS queue or a DynamoDB stream ARN.") };
        let stream = source.starts_with("arn:aws:dynamodb:") && source.contains("/stream/");
        if !source.starts_with("arn:aws:sqs:") && !stream {
            return invalid(format!("Unrecognized event source {source}: nubo maps SQS queues and DynamoDB streams."));
        }
        let batch = input.batch_size.unwrap_or(if stream { 100 } else { 10 });
        if !(1..=10_000).contains(&batch) {
            return invalid(format!("BatchSize {batch} is out of range: batch sizes are 1 to 10000."));
        }
        let starting_position = if stream {
            match input.starting_position.as_deref() {
                Some(p @ ("TRIM_HORIZON" | "LATEST")) => Some(p.to_string()),
                Some(p) => return invalid(format!("StartingPosition {p} is not supported for DynamoDB streams.")),
                None => return invalid("StartingPosition must be specified for DynamoDB stream event sources."),
            }
        } else {
            None
        };
        let checkpoint = match (starting_position.as_deref(), &self.streams) {
            (Some("LATEST"), Some(streams)) => Some(streams.latest(&source).map_err(LambdaError::InvalidParameterValue)?),
            (Some(_), _) => Some(0),
            _ => None,
        };
        let f = self.function(&ctx.scope, &input.function_name)?;
        let record = MappingRecord {
            uuid: ids::uuid(),
            function_arn: f.arn,
            source_arn: source,
            batch_size: batch,
            window_secs: input.maximum_batching_window_in_seconds.unwrap_or(0),
            enabled: input.enabled.unwrap_or(true),
            report_failures: input.function_response_types.iter().flatten().any(|t| t == "ReportBatchItemFailures"),
            last_modified: self.clock.now(),
            last_result: None,
            starting_position,
            checkpoint,
        };
        self.store.write(|tx| Ok::<_, LambdaError>(nubo_store::put_json(tx, MAPPINGS, &mapping_key(&ctx.scope, &record.uuid), &record)?))?;
        if record.enabled {
            self.start_poller(ctx.scope.clone(), record.uuid.clone());
        }
        let mut out = record.out();
        out.state = Some(if record.enabled { "Creating" } else { "Disabled" }.into());
        Ok(out)
    }

    fn mapping(&self, scope: &Scope, uuid: &str) -> Result<MappingRecord> {
        match self.store.read(|tx| nubo_store::get_json::<MappingRecord>(tx, MAPPINGS, &mapping_key(scope, uuid)))? {
            Some(m) => Ok(m),
            None => not_found(uuid),
        }
    }

    pub async fn get_event_source_mapping(&self, ctx: &RequestContext, input: GetEventSourceMappingRequest) -> Result<EventSourceMappingConfiguration> {
        Ok(self.mapping(&ctx.scope, &input.uuid)?.out())
    }

    pub async fn list_event_source_mappings(&self, ctx: &RequestContext, input: ListEventSourceMappingsRequest) -> Result<ListEventSourceMappingsResponse> {
        let scope = &ctx.scope;
        let function = input.function_name.as_deref().map(crate::functions::function_name);
        let all: Vec<(Vec<u8>, MappingRecord)> = self.store.read(|tx| nubo_store::scan_json(tx, MAPPINGS, &key(&[&scope.account, &scope.region]), None, usize::MAX))?;
        let out = all
            .into_iter()
            .map(|(_, m)| m)
            .filter(|m| input.event_source_arn.as_ref().is_none_or(|a| *a == m.source_arn))
            .filter(|m| function.as_ref().is_none_or(|f| m.function_arn.ends_with(&format!(":function:{f}"))))
            .map(|m| m.out())
            .collect();
        Ok(ListEventSourceMappingsResponse { event_source_mappings: Some(out), next_marker: None })
    }

    pub async fn update_event_source_mapping(&self, ctx: &RequestContext, input: UpdateEventSourceMappingRequest) -> Result<EventSourceMappingConfiguration> {
        let scope = &ctx.scope;
        let function_arn = match &input.function_name {
            Some(f) => Some(self.function(scope, f)?.arn),
            None => None,
        };
        let (record, was_enabled) = self.store.write(|tx| {
            let k = mapping_key(scope, &input.uuid);
            let Some(mut m) = nubo_store::get_json::<MappingRecord>(tx, MAPPINGS, &k)? else { return not_found(&input.uuid) };
            let was = m.enabled;
            if let Some(e) = input.enabled {
                m.enabled = e;
            }
            if let Some(b) = input.batch_size {
                m.batch_size = b;
            }
            if let Some(w) = input.maximum_batching_window_in_seconds {
                m.window_secs = w;
            }
            if let Some(t) = &input.function_response_types {
                m.report_failures = t.iter().any(|t| t == "ReportBatchItemFailures");
            }
            if let Some(f) = &function_arn {
                m.function_arn = f.clone();
            }
            m.last_modified = self.clock.now();
            nubo_store::put_json(tx, MAPPINGS, &k, &m)?;
            Ok((m, was))
        })?;
        if record.enabled && !was_enabled {
            self.start_poller(scope.clone(), record.uuid.clone());
        }
        Ok(record.out())
    }

    pub async fn delete_event_source_mapping(&self, ctx: &RequestContext, input: DeleteEventSourceMappingRequest) -> Result<EventSourceMappingConfiguration> {
        let m = self.mapping(&ctx.scope, &input.uuid)?;
        self.store.write(|tx| Ok::<_, LambdaError>(tx.delete(MAPPINGS, &mapping_key(&ctx.scope, &input.uuid)).map(|_| ())?))?;
        let mut out = m.out();
        out.state = Some("Deleting".into());
        Ok(out)
    }

    /// Starts the pollers of every enabled mapping (when nubo starts).
    pub fn start_mappings(&self) {
        let all: Vec<(Vec<u8>, MappingRecord)> = self.store.read(|tx| nubo_store::scan_json(tx, MAPPINGS, b"", None, usize::MAX)).unwrap_or_default();
        for (k, m) in all.into_iter().filter(|(_, m)| m.enabled) {
            let mut parts = k.split(|b| *b == 0).map(|p| String::from_utf8_lossy(p).into_owned());
            if let (Some(account), Some(region)) = (parts.next(), parts.next()) {
                self.start_poller(Scope::new(account, region), m.uuid);
            }
        }
    }

    fn start_poller(&self, scope: Scope, uuid: String) {
        let is_stream = self.mapping(&scope, &uuid).map(|m| m.checkpoint.is_some()).unwrap_or(false);
        if is_stream {
            return self.start_stream_poller(scope, uuid);
        }
        let Some(queues) = self.queues.clone() else {
            tracing::warn!("event source mapping {uuid}: no queue service wired");
            return;
        };
        let me = self.clone();
        tokio::spawn(async move {
            // Runs while the mapping exists and is enabled.
            while let Ok(m) = me.mapping(&scope, &uuid) {
                if !m.enabled {
                    return;
                }
                let messages = match queues.receive(&m.source_arn, m.batch_size.min(10), 20).await {
                    Ok(batch) if batch.is_empty() => continue,
                    Ok(batch) => batch,
                    Err(e) => {
                        tracing::warn!("event source mapping {uuid}: {e}");
                        let at = Timestamp::from_millis(me.clock.now().as_millis() + 10_000);
                        me.clock.sleep_until(at).await;
                        continue;
                    }
                };
                let result = me.deliver_batch(&scope, &m, &messages, queues.as_ref()).await;
                let _ = me.store.write(|tx| {
                    let k = mapping_key(&scope, &uuid);
                    if let Some(mut current) = nubo_store::get_json::<MappingRecord>(tx, MAPPINGS, &k)? {
                        current.last_result = Some(result.clone());
                        nubo_store::put_json(tx, MAPPINGS, &k, &current)?;
                    }
                    Ok::<_, LambdaError>(())
                });
            }
        });
    }

    fn start_stream_poller(&self, scope: Scope, uuid: String) {
        let Some(streams) = self.streams.clone() else {
            tracing::warn!("event source mapping {uuid}: no stream service wired");
            return;
        };
        let me = self.clone();
        tokio::spawn(async move {
            let activity = streams.activity();
            while let Ok(m) = me.mapping(&scope, &uuid) {
                if !m.enabled {
                    return;
                }
                // Registered before reading, so a write between the read and the wait wakes us.
                let woken = activity.notified();
                tokio::pin!(woken);
                woken.as_mut().enable();
                let after = m.checkpoint.unwrap_or(0);
                let batch = match streams.records(&m.source_arn, after, m.batch_size as usize) {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::warn!("event source mapping {uuid}: {e}");
                        Vec::new()
                    }
                };
                if batch.is_empty() {
                    let at = Timestamp::from_millis(me.clock.now().as_millis() + 5_000);
                    tokio::select! {
                        _ = woken => {}
                        _ = me.clock.sleep_until(at) => {}
                    }
                    continue;
                }
                let last = batch.last().map(|(seq, _)| *seq).unwrap_or(after);
                let event = json!({ "Records": batch.into_iter().map(|(_, r)| r).collect::<Vec<_>>() }).to_string();
                let name = m.function_arn.rsplit(':').next().unwrap_or_default().to_string();
                let ok = match me.function(&scope, &name) {
                    Ok(f) => matches!(me.run(&scope, &f, Bytes::from(event)).await, Ok((ran, _)) if matches!(ran.outcome, Outcome::Response(_))),
                    Err(_) => false,
                };
                let _ = me.store.write(|tx| {
                    let k = mapping_key(&scope, &uuid);
                    if let Some(mut current) = nubo_store::get_json::<MappingRecord>(tx, MAPPINGS, &k)? {
                        if ok {
                            current.checkpoint = Some(last);
                        }
                        current.last_result = Some(if ok { "OK" } else { "PROBLEM: Function call failed" }.into());
                        nubo_store::put_json(tx, MAPPINGS, &k, &current)?;
                    }
                    Ok::<_, LambdaError>(())
                });
                if !ok {
                    // A failed batch is retried, a second of nubo's clock later.
                    let at = Timestamp::from_millis(me.clock.now().as_millis() + 1_000);
                    me.clock.sleep_until(at).await;
                }
            }
        });
    }

    /// Invokes the function with a batch and deletes what it handled; says how it went.
    async fn deliver_batch(&self, scope: &Scope, m: &MappingRecord, messages: &[QueueMessage], queues: &dyn QueueSource) -> String {
        let name = m.function_arn.rsplit(':').next().unwrap_or_default();
        let f = match self.function(scope, name) {
            Ok(f) => f,
            Err(_) => return "PROBLEM: Function not found".into(),
        };
        let event = sqs_event(&m.source_arn, &scope.region, messages);
        let ran = match self.run(scope, &f, Bytes::from(event)).await {
            Ok((ran, _)) => ran,
            Err(e) => return format!("PROBLEM: {e:?}"),
        };
        let failed: Vec<String> = match &ran.outcome {
            Outcome::Response(body) if m.report_failures => serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v.get("batchItemFailures").and_then(|f| f.as_array()).cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|x| x.get("itemIdentifier").and_then(|i| i.as_str()).map(str::to_string))
                .collect(),
            Outcome::Response(_) => Vec::new(),
            _ => return "PROBLEM: Function call failed".into(),
        };
        for msg in messages.iter().filter(|msg| !failed.contains(&msg.message_id)) {
            if let Err(e) = queues.delete(&m.source_arn, &msg.receipt_handle) {
                tracing::warn!("event source mapping {}: delete failed: {e}", m.uuid);
            }
        }
        "OK".into()
    }
}
