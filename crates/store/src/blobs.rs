//! Large values (S3 object data) kept beside the tables: files under the data dir, or
//! memory with `--ephemeral`.
//!
//! A blob is written once through a [`BlobWriter`], made durable by [`BlobWriter::finish`]
//! (fsync, then an atomic rename into place), and only then referenced from a table, so a
//! crash mid-upload leaves no partial object visible. Blob ids are generated, never taken
//! from user input: no object key can name a path. Reads stream from a byte range.

use bytes::{Bytes, BytesMut};
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncSeekExt, AsyncWriteExt, ReadBuf};

const READ_CHUNK: usize = 64 * 1024;

#[derive(Clone)]
pub struct BlobStore {
    backend: Arc<Backend>,
}

enum Backend {
    Files { root: PathBuf },
    Memory(Mutex<HashMap<String, Bytes>>),
}

impl BlobStore {
    /// Blobs as files under `dir`. Leftovers of interrupted writes are removed.
    pub fn open(dir: &Path) -> io::Result<BlobStore> {
        std::fs::create_dir_all(dir.join("data"))?;
        let tmp = dir.join("tmp");
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp)?;
        Ok(BlobStore { backend: Arc::new(Backend::Files { root: dir.to_path_buf() }) })
    }

    pub fn in_memory() -> BlobStore {
        BlobStore { backend: Arc::new(Backend::Memory(Mutex::new(HashMap::new()))) }
    }

    fn path(root: &Path, id: &str) -> PathBuf {
        root.join("data").join(&id[..2]).join(id)
    }

    /// Starts a new blob.
    pub async fn writer(&self) -> io::Result<BlobWriter> {
        let id = nubo_core::ids::uuid().replace('-', "");
        let sink = match &*self.backend {
            Backend::Files { root } => {
                let tmp = root.join("tmp").join(&id);
                Sink::File(tokio::fs::File::create(&tmp).await?, tmp)
            }
            Backend::Memory(_) => Sink::Memory(BytesMut::new()),
        };
        Ok(BlobWriter { store: self.clone(), id, sink: Some(sink), len: 0 })
    }

    /// Streams `len` bytes of a blob from `offset`.
    pub async fn read(&self, id: &str, offset: u64, len: u64) -> io::Result<BlobReader> {
        match &*self.backend {
            Backend::Files { root } => {
                let mut f = tokio::fs::File::open(Self::path(root, id)).await?;
                f.seek(io::SeekFrom::Start(offset)).await?;
                Ok(BlobReader { source: Source::File(f), remaining: len })
            }
            Backend::Memory(m) => {
                let b = m.lock().unwrap().get(id).cloned().ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, id.to_string()))?;
                let end = (offset + len).min(b.len() as u64) as usize;
                let start = (offset as usize).min(end);
                Ok(BlobReader { source: Source::Memory(b.slice(start..end)), remaining: (end - start) as u64 })
            }
        }
    }

    /// Reads a small blob whole (multipart part lists, tests).
    pub async fn read_all(&self, id: &str) -> io::Result<Bytes> {
        match &*self.backend {
            Backend::Files { root } => Ok(Bytes::from(tokio::fs::read(Self::path(root, id)).await?)),
            Backend::Memory(m) => m.lock().unwrap().get(id).cloned().ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, id.to_string())),
        }
    }

    /// Removes a blob; removing a missing one is not an error (deletes may be retried).
    pub async fn delete(&self, id: &str) -> io::Result<()> {
        match &*self.backend {
            Backend::Files { root } => match tokio::fs::remove_file(Self::path(root, id)).await {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
            Backend::Memory(m) => {
                m.lock().unwrap().remove(id);
                Ok(())
            }
        }
    }

    /// Ids of the blobs last written before `before` (file-backed stores; a memory store
    /// cannot outlive a crash, so it has no orphans to find).
    pub async fn list_older_than(&self, before: std::time::SystemTime) -> io::Result<Vec<String>> {
        let Backend::Files { root } = &*self.backend else { return Ok(Vec::new()) };
        let mut ids = Vec::new();
        let mut shards = tokio::fs::read_dir(root.join("data")).await?;
        while let Some(shard) = shards.next_entry().await? {
            let Ok(mut files) = tokio::fs::read_dir(shard.path()).await else { continue };
            while let Some(f) = files.next_entry().await? {
                let old = f.metadata().await.and_then(|m| m.modified()).is_ok_and(|t| t < before);
                if old {
                    ids.push(f.file_name().to_string_lossy().into_owned());
                }
            }
        }
        Ok(ids)
    }

    /// Removes every blob: `/_nubo/reset`.
    pub async fn clear(&self) -> io::Result<()> {
        match &*self.backend {
            Backend::Files { root } => {
                let data = root.join("data");
                let _ = tokio::fs::remove_dir_all(&data).await;
                tokio::fs::create_dir_all(&data).await
            }
            Backend::Memory(m) => {
                m.lock().unwrap().clear();
                Ok(())
            }
        }
    }
}

enum Sink {
    File(tokio::fs::File, PathBuf),
    Memory(BytesMut),
}

/// A blob being written. Dropped without `finish` (a failed upload), it removes what it
/// wrote; a crash leaves a temp file, removed at the next start.
pub struct BlobWriter {
    store: BlobStore,
    id: String,
    sink: Option<Sink>,
    len: u64,
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if let Some(Sink::File(_, tmp)) = self.sink.take() {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

impl BlobWriter {
    pub async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.len += chunk.len() as u64;
        match &mut self.sink {
            Some(Sink::File(f, _)) => f.write_all(chunk).await,
            Some(Sink::Memory(b)) => {
                b.extend_from_slice(chunk);
                Ok(())
            }
            None => Err(io::Error::other("blob writer already finished")),
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Makes the blob durable (data, then its name in its directory) and returns its id.
    pub async fn finish(mut self) -> io::Result<String> {
        let id = self.id.clone();
        match (self.sink.take(), &*self.store.backend) {
            (Some(Sink::File(mut f, tmp)), Backend::Files { root }) => {
                let result = async {
                    f.flush().await?;
                    f.sync_all().await?;
                    drop(f);
                    let dest = BlobStore::path(root, &id);
                    let dir = dest.parent().unwrap().to_path_buf();
                    tokio::fs::create_dir_all(&dir).await?;
                    tokio::fs::rename(&tmp, &dest).await?;
                    tokio::fs::File::open(&dir).await?.sync_all().await
                }
                .await;
                if result.is_err() {
                    let _ = std::fs::remove_file(&tmp);
                }
                result.map(|_| id)
            }
            (Some(Sink::Memory(b)), Backend::Memory(m)) => {
                m.lock().unwrap().insert(id.clone(), b.freeze());
                Ok(id)
            }
            _ => Err(io::Error::other("a writer's sink must match its store")),
        }
    }
}

enum Source {
    File(tokio::fs::File),
    Memory(Bytes),
}

/// A blob's byte range as an HTTP body, read in 64 KiB chunks.
pub struct BlobReader {
    source: Source,
    remaining: u64,
}

impl http_body::Body for BlobReader {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<http_body::Frame<Bytes>, io::Error>>> {
        let this = &mut *self;
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        match &mut this.source {
            Source::Memory(b) => {
                let n = (this.remaining as usize).min(READ_CHUNK).min(b.len());
                this.remaining -= n as u64;
                if n == 0 {
                    this.remaining = 0;
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(Ok(http_body::Frame::data(b.split_to(n)))))
            }
            Source::File(f) => {
                let want = (this.remaining as usize).min(READ_CHUNK);
                let mut buf = vec![0u8; want];
                let mut rb = ReadBuf::new(&mut buf);
                match Pin::new(f).poll_read(cx, &mut rb) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
                    Poll::Ready(Ok(())) => {
                        let n = rb.filled().len();
                        if n == 0 {
                            this.remaining = 0;
                            return Poll::Ready(Some(Err(io::Error::new(io::ErrorKind::UnexpectedEof, "blob is shorter than its record"))));
                        }
                        buf.truncate(n);
                        this.remaining -= n as u64;
                        Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from(buf)))))
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn round_trip(store: BlobStore) {
        let mut w = store.writer().await.unwrap();
        w.write(b"hello ").await.unwrap();
        w.write(b"world").await.unwrap();
        let id = w.finish().await.unwrap();
        let all = store.read(&id, 0, 11).await.unwrap().collect().await.unwrap().to_bytes();
        assert_eq!(&all[..], b"hello world");
        let part = store.read(&id, 6, 5).await.unwrap().collect().await.unwrap().to_bytes();
        assert_eq!(&part[..], b"world");
        store.delete(&id).await.unwrap();
        assert!(store.read(&id, 0, 1).await.is_err());
        store.delete(&id).await.unwrap();
    }

    #[tokio::test]
    async fn memory_blobs_round_trip() {
        round_trip(BlobStore::in_memory()).await;
    }

    #[tokio::test]
    async fn file_blobs_round_trip_and_unfinished_writes_vanish() {
        let dir = std::env::temp_dir().join(format!("nubo-blobs-{}", nubo_core::ids::uuid()));
        let store = BlobStore::open(&dir).unwrap();
        round_trip(store.clone()).await;
        let mut w = store.writer().await.unwrap();
        w.write(b"partial").await.unwrap();
        assert_eq!(std::fs::read_dir(dir.join("tmp")).unwrap().count(), 1);
        drop(w);
        // A failed write leaves nothing behind.
        assert_eq!(std::fs::read_dir(dir.join("tmp")).unwrap().count(), 0);
        std::fs::remove_dir_all(dir).ok();
    }
}
