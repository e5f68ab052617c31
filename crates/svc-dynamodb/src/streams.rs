//! DynamoDB Streams: a record of every change to a table whose stream is enabled,
//! written in the same transaction as the change, read through the Streams API
//! (ListStreams, DescribeStream, GetShardIterator, GetRecords).
//!
//! Each stream has one shard whose sequence numbers count up from 1. A shard iterator
//! is the stream, the shard and the next sequence number to read, so iterators stay
//! valid across restarts. Lambda's event source mappings read the same records.

use crate::error::{validation, DynamoError, Result};
use crate::records::{self, Origin, STREAM};
use crate::schema::TableRecord;
use crate::value::Item;
use crate::wire;
use crate::DynamoDb;
use base64::Engine as _;
use nubo_core::{ids, RequestContext, Timestamp};
use nubo_model::generated::dynamodbstreams::*;
use nubo_model::{FromValue, IntoValue};
use nubo_store::{key::key, WriteTxn};
use serde::{Deserialize, Serialize};

/// A change as the stream keeps it.
#[derive(Serialize, Deserialize)]
struct Stored {
    id: String,
    /// INSERT, MODIFY or REMOVE.
    name: String,
    at: f64,
    keys: serde_json::Value,
    #[serde(default)]
    new: Option<serde_json::Value>,
    #[serde(default)]
    old: Option<serde_json::Value>,
    size: i64,
    #[serde(default)]
    by_ttl: bool,
}

fn prefix(table: &TableRecord, label: &str) -> Vec<u8> {
    key(&[&table.id, label])
}

fn record_key(table: &TableRecord, label: &str, seq: u64) -> Vec<u8> {
    let mut k = prefix(table, label);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn last_sequence(tx: &(impl nubo_store::ReadTxn + ?Sized), table: &TableRecord, label: &str) -> Result<u64> {
    let p = prefix(table, label);
    let last = tx.range(STREAM, &p, &crate::keys::successor(&p), true, 1)?;
    Ok(last.first().and_then(|(k, _)| k[p.len()..].try_into().ok()).map(u64::from_be_bytes).unwrap_or(0))
}

/// Appends the record of a change, if the table has a stream.
pub fn emit(tx: &mut (impl WriteTxn + ?Sized), table: &TableRecord, old: Option<&Item>, new: Option<&Item>, origin: Origin) -> Result<()> {
    let Some(stream) = &table.stream else { return Ok(()) };
    // A write that changes nothing leaves no record (as on AWS).
    if old == new {
        return Ok(());
    }
    let name = match (old, new) {
        (None, Some(_)) => "INSERT",
        (Some(_), Some(_)) => "MODIFY",
        (Some(_), None) => "REMOVE",
        (None, None) => return Ok(()),
    };
    let keys = table.key_of(new.or(old).expect("one side"));
    let view = stream.view_type.as_str();
    let new = new.filter(|_| matches!(view, "NEW_IMAGE" | "NEW_AND_OLD_IMAGES"));
    let old = old.filter(|_| matches!(view, "OLD_IMAGE" | "NEW_AND_OLD_IMAGES"));
    let size = wire::item_size(&keys) + new.map(wire::item_size).unwrap_or(0) + old.map(wire::item_size).unwrap_or(0);
    let record = Stored {
        id: ids::uuid().replace('-', ""),
        name: name.into(),
        at: origin.now,
        keys: wire::item_to_json(&keys),
        new: new.map(wire::item_to_json),
        old: old.map(wire::item_to_json),
        size: size as i64,
        by_ttl: origin.by_ttl,
    };
    let seq = last_sequence(tx, table, &stream.label)? + 1;
    Ok(nubo_store::put_json(tx, STREAM, &record_key(table, &stream.label, seq), &record)?)
}

fn sequence_number(seq: u64) -> String {
    format!("{seq:021}")
}

fn shard_id(table: &TableRecord, label: &str) -> String {
    let digits: String = label.chars().filter(|c| c.is_ascii_digit()).collect();
    format!("shardId-{digits:0>20.20}-{}", &table.id.replace('-', "")[..8])
}

fn not_found<T>(arn: &str) -> Result<T> {
    Err(DynamoError::ResourceNotFound(format!("Requested resource not found: Stream: {arn} not found")))
}

/// A table's value types in the Streams API's own shapes (same wire form).
fn convert(item: &serde_json::Value) -> Option<std::collections::BTreeMap<String, AttributeValue>> {
    let item = wire::item_from_json(item)?;
    item.iter()
        .map(|(k, v)| Some((k.clone(), AttributeValue::from_value(wire::to_wire(v).into_value()).ok()?)))
        .collect()
}

impl DynamoDb {
    /// The table and label a stream ARN names, in the caller's scope.
    fn stream_table(&self, ctx: &RequestContext, arn: &str) -> Result<(TableRecord, String)> {
        let invalid = || DynamoError::Validation(format!("Invalid StreamArn: {arn}"));
        let (scope, resource) = crate::schema::parse_table_arn(arn).ok_or_else(invalid)?;
        let (table, label) = resource.split_once("/stream/").ok_or_else(invalid)?;
        if scope != ctx.scope {
            return not_found(arn);
        }
        match self.read(|tx| records::get_table(tx, &scope, table))? {
            Some(t) if t.stream.as_ref().is_some_and(|s| s.label == label) => Ok((t, label.to_string())),
            _ => not_found(arn),
        }
    }

    pub async fn list_streams(&self, ctx: &RequestContext, input: ListStreamsInput) -> Result<ListStreamsOutput> {
        let limit = match input.limit.unwrap_or(100) {
            l @ 1..=100 => l as usize,
            l => return validation(format!("1 validation error detected: Value '{l}' at 'limit' failed to satisfy constraint: Member must have value {}", if l < 1 { "greater than or equal to 1" } else { "less than or equal to 100" })),
        };
        let tables = self.read(|tx| records::all_tables(tx, &ctx.scope))?;
        let mut streams: Vec<Stream> = tables
            .iter()
            .filter(|t| input.table_name.as_ref().is_none_or(|n| *n == t.name))
            .filter_map(|t| {
                let s = t.stream.as_ref()?;
                Some(Stream { stream_arn: Some(format!("{}/stream/{}", t.arn, s.label)), table_name: Some(t.name.clone()), stream_label: Some(s.label.clone()) })
            })
            .collect();
        if let Some(start) = &input.exclusive_start_stream_arn {
            if let Some(i) = streams.iter().position(|s| s.stream_arn.as_ref() == Some(start)) {
                streams.drain(..=i);
            }
        }
        let more = streams.len() > limit;
        streams.truncate(limit);
        Ok(ListStreamsOutput { last_evaluated_stream_arn: more.then(|| streams.last().and_then(|s| s.stream_arn.clone())).flatten(), streams: Some(streams) })
    }

    pub async fn describe_stream(&self, ctx: &RequestContext, input: DescribeStreamInput) -> Result<DescribeStreamOutput> {
        let (table, label) = self.stream_table(ctx, &input.stream_arn)?;
        let view = table.stream.as_ref().map(|s| s.view_type.clone());
        let key_schema: Vec<KeySchemaElement> = table.key.typed().map(|(attribute_name, key_type)| KeySchemaElement { attribute_name, key_type }).collect();
        Ok(DescribeStreamOutput {
            stream_description: Some(StreamDescription {
                stream_arn: Some(input.stream_arn),
                stream_label: Some(label.clone()),
                stream_status: Some("ENABLED".into()),
                stream_view_type: view,
                creation_request_date_time: Timestamp::parse_iso8601(&format!("{label}Z")),
                table_name: Some(table.name.clone()),
                key_schema: Some(key_schema),
                shards: Some(vec![Shard {
                    shard_id: Some(shard_id(&table, &label)),
                    sequence_number_range: Some(SequenceNumberRange { starting_sequence_number: Some(sequence_number(1)), ending_sequence_number: None }),
                    parent_shard_id: None,
                }]),
                last_evaluated_shard_id: None,
            }),
        })
    }

    pub async fn get_shard_iterator(&self, ctx: &RequestContext, input: GetShardIteratorInput) -> Result<GetShardIteratorOutput> {
        let (table, label) = self.stream_table(ctx, &input.stream_arn)?;
        if input.shard_id != shard_id(&table, &label) {
            return Err(DynamoError::ResourceNotFound("Requested resource not found: Shard does not exist".to_string()));
        }
        let sequence = || -> Result<u64> {
            match input.sequence_number.as_deref().map(str::parse::<u64>) {
                Some(Ok(n)) => Ok(n),
                Some(Err(_)) => validation(format!("Invalid SequenceNumber: {}", input.sequence_number.clone().unwrap_or_default())),
                None => validation(format!("Must specify a sequence number for iterator type {}", input.shard_iterator_type)),
            }
        };
        let next = match input.shard_iterator_type.as_str() {
            "TRIM_HORIZON" => 1,
            "LATEST" => self.read(|tx| last_sequence(tx, &table, &label))? + 1,
            "AT_SEQUENCE_NUMBER" => sequence()?,
            "AFTER_SEQUENCE_NUMBER" => match sequence()?.checked_add(1) {
                Some(n) => n,
                None => return validation(format!("Invalid SequenceNumber: {}", input.sequence_number.clone().unwrap_or_default())),
            },
            other => {
                return validation(format!(
                    "1 validation error detected: Value '{other}' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_SEQUENCE_NUMBER, TRIM_HORIZON]"
                ))
            }
        };
        Ok(GetShardIteratorOutput { shard_iterator: Some(iterator(&input.stream_arn, &input.shard_id, next)) })
    }

    pub async fn get_records(&self, ctx: &RequestContext, input: GetRecordsInput) -> Result<GetRecordsOutput> {
        let limit = input.limit.unwrap_or(1000);
        if !(1..=1000).contains(&limit) {
            return validation(format!("1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value {}", if limit < 1 { "greater than or equal to 1" } else { "less than or equal to 1000" }));
        }
        let Some((arn, shard, next)) = parse_iterator(&input.shard_iterator) else {
            return validation("Invalid ShardIterator");
        };
        let (table, label) = self.stream_table(ctx, &arn)?;
        let p = prefix(&table, &label);
        let entries = self.read(|tx| Ok(tx.range(STREAM, &record_key(&table, &label, next), &crate::keys::successor(&p), false, limit as usize)?))?;
        let region = ctx.scope.region.clone();
        let view = table.stream.as_ref().map(|s| s.view_type.clone());
        let mut last = next.saturating_sub(1);
        let mut out = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            let seq = k[p.len()..].try_into().map(u64::from_be_bytes).unwrap_or(last + 1);
            last = seq;
            let r: Stored = serde_json::from_slice(&v).map_err(|e| DynamoError::Internal(e.to_string()))?;
            out.push(Record {
                event_id: Some(r.id),
                event_name: Some(r.name),
                event_version: Some("1.1".into()),
                event_source: Some("aws:dynamodb".into()),
                aws_region: Some(region.clone()),
                dynamodb: Some(StreamRecord {
                    approximate_creation_date_time: Some(Timestamp::from_secs_f64(r.at.floor())),
                    keys: convert(&r.keys),
                    new_image: r.new.as_ref().and_then(convert),
                    old_image: r.old.as_ref().and_then(convert),
                    sequence_number: Some(sequence_number(seq)),
                    size_bytes: Some(r.size),
                    stream_view_type: view.clone(),
                }),
                user_identity: r.by_ttl.then(|| Identity { principal_id: Some("dynamodb.amazonaws.com".into()), r#type: Some("Service".into()) }),
            });
        }
        Ok(GetRecordsOutput { records: Some(out), next_shard_iterator: Some(iterator(&arn, &shard, last + 1)) })
    }
}

fn iterator(arn: &str, shard: &str, next: u64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{arn}|{shard}|{next}"))
}

fn parse_iterator(it: &str) -> Option<(String, String, u64)> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(it).ok()?;
    let s = String::from_utf8(raw).ok()?;
    let mut parts = s.rsplitn(3, '|');
    let next = parts.next()?.parse().ok()?;
    let shard = parts.next()?.to_string();
    let arn = parts.next()?.to_string();
    Some((arn, shard, next))
}


impl DynamoDb {
    /// Stream records after sequence number `after`, in the shape Lambda gives functions
    /// (`Records[].dynamodb`, creation time in epoch seconds), for event source mappings.
    pub fn stream_records(&self, stream_arn: &str, after: u64, limit: usize) -> std::result::Result<Vec<(u64, serde_json::Value)>, String> {
        let (scope, resource) = crate::schema::parse_table_arn(stream_arn).ok_or_else(|| format!("not a stream ARN: {stream_arn}"))?;
        let (table_name, label) = resource.split_once("/stream/").ok_or_else(|| format!("not a stream ARN: {stream_arn}"))?;
        let table = self.read(|tx| records::get_table(tx, &scope, table_name)).map_err(|e| format!("{e:?}"))?.ok_or("the table does not exist")?;
        let view = table.stream.as_ref().filter(|s| s.label == label).map(|s| s.view_type.clone()).ok_or("the stream does not exist")?;
        let p = prefix(&table, label);
        let entries = self
            .read(|tx| Ok(tx.range(STREAM, &record_key(&table, label, after + 1), &crate::keys::successor(&p), false, limit)?))
            .map_err(|e| format!("{e:?}"))?;
        let mut out = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            let Some(seq) = k[p.len()..].try_into().ok().map(u64::from_be_bytes) else { continue };
            let r: Stored = serde_json::from_slice(&v).map_err(|e| e.to_string())?;
            let mut dynamodb = serde_json::json!({
                "ApproximateCreationDateTime": r.at.floor(),
                "Keys": r.keys,
                "SequenceNumber": sequence_number(seq),
                "SizeBytes": r.size,
                "StreamViewType": view,
            });
            if let Some(n) = r.new {
                dynamodb["NewImage"] = n;
            }
            if let Some(o) = r.old {
                dynamodb["OldImage"] = o;
            }
            out.push((
                seq,
                serde_json::json!({
                    "eventID": r.id,
                    "eventName": r.name,
                    "eventVersion": "1.1",
                    "eventSource": "aws:dynamodb",
                    "awsRegion": scope.region,
                    "dynamodb": dynamodb,
                    "eventSourceARN": stream_arn,
                }),
            ));
        }
        Ok(out)
    }

    /// The last sequence number of a stream (where `LATEST` starts).
    pub fn stream_latest(&self, stream_arn: &str) -> std::result::Result<u64, String> {
        let (scope, resource) = crate::schema::parse_table_arn(stream_arn).ok_or_else(|| format!("not a stream ARN: {stream_arn}"))?;
        let (table_name, label) = resource.split_once("/stream/").ok_or_else(|| format!("not a stream ARN: {stream_arn}"))?;
        let table = self.read(|tx| records::get_table(tx, &scope, table_name)).map_err(|e| format!("{e:?}"))?.ok_or("the table does not exist")?;
        self.read(|tx| last_sequence(tx, &table, label)).map_err(|e| format!("{e:?}"))
    }

    /// Woken whenever a write commits (a stream may have grown).
    pub fn stream_activity(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.stream_activity.clone()
    }
}
