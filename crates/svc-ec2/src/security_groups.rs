//! Security groups and their rules. Each rule is one peer (an IPv4 or IPv6 block, another
//! group, or a prefix list) for one protocol and port range, with its own `sgr-` id, as
//! `DescribeSecurityGroupRules` shows; `IpPermissions` group them back for
//! `DescribeSecurityGroups`. The rules are kept ready for the runtime and load balancer
//! issues to enforce on real traffic.

use crate::error::{not_found, Ec2Error, Result};
use crate::filters::{one, Filters};
use crate::records::{self, RuleRecord, SecurityGroupRecord, VpcRecord};
use crate::{tags, Ec2};
use nubo_core::ids::resource_id;
use nubo_core::Scope;
use nubo_model::generated::ec2::*;

pub const MAX_RULES: usize = 60;

pub(crate) fn rule_from_group(protocol: &str, from: Option<i32>, to: Option<i32>, group: &str) -> RuleRecord {
    RuleRecord {
        id: resource_id("sgr"),
        protocol: protocol.into(),
        from_port: from,
        to_port: to,
        cidr_ipv4: None,
        cidr_ipv6: None,
        group_id: Some(group.into()),
        prefix_list_id: None,
        description: None,
    }
}

/// The egress rule every new group starts with: everything, anywhere.
pub(crate) fn rule_all_out() -> RuleRecord {
    RuleRecord {
        id: resource_id("sgr"),
        protocol: "-1".into(),
        from_port: None,
        to_port: None,
        cidr_ipv4: Some("0.0.0.0/0".into()),
        cidr_ipv6: None,
        group_id: None,
        prefix_list_id: None,
        description: None,
    }
}

/// `tcp`/`6`, `udp`/`17`, `icmp`/`1`, `icmpv6`/`58`, `-1`/`all`, or any protocol number.
fn protocol(p: &str) -> Result<String> {
    Ok(match p.to_ascii_lowercase().as_str() {
        "tcp" | "6" => "tcp".into(),
        "udp" | "17" => "udp".into(),
        "icmp" | "1" => "icmp".into(),
        "icmpv6" | "58" => "icmpv6".into(),
        "-1" | "all" => "-1".into(),
        n if n.parse::<u8>().is_ok() => n.into(),
        other => return Err(Ec2Error::InvalidParameterValue(format!("Invalid value '{other}' for IP protocol. Unknown protocol."))),
    })
}

/// The rules an `IpPermissions` list (or the legacy top-level parameters) stands for.
fn rules_of(permissions: Vec<IpPermission>) -> Result<Vec<RuleRecord>> {
    let mut out = Vec::new();
    for p in permissions {
        let proto = protocol(p.ip_protocol.as_deref().ok_or_else(|| Ec2Error::MissingParameter("The request must contain the parameter ipProtocol".into()))?)?;
        let (from, to) = if proto == "-1" { (None, None) } else { (p.from_port, p.to_port) };
        if matches!(proto.as_str(), "tcp" | "udp") {
            let (f, t) = (from.unwrap_or(-1), to.unwrap_or(-1));
            if !(0..=65535).contains(&f) || !(0..=65535).contains(&t) || f > t {
                return Err(Ec2Error::InvalidParameterValue(format!("Invalid TCP/UDP port range {f}-{t}: ports must be between 0 and 65535 and the range must be ascending")));
            }
        }
        let base = RuleRecord { id: String::new(), protocol: proto, from_port: from, to_port: to, cidr_ipv4: None, cidr_ipv6: None, group_id: None, prefix_list_id: None, description: None };
        for r in p.ip_ranges.into_iter().flatten() {
            let cidr = r.cidr_ip.unwrap_or_default();
            if crate::network::Cidr::parse(&cidr).is_none() && cidr.parse::<std::net::Ipv4Addr>().is_err() {
                return Err(Ec2Error::InvalidParameterValue(format!("CIDR block {cidr} is malformed")));
            }
            out.push(RuleRecord { id: resource_id("sgr"), cidr_ipv4: Some(cidr), description: r.description, ..base.clone() });
        }
        for r in p.ipv6_ranges.into_iter().flatten() {
            let cidr = r.cidr_ipv6.unwrap_or_default();
            let valid = cidr.split_once('/').is_some_and(|(a, n)| a.parse::<std::net::Ipv6Addr>().is_ok() && n.parse::<u8>().is_ok_and(|n| n <= 128));
            if !valid {
                return Err(Ec2Error::InvalidParameterValue(format!("CIDR block {cidr} is malformed")));
            }
            out.push(RuleRecord { id: resource_id("sgr"), cidr_ipv6: Some(cidr), description: r.description, ..base.clone() });
        }
        for g in p.user_id_group_pairs.into_iter().flatten() {
            out.push(RuleRecord { id: resource_id("sgr"), group_id: g.group_id.or(g.group_name), description: g.description, ..base.clone() });
        }
        for pl in p.prefix_list_ids.into_iter().flatten() {
            out.push(RuleRecord { id: resource_id("sgr"), prefix_list_id: pl.prefix_list_id, description: pl.description, ..base.clone() });
        }
    }
    Ok(out)
}

fn same_rule(a: &RuleRecord, b: &RuleRecord) -> bool {
    a.protocol == b.protocol && a.from_port == b.from_port && a.to_port == b.to_port && a.cidr_ipv4 == b.cidr_ipv4 && a.cidr_ipv6 == b.cidr_ipv6 && a.group_id == b.group_id && a.prefix_list_id == b.prefix_list_id
}

fn describe_rule(r: &RuleRecord) -> String {
    let peer = r.cidr_ipv4.clone().or(r.cidr_ipv6.clone()).or(r.group_id.clone()).or(r.prefix_list_id.clone()).unwrap_or_default();
    let proto = if r.protocol == "-1" { "ALL".to_string() } else { r.protocol.to_ascii_uppercase() };
    match (r.from_port, r.to_port) {
        (Some(f), Some(t)) => format!("peer: {peer}, {proto}, from port: {f}, to port: {t}, ALLOW"),
        _ => format!("peer: {peer}, {proto}, ALLOW"),
    }
}

/// The permissions of the legacy top-level parameters (`--protocol tcp --port 22 --cidr …`).
fn legacy_permission(protocol: Option<String>, from: Option<i32>, to: Option<i32>, cidr: Option<String>, source_group: Option<String>) -> Option<IpPermission> {
    let protocol = protocol?;
    Some(IpPermission {
        ip_protocol: Some(protocol),
        from_port: from,
        to_port: to,
        ip_ranges: cidr.map(|c| vec![IpRange { cidr_ip: Some(c), description: None }]),
        user_id_group_pairs: source_group.map(|g| vec![UserIdGroupPair { group_name: Some(g), ..Default::default() }]),
        ..Default::default()
    })
}

pub struct RuleChange {
    pub group_id: Option<String>,
    pub group_name: Option<String>,
    pub permissions: Option<Vec<IpPermission>>,
    pub legacy: Option<IpPermission>,
    pub rule_ids: Option<Vec<String>>,
    pub tags: Vec<(String, String)>,
}

impl RuleChange {
    pub fn legacy(protocol: Option<String>, from: Option<i32>, to: Option<i32>, cidr: Option<String>, source_group: Option<String>) -> Option<IpPermission> {
        legacy_permission(protocol, from, to, cidr, source_group)
    }
}

impl Ec2 {
    /// A group by id, or by name in the default VPC (the only place names alone resolve).
    fn find_group(&self, tx: &dyn nubo_store::ReadTxn, scope: &Scope, id: Option<&str>, name: Option<&str>) -> Result<SecurityGroupRecord> {
        if let Some(id) = id {
            return records::must(tx, scope, id);
        }
        let name = name.ok_or_else(|| Ec2Error::MissingParameter("The request must contain the parameter groupId or groupName".into()))?;
        let default_vpc = records::all::<VpcRecord>(tx, scope)?.into_iter().find(|v| v.is_default).map(|v| v.id);
        records::all::<SecurityGroupRecord>(tx, scope)?
            .into_iter()
            .find(|g| g.name == name && Some(&g.vpc_id) == default_vpc.as_ref())
            .ok_or_else(|| Ec2Error::NotFound { code: "InvalidGroup.NotFound", message: format!("The security group '{name}' does not exist in default VPC '{}'", default_vpc.unwrap_or_default()) })
    }

    pub(crate) fn create_security_group(&self, scope: &Scope, input: CreateSecurityGroupRequest) -> Result<(String, Vec<(String, String)>)> {
        if input.group_name.is_empty() || input.group_name.len() > 255 || input.group_name.starts_with("sg-") {
            return Err(Ec2Error::InvalidParameterValue(format!("Invalid value '{}' for groupName. It must be 1 to 255 characters and may not start with sg-.", input.group_name)));
        }
        let tags = tags::from_specs(&input.tag_specifications, "security-group");
        let id = self.write(|tx| {
            let vpc_id = match input.vpc_id {
                Some(v) => records::must::<VpcRecord>(tx, scope, &v)?.id,
                None => records::all::<VpcRecord>(tx, scope)?
                    .into_iter()
                    .find(|v| v.is_default)
                    .map(|v| v.id)
                    .ok_or_else(|| Ec2Error::Invalid { code: "VPCIdNotSpecified", message: "No default VPC for this user".into() })?,
            };
            if records::all::<SecurityGroupRecord>(tx, scope)?.iter().any(|g| g.vpc_id == vpc_id && g.name == input.group_name) {
                return Err(Ec2Error::Duplicate { code: "InvalidGroup.Duplicate", message: format!("The security group '{}' already exists for VPC '{vpc_id}'", input.group_name) });
            }
            let sg = SecurityGroupRecord {
                id: resource_id("sg"),
                name: input.group_name.clone(),
                description: input.description.clone(),
                vpc_id,
                ingress: Vec::new(),
                egress: vec![rule_all_out()],
            };
            records::put(tx, scope, &sg)?;
            tags::set(tx, scope, &sg.id, &tags)?;
            Ok(sg.id)
        })?;
        Ok((id, tags))
    }

    pub(crate) fn delete_security_group(&self, scope: &Scope, id: Option<&str>, name: Option<&str>) -> Result<String> {
        self.write(|tx| {
            let sg = self.find_group(tx, scope, id, name)?;
            if sg.name == "default" {
                return Err(Ec2Error::Invalid { code: "CannotDelete", message: format!("the specified group: \"{}\" name: \"default\" cannot be deleted by a user", sg.id) });
            }
            let used_by_instance = crate::instances::settled(tx, scope, self.clock.now())?
                .iter()
                .any(|i| i.state != crate::instances::State::Terminated && i.security_groups.iter().any(|(g, _)| *g == sg.id));
            let referenced = records::all::<SecurityGroupRecord>(tx, scope)?
                .iter()
                .any(|g| g.id != sg.id && g.ingress.iter().chain(&g.egress).any(|r| r.group_id.as_deref() == Some(sg.id.as_str())));
            if used_by_instance || referenced {
                return Err(Ec2Error::DependencyViolation(format!("resource {} has a dependent object", sg.id)));
            }
            for r in sg.ingress.iter().chain(&sg.egress) {
                tags::delete_all(tx, scope, &r.id)?;
            }
            records::delete::<SecurityGroupRecord>(tx, scope, &sg.id)?;
            Ok(sg.id)
        })
    }

    /// Adds (`authorize`) or removes rules, ingress or egress; returns the rules added, as
    /// `AuthorizeSecurityGroup*` shows them.
    pub(crate) fn change_rules(&self, scope: &Scope, change: RuleChange, egress: bool, authorize: bool) -> Result<Vec<SecurityGroupRule>> {
        let mut permissions = change.permissions.unwrap_or_default();
        permissions.extend(change.legacy);
        self.write(|tx| {
            let mut sg = self.find_group(tx, scope, change.group_id.as_deref(), change.group_name.as_deref())?;
            let mut wanted = rules_of(permissions)?;
            // Group references by name resolve within the group's VPC.
            for r in &mut wanted {
                if let Some(g) = r.group_id.clone().filter(|g| !g.starts_with("sg-")) {
                    let found = records::all::<SecurityGroupRecord>(tx, scope)?.into_iter().find(|x| x.name == g && x.vpc_id == sg.vpc_id);
                    r.group_id = Some(found.ok_or_else(|| not_found(records::Kind::SecurityGroup, &g))?.id);
                } else if let Some(g) = &r.group_id {
                    let _: SecurityGroupRecord = records::must(tx, scope, g)?;
                }
            }
            let list = if egress { &mut sg.egress } else { &mut sg.ingress };
            let mut changed = Vec::new();
            if authorize {
                if wanted.is_empty() {
                    return Err(Ec2Error::MissingParameter("No IP permissions were given".into()));
                }
                for r in wanted {
                    if list.iter().chain(&changed).any(|e| same_rule(e, &r)) {
                        return Err(Ec2Error::Duplicate { code: "InvalidPermission.Duplicate", message: format!("the specified rule \"{}\" already exists", describe_rule(&r)) });
                    }
                    changed.push(r);
                }
                if list.len() + changed.len() > MAX_RULES {
                    return Err(Ec2Error::LimitExceeded { code: "RulesPerSecurityGroupLimitExceeded", message: "The maximum number of rules per security group has been reached.".into() });
                }
                list.extend(changed.iter().cloned());
                records::put(tx, scope, &sg)?;
                for r in &changed {
                    tags::set(tx, scope, &r.id, &change.tags)?;
                }
                return Ok(changed.iter().map(|r| rule_out(scope, &sg, r, egress, &change.tags)).collect());
            }
            for id in change.rule_ids.iter().flatten() {
                let pos = list.iter().position(|r| &r.id == id).ok_or_else(|| Ec2Error::NotFound { code: "InvalidSecurityGroupRuleId.NotFound", message: format!("The security group rule ID '{id}' does not exist") })?;
                changed.push(list.remove(pos));
            }
            for r in &changed {
                tags::delete_all(tx, scope, &r.id)?;
            }
            for r in wanted {
                let pos = list.iter().position(|e| same_rule(e, &r)).ok_or_else(|| Ec2Error::NotFound {
                    code: "InvalidPermission.NotFound",
                    message: format!("The specified rule does not exist in this security group: {}", describe_rule(&r)),
                })?;
                let removed = list.remove(pos);
                tags::delete_all(tx, scope, &removed.id)?;
                changed.push(removed);
            }
            records::put(tx, scope, &sg)?;
            Ok(Vec::new())
        })
    }

    pub(crate) fn describe_security_groups(&self, scope: &Scope, ids: Option<Vec<String>>, names: Option<Vec<String>>, filters: &Filters) -> Result<Vec<SecurityGroup>> {
        let selected = self.select::<SecurityGroupRecord>(scope, ids.as_deref(), filters, |g, name| match name {
            "group-id" => one(&g.id),
            "group-name" => one(&g.name),
            "vpc-id" => one(&g.vpc_id),
            "description" => one(&g.description),
            "owner-id" => one(&scope.account),
            "ip-permission.from-port" => Some(g.ingress.iter().filter_map(|r| r.from_port.map(|p| p.to_string())).collect()),
            "ip-permission.to-port" => Some(g.ingress.iter().filter_map(|r| r.to_port.map(|p| p.to_string())).collect()),
            "ip-permission.protocol" => Some(g.ingress.iter().map(|r| r.protocol.clone()).collect()),
            "ip-permission.cidr" => Some(g.ingress.iter().filter_map(|r| r.cidr_ipv4.clone()).collect()),
            "ip-permission.group-id" => Some(g.ingress.iter().filter_map(|r| r.group_id.clone()).collect()),
            "egress.ip-permission.cidr" => Some(g.egress.iter().filter_map(|r| r.cidr_ipv4.clone()).collect()),
            _ => None,
        })?;
        // Names, the older way to ask, must each name a group too.
        for n in names.iter().flatten() {
            if !self.read(|tx| records::all::<SecurityGroupRecord>(tx, scope))?.iter().any(|g| &g.name == n) {
                return Err(Ec2Error::NotFound { code: "InvalidGroup.NotFound", message: format!("The security group '{n}' does not exist") });
            }
        }
        Ok(selected.iter().filter(|(g, _)| names.as_ref().is_none_or(|n| n.contains(&g.name))).map(|(g, t)| group_out(scope, g, t)).collect())
    }

    pub(crate) fn describe_security_group_rules(&self, scope: &Scope, ids: Option<Vec<String>>, filters: &Filters) -> Result<Vec<SecurityGroupRule>> {
        let rows = self.read(|tx| {
            let mut rows = Vec::new();
            for g in records::all::<SecurityGroupRecord>(tx, scope)? {
                for (egress, r) in g.ingress.iter().map(|r| (false, r)).chain(g.egress.iter().map(|r| (true, r))) {
                    rows.push((g.clone(), r.clone(), egress, tags::of(tx, scope, &r.id)?));
                }
            }
            Ok(rows)
        })?;
        for id in ids.iter().flatten() {
            if !rows.iter().any(|(_, r, _, _)| &r.id == id) {
                return Err(Ec2Error::NotFound { code: "InvalidSecurityGroupRuleId.NotFound", message: format!("The security group rule ID '{id}' does not exist") });
            }
        }
        let mut out = Vec::new();
        for (g, r, egress, rule_tags) in &rows {
            if ids.as_ref().is_some_and(|ids| !ids.contains(&r.id)) {
                continue;
            }
            let ok = filters.matches(rule_tags, |name| match name {
                "group-id" => one(&g.id),
                "security-group-rule-id" => one(&r.id),
                _ => None,
            })?;
            if ok {
                out.push(rule_out(scope, g, r, *egress, rule_tags));
            }
        }
        Ok(out)
    }
}

pub(crate) fn rule_out(scope: &Scope, g: &SecurityGroupRecord, r: &RuleRecord, egress: bool, tags: &[(String, String)]) -> SecurityGroupRule {
    SecurityGroupRule {
        security_group_rule_id: Some(r.id.clone()),
        group_id: Some(g.id.clone()),
        group_owner_id: Some(scope.account.clone()),
        is_egress: Some(egress),
        ip_protocol: Some(r.protocol.clone()),
        from_port: Some(r.from_port.unwrap_or(-1)),
        to_port: Some(r.to_port.unwrap_or(-1)),
        cidr_ipv4: r.cidr_ipv4.clone(),
        cidr_ipv6: r.cidr_ipv6.clone(),
        prefix_list_id: r.prefix_list_id.clone(),
        referenced_group_info: r.group_id.as_ref().map(|gid| ReferencedSecurityGroup { group_id: Some(gid.clone()), user_id: Some(scope.account.clone()), ..Default::default() }),
        description: r.description.clone(),
        tags: tags::out(tags),
        security_group_rule_arn: Some(format!("arn:aws:ec2:{}:{}:security-group-rule/{}", scope.region, scope.account, r.id)),
    }
}

/// Rules grouped back into `IpPermissions` by protocol and ports, as EC2 shows them.
fn permissions(scope: &Scope, rules: &[RuleRecord]) -> Vec<IpPermission> {
    let mut out: Vec<IpPermission> = Vec::new();
    for r in rules {
        let idx = out.iter().position(|p| p.ip_protocol.as_deref() == Some(r.protocol.as_str()) && p.from_port == r.from_port && p.to_port == r.to_port);
        let p = match idx {
            Some(i) => &mut out[i],
            None => {
                out.push(IpPermission {
                    ip_protocol: Some(r.protocol.clone()),
                    from_port: r.from_port,
                    to_port: r.to_port,
                    user_id_group_pairs: Some(Vec::new()),
                    ip_ranges: Some(Vec::new()),
                    ipv6_ranges: Some(Vec::new()),
                    prefix_list_ids: Some(Vec::new()),
                });
                out.last_mut().expect("just pushed")
            }
        };
        if let Some(c) = &r.cidr_ipv4 {
            p.ip_ranges.get_or_insert_with(Vec::new).push(IpRange { cidr_ip: Some(c.clone()), description: r.description.clone() });
        }
        if let Some(c) = &r.cidr_ipv6 {
            p.ipv6_ranges.get_or_insert_with(Vec::new).push(Ipv6Range { cidr_ipv6: Some(c.clone()), description: r.description.clone() });
        }
        if let Some(g) = &r.group_id {
            p.user_id_group_pairs.get_or_insert_with(Vec::new).push(UserIdGroupPair {
                group_id: Some(g.clone()),
                user_id: Some(scope.account.clone()),
                description: r.description.clone(),
                ..Default::default()
            });
        }
        if let Some(pl) = &r.prefix_list_id {
            p.prefix_list_ids.get_or_insert_with(Vec::new).push(PrefixListId { prefix_list_id: Some(pl.clone()), description: r.description.clone() });
        }
    }
    out
}

pub(crate) fn group_out(scope: &Scope, g: &SecurityGroupRecord, tags: &[(String, String)]) -> SecurityGroup {
    SecurityGroup {
        group_id: Some(g.id.clone()),
        ip_permissions_egress: Some(permissions(scope, &g.egress)),
        tags: tags::out(tags),
        vpc_id: Some(g.vpc_id.clone()),
        security_group_arn: Some(format!("arn:aws:ec2:{}:{}:security-group/{}", scope.region, scope.account, g.id)),
        owner_id: Some(scope.account.clone()),
        group_name: Some(g.name.clone()),
        description: Some(g.description.clone()),
        ip_permissions: Some(permissions(scope, &g.ingress)),
    }
}
