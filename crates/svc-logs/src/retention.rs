//! Retention: the controller that deletes events older than their group's retention.
//!
//! Events are keyed by time within each stream, so expiring them deletes a prefix of
//! each stream's range. The sweep is a function of the store and a time, run at each
//! minute of nubo's clock and when a retention policy changes.

use crate::error::{LogsError, Result};
use crate::records::{self, GroupRecord, EVENTS, GROUPS, STREAMS};
use crate::Logs;
use nubo_core::{Scope, Timestamp};

const DAY_MS: i64 = 86_400_000;

impl Logs {
    /// Deletes expired events everywhere; says how many.
    pub fn expire_events(&self, now: Timestamp) -> Result<usize> {
        let groups: Vec<(Vec<u8>, GroupRecord)> = self.read(|tx| Ok(nubo_store::scan_json(tx, GROUPS, b"", None, usize::MAX)?))?;
        let mut deleted = 0;
        for (k, g) in groups {
            let Some(days) = g.retention_days else { continue };
            let cutoff = now.as_millis() - days as i64 * DAY_MS;
            let mut parts = k.split(|b| *b == 0).map(|p| String::from_utf8_lossy(p).into_owned());
            let (Some(account), Some(region)) = (parts.next(), parts.next()) else { continue };
            let scope = Scope::new(account, region);
            for s in self.read(|tx| records::streams(tx, &scope, &g.name))? {
                let sk = records::stream_key(&scope, &g.name, &s.name);
                let hi = records::event_key(&sk, cutoff, 0);
                loop {
                    let n = self.store.write(|tx| {
                        let old = tx.range(EVENTS, &sk, &hi, false, 1000)?;
                        let mut bytes = 0i64;
                        for (k, v) in &old {
                            tx.delete(EVENTS, k)?;
                            bytes += serde_json::from_slice::<records::EventRecord>(v).map(|e| e.message.len() as i64).unwrap_or(0);
                        }
                        if !old.is_empty() {
                            if let Some(mut stream) = nubo_store::get_json::<records::StreamRecord>(tx, STREAMS, &sk)? {
                                stream.stored_bytes = (stream.stored_bytes - bytes).max(0);
                                nubo_store::put_json(tx, STREAMS, &sk, &stream)?;
                            }
                        }
                        Ok::<_, LogsError>(old.len())
                    })?;
                    deleted += n;
                    if n < 1000 {
                        break;
                    }
                }
            }
        }
        Ok(deleted)
    }
}

/// Expires events at each minute of nubo's clock, and when a retention policy changes.
pub async fn run(logs: Logs) {
    loop {
        let now = logs.clock.now();
        if let Err(e) = logs.expire_events(now) {
            tracing::warn!("log retention sweep failed: {e:?}");
        }
        let next = Timestamp::from_millis(now.as_millis() - now.as_millis().rem_euclid(60_000) + 60_000);
        tokio::select! {
            _ = logs.clock.sleep_until(next) => {}
            _ = logs.retention_changed.notified() => {}
        }
    }
}
