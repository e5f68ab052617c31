//! Conditional requests (`If-Match`, `If-None-Match`, `If-Modified-Since`,
//! `If-Unmodified-Since`) and byte ranges, as S3 evaluates them.

use crate::error::S3Error;
use nubo_core::Timestamp;

pub struct Conditions<'a> {
    pub if_match: Option<&'a str>,
    pub if_none_match: Option<&'a str>,
    pub if_modified_since: Option<Timestamp>,
    pub if_unmodified_since: Option<Timestamp>,
}

fn etag_matches(list: &str, etag: &str) -> bool {
    let bare = etag.trim_matches('"');
    list.split(',').map(|t| t.trim()).any(|t| t == "*" || t.trim_matches('"') == bare)
}

impl<'a> Conditions<'a> {
    /// The preconditions of a read (`GetObject`, `HeadObject`: same members, two types).
    pub fn of_read<T: ReadConditions>(input: &'a T) -> Conditions<'a> {
        input.conditions()
    }
}

/// Requests that carry read preconditions.
pub trait ReadConditions {
    fn conditions(&self) -> Conditions<'_>;
}

macro_rules! read_conditions {
    ($($t:ty),*) => {$(
        impl ReadConditions for $t {
            fn conditions(&self) -> Conditions<'_> {
                Conditions {
                    if_match: self.if_match.as_deref(),
                    if_none_match: self.if_none_match.as_deref(),
                    if_modified_since: self.if_modified_since,
                    if_unmodified_since: self.if_unmodified_since,
                }
            }
        }
    )*};
}
read_conditions!(nubo_model::generated::s3::GetObjectRequest, nubo_model::generated::s3::HeadObjectRequest);

impl Conditions<'_> {
    /// S3's evaluation (RFC 7232 with S3's precedence): a true `If-Match` overrides a false
    /// `If-Unmodified-Since`; a false `If-None-Match` overrides a true `If-Modified-Since`.
    /// `read`: GET/HEAD answer 304 where a write answers 412.
    pub fn check(&self, etag: &str, last_modified: Timestamp, read: bool) -> Result<(), S3Error> {
        let lm = last_modified.as_secs();
        if let Some(m) = self.if_match {
            if !etag_matches(m, etag) {
                return Err(S3Error::PreconditionFailed("If-Match"));
            }
        } else if let Some(t) = self.if_unmodified_since {
            if lm > t.as_secs() {
                return Err(S3Error::PreconditionFailed("If-Unmodified-Since"));
            }
        }
        if let Some(m) = self.if_none_match {
            if etag_matches(m, etag) {
                return Err(if read { S3Error::NotModified } else { S3Error::PreconditionFailed("If-None-Match") });
            }
        } else if let Some(t) = self.if_modified_since {
            if lm <= t.as_secs() {
                return Err(if read { S3Error::NotModified } else { S3Error::PreconditionFailed("If-Modified-Since") });
            }
        }
        Ok(())
    }
}

/// A `Range: bytes=…` header resolved against an object of `size` bytes: `Ok(None)` means
/// the whole object (no header, or one S3 ignores: malformed or with several ranges).
pub fn byte_range(header: Option<&str>, size: u64) -> Result<Option<(u64, u64)>, S3Error> {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else { return Ok(None) };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.split_once('-') else { return Ok(None) };
    let (a, b) = (a.trim(), b.trim());
    let range = match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ok(None),
        (true, false) => {
            let Ok(n) = b.parse::<u64>() else { return Ok(None) };
            if n == 0 || size == 0 {
                return Err(S3Error::InvalidRange { size });
            }
            (size.saturating_sub(n), size - 1)
        }
        (false, _) => {
            let Ok(start) = a.parse::<u64>() else { return Ok(None) };
            let end = if b.is_empty() {
                u64::MAX
            } else {
                match b.parse::<u64>() {
                    Ok(e) if e >= start => e,
                    _ => return Ok(None),
                }
            };
            if start >= size {
                return Err(S3Error::InvalidRange { size });
            }
            (start, end.min(size - 1))
        }
    };
    Ok(Some(range))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_resolve_like_s3() {
        assert_eq!(byte_range(Some("bytes=0-4"), 10).unwrap(), Some((0, 4)));
        assert_eq!(byte_range(Some("bytes=5-"), 10).unwrap(), Some((5, 9)));
        assert_eq!(byte_range(Some("bytes=-3"), 10).unwrap(), Some((7, 9)));
        assert_eq!(byte_range(Some("bytes=8-100"), 10).unwrap(), Some((8, 9)));
        assert_eq!(byte_range(Some("bytes=0-1,4-5"), 10).unwrap(), None);
        assert_eq!(byte_range(Some("garbage"), 10).unwrap(), None);
        assert!(matches!(byte_range(Some("bytes=10-"), 10), Err(S3Error::InvalidRange { size: 10 })));
        assert!(matches!(byte_range(Some("bytes=0-"), 0), Err(S3Error::InvalidRange { .. })));
    }

    #[test]
    fn preconditions_follow_s3_precedence() {
        let t = Timestamp::from_secs(1000);
        let c = |m, n, ms, us| Conditions { if_match: m, if_none_match: n, if_modified_since: ms, if_unmodified_since: us };
        assert!(c(Some("\"abc\""), None, None, None).check("\"abc\"", t, true).is_ok());
        assert!(matches!(c(Some("\"zzz\""), None, None, None).check("\"abc\"", t, true), Err(S3Error::PreconditionFailed(_))));
        assert!(matches!(c(None, Some("\"abc\""), None, None).check("\"abc\"", t, true), Err(S3Error::NotModified)));
        assert!(matches!(c(None, Some("*"), None, None).check("\"abc\"", t, false), Err(S3Error::PreconditionFailed(_))));
        assert!(matches!(c(None, None, Some(t), None).check("\"abc\"", t, true), Err(S3Error::NotModified)));
        assert!(matches!(c(None, None, None, Some(Timestamp::from_secs(999))).check("\"abc\"", t, true), Err(S3Error::PreconditionFailed(_))));
        // A true If-Match wins over a false If-Unmodified-Since.
        assert!(c(Some("\"abc\""), None, None, Some(Timestamp::from_secs(999))).check("\"abc\"", t, true).is_ok());
    }
}
