//! Where DynamoDB keeps things, and the one place items are written.
//!
//! * `dynamodb_tables`: `account / region / table name` → [`TableRecord`] (JSON).
//! * `dynamodb_items`: `table id / partition hash / partition key / sort key` → the item
//!   as DynamoDB JSON (see [`crate::keys`] for the order).
//! * `dynamodb_index`: `table id / index name / hash / index key / table key` → the item's
//!   store key. An index entry changes in the same transaction as its item, so an index
//!   never shows an item the table does not have, even after `kill -9`.
//! * `dynamodb_stats`: `table id / index name ("" for the table)` → `[item count, bytes]`,
//!   kept with every write so DescribeTable's ItemCount and TableSizeBytes are exact
//!   without a scan.
//! * `dynamodb_stream`: `table id / stream label / sequence number` → a stream record
//!   (see [`crate::streams`]), written with the change it describes.
//! * `dynamodb_backups`, `dynamodb_backup_items`, `dynamodb_pitr`: see [`crate::backups`].

use crate::error::{DynamoError, Result};
use crate::schema::TableRecord;
use crate::value::Item;
use crate::wire;
use nubo_core::Scope;
use nubo_store::{key::key, ReadTxn, StoreError, WriteTxn};

pub const TABLES: &str = "dynamodb_tables";
pub const ITEMS: &str = "dynamodb_items";
pub const INDEXES: &str = "dynamodb_index";
pub const STATS: &str = "dynamodb_stats";
pub const STREAM: &str = "dynamodb_stream";

/// When and why an item changes: stream records carry the time, and deletions by the
/// TTL sweeper name DynamoDB's service principal.
#[derive(Clone, Copy)]
pub struct Origin {
    pub now: f64,
    pub by_ttl: bool,
}

pub fn table_key(scope: &Scope, name: &str) -> Vec<u8> {
    key(&[&scope.account, &scope.region, name])
}

pub fn get_table(tx: &(impl ReadTxn + ?Sized), scope: &Scope, name: &str) -> Result<Option<TableRecord>> {
    Ok(nubo_store::get_json(tx, TABLES, &table_key(scope, name))?)
}

pub fn put_table(tx: &mut (impl WriteTxn + ?Sized), scope: &Scope, table: &TableRecord) -> Result<()> {
    Ok(nubo_store::put_json(tx, TABLES, &table_key(scope, &table.name), table)?)
}

/// Every table of a scope, in name order.
pub fn all_tables(tx: &(impl ReadTxn + ?Sized), scope: &Scope) -> Result<Vec<TableRecord>> {
    let prefix = key(&[&scope.account, &scope.region]);
    Ok(nubo_store::scan_json(tx, TABLES, &prefix, None, usize::MAX)?.into_iter().map(|(_, t)| t).collect())
}

pub fn decode_item(bytes: &[u8]) -> Result<Item> {
    let json: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| StoreError(format!("corrupt item: {e}")))?;
    wire::item_from_json(&json).ok_or_else(|| DynamoError::Internal("corrupt item".into()))
}

pub fn encode_item(item: &Item) -> Vec<u8> {
    serde_json::to_vec(&wire::item_to_json(item)).unwrap_or_default()
}

pub fn read_item(tx: &(impl ReadTxn + ?Sized), item_key: &[u8]) -> Result<Option<Item>> {
    match tx.get(ITEMS, item_key)? {
        Some(b) => decode_item(&b).map(Some),
        None => Ok(None),
    }
}

/// Writes `new` in place of `old` (the item under the same key, if any): the item, its
/// index entries and the counts, in the caller's transaction.
pub fn write_item(tx: &mut (impl WriteTxn + ?Sized), table: &TableRecord, old: Option<&Item>, new: &Item, origin: Origin) -> Result<()> {
    let k = table.item_key(new);
    tx.put(ITEMS, &k, &encode_item(new))?;
    reindex(tx, table, &k, old, Some(new))?;
    crate::backups::log_change(tx, table, old, Some(new), origin)?;
    crate::streams::emit(tx, table, old, Some(new), origin)
}

pub fn delete_item(tx: &mut (impl WriteTxn + ?Sized), table: &TableRecord, old: &Item, origin: Origin) -> Result<()> {
    let k = table.item_key(old);
    tx.delete(ITEMS, &k)?;
    reindex(tx, table, &k, Some(old), None)?;
    crate::backups::log_change(tx, table, Some(old), None, origin)?;
    crate::streams::emit(tx, table, Some(old), None, origin)
}

fn reindex(tx: &mut (impl WriteTxn + ?Sized), table: &TableRecord, item_key: &[u8], old: Option<&Item>, new: Option<&Item>) -> Result<()> {
    let size = |i: Option<&Item>| i.map(|i| wire::item_size(i) as i64).unwrap_or(0);
    bump(tx, &table.id, "", new.is_some() as i64 - old.is_some() as i64, size(new) - size(old))?;
    for index in table.indexes() {
        let before = old.and_then(|o| table.index_key(index, o));
        let after = new.and_then(|n| table.index_key(index, n));
        if before == after && before.is_some() {
            let (o, n) = (old.map(|o| table.project_for_index(index, o)), new.map(|n| table.project_for_index(index, n)));
            bump(tx, &table.id, &index.name, 0, size(n.as_ref()) - size(o.as_ref()))?;
            continue;
        }
        if let Some(b) = before {
            tx.delete(INDEXES, &b)?;
            let o = old.map(|o| table.project_for_index(index, o));
            bump(tx, &table.id, &index.name, -1, -size(o.as_ref()))?;
        }
        if let Some(a) = after {
            tx.put(INDEXES, &a, item_key)?;
            let n = new.map(|n| table.project_for_index(index, n));
            bump(tx, &table.id, &index.name, 1, size(n.as_ref()))?;
        }
    }
    Ok(())
}

/// Adds every existing item of the table to a new index (UpdateTable's backfill).
pub fn backfill(tx: &mut (impl WriteTxn + ?Sized), table: &TableRecord, index_name: &str) -> Result<()> {
    let Some((index, _)) = table.index(index_name) else { return Ok(()) };
    let prefix = key(&[&table.id]);
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = tx.scan(ITEMS, &prefix, after.as_deref(), 1000)?;
        let Some(last) = page.last().map(|(k, _)| k.clone()) else { break };
        for (k, v) in page {
            let item = decode_item(&v)?;
            if let Some(ik) = table.index_key(index, &item) {
                tx.put(INDEXES, &ik, &k)?;
                let projected = table.project_for_index(index, &item);
                bump(tx, &table.id, &index.name, 1, wire::item_size(&projected) as i64)?;
            }
        }
        after = Some(last);
    }
    Ok(())
}

/// Removes everything stored under a prefix of a table (a deleted table or index).
pub fn clear(tx: &mut (impl WriteTxn + ?Sized), table_name: &str, prefix: &[u8]) -> Result<()> {
    loop {
        let page = tx.scan(table_name, prefix, None, 1000)?;
        if page.is_empty() {
            return Ok(());
        }
        for (k, _) in page {
            tx.delete(table_name, &k)?;
        }
    }
}

pub fn drop_index(tx: &mut (impl WriteTxn + ?Sized), table: &TableRecord, index_name: &str) -> Result<()> {
    clear(tx, INDEXES, &key(&[&table.id, index_name]))?;
    tx.delete(STATS, &key(&[&table.id, index_name]))?;
    Ok(())
}

pub fn drop_table(tx: &mut (impl WriteTxn + ?Sized), scope: &Scope, table: &TableRecord) -> Result<()> {
    clear(tx, ITEMS, &key(&[&table.id]))?;
    clear(tx, INDEXES, &key(&[&table.id]))?;
    clear(tx, STATS, &key(&[&table.id]))?;
    clear(tx, STREAM, &key(&[&table.id]))?;
    clear(tx, crate::backups::PITR, &key(&[&table.id]))?;
    tx.delete(TABLES, &table_key(scope, &table.name))?;
    Ok(())
}

/// Item count and bytes of a table (`index` = "") or of one of its indexes.
pub fn stats(tx: &(impl ReadTxn + ?Sized), table_id: &str, index: &str) -> Result<(i64, i64)> {
    Ok(nubo_store::get_json(tx, STATS, &key(&[table_id, index]))?.unwrap_or((0, 0)))
}

fn bump(tx: &mut (impl WriteTxn + ?Sized), table_id: &str, index: &str, count: i64, bytes: i64) -> Result<()> {
    if count == 0 && bytes == 0 {
        return Ok(());
    }
    let (c, b) = stats(tx, table_id, index)?;
    Ok(nubo_store::put_json(tx, STATS, &key(&[table_id, index]), &(c + count, b + bytes))?)
}
