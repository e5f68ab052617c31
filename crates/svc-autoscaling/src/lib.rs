//! Amazon EC2 Auto Scaling: groups that really keep their capacity.
//!
//! Groups (with their member instances), policies and activities live in the store
//! ([`records`]); [`groups`] and [`policies`] own the API; [`controller`] is the reconcile
//! loop that makes running capacity equal desired capacity, replaces unhealthy instances
//! and records what it did as scaling activities; [`refresh`] replaces members in batches
//! when an instance refresh asks it to. EC2, Elastic Load Balancing and
//! CloudWatch are reached through the [`Fleet`], [`Balancing`] and [`Alarms`] seams the
//! composition root wires; CloudWatch alarms reach scaling policies through
//! [`AutoScaling::alarm_fired`].

pub mod controller;
mod cron;
mod error;
mod events;
mod groups;
mod launch_configurations;
pub mod metrics;
mod policies;
pub mod records;
mod refresh;
mod termination;

use error::Result;
use nubo_core::{AwsError, Clock, RequestContext, Scope};
use nubo_model::generated::autoscaling::{self, *};
use nubo_model::Handler;
use nubo_store::Store;
use records::TemplateRef;
use std::sync::Arc;

/// An instance as a group sees it.
#[derive(Debug, Clone)]
pub struct InstanceState {
    /// EC2's state name.
    pub state: String,
    /// Its status checks fail.
    pub impaired: bool,
    pub availability_zone: String,
    pub instance_type: String,
}

/// What a group launches from.
pub enum LaunchSource<'a> {
    Template(&'a TemplateRef),
    Configuration(&'a records::LaunchConfigurationRecord),
}

/// What Auto Scaling asks of EC2.
pub trait Fleet: Send + Sync + 'static {
    /// Launches one instance: (id, availability zone).
    fn launch(&self, scope: &Scope, source: LaunchSource<'_>, subnet: Option<&str>, tags: Vec<(String, String)>) -> std::result::Result<(String, String), String>;
    fn terminate(&self, scope: &Scope, id: &str) -> std::result::Result<(), String>;
    fn instance(&self, scope: &Scope, id: &str) -> Option<InstanceState>;
    /// (VPC, availability zone) of a subnet.
    fn subnet(&self, scope: &Scope, id: &str) -> Option<(String, String)>;
}

/// What Auto Scaling asks of Elastic Load Balancing.
pub trait Balancing: Send + Sync + 'static {
    fn target_group_exists(&self, scope: &Scope, arn: &str) -> bool;
    fn register(&self, scope: &Scope, target_group: &str, instance_id: &str) -> std::result::Result<(), String>;
    fn deregister(&self, scope: &Scope, target_group: &str, instance_id: &str);
    /// DescribeTargetHealth's state for the instance in the group.
    fn health(&self, scope: &Scope, target_group: &str, instance_id: &str) -> Option<String>;
}

/// A CloudWatch alarm a target tracking policy owns.
#[derive(Debug, Clone)]
pub struct AlarmSpec {
    pub name: String,
    pub description: String,
    pub namespace: String,
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
    pub statistic: String,
    pub period: i32,
    pub evaluation_periods: i32,
    pub threshold: f64,
    pub comparison: String,
    pub actions: Vec<String>,
}

/// What Auto Scaling asks of CloudWatch.
pub trait Alarms: Send + Sync + 'static {
    fn put(&self, scope: &Scope, alarm: AlarmSpec) -> std::result::Result<(), String>;
    fn delete(&self, scope: &Scope, names: &[String]);
    /// An alarm's state, `None` when there is no such alarm.
    fn state(&self, scope: &Scope, name: &str) -> Option<String>;
}

/// Where a group's notifications and lifecycle messages go: SNS topics and SQS queues.
pub trait Notifier: Send + Sync + 'static {
    fn notify(&self, target_arn: &str, subject: &str, message: &str);
}

#[derive(Clone)]
pub struct AutoScaling {
    notifier: Arc<dyn Notifier>,
    store: Store,
    clock: Clock,
    fleet: Arc<dyn Fleet>,
    balancing: Arc<dyn Balancing>,
    alarms: Arc<dyn Alarms>,
    wake: Arc<tokio::sync::Notify>,
    /// Held while an instance refresh changes: the controller's step and the API's
    /// start/cancel/rollback never overwrite each other's record.
    refreshing: Arc<std::sync::Mutex<()>>,
    /// Groups whose last launch failed, and when: launches wait a while before trying again.
    failed_launches: Arc<std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>>,
}

impl AutoScaling {
    pub fn new(store: Store, clock: Clock, fleet: Arc<dyn Fleet>, balancing: Arc<dyn Balancing>, alarms: Arc<dyn Alarms>, notifier: Arc<dyn Notifier>) -> AutoScaling {
        AutoScaling { store, clock, fleet, balancing, alarms, notifier, wake: Default::default(), refreshing: Default::default(), failed_launches: Default::default() }
    }

    /// Starts the reconcile loop (inside tokio).
    pub fn start(&self) {
        tokio::spawn(controller::run(self.clone()));
    }

    fn poke(&self) {
        self.wake.notify_one();
    }

    fn write<T>(&self, f: impl FnOnce(&mut dyn nubo_store::WriteTxn) -> Result<T>) -> Result<T> {
        let out = self.store.write(f);
        self.poke();
        out
    }

    fn read<T>(&self, f: impl FnOnce(&dyn nubo_store::ReadTxn) -> Result<T>) -> Result<T> {
        let mut out = None;
        self.store.read(|tx| {
            out = Some(f(tx));
            Ok(())
        })?;
        out.expect("the closure ran")
    }
}

pub fn service(a: AutoScaling) -> Box<dyn Handler> {
    Box::new(autoscaling::Service(a))
}

type Out<T> = std::result::Result<T, AwsError>;

fn aws<T>(r: Result<T>) -> Out<T> {
    r.map_err(AwsError::from)
}

impl autoscaling::AutoScaling for AutoScaling {
    async fn create_auto_scaling_group(&self, ctx: &RequestContext, input: CreateAutoScalingGroupType) -> Out<()> {
        aws(self.create_group(&ctx.scope, input))
    }
    async fn describe_auto_scaling_groups(&self, ctx: &RequestContext, input: AutoScalingGroupNamesType) -> Out<AutoScalingGroupsType> {
        aws(self.describe_groups(&ctx.scope, input))
    }
    async fn update_auto_scaling_group(&self, ctx: &RequestContext, input: UpdateAutoScalingGroupType) -> Out<()> {
        aws(self.update_group(&ctx.scope, input))
    }
    async fn delete_auto_scaling_group(&self, ctx: &RequestContext, input: DeleteAutoScalingGroupType) -> Out<()> {
        aws(self.delete_group(&ctx.scope, &input.auto_scaling_group_name, input.force_delete.unwrap_or(false)))
    }
    async fn set_desired_capacity(&self, ctx: &RequestContext, input: SetDesiredCapacityType) -> Out<()> {
        aws(self.set_desired(&ctx.scope, &input.auto_scaling_group_name, input.desired_capacity, input.honor_cooldown.unwrap_or(false), None))
    }
    async fn describe_auto_scaling_instances(&self, ctx: &RequestContext, input: DescribeAutoScalingInstancesType) -> Out<AutoScalingInstancesType> {
        aws(self.describe_instances(&ctx.scope, input))
    }
    async fn terminate_instance_in_auto_scaling_group(&self, ctx: &RequestContext, input: TerminateInstanceInAutoScalingGroupType) -> Out<ActivityType> {
        aws(self.terminate_instance(&ctx.scope, &input.instance_id, input.should_decrement_desired_capacity))
    }
    async fn set_instance_health(&self, ctx: &RequestContext, input: SetInstanceHealthQuery) -> Out<()> {
        aws(self.set_instance_health_op(&ctx.scope, input))
    }
    async fn describe_scaling_activities(&self, ctx: &RequestContext, input: DescribeScalingActivitiesType) -> Out<ActivitiesType> {
        aws(self.describe_activities(&ctx.scope, input))
    }
    async fn attach_load_balancer_target_groups(&self, ctx: &RequestContext, input: AttachLoadBalancerTargetGroupsType) -> Out<AttachLoadBalancerTargetGroupsResultType> {
        aws(self.attach_target_groups(&ctx.scope, &input.auto_scaling_group_name, input.target_group_ar_ns)).map(|_| AttachLoadBalancerTargetGroupsResultType {})
    }
    async fn detach_load_balancer_target_groups(&self, ctx: &RequestContext, input: DetachLoadBalancerTargetGroupsType) -> Out<DetachLoadBalancerTargetGroupsResultType> {
        aws(self.detach_target_groups(&ctx.scope, &input.auto_scaling_group_name, input.target_group_ar_ns)).map(|_| DetachLoadBalancerTargetGroupsResultType {})
    }
    async fn describe_load_balancer_target_groups(&self, ctx: &RequestContext, input: DescribeLoadBalancerTargetGroupsRequest) -> Out<DescribeLoadBalancerTargetGroupsResponse> {
        let g = aws(self.group(&ctx.scope, &input.auto_scaling_group_name))?;
        Ok(DescribeLoadBalancerTargetGroupsResponse {
            load_balancer_target_groups: Some(g.target_groups.iter().map(|t| LoadBalancerTargetGroupState { load_balancer_target_group_arn: Some(t.clone()), state: Some("InService".into()) }).collect()),
            next_token: None,
        })
    }
    async fn put_scaling_policy(&self, ctx: &RequestContext, input: PutScalingPolicyType) -> Out<PolicyARNType> {
        aws(self.put_policy(&ctx.scope, input))
    }
    async fn describe_policies(&self, ctx: &RequestContext, input: DescribePoliciesType) -> Out<PoliciesType> {
        aws(self.describe_policies_op(&ctx.scope, input))
    }
    async fn delete_policy(&self, ctx: &RequestContext, input: DeletePolicyType) -> Out<()> {
        aws(self.delete_policy_op(&ctx.scope, input.auto_scaling_group_name.as_deref(), &input.policy_name))
    }
    async fn execute_policy(&self, ctx: &RequestContext, input: ExecutePolicyType) -> Out<()> {
        aws(self.execute_policy_op(&ctx.scope, input))
    }
    async fn describe_account_limits(&self, ctx: &RequestContext, _: ()) -> Out<DescribeAccountLimitsAnswer> {
        let groups = aws(self.read(|tx| Ok(records::all::<records::GroupRecord>(tx, records::GROUPS, &ctx.scope)?.len())))?;
        Ok(DescribeAccountLimitsAnswer {
            max_number_of_auto_scaling_groups: Some(groups::MAX_GROUPS as i32),
            max_number_of_launch_configurations: Some(200),
            number_of_auto_scaling_groups: Some(groups as i32),
            number_of_launch_configurations: Some(0),
        })
    }
    async fn create_or_update_tags(&self, ctx: &RequestContext, input: CreateOrUpdateTagsType) -> Out<()> {
        aws(self.change_tags(&ctx.scope, input.tags, false))
    }
    async fn delete_tags(&self, ctx: &RequestContext, input: DeleteTagsType) -> Out<()> {
        aws(self.change_tags(&ctx.scope, input.tags, true))
    }
    async fn describe_tags(&self, ctx: &RequestContext, input: DescribeTagsType) -> Out<TagsType> {
        aws(self.describe_tags_op(&ctx.scope, input))
    }
    async fn suspend_processes(&self, ctx: &RequestContext, input: ScalingProcessQuery) -> Out<()> {
        aws(self.processes(&ctx.scope, input, true))
    }
    async fn resume_processes(&self, ctx: &RequestContext, input: ScalingProcessQuery) -> Out<()> {
        aws(self.processes(&ctx.scope, input, false))
    }
    async fn set_instance_protection(&self, ctx: &RequestContext, input: SetInstanceProtectionQuery) -> Out<SetInstanceProtectionAnswer> {
        aws(self.protect(&ctx.scope, input)).map(|_| SetInstanceProtectionAnswer {})
    }
    async fn describe_scaling_process_types(&self, _: &RequestContext, _: ()) -> Out<ProcessesType> {
        Ok(ProcessesType { processes: Some(groups::PROCESSES.iter().map(|p| ProcessType { process_name: p.to_string() }).collect()) })
    }
    async fn describe_termination_policy_types(&self, _: &RequestContext, _: ()) -> Out<DescribeTerminationPolicyTypesAnswer> {
        Ok(DescribeTerminationPolicyTypesAnswer {
            termination_policy_types: Some(
                ["ClosestToNextInstanceHour", "Default", "NewestInstance", "OldestInstance", "OldestLaunchConfiguration", "OldestLaunchTemplate", "AllocationStrategy"].iter().map(|s| s.to_string()).collect(),
            ),
        })
    }
    async fn describe_adjustment_types(&self, _: &RequestContext, _: ()) -> Out<DescribeAdjustmentTypesAnswer> {
        Ok(DescribeAdjustmentTypesAnswer {
            adjustment_types: Some(["ChangeInCapacity", "ExactCapacity", "PercentChangeInCapacity"].iter().map(|a| AdjustmentType { adjustment_type: Some(a.to_string()) }).collect()),
        })
    }
    async fn describe_lifecycle_hooks(&self, ctx: &RequestContext, input: DescribeLifecycleHooksType) -> Out<DescribeLifecycleHooksAnswer> {
        aws(self.describe_hooks(&ctx.scope, input))
    }
    async fn describe_notification_configurations(&self, ctx: &RequestContext, input: DescribeNotificationConfigurationsType) -> Out<DescribeNotificationConfigurationsAnswer> {
        aws(self.describe_notifications(&ctx.scope, input))
    }
    async fn put_scheduled_update_group_action(&self, ctx: &RequestContext, input: PutScheduledUpdateGroupActionType) -> Out<()> {
        aws(self.put_scheduled(&ctx.scope, input))
    }
    async fn describe_scheduled_actions(&self, ctx: &RequestContext, input: DescribeScheduledActionsType) -> Out<ScheduledActionsType> {
        aws(self.describe_scheduled(&ctx.scope, input))
    }
    async fn delete_scheduled_action(&self, ctx: &RequestContext, input: DeleteScheduledActionType) -> Out<()> {
        aws(self.delete_scheduled(&ctx.scope, input))
    }
    async fn put_lifecycle_hook(&self, ctx: &RequestContext, input: PutLifecycleHookType) -> Out<PutLifecycleHookAnswer> {
        aws(self.put_hook(&ctx.scope, input)).map(|_| PutLifecycleHookAnswer {})
    }
    async fn delete_lifecycle_hook(&self, ctx: &RequestContext, input: DeleteLifecycleHookType) -> Out<DeleteLifecycleHookAnswer> {
        aws(self.delete_hook(&ctx.scope, input)).map(|_| DeleteLifecycleHookAnswer {})
    }
    async fn complete_lifecycle_action(&self, ctx: &RequestContext, input: CompleteLifecycleActionType) -> Out<CompleteLifecycleActionAnswer> {
        aws(self.complete_action(&ctx.scope, input)).map(|_| CompleteLifecycleActionAnswer {})
    }
    async fn record_lifecycle_action_heartbeat(&self, ctx: &RequestContext, input: RecordLifecycleActionHeartbeatType) -> Out<RecordLifecycleActionHeartbeatAnswer> {
        aws(self.heartbeat(&ctx.scope, input)).map(|_| RecordLifecycleActionHeartbeatAnswer {})
    }
    async fn describe_lifecycle_hook_types(&self, _: &RequestContext, _: ()) -> Out<DescribeLifecycleHookTypesAnswer> {
        Ok(DescribeLifecycleHookTypesAnswer { lifecycle_hook_types: Some(vec![events::LAUNCHING.into(), events::TERMINATING.into()]) })
    }
    async fn put_notification_configuration(&self, ctx: &RequestContext, input: PutNotificationConfigurationType) -> Out<()> {
        aws(self.put_notification(&ctx.scope, input))
    }
    async fn delete_notification_configuration(&self, ctx: &RequestContext, input: DeleteNotificationConfigurationType) -> Out<()> {
        aws(self.delete_notification(&ctx.scope, input))
    }
    async fn enable_metrics_collection(&self, ctx: &RequestContext, input: EnableMetricsCollectionQuery) -> Out<()> {
        aws(self.enable_metrics(&ctx.scope, input))
    }
    async fn disable_metrics_collection(&self, ctx: &RequestContext, input: DisableMetricsCollectionQuery) -> Out<()> {
        aws(self.disable_metrics(&ctx.scope, input))
    }
    async fn describe_metric_collection_types(&self, _: &RequestContext, _: ()) -> Out<DescribeMetricCollectionTypesAnswer> {
        Ok(metrics::collection_types())
    }
    async fn start_instance_refresh(&self, ctx: &RequestContext, input: StartInstanceRefreshType) -> Out<StartInstanceRefreshAnswer> {
        aws(self.start_refresh(&ctx.scope, input)).map(|id| StartInstanceRefreshAnswer { instance_refresh_id: Some(id) })
    }
    async fn describe_instance_refreshes(&self, ctx: &RequestContext, input: DescribeInstanceRefreshesType) -> Out<DescribeInstanceRefreshesAnswer> {
        aws(self.describe_refreshes(&ctx.scope, input))
    }
    async fn cancel_instance_refresh(&self, ctx: &RequestContext, input: CancelInstanceRefreshType) -> Out<CancelInstanceRefreshAnswer> {
        aws(self.cancel_refresh(&ctx.scope, &input.auto_scaling_group_name)).map(|id| CancelInstanceRefreshAnswer { instance_refresh_id: Some(id) })
    }
    async fn rollback_instance_refresh(&self, ctx: &RequestContext, input: RollbackInstanceRefreshType) -> Out<RollbackInstanceRefreshAnswer> {
        aws(self.rollback_refresh(&ctx.scope, &input.auto_scaling_group_name)).map(|id| RollbackInstanceRefreshAnswer { instance_refresh_id: Some(id) })
    }
    async fn describe_warm_pool(&self, ctx: &RequestContext, input: DescribeWarmPoolType) -> Out<DescribeWarmPoolAnswer> {
        aws(self.group(&ctx.scope, &input.auto_scaling_group_name))?;
        Ok(DescribeWarmPoolAnswer { warm_pool_configuration: None, instances: Some(Vec::new()), next_token: None })
    }
    async fn describe_traffic_sources(&self, ctx: &RequestContext, input: DescribeTrafficSourcesRequest) -> Out<DescribeTrafficSourcesResponse> {
        let g = aws(self.group(&ctx.scope, &input.auto_scaling_group_name))?;
        let sources = g
            .target_groups
            .iter()
            .filter(|_| input.traffic_source_type.as_deref().is_none_or(|t| t == "elbv2"))
            .map(|t| TrafficSourceState { traffic_source: Some(t.clone()), state: Some("InService".into()), identifier: Some(t.clone()), r#type: Some("elbv2".into()) })
            .collect();
        Ok(DescribeTrafficSourcesResponse { traffic_sources: Some(sources), next_token: None })
    }
    async fn attach_traffic_sources(&self, ctx: &RequestContext, input: AttachTrafficSourcesType) -> Out<AttachTrafficSourcesResultType> {
        let arns = input.traffic_sources.into_iter().map(|t| t.identifier).collect();
        aws(self.attach_target_groups(&ctx.scope, &input.auto_scaling_group_name, arns)).map(|_| AttachTrafficSourcesResultType {})
    }
    async fn detach_traffic_sources(&self, ctx: &RequestContext, input: DetachTrafficSourcesType) -> Out<DetachTrafficSourcesResultType> {
        let arns = input.traffic_sources.into_iter().map(|t| t.identifier).collect();
        aws(self.detach_target_groups(&ctx.scope, &input.auto_scaling_group_name, arns)).map(|_| DetachTrafficSourcesResultType {})
    }
    async fn create_launch_configuration(&self, ctx: &RequestContext, input: CreateLaunchConfigurationType) -> Out<()> {
        aws(self.create_launch_configuration_op(&ctx.scope, input))
    }
    async fn describe_launch_configurations(&self, ctx: &RequestContext, input: LaunchConfigurationNamesType) -> Out<LaunchConfigurationsType> {
        aws(self.describe_launch_configurations_op(&ctx.scope, input))
    }
    async fn delete_launch_configuration(&self, ctx: &RequestContext, input: LaunchConfigurationNameType) -> Out<()> {
        aws(self.delete_launch_configuration_op(&ctx.scope, &input.launch_configuration_name))
    }
    async fn attach_instances(&self, ctx: &RequestContext, input: AttachInstancesQuery) -> Out<()> {
        aws(self.attach_instances_op(&ctx.scope, &input.auto_scaling_group_name, input.instance_ids.unwrap_or_default()))
    }
    async fn detach_instances(&self, ctx: &RequestContext, input: DetachInstancesQuery) -> Out<DetachInstancesAnswer> {
        aws(self.move_instances(&ctx.scope, &input.auto_scaling_group_name, input.instance_ids.unwrap_or_default(), groups::Move::Detach, input.should_decrement_desired_capacity)).map(|a| DetachInstancesAnswer { activities: Some(a) })
    }
    async fn enter_standby(&self, ctx: &RequestContext, input: EnterStandbyQuery) -> Out<EnterStandbyAnswer> {
        aws(self.move_instances(&ctx.scope, &input.auto_scaling_group_name, input.instance_ids.unwrap_or_default(), groups::Move::EnterStandby, input.should_decrement_desired_capacity)).map(|a| EnterStandbyAnswer { activities: Some(a) })
    }
    async fn exit_standby(&self, ctx: &RequestContext, input: ExitStandbyQuery) -> Out<ExitStandbyAnswer> {
        aws(self.move_instances(&ctx.scope, &input.auto_scaling_group_name, input.instance_ids.unwrap_or_default(), groups::Move::ExitStandby, false)).map(|a| ExitStandbyAnswer { activities: Some(a) })
    }
    async fn describe_auto_scaling_notification_types(&self, _: &RequestContext, _: ()) -> Out<DescribeAutoScalingNotificationTypesAnswer> {
        Ok(DescribeAutoScalingNotificationTypesAnswer { auto_scaling_notification_types: Some(events::NOTIFICATION_TYPES.iter().map(|t| t.to_string()).collect()) })
    }
}
