//! Elastic IPs (five per region, as EC2's default quota) and NAT gateways, which take one.
//! Public addresses are data only, drawn from the documentation ranges: nothing on the
//! host ever connects to them.

use crate::error::{not_found, Ec2Error, Result};
use crate::filters::{one, Filters};
use crate::records::{self, InstanceRecord, Kind, Resource, SubnetRecord};
use crate::{tags, Ec2};
use nubo_core::ids::resource_id;
use nubo_core::{Scope, Timestamp};
use nubo_model::generated::ec2::*;
use serde::{Deserialize, Serialize};

pub const MAX_ADDRESSES: usize = 5;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AddressRecord {
    /// `eipalloc-…`.
    pub id: String,
    pub public_ip: String,
    /// (association id, instance id or NAT gateway id, private ip).
    pub association: Option<(String, String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NatGatewayRecord {
    pub id: String,
    pub subnet_id: String,
    pub vpc_id: String,
    pub allocation_id: Option<String>,
    pub public_ip: Option<String>,
    pub private_ip: String,
    pub connectivity: String,
    pub created: Timestamp,
    pub deleted: Option<Timestamp>,
    pub eni_id: String,
}

impl Resource for AddressRecord {
    const KIND: Kind = Kind::Address;
    fn id(&self) -> &str {
        &self.id
    }
}

impl Resource for NatGatewayRecord {
    const KIND: Kind = Kind::NatGateway;
    fn id(&self) -> &str {
        &self.id
    }
}

/// NAT gateways become available, and deleted ones go, this long after the call.
const NAT_TRANSITION_SECS: i64 = 5;

/// A public address no instance or Elastic IP of the scope has: data only (nothing ever
/// connects to it), from the documentation ranges 198.51.100.0/24 and 203.0.113.0/24.
pub(crate) fn fresh_public_ip(tx: &(impl nubo_store::ReadTxn + ?Sized), scope: &Scope) -> Result<String> {
    let mut taken: Vec<String> = records::all::<AddressRecord>(tx, scope)?.into_iter().map(|a| a.public_ip).collect();
    taken.extend(records::all::<InstanceRecord>(tx, scope)?.into_iter().filter_map(|i| i.public_ip));
    taken.extend(records::all::<NatGatewayRecord>(tx, scope)?.into_iter().filter_map(|n| n.public_ip));
    // The host plays the internet: public addresses are loopback addresses of the host
    // (127.16.0.0/12), where the runtime publishes what security groups let in. Drawn at
    // random, so that scopes (accounts, regions) hardly ever meet.
    for _ in 0..64 {
        let ip = nubo_core::addressing::public_loopback_address().to_string();
        if !taken.contains(&ip) {
            return Ok(ip);
        }
    }
    Err(Ec2Error::LimitExceeded { code: "InsufficientAddressCapacity", message: "No public addresses are left in this region.".into() })
}

/// The Elastic IP associated with an instance, if any.
pub(crate) fn elastic_ip_of(tx: &(impl nubo_store::ReadTxn + ?Sized), scope: &Scope, instance: &str) -> Result<Option<String>> {
    Ok(records::all::<AddressRecord>(tx, scope)?.into_iter().find(|a| a.association.as_ref().is_some_and(|x| x.1 == instance)).map(|a| a.public_ip))
}

/// Disassociates the Elastic IPs of a terminating instance.
pub(crate) fn release_from(tx: &mut (impl nubo_store::WriteTxn + ?Sized), scope: &Scope, instance: &str) -> Result<()> {
    for mut a in records::all::<AddressRecord>(tx, scope)? {
        if a.association.as_ref().is_some_and(|x| x.1 == instance) {
            a.association = None;
            records::put(tx, scope, &a)?;
        }
    }
    Ok(())
}

impl Ec2 {
    pub(crate) fn allocate_address(&self, scope: &Scope, input: AllocateAddressRequest) -> Result<AllocateAddressResult> {
        let tags = tags::from_specs(&input.tag_specifications, "elastic-ip");
        let a = self.write(|tx| {
            let all = records::all::<AddressRecord>(tx, scope)?;
            if all.len() >= MAX_ADDRESSES {
                return Err(Ec2Error::LimitExceeded { code: "AddressLimitExceeded", message: "The maximum number of addresses has been reached.".into() });
            }
            let a = AddressRecord { id: resource_id("eipalloc"), public_ip: fresh_public_ip(tx, scope)?, association: None };
            records::put(tx, scope, &a)?;
            tags::set(tx, scope, &a.id, &tags)?;
            Ok(a)
        })?;
        Ok(AllocateAddressResult {
            allocation_id: Some(a.id),
            public_ipv4_pool: Some("amazon".into()),
            network_border_group: Some(scope.region.clone()),
            domain: Some("vpc".into()),
            public_ip: Some(a.public_ip),
            ..Default::default()
        })
    }

    fn address_by(&self, tx: &dyn nubo_store::ReadTxn, scope: &Scope, allocation_id: Option<&str>, public_ip: Option<&str>) -> Result<AddressRecord> {
        match (allocation_id, public_ip) {
            (Some(id), _) => records::must(tx, scope, id),
            (None, Some(ip)) => records::all::<AddressRecord>(tx, scope)?
                .into_iter()
                .find(|a| a.public_ip == ip)
                .ok_or_else(|| Ec2Error::NotFound { code: "InvalidAddress.NotFound", message: format!("Address '{ip}' not found.") }),
            (None, None) => Err(Ec2Error::MissingParameter("The request must contain the parameter AllocationId or PublicIp".into())),
        }
    }

    pub(crate) fn associate_address(&self, scope: &Scope, input: AssociateAddressRequest) -> Result<String> {
        let instance_id = input.instance_id.clone().ok_or_else(|| Ec2Error::MissingParameter("The request must contain the parameter InstanceId or NetworkInterfaceId".into()))?;
        let now = self.clock.now();
        self.write(|tx| {
            let mut a = self.address_by(tx, scope, input.allocation_id.as_deref(), input.public_ip.as_deref())?;
            let mut instance: InstanceRecord = records::must(tx, scope, &instance_id)?;
            instance.settle(now);
            if instance.state == crate::instances::State::Terminated {
                return Err(Ec2Error::IncorrectInstanceState(format!("The instance '{instance_id}' is not in a valid state for this operation.")));
            }
            if a.association.as_ref().is_some_and(|x| x.1.starts_with("nat-")) {
                return Err(Ec2Error::Invalid { code: "Resource.AlreadyAssociated", message: format!("resource {} is in use by a NAT gateway", a.id) });
            }
            if a.association.is_some() && input.allow_reassociation == Some(false) {
                return Err(Ec2Error::Invalid { code: "Resource.AlreadyAssociated", message: format!("resource {} is already associated with associate-id {}", a.id, a.association.as_ref().map(|x| x.0.clone()).unwrap_or_default()) });
            }
            // An instance has one public address: the Elastic IP replaces its own, and
            // takes over from any other Elastic IP it had.
            for mut other in records::all::<AddressRecord>(tx, scope)? {
                if other.id != a.id && other.association.as_ref().is_some_and(|x| x.1 == instance_id) {
                    other.association = None;
                    records::put(tx, scope, &other)?;
                }
            }
            // Moved from another instance: that one loses the address.
            if let Some((_, previous, _)) = a.association.clone().filter(|x| x.1 != instance_id) {
                if let Some(mut old) = records::get::<InstanceRecord>(tx, scope, &previous)? {
                    old.public_ip = None;
                    records::put(tx, scope, &old)?;
                }
            }
            let association = resource_id("eipassoc");
            a.association = Some((association.clone(), instance_id.clone(), instance.private_ip.clone()));
            instance.public_ip = Some(a.public_ip.clone());
            records::put(tx, scope, &a)?;
            records::put(tx, scope, &instance)?;
            Ok(association)
        })
    }

    pub(crate) fn disassociate_address(&self, scope: &Scope, association_id: Option<&str>, public_ip: Option<&str>) -> Result<()> {
        self.write(|tx| {
            let all = records::all::<AddressRecord>(tx, scope)?;
            let mut a = all
                .into_iter()
                .find(|a| a.association.as_ref().is_some_and(|x| Some(x.0.as_str()) == association_id) || Some(a.public_ip.as_str()) == public_ip)
                .ok_or_else(|| Ec2Error::NotFound { code: "InvalidAssociationID.NotFound", message: format!("The association ID '{}' does not exist", association_id.unwrap_or_default()) })?;
            if let Some((_, target, _)) = a.association.take() {
                if let Some(mut i) = records::get::<InstanceRecord>(tx, scope, &target)? {
                    i.public_ip = None;
                    records::put(tx, scope, &i)?;
                }
            }
            records::put(tx, scope, &a)
        })
    }

    pub(crate) fn release_address(&self, scope: &Scope, allocation_id: Option<&str>, public_ip: Option<&str>) -> Result<()> {
        self.write(|tx| {
            let a = self.address_by(tx, scope, allocation_id, public_ip)?;
            if a.association.is_some() {
                return Err(Ec2Error::Invalid { code: "InvalidIPAddress.InUse", message: format!("Address {} is in use.", a.public_ip) });
            }
            records::delete::<AddressRecord>(tx, scope, &a.id)
        })
    }

    pub(crate) fn describe_addresses(&self, scope: &Scope, input: DescribeAddressesRequest) -> Result<Vec<Address>> {
        let filters = Filters::new(input.filters)?;
        let all: Vec<(Vec<(String, String)>, AddressRecord)> =
            self.select::<AddressRecord>(scope, input.allocation_ids.as_deref(), &Filters::new(None)?, |_, _| None)?.into_iter().map(|(a, t)| (t, a)).collect();
        let mut out = Vec::new();
        for (t, a) in &all {
            if input.allocation_ids.as_ref().is_some_and(|ids| !ids.contains(&a.id)) || input.public_ips.as_ref().is_some_and(|ips| !ips.contains(&a.public_ip)) {
                continue;
            }
            let target = a.association.as_ref().map(|x| x.1.clone());
            let ok = filters.matches(t, |name| match name {
                "allocation-id" => one(&a.id),
                "public-ip" => one(&a.public_ip),
                "domain" => one("vpc"),
                "instance-id" => Some(target.iter().filter(|t| t.starts_with("i-")).cloned().collect()),
                "association-id" => Some(a.association.iter().map(|x| x.0.clone()).collect()),
                _ => None,
            })?;
            if ok {
                out.push(Address {
                    allocation_id: Some(a.id.clone()),
                    association_id: a.association.as_ref().map(|x| x.0.clone()),
                    domain: Some("vpc".into()),
                    private_ip_address: a.association.as_ref().map(|x| x.2.clone()),
                    tags: tags::out(t),
                    public_ipv4_pool: Some("amazon".into()),
                    network_border_group: Some(scope.region.clone()),
                    instance_id: target.filter(|t| t.starts_with("i-")),
                    public_ip: Some(a.public_ip.clone()),
                    network_interface_owner_id: a.association.as_ref().map(|_| scope.account.clone()),
                    ..Default::default()
                });
            }
        }
        Ok(out)
    }

    pub(crate) fn create_nat_gateway(&self, scope: &Scope, input: CreateNatGatewayRequest) -> Result<NatGateway> {
        let subnet_id = input.subnet_id.clone().ok_or_else(|| Ec2Error::MissingParameter("The request must contain the parameter SubnetId".into()))?;
        let connectivity = input.connectivity_type.clone().unwrap_or_else(|| "public".into());
        let tags = tags::from_specs(&input.tag_specifications, "natgateway");
        let now = self.clock.now();
        let nat = self.write(|tx| {
            let mut subnet: SubnetRecord = records::must(tx, scope, &subnet_id)?;
            let (allocation_id, public_ip) = if connectivity == "public" {
                let id = input.allocation_id.clone().ok_or_else(|| Ec2Error::MissingParameter("The request must contain the parameter AllocationId for a public NAT gateway".into()))?;
                let mut a: AddressRecord = records::get(tx, scope, &id)?.ok_or_else(|| Ec2Error::NotFound { code: "InvalidAllocationID.NotFound", message: format!("The allocation ID '{id}' does not exist") })?;
                if a.association.is_some() {
                    return Err(Ec2Error::Invalid { code: "Resource.AlreadyAssociated", message: format!("Elastic IP address [{id}] is already associated") });
                }
                let nat_id = resource_id("nat");
                a.association = Some((resource_id("eipassoc"), nat_id.clone(), String::new()));
                let ip = a.public_ip.clone();
                records::put(tx, scope, &a)?;
                (Some((id, nat_id)), Some(ip))
            } else {
                (None, None)
            };
            let block = crate::network::Cidr::parse(&subnet.cidr).ok_or_else(|| Ec2Error::Internal("stored subnet CIDR".into()))?;
            let offset = crate::network::next_host(&block, &subnet.used).ok_or_else(|| Ec2Error::Invalid { code: "InsufficientFreeAddressesInSubnet", message: format!("Subnet '{subnet_id}' has no free addresses") })?;
            subnet.used.push(offset);
            records::put(tx, scope, &subnet)?;
            let nat = NatGatewayRecord {
                id: allocation_id.as_ref().map(|(_, n)| n.clone()).unwrap_or_else(|| resource_id("nat")),
                subnet_id: subnet.id.clone(),
                vpc_id: subnet.vpc_id.clone(),
                allocation_id: allocation_id.map(|(a, _)| a),
                public_ip,
                private_ip: block.host(offset).to_string(),
                connectivity: connectivity.clone(),
                created: now,
                deleted: None,
                eni_id: resource_id("eni"),
            };
            records::put(tx, scope, &nat)?;
            tags::set(tx, scope, &nat.id, &tags)?;
            Ok(nat)
        })?;
        Ok(nat_out(&nat, now, &tags))
    }

    pub(crate) fn delete_nat_gateway(&self, scope: &Scope, id: &str) -> Result<()> {
        let now = self.clock.now();
        self.write(|tx| {
            let mut nat: NatGatewayRecord = records::must(tx, scope, id)?;
            if nat.deleted.is_some() {
                return Ok(());
            }
            nat.deleted = Some(now);
            if let Some(a) = &nat.allocation_id {
                if let Some(mut addr) = records::get::<AddressRecord>(tx, scope, a)? {
                    if addr.association.as_ref().is_some_and(|x| x.1 == nat.id) {
                        addr.association = None;
                        records::put(tx, scope, &addr)?;
                    }
                }
            }
            // Its private address goes back to the subnet.
            if let Some(mut subnet) = records::get::<SubnetRecord>(tx, scope, &nat.subnet_id)? {
                if let (Some(block), Ok(ip)) = (crate::network::Cidr::parse(&subnet.cidr), nat.private_ip.parse::<std::net::Ipv4Addr>()) {
                    let offset = u32::from(ip).wrapping_sub(block.base);
                    subnet.used.retain(|o| *o != offset);
                    records::put(tx, scope, &subnet)?;
                }
            }
            records::put(tx, scope, &nat)
        })
    }

    pub(crate) fn describe_nat_gateways(&self, scope: &Scope, input: DescribeNatGatewaysRequest) -> Result<Vec<NatGateway>> {
        let filters = Filters::new(input.filter)?;
        let now = self.clock.now();
        let selected = self.select::<NatGatewayRecord>(scope, input.nat_gateway_ids.as_deref(), &filters, |n, name| match name {
            "nat-gateway-id" => one(&n.id),
            "subnet-id" => one(&n.subnet_id),
            "vpc-id" => one(&n.vpc_id),
            "state" => one(nat_state(n, now)),
            _ => None,
        })?;
        Ok(selected.iter().map(|(n, t)| nat_out(n, now, t)).collect())
    }
}

fn nat_state(n: &NatGatewayRecord, now: Timestamp) -> &'static str {
    let after = |t: Timestamp| now.as_millis() - t.as_millis() >= NAT_TRANSITION_SECS * 1000;
    match n.deleted {
        Some(d) if after(d) => "deleted",
        Some(_) => "deleting",
        None if after(n.created) => "available",
        None => "pending",
    }
}

fn nat_out(n: &NatGatewayRecord, now: Timestamp, tags: &[(String, String)]) -> NatGateway {
    NatGateway {
        create_time: Some(n.created),
        delete_time: n.deleted,
        nat_gateway_addresses: Some(vec![NatGatewayAddress {
            allocation_id: n.allocation_id.clone(),
            network_interface_id: Some(n.eni_id.clone()),
            private_ip: Some(n.private_ip.clone()),
            public_ip: n.public_ip.clone(),
            is_primary: Some(true),
            status: Some("succeeded".into()),
            ..Default::default()
        }]),
        nat_gateway_id: Some(n.id.clone()),
        state: Some(nat_state(n, now).into()),
        subnet_id: Some(n.subnet_id.clone()),
        vpc_id: Some(n.vpc_id.clone()),
        tags: tags::out(tags),
        connectivity_type: Some(n.connectivity.clone()),
        ..Default::default()
    }
}

/// The NAT gateway a route names must exist, not be deleted, and be in the route's VPC.
pub(crate) fn check_nat(tx: &(impl nubo_store::ReadTxn + ?Sized), scope: &Scope, id: &str, vpc_id: &str) -> Result<()> {
    let nat = records::get::<NatGatewayRecord>(tx, scope, id)?.filter(|n| n.deleted.is_none()).ok_or_else(|| not_found(Kind::NatGateway, id))?;
    if nat.vpc_id != vpc_id {
        return Err(Ec2Error::InvalidParameterValue(format!("route table and NAT gateway {id} belong to different networks")));
    }
    Ok(())
}

/// Whether a live NAT gateway sits in a subnet.
pub(crate) fn nat_in(tx: &(impl nubo_store::ReadTxn + ?Sized), scope: &Scope, subnet: &str) -> Result<bool> {
    Ok(records::all::<NatGatewayRecord>(tx, scope)?.iter().any(|n| n.subnet_id == subnet && n.deleted.is_none()))
}
