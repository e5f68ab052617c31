//! Load balancers: creation in subnets of one VPC (an ALB in at least two zones), their
//! DNS names (AWS's forms under `localhost`), loopback addresses, attributes, security
//! groups; and the tags of every kind of resource, which live on their records.

use crate::error::{ElbError, Result};
use crate::records::{self, LoadBalancerRecord, LISTENERS, LOAD_BALANCERS, RULES, TARGET_GROUPS};
use crate::{attributes, Elbv2};
use nubo_core::Scope;
use nubo_model::generated::elbv2::*;

/// 16 hex digits: the id part of ARNs.
pub fn hex_id() -> String {
    nubo_core::ids::random_string(b"0123456789abcdef", 16)
}

fn check_name(name: &str, what: &str) -> Result<()> {
    let ok = !name.is_empty() && name.len() <= 32 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') && !name.starts_with('-') && !name.ends_with('-');
    if !ok || (what == "load balancer" && name.starts_with("internal-")) {
        return Err(ElbError::Validation(format!(
            "The {what} name '{name}' cannot be longer than '32' characters, must contain only alphanumeric characters or hyphens, and cannot begin or end with a hyphen"
        )));
    }
    Ok(())
}

fn hosted_zone(region: &str, kind: &str) -> &'static str {
    match (region, kind) {
        ("us-east-1", "network") => "Z26RNL4JYFTOTI",
        ("us-east-1", _) => "Z35SXDOTRQ7X7K",
        ("us-west-2", "network") => "Z18D5FSROUN65G",
        ("us-west-2", _) => "Z1H1FL5HABSF5",
        ("eu-west-1", "network") => "Z2IFOLAFXWLO4F",
        ("eu-west-1", _) => "Z32O12XQLNTSW2",
        (_, "network") => "Z2IFOLAFXWLO4F",
        _ => "Z32O12XQLNTSW2",
    }
}

pub fn load_balancer_out(lb: &LoadBalancerRecord, region: &str) -> LoadBalancer {
    LoadBalancer {
        load_balancer_arn: Some(lb.arn.clone()),
        dns_name: Some(lb.dns_name.clone()),
        canonical_hosted_zone_id: Some(hosted_zone(region, &lb.kind).into()),
        created_time: Some(lb.created),
        load_balancer_name: Some(lb.name.clone()),
        scheme: Some(lb.scheme.clone()),
        vpc_id: Some(lb.vpc_id.clone()),
        state: Some(LoadBalancerState { code: Some("active".into()), reason: None }),
        r#type: Some(lb.kind.clone()),
        availability_zones: Some(
            lb.subnets
                .iter()
                // nubo: the loopback address of the host where the listeners are bound.
                .map(|(subnet, zone)| AvailabilityZone {
                    zone_name: Some(zone.clone()),
                    subnet_id: Some(subnet.clone()),
                    load_balancer_addresses: Some(vec![LoadBalancerAddress { ip_address: Some(lb.address.clone()), ..Default::default() }]),
                    ..Default::default()
                })
                .collect(),
        ),
        security_groups: (lb.kind == "application" || !lb.security_groups.is_empty()).then(|| lb.security_groups.clone()),
        ip_address_type: Some(lb.ip_address_type.clone()),
        ..Default::default()
    }
}

impl Elbv2 {
    pub(crate) fn load_balancer(&self, scope: &Scope, arn: &str) -> Result<LoadBalancerRecord> {
        self.read(|tx| Ok(records::get(tx, LOAD_BALANCERS, scope, arn)?))?.ok_or(ElbError::LoadBalancerNotFound)
    }

    /// Subnets (by id or mapping) → (subnet, zone) pairs of one VPC, checked as AWS does.
    fn resolve_subnets(&self, scope: &Scope, kind: &str, subnets: Option<Vec<String>>, mappings: Option<Vec<SubnetMapping>>) -> Result<(String, Vec<(String, String)>)> {
        let mut ids: Vec<String> = subnets.unwrap_or_default();
        ids.extend(mappings.into_iter().flatten().filter_map(|m| m.subnet_id));
        if ids.is_empty() {
            return Err(ElbError::Validation("At least one subnet must be specified".into()));
        }
        let mut out: Vec<(String, String)> = Vec::new();
        let mut vpc: Option<String> = None;
        for id in ids {
            let info = self.network.subnet(scope, &id).ok_or_else(|| ElbError::SubnetNotFound(format!("The subnet ID '{id}' is not valid")))?;
            if vpc.as_ref().is_some_and(|v| *v != info.vpc_id) {
                return Err(ElbError::InvalidSubnet("All subnets must belong to the same VPC".into()));
            }
            if out.iter().any(|(_, z)| *z == info.availability_zone) {
                return Err(ElbError::InvalidConfiguration(format!("You cannot specify multiple subnets in the same Availability Zone '{}'", info.availability_zone)));
            }
            vpc = Some(info.vpc_id.clone());
            out.push((id, info.availability_zone));
        }
        if kind == "application" && out.len() < 2 {
            return Err(ElbError::InvalidConfiguration("At least two subnets in two different Availability Zones must be specified".into()));
        }
        Ok((vpc.expect("one subnet at least"), out))
    }

    fn check_groups(&self, scope: &Scope, vpc: &str, groups: &[String]) -> Result<()> {
        for g in groups {
            match self.network.security_group_vpc(scope, g) {
                Some(v) if v == vpc => {}
                _ => return Err(ElbError::InvalidSecurityGroup(format!("One or more security groups are invalid: {g}"))),
            }
        }
        Ok(())
    }

    pub(crate) fn create_load_balancer_op(&self, scope: &Scope, input: CreateLoadBalancerInput) -> Result<CreateLoadBalancerOutput> {
        check_name(&input.name, "load balancer")?;
        let kind = input.r#type.clone().unwrap_or_else(|| "application".into());
        if !["application", "network", "gateway"].contains(&kind.as_str()) {
            return Err(ElbError::Validation(format!("Load balancer type '{kind}' is not valid")));
        }
        let scheme = input.scheme.clone().unwrap_or_else(|| "internet-facing".into());
        if scheme != "internet-facing" && scheme != "internal" {
            return Err(ElbError::Validation(format!("Scheme '{scheme}' is not valid")));
        }
        let (vpc_id, subnets) = self.resolve_subnets(scope, &kind, input.subnets, input.subnet_mappings)?;
        let mut groups = input.security_groups.unwrap_or_default();
        if kind == "application" && groups.is_empty() {
            groups.extend(self.network.default_security_group(scope, &vpc_id));
        }
        self.check_groups(scope, &vpc_id, &groups)?;
        let id = hex_id();
        let prefix = match kind.as_str() {
            "network" => "net",
            "gateway" => "gwy",
            _ => "app",
        };
        let arn = format!("arn:aws:elasticloadbalancing:{}:{}:loadbalancer/{prefix}/{}/{id}", scope.region, scope.account, input.name);
        let dns_name = match kind.as_str() {
            "application" => format!("{}{}-{}.{}.elb.localhost", if scheme == "internal" { "internal-" } else { "" }, input.name, fastrand::u64(1_000_000_000..9_999_999_999), scope.region),
            _ => format!("{}-{id}.elb.{}.localhost", input.name, scope.region),
        };
        let tags: Vec<(String, String)> = input.tags.unwrap_or_default().into_iter().map(|t| (t.key, t.value.unwrap_or_default())).collect();
        let record = LoadBalancerRecord {
            arn: arn.clone(),
            name: input.name.clone(),
            kind: kind.clone(),
            scheme,
            vpc_id,
            subnets,
            security_groups: groups,
            ip_address_type: input.ip_address_type.unwrap_or_else(|| "ipv4".into()),
            dns_name,
            address: nubo_core::addressing::public_loopback_address().to_string(),
            created: self.clock.now(),
            attributes: attributes::load_balancer_defaults(&kind),
            tags,
        };
        let record = self.write(|tx| {
            if let Some(existing) = records::all::<LoadBalancerRecord>(tx, LOAD_BALANCERS, scope)?.into_iter().find(|l| l.name == input.name) {
                // The same call again answers the existing load balancer, as on AWS.
                if existing.kind == record.kind && existing.subnets == record.subnets {
                    return Ok(existing);
                }
                return Err(ElbError::DuplicateLoadBalancerName);
            }
            records::put(tx, LOAD_BALANCERS, scope, &record.arn, &record)?;
            Ok(record)
        })?;
        Ok(CreateLoadBalancerOutput { load_balancers: Some(vec![load_balancer_out(&record, &scope.region)]) })
    }

    pub(crate) fn describe_load_balancers_op(&self, scope: &Scope, input: DescribeLoadBalancersInput) -> Result<DescribeLoadBalancersOutput> {
        let all: Vec<LoadBalancerRecord> = self.read(|tx| Ok(records::all(tx, LOAD_BALANCERS, scope)?))?;
        let mut out = Vec::new();
        if let Some(arns) = &input.load_balancer_arns {
            for arn in arns {
                out.push(all.iter().find(|l| &l.arn == arn).ok_or(ElbError::LoadBalancerNotFound)?);
            }
        } else if let Some(names) = &input.names {
            for name in names {
                out.push(all.iter().find(|l| &l.name == name).ok_or(ElbError::LoadBalancerNotFound)?);
            }
        } else {
            out.extend(all.iter());
        }
        let (page, next) = paginate(out, input.marker.as_deref(), input.page_size)?;
        Ok(DescribeLoadBalancersOutput { load_balancers: Some(page.into_iter().map(|l| load_balancer_out(l, &scope.region)).collect()), next_marker: next })
    }

    pub(crate) fn delete_load_balancer_op(&self, scope: &Scope, arn: &str) -> Result<()> {
        self.write(|tx| {
            let Some(lb) = records::get::<LoadBalancerRecord>(tx, LOAD_BALANCERS, scope, arn)? else {
                return Ok(()); // deleting what is gone succeeds, as on AWS
            };
            if lb.attributes.get("deletion_protection.enabled").map(String::as_str) == Some("true") {
                return Err(ElbError::OperationNotPermitted(format!("Load balancer '{arn}' cannot be deleted because deletion protection is enabled")));
            }
            for l in records::all::<crate::records::ListenerRecord>(tx, LISTENERS, scope)?.into_iter().filter(|l| l.load_balancer_arn == arn) {
                for r in records::all::<crate::records::RuleRecord>(tx, RULES, scope)?.into_iter().filter(|r| r.listener_arn == l.arn) {
                    records::delete(tx, RULES, scope, &r.arn)?;
                }
                records::delete(tx, LISTENERS, scope, &l.arn)?;
            }
            records::delete(tx, LOAD_BALANCERS, scope, arn)?;
            Ok(())
        })
    }

    fn update_load_balancer<T>(&self, scope: &Scope, arn: &str, f: impl FnOnce(&mut LoadBalancerRecord) -> Result<T>) -> Result<T> {
        self.write(|tx| {
            let mut lb: LoadBalancerRecord = records::get(tx, LOAD_BALANCERS, scope, arn)?.ok_or(ElbError::LoadBalancerNotFound)?;
            let out = f(&mut lb)?;
            records::put(tx, LOAD_BALANCERS, scope, arn, &lb)?;
            Ok(out)
        })
    }

    pub(crate) fn modify_load_balancer_attributes_op(&self, scope: &Scope, input: ModifyLoadBalancerAttributesInput) -> Result<ModifyLoadBalancerAttributesOutput> {
        let logging = |a: &std::collections::BTreeMap<String, String>| {
            let on = a.get("access_logs.s3.enabled").is_some_and(|v| v == "true");
            on.then(|| (a.get("access_logs.s3.bucket").cloned().unwrap_or_default(), a.get("access_logs.s3.prefix").cloned().unwrap_or_default()))
        };
        let mut before = None;
        let attributes = self.update_load_balancer(scope, &input.load_balancer_arn, |lb| {
            before = logging(&lb.attributes);
            attributes::modify(&mut lb.attributes, input.attributes.into_iter().map(|a| (a.key, a.value)), "Load balancer")?;
            // The bucket must exist (on AWS, and let the load balancer write).
            if let Some((bucket, _)) = logging(&lb.attributes) {
                if !self.buckets.get().is_some_and(|b| b.exists(&bucket)) {
                    return Err(ElbError::InvalidConfiguration(format!("Access Denied for bucket: {bucket}. Please check S3bucket permission")));
                }
            }
            Ok(lb.attributes.clone())
        })?;
        // Turned on (or moved): AWS writes a test file where the logs will go.
        if let (Some((bucket, prefix)), Some(buckets)) = (logging(&attributes), self.buckets.get()) {
            if before.as_ref() != Some(&(bucket.clone(), prefix.clone())) {
                let put = buckets.put(&bucket, &crate::dataplane::access_logs::test_file_key(&prefix, &scope.account), b"Enable AccessLog for ELB: test file\n".to_vec(), "text/plain");
                tokio::spawn(async move {
                    if let Err(e) = put.await {
                        tracing::warn!("access log test file not written: {e}");
                    }
                });
            }
        }
        Ok(ModifyLoadBalancerAttributesOutput { attributes: Some(attributes.into_iter().map(|(k, v)| LoadBalancerAttribute { key: Some(k), value: Some(v) }).collect()) })
    }

    pub(crate) fn set_security_groups_op(&self, scope: &Scope, input: SetSecurityGroupsInput) -> Result<SetSecurityGroupsOutput> {
        let lb = self.load_balancer(scope, &input.load_balancer_arn)?;
        self.check_groups(scope, &lb.vpc_id, &input.security_groups)?;
        let groups = self.update_load_balancer(scope, &input.load_balancer_arn, |lb| {
            lb.security_groups = input.security_groups.clone();
            Ok(lb.security_groups.clone())
        })?;
        Ok(SetSecurityGroupsOutput { security_group_ids: Some(groups), ..Default::default() })
    }

    pub(crate) fn set_subnets_op(&self, scope: &Scope, input: SetSubnetsInput) -> Result<SetSubnetsOutput> {
        let lb = self.load_balancer(scope, &input.load_balancer_arn)?;
        let (vpc, subnets) = self.resolve_subnets(scope, &lb.kind, input.subnets, input.subnet_mappings)?;
        if vpc != lb.vpc_id {
            return Err(ElbError::InvalidSubnet("All subnets must belong to the load balancer's VPC".into()));
        }
        let lb = self.update_load_balancer(scope, &input.load_balancer_arn, |lb| {
            lb.subnets = subnets;
            Ok(lb.clone())
        })?;
        let out = load_balancer_out(&lb, &scope.region);
        Ok(SetSubnetsOutput { availability_zones: out.availability_zones, ip_address_type: out.ip_address_type, ..Default::default() })
    }

    pub(crate) fn set_ip_address_type_op(&self, scope: &Scope, input: SetIpAddressTypeInput) -> Result<SetIpAddressTypeOutput> {
        if !["ipv4", "dualstack", "dualstack-without-public-ipv4"].contains(&input.ip_address_type.as_str()) {
            return Err(ElbError::Validation(format!("IP address type '{}' is not valid", input.ip_address_type)));
        }
        let t = self.update_load_balancer(scope, &input.load_balancer_arn, |lb| {
            lb.ip_address_type = input.ip_address_type.clone();
            Ok(lb.ip_address_type.clone())
        })?;
        Ok(SetIpAddressTypeOutput { ip_address_type: Some(t) })
    }

    /// The tags of any resource, found by the kind its ARN names.
    pub(crate) fn tags_of(&self, scope: &Scope, arn: &str) -> Result<Vec<(String, String)>> {
        self.read(|tx| {
            Ok(match table_of(arn)? {
                LOAD_BALANCERS => records::get::<LoadBalancerRecord>(tx, LOAD_BALANCERS, scope, arn)?.ok_or(ElbError::LoadBalancerNotFound)?.tags,
                TARGET_GROUPS => records::get::<crate::records::TargetGroupRecord>(tx, TARGET_GROUPS, scope, arn)?.ok_or_else(|| crate::target_groups::not_found(arn))?.tags,
                LISTENERS => records::get::<crate::records::ListenerRecord>(tx, LISTENERS, scope, arn)?.ok_or(ElbError::ListenerNotFound)?.tags,
                _ => records::get::<crate::records::RuleRecord>(tx, RULES, scope, arn)?.ok_or(ElbError::RuleNotFound)?.tags,
            })
        })
    }

    pub(crate) fn change_tags(&self, scope: &Scope, arns: &[String], change: impl Fn(&mut Vec<(String, String)>) -> Result<()>) -> Result<()> {
        self.write(|tx| {
            for arn in arns {
                macro_rules! edit {
                    ($t:ty, $table:expr, $missing:expr) => {{
                        let mut r: $t = records::get(tx, $table, scope, arn)?.ok_or_else(|| $missing)?;
                        change(&mut r.tags)?;
                        records::put(tx, $table, scope, arn, &r)?;
                    }};
                }
                match table_of(arn)? {
                    LOAD_BALANCERS => edit!(LoadBalancerRecord, LOAD_BALANCERS, ElbError::LoadBalancerNotFound),
                    TARGET_GROUPS => edit!(crate::records::TargetGroupRecord, TARGET_GROUPS, crate::target_groups::not_found(arn)),
                    LISTENERS => edit!(crate::records::ListenerRecord, LISTENERS, ElbError::ListenerNotFound),
                    _ => edit!(crate::records::RuleRecord, RULES, ElbError::RuleNotFound),
                }
            }
            Ok(())
        })
    }
}

fn table_of(arn: &str) -> Result<&'static str> {
    let resource = arn.splitn(6, ':').nth(5).unwrap_or_default();
    Ok(match resource.split('/').next().unwrap_or_default() {
        "loadbalancer" => LOAD_BALANCERS,
        "targetgroup" => TARGET_GROUPS,
        "listener" => LISTENERS,
        "listener-rule" => RULES,
        _ => return Err(ElbError::Validation(format!("'{arn}' is not a valid resource ARN"))),
    })
}

/// Describe* pages: the marker is the index to start from.
pub fn paginate<T>(items: Vec<T>, marker: Option<&str>, page_size: Option<i32>) -> Result<(Vec<T>, Option<String>)> {
    let start = match marker {
        Some(m) => m.parse::<usize>().map_err(|_| ElbError::Validation("The marker is not valid".into()))?,
        None => 0,
    };
    let size = match page_size {
        Some(p) if !(1..=400).contains(&p) => return Err(ElbError::Validation("Page size must be between 1 and 400".into())),
        Some(p) => p as usize,
        None => 400,
    };
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(start).take(size).collect();
    let next = (start + size < total).then(|| (start + size).to_string());
    Ok((page, next))
}
