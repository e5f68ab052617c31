//! Instance refresh: replacing a group's instances in batches, never dropping below the
//! minimum healthy percentage (or, above 100 % maximum healthy, launching replacements
//! before terminating), each batch waiting until its replacements are healthy and warmed
//! up, with checkpoints, a bake time, alarms that fail it, cancellation and rollback.
//!
//! The API stores the refresh; [`AutoScaling::refresh_step`] is the controller's part,
//! run once per pass for each group. Replacements are launched by the ordinary capacity
//! step with the refresh's launch template ([`AutoScaling::launching_template`]).

use crate::error::{AsError, Result};
use crate::events::suspended;
use crate::groups::when;
use crate::records::{self, GroupRecord, MemberRecord, RefreshPreferences, RefreshRecord, RollbackRecord, TemplateRef, REFRESHES};
use crate::AutoScaling;
use nubo_core::{Scope, Timestamp};
use nubo_model::generated::autoscaling::*;

/// How long a refresh waits on protected or standby instances before it fails.
const WAIT_LIMIT_SECS: i64 = 3600;

fn active(status: &str) -> bool {
    matches!(status, "Pending" | "InProgress" | "Baking" | "Cancelling" | "RollbackInProgress")
}

/// Newest first within a group.
fn refresh_key(r: &RefreshRecord) -> String {
    format!("{}\u{1}{:016x}\u{1}{}", r.group, u64::MAX - r.start.as_millis() as u64, r.id)
}

fn preferences_in(p: Option<nubo_model::generated::autoscaling::RefreshPreferences>, has_desired: bool) -> Result<RefreshPreferences> {
    let p = p.unwrap_or_default();
    let min_healthy = p.min_healthy_percentage.unwrap_or(90);
    if !(0..=100).contains(&min_healthy) {
        return Err(AsError::Validation(format!("MinHealthyPercentage must be between 0 and 100, got {min_healthy}.")));
    }
    if p.max_healthy_percentage.is_some() && p.min_healthy_percentage.is_none() {
        return Err(AsError::Validation("MinHealthyPercentage must be specified when MaxHealthyPercentage is specified.".into()));
    }
    let max_healthy = p.max_healthy_percentage.unwrap_or(100);
    if !(100..=200).contains(&max_healthy) {
        return Err(AsError::Validation(format!("MaxHealthyPercentage must be between 100 and 200, got {max_healthy}.")));
    }
    if max_healthy - min_healthy > 100 {
        return Err(AsError::Validation("The difference between MaxHealthyPercentage and MinHealthyPercentage cannot be greater than 100.".into()));
    }
    let checkpoints = p.checkpoint_percentages.unwrap_or_default();
    if checkpoints.windows(2).any(|w| w[0] >= w[1]) || checkpoints.iter().any(|c| !(1..=100).contains(c)) {
        return Err(AsError::Validation("CheckpointPercentages must be unique values between 1 and 100 in ascending order.".into()));
    }
    if p.checkpoint_delay.is_some() && checkpoints.is_empty() {
        return Err(AsError::Validation("CheckpointDelay can only be specified with CheckpointPercentages.".into()));
    }
    let auto_rollback = p.auto_rollback.unwrap_or(false);
    if auto_rollback && !has_desired {
        return Err(AsError::Validation("AutoRollback requires a DesiredConfiguration.".into()));
    }
    let protected = p.scale_in_protected_instances.unwrap_or_else(|| "Wait".into());
    if !["Refresh", "Ignore", "Wait"].contains(&protected.as_str()) {
        return Err(AsError::Validation(format!("Invalid ScaleInProtectedInstances: {protected}")));
    }
    let standby = p.standby_instances.unwrap_or_else(|| "Wait".into());
    if !["Terminate", "Ignore", "Wait"].contains(&standby.as_str()) {
        return Err(AsError::Validation(format!("Invalid StandbyInstances: {standby}")));
    }
    Ok(RefreshPreferences {
        min_healthy,
        max_healthy,
        warmup: p.instance_warmup.filter(|w| *w >= 0),
        checkpoint_delay: (!checkpoints.is_empty()).then(|| p.checkpoint_delay.unwrap_or(3600)),
        checkpoints,
        skip_matching: p.skip_matching.unwrap_or(false),
        auto_rollback,
        protected,
        standby,
        alarms: p.alarm_specification.and_then(|a| a.alarms).unwrap_or_default(),
        bake_time: p.bake_time.unwrap_or(0).max(0),
    })
}

fn preferences_out(p: &RefreshPreferences) -> nubo_model::generated::autoscaling::RefreshPreferences {
    nubo_model::generated::autoscaling::RefreshPreferences {
        min_healthy_percentage: Some(p.min_healthy),
        max_healthy_percentage: Some(p.max_healthy),
        instance_warmup: p.warmup,
        checkpoint_percentages: (!p.checkpoints.is_empty()).then(|| p.checkpoints.clone()),
        checkpoint_delay: p.checkpoint_delay,
        skip_matching: Some(p.skip_matching),
        auto_rollback: Some(p.auto_rollback),
        scale_in_protected_instances: Some(p.protected.clone()),
        standby_instances: Some(p.standby.clone()),
        alarm_specification: (!p.alarms.is_empty()).then(|| AlarmSpecification { alarms: Some(p.alarms.clone()) }),
        bake_time: Some(p.bake_time),
    }
}

fn percentage(r: &RefreshRecord) -> i32 {
    if r.total == 0 {
        100
    } else {
        r.done * 100 / r.total
    }
}

fn refresh_out(r: &RefreshRecord) -> InstanceRefresh {
    let remaining = r.to_replace.len() as i32 + r.in_flight;
    let progress = InstanceRefreshProgressDetails {
        live_pool_progress: Some(InstanceRefreshLivePoolProgress { percentage_complete: Some(percentage(r)), instances_to_update: Some(remaining) }),
        warm_pool_progress: Some(InstanceRefreshWarmPoolProgress { percentage_complete: Some(100), instances_to_update: Some(0) }),
    };
    InstanceRefresh {
        instance_refresh_id: Some(r.id.clone()),
        auto_scaling_group_name: Some(r.group.clone()),
        status: Some(r.status.clone()),
        status_reason: r.status_reason.clone(),
        start_time: Some(r.start),
        end_time: r.end,
        percentage_complete: Some(percentage(r)),
        instances_to_update: Some(remaining),
        progress_details: Some(progress),
        preferences: Some(preferences_out(&r.preferences)),
        desired_configuration: r.desired.as_ref().map(|t| DesiredConfiguration { launch_template: Some(crate::groups::template_out(t)), mixed_instances_policy: None }),
        rollback_details: r.rollback.as_ref().map(|b| RollbackDetails {
            rollback_reason: Some(b.reason.clone()),
            rollback_start_time: Some(b.start),
            percentage_complete_on_rollback: Some(b.percentage),
            instances_to_update_on_rollback: Some(b.to_update),
            progress_details_on_rollback: None,
        }),
        strategy: Some("Rolling".into()),
    }
}

/// A member's launch template is the one the refresh puts in place.
fn matches(m: &MemberRecord, target: Option<&TemplateRef>) -> bool {
    m.template.is_some() && m.template.as_ref() == target
}

impl AutoScaling {
    fn refreshes(&self, scope: &Scope, group: &str) -> Result<Vec<RefreshRecord>> {
        Ok(self.read(|tx| Ok(records::all::<RefreshRecord>(tx, REFRESHES, scope)?))?.into_iter().filter(|r| r.group == group).collect())
    }

    /// The refresh under way in a group, if any.
    pub(crate) fn active_refresh(&self, scope: &Scope, group: &str) -> Result<Option<RefreshRecord>> {
        Ok(self.refreshes(scope, group)?.into_iter().find(|r| active(&r.status)))
    }

    fn save_refresh(&self, scope: &Scope, r: &RefreshRecord) -> Result<()> {
        self.write(|tx| Ok(records::put(tx, REFRESHES, scope, &refresh_key(r), r)?))
    }

    /// The template new members launch from: a refresh's target while one is under way.
    pub(crate) fn launching_template(&self, scope: &Scope, g: &GroupRecord) -> Option<TemplateRef> {
        match self.active_refresh(scope, &g.name).ok().flatten() {
            Some(r) if r.status == "RollbackInProgress" => r.previous.or_else(|| g.template.clone()),
            Some(r) if r.status != "Cancelling" => r.desired.or_else(|| g.template.clone()),
            _ => g.template.clone(),
        }
    }

    /// Instances launched ahead of the ones a refresh replaces: capacity may exceed desired by this.
    pub(crate) fn refresh_surge(&self, scope: &Scope, group: &str) -> i32 {
        self.active_refresh(scope, group).ok().flatten().map_or(0, |r| r.surge)
    }

    pub(crate) fn start_refresh(&self, scope: &Scope, input: StartInstanceRefreshType) -> Result<String> {
        let g = self.group(scope, &input.auto_scaling_group_name)?;
        if let Some(s) = input.strategy.as_deref().filter(|s| *s != "Rolling") {
            return Err(AsError::Validation(format!("1 validation error detected: Value '{s}' at 'strategy' failed to satisfy constraint: Member must satisfy enum value set: [Rolling]")));
        }
        let desired = match input.desired_configuration {
            Some(d) => {
                let spec = d.launch_template.or_else(|| d.mixed_instances_policy.and_then(|m| m.launch_template).and_then(|l| l.launch_template_specification));
                crate::groups::template_in(spec)?
            }
            None => None,
        };
        let preferences = preferences_in(input.preferences, desired.is_some())?;
        if preferences.auto_rollback && g.template.as_ref().and_then(|t| t.version.as_deref()).is_some_and(|v| v.starts_with('$')) {
            return Err(AsError::Validation("AutoRollback is not supported when the Auto Scaling group uses the $Latest or $Default launch template version.".into()));
        }
        if g.template.is_none() && g.launch_configuration.is_some() && desired.is_none() && preferences.skip_matching {
            return Err(AsError::Validation("SkipMatching requires a launch template.".into()));
        }
        let target = desired.clone().or_else(|| g.template.clone());
        let to_replace: Vec<String> = g
            .members
            .iter()
            .filter(|m| match m.lifecycle.as_str() {
                "Standby" => preferences.standby != "Ignore",
                l => l == "InService" || l.starts_with("Pending"),
            })
            .filter(|m| !(m.protected && preferences.protected == "Ignore"))
            .filter(|m| !(preferences.skip_matching && matches(m, target.as_ref())))
            .map(|m| m.instance_id.clone())
            .collect();
        let now = self.clock.now();
        let r = RefreshRecord {
            id: nubo_core::ids::uuid(),
            group: g.name.clone(),
            status: "Pending".into(),
            status_reason: None,
            start: now,
            end: None,
            preferences,
            desired,
            previous: g.template.clone(),
            total: to_replace.len() as i32,
            to_replace,
            in_flight: 0,
            done: 0,
            surge: 0,
            paused_until: None,
            checkpoints_passed: 0,
            waiting_since: None,
            rollback: None,
        };
        self.write(|tx| {
            let all: Vec<RefreshRecord> = records::all(tx, REFRESHES, scope)?;
            if all.iter().any(|x| x.group == r.group && active(&x.status)) {
                return Err(AsError::RefreshInProgress("An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.".into()));
            }
            records::put(tx, REFRESHES, scope, &refresh_key(&r), &r)?;
            Ok(())
        })?;
        Ok(r.id)
    }

    pub(crate) fn describe_refreshes(&self, scope: &Scope, input: DescribeInstanceRefreshesType) -> Result<DescribeInstanceRefreshesAnswer> {
        self.group(scope, &input.auto_scaling_group_name)?;
        let mut all = self.refreshes(scope, &input.auto_scaling_group_name)?;
        if let Some(ids) = input.instance_refresh_ids.filter(|i| !i.is_empty()) {
            all.retain(|r| ids.contains(&r.id));
        }
        let start: usize = match input.next_token.as_deref() {
            Some(t) => t.parse().map_err(|_| AsError::InvalidNextToken("The token is invalid.".into()))?,
            None => 0,
        };
        let size = input.max_records.unwrap_or(50).clamp(1, 100) as usize;
        let next = (start + size < all.len()).then(|| (start + size).to_string());
        Ok(DescribeInstanceRefreshesAnswer { instance_refreshes: Some(all.iter().skip(start).take(size).map(refresh_out).collect()), next_token: next })
    }

    pub(crate) fn cancel_refresh(&self, scope: &Scope, group: &str) -> Result<String> {
        self.group(scope, group)?;
        let _held = self.refreshing.lock().unwrap_or_else(|e| e.into_inner());
        let mut r = self.active_refresh(scope, group)?.filter(|r| r.status != "Cancelling").ok_or_else(no_active)?;
        r.status = "Cancelling".into();
        r.status_reason = None;
        r.surge = 0;
        self.save_refresh(scope, &r)?;
        Ok(r.id)
    }

    pub(crate) fn rollback_refresh(&self, scope: &Scope, group: &str) -> Result<String> {
        let _held = self.refreshing.lock().unwrap_or_else(|e| e.into_inner());
        let g = self.group(scope, group)?;
        let mut r = self.active_refresh(scope, group)?.filter(|r| r.status != "Cancelling" && r.status != "RollbackInProgress").ok_or_else(no_active)?;
        irreversible(&r)?;
        self.roll_back(&g, &mut r, "Rollback requested by user.".into());
        self.save_refresh(scope, &r)?;
        Ok(r.id)
    }

    /// Turns a refresh around: the members it already replaced go back to the previous template.
    fn roll_back(&self, g: &GroupRecord, r: &mut RefreshRecord, reason: String) {
        let now = self.clock.now();
        r.rollback = Some(RollbackRecord { reason, start: now, percentage: percentage(r), to_update: r.to_replace.len() as i32 + r.in_flight });
        r.status = "RollbackInProgress".into();
        r.status_reason = None;
        r.to_replace = g.members.iter().filter(|m| !m.lifecycle.starts_with("Terminating") && !matches(m, r.previous.as_ref())).map(|m| m.instance_id.clone()).collect();
        r.total = r.to_replace.len() as i32;
        r.in_flight = 0;
        r.done = 0;
        r.surge = 0;
        r.paused_until = None;
        r.waiting_since = None;
    }

    /// Ends a refresh that cannot go on: rolled back when it asked for that, else Failed.
    fn fail(&self, g: &GroupRecord, r: &mut RefreshRecord, reason: String) {
        if r.preferences.auto_rollback && r.status != "RollbackInProgress" && irreversible(r).is_ok() {
            self.roll_back(g, r, format!("Automatic rollback: {reason}"));
            return;
        }
        r.status = if r.status == "RollbackInProgress" { "RollbackFailed" } else { "Failed" }.into();
        r.status_reason = Some(reason);
        r.end = Some(self.clock.now());
        r.surge = 0;
    }

    /// One step of the group's refresh, if it has one under way: replaces the next batch
    /// once every member is healthy and warmed up.
    pub(crate) fn refresh_step(&self, scope: &Scope, g: &GroupRecord) -> Result<()> {
        let _held = self.refreshing.lock().unwrap_or_else(|e| e.into_inner());
        let Some(mut r) = self.active_refresh(scope, &g.name)? else { return Ok(()) };
        let before = serde_json::to_string(&r).unwrap_or_default();
        self.advance_refresh(scope, g, &mut r)?;
        if serde_json::to_string(&r).unwrap_or_default() != before {
            self.save_refresh(scope, &r)?;
        }
        Ok(())
    }

    fn advance_refresh(&self, scope: &Scope, g: &GroupRecord, r: &mut RefreshRecord) -> Result<()> {
        let now = self.clock.now();
        if suspended(g, "InstanceRefresh") {
            r.status_reason = Some("The InstanceRefresh process is suspended.".into());
            return Ok(());
        }
        if r.status == "Pending" {
            r.status = "InProgress".into();
        }
        if r.paused_until.is_some_and(|t| t.as_millis() > now.as_millis()) {
            return Ok(());
        }
        r.paused_until = None;
        if r.status == "Baking" {
            return self.finish(scope, r);
        }
        if r.status != "Cancelling" {
            if let Some(alarm) = r.preferences.alarms.iter().find(|a| self.alarms.state(scope, a).as_deref() == Some("ALARM")) {
                let reason = format!("The alarm {alarm} is in ALARM state.");
                self.fail(g, r, reason);
                return Ok(());
            }
        }
        // Members that went away by other means need no replacing.
        r.to_replace.retain(|id| g.members.iter().any(|m| &m.instance_id == id && !m.lifecycle.starts_with("Terminating")));
        if r.status == "Cancelling" {
            // What was launched finishes launching; nothing more is replaced.
            if g.members.iter().any(|m| m.lifecycle.starts_with("Pending")) {
                return Ok(());
            }
            r.status = "Cancelled".into();
            r.status_reason = Some("Instance refresh was cancelled.".into());
            r.end = Some(now);
            return Ok(());
        }
        let warmup = i64::from(r.preferences.warmup.or(g.default_instance_warmup).unwrap_or(g.grace_period).max(0)) * 1000;
        let unready = g.members.iter().filter(|m| crate::controller::counted(m) && m.lifecycle != "Standby").find(|m| {
            m.lifecycle != "InService" || m.health != "Healthy" || m.in_service_since.is_some_and(|t| t.as_millis() + warmup > now.as_millis())
        });
        let live = g.members.iter().filter(|m| crate::controller::counted(m)).count() as i32;
        if let Some(m) = unready {
            r.status_reason = Some(format!("Waiting for instances to warm up before continuing. For example: {} is warming up.", m.instance_id));
            return Ok(());
        }
        if live < g.desired + r.surge {
            r.status_reason = Some("Waiting for replacement instances to launch.".into());
            return Ok(());
        }
        r.status_reason = None;
        r.done += r.in_flight;
        r.in_flight = 0;
        // Standby members to terminate go straight away: they do not count toward capacity.
        if r.preferences.standby == "Terminate" {
            let standby: Vec<String> = r.to_replace.iter().filter(|id| g.members.iter().any(|m| &m.instance_id == *id && m.lifecycle == "Standby")).cloned().collect();
            for id in standby {
                self.replace(scope, g, r, &id, now)?;
                r.done += 1;
            }
        }
        let eligible: Vec<String> = r
            .to_replace
            .iter()
            .filter(|id| g.members.iter().any(|m| &m.instance_id == *id && m.lifecycle == "InService" && (!m.protected || r.preferences.protected == "Refresh")))
            .cloned()
            .collect();
        if eligible.is_empty() {
            if r.to_replace.is_empty() {
                return self.finish(scope, r);
            }
            let since = *r.waiting_since.get_or_insert(now);
            if now.as_millis() - since.as_millis() > WAIT_LIMIT_SECS * 1000 {
                self.fail(g, r, "Instances that are protected from scale in or in Standby were not released within an hour.".into());
            } else {
                r.status_reason = Some("Waiting for instances that are protected from scale in or in Standby.".into());
            }
            return Ok(());
        }
        r.waiting_since = None;
        if let Some(&checkpoint) = r.preferences.checkpoints.get(r.checkpoints_passed) {
            if percentage(r) >= checkpoint && r.status == "InProgress" {
                r.checkpoints_passed += 1;
                let delay = i64::from(r.preferences.checkpoint_delay.unwrap_or(3600)) * 1000;
                r.paused_until = Some(Timestamp::from_millis(now.as_millis() + delay));
                r.status_reason = Some(format!("Checkpoint {checkpoint}% reached: waiting {} seconds before continuing.", delay / 1000));
                return Ok(());
            }
        }
        let desired = g.desired.max(1);
        if r.surge > 0 {
            // The launched-ahead replacements are up: their predecessors go.
            let n = (r.surge as usize).min(eligible.len());
            for id in &eligible[..n] {
                self.replace(scope, g, r, id, now)?;
            }
            r.done += n as i32;
            r.surge = 0;
            return Ok(());
        }
        if r.preferences.max_healthy > 100 {
            let room = (desired * r.preferences.max_healthy / 100 - live).max(1);
            r.surge = room.min(eligible.len() as i32);
            r.status_reason = Some("Launching replacement instances.".into());
        } else {
            let min_healthy = (desired * r.preferences.min_healthy + 99) / 100;
            let batch = (live - min_healthy).max(1).min(eligible.len() as i32) as usize;
            for id in &eligible[..batch] {
                self.replace(scope, g, r, id, now)?;
            }
            r.in_flight += batch as i32;
        }
        Ok(())
    }

    /// Takes one member out for the refresh (the capacity step launches its replacement).
    fn replace(&self, scope: &Scope, g: &GroupRecord, r: &mut RefreshRecord, id: &str, now: Timestamp) -> Result<()> {
        r.to_replace.retain(|x| x != id);
        let cause = format!("At {} an instance was taken out of service in response to an instance refresh.  At {} instance {id} was selected for termination.", when(now), when(now));
        self.take_out(scope, &g.name, id, Some(cause))
    }

    /// All replaced: bakes if asked to, then succeeds and the group takes the desired configuration.
    fn finish(&self, scope: &Scope, r: &mut RefreshRecord) -> Result<()> {
        let now = self.clock.now();
        if r.status == "InProgress" && r.preferences.bake_time > 0 {
            r.status = "Baking".into();
            r.paused_until = Some(Timestamp::from_millis(now.as_millis() + i64::from(r.preferences.bake_time) * 1000));
            return Ok(());
        }
        let rolled_back = r.status == "RollbackInProgress";
        r.status = if rolled_back { "RollbackSuccessful" } else { "Successful" }.into();
        r.status_reason = None;
        r.end = Some(now);
        r.done = r.total;
        if let (false, Some(t)) = (rolled_back, r.desired.clone()) {
            self.update(scope, &r.group, |g, _| {
                g.template = Some(t);
                g.launch_configuration = None;
                Ok(())
            })?;
        }
        Ok(())
    }
}

fn no_active() -> AsError {
    AsError::ActiveRefreshNotFound("No in progress or pending Instance Refresh found for Auto Scaling group.".into())
}

/// A refresh can be rolled back only to a fixed previous launch template version.
fn irreversible(r: &RefreshRecord) -> Result<()> {
    if r.desired.is_none() {
        return Err(AsError::Irreversible("The instance refresh cannot be rolled back because it has no desired configuration.".into()));
    }
    if r.previous.as_ref().and_then(|t| t.version.as_deref()).is_none_or(|v| v.starts_with('$')) {
        return Err(AsError::Irreversible("The instance refresh cannot be rolled back because the Auto Scaling group uses the $Latest or $Default launch template version.".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nubo_model::generated::autoscaling::RefreshPreferences as Input;

    #[test]
    fn preferences_take_aws_defaults() {
        let p = preferences_in(None, false).unwrap();
        assert_eq!((p.min_healthy, p.max_healthy, p.protected.as_str(), p.standby.as_str(), p.skip_matching), (90, 100, "Wait", "Wait", false));
        assert_eq!(p.checkpoint_delay, None);
        let p = preferences_in(Some(Input { checkpoint_percentages: Some(vec![50, 100]), ..Default::default() }), false).unwrap();
        assert_eq!(p.checkpoint_delay, Some(3600), "an hour between checkpoints unless told");
    }

    #[test]
    fn preferences_are_checked() {
        let bad = |p: Input, desired: bool| preferences_in(Some(p), desired).is_err();
        assert!(bad(Input { max_healthy_percentage: Some(150), ..Default::default() }, false), "max needs min");
        assert!(bad(Input { min_healthy_percentage: Some(10), max_healthy_percentage: Some(150), ..Default::default() }, false), "at most 100 apart");
        assert!(bad(Input { min_healthy_percentage: Some(101), ..Default::default() }, false));
        assert!(bad(Input { checkpoint_percentages: Some(vec![60, 30]), ..Default::default() }, false), "ascending");
        assert!(bad(Input { checkpoint_delay: Some(60), ..Default::default() }, false), "a delay needs checkpoints");
        assert!(bad(Input { auto_rollback: Some(true), ..Default::default() }, false), "rollback needs a desired configuration");
        assert!(!bad(Input { auto_rollback: Some(true), ..Default::default() }, true));
        assert!(!bad(Input { min_healthy_percentage: Some(100), max_healthy_percentage: Some(200), ..Default::default() }, false));
    }
}
