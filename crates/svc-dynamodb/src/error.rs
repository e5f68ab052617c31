//! DynamoDB's errors. Messages are DynamoDB's, word for word: SDKs, ORMs and tests match them.

use nubo_core::AwsError;
use nubo_store::StoreError;

#[derive(Debug)]
pub enum DynamoError {
    /// Almost every client mistake: DynamoDB's catch-all with a precise message.
    Validation(String),
    ResourceNotFound(String),
    /// DescribeContinuousBackups' name for a missing table.
    TableNotFound(String),
    ResourceInUse(String),
    /// A condition failed; carries the item (as DynamoDB JSON) when the caller asked for it.
    ConditionalCheckFailed(Option<String>),
    /// Per-item reasons as a JSON array of `CancellationReason`s.
    TransactionCanceled { message: String, reasons: String },
    IdempotentParameterMismatch,
    TableAlreadyExists(String),
    BackupNotFound(String),
    PointInTimeRecoveryUnavailable(String),
    InvalidRestoreTime(String),
    /// A PartiQL INSERT of an item that exists.
    DuplicateItem,
    TransactionConflict,
    LimitExceeded(String),
    Internal(String),
}

pub type Result<T> = std::result::Result<T, DynamoError>;

pub fn validation<T>(msg: impl Into<String>) -> Result<T> {
    Err(DynamoError::Validation(msg.into()))
}

impl From<DynamoError> for AwsError {
    fn from(e: DynamoError) -> AwsError {
        use DynamoError::*;
        match e {
            Validation(m) => AwsError::new("ValidationException", 400, m),
            ResourceNotFound(m) => AwsError::new("ResourceNotFoundException", 400, m),
            TableNotFound(m) => AwsError::new("TableNotFoundException", 400, m),
            ResourceInUse(m) => AwsError::new("ResourceInUseException", 400, m),
            ConditionalCheckFailed(item) => {
                let e = AwsError::new("ConditionalCheckFailedException", 400, "The conditional request failed");
                match item {
                    Some(item) => e.with_json_field("Item", item),
                    None => e,
                }
            }
            TransactionCanceled { message, reasons } => {
                AwsError::new("TransactionCanceledException", 400, message).with_json_field("CancellationReasons", reasons)
            }
            TableAlreadyExists(m) => AwsError::new("TableAlreadyExistsException", 400, m),
            BackupNotFound(m) => AwsError::new("BackupNotFoundException", 400, m),
            PointInTimeRecoveryUnavailable(m) => AwsError::new("PointInTimeRecoveryUnavailableException", 400, m),
            InvalidRestoreTime(m) => AwsError::new("InvalidRestoreTimeException", 400, m),
            DuplicateItem => AwsError::new("DuplicateItemException", 400, "Duplicate primary key exists in table"),
            IdempotentParameterMismatch => AwsError::new(
                "IdempotentParameterMismatchException",
                400,
                "The request uses the same client token as a previous, but non-identical request.",
            ),
            TransactionConflict => AwsError::new(
                "TransactionConflictException",
                400,
                "Transaction is ongoing for the item",
            ),
            LimitExceeded(m) => AwsError::new("LimitExceededException", 400, m),
            Internal(m) => AwsError::internal(m),
        }
    }
}

impl From<StoreError> for DynamoError {
    fn from(e: StoreError) -> Self {
        DynamoError::Internal(e.to_string())
    }
}

/// The table named in a request does not exist (or is not in this account and region).
pub fn table_not_found<T>() -> Result<T> {
    Err(DynamoError::ResourceNotFound("Requested resource not found".into()))
}
