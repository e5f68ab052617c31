//! Bodies that must not be held in memory: S3 object data in and out.
//!
//! A [`ByteStream`] is a handle to an HTTP body that its single consumer takes once.
//! It travels inside the [`Value`](crate::Value) tree like any other member, so the codecs
//! and the generated shapes treat streaming payloads (shapes marked `streaming` in the
//! model) the same way as the rest, while the bytes flow from the socket to the service
//! (and back) without being buffered.

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use std::fmt;
use std::sync::{Arc, Mutex};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type Body = UnsyncBoxBody<Bytes, BoxError>;

#[derive(Clone)]
pub struct ByteStream {
    body: Arc<Mutex<Option<Body>>>,
    /// The length when known in advance (`Content-Length`), for responses and limits.
    pub length: Option<u64>,
}

impl ByteStream {
    pub fn new(body: Body, length: Option<u64>) -> ByteStream {
        ByteStream { body: Arc::new(Mutex::new(Some(body))), length }
    }

    pub fn from_body<B>(body: B, length: Option<u64>) -> ByteStream
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        ByteStream::new(body.map_err(Into::into).boxed_unsync(), length)
    }

    pub fn from_bytes(b: Bytes) -> ByteStream {
        let len = b.len() as u64;
        ByteStream::new(Full::new(b).map_err(|never| match never {}).boxed_unsync(), Some(len))
    }

    /// Takes the body out; a second call gets `None`.
    pub fn take(&self) -> Option<Body> {
        self.body.lock().ok()?.take()
    }

    /// Reads the whole body into memory: for tests and small payloads only.
    pub async fn collect(&self) -> Result<Bytes, BoxError> {
        match self.take() {
            Some(b) => Ok(b.collect().await?.to_bytes()),
            None => Ok(Bytes::new()),
        }
    }
}

impl PartialEq for ByteStream {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.body, &other.body)
    }
}

impl fmt::Debug for ByteStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ByteStream(length: {:?})", self.length)
    }
}

impl Default for ByteStream {
    fn default() -> Self {
        ByteStream::from_bytes(Bytes::new())
    }
}
