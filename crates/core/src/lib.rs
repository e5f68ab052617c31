//! The vocabulary every nubo crate shares.
//!
//! Nothing here knows about HTTP, wire formats or storage engines: this crate owns
//! time ([`clock`], [`tz`]), identity and scope ([`scope`]), resource naming ([`ids`], [`arn`])
//! and the one error type that every service error converts into ([`error`]).

pub mod addressing;
pub mod arn;
pub mod clock;
pub mod error;
pub mod ids;
pub mod scope;
pub mod time;
pub mod tz;
pub mod wildcard;

pub use clock::Clock;
pub use error::{AwsError, Fault};
pub use scope::{Principal, RequestContext, Scope};
pub use time::Timestamp;
