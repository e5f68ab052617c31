//! The IAM policy language: documents, their validation, and the evaluation engine that
//! decides whether a request is allowed.
//!
//! Pure: no I/O, no async, no clock (time arrives as the `aws:CurrentTime` condition key).
//! The IAM service parses documents when they are stored ([`Policy::parse`], whose
//! [`PolicyError`] carries IAM's `MalformedPolicyDocument` wording); the gateway and the
//! services evaluate requests against the parsed policies ([`evaluate`]) and word the
//! `AccessDenied` message ([`explain`]). Parse once, evaluate many times: evaluation
//! allocates nothing for statements that do not match.
//!
//! What lives where:
//! * `document.rs` — the document grammar and validation, compiled into [`Policy`];
//! * `matching.rs` — the `*`/`?` glob behind actions, resources and string conditions;
//! * `variables.rs` — policy variables (`${aws:username}`) in resources and conditions;
//! * `principal.rs` — the Principal element and who the caller is ([`PrincipalInfo`]);
//! * `condition.rs` + `typed.rs` — the condition operators and their typed values;
//! * `context.rs` — the request's condition keys ([`Context`]);
//! * `evaluate.rs` — the decision logic; `explain.rs` — the denial message;
//! * `error.rs` — the error texts, with where AWS's wording comes from.
//! * `robustness.rs` (tests) — random documents and requests never panic.

mod condition;
mod context;
mod document;
mod error;
mod evaluate;
mod explain;
mod matching;
mod principal;
mod typed;
mod variables;

pub use context::Context;
pub use document::{Policy, PolicyKind};
pub use error::PolicyError;
pub use evaluate::{
    evaluate, Decision, Evaluation, MatchedStatement, Named, PolicySet, PolicyType, Request,
};
pub use explain::explain;
pub use matching::{action_matches, resource_matches};
pub use principal::PrincipalInfo;

#[cfg(test)]
mod robustness;
