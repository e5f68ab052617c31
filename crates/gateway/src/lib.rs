//! The gateway: everything between the socket and a service.
//!
//! A request flows through [`server`] (accept, HTTP/1.1 and HTTP/2, graceful shutdown)
//! into [`dispatch`], which reads the body, asks [`router`] which service, protocol and
//! operation it addresses, authenticates the caller ([`auth`]), has the protocol codec
//! decode the input, authorizes the call with IAM when enforced ([`auth`]), calls the
//! service's [`Handler`](nubo_model::Handler), encodes the output or error, and logs one
//! line. Requests a service answers outside its API model (function URLs, S3 websites)
//! go through [`claimed`]; those under `/_nubo/` to [`internal`].
//!
//! The gateway knows no service by name: the binary hands it the handlers.

pub mod auth;
mod claimed;
pub mod dispatch;
pub mod internal;
pub mod router;
pub mod server;

use nubo_core::Clock;
use nubo_model::guard::Guard;
use nubo_model::Handler;
use nubo_store::Store;
use std::sync::Arc;
use std::time::Instant;

/// What every request handler shares.
pub struct Gateway {
    pub router: router::Router,
    pub clock: Clock,
    pub store: Store,
    pub started: Instant,
    /// IAM, which knows access keys and decides authorization (absent in some tests).
    pub guard: Option<Arc<dyn Guard>>,
    /// `--enforce-iam`: verify signatures and authorize every call.
    pub enforce: bool,
    /// What `/_nubo/health` shows beyond the services (DNS, front doors), asked each time.
    pub reports: std::sync::Mutex<Vec<(String, Report)>>,
}

pub type Report = Box<dyn Fn() -> serde_json::Value + Send + Sync>;

impl Gateway {
    pub fn new(handlers: Vec<Box<dyn Handler>>, clock: Clock, store: Store, guard: Option<Arc<dyn Guard>>, enforce: bool) -> Arc<Gateway> {
        Arc::new(Gateway { router: router::Router::new(handlers), clock, store, started: Instant::now(), guard, enforce, reports: Default::default() })
    }

    /// Adds `name` to `/_nubo/health`, its value from `f` at each request.
    pub fn report(&self, name: &str, f: impl Fn() -> serde_json::Value + Send + Sync + 'static) {
        self.reports.lock().unwrap().push((name.to_string(), Box::new(f)));
    }
}
