//! [`PolicyError`]: the text IAM returns with `MalformedPolicyDocument` (S3 and SQS wrap the
//! same texts in their own codes).
//!
//! Every message is AWS's own wording, as AWS CLI/SDK users have reported it from real
//! accounts (error outputs quoted in issues, blog posts and test suites of AWS emulators
//! checked against AWS):
//! * "Syntax errors in policy." — `CreatePolicy`/`Put*Policy`: invalid JSON, unknown
//!   elements, wrong value types, an unknown condition operator, a bad `Effect`;
//! * "This policy contains invalid Json" — invalid JSON in `CreateRole`'s trust policy and
//!   in `PutBucketPolicy`;
//! * "The policy failed legacy parsing" — `"Effect": "allow"` (wrong case), malformed
//!   dates in `Date*` conditions, some malformed resource ARNs;
//! * "Policy document should not specify a principal." — a Principal in an identity policy;
//! * "Missing required field Principal" — no Principal in a bucket or trust policy;
//! * "Has prohibited field Resource" — a Resource in a trust policy;
//! * "AssumeRole policy may only specify STS AssumeRole actions." — other actions there;
//! * "Policy statement must contain actions." / "Policy statement must contain resources.";
//! * "Statement IDs (SID) in a single policy must be unique.";
//! * "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
//!   "Actions/Condition can contain only one colon.", "Vendor X is not valid";
//! * `Resource X must be in ARN format or "*".`;
//! * `Invalid principal in policy: "AWS":"X"` (AWS also says this for principals that do
//!   not exist; nubo only checks the form).

use std::fmt;

/// The message IAM returns with MalformedPolicyDocument, e.g. "Syntax errors in policy.".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError(pub String);

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PolicyError {}

impl From<&str> for PolicyError {
    fn from(message: &str) -> Self {
        PolicyError(message.to_string())
    }
}

pub(crate) const SYNTAX: &str = "Syntax errors in policy.";
pub(crate) const INVALID_JSON: &str = "This policy contains invalid Json";
pub(crate) const LEGACY: &str = "The policy failed legacy parsing";
pub(crate) const PRINCIPAL_NOT_ALLOWED: &str = "Policy document should not specify a principal.";
pub(crate) const MISSING_PRINCIPAL: &str = "Missing required field Principal";
pub(crate) const MISSING_ACTIONS: &str = "Policy statement must contain actions.";
pub(crate) const MISSING_RESOURCES: &str = "Policy statement must contain resources.";
pub(crate) const DUPLICATE_SID: &str = "Statement IDs (SID) in a single policy must be unique.";
pub(crate) const NO_VENDOR: &str =
    "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.";
pub(crate) const ONE_COLON: &str = "Actions/Condition can contain only one colon.";
pub(crate) const TRUST_ACTIONS: &str = "AssumeRole policy may only specify STS AssumeRole actions.";
pub(crate) const INVALID_PRINCIPAL: &str = "Invalid principal in policy";

pub(crate) fn prohibited_field(field: &str) -> PolicyError {
    PolicyError(format!("Has prohibited field {field}"))
}

pub(crate) fn invalid_vendor(vendor: &str) -> PolicyError {
    PolicyError(format!("Vendor {vendor} is not valid"))
}

pub(crate) fn resource_not_arn(resource: &str) -> PolicyError {
    PolicyError(format!(
        "Resource {resource} must be in ARN format or \"*\"."
    ))
}

pub(crate) fn invalid_principal(kind: &str, value: &serde_json::Value) -> PolicyError {
    PolicyError(format!("{INVALID_PRINCIPAL}: \"{kind}\":{value}"))
}
