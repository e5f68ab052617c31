//! Log events: PutLogEvents, GetLogEvents and FilterLogEvents.
//!
//! Events are stored per stream in time order (see [`crate::records`]), so every read is
//! a range of keys: GetLogEvents pages through one stream in either direction with AWS's
//! `f/…` and `b/…` tokens, FilterLogEvents merges the streams of a group by time.

use crate::error::{invalid, LogsError, Result};
use crate::groups::{group_name, page_limit};
use crate::pattern::FilterPattern;
use crate::records::{self, EventRecord, StreamRecord, EVENTS, STREAMS};
use crate::streams::sequence_token;
use crate::Logs;
use base64::Engine as _;
use nubo_core::RequestContext;
use nubo_model::generated::logs::*;

/// A PutLogEvents batch: at most 10,000 events and 1 MiB, counting 26 bytes per event.
const MAX_BATCH_EVENTS: usize = 10_000;
const MAX_BATCH_BYTES: usize = 1_048_576;
const EVENT_OVERHEAD: usize = 26;
/// One event's message: 256 KiB with the overhead.
const MAX_EVENT_BYTES: usize = 262_144 - EVENT_OVERHEAD;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// A position in a stream's order, as GetLogEvents' tokens carry it.
fn token(direction: char, (ts, seq): (i64, u64)) -> String {
    format!("{direction}/{:020}{seq:020}", u64::from_be_bytes(records::ordered(ts)))
}

fn parse_token(t: &str) -> Option<(char, (i64, u64))> {
    let (d, digits) = t.split_once('/')?;
    let direction = match d {
        "f" => 'f',
        "b" => 'b',
        _ => return None,
    };
    if digits.len() != 40 {
        return None;
    }
    let ts = digits[..20].parse::<u64>().ok()? ^ (1 << 63);
    let seq = digits[20..].parse::<u64>().ok()?;
    Some((direction, (ts as i64, seq)))
}

/// The 56-digit id FilterLogEvents gives an event: unique within its group.
fn event_id(stream: &str, ts: i64, seq: u64) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in stream.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    format!("{:020}{:016}{seq:020}", u64::from_be_bytes(records::ordered(ts)), h % 10_000_000_000_000_000)
}

impl Logs {
    /// Appends events on behalf of another service (Lambda's function output), making the
    /// group and stream when they do not exist yet, as Lambda's service role does.
    pub fn append(&self, scope: &nubo_core::Scope, group: &str, stream: &str, events: Vec<(i64, String)>) -> Result<()> {
        let now = self.clock.now().as_millis();
        self.store.write(|tx| {
            let gk = records::group_key(scope, group);
            if tx.get(crate::records::GROUPS, &gk)?.is_none() {
                let g = records::GroupRecord { name: group.into(), created: now, retention_days: None, kms_key_id: None, class: Some("STANDARD".into()), deletion_protection: false, tags: Default::default() };
                nubo_store::put_json(tx, crate::records::GROUPS, &gk, &g)?;
            }
            let sk = records::stream_key(scope, group, stream);
            let mut s: StreamRecord = nubo_store::get_json(tx, STREAMS, &sk)?.unwrap_or(StreamRecord {
                name: stream.into(),
                created: now,
                first_event: None,
                last_event: None,
                last_ingestion: None,
                sequence: 0,
                stored_bytes: 0,
            });
            for (ts, message) in &events {
                let record = EventRecord { message: message.clone(), ingestion: now };
                nubo_store::put_json(tx, EVENTS, &records::event_key(&sk, *ts, s.sequence), &record)?;
                s.sequence += 1;
                s.stored_bytes += message.len() as i64;
                s.first_event = Some(s.first_event.map_or(*ts, |f| f.min(*ts)));
                s.last_event = Some(s.last_event.map_or(*ts, |l| l.max(*ts)));
            }
            s.last_ingestion = Some(now);
            nubo_store::put_json(tx, STREAMS, &sk, &s)?;
            Ok::<_, LogsError>(())
        })
    }

    pub async fn put_log_events(&self, ctx: &RequestContext, input: PutLogEventsRequest) -> Result<PutLogEventsResponse> {
        let events = input.log_events;
        if events.is_empty() {
            return invalid("1 validation error detected: Value '[]' at 'logEvents' failed to satisfy constraint: Member must have length greater than or equal to 1");
        }
        if events.len() > MAX_BATCH_EVENTS {
            return invalid("1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length less than or equal to 10000");
        }
        let size: usize = events.iter().map(|e| e.message.len() + EVENT_OVERHEAD).sum();
        if size > MAX_BATCH_BYTES {
            return invalid(format!("Upload too large: {size} bytes exceeds limit of {MAX_BATCH_BYTES}"));
        }
        if events.iter().any(|e| e.message.is_empty()) {
            return invalid("1 validation error detected: Value '' at 'logEvents.1.member.message' failed to satisfy constraint: Member must have length greater than or equal to 1");
        }
        if events.iter().any(|e| e.message.len() > MAX_EVENT_BYTES) {
            return invalid(format!("Log event too large: {} bytes exceeds limit of {MAX_EVENT_BYTES}", events.iter().map(|e| e.message.len()).max().unwrap_or(0)));
        }
        if events.windows(2).any(|w| w[1].timestamp < w[0].timestamp) {
            return invalid("Log events in a single PutLogEvents request must be in chronological order.");
        }
        if events.last().map(|e| e.timestamp).unwrap_or(0) - events[0].timestamp > DAY_MS {
            return invalid("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.");
        }
        let now = self.clock.now().as_millis();
        let scope = &ctx.scope;
        let (accepted, rejected, stream) = self.store.write(|tx| {
            let group = records::group(tx, scope, &input.log_group_name)?;
            let mut stream: StreamRecord = records::stream(tx, scope, &input.log_group_name, &input.log_stream_name)?;
            // Events older than 14 days or the retention, or more than 2 hours ahead, are refused.
            let retention = group.retention_days.map(|d| now - d as i64 * DAY_MS);
            let too_old = |ts: i64| ts < now - 14 * DAY_MS;
            let expired = |ts: i64| retention.is_some_and(|r| ts < r);
            let too_new = |ts: i64| ts > now + 2 * HOUR_MS;
            let mut rejected = RejectedLogEventsInfo::default();
            let mut accepted = Vec::new();
            for (i, e) in events.iter().enumerate() {
                if too_new(e.timestamp) {
                    rejected.too_new_log_event_start_index.get_or_insert(i as i32);
                } else if expired(e.timestamp) {
                    rejected.expired_log_event_end_index = Some(i as i32);
                } else if too_old(e.timestamp) {
                    rejected.too_old_log_event_end_index = Some(i as i32);
                } else {
                    accepted.push(e);
                }
            }
            let sk = records::stream_key(scope, &input.log_group_name, &input.log_stream_name);
            for e in &accepted {
                let record = EventRecord { message: e.message.clone(), ingestion: now };
                nubo_store::put_json(tx, EVENTS, &records::event_key(&sk, e.timestamp, stream.sequence), &record)?;
                stream.sequence += 1;
                stream.stored_bytes += e.message.len() as i64;
                stream.first_event = Some(stream.first_event.map_or(e.timestamp, |f| f.min(e.timestamp)));
                stream.last_event = Some(stream.last_event.map_or(e.timestamp, |l| l.max(e.timestamp)));
            }
            if !accepted.is_empty() {
                stream.last_ingestion = Some(now);
            }
            nubo_store::put_json(tx, STREAMS, &sk, &stream)?;
            let accepted: Vec<(i64, String)> = accepted.iter().map(|e| (e.timestamp, e.message.clone())).collect();
            Ok::<_, LogsError>((accepted, rejected, stream))
        })?;
        self.apply_metric_filters(scope, &input.log_group_name, &accepted);
        let any_rejected = rejected != RejectedLogEventsInfo::default();
        Ok(PutLogEventsResponse {
            next_sequence_token: Some(sequence_token(stream.sequence)),
            rejected_log_events_info: any_rejected.then_some(rejected),
            rejected_entity_info: None,
        })
    }

    pub async fn get_log_events(&self, ctx: &RequestContext, input: GetLogEventsRequest) -> Result<GetLogEventsResponse> {
        let group = group_name(input.log_group_name, input.log_group_identifier)?;
        let limit = page_limit(input.limit, 10_000)?;
        let scope = &ctx.scope;
        let sk = records::stream_key(scope, &group, &input.log_stream_name);
        let lo = records::event_key(&sk, input.start_time.unwrap_or(i64::MIN), 0);
        let hi = match input.end_time {
            Some(end) => records::event_key(&sk, end, 0),
            None => records::successor(&sk),
        };
        let given = match &input.next_token {
            None => None,
            Some(t) => Some(parse_token(t).ok_or_else(|| LogsError::InvalidParameter("The specified nextToken is invalid.".into()))?),
        };
        let (forward, lo, hi) = match given {
            Some(('f', pos)) => (true, lo.max(records::event_key(&sk, pos.0, pos.1)), hi),
            Some((_, pos)) => (false, lo, hi.min(records::event_key(&sk, pos.0, pos.1))),
            None => (input.start_from_head.unwrap_or(false), lo, hi),
        };
        let entries = self.read(|tx| {
            records::group(tx, scope, &group)?;
            records::stream(tx, scope, &group, &input.log_stream_name)?;
            Ok(tx.range(EVENTS, &lo, &hi, !forward, limit)?)
        })?;
        let mut events = Vec::with_capacity(entries.len());
        let mut positions = Vec::with_capacity(entries.len());
        let mut bytes = 0;
        for (k, v) in entries {
            let e: EventRecord = serde_json::from_slice(&v).map_err(|e| LogsError::Internal(e.to_string()))?;
            bytes += e.message.len() + EVENT_OVERHEAD;
            if bytes > MAX_BATCH_BYTES && !events.is_empty() {
                break;
            }
            let pos = records::position(&sk, &k).unwrap_or((0, 0));
            positions.push(pos);
            events.push(OutputLogEvent { timestamp: Some(pos.0), message: Some(e.message), ingestion_time: Some(e.ingestion) });
        }
        if !forward {
            events.reverse();
            positions.reverse();
        }
        // With nothing new, the tokens stay where they were.
        let here = |key: &[u8]| records::position(&sk, key).unwrap_or((i64::MIN, 0));
        let after_last = positions.last().map(|(ts, seq)| (*ts, seq + 1)).unwrap_or_else(|| if forward { here(&lo) } else { here(&hi) });
        let first = positions.first().copied().unwrap_or_else(|| if forward { here(&lo) } else { here(&hi) });
        Ok(GetLogEventsResponse { events: Some(events), next_forward_token: Some(token('f', after_last)), next_backward_token: Some(token('b', first)) })
    }

    pub async fn filter_log_events(&self, ctx: &RequestContext, input: FilterLogEventsRequest) -> Result<FilterLogEventsResponse> {
        let group = group_name(input.log_group_name, input.log_group_identifier)?;
        if input.log_stream_names.is_some() && input.log_stream_name_prefix.is_some() {
            return invalid("Cannot specify both logStreamNames and logStreamNamePrefix");
        }
        let limit = page_limit(input.limit, 10_000)?;
        let pattern = FilterPattern::parse(input.filter_pattern.as_deref().unwrap_or("")).map_err(LogsError::InvalidParameter)?;
        let after: Option<(i64, String, u64)> = match &input.next_token {
            None => None,
            Some(t) => Some(
                base64::engine::general_purpose::STANDARD
                    .decode(t)
                    .ok()
                    .and_then(|raw| serde_json::from_slice(&raw).ok())
                    .ok_or_else(|| LogsError::InvalidParameter("The specified nextToken is invalid.".into()))?,
            ),
        };
        let scope = &ctx.scope;
        let start = input.start_time.unwrap_or(i64::MIN).max(after.as_ref().map(|a| a.0).unwrap_or(i64::MIN));
        let end = input.end_time;
        let (mut found, searched) = self.read(|tx| {
            records::group(tx, scope, &group)?;
            let mut streams = records::streams(tx, scope, &group)?;
            if let Some(names) = &input.log_stream_names {
                streams.retain(|s| names.contains(&s.name));
            }
            if let Some(p) = &input.log_stream_name_prefix {
                streams.retain(|s| s.name.starts_with(p.as_str()));
            }
            let mut found = Vec::new();
            for s in &streams {
                let sk = records::stream_key(scope, &group, &s.name);
                let hi = match end {
                    Some(e) if e < i64::MAX => records::event_key(&sk, e + 1, 0),
                    _ => records::successor(&sk),
                };
                let mut lo = records::event_key(&sk, start, 0);
                // Each stream contributes at most `limit` + 1 matches: the merge takes no
                // more than `limit`, and one more says there is a next page.
                let mut matched = 0;
                'stream: loop {
                    let page = tx.range(EVENTS, &lo, &hi, false, 1000)?;
                    let Some((last, _)) = page.last() else { break };
                    lo = last.clone();
                    lo.push(0);
                    for (k, v) in &page {
                        let (ts, seq) = records::position(&sk, k).unwrap_or((0, 0));
                        if after.as_ref().is_some_and(|(ats, astream, aseq)| (ts, s.name.as_str(), seq) <= (*ats, astream.as_str(), *aseq)) {
                            continue;
                        }
                        let e: EventRecord = serde_json::from_slice(v).map_err(|e| LogsError::Internal(e.to_string()))?;
                        if pattern.matches(&e.message) {
                            found.push((ts, s.name.clone(), seq, e));
                            matched += 1;
                            if matched > limit {
                                break 'stream;
                            }
                        }
                    }
                }
            }
            Ok((found, streams.into_iter().map(|s| s.name).collect::<Vec<_>>()))
        })?;
        found.sort_by(|a, b| (a.0, &a.1, a.2).cmp(&(b.0, &b.1, b.2)));
        let more = found.len() > limit;
        found.truncate(limit);
        let next_token = more.then(|| {
            let (ts, stream, seq, _) = found.last().expect("more than limit");
            base64::engine::general_purpose::STANDARD.encode(serde_json::json!([ts, stream, seq]).to_string())
        });
        Ok(FilterLogEventsResponse {
            events: Some(
                found
                    .into_iter()
                    .map(|(ts, stream, seq, e)| FilteredLogEvent {
                        event_id: Some(event_id(&stream, ts, seq)),
                        log_stream_name: Some(stream),
                        timestamp: Some(ts),
                        message: Some(e.message),
                        ingestion_time: Some(e.ingestion),
                    })
                    .collect(),
            ),
            searched_log_streams: Some(searched.into_iter().map(|s| SearchedLogStream { log_stream_name: Some(s), searched_completely: Some(true) }).collect()),
            next_token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_refuse_garbage() {
        for pos in [(0, 0), (-1, 5), (1_700_000_000_000, 42)] {
            assert_eq!(parse_token(&token('f', pos)), Some(('f', pos)));
        }
        for bad in ["", "f/", "x/0000", "f/abc", "b/1234"] {
            assert_eq!(parse_token(bad), None);
        }
        assert_eq!(event_id("s", 1, 2).len(), 56);
    }
}
