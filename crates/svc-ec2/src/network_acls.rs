//! Network ACLs: numbered allow/deny rules per direction, evaluated in order (stateless),
//! one ACL per subnet. Every VPC has a default ACL (all traffic allowed, then the
//! catch-all deny) that every subnet belongs to unless associated elsewhere. Default
//! ACLs and the associations of new subnets are made when ACLs are next read or changed
//! ([`reconcile`]), so creating a VPC or subnet touches nothing here. The rules are kept
//! for the runtime issue to enforce on real traffic.

use crate::error::{not_found, Ec2Error, Result};
use crate::filters::{one, Filters};
use crate::records::{self, Kind, Resource, SubnetRecord, VpcRecord};
use crate::{tags, Ec2};
use nubo_core::ids::resource_id;
use nubo_core::Scope;
use nubo_model::generated::ec2::*;
use nubo_store::WriteTxn;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AclEntry {
    pub number: i32,
    pub egress: bool,
    /// `-1` (all), or an IP protocol number (`6` TCP, `17` UDP, `1` ICMP, …).
    pub protocol: String,
    pub allow: bool,
    pub cidr: Option<String>,
    pub ipv6_cidr: Option<String>,
    pub ports: Option<(i32, i32)>,
    pub icmp: Option<(i32, i32)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NetworkAclRecord {
    pub id: String,
    pub vpc_id: String,
    pub is_default: bool,
    pub entries: Vec<AclEntry>,
    /// (association id, subnet id).
    pub associations: Vec<(String, String)>,
}

impl Resource for NetworkAclRecord {
    const KIND: Kind = Kind::NetworkAcl;
    fn id(&self) -> &str {
        &self.id
    }
}

/// The rule every ACL ends with, in each direction.
fn catch_all(egress: bool) -> AclEntry {
    AclEntry { number: 32767, egress, protocol: "-1".into(), allow: false, cidr: Some("0.0.0.0/0".into()), ipv6_cidr: None, ports: None, icmp: None }
}

fn allow_all(egress: bool) -> AclEntry {
    AclEntry { number: 100, allow: true, ..catch_all(egress) }
}

/// The default ACL's id follows its VPC's, so it is the same whenever it is made.
fn default_id(vpc_id: &str) -> String {
    format!("acl-{}", &vpc_id[4..])
}

/// Brings the ACLs in line with the VPCs and subnets: a default ACL per VPC, every
/// subnet in exactly one ACL (its VPC's default unless associated elsewhere), nothing
/// left of deleted VPCs and subnets.
pub fn reconcile(tx: &mut (impl WriteTxn + ?Sized), scope: &Scope) -> Result<Vec<NetworkAclRecord>> {
    let vpcs = records::all::<VpcRecord>(tx, scope)?;
    let subnets = records::all::<SubnetRecord>(tx, scope)?;
    let mut acls = records::all::<NetworkAclRecord>(tx, scope)?;
    let mut changed: Vec<String> = Vec::new();
    // ACLs of VPCs that are gone go with them.
    for gone in acls.iter().filter(|a| !vpcs.iter().any(|v| v.id == a.vpc_id)) {
        records::delete::<NetworkAclRecord>(tx, scope, &gone.id)?;
    }
    acls.retain(|a| vpcs.iter().any(|v| v.id == a.vpc_id));
    for vpc in &vpcs {
        if !acls.iter().any(|a| a.vpc_id == vpc.id && a.is_default) {
            acls.push(NetworkAclRecord {
                id: default_id(&vpc.id),
                vpc_id: vpc.id.clone(),
                is_default: true,
                entries: vec![allow_all(true), catch_all(true), allow_all(false), catch_all(false)],
                associations: Vec::new(),
            });
            changed.push(default_id(&vpc.id));
        }
    }
    for acl in acls.iter_mut() {
        let before = acl.associations.len();
        acl.associations.retain(|(_, s)| subnets.iter().any(|x| x.id == *s));
        if acl.associations.len() != before {
            changed.push(acl.id.clone());
        }
    }
    for s in &subnets {
        if acls.iter().any(|a| a.associations.iter().any(|(_, x)| *x == s.id)) {
            continue;
        }
        if let Some(acl) = acls.iter_mut().find(|a| a.vpc_id == s.vpc_id && a.is_default) {
            acl.associations.push((resource_id("aclassoc"), s.id.clone()));
            changed.push(acl.id.clone());
        }
    }
    for acl in acls.iter().filter(|a| changed.contains(&a.id)) {
        records::put(tx, scope, acl)?;
    }
    Ok(acls)
}

fn entry_out(e: &AclEntry) -> NetworkAclEntry {
    NetworkAclEntry {
        cidr_block: e.cidr.clone(),
        ipv6_cidr_block: e.ipv6_cidr.clone(),
        egress: Some(e.egress),
        protocol: Some(e.protocol.clone()),
        rule_action: Some(if e.allow { "allow" } else { "deny" }.into()),
        rule_number: Some(e.number),
        port_range: e.ports.map(|(from, to)| PortRange { from: Some(from), to: Some(to) }),
        icmp_type_code: e.icmp.map(|(t, c)| IcmpTypeCode { r#type: Some(t), code: Some(c) }),
    }
}

fn acl_out(scope: &Scope, a: &NetworkAclRecord, tags: &[(String, String)]) -> NetworkAcl {
    let mut entries = a.entries.clone();
    entries.sort_by_key(|e| (!e.egress, e.number));
    NetworkAcl {
        associations: Some(
            a.associations
                .iter()
                .map(|(assoc, subnet)| NetworkAclAssociation { network_acl_association_id: Some(assoc.clone()), network_acl_id: Some(a.id.clone()), subnet_id: Some(subnet.clone()) })
                .collect(),
        ),
        entries: Some(entries.iter().map(entry_out).collect()),
        is_default: Some(a.is_default),
        network_acl_id: Some(a.id.clone()),
        tags: tags::out(tags),
        vpc_id: Some(a.vpc_id.clone()),
        owner_id: Some(scope.account.clone()),
    }
}

/// A rule as the request gives it, checked as EC2 checks it.
#[allow(clippy::too_many_arguments)]
fn entry(
    number: i32,
    protocol: &str,
    action: &str,
    egress: bool,
    cidr: Option<String>,
    ipv6_cidr: Option<String>,
    ports: Option<&PortRange>,
    icmp: Option<&IcmpTypeCode>,
) -> Result<AclEntry> {
    if !(1..=32766).contains(&number) {
        return Err(Ec2Error::Invalid { code: "InvalidNetworkAclEntry.RuleNumber", message: format!("Rule number {number} is out of range: rule numbers must be between 1 and 32766.") });
    }
    let allow = match action {
        "allow" => true,
        "deny" => false,
        other => return Err(Ec2Error::InvalidParameterValue(format!("Value ({other}) for parameter ruleAction is invalid. Must be allow or deny."))),
    };
    let protocol = match protocol.to_ascii_lowercase().as_str() {
        "-1" | "all" => "-1".to_string(),
        "tcp" | "6" => "6".into(),
        "udp" | "17" => "17".into(),
        "icmp" | "1" => "1".into(),
        "icmpv6" | "58" => "58".into(),
        n if n.parse::<u8>().is_ok() => n.to_string(),
        other => return Err(Ec2Error::InvalidParameterValue(format!("Invalid value '{other}' for IP protocol. Unknown protocol."))),
    };
    if cidr.is_none() == ipv6_cidr.is_none() {
        return Err(Ec2Error::MissingParameter("Either 'cidrBlock' or 'ipv6CidrBlock' should be provided.".into()));
    }
    let ports = match (protocol.as_str(), ports) {
        ("6" | "17", None) => return Err(Ec2Error::InvalidParameterValue("Port range must be specified for the TCP and UDP protocols.".into())),
        ("6" | "17", Some(p)) => Some((p.from.unwrap_or(0), p.to.unwrap_or(65535))),
        _ => None,
    };
    let icmp = match (protocol.as_str(), icmp) {
        ("1" | "58", Some(i)) => Some((i.r#type.unwrap_or(-1), i.code.unwrap_or(-1))),
        _ => None,
    };
    Ok(AclEntry { number, egress, protocol, allow, cidr, ipv6_cidr, ports, icmp })
}

impl Ec2 {
    fn with_acl<T>(&self, scope: &Scope, id: &str, f: impl FnOnce(&mut NetworkAclRecord) -> Result<T>) -> Result<T> {
        self.write(|tx| {
            let acls = reconcile(tx, scope)?;
            let mut acl = acls.into_iter().find(|a| a.id == id).ok_or_else(|| not_found(Kind::NetworkAcl, id))?;
            let out = f(&mut acl)?;
            records::put(tx, scope, &acl)?;
            Ok(out)
        })
    }

    pub(crate) fn create_network_acl(&self, scope: &Scope, input: CreateNetworkAclRequest) -> Result<NetworkAcl> {
        let tags = tags::from_specs(&input.tag_specifications, "network-acl");
        let acl = self.write(|tx| {
            records::must::<VpcRecord>(tx, scope, &input.vpc_id)?;
            reconcile(tx, scope)?;
            let acl = NetworkAclRecord { id: resource_id("acl"), vpc_id: input.vpc_id.clone(), is_default: false, entries: vec![catch_all(true), catch_all(false)], associations: Vec::new() };
            records::put(tx, scope, &acl)?;
            tags::set(tx, scope, &acl.id, &tags)?;
            Ok(acl)
        })?;
        Ok(acl_out(scope, &acl, &tags))
    }

    pub(crate) fn delete_network_acl(&self, scope: &Scope, id: &str) -> Result<()> {
        self.write(|tx| {
            let acls = reconcile(tx, scope)?;
            let acl = acls.iter().find(|a| a.id == id).ok_or_else(|| not_found(Kind::NetworkAcl, id))?;
            if acl.is_default {
                return Err(Ec2Error::OperationNotPermitted(format!("cannot delete default network ACL {id}")));
            }
            if !acl.associations.is_empty() {
                return Err(Ec2Error::DependencyViolation(format!("The networkAcl '{id}' has dependencies and cannot be deleted.")));
            }
            records::delete::<NetworkAclRecord>(tx, scope, id)
        })
    }

    pub(crate) fn create_network_acl_entry(&self, scope: &Scope, input: CreateNetworkAclEntryRequest) -> Result<()> {
        let e = entry(input.rule_number, &input.protocol, &input.rule_action, input.egress, input.cidr_block, input.ipv6_cidr_block, input.port_range.as_ref(), input.icmp_type_code.as_ref())?;
        self.with_acl(scope, &input.network_acl_id, |acl| {
            if acl.entries.iter().any(|x| x.number == e.number && x.egress == e.egress) {
                return Err(Ec2Error::Duplicate { code: "NetworkAclEntryAlreadyExists", message: format!("The network acl entry identified by {} already exists.", e.number) });
            }
            acl.entries.push(e);
            Ok(())
        })
    }

    pub(crate) fn replace_network_acl_entry(&self, scope: &Scope, input: ReplaceNetworkAclEntryRequest) -> Result<()> {
        let e = entry(input.rule_number, &input.protocol, &input.rule_action, input.egress, input.cidr_block, input.ipv6_cidr_block, input.port_range.as_ref(), input.icmp_type_code.as_ref())?;
        self.with_acl(scope, &input.network_acl_id, |acl| {
            let Some(slot) = acl.entries.iter_mut().find(|x| x.number == e.number && x.egress == e.egress) else {
                return Err(Ec2Error::NotFound { code: "InvalidNetworkAclEntry.NotFound", message: format!("The network acl entry identified by {} does not exist", e.number) });
            };
            *slot = e;
            Ok(())
        })
    }

    pub(crate) fn delete_network_acl_entry(&self, scope: &Scope, input: DeleteNetworkAclEntryRequest) -> Result<()> {
        self.with_acl(scope, &input.network_acl_id, |acl| {
            let before = acl.entries.len();
            acl.entries.retain(|x| !(x.number == input.rule_number && x.egress == input.egress && x.number != 32767));
            if acl.entries.len() == before {
                return Err(Ec2Error::NotFound { code: "InvalidNetworkAclEntry.NotFound", message: format!("The network acl entry identified by {} does not exist", input.rule_number) });
            }
            Ok(())
        })
    }

    /// Moves a subnet to another ACL of its VPC; the association gets a new id.
    pub(crate) fn replace_network_acl_association(&self, scope: &Scope, input: ReplaceNetworkAclAssociationRequest) -> Result<String> {
        self.write(|tx| {
            let mut acls = reconcile(tx, scope)?;
            let Some(from) = acls.iter().position(|a| a.associations.iter().any(|(id, _)| *id == input.association_id)) else {
                return Err(Ec2Error::NotFound { code: "InvalidAssociationID.NotFound", message: format!("The association ID '{}' does not exist", input.association_id) });
            };
            let to = acls.iter().position(|a| a.id == input.network_acl_id).ok_or_else(|| not_found(Kind::NetworkAcl, &input.network_acl_id))?;
            if acls[from].vpc_id != acls[to].vpc_id {
                return Err(Ec2Error::InvalidParameterValue(format!("Network ACL {} and the subnet are not in the same VPC.", input.network_acl_id)));
            }
            let i = acls[from].associations.iter().position(|(id, _)| *id == input.association_id).expect("found above");
            let (_, subnet) = acls[from].associations.remove(i);
            let new_id = resource_id("aclassoc");
            acls[to].associations.push((new_id.clone(), subnet));
            records::put(tx, scope, &acls[from])?;
            records::put(tx, scope, &acls[to])?;
            Ok(new_id)
        })
    }

    pub(crate) fn describe_network_acls(&self, scope: &Scope, input: DescribeNetworkAclsRequest) -> Result<Vec<NetworkAcl>> {
        let filters = Filters::new(input.filters)?;
        self.write(|tx| reconcile(tx, scope).map(|_| ()))?;
        let selected = self.select::<NetworkAclRecord>(scope, input.network_acl_ids.as_deref(), &filters, |a, name| match name {
            "network-acl-id" => one(&a.id),
            "vpc-id" => one(&a.vpc_id),
            "default" => one(a.is_default.to_string()),
            "association.subnet-id" => Some(a.associations.iter().map(|(_, s)| s.clone()).collect()),
            "association.association-id" => Some(a.associations.iter().map(|(id, _)| id.clone()).collect()),
            "association.network-acl-id" => one(&a.id),
            "entry.rule-number" => Some(a.entries.iter().map(|e| e.number.to_string()).collect()),
            "entry.rule-action" => Some(a.entries.iter().map(|e| if e.allow { "allow" } else { "deny" }.to_string()).collect()),
            "entry.egress" => Some(a.entries.iter().map(|e| e.egress.to_string()).collect()),
            "entry.protocol" => Some(a.entries.iter().map(|e| e.protocol.clone()).collect()),
            "entry.cidr" => Some(a.entries.iter().filter_map(|e| e.cidr.clone()).collect()),
            "owner-id" => one(&scope.account),
            _ => None,
        })?;
        Ok(selected.iter().map(|(a, t)| acl_out(scope, a, t)).collect())
    }
}
