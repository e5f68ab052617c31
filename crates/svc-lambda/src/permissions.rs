//! A function's resource policy (AddPermission, RemovePermission, GetPolicy: what lets S3,
//! SNS or another account invoke it), its tags, and the account's settings.

use crate::error::{LambdaError, Result};
use crate::functions::{function_key, function_name, FunctionRecord, FUNCTIONS};
use crate::Lambda;
use nubo_core::{ids, RequestContext, Scope};
use nubo_model::generated::lambda::*;
use serde_json::{json, Value};

/// The principal of a statement, as Lambda writes it.
fn principal(p: &str) -> Value {
    if p == "*" {
        json!("*")
    } else if p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit()) {
        json!({ "AWS": format!("arn:aws:iam::{p}:root") })
    } else if p.starts_with("arn:") {
        json!({ "AWS": p })
    } else {
        json!({ "Service": p })
    }
}

fn policy_document(statements: &[Value]) -> String {
    json!({ "Version": "2012-10-17", "Id": "default", "Statement": statements }).to_string()
}

impl Lambda {
    /// Reads, changes and writes a function's record in one transaction (without
    /// touching its environments: neither its policy nor its tags change how it runs).
    fn amend<T>(&self, scope: &Scope, name: &str, f: impl FnOnce(&mut FunctionRecord) -> Result<T>) -> Result<T> {
        let name = function_name(name);
        self.store.write(|tx| {
            let k = function_key(scope, &name);
            let Some(mut record) = nubo_store::get_json::<FunctionRecord>(tx, FUNCTIONS, &k)? else {
                return Err(LambdaError::ResourceNotFound(format!("Function not found: arn:aws:lambda:{}:{}:function:{name}", scope.region, scope.account)));
            };
            let out = f(&mut record)?;
            nubo_store::put_json(tx, FUNCTIONS, &k, &record)?;
            Ok(out)
        })
    }

    pub async fn add_permission(&self, ctx: &RequestContext, input: AddPermissionRequest) -> Result<AddPermissionResponse> {
        let statement = self.amend(&ctx.scope, &input.function_name, |f| {
            if f.policy.iter().any(|s| s["Sid"] == input.statement_id.as_str()) {
                return Err(LambdaError::ResourceConflict(format!(
                    "The statement id ({}) provided already exists. Please provide a new statement id, or remove the existing statement.",
                    input.statement_id
                )));
            }
            let resource = match &input.qualifier {
                Some(q) => format!("{}:{q}", f.arn),
                None => f.arn.clone(),
            };
            let mut s = json!({
                "Sid": input.statement_id,
                "Effect": "Allow",
                "Principal": principal(&input.principal),
                "Action": input.action,
                "Resource": resource,
            });
            let mut condition = serde_json::Map::new();
            if let Some(arn) = &input.source_arn {
                condition.insert("ArnLike".into(), json!({ "AWS:SourceArn": arn }));
            }
            let mut equals = serde_json::Map::new();
            if let Some(account) = &input.source_account {
                equals.insert("AWS:SourceAccount".into(), json!(account));
            }
            if let Some(org) = &input.principal_org_id {
                equals.insert("aws:PrincipalOrgID".into(), json!(org));
            }
            if let Some(auth) = &input.function_url_auth_type {
                equals.insert("lambda:FunctionUrlAuthType".into(), json!(auth));
            }
            if !equals.is_empty() {
                condition.insert("StringEquals".into(), Value::Object(equals));
            }
            if input.invoked_via_function_url == Some(true) {
                condition.insert("Bool".into(), json!({ "lambda:InvokedViaFunctionUrl": "true" }));
            }
            if !condition.is_empty() {
                s["Condition"] = Value::Object(condition);
            }
            f.policy.push(s.clone());
            f.revision_id = ids::uuid();
            Ok(s)
        })?;
        Ok(AddPermissionResponse { statement: Some(statement.to_string()) })
    }

    /// Whether the function's resource policy lets a service (`elasticloadbalancing.amazonaws.com`)
    /// invoke it for `source_arn` (a statement's `AWS:SourceArn` condition, wildcards allowed).
    pub fn service_may_invoke(&self, function_arn: &str, service: &str, source_arn: &str) -> bool {
        let Some((scope, name)) = crate::invoke::parse_function_arn(function_arn) else { return false };
        let Ok(f) = self.function(&scope, &name) else { return false };
        f.policy.iter().any(|s| {
            let principal_ok = s["Principal"] == "*" || s["Principal"]["Service"] == service;
            let action_ok = matches!(s["Action"].as_str(), Some("lambda:InvokeFunction" | "lambda:*" | "*"));
            let source_ok = s["Condition"]["ArnLike"]["AWS:SourceArn"].as_str().is_none_or(|pattern| nubo_core::wildcard::matches(pattern, source_arn, false));
            s["Effect"] == "Allow" && principal_ok && action_ok && source_ok
        })
    }

    pub async fn remove_permission(&self, ctx: &RequestContext, input: RemovePermissionRequest) -> Result<()> {
        self.amend(&ctx.scope, &input.function_name, |f| {
            let before = f.policy.len();
            f.policy.retain(|s| s["Sid"] != input.statement_id.as_str());
            if f.policy.len() == before {
                return Err(LambdaError::ResourceNotFound(format!("Statement {} is not found in resource policy.", input.statement_id)));
            }
            f.revision_id = ids::uuid();
            Ok(())
        })
    }

    pub async fn get_policy(&self, ctx: &RequestContext, input: GetPolicyRequest) -> Result<GetPolicyResponse> {
        let f = self.function(&ctx.scope, &input.function_name)?;
        if f.policy.is_empty() {
            return Err(LambdaError::ResourceNotFound("The resource you requested does not exist.".into()));
        }
        Ok(GetPolicyResponse { policy: Some(policy_document(&f.policy)), revision_id: Some(f.revision_id) })
    }

    /// The resource policy of the function an ARN names, for IAM (who else may invoke
    /// it, who may call its URL).
    pub(crate) fn policy_of(&self, arn: &str) -> Option<String> {
        let (scope, name) = crate::invoke::parse_function_arn(arn)?;
        let f = self.function(&scope, &name).ok()?;
        (!f.policy.is_empty()).then(|| policy_document(&f.policy))
    }

    pub async fn tag_resource(&self, ctx: &RequestContext, input: TagResourceRequest) -> Result<()> {
        self.amend(&ctx.scope, &input.resource, |f| {
            f.tags.extend(input.tags);
            Ok(())
        })
    }

    pub async fn untag_resource(&self, ctx: &RequestContext, input: UntagResourceRequest) -> Result<()> {
        self.amend(&ctx.scope, &input.resource, |f| {
            f.tags.retain(|k, _| !input.tag_keys.contains(k));
            Ok(())
        })
    }

    pub async fn list_tags(&self, ctx: &RequestContext, input: ListTagsRequest) -> Result<ListTagsResponse> {
        Ok(ListTagsResponse { tags: Some(self.function(&ctx.scope, &input.resource)?.tags) })
    }

    pub async fn get_account_settings(&self, ctx: &RequestContext) -> Result<GetAccountSettingsResponse> {
        let scope = &ctx.scope;
        let all: Vec<(Vec<u8>, FunctionRecord)> =
            self.store.read(|tx| nubo_store::scan_json(tx, FUNCTIONS, &nubo_store::key::key(&[&scope.account, &scope.region]), None, usize::MAX))?;
        Ok(GetAccountSettingsResponse {
            account_limit: Some(AccountLimit {
                total_code_size: Some(80_530_636_800),
                code_size_unzipped: Some(262_144_000),
                code_size_zipped: Some(52_428_800),
                concurrent_executions: Some(crate::activity::ACCOUNT_LIMIT),
                unreserved_concurrent_executions: Some(crate::activity::ACCOUNT_LIMIT - self.reserved_elsewhere(scope, "")?),
            }),
            account_usage: Some(AccountUsage { total_code_size: Some(all.iter().map(|(_, f)| f.code_size).sum()), function_count: Some(all.len() as i64) }),
        })
    }
}
