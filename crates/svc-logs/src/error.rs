//! CloudWatch Logs' errors, with the messages its clients see.

use nubo_core::AwsError;
use nubo_store::StoreError;

#[derive(Debug)]
pub enum LogsError {
    ResourceNotFound(&'static str),
    ResourceAlreadyExists(&'static str),
    InvalidParameter(String),
    LimitExceeded(String),
    DataAlreadyAccepted(String),
    Internal(String),
}

pub type Result<T> = std::result::Result<T, LogsError>;

pub fn invalid<T>(m: impl Into<String>) -> Result<T> {
    Err(LogsError::InvalidParameter(m.into()))
}

pub const NO_GROUP: LogsError = LogsError::ResourceNotFound("The specified log group does not exist.");
pub const NO_STREAM: LogsError = LogsError::ResourceNotFound("The specified log stream does not exist.");

impl From<LogsError> for AwsError {
    fn from(e: LogsError) -> AwsError {
        match e {
            LogsError::ResourceNotFound(m) => AwsError::new("ResourceNotFoundException", 400, m),
            LogsError::ResourceAlreadyExists(m) => AwsError::new("ResourceAlreadyExistsException", 400, m),
            LogsError::InvalidParameter(m) => AwsError::new("InvalidParameterException", 400, m),
            LogsError::LimitExceeded(m) => AwsError::new("LimitExceededException", 400, m),
            LogsError::DataAlreadyAccepted(m) => AwsError::new("DataAlreadyAcceptedException", 400, m),
            LogsError::Internal(m) => AwsError::internal(m),
        }
    }
}

impl From<StoreError> for LogsError {
    fn from(e: StoreError) -> Self {
        LogsError::Internal(e.to_string())
    }
}
