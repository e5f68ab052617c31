//! Log streams: create, describe, delete.

use crate::error::{invalid, LogsError, Result};
use crate::groups::{clear, group_arn, group_name, page_limit};
use crate::records::{self, StreamRecord, EVENTS, STREAMS};
use crate::Logs;
use nubo_core::RequestContext;
use nubo_model::generated::logs::*;

fn check_stream_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 512 {
        return invalid(format!(
            "1 validation error detected: Value '{name}' at 'logStreamName' failed to satisfy constraint: Member must have length {}",
            if name.is_empty() { "greater than or equal to 1" } else { "less than or equal to 512" }
        ));
    }
    if name.contains([':', '*']) {
        return invalid(format!(
            "1 validation error detected: Value '{name}' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*"
        ));
    }
    Ok(())
}

/// The upload sequence token after `sequence` events: accepted and ignored on input, as
/// AWS has done since 2023, but still returned for old clients.
pub fn sequence_token(sequence: u64) -> String {
    format!("{sequence:056}")
}

impl Logs {
    pub async fn create_log_stream(&self, ctx: &RequestContext, input: CreateLogStreamRequest) -> Result<()> {
        check_stream_name(&input.log_stream_name)?;
        let stream = StreamRecord {
            name: input.log_stream_name,
            created: self.clock.now().as_millis(),
            first_event: None,
            last_event: None,
            last_ingestion: None,
            sequence: 0,
            stored_bytes: 0,
        };
        self.store.write(|tx| {
            records::group(tx, &ctx.scope, &input.log_group_name)?;
            let k = records::stream_key(&ctx.scope, &input.log_group_name, &stream.name);
            if tx.get(STREAMS, &k)?.is_some() {
                return Err(LogsError::ResourceAlreadyExists("The specified log stream already exists"));
            }
            Ok(nubo_store::put_json(tx, STREAMS, &k, &stream)?)
        })
    }

    pub async fn delete_log_stream(&self, ctx: &RequestContext, input: DeleteLogStreamRequest) -> Result<()> {
        self.store.write(|tx| {
            records::group(tx, &ctx.scope, &input.log_group_name)?;
            records::stream(tx, &ctx.scope, &input.log_group_name, &input.log_stream_name)?;
            let k = records::stream_key(&ctx.scope, &input.log_group_name, &input.log_stream_name);
            clear(tx, EVENTS, &k)?;
            tx.delete(STREAMS, &k)?;
            Ok(())
        })
    }

    pub async fn describe_log_streams(&self, ctx: &RequestContext, input: DescribeLogStreamsRequest) -> Result<DescribeLogStreamsResponse> {
        let group = group_name(input.log_group_name, input.log_group_identifier)?;
        let by_time = match input.order_by.as_deref() {
            None | Some("LogStreamName") => false,
            Some("LastEventTime") => true,
            Some(other) => {
                return invalid(format!(
                    "1 validation error detected: Value '{other}' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]"
                ))
            }
        };
        if by_time && input.log_stream_name_prefix.is_some() {
            return invalid("Cannot order by LastEventTime with a logStreamNamePrefix.");
        }
        let limit = page_limit(input.limit, 50)?;
        let mut streams = self.read(|tx| {
            records::group(tx, &ctx.scope, &group)?;
            records::streams(tx, &ctx.scope, &group)
        })?;
        if let Some(p) = &input.log_stream_name_prefix {
            streams.retain(|s| s.name.starts_with(p.as_str()));
        }
        if by_time {
            streams.sort_by_key(|s| (s.last_event.unwrap_or(s.created), s.name.clone()));
        }
        if input.descending.unwrap_or(false) {
            streams.reverse();
        }
        // The token is the offset of the next stream in this order.
        let start: usize = match &input.next_token {
            None => 0,
            Some(t) => t.parse().map_err(|_| LogsError::InvalidParameter("The specified nextToken is invalid.".into()))?,
        };
        let total = streams.len();
        let arn = group_arn(&ctx.scope, &group);
        let page: Vec<LogStream> = streams
            .into_iter()
            .skip(start)
            .take(limit)
            .map(|s| LogStream {
                arn: Some(format!("{arn}:log-stream:{}", s.name)),
                log_stream_name: Some(s.name),
                creation_time: Some(s.created),
                first_event_timestamp: s.first_event,
                last_event_timestamp: s.last_event,
                last_ingestion_time: s.last_ingestion,
                upload_sequence_token: Some(sequence_token(s.sequence)),
                stored_bytes: Some(s.stored_bytes),
            })
            .collect();
        let next = start + page.len();
        Ok(DescribeLogStreamsResponse { next_token: (next < total).then(|| next.to_string()), log_streams: Some(page) })
    }
}
