//! The gateway: everything between the socket and a service.
//!
//! A request flows through [`server`] (accept, HTTP/1.1 and HTTP/2, graceful shutdown)
//! into [`dispatch`], which reads the body, asks [`router`] which service, protocol and
//! operation it addresses, resolves the caller ([`identity`]), has the protocol codec
//! decode the input, calls the service's [`Handler`](nubo_model::Handler), encodes the
//! output or error, and logs one line. Requests under `/_nubo/` go to [`internal`].
//!
//! The gateway knows no service by name: the binary hands it the handlers.

pub mod dispatch;
pub mod identity;
pub mod internal;
pub mod router;
pub mod server;

use nubo_core::Clock;
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
}

impl Gateway {
    pub fn new(handlers: Vec<Box<dyn Handler>>, clock: Clock, store: Store) -> Arc<Gateway> {
        Arc::new(Gateway { router: router::Router::new(handlers), clock, store, started: Instant::now() })
    }
}
