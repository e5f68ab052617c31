//! Request bodies that clients compress (`Content-Encoding: gzip`, the models'
//! `requestcompression`, as CloudWatch's `PutMetricData`).

use bytes::Bytes;
use http::HeaderMap;
use nubo_core::AwsError;
use std::io::Read;

/// Whether the request says its body is gzipped.
pub fn is_gzipped(headers: &HeaderMap) -> bool {
    headers
        .get_all(http::header::CONTENT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|e| e.trim().eq_ignore_ascii_case("gzip")))
}

/// Gunzips the body (to at most `limit` bytes) and removes `gzip` from `Content-Encoding`,
/// so what is left there is the encoding the caller declared for its own content.
pub fn decompress(headers: &mut HeaderMap, body: &Bytes, limit: usize) -> Result<Bytes, AwsError> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&body[..])
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| AwsError::new("SerializationException", 400, format!("Invalid gzip request body: {e}")))?;
    if out.len() > limit {
        return Err(AwsError::new("RequestEntityTooLarge", 413, "Decompressed request body is too large"));
    }
    let rest: Vec<String> = headers
        .get_all(http::header::CONTENT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("gzip"))
        .map(str::to_string)
        .collect();
    headers.remove(http::header::CONTENT_ENCODING);
    if !rest.is_empty() {
        if let Ok(v) = rest.join(", ").parse() {
            headers.insert(http::header::CONTENT_ENCODING, v);
        }
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8]) -> Bytes {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        Bytes::from(e.finish().unwrap())
    }

    #[test]
    fn gunzips_and_keeps_the_callers_own_encoding() {
        let mut h = HeaderMap::new();
        h.insert(http::header::CONTENT_ENCODING, "custom, gzip".parse().unwrap());
        assert!(is_gzipped(&h));
        let out = decompress(&mut h, &gz(b"Action=ListMetrics"), 1 << 20).unwrap();
        assert_eq!(&out[..], b"Action=ListMetrics");
        assert_eq!(h.get(http::header::CONTENT_ENCODING).unwrap(), "custom");
    }

    #[test]
    fn refuses_bombs_and_garbage() {
        let mut h = HeaderMap::new();
        assert_eq!(decompress(&mut h, &gz(&vec![0u8; 4096]), 1024).unwrap_err().status, 413);
        assert_eq!(decompress(&mut h, &Bytes::from_static(b"not gzip"), 1024).unwrap_err().status, 400);
    }
}
