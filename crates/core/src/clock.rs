//! The one clock of a nubo process.
//!
//! Every time-based behaviour (visibility timeouts, alarm periods, health checks, TTLs)
//! and every timestamp nubo returns reads this clock, so tests can run time faster
//! (`--time-scale`) or jump it forward (`POST /_nubo/clock`) and everything stays
//! consistent. Only SigV4's clock-skew check uses the wall clock, because clients sign
//! with theirs.
//!
//! Controllers never poll: they call [`Clock::sleep_until`], which wakes at the deadline
//! in clock time, or early when the clock is moved.

use crate::time::Timestamp;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;

#[derive(Clone)]
pub struct Clock {
    inner: Arc<Inner>,
}

struct Inner {
    /// Real instant at which the clock started.
    origin: Instant,
    /// Clock time at `origin`.
    origin_time: Timestamp,
    /// How many clock milliseconds pass per real millisecond; 0 for a manual clock.
    scale: f64,
    /// Milliseconds added by jumps.
    offset_ms: AtomicI64,
    moved: Notify,
}

impl Clock {
    /// Real time, optionally scaled: starts at the wall-clock now, then runs `scale`× faster.
    pub fn scaled(scale: f64) -> Clock {
        assert!(scale > 0.0 && scale.is_finite(), "time scale must be positive");
        Self::new(wall_now(), scale)
    }

    pub fn real() -> Clock {
        Self::scaled(1.0)
    }

    /// A clock that stands still until [`Clock::advance`] moves it: for unit tests of controllers.
    pub fn manual(start: Timestamp) -> Clock {
        Self::new(start, 0.0)
    }

    fn new(origin_time: Timestamp, scale: f64) -> Clock {
        Clock {
            inner: Arc::new(Inner {
                origin: Instant::now(),
                origin_time,
                scale,
                offset_ms: AtomicI64::new(0),
                moved: Notify::new(),
            }),
        }
    }

    pub fn now(&self) -> Timestamp {
        let i = &self.inner;
        let run = (i.origin.elapsed().as_secs_f64() * 1000.0 * i.scale) as i64;
        i.origin_time.add_millis(run + i.offset_ms.load(Ordering::Acquire))
    }

    pub fn scale(&self) -> f64 {
        self.inner.scale
    }

    /// Jumps the clock forward and wakes every sleeper so it re-checks its deadline.
    pub fn advance(&self, by: Duration) {
        self.inner.offset_ms.fetch_add(by.as_millis() as i64, Ordering::AcqRel);
        self.inner.moved.notify_waiters();
    }

    /// Sleeps until the clock reads at least `deadline`.
    pub async fn sleep_until(&self, deadline: Timestamp) {
        loop {
            let moved = self.inner.moved.notified();
            tokio::pin!(moved);
            moved.as_mut().enable();
            let now = self.now();
            if now >= deadline {
                return;
            }
            if self.inner.scale == 0.0 {
                moved.await;
                continue;
            }
            let clock_ms = (deadline.as_millis() - now.as_millis()) as f64;
            let real = Duration::from_secs_f64(clock_ms / self.inner.scale / 1000.0);
            tokio::select! {
                _ = tokio::time::sleep(real) => {}
                _ = moved => {}
            }
        }
    }

    /// Sleeps for `d` of clock time.
    pub async fn sleep(&self, d: Duration) {
        let deadline = self.now().add_millis(d.as_millis() as i64);
        self.sleep_until(deadline).await
    }
}

fn wall_now() -> Timestamp {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Timestamp::from_millis(d.as_millis() as i64)
}

/// The wall clock, for the few checks that must compare with the client's own clock.
pub fn wall_clock_now() -> Timestamp {
    wall_now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let c = Clock::manual(Timestamp::from_secs(1000));
        assert_eq!(c.now(), Timestamp::from_secs(1000));
        c.advance(Duration::from_secs(300));
        assert_eq!(c.now(), Timestamp::from_secs(1300));
    }

    #[tokio::test]
    async fn sleeper_wakes_when_clock_jumps_past_deadline() {
        let c = Clock::manual(Timestamp::from_secs(0));
        let sleeper = tokio::spawn({
            let c = c.clone();
            async move { c.sleep_until(Timestamp::from_secs(60)).await }
        });
        tokio::task::yield_now().await;
        c.advance(Duration::from_secs(30));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        c.advance(Duration::from_secs(30));
        sleeper.await.unwrap();
    }

    #[test]
    fn scaled_clock_starts_at_wall_time() {
        let c = Clock::scaled(60.0);
        let drift = (c.now().as_millis() - wall_now().as_millis()).abs();
        assert!(drift < 1000, "drift {drift}ms");
    }
}
