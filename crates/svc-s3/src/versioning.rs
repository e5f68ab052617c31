//! Versioning: version ids, delete markers, and the versions listing.
//!
//! In a bucket that has versioning configured, every write adds a version to
//! [`VERSIONS`](crate::records::VERSIONS) and the current version is mirrored in
//! `OBJECTS` (so plain reads and listings stay one lookup); a delete without a version id
//! adds a delete marker and removes the mirror. Enabling versioning turns the bucket's
//! existing objects into `null` versions in the same transaction, so no code path has to
//! know about objects from before.

use crate::error::{Result, S3Error};
use crate::listing::encode;
use crate::records::{bucket_key, object_key, objects_prefix, version_key, versions_of_key, BucketRecord, ObjectRecord, BUCKETS, OBJECTS, VERSIONS};
use crate::{owner, S3};
use nubo_core::Timestamp;
use nubo_model::generated::s3::*;
use nubo_store::{get_json, put_json, scan_json, ReadTxn, WriteTxn};

const META: &str = "s3.meta";
const VERSION_SEQUENCE: &[u8] = b"version-sequence";

/// The version a write creates: its id and its sort order among the key's versions.
pub(crate) struct NewVersion {
    pub id: String,
    pub order: String,
}

impl S3 {
    /// A fresh version: ids sort newest first because they start with the inverted
    /// sequence, which is clock time in microseconds kept strictly increasing in the store
    /// (so neither a clock jump nor a restart can make a new version sort as older).
    pub(crate) fn new_version(&self, tx: &mut dyn WriteTxn, null: bool) -> Result<NewVersion> {
        let now = (self.clock.now().as_millis().max(0) as u64) * 1000;
        let last = get_json::<u64>(tx, META, VERSION_SEQUENCE)?.unwrap_or(0);
        let seq = last.max(now) + 1;
        put_json(tx, META, VERSION_SEQUENCE, &seq)?;
        let order = format!("{:016x}", u64::MAX - seq);
        let id = if null { "null".to_string() } else { format!("{order}{}", nubo_core::ids::random_string(nubo_core::ids::ALNUM, 16)) };
        Ok(NewVersion { id, order })
    }

    pub(crate) async fn put_bucket_versioning(&self, input: PutBucketVersioningRequest) -> Result<()> {
        let status = input.versioning_configuration.status.ok_or(S3Error::MalformedXml)?;
        if status != "Enabled" && status != "Suspended" {
            return Err(S3Error::MalformedXml);
        }
        let name = input.bucket;
        self.store.write(|tx| -> Result<()> {
            let mut b = get_json::<BucketRecord>(tx, BUCKETS, &bucket_key(&name))?.ok_or_else(|| S3Error::NoSuchBucket(name.clone()))?;
            if b.versioning.is_none() {
                let first = self.new_version(tx, true)?;
                // The bucket's objects become null versions.
                let objects = scan_json::<ObjectRecord>(tx, OBJECTS, &objects_prefix(&name, ""), None, usize::MAX)?;
                let base = objects_prefix(&name, "").len();
                for (raw, mut rec) in objects {
                    let key = String::from_utf8_lossy(&raw[base..raw.len() - 1]).into_owned();
                    rec.version_id = Some("null".into());
                    rec.version_order = Some(first.order.clone());
                    put_json(tx, VERSIONS, &version_key(&name, &key, &first.order), &rec)?;
                    put_json(tx, OBJECTS, &raw, &rec)?;
                }
            }
            b.versioning = Some(status.clone());
            put_json(tx, BUCKETS, &bucket_key(&name), &b)?;
            Ok(())
        })
    }

    pub(crate) async fn get_bucket_versioning(&self, input: GetBucketVersioningRequest) -> Result<GetBucketVersioningOutput> {
        let b = self.bucket(&input.bucket)?;
        Ok(GetBucketVersioningOutput { status: b.versioning, mfa_delete: None })
    }

    /// A key's versions, newest first.
    pub(crate) fn versions(tx: &(impl ReadTxn + ?Sized), bucket: &str, key: &str) -> Result<Vec<ObjectRecord>> {
        Ok(scan_json::<ObjectRecord>(tx, VERSIONS, &versions_of_key(bucket, key), None, usize::MAX)?.into_iter().map(|(_, r)| r).collect())
    }

    /// Records `record` as a new version of `key` (replacing the null version when
    /// versioning is suspended) and makes it current. Returns the blobs of what it replaced.
    pub(crate) fn write_version(&self, tx: &mut dyn WriteTxn, bucket: &BucketRecord, key: &str, record: &mut ObjectRecord) -> Result<Vec<String>> {
        let suspended = bucket.versioning.as_deref() == Some("Suspended");
        let v = self.new_version(tx, suspended)?;
        let mut freed = Vec::new();
        if suspended {
            for old in Self::versions(tx, &bucket.name, key)?.into_iter().filter(|o| o.version_id.as_deref() == Some("null")) {
                tx.delete(VERSIONS, &version_key(&bucket.name, key, old.version_order.as_deref().unwrap_or("")))?;
                freed.extend(old.segments.into_iter().map(|s| s.blob));
            }
        }
        record.version_id = Some(v.id);
        record.version_order = Some(v.order.clone());
        put_json(tx, VERSIONS, &version_key(&bucket.name, key, &v.order), record)?;
        if record.delete_marker {
            tx.delete(OBJECTS, &object_key(&bucket.name, key))?;
        } else {
            put_json(tx, OBJECTS, &object_key(&bucket.name, key), record)?;
        }
        Ok(freed)
    }

    /// Finds a version by id.
    pub(crate) fn find_version(tx: &(impl ReadTxn + ?Sized), bucket: &str, key: &str, version_id: &str) -> Result<Option<ObjectRecord>> {
        if version_id != "null" && version_id.len() > 16 && version_id.is_ascii() {
            let found = get_json::<ObjectRecord>(tx, VERSIONS, &version_key(bucket, key, &version_id[..16]))?;
            return Ok(found.filter(|r| r.version_id.as_deref() == Some(version_id)));
        }
        Ok(Self::versions(tx, bucket, key)?.into_iter().find(|r| r.version_id.as_deref() == Some(version_id)))
    }

    /// Deletes one version for good, and makes the newest remaining one current.
    /// Returns the deleted version and the blobs to free.
    pub(crate) fn delete_version(&self, tx: &mut dyn WriteTxn, bucket: &str, key: &str, version_id: &str) -> Result<Option<(ObjectRecord, Vec<String>)>> {
        let Some(rec) = Self::find_version(tx, bucket, key, version_id)? else { return Ok(None) };
        tx.delete(VERSIONS, &version_key(bucket, key, rec.version_order.as_deref().unwrap_or("")))?;
        // Only deleting the newest version changes what is current.
        let current = get_json::<ObjectRecord>(tx, OBJECTS, &object_key(bucket, key))?;
        let was_current = match &current {
            Some(c) => c.version_id.as_deref() == Some(version_id),
            None => true,
        };
        if was_current {
            match Self::versions(tx, bucket, key)?.into_iter().next() {
                Some(newest) if !newest.delete_marker => put_json(tx, OBJECTS, &object_key(bucket, key), &newest)?,
                _ => {
                    tx.delete(OBJECTS, &object_key(bucket, key))?;
                }
            }
        }
        let blobs = rec.segments.iter().map(|s| s.blob.clone()).collect();
        Ok(Some((rec, blobs)))
    }

    pub(crate) async fn list_object_versions(&self, input: ListObjectVersionsRequest) -> Result<ListObjectVersionsOutput> {
        let bucket = self.bucket(&input.bucket)?;
        let url = match input.encoding_type.as_deref() {
            None => false,
            Some("url") => true,
            Some(other) => {
                return Err(S3Error::InvalidArgument { message: "Invalid Encoding Method specified in Request".into(), name: "encoding-type", value: other.into() })
            }
        };
        let max = input.max_keys.unwrap_or(1000).clamp(0, 1000) as usize;
        let prefix = input.prefix.clone().unwrap_or_default();
        let delimiter = input.delimiter.clone().filter(|d| !d.is_empty());
        let name = input.bucket.clone();
        let base = objects_prefix(&name, "").len();
        // Resume after a version, or after all versions of the key marker.
        let mut cursor: Option<Vec<u8>> = match (&input.key_marker, &input.version_id_marker) {
            (Some(k), Some(v)) if v != "null" && v.len() > 16 && v.is_ascii() => Some(version_key(&name, k, &v[..16])),
            (Some(k), Some(v)) => {
                let found = self.store.read(|tx| Self::find_version(tx, &name, k, v).map_err(|e| nubo_store::StoreError(format!("{e:?}"))))?;
                Some(match found {
                    Some(r) => version_key(&name, k, r.version_order.as_deref().unwrap_or("")),
                    None => {
                        let mut c = versions_of_key(&name, k);
                        c.push(0xFF);
                        c
                    }
                })
            }
            (Some(k), None) => {
                let mut c = versions_of_key(&name, k);
                c.push(0xFF);
                Some(c)
            }
            _ => None,
        };
        let (mut versions, mut markers, mut prefixes) = (Vec::new(), Vec::new(), Vec::<String>::new());
        let (mut truncated, mut next) = (false, None::<(String, String)>);
        let mut latest_of: Option<(String, Option<String>)> = None;
        'scan: loop {
            let batch = self.store.read(|tx| scan_json::<ObjectRecord>(tx, VERSIONS, &objects_prefix(&name, &prefix), cursor.as_deref(), 1000))?;
            if batch.is_empty() {
                break;
            }
            for (raw, rec) in batch {
                let rest = &raw[base..raw.len() - 1];
                let split = rest.iter().rposition(|b| *b == 0).unwrap_or(rest.len());
                let key = String::from_utf8_lossy(&rest[..split]).into_owned();
                let count = versions.len() + markers.len() + prefixes.len();
                if let Some(d) = &delimiter {
                    if let Some(i) = key[prefix.len()..].find(d.as_str()) {
                        let cp = key[..prefix.len() + i + d.len()].to_string();
                        let mut skip = objects_prefix(&name, &cp);
                        skip.push(0xFF);
                        if input.key_marker.as_deref().is_some_and(|m| cp.as_str() <= m) {
                            cursor = Some(skip);
                            continue 'scan;
                        }
                        if count == max {
                            truncated = true;
                            break 'scan;
                        }
                        next = Some((cp.clone(), String::new()));
                        prefixes.push(cp);
                        cursor = Some(skip);
                        continue 'scan;
                    }
                }
                if count == max {
                    truncated = true;
                    break 'scan;
                }
                if latest_of.as_ref().is_none_or(|(k, _)| *k != key) {
                    let newest = self.store.read(|tx| Ok(Self::versions(tx, &name, &key).unwrap_or_default().into_iter().next()))?;
                    latest_of = Some((key.clone(), newest.and_then(|n| n.version_id)));
                }
                let is_latest = latest_of.as_ref().is_some_and(|(_, v)| *v == rec.version_id);
                let vid = rec.version_id.clone().unwrap_or_else(|| "null".into());
                next = Some((key.clone(), vid.clone()));
                if rec.delete_marker {
                    markers.push(DeleteMarkerEntry {
                        owner: Some(owner(&bucket.account)),
                        key: Some(encode(key, url)),
                        version_id: Some(vid),
                        is_latest: Some(is_latest),
                        last_modified: Some(Timestamp::from_millis(rec.last_modified_ms)),
                    });
                } else {
                    versions.push(ObjectVersion {
                        e_tag: Some(rec.etag.clone()),
                        checksum_algorithm: rec.checksum.as_ref().map(|c| vec![c.algorithm.clone()]),
                        checksum_type: rec.checksum.as_ref().map(|c| c.kind.clone()),
                        size: Some(rec.size as i64),
                        storage_class: Some(rec.storage_class.clone()),
                        key: Some(encode(key, url)),
                        version_id: Some(vid),
                        is_latest: Some(is_latest),
                        last_modified: Some(Timestamp::from_millis(rec.last_modified_ms)),
                        owner: Some(owner(&bucket.account)),
                        restore_status: None,
                    });
                }
                cursor = Some(raw);
            }
        }
        let (next_key, next_version) = match (truncated, next) {
            (true, Some((k, v))) => (Some(encode(k, url)), (!v.is_empty()).then_some(v)),
            _ => (None, None),
        };
        Ok(ListObjectVersionsOutput {
            is_truncated: Some(truncated),
            key_marker: Some(input.key_marker.unwrap_or_default()),
            version_id_marker: Some(input.version_id_marker.unwrap_or_default()),
            next_key_marker: next_key,
            next_version_id_marker: next_version,
            versions: Some(versions),
            delete_markers: Some(markers),
            name: Some(input.bucket),
            prefix: Some(encode(prefix, url)),
            delimiter: input.delimiter,
            max_keys: Some(max as i32),
            common_prefixes: Some(prefixes.into_iter().map(|p| CommonPrefix { prefix: Some(encode(p, url)) }).collect()),
            encoding_type: input.encoding_type,
            request_charged: None,
        })
    }
}
