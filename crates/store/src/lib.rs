//! The storage layer: ordered key-value tables in ACID transactions.
//!
//! Services see only [`Store`], [`ReadTxn`] and [`WriteTxn`]: named tables of byte keys in
//! byte order, read in snapshots, written in transactions that are durable when
//! `commit` returns (what nubo acknowledged survives `kill -9`). Which engine sits behind
//! the [`Engine`] trait is this crate's business alone: today [`redb_engine`] (one file,
//! crash-safe, pure Rust), in memory for `--ephemeral`; a shared database can replace it
//! without touching a service.
//!
//! Keys are built with [`key`] so that a prefix scan of an account's or region's
//! resources is one ordered range.

pub mod blobs;
pub mod key;
mod redb_engine;

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "store: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

impl From<StoreError> for nubo_core::AwsError {
    fn from(e: StoreError) -> Self {
        nubo_core::AwsError::internal(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A key-value pair as scans return them.
pub type Entry = (Vec<u8>, Vec<u8>);

/// A consistent snapshot.
pub trait ReadTxn {
    fn get(&self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Up to `limit` entries whose key starts with `prefix`, in key order, starting after
    /// `after` when given (for pagination).
    fn scan(&self, table: &str, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Entry>>;
    /// Up to `limit` entries with `lo <= key < hi`, from `lo` upwards or, when `reverse`,
    /// from `hi` downwards: ordered key ranges for queries that read a slice of a
    /// partition in either direction (DynamoDB's sort-key conditions).
    fn range(&self, table: &str, lo: &[u8], hi: &[u8], reverse: bool, limit: usize) -> Result<Vec<Entry>>;
}

/// A transaction that sees its own writes; nothing is visible to others until `commit`.
pub trait WriteTxn: ReadTxn {
    fn put(&mut self, table: &str, key: &[u8], value: &[u8]) -> Result<()>;
    /// Deletes a key; says whether it was there.
    fn delete(&mut self, table: &str, key: &[u8]) -> Result<bool>;
    /// Makes every write durable, or none of them.
    fn commit(self: Box<Self>) -> Result<()>;
}

/// A storage engine. Implementations must make `commit` atomic and durable.
pub trait Engine: Send + Sync + 'static {
    fn begin_read(&self) -> Result<Box<dyn ReadTxn + '_>>;
    fn begin_write(&self) -> Result<Box<dyn WriteTxn + '_>>;
    /// Drops every table: `/_nubo/reset`.
    fn clear(&self) -> Result<()>;
}

/// The handle services hold: tables, and blobs for large values.
#[derive(Clone)]
pub struct Store {
    engine: Arc<dyn Engine>,
    blobs: blobs::BlobStore,
}

impl Store {
    /// A durable store under `dir`: the tables in one file, blobs in `dir/blobs`.
    pub fn open(dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError(format!("{}: {e}", dir.display())))?;
        let blobs = blobs::BlobStore::open(&dir.join("blobs")).map_err(|e| StoreError(format!("{}: {e}", dir.display())))?;
        Ok(Store { engine: Arc::new(redb_engine::Redb::open(&dir.join("nubo.redb"))?), blobs })
    }

    /// A store that keeps everything in memory (`--ephemeral`).
    pub fn in_memory() -> Store {
        Store { engine: Arc::new(redb_engine::Redb::in_memory().expect("in-memory store")), blobs: blobs::BlobStore::in_memory() }
    }

    pub fn with_engine(engine: Arc<dyn Engine>, blobs: blobs::BlobStore) -> Store {
        Store { engine, blobs }
    }

    pub fn blobs(&self) -> &blobs::BlobStore {
        &self.blobs
    }

    /// Runs `f` on a snapshot.
    pub fn read<T>(&self, f: impl FnOnce(&dyn ReadTxn) -> Result<T>) -> Result<T> {
        let tx = self.engine.begin_read()?;
        f(&*tx)
    }

    /// Runs `f` in a write transaction, committed when `f` returns `Ok`, rolled back otherwise.
    pub fn write<T, E: From<StoreError>>(&self, f: impl FnOnce(&mut dyn WriteTxn) -> std::result::Result<T, E>) -> std::result::Result<T, E> {
        let mut tx = self.engine.begin_write()?;
        let out = f(&mut *tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Drops every table and blob: `/_nubo/reset`.
    pub async fn clear(&self) -> Result<()> {
        self.engine.clear()?;
        self.blobs.clear().await.map_err(|e| StoreError(e.to_string()))
    }
}

/// Values are stored as JSON: readable when debugging a data dir, and tolerant of added
/// fields as the services' records grow.
pub fn get_json<T: DeserializeOwned>(tx: &(impl ReadTxn + ?Sized), table: &str, key: &[u8]) -> Result<Option<T>> {
    match tx.get(table, key)? {
        None => Ok(None),
        Some(b) => serde_json::from_slice(&b).map(Some).map_err(|e| StoreError(format!("corrupt record in {table}: {e}"))),
    }
}

pub fn put_json<T: Serialize>(tx: &mut (impl WriteTxn + ?Sized), table: &str, key: &[u8], value: &T) -> Result<()> {
    let b = serde_json::to_vec(value).map_err(|e| StoreError(e.to_string()))?;
    tx.put(table, key, &b)
}

pub fn scan_json<T: DeserializeOwned>(
    tx: &(impl ReadTxn + ?Sized),
    table: &str,
    prefix: &[u8],
    after: Option<&[u8]>,
    limit: usize,
) -> Result<Vec<(Vec<u8>, T)>> {
    tx.scan(table, prefix, after, limit)?
        .into_iter()
        .map(|(k, v)| {
            serde_json::from_slice(&v).map(|v| (k, v)).map_err(|e| StoreError(format!("corrupt record in {table}: {e}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(store: &Store) {
        store.write(|tx| -> Result<()> {
            tx.put("t", b"a/1", b"one")?;
            tx.put("t", b"a/2", b"two")?;
            tx.put("t", b"b/1", b"other")?;
            Ok(())
        })
        .unwrap();
        let scanned = store.read(|tx| tx.scan("t", b"a/", None, 10)).unwrap();
        let down = store.read(|tx| tx.range("t", b"a/", b"b/", true, 10)).unwrap();
        assert_eq!(down.iter().map(|(k, _)| k.as_slice()).collect::<Vec<_>>(), [b"a/2".as_slice(), b"a/1"]);
        let up = store.read(|tx| tx.range("t", b"a/2", b"b/2", false, 1)).unwrap();
        assert_eq!(up[0].0, b"a/2");
        assert_eq!(scanned, vec![(b"a/1".to_vec(), b"one".to_vec()), (b"a/2".to_vec(), b"two".to_vec())]);
        let page = store.read(|tx| tx.scan("t", b"a/", Some(b"a/1"), 10)).unwrap();
        assert_eq!(page.len(), 1);
        assert_eq!(store.read(|tx| tx.get("missing-table", b"x")).unwrap(), None);
    }

    #[test]
    fn in_memory_store_scans_prefixes_in_order() {
        exercise(&Store::in_memory());
    }

    #[test]
    fn file_store_scans_prefixes_in_order() {
        let dir = std::env::temp_dir().join(format!("nubo-store-{}", nubo_core::ids::uuid()));
        exercise(&Store::open(&dir).unwrap());
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn failed_transaction_writes_nothing() {
        let store = Store::in_memory();
        let r: std::result::Result<(), StoreError> = store.write(|tx| {
            tx.put("t", b"k", b"v")?;
            Err(StoreError("abort".into()))
        });
        assert!(r.is_err());
        assert_eq!(store.read(|tx| tx.get("t", b"k")).unwrap(), None);
    }

    #[tokio::test]
    async fn clear_drops_everything() {
        let store = Store::in_memory();
        store.write(|tx| tx.put("t", b"k", b"v")).unwrap();
        store.clear().await.unwrap();
        assert_eq!(store.read(|tx| tx.get("t", b"k")).unwrap(), None);
    }
}
