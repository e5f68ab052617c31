//! Health checks, really performed, on nubo's clock: every target of a target group that
//! a load balancer uses is checked every `HealthCheckIntervalSeconds` (the first check
//! as soon as it is registered), with the group's protocol, port, path, timeout and
//! matcher. `HealthyThresholdCount` successes in a row make a target healthy,
//! `UnhealthyThresholdCount` failures unhealthy, with AWS's reason codes. Targets whose
//! deregistration delay has passed are removed here too.

use super::{live, Plane};
use crate::records::{TargetGroupRecord, TargetRecord};
use nubo_core::Timestamp;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TargetKey {
    pub group: String,
    pub id: String,
    pub port: i32,
}

impl TargetKey {
    pub fn of(group: &str, t: &TargetRecord) -> TargetKey {
        TargetKey { group: group.to_string(), id: t.id.clone(), port: t.port }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Initial,
    Healthy,
    Unhealthy,
}

#[derive(Debug, Clone)]
struct Status {
    state: State,
    /// The last failure's reason and description.
    failure: Option<(&'static str, String)>,
    successes: i32,
    failures: i32,
    /// When the last check started, on nubo's clock; `None`: never checked.
    checked_at: Option<Timestamp>,
    running: bool,
}

impl Default for Status {
    fn default() -> Self {
        Status { state: State::Initial, failure: None, successes: 0, failures: 0, checked_at: None, running: false }
    }
}

#[derive(Default)]
pub struct Health {
    statuses: Mutex<HashMap<TargetKey, Status>>,
    wake: Notify,
}

impl Health {
    pub fn poke(&self) {
        self.wake.notify_waiters();
    }

    pub fn forget(&self, key: &TargetKey) {
        self.statuses.lock().unwrap().remove(key);
    }

    pub fn describe(&self, key: &TargetKey) -> (&'static str, Option<&'static str>, Option<String>) {
        let statuses = self.statuses.lock().unwrap();
        match statuses.get(key) {
            None => ("initial", Some("Elb.RegistrationInProgress"), Some("Target registration is in progress".into())),
            Some(s) => match s.state {
                State::Initial => ("initial", Some("Elb.InitialHealthChecking"), Some("Initial health checks in progress".into())),
                State::Healthy => ("healthy", None, None),
                State::Unhealthy => {
                    let (reason, description) = s.failure.clone().unwrap_or(("Target.FailedHealthChecks", "Health checks failed".into()));
                    ("unhealthy", Some(reason), Some(description))
                }
            },
        }
    }

    /// A check's result; the proxies see a change of state through `live`.
    fn record(&self, key: &TargetKey, ok: Result<(), (&'static str, String)>, healthy: i32, unhealthy: i32, live: &live::Target, now: Timestamp) {
        let mut statuses = self.statuses.lock().unwrap();
        let s = statuses.entry(key.clone()).or_default();
        s.running = false;
        match ok {
            Ok(()) => {
                s.successes += 1;
                s.failures = 0;
                if s.state != State::Healthy && s.successes >= healthy {
                    s.state = State::Healthy;
                    s.failure = None;
                    live.healthy_since.store(now.as_millis(), Ordering::Relaxed);
                    live.state.store(live::HEALTHY, Ordering::Relaxed);
                }
            }
            Err(why) => {
                s.failures += 1;
                s.successes = 0;
                s.failure = Some(why);
                if s.state != State::Unhealthy && s.failures >= unhealthy {
                    s.state = State::Unhealthy;
                    live.state.store(live::UNHEALTHY, Ordering::Relaxed);
                }
            }
        }
    }
}

/// The controller: checks what is due, sleeps until the next check is due on the clock
/// (or the configuration changes).
pub async fn run(plane: Arc<Plane>) {
    loop {
        let woken = plane.health.wake.notified();
        let now = plane.clock.now();
        let view = plane.view();
        let mut next: Option<Timestamp> = None;
        let mut due_at = |t: Timestamp| next = Some(next.map_or(t, |n: Timestamp| if t.as_millis() < n.as_millis() { t } else { n }));
        for (arn, (scope, tg)) in &view.target_groups {
            for t in &tg.targets {
                if let Some(since) = t.draining_since {
                    let delay: i64 = tg.attribute("deregistration_delay.timeout_seconds").and_then(|d| d.parse().ok()).unwrap_or(300);
                    let end = since.add_millis(delay * 1000);
                    if end.as_millis() <= now.as_millis() {
                        plane.forget_target(scope, arn, t);
                    } else {
                        due_at(end);
                    }
                    continue;
                }
                if !tg.health.enabled || !view.in_use(arn) {
                    continue;
                }
                let key = TargetKey::of(arn, t);
                let interval = i64::from(tg.health.interval) * 1000;
                let start = {
                    let mut statuses = plane.health.statuses.lock().unwrap();
                    let s = statuses.entry(key.clone()).or_default();
                    let due = s.checked_at.map_or(now, |c| c.add_millis(interval));
                    if !s.running && due.as_millis() <= now.as_millis() {
                        s.running = true;
                        s.checked_at = Some(now);
                        due_at(now.add_millis(interval));
                        true
                    } else {
                        due_at(if s.running { now.add_millis(interval) } else { due });
                        false
                    }
                };
                if start {
                    tokio::spawn(check(plane.clone(), scope.clone(), tg.clone(), t.clone(), key));
                }
            }
        }
        match next {
            Some(at) => {
                tokio::select! {
                    _ = plane.clock.sleep_until(at) => {}
                    _ = woken => {}
                }
            }
            None => woken.await,
        }
    }
}

/// One health check of one target; its result moves the target's state.
async fn check(plane: Arc<Plane>, scope: nubo_core::Scope, tg: TargetGroupRecord, t: TargetRecord, key: TargetKey) {
    let h = &tg.health;
    let port: u16 = if h.port == "traffic-port" { t.port as u16 } else { h.port.parse().unwrap_or(t.port as u16) };
    let timeout = Duration::from_secs(h.timeout.max(1) as u64);
    let attempt = async {
        let mut stream = plane.connect(&scope, &tg, &t, port).await.map_err(|_| ("Target.FailedHealthChecks", "Health checks failed".to_string()))?;
        if h.protocol != "HTTP" && h.protocol != "HTTPS" {
            return Ok(());
        }
        let path = h.path.clone().unwrap_or_else(|| "/".into());
        let request = format!("GET {path} HTTP/1.1\r\nHost: {}:{port}\r\nUser-Agent: ELB-HealthChecker/2.0\r\nAccept-Encoding: gzip, compressed\r\nConnection: close\r\n\r\n", t.id);
        stream.write_all(request.as_bytes()).await.map_err(|_| ("Target.FailedHealthChecks", "Health checks failed".to_string()))?;
        let mut head = Vec::with_capacity(256);
        let mut buf = [0u8; 256];
        while !head.windows(2).any(|w| w == b"\r\n") {
            let n = stream.read(&mut buf).await.map_err(|_| ("Target.FailedHealthChecks", "Health checks failed".to_string()))?;
            if n == 0 {
                return Err(("Target.FailedHealthChecks", "Health checks failed".to_string()));
            }
            head.extend_from_slice(&buf[..n]);
        }
        let status: u16 = String::from_utf8_lossy(&head).split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        if matcher_accepts(h.matcher.as_deref().unwrap_or("200"), status) {
            Ok(())
        } else {
            Err(("Target.ResponseCodeMismatch", format!("Health checks failed with these codes: [{status}]")))
        }
    };
    let result = match tokio::time::timeout(timeout, attempt).await {
        Ok(r) => r,
        Err(_) => Err(("Target.Timeout", "Request timed out".to_string())),
    };
    let live = plane.live.target(&key);
    plane.health.record(&key, result, h.healthy_threshold, h.unhealthy_threshold, &live, plane.clock.now());
}

/// `200`, `200-299`, `200,302`.
pub fn matcher_accepts(matcher: &str, status: u16) -> bool {
    matcher.split(',').any(|part| match part.split_once('-') {
        Some((lo, hi)) => lo.trim().parse::<u16>().is_ok_and(|lo| status >= lo) && hi.trim().parse::<u16>().is_ok_and(|hi| status <= hi),
        None => part.trim().parse::<u16>() == Ok(status),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_take_codes_ranges_and_lists() {
        assert!(matcher_accepts("200", 200));
        assert!(!matcher_accepts("200", 204));
        assert!(matcher_accepts("200-299", 204));
        assert!(matcher_accepts("200,302", 302));
        assert!(!matcher_accepts("200,302", 404));
    }
}
