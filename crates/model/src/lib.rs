//! AWS's service models as nubo uses them.
//!
//! * [`shape`]: the model format (botocore's JSON, reduced to the wire's needs). The
//!   trimmed models live in `models/` and are embedded in the binary; each is parsed on
//!   first use, so startup does not pay for services nobody calls.
//! * [`value`]: the protocol-neutral tree the codecs produce and consume.
//! * [`generated`]: per service, typed shapes and a trait of its implemented operations,
//!   written by `cargo xtask codegen` and committed.
//! * [`handler`]: the object-safe seam the gateway calls services through.
//! * [`access`] and [`guard`]: what a call asks IAM for, and the seam to IAM that decides.

pub mod access;
pub mod generated;
pub mod guard;
pub mod handler;
pub mod shape;
pub mod stream;
pub mod value;

pub use handler::Handler;
pub use shape::*;
pub use stream::ByteStream;
pub use value::{FromValue, IntoValue, ShapeError, Value};

use std::sync::OnceLock;

/// What the router needs to know of a service before (and without) parsing its model.
#[derive(Debug)]
pub struct ServiceMeta {
    /// nubo's name of the service (`sqs`, `cloudwatch`, ...).
    pub name: &'static str,
    /// The service name clients put in the SigV4 credential scope.
    pub signing_name: &'static str,
    /// The `X-Amz-Target` prefix of JSON services (and the RPC v2 service name).
    pub target_prefix: Option<&'static str>,
    pub api_version: &'static str,
    /// The model's protocol names, in its order of preference.
    pub protocols: &'static [&'static str],
    /// A JSON service that still answers its old query clients.
    pub query_compatible: bool,
    json: &'static str,
}

static PARSED: [OnceLock<ServiceModel>; generated::SERVICES.len()] = [const { OnceLock::new() }; generated::SERVICES.len()];

/// The model of a service by nubo's name for it, parsed on first use.
pub fn model(service: &str) -> Option<&'static ServiceModel> {
    let i = generated::SERVICES.iter().position(|m| m.name == service)?;
    Some(PARSED[i].get_or_init(|| {
        serde_json::from_str(generated::SERVICES[i].json).expect("embedded models are generated from valid JSON")
    }))
}

/// Every service nubo embeds a model of.
pub fn services() -> &'static [ServiceMeta] {
    generated::SERVICES
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_embedded_model_parses() {
        for s in super::services() {
            let m = super::model(s.name).unwrap();
            assert!(!m.operations.is_empty(), "{}", s.name);
            assert_eq!(m.metadata.api_version, s.api_version);
        }
    }
}
