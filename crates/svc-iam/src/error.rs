//! IAM's and STS's errors, named after their AWS codes; statuses as IAM answers them.

use nubo_core::AwsError;
use nubo_store::StoreError;

#[derive(Debug)]
pub enum IamError {
    NoSuchEntity(String),
    EntityAlreadyExists(String),
    DeleteConflict(String),
    LimitExceeded(String),
    MalformedPolicyDocument(String),
    InvalidInput(String),
    ValidationError(String),
    PasswordPolicyViolation(String),
    InvalidAuthenticationCode(String),
    /// The caller is not the kind of identity the operation is for (`ChangePassword` by root).
    InvalidUserType(String),
    /// The credential report was never generated.
    ReportNotPresent,
    /// STS: the trust policy does not let the caller assume the role.
    AccessDenied(String),
    /// STS: a `DurationSeconds` or similar out of range.
    StsValidation(String),
    Internal(String),
}

impl From<IamError> for AwsError {
    fn from(e: IamError) -> AwsError {
        match e {
            IamError::NoSuchEntity(m) => AwsError::new("NoSuchEntity", 404, m),
            IamError::EntityAlreadyExists(m) => AwsError::new("EntityAlreadyExists", 409, m),
            IamError::DeleteConflict(m) => AwsError::new("DeleteConflict", 409, m),
            IamError::LimitExceeded(m) => AwsError::new("LimitExceeded", 409, m),
            IamError::MalformedPolicyDocument(m) => AwsError::new("MalformedPolicyDocument", 400, m),
            IamError::InvalidInput(m) => AwsError::new("InvalidInput", 400, m),
            IamError::ValidationError(m) => AwsError::new("ValidationError", 400, m),
            IamError::PasswordPolicyViolation(m) => AwsError::new("PasswordPolicyViolation", 400, m),
            IamError::InvalidAuthenticationCode(m) => AwsError::new("InvalidAuthenticationCode", 403, m),
            IamError::InvalidUserType(m) => AwsError::new("InvalidUserType", 400, m),
            IamError::ReportNotPresent => AwsError::new(
                "ReportNotPresent",
                410,
                "Credential report not present. Generate a credential report with GenerateCredentialReport.",
            ),
            IamError::AccessDenied(m) => AwsError::new("AccessDenied", 403, m),
            IamError::StsValidation(m) => AwsError::new("ValidationError", 400, m),
            IamError::Internal(m) => AwsError::internal(m),
        }
    }
}

impl From<StoreError> for IamError {
    fn from(e: StoreError) -> Self {
        IamError::Internal(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, IamError>;

/// IAM's wording for a missing entity: "The user with name bob cannot be found."
pub fn no_such(noun: &str, name: &str) -> IamError {
    IamError::NoSuchEntity(format!("The {noun} with name {name} cannot be found."))
}
