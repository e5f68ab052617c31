//! Reclaiming blobs no record refers to: a crash between finishing a blob and committing
//! its record, or between releasing a blob and deleting it, leaves one behind. Run once at
//! start; only blobs older than the process are considered, so no upload in flight is.

use crate::error::Result;
use crate::records::{ObjectRecord, PartRecord, OBJECTS, PARTS, VERSIONS};
use crate::S3;
use nubo_store::scan_json;
use std::collections::HashSet;

impl S3 {
    pub async fn collect_garbage(&self, started: std::time::SystemTime) -> Result<usize> {
        let candidates = self.store.blobs().list_older_than(started).await?;
        if candidates.is_empty() {
            return Ok(0);
        }
        let mut live: HashSet<String> = HashSet::new();
        for table in [OBJECTS, VERSIONS] {
            for (_, r) in self.store.read(|tx| scan_json::<ObjectRecord>(tx, table, b"", None, usize::MAX))? {
                live.extend(r.segments.into_iter().map(|s| s.blob));
            }
        }
        for (_, p) in self.store.read(|tx| scan_json::<PartRecord>(tx, PARTS, b"", None, usize::MAX))? {
            live.insert(p.blob);
        }
        let orphans: Vec<String> = candidates.into_iter().filter(|b| !live.contains(b)).collect();
        let n = orphans.len();
        self.release(orphans).await;
        Ok(n)
    }
}
