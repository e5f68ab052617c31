//! SQS's errors: the JSON protocol's codes, and the legacy codes its query clients know.

use nubo_core::AwsError;
use nubo_store::StoreError;

#[derive(Debug)]
pub enum SqsError {
    QueueDoesNotExist,
    QueueNameExists(String),
    InvalidParameterValue(String),
    InvalidAttributeName(String),
    InvalidAttributeValue(String),
    MissingParameter(String),
    ReceiptHandleIsInvalid(String),
    MessageNotInflight,
    PurgeQueueInProgress(String),
    EmptyBatchRequest,
    TooManyEntriesInBatchRequest,
    BatchEntryIdsNotDistinct(String),
    InvalidBatchEntryId,
    BatchRequestTooLong,
    InvalidMessageContents,
    UnsupportedOperation(String),
    Internal(String),
}

impl From<SqsError> for AwsError {
    fn from(e: SqsError) -> AwsError {
        use SqsError::*;
        match e {
            QueueDoesNotExist => AwsError::new("QueueDoesNotExist", 400, "The specified queue does not exist.")
                .with_query_code("AWS.SimpleQueueService.NonExistentQueue"),
            QueueNameExists(name) => AwsError::new("QueueNameExists", 400, format!("A queue already exists with the same name and a different value for attribute(s) {name}"))
                .with_query_code("QueueAlreadyExists"),
            InvalidParameterValue(m) => AwsError::new("InvalidParameterValue", 400, m),
            InvalidAttributeName(m) => AwsError::new("InvalidAttributeName", 400, m),
            InvalidAttributeValue(m) => AwsError::new("InvalidAttributeValue", 400, m),
            MissingParameter(p) => AwsError::new("MissingParameter", 400, format!("The request must contain the parameter {p}.")),
            ReceiptHandleIsInvalid(h) => AwsError::new("ReceiptHandleIsInvalid", 400, format!("The input receipt handle \"{h}\" is not a valid receipt handle.")),
            MessageNotInflight => AwsError::new("MessageNotInflight", 400, "The message referred to isn't in flight.")
                .with_query_code("AWS.SimpleQueueService.MessageNotInflight"),
            PurgeQueueInProgress(q) => AwsError::new(
                "PurgeQueueInProgress",
                403,
                format!("Only one PurgeQueue operation on {q} is allowed every 60 seconds."),
            )
            .with_query_code("AWS.SimpleQueueService.PurgeQueueInProgress"),
            EmptyBatchRequest => AwsError::new("EmptyBatchRequest", 400, "There should be at least one SendMessageBatchRequestEntry in the request.")
                .with_query_code("AWS.SimpleQueueService.EmptyBatchRequest"),
            TooManyEntriesInBatchRequest => AwsError::new("TooManyEntriesInBatchRequest", 400, "Maximum number of entries per request are 10.")
                .with_query_code("AWS.SimpleQueueService.TooManyEntriesInBatchRequest"),
            BatchEntryIdsNotDistinct(id) => AwsError::new("BatchEntryIdsNotDistinct", 400, format!("Id {id} repeated."))
                .with_query_code("AWS.SimpleQueueService.BatchEntryIdsNotDistinct"),
            InvalidBatchEntryId => AwsError::new(
                "InvalidBatchEntryId",
                400,
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
            )
            .with_query_code("AWS.SimpleQueueService.InvalidBatchEntryId"),
            BatchRequestTooLong => AwsError::new("BatchRequestTooLong", 400, "Batch requests cannot be longer than 1048576 bytes.")
                .with_query_code("AWS.SimpleQueueService.BatchRequestTooLong"),
            InvalidMessageContents => AwsError::new("InvalidMessageContents", 400, "Invalid characters found."),
            UnsupportedOperation(m) => AwsError::new("UnsupportedOperation", 400, m).with_query_code("AWS.SimpleQueueService.UnsupportedOperation"),
            Internal(m) => AwsError::internal(m),
        }
    }
}

impl From<StoreError> for SqsError {
    fn from(e: StoreError) -> Self {
        SqsError::Internal(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, SqsError>;
