//! Small rules every IAM operation shares: name and path validation, pagination, tags,
//! ids, and the URL-encoding IAM puts on policy documents in its responses.

use crate::error::{IamError, Result};
use nubo_model::generated::iam::Tag;

/// `[\w+=,.@-]+`, 1 to `max` characters: IAM's pattern for user, group, role and policy names.
pub fn check_name(member: &str, value: &str, max: usize) -> Result<()> {
    let ok = !value.is_empty()
        && value.chars().count() <= max
        && value.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if ok {
        Ok(())
    } else if value.is_empty() || value.chars().count() > max {
        Err(IamError::ValidationError(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must have length less than or equal to {max}"
        )))
    } else {
        Err(IamError::ValidationError(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
        )))
    }
}

/// A path is `/` or `/segment/…/`, at most 512 characters.
pub fn check_path(path: &str) -> Result<()> {
    let ok = path == "/" || (path.len() <= 512 && path.starts_with('/') && path.ends_with('/') && !path.contains("//"));
    if ok && path.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c)) {
        Ok(())
    } else {
        Err(IamError::ValidationError(
            "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.".into(),
        ))
    }
}

/// An IAM unique id: a 4-letter prefix naming the kind, then 17 upper-case letters and digits.
pub fn unique_id(prefix: &str) -> String {
    format!("{prefix}{}", nubo_core::ids::random_string(nubo_core::ids::UPPER_ALNUM, 17))
}

/// One page of `items` after `marker` (an index IAM hands back as an opaque string).
pub struct Page<T> {
    pub items: Vec<T>,
    pub is_truncated: bool,
    pub marker: Option<String>,
}

pub fn paginate<T>(items: Vec<T>, marker: Option<&str>, max_items: Option<i32>) -> Result<Page<T>> {
    let start = match marker {
        Some(m) => m.parse::<usize>().map_err(|_| IamError::InvalidInput("Invalid Marker.".into()))?,
        None => 0,
    };
    let max = max_items.unwrap_or(100);
    if !(1..=1000).contains(&max) {
        return Err(IamError::ValidationError(format!(
            "1 validation error detected: Value '{max}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000"
        )));
    }
    let total = items.len();
    let end = start.saturating_add(max as usize).min(total);
    let items: Vec<T> = items.into_iter().skip(start).take(end.saturating_sub(start)).collect();
    let is_truncated = end < total;
    Ok(Page { items, is_truncated, marker: is_truncated.then(|| end.to_string()) })
}

pub fn tags_in(tags: Option<Vec<Tag>>) -> Result<Vec<(String, String)>> {
    let tags: Vec<(String, String)> = tags.unwrap_or_default().into_iter().map(|t| (t.key, t.value)).collect();
    if tags.len() > 50 {
        return Err(IamError::LimitExceeded("The number of tags has reached the maximum limit.".into()));
    }
    Ok(tags)
}

pub fn tags_out(tags: &[(String, String)]) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag { key: k.clone(), value: v.clone() }).collect()
}

/// Adds or replaces tags (keys compare case-insensitively, as IAM's do).
pub fn merge_tags(existing: &mut Vec<(String, String)>, new: Vec<Tag>) -> Result<()> {
    for t in new {
        match existing.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(&t.key)) {
            Some(e) => *e = (t.key, t.value),
            None => existing.push((t.key, t.value)),
        }
    }
    if existing.len() > 50 {
        return Err(IamError::LimitExceeded("The number of tags has reached the maximum limit.".into()));
    }
    Ok(())
}

pub fn remove_tags(existing: &mut Vec<(String, String)>, keys: &[String]) {
    existing.retain(|(k, _)| !keys.iter().any(|r| r.eq_ignore_ascii_case(k)));
}

/// IAM returns policy documents URL-encoded (clients decode them: boto3 into a dict).
pub fn encode_document(doc: &str) -> String {
    const SET: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'*');
    percent_encoding::utf8_percent_encode(doc, SET).to_string()
}

/// Policy documents arrive as JSON text; clients may also send them URL-encoded.
pub fn decode_document(doc: &str) -> String {
    if doc.trim_start().starts_with('%') {
        percent_encoding::percent_decode_str(doc).decode_utf8_lossy().into_owned()
    } else {
        doc.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_iams_pattern() {
        assert!(check_name("userName", "user-1+ops@x.y", 64).is_ok());
        assert!(check_name("userName", "bad name", 64).is_err());
        assert!(check_name("userName", &"a".repeat(65), 64).is_err());
    }

    #[test]
    fn paths_begin_and_end_with_a_slash() {
        assert!(check_path("/").is_ok());
        assert!(check_path("/eng/dev/").is_ok());
        assert!(check_path("eng/").is_err());
        assert!(check_path("/eng").is_err());
    }

    #[test]
    fn pages_hand_back_a_marker_until_the_end() {
        let p = paginate((0..5).collect(), None, Some(2)).unwrap();
        assert_eq!((p.items, p.is_truncated, p.marker.as_deref()), (vec![0, 1], true, Some("2")));
        let p = paginate((0..5).collect(), Some("4"), Some(2)).unwrap();
        assert_eq!((p.items, p.is_truncated), (vec![4], false));
    }

    #[test]
    fn documents_round_trip_through_url_encoding() {
        let doc = r#"{"Version":"2012-10-17","Statement":[]}"#;
        assert_eq!(decode_document(&encode_document(doc)), doc);
    }
}
