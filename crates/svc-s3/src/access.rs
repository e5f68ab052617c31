//! S3's IAM actions and resources, per operation: S3 is the service whose actions differ
//! most from its operation names (`ListObjectsV2` is `s3:ListBucket`, `HeadObject` is
//! `s3:GetObject`, a multipart upload is `s3:PutObject`), and whose resources are buckets
//! (`arn:aws:s3:::b`) or objects (`arn:aws:s3:::b/key`). Bucket policies are the
//! resource policy of both.

use crate::S3;
use nubo_core::RequestContext;
use nubo_model::access::Access;
use nubo_model::Value;

/// The IAM action of an S3 operation, and whether it acts on an object (else the bucket).
fn action(operation: &str) -> (&str, bool) {
    match operation {
        "ListBuckets" => ("ListAllMyBuckets", false),
        "HeadBucket" | "ListObjects" | "ListObjectsV2" => ("ListBucket", false),
        "ListObjectVersions" => ("ListBucketVersions", false),
        "ListMultipartUploads" => ("ListBucketMultipartUploads", false),
        "GetObject" | "HeadObject" => ("GetObject", true),
        "PutObject" | "CreateMultipartUpload" | "UploadPart" | "CompleteMultipartUpload" | "CopyObject" | "UploadPartCopy" => ("PutObject", true),
        "DeleteObject" | "DeleteObjects" => ("DeleteObject", true),
        "AbortMultipartUpload" => ("AbortMultipartUpload", true),
        "ListParts" => ("ListMultipartUploadParts", true),
        "PutObjectTagging" | "GetObjectTagging" | "DeleteObjectTagging" | "PutObjectAcl" | "GetObjectAcl" => (operation, true),
        "DeleteBucketTagging" => ("PutBucketTagging", false),
        "PutBucketCors" | "DeleteBucketCors" => ("PutBucketCORS", false),
        "GetBucketCors" => ("GetBucketCORS", false),
        "PutBucketEncryption" | "DeleteBucketEncryption" => ("PutEncryptionConfiguration", false),
        "GetBucketEncryption" => ("GetEncryptionConfiguration", false),
        "PutBucketLifecycleConfiguration" | "DeleteBucketLifecycle" => ("PutLifecycleConfiguration", false),
        "GetBucketLifecycleConfiguration" => ("GetLifecycleConfiguration", false),
        "PutBucketNotificationConfiguration" => ("PutBucketNotification", false),
        "GetBucketNotificationConfiguration" => ("GetBucketNotification", false),
        "PutPublicAccessBlock" | "DeletePublicAccessBlock" => ("PutBucketPublicAccessBlock", false),
        "GetPublicAccessBlock" => ("GetBucketPublicAccessBlock", false),
        "DeleteBucketOwnershipControls" => ("PutBucketOwnershipControls", false),
        "GetObjectLockConfiguration" => ("GetBucketObjectLockConfiguration", false),
        "GetBucketReplication" => ("GetReplicationConfiguration", false),
        "GetBucketAccelerateConfiguration" => ("GetAccelerateConfiguration", false),
        "DeleteBucketWebsite" => ("DeleteBucketWebsite", false),
        other => (other, false),
    }
}

/// The version-specific action where a call names a version (`s3:GetObjectVersion`).
fn versioned(action: &str) -> Option<&'static str> {
    match action {
        "GetObject" => Some("GetObjectVersion"),
        "DeleteObject" => Some("DeleteObjectVersion"),
        "GetObjectTagging" => Some("GetObjectVersionTagging"),
        "PutObjectTagging" => Some("PutObjectVersionTagging"),
        "DeleteObjectTagging" => Some("DeleteObjectVersionTagging"),
        "GetObjectAcl" => Some("GetObjectVersionAcl"),
        "PutObjectAcl" => Some("PutObjectVersionAcl"),
        _ => None,
    }
}

/// The accesses an S3 call makes: one action on the bucket or the object; for copies
/// also the read of the source object; for `DeleteObjects` one per key.
pub(crate) fn accesses(ctx: &RequestContext, input: &Value) -> Vec<Access> {
    let (name, on_object) = action(&ctx.operation);
    let bucket = input.get("Bucket").and_then(Value::as_str);
    let key = input.get("Key").and_then(Value::as_str);
    let name = match input.get("VersionId").and_then(Value::as_str) {
        Some(_) => versioned(name).unwrap_or(name),
        None => name,
    };
    if let (Some(b), Some(Value::List(objects))) = (bucket, input.get("Delete").and_then(|d| d.get("Objects"))) {
        return objects
            .iter()
            .filter_map(|o| {
                let key = o.get("Key").and_then(Value::as_str)?;
                let action = if o.get("VersionId").is_some() { "s3:DeleteObjectVersion" } else { "s3:DeleteObject" };
                Some(Access::new(action, format!("arn:aws:s3:::{b}/{key}")))
            })
            .collect();
    }
    let resource = match (bucket, key, on_object) {
        (Some(b), Some(k), true) => format!("arn:aws:s3:::{b}/{k}"),
        (Some(b), None, true) => format!("arn:aws:s3:::{b}/*"),
        (Some(b), _, false) => format!("arn:aws:s3:::{b}"),
        (None, _, _) => "*".into(),
    };
    let mut access = Access::new(format!("s3:{name}"), resource);
    if let Some(prefix) = input.get("Prefix").and_then(Value::as_str) {
        access = access.with_context("s3:prefix", prefix);
    }
    let mut out = vec![access];
    if let Some(source) = input.get("CopySource").and_then(Value::as_str) {
        let source = percent_encoding::percent_decode_str(source.trim_start_matches('/')).decode_utf8_lossy();
        let source = source.split("?versionId=").next().unwrap_or(&source);
        out.push(Access::new("s3:GetObject", format!("arn:aws:s3:::{source}")));
    }
    out
}

/// A website endpoint request reads an object anonymously (the index document for `/`).
pub(crate) fn website_auth(req: &nubo_model::handler::HttpRequest<'_>) -> Option<nubo_model::handler::HttpAuth> {
    let bucket = nubo_core::addressing::website_bucket(req.host)?;
    let key = percent_encoding::percent_decode_str(req.path.trim_start_matches('/')).decode_utf8_lossy().into_owned();
    let access = Access::new("s3:GetObject", format!("arn:aws:s3:::{bucket}/{key}"));
    Some(nubo_model::handler::HttpAuth { accesses: vec![access], signed: false, refuse: crate::web::website_refusal })
}

impl S3 {
    /// The bucket policy of the bucket an `arn:aws:s3:::bucket[/key]` names.
    pub(crate) fn policy_of(&self, arn: &str) -> Option<String> {
        let bucket = arn.strip_prefix("arn:aws:s3:::")?.split('/').next()?;
        let record = self.bucket(bucket).ok()?;
        self.config::<String>(&record, crate::config::POLICY).ok().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;

    fn input(pairs: &[(&str, &str)]) -> Value {
        Value::Structure(pairs.iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect::<IndexMap<_, _>>())
    }

    #[test]
    fn listing_a_bucket_is_list_bucket_on_the_bucket() {
        let ctx = RequestContext::for_tests("s3", "ListObjectsV2");
        let got = accesses(&ctx, &input(&[("Bucket", "b"), ("Prefix", "home/")]));
        assert_eq!(got, vec![Access::new("s3:ListBucket", "arn:aws:s3:::b").with_context("s3:prefix", "home/")]);
    }

    #[test]
    fn a_versioned_read_is_get_object_version() {
        let ctx = RequestContext::for_tests("s3", "GetObject");
        let got = accesses(&ctx, &input(&[("Bucket", "b"), ("Key", "k"), ("VersionId", "v1")]));
        assert_eq!(got, vec![Access::new("s3:GetObjectVersion", "arn:aws:s3:::b/k")]);
    }

    #[test]
    fn a_copy_reads_the_source_and_writes_the_target() {
        let ctx = RequestContext::for_tests("s3", "CopyObject");
        let got = accesses(&ctx, &input(&[("Bucket", "b"), ("Key", "k"), ("CopySource", "src/a%20b")]));
        assert_eq!(got, vec![Access::new("s3:PutObject", "arn:aws:s3:::b/k"), Access::new("s3:GetObject", "arn:aws:s3:::src/a b")]);
    }
}
