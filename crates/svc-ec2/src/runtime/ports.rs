//! Published ports: the host plays the internet. An instance's public address is a
//! loopback address of the host (127.16.0.0/12), and on it nubo listens on each TCP port
//! its security groups let in from an IPv4 range, forwarding every connection into the
//! instance's network namespace. A port no rule allows has no listener: the connection
//! is refused, as a security group's silence is felt on AWS.
//!
//! A rule naming a few ports publishes them at once; a wide range (or "all traffic")
//! publishes the ports in it that the instance listens on, as it starts listening.

use crate::records::{InstanceRecord, SecurityGroupRecord};
use std::collections::BTreeSet;

/// Ranges up to this many ports are published whole; wider ones as the instance listens.
const EAGER_RANGE: i32 = 32;

/// The TCP ports to publish for `instance`, given its groups and what it listens on.
pub fn allowed(instance: &InstanceRecord, groups: &[SecurityGroupRecord], listening: &BTreeSet<u16>) -> BTreeSet<u16> {
    let mut ports = BTreeSet::new();
    for g in groups.iter().filter(|g| instance.security_groups.iter().any(|(id, _)| *id == g.id)) {
        for rule in &g.ingress {
            // From the host: IPv4 ranges only (a rule naming a group is for traffic between instances).
            if rule.cidr_ipv4.is_none() || !matches!(rule.protocol.as_str(), "tcp" | "6" | "-1") {
                continue;
            }
            let (from, to) = match rule.protocol.as_str() {
                "-1" => (0, 65535),
                _ => (rule.from_port.unwrap_or(0).max(0), rule.to_port.unwrap_or(65535).min(65535)),
            };
            if to - from < EAGER_RANGE {
                ports.extend((from.max(1)..=to).map(|p| p as u16));
            } else {
                ports.extend(listening.iter().filter(|p| (from..=to).contains(&i32::from(**p))));
            }
        }
    }
    ports
}

/// The TCP ports something listens on in the network namespace of process `pid`, on
/// any address but loopback.
pub fn listening(pid: i32) -> BTreeSet<u16> {
    let mut ports = BTreeSet::new();
    let Ok(table) = std::fs::read_to_string(format!("/proc/{pid}/net/tcp")) else { return ports };
    for line in table.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(state)) = (fields.get(1), fields.get(3)) else { continue };
        // 0A is LISTEN; addresses are little-endian hex, so 127.x.y.z ends in 7F.
        if *state != "0A" {
            continue;
        }
        let Some((addr, port)) = local.split_once(':') else { continue };
        if addr.len() == 8 && addr.ends_with("7F") {
            continue;
        }
        if let Ok(p) = u16::from_str_radix(port, 16) {
            ports.insert(p);
        }
    }
    ports
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::RuleRecord;

    fn rule(protocol: &str, from: i32, to: i32, cidr: Option<&str>, group: Option<&str>) -> RuleRecord {
        RuleRecord {
            id: "sgr-1".into(),
            protocol: protocol.into(),
            from_port: Some(from),
            to_port: Some(to),
            cidr_ipv4: cidr.map(str::to_string),
            cidr_ipv6: None,
            group_id: group.map(str::to_string),
            prefix_list_id: None,
            description: None,
        }
    }

    #[test]
    fn ports_follow_the_ipv4_tcp_rules_of_the_instances_groups() {
        let group = SecurityGroupRecord {
            id: "sg-1".into(),
            name: "web".into(),
            description: String::new(),
            vpc_id: "vpc-1".into(),
            ingress: vec![
                rule("tcp", 80, 80, Some("0.0.0.0/0"), None),
                rule("tcp", 8080, 8081, Some("10.0.0.0/8"), None),
                rule("tcp", 22, 22, None, Some("sg-2")),
                rule("udp", 53, 53, Some("0.0.0.0/0"), None),
                rule("tcp", 1024, 65535, Some("0.0.0.0/0"), None),
            ],
            egress: Vec::new(),
        };
        let other = SecurityGroupRecord { id: "sg-9".into(), ingress: vec![rule("-1", -1, -1, Some("0.0.0.0/0"), None)], ..group.clone() };
        let instance: InstanceRecord = serde_json::from_value(serde_json::json!({
            "id": "i-1", "reservation_id": "r-1", "image_id": "ami-1", "instance_type": "t2.micro", "key_name": null,
            "subnet_id": "s", "vpc_id": "v", "availability_zone": "us-east-1a", "private_ip": "172.31.0.5", "public_ip": "127.16.0.5",
            "security_groups": [["sg-1", "web"]], "state": "Running", "state_since": 0, "state_reason": null,
            "state_transition_reason": "", "launch_time": 0, "ami_launch_index": 0, "user_data": null, "iam_instance_profile": null,
            "client_token": null, "disable_api_termination": false, "shutdown_behavior": "stop", "root_device_name": "/dev/xvda",
            "root_volume_id": "vol-1", "eni_id": "eni-1", "mac": "0e:00:00:00:00:01", "architecture": "x86_64", "monitoring": false
        }))
        .unwrap();
        let listening: BTreeSet<u16> = [5000, 9000, 80].into();
        let got: Vec<u16> = allowed(&instance, &[group, other], &listening).into_iter().collect();
        assert_eq!(got, vec![80, 5000, 8080, 8081, 9000]);
    }
}
