//! What invocations are doing now and did since CloudWatch last asked: concurrency
//! against the limits (a function's reserved concurrency, the account's 1000), which
//! throttles with `TooManyRequestsException`; and the AWS/Lambda figures (Invocations,
//! Errors, Throttles, Duration, ConcurrentExecutions) per function.

use nubo_core::Scope;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The account's concurrency limit, as GetAccountSettings reports it.
pub const ACCOUNT_LIMIT: i32 = 1000;
/// What reserved concurrency must leave unreserved.
pub const MIN_UNRESERVED: i32 = 100;

#[derive(Default, Clone)]
pub struct Counts {
    pub in_flight: usize,
    /// The most in flight at once since the last take.
    pub peak: usize,
    pub invocations: u64,
    pub errors: u64,
    pub throttles: u64,
    /// Milliseconds: sum, minimum, maximum of the invocations that ended.
    pub duration_sum: f64,
    pub duration_min: f64,
    pub duration_max: f64,
}

type Key = (Scope, String);

#[derive(Default)]
pub struct Activity {
    functions: Mutex<HashMap<Key, Counts>>,
}

/// An invocation admitted: counted in flight until dropped.
pub struct Slot {
    activity: Arc<Activity>,
    key: Key,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(c) = self.activity.functions.lock().unwrap().get_mut(&self.key) {
            c.in_flight = c.in_flight.saturating_sub(1);
        }
    }
}

impl Activity {
    /// Admits an invocation of `function`, or says which limit throttles it.
    pub fn admit(self: &Arc<Self>, scope: &Scope, function: &str, reserved: Option<i32>) -> Result<Slot, &'static str> {
        let mut all = self.functions.lock().unwrap();
        let account: usize = all.iter().filter(|((s, _), _)| s.account == scope.account && s.region == scope.region).map(|(_, c)| c.in_flight).sum();
        let key = (scope.clone(), function.to_string());
        let c = all.entry(key.clone()).or_default();
        let limit = match reserved {
            Some(r) if c.in_flight >= r.max(0) as usize => Some("ReservedFunctionConcurrentInvocationLimitExceeded"),
            None if account >= ACCOUNT_LIMIT as usize => Some("ConcurrentInvocationLimitExceeded"),
            _ => None,
        };
        if let Some(reason) = limit {
            c.throttles += 1;
            return Err(reason);
        }
        c.in_flight += 1;
        c.peak = c.peak.max(c.in_flight);
        Ok(Slot { activity: self.clone(), key })
    }

    /// An invocation ended (`failed`: the function's error or timeout).
    pub fn ended(&self, scope: &Scope, function: &str, millis: f64, failed: bool) {
        let mut all = self.functions.lock().unwrap();
        let c = all.entry((scope.clone(), function.to_string())).or_default();
        c.duration_min = if c.invocations == 0 { millis } else { c.duration_min.min(millis) };
        c.duration_max = c.duration_max.max(millis);
        c.duration_sum += millis;
        c.invocations += 1;
        c.errors += u64::from(failed);
    }

    /// The counts since the last take, per function; peaks restart from what is in flight.
    pub fn take(&self) -> Vec<(Scope, String, Counts)> {
        let mut all = self.functions.lock().unwrap();
        let out = all.iter().filter(|(_, c)| c.invocations > 0 || c.throttles > 0 || c.peak > 0).map(|((s, f), c)| (s.clone(), f.clone(), c.clone())).collect();
        all.retain(|_, c| c.in_flight > 0);
        for c in all.values_mut() {
            *c = Counts { in_flight: c.in_flight, peak: c.in_flight, ..Counts::default() };
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_concurrency_throttles_beyond_it_and_frees_with_the_slot() {
        let a = Arc::new(Activity::default());
        let s = Scope::default();
        let first = a.admit(&s, "f", Some(1)).unwrap();
        assert_eq!(a.admit(&s, "f", Some(1)).err(), Some("ReservedFunctionConcurrentInvocationLimitExceeded"));
        assert_eq!(a.admit(&s, "g", Some(0)).err(), Some("ReservedFunctionConcurrentInvocationLimitExceeded"));
        drop(first);
        let _again = a.admit(&s, "f", Some(1)).unwrap();
        a.ended(&s, "f", 12.0, true);
        let taken = a.take();
        let f = taken.iter().find(|(_, n, _)| n == "f").unwrap();
        assert_eq!((f.2.invocations, f.2.errors, f.2.throttles, f.2.peak), (1, 1, 1, 1));
    }
}
