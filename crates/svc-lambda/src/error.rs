//! Lambda's errors, as its clients parse them (rest-json, with HTTP statuses).

use nubo_core::AwsError;
use nubo_store::StoreError;

#[derive(Debug)]
pub enum LambdaError {
    ResourceNotFound(String),
    ResourceConflict(String),
    ProvisionedNotFound(String),
    InvalidParameterValue(String),
    Validation(String),
    /// Throttled: the limit's reason code (`ReservedFunctionConcurrentInvocationLimitExceeded`, ...).
    TooManyRequests(&'static str),
    /// A RevisionId that is not the latest.
    Precondition(String),
    /// An invocation payload that is not JSON.
    InvalidRequestContent(String),
    RequestTooLarge(String),
    Service(String),
}

pub type Result<T> = std::result::Result<T, LambdaError>;

pub fn invalid<T>(m: impl Into<String>) -> Result<T> {
    Err(LambdaError::InvalidParameterValue(m.into()))
}

impl From<LambdaError> for AwsError {
    fn from(e: LambdaError) -> AwsError {
        match e {
            LambdaError::ResourceNotFound(m) => AwsError::new("ResourceNotFoundException", 404, m).with_field("Type", "User"),
            LambdaError::ResourceConflict(m) => AwsError::new("ResourceConflictException", 409, m).with_field("Type", "User"),
            LambdaError::ProvisionedNotFound(m) => AwsError::new("ProvisionedConcurrencyConfigNotFoundException", 404, m).with_field("Type", "User"),
            LambdaError::InvalidParameterValue(m) => AwsError::new("InvalidParameterValueException", 400, m).with_field("Type", "User"),
            LambdaError::Validation(m) => AwsError::new("ValidationException", 400, m),
            LambdaError::TooManyRequests(reason) => AwsError::new("TooManyRequestsException", 429, "Rate Exceeded.").with_field("Type", "User").with_field("Reason", reason),
            LambdaError::Precondition(m) => AwsError::new("PreconditionFailedException", 412, m).with_field("Type", "User"),
            LambdaError::InvalidRequestContent(m) => AwsError::new("InvalidRequestContentException", 400, m).with_field("Type", "User"),
            LambdaError::RequestTooLarge(m) => AwsError::new("RequestTooLargeException", 413, m).with_field("Type", "User"),
            LambdaError::Service(m) => AwsError::new("ServiceException", 500, m).with_field("Type", "Service"),
        }
    }
}

impl From<StoreError> for LambdaError {
    fn from(e: StoreError) -> Self {
        LambdaError::Service(e.to_string())
    }
}
