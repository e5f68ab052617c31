//! Listeners and rules: protocols that fit the load balancer's kind, actions (forward to
//! one or weighted target groups, redirect, fixed response) checked as AWS checks them,
//! conditions, priorities, and the default rule every listener shows.

use crate::error::{ElbError, Result};
use crate::load_balancers::{hex_id, paginate};
use crate::records::{self, ActionRecord, ConditionRecord, FixedResponseRecord, ListenerRecord, LoadBalancerRecord, RedirectRecord, RuleRecord, TargetGroupRecord, LISTENERS, RULES, TARGET_GROUPS};
use crate::{attributes, Elbv2};
use nubo_core::Scope;
use nubo_model::generated::elbv2::*;

fn action_in(a: Action, kind: &str) -> Result<ActionRecord> {
    let kind_of = a.r#type.clone();
    let mut r = ActionRecord { kind: kind_of.clone(), order: a.order, target_groups: Vec::new(), group_stickiness: None, redirect: None, fixed_response: None };
    match kind_of.as_str() {
        "forward" => {
            if let Some(arn) = a.target_group_arn {
                r.target_groups.push((arn, 1));
            }
            if let Some(f) = a.forward_config {
                let groups: Vec<(String, i32)> = f.target_groups.unwrap_or_default().into_iter().filter_map(|t| Some((t.target_group_arn?, t.weight.unwrap_or(1)))).collect();
                if !r.target_groups.is_empty() && !groups.is_empty() && (groups.len() != 1 || groups[0].0 != r.target_groups[0].0) {
                    return Err(ElbError::Validation("You cannot specify both a target group ARN and a forward config with different target groups".into()));
                }
                if !groups.is_empty() {
                    r.target_groups = groups;
                }
                r.group_stickiness = f.target_group_stickiness_config.map(|s| (s.enabled.unwrap_or(false), s.duration_seconds.unwrap_or(3600)));
            }
            if r.target_groups.is_empty() {
                return Err(ElbError::Validation("A target group ARN must be specified for a forward action".into()));
            }
            if r.target_groups.len() > 5 {
                return Err(ElbError::Validation("A forward action can have at most 5 target groups".into()));
            }
            if r.target_groups.iter().any(|(_, w)| !(0..=999).contains(w)) {
                return Err(ElbError::Validation("Target group weights must be between 0 and 999".into()));
            }
        }
        "redirect" if kind == "application" => {
            let c = a.redirect_config.ok_or_else(|| ElbError::Validation("A redirect configuration must be specified for a redirect action".into()))?;
            if c.status_code != "HTTP_301" && c.status_code != "HTTP_302" {
                return Err(ElbError::Validation(format!("Redirect status code '{}' must be HTTP_301 or HTTP_302", c.status_code)));
            }
            r.redirect = Some(RedirectRecord {
                protocol: c.protocol.unwrap_or_else(|| "#{protocol}".into()),
                port: c.port.unwrap_or_else(|| "#{port}".into()),
                host: c.host.unwrap_or_else(|| "#{host}".into()),
                path: c.path.unwrap_or_else(|| "/#{path}".into()),
                query: c.query.unwrap_or_else(|| "#{query}".into()),
                status_code: c.status_code,
            });
        }
        "fixed-response" if kind == "application" => {
            let c = a.fixed_response_config.ok_or_else(|| ElbError::Validation("A fixed response configuration must be specified for a fixed-response action".into()))?;
            let code: u16 = c.status_code.parse().unwrap_or(0);
            if !(200..=599).contains(&code) || (300..400).contains(&code) {
                return Err(ElbError::Validation(format!("Fixed response status code '{}' must be 2XX, 4XX or 5XX", c.status_code)));
            }
            if c.message_body.as_ref().is_some_and(|b| b.len() > 1024) {
                return Err(ElbError::Validation("The fixed response message body cannot be longer than 1024 characters".into()));
            }
            r.fixed_response = Some(FixedResponseRecord { status_code: c.status_code, content_type: c.content_type, body: c.message_body });
        }
        "authenticate-oidc" | "authenticate-cognito" | "jwt-validation" => {
            return Err(ElbError::InvalidAction(format!("Action type '{kind_of}' is not supported by nubo")));
        }
        other => return Err(ElbError::InvalidAction(format!("Action type '{other}' is not supported for load balancers of type '{kind}'"))),
    }
    Ok(r)
}

pub fn action_out(a: &ActionRecord) -> Action {
    let mut out = Action { r#type: a.kind.clone(), order: a.order, ..Default::default() };
    match a.kind.as_str() {
        "forward" => {
            if a.target_groups.len() == 1 {
                out.target_group_arn = Some(a.target_groups[0].0.clone());
            }
            out.forward_config = Some(ForwardActionConfig {
                target_groups: Some(a.target_groups.iter().map(|(arn, w)| TargetGroupTuple { target_group_arn: Some(arn.clone()), weight: Some(*w) }).collect()),
                target_group_stickiness_config: Some(TargetGroupStickinessConfig { enabled: Some(a.group_stickiness.is_some_and(|s| s.0)), duration_seconds: a.group_stickiness.filter(|s| s.0).map(|s| s.1) }),
            });
        }
        "redirect" => {
            out.redirect_config = a.redirect.as_ref().map(|r| RedirectActionConfig {
                protocol: Some(r.protocol.clone()),
                port: Some(r.port.clone()),
                host: Some(r.host.clone()),
                path: Some(r.path.clone()),
                query: Some(r.query.clone()),
                status_code: r.status_code.clone(),
            })
        }
        "fixed-response" => {
            out.fixed_response_config =
                a.fixed_response.as_ref().map(|f| FixedResponseActionConfig { message_body: f.body.clone(), status_code: f.status_code.clone(), content_type: f.content_type.clone() })
        }
        _ => {}
    }
    out
}

fn condition_in(c: RuleCondition) -> Result<ConditionRecord> {
    let field = c.field.clone().ok_or_else(|| ElbError::Validation("A condition field must be specified".into()))?;
    let mut r = ConditionRecord { field: field.clone(), values: Vec::new(), header_name: None, query: Vec::new() };
    match field.as_str() {
        "host-header" => r.values = c.host_header_config.and_then(|h| h.values).or(c.values).unwrap_or_default(),
        "path-pattern" => r.values = c.path_pattern_config.and_then(|h| h.values).or(c.values).unwrap_or_default(),
        "http-request-method" => r.values = c.http_request_method_config.and_then(|h| h.values).unwrap_or_default(),
        "source-ip" => r.values = c.source_ip_config.and_then(|h| h.values).unwrap_or_default(),
        "http-header" => {
            let h = c.http_header_config.ok_or_else(|| ElbError::Validation("An HTTP header condition must have a configuration".into()))?;
            r.header_name = Some(h.http_header_name.ok_or_else(|| ElbError::Validation("An HTTP header condition must name a header".into()))?);
            r.values = h.values.unwrap_or_default();
        }
        "query-string" => {
            r.query = c.query_string_config.and_then(|q| q.values).unwrap_or_default().into_iter().map(|p| (p.key, p.value.unwrap_or_default())).collect();
            if r.query.is_empty() {
                return Err(ElbError::Validation("A query string condition must have values".into()));
            }
        }
        other => return Err(ElbError::Validation(format!("Condition field '{other}' must be one of '[http-header, http-request-method, host-header, path-pattern, query-string, source-ip]'"))),
    }
    if r.values.is_empty() && r.query.is_empty() {
        return Err(ElbError::Validation(format!("A '{field}' condition must have at least one value")));
    }
    Ok(r)
}

fn condition_out(c: &ConditionRecord) -> RuleCondition {
    let mut out = RuleCondition { field: Some(c.field.clone()), ..Default::default() };
    match c.field.as_str() {
        "host-header" => {
            out.values = Some(c.values.clone());
            out.host_header_config = Some(HostHeaderConditionConfig { values: Some(c.values.clone()), regex_values: None });
        }
        "path-pattern" => {
            out.values = Some(c.values.clone());
            out.path_pattern_config = Some(PathPatternConditionConfig { values: Some(c.values.clone()), regex_values: None });
        }
        "http-request-method" => out.http_request_method_config = Some(HttpRequestMethodConditionConfig { values: Some(c.values.clone()) }),
        "source-ip" => out.source_ip_config = Some(SourceIpConditionConfig { values: Some(c.values.clone()) }),
        "http-header" => out.http_header_config = Some(HttpHeaderConditionConfig { http_header_name: c.header_name.clone(), values: Some(c.values.clone()), regex_values: None }),
        "query-string" => {
            out.query_string_config = Some(QueryStringConditionConfig { values: Some(c.query.iter().map(|(k, v)| QueryStringKeyValuePair { key: k.clone(), value: Some(v.clone()) }).collect()) })
        }
        _ => {}
    }
    out
}

fn listener_out(l: &ListenerRecord) -> Listener {
    Listener {
        listener_arn: Some(l.arn.clone()),
        load_balancer_arn: Some(l.load_balancer_arn.clone()),
        port: Some(l.port),
        protocol: Some(l.protocol.clone()),
        certificates: (!l.certificates.is_empty()).then(|| l.certificates.iter().map(|c| Certificate { certificate_arn: Some(c.clone()), is_default: None }).collect()),
        ssl_policy: l.ssl_policy.clone(),
        default_actions: Some(l.default_actions.iter().map(action_out).collect()),
        ..Default::default()
    }
}

fn rule_out(r: &RuleRecord) -> Rule {
    Rule {
        rule_arn: Some(r.arn.clone()),
        priority: Some(r.priority.to_string()),
        conditions: Some(r.conditions.iter().map(condition_out).collect()),
        actions: Some(r.actions.iter().map(action_out).collect()),
        is_default: Some(false),
        transforms: None,
    }
}

fn default_rule(l: &ListenerRecord) -> Rule {
    Rule {
        rule_arn: Some(default_rule_arn(&l.arn)),
        priority: Some("default".into()),
        conditions: Some(Vec::new()),
        actions: Some(l.default_actions.iter().map(action_out).collect()),
        is_default: Some(true),
        transforms: None,
    }
}

/// The default rule's ARN: the listener's, as a rule with a fixed id.
fn default_rule_arn(listener_arn: &str) -> String {
    format!("{}/{:016x}", listener_arn.replacen(":listener/", ":listener-rule/", 1), nubo_core::ids::stable_hash(&[listener_arn]))
}

fn protocols_for(kind: &str) -> &'static [&'static str] {
    match kind {
        "network" => &["TCP", "TLS", "UDP", "TCP_UDP"],
        "gateway" => &["GENEVE"],
        _ => &["HTTP", "HTTPS"],
    }
}

impl Elbv2 {
    pub(crate) fn listener(&self, scope: &Scope, arn: &str) -> Result<ListenerRecord> {
        self.read(|tx| Ok(records::get(tx, LISTENERS, scope, arn)?))?.ok_or(ElbError::ListenerNotFound)
    }

    /// Actions as AWS checks them: known target groups of the right protocol family, in
    /// the load balancer's VPC, one terminal action last.
    fn check_actions(&self, tx: &dyn nubo_store::ReadTxn, scope: &Scope, lb: &LoadBalancerRecord, actions: Vec<Action>) -> Result<Vec<ActionRecord>> {
        if actions.is_empty() {
            return Err(ElbError::Validation("At least one action must be specified".into()));
        }
        let mut out = Vec::new();
        for a in actions {
            let r = action_in(a, &lb.kind)?;
            for (arn, _) in &r.target_groups {
                let tg: TargetGroupRecord = records::get(tx, TARGET_GROUPS, scope, arn)?.ok_or_else(|| crate::target_groups::not_found(arn))?;
                if tg.target_type != "lambda" && tg.vpc_id.as_deref() != Some(lb.vpc_id.as_str()) {
                    return Err(ElbError::InvalidConfiguration(format!("The target group '{arn}' is not in the load balancer's VPC '{}'", lb.vpc_id)));
                }
                let tcp = matches!(tg.protocol.as_deref(), Some("TCP" | "TLS" | "UDP" | "TCP_UDP"));
                if (lb.kind == "network") != tcp && tg.target_type != "lambda" {
                    return Err(ElbError::IncompatibleProtocols(format!(
                        "The target group '{arn}' with protocol '{}' cannot be used with a load balancer of type '{}'",
                        tg.protocol.clone().unwrap_or_default(),
                        lb.kind
                    )));
                }
            }
            out.push(r);
        }
        out.sort_by_key(|a| a.order.unwrap_or(i32::MAX));
        Ok(out)
    }

    pub(crate) fn create_listener_op(&self, scope: &Scope, input: CreateListenerInput) -> Result<CreateListenerOutput> {
        let lb = self.load_balancer(scope, &input.load_balancer_arn)?;
        let protocol = input.protocol.clone().unwrap_or_else(|| if lb.kind == "network" { "TCP".into() } else { "HTTP".into() });
        if !protocols_for(&lb.kind).contains(&protocol.as_str()) {
            return Err(ElbError::Validation(format!("Listener protocol '{protocol}' must be one of '{}'", protocols_for(&lb.kind).join(", "))));
        }
        let port = input.port.ok_or_else(|| ElbError::Validation("A listener port must be specified".into()))?;
        if !(1..=65535).contains(&port) {
            return Err(ElbError::Validation(format!("Listener port '{port}' must be between 1 and 65535")));
        }
        let secure = protocol == "HTTPS" || protocol == "TLS";
        let certificates: Vec<String> = input.certificates.unwrap_or_default().into_iter().filter_map(|c| c.certificate_arn).collect();
        if secure && certificates.is_empty() {
            return Err(ElbError::Validation(format!("A certificate must be specified for {protocol} listeners")));
        }
        if let Some(source) = self.plane.certificates.get() {
            for c in &certificates {
                if source.certificate(c).is_none() {
                    return Err(ElbError::CertificateNotFound(c.clone()));
                }
            }
        }
        let ssl_policy = if secure { Some(input.ssl_policy.clone().unwrap_or_else(|| attributes::DEFAULT_SSL_POLICY.into())) } else { None };
        if let Some(p) = &ssl_policy {
            if !attributes::ssl_policy_exists(p) {
                return Err(ElbError::SslPolicyNotFound);
            }
        }
        let listener = self.write(|tx| {
            let actions = self.check_actions(&*tx, scope, &lb, input.default_actions)?;
            let existing: Vec<ListenerRecord> = records::all(tx, LISTENERS, scope)?;
            if let Some(same) = existing.iter().find(|l| l.load_balancer_arn == lb.arn && l.port == port) {
                if same.protocol == protocol && same.default_actions == actions {
                    return Ok(same.clone());
                }
                return Err(ElbError::DuplicateListener);
            }
            let lb_part = lb.arn.split(":loadbalancer/").nth(1).unwrap_or_default();
            let l = ListenerRecord {
                arn: format!("arn:aws:elasticloadbalancing:{}:{}:listener/{lb_part}/{}", scope.region, scope.account, hex_id()),
                load_balancer_arn: lb.arn.clone(),
                port,
                protocol: protocol.clone(),
                ssl_policy,
                certificates,
                default_actions: actions,
                attributes: attributes::listener_defaults(&protocol),
                tags: input.tags.unwrap_or_default().into_iter().map(|t| (t.key, t.value.unwrap_or_default())).collect(),
            };
            records::put(tx, LISTENERS, scope, &l.arn, &l)?;
            Ok(l)
        })?;
        Ok(CreateListenerOutput { listeners: Some(vec![listener_out(&listener)]) })
    }

    pub(crate) fn describe_listeners_op(&self, scope: &Scope, input: DescribeListenersInput) -> Result<DescribeListenersOutput> {
        if input.load_balancer_arn.is_none() && input.listener_arns.is_none() {
            return Err(ElbError::Validation("You must specify either listener ARNs or a load balancer ARN".into()));
        }
        if let Some(lb) = &input.load_balancer_arn {
            self.load_balancer(scope, lb)?;
        }
        let all: Vec<ListenerRecord> = self.read(|tx| Ok(records::all(tx, LISTENERS, scope)?))?;
        let mut out: Vec<&ListenerRecord> = Vec::new();
        if let Some(arns) = &input.listener_arns {
            for arn in arns {
                out.push(all.iter().find(|l| &l.arn == arn).ok_or(ElbError::ListenerNotFound)?);
            }
        } else {
            out.extend(all.iter().filter(|l| Some(&l.load_balancer_arn) == input.load_balancer_arn.as_ref()));
        }
        out.sort_by_key(|l| l.port);
        let (page, next) = paginate(out, input.marker.as_deref(), input.page_size)?;
        Ok(DescribeListenersOutput { listeners: Some(page.into_iter().map(listener_out).collect()), next_marker: next })
    }

    pub(crate) fn modify_listener_op(&self, scope: &Scope, input: ModifyListenerInput) -> Result<ModifyListenerOutput> {
        let current = self.listener(scope, &input.listener_arn)?;
        let lb = self.load_balancer(scope, &current.load_balancer_arn)?;
        let listener = self.write(|tx| {
            let mut l: ListenerRecord = records::get(tx, LISTENERS, scope, &input.listener_arn)?.ok_or(ElbError::ListenerNotFound)?;
            if let Some(p) = input.protocol.clone() {
                if !protocols_for(&lb.kind).contains(&p.as_str()) {
                    return Err(ElbError::Validation(format!("Listener protocol '{p}' must be one of '{}'", protocols_for(&lb.kind).join(", "))));
                }
                l.protocol = p;
            }
            if let Some(port) = input.port {
                let clash = records::all::<ListenerRecord>(tx, LISTENERS, scope)?.into_iter().any(|o| o.load_balancer_arn == l.load_balancer_arn && o.port == port && o.arn != l.arn);
                if clash {
                    return Err(ElbError::DuplicateListener);
                }
                l.port = port;
            }
            if let Some(actions) = input.default_actions.clone() {
                l.default_actions = self.check_actions(&*tx, scope, &lb, actions)?;
            }
            if let Some(c) = input.certificates.clone() {
                l.certificates = c.into_iter().filter_map(|c| c.certificate_arn).collect();
            }
            if let Some(p) = input.ssl_policy.clone() {
                if !attributes::ssl_policy_exists(&p) {
                    return Err(ElbError::SslPolicyNotFound);
                }
                l.ssl_policy = Some(p);
            }
            records::put(tx, LISTENERS, scope, &l.arn, &l)?;
            Ok(l)
        })?;
        Ok(ModifyListenerOutput { listeners: Some(vec![listener_out(&listener)]) })
    }

    pub(crate) fn delete_listener_op(&self, scope: &Scope, arn: &str) -> Result<()> {
        self.write(|tx| {
            records::get::<ListenerRecord>(tx, LISTENERS, scope, arn)?.ok_or(ElbError::ListenerNotFound)?;
            for r in records::all::<RuleRecord>(tx, RULES, scope)?.into_iter().filter(|r| r.listener_arn == arn) {
                records::delete(tx, RULES, scope, &r.arn)?;
            }
            records::delete(tx, LISTENERS, scope, arn)?;
            Ok(())
        })
    }

    pub(crate) fn modify_listener_attributes_op(&self, scope: &Scope, input: ModifyListenerAttributesInput) -> Result<ModifyListenerAttributesOutput> {
        let attributes = self.write(|tx| {
            let mut l: ListenerRecord = records::get(tx, LISTENERS, scope, &input.listener_arn)?.ok_or(ElbError::ListenerNotFound)?;
            attributes::modify(&mut l.attributes, input.attributes.into_iter().map(|a| (a.key, a.value)), "Listener")?;
            records::put(tx, LISTENERS, scope, &l.arn, &l)?;
            Ok(l.attributes)
        })?;
        Ok(ModifyListenerAttributesOutput { attributes: Some(attributes.into_iter().map(|(k, v)| ListenerAttribute { key: Some(k), value: Some(v) }).collect()) })
    }

    pub(crate) fn create_rule_op(&self, scope: &Scope, input: CreateRuleInput) -> Result<CreateRuleOutput> {
        let listener = self.listener(scope, &input.listener_arn)?;
        let lb = self.load_balancer(scope, &listener.load_balancer_arn)?;
        if lb.kind != "application" {
            return Err(ElbError::Validation("Rules can only be created on listeners of Application Load Balancers".into()));
        }
        if !(1..=50000).contains(&input.priority) {
            return Err(ElbError::Validation(format!("Priority '{}' must be between 1 and 50000", input.priority)));
        }
        if input.conditions.is_empty() {
            return Err(ElbError::Validation("A rule must have at least one condition".into()));
        }
        let conditions = input.conditions.into_iter().map(condition_in).collect::<Result<Vec<_>>>()?;
        let rule = self.write(|tx| {
            let actions = self.check_actions(&*tx, scope, &lb, input.actions)?;
            let rules: Vec<RuleRecord> = records::all(tx, RULES, scope)?;
            if rules.iter().any(|r| r.listener_arn == listener.arn && r.priority == input.priority) {
                return Err(ElbError::PriorityInUse(input.priority));
            }
            let part = listener.arn.split(":listener/").nth(1).unwrap_or_default();
            let r = RuleRecord {
                arn: format!("arn:aws:elasticloadbalancing:{}:{}:listener-rule/{part}/{}", scope.region, scope.account, hex_id()),
                listener_arn: listener.arn.clone(),
                priority: input.priority,
                conditions,
                actions,
                tags: input.tags.unwrap_or_default().into_iter().map(|t| (t.key, t.value.unwrap_or_default())).collect(),
            };
            records::put(tx, RULES, scope, &r.arn, &r)?;
            Ok(r)
        })?;
        Ok(CreateRuleOutput { rules: Some(vec![rule_out(&rule)]) })
    }

    pub(crate) fn describe_rules_op(&self, scope: &Scope, input: DescribeRulesInput) -> Result<DescribeRulesOutput> {
        if input.listener_arn.is_none() && input.rule_arns.is_none() {
            return Err(ElbError::Validation("You must specify either listener ARNs or rule ARNs".into()));
        }
        let (listeners, all): (Vec<ListenerRecord>, Vec<RuleRecord>) = self.read(|tx| Ok((records::all(tx, LISTENERS, scope)?, records::all(tx, RULES, scope)?)))?;
        let mut out: Vec<Rule> = Vec::new();
        if let Some(arns) = &input.rule_arns {
            for arn in arns {
                if let Some(r) = all.iter().find(|r| &r.arn == arn) {
                    out.push(rule_out(r));
                } else if let Some(l) = listeners.iter().find(|l| default_rule_arn(&l.arn) == *arn) {
                    out.push(default_rule(l));
                } else {
                    return Err(ElbError::RuleNotFound);
                }
            }
        } else {
            let arn = input.listener_arn.as_ref().expect("checked above");
            let l = listeners.iter().find(|l| &l.arn == arn).ok_or(ElbError::ListenerNotFound)?;
            let mut rules: Vec<&RuleRecord> = all.iter().filter(|r| &r.listener_arn == arn).collect();
            rules.sort_by_key(|r| r.priority);
            out.extend(rules.into_iter().map(rule_out));
            out.push(default_rule(l));
        }
        let (page, next) = paginate(out, input.marker.as_deref(), input.page_size)?;
        Ok(DescribeRulesOutput { rules: Some(page), next_marker: next })
    }

    pub(crate) fn modify_rule_op(&self, scope: &Scope, input: ModifyRuleInput) -> Result<ModifyRuleOutput> {
        let conditions = input.conditions.map(|c| c.into_iter().map(condition_in).collect::<Result<Vec<_>>>()).transpose()?;
        let rule = self.write(|tx| {
            let mut r: RuleRecord = records::get(tx, RULES, scope, &input.rule_arn)?.ok_or(ElbError::RuleNotFound)?;
            let listener: ListenerRecord = records::get(tx, LISTENERS, scope, &r.listener_arn)?.ok_or(ElbError::ListenerNotFound)?;
            let lb: LoadBalancerRecord = records::get(tx, crate::records::LOAD_BALANCERS, scope, &listener.load_balancer_arn)?.ok_or(ElbError::LoadBalancerNotFound)?;
            if let Some(c) = conditions {
                r.conditions = c;
            }
            if let Some(actions) = input.actions {
                r.actions = self.check_actions(&*tx, scope, &lb, actions)?;
            }
            records::put(tx, RULES, scope, &r.arn, &r)?;
            Ok(r)
        })?;
        Ok(ModifyRuleOutput { rules: Some(vec![rule_out(&rule)]) })
    }

    pub(crate) fn delete_rule_op(&self, scope: &Scope, arn: &str) -> Result<()> {
        self.write(|tx| {
            if records::get::<RuleRecord>(tx, RULES, scope, arn)?.is_none() {
                let is_default = records::all::<ListenerRecord>(tx, LISTENERS, scope)?.iter().any(|l| default_rule_arn(&l.arn) == arn);
                return Err(if is_default { ElbError::OperationNotPermitted("Default rule cannot be deleted".into()) } else { ElbError::RuleNotFound });
            }
            records::delete(tx, RULES, scope, arn)?;
            Ok(())
        })
    }

    pub(crate) fn set_rule_priorities_op(&self, scope: &Scope, input: SetRulePrioritiesInput) -> Result<SetRulePrioritiesOutput> {
        let rules = self.write(|tx| {
            let mut all: Vec<RuleRecord> = records::all(tx, RULES, scope)?;
            let mut changed = Vec::new();
            for p in &input.rule_priorities {
                let arn = p.rule_arn.clone().unwrap_or_default();
                let priority = p.priority.ok_or_else(|| ElbError::Validation("A priority must be specified".into()))?;
                let r = all.iter_mut().find(|r| r.arn == arn).ok_or(ElbError::RuleNotFound)?;
                r.priority = priority;
                changed.push(arn);
            }
            // No two rules of a listener may share a priority after the change.
            for r in &all {
                if all.iter().any(|o| o.arn != r.arn && o.listener_arn == r.listener_arn && o.priority == r.priority) {
                    return Err(ElbError::PriorityInUse(r.priority));
                }
            }
            let mut out = Vec::new();
            for r in all.iter().filter(|r| changed.contains(&r.arn)) {
                records::put(tx, RULES, scope, &r.arn, r)?;
                out.push(r.clone());
            }
            Ok(out)
        })?;
        Ok(SetRulePrioritiesOutput { rules: Some(rules.iter().map(rule_out).collect()) })
    }
}
