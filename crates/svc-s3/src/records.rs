//! What S3 keeps in the store: buckets, objects, multipart uploads and their parts.
//!
//! Objects are keyed `bucket \0 key \0` so a bucket's keys scan in S3's (byte) order and a
//! prefix listing is one range. Object data lives in blobs; a record lists the blobs
//! (segments) that make up its bytes: one for a simple PUT, one per part for a
//! completed multipart upload, so completing an upload moves no data.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const BUCKETS: &str = "s3.buckets";
pub const OBJECTS: &str = "s3.objects";
pub const UPLOADS: &str = "s3.uploads";
pub const PARTS: &str = "s3.parts";
/// Every version of every object of a versioning bucket, keyed `bucket \0 key \0 <order>`
/// where `<order>` sorts a key's versions newest first (the first 16 characters of a
/// version id; null versions get one of their own).
pub const VERSIONS: &str = "s3.versions";

pub fn version_key(bucket: &str, key: &str, order: &str) -> Vec<u8> {
    nubo_store::key::key(&[bucket, key, order])
}

/// The scan prefix of one key's versions.
pub fn versions_of_key(bucket: &str, key: &str) -> Vec<u8> {
    nubo_store::key::key(&[bucket, key])
}

pub fn bucket_key(bucket: &str) -> Vec<u8> {
    nubo_store::key::key(&[bucket])
}

pub fn object_key(bucket: &str, key: &str) -> Vec<u8> {
    nubo_store::key::key(&[bucket, key])
}

/// The scan prefix of a bucket's objects whose keys start with `prefix`.
pub fn objects_prefix(bucket: &str, prefix: &str) -> Vec<u8> {
    let mut k = nubo_store::key::key(&[bucket]);
    k.extend_from_slice(prefix.as_bytes());
    k
}

pub fn upload_key(bucket: &str, key: &str, upload_id: &str) -> Vec<u8> {
    nubo_store::key::key(&[bucket, key, upload_id])
}

pub fn part_key(upload_id: &str, part: i32) -> Vec<u8> {
    nubo_store::key::key(&[upload_id, &format!("{part:05}")])
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BucketRecord {
    pub name: String,
    pub account: String,
    pub region: String,
    pub created_ms: i64,
    #[serde(default)]
    pub tags: Option<Vec<(String, String)>>,
    /// `Enabled` or `Suspended` once versioning was ever configured; `None` before.
    #[serde(default)]
    pub versioning: Option<String>,
    /// The bucket's configurations (`cors`, `policy`, `lifecycle`, …) as decoded from the
    /// request that set them, read back through the same generated shapes.
    #[serde(default)]
    pub config: std::collections::BTreeMap<String, nubo_model::Value>,
}

/// The content headers of a request that creates an object (`PutObject`,
/// `CreateMultipartUpload`, `CopyObject` with `REPLACE`): the generated input types differ,
/// their member names do not.
macro_rules! content_headers {
    ($input:expr) => {
        $crate::records::ContentHeaders {
            content_type: $input.content_type,
            content_encoding: $input.content_encoding,
            content_disposition: $input.content_disposition,
            content_language: $input.content_language,
            cache_control: $input.cache_control,
            expires: $input.expires,
            website_redirect_location: $input.website_redirect_location,
        }
    };
}
pub(crate) use content_headers;

/// The headers an object is stored with and served back with.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ContentHeaders {
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub content_disposition: Option<String>,
    pub content_language: Option<String>,
    pub cache_control: Option<String>,
    pub expires: Option<String>,
    pub website_redirect_location: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Segment {
    pub blob: String,
    pub size: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Checksum {
    /// `CRC32`, `CRC32C`, `CRC64NVME`, `SHA1`, `SHA256`.
    pub algorithm: String,
    /// Base64, with `-N` for a multipart composite.
    pub value: String,
    /// `FULL_OBJECT` or `COMPOSITE`.
    pub kind: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObjectRecord {
    pub size: u64,
    /// With its quotes, as S3 sends it: `"9b2cf535f27731c974343645a3985328"`.
    pub etag: String,
    pub last_modified_ms: i64,
    pub segments: Vec<Segment>,
    pub headers: ContentHeaders,
    pub metadata: BTreeMap<String, String>,
    pub storage_class: String,
    pub checksum: Option<Checksum>,
    pub tags: Vec<(String, String)>,
    /// Parts of a multipart object.
    pub parts_count: Option<u32>,
    /// Set in buckets that have versioning configured (`null` for null versions).
    #[serde(default)]
    pub version_id: Option<String>,
    /// Where the version sorts among its key's versions (see [`VERSIONS`]).
    #[serde(default)]
    pub version_order: Option<String>,
    #[serde(default)]
    pub delete_marker: bool,
    /// The canned ACL the object was given (`private` when none).
    #[serde(default)]
    pub acl: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UploadRecord {
    pub upload_id: String,
    pub key: String,
    pub initiated_ms: i64,
    pub headers: ContentHeaders,
    pub metadata: BTreeMap<String, String>,
    pub storage_class: String,
    pub checksum_algorithm: Option<String>,
    /// `COMPOSITE` or `FULL_OBJECT`: how the object's checksum derives from the parts'.
    #[serde(default)]
    pub checksum_type: Option<String>,
    pub tags: Vec<(String, String)>,
    pub owner: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartRecord {
    pub part_number: i32,
    pub blob: String,
    pub size: u64,
    /// Hex MD5 of the part: the part's ETag without quotes.
    pub md5: String,
    pub last_modified_ms: i64,
    pub checksum: Option<Checksum>,
}
