//! The threads that carry load balancer traffic: one single-threaded runtime per core,
//! started with the first listener. Each accepted connection is handed to one of them and
//! lives there with its connections to targets, so a request's wake-ups stay on one thread
//! (the shape of nginx's workers). On the shared multi-threaded runtime, the hops between
//! a client connection's task and its target connection's task crossed threads, and a
//! second core added almost nothing.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::runtime::Handle;

pub struct Engines {
    handles: Vec<Handle>,
    next: AtomicUsize,
}

impl Engines {
    pub fn start() -> Engines {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        let handles = (0..n)
            .filter_map(|i| {
                let (tx, rx) = std::sync::mpsc::channel();
                let spawned = std::thread::Builder::new().name(format!("nubo-elb-{i}")).spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime for the load balancers");
                    let _ = tx.send(runtime.handle().clone());
                    runtime.block_on(std::future::pending::<()>());
                });
                if let Err(e) = spawned {
                    tracing::warn!("no load balancer thread {i}: {e}");
                }
                rx.recv().ok()
            })
            .collect();
        Engines { handles, next: AtomicUsize::new(0) }
    }

    /// Runs a connection's future on the next thread (on the caller's runtime if none).
    pub fn spawn<F: Future<Output = ()> + Send + 'static>(&self, f: F) {
        if self.handles.is_empty() {
            tokio::spawn(f);
            return;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.handles.len();
        self.handles[i].spawn(f);
    }
}
