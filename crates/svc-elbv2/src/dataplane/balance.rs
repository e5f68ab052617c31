//! Which target of a group gets a request: only healthy ones, or every one when none is
//! (the load balancer fails open, as AWS does), never a draining one; among them the
//! group's algorithm (`load_balancing.algorithm.type`: `round_robin`,
//! `least_outstanding_requests` or `weighted_random`), with targets in slow start
//! (`slow_start.duration_seconds`) taking a share that grows linearly from nothing.

use super::live;
use crate::records::TargetGroupRecord;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// A group's records beside their live objects (`targets[i]` is `tg.targets[i]`'s).
pub struct Routing {
    pub group: Arc<live::Group>,
    pub targets: Vec<Arc<live::Target>>,
}

impl Routing {
    /// Indexes (into `tg.targets`) of the targets a request may go to.
    pub fn routable(&self, tg: &TargetGroupRecord) -> Vec<usize> {
        let live = (0..tg.targets.len()).filter(|&i| tg.targets[i].draining_since.is_none());
        if !tg.health.enabled {
            return live.collect();
        }
        let live: Vec<usize> = live.collect();
        let healthy: Vec<usize> = live.iter().copied().filter(|&i| self.targets[i].healthy()).collect();
        if healthy.is_empty() {
            live
        } else {
            healthy
        }
    }

    /// The target for the next request among `candidates` (not empty).
    pub fn pick(&self, tg: &TargetGroupRecord, candidates: &[usize], now_ms: i64) -> usize {
        let slow_ms = tg.attribute("slow_start.duration_seconds").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0) * 1000;
        // A target in slow start takes a request with the probability of how far along it is;
        // only while some other target is past it (alone, it takes everything).
        let warming = |i: usize| {
            let since = self.targets[i].healthy_since.load(Ordering::Relaxed);
            slow_ms > 0 && self.targets[i].healthy() && now_ms - since < slow_ms
        };
        let ready: Vec<usize> = if slow_ms > 0 {
            let warm: Vec<usize> = candidates.iter().copied().filter(|&i| !warming(i)).collect();
            if warm.is_empty() {
                candidates.to_vec()
            } else {
                let mut chosen = warm;
                for &i in candidates.iter().filter(|&&i| warming(i)) {
                    let share = (now_ms - self.targets[i].healthy_since.load(Ordering::Relaxed)) as f64 / slow_ms as f64;
                    if fastrand::f64() < share {
                        chosen.push(i);
                    }
                }
                chosen
            }
        } else {
            candidates.to_vec()
        };
        let turn = self.group.turn.fetch_add(1, Ordering::Relaxed);
        let algorithm = tg.attribute("load_balancing.algorithm.type");
        if algorithm == Some("weighted_random") {
            return ready[fastrand::usize(..ready.len())];
        }
        if algorithm == Some("least_outstanding_requests") {
            // Fewest in flight; ties go round robin.
            let fewest = ready.iter().map(|&i| self.targets[i].outstanding.load(Ordering::Relaxed)).min().unwrap_or(0);
            let tied: Vec<usize> = ready.iter().copied().filter(|&i| self.targets[i].outstanding.load(Ordering::Relaxed) == fewest).collect();
            return tied[turn % tied.len()];
        }
        ready[turn % ready.len()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{HealthCheck, TargetRecord};
    use nubo_core::Timestamp;

    fn group(n: usize, attributes: &[(&str, &str)]) -> (TargetGroupRecord, Routing) {
        let targets = (0..n).map(|i| TargetRecord { id: format!("127.0.0.{}", i + 1), port: 80, availability_zone: None, registered: Timestamp::from_millis(0), draining_since: None }).collect();
        let tg = TargetGroupRecord {
            arn: "tg".into(),
            name: "tg".into(),
            protocol: Some("HTTP".into()),
            protocol_version: None,
            port: Some(80),
            vpc_id: None,
            target_type: "ip".into(),
            ip_address_type: "ipv4".into(),
            health: HealthCheck { enabled: true, protocol: "HTTP".into(), port: "traffic-port".into(), path: None, interval: 30, timeout: 5, healthy_threshold: 5, unhealthy_threshold: 2, matcher: None },
            attributes: attributes.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            tags: vec![],
            targets,
        };
        let routing = Routing { group: Default::default(), targets: (0..n).map(|_| Default::default()).collect() };
        (tg, routing)
    }

    #[test]
    fn fails_open_when_no_target_is_healthy_and_skips_unhealthy_ones_otherwise() {
        let (tg, r) = group(3, &[]);
        assert_eq!(r.routable(&tg), vec![0, 1, 2]);
        r.targets[1].state.store(live::HEALTHY, Ordering::Relaxed);
        assert_eq!(r.routable(&tg), vec![1]);
    }

    #[test]
    fn round_robin_takes_turns() {
        let (tg, r) = group(2, &[]);
        let picks: Vec<usize> = (0..4).map(|_| r.pick(&tg, &[0, 1], 0)).collect();
        assert_eq!(picks, vec![0, 1, 0, 1]);
    }

    #[test]
    fn least_outstanding_requests_avoids_the_busy_target() {
        let (tg, r) = group(2, &[("load_balancing.algorithm.type", "least_outstanding_requests")]);
        let _busy = live::Outstanding::start(&r.targets[0]);
        assert!((0..4).all(|_| r.pick(&tg, &[0, 1], 0) == 1));
    }

    #[test]
    fn a_target_in_slow_start_gets_nothing_at_first_and_everything_alone() {
        let (tg, r) = group(2, &[("slow_start.duration_seconds", "60")]);
        for t in &r.targets {
            t.state.store(live::HEALTHY, Ordering::Relaxed);
        }
        r.targets[1].healthy_since.store(100_000, Ordering::Relaxed);
        assert!((0..20).all(|_| r.pick(&tg, &[0, 1], 100_000) == 0));
        // After the duration it takes its turns.
        assert!((0..20).any(|_| r.pick(&tg, &[0, 1], 160_000) == 1));
        // Alone it is not held back.
        assert_eq!(r.pick(&tg, &[1], 100_000), 1);
    }
}
