//! EC2's errors: its codes are dotted (`InvalidVpcID.NotFound`) and all answered with 400,
//! in EC2's own XML error body (the protocol layer writes it).

use nubo_core::AwsError;
use nubo_store::StoreError;

#[derive(Debug)]
pub enum Ec2Error {
    /// `InvalidVpcID.NotFound`, `InvalidGroup.NotFound`, …: the code names the kind.
    NotFound { code: &'static str, message: String },
    /// `InvalidInstanceID.Malformed`, `InvalidAMIID.Malformed`, …
    Malformed { code: &'static str, message: String },
    InvalidParameterValue(String),
    InvalidParameterCombination(String),
    MissingParameter(String),
    DependencyViolation(String),
    IncorrectInstanceState(String),
    /// A volume (or other resource) not in the state the call needs.
    IncorrectState(String),
    OperationNotPermitted(String),
    /// `InvalidGroup.Duplicate`, `InvalidKeyPair.Duplicate`, `InvalidPermission.Duplicate`, …
    Duplicate { code: &'static str, message: String },
    /// `VpcLimitExceeded`, `InstanceLimitExceeded`, …
    LimitExceeded { code: &'static str, message: String },
    /// `InvalidSubnet.Range`, `InvalidSubnet.Conflict`, `InvalidVpc.Range`, …
    Invalid { code: &'static str, message: String },
    Internal(String),
}

impl From<Ec2Error> for AwsError {
    fn from(e: Ec2Error) -> AwsError {
        match e {
            Ec2Error::NotFound { code, message }
            | Ec2Error::Malformed { code, message }
            | Ec2Error::Duplicate { code, message }
            | Ec2Error::LimitExceeded { code, message }
            | Ec2Error::Invalid { code, message } => AwsError::new(code, 400, message),
            Ec2Error::InvalidParameterValue(m) => AwsError::new("InvalidParameterValue", 400, m),
            Ec2Error::InvalidParameterCombination(m) => AwsError::new("InvalidParameterCombination", 400, m),
            Ec2Error::MissingParameter(m) => AwsError::new("MissingParameter", 400, m),
            Ec2Error::DependencyViolation(m) => AwsError::new("DependencyViolation", 400, m),
            Ec2Error::IncorrectInstanceState(m) => AwsError::new("IncorrectInstanceState", 400, m),
            Ec2Error::IncorrectState(m) => AwsError::new("IncorrectState", 400, m),
            Ec2Error::OperationNotPermitted(m) => AwsError::new("OperationNotPermitted", 400, m),
            Ec2Error::Internal(m) => AwsError::internal(m),
        }
    }
}

impl From<StoreError> for Ec2Error {
    fn from(e: StoreError) -> Self {
        Ec2Error::Internal(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, Ec2Error>;

/// `The vpc ID 'vpc-1' does not exist`, in the wording EC2 uses for each kind.
pub fn not_found(kind: Kind, id: &str) -> Ec2Error {
    let (code, message) = match kind {
        Kind::Vpc => ("InvalidVpcID.NotFound", format!("The vpc ID '{id}' does not exist")),
        Kind::Subnet => ("InvalidSubnetID.NotFound", format!("The subnet ID '{id}' does not exist")),
        Kind::InternetGateway => ("InvalidInternetGatewayID.NotFound", format!("The internetGateway ID '{id}' does not exist")),
        Kind::RouteTable => ("InvalidRouteTableID.NotFound", format!("The routeTable ID '{id}' does not exist")),
        Kind::SecurityGroup => ("InvalidGroup.NotFound", format!("The security group '{id}' does not exist")),
        Kind::KeyPair => ("InvalidKeyPair.NotFound", format!("The key pair '{id}' does not exist")),
        Kind::Instance => ("InvalidInstanceID.NotFound", format!("The instance ID '{id}' does not exist")),
        Kind::Image => ("InvalidAMIID.NotFound", format!("The image id '[{id}]' does not exist")),
        Kind::Address => ("InvalidAllocationID.NotFound", format!("The allocation ID '{id}' does not exist")),
        Kind::NatGateway => ("NatGatewayNotFound", format!("NAT gateway {id} was not found")),
        Kind::Volume => ("InvalidVolume.NotFound", format!("The volume '{id}' does not exist.")),
        Kind::Snapshot => ("InvalidSnapshot.NotFound", format!("The snapshot '{id}' does not exist.")),
        Kind::NetworkAcl => ("InvalidNetworkAclID.NotFound", format!("The network ACL '{id}' does not exist")),
        Kind::LaunchTemplate => ("InvalidLaunchTemplateId.NotFound", format!("The specified launch template, with template ID {id}, does not exist.")),
    };
    Ec2Error::NotFound { code, message }
}

use crate::records::Kind;
