//! `aws-chunked`: the framing SDKs use to stream a body with per-chunk signatures and
//! trailing checksums (`Content-Encoding: aws-chunked`, `x-amz-content-sha256:
//! STREAMING-…`). Each chunk is `<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n`; a
//! zero-size chunk ends the data and is followed by trailer lines and a blank line.
//!
//! The decoder is push-based: feed it what arrives, take the data it yields, read the
//! trailers at the end. Given a [`ChunkSigner`] (IAM enforced, `STREAMING-AWS4-HMAC-
//! SHA256-PAYLOAD`), it checks each chunk's signature as the chunk ends, chained from the
//! request's seed signature: a wrong one fails the body, so the upload is not kept.

use bytes::{Buf, Bytes, BytesMut};
use sha2::{Digest, Sha256};

/// Checks the chain of chunk signatures of a signed streaming upload.
pub struct ChunkSigner {
    key: Vec<u8>,
    amz_date: String,
    scope: String,
    previous: String,
    hasher: Sha256,
    expected: Option<String>,
}

impl std::fmt::Debug for ChunkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkSigner").field("scope", &self.scope).field("previous", &self.previous).finish()
    }
}

impl ChunkSigner {
    /// `key` is the request's signing key, `seed` the request's own signature.
    pub fn new(key: Vec<u8>, amz_date: &str, scope: &str, seed: &str) -> ChunkSigner {
        ChunkSigner { key, amz_date: amz_date.into(), scope: scope.into(), previous: seed.into(), hasher: Sha256::new(), expected: None }
    }

    /// The signature the chunk whose data hashed to `data_sha256` must carry.
    fn next(&mut self, data_sha256: &str) -> String {
        let sts = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{}\n{}\n{data_sha256}",
            self.amz_date,
            self.scope,
            self.previous,
            crate::verify::sha256_hex(b"")
        );
        let sig = crate::verify::hex(&crate::verify::hmac(&self.key, sts.as_bytes()));
        self.previous = sig.clone();
        sig
    }

    fn start(&mut self, header: &str) -> Result<(), ChunkError> {
        let sig = header.split(';').skip(1).find_map(|ext| ext.trim().strip_prefix("chunk-signature=")).map(str::to_string);
        self.expected = Some(sig.ok_or_else(|| ChunkError("a chunk of a signed streaming upload has no chunk-signature".into()))?);
        self.hasher = Sha256::new();
        Ok(())
    }

    fn end(&mut self) -> Result<(), ChunkError> {
        let digest = crate::verify::hex(&std::mem::take(&mut self.hasher).finalize());
        let want = self.next(&digest);
        match self.expected.take() {
            Some(got) if got.eq_ignore_ascii_case(&want) => Ok(()),
            _ => Err(ChunkError(SIGNATURE_MISMATCH.into())),
        }
    }
}

/// Whether a request's body uses the aws-chunked framing.
pub fn is_aws_chunked(content_encoding: Option<&str>, content_sha256: Option<&str>) -> bool {
    content_encoding.is_some_and(|e| e.split(',').any(|x| x.trim().eq_ignore_ascii_case("aws-chunked")))
        || content_sha256.is_some_and(|s| s.starts_with("STREAMING-"))
}

#[derive(Debug, PartialEq, Eq)]
pub struct ChunkError(pub String);

const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your key and signing method.";

impl ChunkError {
    /// A chunk whose signature is wrong (as opposed to broken framing).
    pub fn is_signature_mismatch(&self) -> bool {
        self.0 == SIGNATURE_MISMATCH
    }
}

enum State {
    Header,
    Data(usize),
    DataEnd,
    Trailers,
    Done,
}

pub struct ChunkDecoder {
    buf: BytesMut,
    state: State,
    trailers: Vec<(String, String)>,
    signer: Option<ChunkSigner>,
}

impl Default for ChunkDecoder {
    fn default() -> Self {
        ChunkDecoder { buf: BytesMut::new(), state: State::Header, trailers: Vec::new(), signer: None }
    }
}

const MAX_LINE: usize = 4096;

impl ChunkDecoder {
    pub fn new() -> ChunkDecoder {
        ChunkDecoder::default()
    }

    pub fn with_signer(signer: ChunkSigner) -> ChunkDecoder {
        ChunkDecoder { signer: Some(signer), ..ChunkDecoder::default() }
    }

    fn line(&mut self) -> Result<Option<String>, ChunkError> {
        match self.buf.windows(2).position(|w| w == b"\r\n") {
            Some(i) => {
                let line = String::from_utf8_lossy(&self.buf[..i]).into_owned();
                self.buf.advance(i + 2);
                Ok(Some(line))
            }
            None if self.buf.len() > MAX_LINE => Err(ChunkError("chunk header line too long".into())),
            None => Ok(None),
        }
    }

    /// Feeds received bytes; returns the payload bytes they complete.
    pub fn feed(&mut self, input: &[u8]) -> Result<Vec<Bytes>, ChunkError> {
        self.buf.extend_from_slice(input);
        let mut out = Vec::new();
        loop {
            match self.state {
                State::Header => {
                    let Some(line) = self.line()? else { break };
                    let size = line.split(';').next().unwrap_or("").trim();
                    let size = usize::from_str_radix(size, 16).map_err(|_| ChunkError(format!("bad chunk size {size:?}")))?;
                    if let Some(s) = &mut self.signer {
                        s.start(&line)?;
                        if size == 0 {
                            s.end()?;
                        }
                    }
                    self.state = if size == 0 { State::Trailers } else { State::Data(size) };
                }
                State::Data(left) => {
                    if self.buf.is_empty() {
                        break;
                    }
                    let n = left.min(self.buf.len());
                    let piece = self.buf.split_to(n).freeze();
                    if let Some(s) = &mut self.signer {
                        s.hasher.update(&piece);
                    }
                    out.push(piece);
                    self.state = if n == left { State::DataEnd } else { State::Data(left - n) };
                }
                State::DataEnd => {
                    if self.buf.len() < 2 {
                        break;
                    }
                    if &self.buf[..2] != b"\r\n" {
                        return Err(ChunkError("chunk data longer than its declared size".into()));
                    }
                    self.buf.advance(2);
                    if let Some(s) = &mut self.signer {
                        s.end()?;
                    }
                    self.state = State::Header;
                }
                State::Trailers => {
                    let Some(line) = self.line()? else { break };
                    if line.is_empty() {
                        self.state = State::Done;
                    } else if let Some((k, v)) = line.split_once(':') {
                        self.trailers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                    }
                }
                State::Done => break,
            }
        }
        Ok(out)
    }

    /// Ends the stream: an error if it stopped inside a chunk. A missing final blank line
    /// after the trailers is tolerated (some clients end on the last trailer's CRLF).
    pub fn finish(&self) -> Result<(), ChunkError> {
        match self.state {
            State::Done | State::Trailers => Ok(()),
            _ => Err(ChunkError("the aws-chunked body ended before its final chunk".into())),
        }
    }

    /// Trailer headers (lower-case names), e.g. `x-amz-checksum-crc32`.
    pub fn trailer(&self, name: &str) -> Option<&str> {
        self.trailers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_pieces(wire: &[u8], piece: usize) -> (Vec<u8>, ChunkDecoder) {
        let mut d = ChunkDecoder::new();
        let mut data = Vec::new();
        for p in wire.chunks(piece) {
            for b in d.feed(p).unwrap() {
                data.extend_from_slice(&b);
            }
        }
        d.finish().unwrap();
        (data, d)
    }

    #[test]
    fn decodes_signed_chunks_and_trailers_however_the_bytes_arrive() {
        let wire = b"5;chunk-signature=abc\r\nhello\r\n6;chunk-signature=def\r\n world\r\n0;chunk-signature=0\r\nx-amz-checksum-crc32:DUoRhQ==\r\nx-amz-trailer-signature:zz\r\n\r\n";
        for piece in [1, 2, 3, 7, 1000] {
            let (data, d) = decode_in_pieces(wire, piece);
            assert_eq!(data, b"hello world", "piece {piece}");
            assert_eq!(d.trailer("x-amz-checksum-crc32"), Some("DUoRhQ=="));
        }
    }

    #[test]
    fn decodes_unsigned_chunks() {
        let (data, d) = decode_in_pieces(b"3\r\nabc\r\n0\r\n\r\n", 4);
        assert_eq!(data, b"abc");
        assert_eq!(d.trailer("x-amz-checksum-crc32"), None);
    }

    #[test]
    fn rejects_bad_framing() {
        assert!(ChunkDecoder::new().feed(b"zz\r\n").is_err());
        assert!(ChunkDecoder::new().feed(b"2\r\nabc\r\n").is_err());
        let mut d = ChunkDecoder::new();
        d.feed(b"5\r\nhel").unwrap();
        assert!(d.finish().is_err());
    }

    #[tokio::test]
    async fn body_adapter_yields_data_then_trailers() {
        use http_body_util::BodyExt;
        let wire = bytes::Bytes::from_static(b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:abc=\r\n\r\n");
        let body = AwsChunkedBody::new(http_body_util::Full::new(wire));
        let collected = body.collect().await.unwrap();
        assert_eq!(collected.trailers().unwrap().get("x-amz-checksum-crc32").unwrap(), "abc=");
        assert_eq!(&collected.to_bytes()[..], b"hello");
    }

    /// The example of S3's "Signature Calculations for the Authorization Header:
    /// Transferring Payload in Multiple Chunks": 65 KiB + 1 KiB of 'a', seed signature 4f23….
    #[test]
    fn checks_the_documented_chain_of_chunk_signatures() {
        let key = crate::verify::signing_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1", "s3");
        let signer = || {
            ChunkSigner::new(key.clone(), "20130524T000000Z", "20130524/us-east-1/s3/aws4_request", "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")
        };
        let mut wire = Vec::new();
        wire.extend_from_slice(b"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n");
        wire.extend(std::iter::repeat_n(b'a', 65536));
        wire.extend_from_slice(b"\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n");
        wire.extend(std::iter::repeat_n(b'a', 1024));
        wire.extend_from_slice(b"\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n");
        let mut d = ChunkDecoder::with_signer(signer());
        let n: usize = wire.chunks(1000).map(|p| d.feed(p).unwrap().iter().map(|b| b.len()).sum::<usize>()).sum();
        assert_eq!(n, 66560);
        d.finish().unwrap();

        let mut tampered = wire.clone();
        tampered[200] = b'b';
        let mut d = ChunkDecoder::with_signer(signer());
        assert!(tampered.chunks(1000).map(|p| d.feed(p)).any(|r| r.is_err()));
    }

    #[test]
    fn detects_the_framing() {
        assert!(is_aws_chunked(Some("aws-chunked"), None));
        assert!(is_aws_chunked(None, Some("STREAMING-UNSIGNED-PAYLOAD-TRAILER")));
        assert!(!is_aws_chunked(Some("gzip"), Some("UNSIGNED-PAYLOAD")));
    }
}

/// An HTTP body that unframes an aws-chunked body: data frames with the payload, then one
/// trailers frame with the trailing headers (`x-amz-checksum-*`), as HTTP trailers.
pub struct AwsChunkedBody<B> {
    inner: B,
    decoder: ChunkDecoder,
    pending: std::collections::VecDeque<Bytes>,
    done: bool,
    trailers_sent: bool,
}

impl<B> AwsChunkedBody<B> {
    pub fn new(inner: B) -> Self {
        AwsChunkedBody { inner, decoder: ChunkDecoder::new(), pending: Default::default(), done: false, trailers_sent: false }
    }

    /// A body whose chunk signatures are checked.
    pub fn signed(inner: B, signer: ChunkSigner) -> Self {
        AwsChunkedBody { inner, decoder: ChunkDecoder::with_signer(signer), pending: Default::default(), done: false, trailers_sent: false }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl std::fmt::Display for ChunkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ChunkError {}

impl<B> http_body::Body for AwsChunkedBody<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        use std::task::Poll;
        let this = &mut *self;
        loop {
            if let Some(b) = this.pending.pop_front() {
                return Poll::Ready(Some(Ok(http_body::Frame::data(b))));
            }
            if this.done {
                if !this.trailers_sent {
                    this.trailers_sent = true;
                    let mut map = http::HeaderMap::new();
                    for (k, v) in &this.decoder.trailers {
                        if let (Ok(k), Ok(v)) = (http::HeaderName::from_bytes(k.as_bytes()), http::HeaderValue::from_str(v)) {
                            map.append(k, v);
                        }
                    }
                    if !map.is_empty() {
                        return Poll::Ready(Some(Ok(http_body::Frame::trailers(map))));
                    }
                }
                return Poll::Ready(None);
            }
            match std::pin::Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e.into()))),
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        match this.decoder.feed(&data) {
                            Ok(pieces) => this.pending.extend(pieces),
                            Err(e) => return Poll::Ready(Some(Err(Box::new(e)))),
                        }
                    }
                }
                Poll::Ready(None) => {
                    if let Err(e) = this.decoder.finish() {
                        return Poll::Ready(Some(Err(Box::new(e))));
                    }
                    this.done = true;
                }
            }
        }
    }
}
