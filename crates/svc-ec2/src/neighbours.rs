//! What other services read of EC2 (through seams the composition root wires): subnets,
//! security groups and instances as facts, never records. Load balancers ask here.

use crate::instances::State;
use crate::records::{self, InstanceRecord, SecurityGroupRecord, SubnetRecord};
use crate::Ec2;
use nubo_core::Scope;

/// An instance as a load balancer needs it.
#[derive(Debug, Clone)]
pub struct InstanceFacts {
    pub vpc_id: String,
    pub private_ip: String,
    pub availability_zone: String,
    pub running: bool,
    /// EC2's state name (`pending`, `running`, `stopped`, ...).
    pub state: String,
    /// Its machine died: status checks fail.
    pub impaired: bool,
    pub instance_type: String,
    pub image_id: String,
}

impl Ec2 {
    /// (VPC, availability zone) of a subnet.
    pub fn subnet_facts(&self, scope: &Scope, id: &str) -> Option<(String, String)> {
        let _ = self.scope_ready(scope);
        let s: SubnetRecord = self.read(|tx| records::get(tx, scope, id)).ok().flatten()?;
        Some((s.vpc_id, s.availability_zone))
    }

    pub fn security_group_vpc(&self, scope: &Scope, id: &str) -> Option<String> {
        let _ = self.scope_ready(scope);
        self.read(|tx| records::get::<SecurityGroupRecord>(tx, scope, id)).ok().flatten().map(|g| g.vpc_id)
    }

    pub fn default_security_group(&self, scope: &Scope, vpc_id: &str) -> Option<String> {
        let _ = self.scope_ready(scope);
        self.read(|tx| records::all::<SecurityGroupRecord>(tx, scope)).ok()?.into_iter().find(|g| g.vpc_id == vpc_id && g.name == "default").map(|g| g.id)
    }

    pub fn instance_facts(&self, scope: &Scope, id: &str) -> Option<InstanceFacts> {
        let now = self.clock.now();
        let mut i: InstanceRecord = self.read(|tx| records::get(tx, scope, id)).ok().flatten()?;
        i.settle(now);
        Some(InstanceFacts {
            vpc_id: i.vpc_id,
            private_ip: i.private_ip,
            availability_zone: i.availability_zone,
            running: matches!(i.state, State::Running | State::Pending),
            state: i.state.name().to_string(),
            impaired: i.impaired,
            instance_type: i.instance_type,
            image_id: i.image_id,
        })
    }

    /// Whether `groups` let TCP `port` in from an IPv4 range (the host plays the internet).
    pub fn ingress_allows(&self, scope: &Scope, groups: &[String], port: u16) -> bool {
        let Ok(all) = self.read(|tx| records::all::<SecurityGroupRecord>(tx, scope)) else { return false };
        all.iter().filter(|g| groups.contains(&g.id)).flat_map(|g| g.ingress.iter()).any(|r| {
            r.cidr_ipv4.is_some()
                && match r.protocol.as_str() {
                    "-1" => true,
                    "tcp" | "6" => r.from_port.unwrap_or(0) <= i32::from(port) && i32::from(port) <= r.to_port.unwrap_or(65535),
                    _ => false,
                }
        })
    }

    /// Launches one instance from a launch template into a subnet, with tags (what an Auto
    /// Scaling group does): (instance id, availability zone).
    pub fn launch_from_template(&self, scope: &Scope, template: (Option<String>, Option<String>, Option<String>), subnet_id: Option<String>, tags: Vec<(String, String)>) -> Result<(String, String), String> {
        use nubo_model::generated::ec2::{LaunchTemplateSpecification, RunInstancesRequest};
        let input = RunInstancesRequest {
            launch_template: Some(LaunchTemplateSpecification { launch_template_id: template.0, launch_template_name: template.1, version: template.2 }),
            subnet_id,
            ..Default::default()
        };
        self.launch_for_group(scope, input, tags)
    }

    /// Launches one instance as a launch configuration describes it (image, type, key,
    /// security groups, user data in base64, instance profile).
    #[allow(clippy::too_many_arguments)]
    pub fn launch_from_configuration(
        &self,
        scope: &Scope,
        image_id: &str,
        instance_type: &str,
        key_name: Option<String>,
        security_groups: Vec<String>,
        user_data: Option<String>,
        instance_profile: Option<String>,
        subnet_id: Option<String>,
        tags: Vec<(String, String)>,
    ) -> Result<(String, String), String> {
        use nubo_model::generated::ec2::{IamInstanceProfileSpecification, RunInstancesRequest};
        let (ids, names): (Vec<String>, Vec<String>) = security_groups.into_iter().partition(|g| g.starts_with("sg-"));
        let profile = instance_profile.map(|p| if p.starts_with("arn:") { IamInstanceProfileSpecification { arn: Some(p), name: None } } else { IamInstanceProfileSpecification { arn: None, name: Some(p) } });
        let input = RunInstancesRequest {
            image_id: Some(image_id.to_string()),
            instance_type: Some(instance_type.to_string()),
            key_name,
            security_group_ids: (!ids.is_empty()).then_some(ids),
            security_groups: (!names.is_empty()).then_some(names),
            user_data,
            iam_instance_profile: profile,
            subnet_id,
            ..Default::default()
        };
        self.launch_for_group(scope, input, tags)
    }

    fn launch_for_group(&self, scope: &Scope, input: nubo_model::generated::ec2::RunInstancesRequest, tags: Vec<(String, String)>) -> Result<(String, String), String> {
        use nubo_model::generated::ec2::{RunInstancesRequest, Tag, TagSpecification};
        let (template, subnet_id) = (input.launch_template.clone(), input.subnet_id.clone());
        self.scope_ready(scope).map_err(|e| nubo_core::AwsError::from(e).message)?;
        let (reserved, tags): (Vec<(String, String)>, Vec<(String, String)>) = tags.into_iter().partition(|(k, _)| k.starts_with("aws:"));
        let tags: Vec<Tag> = tags.into_iter().map(|(k, v)| Tag { key: Some(k), value: Some(v) }).collect();
        let input = RunInstancesRequest {
            launch_template: template,
            subnet_id,
            min_count: 1,
            max_count: 1,
            tag_specifications: (!tags.is_empty()).then(|| vec![TagSpecification { resource_type: Some("instance".into()), tags: Some(tags) }]),
            ..input
        };
        let reservation = self.run_instances(scope, &scope.account, input).map_err(|e| nubo_core::AwsError::from(e).message)?;
        let i = reservation.instances.and_then(|mut v| v.pop()).ok_or("no instance launched")?;
        let id = i.instance_id.unwrap_or_default();
        self.write(|tx| crate::tags::set_reserved(tx, scope, &id, &reserved)).map_err(|e| nubo_core::AwsError::from(e).message)?;
        Ok((id, i.placement.and_then(|p| p.availability_zone).unwrap_or_default()))
    }

    /// Terminates an instance on another service's behalf.
    pub fn terminate_for(&self, scope: &Scope, id: &str) -> Result<(), String> {
        self.change_state(scope, &[id.to_string()], crate::instances::Action::Terminate).map(|_| ()).map_err(|e| nubo_core::AwsError::from(e).message)
    }

    fn scope_ready(&self, scope: &Scope) -> crate::error::Result<()> {
        self.ensure_defaults(scope)
    }
}

impl Ec2 {
    /// nubo's DNS asks: the address of an instance's public name
    /// (`ec2-<ip>.compute-1.amazonaws.com`, `ec2-<ip>.<region>.compute.amazonaws.com`) or
    /// private name (`ip-<ip>.ec2.internal`, `ip-<ip>.<region>.compute.internal`).
    /// `None`: not an EC2 name; `Some(None)`: no instance has it.
    pub fn resolve_name(&self, name: &str) -> Option<Option<std::net::Ipv4Addr>> {
        let (kind, rest) = name.split_once('-')?;
        let (dashed, zone) = rest.split_once('.')?;
        let public = match (kind, zone) {
            ("ec2", z) if z == "compute-1.amazonaws.com" || z.ends_with(".compute.amazonaws.com") => true,
            ("ip", z) if z == "ec2.internal" || z.ends_with(".compute.internal") => false,
            _ => return None,
        };
        let region = match zone.split_once('.') {
            Some((r, "compute.amazonaws.com" | "compute.internal")) => r.to_string(),
            _ => "us-east-1".to_string(),
        };
        let Ok(ip) = dashed.replace('-', ".").parse::<std::net::Ipv4Addr>() else { return Some(None) };
        let wanted = ip.to_string();
        let held = self
            .read(|tx| Ok(nubo_store::scan_json::<InstanceRecord>(tx, records::Kind::Instance.table(), b"", None, usize::MAX)?))
            .unwrap_or_default()
            .into_iter()
            .any(|(key, i)| {
                let in_region = key.split(|b| *b == 0).nth(1) == Some(region.as_bytes());
                let address = if public { i.public_ip.as_deref() } else { Some(i.private_ip.as_str()) };
                in_region && i.state != State::Terminated && address == Some(wanted.as_str())
            });
        Some(held.then_some(ip))
    }
}
