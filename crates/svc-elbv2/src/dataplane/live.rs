//! What the proxies read and write per request, without taking a lock: each target's
//! health (mirrored from the health checker), when it became healthy (slow start) and
//! how many requests it has outstanding (least outstanding requests); each group's
//! round-robin turn; the counters CloudWatch's figures are taken from.
//!
//! The objects outlive view rebuilds: the view builder fetches them by key from the
//! [`Registry`], so a write to the configuration resets neither turns nor counters.

use super::health::TargetKey;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A target's health as the proxies see it (0: not yet known).
pub const HEALTHY: u8 = 1;
pub const UNHEALTHY: u8 = 2;

#[derive(Default)]
pub struct Target {
    pub state: AtomicU8,
    /// Milliseconds on nubo's clock when it last became healthy.
    pub healthy_since: AtomicI64,
    pub outstanding: AtomicUsize,
}

impl Target {
    pub fn healthy(&self) -> bool {
        self.state.load(Ordering::Relaxed) == HEALTHY
    }
}

/// A request in flight to a target: counted until dropped (with the response body).
pub struct Outstanding(Arc<Target>);

impl Outstanding {
    pub fn start(t: &Arc<Target>) -> Outstanding {
        t.outstanding.fetch_add(1, Ordering::Relaxed);
        Outstanding(t.clone())
    }
}

impl Drop for Outstanding {
    fn drop(&mut self) {
        self.0.outstanding.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Counts since CloudWatch last took them.
#[derive(Default)]
pub struct Counts {
    pub requests: AtomicU64,
    pub target_2xx: AtomicU64,
    pub target_3xx: AtomicU64,
    pub target_4xx: AtomicU64,
    pub target_5xx: AtomicU64,
    pub elb_4xx: AtomicU64,
    pub elb_5xx: AtomicU64,
    pub response_micros: AtomicU64,
    pub responses: AtomicU64,
    pub connections: AtomicU64,
}

/// A snapshot of [`Counts`], taken and reset.
#[derive(Default, Clone, Copy)]
pub struct Taken {
    pub requests: u64,
    pub target_2xx: u64,
    pub target_3xx: u64,
    pub target_4xx: u64,
    pub target_5xx: u64,
    pub elb_4xx: u64,
    pub elb_5xx: u64,
    pub response_seconds: f64,
    pub responses: u64,
    pub connections: u64,
}

impl std::ops::AddAssign for Taken {
    fn add_assign(&mut self, o: Taken) {
        self.requests += o.requests;
        self.target_2xx += o.target_2xx;
        self.target_3xx += o.target_3xx;
        self.target_4xx += o.target_4xx;
        self.target_5xx += o.target_5xx;
        self.elb_4xx += o.elb_4xx;
        self.elb_5xx += o.elb_5xx;
        self.response_seconds += o.response_seconds;
        self.responses += o.responses;
        self.connections += o.connections;
    }
}

impl Counts {
    pub fn connection(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    /// A request answered by the load balancer itself (`status` ≥ 400: an ELB error).
    pub fn own_answer(&self, status: u16) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        match status {
            400..=499 => self.elb_4xx.fetch_add(1, Ordering::Relaxed),
            500..=599 => self.elb_5xx.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
    }

    /// A request a target answered.
    pub fn target_answer(&self, status: u16, elapsed: std::time::Duration) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.responses.fetch_add(1, Ordering::Relaxed);
        self.response_micros.fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
        let bucket = match status {
            200..=299 => &self.target_2xx,
            300..=399 => &self.target_3xx,
            400..=499 => &self.target_4xx,
            _ => &self.target_5xx,
        };
        bucket.fetch_add(1, Ordering::Relaxed);
    }

    pub fn take(&self) -> Taken {
        let t = |a: &AtomicU64| a.swap(0, Ordering::Relaxed);
        Taken {
            requests: t(&self.requests),
            target_2xx: t(&self.target_2xx),
            target_3xx: t(&self.target_3xx),
            target_4xx: t(&self.target_4xx),
            target_5xx: t(&self.target_5xx),
            elb_4xx: t(&self.elb_4xx),
            elb_5xx: t(&self.elb_5xx),
            response_seconds: t(&self.response_micros) as f64 / 1e6,
            responses: t(&self.responses),
            connections: t(&self.connections),
        }
    }
}

/// A target group's turn and counts.
#[derive(Default)]
pub struct Group {
    pub turn: AtomicUsize,
    pub counts: Counts,
}

/// Where the live objects are kept between view rebuilds.
#[derive(Default)]
pub struct Registry {
    targets: Mutex<HashMap<TargetKey, Arc<Target>>>,
    groups: Mutex<HashMap<String, Arc<Group>>>,
    load_balancers: Mutex<HashMap<String, Arc<Counts>>>,
    access_logs: Mutex<HashMap<String, Arc<Mutex<Vec<String>>>>>,
}

impl Registry {
    pub fn target(&self, key: &TargetKey) -> Arc<Target> {
        self.targets.lock().unwrap().entry(key.clone()).or_default().clone()
    }

    pub fn forget_target(&self, key: &TargetKey) {
        self.targets.lock().unwrap().remove(key);
    }

    pub fn group(&self, arn: &str) -> Arc<Group> {
        self.groups.lock().unwrap().entry(arn.to_string()).or_default().clone()
    }

    pub fn load_balancer(&self, arn: &str) -> Arc<Counts> {
        self.load_balancers.lock().unwrap().entry(arn.to_string()).or_default().clone()
    }

    /// A load balancer's access log lines not yet delivered.
    pub fn access_log(&self, arn: &str) -> Arc<Mutex<Vec<String>>> {
        self.access_logs.lock().unwrap().entry(arn.to_string()).or_default().clone()
    }

    /// Drops what belongs to resources that no longer exist.
    pub fn retain(&self, groups: impl Fn(&str) -> bool, load_balancers: impl Fn(&str) -> bool) {
        self.targets.lock().unwrap().retain(|k, _| groups(&k.group));
        self.groups.lock().unwrap().retain(|k, _| groups(k));
        self.load_balancers.lock().unwrap().retain(|k, _| load_balancers(k));
        self.access_logs.lock().unwrap().retain(|k, _| load_balancers(k));
    }
}
