//! CloudWatch's errors, by the codes its query-era clients know (the JSON and CBOR
//! protocols carry the same codes, and `x-amzn-query-error` for query-compatible clients).

use nubo_core::AwsError;
use nubo_store::StoreError;

#[derive(Debug)]
pub enum CwError {
    InvalidParameterValue(String),
    InvalidParameterCombination(String),
    MissingParameter(String),
    ResourceNotFound(String),
    /// A dashboard body CloudWatch refuses: (data path, message) per problem.
    DashboardInvalid(Vec<(String, String)>),
    Internal(String),
}

impl From<CwError> for AwsError {
    fn from(e: CwError) -> AwsError {
        match e {
            CwError::InvalidParameterValue(m) => AwsError::new("InvalidParameterValue", 400, m),
            CwError::InvalidParameterCombination(m) => AwsError::new("InvalidParameterCombination", 400, m),
            CwError::MissingParameter(m) => AwsError::new("MissingParameter", 400, m),
            CwError::ResourceNotFound(m) => AwsError::new("ResourceNotFound", 404, m),
            CwError::DashboardInvalid(problems) => {
                let (message, list) = crate::dashboards::invalid_body_message(&problems);
                AwsError::new("InvalidParameterInput", 400, message).with_json_field("dashboardValidationMessages", list)
            }
            CwError::Internal(m) => AwsError::internal(m),
        }
    }
}

impl From<StoreError> for CwError {
    fn from(e: StoreError) -> Self {
        CwError::Internal(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, CwError>;
