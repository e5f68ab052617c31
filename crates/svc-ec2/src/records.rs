//! What EC2 keeps: one table per kind of resource, keyed `account \0 region \0 id`, and
//! one table of tags for every kind (`account \0 region \0 resource id \0 key`), so that
//! `CreateTags`, `DescribeTags` and the `tag:` filters work the same for all.

use crate::error::{not_found, Result};
use crate::Ec2;
use nubo_core::{Scope, Timestamp};
use nubo_store::{get_json, put_json, scan_json, ReadTxn, WriteTxn};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub const TAGS: &str = "ec2.tags";
/// Marks a scope whose default VPC exists.
pub const DEFAULTS: &str = "ec2.defaults";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Vpc,
    Subnet,
    InternetGateway,
    RouteTable,
    SecurityGroup,
    KeyPair,
    Instance,
    Image,
    Address,
    NatGateway,
    LaunchTemplate,
    Volume,
    Snapshot,
    NetworkAcl,
}

impl Kind {
    /// The kind an id names, by its prefix (`vpc-…`), as EC2 tells them apart.
    pub fn of(id: &str) -> Option<Kind> {
        let prefix = id.split('-').next()?;
        Some(match prefix {
            "vpc" => Kind::Vpc,
            "subnet" => Kind::Subnet,
            "igw" => Kind::InternetGateway,
            "rtb" => Kind::RouteTable,
            "sg" => Kind::SecurityGroup,
            "key" => Kind::KeyPair,
            "i" => Kind::Instance,
            "ami" => Kind::Image,
            "eipalloc" => Kind::Address,
            "nat" => Kind::NatGateway,
            "lt" => Kind::LaunchTemplate,
            "vol" => Kind::Volume,
            "snap" => Kind::Snapshot,
            "acl" => Kind::NetworkAcl,
            _ => return None,
        })
    }

    pub fn table(self) -> &'static str {
        match self {
            Kind::Vpc => "ec2.vpcs",
            Kind::Subnet => "ec2.subnets",
            Kind::InternetGateway => "ec2.internet-gateways",
            Kind::RouteTable => "ec2.route-tables",
            Kind::SecurityGroup => "ec2.security-groups",
            Kind::KeyPair => "ec2.key-pairs",
            Kind::Instance => "ec2.instances",
            Kind::Image => "ec2.images",
            Kind::Address => "ec2.addresses",
            Kind::NatGateway => "ec2.nat-gateways",
            Kind::LaunchTemplate => "ec2.launch-templates",
            Kind::Volume => "ec2.volumes",
            Kind::Snapshot => "ec2.snapshots",
            Kind::NetworkAcl => "ec2.network-acls",
        }
    }

    /// The `resource-type` `DescribeTags` reports.
    pub fn resource_type(self) -> &'static str {
        match self {
            Kind::Vpc => "vpc",
            Kind::Subnet => "subnet",
            Kind::InternetGateway => "internet-gateway",
            Kind::RouteTable => "route-table",
            Kind::SecurityGroup => "security-group",
            Kind::KeyPair => "key-pair",
            Kind::Instance => "instance",
            Kind::Image => "image",
            Kind::Address => "elastic-ip",
            Kind::NatGateway => "natgateway",
            Kind::LaunchTemplate => "launch-template",
            Kind::Volume => "volume",
            Kind::Snapshot => "snapshot",
            Kind::NetworkAcl => "network-acl",
        }
    }
}

/// A resource stored in its kind's table.
pub trait Resource: Serialize + DeserializeOwned {
    const KIND: Kind;
    fn id(&self) -> &str;
}

/// Ids asked for that do not exist are an error, as EC2 answers (the first missing one).
pub(crate) fn check_ids<'a>(ids: Option<&[String]>, existing: impl Iterator<Item = &'a str> + Clone, kind: Kind) -> Result<()> {
    for id in ids.unwrap_or_default() {
        if !existing.clone().any(|e| e == id) {
            return Err(not_found(kind, id));
        }
    }
    Ok(())
}

pub fn key(scope: &Scope, id: &str) -> Vec<u8> {
    nubo_store::key::key(&[&scope.account, &scope.region, id])
}

pub fn scope_prefix(scope: &Scope) -> Vec<u8> {
    nubo_store::key::key(&[&scope.account, &scope.region])
}

pub fn get<R: Resource>(tx: &(impl ReadTxn + ?Sized), scope: &Scope, id: &str) -> Result<Option<R>> {
    Ok(get_json(tx, R::KIND.table(), &key(scope, id))?)
}

/// The resource, or EC2's `…NotFound` for its kind.
pub fn must<R: Resource>(tx: &(impl ReadTxn + ?Sized), scope: &Scope, id: &str) -> Result<R> {
    get(tx, scope, id)?.ok_or_else(|| not_found(R::KIND, id))
}

pub fn all<R: Resource>(tx: &(impl ReadTxn + ?Sized), scope: &Scope) -> Result<Vec<R>> {
    Ok(scan_json::<R>(tx, R::KIND.table(), &scope_prefix(scope), None, usize::MAX)?.into_iter().map(|(_, r)| r).collect())
}

pub fn put<R: Resource>(tx: &mut (impl WriteTxn + ?Sized), scope: &Scope, r: &R) -> Result<()> {
    Ok(put_json(tx, R::KIND.table(), &key(scope, r.id()), r)?)
}

pub fn delete<R: Resource>(tx: &mut (impl WriteTxn + ?Sized), scope: &Scope, id: &str) -> Result<()> {
    tx.delete(R::KIND.table(), &key(scope, id))?;
    crate::tags::delete_all(tx, scope, id)
}

impl Ec2 {
    /// The resources of a kind a Describe call selects, with their tags: the ids asked for
    /// (each must exist: EC2 answers `…NotFound` for the first that does not), narrowed by
    /// the filters, whose names `values` maps for this kind.
    pub(crate) fn select<R: Resource>(
        &self,
        scope: &Scope,
        ids: Option<&[String]>,
        filters: &crate::filters::Filters,
        values: impl Fn(&R, &str) -> Option<Vec<String>>,
    ) -> Result<Vec<(R, Vec<(String, String)>)>> {
        let all = self.read(|tx| {
            all::<R>(tx, scope)?
                .into_iter()
                .map(|r| {
                    let t = crate::tags::of(tx, scope, r.id())?;
                    Ok((r, t))
                })
                .collect::<Result<Vec<_>>>()
        })?;
        for id in ids.unwrap_or_default() {
            if !all.iter().any(|(r, _)| r.id() == id) {
                return Err(not_found(R::KIND, id));
            }
        }
        let mut out = Vec::new();
        for (r, t) in all {
            if ids.is_some_and(|ids| !ids.iter().any(|i| i == r.id())) {
                continue;
            }
            if filters.matches(&t, |name| values(&r, name))? {
                out.push((r, t));
            }
        }
        Ok(out)
    }

    /// One write transaction, with EC2's errors. The runtime looks again after each.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&mut dyn WriteTxn) -> Result<T>) -> Result<T> {
        let out = self.store.write(f);
        if let Some(r) = &self.runtime {
            r.poke();
        }
        out
    }

    pub(crate) fn read<T>(&self, f: impl FnOnce(&dyn ReadTxn) -> Result<T>) -> Result<T> {
        let mut out = None;
        self.store.read(|tx| {
            out = Some(f(tx));
            Ok(())
        })?;
        out.expect("the closure ran")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VpcRecord {
    pub id: String,
    pub cidr: String,
    pub is_default: bool,
    pub dns_support: bool,
    pub dns_hostnames: bool,
    pub instance_tenancy: String,
    pub cidr_association_id: String,
    pub dhcp_options_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubnetRecord {
    pub id: String,
    pub vpc_id: String,
    pub cidr: String,
    pub availability_zone: String,
    pub default_for_az: bool,
    pub map_public_ip_on_launch: bool,
    /// Host addresses handed out (offsets into the block; the first four are AWS's).
    #[serde(default)]
    pub used: Vec<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InternetGatewayRecord {
    pub id: String,
    pub vpc_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RouteRecord {
    pub destination: String,
    /// `local`, an `igw-…`, a `nat-…`, an `i-…`.
    pub target: String,
    /// `CreateRouteTable` (the local route) or `CreateRoute`.
    pub origin: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RouteTableRecord {
    pub id: String,
    pub vpc_id: String,
    pub main: bool,
    pub main_association_id: Option<String>,
    pub routes: Vec<RouteRecord>,
    /// (association id, subnet id).
    pub associations: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RuleRecord {
    pub id: String,
    /// `tcp`, `udp`, `icmp`, `icmpv6`, `-1` (all), or a protocol number.
    pub protocol: String,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub cidr_ipv4: Option<String>,
    pub cidr_ipv6: Option<String>,
    pub group_id: Option<String>,
    pub prefix_list_id: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecurityGroupRecord {
    pub id: String,
    pub name: String,
    pub description: String,
    pub vpc_id: String,
    pub ingress: Vec<RuleRecord>,
    pub egress: Vec<RuleRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyPairRecord {
    pub id: String,
    pub name: String,
    pub key_type: String,
    pub fingerprint: String,
    /// OpenSSH form (`ssh-rsa AAAA…`).
    pub public_key: String,
    pub created: Timestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstanceRecord {
    pub id: String,
    pub reservation_id: String,
    pub image_id: String,
    pub instance_type: String,
    pub key_name: Option<String>,
    pub subnet_id: String,
    pub vpc_id: String,
    pub availability_zone: String,
    pub private_ip: String,
    pub public_ip: Option<String>,
    pub security_groups: Vec<(String, String)>,
    pub state: crate::instances::State,
    /// When the current state was entered (transitions complete on the clock).
    pub state_since: Timestamp,
    pub state_reason: Option<(String, String)>,
    pub state_transition_reason: String,
    pub launch_time: Timestamp,
    pub ami_launch_index: i32,
    pub user_data: Option<String>,
    pub iam_instance_profile: Option<String>,
    pub client_token: Option<String>,
    pub disable_api_termination: bool,
    pub shutdown_behavior: String,
    pub root_device_name: String,
    pub root_volume_id: String,
    pub eni_id: String,
    pub mac: String,
    pub architecture: String,
    pub monitoring: bool,
    /// Boots asked for by reboots: the runtime boots a machine again when it moves.
    #[serde(default)]
    pub boots: u32,
    /// The machine died on its own: status checks fail until a reboot or a stop.
    #[serde(default)]
    pub impaired: bool,
}

macro_rules! resource {
    ($t:ty, $k:expr) => {
        impl Resource for $t {
            const KIND: Kind = $k;
            fn id(&self) -> &str {
                &self.id
            }
        }
    };
}

resource!(VpcRecord, Kind::Vpc);
resource!(SubnetRecord, Kind::Subnet);
resource!(InternetGatewayRecord, Kind::InternetGateway);
resource!(RouteTableRecord, Kind::RouteTable);
resource!(SecurityGroupRecord, Kind::SecurityGroup);
resource!(KeyPairRecord, Kind::KeyPair);
resource!(InstanceRecord, Kind::Instance);
