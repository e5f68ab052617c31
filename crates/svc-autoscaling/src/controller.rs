//! The reconcile loop: every group's running capacity is made equal to its desired
//! capacity, on each change and once a second.
//!
//! A pass: scheduled actions that are due apply first. Then, per group: members whose
//! instance is gone, stopped or failing its status checks (and, with ELB health checks
//! after the grace period, unhealthy in a target group) are marked Unhealthy and taken
//! out (ReplaceUnhealthy); a pending member whose instance runs (and whose launching
//! hook, if any, let it proceed) becomes InService and joins the target groups; an
//! instance refresh takes its next batch out (refresh.rs), and a member past the maximum
//! instance lifetime is taken out; zones more than one member apart get a launch in the
//! emptiest (AZRebalance); then instances are launched into the zone with the fewest
//! members, or taken out as the termination policies choose (termination.rs).
//! Taking out deregisters from the target groups, waits for a terminating hook if there
//! is one, terminates, records the activity and tells the group's topics.

use crate::events::{suspended, LAUNCHING, TERMINATING};
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

/// Members that count toward capacity (not on their way out).
pub(crate) fn counted(m: &MemberRecord) -> bool {
    !m.lifecycle.starts_with("Terminating") && m.lifecycle != "Abandoned" && m.lifecycle != "Standby"
}

/// How many counted members a zone has.
pub(crate) fn in_zone(g: &GroupRecord, zone: &str) -> usize {
    g.members.iter().filter(|m| counted(m) && m.availability_zone == zone).count()
}

impl AutoScaling {
    fn reconcile(&self) {
        self.run_schedules(self.clock.now());
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
        let mut out: Vec<(String, String)> = Vec::new();
        let mut in_service: Vec<String> = Vec::new();
        let mut proceed: Vec<(String, bool)> = Vec::new();
        for m in &g.members {
            // Lifecycle actions past their heartbeat take the hook's default result.
            if let Some((hook, _, deadline)) = &m.lifecycle_action {
                if deadline.as_millis() <= now.as_millis() {
                    let cont = g.hooks.iter().find(|h| &h.name == hook).is_none_or(|h| h.default_result == "CONTINUE");
                    proceed.push((m.instance_id.clone(), cont));
                }
                continue;
            }
            match m.lifecycle.as_str() {
                "Terminating:Proceed" => {
                    out.push((m.instance_id.clone(), String::new()));
                    continue;
                }
                "Abandoned" => {
                    out.push((m.instance_id.clone(), "an instance was taken out of service because its launching lifecycle action was abandoned.".into()));
                    continue;
                }
                l if l.starts_with("Terminating") || l == "Standby" => continue,
                _ => {}
            }
            let facts = self.fleet.instance(scope, &m.instance_id);
            let gone = facts.as_ref().is_none_or(|f| matches!(f.state.as_str(), "shutting-down" | "terminated" | "stopping" | "stopped"));
            let why = if m.health == "Unhealthy" {
                Some("an instance was taken out of service in response to a user health-check.".to_string())
            } else if gone {
                Some(format!("an instance was taken out of service in response to an EC2 health check indicating it has been {}.", facts.as_ref().map_or("terminated", |f| if f.state.starts_with("stop") { "stopped" } else { "terminated" })))
            } else if facts.as_ref().is_some_and(|f| f.impaired) {
                Some("an instance was taken out of service in response to an EC2 instance status checks failure.".to_string())
            } else if g.health_check_type == "ELB"
                && m.lifecycle == "InService"
                && now.as_millis() >= m.launched.as_millis() + i64::from(g.grace_period) * 1000
                && g.target_groups.iter().any(|tg| self.balancing.health(scope, tg, &m.instance_id).as_deref() == Some("unhealthy"))
            {
                Some("an instance was taken out of service in response to an ELB system health check failure.".to_string())
            } else {
                None
            };
            match why {
                Some(why) if !suspended(&g, "HealthCheck") && !suspended(&g, "ReplaceUnhealthy") => out.push((m.instance_id.clone(), why)),
                _ => {
                    if (m.lifecycle == "Pending" || m.lifecycle == "Pending:Proceed") && facts.as_ref().is_some_and(|f| f.state == "running") {
                        in_service.push(m.instance_id.clone());
                    }
                }
            }
        }
        if !proceed.is_empty() {
            self.update(scope, &g.name, |g, _| {
                for m in g.members.iter_mut() {
                    if let Some((_, cont)) = proceed.iter().find(|(id, _)| *id == m.instance_id) {
                        m.lifecycle_action = None;
                        m.lifecycle = match (m.lifecycle.as_str(), cont) {
                            ("Pending:Wait", true) => "Pending:Proceed",
                            ("Pending:Wait", false) => "Abandoned",
                            _ => "Terminating:Proceed",
                        }
                        .into();
                    }
                }
                Ok(())
            })?;
        }
        for (id, why) in &out {
            self.take_out(scope, &g.name, id, if why.is_empty() { None } else { Some(format!("At {} {why}", when(now))) })?;
        }
        if !in_service.is_empty() {
            let g = self.update(scope, &g.name, |g, _| {
                for m in g.members.iter_mut().filter(|m| in_service.contains(&m.instance_id)) {
                    m.lifecycle = "InService".into();
                    m.in_service_since = Some(now);
                }
                Ok(g.clone())
            })?;
            for m in g.members.iter().filter(|m| in_service.contains(&m.instance_id)) {
                for tg in &g.target_groups {
                    if let Err(e) = self.balancing.register(scope, tg, &m.instance_id) {
                        tracing::warn!("{} not registered with {tg}: {e}", m.instance_id);
                    }
                }
                self.announce(scope, &g, "EC2_INSTANCE_LAUNCH", m, &format!("Launching a new EC2 instance: {}", m.instance_id), "");
            }
        }
        let g = self.group(scope, &g.name)?;
        self.refresh_step(scope, &g)?;
        self.expire_one(scope, &g.name, now)?;
        self.rebalance(scope, &g.name, now)?;
        // Capacity: desired, plus what a refresh or a zone rebalancing launches ahead of
        // the members it replaces.
        let g = self.group(scope, &g.name)?;
        let target = g.desired + self.refresh_surge(scope, &g.name) + i32::from(g.rebalancing);
        let live = g.members.iter().filter(|m| counted(m)).count() as i32;
        let cause = self.read(|tx| Ok(self.last_cause(tx, scope, &g.name)))?;
        let backing_off = |a: &AutoScaling| a.failed_launches.lock().unwrap().get(&g.arn).is_some_and(|at| at.elapsed() < Duration::from_secs(10));
        let acted = if live < target && !suspended(&g, "Launch") && !backing_off(self) {
            for _ in 0..(target - live) {
                self.launch_one(scope, &g.name, cause.clone())?;
                if backing_off(self) {
                    break;
                }
            }
            true
        } else if live > target && !suspended(&g, "Terminate") {
            for _ in 0..(live - target) {
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

    /// Launches into the zone with the fewest members, with the group's tags; a launching
    /// hook holds the new member in Pending:Wait.
    fn launch_one(&self, scope: &Scope, name: &str, cause: Option<String>) -> crate::error::Result<()> {
        let g = self.group(scope, name)?;
        let now = self.clock.now();
        let subnet = g.subnets.iter().min_by_key(|(_, z)| in_zone(&g, z)).map(|(s, _)| s.clone());
        let template = self.launching_template(scope, &g);
        let configuration = match (&template, &g.launch_configuration) {
            (None, Some(lc)) => Some(self.launch_configuration(scope, lc)?),
            _ => None,
        };
        let source = match (&template, &configuration) {
            (Some(t), _) => crate::LaunchSource::Template(t),
            (None, Some(c)) => crate::LaunchSource::Configuration(c),
            (None, None) => return Err(crate::error::AsError::Validation("the group has nothing to launch from".into())),
        };
        let mut tags: Vec<(String, String)> = g.tags.iter().filter(|(_, _, p)| *p).map(|(k, v, _)| (k.clone(), v.clone())).collect();
        tags.push(("aws:autoscaling:groupName".into(), g.name.clone()));
        let old = g.members.iter().filter(|m| counted(m)).count();
        let cause = cause.unwrap_or_else(|| format!("At {} an instance was started in response to a difference between desired and actual capacity, increasing the capacity from {old} to {}.", when(now), g.desired));
        match self.fleet.launch(scope, source, subnet.as_deref(), tags) {
            Ok((id, zone)) => {
                let instance_type = self.fleet.instance(scope, &id).map(|f| f.instance_type);
                let message = self.update(scope, name, |g, tx| {
                    let mut m = MemberRecord {
                        instance_id: id.clone(),
                        availability_zone: zone.clone(),
                        lifecycle: "Pending".into(),
                        health: "Healthy".into(),
                        launched: now,
                        protected: g.new_instances_protected,
                        template: template.clone(),
                        instance_type,
                        lifecycle_action: None,
                        subnet: subnet.clone(),
                        in_service_since: None,
                        launch_configuration: configuration.as_ref().map(|c| c.name.clone()),
                    };
                    let message = self.hold(scope, g, &mut m, LAUNCHING).flatten();
                    g.members.push(m);
                    self.activity(tx, scope, name, format!("Launching a new EC2 instance: {id}"), cause, "Successful", serde_json::json!({"Subnet ID": subnet.clone().unwrap_or_default(), "Availability Zone": zone}))?;
                    Ok(message)
                })?;
                self.send(message);
                Ok(())
            }
            Err(e) => {
                self.failed_launches.lock().unwrap().insert(g.arn.clone(), std::time::Instant::now());
                let failed = MemberRecord {
                    instance_id: String::new(),
                    availability_zone: String::new(),
                    lifecycle: String::new(),
                    health: String::new(),
                    launched: now,
                    protected: false,
                    template: None,
                    instance_type: None,
                    lifecycle_action: None,
                    subnet: subnet.clone(),
                    in_service_since: None,
                    launch_configuration: None,
                };
                let description = format!("Launching a new EC2 instance.  Status Reason: {e}. Launching EC2 instance failed.");
                self.announce(scope, &g, "EC2_INSTANCE_LAUNCH_ERROR", &failed, &description, &cause);
                self.update(scope, name, |_, tx| {
                    self.activity(tx, scope, name, description.clone(), cause, "Failed", serde_json::json!({}))?;
                    Ok(())
                })
            }
        }
    }

    /// Takes a member out: out of its target groups, held for a terminating hook if there
    /// is one (the next passes finish it), else terminated now.
    pub(crate) fn take_out(&self, scope: &Scope, name: &str, id: &str, cause: Option<String>) -> crate::error::Result<()> {
        let g = self.group(scope, name)?;
        let Some(m) = g.members.iter().find(|m| m.instance_id == id).cloned() else { return Ok(()) };
        for tg in &g.target_groups {
            self.balancing.deregister(scope, tg, id);
        }
        let now = self.clock.now();
        if !m.lifecycle.starts_with("Terminating") {
            let held = self.update(scope, name, |g, _| {
                let snapshot = g.clone();
                let Some(m) = g.members.iter_mut().find(|m| m.instance_id == id) else { return Ok(None) };
                Ok(self.hold(scope, &snapshot, m, TERMINATING))
            })?;
            if let Some(message) = held {
                self.send(message);
                if let Some(cause) = cause {
                    self.write(|tx| {
                        records::put(tx, records::ACTIVITIES, scope, &format!("{name}\u{2}out\u{2}{id}"), &cause)?;
                        Ok(())
                    })?;
                }
                return Ok(());
            }
        }
        let remembered: Option<String> = self.read(|tx| Ok(records::get(tx, records::ACTIVITIES, scope, &format!("{name}\u{2}out\u{2}{id}"))?))?;
        let cause = cause.or(remembered).unwrap_or_else(|| format!("At {} an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from {} to {}.", when(now), g.members.len(), g.desired));
        let _ = self.fleet.terminate(scope, id);
        let description = format!("Terminating EC2 instance: {id}");
        self.announce(scope, &g, "EC2_INSTANCE_TERMINATE", &m, &description, &cause);
        self.update(scope, name, |g, tx| {
            g.members.retain(|m| m.instance_id != id);
            tx.delete(records::ACTIVITIES, &records::key(scope, &format!("{name}\u{2}out\u{2}{id}")))?;
            self.activity(tx, scope, name, description.clone(), cause, "Successful", serde_json::json!({"Subnet ID": m.subnet.clone().unwrap_or_default(), "Availability Zone": m.availability_zone}))?;
            Ok(())
        })
    }

    /// Takes out one member, chosen by the termination policies (termination.rs).
    fn terminate_one(&self, scope: &Scope, name: &str, cause: Option<String>) -> crate::error::Result<()> {
        let g = self.group(scope, name)?;
        let Some(id) = crate::termination::victim(&g, self.clock.now()) else { return Ok(()) };
        self.take_out(scope, name, &id, cause)
    }

    /// Replaces the oldest member past the group's maximum instance lifetime, one at a
    /// time and only while every other member is in service, as AWS replaces them gradually.
    fn expire_one(&self, scope: &Scope, name: &str, now: nubo_core::Timestamp) -> crate::error::Result<()> {
        let g = self.group(scope, name)?;
        let Some(lifetime) = g.max_instance_lifetime.filter(|l| *l > 0) else { return Ok(()) };
        if g.members.iter().any(|m| counted(m) && m.lifecycle != "InService" && m.lifecycle != "Standby") || suspended(&g, "ReplaceUnhealthy") {
            return Ok(());
        }
        let expired = g
            .members
            .iter()
            .filter(|m| m.lifecycle == "InService" && m.launched.as_millis() + i64::from(lifetime) * 1000 <= now.as_millis())
            .min_by_key(|m| m.launched.as_millis());
        let Some(m) = expired else { return Ok(()) };
        let cause = format!("At {} an instance was taken out of service in response to a maximum instance lifetime policy.", when(now));
        self.take_out(scope, name, &m.instance_id.clone(), Some(cause))
    }

    /// AZRebalance: when zones differ by more than one member, launches into the emptiest
    /// zone first and, once that instance runs, takes one out of the busiest, as AWS
    /// launches before it terminates.
    fn rebalance(&self, scope: &Scope, name: &str, now: nubo_core::Timestamp) -> crate::error::Result<()> {
        let g = self.group(scope, name)?;
        // Only subnets say where a launch goes: groups of zones alone are left as they are.
        let mut zones: Vec<&String> = g.subnets.iter().map(|(_, z)| z).collect();
        zones.sort();
        zones.dedup();
        if ["AZRebalance", "Launch", "Terminate"].iter().any(|p| suspended(&g, p)) || zones.len() < 2 || g.members.iter().any(|m| m.lifecycle.starts_with("Pending")) {
            return Ok(());
        }
        let why = |verb: &str| format!("At {} an instance was {verb} to rebalance the group's instances across Availability Zones.", when(now));
        if g.rebalancing {
            self.update(scope, name, |g, _| {
                g.rebalancing = false;
                Ok(())
            })?;
            return self.terminate_one(scope, name, Some(why("taken out of service")));
        }
        let live = g.members.iter().filter(|m| counted(m)).count() as i32;
        let counts: Vec<usize> = zones.iter().map(|z| in_zone(&g, z)).collect();
        let (fewest, most) = (counts.iter().min().copied().unwrap_or(0), counts.iter().max().copied().unwrap_or(0));
        if live != g.desired || most - fewest <= 1 || self.active_refresh(scope, name)?.is_some() {
            return Ok(());
        }
        self.update(scope, name, |g, _| {
            g.rebalancing = true;
            Ok(())
        })?;
        self.launch_one(scope, name, Some(why("launched")))
    }
}
