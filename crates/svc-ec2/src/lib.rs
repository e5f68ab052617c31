//! Amazon EC2's control plane.
//!
//! State lives in the store, one table per kind of resource ([`records`]: the record
//! types of a module's own resources live beside their operations), tags in one table for
//! all ([`tags`]), filters read the same way everywhere ([`filters`]). One module per part
//! of the API: [`vpcs`] networking and the default VPC every scope starts with,
//! [`security_groups`], [`keypairs`], [`images`] (public AMIs and instance types),
//! [`instances`] (launch, lifecycle, attributes, interfaces), [`addresses`] (Elastic IPs
//! and NAT gateways), [`templates`] (launch templates), [`volumes`] (EBS volumes and the
//! default network ACLs). This file maps the generated trait onto them; every operation
//! answers `DryRun` and works in a scope whose default VPC exists.

mod addresses;
mod amis;
mod error;
mod filters;
mod images;
mod instances;
mod keypairs;
mod network;
mod neighbours;
mod network_acls;
mod paging;
mod records;
mod regions;
pub mod runtime;
pub use neighbours::InstanceFacts;
mod security_groups;
mod snapshots;
mod tags;
mod templates;
mod volumes;
mod vpcs;

use error::{Ec2Error, Result};
use filters::Filters;
use nubo_core::{AwsError, Clock, RequestContext, Scope};
use nubo_model::generated::ec2::{self, *};
use nubo_model::Handler;
use nubo_store::Store;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct Ec2 {
    store: Store,
    clock: Clock,
    /// Serializes the creation of default VPCs.
    defaults_lock: Arc<Mutex<()>>,
    /// Makes instances run (none: the control plane alone, as in unit tests).
    runtime: Option<Arc<runtime::Runtime>>,
}

impl Ec2 {
    pub fn new(store: Store, clock: Clock) -> Ec2 {
        Ec2 { store, clock, defaults_lock: Default::default(), runtime: None }
    }

    /// Instances run on `runtime`; its controller starts here (inside tokio).
    pub fn with_runtime(mut self, runtime: Arc<runtime::Runtime>) -> Ec2 {
        self.runtime = Some(runtime.clone());
        tokio::spawn(runtime.run(self.clone()));
        self
    }

    pub fn runtime(&self) -> Option<&Arc<runtime::Runtime>> {
        self.runtime.as_ref()
    }

    /// The request's scope, with its default VPC in place.
    fn scope(&self, ctx: &RequestContext) -> Result<Scope> {
        self.ensure_defaults(&ctx.scope)?;
        Ok(ctx.scope.clone())
    }

    /// How every operation starts: `DryRun` answered, then the scope.
    fn begin(&self, ctx: &RequestContext, dry: Option<bool>) -> std::result::Result<Scope, AwsError> {
        dry_run(dry)?;
        Ok(self.scope(ctx)?)
    }
}

impl Ec2 {
    /// What a CloudWatch alarm action does to an instance: `stop`, `terminate`, `reboot`
    /// (`recover` restarts it, as a recovery onto new hardware looks from inside).
    pub fn alarm_action(&self, scope: &Scope, instance_id: &str, action: &str) -> std::result::Result<(), String> {
        let act = match action {
            "stop" => instances::Action::Stop,
            "terminate" => instances::Action::Terminate,
            "reboot" | "recover" => instances::Action::Reboot,
            other => return Err(format!("unknown EC2 action {other}")),
        };
        self.change_state(scope, &[instance_id.to_string()], act).map(|_| ()).map_err(|e| AwsError::from(e).message)
    }
}

impl Ec2 {
    /// The runtime's word that a machine died: its status checks fail (unless it was
    /// rebooted or stopped meanwhile: `boots` tells).
    pub(crate) fn mark_impaired(&self, scope: &Scope, id: &str, boots: u32) {
        let _ = self.store.write(|tx| -> Result<()> {
            if let Some(mut i) = records::get::<records::InstanceRecord>(tx, scope, id)? {
                if i.boots == boots && !i.impaired {
                    i.impaired = true;
                    records::put(tx, scope, &i)?;
                }
            }
            Ok(())
        });
    }

    /// The guest powered off: the instance stops, or terminates if its
    /// `InstanceInitiatedShutdownBehavior` says so.
    pub(crate) fn guest_shutdown(&self, scope: &Scope, id: &str) {
        let terminate = self.read(|tx| records::get::<records::InstanceRecord>(tx, scope, id)).ok().flatten().is_some_and(|i| i.shutdown_behavior == "terminate");
        let action = if terminate { instances::Action::Terminate } else { instances::Action::Stop };
        if let Err(e) = self.change_state(scope, &[id.to_string()], action) {
            tracing::warn!("{id} powered off but could not be stopped: {e:?}");
        }
        let _ = self.write(|tx| {
            if let Some(mut i) = records::get::<records::InstanceRecord>(tx, scope, id)? {
                i.state_reason = Some(("Client.InstanceInitiatedShutdown".into(), "Client.InstanceInitiatedShutdown: Instance initiated shutdown".into()));
                records::put(tx, scope, &i)?;
            }
            Ok(())
        });
    }

    /// CPU and status checks of every running instance since the last call (AWS/EC2).
    pub fn instance_samples(&self) -> Vec<runtime::Sample> {
        let Some(runtime) = &self.runtime else { return Vec::new() };
        let impaired = self
            .read(|tx| Ok(nubo_store::scan_json::<records::InstanceRecord>(tx, records::Kind::Instance.table(), b"", None, usize::MAX)?))
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, i)| i.impaired && i.state == instances::State::Running)
            .filter_map(|(key, i)| {
                let mut parts = key.split(|b| *b == 0);
                let account = String::from_utf8(parts.next()?.to_vec()).ok()?;
                let region = String::from_utf8(parts.next()?.to_vec()).ok()?;
                Some((Scope::new(account, region), i.id))
            })
            .collect::<Vec<_>>();
        let mut samples = runtime.samples(&impaired);
        for s in &mut samples {
            s.group = self.read(|tx| tags::of(tx, &s.scope, &s.instance_id)).ok().and_then(|t| t.into_iter().find(|(k, _)| k == "aws:autoscaling:groupName").map(|(_, v)| v));
        }
        samples
    }
}

pub fn service(ec2: Ec2) -> Box<dyn Handler> {
    Box::new(ec2::Service(ec2))
}

type Out<T> = std::result::Result<T, AwsError>;


/// `DryRun=true`: EC2 answers that the call would have succeeded, as an error.
fn dry_run(flag: Option<bool>) -> Out<()> {
    if flag == Some(true) {
        return Err(AwsError::new("DryRunOperation", 412, "Request would have succeeded, but DryRun flag is set."));
    }
    Ok(())
}

impl ec2::Ec2 for Ec2 {
    async fn describe_regions(&self, ctx: &RequestContext, input: DescribeRegionsRequest) -> Out<DescribeRegionsResult> {
        dry_run(input.dry_run)?;
        let filters = Filters::new(input.filters)?;
        let mut regions = Vec::new();
        for (r, _, _) in regions::REGIONS {
            if input.region_names.as_ref().is_some_and(|n| !n.iter().any(|x| x == r)) {
                continue;
            }
            let endpoint = format!("ec2.{r}.amazonaws.com");
            let matched = filters.matches(&[], |name| match name {
                "region-name" => filters::one(*r),
                "endpoint" => filters::one(endpoint.clone()),
                "opt-in-status" => filters::one("opt-in-not-required"),
                _ => None,
            })?;
            if matched {
                regions.push(Region { region_name: Some(r.to_string()), endpoint: Some(endpoint), opt_in_status: Some("opt-in-not-required".into()), ..Default::default() });
            }
        }
        for n in input.region_names.iter().flatten() {
            if !regions::known(n) {
                return Err(AwsError::from(Ec2Error::InvalidParameterValue(format!("Invalid region: {n}"))));
            }
        }
        let _ = ctx;
        Ok(DescribeRegionsResult { regions: Some(regions) })
    }
    async fn describe_availability_zones(&self, ctx: &RequestContext, input: DescribeAvailabilityZonesRequest) -> Out<DescribeAvailabilityZonesResult> {
        dry_run(input.dry_run)?;
        let filters = Filters::new(input.filters)?;
        let region = &ctx.scope.region;
        let zones = regions::zones(region);
        for z in input.zone_names.iter().flatten() {
            if !zones.iter().any(|(n, _)| n == z) {
                return Err(AwsError::from(Ec2Error::InvalidParameterValue(format!("The zone '{z}' does not exist."))));
            }
        }
        let mut out = Vec::new();
        for (name, id) in zones {
            if input.zone_names.as_ref().is_some_and(|n| !n.contains(&name)) || input.zone_ids.as_ref().is_some_and(|n| !n.contains(&id)) {
                continue;
            }
            let matched = filters.matches(&[], |f| match f {
                "zone-name" => filters::one(&name),
                "zone-id" => filters::one(&id),
                "region-name" => filters::one(region),
                "state" => filters::one("available"),
                "zone-type" => filters::one("availability-zone"),
                "opt-in-status" => filters::one("opt-in-not-required"),
                "group-name" => filters::one(region),
                _ => None,
            })?;
            if matched {
                out.push(AvailabilityZone {
                    opt_in_status: Some("opt-in-not-required".into()),
                    messages: Some(Vec::new()),
                    region_name: Some(region.clone()),
                    zone_name: Some(name),
                    zone_id: Some(id),
                    group_name: Some(region.clone()),
                    network_border_group: Some(region.clone()),
                    zone_type: Some("availability-zone".into()),
                    state: Some("available".into()),
                    ..Default::default()
                });
            }
        }
        Ok(DescribeAvailabilityZonesResult { availability_zones: Some(out) })
    }
    async fn describe_account_attributes(&self, ctx: &RequestContext, input: DescribeAccountAttributesRequest) -> Out<DescribeAccountAttributesResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        let default_vpc = self.default_vpc(&scope)?.map(|v| v.id).unwrap_or_else(|| "none".into());
        let attributes = regions::account_attributes(&default_vpc)
            .into_iter()
            .filter(|(n, _)| input.attribute_names.as_ref().is_none_or(|names| names.iter().any(|x| x == n)))
            .map(|(n, values)| AccountAttribute {
                attribute_name: Some(n.into()),
                attribute_values: Some(values.into_iter().map(|v| AccountAttributeValue { attribute_value: Some(v) }).collect()),
            })
            .collect();
        Ok(DescribeAccountAttributesResult { account_attributes: Some(attributes) })
    }

    // VPCs and subnets.
    async fn describe_vpcs(&self, ctx: &RequestContext, input: DescribeVpcsRequest) -> Out<DescribeVpcsResult> {
        let (max_results, next_token) = (input.max_results, input.next_token.clone());
        let scope = self.begin(ctx, input.dry_run)?;
        let filters = Filters::new(input.filters)?;
        let (page, next_token) = paging::page(self.describe_vpcs(&scope, input.vpc_ids, &filters)?, max_results, next_token, (5, 1000))?;
        Ok(DescribeVpcsResult { vpcs: Some(page), next_token })
    }
    async fn create_vpc(&self, ctx: &RequestContext, input: CreateVpcRequest) -> Out<CreateVpcResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(CreateVpcResult { vpc: Some(self.create_vpc(&scope, input)?) })
    }
    async fn delete_vpc(&self, ctx: &RequestContext, input: DeleteVpcRequest) -> Out<()> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.delete_vpc(&scope, &input.vpc_id)?)
    }
    async fn modify_vpc_attribute(&self, ctx: &RequestContext, input: ModifyVpcAttributeRequest) -> Out<()> {
        let scope = self.scope(ctx)?;
        Ok(self.modify_vpc_attribute(&scope, input)?)
    }
    async fn describe_vpc_attribute(&self, ctx: &RequestContext, input: DescribeVpcAttributeRequest) -> Out<DescribeVpcAttributeResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.describe_vpc_attribute(&scope, input)?)
    }
    async fn describe_subnets(&self, ctx: &RequestContext, input: DescribeSubnetsRequest) -> Out<DescribeSubnetsResult> {
        let (max_results, next_token) = (input.max_results, input.next_token.clone());
        let scope = self.begin(ctx, input.dry_run)?;
        let filters = Filters::new(input.filters)?;
        let (page, next_token) = paging::page(self.describe_subnets(&scope, input.subnet_ids, &filters)?, max_results, next_token, (5, 1000))?;
        Ok(DescribeSubnetsResult { subnets: Some(page), next_token })
    }
    async fn create_subnet(&self, ctx: &RequestContext, input: CreateSubnetRequest) -> Out<CreateSubnetResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(CreateSubnetResult { subnet: Some(self.create_subnet(&scope, input)?) })
    }
    async fn delete_subnet(&self, ctx: &RequestContext, input: DeleteSubnetRequest) -> Out<()> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.delete_subnet(&scope, &input.subnet_id)?)
    }
    async fn modify_subnet_attribute(&self, ctx: &RequestContext, input: ModifySubnetAttributeRequest) -> Out<()> {
        let scope = self.scope(ctx)?;
        Ok(self.modify_subnet_attribute(&scope, input)?)
    }

    // Gateways and route tables.
    async fn create_internet_gateway(&self, ctx: &RequestContext, input: CreateInternetGatewayRequest) -> Out<CreateInternetGatewayResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(CreateInternetGatewayResult { internet_gateway: Some(self.create_internet_gateway(&scope, input)?) })
    }
    async fn delete_internet_gateway(&self, ctx: &RequestContext, input: DeleteInternetGatewayRequest) -> Out<()> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.delete_internet_gateway(&scope, &input.internet_gateway_id)?)
    }
    async fn attach_internet_gateway(&self, ctx: &RequestContext, input: AttachInternetGatewayRequest) -> Out<()> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.attach_internet_gateway(&scope, &input.internet_gateway_id, &input.vpc_id, true)?)
    }
    async fn detach_internet_gateway(&self, ctx: &RequestContext, input: DetachInternetGatewayRequest) -> Out<()> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.attach_internet_gateway(&scope, &input.internet_gateway_id, &input.vpc_id, false)?)
    }
    async fn describe_internet_gateways(&self, ctx: &RequestContext, input: DescribeInternetGatewaysRequest) -> Out<DescribeInternetGatewaysResult> {
        let (max_results, next_token) = (input.max_results, input.next_token.clone());
        let scope = self.begin(ctx, input.dry_run)?;
        let filters = Filters::new(input.filters)?;
        let (page, next_token) = paging::page(self.describe_internet_gateways(&scope, input.internet_gateway_ids, &filters)?, max_results, next_token, (5, 1000))?;
        Ok(DescribeInternetGatewaysResult { internet_gateways: Some(page), next_token })
    }
    async fn create_route_table(&self, ctx: &RequestContext, input: CreateRouteTableRequest) -> Out<CreateRouteTableResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        let token = input.client_token.clone();
        Ok(CreateRouteTableResult { route_table: Some(self.create_route_table(&scope, input)?), client_token: token })
    }
    async fn delete_route_table(&self, ctx: &RequestContext, input: DeleteRouteTableRequest) -> Out<()> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.delete_route_table(&scope, &input.route_table_id)?)
    }
    async fn describe_route_tables(&self, ctx: &RequestContext, input: DescribeRouteTablesRequest) -> Out<DescribeRouteTablesResult> {
        let (max_results, next_token) = (input.max_results, input.next_token.clone());
        let scope = self.begin(ctx, input.dry_run)?;
        let filters = Filters::new(input.filters)?;
        let (page, next_token) = paging::page(self.describe_route_tables(&scope, input.route_table_ids, &filters)?, max_results, next_token, (5, 100))?;
        Ok(DescribeRouteTablesResult { route_tables: Some(page), next_token })
    }
    async fn create_route(&self, ctx: &RequestContext, input: CreateRouteRequest) -> Out<CreateRouteResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        self.create_route(&scope, input)?;
        Ok(CreateRouteResult { r#return: Some(true) })
    }
    async fn delete_route(&self, ctx: &RequestContext, input: DeleteRouteRequest) -> Out<()> {
        let scope = self.begin(ctx, input.dry_run)?;
        let dest = input.destination_cidr_block.unwrap_or_default();
        Ok(self.delete_route(&scope, &input.route_table_id, &dest)?)
    }
    async fn associate_route_table(&self, ctx: &RequestContext, input: AssociateRouteTableRequest) -> Out<AssociateRouteTableResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        let subnet = input.subnet_id.ok_or_else(|| AwsError::from(Ec2Error::MissingParameter("The request must contain the parameter subnetId".into())))?;
        let id = self.associate_route_table(&scope, &input.route_table_id, &subnet)?;
        Ok(AssociateRouteTableResult {
            association_id: Some(id),
            association_state: Some(RouteTableAssociationState { state: Some("associated".into()), status_message: None }),
        })
    }
    async fn disassociate_route_table(&self, ctx: &RequestContext, input: DisassociateRouteTableRequest) -> Out<()> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.disassociate_route_table(&scope, &input.association_id)?)
    }

    // Security groups.
    async fn create_security_group(&self, ctx: &RequestContext, input: CreateSecurityGroupRequest) -> Out<CreateSecurityGroupResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        let (id, tags) = self.create_security_group(&scope, input)?;
        Ok(CreateSecurityGroupResult {
            security_group_arn: Some(format!("arn:aws:ec2:{}:{}:security-group/{id}", scope.region, scope.account)),
            group_id: Some(id),
            tags: tags::out(&tags),
        })
    }
    async fn delete_security_group(&self, ctx: &RequestContext, input: DeleteSecurityGroupRequest) -> Out<DeleteSecurityGroupResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        let id = self.delete_security_group(&scope, input.group_id.as_deref(), input.group_name.as_deref())?;
        Ok(DeleteSecurityGroupResult { r#return: Some(true), group_id: Some(id) })
    }
    async fn describe_security_groups(&self, ctx: &RequestContext, input: DescribeSecurityGroupsRequest) -> Out<DescribeSecurityGroupsResult> {
        let (max_results, next_token) = (input.max_results, input.next_token.clone());
        let scope = self.begin(ctx, input.dry_run)?;
        let filters = Filters::new(input.filters)?;
        let (page, next_token) = paging::page(self.describe_security_groups(&scope, input.group_ids, input.group_names, &filters)?, max_results, next_token, (5, 1000))?;
        Ok(DescribeSecurityGroupsResult { security_groups: Some(page), next_token })
    }
    async fn describe_security_group_rules(&self, ctx: &RequestContext, input: DescribeSecurityGroupRulesRequest) -> Out<DescribeSecurityGroupRulesResult> {
        let (max_results, next_token) = (input.max_results, input.next_token.clone());
        let scope = self.begin(ctx, input.dry_run)?;
        let filters = Filters::new(input.filters)?;
        let (page, next_token) = paging::page(self.describe_security_group_rules(&scope, input.security_group_rule_ids, &filters)?, max_results, next_token, (5, 1000))?;
        Ok(DescribeSecurityGroupRulesResult { security_group_rules: Some(page), next_token })
    }
    async fn authorize_security_group_ingress(&self, ctx: &RequestContext, input: AuthorizeSecurityGroupIngressRequest) -> Out<AuthorizeSecurityGroupIngressResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        let change = security_groups::RuleChange {
            group_id: input.group_id,
            group_name: input.group_name,
            permissions: input.ip_permissions,
            legacy: security_groups::RuleChange::legacy(input.ip_protocol, input.from_port, input.to_port, input.cidr_ip, input.source_security_group_name),
            rule_ids: None,
            tags: tags::from_specs(&input.tag_specifications, "security-group-rule"),
        };
        Ok(AuthorizeSecurityGroupIngressResult { r#return: Some(true), security_group_rules: Some(self.change_rules(&scope, change, false, true)?) })
    }
    async fn authorize_security_group_egress(&self, ctx: &RequestContext, input: AuthorizeSecurityGroupEgressRequest) -> Out<AuthorizeSecurityGroupEgressResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        let change = security_groups::RuleChange {
            group_id: Some(input.group_id),
            group_name: None,
            permissions: input.ip_permissions,
            legacy: security_groups::RuleChange::legacy(input.ip_protocol, input.from_port, input.to_port, input.cidr_ip, input.source_security_group_name),
            rule_ids: None,
            tags: tags::from_specs(&input.tag_specifications, "security-group-rule"),
        };
        Ok(AuthorizeSecurityGroupEgressResult { r#return: Some(true), security_group_rules: Some(self.change_rules(&scope, change, true, true)?) })
    }
    async fn revoke_security_group_ingress(&self, ctx: &RequestContext, input: RevokeSecurityGroupIngressRequest) -> Out<RevokeSecurityGroupIngressResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        let change = security_groups::RuleChange {
            group_id: input.group_id,
            group_name: input.group_name,
            permissions: input.ip_permissions,
            legacy: security_groups::RuleChange::legacy(input.ip_protocol, input.from_port, input.to_port, input.cidr_ip, input.source_security_group_name),
            rule_ids: input.security_group_rule_ids,
            tags: Vec::new(),
        };
        self.change_rules(&scope, change, false, false)?;
        Ok(RevokeSecurityGroupIngressResult { r#return: Some(true), ..Default::default() })
    }
    async fn revoke_security_group_egress(&self, ctx: &RequestContext, input: RevokeSecurityGroupEgressRequest) -> Out<RevokeSecurityGroupEgressResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        let change = security_groups::RuleChange {
            group_id: Some(input.group_id),
            group_name: None,
            permissions: input.ip_permissions,
            legacy: security_groups::RuleChange::legacy(input.ip_protocol, input.from_port, input.to_port, input.cidr_ip, input.source_security_group_name),
            rule_ids: input.security_group_rule_ids,
            tags: Vec::new(),
        };
        self.change_rules(&scope, change, true, false)?;
        Ok(RevokeSecurityGroupEgressResult { r#return: Some(true), ..Default::default() })
    }

    // Key pairs, images, instance types.
    async fn create_key_pair(&self, ctx: &RequestContext, input: CreateKeyPairRequest) -> Out<KeyPair> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.create_key_pair(&scope, input).await?)
    }
    async fn import_key_pair(&self, ctx: &RequestContext, input: ImportKeyPairRequest) -> Out<ImportKeyPairResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.import_key_pair(&scope, input)?)
    }
    async fn describe_key_pairs(&self, ctx: &RequestContext, input: DescribeKeyPairsRequest) -> Out<DescribeKeyPairsResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(DescribeKeyPairsResult { key_pairs: Some(self.describe_key_pairs(&scope, input)?) })
    }
    async fn delete_key_pair(&self, ctx: &RequestContext, input: DeleteKeyPairRequest) -> Out<DeleteKeyPairResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        let id = self.delete_key_pair(&scope, input.key_name.as_deref(), input.key_pair_id.as_deref())?;
        Ok(DeleteKeyPairResult { r#return: Some(true), key_pair_id: id })
    }
    async fn describe_images(&self, ctx: &RequestContext, input: DescribeImagesRequest) -> Out<DescribeImagesResult> {
        let (max_results, next_token) = (input.max_results, input.next_token.clone());
        let scope = self.begin(ctx, input.dry_run)?;
        let filters = filters::Filters::new(input.filters.clone())?;
        let mut out = self.describe_private_images(&scope, &input, &filters)?;
        // The ids of the account's own images are not the catalogue's to find.
        let private = self.private_image_ids(&scope)?;
        let mut public_input = input;
        if let Some(ids) = public_input.image_ids.take() {
            for id in &ids {
                images::check_id(id)?;
            }
            public_input.image_ids = Some(ids.into_iter().filter(|i| !private.contains(i)).collect());
        }
        out.extend(images::describe(&scope, public_input)?);
        let (page, next_token) = paging::page(out, max_results, next_token, (1, 1000))?;
        Ok(DescribeImagesResult { images: Some(page), next_token })
    }
    async fn create_image(&self, ctx: &RequestContext, input: CreateImageRequest) -> Out<CreateImageResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(CreateImageResult { image_id: Some(self.create_image(&scope, input)?) })
    }
    async fn register_image(&self, ctx: &RequestContext, input: RegisterImageRequest) -> Out<RegisterImageResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(RegisterImageResult { image_id: Some(self.register_image(&scope, input)?) })
    }
    async fn copy_image(&self, ctx: &RequestContext, input: CopyImageRequest) -> Out<CopyImageResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(CopyImageResult { image_id: Some(self.copy_image(&scope, input)?) })
    }
    async fn deregister_image(&self, ctx: &RequestContext, input: DeregisterImageRequest) -> Out<DeregisterImageResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        let results = self.deregister_image(&scope, input)?;
        Ok(DeregisterImageResult { delete_snapshot_results: (!results.is_empty()).then_some(results), r#return: Some(true) })
    }
    async fn modify_image_attribute(&self, ctx: &RequestContext, input: ModifyImageAttributeRequest) -> Out<()> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.modify_image_attribute(&scope, input)?)
    }
    async fn describe_image_attribute(&self, ctx: &RequestContext, input: DescribeImageAttributeRequest) -> Out<ImageAttribute> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.describe_image_attribute(&scope, input)?)
    }
    async fn modify_volume(&self, ctx: &RequestContext, input: ModifyVolumeRequest) -> Out<ModifyVolumeResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(ModifyVolumeResult { volume_modification: Some(self.modify_volume(&scope, input)?) })
    }
    async fn describe_volumes_modifications(&self, ctx: &RequestContext, input: DescribeVolumesModificationsRequest) -> Out<DescribeVolumesModificationsResult> {
        let (max_results, next_token) = (input.max_results, input.next_token.clone());
        let scope = self.begin(ctx, input.dry_run)?;
        let (page, next_token) = paging::page(self.describe_volumes_modifications(&scope, input)?, max_results, next_token, (5, 1000))?;
        Ok(DescribeVolumesModificationsResult { volumes_modifications: Some(page), next_token })
    }
    async fn describe_instance_type_offerings(&self, ctx: &RequestContext, input: DescribeInstanceTypeOfferingsRequest) -> Out<DescribeInstanceTypeOfferingsResult> {
        let (max_results, next_token) = (input.max_results, input.next_token.clone());
        let scope = self.begin(ctx, input.dry_run)?;
        let (page, next_token) = paging::page(images::describe_offerings(&scope.region, input)?, max_results, next_token, (5, 1000))?;
        Ok(DescribeInstanceTypeOfferingsResult { instance_type_offerings: Some(page), next_token })
    }
    async fn create_network_acl(&self, ctx: &RequestContext, input: CreateNetworkAclRequest) -> Out<CreateNetworkAclResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        let client_token = input.client_token.clone();
        Ok(CreateNetworkAclResult { network_acl: Some(self.create_network_acl(&scope, input)?), client_token })
    }
    async fn delete_network_acl(&self, ctx: &RequestContext, input: DeleteNetworkAclRequest) -> Out<()> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.delete_network_acl(&scope, &input.network_acl_id)?)
    }
    async fn create_network_acl_entry(&self, ctx: &RequestContext, input: CreateNetworkAclEntryRequest) -> Out<()> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.create_network_acl_entry(&scope, input)?)
    }
    async fn replace_network_acl_entry(&self, ctx: &RequestContext, input: ReplaceNetworkAclEntryRequest) -> Out<()> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.replace_network_acl_entry(&scope, input)?)
    }
    async fn delete_network_acl_entry(&self, ctx: &RequestContext, input: DeleteNetworkAclEntryRequest) -> Out<()> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.delete_network_acl_entry(&scope, input)?)
    }
    async fn replace_network_acl_association(&self, ctx: &RequestContext, input: ReplaceNetworkAclAssociationRequest) -> Out<ReplaceNetworkAclAssociationResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(ReplaceNetworkAclAssociationResult { new_association_id: Some(self.replace_network_acl_association(&scope, input)?) })
    }
    async fn create_snapshot(&self, ctx: &RequestContext, input: CreateSnapshotRequest) -> Out<Snapshot> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.create_snapshot(&scope, input)?)
    }
    async fn describe_snapshots(&self, ctx: &RequestContext, input: DescribeSnapshotsRequest) -> Out<DescribeSnapshotsResult> {
        let (max_results, next_token) = (input.max_results, input.next_token.clone());
        paging::ids_or_max(input.snapshot_ids.as_ref().is_some_and(|i| !i.is_empty()), max_results, "snapshotSet")?;
        let scope = self.begin(ctx, input.dry_run)?;
        let (page, next_token) = paging::page(self.describe_snapshots(&scope, input)?, max_results, next_token, (5, 1000))?;
        Ok(DescribeSnapshotsResult { snapshots: Some(page), next_token })
    }
    async fn delete_snapshot(&self, ctx: &RequestContext, input: DeleteSnapshotRequest) -> Out<()> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.delete_snapshot(&scope, &input.snapshot_id)?)
    }
    async fn copy_snapshot(&self, ctx: &RequestContext, input: CopySnapshotRequest) -> Out<CopySnapshotResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(CopySnapshotResult { snapshot_id: Some(self.copy_snapshot(&scope, input)?), tags: None })
    }
    async fn describe_instance_types(&self, _: &RequestContext, input: DescribeInstanceTypesRequest) -> Out<DescribeInstanceTypesResult> {
        let (max_results, next_token) = (input.max_results, input.next_token.clone());
        dry_run(input.dry_run)?;
        let (page, next_token) = paging::page(images::describe_types(input)?, max_results, next_token, (5, 100))?;
        Ok(DescribeInstanceTypesResult { instance_types: Some(page), next_token })
    }

    // Instances.
    async fn run_instances(&self, ctx: &RequestContext, input: RunInstancesRequest) -> Out<Reservation> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.run_instances(&scope, &ctx.scope.account, input)?)
    }
    async fn describe_instances(&self, ctx: &RequestContext, input: DescribeInstancesRequest) -> Out<DescribeInstancesResult> {
        let (max_results, next_token) = (input.max_results, input.next_token.clone());
        paging::ids_or_max(input.instance_ids.as_ref().is_some_and(|i| !i.is_empty()), max_results, "instancesSet")?;
        let scope = self.begin(ctx, input.dry_run)?;
        let filters = Filters::new(input.filters)?;
        let (page, next_token) = paging::page(self.describe_instances(&scope, input.instance_ids, &filters)?, max_results, next_token, (5, 1000))?;
        Ok(DescribeInstancesResult { reservations: Some(page), next_token })
    }
    async fn describe_instance_status(&self, ctx: &RequestContext, input: DescribeInstanceStatusRequest) -> Out<DescribeInstanceStatusResult> {
        let (max_results, next_token) = (input.max_results, input.next_token.clone());
        paging::ids_or_max(input.instance_ids.as_ref().is_some_and(|i| !i.is_empty()), max_results, "instancesSet")?;
        let scope = self.begin(ctx, input.dry_run)?;
        let (page, next_token) = paging::page(self.describe_instance_status(&scope, input)?, max_results, next_token, (5, 1000))?;
        Ok(DescribeInstanceStatusResult { instance_statuses: Some(page), next_token })
    }
    async fn start_instances(&self, ctx: &RequestContext, input: StartInstancesRequest) -> Out<StartInstancesResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(StartInstancesResult { starting_instances: Some(self.change_state(&scope, &input.instance_ids, instances::Action::Start)?) })
    }
    async fn stop_instances(&self, ctx: &RequestContext, input: StopInstancesRequest) -> Out<StopInstancesResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(StopInstancesResult { stopping_instances: Some(self.change_state(&scope, &input.instance_ids, instances::Action::Stop)?) })
    }
    async fn reboot_instances(&self, ctx: &RequestContext, input: RebootInstancesRequest) -> Out<()> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.change_state(&scope, &input.instance_ids, instances::Action::Reboot)?).map(|_| ())
    }
    async fn terminate_instances(&self, ctx: &RequestContext, input: TerminateInstancesRequest) -> Out<TerminateInstancesResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(TerminateInstancesResult { terminating_instances: Some(self.change_state(&scope, &input.instance_ids, instances::Action::Terminate)?) })
    }

    // Elastic IPs and NAT gateways.
    async fn allocate_address(&self, ctx: &RequestContext, input: AllocateAddressRequest) -> Out<AllocateAddressResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.allocate_address(&scope, input)?)
    }
    async fn associate_address(&self, ctx: &RequestContext, input: AssociateAddressRequest) -> Out<AssociateAddressResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(AssociateAddressResult { association_id: Some(self.associate_address(&scope, input)?) })
    }
    async fn disassociate_address(&self, ctx: &RequestContext, input: DisassociateAddressRequest) -> Out<()> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.disassociate_address(&scope, input.association_id.as_deref(), input.public_ip.as_deref())?)
    }
    async fn release_address(&self, ctx: &RequestContext, input: ReleaseAddressRequest) -> Out<()> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.release_address(&scope, input.allocation_id.as_deref(), input.public_ip.as_deref())?)
    }
    async fn describe_addresses(&self, ctx: &RequestContext, input: DescribeAddressesRequest) -> Out<DescribeAddressesResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(DescribeAddressesResult { addresses: Some(self.describe_addresses(&scope, input)?) })
    }
    async fn create_nat_gateway(&self, ctx: &RequestContext, input: CreateNatGatewayRequest) -> Out<CreateNatGatewayResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        let token = input.client_token.clone();
        Ok(CreateNatGatewayResult { nat_gateway: Some(self.create_nat_gateway(&scope, input)?), client_token: token })
    }
    async fn delete_nat_gateway(&self, ctx: &RequestContext, input: DeleteNatGatewayRequest) -> Out<DeleteNatGatewayResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        self.delete_nat_gateway(&scope, &input.nat_gateway_id)?;
        Ok(DeleteNatGatewayResult { nat_gateway_id: Some(input.nat_gateway_id) })
    }
    async fn describe_nat_gateways(&self, ctx: &RequestContext, input: DescribeNatGatewaysRequest) -> Out<DescribeNatGatewaysResult> {
        let (max_results, next_token) = (input.max_results, input.next_token.clone());
        let scope = self.begin(ctx, input.dry_run)?;
        let (page, next_token) = paging::page(self.describe_nat_gateways(&scope, input)?, max_results, next_token, (5, 1000))?;
        Ok(DescribeNatGatewaysResult { nat_gateways: Some(page), next_token })
    }

    // Launch templates.
    async fn create_launch_template(&self, ctx: &RequestContext, input: CreateLaunchTemplateRequest) -> Out<CreateLaunchTemplateResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(CreateLaunchTemplateResult { launch_template: Some(self.create_launch_template(&scope, input)?), warning: None })
    }
    async fn create_launch_template_version(&self, ctx: &RequestContext, input: CreateLaunchTemplateVersionRequest) -> Out<CreateLaunchTemplateVersionResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(CreateLaunchTemplateVersionResult { launch_template_version: Some(self.create_launch_template_version(&scope, input)?), warning: None })
    }
    async fn describe_launch_templates(&self, ctx: &RequestContext, input: DescribeLaunchTemplatesRequest) -> Out<DescribeLaunchTemplatesResult> {
        let (max_results, next_token) = (input.max_results, input.next_token.clone());
        let scope = self.begin(ctx, input.dry_run)?;
        let (page, next_token) = paging::page(self.describe_launch_templates(&scope, input)?, max_results, next_token, (1, 200))?;
        Ok(DescribeLaunchTemplatesResult { launch_templates: Some(page), next_token })
    }
    async fn describe_launch_template_versions(&self, ctx: &RequestContext, input: DescribeLaunchTemplateVersionsRequest) -> Out<DescribeLaunchTemplateVersionsResult> {
        let (max_results, next_token) = (input.max_results, input.next_token.clone());
        let scope = self.begin(ctx, input.dry_run)?;
        let (page, next_token) = paging::page(self.describe_launch_template_versions(&scope, input)?, max_results, next_token, (1, 200))?;
        Ok(DescribeLaunchTemplateVersionsResult { launch_template_versions: Some(page), next_token })
    }
    async fn modify_launch_template(&self, ctx: &RequestContext, input: ModifyLaunchTemplateRequest) -> Out<ModifyLaunchTemplateResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(ModifyLaunchTemplateResult { launch_template: Some(self.modify_launch_template(&scope, input)?) })
    }
    async fn delete_launch_template(&self, ctx: &RequestContext, input: DeleteLaunchTemplateRequest) -> Out<DeleteLaunchTemplateResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(DeleteLaunchTemplateResult { launch_template: Some(self.delete_launch_template(&scope, input.launch_template_id.as_deref(), input.launch_template_name.as_deref())?) })
    }

    // Instance attributes and console.
    async fn describe_instance_attribute(&self, ctx: &RequestContext, input: DescribeInstanceAttributeRequest) -> Out<InstanceAttribute> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.describe_instance_attribute(&scope, &input.instance_id, &input.attribute)?)
    }
    async fn modify_instance_attribute(&self, ctx: &RequestContext, input: ModifyInstanceAttributeRequest) -> Out<()> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.modify_instance_attribute(&scope, input)?)
    }
    async fn get_console_output(&self, ctx: &RequestContext, input: GetConsoleOutputRequest) -> Out<GetConsoleOutputResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.console_output(&scope, &input.instance_id)?)
    }

    async fn describe_instance_credit_specifications(&self, ctx: &RequestContext, input: DescribeInstanceCreditSpecificationsRequest) -> Out<DescribeInstanceCreditSpecificationsResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(DescribeInstanceCreditSpecificationsResult { instance_credit_specifications: Some(self.credit_specifications(&scope, input.instance_ids)?), next_token: None })
    }
    /// No instance carries UEFI variables: the answer is empty, as for a fresh instance.
    async fn get_instance_uefi_data(&self, ctx: &RequestContext, input: GetInstanceUefiDataRequest) -> Out<GetInstanceUefiDataResult> {
        let scope = self.begin(ctx, input.dry_run)?;
        self.describe_instance_attribute(&scope, &input.instance_id, "instanceType")?;
        Ok(GetInstanceUefiDataResult { instance_id: Some(input.instance_id), uefi_data: None })
    }

    async fn describe_network_interfaces(&self, ctx: &RequestContext, input: DescribeNetworkInterfacesRequest) -> Out<DescribeNetworkInterfacesResult> {
        let (max_results, next_token) = (input.max_results, input.next_token.clone());
        let scope = self.begin(ctx, input.dry_run)?;
        let (page, next_token) = paging::page(self.describe_network_interfaces(&scope, input)?, max_results, next_token, (5, 1000))?;
        Ok(DescribeNetworkInterfacesResult { network_interfaces: Some(page), next_token })
    }

    // Volumes and network ACLs.
    async fn describe_network_acls(&self, ctx: &RequestContext, input: DescribeNetworkAclsRequest) -> Out<DescribeNetworkAclsResult> {
        let (max_results, next_token) = (input.max_results, input.next_token.clone());
        let scope = self.begin(ctx, input.dry_run)?;
        let (page, next_token) = paging::page(self.describe_network_acls(&scope, input)?, max_results, next_token, (5, 1000))?;
        Ok(DescribeNetworkAclsResult { network_acls: Some(page), next_token })
    }
    async fn describe_volumes(&self, ctx: &RequestContext, input: DescribeVolumesRequest) -> Out<DescribeVolumesResult> {
        let (max_results, next_token) = (input.max_results, input.next_token.clone());
        paging::ids_or_max(input.volume_ids.as_ref().is_some_and(|i| !i.is_empty()), max_results, "volumeSet")?;
        let scope = self.begin(ctx, input.dry_run)?;
        let (page, next_token) = paging::page(self.describe_volumes(&scope, input)?, max_results, next_token, (5, 500))?;
        Ok(DescribeVolumesResult { volumes: Some(page), next_token })
    }
    async fn create_volume(&self, ctx: &RequestContext, input: CreateVolumeRequest) -> Out<Volume> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.create_volume(&scope, input)?)
    }
    async fn attach_volume(&self, ctx: &RequestContext, input: AttachVolumeRequest) -> Out<VolumeAttachment> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.attach_volume(&scope, input)?)
    }
    async fn detach_volume(&self, ctx: &RequestContext, input: DetachVolumeRequest) -> Out<VolumeAttachment> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.detach_volume(&scope, input)?)
    }
    async fn delete_volume(&self, ctx: &RequestContext, input: DeleteVolumeRequest) -> Out<()> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.delete_volume(&scope, &input.volume_id)?)
    }

    // Tags.
    async fn create_tags(&self, ctx: &RequestContext, input: CreateTagsRequest) -> Out<()> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.create_tags(&scope, &input.resources, input.tags)?)
    }
    async fn delete_tags(&self, ctx: &RequestContext, input: DeleteTagsRequest) -> Out<()> {
        let scope = self.begin(ctx, input.dry_run)?;
        Ok(self.delete_tags(&scope, &input.resources, input.tags)?)
    }
    async fn describe_tags(&self, ctx: &RequestContext, input: DescribeTagsRequest) -> Out<DescribeTagsResult> {
        let (max_results, next_token) = (input.max_results, input.next_token.clone());
        let scope = self.begin(ctx, input.dry_run)?;
        let filters = Filters::new(input.filters)?;
        let (page, next_token) = paging::page(self.describe_tags(&scope, &filters)?, max_results, next_token, (5, 1000))?;
        Ok(DescribeTagsResult { tags: Some(page), next_token })
    }
}

