//! SNS's errors. Codes are the model's exception shape names; the query codec answers
//! with the codes SNS clients know (`NotFound`, `InvalidParameter`, ...) from the model.

use nubo_core::AwsError;
use nubo_store::StoreError;

#[derive(Debug)]
pub enum SnsError {
    NotFound(&'static str),
    InvalidParameter(String),
    EmptyBatchRequest,
    TooManyEntriesInBatchRequest,
    BatchEntryIdsNotDistinct,
    InvalidBatchEntryId,
    Internal(String),
}

impl From<SnsError> for AwsError {
    fn from(e: SnsError) -> AwsError {
        match e {
            SnsError::NotFound(what) => AwsError::new("NotFoundException", 404, format!("{what} does not exist")),
            SnsError::InvalidParameter(m) => AwsError::new("InvalidParameterException", 400, m),
            SnsError::EmptyBatchRequest => AwsError::new("EmptyBatchRequestException", 400, "The batch request doesn't contain any entries."),
            SnsError::TooManyEntriesInBatchRequest => {
                AwsError::new("TooManyEntriesInBatchRequestException", 400, "The batch request contains more entries than permissible (10).")
            }
            SnsError::BatchEntryIdsNotDistinct => AwsError::new("BatchEntryIdsNotDistinctException", 400, "Two or more batch entries in the request have the same Id."),
            SnsError::InvalidBatchEntryId => AwsError::new("InvalidBatchEntryIdException", 400, "The Id of a batch entry in a batch request doesn't abide by the specification."),
            SnsError::Internal(m) => AwsError::internal(m),
        }
    }
}

impl From<StoreError> for SnsError {
    fn from(e: StoreError) -> Self {
        SnsError::Internal(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, SnsError>;
