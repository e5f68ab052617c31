//! S3's errors, each with the code, status and message S3 itself sends.

use nubo_core::AwsError;
use nubo_store::StoreError;

#[derive(Debug)]
pub enum S3Error {
    NoSuchBucket(String),
    NoSuchKey(String),
    NoSuchUpload(String),
    NoSuchTagSet,
    NoSuchVersion { key: String, version_id: String },
    /// A GET or HEAD of a delete marker.
    MethodNotAllowed,
    BucketAlreadyExists(String),
    BucketAlreadyOwnedByYou(String),
    BucketNotEmpty(String),
    InvalidBucketName(String),
    IllegalLocationConstraint(String),
    InvalidLocationConstraint,
    InvalidRange { size: u64 },
    PreconditionFailed(&'static str),
    NotModified,
    InvalidPart(String),
    InvalidPartOrder,
    EntityTooSmall,
    InvalidArgument { message: String, name: &'static str, value: String },
    BadDigest(String),
    InvalidDigest,
    InvalidRequest(String),
    InvalidTag(String),
    KeyTooLong,
    MalformedXml,
    MalformedPolicy(String),
    /// A configuration the bucket does not have: S3 names each kind's own code.
    NoSuchConfiguration { code: &'static str, message: &'static str },
    IncompleteBody(String),
    InvalidStorageClass,
    /// An error the body stream carried from the gateway (a bad chunk signature).
    Stream(AwsError),
    Internal(String),
}

impl From<S3Error> for AwsError {
    fn from(e: S3Error) -> AwsError {
        use S3Error::*;
        match e {
            NoSuchBucket(b) => AwsError::new("NoSuchBucket", 404, "The specified bucket does not exist").with_field("BucketName", b),
            NoSuchKey(k) => AwsError::new("NoSuchKey", 404, "The specified key does not exist.").with_field("Key", k),
            NoSuchUpload(u) => AwsError::new(
                "NoSuchUpload",
                404,
                "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
            )
            .with_field("UploadId", u),
            NoSuchTagSet => AwsError::new("NoSuchTagSet", 404, "The TagSet does not exist"),
            NoSuchVersion { key, version_id } => AwsError::new("NoSuchVersion", 404, "The specified version does not exist.")
                .with_field("Key", key)
                .with_field("VersionId", version_id),
            MethodNotAllowed => AwsError::new("MethodNotAllowed", 405, "The specified method is not allowed against this resource.")
                .with_field("Method", "GET")
                .with_field("ResourceType", "DeleteMarker"),
            BucketAlreadyExists(b) => AwsError::new(
                "BucketAlreadyExists",
                409,
                "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.",
            )
            .with_field("BucketName", b),
            BucketAlreadyOwnedByYou(b) => AwsError::new(
                "BucketAlreadyOwnedByYou",
                409,
                "Your previous request to create the named bucket succeeded and you already own it.",
            )
            .with_field("BucketName", b),
            BucketNotEmpty(b) => AwsError::new("BucketNotEmpty", 409, "The bucket you tried to delete is not empty").with_field("BucketName", b),
            InvalidBucketName(b) => AwsError::new("InvalidBucketName", 400, "The specified bucket is not valid.").with_field("BucketName", b),
            IllegalLocationConstraint(m) => AwsError::new("IllegalLocationConstraintException", 400, m),
            InvalidLocationConstraint => AwsError::new("InvalidLocationConstraint", 400, "The specified location-constraint is not valid"),
            InvalidRange { size } => AwsError::new("InvalidRange", 416, "The requested range is not satisfiable")
                .with_field("ActualObjectSize", size.to_string()),
            PreconditionFailed(condition) => AwsError::new("PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold")
                .with_field("Condition", condition),
            NotModified => AwsError::new("NotModified", 304, "Not Modified"),
            InvalidPart(m) => AwsError::new("InvalidPart", 400, m),
            InvalidPartOrder => AwsError::new("InvalidPartOrder", 400, "The list of parts was not in ascending order. Parts must be ordered by part number."),
            EntityTooSmall => AwsError::new("EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed object size."),
            InvalidArgument { message, name, value } => AwsError::new("InvalidArgument", 400, message)
                .with_field("ArgumentName", name)
                .with_field("ArgumentValue", value),
            BadDigest(m) => AwsError::new("BadDigest", 400, m),
            InvalidDigest => AwsError::new("InvalidDigest", 400, "The Content-MD5 you specified was invalid."),
            InvalidRequest(m) => AwsError::new("InvalidRequest", 400, m),
            InvalidTag(m) => AwsError::new("InvalidTag", 400, m),
            KeyTooLong => AwsError::new("KeyTooLongError", 400, "Your key is too long"),
            MalformedXml => AwsError::new(
                "MalformedXML",
                400,
                "The XML you provided was not well-formed or did not validate against our published schema",
            ),
            IncompleteBody(m) => AwsError::new("IncompleteBody", 400, m),
            MalformedPolicy(m) => AwsError::new("MalformedPolicy", 400, m),
            NoSuchConfiguration { code, message } => AwsError::new(code, 404, message),
            InvalidStorageClass => AwsError::new("InvalidStorageClass", 400, "The storage class you specified is not valid"),
            Stream(e) => e,
            Internal(m) => AwsError::internal(m),
        }
    }
}

impl From<StoreError> for S3Error {
    fn from(e: StoreError) -> Self {
        S3Error::Internal(e.to_string())
    }
}

impl From<std::io::Error> for S3Error {
    fn from(e: std::io::Error) -> Self {
        S3Error::Internal(format!("blob store: {e}"))
    }
}

pub type Result<T> = std::result::Result<T, S3Error>;
