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
        Some(InstanceFacts { vpc_id: i.vpc_id, private_ip: i.private_ip, availability_zone: i.availability_zone, running: matches!(i.state, State::Running | State::Pending) })
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

    fn scope_ready(&self, scope: &Scope) -> crate::error::Result<()> {
        self.ensure_defaults(scope)
    }
}
