//! Time to live: the controller that deletes expired items.
//!
//! An item expires when its TTL attribute is a number of epoch seconds in the past
//! (DynamoDB ignores other types, and dates more than five years back, which it takes
//! for mistakes). The sweep is a plain function of the store and a time, run each minute
//! of nubo's clock by [`run`].

use crate::error::Result;
use crate::records::{self, ITEMS, TABLES};
use crate::schema::TableRecord;
use crate::value::{AttrValue, Item};
use crate::DynamoDb;
use nubo_core::Timestamp;

const FIVE_YEARS: f64 = 5.0 * 365.0 * 86400.0;

fn expired(item: &Item, attribute: &str, now: f64) -> bool {
    match item.get(attribute) {
        Some(AttrValue::N(n)) => match n.to_string().parse::<f64>() {
            Ok(at) => at < now && at > now - FIVE_YEARS,
            Err(_) => false,
        },
        _ => false,
    }
}

impl DynamoDb {
    /// Deletes every expired item of every table with TTL enabled; says how many.
    pub fn sweep_expired(&self, now: Timestamp) -> Result<usize> {
        let now = now.as_secs_f64();
        let tables: Vec<TableRecord> = self.read(|tx| Ok(nubo_store::scan_json(tx, TABLES, b"", None, usize::MAX)?))?
            .into_iter()
            .map(|(_, t)| t)
            .filter(|t: &TableRecord| t.ttl.as_ref().is_some_and(|(_, on)| *on))
            .collect();
        let mut deleted = 0;
        for table in tables {
            let attribute = table.ttl.clone().map(|(a, _)| a).unwrap_or_default();
            let prefix = nubo_store::key::key(&[&table.id]);
            let mut after: Option<Vec<u8>> = None;
            loop {
                let page = self.read(|tx| Ok(tx.scan(ITEMS, &prefix, after.as_deref(), 500)?))?;
                let Some((last, _)) = page.last() else { break };
                after = Some(last.clone());
                let mut doomed = Vec::new();
                for (_, v) in &page {
                    let item = records::decode_item(v)?;
                    if expired(&item, &attribute, now) {
                        doomed.push(table.key_of(&item));
                    }
                }
                if doomed.is_empty() {
                    continue;
                }
                // Re-read inside the write: the item may have changed since the scan.
                deleted += self.store.write(|tx| {
                    // The table as it is now (its indexes may have changed since the scan).
                    let Ok(table) = table.refresh(tx) else { return Ok(0) };
                    let mut n = 0;
                    for key in &doomed {
                        if let Some(item) = records::read_item(tx, &table.item_key(key))? {
                            if expired(&item, &attribute, now) {
                                records::delete_item(tx, &table, &item, records::Origin { now, by_ttl: true })?;
                                n += 1;
                            }
                        }
                    }
                    Ok::<_, crate::error::DynamoError>(n)
                })?;
            }
        }
        if deleted > 0 {
            self.committed();
        }
        Ok(deleted)
    }
}

/// Sweeps at each minute of nubo's clock.
pub async fn run(ddb: DynamoDb) {
    loop {
        let now = ddb.clock.now();
        if let Err(e) = ddb.sweep_expired(now) {
            tracing::warn!("TTL sweep failed: {e:?}");
        }
        let next = Timestamp::from_millis(now.as_millis() - now.as_millis().rem_euclid(60_000) + 60_000);
        ddb.clock.sleep_until(next).await;
    }
}
