//! The one error type that crosses from services to the wire.
//!
//! Each service keeps its own error enum (its variants named after AWS's error codes) and
//! converts it into [`AwsError`] in one `From` impl. The protocol layer turns an
//! [`AwsError`] into the error body of whatever protocol the client spoke; for the
//! query-compatible JSON services it also looks up the legacy query code in the model.

use std::borrow::Cow;
use std::fmt;

/// Who is to blame, as AWS's query error bodies report (`<Type>Sender</Type>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Sender,
    Receiver,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AwsError {
    /// The error code clients match on: the error shape's name where the model has one.
    pub code: Cow<'static, str>,
    pub message: String,
    pub status: u16,
    pub fault: Fault,
    /// Extra members of the error shape (S3 puts `BucketName`, `Key`, ... beside `Message`).
    pub fields: Vec<(Cow<'static, str>, String)>,
    /// Extra members that are structures or lists, as JSON text (DynamoDB's
    /// `CancellationReasons`, the `Item` of a failed condition): JSON protocols embed
    /// them as values; the XML protocols have no such errors.
    pub json_fields: Vec<(Cow<'static, str>, String)>,
    /// The code query clients know for this error where it differs from `code`
    /// (SQS's `AWS.SimpleQueueService.NonExistentQueue` for `QueueDoesNotExist`): sent in
    /// query bodies and in JSON's `x-amzn-query-error`. Current models no longer carry it.
    pub query_code: Option<Cow<'static, str>>,
}

impl AwsError {
    pub fn new(code: impl Into<Cow<'static, str>>, status: u16, message: impl Into<String>) -> AwsError {
        let fault = if status >= 500 { Fault::Receiver } else { Fault::Sender };
        AwsError { code: code.into(), message: message.into(), status, fault, fields: Vec::new(), json_fields: Vec::new(), query_code: None }
    }

    pub fn with_field(mut self, name: impl Into<Cow<'static, str>>, value: impl Into<String>) -> Self {
        self.fields.push((name.into(), value.into()));
        self
    }

    pub fn with_json_field(mut self, name: impl Into<Cow<'static, str>>, json: impl Into<String>) -> Self {
        self.json_fields.push((name.into(), json.into()));
        self
    }

    pub fn with_query_code(mut self, code: impl Into<Cow<'static, str>>) -> Self {
        self.query_code = Some(code.into());
        self
    }

    /// The operation is part of the service's API but nubo does not implement it yet.
    pub fn not_implemented(service: &str, operation: &str) -> AwsError {
        AwsError::new(
            "NotImplemented",
            501,
            format!("The operation {operation} of service {service} is not implemented by nubo yet"),
        )
    }

    pub fn internal(message: impl Into<String>) -> AwsError {
        AwsError::new("InternalFailure", 500, message)
    }
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for AwsError {}
