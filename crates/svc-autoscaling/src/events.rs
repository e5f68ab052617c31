//! What a group tells and waits for: notification configurations (launch and terminate
//! messages to SNS topics, in AWS's JSON), lifecycle hooks (an instance held in
//! `Pending:Wait` or `Terminating:Wait` until `CompleteLifecycleAction` or its heartbeat
//! timeout, with AWS's message to the hook's target), and scheduled actions (one-off or
//! cron recurrences, applied on nubo's clock).

use crate::cron::Cron;
use crate::error::{AsError, Result};
use crate::groups::when;
use crate::records::{self, GroupRecord, HookRecord, MemberRecord, ScheduledRecord, SCHEDULED};
use crate::AutoScaling;
use nubo_core::{Scope, Timestamp};
use nubo_model::generated::autoscaling::*;
use serde_json::json;

pub const NOTIFICATION_TYPES: &[&str] = &[
    "autoscaling:EC2_INSTANCE_LAUNCH",
    "autoscaling:EC2_INSTANCE_LAUNCH_ERROR",
    "autoscaling:EC2_INSTANCE_TERMINATE",
    "autoscaling:EC2_INSTANCE_TERMINATE_ERROR",
    "autoscaling:TEST_NOTIFICATION",
];
pub const LAUNCHING: &str = "autoscaling:EC2_INSTANCE_LAUNCHING";
pub const TERMINATING: &str = "autoscaling:EC2_INSTANCE_TERMINATING";

fn scheduled_key(group: &str, name: &str) -> String {
    format!("{group}\u{1}{name}")
}

impl AutoScaling {
    fn test_message(&self, scope: &Scope, g: &GroupRecord) -> String {
        json!({
            "AccountId": scope.account,
            "RequestId": nubo_core::ids::uuid(),
            "AutoScalingGroupARN": g.arn,
            "AutoScalingGroupName": g.name,
            "Service": "AWS Auto Scaling",
            "Event": "autoscaling:TEST_NOTIFICATION",
            "Time": when(self.clock.now()),
        })
        .to_string()
    }

    /// Tells a group's topics of a launch or termination (`event`: `EC2_INSTANCE_LAUNCH`, ...).
    pub(crate) fn announce(&self, scope: &Scope, g: &GroupRecord, event: &str, m: &MemberRecord, description: &str, cause: &str) {
        let full = format!("autoscaling:{event}");
        let now = when(self.clock.now());
        let message = json!({
            "Origin": if event.contains("LAUNCH") { "AutoScalingGroup" } else { "EC2" },
            "Destination": if event.contains("LAUNCH") { "EC2" } else { "AutoScalingGroup" },
            "Progress": 50,
            "AccountId": scope.account,
            "Description": description,
            "RequestId": nubo_core::ids::uuid(),
            "EndTime": now,
            "AutoScalingGroupARN": g.arn,
            "ActivityId": nubo_core::ids::uuid(),
            "StartTime": now,
            "Service": "AWS Auto Scaling",
            "Time": now,
            "EC2InstanceId": m.instance_id,
            "StatusCode": "InProgress",
            "StatusMessage": "",
            "Details": {"Subnet ID": m.subnet.clone().unwrap_or_default(), "Availability Zone": m.availability_zone},
            "AutoScalingGroupName": g.name,
            "Cause": cause,
            "Event": full,
        })
        .to_string();
        let what = if event.contains("LAUNCH") { "launch" } else { "termination" };
        let subject = format!("Auto Scaling: {what}{} for group \"{}\"", if event.ends_with("_ERROR") { " error" } else { "" }, g.name);
        for (topic, types) in &g.notifications {
            if types.iter().any(|t| *t == full) {
                self.notifier.notify(topic, &subject, &message);
            }
        }
    }

    /// Puts a member on hold for a hook of `transition`: `None` when the group has no such
    /// hook, else the message for the hook's target, to send once the change is stored
    /// (never from inside a transaction: the target's service writes too).
    pub(crate) fn hold(&self, scope: &Scope, g: &GroupRecord, m: &mut MemberRecord, transition: &str) -> Option<Option<(String, String, String)>> {
        let hook = g.hooks.iter().find(|h| h.transition == transition)?;
        let token = nubo_core::ids::uuid();
        let deadline = self.clock.now().add_millis(i64::from(hook.heartbeat_timeout) * 1000);
        m.lifecycle = if transition == LAUNCHING { "Pending:Wait" } else { "Terminating:Wait" }.into();
        m.lifecycle_action = Some((hook.name.clone(), token.clone(), deadline));
        if let Some(target) = &hook.target {
            let message = json!({
                "Origin": if transition == LAUNCHING { "EC2" } else { "AutoScalingGroup" },
                "LifecycleHookName": hook.name,
                "Destination": if transition == LAUNCHING { "AutoScalingGroup" } else { "EC2" },
                "AccountId": scope.account,
                "RequestId": nubo_core::ids::uuid(),
                "LifecycleTransition": transition,
                "AutoScalingGroupName": g.name,
                "Service": "AWS Auto Scaling",
                "Time": when(self.clock.now()),
                "EC2InstanceId": m.instance_id,
                "LifecycleActionToken": token,
                "NotificationMetadata": hook.metadata,
            })
            .to_string();
            let subject = format!("Auto Scaling:  Lifecycle action '{}' for instance {} in progress.", if transition == LAUNCHING { "LAUNCHING" } else { "TERMINATING" }, m.instance_id);
            return Some(Some((target.clone(), subject, message)));
        }
        Some(None)
    }

    pub(crate) fn send(&self, message: Option<(String, String, String)>) {
        if let Some((target, subject, body)) = message {
            self.notifier.notify(&target, &subject, &body);
        }
    }

    pub(crate) fn put_notification(&self, scope: &Scope, input: PutNotificationConfigurationType) -> Result<()> {
        for t in &input.notification_types {
            if !NOTIFICATION_TYPES.contains(&t.as_str()) {
                return Err(AsError::Validation(format!("Notification type {t} is not valid")));
            }
        }
        let g = self.update(scope, &input.auto_scaling_group_name, |g, _| {
            g.notifications.retain(|(t, _)| *t != input.topic_arn);
            g.notifications.push((input.topic_arn.clone(), input.notification_types.clone()));
            Ok(g.clone())
        })?;
        // AWS confirms a configuration with a test notification.
        self.notifier.notify(&input.topic_arn, &format!("Auto Scaling: test notification for group \"{}\"", g.name), &self.test_message(scope, &g));
        Ok(())
    }

    pub(crate) fn delete_notification(&self, scope: &Scope, input: DeleteNotificationConfigurationType) -> Result<()> {
        self.update(scope, &input.auto_scaling_group_name, |g, _| {
            let before = g.notifications.len();
            g.notifications.retain(|(t, _)| *t != input.topic_arn);
            if before == g.notifications.len() {
                return Err(AsError::Validation(format!("No notification configuration for topic {} on group {}", input.topic_arn, g.name)));
            }
            Ok(())
        })
    }

    pub(crate) fn describe_notifications(&self, scope: &Scope, input: DescribeNotificationConfigurationsType) -> Result<DescribeNotificationConfigurationsAnswer> {
        let groups: Vec<GroupRecord> = self.read(|tx| Ok(records::all(tx, records::GROUPS, scope)?))?;
        let mut out = Vec::new();
        for g in groups.iter().filter(|g| input.auto_scaling_group_names.as_ref().is_none_or(|n| n.contains(&g.name))) {
            for (topic, types) in &g.notifications {
                for t in types {
                    out.push(NotificationConfiguration { auto_scaling_group_name: Some(g.name.clone()), topic_arn: Some(topic.clone()), notification_type: Some(t.clone()) });
                }
            }
        }
        Ok(DescribeNotificationConfigurationsAnswer { notification_configurations: out, next_token: None })
    }

    pub(crate) fn put_hook(&self, scope: &Scope, input: PutLifecycleHookType) -> Result<()> {
        let transition = input.lifecycle_transition.clone().ok_or_else(|| AsError::Validation("LifecycleTransition is required".into()))?;
        if transition != LAUNCHING && transition != TERMINATING {
            return Err(AsError::Validation(format!("Invalid Lifecycle Transition: {transition}")));
        }
        let timeout = input.heartbeat_timeout.unwrap_or(3600);
        if !(30..=7200).contains(&timeout) {
            return Err(AsError::Validation("HeartbeatTimeout must be between 30 and 7200 seconds".into()));
        }
        let result = input.default_result.clone().unwrap_or_else(|| "ABANDON".into());
        if result != "CONTINUE" && result != "ABANDON" {
            return Err(AsError::Validation(format!("Invalid DefaultResult: {result}")));
        }
        let hook = HookRecord { name: input.lifecycle_hook_name.clone(), transition, heartbeat_timeout: timeout, default_result: result, target: input.notification_target_arn.clone(), role: input.role_arn.clone(), metadata: input.notification_metadata.clone() };
        let g = self.update(scope, &input.auto_scaling_group_name, |g, _| {
            g.hooks.retain(|h| h.name != hook.name);
            g.hooks.push(hook.clone());
            if g.hooks.len() > 50 {
                return Err(AsError::LimitExceeded("You have reached the limit of 50 lifecycle hooks for this group".into()));
            }
            Ok(g.clone())
        })?;
        if let Some(target) = &hook.target {
            self.notifier.notify(target, &format!("Auto Scaling: test notification for group \"{}\"", g.name), &self.test_message(scope, &g));
        }
        Ok(())
    }

    pub(crate) fn delete_hook(&self, scope: &Scope, input: DeleteLifecycleHookType) -> Result<()> {
        self.update(scope, &input.auto_scaling_group_name, |g, _| {
            let before = g.hooks.len();
            g.hooks.retain(|h| h.name != input.lifecycle_hook_name);
            if before == g.hooks.len() {
                return Err(AsError::Validation(format!("No Lifecycle Hook found with name {} for group {}", input.lifecycle_hook_name, g.name)));
            }
            Ok(())
        })
    }

    pub(crate) fn describe_hooks(&self, scope: &Scope, input: DescribeLifecycleHooksType) -> Result<DescribeLifecycleHooksAnswer> {
        let g = self.group(scope, &input.auto_scaling_group_name)?;
        Ok(DescribeLifecycleHooksAnswer {
            lifecycle_hooks: Some(
                g.hooks
                    .iter()
                    .filter(|h| input.lifecycle_hook_names.as_ref().is_none_or(|n| n.contains(&h.name)))
                    .map(|h| LifecycleHook {
                        lifecycle_hook_name: Some(h.name.clone()),
                        auto_scaling_group_name: Some(g.name.clone()),
                        lifecycle_transition: Some(h.transition.clone()),
                        notification_target_arn: h.target.clone(),
                        role_arn: h.role.clone(),
                        notification_metadata: h.metadata.clone(),
                        heartbeat_timeout: Some(h.heartbeat_timeout),
                        global_timeout: Some((h.heartbeat_timeout * 100).min(172_800)),
                        default_result: Some(h.default_result.clone()),
                    })
                    .collect(),
            ),
        })
    }

    /// The member a lifecycle action names (by instance or token).
    fn held<'g>(g: &'g mut GroupRecord, hook: &str, token: Option<&str>, instance: Option<&str>) -> Result<&'g mut MemberRecord> {
        g.members
            .iter_mut()
            .find(|m| m.lifecycle_action.as_ref().is_some_and(|(h, t, _)| h == hook && (token == Some(t.as_str()) || instance == Some(m.instance_id.as_str()))))
            .ok_or_else(|| AsError::Validation("No active Lifecycle Action found with token or instance".into()))
    }

    pub(crate) fn complete_action(&self, scope: &Scope, input: CompleteLifecycleActionType) -> Result<()> {
        if input.lifecycle_action_result != "CONTINUE" && input.lifecycle_action_result != "ABANDON" {
            return Err(AsError::Validation(format!("Invalid LifecycleActionResult: {}", input.lifecycle_action_result)));
        }
        self.update(scope, &input.auto_scaling_group_name, |g, _| {
            let m = Self::held(g, &input.lifecycle_hook_name, input.lifecycle_action_token.as_deref(), input.instance_id.as_deref())?;
            m.lifecycle_action = None;
            m.lifecycle = match (m.lifecycle.as_str(), input.lifecycle_action_result.as_str()) {
                ("Pending:Wait", "CONTINUE") => "Pending:Proceed",
                ("Pending:Wait", _) => "Abandoned",
                _ => "Terminating:Proceed",
            }
            .into();
            Ok(())
        })
    }

    pub(crate) fn heartbeat(&self, scope: &Scope, input: RecordLifecycleActionHeartbeatType) -> Result<()> {
        let now = self.clock.now();
        self.update(scope, &input.auto_scaling_group_name, |g, _| {
            let timeout = g.hooks.iter().find(|h| h.name == input.lifecycle_hook_name).map_or(3600, |h| h.heartbeat_timeout);
            let m = Self::held(g, &input.lifecycle_hook_name, input.lifecycle_action_token.as_deref(), input.instance_id.as_deref())?;
            if let Some((_, _, deadline)) = m.lifecycle_action.as_mut() {
                *deadline = now.add_millis(i64::from(timeout) * 1000);
            }
            Ok(())
        })
    }

    pub(crate) fn put_scheduled(&self, scope: &Scope, input: PutScheduledUpdateGroupActionType) -> Result<()> {
        let g = self.group(scope, &input.auto_scaling_group_name)?;
        if input.min_size.is_none() && input.max_size.is_none() && input.desired_capacity.is_none() {
            return Err(AsError::Validation("At least one of MinSize, MaxSize or DesiredCapacity must be specified".into()));
        }
        let zone = zone(input.time_zone.as_deref())?;
        let now = self.clock.now();
        let start = input.start_time.or(input.time);
        let next = match &input.recurrence {
            Some(r) => {
                let cron = Cron::parse(r).ok_or_else(|| AsError::Validation(format!("Given recurrence string '{r}' is invalid")))?;
                let from = start.filter(|s| s.as_millis() > now.as_millis()).map(|s| s.add_millis(-60_000)).unwrap_or(now);
                cron.next(from, &zone).ok_or_else(|| AsError::Validation(format!("Given recurrence string '{r}' never runs")))?
            }
            None => {
                let at = start.ok_or_else(|| AsError::Validation("Either StartTime or Recurrence must be specified".into()))?;
                if at.as_millis() < now.as_millis() {
                    return Err(AsError::Validation("Given start time is in the past".into()));
                }
                at
            }
        };
        let record = ScheduledRecord {
            name: input.scheduled_action_name.clone(),
            arn: format!("arn:aws:autoscaling:{}:{}:scheduledUpdateGroupAction:{}:autoScalingGroupName/{}:scheduledActionName/{}", scope.region, scope.account, nubo_core::ids::uuid(), g.name, input.scheduled_action_name),
            group: g.name.clone(),
            start,
            end: input.end_time,
            recurrence: input.recurrence.clone(),
            time_zone: input.time_zone.clone(),
            min: input.min_size,
            max: input.max_size,
            desired: input.desired_capacity,
            next,
        };
        self.write(|tx| Ok(records::put(tx, SCHEDULED, scope, &scheduled_key(&g.name, &record.name), &record)?))
    }

    pub(crate) fn describe_scheduled(&self, scope: &Scope, input: DescribeScheduledActionsType) -> Result<ScheduledActionsType> {
        let all: Vec<ScheduledRecord> = self.read(|tx| Ok(records::all(tx, SCHEDULED, scope)?))?;
        let out = all
            .iter()
            .filter(|a| input.auto_scaling_group_name.as_ref().is_none_or(|g| &a.group == g))
            .filter(|a| input.scheduled_action_names.as_ref().is_none_or(|n| n.contains(&a.name)))
            .map(|a| ScheduledUpdateGroupAction {
                auto_scaling_group_name: Some(a.group.clone()),
                scheduled_action_name: Some(a.name.clone()),
                scheduled_action_arn: Some(a.arn.clone()),
                time: Some(a.next),
                start_time: Some(a.next),
                end_time: a.end,
                recurrence: a.recurrence.clone(),
                min_size: a.min,
                max_size: a.max,
                desired_capacity: a.desired,
                time_zone: a.time_zone.clone(),
            })
            .collect();
        Ok(ScheduledActionsType { scheduled_update_group_actions: Some(out), next_token: None })
    }

    pub(crate) fn delete_scheduled(&self, scope: &Scope, input: DeleteScheduledActionType) -> Result<()> {
        self.write(|tx| {
            let key = records::key(scope, &scheduled_key(&input.auto_scaling_group_name, &input.scheduled_action_name));
            if !tx.delete(SCHEDULED, &key)? {
                return Err(AsError::Validation(format!("Scheduled action name not found - {}", input.scheduled_action_name)));
            }
            Ok(())
        })
    }

    /// Runs the scheduled actions that are due, as the controller's first step.
    pub(crate) fn run_schedules(&self, now: Timestamp) {
        let Ok(due) = self.read(|tx| Ok(records::everywhere::<ScheduledRecord>(tx, SCHEDULED)?)) else { return };
        for (scope, a) in due.into_iter().filter(|(_, a)| a.next.as_millis() <= now.as_millis()) {
            let applied = self.update(&scope, &a.group, |g, tx| {
                if suspended(g, "ScheduledActions") {
                    return Ok(());
                }
                let old = g.desired;
                g.min = a.min.unwrap_or(g.min);
                g.max = a.max.unwrap_or(g.max).max(g.min);
                g.desired = a.desired.unwrap_or(g.desired).clamp(g.min, g.max);
                let cause = format!(
                    "At {} a scheduled action update of AutoScalingGroup constraints to min: {}, max: {}, desired: {} changing the desired capacity from {old} to {}.",
                    when(a.next),
                    g.min,
                    g.max,
                    g.desired,
                    g.desired
                );
                if old != g.desired {
                    self.note_desired(tx, &scope, g, old, cause)?;
                }
                Ok(())
            });
            if let Err(e) = applied {
                tracing::warn!("scheduled action {} did not apply: {e:?}", a.name);
            }
            let next = a.recurrence.as_deref().and_then(Cron::parse).zip(zone(a.time_zone.as_deref()).ok()).and_then(|(c, z)| c.next(now, &z)).filter(|n| a.end.is_none_or(|e| n.as_millis() <= e.as_millis()));
            let key = records::key(&scope, &scheduled_key(&a.group, &a.name));
            let _ = self.write(|tx| {
                match next {
                    Some(next) => records::put(tx, SCHEDULED, &scope, &scheduled_key(&a.group, &a.name), &ScheduledRecord { next, ..a.clone() })?,
                    None => {
                        tx.delete(SCHEDULED, &key)?;
                    }
                }
                Ok(())
            });
        }
    }
}

pub fn suspended(g: &GroupRecord, process: &str) -> bool {
    g.suspended.iter().any(|p| p == process)
}

/// A scheduled action's time zone (UTC when it names none), from the host's tz database.
fn zone(name: Option<&str>) -> Result<nubo_core::tz::Zone> {
    let name = name.unwrap_or("UTC");
    nubo_core::tz::Zone::load(name).ok_or_else(|| AsError::Validation(format!("Given time zone '{name}' is invalid (nubo reads time zones from the host's tz database, /usr/share/zoneinfo)")))
}
