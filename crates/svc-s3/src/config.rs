//! Bucket configurations: policy, CORS, encryption, ACLs, lifecycle, website, event
//! notifications, public access block, ownership; and the answers S3 gives for the ones
//! nubo only reports (accelerate, request payment, logging, replication, object lock).
//!
//! Each configuration is kept as the decoded shape it arrived as and read back through the
//! generated types, so what a client put is exactly what it gets. The behaviours built on
//! them (lifecycle expiry, CORS answers, the website endpoint, policy enforcement with
//! IAM, event delivery with SQS/SNS/Lambda) read them from here.

use crate::error::{Result, S3Error};
use crate::records::{bucket_key, BucketRecord, BUCKETS};
use crate::{owner, S3};
use nubo_model::generated::s3::*;
use nubo_model::{FromValue, IntoValue, Value};
use nubo_store::{get_json, put_json};

const CORS: &str = "cors";
pub(crate) const POLICY: &str = "policy";
const ENCRYPTION: &str = "encryption";
const ACL: &str = "acl";
pub(crate) const LIFECYCLE: &str = "lifecycle";
pub(crate) const WEBSITE: &str = "website";
pub(crate) const NOTIFICATION: &str = "notification";
const PUBLIC_ACCESS_BLOCK: &str = "public-access-block";
const OWNERSHIP: &str = "ownership";

fn missing(code: &'static str, message: &'static str) -> S3Error {
    S3Error::NoSuchConfiguration { code, message }
}

/// The grants a canned ACL stands for.
pub(crate) fn canned_grants(account: &str, canned: &str) -> Vec<Grant> {
    let owner = owner(account);
    let me = Grant {
        grantee: Some(Grantee { display_name: owner.display_name.clone(), id: owner.id.clone(), r#type: "CanonicalUser".into(), ..Default::default() }),
        permission: Some("FULL_CONTROL".into()),
    };
    let group = |uri: &str, permission: &str| Grant {
        grantee: Some(Grantee { r#type: "Group".into(), uri: Some(uri.into()), ..Default::default() }),
        permission: Some(permission.into()),
    };
    const ALL: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
    const AUTH: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
    let mut grants = vec![me];
    match canned {
        "public-read" => grants.push(group(ALL, "READ")),
        "public-read-write" => grants.extend([group(ALL, "READ"), group(ALL, "WRITE")]),
        "authenticated-read" => grants.push(group(AUTH, "READ")),
        _ => {}
    }
    grants
}

pub(crate) fn check_canned(acl: Option<&str>) -> Result<()> {
    const CANNED: [&str; 7] =
        ["private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read", "bucket-owner-read", "bucket-owner-full-control"];
    match acl {
        Some(a) if !CANNED.contains(&a) => Err(S3Error::InvalidArgument { message: "Invalid canned ACL".into(), name: "x-amz-acl", value: a.into() }),
        _ => Ok(()),
    }
}

impl S3 {
    fn set_config(&self, bucket: &str, name: &str, value: Option<Value>) -> Result<()> {
        self.store.write(|tx| -> Result<()> {
            let mut b = get_json::<BucketRecord>(tx, BUCKETS, &bucket_key(bucket))?.ok_or_else(|| S3Error::NoSuchBucket(bucket.to_string()))?;
            match value {
                Some(v) => b.config.insert(name.to_string(), v),
                None => b.config.remove(name),
            };
            put_json(tx, BUCKETS, &bucket_key(bucket), &b)?;
            Ok(())
        })
    }

    pub(crate) fn config<T: FromValue>(&self, bucket: &BucketRecord, name: &str) -> Result<Option<T>> {
        match bucket.config.get(name) {
            Some(v) => T::from_value(v.clone()).map(Some).map_err(|e| S3Error::Internal(format!("stored {name} configuration: {e:?}"))),
            None => Ok(None),
        }
    }

    // -- policy ----------------------------------------------------------------------

    pub(crate) async fn put_bucket_policy(&self, input: PutBucketPolicyRequest) -> Result<()> {
        let doc: serde_json::Value = serde_json::from_str(&input.policy)
            .map_err(|_| S3Error::MalformedPolicy("Policies must be valid JSON and the first byte must be '{'".into()))?;
        let statements = doc.get("Statement").ok_or_else(|| S3Error::MalformedPolicy("Missing required field Statement".into()))?;
        if !(statements.is_array() || statements.is_object()) {
            return Err(S3Error::MalformedPolicy("Statement is not valid".into()));
        }
        // What is stored is what IAM's engine will enforce: it must parse as a resource policy.
        nubo_iam_policy::Policy::parse(&input.policy, nubo_iam_policy::PolicyKind::Resource).map_err(|e| S3Error::MalformedPolicy(e.0))?;
        self.set_config(&input.bucket, POLICY, Some(Value::String(input.policy)))
    }

    pub(crate) async fn get_bucket_policy(&self, input: GetBucketPolicyRequest) -> Result<GetBucketPolicyOutput> {
        let b = self.bucket(&input.bucket)?;
        let policy: String = self.config(&b, POLICY)?.ok_or_else(|| missing("NoSuchBucketPolicy", "The bucket policy does not exist"))?;
        Ok(GetBucketPolicyOutput { policy: Some(policy) })
    }

    pub(crate) async fn delete_bucket_policy(&self, input: DeleteBucketPolicyRequest) -> Result<()> {
        self.set_config(&input.bucket, POLICY, None)
    }

    /// Public when a statement allows anyone (`"Principal": "*"`).
    pub(crate) async fn get_bucket_policy_status(&self, input: GetBucketPolicyStatusRequest) -> Result<GetBucketPolicyStatusOutput> {
        let b = self.bucket(&input.bucket)?;
        let policy: String = self.config(&b, POLICY)?.ok_or_else(|| missing("NoSuchBucketPolicy", "The bucket policy does not exist"))?;
        let doc: serde_json::Value = serde_json::from_str(&policy).unwrap_or_default();
        let statements = match &doc["Statement"] {
            serde_json::Value::Array(a) => a.clone(),
            s => vec![s.clone()],
        };
        let anyone = |p: &serde_json::Value| p == "*" || p.get("AWS").is_some_and(|a| a == "*" || a.as_array().is_some_and(|l| l.iter().any(|x| x == "*")));
        let is_public = statements.iter().any(|s| s["Effect"] == "Allow" && anyone(&s["Principal"]));
        Ok(GetBucketPolicyStatusOutput { policy_status: Some(PolicyStatus { is_public: Some(is_public) }) })
    }

    // -- CORS --------------------------------------------------------------------------

    pub(crate) async fn put_bucket_cors(&self, input: PutBucketCorsRequest) -> Result<()> {
        let rules = &input.cors_configuration.cors_rules;
        if rules.is_empty() || rules.len() > 100 {
            return Err(S3Error::MalformedXml);
        }
        for r in rules {
            if let Some(m) = r.allowed_methods.iter().find(|m| !["GET", "PUT", "POST", "DELETE", "HEAD"].contains(&m.as_str())) {
                return Err(S3Error::InvalidRequest(format!("Found unsupported HTTP method in CORS config. Unsupported method is {m}")));
            }
        }
        self.set_config(&input.bucket, CORS, Some(input.cors_configuration.into_value()))
    }

    pub(crate) async fn get_bucket_cors(&self, input: GetBucketCorsRequest) -> Result<GetBucketCorsOutput> {
        let b = self.bucket(&input.bucket)?;
        let c: CORSConfiguration = self.config(&b, CORS)?.ok_or_else(|| missing("NoSuchCORSConfiguration", "The CORS configuration does not exist"))?;
        Ok(GetBucketCorsOutput { cors_rules: Some(c.cors_rules) })
    }

    pub(crate) async fn delete_bucket_cors(&self, input: DeleteBucketCorsRequest) -> Result<()> {
        self.set_config(&input.bucket, CORS, None)
    }

    // -- default encryption ---------------------------------------------------------------

    pub(crate) async fn put_bucket_encryption(&self, input: PutBucketEncryptionRequest) -> Result<()> {
        let c = input.server_side_encryption_configuration;
        if c.rules.is_empty() {
            return Err(S3Error::MalformedXml);
        }
        self.set_config(&input.bucket, ENCRYPTION, Some(c.into_value()))
    }

    /// Buckets are encrypted with SSE-S3 by default (as on AWS since 2023).
    pub(crate) async fn get_bucket_encryption(&self, input: GetBucketEncryptionRequest) -> Result<GetBucketEncryptionOutput> {
        let b = self.bucket(&input.bucket)?;
        let c = self.config::<ServerSideEncryptionConfiguration>(&b, ENCRYPTION)?.unwrap_or_else(|| ServerSideEncryptionConfiguration {
            rules: vec![ServerSideEncryptionRule {
                apply_server_side_encryption_by_default: Some(ServerSideEncryptionByDefault { sse_algorithm: "AES256".into(), kms_master_key_id: None }),
                bucket_key_enabled: Some(false),
                blocked_encryption_types: None,
            }],
        });
        Ok(GetBucketEncryptionOutput { server_side_encryption_configuration: Some(c) })
    }

    pub(crate) async fn delete_bucket_encryption(&self, input: DeleteBucketEncryptionRequest) -> Result<()> {
        self.set_config(&input.bucket, ENCRYPTION, None)
    }

    // -- ACLs ----------------------------------------------------------------------------

    pub(crate) fn set_bucket_acl(&self, bucket: &str, canned: Option<String>, policy: Option<AccessControlPolicy>) -> Result<()> {
        check_canned(canned.as_deref())?;
        let value = match (canned, policy) {
            (Some(c), _) => Value::String(c),
            (None, Some(p)) => p.into_value(),
            (None, None) => Value::String("private".into()),
        };
        self.set_config(bucket, ACL, Some(value))
    }

    pub(crate) async fn put_bucket_acl(&self, input: PutBucketAclRequest) -> Result<()> {
        self.set_bucket_acl(&input.bucket, input.acl, input.access_control_policy)
    }

    pub(crate) async fn get_bucket_acl(&self, input: GetBucketAclRequest) -> Result<GetBucketAclOutput> {
        let b = self.bucket(&input.bucket)?;
        let grants = match b.config.get(ACL) {
            Some(Value::String(c)) => canned_grants(&b.account, c),
            Some(v) => AccessControlPolicy::from_value(v.clone()).ok().and_then(|p| p.grants).unwrap_or_default(),
            None => canned_grants(&b.account, "private"),
        };
        Ok(GetBucketAclOutput { owner: Some(owner(&b.account)), grants: Some(grants) })
    }

    pub(crate) async fn put_object_acl(&self, input: PutObjectAclRequest) -> Result<PutObjectAclOutput> {
        check_canned(input.acl.as_deref())?;
        let canned = input.acl.unwrap_or_else(|| "private".into());
        self.update_object(&input.bucket, &input.key, input.version_id.as_deref(), |r| {
            r.acl = Some(canned.clone());
            Ok(())
        })?;
        Ok(PutObjectAclOutput::default())
    }

    pub(crate) async fn get_object_acl(&self, input: GetObjectAclRequest) -> Result<GetObjectAclOutput> {
        let b = self.bucket(&input.bucket)?;
        let rec = self.object_version(&input.bucket, &input.key, input.version_id.as_deref())?;
        Ok(GetObjectAclOutput {
            owner: Some(owner(&b.account)),
            grants: Some(canned_grants(&b.account, rec.acl.as_deref().unwrap_or("private"))),
            request_charged: None,
        })
    }

    // -- lifecycle --------------------------------------------------------------------------

    pub(crate) async fn put_bucket_lifecycle_configuration(&self, input: PutBucketLifecycleConfigurationRequest) -> Result<PutBucketLifecycleConfigurationOutput> {
        let c = input.lifecycle_configuration.ok_or(S3Error::MalformedXml)?;
        if c.rules.is_empty() || c.rules.len() > 1000 {
            return Err(S3Error::MalformedXml);
        }
        for r in &c.rules {
            if r.status != "Enabled" && r.status != "Disabled" {
                return Err(S3Error::MalformedXml);
            }
            if r.expiration.as_ref().is_some_and(|e| e.days.is_some_and(|d| d <= 0)) {
                return Err(S3Error::InvalidArgument { message: "'Days' for Expiration action must be a positive integer".into(), name: "Days", value: String::new() });
            }
        }
        self.set_config(&input.bucket, LIFECYCLE, Some(c.into_value()))?;
        self.lifecycle_changed.notify_one();
        Ok(PutBucketLifecycleConfigurationOutput { transition_default_minimum_object_size: Some("all_storage_classes_128K".into()) })
    }

    pub(crate) async fn get_bucket_lifecycle_configuration(&self, input: GetBucketLifecycleConfigurationRequest) -> Result<GetBucketLifecycleConfigurationOutput> {
        let b = self.bucket(&input.bucket)?;
        let c: BucketLifecycleConfiguration =
            self.config(&b, LIFECYCLE)?.ok_or_else(|| missing("NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist"))?;
        Ok(GetBucketLifecycleConfigurationOutput { rules: Some(c.rules), transition_default_minimum_object_size: Some("all_storage_classes_128K".into()) })
    }

    pub(crate) async fn delete_bucket_lifecycle(&self, input: DeleteBucketLifecycleRequest) -> Result<()> {
        self.set_config(&input.bucket, LIFECYCLE, None)
    }

    // -- website -----------------------------------------------------------------------------

    pub(crate) async fn put_bucket_website(&self, input: PutBucketWebsiteRequest) -> Result<()> {
        let c = input.website_configuration;
        if c.index_document.is_none() && c.redirect_all_requests_to.is_none() {
            return Err(S3Error::InvalidArgument {
                message: "A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty".into(),
                name: "IndexDocument",
                value: String::new(),
            });
        }
        self.set_config(&input.bucket, WEBSITE, Some(c.into_value()))
    }

    pub(crate) async fn get_bucket_website(&self, input: GetBucketWebsiteRequest) -> Result<GetBucketWebsiteOutput> {
        let b = self.bucket(&input.bucket)?;
        let c: WebsiteConfiguration =
            self.config(&b, WEBSITE)?.ok_or_else(|| missing("NoSuchWebsiteConfiguration", "The specified bucket does not have a website configuration"))?;
        Ok(GetBucketWebsiteOutput { redirect_all_requests_to: c.redirect_all_requests_to, index_document: c.index_document, error_document: c.error_document, routing_rules: c.routing_rules })
    }

    pub(crate) async fn delete_bucket_website(&self, input: DeleteBucketWebsiteRequest) -> Result<()> {
        self.set_config(&input.bucket, WEBSITE, None)
    }

    // -- event notifications ---------------------------------------------------------------------

    pub(crate) async fn put_bucket_notification_configuration(&self, input: PutBucketNotificationConfigurationRequest) -> Result<()> {
        let config = input.notification_configuration;
        self.set_config(&input.bucket, NOTIFICATION, Some(config.clone().into_value()))?;
        let b = self.bucket(&input.bucket)?;
        self.notify_test_event(&b, &config);
        Ok(())
    }

    pub(crate) async fn get_bucket_notification_configuration(&self, input: GetBucketNotificationConfigurationRequest) -> Result<NotificationConfiguration> {
        let b = self.bucket(&input.bucket)?;
        Ok(self.config(&b, NOTIFICATION)?.unwrap_or_default())
    }

    // -- public access block and ownership -------------------------------------------------------

    pub(crate) async fn put_public_access_block(&self, input: PutPublicAccessBlockRequest) -> Result<()> {
        self.set_config(&input.bucket, PUBLIC_ACCESS_BLOCK, Some(input.public_access_block_configuration.into_value()))
    }

    pub(crate) async fn get_public_access_block(&self, input: GetPublicAccessBlockRequest) -> Result<GetPublicAccessBlockOutput> {
        let b = self.bucket(&input.bucket)?;
        let c: PublicAccessBlockConfiguration = self.config(&b, PUBLIC_ACCESS_BLOCK)?.ok_or_else(|| {
            missing("NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found")
        })?;
        Ok(GetPublicAccessBlockOutput { public_access_block_configuration: Some(c) })
    }

    pub(crate) async fn delete_public_access_block(&self, input: DeletePublicAccessBlockRequest) -> Result<()> {
        self.set_config(&input.bucket, PUBLIC_ACCESS_BLOCK, None)
    }

    pub(crate) async fn put_bucket_ownership_controls(&self, input: PutBucketOwnershipControlsRequest) -> Result<()> {
        self.set_config(&input.bucket, OWNERSHIP, Some(input.ownership_controls.into_value()))
    }

    /// New buckets enforce bucket-owner ownership (ACLs disabled), as on AWS since 2023.
    pub(crate) async fn get_bucket_ownership_controls(&self, input: GetBucketOwnershipControlsRequest) -> Result<GetBucketOwnershipControlsOutput> {
        let b = self.bucket(&input.bucket)?;
        let c = self
            .config::<OwnershipControls>(&b, OWNERSHIP)?
            .unwrap_or_else(|| OwnershipControls { rules: vec![OwnershipControlsRule { object_ownership: "BucketOwnerEnforced".into() }] });
        Ok(GetBucketOwnershipControlsOutput { ownership_controls: Some(c) })
    }

    pub(crate) async fn delete_bucket_ownership_controls(&self, input: DeleteBucketOwnershipControlsRequest) -> Result<()> {
        self.set_config(&input.bucket, OWNERSHIP, None)
    }

    // -- reported only ----------------------------------------------------------------------------

    pub(crate) async fn get_bucket_accelerate_configuration(&self, input: GetBucketAccelerateConfigurationRequest) -> Result<GetBucketAccelerateConfigurationOutput> {
        self.bucket(&input.bucket)?;
        Ok(GetBucketAccelerateConfigurationOutput::default())
    }

    pub(crate) async fn get_bucket_request_payment(&self, input: GetBucketRequestPaymentRequest) -> Result<GetBucketRequestPaymentOutput> {
        self.bucket(&input.bucket)?;
        Ok(GetBucketRequestPaymentOutput { payer: Some("BucketOwner".into()) })
    }

    pub(crate) async fn get_bucket_logging(&self, input: GetBucketLoggingRequest) -> Result<GetBucketLoggingOutput> {
        self.bucket(&input.bucket)?;
        Ok(GetBucketLoggingOutput::default())
    }

    pub(crate) async fn get_bucket_replication(&self, input: GetBucketReplicationRequest) -> Result<GetBucketReplicationOutput> {
        self.bucket(&input.bucket)?;
        Err(missing("ReplicationConfigurationNotFoundError", "The replication configuration was not found"))
    }

    pub(crate) async fn get_object_lock_configuration(&self, input: GetObjectLockConfigurationRequest) -> Result<GetObjectLockConfigurationOutput> {
        self.bucket(&input.bucket)?;
        Err(missing("ObjectLockConfigurationNotFoundError", "Object Lock configuration does not exist for this bucket"))
    }
}
