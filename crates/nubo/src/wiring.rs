//! How services reach each other: each seam is a narrow trait of the sending service,
//! implemented here with the receiving service's public interface. No service depends on
//! another.

use nubo_cloudwatch::alarms::AlarmActions;
use nubo_s3::events::{Destination, EventSink};
use nubo_sns::{Delivery, QueueMessage};
use nubo_sqs::{Delivered, Sqs};

/// Lambda, for the services that invoke functions. It is made after them (it logs to
/// CloudWatch Logs, which reports to CloudWatch, which notifies through SNS), so they
/// hold a slot the composition root fills once Lambda exists.
pub type FunctionSlot = std::sync::Arc<std::sync::OnceLock<nubo_lambda::Lambda>>;

fn invoke(slot: &FunctionSlot, arn: &str, event: String) -> Result<(), String> {
    slot.get().ok_or_else(|| "Lambda is not running".to_string())?.invoke_event(arn, event)
}

/// S3 event notifications, delivered into SQS queues and to Lambda functions (SNS topics
/// when S3 learns to publish).
pub struct S3Events {
    pub sqs: Sqs,
    pub lambda: FunctionSlot,
}

impl EventSink for S3Events {
    fn deliver(&self, destination: Destination, message: String) {
        match destination {
            Destination::Queue(arn) => {
                if let Err(e) = self.sqs.deliver(&arn, Delivered { body: message, ..Default::default() }, "AIDAS3EVENTS") {
                    tracing::warn!("S3 event notification to {arn} not delivered: {e}");
                }
            }
            Destination::Function(arn) => {
                if let Err(e) = invoke(&self.lambda, &arn, message) {
                    tracing::warn!("S3 event notification to {arn} not delivered: {e}");
                }
            }
            other => tracing::debug!(?other, "S3 event notification: no delivery to this destination yet"),
        }
    }
}

/// SNS subscriptions of queues and functions.
pub struct SnsDelivery {
    pub sqs: Sqs,
    pub lambda: FunctionSlot,
}

impl Delivery for SnsDelivery {
    fn to_queue(&self, queue_arn: &str, m: QueueMessage) -> Result<(), String> {
        let delivered = Delivered { body: m.body, attributes: m.attributes, group_id: m.group_id, deduplication_id: m.deduplication_id };
        self.sqs.deliver(queue_arn, delivered, "AIDASNSDELIVERY").map(|_| ()).map_err(|e| e.to_string())
    }

    fn to_function(&self, function_arn: &str, event: String) -> Result<(), String> {
        invoke(&self.lambda, function_arn, event)
    }
}

/// CloudWatch alarm notifications, published to SNS topics.
pub struct AlarmNotifications {
    pub autoscaling: ScalingSlot,
    pub sns: nubo_sns::Sns,
    pub ec2: nubo_ec2::Ec2,
}

impl AlarmActions for AlarmNotifications {
    fn scaling_policy<'a>(&'a self, policy_arn: &'a str, alarm_name: &'a str, value: Option<f64>, threshold: f64) -> nubo_cloudwatch::alarms::ActionFuture<'a> {
        Box::pin(async move {
            let scaling = self.autoscaling.get().ok_or_else(|| nubo_cloudwatch::alarms::ActionError("Auto Scaling is not running".into()))?;
            scaling.alarm_fired(policy_arn, alarm_name, value, threshold).map_err(nubo_cloudwatch::alarms::ActionError)
        })
    }

    fn publish<'a>(&'a self, topic_arn: &'a str, subject: &'a str, message: &'a str) -> nubo_cloudwatch::alarms::ActionFuture<'a> {
        Box::pin(async move { self.sns.notify(topic_arn, subject, message).await.map(|_| ()).map_err(nubo_cloudwatch::alarms::ActionError) })
    }

    fn ec2<'a>(&'a self, scope: &'a nubo_core::Scope, instance_id: &'a str, action: &'a str) -> nubo_cloudwatch::alarms::ActionFuture<'a> {
        Box::pin(async move { self.ec2.alarm_action(scope, instance_id, action).map_err(nubo_cloudwatch::alarms::ActionError) })
    }
}

/// Publishes the `AWS/SQS` queue-depth metrics each minute of the clock, as SQS does, so
/// that alarms (and Auto Scaling) can watch queues. It bridges two services, so it lives
/// in the composition root.
/// The start of the next minute of nubo's clock, when the per-minute figures are taken.
fn next_minute(clock: &nubo_core::Clock) -> nubo_core::Timestamp {
    let now = clock.now().as_millis();
    nubo_core::Timestamp::from_millis(now - now.rem_euclid(60_000) + 60_000)
}

pub async fn queue_metrics(sqs: Sqs, cloudwatch: nubo_cloudwatch::CloudWatch, clock: nubo_core::Clock) {
    use nubo_model::generated::cloudwatch::{Dimension, MetricDatum};
    loop {
        let next = next_minute(&clock);
        clock.sleep_until(next).await;
        // Stamped with the minute it is for, however late the task runs.
        let at = next;
        for d in sqs.depths() {
            let datum = |name: &str, value: usize| MetricDatum {
                metric_name: name.to_string(),
                dimensions: Some(vec![Dimension { name: "QueueName".into(), value: d.name.clone() }]),
                timestamp: Some(at),
                value: Some(value as f64),
                unit: Some("Count".into()),
                ..Default::default()
            };
            let a = &d.activity;
            let data = vec![
                datum("ApproximateNumberOfMessagesVisible", d.visible),
                datum("ApproximateNumberOfMessagesNotVisible", d.in_flight),
                datum("ApproximateNumberOfMessagesDelayed", d.delayed),
                datum("NumberOfMessagesSent", a.sent as usize),
                datum("NumberOfMessagesReceived", a.received as usize),
                datum("NumberOfMessagesDeleted", a.deleted as usize),
                datum("NumberOfEmptyReceives", a.empty_receives as usize),
                MetricDatum { unit: Some("Bytes".into()), ..datum("SentMessageSize", if a.sent == 0 { 0 } else { (a.sent_bytes / a.sent) as usize }) },
            ];
            let scope = nubo_core::Scope::new(d.account.clone(), d.region.clone());
            if let Err(e) = cloudwatch.publish_service_metrics(&scope, "AWS/SQS", data) {
                tracing::warn!("AWS/SQS metrics of {} not recorded: {e:?}", d.name);
            }
        }
    }
}

/// Metric filters of CloudWatch Logs publish into CloudWatch.
pub struct LogMetrics {
    pub cloudwatch: nubo_cloudwatch::CloudWatch,
}

impl nubo_logs::MetricSink for LogMetrics {
    fn publish(&self, scope: &nubo_core::Scope, points: Vec<nubo_logs::MetricPoint>) {
        use nubo_model::generated::cloudwatch::{Dimension, MetricDatum};
        let mut by_namespace: std::collections::BTreeMap<String, Vec<MetricDatum>> = Default::default();
        for p in points {
            by_namespace.entry(p.namespace).or_default().push(MetricDatum {
                metric_name: p.name,
                dimensions: (!p.dimensions.is_empty()).then(|| p.dimensions.into_iter().map(|(name, value)| Dimension { name, value }).collect()),
                timestamp: Some(nubo_core::Timestamp::from_millis(p.timestamp)),
                value: Some(p.value),
                unit: p.unit,
                ..Default::default()
            });
        }
        for (namespace, data) in by_namespace {
            // PutMetricData takes 1000 data per call.
            for chunk in data.chunks(1000) {
                if let Err(e) = self.cloudwatch.publish_service_metrics(scope, &namespace, chunk.to_vec()) {
                    tracing::warn!("metric filter data for {namespace} not recorded: {e:?}");
                }
            }
        }
    }
}

/// Lambda functions' output goes to CloudWatch Logs (`/aws/lambda/<name>`).
pub struct FunctionLogs {
    pub logs: nubo_logs::Logs,
}

impl nubo_lambda::LogSink for FunctionLogs {
    fn put(&self, scope: &nubo_core::Scope, group: &str, stream: &str, events: Vec<(i64, String)>) {
        if let Err(e) = self.logs.append(scope, group, stream, events) {
            tracing::warn!("function log for {group} not recorded: {e:?}");
        }
    }
}

/// Lambda's event source mappings read SQS queues.
pub struct MappedQueues {
    pub sqs: Sqs,
}

impl nubo_lambda::QueueSource for MappedQueues {
    fn receive<'a>(&'a self, queue_arn: &'a str, max: i32, wait_secs: i32) -> nubo_lambda::mappings::PollFuture<'a> {
        Box::pin(async move {
            let messages = self.sqs.poll(queue_arn, max, wait_secs).await.map_err(|e| e.to_string())?;
            Ok(messages
                .into_iter()
                .map(|m| nubo_lambda::QueueMessage {
                    message_id: m.message_id.unwrap_or_default(),
                    receipt_handle: m.receipt_handle.unwrap_or_default(),
                    body: m.body.unwrap_or_default(),
                    md5_of_body: m.md5_of_body.unwrap_or_default(),
                    attributes: m.attributes.unwrap_or_default(),
                    message_attributes: serde_json::Value::Object(
                        m.message_attributes
                            .unwrap_or_default()
                            .into_iter()
                            .map(|(k, v)| (k, serde_json::json!({"stringValue": v.string_value, "dataType": v.data_type, "stringListValues": [], "binaryListValues": []})))
                            .collect(),
                    ),
                })
                .collect())
        })
    }

    fn delete(&self, queue_arn: &str, receipt_handle: &str) -> Result<(), String> {
        self.sqs.delete_polled(queue_arn, receipt_handle).map_err(|e| e.to_string())
    }
}

/// Lambda's event source mappings read DynamoDB streams.
pub struct MappedStreams {
    pub dynamodb: nubo_dynamodb::DynamoDb,
}

impl nubo_lambda::StreamSource for MappedStreams {
    fn records(&self, stream_arn: &str, after: u64, limit: usize) -> Result<Vec<(u64, serde_json::Value)>, String> {
        self.dynamodb.stream_records(stream_arn, after, limit)
    }

    fn latest(&self, stream_arn: &str) -> Result<u64, String> {
        self.dynamodb.stream_latest(stream_arn)
    }

    fn activity(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.dynamodb.stream_activity()
    }
}

/// Instance profiles' role credentials for the metadata service, from STS.
pub struct InstanceRoles {
    pub iam: nubo_iam::Iam,
}

impl nubo_ec2::runtime::InstanceCredentials for InstanceRoles {
    fn credentials(&self, account: &str, profile: &str, session: &str) -> Option<nubo_ec2::runtime::RoleCredentials> {
        match self.iam.instance_profile_credentials(account, profile, session) {
            Ok(c) => Some(nubo_ec2::runtime::RoleCredentials {
                role_name: c.role_name,
                profile_arn: c.profile_arn,
                profile_id: c.profile_id,
                access_key_id: c.credentials.access_key_id,
                secret_access_key: c.credentials.secret_access_key,
                session_token: c.credentials.session_token,
                issued: c.credentials.expiration.add_millis(-6 * 3600 * 1000),
                expiration: c.credentials.expiration,
            }),
            Err(e) => {
                tracing::warn!("no credentials for instance profile {profile}: {e}");
                None
            }
        }
    }
}

/// AWS/EC2 metrics of running instances, each minute of nubo's clock: CPUUtilization
/// (the machine's CPU time over the minute, as a share of its vCPUs) and the status checks.
pub async fn instance_metrics(ec2: nubo_ec2::Ec2, cloudwatch: nubo_cloudwatch::CloudWatch, clock: nubo_core::Clock) {
    use nubo_model::generated::cloudwatch::{Dimension, MetricDatum};
    loop {
        let next = next_minute(&clock);
        clock.sleep_until(next).await;
        for s in ec2.instance_samples() {
            let datum = |name: &str, value: f64, unit: &str| MetricDatum {
                metric_name: name.to_string(),
                dimensions: Some(vec![Dimension { name: "InstanceId".into(), value: s.instance_id.clone() }]),
                timestamp: Some(next),
                value: Some(value),
                unit: Some(unit.into()),
                ..Default::default()
            };
            let failed = if s.status_check_failed { 1.0 } else { 0.0 };
            let mut data = vec![datum("StatusCheckFailed", failed, "Count"), datum("StatusCheckFailed_Instance", failed, "Count"), datum("StatusCheckFailed_System", 0.0, "Count")];
            if let Some(cpu) = s.cpu_percent {
                data.push(datum("CPUUtilization", cpu, "Percent"));
                // Group members report for their group too: target tracking averages it.
                if let Some(group) = &s.group {
                    data.push(MetricDatum { dimensions: Some(vec![Dimension { name: "AutoScalingGroupName".into(), value: group.clone() }]), ..datum("CPUUtilization", cpu, "Percent") });
                }
            }
            if let Err(e) = cloudwatch.publish_service_metrics(&s.scope, "AWS/EC2", data) {
                tracing::warn!("AWS/EC2 metrics of {} not recorded: {e:?}", s.instance_id);
            }
        }
    }
}

/// EC2 as Elastic Load Balancing sees it: subnets, security groups, instances, and the
/// way into an instance's sandbox.
pub struct ElbNetwork {
    pub ec2: nubo_ec2::Ec2,
}

impl nubo_elbv2::Network for ElbNetwork {
    fn subnet(&self, scope: &nubo_core::Scope, id: &str) -> Option<nubo_elbv2::SubnetInfo> {
        self.ec2.subnet_facts(scope, id).map(|(vpc_id, availability_zone)| nubo_elbv2::SubnetInfo { vpc_id, availability_zone })
    }
    fn security_group_vpc(&self, scope: &nubo_core::Scope, id: &str) -> Option<String> {
        self.ec2.security_group_vpc(scope, id)
    }
    fn default_security_group(&self, scope: &nubo_core::Scope, vpc_id: &str) -> Option<String> {
        self.ec2.default_security_group(scope, vpc_id)
    }
    fn instance(&self, scope: &nubo_core::Scope, id: &str) -> Option<nubo_elbv2::InstanceInfo> {
        self.ec2.instance_facts(scope, id).map(|i| nubo_elbv2::InstanceInfo { vpc_id: i.vpc_id, private_ip: i.private_ip, availability_zone: i.availability_zone, running: i.running, machine_down: i.impaired })
    }
    fn allows(&self, scope: &nubo_core::Scope, groups: &[String], port: u16) -> bool {
        self.ec2.ingress_allows(scope, groups, port)
    }
    fn connect<'a>(&'a self, instance_id: &'a str, addr: std::net::SocketAddr) -> nubo_elbv2::Connecting<'a> {
        Box::pin(async move {
            match self.ec2.runtime() {
                Some(runtime) => runtime.connect(instance_id, addr).await,
                None => Err(std::io::Error::other("instances do not run here")),
            }
        })
    }
    fn udp(&self, instance_id: &str) -> std::io::Result<std::net::UdpSocket> {
        match self.ec2.runtime() {
            Some(runtime) => runtime.udp(instance_id),
            None => Err(std::io::Error::other("instances do not run here")),
        }
    }
}

/// AWS/ApplicationELB and AWS/NetworkELB, each minute of nubo's clock.
pub async fn load_balancer_metrics(elb: nubo_elbv2::Elbv2, cloudwatch: nubo_cloudwatch::CloudWatch, clock: nubo_core::Clock) {
    use nubo_model::generated::cloudwatch::{Dimension, MetricDatum};
    loop {
        let next = next_minute(&clock);
        clock.sleep_until(next).await;
        let mut batches: std::collections::HashMap<(nubo_core::Scope, &'static str), Vec<MetricDatum>> = Default::default();
        for d in elb.plane().take_metrics() {
            batches.entry((d.scope.clone(), d.namespace)).or_default().push(MetricDatum {
                metric_name: d.name.to_string(),
                dimensions: Some(d.dimensions.into_iter().map(|(name, value)| Dimension { name, value }).collect()),
                timestamp: Some(next),
                value: Some(d.value),
                unit: Some(d.unit.into()),
                ..Default::default()
            });
        }
        for ((scope, namespace), data) in batches {
            if let Err(e) = cloudwatch.publish_service_metrics(&scope, namespace, data) {
                tracing::warn!("{namespace} metrics not recorded: {e:?}");
            }
        }
    }
}

/// Auto Scaling, for CloudWatch's alarm actions: made after CloudWatch (it owns alarms),
/// so CloudWatch holds a slot the composition root fills.
pub type ScalingSlot = std::sync::Arc<std::sync::OnceLock<nubo_autoscaling::AutoScaling>>;

/// EC2 as Auto Scaling sees it.
pub struct ScalingFleet {
    pub ec2: nubo_ec2::Ec2,
}

impl nubo_autoscaling::Fleet for ScalingFleet {
    fn launch(&self, scope: &nubo_core::Scope, source: nubo_autoscaling::LaunchSource<'_>, subnet: Option<&str>, tags: Vec<(String, String)>) -> Result<(String, String), String> {
        match source {
            nubo_autoscaling::LaunchSource::Template(t) => self.ec2.launch_from_template(scope, (t.id.clone(), t.name.clone(), t.version.clone()), subnet.map(str::to_string), tags),
            nubo_autoscaling::LaunchSource::Configuration(c) => self.ec2.launch_from_configuration(
                scope,
                &c.image_id,
                &c.instance_type,
                c.key_name.clone(),
                c.security_groups.clone(),
                c.user_data.clone(),
                c.iam_instance_profile.clone(),
                subnet.map(str::to_string),
                tags,
            ),
        }
    }
    fn terminate(&self, scope: &nubo_core::Scope, id: &str) -> Result<(), String> {
        self.ec2.terminate_for(scope, id)
    }
    fn instance(&self, scope: &nubo_core::Scope, id: &str) -> Option<nubo_autoscaling::InstanceState> {
        self.ec2.instance_facts(scope, id).map(|f| nubo_autoscaling::InstanceState { state: f.state, impaired: f.impaired, availability_zone: f.availability_zone, instance_type: f.instance_type })
    }
    fn subnet(&self, scope: &nubo_core::Scope, id: &str) -> Option<(String, String)> {
        self.ec2.subnet_facts(scope, id)
    }
}

/// Elastic Load Balancing as Auto Scaling sees it.
pub struct ScalingBalancers {
    pub elb: nubo_elbv2::Elbv2,
}

impl nubo_autoscaling::Balancing for ScalingBalancers {
    fn target_group_exists(&self, scope: &nubo_core::Scope, arn: &str) -> bool {
        self.elb.target_group_exists(scope, arn)
    }
    fn register(&self, scope: &nubo_core::Scope, tg: &str, id: &str) -> Result<(), String> {
        self.elb.register_instance(scope, tg, id)
    }
    fn deregister(&self, scope: &nubo_core::Scope, tg: &str, id: &str) {
        self.elb.deregister_instance(scope, tg, id)
    }
    fn health(&self, scope: &nubo_core::Scope, tg: &str, id: &str) -> Option<String> {
        self.elb.instance_health(scope, tg, id)
    }
}

/// CloudWatch alarms that target tracking policies own.
pub struct ScalingAlarms {
    pub cloudwatch: nubo_cloudwatch::CloudWatch,
}

impl nubo_autoscaling::Alarms for ScalingAlarms {
    fn put(&self, scope: &nubo_core::Scope, a: nubo_autoscaling::AlarmSpec) -> Result<(), String> {
        use nubo_model::generated::cloudwatch::{Dimension, PutMetricAlarmInput};
        let input = PutMetricAlarmInput {
            alarm_name: a.name,
            alarm_description: Some(a.description),
            actions_enabled: Some(true),
            alarm_actions: Some(a.actions),
            metric_name: Some(a.metric),
            namespace: Some(a.namespace),
            statistic: Some(a.statistic),
            dimensions: Some(a.dimensions.into_iter().map(|(name, value)| Dimension { name, value }).collect()),
            period: Some(a.period),
            evaluation_periods: Some(a.evaluation_periods),
            datapoints_to_alarm: Some(a.evaluation_periods),
            threshold: Some(a.threshold),
            comparison_operator: Some(a.comparison),
            ..Default::default()
        };
        self.cloudwatch.put_service_alarm(scope, input).map_err(|e| e.message)
    }
    fn delete(&self, scope: &nubo_core::Scope, names: &[String]) {
        self.cloudwatch.delete_service_alarms(scope, names)
    }
    fn state(&self, scope: &nubo_core::Scope, name: &str) -> Option<String> {
        self.cloudwatch.alarm_state(scope, name)
    }
}

/// Auto Scaling's notifications and lifecycle messages: to SNS topics or SQS queues.
pub struct ScalingNotices {
    pub sns: nubo_sns::Sns,
    pub sqs: Sqs,
}

impl nubo_autoscaling::Notifier for ScalingNotices {
    fn notify(&self, target: &str, subject: &str, message: &str) {
        if target.starts_with("arn:aws:sqs:") {
            if let Err(e) = self.sqs.deliver(target, Delivered { body: message.to_string(), ..Default::default() }, "AIDAAUTOSCALING") {
                tracing::warn!("Auto Scaling message to {target} not delivered: {e:?}");
            }
            return;
        }
        let (sns, target, subject, message) = (self.sns.clone(), target.to_string(), subject.to_string(), message.to_string());
        tokio::runtime::Handle::current().spawn(async move {
            if let Err(e) = sns.notify(&target, &subject, &message).await {
                tracing::warn!("Auto Scaling notification to {target} not delivered: {e}");
            }
        });
    }
}

/// A function's execution role's credentials, from STS.
pub struct FunctionRoles {
    pub iam: nubo_iam::Iam,
}

impl nubo_lambda::RoleCredentials for FunctionRoles {
    fn credentials(&self, role_arn: &str, session: &str) -> Option<(String, String, String)> {
        match self.iam.service_role_credentials(role_arn, session, 12 * 3600) {
            Ok(c) => Some((c.access_key_id, c.secret_access_key, c.session_token)),
            // Enforced, a function whose role is gone has no valid keys: its calls are refused.
            Err(_) if self.iam.enforcing() => Some(("ASIANOROLE0000000000".into(), "no-role".into(), "no-role".into())),
            Err(_) => None,
        }
    }
}

/// ACM's certificates for HTTPS listeners.
pub struct ListenerCertificates {
    pub acm: nubo_acm::Acm,
}

impl nubo_elbv2::Certificates for ListenerCertificates {
    fn certificate(&self, arn: &str) -> Option<(String, String, Vec<String>)> {
        self.acm.server_certificate(arn)
    }
}

/// Which load balancers use a certificate.
pub struct CertificateUsers {
    pub elb: nubo_elbv2::Elbv2,
}

impl nubo_acm::Usage for CertificateUsers {
    fn users(&self, certificate_arn: &str) -> Vec<String> {
        self.elb.listeners_using(certificate_arn)
    }
}

/// The names nubo's DNS answers: load balancers', instances' and function URLs'.
pub struct OwnedNames {
    pub elb: nubo_elbv2::Elbv2,
    pub ec2: nubo_ec2::Ec2,
    pub lambda: nubo_lambda::Lambda,
}

impl nubo_dns::Names for OwnedNames {
    fn lookup(&self, name: &str) -> Option<Option<std::net::Ipv4Addr>> {
        self.elb.resolve_name(name).or_else(|| self.ec2.resolve_name(name)).or_else(|| self.lambda.resolve_name(name))
    }
}

/// The gateway listening on port 80 of each function URL's own address (the request's
/// Host, that address, names the URL to Lambda). An address that cannot be bound (port
/// 80 needs root) is reported; the URL still answers by name on nubo's port.
#[derive(Default)]
pub struct UrlListenerSet {
    /// Set once the gateway exists (after the services it serves).
    pub gateway: std::sync::OnceLock<std::sync::Arc<nubo_gateway::Gateway>>,
    bound: std::sync::Mutex<std::collections::HashMap<std::net::Ipv4Addr, tokio::task::JoinHandle<()>>>,
    /// Each URL's host name and what its address is doing, for `/_nubo/health`.
    pub status: std::sync::Mutex<std::collections::BTreeMap<String, String>>,
}

impl nubo_lambda::UrlListeners for UrlListenerSet {
    fn sync(&self, wanted: Vec<(std::net::Ipv4Addr, String)>) {
        let Some(gateway) = self.gateway.get() else { return };
        let mut bound = self.bound.lock().unwrap();
        bound.retain(|address, task| {
            let keep = wanted.iter().any(|(a, _)| a == address);
            if !keep {
                task.abort();
            }
            keep
        });
        let mut status = self.status.lock().unwrap();
        let before = std::mem::take(&mut *status);
        for (address, host) in wanted {
            let addr = std::net::SocketAddr::from((address, 80));
            let line = if bound.contains_key(&address) {
                format!("listening on {addr}")
            } else {
                match std::net::TcpListener::bind(addr).and_then(|l| l.set_nonblocking(true).map(|_| l)).and_then(tokio::net::TcpListener::from_std) {
                    Ok(l) => {
                        bound.insert(address, tokio::spawn(nubo_gateway::server::serve(l, gateway.clone(), std::future::pending())));
                        format!("listening on {addr}")
                    }
                    Err(e) => format!("cannot listen on {addr}: {e}; the URL answers by name on nubo's port"),
                }
            };
            if line.starts_with("cannot") && before.get(&host) != Some(&line) {
                tracing::warn!("function URL {host}: {line}");
            }
            status.insert(host, line);
        }
    }
}

/// S3 as the load balancers' access logs see it.
pub struct LogBuckets {
    pub s3: nubo_s3::S3,
}

impl nubo_elbv2::LogBuckets for LogBuckets {
    fn exists(&self, bucket: &str) -> bool {
        self.s3.bucket_exists(bucket)
    }
    fn put(&self, bucket: &str, key: &str, body: Vec<u8>, content_type: &str) -> nubo_elbv2::Delivering {
        let (s3, bucket, key, content_type) = (self.s3.clone(), bucket.to_string(), key.to_string(), content_type.to_string());
        Box::pin(async move { s3.deliver(&bucket, &key, body, &content_type).await })
    }
}

/// Load balancers' access logs, delivered every five minutes of nubo's clock.
pub async fn load_balancer_access_logs(elb: nubo_elbv2::Elbv2, clock: nubo_core::Clock) {
    let every = nubo_elbv2::dataplane::access_logs::INTERVAL_MINUTES * 60_000;
    loop {
        let now = clock.now();
        let next = nubo_core::Timestamp::from_millis(now.as_millis() - now.as_millis().rem_euclid(every) + every);
        clock.sleep_until(next).await;
        elb.deliver_access_logs(next).await;
    }
}

/// Lambda as load balancers' `lambda` targets see it.
pub struct TargetFunctions {
    pub lambda: FunctionSlot,
}

impl nubo_elbv2::Functions for TargetFunctions {
    fn exists(&self, function_arn: &str) -> bool {
        self.lambda.get().is_some_and(|l| l.function_exists(function_arn))
    }
    fn allows(&self, function_arn: &str, target_group_arn: &str) -> bool {
        self.lambda.get().is_some_and(|l| l.service_may_invoke(function_arn, "elasticloadbalancing.amazonaws.com", target_group_arn))
    }
    fn invoke(&self, function_arn: &str, event: Vec<u8>) -> nubo_elbv2::Invoking {
        let (lambda, arn) = (self.lambda.get().cloned(), function_arn.to_string());
        Box::pin(async move {
            match lambda {
                Some(l) => l.invoke_for(&arn, event.into()).await,
                None => Err("Lambda is not running".into()),
            }
        })
    }
}

/// AWS/Lambda, each minute of nubo's clock: Invocations, Errors, Throttles, Duration,
/// ConcurrentExecutions per function.
pub async fn function_metrics(lambda: nubo_lambda::Lambda, cloudwatch: nubo_cloudwatch::CloudWatch, clock: nubo_core::Clock) {
    use nubo_model::generated::cloudwatch::{Dimension, MetricDatum, StatisticSet};
    loop {
        let next = next_minute(&clock);
        clock.sleep_until(next).await;
        for (scope, function, c) in lambda.take_invocation_counts() {
            let datum = |name: &str, value: f64, unit: &str| MetricDatum {
                metric_name: name.to_string(),
                dimensions: Some(vec![Dimension { name: "FunctionName".into(), value: function.clone() }]),
                timestamp: Some(next),
                value: Some(value),
                unit: Some(unit.into()),
                ..Default::default()
            };
            let mut data = vec![
                datum("Invocations", c.invocations as f64, "Count"),
                datum("Errors", c.errors as f64, "Count"),
                datum("Throttles", c.throttles as f64, "Count"),
                datum("ConcurrentExecutions", c.peak as f64, "Count"),
            ];
            if c.invocations > 0 {
                data.push(MetricDatum {
                    value: None,
                    statistic_values: Some(StatisticSet { sample_count: c.invocations as f64, sum: c.duration_sum, minimum: c.duration_min, maximum: c.duration_max }),
                    ..datum("Duration", 0.0, "Milliseconds")
                });
            }
            if let Err(e) = cloudwatch.publish_service_metrics(&scope, "AWS/Lambda", data) {
                tracing::warn!("AWS/Lambda metrics of {function} not recorded: {e:?}");
            }
        }
    }
}

/// S3, where functions' code may come from.
pub struct FunctionCode {
    pub s3: nubo_s3::S3,
}

impl nubo_lambda::CodeSource for FunctionCode {
    fn fetch(&self, bucket: &str, key: &str, version: Option<&str>) -> nubo_lambda::Fetching {
        let (s3, bucket, key, version) = (self.s3.clone(), bucket.to_string(), key.to_string(), version.map(str::to_string));
        Box::pin(async move { s3.read_object(&bucket, &key, version.as_deref()).await })
    }
}

/// SQS queues and SNS topics as asynchronous invocations' destinations and dead-letter
/// queues.
pub struct FunctionDestinations {
    pub sqs: Sqs,
    pub sns: nubo_sns::Sns,
}

impl nubo_lambda::Destinations for FunctionDestinations {
    fn send(&self, arn: &str, body: String, attributes: Vec<(String, String, String)>) -> nubo_lambda::Sending {
        let (sqs, sns, arn) = (self.sqs.clone(), self.sns.clone(), arn.to_string());
        Box::pin(async move {
            match arn.split(':').nth(2) {
                Some("sqs") => sqs.deliver(&arn, Delivered { body, attributes, ..Default::default() }, "AIDALAMBDADESTINATION").map(|_| ()).map_err(|e| e.to_string()),
                Some("sns") => sns.notify(&arn, "", &body).await.map(|_| ()),
                _ => Err(format!("{arn} is not a queue or a topic")),
            }
        })
    }
}

/// AWS/AutoScaling group metrics of the groups that collect them, each minute of nubo's clock.
pub async fn group_metrics(autoscaling: nubo_autoscaling::AutoScaling, cloudwatch: nubo_cloudwatch::CloudWatch, clock: nubo_core::Clock) {
    use nubo_model::generated::cloudwatch::{Dimension, MetricDatum};
    loop {
        let next = next_minute(&clock);
        clock.sleep_until(next).await;
        for (scope, group, values) in autoscaling.group_metrics() {
            let data = values
                .into_iter()
                .map(|(name, value)| MetricDatum {
                    metric_name: name,
                    dimensions: Some(vec![Dimension { name: "AutoScalingGroupName".into(), value: group.clone() }]),
                    timestamp: Some(next),
                    value: Some(value),
                    unit: Some("None".into()),
                    ..Default::default()
                })
                .collect();
            if let Err(e) = cloudwatch.publish_service_metrics(&scope, "AWS/AutoScaling", data) {
                tracing::warn!("AWS/AutoScaling metrics of {group} not recorded: {e:?}");
            }
        }
    }
}
