//! The embedded engine: redb, one crash-safe file (copy-on-write B-trees, checksummed
//! commits), or its in-memory backend for `--ephemeral`.

use crate::{Engine, Entry, ReadTxn, Result, StoreError, WriteTxn};
use redb::{ReadableTable, ReadableTableMetadata, TableDefinition, TableHandle};
use std::path::Path;

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

fn def(name: &str) -> TableDefinition<'_, &'static [u8], &'static [u8]> {
    TableDefinition::new(name)
}

pub struct Redb {
    db: redb::Database,
}

impl Redb {
    pub fn open(path: &Path) -> Result<Redb> {
        let db = redb::Database::create(path).map_err(|e| StoreError(format!("{}: {e}", path.display())))?;
        Ok(Redb { db })
    }

    pub fn in_memory() -> Result<Redb> {
        let db = redb::Database::builder().create_with_backend(redb::backends::InMemoryBackend::new()).map_err(err)?;
        Ok(Redb { db })
    }
}

impl Engine for Redb {
    fn begin_read(&self) -> Result<Box<dyn ReadTxn + '_>> {
        Ok(Box::new(Read(self.db.begin_read().map_err(err)?)))
    }

    fn begin_write(&self) -> Result<Box<dyn WriteTxn + '_>> {
        Ok(Box::new(Write(self.db.begin_write().map_err(err)?)))
    }

    fn clear(&self) -> Result<()> {
        let tx = self.db.begin_write().map_err(err)?;
        let names: Vec<String> = tx.list_tables().map_err(err)?.map(|t| t.name().to_string()).collect();
        for n in names {
            tx.delete_table(def(&n)).map_err(err)?;
        }
        tx.commit().map_err(err)
    }
}

struct Read(redb::ReadTransaction);
struct Write(redb::WriteTransaction);

fn scan_table(
    t: &impl ReadableTable<&'static [u8], &'static [u8]>,
    prefix: &[u8],
    after: Option<&[u8]>,
    limit: usize,
) -> Result<Vec<Entry>> {
    let start = after.filter(|a| *a >= prefix).unwrap_or(prefix);
    let mut out = Vec::new();
    for item in t.range::<&[u8]>(start..).map_err(err)? {
        let (k, v) = item.map_err(err)?;
        let k = k.value();
        if !k.starts_with(prefix) || out.len() >= limit {
            break;
        }
        if Some(k) == after {
            continue;
        }
        out.push((k.to_vec(), v.value().to_vec()));
    }
    Ok(out)
}

fn range_table(
    t: &impl ReadableTable<&'static [u8], &'static [u8]>,
    lo: &[u8],
    hi: &[u8],
    reverse: bool,
    limit: usize,
) -> Result<Vec<Entry>> {
    if lo >= hi {
        return Ok(Vec::new());
    }
    let range = t.range::<&[u8]>(lo..hi).map_err(err)?;
    let items: Box<dyn Iterator<Item = _>> = if reverse { Box::new(range.rev()) } else { Box::new(range) };
    items
        .take(limit)
        .map(|item| {
            let (k, v) = item.map_err(err)?;
            Ok((k.value().to_vec(), v.value().to_vec()))
        })
        .collect()
}

impl ReadTxn for Read {
    fn get(&self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.0.open_table(def(table)) {
            Ok(t) => Ok(t.get(key).map_err(err)?.map(|v| v.value().to_vec())),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(err(e)),
        }
    }

    fn scan(&self, table: &str, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Entry>> {
        match self.0.open_table(def(table)) {
            Ok(t) => scan_table(&t, prefix, after, limit),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(Vec::new()),
            Err(e) => Err(err(e)),
        }
    }

    fn range(&self, table: &str, lo: &[u8], hi: &[u8], reverse: bool, limit: usize) -> Result<Vec<Entry>> {
        match self.0.open_table(def(table)) {
            Ok(t) => range_table(&t, lo, hi, reverse, limit),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(Vec::new()),
            Err(e) => Err(err(e)),
        }
    }
}

impl ReadTxn for Write {
    fn get(&self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let t = self.0.open_table(def(table)).map_err(err)?;
        let v = t.get(key).map_err(err)?.map(|v| v.value().to_vec());
        Ok(v)
    }

    fn scan(&self, table: &str, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Entry>> {
        let t = self.0.open_table(def(table)).map_err(err)?;
        if t.is_empty().map_err(err)? {
            return Ok(Vec::new());
        }
        scan_table(&t, prefix, after, limit)
    }

    fn range(&self, table: &str, lo: &[u8], hi: &[u8], reverse: bool, limit: usize) -> Result<Vec<Entry>> {
        let t = self.0.open_table(def(table)).map_err(err)?;
        range_table(&t, lo, hi, reverse, limit)
    }
}

impl WriteTxn for Write {
    fn put(&mut self, table: &str, key: &[u8], value: &[u8]) -> Result<()> {
        let mut t = self.0.open_table(def(table)).map_err(err)?;
        t.insert(key, value).map_err(err)?;
        Ok(())
    }

    fn delete(&mut self, table: &str, key: &[u8]) -> Result<bool> {
        let mut t = self.0.open_table(def(table)).map_err(err)?;
        let existed = t.remove(key).map_err(err)?.is_some();
        Ok(existed)
    }

    fn commit(self: Box<Self>) -> Result<()> {
        self.0.commit().map_err(err)
    }
}
