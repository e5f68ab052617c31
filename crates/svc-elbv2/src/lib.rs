//! Elastic Load Balancing v2: application and network load balancers that really carry
//! traffic.
//!
//! The control plane keeps load balancers, target groups (with their targets), listeners
//! and rules in the store ([`records`]); [`load_balancers`], [`target_groups`] and
//! [`listeners`] own their operations. The data plane ([`dataplane`]) is a controller that
//! binds every listener on its load balancer's loopback address and proxies to targets
//! whose health it really checks on nubo's clock. EC2 (subnets, security groups,
//! instances and the way into them) is reached through the [`Network`] seam the
//! composition root wires.

mod attributes;
pub mod conditions;
pub mod dataplane;
mod error;
mod listeners;
mod load_balancers;
pub mod records;
mod target_groups;

use error::{ElbError, Result};
use nubo_core::{AwsError, Clock, RequestContext, Scope};
use nubo_model::generated::elbv2::{self, *};
use nubo_model::Handler;
use nubo_store::Store;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

/// A subnet as a load balancer needs it.
#[derive(Debug, Clone)]
pub struct SubnetInfo {
    pub vpc_id: String,
    pub availability_zone: String,
}

/// An instance as a target group needs it.
#[derive(Debug, Clone)]
pub struct InstanceInfo {
    pub vpc_id: String,
    pub private_ip: String,
    pub availability_zone: String,
    pub running: bool,
    /// Its machine died (health checks cannot pass).
    pub machine_down: bool,
}

pub type Connecting<'a> = Pin<Box<dyn Future<Output = std::io::Result<tokio::net::TcpStream>> + Send + 'a>>;

/// What Elastic Load Balancing asks of EC2.
pub trait Network: Send + Sync + 'static {
    fn subnet(&self, scope: &Scope, id: &str) -> Option<SubnetInfo>;
    /// The VPC of a security group, if it exists.
    fn security_group_vpc(&self, scope: &Scope, id: &str) -> Option<String>;
    fn default_security_group(&self, scope: &Scope, vpc_id: &str) -> Option<String>;
    fn instance(&self, scope: &Scope, id: &str) -> Option<InstanceInfo>;
    /// Whether `groups` let TCP `port` in from an IPv4 range (the host plays the internet).
    fn allows(&self, scope: &Scope, groups: &[String], port: u16) -> bool;
    /// A connection into an instance's network (its sandbox).
    fn connect<'a>(&'a self, instance_id: &'a str, addr: SocketAddr) -> Connecting<'a>;
    /// A UDP socket in an instance's network (non-blocking).
    fn udp(&self, instance_id: &str) -> std::io::Result<std::net::UdpSocket>;
}

/// Where HTTPS listeners get their certificates: ACM, wired by the composition root.
pub trait Certificates: Send + Sync + 'static {
    /// (certificate chain PEM, private key PEM, DNS names) of a certificate ARN.
    fn certificate(&self, arn: &str) -> Option<(String, String, Vec<String>)>;
}

pub type Delivering = Pin<Box<dyn Future<Output = std::result::Result<(), String>> + Send>>;

/// Where access logs go: S3, wired by the composition root.
pub trait LogBuckets: Send + Sync + 'static {
    fn exists(&self, bucket: &str) -> bool;
    fn put(&self, bucket: &str, key: &str, body: Vec<u8>, content_type: &str) -> Delivering;
}

pub type Invoking = Pin<Box<dyn Future<Output = std::result::Result<(bytes::Bytes, Option<String>), String>> + Send>>;

/// Lambda, for `lambda` targets: wired by the composition root.
pub trait Functions: Send + Sync + 'static {
    fn exists(&self, function_arn: &str) -> bool;
    /// Whether the function's policy lets Elastic Load Balancing invoke it for the group.
    fn allows(&self, function_arn: &str, target_group_arn: &str) -> bool;
    /// A synchronous invocation: (payload, function error).
    fn invoke(&self, function_arn: &str, event: Vec<u8>) -> Invoking;
}

/// No EC2: load balancers can only have `ip` targets on loopback (unit tests).
pub struct NoNetwork;

impl Network for NoNetwork {
    fn subnet(&self, _: &Scope, _: &str) -> Option<SubnetInfo> {
        None
    }
    fn security_group_vpc(&self, _: &Scope, _: &str) -> Option<String> {
        None
    }
    fn default_security_group(&self, _: &Scope, _: &str) -> Option<String> {
        None
    }
    fn instance(&self, _: &Scope, _: &str) -> Option<InstanceInfo> {
        None
    }
    fn allows(&self, _: &Scope, _: &[String], _: u16) -> bool {
        true
    }
    fn connect<'a>(&'a self, _: &'a str, _: SocketAddr) -> Connecting<'a> {
        Box::pin(async { Err(std::io::Error::other("no EC2")) })
    }
    fn udp(&self, _: &str) -> std::io::Result<std::net::UdpSocket> {
        Err(std::io::Error::other("no EC2"))
    }
}

#[derive(Clone)]
pub struct Elbv2 {
    store: Store,
    clock: Clock,
    network: Arc<dyn Network>,
    plane: Arc<dataplane::Plane>,
    buckets: Arc<std::sync::OnceLock<Arc<dyn LogBuckets>>>,
}

impl Elbv2 {
    pub fn new(store: Store, clock: Clock, network: Arc<dyn Network>) -> Elbv2 {
        let plane = dataplane::Plane::new(store.clone(), clock.clone(), network.clone());
        Elbv2 { store, clock, network, plane, buckets: Default::default() }
    }

    /// HTTPS listeners' certificates come from `certificates` (ACM).
    pub fn set_certificates(&self, certificates: Arc<dyn Certificates>) {
        let _ = self.plane.certificates.set(certificates);
    }

    /// `lambda` targets are invoked through `functions`.
    pub fn set_functions(&self, functions: Arc<dyn Functions>) {
        let _ = self.plane.functions.set(functions);
    }

    /// Access logs go to S3 through `buckets`.
    pub fn set_log_buckets(&self, buckets: Arc<dyn LogBuckets>) {
        let _ = self.buckets.set(buckets);
    }

    /// Delivers the access logs of the interval that ended at `end`.
    pub async fn deliver_access_logs(&self, end: nubo_core::Timestamp) {
        let Some(buckets) = self.buckets.get() else { return };
        for d in self.plane.take_access_logs(end) {
            if let Err(e) = buckets.put(&d.bucket, &d.key, d.body, "application/x-gzip").await {
                tracing::warn!("access log s3://{}/{} not delivered: {e}", d.bucket, d.key);
            }
        }
    }

    /// The listeners that use a certificate (ACM refuses to delete it meanwhile).
    pub fn listeners_using(&self, certificate_arn: &str) -> Vec<String> {
        self.plane.view().listeners.values().filter(|l| l.certificates.iter().any(|c| c == certificate_arn)).map(|l| l.load_balancer_arn.clone()).collect()
    }

    /// Starts the data plane's controllers (inside tokio).
    pub fn start(&self) {
        self.plane.clone().start();
    }

    /// nubo's DNS asks: a load balancer's address by its DNS name. `None`: not a load
    /// balancer name; `Some(None)`: no load balancer has it.
    pub fn resolve_name(&self, name: &str) -> Option<Option<std::net::Ipv4Addr>> {
        let (_, region_zone) = name.split_once('.')?;
        // `<name>-<id>.<region>.elb.localhost` (ALB) or `<name>-<id>.elb.<region>.localhost` (NLB).
        let ours = region_zone.ends_with(".elb.localhost") || region_zone.starts_with("elb.") && region_zone.ends_with(".localhost");
        if !ours {
            return None;
        }
        let view = self.plane.view();
        Some(view.by_name.get(name).and_then(|arn| view.load_balancers.get(arn)).and_then(|(_, lb)| lb.address.parse().ok()))
    }

    /// The data plane, for the main port's routing by Host.
    pub fn plane(&self) -> &Arc<dataplane::Plane> {
        &self.plane
    }

    /// One write transaction; the data plane sees it before the call is answered, so a
    /// request right after `RegisterTargets` or `CreateListener` finds it in place.
    fn write<T>(&self, f: impl FnOnce(&mut dyn nubo_store::WriteTxn) -> Result<T>) -> Result<T> {
        let out = self.store.write(f);
        self.plane.refresh();
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

pub fn service(elb: Elbv2) -> Box<dyn Handler> {
    Box::new(elbv2::Service(elb))
}

type Out<T> = std::result::Result<T, AwsError>;

fn aws<T>(r: Result<T>) -> Out<T> {
    r.map_err(AwsError::from)
}

impl elbv2::ElasticLoadBalancingV2 for Elbv2 {
    fn http<'a>(&'a self, req: &'a nubo_model::handler::HttpRequest<'a>) -> Option<nubo_model::handler::HttpFuture<'a>> {
        self.plane.main_port(req)
    }
    async fn create_load_balancer(&self, ctx: &RequestContext, input: CreateLoadBalancerInput) -> Out<CreateLoadBalancerOutput> {
        aws(self.create_load_balancer_op(&ctx.scope, input))
    }
    async fn describe_load_balancers(&self, ctx: &RequestContext, input: DescribeLoadBalancersInput) -> Out<DescribeLoadBalancersOutput> {
        aws(self.describe_load_balancers_op(&ctx.scope, input))
    }
    async fn delete_load_balancer(&self, ctx: &RequestContext, input: DeleteLoadBalancerInput) -> Out<DeleteLoadBalancerOutput> {
        aws(self.delete_load_balancer_op(&ctx.scope, &input.load_balancer_arn)).map(|_| DeleteLoadBalancerOutput {})
    }
    async fn describe_load_balancer_attributes(&self, ctx: &RequestContext, input: DescribeLoadBalancerAttributesInput) -> Out<DescribeLoadBalancerAttributesOutput> {
        let lb = aws(self.load_balancer(&ctx.scope, &input.load_balancer_arn))?;
        Ok(DescribeLoadBalancerAttributesOutput { attributes: Some(lb.attributes.iter().map(|(k, v)| LoadBalancerAttribute { key: Some(k.clone()), value: Some(v.clone()) }).collect()) })
    }
    async fn modify_load_balancer_attributes(&self, ctx: &RequestContext, input: ModifyLoadBalancerAttributesInput) -> Out<ModifyLoadBalancerAttributesOutput> {
        aws(self.modify_load_balancer_attributes_op(&ctx.scope, input))
    }
    async fn set_security_groups(&self, ctx: &RequestContext, input: SetSecurityGroupsInput) -> Out<SetSecurityGroupsOutput> {
        aws(self.set_security_groups_op(&ctx.scope, input))
    }
    async fn set_subnets(&self, ctx: &RequestContext, input: SetSubnetsInput) -> Out<SetSubnetsOutput> {
        aws(self.set_subnets_op(&ctx.scope, input))
    }
    async fn set_ip_address_type(&self, ctx: &RequestContext, input: SetIpAddressTypeInput) -> Out<SetIpAddressTypeOutput> {
        aws(self.set_ip_address_type_op(&ctx.scope, input))
    }
    async fn create_target_group(&self, ctx: &RequestContext, input: CreateTargetGroupInput) -> Out<CreateTargetGroupOutput> {
        aws(self.create_target_group_op(&ctx.scope, input))
    }
    async fn describe_target_groups(&self, ctx: &RequestContext, input: DescribeTargetGroupsInput) -> Out<DescribeTargetGroupsOutput> {
        aws(self.describe_target_groups_op(&ctx.scope, input))
    }
    async fn modify_target_group(&self, ctx: &RequestContext, input: ModifyTargetGroupInput) -> Out<ModifyTargetGroupOutput> {
        aws(self.modify_target_group_op(&ctx.scope, input))
    }
    async fn delete_target_group(&self, ctx: &RequestContext, input: DeleteTargetGroupInput) -> Out<DeleteTargetGroupOutput> {
        aws(self.delete_target_group_op(&ctx.scope, &input.target_group_arn)).map(|_| DeleteTargetGroupOutput {})
    }
    async fn describe_target_group_attributes(&self, ctx: &RequestContext, input: DescribeTargetGroupAttributesInput) -> Out<DescribeTargetGroupAttributesOutput> {
        let tg = aws(self.target_group(&ctx.scope, &input.target_group_arn))?;
        Ok(DescribeTargetGroupAttributesOutput { attributes: Some(tg.attributes.iter().map(|(k, v)| TargetGroupAttribute { key: Some(k.clone()), value: Some(v.clone()) }).collect()) })
    }
    async fn modify_target_group_attributes(&self, ctx: &RequestContext, input: ModifyTargetGroupAttributesInput) -> Out<ModifyTargetGroupAttributesOutput> {
        aws(self.modify_target_group_attributes_op(&ctx.scope, input))
    }
    async fn register_targets(&self, ctx: &RequestContext, input: RegisterTargetsInput) -> Out<RegisterTargetsOutput> {
        aws(self.register_targets_op(&ctx.scope, input)).map(|_| RegisterTargetsOutput {})
    }
    async fn deregister_targets(&self, ctx: &RequestContext, input: DeregisterTargetsInput) -> Out<DeregisterTargetsOutput> {
        aws(self.deregister_targets_op(&ctx.scope, input)).map(|_| DeregisterTargetsOutput {})
    }
    async fn describe_target_health(&self, ctx: &RequestContext, input: DescribeTargetHealthInput) -> Out<DescribeTargetHealthOutput> {
        aws(self.describe_target_health_op(&ctx.scope, input))
    }
    async fn create_listener(&self, ctx: &RequestContext, input: CreateListenerInput) -> Out<CreateListenerOutput> {
        aws(self.create_listener_op(&ctx.scope, input))
    }
    async fn describe_listeners(&self, ctx: &RequestContext, input: DescribeListenersInput) -> Out<DescribeListenersOutput> {
        aws(self.describe_listeners_op(&ctx.scope, input))
    }
    async fn modify_listener(&self, ctx: &RequestContext, input: ModifyListenerInput) -> Out<ModifyListenerOutput> {
        aws(self.modify_listener_op(&ctx.scope, input))
    }
    async fn delete_listener(&self, ctx: &RequestContext, input: DeleteListenerInput) -> Out<DeleteListenerOutput> {
        aws(self.delete_listener_op(&ctx.scope, &input.listener_arn)).map(|_| DeleteListenerOutput {})
    }
    async fn describe_listener_attributes(&self, ctx: &RequestContext, input: DescribeListenerAttributesInput) -> Out<DescribeListenerAttributesOutput> {
        let l = aws(self.listener(&ctx.scope, &input.listener_arn))?;
        Ok(DescribeListenerAttributesOutput { attributes: Some(l.attributes.iter().map(|(k, v)| ListenerAttribute { key: Some(k.clone()), value: Some(v.clone()) }).collect()) })
    }
    async fn modify_listener_attributes(&self, ctx: &RequestContext, input: ModifyListenerAttributesInput) -> Out<ModifyListenerAttributesOutput> {
        aws(self.modify_listener_attributes_op(&ctx.scope, input))
    }
    async fn create_rule(&self, ctx: &RequestContext, input: CreateRuleInput) -> Out<CreateRuleOutput> {
        aws(self.create_rule_op(&ctx.scope, input))
    }
    async fn describe_rules(&self, ctx: &RequestContext, input: DescribeRulesInput) -> Out<DescribeRulesOutput> {
        aws(self.describe_rules_op(&ctx.scope, input))
    }
    async fn modify_rule(&self, ctx: &RequestContext, input: ModifyRuleInput) -> Out<ModifyRuleOutput> {
        aws(self.modify_rule_op(&ctx.scope, input))
    }
    async fn delete_rule(&self, ctx: &RequestContext, input: DeleteRuleInput) -> Out<DeleteRuleOutput> {
        aws(self.delete_rule_op(&ctx.scope, &input.rule_arn)).map(|_| DeleteRuleOutput {})
    }
    async fn set_rule_priorities(&self, ctx: &RequestContext, input: SetRulePrioritiesInput) -> Out<SetRulePrioritiesOutput> {
        aws(self.set_rule_priorities_op(&ctx.scope, input))
    }
    async fn add_tags(&self, ctx: &RequestContext, input: AddTagsInput) -> Out<AddTagsOutput> {
        let tags: Vec<(String, String)> = input.tags.into_iter().map(|t| (t.key, t.value.unwrap_or_default())).collect();
        aws(self.change_tags(&ctx.scope, &input.resource_arns, |existing| {
            for (k, v) in &tags {
                existing.retain(|(ek, _)| ek != k);
                existing.push((k.clone(), v.clone()));
            }
            if existing.len() > 50 {
                return Err(ElbError::Validation("The maximum number of tags is 50".into()));
            }
            Ok(())
        }))
        .map(|_| AddTagsOutput {})
    }
    async fn remove_tags(&self, ctx: &RequestContext, input: RemoveTagsInput) -> Out<RemoveTagsOutput> {
        aws(self.change_tags(&ctx.scope, &input.resource_arns, |existing| {
            existing.retain(|(k, _)| !input.tag_keys.contains(k));
            Ok(())
        }))
        .map(|_| RemoveTagsOutput {})
    }
    async fn describe_tags(&self, ctx: &RequestContext, input: DescribeTagsInput) -> Out<DescribeTagsOutput> {
        let mut out = Vec::new();
        for arn in &input.resource_arns {
            let tags = aws(self.tags_of(&ctx.scope, arn))?;
            out.push(TagDescription { resource_arn: Some(arn.clone()), tags: Some(tags.into_iter().map(|(k, v)| Tag { key: k, value: Some(v) }).collect()) });
        }
        Ok(DescribeTagsOutput { tag_descriptions: Some(out) })
    }
    async fn describe_ssl_policies(&self, _: &RequestContext, input: DescribeSSLPoliciesInput) -> Out<DescribeSSLPoliciesOutput> {
        aws(attributes::ssl_policies(input.names.as_deref()))
    }
    async fn describe_account_limits(&self, _: &RequestContext, _: DescribeAccountLimitsInput) -> Out<DescribeAccountLimitsOutput> {
        Ok(DescribeAccountLimitsOutput { limits: Some(attributes::limits()), next_marker: None })
    }
    async fn describe_capacity_reservation(&self, ctx: &RequestContext, input: DescribeCapacityReservationInput) -> Out<DescribeCapacityReservationOutput> {
        let lb = aws(self.load_balancer(&ctx.scope, &input.load_balancer_arn))?;
        // No capacity is reserved: the zones answer as AWS does for a load balancer without a reservation.
        let _ = lb;
        Ok(DescribeCapacityReservationOutput { capacity_reservation_state: Some(Vec::new()), ..Default::default() })
    }
    async fn describe_listener_certificates(&self, ctx: &RequestContext, input: DescribeListenerCertificatesInput) -> Out<DescribeListenerCertificatesOutput> {
        let l = aws(self.listener(&ctx.scope, &input.listener_arn))?;
        let certificates = l.certificates.iter().enumerate().map(|(i, c)| Certificate { certificate_arn: Some(c.clone()), is_default: Some(i == 0) }).collect();
        Ok(DescribeListenerCertificatesOutput { certificates: Some(certificates), next_marker: None })
    }
}

/// What Auto Scaling asks of load balancing: its instances in and out of target groups,
/// and their health there.
impl Elbv2 {
    pub fn target_group_exists(&self, scope: &Scope, arn: &str) -> bool {
        self.target_group(scope, arn).is_ok()
    }

    pub fn register_instance(&self, scope: &Scope, tg: &str, instance_id: &str) -> std::result::Result<(), String> {
        let input = RegisterTargetsInput { target_group_arn: tg.to_string(), targets: vec![TargetDescription { id: instance_id.to_string(), ..Default::default() }] };
        self.register_targets_op(scope, input).map_err(|e| AwsError::from(e).message)
    }

    pub fn deregister_instance(&self, scope: &Scope, tg: &str, instance_id: &str) {
        let input = DeregisterTargetsInput { target_group_arn: tg.to_string(), targets: vec![TargetDescription { id: instance_id.to_string(), ..Default::default() }] };
        let _ = self.deregister_targets_op(scope, input);
    }

    /// The state DescribeTargetHealth shows for an instance in a group (`healthy`, ...).
    pub fn instance_health(&self, scope: &Scope, tg: &str, instance_id: &str) -> Option<String> {
        let out = self.describe_target_health_op(scope, DescribeTargetHealthInput { target_group_arn: tg.to_string(), targets: None, include: None }).ok()?;
        out.target_health_descriptions?.into_iter().find(|d| d.target.as_ref().is_some_and(|t| t.id == instance_id)).and_then(|d| d.target_health?.state)
    }
}
