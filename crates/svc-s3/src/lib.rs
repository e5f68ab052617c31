//! Amazon S3.
//!
//! Buckets and object metadata live in the store's tables, object data in its blobs
//! (streamed in and out, never held whole in memory). Each module owns one part of the
//! API: [`buckets`], [`objects`], [`listing`], [`multipart`]; [`data`] moves bytes,
//! [`conditions`] evaluates preconditions and ranges, [`error`] holds S3's error codes.
//! This file only maps the generated trait onto them.

mod access;
mod buckets;
mod checksum;
mod config;
mod conditions;
mod data;
mod error;
pub mod events;
mod gc;
pub mod lifecycle;
mod listing;
mod multipart;
mod names;
mod objects;
mod records;
mod tagging;
mod versioning;
mod web;

use error::Result;
use nubo_core::{AwsError, Clock, RequestContext, Timestamp};
use nubo_model::generated::s3::{self, *};
use nubo_model::Handler;
use nubo_store::Store;
use sha2::Digest;

/// The S3 service: cheap to clone, so its controllers share it with the API.
#[derive(Clone)]
pub struct S3 {
    store: Store,
    clock: Clock,
    /// Wakes the lifecycle controller when a bucket's rules change.
    lifecycle_changed: std::sync::Arc<tokio::sync::Notify>,
    /// Where event notifications go.
    events: std::sync::Arc<dyn events::EventSink>,
}

impl S3 {
    pub fn new(store: Store, clock: Clock) -> S3 {
        S3 { store, clock, lifecycle_changed: Default::default(), events: events::default_sink() }
    }

    /// Whether a bucket exists (other services check before they deliver to it).
    pub fn bucket_exists(&self, name: &str) -> bool {
        self.bucket(name).is_ok()
    }

    /// Writes an object on behalf of another service (load balancers' access logs), as
    /// PutObject would, notifications included.
    pub async fn deliver(&self, bucket: &str, key: &str, body: Vec<u8>, content_type: &str) -> std::result::Result<(), String> {
        let input = nubo_model::generated::s3::PutObjectRequest {
            bucket: bucket.to_string(),
            key: key.to_string(),
            content_length: Some(body.len() as i64),
            content_type: Some(content_type.to_string()),
            body: Some(nubo_model::ByteStream::from_bytes(body.into())),
            ..Default::default()
        };
        self.put_object(input).await.map(|_| ()).map_err(|e| format!("{:?}", nubo_core::AwsError::from(e)))
    }

    /// Reads an object whole on behalf of another service (Lambda code from S3).
    pub async fn read_object(&self, bucket: &str, key: &str, version: Option<&str>) -> std::result::Result<Vec<u8>, nubo_core::AwsError> {
        let input = nubo_model::generated::s3::GetObjectRequest { bucket: bucket.to_string(), key: key.to_string(), version_id: version.map(str::to_string), ..Default::default() };
        let out = self.get_object(input).await.map_err(nubo_core::AwsError::from)?;
        match out.body {
            Some(body) => body.collect().await.map(|b| b.to_vec()).map_err(|e| nubo_core::AwsError::internal(e.to_string())),
            None => Ok(Vec::new()),
        }
    }

    /// Delivers event notifications through `sink` (SQS, SNS and Lambda when they exist).
    pub fn with_events(mut self, sink: std::sync::Arc<dyn events::EventSink>) -> S3 {
        self.events = sink;
        self
    }
}

/// The API, for the gateway. Start [`lifecycle::run`] beside it.
pub fn service(s3: S3) -> Box<dyn Handler> {
    Box::new(s3::Service(s3))
}

impl S3 {
    /// S3 keeps modification times to the second (as HTTP dates carry them).
    fn now(&self) -> Timestamp {
        Timestamp::from_secs(self.clock.now().as_secs())
    }
}

/// The owner S3 reports for an account: a stable 64-hex-digit canonical user id.
fn owner(account: &str) -> Owner {
    Owner { id: Some(hex::encode(sha2::Sha256::digest(account.as_bytes()))), display_name: Some("nubo".into()) }
}

fn aws<T>(r: Result<T>) -> std::result::Result<T, AwsError> {
    r.map_err(Into::into)
}

/// Every operation delegates to its module; this block is the whole API surface.
impl s3::S3 for S3 {
    fn access(&self, ctx: &RequestContext, input: &nubo_model::Value) -> Vec<nubo_model::access::Access> {
        access::accesses(ctx, input)
    }
    fn resource_policy(&self, _: &RequestContext, arn: &str) -> Option<String> {
        self.policy_of(arn)
    }
    fn http_auth(&self, req: &nubo_model::handler::HttpRequest<'_>) -> Option<nubo_model::handler::HttpAuth> {
        access::website_auth(req)
    }
    fn http<'a>(&'a self, req: &'a nubo_model::handler::HttpRequest<'a>) -> Option<nubo_model::handler::HttpFuture<'a>> {
        self.http_request(req)
    }
    fn response_headers(&self, req: &nubo_model::handler::HttpRequest<'_>) -> Vec<(String, String)> {
        self.cors_response_headers(req)
    }
    async fn create_bucket(&self, ctx: &RequestContext, input: CreateBucketRequest) -> std::result::Result<CreateBucketOutput, AwsError> {
        aws(S3::create_bucket(self, ctx, input).await)
    }
    async fn head_bucket(&self, _: &RequestContext, input: HeadBucketRequest) -> std::result::Result<HeadBucketOutput, AwsError> {
        aws(S3::head_bucket(self, input).await)
    }
    async fn list_buckets(&self, ctx: &RequestContext, input: ListBucketsRequest) -> std::result::Result<ListBucketsOutput, AwsError> {
        aws(S3::list_buckets(self, ctx, input).await)
    }
    async fn delete_bucket(&self, _: &RequestContext, input: DeleteBucketRequest) -> std::result::Result<(), AwsError> {
        aws(S3::delete_bucket(self, input).await)
    }
    async fn get_bucket_location(&self, _: &RequestContext, input: GetBucketLocationRequest) -> std::result::Result<GetBucketLocationOutput, AwsError> {
        aws(S3::get_bucket_location(self, input).await)
    }
    async fn put_object(&self, _: &RequestContext, input: PutObjectRequest) -> std::result::Result<PutObjectOutput, AwsError> {
        aws(S3::put_object(self, input).await)
    }
    async fn get_object(&self, _: &RequestContext, input: GetObjectRequest) -> std::result::Result<GetObjectOutput, AwsError> {
        aws(S3::get_object(self, input).await)
    }
    async fn head_object(&self, _: &RequestContext, input: HeadObjectRequest) -> std::result::Result<HeadObjectOutput, AwsError> {
        aws(S3::head_object(self, input).await)
    }
    async fn delete_object(&self, _: &RequestContext, input: DeleteObjectRequest) -> std::result::Result<DeleteObjectOutput, AwsError> {
        aws(S3::delete_object(self, input).await)
    }
    async fn delete_objects(&self, _: &RequestContext, input: DeleteObjectsRequest) -> std::result::Result<DeleteObjectsOutput, AwsError> {
        aws(S3::delete_objects(self, input).await)
    }
    async fn copy_object(&self, _: &RequestContext, input: CopyObjectRequest) -> std::result::Result<CopyObjectOutput, AwsError> {
        aws(S3::copy_object(self, input).await)
    }
    async fn list_objects(&self, _: &RequestContext, input: ListObjectsRequest) -> std::result::Result<ListObjectsOutput, AwsError> {
        aws(S3::list_objects(self, input).await)
    }
    async fn list_objects_v2(&self, _: &RequestContext, input: ListObjectsV2Request) -> std::result::Result<ListObjectsV2Output, AwsError> {
        aws(S3::list_objects_v2(self, input).await)
    }
    async fn create_multipart_upload(&self, ctx: &RequestContext, input: CreateMultipartUploadRequest) -> std::result::Result<CreateMultipartUploadOutput, AwsError> {
        aws(S3::create_multipart_upload(self, ctx, input).await)
    }
    async fn upload_part(&self, _: &RequestContext, input: UploadPartRequest) -> std::result::Result<UploadPartOutput, AwsError> {
        aws(S3::upload_part(self, input).await)
    }
    async fn upload_part_copy(&self, _: &RequestContext, input: UploadPartCopyRequest) -> std::result::Result<UploadPartCopyOutput, AwsError> {
        aws(S3::upload_part_copy(self, input).await)
    }
    async fn complete_multipart_upload(&self, ctx: &RequestContext, input: CompleteMultipartUploadRequest) -> std::result::Result<CompleteMultipartUploadOutput, AwsError> {
        aws(S3::complete_multipart_upload(self, ctx, input).await)
    }
    async fn abort_multipart_upload(&self, _: &RequestContext, input: AbortMultipartUploadRequest) -> std::result::Result<AbortMultipartUploadOutput, AwsError> {
        aws(S3::abort_multipart_upload(self, input).await)
    }
    async fn list_parts(&self, _: &RequestContext, input: ListPartsRequest) -> std::result::Result<ListPartsOutput, AwsError> {
        aws(S3::list_parts(self, input).await)
    }
    async fn list_multipart_uploads(&self, _: &RequestContext, input: ListMultipartUploadsRequest) -> std::result::Result<ListMultipartUploadsOutput, AwsError> {
        aws(S3::list_multipart_uploads(self, input).await)
    }
    async fn put_object_tagging(&self, _: &RequestContext, input: PutObjectTaggingRequest) -> std::result::Result<PutObjectTaggingOutput, AwsError> {
        aws(S3::put_object_tagging(self, input).await)
    }
    async fn get_object_tagging(&self, _: &RequestContext, input: GetObjectTaggingRequest) -> std::result::Result<GetObjectTaggingOutput, AwsError> {
        aws(S3::get_object_tagging(self, input).await)
    }
    async fn delete_object_tagging(&self, _: &RequestContext, input: DeleteObjectTaggingRequest) -> std::result::Result<DeleteObjectTaggingOutput, AwsError> {
        aws(S3::delete_object_tagging(self, input).await)
    }
    async fn put_bucket_tagging(&self, _: &RequestContext, input: PutBucketTaggingRequest) -> std::result::Result<(), AwsError> {
        aws(S3::put_bucket_tagging(self, input).await)
    }
    async fn get_bucket_tagging(&self, _: &RequestContext, input: GetBucketTaggingRequest) -> std::result::Result<GetBucketTaggingOutput, AwsError> {
        aws(S3::get_bucket_tagging(self, input).await)
    }
    async fn delete_bucket_tagging(&self, _: &RequestContext, input: DeleteBucketTaggingRequest) -> std::result::Result<(), AwsError> {
        aws(S3::delete_bucket_tagging(self, input).await)
    }
    async fn put_bucket_versioning(&self, _: &RequestContext, input: PutBucketVersioningRequest) -> std::result::Result<(), AwsError> {
        aws(S3::put_bucket_versioning(self, input).await)
    }
    async fn get_bucket_versioning(&self, _: &RequestContext, input: GetBucketVersioningRequest) -> std::result::Result<GetBucketVersioningOutput, AwsError> {
        aws(S3::get_bucket_versioning(self, input).await)
    }
    async fn list_object_versions(&self, _: &RequestContext, input: ListObjectVersionsRequest) -> std::result::Result<ListObjectVersionsOutput, AwsError> {
        aws(S3::list_object_versions(self, input).await)
    }
    async fn put_bucket_policy(&self, _: &RequestContext, input: PutBucketPolicyRequest) -> std::result::Result<(), AwsError> {
        aws(S3::put_bucket_policy(self, input).await)
    }
    async fn get_bucket_policy(&self, _: &RequestContext, input: GetBucketPolicyRequest) -> std::result::Result<GetBucketPolicyOutput, AwsError> {
        aws(S3::get_bucket_policy(self, input).await)
    }
    async fn delete_bucket_policy(&self, _: &RequestContext, input: DeleteBucketPolicyRequest) -> std::result::Result<(), AwsError> {
        aws(S3::delete_bucket_policy(self, input).await)
    }
    async fn get_bucket_policy_status(&self, _: &RequestContext, input: GetBucketPolicyStatusRequest) -> std::result::Result<GetBucketPolicyStatusOutput, AwsError> {
        aws(S3::get_bucket_policy_status(self, input).await)
    }
    async fn put_bucket_cors(&self, _: &RequestContext, input: PutBucketCorsRequest) -> std::result::Result<(), AwsError> {
        aws(S3::put_bucket_cors(self, input).await)
    }
    async fn get_bucket_cors(&self, _: &RequestContext, input: GetBucketCorsRequest) -> std::result::Result<GetBucketCorsOutput, AwsError> {
        aws(S3::get_bucket_cors(self, input).await)
    }
    async fn delete_bucket_cors(&self, _: &RequestContext, input: DeleteBucketCorsRequest) -> std::result::Result<(), AwsError> {
        aws(S3::delete_bucket_cors(self, input).await)
    }
    async fn put_bucket_encryption(&self, _: &RequestContext, input: PutBucketEncryptionRequest) -> std::result::Result<(), AwsError> {
        aws(S3::put_bucket_encryption(self, input).await)
    }
    async fn get_bucket_encryption(&self, _: &RequestContext, input: GetBucketEncryptionRequest) -> std::result::Result<GetBucketEncryptionOutput, AwsError> {
        aws(S3::get_bucket_encryption(self, input).await)
    }
    async fn delete_bucket_encryption(&self, _: &RequestContext, input: DeleteBucketEncryptionRequest) -> std::result::Result<(), AwsError> {
        aws(S3::delete_bucket_encryption(self, input).await)
    }
    async fn put_bucket_acl(&self, _: &RequestContext, input: PutBucketAclRequest) -> std::result::Result<(), AwsError> {
        aws(S3::put_bucket_acl(self, input).await)
    }
    async fn get_bucket_acl(&self, _: &RequestContext, input: GetBucketAclRequest) -> std::result::Result<GetBucketAclOutput, AwsError> {
        aws(S3::get_bucket_acl(self, input).await)
    }
    async fn put_object_acl(&self, _: &RequestContext, input: PutObjectAclRequest) -> std::result::Result<PutObjectAclOutput, AwsError> {
        aws(S3::put_object_acl(self, input).await)
    }
    async fn get_object_acl(&self, _: &RequestContext, input: GetObjectAclRequest) -> std::result::Result<GetObjectAclOutput, AwsError> {
        aws(S3::get_object_acl(self, input).await)
    }
    async fn put_bucket_lifecycle_configuration(&self, _: &RequestContext, input: PutBucketLifecycleConfigurationRequest) -> std::result::Result<PutBucketLifecycleConfigurationOutput, AwsError> {
        aws(S3::put_bucket_lifecycle_configuration(self, input).await)
    }
    async fn get_bucket_lifecycle_configuration(&self, _: &RequestContext, input: GetBucketLifecycleConfigurationRequest) -> std::result::Result<GetBucketLifecycleConfigurationOutput, AwsError> {
        aws(S3::get_bucket_lifecycle_configuration(self, input).await)
    }
    async fn delete_bucket_lifecycle(&self, _: &RequestContext, input: DeleteBucketLifecycleRequest) -> std::result::Result<(), AwsError> {
        aws(S3::delete_bucket_lifecycle(self, input).await)
    }
    async fn put_bucket_website(&self, _: &RequestContext, input: PutBucketWebsiteRequest) -> std::result::Result<(), AwsError> {
        aws(S3::put_bucket_website(self, input).await)
    }
    async fn get_bucket_website(&self, _: &RequestContext, input: GetBucketWebsiteRequest) -> std::result::Result<GetBucketWebsiteOutput, AwsError> {
        aws(S3::get_bucket_website(self, input).await)
    }
    async fn delete_bucket_website(&self, _: &RequestContext, input: DeleteBucketWebsiteRequest) -> std::result::Result<(), AwsError> {
        aws(S3::delete_bucket_website(self, input).await)
    }
    async fn put_bucket_notification_configuration(&self, _: &RequestContext, input: PutBucketNotificationConfigurationRequest) -> std::result::Result<(), AwsError> {
        aws(S3::put_bucket_notification_configuration(self, input).await)
    }
    async fn get_bucket_notification_configuration(&self, _: &RequestContext, input: GetBucketNotificationConfigurationRequest) -> std::result::Result<NotificationConfiguration, AwsError> {
        aws(S3::get_bucket_notification_configuration(self, input).await)
    }
    async fn put_public_access_block(&self, _: &RequestContext, input: PutPublicAccessBlockRequest) -> std::result::Result<(), AwsError> {
        aws(S3::put_public_access_block(self, input).await)
    }
    async fn get_public_access_block(&self, _: &RequestContext, input: GetPublicAccessBlockRequest) -> std::result::Result<GetPublicAccessBlockOutput, AwsError> {
        aws(S3::get_public_access_block(self, input).await)
    }
    async fn delete_public_access_block(&self, _: &RequestContext, input: DeletePublicAccessBlockRequest) -> std::result::Result<(), AwsError> {
        aws(S3::delete_public_access_block(self, input).await)
    }
    async fn put_bucket_ownership_controls(&self, _: &RequestContext, input: PutBucketOwnershipControlsRequest) -> std::result::Result<(), AwsError> {
        aws(S3::put_bucket_ownership_controls(self, input).await)
    }
    async fn get_bucket_ownership_controls(&self, _: &RequestContext, input: GetBucketOwnershipControlsRequest) -> std::result::Result<GetBucketOwnershipControlsOutput, AwsError> {
        aws(S3::get_bucket_ownership_controls(self, input).await)
    }
    async fn delete_bucket_ownership_controls(&self, _: &RequestContext, input: DeleteBucketOwnershipControlsRequest) -> std::result::Result<(), AwsError> {
        aws(S3::delete_bucket_ownership_controls(self, input).await)
    }
    async fn get_bucket_accelerate_configuration(&self, _: &RequestContext, input: GetBucketAccelerateConfigurationRequest) -> std::result::Result<GetBucketAccelerateConfigurationOutput, AwsError> {
        aws(S3::get_bucket_accelerate_configuration(self, input).await)
    }
    async fn get_bucket_request_payment(&self, _: &RequestContext, input: GetBucketRequestPaymentRequest) -> std::result::Result<GetBucketRequestPaymentOutput, AwsError> {
        aws(S3::get_bucket_request_payment(self, input).await)
    }
    async fn get_bucket_logging(&self, _: &RequestContext, input: GetBucketLoggingRequest) -> std::result::Result<GetBucketLoggingOutput, AwsError> {
        aws(S3::get_bucket_logging(self, input).await)
    }
    async fn get_bucket_replication(&self, _: &RequestContext, input: GetBucketReplicationRequest) -> std::result::Result<GetBucketReplicationOutput, AwsError> {
        aws(S3::get_bucket_replication(self, input).await)
    }
    async fn get_object_lock_configuration(&self, _: &RequestContext, input: GetObjectLockConfigurationRequest) -> std::result::Result<GetObjectLockConfigurationOutput, AwsError> {
        aws(S3::get_object_lock_configuration(self, input).await)
    }
}
