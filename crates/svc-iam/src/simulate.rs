//! The policy simulator: `SimulatePrincipalPolicy` and `SimulateCustomPolicy` answer from
//! the same engine that authorizes real requests, so what the simulator says is what
//! nubo does.

use crate::error::{IamError, Result};
use crate::guard::{Asker, Policies};
use crate::records::Kind;
use crate::Iam;
use nubo_core::Principal;
use nubo_iam_policy::{Decision, Policy, PolicyKind, PolicyType};
use nubo_model::access::Access;
use nubo_model::generated::iam::{ContextEntry, EvaluationResult, Statement};
use std::sync::Arc;

/// The identity policies of whatever `arn` names (user, group or role), with their names.
fn source_policies(iam: &Iam, account: &str, arn: &str) -> Result<(Principal, Vec<(String, Arc<Policy>)>)> {
    let name = arn.rsplit('/').next().unwrap_or(arn);
    let invalid = || IamError::InvalidInput(format!("Invalid ARN: {arn}"));
    if arn.contains(":user/") {
        let principal = iam.user_principal(account, &iam.entity(Kind::User, account, name)?.name);
        let policies = iam.applicable(&principal).identity;
        Ok((principal, policies))
    } else if arn.contains(":role/") {
        let role = iam.entity(Kind::Role, account, name)?;
        let principal = Principal::AssumedRole { account: account.into(), role_name: role.name, role_id: role.id, role_path: role.path, session_name: "simulation".into() };
        let policies = iam.applicable(&principal).identity;
        Ok((principal, policies))
    } else if arn.contains(":group/") {
        let group = iam.entity(Kind::Group, account, name)?;
        // A group is simulated as a member of it with no policies of its own.
        let mut policies = Vec::new();
        for (n, doc) in &group.inline {
            policies.push((format!("group:{}/{n}", group.name), parse(doc)?));
        }
        for a in &group.attached {
            if let Some(doc) = iam.managed_policy(account, a)?.default_document() {
                policies.push((a.clone(), parse(doc)?));
            }
        }
        Ok((Principal::User { account: account.into(), name: "simulated".into(), id: String::new(), path: "/".into() }, policies))
    } else {
        Err(invalid())
    }
}

fn parse(doc: &str) -> Result<Arc<Policy>> {
    Policy::parse(&crate::util::decode_document(doc), PolicyKind::Identity).map(Arc::new).map_err(|e| IamError::MalformedPolicyDocument(e.0))
}

pub struct Simulation<'a> {
    pub account: &'a str,
    pub region: &'a str,
    pub source_arn: Option<&'a str>,
    pub extra_policies: Vec<String>,
    pub actions: Vec<String>,
    pub resources: Option<Vec<String>>,
    pub resource_policy: Option<String>,
    pub context: Option<Vec<ContextEntry>>,
}

impl Iam {
    pub(crate) fn simulate(&self, sim: Simulation<'_>) -> Result<Vec<EvaluationResult>> {
        let (principal, mut policies) = match sim.source_arn {
            Some(arn) => source_policies(self, sim.account, arn)?,
            None => (Principal::User { account: sim.account.into(), name: "simulated".into(), id: String::new(), path: "/".into() }, Vec::new()),
        };
        for (i, doc) in sim.extra_policies.iter().enumerate() {
            policies.push((format!("PolicyInputList.{}", i + 1), parse(doc)?));
        }
        let resource_policy = match &sim.resource_policy {
            Some(d) => Some(Policy::parse(d, PolicyKind::Resource).map_err(|e| IamError::MalformedPolicyDocument(e.0))?),
            None => None,
        };
        let extra: Vec<(String, Vec<String>)> =
            sim.context.unwrap_or_default().into_iter().filter_map(|e| Some((e.context_key_name?, e.context_key_values.unwrap_or_default()))).collect();
        let asker = Asker { principal: &principal, region: sim.region, source_ip: None, mfa: None };
        let policies = Policies { identity: &policies, resource: resource_policy.as_ref(), session: &[], same_account: true };
        let resources = sim.resources.unwrap_or_else(|| vec!["*".into()]);
        let mut out = Vec::new();
        for action in &sim.actions {
            for resource in &resources {
                let access = Access { action: action.clone(), resource: resource.clone(), context: extra.clone() };
                let eval = self.decide(&asker, &policies, &access);
                let decision = match eval.decision {
                    Decision::Allow => "allowed",
                    Decision::ExplicitDeny => "explicitDeny",
                    Decision::ImplicitDeny => "implicitDeny",
                };
                let matched = eval
                    .matched
                    .iter()
                    .map(|m| Statement {
                        source_policy_id: Some(m.policy.clone()),
                        source_policy_type: Some(match m.kind {
                            PolicyType::Identity => "IAM Policy".into(),
                            PolicyType::Resource => "Resource Policy".into(),
                            PolicyType::Session => "Session Policy".into(),
                        }),
                        start_position: None,
                        end_position: None,
                    })
                    .collect();
                out.push(EvaluationResult {
                    eval_action_name: action.clone(),
                    eval_resource_name: Some(resource.clone()),
                    eval_decision: decision.into(),
                    matched_statements: Some(matched),
                    missing_context_values: Some(Vec::new()),
                    organizations_decision_detail: None,
                    permissions_boundary_decision_detail: None,
                    eval_decision_details: None,
                    resource_specific_results: None,
                });
            }
        }
        Ok(out)
    }
}
