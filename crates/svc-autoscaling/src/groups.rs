//! Groups: creation and updates with AWS's checks, desired capacity (with the cooldown
//! when asked to honour it), membership, health set by hand, target groups, tags,
//! suspended processes, scale-in protection, and the scaling activities that tell what
//! happened and why.

use crate::error::{AsError, Result};
use crate::records::{self, ActivityRecord, GroupRecord, MemberRecord, PolicyRecord, TemplateRef, ACTIVITIES, GROUPS, POLICIES};
use crate::AutoScaling;
use nubo_core::{Scope, Timestamp};
use nubo_model::generated::autoscaling::*;
use nubo_model::{FromValue, IntoValue};

pub const MAX_GROUPS: usize = 500;
pub const PROCESSES: &[&str] = &["Launch", "Terminate", "AddToLoadBalancer", "AlarmNotification", "AZRebalance", "HealthCheck", "InstanceRefresh", "ReplaceUnhealthy", "ScheduledActions"];

fn not_found(name: &str) -> AsError {
    AsError::Validation(format!("AutoScalingGroup name not found - AutoScalingGroup {name} not found"))
}

/// AWS's time form in activity causes: `2026-11-23T17:00:00Z`.
pub fn when(t: Timestamp) -> String {
    t.to_iso8601_seconds()
}

pub(crate) fn template_in(t: Option<LaunchTemplateSpecification>) -> Result<Option<TemplateRef>> {
    let Some(t) = t else { return Ok(None) };
    if t.launch_template_id.is_none() && t.launch_template_name.is_none() {
        return Err(AsError::Validation("A launch template must be identified by its id or its name".into()));
    }
    if t.launch_template_id.is_some() && t.launch_template_name.is_some() {
        return Err(AsError::Validation("Valid requests must contain either launchTemplateId or LaunchTemplateName, not both".into()));
    }
    Ok(Some(TemplateRef { id: t.launch_template_id, name: t.launch_template_name, version: t.version.or(Some("$Default".into())) }))
}

pub(crate) fn template_out(t: &TemplateRef) -> LaunchTemplateSpecification {
    LaunchTemplateSpecification { launch_template_id: t.id.clone(), launch_template_name: t.name.clone(), version: t.version.clone() }
}

fn member_out(m: &MemberRecord) -> Instance {
    Instance {
        instance_id: m.instance_id.clone(),
        instance_type: m.instance_type.clone(),
        availability_zone: m.availability_zone.clone(),
        lifecycle_state: m.lifecycle.clone(),
        health_status: m.health.clone(),
        launch_template: m.template.as_ref().map(template_out),
        protected_from_scale_in: m.protected,
        ..Default::default()
    }
}

fn group_out(g: &GroupRecord) -> AutoScalingGroup {
    AutoScalingGroup {
        auto_scaling_group_name: g.name.clone(),
        auto_scaling_group_arn: Some(g.arn.clone()),
        // A group with a mixed instances policy shows its template there only, as AWS does.
        launch_template: g.template.as_ref().filter(|_| g.mixed_instances_policy.is_none()).map(template_out),
        mixed_instances_policy: g.mixed_instances_policy.clone().and_then(|v| MixedInstancesPolicy::from_value(v).ok()),
        launch_configuration_name: g.launch_configuration.clone(),
        min_size: g.min,
        max_size: g.max,
        desired_capacity: g.desired,
        default_cooldown: g.default_cooldown,
        availability_zones: g.zones.clone(),
        load_balancer_names: Some(Vec::new()),
        target_group_ar_ns: Some(g.target_groups.clone()),
        health_check_type: g.health_check_type.clone(),
        health_check_grace_period: Some(g.grace_period),
        instances: Some(g.members.iter().map(member_out).collect()),
        created_time: g.created,
        suspended_processes: Some(g.suspended.iter().map(|p| SuspendedProcess { process_name: Some(p.clone()), suspension_reason: Some("User suspended at ".to_string() + &when(g.created)) }).collect()),
        vpc_zone_identifier: Some(g.subnets.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>().join(",")),
        enabled_metrics: Some(g.metrics.iter().map(|m| EnabledMetric { metric: Some(m.clone()), granularity: Some("1Minute".into()) }).collect()),
        status: g.status.clone(),
        tags: Some(g.tags.iter().map(|(k, v, p)| TagDescription { resource_id: Some(g.name.clone()), resource_type: Some("auto-scaling-group".into()), key: Some(k.clone()), value: Some(v.clone()), propagate_at_launch: Some(*p) }).collect()),
        termination_policies: Some(g.termination_policies.clone()),
        new_instances_protected_from_scale_in: Some(g.new_instances_protected),
        service_linked_role_arn: Some(format!("arn:aws:iam::{}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling", g.arn.split(':').nth(4).unwrap_or_default())),
        max_instance_lifetime: g.max_instance_lifetime,
        default_instance_warmup: g.default_instance_warmup,
        capacity_rebalance: Some(g.capacity_rebalance),
        traffic_sources: Some(g.target_groups.iter().map(|t| TrafficSourceIdentifier { identifier: t.clone(), r#type: Some("elbv2".into()) }).collect()),
        ..Default::default()
    }
}

/// A maximum instance lifetime is 0 (none) or at least a day.
fn check_lifetime(lifetime: Option<i32>) -> Result<()> {
    match lifetime {
        Some(l) if l != 0 && l < 86_400 => Err(AsError::Validation("The maximum instance lifetime must be equal to 0 or greater than or equal to 86400 seconds (1 day).".into())),
        _ => Ok(()),
    }
}

fn check_sizes(min: i32, max: i32, desired: i32) -> Result<()> {
    if min > max {
        return Err(AsError::Validation(format!("Max bound, {max}, must be greater than or equal to min bound, {min}")));
    }
    if desired > max {
        return Err(AsError::Validation(format!("Desired capacity:{desired} must be between the specified min size:{min} and max size:{max}")));
    }
    if desired < min {
        return Err(AsError::Validation(format!("Desired capacity:{desired} must be between the specified min size:{min} and max size:{max}")));
    }
    Ok(())
}

impl AutoScaling {
    pub(crate) fn group(&self, scope: &Scope, name: &str) -> Result<GroupRecord> {
        self.read(|tx| Ok(records::get(tx, GROUPS, scope, name)?))?.ok_or_else(|| not_found(name))
    }

    /// Changes one group in one transaction.
    pub(crate) fn update<T>(&self, scope: &Scope, name: &str, f: impl FnOnce(&mut GroupRecord, &mut dyn nubo_store::WriteTxn) -> Result<T>) -> Result<T> {
        self.write(|tx| {
            let mut g: GroupRecord = records::get(tx, GROUPS, scope, name)?.ok_or_else(|| not_found(name))?;
            let out = f(&mut g, tx)?;
            records::put(tx, GROUPS, scope, name, &g)?;
            Ok(out)
        })
    }

    /// Records a scaling activity (finished when `end` is given).
    pub(crate) fn activity(&self, tx: &mut dyn nubo_store::WriteTxn, scope: &Scope, group: &str, description: String, cause: String, status: &str, details: serde_json::Value) -> Result<ActivityRecord> {
        let now = self.clock.now();
        let a = ActivityRecord {
            id: nubo_core::ids::uuid(),
            group: group.to_string(),
            description,
            cause,
            start: now,
            end: (status != "InProgress").then_some(now),
            status_code: status.to_string(),
            status_message: None,
            progress: if status == "InProgress" { 50 } else { 100 },
            details: details.to_string(),
        };
        // Newest first within a group.
        let key = format!("{group}\u{1}{:016x}\u{1}{}", u64::MAX - now.as_millis() as u64, a.id);
        records::put(tx, ACTIVITIES, scope, &key, &a)?;
        Ok(a)
    }

    fn resolve_zones(&self, scope: &Scope, vpc_zone_identifier: Option<&str>, zones: Option<Vec<String>>) -> Result<(Vec<String>, Vec<(String, String)>)> {
        let subnets: Vec<String> = vpc_zone_identifier.unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
        if subnets.is_empty() {
            let zones = zones.unwrap_or_default();
            if zones.is_empty() {
                return Err(AsError::Validation("At least one Availability Zone or VPC Subnet is required.".into()));
            }
            return Ok((zones, Vec::new()));
        }
        let mut resolved = Vec::new();
        let mut vpc: Option<String> = None;
        for s in subnets {
            let (v, zone) = self.fleet.subnet(scope, &s).ok_or_else(|| AsError::Validation(format!("The subnet ID '{s}' does not exist")))?;
            if vpc.as_ref().is_some_and(|x| *x != v) {
                return Err(AsError::Validation("The subnets in VPCZoneIdentifier must all be in the same VPC".into()));
            }
            vpc = Some(v);
            resolved.push((s, zone));
        }
        let mut zones: Vec<String> = resolved.iter().map(|(_, z)| z.clone()).collect();
        zones.sort();
        zones.dedup();
        Ok((zones, resolved))
    }

    pub(crate) fn create_group(&self, scope: &Scope, input: CreateAutoScalingGroupType) -> Result<()> {
        let name = input.auto_scaling_group_name.clone();
        if name.is_empty() || name.len() > 255 {
            return Err(AsError::Validation("AutoScalingGroupName must be between 1 and 255 characters".into()));
        }
        let template = template_in(input.launch_template.clone())?;
        if template.is_none() && input.launch_configuration_name.is_none() && input.mixed_instances_policy.is_none() && input.instance_id.is_none() {
            return Err(AsError::Validation("Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter.".into()));
        }
        let template = template.or_else(|| {
            input.mixed_instances_policy.as_ref().and_then(|m| m.launch_template.as_ref()).and_then(|l| l.launch_template_specification.clone()).map(|t| TemplateRef {
                id: t.launch_template_id,
                name: t.launch_template_name,
                version: t.version.or(Some("$Default".into())),
            })
        });
        if let Some(lc) = &input.launch_configuration_name {
            self.launch_configuration(scope, lc)?;
        }
        let desired = input.desired_capacity.unwrap_or(input.min_size);
        check_sizes(input.min_size, input.max_size, desired)?;
        check_lifetime(input.max_instance_lifetime)?;
        let (zones, subnets) = self.resolve_zones(scope, input.vpc_zone_identifier.as_deref(), input.availability_zones.clone())?;
        for tg in input.target_group_ar_ns.iter().flatten() {
            if !self.balancing.target_group_exists(scope, tg) {
                return Err(AsError::Validation(format!("Provided Target Groups may not be valid. Please ensure they exist and try again.: {tg}")));
            }
        }
        let health_check_type = input.health_check_type.clone().unwrap_or_else(|| "EC2".into());
        if !["EC2", "ELB", "VPC_LATTICE", "EBS"].contains(&health_check_type.as_str()) {
            return Err(AsError::Validation(format!("Invalid health check type: {health_check_type}")));
        }
        let now = self.clock.now();
        let group = GroupRecord {
            name: name.clone(),
            arn: format!("arn:aws:autoscaling:{}:{}:autoScalingGroup:{}:autoScalingGroupName/{name}", scope.region, scope.account, nubo_core::ids::uuid()),
            template,
            min: input.min_size,
            max: input.max_size,
            desired,
            default_cooldown: input.default_cooldown.unwrap_or(300),
            zones,
            subnets,
            target_groups: input.target_group_ar_ns.clone().unwrap_or_default(),
            health_check_type,
            grace_period: input.health_check_grace_period.unwrap_or(0),
            termination_policies: input.termination_policies.clone().unwrap_or_else(|| vec!["Default".into()]),
            new_instances_protected: input.new_instances_protected_from_scale_in.unwrap_or(false),
            tags: input.tags.clone().unwrap_or_default().into_iter().map(|t| (t.key, t.value.unwrap_or_default(), t.propagate_at_launch.unwrap_or(false))).collect(),
            created: now,
            suspended: Vec::new(),
            cooldown_from: None,
            members: Vec::new(),
            max_instance_lifetime: input.max_instance_lifetime,
            capacity_rebalance: input.capacity_rebalance.unwrap_or(false),
            status: None,
            hooks: Vec::new(),
            launch_configuration: input.launch_configuration_name.clone(),
            notifications: Vec::new(),
            metrics: Vec::new(),
            default_instance_warmup: input.default_instance_warmup.filter(|w| *w >= 0),
            rebalancing: false,
            mixed_instances_policy: input.mixed_instances_policy.clone().map(IntoValue::into_value),
        };
        self.write(|tx| {
            let existing: Vec<GroupRecord> = records::all(tx, GROUPS, scope)?;
            if existing.iter().any(|g| g.name == name) {
                return Err(AsError::AlreadyExists(format!("AutoScalingGroup by this name already exists - A group with the name {name} already exists")));
            }
            if existing.len() >= MAX_GROUPS {
                return Err(AsError::LimitExceeded(format!("You have reached your limit of {MAX_GROUPS} Auto Scaling groups")));
            }
            records::put(tx, GROUPS, scope, &name, &group)?;
            if desired > 0 {
                self.note_desired(tx, scope, &group, 0, format!("At {} a user request created an AutoScalingGroup changing the desired capacity from 0 to {desired}.", when(now)))?;
            }
            Ok(())
        })
    }

    pub(crate) fn describe_groups(&self, scope: &Scope, input: AutoScalingGroupNamesType) -> Result<AutoScalingGroupsType> {
        let mut all: Vec<GroupRecord> = self.read(|tx| Ok(records::all(tx, GROUPS, scope)?))?;
        if let Some(names) = &input.auto_scaling_group_names {
            all.retain(|g| names.contains(&g.name));
        }
        for f in input.filters.iter().flatten() {
            let values = f.values.clone().unwrap_or_default();
            let name = f.name.clone().unwrap_or_default();
            all.retain(|g| match name.strip_prefix("tag:") {
                Some(key) => g.tags.iter().any(|(k, v, _)| k == key && values.contains(v)),
                None if name == "tag-key" => g.tags.iter().any(|(k, _, _)| values.contains(k)),
                None if name == "tag-value" => g.tags.iter().any(|(_, v, _)| values.contains(v)),
                None => true,
            });
        }
        let start: usize = input.next_token.as_deref().and_then(|t| t.parse().ok()).unwrap_or(0);
        let size = input.max_records.unwrap_or(50).clamp(1, 100) as usize;
        let next = (start + size < all.len()).then(|| (start + size).to_string());
        Ok(AutoScalingGroupsType { auto_scaling_groups: all.iter().skip(start).take(size).map(group_out).collect(), next_token: next })
    }

    pub(crate) fn update_group(&self, scope: &Scope, input: UpdateAutoScalingGroupType) -> Result<()> {
        let zones = if input.vpc_zone_identifier.is_some() || input.availability_zones.is_some() {
            Some(self.resolve_zones(scope, input.vpc_zone_identifier.as_deref(), input.availability_zones.clone())?)
        } else {
            None
        };
        let mixed = input.mixed_instances_policy.clone();
        let template = template_in(input.launch_template.clone().or_else(|| mixed.as_ref().and_then(|m| m.launch_template.as_ref()).and_then(|l| l.launch_template_specification.clone())))?;
        check_lifetime(input.max_instance_lifetime)?;
        if (template.is_some() || input.launch_configuration_name.is_some() || input.mixed_instances_policy.is_some())
            && self.active_refresh(scope, &input.auto_scaling_group_name)?.is_some_and(|r| r.desired.is_some())
        {
            return Err(AsError::Validation("An active instance refresh with a desired configuration exists. All configuration options derived from the desired configuration are not available for update while the instance refresh is active.".into()));
        }
        let now = self.clock.now();
        self.update(scope, &input.auto_scaling_group_name, |g, tx| {
            let old = g.desired;
            let min = input.min_size.unwrap_or(g.min);
            let max = input.max_size.unwrap_or(g.max);
            // A new min or max pulls the desired capacity along, as AWS does.
            let desired = input.desired_capacity.unwrap_or(g.desired.clamp(min, max.max(min)));
            check_sizes(min, max, desired)?;
            g.min = min;
            g.max = max;
            g.desired = desired;
            if let Some(t) = template {
                g.template = Some(t);
                g.launch_configuration = None;
                g.mixed_instances_policy = mixed.map(IntoValue::into_value);
            }
            if let Some(lc) = input.launch_configuration_name.clone() {
                g.launch_configuration = Some(lc);
                g.template = None;
            }
            if let Some((z, s)) = zones {
                g.zones = z;
                g.subnets = s;
            }
            if let Some(t) = input.health_check_type.clone() {
                g.health_check_type = t;
            }
            g.grace_period = input.health_check_grace_period.unwrap_or(g.grace_period);
            g.default_cooldown = input.default_cooldown.unwrap_or(g.default_cooldown);
            if let Some(p) = input.termination_policies.clone() {
                g.termination_policies = p;
            }
            g.new_instances_protected = input.new_instances_protected_from_scale_in.unwrap_or(g.new_instances_protected);
            g.max_instance_lifetime = input.max_instance_lifetime.or(g.max_instance_lifetime);
            if let Some(w) = input.default_instance_warmup {
                g.default_instance_warmup = (w >= 0).then_some(w);
            }
            g.capacity_rebalance = input.capacity_rebalance.unwrap_or(g.capacity_rebalance);
            if old != g.desired {
                self.note_desired(tx, scope, g, old, format!("At {} a user request update of AutoScalingGroup constraints to min: {}, max: {}, desired: {} changing the desired capacity from {old} to {}.", when(now), g.min, g.max, g.desired, g.desired))?;
            }
            Ok(())
        })
    }

    /// Remembers why the desired capacity moved: the launches and terminations that follow
    /// give it as their cause.
    pub(crate) fn note_desired(&self, tx: &mut dyn nubo_store::WriteTxn, scope: &Scope, g: &GroupRecord, _old: i32, cause: String) -> Result<()> {
        records::put(tx, crate::records::ACTIVITIES, scope, &format!("{}\u{2}cause", g.name), &cause)?;
        Ok(())
    }

    pub(crate) fn last_cause(&self, tx: &dyn nubo_store::ReadTxn, scope: &Scope, group: &str) -> Option<String> {
        records::get::<String>(tx, ACTIVITIES, scope, &format!("{group}\u{2}cause")).ok().flatten()
    }

    pub(crate) fn delete_group(&self, scope: &Scope, name: &str, force: bool) -> Result<()> {
        let g = self.group(scope, name)?;
        if !g.members.is_empty() && !force {
            return Err(AsError::ResourceInUse("You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group.".into()));
        }
        for m in &g.members {
            for tg in &g.target_groups {
                self.balancing.deregister(scope, tg, &m.instance_id);
            }
            let _ = self.fleet.terminate(scope, &m.instance_id);
        }
        let policies: Vec<PolicyRecord> = self.read(|tx| Ok(records::all::<PolicyRecord>(tx, POLICIES, scope)?))?.into_iter().filter(|p| p.group == name).collect();
        for p in &policies {
            self.alarms.delete(scope, &p.alarms.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>());
        }
        self.write(|tx| {
            for p in &policies {
                tx.delete(POLICIES, &records::key(scope, &format!("{}\u{1}{}", p.group, p.name)))?;
            }
            tx.delete(GROUPS, &records::key(scope, name))?;
            Ok(())
        })
    }

    pub(crate) fn set_desired(&self, scope: &Scope, name: &str, desired: i32, honor_cooldown: bool, cause: Option<String>) -> Result<()> {
        let now = self.clock.now();
        self.update(scope, name, |g, tx| {
            if desired > g.max {
                return Err(AsError::Validation(format!("New SetDesiredCapacity value {desired} is above max value {} for the AutoScalingGroup.", g.max)));
            }
            if desired < g.min {
                return Err(AsError::Validation(format!("New SetDesiredCapacity value {desired} is below min value {} for the AutoScalingGroup.", g.min)));
            }
            if honor_cooldown && g.cooldown_from.is_some_and(|c| now.as_millis() < c.as_millis() + i64::from(g.default_cooldown) * 1000) {
                return Err(AsError::ScalingActivityInProgress("Scaling activity is in progress and blocks this action".into()));
            }
            let old = g.desired;
            g.desired = desired;
            let cause = cause.unwrap_or_else(|| format!("At {} a user request explicitly set group desired capacity changing the desired capacity from {old} to {desired}.", when(now)));
            self.note_desired(tx, scope, g, old, cause)
        })
    }

    pub(crate) fn describe_instances(&self, scope: &Scope, input: DescribeAutoScalingInstancesType) -> Result<AutoScalingInstancesType> {
        let groups: Vec<GroupRecord> = self.read(|tx| Ok(records::all(tx, GROUPS, scope)?))?;
        let mut out = Vec::new();
        for g in &groups {
            for m in &g.members {
                if input.instance_ids.as_ref().is_some_and(|ids| !ids.contains(&m.instance_id)) {
                    continue;
                }
                out.push(AutoScalingInstanceDetails {
                    instance_id: m.instance_id.clone(),
                    instance_type: m.instance_type.clone(),
                    auto_scaling_group_name: g.name.clone(),
                    availability_zone: m.availability_zone.clone(),
                    lifecycle_state: m.lifecycle.to_uppercase().replace("INSERVICE", "InService").replace("PENDING", "Pending"),
                    health_status: m.health.to_uppercase(),
                    launch_template: m.template.as_ref().map(template_out),
                    protected_from_scale_in: m.protected,
                    ..Default::default()
                });
            }
        }
        Ok(AutoScalingInstancesType { auto_scaling_instances: Some(out), next_token: None })
    }

    pub(crate) fn group_of_instance(&self, scope: &Scope, id: &str) -> Result<GroupRecord> {
        let groups: Vec<GroupRecord> = self.read(|tx| Ok(records::all(tx, GROUPS, scope)?))?;
        groups.into_iter().find(|g| g.members.iter().any(|m| m.instance_id == id)).ok_or_else(|| AsError::Validation(format!("Instance Id not found - No managed instance found for instance ID: {id}")))
    }

    pub(crate) fn terminate_instance(&self, scope: &Scope, id: &str, decrement: bool) -> Result<ActivityType> {
        let g = self.group_of_instance(scope, id)?;
        let now = self.clock.now();
        if decrement && g.desired <= g.min {
            return Err(AsError::Validation(format!("Currently, desiredSize equals minSize ({}). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.", g.min)));
        }
        for tg in &g.target_groups {
            self.balancing.deregister(scope, tg, id);
        }
        self.fleet.terminate(scope, id).map_err(AsError::Internal)?;
        let activity = self.update(scope, &g.name, |g, tx| {
            let old = g.desired;
            g.members.retain(|m| m.instance_id != id);
            let cause = if decrement {
                g.desired -= 1;
                format!("At {} instance {id} was taken out of service in response to a user request, shrinking the capacity from {old} to {}.", when(now), g.desired)
            } else {
                format!("At {} instance {id} was taken out of service in response to a user request.", when(now))
            };
            self.activity(tx, scope, &g.name, format!("Terminating EC2 instance: {id}"), cause, "Successful", serde_json::json!({"Subnet ID": "", "Availability Zone": ""}))
        })?;
        Ok(ActivityType { activity: Some(activity_out(&activity, &g)) })
    }

    pub(crate) fn set_instance_health_op(&self, scope: &Scope, input: SetInstanceHealthQuery) -> Result<()> {
        if input.health_status != "Healthy" && input.health_status != "Unhealthy" {
            return Err(AsError::Validation(format!("Valid instance health states are: [Healthy, Unhealthy]. You specified '{}'.", input.health_status)));
        }
        let g = self.group_of_instance(scope, &input.instance_id)?;
        self.update(scope, &g.name, |g, _| {
            if let Some(m) = g.members.iter_mut().find(|m| m.instance_id == input.instance_id) {
                m.health = input.health_status.clone();
            }
            Ok(())
        })
    }

    pub(crate) fn describe_activities(&self, scope: &Scope, input: DescribeScalingActivitiesType) -> Result<ActivitiesType> {
        let groups: Vec<GroupRecord> = self.read(|tx| Ok(records::all(tx, GROUPS, scope)?))?;
        if let Some(name) = &input.auto_scaling_group_name {
            if !groups.iter().any(|g| &g.name == name) && input.include_deleted_groups != Some(true) {
                return Ok(ActivitiesType { activities: Vec::new(), next_token: None });
            }
        }
        let all: Vec<(Vec<u8>, ActivityRecord)> = self.read(|tx| {
            let prefix = format!("{}\0{}\0", scope.account, scope.region).into_bytes();
            Ok(tx.scan(ACTIVITIES, &prefix, None, usize::MAX)?.into_iter().filter_map(|(k, v)| Some((k, serde_json::from_slice::<ActivityRecord>(&v).ok()?))).collect())
        })?;
        let mut out: Vec<&ActivityRecord> = all
            .iter()
            .map(|(_, a)| a)
            .filter(|a| input.auto_scaling_group_name.as_ref().is_none_or(|n| &a.group == n))
            .filter(|a| input.activity_ids.as_ref().is_none_or(|ids| ids.contains(&a.id)))
            .collect();
        out.sort_by_key(|a| std::cmp::Reverse(a.start.as_millis()));
        let start: usize = input.next_token.as_deref().and_then(|t| t.parse().ok()).unwrap_or(0);
        let size = input.max_records.unwrap_or(100).clamp(1, 100) as usize;
        let next = (start + size < out.len()).then(|| (start + size).to_string());
        let arn_of = |name: &str| groups.iter().find(|g| g.name == name).map(|g| g.arn.clone());
        Ok(ActivitiesType {
            activities: out
                .into_iter()
                .skip(start)
                .take(size)
                .map(|a| Activity {
                    activity_id: a.id.clone(),
                    auto_scaling_group_name: a.group.clone(),
                    description: Some(a.description.clone()),
                    cause: a.cause.clone(),
                    start_time: a.start,
                    end_time: a.end,
                    status_code: a.status_code.clone(),
                    status_message: a.status_message.clone(),
                    progress: Some(a.progress),
                    details: Some(a.details.clone()),
                    auto_scaling_group_arn: arn_of(&a.group),
                    ..Default::default()
                })
                .collect(),
            next_token: next,
        })
    }

    pub(crate) fn attach_target_groups(&self, scope: &Scope, name: &str, arns: Vec<String>) -> Result<()> {
        for tg in &arns {
            if !self.balancing.target_group_exists(scope, tg) {
                return Err(AsError::Validation(format!("Provided Target Groups may not be valid. Please ensure they exist and try again.: {tg}")));
            }
        }
        let g = self.update(scope, name, |g, _| {
            for tg in &arns {
                if !g.target_groups.contains(tg) {
                    g.target_groups.push(tg.clone());
                }
            }
            Ok(g.clone())
        })?;
        for m in g.members.iter().filter(|m| m.lifecycle == "InService" || m.lifecycle == "Pending") {
            for tg in &arns {
                let _ = self.balancing.register(scope, tg, &m.instance_id);
            }
        }
        Ok(())
    }

    pub(crate) fn detach_target_groups(&self, scope: &Scope, name: &str, arns: Vec<String>) -> Result<()> {
        let g = self.update(scope, name, |g, _| {
            g.target_groups.retain(|t| !arns.contains(t));
            Ok(g.clone())
        })?;
        for m in &g.members {
            for tg in &arns {
                self.balancing.deregister(scope, tg, &m.instance_id);
            }
        }
        Ok(())
    }

    pub(crate) fn change_tags(&self, scope: &Scope, tags: Vec<Tag>, delete: bool) -> Result<()> {
        for t in &tags {
            if t.resource_type.as_deref().is_some_and(|r| r != "auto-scaling-group") {
                return Err(AsError::Validation("ResourceType must be auto-scaling-group".into()));
            }
            let group = t.resource_id.clone().ok_or_else(|| AsError::Validation("ResourceId is required".into()))?;
            self.update(scope, &group, |g, _| {
                g.tags.retain(|(k, _, _)| *k != t.key);
                if !delete {
                    g.tags.push((t.key.clone(), t.value.clone().unwrap_or_default(), t.propagate_at_launch.unwrap_or(false)));
                }
                if g.tags.len() > 50 {
                    return Err(AsError::LimitExceeded("The number of tags exceeds the limit of 50".into()));
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    pub(crate) fn describe_tags_op(&self, scope: &Scope, input: DescribeTagsType) -> Result<TagsType> {
        let groups: Vec<GroupRecord> = self.read(|tx| Ok(records::all(tx, GROUPS, scope)?))?;
        let mut out = Vec::new();
        for g in &groups {
            for (k, v, p) in &g.tags {
                let ok = input.filters.iter().flatten().all(|f| {
                    let values = f.values.clone().unwrap_or_default();
                    match f.name.as_deref() {
                        Some("auto-scaling-group") => values.contains(&g.name),
                        Some("key") => values.contains(k),
                        Some("value") => values.contains(v),
                        Some("propagate-at-launch") => values.contains(&p.to_string()),
                        _ => true,
                    }
                });
                if ok {
                    out.push(TagDescription { resource_id: Some(g.name.clone()), resource_type: Some("auto-scaling-group".into()), key: Some(k.clone()), value: Some(v.clone()), propagate_at_launch: Some(*p) });
                }
            }
        }
        Ok(TagsType { tags: Some(out), next_token: None })
    }

    pub(crate) fn processes(&self, scope: &Scope, input: ScalingProcessQuery, suspend: bool) -> Result<()> {
        let names = input.scaling_processes.clone().unwrap_or_else(|| PROCESSES.iter().map(|p| p.to_string()).collect());
        for n in &names {
            if !PROCESSES.contains(&n.as_str()) {
                return Err(AsError::Validation(format!("Process {n} is not a valid scaling process")));
            }
        }
        self.update(scope, &input.auto_scaling_group_name, |g, _| {
            for n in names {
                g.suspended.retain(|p| *p != n);
                if suspend {
                    g.suspended.push(n);
                }
            }
            Ok(())
        })
    }

    pub(crate) fn protect(&self, scope: &Scope, input: SetInstanceProtectionQuery) -> Result<()> {
        self.update(scope, &input.auto_scaling_group_name, |g, _| {
            for id in &input.instance_ids {
                let m = g.members.iter_mut().find(|m| &m.instance_id == id).ok_or_else(|| AsError::Validation(format!("The instance {id} is not part of Auto Scaling group {}.", g.name)))?;
                m.protected = input.protected_from_scale_in;
            }
            Ok(())
        })
    }
}

/// Where AttachInstances, DetachInstances and Enter/ExitStandby move members.
#[derive(Clone, Copy, PartialEq)]
pub enum Move {
    Detach,
    EnterStandby,
    ExitStandby,
}

impl AutoScaling {
    pub(crate) fn attach_instances_op(&self, scope: &Scope, name: &str, ids: Vec<String>) -> Result<()> {
        let g = self.group(scope, name)?;
        let now = self.clock.now();
        if g.members.len() + ids.len() > g.max as usize {
            return Err(AsError::Validation(format!("Desired capacity:{} must be between the specified min size:{} and max size:{}", g.members.len() + ids.len(), g.min, g.max)));
        }
        let mut added = Vec::new();
        for id in &ids {
            let f = self.fleet.instance(scope, id).ok_or_else(|| AsError::Validation(format!("Instance {id} is not in correct state.")))?;
            if f.state != "running" {
                return Err(AsError::Validation(format!("Instance {id} is not in correct state.")));
            }
            if g.members.iter().any(|m| &m.instance_id == id) {
                return Err(AsError::Validation(format!("The instance {id} is already part of the Auto Scaling group {name}.")));
            }
            added.push((id.clone(), f));
        }
        for (id, _) in &added {
            for tg in &g.target_groups {
                let _ = self.balancing.register(scope, tg, id);
            }
        }
        self.update(scope, name, |g, tx| {
            let old = g.desired;
            for (id, f) in &added {
                g.members.push(MemberRecord {
                    instance_id: id.clone(),
                    availability_zone: f.availability_zone.clone(),
                    lifecycle: "InService".into(),
                    health: "Healthy".into(),
                    launched: now,
                    protected: g.new_instances_protected,
                    template: None,
                    instance_type: Some(f.instance_type.clone()),
                    lifecycle_action: None,
                    subnet: None,
                    in_service_since: Some(now),
                    launch_configuration: None,
                });
                g.desired += 1;
                self.activity(tx, scope, name, format!("Attaching an existing EC2 instance: {id}"), format!("At {} an instance was added in response to user request. Keeping the capacity at the new desired capacity {}.", when(now), g.desired), "Successful", serde_json::json!({}))?;
            }
            let _ = old;
            Ok(())
        })
    }

    pub(crate) fn move_instances(&self, scope: &Scope, name: &str, ids: Vec<String>, how: Move, decrement: bool) -> Result<Vec<Activity>> {
        let g = self.group(scope, name)?;
        let now = self.clock.now();
        for id in &ids {
            let m = g.members.iter().find(|m| &m.instance_id == id).ok_or_else(|| AsError::Validation(format!("The instance {id} is not part of Auto Scaling group {name}.")))?;
            match how {
                Move::ExitStandby if m.lifecycle != "Standby" => return Err(AsError::Validation(format!("The instance {id} is not in Standby."))),
                Move::EnterStandby if m.lifecycle != "InService" => return Err(AsError::Validation(format!("The instance {id} is not in InService."))),
                _ => {}
            }
        }
        if decrement && g.desired - (ids.len() as i32) < g.min {
            return Err(AsError::Validation(format!("Desired capacity:{} must be between the specified min size:{} and max size:{}", g.desired - ids.len() as i32, g.min, g.max)));
        }
        for id in &ids {
            for tg in &g.target_groups {
                if how == Move::ExitStandby {
                    let _ = self.balancing.register(scope, tg, id);
                } else {
                    self.balancing.deregister(scope, tg, id);
                }
            }
        }
        let activities = self.update(scope, name, |g, tx| {
            let mut out = Vec::new();
            for id in &ids {
                let (description, cause) = match how {
                    Move::Detach => {
                        g.members.retain(|m| &m.instance_id != id);
                        (format!("Detaching EC2 instance: {id}"), format!("At {} instance {id} was detached in response to a user request{}.", when(now), if decrement { ", shrinking the capacity" } else { "" }))
                    }
                    Move::EnterStandby => {
                        if let Some(m) = g.members.iter_mut().find(|m| &m.instance_id == id) {
                            m.lifecycle = "Standby".into();
                        }
                        (format!("Moving EC2 instance to Standby: {id}"), format!("At {} instance {id} was moved to standby in response to a user request{}.", when(now), if decrement { ", shrinking the capacity" } else { "" }))
                    }
                    Move::ExitStandby => {
                        if let Some(m) = g.members.iter_mut().find(|m| &m.instance_id == id) {
                            m.lifecycle = "InService".into();
                        }
                        g.desired += 1;
                        (format!("Moving EC2 instance out of Standby: {id}"), format!("At {} instance {id} was moved out of standby in response to a user request, increasing the capacity.", when(now)))
                    }
                };
                if decrement {
                    g.desired -= 1;
                }
                let a = self.activity(tx, scope, name, description, cause, "Successful", serde_json::json!({}))?;
                out.push(activity_out(&a, g));
            }
            Ok(out)
        })?;
        Ok(activities)
    }
}

pub fn activity_out(a: &ActivityRecord, g: &GroupRecord) -> Activity {
    Activity {
        activity_id: a.id.clone(),
        auto_scaling_group_name: a.group.clone(),
        description: Some(a.description.clone()),
        cause: a.cause.clone(),
        start_time: a.start,
        end_time: a.end,
        status_code: a.status_code.clone(),
        progress: Some(a.progress),
        details: Some(a.details.clone()),
        auto_scaling_group_arn: Some(g.arn.clone()),
        ..Default::default()
    }
}
