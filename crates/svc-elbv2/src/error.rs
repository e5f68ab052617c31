//! Elastic Load Balancing's errors: the model's exception shapes (the query codec answers
//! with their codes, `LoadBalancerNotFound`, ...), all 400 but the internal one.

use nubo_core::AwsError;
use nubo_store::StoreError;

#[derive(Debug)]
pub enum ElbError {
    LoadBalancerNotFound,
    TargetGroupNotFound(String),
    ListenerNotFound,
    RuleNotFound,
    DuplicateLoadBalancerName,
    DuplicateTargetGroupName,
    DuplicateListener,
    PriorityInUse(i32),
    SubnetNotFound(String),
    InvalidSubnet(String),
    InvalidSecurityGroup(String),
    InvalidTarget(String),
    InvalidConfiguration(String),
    InvalidAction(String),
    IncompatibleProtocols(String),
    ResourceInUse(String),
    OperationNotPermitted(String),
    TargetGroupAssociationLimit(String),
    SslPolicyNotFound,
    CertificateNotFound(String),
    Validation(String),
    /// The caller (or Elastic Load Balancing itself) may not do it: 403 `AccessDenied`.
    AccessDenied(String),
    Internal(String),
}

impl From<ElbError> for AwsError {
    fn from(e: ElbError) -> AwsError {
        let bad = |shape: &'static str, m: String| AwsError::new(shape, 400, m);
        match e {
            ElbError::LoadBalancerNotFound => bad("LoadBalancerNotFoundException", "One or more load balancers not found".into()),
            ElbError::TargetGroupNotFound(m) => bad("TargetGroupNotFoundException", m),
            ElbError::ListenerNotFound => bad("ListenerNotFoundException", "One or more listeners not found".into()),
            ElbError::RuleNotFound => bad("RuleNotFoundException", "One or more rules not found".into()),
            ElbError::DuplicateLoadBalancerName => bad("DuplicateLoadBalancerNameException", "A load balancer with the same name exists, but with different settings".into()),
            ElbError::DuplicateTargetGroupName => bad("DuplicateTargetGroupNameException", "A target group with the same name exists, but with different settings".into()),
            ElbError::DuplicateListener => bad("DuplicateListenerException", "A listener with the specified port already exists".into()),
            ElbError::PriorityInUse(p) => bad("PriorityInUseException", format!("Priority '{p}' is currently in use")),
            ElbError::SubnetNotFound(m) => bad("SubnetNotFoundException", m),
            ElbError::InvalidSubnet(m) => bad("InvalidSubnetException", m),
            ElbError::InvalidSecurityGroup(m) => bad("InvalidSecurityGroupException", m),
            ElbError::InvalidTarget(m) => bad("InvalidTargetException", m),
            ElbError::InvalidConfiguration(m) => bad("InvalidConfigurationRequestException", m),
            ElbError::InvalidAction(m) => bad("InvalidLoadBalancerActionException", m),
            ElbError::IncompatibleProtocols(m) => bad("IncompatibleProtocolsException", m),
            ElbError::ResourceInUse(m) => bad("ResourceInUseException", m),
            ElbError::OperationNotPermitted(m) => bad("OperationNotPermittedException", m),
            ElbError::TargetGroupAssociationLimit(m) => bad("TargetGroupAssociationLimitException", m),
            ElbError::SslPolicyNotFound => bad("SSLPolicyNotFoundException", "One or more SSL policies not found".into()),
            ElbError::CertificateNotFound(arn) => bad("CertificateNotFoundException", format!("Certificate '{arn}' not found")),
            ElbError::Validation(m) => AwsError::new("ValidationError", 400, m),
            ElbError::AccessDenied(m) => AwsError::new("AccessDenied", 403, m),
            ElbError::Internal(m) => AwsError::internal(m),
        }
    }
}

impl From<StoreError> for ElbError {
    fn from(e: StoreError) -> Self {
        ElbError::Internal(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, ElbError>;
