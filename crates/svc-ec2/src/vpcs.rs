//! Networking: the default VPC every account and region starts with, VPCs, subnets,
//! internet gateways and route tables.

use crate::error::{Ec2Error, Result};
use crate::filters::{one, Filters};
use crate::network::{self, Cidr};
use crate::records::{self, InternetGatewayRecord, RouteRecord, RouteTableRecord, SecurityGroupRecord, SubnetRecord, VpcRecord, DEFAULTS};
use crate::{regions, tags, Ec2};
use nubo_core::ids::resource_id;
use nubo_core::Scope;
use nubo_model::generated::ec2::*;
use nubo_store::WriteTxn;

/// VPCs per region, as EC2's default quota.
pub const MAX_VPCS: usize = 5;

fn new_vpc(cidr: &str, is_default: bool) -> VpcRecord {
    VpcRecord {
        id: resource_id("vpc"),
        cidr: cidr.to_string(),
        is_default,
        dns_support: true,
        dns_hostnames: is_default,
        instance_tenancy: "default".into(),
        cidr_association_id: resource_id("vpc-cidr-assoc"),
        dhcp_options_id: "dopt-7a8b9c2d".into(),
    }
}

/// What every VPC comes with: a main route table with the local route, and a default
/// security group that lets its members talk and everything out.
fn vpc_companions(tx: &mut (impl WriteTxn + ?Sized), scope: &Scope, vpc: &VpcRecord) -> Result<(RouteTableRecord, SecurityGroupRecord)> {
    let rt = RouteTableRecord {
        id: resource_id("rtb"),
        vpc_id: vpc.id.clone(),
        main: true,
        main_association_id: Some(resource_id("rtbassoc")),
        routes: vec![RouteRecord { destination: vpc.cidr.clone(), target: "local".into(), origin: "CreateRouteTable".into() }],
        associations: Vec::new(),
    };
    records::put(tx, scope, &rt)?;
    let sg_id = resource_id("sg");
    let sg = SecurityGroupRecord {
        id: sg_id.clone(),
        name: "default".into(),
        description: "default VPC security group".into(),
        vpc_id: vpc.id.clone(),
        ingress: vec![crate::security_groups::rule_from_group("-1", None, None, &sg_id)],
        egress: vec![crate::security_groups::rule_all_out()],
    };
    records::put(tx, scope, &sg)?;
    Ok((rt, sg))
}

impl Ec2 {
    /// Creates the default VPC of a scope the first time the scope is used: 172.31.0.0/16,
    /// a /20 default subnet per Availability Zone, an attached internet gateway and a
    /// route to it, as AWS sets up every account.
    pub(crate) fn ensure_defaults(&self, scope: &Scope) -> Result<()> {
        let marker = records::scope_prefix(scope);
        if self.read(|tx| Ok(tx.get(DEFAULTS, &marker)?.is_some()))? {
            return Ok(());
        }
        let _guard = self.defaults_lock.lock().map_err(|_| Ec2Error::Internal("defaults lock".into()))?;
        self.write(|tx| {
            if tx.get(DEFAULTS, &marker)?.is_some() {
                return Ok(());
            }
            let vpc = new_vpc("172.31.0.0/16", true);
            records::put(tx, scope, &vpc)?;
            let (mut rt, _) = vpc_companions(tx, scope, &vpc)?;
            let igw = InternetGatewayRecord { id: resource_id("igw"), vpc_id: Some(vpc.id.clone()) };
            records::put(tx, scope, &igw)?;
            rt.routes.push(RouteRecord { destination: "0.0.0.0/0".into(), target: igw.id.clone(), origin: "CreateRoute".into() });
            records::put(tx, scope, &rt)?;
            for (i, (zone, _)) in regions::zones(&scope.region).into_iter().enumerate() {
                let subnet = SubnetRecord {
                    id: resource_id("subnet"),
                    vpc_id: vpc.id.clone(),
                    cidr: format!("172.31.{}.0/20", i * 16),
                    availability_zone: zone,
                    default_for_az: true,
                    map_public_ip_on_launch: true,
                    used: Vec::new(),
                };
                records::put(tx, scope, &subnet)?;
            }
            tx.put(DEFAULTS, &marker, vpc.id.as_bytes())?;
            Ok(())
        })
    }

    pub(crate) fn default_vpc(&self, scope: &Scope) -> Result<Option<VpcRecord>> {
        Ok(self.read(|tx| records::all::<VpcRecord>(tx, scope))?.into_iter().find(|v| v.is_default))
    }

    pub(crate) fn create_vpc(&self, scope: &Scope, input: CreateVpcRequest) -> Result<Vpc> {
        let cidr = input.cidr_block.ok_or_else(|| Ec2Error::MissingParameter("The request must contain the parameter cidrBlock".into()))?;
        network::vpc_block(&cidr)?;
        let mut vpc = new_vpc(&cidr, false);
        if let Some(t) = input.instance_tenancy {
            vpc.instance_tenancy = t;
        }
        let tags = tags::from_specs(&input.tag_specifications, "vpc");
        self.write(|tx| {
            if records::all::<VpcRecord>(tx, scope)?.len() >= MAX_VPCS {
                return Err(Ec2Error::LimitExceeded { code: "VpcLimitExceeded", message: "The maximum number of VPCs has been reached.".into() });
            }
            records::put(tx, scope, &vpc)?;
            vpc_companions(tx, scope, &vpc)?;
            tags::set(tx, scope, &vpc.id, &tags)?;
            Ok(())
        })?;
        Ok(vpc_out(scope, &vpc, &tags))
    }

    pub(crate) fn delete_vpc(&self, scope: &Scope, id: &str) -> Result<()> {
        self.write(|tx| {
            let vpc: VpcRecord = records::must(tx, scope, id)?;
            let busy = records::all::<SubnetRecord>(tx, scope)?.iter().any(|s| s.vpc_id == vpc.id)
                || records::all::<InternetGatewayRecord>(tx, scope)?.iter().any(|g| g.vpc_id.as_deref() == Some(&vpc.id))
                || records::all::<RouteTableRecord>(tx, scope)?.iter().any(|r| r.vpc_id == vpc.id && !r.main)
                || records::all::<SecurityGroupRecord>(tx, scope)?.iter().any(|g| g.vpc_id == vpc.id && g.name != "default");
            if busy {
                return Err(Ec2Error::DependencyViolation(format!("The vpc '{id}' has dependencies and cannot be deleted.")));
            }
            for rt in records::all::<RouteTableRecord>(tx, scope)?.into_iter().filter(|r| r.vpc_id == vpc.id) {
                records::delete::<RouteTableRecord>(tx, scope, &rt.id)?;
            }
            for sg in records::all::<SecurityGroupRecord>(tx, scope)?.into_iter().filter(|g| g.vpc_id == vpc.id) {
                records::delete::<SecurityGroupRecord>(tx, scope, &sg.id)?;
            }
            records::delete::<VpcRecord>(tx, scope, id)
        })
    }

    pub(crate) fn describe_vpcs(&self, scope: &Scope, ids: Option<Vec<String>>, filters: &Filters) -> Result<Vec<Vpc>> {
        let selected = self.select::<VpcRecord>(scope, ids.as_deref(), filters, |v, name| match name {
            "vpc-id" => one(&v.id),
            "cidr" | "cidr-block-association.cidr-block" | "cidrBlock" => one(&v.cidr),
            "is-default" | "isDefault" => one(v.is_default.to_string()),
            "state" => one("available"),
            "owner-id" => one(&scope.account),
            "dhcp-options-id" => one(&v.dhcp_options_id),
            _ => None,
        })?;
        Ok(selected.iter().map(|(v, t)| vpc_out(scope, v, t)).collect())
    }

    pub(crate) fn modify_vpc_attribute(&self, scope: &Scope, input: ModifyVpcAttributeRequest) -> Result<()> {
        self.write(|tx| {
            let mut vpc: VpcRecord = records::must(tx, scope, &input.vpc_id)?;
            if let Some(v) = input.enable_dns_support.and_then(|a| a.value) {
                vpc.dns_support = v;
            }
            if let Some(v) = input.enable_dns_hostnames.and_then(|a| a.value) {
                vpc.dns_hostnames = v;
            }
            records::put(tx, scope, &vpc)
        })
    }

    pub(crate) fn describe_vpc_attribute(&self, scope: &Scope, input: DescribeVpcAttributeRequest) -> Result<DescribeVpcAttributeResult> {
        let vpc: VpcRecord = self.read(|tx| records::must(tx, scope, &input.vpc_id))?;
        let value = |v: bool| Some(AttributeBooleanValue { value: Some(v) });
        let mut out = DescribeVpcAttributeResult { vpc_id: Some(vpc.id.clone()), ..Default::default() };
        match input.attribute.as_str() {
            "enableDnsSupport" => out.enable_dns_support = value(vpc.dns_support),
            "enableDnsHostnames" => out.enable_dns_hostnames = value(vpc.dns_hostnames),
            "enableNetworkAddressUsageMetrics" => out.enable_network_address_usage_metrics = value(false),
            other => return Err(Ec2Error::InvalidParameterValue(format!("Value ({other}) for parameter attribute is invalid. Unknown attribute."))),
        }
        Ok(out)
    }

    pub(crate) fn create_subnet(&self, scope: &Scope, input: CreateSubnetRequest) -> Result<Subnet> {
        let tags = tags::from_specs(&input.tag_specifications, "subnet");
        let zones = regions::zones(&scope.region);
        let zone = match (input.availability_zone, input.availability_zone_id) {
            (Some(z), _) => zones.iter().find(|(n, _)| *n == z).map(|(n, _)| n.clone()).ok_or_else(|| {
                Ec2Error::InvalidParameterValue(format!("Value ({z}) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: {}.", zones.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")))
            })?,
            (None, Some(id)) => zones.iter().find(|(_, i)| *i == id).map(|(n, _)| n.clone()).ok_or_else(|| Ec2Error::InvalidParameterValue(format!("Value ({id}) for parameter availabilityZoneId is invalid.")))?,
            (None, None) => zones[fastrand::usize(..zones.len())].0.clone(),
        };
        let cidr = input.cidr_block.ok_or_else(|| Ec2Error::MissingParameter("The request must contain the parameter cidrBlock".into()))?;
        let subnet = self.write(|tx| {
            let vpc: VpcRecord = records::must(tx, scope, &input.vpc_id)?;
            let vpc_cidr = Cidr::parse(&vpc.cidr).ok_or_else(|| Ec2Error::Internal("stored VPC CIDR".into()))?;
            let block = network::subnet_block(&cidr, &vpc_cidr)?;
            for other in records::all::<SubnetRecord>(tx, scope)?.iter().filter(|s| s.vpc_id == vpc.id) {
                if Cidr::parse(&other.cidr).is_some_and(|o| o.overlaps(&block)) {
                    return Err(Ec2Error::Invalid { code: "InvalidSubnet.Conflict", message: format!("The CIDR '{cidr}' conflicts with another subnet") });
                }
            }
            let subnet = SubnetRecord {
                id: resource_id("subnet"),
                vpc_id: vpc.id,
                cidr: block.to_string(),
                availability_zone: zone.clone(),
                default_for_az: false,
                map_public_ip_on_launch: false,
                used: Vec::new(),
            };
            records::put(tx, scope, &subnet)?;
            tags::set(tx, scope, &subnet.id, &tags)?;
            Ok(subnet)
        })?;
        Ok(subnet_out(scope, &subnet, &tags))
    }

    pub(crate) fn delete_subnet(&self, scope: &Scope, id: &str) -> Result<()> {
        self.write(|tx| {
            let _: SubnetRecord = records::must(tx, scope, id)?;
            let in_use = crate::instances::settled(tx, scope, self.clock.now())?
                .iter()
                .any(|i| i.subnet_id == id && i.state != crate::instances::State::Terminated)
                || crate::addresses::nat_in(tx, scope, id)?;
            if in_use {
                return Err(Ec2Error::DependencyViolation(format!("The subnet '{id}' has dependencies and cannot be deleted.")));
            }
            for mut rt in records::all::<RouteTableRecord>(tx, scope)? {
                let before = rt.associations.len();
                rt.associations.retain(|(_, s)| s != id);
                if rt.associations.len() != before {
                    records::put(tx, scope, &rt)?;
                }
            }
            records::delete::<SubnetRecord>(tx, scope, id)
        })
    }

    pub(crate) fn describe_subnets(&self, scope: &Scope, ids: Option<Vec<String>>, filters: &Filters) -> Result<Vec<Subnet>> {
        let selected = self.select::<SubnetRecord>(scope, ids.as_deref(), filters, |s, name| match name {
            "subnet-id" => one(&s.id),
            "vpc-id" => one(&s.vpc_id),
            "cidr-block" | "cidr" | "cidrBlock" => one(&s.cidr),
            "availability-zone" | "availabilityZone" => one(&s.availability_zone),
            "availability-zone-id" => one(regions::zone_id(&scope.region, &s.availability_zone).unwrap_or_default()),
            "default-for-az" | "defaultForAz" => one(s.default_for_az.to_string()),
            "map-public-ip-on-launch" => one(s.map_public_ip_on_launch.to_string()),
            "state" => one("available"),
            "owner-id" => one(&scope.account),
            _ => None,
        })?;
        Ok(selected.iter().map(|(s, t)| subnet_out(scope, s, t)).collect())
    }

    pub(crate) fn modify_subnet_attribute(&self, scope: &Scope, input: ModifySubnetAttributeRequest) -> Result<()> {
        self.write(|tx| {
            let mut s: SubnetRecord = records::must(tx, scope, &input.subnet_id)?;
            if let Some(v) = input.map_public_ip_on_launch.and_then(|a| a.value) {
                s.map_public_ip_on_launch = v;
            }
            records::put(tx, scope, &s)
        })
    }

    pub(crate) fn create_internet_gateway(&self, scope: &Scope, input: CreateInternetGatewayRequest) -> Result<InternetGateway> {
        let tags = tags::from_specs(&input.tag_specifications, "internet-gateway");
        let igw = InternetGatewayRecord { id: resource_id("igw"), vpc_id: None };
        self.write(|tx| {
            records::put(tx, scope, &igw)?;
            tags::set(tx, scope, &igw.id, &tags)
        })?;
        Ok(igw_out(scope, &igw, &tags))
    }

    pub(crate) fn attach_internet_gateway(&self, scope: &Scope, igw_id: &str, vpc_id: &str, attach: bool) -> Result<()> {
        self.write(|tx| {
            let mut igw: InternetGatewayRecord = records::must(tx, scope, igw_id)?;
            let _: VpcRecord = records::must(tx, scope, vpc_id)?;
            if attach {
                if igw.vpc_id.is_some() {
                    return Err(Ec2Error::Invalid { code: "Resource.AlreadyAssociated", message: format!("resource {igw_id} is already attached to network {}", igw.vpc_id.clone().unwrap_or_default()) });
                }
                if records::all::<InternetGatewayRecord>(tx, scope)?.iter().any(|g| g.vpc_id.as_deref() == Some(vpc_id)) {
                    return Err(Ec2Error::Invalid { code: "Resource.AlreadyAssociated", message: format!("network {vpc_id} already has an internet gateway attached") });
                }
                igw.vpc_id = Some(vpc_id.to_string());
            } else {
                if igw.vpc_id.as_deref() != Some(vpc_id) {
                    return Err(Ec2Error::Invalid { code: "Gateway.NotAttached", message: format!("resource {igw_id} is not attached to network {vpc_id}") });
                }
                igw.vpc_id = None;
            }
            records::put(tx, scope, &igw)
        })
    }

    pub(crate) fn delete_internet_gateway(&self, scope: &Scope, id: &str) -> Result<()> {
        self.write(|tx| {
            let igw: InternetGatewayRecord = records::must(tx, scope, id)?;
            if igw.vpc_id.is_some() {
                return Err(Ec2Error::DependencyViolation(format!("The internetGateway '{id}' has dependencies and cannot be deleted.")));
            }
            records::delete::<InternetGatewayRecord>(tx, scope, id)
        })
    }

    pub(crate) fn describe_internet_gateways(&self, scope: &Scope, ids: Option<Vec<String>>, filters: &Filters) -> Result<Vec<InternetGateway>> {
        let selected = self.select::<InternetGatewayRecord>(scope, ids.as_deref(), filters, |g, name| match name {
            "internet-gateway-id" => one(&g.id),
            "attachment.vpc-id" => Some(g.vpc_id.iter().cloned().collect()),
            "attachment.state" => Some(g.vpc_id.iter().map(|_| "available".to_string()).collect()),
            "owner-id" => one(&scope.account),
            _ => None,
        })?;
        Ok(selected.iter().map(|(g, t)| igw_out(scope, g, t)).collect())
    }

    pub(crate) fn create_route_table(&self, scope: &Scope, input: CreateRouteTableRequest) -> Result<RouteTable> {
        let tags = tags::from_specs(&input.tag_specifications, "route-table");
        let rt = self.write(|tx| {
            let vpc: VpcRecord = records::must(tx, scope, &input.vpc_id)?;
            let rt = RouteTableRecord {
                id: resource_id("rtb"),
                vpc_id: vpc.id.clone(),
                main: false,
                main_association_id: None,
                routes: vec![RouteRecord { destination: vpc.cidr.clone(), target: "local".into(), origin: "CreateRouteTable".into() }],
                associations: Vec::new(),
            };
            records::put(tx, scope, &rt)?;
            tags::set(tx, scope, &rt.id, &tags)?;
            Ok(rt)
        })?;
        Ok(route_table_out(scope, &rt, &tags))
    }

    pub(crate) fn delete_route_table(&self, scope: &Scope, id: &str) -> Result<()> {
        self.write(|tx| {
            let rt: RouteTableRecord = records::must(tx, scope, id)?;
            if rt.main || !rt.associations.is_empty() {
                return Err(Ec2Error::DependencyViolation(format!("The routeTable '{id}' has dependencies and cannot be deleted.")));
            }
            records::delete::<RouteTableRecord>(tx, scope, id)
        })
    }

    pub(crate) fn create_route(&self, scope: &Scope, input: CreateRouteRequest) -> Result<()> {
        let dest = input.destination_cidr_block.clone().ok_or_else(|| Ec2Error::MissingParameter("The request must contain the parameter destinationCidrBlock".into()))?;
        Cidr::parse(&dest).ok_or_else(|| Ec2Error::InvalidParameterValue(format!("Value ({dest}) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block.")))?;
        let target = input
            .gateway_id
            .or(input.nat_gateway_id)
            .or(input.instance_id)
            .or(input.network_interface_id)
            .or(input.vpc_peering_connection_id)
            .or(input.transit_gateway_id)
            .ok_or_else(|| Ec2Error::MissingParameter("The request must contain exactly one of gatewayId, natGatewayId, networkInterfaceId, vpcPeeringConnectionId, transitGatewayId or instanceId".into()))?;
        self.write(|tx| {
            let mut rt: RouteTableRecord = records::must(tx, scope, &input.route_table_id)?;
            if target.starts_with("nat-") {
                crate::addresses::check_nat(tx, scope, &target, &rt.vpc_id)?;
            }
            if target.starts_with("igw-") {
                let igw: InternetGatewayRecord = records::must(tx, scope, &target)?;
                if igw.vpc_id.as_deref() != Some(rt.vpc_id.as_str()) {
                    return Err(Ec2Error::InvalidParameterValue(format!("route table {} and network gateway {target} belong to different networks", rt.id)));
                }
            }
            if rt.routes.iter().any(|r| r.destination == dest) {
                return Err(Ec2Error::Duplicate { code: "RouteAlreadyExists", message: format!("The route identified by {dest} already exists.") });
            }
            rt.routes.push(RouteRecord { destination: dest, target, origin: "CreateRoute".into() });
            records::put(tx, scope, &rt)
        })
    }

    pub(crate) fn delete_route(&self, scope: &Scope, rt_id: &str, dest: &str) -> Result<()> {
        self.write(|tx| {
            let mut rt: RouteTableRecord = records::must(tx, scope, rt_id)?;
            let before = rt.routes.len();
            rt.routes.retain(|r| r.destination != dest || r.target == "local");
            if rt.routes.len() == before {
                return Err(Ec2Error::NotFound { code: "InvalidRoute.NotFound", message: format!("no route with destination-cidr-block {dest} in route table {rt_id}") });
            }
            records::put(tx, scope, &rt)
        })
    }

    pub(crate) fn associate_route_table(&self, scope: &Scope, rt_id: &str, subnet_id: &str) -> Result<String> {
        self.write(|tx| {
            let mut rt: RouteTableRecord = records::must(tx, scope, rt_id)?;
            let subnet: SubnetRecord = records::must(tx, scope, subnet_id)?;
            if subnet.vpc_id != rt.vpc_id {
                return Err(Ec2Error::InvalidParameterValue(format!("Route table {rt_id} and subnet {subnet_id} belong to different networks")));
            }
            for other in records::all::<RouteTableRecord>(tx, scope)? {
                if other.associations.iter().any(|(_, s)| s == subnet_id) {
                    return Err(Ec2Error::Invalid { code: "Resource.AlreadyAssociated", message: format!("the specified association for route table {} conflicts with an existing association", other.id) });
                }
            }
            let id = resource_id("rtbassoc");
            rt.associations.push((id.clone(), subnet_id.to_string()));
            records::put(tx, scope, &rt)?;
            Ok(id)
        })
    }

    pub(crate) fn disassociate_route_table(&self, scope: &Scope, association_id: &str) -> Result<()> {
        self.write(|tx| {
            for mut rt in records::all::<RouteTableRecord>(tx, scope)? {
                if rt.associations.iter().any(|(a, _)| a == association_id) {
                    rt.associations.retain(|(a, _)| a != association_id);
                    return records::put(tx, scope, &rt);
                }
            }
            Err(Ec2Error::NotFound { code: "InvalidAssociationID.NotFound", message: format!("The association ID '{association_id}' does not exist") })
        })
    }

    pub(crate) fn describe_route_tables(&self, scope: &Scope, ids: Option<Vec<String>>, filters: &Filters) -> Result<Vec<RouteTable>> {
        let selected = self.select::<RouteTableRecord>(scope, ids.as_deref(), filters, |r, name| match name {
            "route-table-id" => one(&r.id),
            "vpc-id" => one(&r.vpc_id),
            "association.main" => one(r.main.to_string()),
            "association.subnet-id" => Some(r.associations.iter().map(|(_, s)| s.clone()).collect()),
            "association.route-table-association-id" => Some(r.associations.iter().map(|(a, _)| a.clone()).chain(r.main_association_id.clone()).collect()),
            "route.destination-cidr-block" => Some(r.routes.iter().map(|x| x.destination.clone()).collect()),
            "route.gateway-id" => Some(r.routes.iter().map(|x| x.target.clone()).collect()),
            "owner-id" => one(&scope.account),
            _ => None,
        })?;
        Ok(selected.iter().map(|(r, t)| route_table_out(scope, r, t)).collect())
    }
}


pub(crate) fn vpc_out(scope: &Scope, v: &VpcRecord, tags: &[(String, String)]) -> Vpc {
    Vpc {
        owner_id: Some(scope.account.clone()),
        instance_tenancy: Some(v.instance_tenancy.clone()),
        cidr_block_association_set: Some(vec![VpcCidrBlockAssociation {
            association_id: Some(v.cidr_association_id.clone()),
            cidr_block: Some(v.cidr.clone()),
            cidr_block_state: Some(VpcCidrBlockState { state: Some("associated".into()), status_message: None }),
        }]),
        is_default: Some(v.is_default),
        tags: tags::out(tags),
        vpc_id: Some(v.id.clone()),
        state: Some("available".into()),
        cidr_block: Some(v.cidr.clone()),
        dhcp_options_id: Some(v.dhcp_options_id.clone()),
        ..Default::default()
    }
}

pub(crate) fn subnet_out(scope: &Scope, s: &SubnetRecord, tags: &[(String, String)]) -> Subnet {
    let free = Cidr::parse(&s.cidr).map_or(0, |c| network::usable(&c) as i64 - s.used.len() as i64);
    Subnet {
        availability_zone_id: regions::zone_id(&scope.region, &s.availability_zone),
        map_customer_owned_ip_on_launch: Some(false),
        owner_id: Some(scope.account.clone()),
        assign_ipv6_address_on_creation: Some(false),
        ipv6_cidr_block_association_set: Some(Vec::new()),
        tags: tags::out(tags),
        subnet_arn: Some(format!("arn:aws:ec2:{}:{}:subnet/{}", scope.region, scope.account, s.id)),
        enable_dns64: Some(false),
        ipv6_native: Some(false),
        subnet_id: Some(s.id.clone()),
        state: Some("available".into()),
        vpc_id: Some(s.vpc_id.clone()),
        cidr_block: Some(s.cidr.clone()),
        available_ip_address_count: Some(free.max(0) as i32),
        availability_zone: Some(s.availability_zone.clone()),
        default_for_az: Some(s.default_for_az),
        map_public_ip_on_launch: Some(s.map_public_ip_on_launch),
        ..Default::default()
    }
}

fn igw_out(scope: &Scope, g: &InternetGatewayRecord, tags: &[(String, String)]) -> InternetGateway {
    InternetGateway {
        attachments: Some(g.vpc_id.iter().map(|v| InternetGatewayAttachment { state: Some("available".into()), vpc_id: Some(v.clone()) }).collect()),
        internet_gateway_id: Some(g.id.clone()),
        owner_id: Some(scope.account.clone()),
        tags: tags::out(tags),
    }
}

fn route_table_out(scope: &Scope, r: &RouteTableRecord, tags: &[(String, String)]) -> RouteTable {
    let mut associations: Vec<RouteTableAssociation> = r
        .associations
        .iter()
        .map(|(a, s)| RouteTableAssociation {
            main: Some(false),
            route_table_association_id: Some(a.clone()),
            route_table_id: Some(r.id.clone()),
            subnet_id: Some(s.clone()),
            association_state: Some(RouteTableAssociationState { state: Some("associated".into()), status_message: None }),
            ..Default::default()
        })
        .collect();
    if let Some(main) = &r.main_association_id {
        associations.insert(
            0,
            RouteTableAssociation {
                main: Some(true),
                route_table_association_id: Some(main.clone()),
                route_table_id: Some(r.id.clone()),
                association_state: Some(RouteTableAssociationState { state: Some("associated".into()), status_message: None }),
                ..Default::default()
            },
        );
    }
    RouteTable {
        associations: Some(associations),
        propagating_vgws: Some(Vec::new()),
        route_table_id: Some(r.id.clone()),
        routes: Some(
            r.routes
                .iter()
                .map(|x| Route {
                    destination_cidr_block: Some(x.destination.clone()),
                    gateway_id: (x.target == "local" || x.target.starts_with("igw-") || x.target.starts_with("vgw-")).then(|| x.target.clone()),
                    vpc_peering_connection_id: x.target.starts_with("pcx-").then(|| x.target.clone()),
                    transit_gateway_id: x.target.starts_with("tgw-").then(|| x.target.clone()),
                    egress_only_internet_gateway_id: x.target.starts_with("eigw-").then(|| x.target.clone()),
                    nat_gateway_id: x.target.starts_with("nat-").then(|| x.target.clone()),
                    instance_id: x.target.starts_with("i-").then(|| x.target.clone()),
                    network_interface_id: x.target.starts_with("eni-").then(|| x.target.clone()),
                    origin: Some(x.origin.clone()),
                    state: Some("active".into()),
                    ..Default::default()
                })
                .collect(),
        ),
        tags: tags::out(tags),
        vpc_id: Some(r.vpc_id.clone()),
        owner_id: Some(scope.account.clone()),
    }
}
