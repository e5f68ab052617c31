//! Objects: put, get, head, delete (one or many), copy, and their tags.

use crate::checksum::Algorithm;
use crate::conditions::{byte_range, Conditions};
use crate::data::{self, Expected, Received};
use crate::error::{Result, S3Error};
use crate::records::{content_headers, object_key, BucketRecord, Checksum, ContentHeaders, ObjectRecord, Segment, OBJECTS};
use crate::{tagging, S3};
use nubo_core::Timestamp;
use nubo_model::generated::s3::*;
use nubo_store::{get_json, put_json};

const STORAGE_CLASSES: [&str; 12] = [
    "STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER",
    "DEEP_ARCHIVE", "OUTPOSTS", "GLACIER_IR", "SNOW", "EXPRESS_ONEZONE", "FSX_OPENZFS",
];

pub(crate) fn storage_class(requested: Option<String>) -> Result<String> {
    match requested {
        None => Ok("STANDARD".into()),
        Some(c) if STORAGE_CLASSES.contains(&c.as_str()) => Ok(c),
        Some(_) => Err(S3Error::InvalidStorageClass),
    }
}

pub(crate) fn check_key(key: &str) -> Result<()> {
    if key.len() > 1024 {
        return Err(S3Error::KeyTooLong);
    }
    if key.is_empty() {
        return Err(S3Error::InvalidArgument { message: "Key must not be empty".into(), name: "Key", value: String::new() });
    }
    Ok(())
}

/// The checksum a client sent (or announced): the header present wins, else the algorithm
/// it named for a trailer.
pub(crate) fn expected(algorithm: Option<&str>, values: [Option<String>; 5], content_md5: Option<String>) -> Result<Expected> {
    let given = Algorithm::ALL.into_iter().zip(values).find_map(|(a, v)| v.map(|v| (a, v)));
    let algorithm = match (&given, algorithm) {
        (Some((a, _)), _) => Some(*a),
        (None, Some(name)) => Some(Algorithm::parse(name).ok_or_else(|| S3Error::InvalidRequest(format!("Checksum algorithm {name} is not supported")))?),
        (None, None) => None,
    };
    Ok(Expected { algorithm, value: given.map(|(_, v)| v), content_md5 })
}

pub(crate) fn etag_of(md5: &[u8; 16]) -> String {
    format!("\"{}\"", hex::encode(md5))
}

pub(crate) fn checksum_of(r: &Received) -> Option<Checksum> {
    r.checksum.as_ref().map(|(a, v)| Checksum { algorithm: a.name().into(), value: v.clone(), kind: "FULL_OBJECT".into() })
}

/// Fills the `checksum_*` members of an output from a stored checksum.
macro_rules! set_checksum {
    ($out:expr, $checksum:expr) => {
        if let Some(c) = $checksum {
            match c.algorithm.as_str() {
                "CRC32" => $out.checksum_crc32 = Some(c.value.clone()),
                "CRC32C" => $out.checksum_crc32_c = Some(c.value.clone()),
                "CRC64NVME" => $out.checksum_crc64_nvme = Some(c.value.clone()),
                "SHA1" => $out.checksum_sha1 = Some(c.value.clone()),
                "SHA256" => $out.checksum_sha256 = Some(c.value.clone()),
                _ => {}
            }
        }
    };
}
pub(crate) use set_checksum;

/// Fills what `GetObject` and `HeadObject` answer alike: headers, metadata, range, parts.
macro_rules! describe_object {
    ($out:expr, $rec:expr, $input:expr, $range:expr) => {{
        let rec: &ObjectRecord = $rec;
        $out.e_tag = Some(rec.etag.clone());
        $out.last_modified = Some(Timestamp::from_millis(rec.last_modified_ms));
        $out.accept_ranges = Some("bytes".into());
        $out.metadata = (!rec.metadata.is_empty()).then(|| rec.metadata.clone());
        $out.storage_class = (rec.storage_class != "STANDARD").then(|| rec.storage_class.clone());
        $out.tag_count = (!rec.tags.is_empty()).then(|| rec.tags.len() as i32);
        $out.parts_count = rec.parts_count.map(|n| n as i32);
        let h = &rec.headers;
        $out.content_type = $input.response_content_type.clone().or(h.content_type.clone()).or(Some("binary/octet-stream".into()));
        $out.content_encoding = $input.response_content_encoding.clone().or(h.content_encoding.clone());
        $out.content_disposition = $input.response_content_disposition.clone().or(h.content_disposition.clone());
        $out.content_language = $input.response_content_language.clone().or(h.content_language.clone());
        $out.cache_control = $input.response_cache_control.clone().or(h.cache_control.clone());
        $out.expires = $input.response_expires.map(|t| t.to_http_date()).or(h.expires.clone());
        $out.website_redirect_location = h.website_redirect_location.clone();
        $out.version_id = rec.version_id.clone();
        let ((start, end), partial) = $range;
        $out.content_length = Some(if rec.size == 0 { 0 } else { (end + 1 - start) as i64 });
        if partial {
            $out.content_range = Some(format!("bytes {start}-{end}/{}", rec.size));
        }
        // The whole object's checksum is only meaningful for the whole object.
        if $input.checksum_mode.as_deref() == Some("ENABLED") && $out.content_range.is_none() {
            set_checksum!($out, rec.checksum.as_ref());
            $out.checksum_type = rec.checksum.as_ref().map(|c| c.kind.clone());
        }
    }};
}

impl S3 {
    pub(crate) fn object(&self, bucket: &str, key: &str) -> Result<ObjectRecord> {
        self.object_version(bucket, key, None)
    }

    /// The current object, or one of its versions.
    pub(crate) fn object_version(&self, bucket: &str, key: &str, version_id: Option<&str>) -> Result<ObjectRecord> {
        let b = self.bucket(bucket)?;
        let found = match version_id {
            None => self.store.read(|tx| get_json::<ObjectRecord>(tx, OBJECTS, &object_key(bucket, key)))?,
            Some(v) if b.versioning.is_none() && v == "null" => self.store.read(|tx| get_json::<ObjectRecord>(tx, OBJECTS, &object_key(bucket, key)))?,
            Some(v) => {
                let rec = self
                    .store
                    .read(|tx| Self::find_version(tx, bucket, key, v).map_err(|e| nubo_store::StoreError(format!("{e:?}"))))?
                    .ok_or_else(|| S3Error::NoSuchVersion { key: key.to_string(), version_id: v.to_string() })?;
                if rec.delete_marker {
                    return Err(S3Error::MethodNotAllowed);
                }
                Some(rec)
            }
        };
        found.ok_or_else(|| S3Error::NoSuchKey(key.to_string()))
    }

    /// Writes `record` as the object `key` inside a transaction: the bucket as it is now
    /// (it may have changed while the data streamed in), write conditions against the
    /// current object, a new version where the bucket keeps them. Returns the blobs the
    /// write released and the version id it got.
    pub(crate) fn store_object(&self, tx: &mut dyn nubo_store::WriteTxn, bucket: &str, key: &str, record: &mut ObjectRecord, conditions: &Conditions<'_>) -> Result<(Vec<String>, Option<String>)> {
        let b = get_json::<BucketRecord>(tx, crate::records::BUCKETS, &crate::records::bucket_key(bucket))?.ok_or_else(|| S3Error::NoSuchBucket(bucket.to_string()))?;
        let old = get_json::<ObjectRecord>(tx, OBJECTS, &object_key(bucket, key))?;
        match &old {
            Some(o) => conditions.check(&o.etag, Timestamp::from_millis(o.last_modified_ms), false)?,
            None if conditions.if_match.is_some() => return Err(S3Error::NoSuchKey(key.to_string())),
            None => {}
        }
        if b.versioning.is_some() {
            let freed = self.write_version(tx, &b, key, record)?;
            return Ok((freed, record.version_id.clone()));
        }
        put_json(tx, OBJECTS, &object_key(bucket, key), &*record)?;
        Ok((old.into_iter().flat_map(|o| o.segments).map(|s| s.blob).collect(), None))
    }

    /// Frees blobs no record refers to any more. Failing to is not the client's problem:
    /// the write already succeeded, so it is logged.
    pub(crate) async fn release(&self, blobs: impl IntoIterator<Item = String>) {
        for b in blobs {
            if let Err(e) = self.store.blobs().delete(&b).await {
                tracing::warn!("could not free blob {b}: {e}");
            }
        }
    }

    /// Stores a new object (see [`S3::store_object`]) and frees what it replaced; on
    /// failure frees the new data instead. Returns the version id it got.
    pub(crate) async fn commit_object(&self, bucket: &BucketRecord, key: &str, mut record: ObjectRecord, conditions: Conditions<'_>) -> Result<Option<String>> {
        let new_blobs: Vec<String> = record.segments.iter().map(|s| s.blob.clone()).collect();
        match self.store.write(|tx| self.store_object(tx, &bucket.name, key, &mut record, &conditions)) {
            Ok((freed, version)) => {
                self.release(freed.into_iter().filter(|b| !new_blobs.contains(b))).await;
                Ok(version)
            }
            Err(e) => {
                self.release(new_blobs).await;
                Err(e)
            }
        }
    }

    pub(crate) async fn put_object(&self, input: PutObjectRequest) -> Result<PutObjectOutput> {
        let bucket = self.bucket(&input.bucket)?;
        check_key(&input.key)?;
        let storage_class = storage_class(input.storage_class)?;
        let tags = tagging::parse_header(input.tagging.as_deref())?;
        crate::config::check_canned(input.acl.as_deref())?;
        let expected = expected(
            input.checksum_algorithm.as_deref(),
            [input.checksum_crc32, input.checksum_crc32_c, input.checksum_crc64_nvme, input.checksum_sha1, input.checksum_sha256],
            input.content_md5,
        )?;
        let received = data::receive(self.store.blobs(), input.body, expected).await?;
        let record = ObjectRecord {
            size: received.size,
            etag: etag_of(&received.md5),
            last_modified_ms: self.now().as_millis(),
            segments: vec![Segment { blob: received.blob.clone(), size: received.size }],
            headers: content_headers!(input),
            metadata: input.metadata.unwrap_or_default(),
            storage_class,
            checksum: checksum_of(&received),
            tags,
            parts_count: None,
            version_id: None,
            version_order: None,
            delete_marker: false,
            acl: input.acl,
        };
        let conditions = Conditions { if_match: input.if_match.as_deref(), if_none_match: input.if_none_match.as_deref(), if_modified_since: None, if_unmodified_since: None };
        let mut out = PutObjectOutput { e_tag: Some(record.etag.clone()), ..Default::default() };
        set_checksum!(out, record.checksum.as_ref());
        out.checksum_type = record.checksum.as_ref().map(|c| c.kind.clone());
        let notified = record.clone();
        out.version_id = self.commit_object(&bucket, &input.key, record, conditions).await?;
        self.notify(&bucket, "ObjectCreated:Put", &input.key, Some(&ObjectRecord { version_id: out.version_id.clone(), ..notified }));
        Ok(out)
    }

    /// The byte range a read asks for (a part, a `Range`, or everything), and whether it is
    /// partial (answered 206 with `Content-Range`, even when it covers every byte).
    fn read_range(rec: &ObjectRecord, range: Option<&str>, part_number: Option<i32>) -> Result<((u64, u64), bool)> {
        if let Some(n) = part_number {
            let idx = usize::try_from(n).ok().and_then(|n| n.checked_sub(1)).filter(|i| *i < rec.segments.len().max(1));
            let Some(idx) = idx else {
                return Err(S3Error::InvalidArgument { message: "The requested partnumber is not satisfiable".into(), name: "partNumber", value: n.to_string() });
            };
            let start: u64 = rec.segments[..idx].iter().map(|s| s.size).sum();
            let len = rec.segments.get(idx).map(|s| s.size).unwrap_or(0);
            return Ok(((start, (start + len).max(1) - 1), rec.size > 0));
        }
        match byte_range(range, rec.size)? {
            Some(r) => Ok((r, true)),
            None => Ok(((0, rec.size.max(1) - 1), false)),
        }
    }

    pub(crate) async fn get_object(&self, input: GetObjectRequest) -> Result<GetObjectOutput> {
        // An overwrite between reading the record and opening its blobs frees them: read
        // the new record then.
        let mut attempts = 0;
        loop {
            let rec = self.object_version(&input.bucket, &input.key, input.version_id.as_deref())?;
            Conditions::of_read(&input)
            .check(&rec.etag, Timestamp::from_millis(rec.last_modified_ms), true)?;
            let range = Self::read_range(&rec, input.range.as_deref(), input.part_number)?;
            let len = if rec.size == 0 { 0 } else { range.0 .1 + 1 - range.0 .0 };
            let body = match data::serve(self.store.blobs(), &rec.segments, range.0 .0, len).await {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && attempts < 3 => {
                    attempts += 1;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let mut out = GetObjectOutput::default();
            describe_object!(out, &rec, input, range);
            out.body = Some(body);
            return Ok(out);
        }
    }

    pub(crate) async fn head_object(&self, input: HeadObjectRequest) -> Result<HeadObjectOutput> {
        let rec = self.object_version(&input.bucket, &input.key, input.version_id.as_deref())?;
        Conditions::of_read(&input)
        .check(&rec.etag, Timestamp::from_millis(rec.last_modified_ms), true)?;
        let range = Self::read_range(&rec, input.range.as_deref(), input.part_number)?;
        let mut out = HeadObjectOutput::default();
        describe_object!(out, &rec, input, range);
        Ok(out)
    }

    /// Deletes an object (S3 answers 204 whether it was there or not). In a bucket that
    /// keeps versions: without a version id, adds a delete marker; with one, deletes that
    /// version for good. Returns (delete marker?, version id) for the response.
    pub(crate) async fn remove_object(&self, bucket: &BucketRecord, key: &str, version_id: Option<&str>) -> Result<(bool, Option<String>)> {
        self.remove_object_by(bucket, key, version_id, false).await
    }

    /// [`S3::remove_object`], by the lifecycle controller (its events say so).
    pub(crate) async fn remove_object_by(&self, bucket: &BucketRecord, key: &str, version_id: Option<&str>, lifecycle: bool) -> Result<(bool, Option<String>)> {
        let name = &bucket.name;
        let (freed, outcome) = self.store.write(|tx| -> Result<(Vec<String>, (bool, Option<String>))> {
            match (bucket.versioning.is_some(), version_id) {
                (true, Some(v)) => match self.delete_version(tx, name, key, v)? {
                    Some((rec, freed)) => Ok((freed, (rec.delete_marker, Some(v.to_string())))),
                    None => Ok((Vec::new(), (false, Some(v.to_string())))),
                },
                (true, None) => {
                    let mut marker = ObjectRecord {
                        size: 0,
                        etag: String::new(),
                        last_modified_ms: self.now().as_millis(),
                        segments: Vec::new(),
                        headers: ContentHeaders::default(),
                        metadata: Default::default(),
                        storage_class: "STANDARD".into(),
                        checksum: None,
                        tags: Vec::new(),
                        parts_count: None,
                        version_id: None,
                        version_order: None,
                        delete_marker: true,
                        acl: None,
                    };
                    let freed = self.write_version(tx, bucket, key, &mut marker)?;
                    Ok((freed, (true, marker.version_id)))
                }
                (false, Some(v)) if v != "null" => {
                    Err(S3Error::InvalidArgument { message: "Invalid version id specified".into(), name: "versionId", value: v.to_string() })
                }
                (false, _) => {
                    let k = object_key(name, key);
                    let old = get_json::<ObjectRecord>(tx, OBJECTS, &k)?;
                    if old.is_some() {
                        tx.delete(OBJECTS, &k)?;
                    }
                    Ok((old.into_iter().flat_map(|o| o.segments).map(|s| s.blob).collect(), (false, None)))
                }
            }
        })?;
        self.release(freed).await;
        let event = match (outcome.0 && version_id.is_none(), lifecycle) {
            (true, false) => "ObjectRemoved:DeleteMarkerCreated",
            (false, false) => "ObjectRemoved:Delete",
            (true, true) => "LifecycleExpiration:DeleteMarkerCreated",
            (false, true) => "LifecycleExpiration:Delete",
        };
        self.notify(bucket, event, key, None);
        Ok(outcome)
    }

    pub(crate) async fn delete_object(&self, input: DeleteObjectRequest) -> Result<DeleteObjectOutput> {
        let bucket = self.bucket(&input.bucket)?;
        if let Some(m) = &input.if_match {
            let rec = self.object(&input.bucket, &input.key)?;
            Conditions { if_match: Some(m), if_none_match: None, if_modified_since: None, if_unmodified_since: None }
                .check(&rec.etag, Timestamp::from_millis(rec.last_modified_ms), false)?;
        }
        let (marker, version_id) = self.remove_object(&bucket, &input.key, input.version_id.as_deref()).await?;
        Ok(DeleteObjectOutput { delete_marker: marker.then_some(true), version_id, request_charged: None })
    }

    pub(crate) async fn delete_objects(&self, input: DeleteObjectsRequest) -> Result<DeleteObjectsOutput> {
        let bucket = self.bucket(&input.bucket)?;
        if input.delete.objects.len() > 1000 {
            return Err(S3Error::MalformedXml);
        }
        let quiet = input.delete.quiet.unwrap_or(false);
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        for o in input.delete.objects {
            match self.remove_object(&bucket, &o.key, o.version_id.as_deref()).await {
                Ok(_) if quiet => {}
                Ok((marker, version)) => deleted.push(DeletedObject {
                    key: Some(o.key),
                    version_id: o.version_id.clone(),
                    delete_marker: marker.then_some(true),
                    delete_marker_version_id: if marker && o.version_id.is_none() { version } else { None },
                }),
                Err(e) => {
                    let aws: nubo_core::AwsError = e.into();
                    errors.push(Error { key: Some(o.key), version_id: o.version_id, code: Some(aws.code.into_owned()), message: Some(aws.message) });
                }
            }
        }
        Ok(DeleteObjectsOutput { deleted: Some(deleted), errors: Some(errors), request_charged: None })
    }

    /// Reads `x-amz-copy-source` (`bucket/key`, URL-encoded, optionally `?versionId=`).
    pub(crate) fn copy_source(&self, source: &str) -> Result<(String, String, ObjectRecord)> {
        let (path, version) = match source.split_once("?versionId=") {
            Some((p, v)) => (p, Some(v)),
            None => (source, None),
        };
        let path = percent_encoding::percent_decode_str(path).decode_utf8_lossy().into_owned();
        let path = path.trim_start_matches('/');
        let Some((bucket, key)) = path.split_once('/').filter(|(b, k)| !b.is_empty() && !k.is_empty()) else {
            return Err(S3Error::InvalidArgument { message: "Invalid copy source object key".into(), name: "x-amz-copy-source", value: source.into() });
        };
        let rec = match self.object_version(bucket, key, version) {
            Err(S3Error::MethodNotAllowed) => {
                return Err(S3Error::InvalidRequest("The source of a copy request may not specifically refer to a delete marker by version id.".into()))
            }
            other => other?,
        };
        Ok((bucket.to_string(), key.to_string(), rec))
    }

    pub(crate) async fn copy_object(&self, input: CopyObjectRequest) -> Result<CopyObjectOutput> {
        let bucket = self.bucket(&input.bucket)?;
        check_key(&input.key)?;
        let (src_bucket, src_key, src) = self.copy_source(&input.copy_source)?;
        Conditions {
            if_match: input.copy_source_if_match.as_deref(),
            if_none_match: input.copy_source_if_none_match.as_deref(),
            if_modified_since: input.copy_source_if_modified_since,
            if_unmodified_since: input.copy_source_if_unmodified_since,
        }
        .check(&src.etag, Timestamp::from_millis(src.last_modified_ms), false)?;
        let replace = input.metadata_directive.as_deref() == Some("REPLACE");
        let storage_class = storage_class(input.storage_class.clone())?;
        if src_bucket == input.bucket && src_key == input.key && !replace && input.storage_class.is_none() && input.website_redirect_location.is_none() {
            return Err(S3Error::InvalidRequest(
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.".into(),
            ));
        }
        let (headers, metadata) = if replace {
            let h = content_headers!(input);
            (h, input.metadata.unwrap_or_default())
        } else {
            (src.headers.clone(), src.metadata.clone())
        };
        let tags = match input.tagging_directive.as_deref() {
            Some("REPLACE") => tagging::parse_header(input.tagging.as_deref())?,
            _ => src.tags.clone(),
        };
        let algorithm = match input.checksum_algorithm.as_deref() {
            Some(a) => Some(Algorithm::parse(a).ok_or_else(|| S3Error::InvalidRequest(format!("Checksum algorithm {a} is not supported")))?),
            None => src.checksum.as_ref().and_then(|c| Algorithm::parse(&c.algorithm)),
        };
        let body = data::serve(self.store.blobs(), &src.segments, 0, src.size).await.map_err(S3Error::from)?;
        let expected = Expected { algorithm, value: None, content_md5: None };
        let received = data::receive(self.store.blobs(), Some(body), expected).await?;
        let now = self.now().as_millis();
        let record = ObjectRecord {
            size: received.size,
            etag: etag_of(&received.md5),
            last_modified_ms: now,
            segments: vec![Segment { blob: received.blob.clone(), size: received.size }],
            headers,
            metadata,
            storage_class,
            checksum: checksum_of(&received),
            tags,
            parts_count: None,
            version_id: None,
            version_order: None,
            delete_marker: false,
            acl: None,
        };
        let mut result = CopyObjectResult {
            e_tag: Some(record.etag.clone()),
            last_modified: Some(Timestamp::from_millis(now)),
            checksum_type: record.checksum.as_ref().map(|c| c.kind.clone()),
            ..Default::default()
        };
        set_checksum!(result, record.checksum.as_ref());
        let conditions = Conditions { if_match: input.if_match.as_deref(), if_none_match: input.if_none_match.as_deref(), if_modified_since: None, if_unmodified_since: None };
        let copy_source_version_id = src.version_id.clone();
        let notified = record.clone();
        let version_id = self.commit_object(&bucket, &input.key, record, conditions).await?;
        self.notify(&bucket, "ObjectCreated:Copy", &input.key, Some(&ObjectRecord { version_id: version_id.clone(), ..notified }));
        Ok(CopyObjectOutput { copy_object_result: Some(result), version_id, copy_source_version_id, ..Default::default() })
    }

    /// Changes an object's tags or ACL: the current object, or the version named, in the
    /// version records as well as in the current mirror.
    pub(crate) fn update_object(&self, bucket: &str, key: &str, version_id: Option<&str>, f: impl Fn(&mut ObjectRecord) -> Result<()>) -> Result<Option<String>> {
        self.bucket(bucket)?;
        self.store.write(|tx| -> Result<Option<String>> {
            let k = object_key(bucket, key);
            let current = get_json::<ObjectRecord>(tx, OBJECTS, &k)?;
            let target = match version_id {
                None => current.clone().ok_or_else(|| S3Error::NoSuchKey(key.to_string()))?,
                Some(v) => match Self::find_version(tx, bucket, key, v)? {
                    Some(r) if !r.delete_marker => r,
                    Some(_) => return Err(S3Error::MethodNotAllowed),
                    None if v == "null" => current.clone().ok_or_else(|| S3Error::NoSuchKey(key.to_string()))?,
                    None => return Err(S3Error::NoSuchVersion { key: key.to_string(), version_id: v.to_string() }),
                },
            };
            let mut updated = target.clone();
            f(&mut updated)?;
            if let Some(order) = &updated.version_order {
                put_json(tx, crate::records::VERSIONS, &crate::records::version_key(bucket, key, order), &updated)?;
            }
            if current.as_ref().is_some_and(|c| c.version_id == updated.version_id) {
                put_json(tx, OBJECTS, &k, &updated)?;
            }
            Ok(updated.version_id)
        })
    }

    pub(crate) async fn put_object_tagging(&self, input: PutObjectTaggingRequest) -> Result<PutObjectTaggingOutput> {
        let tags = tagging::validate(input.tagging.tag_set, 10)?;
        let version_id = self.update_object(&input.bucket, &input.key, input.version_id.as_deref(), |r| {
            r.tags = tags.clone();
            Ok(())
        })?;
        Ok(PutObjectTaggingOutput { version_id })
    }

    pub(crate) async fn get_object_tagging(&self, input: GetObjectTaggingRequest) -> Result<GetObjectTaggingOutput> {
        let rec = self.object_version(&input.bucket, &input.key, input.version_id.as_deref())?;
        Ok(GetObjectTaggingOutput { version_id: rec.version_id, tag_set: tagging::to_tags(rec.tags) })
    }

    pub(crate) async fn delete_object_tagging(&self, input: DeleteObjectTaggingRequest) -> Result<DeleteObjectTaggingOutput> {
        let version_id = self.update_object(&input.bucket, &input.key, input.version_id.as_deref(), |r| {
            r.tags.clear();
            Ok(())
        })?;
        Ok(DeleteObjectTaggingOutput { version_id })
    }
}
