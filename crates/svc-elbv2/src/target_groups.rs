//! Target groups and their targets: protocols and health check settings with AWS's
//! defaults and limits, registration (instances of the group's VPC, `ip` targets incl.
//! loopback addresses as a nubo extension, the same address on two ports being two
//! targets), deregistration (the target drains for the deregistration delay), and the
//! health the data plane measured.

use crate::error::{ElbError, Result};
use crate::load_balancers::{hex_id, paginate};
use crate::records::{self, HealthCheck, ListenerRecord, RuleRecord, TargetGroupRecord, TargetRecord, LISTENERS, RULES, TARGET_GROUPS};
use crate::{attributes, Elbv2};
use nubo_core::Scope;
use nubo_model::generated::elbv2::*;

pub fn not_found(arn: &str) -> ElbError {
    ElbError::TargetGroupNotFound(format!("Target groups '{arn}' not found"))
}

const PROTOCOLS: &[&str] = &["HTTP", "HTTPS", "TCP", "TLS", "UDP", "TCP_UDP", "GENEVE"];

fn http_like(p: &str) -> bool {
    p == "HTTP" || p == "HTTPS"
}

/// The load balancers whose listeners or rules forward to a target group.
pub fn load_balancers_of(listeners: &[ListenerRecord], rules: &[RuleRecord], tg: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in listeners {
        let in_rules = rules.iter().filter(|r| r.listener_arn == l.arn).flat_map(|r| r.actions.iter());
        if l.default_actions.iter().chain(in_rules).any(|a| a.target_groups.iter().any(|(arn, _)| arn == tg)) && !out.contains(&l.load_balancer_arn) {
            out.push(l.load_balancer_arn.clone());
        }
    }
    out
}

fn target_group_out(tg: &TargetGroupRecord, lbs: Vec<String>) -> TargetGroup {
    let h = &tg.health;
    TargetGroup {
        target_group_arn: Some(tg.arn.clone()),
        target_group_name: Some(tg.name.clone()),
        protocol: tg.protocol.clone(),
        port: tg.port,
        vpc_id: tg.vpc_id.clone(),
        health_check_protocol: (tg.target_type != "lambda" || h.enabled).then(|| h.protocol.clone()),
        health_check_port: Some(h.port.clone()),
        health_check_enabled: Some(h.enabled),
        health_check_interval_seconds: Some(h.interval),
        health_check_timeout_seconds: Some(h.timeout),
        healthy_threshold_count: Some(h.healthy_threshold),
        unhealthy_threshold_count: Some(h.unhealthy_threshold),
        health_check_path: h.path.clone(),
        matcher: h.matcher.as_ref().map(|m| Matcher { http_code: Some(m.clone()), grpc_code: None }),
        load_balancer_arns: Some(lbs),
        target_type: Some(tg.target_type.clone()),
        protocol_version: tg.protocol_version.clone(),
        ip_address_type: Some(tg.ip_address_type.clone()),
        target_control_port: None,
    }
}

fn check_matcher(m: &str) -> Result<()> {
    let ok = m.split(',').all(|part| {
        let mut bounds = part.split('-');
        let codes: Vec<Option<u16>> = bounds.by_ref().map(|c| c.trim().parse::<u16>().ok()).collect();
        !codes.is_empty() && codes.len() <= 2 && codes.iter().all(|c| c.is_some_and(|c| (200..=499).contains(&c)))
    });
    if ok {
        Ok(())
    } else {
        Err(ElbError::Validation(format!("Health check matcher HTTP code '{m}' must be within '200-499' range")))
    }
}

fn check_health(h: &HealthCheck) -> Result<()> {
    if !(5..=300).contains(&h.interval) {
        return Err(ElbError::Validation("Health check interval must be between 5 and 300 seconds".into()));
    }
    if !(2..=120).contains(&h.timeout) {
        return Err(ElbError::Validation("Health check timeout must be between 2 and 120 seconds".into()));
    }
    if h.timeout >= h.interval && http_like(&h.protocol) {
        return Err(ElbError::Validation("Health check timeout must be smaller than the interval".into()));
    }
    for (what, n) in [("Healthy", h.healthy_threshold), ("Unhealthy", h.unhealthy_threshold)] {
        if !(2..=10).contains(&n) {
            return Err(ElbError::Validation(format!("{what} threshold count must be between 2 and 10")));
        }
    }
    if h.port != "traffic-port" && h.port.parse::<u16>().map_or(true, |p| p == 0) {
        return Err(ElbError::Validation(format!("Health check port '{}' must be 'traffic-port' or between 1 and 65535", h.port)));
    }
    if let Some(m) = &h.matcher {
        check_matcher(m)?;
    }
    Ok(())
}

impl Elbv2 {
    pub(crate) fn target_group(&self, scope: &Scope, arn: &str) -> Result<TargetGroupRecord> {
        self.read(|tx| Ok(records::get(tx, TARGET_GROUPS, scope, arn)?))?.ok_or_else(|| not_found(arn))
    }

    pub(crate) fn create_target_group_op(&self, scope: &Scope, input: CreateTargetGroupInput) -> Result<CreateTargetGroupOutput> {
        let name = input.name.clone();
        let valid = !name.is_empty() && name.len() <= 32 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') && !name.starts_with('-') && !name.ends_with('-');
        if !valid {
            return Err(ElbError::Validation(format!("Target group name '{name}' cannot be longer than '32' characters, must contain only alphanumeric characters or hyphens, and cannot begin or end with a hyphen")));
        }
        let target_type = input.target_type.clone().unwrap_or_else(|| "instance".into());
        if !["instance", "ip", "lambda", "alb"].contains(&target_type.as_str()) {
            return Err(ElbError::Validation(format!("Target type '{target_type}' is not valid")));
        }
        let protocol = input.protocol.clone();
        if target_type != "lambda" {
            let p = protocol.as_deref().ok_or_else(|| ElbError::Validation("A protocol must be specified".into()))?;
            if !PROTOCOLS.contains(&p) {
                return Err(ElbError::Validation(format!("Protocol '{p}' must be one of '{}'", PROTOCOLS.join(", "))));
            }
            if input.port.is_none_or(|p| !(1..=65535).contains(&p)) {
                return Err(ElbError::Validation("A port between 1 and 65535 must be specified".into()));
            }
            if input.vpc_id.is_none() {
                return Err(ElbError::Validation("A VPC ID must be specified".into()));
            }
        }
        let p = protocol.clone().unwrap_or_else(|| "HTTP".into());
        let http = http_like(&p);
        let hc_protocol = input.health_check_protocol.clone().unwrap_or_else(|| if http { p.clone() } else { "TCP".into() });
        let hc_http = http_like(&hc_protocol);
        let health = HealthCheck {
            enabled: input.health_check_enabled.unwrap_or(target_type != "lambda"),
            protocol: hc_protocol.clone(),
            port: input.health_check_port.clone().unwrap_or_else(|| "traffic-port".into()),
            path: if hc_http { Some(input.health_check_path.clone().unwrap_or_else(|| "/".into())) } else { None },
            interval: input.health_check_interval_seconds.unwrap_or(if target_type == "lambda" { 35 } else { 30 }),
            timeout: input.health_check_timeout_seconds.unwrap_or(if hc_http { 5 } else if target_type == "lambda" { 30 } else { 10 }),
            healthy_threshold: input.healthy_threshold_count.unwrap_or(5),
            unhealthy_threshold: input.unhealthy_threshold_count.unwrap_or(2),
            matcher: if hc_http { Some(input.matcher.as_ref().and_then(|m| m.http_code.clone()).unwrap_or_else(|| "200".into())) } else { None },
        };
        check_health(&health)?;
        let arn = format!("arn:aws:elasticloadbalancing:{}:{}:targetgroup/{name}/{}", scope.region, scope.account, hex_id());
        let record = TargetGroupRecord {
            arn,
            name: name.clone(),
            protocol: protocol.clone(),
            protocol_version: if http { Some(input.protocol_version.clone().unwrap_or_else(|| "HTTP1".into())) } else { None },
            port: input.port,
            vpc_id: input.vpc_id.clone(),
            target_type: target_type.clone(),
            ip_address_type: input.ip_address_type.clone().unwrap_or_else(|| "ipv4".into()),
            health,
            attributes: attributes::target_group_defaults(protocol.as_deref(), &target_type),
            tags: input.tags.unwrap_or_default().into_iter().map(|t| (t.key, t.value.unwrap_or_default())).collect(),
            targets: Vec::new(),
        };
        let record = self.write(|tx| {
            if let Some(existing) = records::all::<TargetGroupRecord>(tx, TARGET_GROUPS, scope)?.into_iter().find(|t| t.name == name) {
                if existing.protocol == record.protocol && existing.port == record.port && existing.vpc_id == record.vpc_id {
                    return Ok(existing);
                }
                return Err(ElbError::DuplicateTargetGroupName);
            }
            records::put(tx, TARGET_GROUPS, scope, &record.arn, &record)?;
            Ok(record)
        })?;
        Ok(CreateTargetGroupOutput { target_groups: Some(vec![target_group_out(&record, Vec::new())]) })
    }

    pub(crate) fn describe_target_groups_op(&self, scope: &Scope, input: DescribeTargetGroupsInput) -> Result<DescribeTargetGroupsOutput> {
        let (all, listeners, rules): (Vec<TargetGroupRecord>, Vec<ListenerRecord>, Vec<RuleRecord>) =
            self.read(|tx| Ok((records::all(tx, TARGET_GROUPS, scope)?, records::all(tx, LISTENERS, scope)?, records::all(tx, RULES, scope)?)))?;
        if let Some(lb) = &input.load_balancer_arn {
            self.load_balancer(scope, lb)?;
        }
        let mut out: Vec<(&TargetGroupRecord, Vec<String>)> = Vec::new();
        let with_lbs = |t: &TargetGroupRecord| load_balancers_of(&listeners, &rules, &t.arn);
        if let Some(arns) = &input.target_group_arns {
            for arn in arns {
                let t = all.iter().find(|t| &t.arn == arn).ok_or_else(|| not_found(arn))?;
                out.push((t, with_lbs(t)));
            }
        } else if let Some(names) = &input.names {
            for name in names {
                let t = all.iter().find(|t| &t.name == name).ok_or_else(|| ElbError::TargetGroupNotFound(format!("One or more target groups not found: {name}")))?;
                out.push((t, with_lbs(t)));
            }
        } else {
            for t in &all {
                let lbs = with_lbs(t);
                if input.load_balancer_arn.as_ref().is_none_or(|lb| lbs.contains(lb)) {
                    out.push((t, lbs));
                }
            }
        }
        let (page, next) = paginate(out, input.marker.as_deref(), input.page_size)?;
        Ok(DescribeTargetGroupsOutput { target_groups: Some(page.into_iter().map(|(t, lbs)| target_group_out(t, lbs)).collect()), next_marker: next })
    }

    fn update_target_group<T>(&self, scope: &Scope, arn: &str, f: impl FnOnce(&mut TargetGroupRecord) -> Result<T>) -> Result<T> {
        self.write(|tx| {
            let mut tg: TargetGroupRecord = records::get(tx, TARGET_GROUPS, scope, arn)?.ok_or_else(|| not_found(arn))?;
            let out = f(&mut tg)?;
            records::put(tx, TARGET_GROUPS, scope, arn, &tg)?;
            Ok(out)
        })
    }

    pub(crate) fn modify_target_group_op(&self, scope: &Scope, input: ModifyTargetGroupInput) -> Result<ModifyTargetGroupOutput> {
        let tg = self.update_target_group(scope, &input.target_group_arn, |tg| {
            let h = &mut tg.health;
            if let Some(p) = input.health_check_protocol.clone() {
                h.protocol = p;
            }
            if let Some(p) = input.health_check_port.clone() {
                h.port = p;
            }
            if let Some(p) = input.health_check_path.clone() {
                h.path = Some(p);
            }
            if let Some(e) = input.health_check_enabled {
                h.enabled = e;
            }
            h.interval = input.health_check_interval_seconds.unwrap_or(h.interval);
            h.timeout = input.health_check_timeout_seconds.unwrap_or(h.timeout);
            h.healthy_threshold = input.healthy_threshold_count.unwrap_or(h.healthy_threshold);
            h.unhealthy_threshold = input.unhealthy_threshold_count.unwrap_or(h.unhealthy_threshold);
            if let Some(m) = input.matcher.as_ref().and_then(|m| m.http_code.clone()) {
                h.matcher = Some(m);
            }
            check_health(h)?;
            Ok(tg.clone())
        })?;
        let (listeners, rules) = self.read(|tx| Ok((records::all(tx, LISTENERS, scope)?, records::all(tx, RULES, scope)?)))?;
        Ok(ModifyTargetGroupOutput { target_groups: Some(vec![target_group_out(&tg, load_balancers_of(&listeners, &rules, &tg.arn))]) })
    }

    pub(crate) fn delete_target_group_op(&self, scope: &Scope, arn: &str) -> Result<()> {
        self.write(|tx| {
            let listeners: Vec<ListenerRecord> = records::all(tx, LISTENERS, scope)?;
            let rules: Vec<RuleRecord> = records::all(tx, RULES, scope)?;
            if !load_balancers_of(&listeners, &rules, arn).is_empty() {
                return Err(ElbError::ResourceInUse(format!("Target group '{arn}' is currently in use by a listener or a rule")));
            }
            records::delete(tx, TARGET_GROUPS, scope, arn)?;
            Ok(())
        })
    }

    pub(crate) fn modify_target_group_attributes_op(&self, scope: &Scope, input: ModifyTargetGroupAttributesInput) -> Result<ModifyTargetGroupAttributesOutput> {
        let attributes = self.update_target_group(scope, &input.target_group_arn, |tg| {
            attributes::modify(&mut tg.attributes, input.attributes.into_iter().map(|a| (a.key, a.value)), "Target group")?;
            Ok(tg.attributes.clone())
        })?;
        Ok(ModifyTargetGroupAttributesOutput { attributes: Some(attributes.into_iter().map(|(k, v)| TargetGroupAttribute { key: Some(k), value: Some(v) }).collect()) })
    }

    /// Checks a target against its group: the instance exists in the group's VPC and is
    /// running; an `ip` is in the VPC or (nubo) a loopback address of the host.
    fn check_target(&self, scope: &Scope, tg: &TargetGroupRecord, t: &TargetDescription) -> Result<(i32, Option<String>)> {
        // A function has no port; Elastic Load Balancing needs its permission to invoke it.
        if tg.target_type == "lambda" {
            let functions = self.plane.functions.get();
            if !functions.is_some_and(|f| f.exists(&t.id)) {
                return Err(ElbError::InvalidTarget(format!("The following targets are not valid Lambda functions: '{}'", t.id)));
            }
            if !functions.is_some_and(|f| f.allows(&t.id, &tg.arn)) {
                return Err(ElbError::AccessDenied(format!("elasticloadbalancing principal does not have permission to invoke {} from target group {}", t.id, tg.arn)));
            }
            return Ok((0, None));
        }
        let port = t.port.or(tg.port).ok_or_else(|| ElbError::Validation("A port must be specified".into()))?;
        if !(1..=65535).contains(&port) {
            return Err(ElbError::Validation(format!("Port '{port}' must be between 1 and 65535")));
        }
        match tg.target_type.as_str() {
            "instance" => {
                if !t.id.starts_with("i-") {
                    return Err(ElbError::Validation(format!("The target ID '{}' must be an instance ID", t.id)));
                }
                let i = self.network.instance(scope, &t.id).ok_or_else(|| ElbError::InvalidTarget(format!("The following targets are not valid instances: '{}'", t.id)))?;
                if Some(&i.vpc_id) != tg.vpc_id.as_ref() {
                    return Err(ElbError::InvalidTarget(format!("The following targets are not in the target group VPC '{}': '{}'", tg.vpc_id.clone().unwrap_or_default(), t.id)));
                }
                if !i.running {
                    return Err(ElbError::InvalidTarget(format!("The following targets are not in a running state and cannot be registered: '{}'", t.id)));
                }
                Ok((port, Some(i.availability_zone)))
            }
            "ip" => {
                let ip: std::net::IpAddr = t.id.parse().map_err(|_| ElbError::Validation(format!("The IP address '{}' is not a valid IPv4 address", t.id)))?;
                Ok((port, t.availability_zone.clone().or_else(|| ip.is_loopback().then(|| "all".to_string()))))
            }
            _ => Ok((port, t.availability_zone.clone())),
        }
    }

    pub(crate) fn register_targets_op(&self, scope: &Scope, input: RegisterTargetsInput) -> Result<()> {
        let tg = self.target_group(scope, &input.target_group_arn)?;
        let mut checked = Vec::new();
        for t in &input.targets {
            let (port, az) = self.check_target(scope, &tg, t)?;
            checked.push((t.id.clone(), port, az));
        }
        let now = self.clock.now();
        self.update_target_group(scope, &input.target_group_arn, |tg| {
            for (id, port, az) in checked {
                match tg.targets.iter_mut().find(|t| t.id == id && t.port == port) {
                    // Registering a draining target again brings it back.
                    Some(existing) => existing.draining_since = None,
                    None => tg.targets.push(TargetRecord { id, port, availability_zone: az, registered: now, draining_since: None }),
                }
            }
            if tg.targets.len() > 1000 {
                return Err(ElbError::Validation("You cannot register more than 1000 targets in a target group".into()));
            }
            Ok(())
        })
    }

    pub(crate) fn deregister_targets_op(&self, scope: &Scope, input: DeregisterTargetsInput) -> Result<()> {
        let now = self.clock.now();
        self.update_target_group(scope, &input.target_group_arn, |tg| {
            let default_port = if tg.target_type == "lambda" { Some(0) } else { tg.port };
            for t in &input.targets {
                let port = if tg.target_type == "lambda" { Some(0) } else { t.port.or(default_port) };
                let found = tg.targets.iter_mut().find(|r| r.id == t.id && Some(r.port) == port);
                match found {
                    Some(r) if r.draining_since.is_none() => r.draining_since = Some(now),
                    Some(_) => {}
                    None => return Err(ElbError::InvalidTarget(format!("The following targets are not registered in target group '{}': '{}'", tg.arn, t.id))),
                }
            }
            Ok(())
        })
    }

    pub(crate) fn describe_target_health_op(&self, scope: &Scope, input: DescribeTargetHealthInput) -> Result<DescribeTargetHealthOutput> {
        let tg = self.target_group(scope, &input.target_group_arn)?;
        let (listeners, rules) = self.read(|tx| Ok((records::all(tx, LISTENERS, scope)?, records::all(tx, RULES, scope)?)))?;
        let in_use = !load_balancers_of(&listeners, &rules, &tg.arn).is_empty();
        let mut out = Vec::new();
        let describe = |t: &TargetRecord| {
            let (state, reason, description) = self.plane.health_of(&tg, t, in_use, self.clock.now());
            TargetHealthDescription {
                target: Some(TargetDescription { id: t.id.clone(), port: (tg.target_type != "lambda").then_some(t.port), availability_zone: t.availability_zone.clone(), quic_server_id: None }),
                health_check_port: (tg.target_type != "lambda").then(|| if tg.health.port == "traffic-port" { t.port.to_string() } else { tg.health.port.clone() }),
                target_health: Some(TargetHealth { state: Some(state.into()), reason: reason.map(str::to_string), description }),
                ..Default::default()
            }
        };
        match &input.targets {
            Some(asked) => {
                for a in asked {
                    let port = a.port.or(tg.port).unwrap_or(0);
                    match tg.targets.iter().find(|t| t.id == a.id && t.port == port) {
                        Some(t) => out.push(describe(t)),
                        None => out.push(TargetHealthDescription {
                            target: Some(TargetDescription { id: a.id.clone(), port: Some(port), ..Default::default() }),
                            health_check_port: Some(port.to_string()),
                            target_health: Some(TargetHealth {
                                state: Some("unused".into()),
                                reason: Some("Target.NotRegistered".into()),
                                description: Some("Target is not registered to the target group".into()),
                            }),
                            ..Default::default()
                        }),
                    }
                }
            }
            None => out.extend(tg.targets.iter().map(describe)),
        }
        Ok(DescribeTargetHealthOutput { target_health_descriptions: Some(out) })
    }
}
