//! Object data in and out: an upload streams into a blob while its digests are computed;
//! a download streams the blobs of an object's byte range. Neither holds more than a
//! chunk in memory, whatever the object's size.

use crate::checksum::{b64, Algorithm, Hasher};
use crate::error::{Result, S3Error};
use crate::records::Segment;
use bytes::Bytes;
use http_body_util::BodyExt;
use nubo_model::ByteStream;
use nubo_store::blobs::BlobStore;
use std::pin::Pin;
use std::task::{Context, Poll};

/// What arrived: the blob holding it and its digests.
pub struct Received {
    pub blob: String,
    pub size: u64,
    pub md5: [u8; 16],
    /// The checksum nubo computed (base64), if the client asked for one.
    pub checksum: Option<(Algorithm, String)>,
}

/// The checksum a request carries: in a header, or announced for the trailer.
pub struct Expected {
    pub algorithm: Option<Algorithm>,
    pub value: Option<String>,
    pub content_md5: Option<String>,
}

/// Streams a request body into a new blob, checking its digests; a checksum sent as an
/// HTTP trailer (aws-chunked uploads, unframed by the gateway) is checked like a header
/// one. Nothing is kept if a check fails.
pub async fn receive(blobs: &BlobStore, body: Option<ByteStream>, expected: Expected) -> Result<Received> {
    let content_md5 = match &expected.content_md5 {
        Some(m) => {
            let raw = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, m.trim()).map_err(|_| S3Error::InvalidDigest)?;
            Some(<[u8; 16]>::try_from(raw.as_slice()).map_err(|_| S3Error::InvalidDigest)?)
        }
        None => None,
    };
    let mut hasher = Hasher::new(expected.algorithm);
    let mut writer = blobs.writer().await?;
    let mut trailer = None;
    if let Some(mut body) = body.and_then(|b| b.take()) {
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| match e.downcast_ref::<nubo_core::AwsError>() {
                Some(aws) => S3Error::Stream(aws.clone()),
                None => S3Error::IncompleteBody(format!("The request body could not be read: {e}")),
            })?;
            match frame.into_data() {
                Ok(data) => {
                    hasher.update(&data);
                    writer.write(&data).await?;
                }
                Err(frame) => {
                    if let (Ok(trailers), Some(a)) = (frame.into_trailers(), expected.algorithm) {
                        trailer = trailers.get(a.header()).and_then(|v| v.to_str().ok()).map(str::to_string);
                    }
                }
            }
        }
    }
    let size = writer.len();
    let (md5, checksum) = hasher.finish();
    if content_md5.is_some_and(|m| m != md5) {
        return Err(S3Error::BadDigest("The Content-MD5 you specified did not match what we received.".into()));
    }
    let checksum = checksum.map(|(a, raw)| (a, b64(&raw)));
    if let (Some((a, got)), Some(want)) = (&checksum, expected.value.as_ref().or(trailer.as_ref())) {
        if got != want {
            return Err(S3Error::BadDigest(format!("The {} you specified did not match the calculated checksum.", a.name())));
        }
    }
    let blob = writer.finish().await?;
    Ok(Received { blob, size, md5, checksum })
}

/// Segments opened before a download is answered: an overwrite that frees them afterwards
/// cannot cut the download short (an open file outlives its unlinking). Objects with more
/// parts open the rest as the stream reaches them.
const OPEN_AHEAD: usize = 256;

/// Streams `len` bytes from `start` of the data spread over `segments`.
pub async fn serve(blobs: &BlobStore, segments: &[Segment], start: u64, len: u64) -> std::io::Result<ByteStream> {
    // The byte range of each segment the read touches.
    let mut pieces = Vec::new();
    let (mut offset, mut left) = (start, len);
    for seg in segments {
        if left == 0 {
            break;
        }
        if offset >= seg.size {
            offset -= seg.size;
            continue;
        }
        let n = (seg.size - offset).min(left);
        pieces.push((seg.blob.clone(), offset, n));
        left -= n;
        offset = 0;
    }
    let mut opened = Vec::new();
    for (blob, offset, n) in pieces.iter().take(OPEN_AHEAD) {
        opened.push(blobs.read(blob, *offset, *n).await?);
    }
    let rest: Vec<_> = pieces.into_iter().skip(OPEN_AHEAD).collect();
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    let blobs = blobs.clone();
    tokio::spawn(async move {
        let mut later = rest.into_iter();
        let mut opened = opened.into_iter();
        loop {
            let mut reader = match opened.next() {
                Some(r) => r,
                None => match later.next() {
                    None => return,
                    Some((blob, offset, n)) => match blobs.read(&blob, offset, n).await {
                        Ok(r) => r,
                        Err(e) => {
                            let _ = tx.send(Err(e)).await;
                            return;
                        }
                    },
                },
            };
            while let Some(frame) = reader.frame().await {
                let item = frame.map(|f| f.into_data().unwrap_or_default());
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    return;
                }
            }
        }
    });
    Ok(ByteStream::from_body(ChannelBody { rx, remaining: len }, Some(len)))
}

struct ChannelBody {
    rx: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
    remaining: u64,
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<std::result::Result<http_body::Frame<Bytes>, std::io::Error>>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(Ok(b))) => {
                self.remaining = self.remaining.saturating_sub(b.len() as u64);
                Poll::Ready(Some(Ok(http_body::Frame::data(b))))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining)
    }
}
