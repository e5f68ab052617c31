//! ListObjects (v1 and v2): keys in byte order under a prefix, rolled up into common
//! prefixes at a delimiter, paged, optionally URL-encoded.

use crate::error::{Result, S3Error};
use crate::records::{objects_prefix, ObjectRecord, OBJECTS};
use crate::{owner, S3};
use base64::Engine;
use nubo_core::Timestamp;
use nubo_model::generated::s3::*;
use nubo_store::scan_json;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// What a listing page holds.
pub(crate) struct Page {
    pub contents: Vec<(String, ObjectRecord)>,
    pub prefixes: Vec<String>,
    pub truncated: bool,
    /// Where the next page starts (after this key; past a whole prefix group when it ends in
    /// a common prefix), as raw bytes after the bucket's part of the store key.
    pub next: Option<Vec<u8>>,
    /// The last key or common prefix returned.
    pub last: Option<String>,
}

/// Everything but unreserved characters and `/` is encoded: both `unquote` and
/// `unquote_plus` (what clients use) read it back.
const KEY_SET: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');

pub(crate) fn encode(s: String, url: bool) -> String {
    if url {
        utf8_percent_encode(&s, KEY_SET).to_string()
    } else {
        s
    }
}

fn url_encoding(encoding_type: &Option<String>) -> Result<bool> {
    match encoding_type.as_deref() {
        None => Ok(false),
        Some("url") => Ok(true),
        Some(other) => Err(S3Error::InvalidArgument { message: "Invalid Encoding Method specified in Request".into(), name: "encoding-type", value: other.into() }),
    }
}

impl S3 {
    /// One page of keys: `after` (exclusive, raw) and `marker` (a key: common prefixes up to
    /// it are not repeated) say where the previous page ended.
    pub(crate) fn list_page(&self, bucket: &str, prefix: &str, delimiter: Option<&str>, after: Option<Vec<u8>>, marker: Option<&str>, max: usize) -> Result<Page> {
        let base = objects_prefix(bucket, "");
        let scan_prefix = objects_prefix(bucket, prefix);
        let mut cursor: Option<Vec<u8>> = after.map(|a| [base.clone(), a].concat());
        let mut page = Page { contents: Vec::new(), prefixes: Vec::new(), truncated: false, next: None, last: None };
        let delimiter = delimiter.filter(|d| !d.is_empty());
        'scan: loop {
            let batch = self.store.read(|tx| scan_json::<ObjectRecord>(tx, OBJECTS, &scan_prefix, cursor.as_deref(), 1000))?;
            if batch.is_empty() {
                break;
            }
            for (raw, rec) in batch {
                let key = String::from_utf8_lossy(&raw[base.len()..raw.len() - 1]).into_owned();
                let group = delimiter.and_then(|d| key[prefix.len()..].find(d).map(|i| key[..prefix.len() + i + d.len()].to_string()));
                let count = page.contents.len() + page.prefixes.len();
                if max == 0 {
                    break 'scan;
                }
                match group {
                    Some(cp) => {
                        // Skip the whole group: no key with this prefix is listed again.
                        let mut skip = objects_prefix(bucket, &cp);
                        skip.push(0xFF);
                        if marker.is_some_and(|m| cp.as_str() <= m) {
                            cursor = Some(skip);
                            continue 'scan;
                        }
                        if count == max {
                            page.truncated = true;
                            break 'scan;
                        }
                        page.next = Some(skip[base.len()..].to_vec());
                        page.last = Some(cp.clone());
                        page.prefixes.push(cp);
                        cursor = Some(skip);
                        continue 'scan;
                    }
                    None => {
                        if count == max {
                            page.truncated = true;
                            break 'scan;
                        }
                        page.next = Some(raw[base.len()..].to_vec());
                        page.last = Some(key.clone());
                        cursor = Some(raw);
                        page.contents.push((key, rec));
                    }
                }
            }
        }
        Ok(page)
    }

    fn object_entry(&self, key: String, rec: &ObjectRecord, url: bool, with_owner: Option<&str>) -> Object {
        Object {
            key: Some(encode(key, url)),
            last_modified: Some(Timestamp::from_millis(rec.last_modified_ms)),
            e_tag: Some(rec.etag.clone()),
            checksum_algorithm: rec.checksum.as_ref().map(|c| vec![c.algorithm.clone()]),
            checksum_type: rec.checksum.as_ref().map(|c| c.kind.clone()),
            size: Some(rec.size as i64),
            storage_class: Some(rec.storage_class.clone()),
            owner: with_owner.map(owner),
            restore_status: None,
        }
    }

    pub(crate) async fn list_objects_v2(&self, input: ListObjectsV2Request) -> Result<ListObjectsV2Output> {
        let bucket = self.bucket(&input.bucket)?;
        let url = url_encoding(&input.encoding_type)?;
        let max = input.max_keys.unwrap_or(1000).clamp(0, 1000) as usize;
        let prefix = input.prefix.clone().unwrap_or_default();
        let after = match &input.continuation_token {
            Some(t) => Some(
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(t)
                    .map_err(|_| S3Error::InvalidArgument { message: "The continuation token provided is incorrect".into(), name: "continuation-token", value: t.clone() })?,
            ),
            None => input.start_after.as_ref().map(|s| {
                let mut k = s.as_bytes().to_vec();
                k.push(0);
                k
            }),
        };
        let page = self.list_page(&input.bucket, &prefix, input.delimiter.as_deref(), after, None, max)?;
        let owner_account = input.fetch_owner.unwrap_or(false).then_some(bucket.account.as_str());
        let key_count = (page.contents.len() + page.prefixes.len()) as i32;
        Ok(ListObjectsV2Output {
            is_truncated: Some(page.truncated),
            contents: Some(page.contents.into_iter().map(|(k, r)| self.object_entry(k, &r, url, owner_account)).collect()),
            name: Some(input.bucket),
            prefix: Some(encode(prefix, url)),
            delimiter: input.delimiter.map(|d| encode(d, url)),
            max_keys: Some(max as i32),
            common_prefixes: Some(page.prefixes.into_iter().map(|p| CommonPrefix { prefix: Some(encode(p, url)) }).collect()),
            encoding_type: input.encoding_type,
            key_count: Some(key_count),
            continuation_token: input.continuation_token,
            next_continuation_token: page.truncated.then(|| page.next.map(|n| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(n))).flatten(),
            start_after: input.start_after.map(|s| encode(s, url)),
            request_charged: None,
        })
    }

    pub(crate) async fn list_objects(&self, input: ListObjectsRequest) -> Result<ListObjectsOutput> {
        let bucket = self.bucket(&input.bucket)?;
        let url = url_encoding(&input.encoding_type)?;
        let max = input.max_keys.unwrap_or(1000).clamp(0, 1000) as usize;
        let prefix = input.prefix.clone().unwrap_or_default();
        let after = input.marker.as_ref().map(|m| {
            let mut k = m.as_bytes().to_vec();
            k.push(0);
            k
        });
        let page = self.list_page(&input.bucket, &prefix, input.delimiter.as_deref(), after, input.marker.as_deref(), max)?;
        // S3 gives NextMarker only with a delimiter; without one, clients use the last key.
        let next_marker = (page.truncated && input.delimiter.is_some()).then(|| page.last.clone()).flatten();
        Ok(ListObjectsOutput {
            is_truncated: Some(page.truncated),
            marker: Some(encode(input.marker.unwrap_or_default(), url)),
            next_marker: next_marker.map(|m| encode(m, url)),
            contents: Some(page.contents.into_iter().map(|(k, r)| self.object_entry(k, &r, url, Some(&bucket.account))).collect()),
            name: Some(input.bucket),
            prefix: Some(encode(prefix, url)),
            delimiter: input.delimiter.map(|d| encode(d, url)),
            max_keys: Some(max as i32),
            common_prefixes: Some(page.prefixes.into_iter().map(|p| CommonPrefix { prefix: Some(encode(p, url)) }).collect()),
            encoding_type: input.encoding_type,
            request_charged: None,
        })
    }
}
