//! What Auto Scaling keeps, keyed `account \0 region \0 name`: groups with their member
//! instances, scaling policies, and scaling activities (kept six weeks, as AWS shows them).

use nubo_core::{Scope, Timestamp};
use nubo_store::{get_json, put_json, scan_json, ReadTxn, WriteTxn};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub const GROUPS: &str = "autoscaling.groups";
pub const POLICIES: &str = "autoscaling.policies";
pub const ACTIVITIES: &str = "autoscaling.activities";
pub const SCHEDULED: &str = "autoscaling.scheduled-actions";
pub const LAUNCH_CONFIGURATIONS: &str = "autoscaling.launch-configurations";
pub const REFRESHES: &str = "autoscaling.instance-refreshes";

/// A launch configuration: the legacy way to say what a group launches.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LaunchConfigurationRecord {
    pub name: String,
    pub arn: String,
    pub image_id: String,
    pub instance_type: String,
    pub key_name: Option<String>,
    pub security_groups: Vec<String>,
    /// Base64, as clients send it.
    pub user_data: Option<String>,
    pub iam_instance_profile: Option<String>,
    pub associate_public_ip: Option<bool>,
    pub monitoring: bool,
    pub created: Timestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TemplateRef {
    pub id: Option<String>,
    pub name: Option<String>,
    pub version: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemberRecord {
    pub instance_id: String,
    pub availability_zone: String,
    /// `Pending`, `InService`, `Terminating`, `Standby`, ...
    pub lifecycle: String,
    /// `Healthy` or `Unhealthy`.
    pub health: String,
    pub launched: Timestamp,
    pub protected: bool,
    pub template: Option<TemplateRef>,
    pub instance_type: Option<String>,
    /// A lifecycle action under way: (hook name, token, deadline on nubo's clock).
    #[serde(default)]
    pub lifecycle_action: Option<(String, String, Timestamp)>,
    /// Where it was launched (for notifications).
    #[serde(default)]
    pub subnet: Option<String>,
    /// When it entered InService: instance warm-up counts from here.
    #[serde(default)]
    pub in_service_since: Option<Timestamp>,
    /// The launch configuration it was launched from, if any.
    #[serde(default)]
    pub launch_configuration: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HookRecord {
    pub name: String,
    /// `autoscaling:EC2_INSTANCE_LAUNCHING` or `autoscaling:EC2_INSTANCE_TERMINATING`.
    pub transition: String,
    pub heartbeat_timeout: i32,
    /// `CONTINUE` or `ABANDON`.
    pub default_result: String,
    pub target: Option<String>,
    pub role: Option<String>,
    pub metadata: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScheduledRecord {
    pub name: String,
    pub arn: String,
    pub group: String,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub recurrence: Option<String>,
    pub time_zone: Option<String>,
    pub min: Option<i32>,
    pub max: Option<i32>,
    pub desired: Option<i32>,
    /// When it runs next, on nubo's clock.
    pub next: Timestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupRecord {
    pub name: String,
    pub arn: String,
    pub template: Option<TemplateRef>,
    pub min: i32,
    pub max: i32,
    pub desired: i32,
    pub default_cooldown: i32,
    pub zones: Vec<String>,
    /// Subnets of VPCZoneIdentifier with their zones.
    pub subnets: Vec<(String, String)>,
    pub target_groups: Vec<String>,
    pub health_check_type: String,
    pub grace_period: i32,
    pub termination_policies: Vec<String>,
    pub new_instances_protected: bool,
    /// (key, value, propagate at launch).
    pub tags: Vec<(String, String, bool)>,
    pub created: Timestamp,
    pub suspended: Vec<String>,
    /// When the last scaling activity that starts a cooldown ended.
    pub cooldown_from: Option<Timestamp>,
    pub members: Vec<MemberRecord>,
    pub max_instance_lifetime: Option<i32>,
    pub capacity_rebalance: bool,
    /// `Delete in progress` while a forced delete winds the group down.
    pub status: Option<String>,
    #[serde(default)]
    pub hooks: Vec<HookRecord>,
    /// The launch configuration it launches from, when it has no template.
    #[serde(default)]
    pub launch_configuration: Option<String>,
    /// (topic ARN, notification types).
    #[serde(default)]
    pub notifications: Vec<(String, Vec<String>)>,
    /// Group metrics being collected (EnableMetricsCollection).
    #[serde(default)]
    pub metrics: Vec<String>,
    #[serde(default)]
    pub default_instance_warmup: Option<i32>,
    /// An instance was launched to rebalance zones: one from the busiest zone goes once it is up.
    #[serde(default)]
    pub rebalancing: bool,
    /// MixedInstancesPolicy as given (its launch template is what the group launches).
    #[serde(default)]
    pub mixed_instances_policy: Option<nubo_model::Value>,
}

/// How an instance refresh goes about it (RefreshPreferences with AWS's defaults applied).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshPreferences {
    pub min_healthy: i32,
    pub max_healthy: i32,
    /// Seconds; None: the group's default instance warm-up, else its grace period.
    pub warmup: Option<i32>,
    pub checkpoints: Vec<i32>,
    pub checkpoint_delay: Option<i32>,
    pub skip_matching: bool,
    pub auto_rollback: bool,
    /// `Refresh`, `Ignore` or `Wait`.
    pub protected: String,
    /// `Terminate`, `Ignore` or `Wait`.
    pub standby: String,
    /// Alarms that fail the refresh when they go to ALARM.
    pub alarms: Vec<String>,
    pub bake_time: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RollbackRecord {
    pub reason: String,
    pub start: Timestamp,
    pub percentage: i32,
    pub to_update: i32,
}

/// An instance refresh: which members it still has to replace and where it stands.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshRecord {
    pub id: String,
    pub group: String,
    /// `Pending`, `InProgress`, `Baking`, `Successful`, `Failed`, `Cancelling`, `Cancelled`,
    /// `RollbackInProgress`, `RollbackSuccessful`, `RollbackFailed`.
    pub status: String,
    pub status_reason: Option<String>,
    pub start: Timestamp,
    pub end: Option<Timestamp>,
    pub preferences: RefreshPreferences,
    /// DesiredConfiguration's launch template, when one was given.
    pub desired: Option<TemplateRef>,
    /// The group's template when the refresh started (what a rollback returns to).
    pub previous: Option<TemplateRef>,
    /// Members still to replace.
    pub to_replace: Vec<String>,
    /// How many members it had to replace.
    pub total: i32,
    /// Replacements not yet warmed up and healthy.
    pub in_flight: i32,
    /// Replaced, with the replacement warmed up and healthy.
    pub done: i32,
    /// Instances launched ahead of those they replace (MaxHealthyPercentage above 100).
    pub surge: i32,
    /// No step before this time (checkpoint delay, bake time).
    pub paused_until: Option<Timestamp>,
    pub checkpoints_passed: usize,
    /// Since when it waits on protected or standby instances (it fails after an hour).
    pub waiting_since: Option<Timestamp>,
    pub rollback: Option<RollbackRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub adjustment: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrackingRecord {
    /// `ASGAverageCPUUtilization`, `ALBRequestCountPerTarget`, ... or `Customized`.
    pub metric_type: String,
    pub resource_label: Option<String>,
    /// For customized metrics: (namespace, name, statistic, dimensions).
    pub custom: Option<(String, String, String, Vec<(String, String)>)>,
    pub target: f64,
    pub disable_scale_in: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyRecord {
    pub name: String,
    pub arn: String,
    pub group: String,
    /// `SimpleScaling`, `StepScaling`, `TargetTrackingScaling`, `PredictiveScaling`.
    pub kind: String,
    pub adjustment_type: Option<String>,
    pub scaling_adjustment: Option<i32>,
    pub min_adjustment_magnitude: Option<i32>,
    pub cooldown: Option<i32>,
    pub steps: Vec<StepRecord>,
    pub metric_aggregation_type: Option<String>,
    pub warmup: Option<i32>,
    pub tracking: Option<TrackingRecord>,
    /// The alarms it owns (target tracking): (name, ARN).
    pub alarms: Vec<(String, String)>,
    pub enabled: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActivityRecord {
    pub id: String,
    pub group: String,
    pub description: String,
    pub cause: String,
    pub start: Timestamp,
    pub end: Option<Timestamp>,
    pub status_code: String,
    pub status_message: Option<String>,
    pub progress: i32,
    pub details: String,
}

pub fn key(scope: &Scope, name: &str) -> Vec<u8> {
    format!("{}\0{}\0{name}", scope.account, scope.region).into_bytes()
}

pub fn all<T: DeserializeOwned>(tx: &(impl ReadTxn + ?Sized), table: &str, scope: &Scope) -> nubo_store::Result<Vec<T>> {
    let prefix = format!("{}\0{}\0", scope.account, scope.region).into_bytes();
    Ok(scan_json(tx, table, &prefix, None, usize::MAX)?.into_iter().map(|(_, v)| v).collect())
}

/// Every record of a table with its scope (for the controller, which serves all scopes).
pub fn everywhere<T: DeserializeOwned>(tx: &(impl ReadTxn + ?Sized), table: &str) -> nubo_store::Result<Vec<(Scope, T)>> {
    Ok(scan_json::<T>(tx, table, b"", None, usize::MAX)?
        .into_iter()
        .filter_map(|(k, v)| {
            let mut parts = k.split(|b| *b == 0);
            let account = String::from_utf8(parts.next()?.to_vec()).ok()?;
            let region = String::from_utf8(parts.next()?.to_vec()).ok()?;
            Some((Scope::new(account, region), v))
        })
        .collect())
}

pub fn get<T: DeserializeOwned>(tx: &(impl ReadTxn + ?Sized), table: &str, scope: &Scope, name: &str) -> nubo_store::Result<Option<T>> {
    get_json(tx, table, &key(scope, name))
}

pub fn put<T: Serialize>(tx: &mut (impl WriteTxn + ?Sized), table: &str, scope: &Scope, name: &str, value: &T) -> nubo_store::Result<()> {
    put_json(tx, table, &key(scope, name), value)
}
