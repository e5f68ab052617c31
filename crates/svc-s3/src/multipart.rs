//! Multipart uploads: parts stream into their own blobs; completing an upload makes an
//! object whose segments are those blobs, so no data is copied.

use crate::checksum::{b64, digest, Algorithm, Hasher};
use http_body_util::BodyExt;
use crate::conditions::Conditions;
use crate::data::{self, Expected};
use crate::error::{Result, S3Error};
use crate::objects::{check_key, expected, set_checksum, storage_class};
use crate::records::{content_headers, objects_prefix, part_key, upload_key, Checksum, ObjectRecord, PartRecord, Segment, UploadRecord, PARTS, UPLOADS};
use crate::{owner, tagging, S3};
use base64::Engine;
use md5::{Digest, Md5};
use nubo_core::{RequestContext, Timestamp};
use nubo_model::generated::s3::*;
use nubo_store::{get_json, put_json, scan_json};

const MIN_PART: u64 = 5 << 20;

fn check_part_number(n: i32) -> Result<()> {
    if (1..=10_000).contains(&n) {
        Ok(())
    } else {
        Err(S3Error::InvalidArgument {
            message: "Part number must be an integer between 1 and 10000, inclusive".into(),
            name: "partNumber",
            value: n.to_string(),
        })
    }
}

fn part_checksum(received: &data::Received) -> Option<Checksum> {
    received.checksum.as_ref().map(|(a, v)| Checksum { algorithm: a.name().into(), value: v.clone(), kind: "FULL_OBJECT".into() })
}

impl S3 {
    pub(crate) fn upload(&self, bucket: &str, key: &str, upload_id: &str) -> Result<UploadRecord> {
        self.bucket(bucket)?;
        self.store
            .read(|tx| get_json::<UploadRecord>(tx, UPLOADS, &upload_key(bucket, key, upload_id)))?
            .ok_or_else(|| S3Error::NoSuchUpload(upload_id.to_string()))
    }

    fn parts(&self, upload_id: &str) -> Result<Vec<PartRecord>> {
        Ok(self
            .store
            .read(|tx| scan_json::<PartRecord>(tx, PARTS, &nubo_store::key::key(&[upload_id]), None, usize::MAX))?
            .into_iter()
            .map(|(_, p)| p)
            .collect())
    }

    /// Forgets an upload and frees its parts (abort, bucket deletion).
    pub(crate) async fn discard_upload(&self, bucket: &str, upload: &UploadRecord) -> Result<()> {
        let parts = self.parts(&upload.upload_id)?;
        self.store.write(|tx| -> Result<()> {
            tx.delete(UPLOADS, &upload_key(bucket, &upload.key, &upload.upload_id))?;
            for p in &parts {
                tx.delete(PARTS, &part_key(&upload.upload_id, p.part_number))?;
            }
            Ok(())
        })?;
        for p in parts {
            self.store.blobs().delete(&p.blob).await?;
        }
        Ok(())
    }

    pub(crate) async fn create_multipart_upload(&self, ctx: &RequestContext, input: CreateMultipartUploadRequest) -> Result<CreateMultipartUploadOutput> {
        self.bucket(&input.bucket)?;
        check_key(&input.key)?;
        let algorithm = match input.checksum_algorithm.as_deref() {
            Some(a) => Some(Algorithm::parse(a).ok_or_else(|| S3Error::InvalidRequest(format!("Checksum algorithm {a} is not supported")))?),
            None => None,
        };
        let upload_id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(nubo_core::ids::random_string(nubo_core::ids::ALNUM, 48));
        let record = UploadRecord {
            upload_id: upload_id.clone(),
            key: input.key.clone(),
            initiated_ms: self.now().as_millis(),
            headers: content_headers!(input),
            metadata: input.metadata.unwrap_or_default(),
            storage_class: storage_class(input.storage_class)?,
            checksum_algorithm: algorithm.map(|a| a.name().to_string()),
            checksum_type: algorithm.map(|a| input.checksum_type.clone().unwrap_or_else(|| a.default_multipart_kind().to_string())),
            tags: tagging::parse_header(input.tagging.as_deref())?,
            owner: ctx.scope.account.clone(),
        };
        self.store.write(|tx| put_json(tx, UPLOADS, &upload_key(&input.bucket, &input.key, &upload_id), &record))?;
        Ok(CreateMultipartUploadOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(upload_id),
            checksum_algorithm: record.checksum_algorithm.clone(),
            checksum_type: record.checksum_type.clone(),
            ..Default::default()
        })
    }

    async fn store_part(&self, bucket: &str, upload: &UploadRecord, part_number: i32, received: data::Received) -> Result<PartRecord> {
        let part = PartRecord {
            part_number,
            blob: received.blob.clone(),
            size: received.size,
            md5: hex::encode(received.md5),
            last_modified_ms: self.now().as_millis(),
            checksum: part_checksum(&received),
        };
        let old = self.store.write(|tx| -> Result<Option<PartRecord>> {
            // The upload may have been completed or aborted while the part streamed in.
            if get_json::<UploadRecord>(tx, UPLOADS, &upload_key(bucket, &upload.key, &upload.upload_id))?.is_none() {
                return Err(S3Error::NoSuchUpload(upload.upload_id.clone()));
            }
            let k = part_key(&upload.upload_id, part_number);
            let old = get_json::<PartRecord>(tx, PARTS, &k)?;
            put_json(tx, PARTS, &k, &part)?;
            Ok(old)
        });
        match old {
            Ok(old) => {
                if let Some(o) = old {
                    self.store.blobs().delete(&o.blob).await?;
                }
                Ok(part)
            }
            Err(e) => {
                self.store.blobs().delete(&part.blob).await?;
                Err(e)
            }
        }
    }

    pub(crate) async fn upload_part(&self, input: UploadPartRequest) -> Result<UploadPartOutput> {
        check_part_number(input.part_number)?;
        let upload = self.upload(&input.bucket, &input.key, &input.upload_id)?;
        let algorithm = input.checksum_algorithm.clone().or(upload.checksum_algorithm.clone());
        let expected = expected(
            algorithm.as_deref(),
            [input.checksum_crc32, input.checksum_crc32_c, input.checksum_crc64_nvme, input.checksum_sha1, input.checksum_sha256],
            input.content_md5,
        )?;
        let received = data::receive(self.store.blobs(), input.body, expected).await?;
        let part = self.store_part(&input.bucket, &upload, input.part_number, received).await?;
        let mut out = UploadPartOutput { e_tag: Some(format!("\"{}\"", part.md5)), ..Default::default() };
        set_checksum!(out, part.checksum.as_ref());
        Ok(out)
    }

    pub(crate) async fn upload_part_copy(&self, input: UploadPartCopyRequest) -> Result<UploadPartCopyOutput> {
        check_part_number(input.part_number)?;
        let upload = self.upload(&input.bucket, &input.key, &input.upload_id)?;
        let (_, _, src) = self.copy_source(&input.copy_source)?;
        Conditions {
            if_match: input.copy_source_if_match.as_deref(),
            if_none_match: input.copy_source_if_none_match.as_deref(),
            if_modified_since: input.copy_source_if_modified_since,
            if_unmodified_since: input.copy_source_if_unmodified_since,
        }
        .check(&src.etag, Timestamp::from_millis(src.last_modified_ms), false)?;
        let (start, end) = match input.copy_source_range.as_deref() {
            None => (0, src.size.max(1) - 1),
            Some(r) => {
                let bad = || S3Error::InvalidArgument {
                    message: "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy".into(),
                    name: "x-amz-copy-source-range",
                    value: r.to_string(),
                };
                let (a, b) = r.strip_prefix("bytes=").and_then(|s| s.split_once('-')).ok_or_else(bad)?;
                let (a, b): (u64, u64) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
                if a > b || b >= src.size {
                    return Err(S3Error::InvalidRange { size: src.size });
                }
                (a, b)
            }
        };
        let len = if src.size == 0 { 0 } else { end + 1 - start };
        let body = data::serve(self.store.blobs(), &src.segments, start, len).await.map_err(S3Error::from)?;
        let algorithm = upload.checksum_algorithm.as_deref().and_then(Algorithm::parse);
        let received = data::receive(self.store.blobs(), Some(body), Expected { algorithm, value: None, content_md5: None }).await?;
        let part = self.store_part(&input.bucket, &upload, input.part_number, received).await?;
        let mut result = CopyPartResult {
            e_tag: Some(format!("\"{}\"", part.md5)),
            last_modified: Some(Timestamp::from_millis(part.last_modified_ms)),
            ..Default::default()
        };
        set_checksum!(result, part.checksum.as_ref());
        Ok(UploadPartCopyOutput { copy_part_result: Some(result), ..Default::default() })
    }

    pub(crate) async fn complete_multipart_upload(&self, ctx: &RequestContext, input: CompleteMultipartUploadRequest) -> Result<CompleteMultipartUploadOutput> {
        let bucket = self.bucket(&input.bucket)?;
        let upload = self.upload(&input.bucket, &input.key, &input.upload_id)?;
        let requested = input.multipart_upload.and_then(|m| m.parts).unwrap_or_default();
        if requested.is_empty() {
            return Err(S3Error::MalformedXml);
        }
        let stored = self.parts(&input.upload_id)?;
        let mut chosen: Vec<&PartRecord> = Vec::with_capacity(requested.len());
        let mut previous = 0;
        for r in &requested {
            let n = r.part_number.unwrap_or(0);
            if n <= previous {
                return Err(S3Error::InvalidPartOrder);
            }
            previous = n;
            let invalid = || {
                S3Error::InvalidPart(
                    "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.".into(),
                )
            };
            let part = stored.iter().find(|p| p.part_number == n).ok_or_else(invalid)?;
            if r.e_tag.as_deref().map(|e| e.trim_matches('"')) != Some(part.md5.as_str()) {
                return Err(invalid());
            }
            chosen.push(part);
        }
        if chosen[..chosen.len() - 1].iter().any(|p| p.size < MIN_PART) {
            return Err(S3Error::EntityTooSmall);
        }
        // ETag: MD5 of the parts' binary MD5s, and their count.
        let mut md5 = Md5::new();
        for p in &chosen {
            md5.update(hex::decode(&p.md5).unwrap_or_default());
        }
        let etag = format!("\"{}-{}\"", hex::encode(md5.finalize()), chosen.len());
        let algorithm = upload.checksum_algorithm.as_deref().and_then(Algorithm::parse);
        let checksum = match (algorithm, upload.checksum_type.as_deref()) {
            // The checksum of the whole object's bytes, as if uploaded at once.
            (Some(a), Some("FULL_OBJECT")) => {
                let mut h = Hasher::new(Some(a));
                for p in &chosen {
                    let mut reader = self.store.blobs().read(&p.blob, 0, p.size).await?;
                    while let Some(frame) = reader.frame().await {
                        if let Ok(data) = frame?.into_data() {
                            h.update(&data);
                        }
                    }
                }
                let value = b64(&h.finish().1.map(|(_, raw)| raw).unwrap_or_default());
                Some(Checksum { algorithm: a.name().into(), value, kind: "FULL_OBJECT".into() })
            }
            // The checksum of the parts' checksums, with their count.
            (Some(a), _) => (|| {
                let mut raw = Vec::new();
                for p in &chosen {
                    let c = p.checksum.as_ref()?;
                    raw.extend(base64::engine::general_purpose::STANDARD.decode(&c.value).ok()?);
                }
                Some(Checksum { algorithm: a.name().into(), value: format!("{}-{}", b64(&digest(a, &raw)), chosen.len()), kind: "COMPOSITE".into() })
            })(),
            (None, _) => None,
        };
        // A client that sends the whole object's checksum gets it checked.
        if let Some(c) = checksum.as_ref().filter(|c| c.kind == "FULL_OBJECT") {
            let claimed = [&input.checksum_crc32, &input.checksum_crc32_c, &input.checksum_crc64_nvme, &input.checksum_sha1, &input.checksum_sha256];
            let claim = Algorithm::ALL.iter().position(|a| a.name() == c.algorithm).and_then(|i| claimed[i].as_ref());
            if claim.is_some_and(|claim| *claim != c.value) {
                return Err(S3Error::BadDigest(format!("The {} you specified did not match the calculated checksum.", c.algorithm)));
            }
        }
        let record = ObjectRecord {
            size: chosen.iter().map(|p| p.size).sum(),
            etag: etag.clone(),
            last_modified_ms: self.now().as_millis(),
            segments: chosen.iter().map(|p| Segment { blob: p.blob.clone(), size: p.size }).collect(),
            headers: upload.headers.clone(),
            metadata: upload.metadata.clone(),
            storage_class: upload.storage_class.clone(),
            checksum,
            tags: upload.tags.clone(),
            parts_count: Some(chosen.len() as u32),
            version_id: None,
            version_order: None,
            delete_marker: false,
            acl: None,
        };
        // One transaction: the upload must still exist with the parts as chosen (a part
        // replaced meanwhile, a concurrent Complete or Abort, fail here), the object's
        // write conditions hold, and the upload's records go as the object comes.
        let conditions = Conditions { if_match: input.if_match.as_deref(), if_none_match: input.if_none_match.as_deref(), if_modified_since: None, if_unmodified_since: None };
        let checksum_out = record.checksum.clone();
        let notified = record.clone();
        let mut record = record;
        let chosen_blobs: Vec<String> = chosen.iter().map(|p| p.blob.clone()).collect();
        let (freed, version_id) = self.store.write(|tx| -> Result<(Vec<String>, Option<String>)> {
            if get_json::<UploadRecord>(tx, UPLOADS, &upload_key(&input.bucket, &input.key, &input.upload_id))?.is_none() {
                return Err(S3Error::NoSuchUpload(input.upload_id.clone()));
            }
            let now_parts = scan_json::<PartRecord>(tx, PARTS, &nubo_store::key::key(&[&input.upload_id]), None, usize::MAX)?;
            for blob in &chosen_blobs {
                if !now_parts.iter().any(|(_, p)| p.blob == *blob) {
                    return Err(S3Error::InvalidPart("A part of this upload changed while it was being completed.".into()));
                }
            }
            let (mut freed, version) = self.store_object(tx, &input.bucket, &input.key, &mut record, &conditions)?;
            tx.delete(UPLOADS, &upload_key(&input.bucket, &input.key, &input.upload_id))?;
            for (k, p) in now_parts {
                tx.delete(PARTS, &k)?;
                if !chosen_blobs.contains(&p.blob) {
                    freed.push(p.blob);
                }
            }
            Ok((freed, version))
        })?;
        self.release(freed.into_iter().filter(|b| !chosen_blobs.contains(b))).await;
        self.notify(&bucket, "ObjectCreated:CompleteMultipartUpload", &input.key, Some(&ObjectRecord { version_id: version_id.clone(), ..notified }));
        let mut out = CompleteMultipartUploadOutput {
            location: Some(format!("http://{}/{}/{}", ctx.host, input.bucket, crate::listing::encode(input.key.clone(), true))),
            bucket: Some(input.bucket),
            key: Some(input.key),
            e_tag: Some(etag),
            version_id,
            checksum_type: checksum_out.as_ref().map(|c| c.kind.clone()),
            ..Default::default()
        };
        set_checksum!(out, checksum_out.as_ref());
        Ok(out)
    }

    pub(crate) async fn abort_multipart_upload(&self, input: AbortMultipartUploadRequest) -> Result<AbortMultipartUploadOutput> {
        let upload = self.upload(&input.bucket, &input.key, &input.upload_id)?;
        self.discard_upload(&input.bucket, &upload).await?;
        Ok(AbortMultipartUploadOutput::default())
    }

    pub(crate) async fn list_parts(&self, input: ListPartsRequest) -> Result<ListPartsOutput> {
        let upload = self.upload(&input.bucket, &input.key, &input.upload_id)?;
        let max = input.max_parts.unwrap_or(1000).clamp(0, 1000) as usize;
        let marker = input.part_number_marker.unwrap_or(0);
        let all: Vec<PartRecord> = self.parts(&input.upload_id)?.into_iter().filter(|p| p.part_number > marker).collect();
        let truncated = all.len() > max;
        let page: Vec<Part> = all
            .iter()
            .take(max)
            .map(|p| {
                let mut part = Part {
                    part_number: Some(p.part_number),
                    last_modified: Some(Timestamp::from_millis(p.last_modified_ms)),
                    e_tag: Some(format!("\"{}\"", p.md5)),
                    size: Some(p.size as i64),
                    ..Default::default()
                };
                set_checksum!(part, p.checksum.as_ref());
                part
            })
            .collect();
        Ok(ListPartsOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(input.upload_id),
            part_number_marker: Some(marker),
            next_part_number_marker: page.last().and_then(|p| p.part_number),
            max_parts: Some(max as i32),
            is_truncated: Some(truncated),
            parts: Some(page),
            initiator: Some(Initiator { id: Some(owner(&upload.owner).id.unwrap_or_default()), display_name: Some("nubo".into()) }),
            owner: Some(owner(&upload.owner)),
            storage_class: Some(upload.storage_class),
            checksum_algorithm: upload.checksum_algorithm,
            ..Default::default()
        })
    }

    pub(crate) async fn list_multipart_uploads(&self, input: ListMultipartUploadsRequest) -> Result<ListMultipartUploadsOutput> {
        self.bucket(&input.bucket)?;
        let max = input.max_uploads.unwrap_or(1000).clamp(0, 1000) as usize;
        let prefix = input.prefix.clone().unwrap_or_default();
        let after = input.key_marker.as_ref().map(|k| match &input.upload_id_marker {
            Some(u) => upload_key(&input.bucket, k, u),
            None => {
                let mut k = upload_key(&input.bucket, k, "");
                k.pop();
                k.push(0xFF);
                k
            }
        });
        let all = self.store.read(|tx| scan_json::<UploadRecord>(tx, UPLOADS, &objects_prefix(&input.bucket, &prefix), after.as_deref(), max + 1))?;
        let truncated = all.len() > max;
        let uploads: Vec<UploadRecord> = all.into_iter().take(max).map(|(_, u)| u).collect();
        Ok(ListMultipartUploadsOutput {
            bucket: Some(input.bucket),
            key_marker: input.key_marker,
            upload_id_marker: input.upload_id_marker,
            next_key_marker: truncated.then(|| uploads.last().map(|u| u.key.clone())).flatten(),
            next_upload_id_marker: truncated.then(|| uploads.last().map(|u| u.upload_id.clone())).flatten(),
            prefix: input.prefix,
            delimiter: input.delimiter,
            max_uploads: Some(max as i32),
            is_truncated: Some(truncated),
            uploads: Some(
                uploads
                    .into_iter()
                    .map(|u| MultipartUpload {
                        upload_id: Some(u.upload_id),
                        key: Some(u.key),
                        initiated: Some(Timestamp::from_millis(u.initiated_ms)),
                        storage_class: Some(u.storage_class),
                        owner: Some(owner(&u.owner)),
                        initiator: Some(Initiator { id: owner(&u.owner).id, display_name: Some("nubo".into()) }),
                        checksum_algorithm: u.checksum_algorithm,
                        checksum_type: None,
                    })
                    .collect(),
            ),
            common_prefixes: Some(Vec::new()),
            encoding_type: input.encoding_type,
            request_charged: None,
        })
    }
}
