//! The reconcile loop: every group's running capacity is made equal to its desired
//! capacity, on each change and once a second.
//!
//! A pass, per group: members whose instance is gone, stopped or failing its status
//! checks (and, with ELB health checks after the grace period, unhealthy in a target
//! group) are marked Unhealthy and terminated (ReplaceUnhealthy); pending members whose
//! instance runs become InService; then instances are launched into the zone with the
//! fewest members, or terminated by the termination policy (the zone with the most
//! members, unprotected, oldest first), each with the scaling activity AWS records.

use crate::groups::when;
use crate::records::{self, GroupRecord, MemberRecord, GROUPS};
use crate::AutoScaling;
use nubo_core::Scope;
use std::time::Duration;

pub async fn run(a: AutoScaling) {
    loop {
        let woken = a.wake.notified();
        let me = a.clone();
        let _ = tokio::task::spawn_blocking(move || me.reconcile()).await;
        tokio::select! {
            _ = woken => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

fn suspended(g: &GroupRecord, process: &str) -> bool {
    g.suspended.iter().any(|p| p == process)
}

impl AutoScaling {
    fn reconcile(&self) {
        let groups: Vec<(Scope, GroupRecord)> = match self.read(|tx| Ok(records::everywhere(tx, GROUPS)?)) {
            Ok(g) => g,
            Err(e) => {
                tracing::warn!("Auto Scaling cannot read its groups: {e:?}");
                return;
            }
        };
        for (scope, g) in groups {
            if let Err(e) = self.reconcile_group(&scope, g) {
                tracing::warn!("an Auto Scaling pass failed: {e:?}");
            }
        }
    }

    fn reconcile_group(&self, scope: &Scope, g: GroupRecord) -> crate::error::Result<()> {
        let now = self.clock.now();
        // Health.
        let mut unhealthy: Vec<(String, String)> = Vec::new();
        let mut in_service: Vec<String> = Vec::new();
        for m in &g.members {
            let facts = self.fleet.instance(scope, &m.instance_id);
            let gone = facts.as_ref().is_none_or(|f| matches!(f.state.as_str(), "shutting-down" | "terminated" | "stopping" | "stopped"));
            let why = if m.health == "Unhealthy" {
                Some("an instance was taken out of service in response to a user health-check.".to_string())
            } else if gone {
                Some(format!("an instance was taken out of service in response to an EC2 health check indicating it has been {}.", facts.as_ref().map_or("terminated", |f| if f.state.starts_with("stop") { "stopped" } else { "terminated" })))
            } else if facts.as_ref().is_some_and(|f| f.impaired) {
                Some("an instance was taken out of service in response to an EC2 instance status checks failure.".to_string())
            } else if g.health_check_type == "ELB"
                && now.as_millis() >= m.launched.as_millis() + i64::from(g.grace_period) * 1000
                && g.target_groups.iter().any(|tg| self.balancing.health(scope, tg, &m.instance_id).as_deref() == Some("unhealthy"))
            {
                Some("an instance was taken out of service in response to an ELB system health check failure.".to_string())
            } else {
                None
            };
            match why {
                Some(why) if !suspended(&g, "HealthCheck") && !suspended(&g, "ReplaceUnhealthy") => unhealthy.push((m.instance_id.clone(), why)),
                _ => {
                    if m.lifecycle == "Pending" && facts.as_ref().is_some_and(|f| f.state == "running") {
                        in_service.push(m.instance_id.clone());
                    }
                }
            }
        }
        for (id, why) in &unhealthy {
            for tg in &g.target_groups {
                self.balancing.deregister(scope, tg, id);
            }
            let _ = self.fleet.terminate(scope, id);
            self.update(scope, &g.name, |g, tx| {
                g.members.retain(|m| &m.instance_id != id);
                self.activity(tx, scope, &g.name, format!("Terminating EC2 instance: {id}"), format!("At {} {why}", when(now)), "Successful", serde_json::json!({}))?;
                Ok(())
            })?;
        }
        if !in_service.is_empty() {
            self.update(scope, &g.name, |g, _| {
                for m in g.members.iter_mut().filter(|m| in_service.contains(&m.instance_id)) {
                    m.lifecycle = "InService".into();
                }
                Ok(())
            })?;
        }
        // Capacity.
        let g = self.group(scope, &g.name)?;
        let live = g.members.len() as i32;
        let cause = self.read(|tx| Ok(self.last_cause(tx, scope, &g.name)))?;
        let backing_off = self.failed_launches.lock().unwrap().get(&g.arn).is_some_and(|at| at.elapsed() < Duration::from_secs(10));
        let acted = if live < g.desired && !suspended(&g, "Launch") && !backing_off {
            for _ in 0..(g.desired - live) {
                self.launch_one(scope, &g.name, cause.clone())?;
                if self.failed_launches.lock().unwrap().get(&g.arn).is_some_and(|at| at.elapsed() < Duration::from_secs(10)) {
                    break;
                }
            }
            true
        } else if live > g.desired && !suspended(&g, "Terminate") {
            for _ in 0..(live - g.desired) {
                self.terminate_one(scope, &g.name, cause.clone())?;
            }
            true
        } else {
            false
        };
        // A cause explains the change it came with, not later ones (replacements).
        if acted && cause.is_some() {
            self.write(|tx| {
                tx.delete(records::ACTIVITIES, &records::key(scope, &format!("{}\u{2}cause", g.name)))?;
                Ok(())
            })?;
        }
        Ok(())
    }

    /// Launches into the zone with the fewest members, with the group's tags.
    fn launch_one(&self, scope: &Scope, name: &str, cause: Option<String>) -> crate::error::Result<()> {
        let g = self.group(scope, name)?;
        let now = self.clock.now();
        let count = |zone: &str| g.members.iter().filter(|m| m.availability_zone == zone).count();
        let subnet = g.subnets.iter().min_by_key(|(_, z)| count(z)).map(|(s, _)| s.clone());
        let template = g.template.clone().ok_or_else(|| crate::error::AsError::Validation("the group has no launch template".into()))?;
        let mut tags: Vec<(String, String)> = g.tags.iter().filter(|(_, _, p)| *p).map(|(k, v, _)| (k.clone(), v.clone())).collect();
        tags.push(("aws:autoscaling:groupName".into(), g.name.clone()));
        let old = g.members.len();
        let cause = cause.unwrap_or_else(|| format!("At {} an instance was started in response to a difference between desired and actual capacity, increasing the capacity from {old} to {}.", when(now), g.desired));
        match self.fleet.launch(scope, &template, subnet.as_deref(), tags) {
            Ok((id, zone)) => {
                for tg in &g.target_groups {
                    if let Err(e) = self.balancing.register(scope, tg, &id) {
                        tracing::warn!("{id} not registered with {tg}: {e}");
                    }
                }
                let instance_type = self.fleet.instance(scope, &id).map(|f| f.instance_type);
                self.update(scope, name, |g, tx| {
                    g.members.push(MemberRecord {
                        instance_id: id.clone(),
                        availability_zone: zone.clone(),
                        lifecycle: "Pending".into(),
                        health: "Healthy".into(),
                        launched: now,
                        protected: g.new_instances_protected,
                        template: g.template.clone(),
                        instance_type,
                    });
                    self.activity(tx, scope, name, format!("Launching a new EC2 instance: {id}"), cause, "Successful", serde_json::json!({"Subnet ID": subnet.clone().unwrap_or_default(), "Availability Zone": zone}))?;
                    Ok(())
                })
            }
            Err(e) => {
                self.failed_launches.lock().unwrap().insert(g.arn.clone(), std::time::Instant::now());
                self.update(scope, name, |_, tx| {
                    self.activity(tx, scope, name, "Launching a new EC2 instance.  Status Reason: ".to_string() + &e + ". Launching EC2 instance failed.", cause, "Failed", serde_json::json!({}))?;
                    Ok(())
                })
            }
        }
    }

    /// Terminates by the default policy: the zone with the most members, then the oldest
    /// unprotected instance in it.
    fn terminate_one(&self, scope: &Scope, name: &str, cause: Option<String>) -> crate::error::Result<()> {
        let g = self.group(scope, name)?;
        let now = self.clock.now();
        let count = |zone: &str| g.members.iter().filter(|m| m.availability_zone == zone).count();
        let newest_first = g.termination_policies.iter().any(|p| p == "NewestInstance");
        let victim = g
            .members
            .iter()
            .filter(|m| !m.protected)
            .max_by_key(|m| (count(&m.availability_zone), if newest_first { m.launched.as_millis() } else { -m.launched.as_millis() }))
            .map(|m| m.instance_id.clone());
        let Some(id) = victim else { return Ok(()) };
        for tg in &g.target_groups {
            self.balancing.deregister(scope, tg, &id);
        }
        let _ = self.fleet.terminate(scope, &id);
        let old = g.members.len();
        let cause = cause.unwrap_or_else(|| format!("At {} an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from {old} to {}.", when(now), g.desired));
        self.update(scope, name, |g, tx| {
            g.members.retain(|m| m.instance_id != id);
            self.activity(tx, scope, name, format!("Terminating EC2 instance: {id}"), cause, "Successful", serde_json::json!({}))?;
            Ok(())
        })
    }
}
