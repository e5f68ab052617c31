//! Auto Scaling's errors: the query protocol's codes (`ValidationError`,
//! `AlreadyExists`, `ResourceInUse`, `ScalingActivityInProgress`, `LimitExceeded`, and instance
//! refresh's own).

use nubo_core::AwsError;
use nubo_store::StoreError;

#[derive(Debug)]
pub enum AsError {
    Validation(String),
    AlreadyExists(String),
    ResourceInUse(String),
    ScalingActivityInProgress(String),
    LimitExceeded(String),
    RefreshInProgress(String),
    ActiveRefreshNotFound(String),
    Irreversible(String),
    InvalidNextToken(String),
    Internal(String),
}

impl From<AsError> for AwsError {
    fn from(e: AsError) -> AwsError {
        match e {
            AsError::Validation(m) => AwsError::new("ValidationError", 400, m),
            AsError::AlreadyExists(m) => AwsError::new("AlreadyExistsFault", 400, m),
            AsError::ResourceInUse(m) => AwsError::new("ResourceInUseFault", 400, m),
            AsError::ScalingActivityInProgress(m) => AwsError::new("ScalingActivityInProgressFault", 400, m),
            AsError::LimitExceeded(m) => AwsError::new("LimitExceededFault", 400, m),
            AsError::RefreshInProgress(m) => AwsError::new("InstanceRefreshInProgress", 400, m),
            AsError::ActiveRefreshNotFound(m) => AwsError::new("ActiveInstanceRefreshNotFound", 400, m),
            AsError::Irreversible(m) => AwsError::new("IrreversibleInstanceRefresh", 400, m),
            AsError::InvalidNextToken(m) => AwsError::new("InvalidNextToken", 400, m),
            AsError::Internal(m) => AwsError::internal(m),
        }
    }
}

impl From<StoreError> for AsError {
    fn from(e: StoreError) -> Self {
        AsError::Internal(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, AsError>;
