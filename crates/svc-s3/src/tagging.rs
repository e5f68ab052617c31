//! Tag sets of objects and buckets, with S3's limits.

use crate::error::{Result, S3Error};
use nubo_model::generated::s3::Tag;

/// Checks a tag set: at most `max` tags (10 per object, 50 per bucket), keys of 1–128 and
/// values of up to 256 characters, no duplicate keys.
pub fn validate(tags: Vec<Tag>, max: usize) -> Result<Vec<(String, String)>> {
    if tags.len() > max {
        return Err(S3Error::InvalidTag(format!("Object tags cannot be greater than {max}")));
    }
    let mut out: Vec<(String, String)> = Vec::with_capacity(tags.len());
    for t in tags {
        if t.key.is_empty() || t.key.chars().count() > 128 {
            return Err(S3Error::InvalidTag("The TagKey you have provided is invalid".into()));
        }
        if t.value.chars().count() > 256 {
            return Err(S3Error::InvalidTag("The TagValue you have provided is invalid".into()));
        }
        if out.iter().any(|(k, _)| *k == t.key) {
            return Err(S3Error::InvalidTag("Cannot provide multiple Tags with the same key".into()));
        }
        out.push((t.key, t.value));
    }
    Ok(out)
}

/// The `x-amz-tagging` header form: `k1=v1&k2=v2`.
pub fn parse_header(header: Option<&str>) -> Result<Vec<(String, String)>> {
    let Some(h) = header.filter(|h| !h.is_empty()) else { return Ok(Vec::new()) };
    let tags = form_urlencoded::parse(h.as_bytes()).map(|(k, v)| Tag { key: k.into_owned(), value: v.into_owned() }).collect();
    validate(tags, 10)
}

pub fn to_tags(tags: Vec<(String, String)>) -> Vec<Tag> {
    tags.into_iter().map(|(key, value)| Tag { key, value }).collect()
}
