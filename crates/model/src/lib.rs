//! AWS's service models as nubo uses them.
//!
//! * [`shape`]: the model format (botocore's JSON, reduced to the wire's needs). The
//!   trimmed models live in `models/` and are embedded in the binary; each is parsed on
//!   first use, so startup does not pay for services nobody calls.
//! * [`value`]: the protocol-neutral tree the codecs produce and consume.
//! * [`generated`]: per service, typed shapes and a trait of its implemented operations,
//!   written by `cargo xtask codegen` and committed.
//! * [`handler`]: the object-safe seam the gateway calls services through.

pub mod generated;
pub mod handler;
pub mod shape;
pub mod value;

pub use handler::Handler;
pub use shape::*;
pub use value::{FromValue, IntoValue, ShapeError, Value};

use std::sync::OnceLock;

static PARSED: [OnceLock<ServiceModel>; generated::MODELS.len()] = [const { OnceLock::new() }; generated::MODELS.len()];

/// The model of a service by nubo's name for it (`sqs`, `cloudwatch`, ...).
pub fn model(service: &str) -> Option<&'static ServiceModel> {
    let i = generated::MODELS.iter().position(|(name, _)| *name == service)?;
    Some(PARSED[i].get_or_init(|| {
        serde_json::from_str(generated::MODELS[i].1).expect("embedded models are generated from valid JSON")
    }))
}

/// Names of every service whose model nubo embeds.
pub fn services() -> impl Iterator<Item = &'static str> {
    generated::MODELS.iter().map(|(name, _)| *name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_embedded_model_parses() {
        for s in super::services() {
            let m = super::model(s).unwrap();
            assert!(!m.operations.is_empty(), "{s}");
        }
    }
}
