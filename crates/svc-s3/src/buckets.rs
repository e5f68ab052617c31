//! Buckets: create (with S3's region rules), head, list, delete, location, tagging.

use crate::error::{Result, S3Error};
use crate::records::{bucket_key, objects_prefix, BucketRecord, BUCKETS, OBJECTS, UPLOADS};
use crate::{names, owner, S3};
use nubo_core::{RequestContext, Timestamp};
use nubo_model::generated::s3::*;
use nubo_store::{get_json, put_json, scan_json};

const US_EAST_1: &str = "us-east-1";

impl S3 {
    pub(crate) fn bucket(&self, name: &str) -> Result<BucketRecord> {
        self.store
            .read(|tx| get_json::<BucketRecord>(tx, BUCKETS, &bucket_key(name)))?
            .ok_or_else(|| S3Error::NoSuchBucket(name.to_string()))
    }

    pub(crate) async fn create_bucket(&self, ctx: &RequestContext, input: CreateBucketRequest) -> Result<CreateBucketOutput> {
        crate::config::check_canned(input.acl.as_deref())?;
        let name = input.bucket;
        if !names::valid_bucket_name(&name) {
            return Err(S3Error::InvalidBucketName(name));
        }
        let constraint = input.create_bucket_configuration.and_then(|c| c.location_constraint).filter(|c| !c.is_empty());
        // The us-east-1 endpoint creates buckets in any region (naming one explicitly is an
        // error there); every other regional endpoint only in its own region.
        let region = match (ctx.scope.region.as_str(), constraint) {
            (US_EAST_1, None) => US_EAST_1.to_string(),
            (US_EAST_1, Some(c)) if c == US_EAST_1 => return Err(S3Error::InvalidLocationConstraint),
            (US_EAST_1, Some(c)) => c,
            (r, None) => {
                let _ = r;
                return Err(S3Error::IllegalLocationConstraint(
                    "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.".into(),
                ));
            }
            (r, Some(c)) if c == r => c,
            (_, Some(c)) => {
                return Err(S3Error::IllegalLocationConstraint(format!(
                    "The {c} location constraint is incompatible for the region specific endpoint this request was sent to."
                )))
            }
        };
        let account = ctx.scope.account.clone();
        let created_ms = self.now().as_millis();
        self.store.write(|tx| -> Result<()> {
            if let Some(existing) = get_json::<BucketRecord>(tx, BUCKETS, &bucket_key(&name))? {
                // us-east-1 keeps its legacy answer: re-creating your own bucket succeeds.
                return match (existing.account == account, existing.region == US_EAST_1 && region == US_EAST_1) {
                    (true, true) => Ok(()),
                    (true, false) => Err(S3Error::BucketAlreadyOwnedByYou(name.clone())),
                    (false, _) => Err(S3Error::BucketAlreadyExists(name.clone())),
                };
            }
            let record = BucketRecord { name: name.clone(), account: account.clone(), region: region.clone(), created_ms, tags: None, versioning: None, config: Default::default() };
            put_json(tx, BUCKETS, &bucket_key(&name), &record)?;
            Ok(())
        })?;
        if input.acl.is_some() {
            self.set_bucket_acl(&name, input.acl, None)?;
        }
        Ok(CreateBucketOutput { location: Some(format!("/{name}")), bucket_arn: None })
    }

    pub(crate) async fn head_bucket(&self, input: HeadBucketRequest) -> Result<HeadBucketOutput> {
        let b = self.bucket(&input.bucket)?;
        Ok(HeadBucketOutput { bucket_region: Some(b.region), access_point_alias: Some(false), ..Default::default() })
    }

    pub(crate) async fn list_buckets(&self, ctx: &RequestContext, input: ListBucketsRequest) -> Result<ListBucketsOutput> {
        let max = input.max_buckets.unwrap_or(10_000).clamp(1, 10_000) as usize;
        let prefix = input.prefix.clone().unwrap_or_default();
        let after = input.continuation_token.as_deref().map(bucket_key);
        let mut buckets = Vec::new();
        let mut token = None;
        let mut cursor = after;
        'scan: loop {
            let page = self.store.read(|tx| scan_json::<BucketRecord>(tx, BUCKETS, b"", cursor.as_deref(), 1000))?;
            let Some((last, _)) = page.last() else { break };
            cursor = Some(last.clone());
            for (_, b) in page {
                if b.account != ctx.scope.account || !b.name.starts_with(&prefix) {
                    continue;
                }
                if input.bucket_region.as_ref().is_some_and(|r| *r != b.region) {
                    continue;
                }
                if buckets.len() == max {
                    token = buckets.last().map(|x: &Bucket| x.name.clone().unwrap_or_default());
                    break 'scan;
                }
                buckets.push(Bucket {
                    name: Some(b.name.clone()),
                    creation_date: Some(Timestamp::from_millis(b.created_ms)),
                    bucket_region: Some(b.region.clone()),
                    bucket_arn: None,
                });
            }
        }
        Ok(ListBucketsOutput {
            buckets: Some(buckets),
            owner: Some(owner(&ctx.scope.account)),
            continuation_token: token,
            prefix: input.prefix,
        })
    }

    pub(crate) async fn delete_bucket(&self, input: DeleteBucketRequest) -> Result<()> {
        let name = input.bucket;
        let uploads = self.store.write(|tx| -> Result<Vec<(Vec<u8>, crate::records::UploadRecord)>> {
            if get_json::<BucketRecord>(tx, BUCKETS, &bucket_key(&name))?.is_none() {
                return Err(S3Error::NoSuchBucket(name.clone()));
            }
            if !tx.scan(OBJECTS, &objects_prefix(&name, ""), None, 1)?.is_empty()
                || !tx.scan(crate::records::VERSIONS, &objects_prefix(&name, ""), None, 1)?.is_empty()
            {
                return Err(S3Error::BucketNotEmpty(name.clone()));
            }
            tx.delete(BUCKETS, &bucket_key(&name))?;
            Ok(scan_json(tx, UPLOADS, &objects_prefix(&name, ""), None, usize::MAX)?)
        })?;
        // Incomplete multipart uploads go with their bucket.
        for (_, u) in uploads {
            self.discard_upload(&name, &u).await?;
        }
        Ok(())
    }

    pub(crate) async fn get_bucket_location(&self, input: GetBucketLocationRequest) -> Result<GetBucketLocationOutput> {
        let b = self.bucket(&input.bucket)?;
        // us-east-1 is the empty constraint, as S3 has always answered.
        Ok(GetBucketLocationOutput { location_constraint: (b.region != US_EAST_1).then_some(b.region) })
    }

    pub(crate) async fn put_bucket_tagging(&self, input: PutBucketTaggingRequest) -> Result<()> {
        let tags = crate::tagging::validate(input.tagging.tag_set, 50)?;
        self.update_bucket(&input.bucket, |b| b.tags = Some(tags))
    }

    pub(crate) async fn get_bucket_tagging(&self, input: GetBucketTaggingRequest) -> Result<GetBucketTaggingOutput> {
        let b = self.bucket(&input.bucket)?;
        let tags = b.tags.ok_or(S3Error::NoSuchTagSet)?;
        Ok(GetBucketTaggingOutput { tag_set: crate::tagging::to_tags(tags) })
    }

    pub(crate) async fn delete_bucket_tagging(&self, input: DeleteBucketTaggingRequest) -> Result<()> {
        self.update_bucket(&input.bucket, |b| b.tags = None)
    }

    fn update_bucket(&self, name: &str, f: impl FnOnce(&mut BucketRecord)) -> Result<()> {
        self.store.write(|tx| -> Result<()> {
            let mut b = get_json::<BucketRecord>(tx, BUCKETS, &bucket_key(name))?.ok_or_else(|| S3Error::NoSuchBucket(name.to_string()))?;
            f(&mut b);
            put_json(tx, BUCKETS, &bucket_key(name), &b)?;
            Ok(())
        })
    }
}
