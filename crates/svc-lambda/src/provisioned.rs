//! Provisioned concurrency (Put/Get/Delete/ListProvisionedConcurrencyConfigs): for a
//! published version or an alias, that many execution environments are started ahead
//! of any invocation and kept warm (never reaped when idle), so invocations find them
//! initialized, as `AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency` tells them.
//!
//! * `lambda.provisioned`: `account / region / name / qualifier` → [`ProvisionedRecord`].

use crate::error::{invalid, LambdaError, Result};
use crate::Lambda;
use nubo_core::{RequestContext, Scope, Timestamp};
use nubo_model::generated::lambda::*;
use nubo_model::{FromValue, IntoValue};
use nubo_store::key::key;
use serde::{Deserialize, Serialize};

pub const PROVISIONED: &str = "lambda.provisioned";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProvisionedRecord {
    pub function_arn: String,
    pub requested: i32,
    /// `IN_PROGRESS` until its environments have started, then `READY` (`FAILED` if they
    /// could not).
    pub status: String,
    pub status_reason: Option<String>,
    pub last_modified: Timestamp,
}

/// Deleting a version or alias deletes its config too (versions.rs writes the same key).
fn record_key(scope: &Scope, name: &str, qualifier: &str) -> Vec<u8> {
    key(&[&scope.account, &scope.region, name, qualifier])
}

fn not_found() -> LambdaError {
    LambdaError::ProvisionedNotFound("No Provisioned Concurrency Config found for this function".into())
}

fn out(r: &ProvisionedRecord) -> GetProvisionedConcurrencyConfigResponse {
    let ready = if r.status == "READY" { r.requested } else { 0 };
    GetProvisionedConcurrencyConfigResponse {
        requested_provisioned_concurrent_executions: Some(r.requested),
        available_provisioned_concurrent_executions: Some(ready),
        allocated_provisioned_concurrent_executions: Some(ready),
        status: Some(r.status.clone()),
        status_reason: r.status_reason.clone(),
        last_modified: Some(r.last_modified.to_iso8601().replace('Z', "+0000")),
    }
}

/// Put's answer and List's items are Get's answer by other names (List's with the
/// function's ARN): one conversion through the shapes' values, not three copies.
fn same_shape<T: FromValue>(config: GetProvisionedConcurrencyConfigResponse, function_arn: Option<&str>) -> T {
    let mut value = config.into_value();
    if let (Some(arn), nubo_model::Value::Structure(members)) = (function_arn, &mut value) {
        members.insert("FunctionArn".into(), nubo_model::Value::String(arn.to_string()));
    }
    T::from_value(value).expect("the shapes have the same members")
}

/// Everything of a deleted function's provisioned concurrency.
pub fn delete_all(tx: &mut dyn nubo_store::WriteTxn, scope: &Scope, name: &str) -> nubo_store::Result<()> {
    let keys: Vec<Vec<u8>> = nubo_store::scan_json::<serde_json::Value>(tx, PROVISIONED, &key(&[&scope.account, &scope.region, name]), None, usize::MAX)?.into_iter().map(|(k, _)| k).collect();
    for k in keys {
        tx.delete(PROVISIONED, &k)?;
    }
    Ok(())
}

impl Lambda {
    /// The qualifier must name a published version or an alias.
    fn provisioned_target(&self, scope: &Scope, function: &str, qualifier: &str) -> Result<(String, crate::functions::FunctionRecord)> {
        if qualifier == "$LATEST" {
            return invalid("Provisioned Concurrency Configs cannot be applied to unpublished function versions.");
        }
        let (f, _) = self.resolve(scope, function, Some(qualifier))?;
        Ok((crate::versions::split_qualifier(function).0, f))
    }

    pub async fn put_provisioned_concurrency_config(&self, ctx: &RequestContext, input: PutProvisionedConcurrencyConfigRequest) -> Result<PutProvisionedConcurrencyConfigResponse> {
        let n = input.provisioned_concurrent_executions;
        if n < 1 {
            return Err(LambdaError::Validation(format!(
                "1 validation error detected: Value '{n}' at 'provisionedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 1"
            )));
        }
        let (name, f) = self.provisioned_target(&ctx.scope, &input.function_name, &input.qualifier)?;
        let latest = self.function(&ctx.scope, &name)?;
        if latest.reserved_concurrency.is_some_and(|r| n > r) {
            return invalid(format!("Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution [{}] for function.", latest.reserved_concurrency.unwrap_or(0)));
        }
        let record = ProvisionedRecord {
            function_arn: format!("{}:{}", latest.arn, input.qualifier),
            requested: n,
            status: "IN_PROGRESS".into(),
            status_reason: None,
            last_modified: self.clock.now(),
        };
        let k = record_key(&ctx.scope, &name, &input.qualifier);
        self.store.write(|tx| Ok::<_, LambdaError>(nubo_store::put_json(tx, PROVISIONED, &k, &record)?))?;
        // The environments start in the background; the config is READY once they have.
        let me = self.clone();
        let scope = ctx.scope.clone();
        tokio::spawn(async move {
            let started = match me.launch_for(&scope, &f, true) {
                Ok(launch) => me.runtime.provision(&launch, n as usize).await,
                Err(e) => Err(e),
            };
            let _ = me.store.write(|tx| {
                let Some(mut r) = nubo_store::get_json::<ProvisionedRecord>(tx, PROVISIONED, &k)? else { return Ok(()) };
                if r.requested == n {
                    (r.status, r.status_reason) = match &started {
                        Ok(()) => ("READY".into(), None),
                        Err(e) => ("FAILED".into(), Some(format!("{e:?}"))),
                    };
                    nubo_store::put_json(tx, PROVISIONED, &k, &r)?;
                }
                Ok::<_, LambdaError>(())
            });
        });
        Ok(same_shape(out(&record), None))
    }

    pub async fn get_provisioned_concurrency_config(&self, ctx: &RequestContext, input: GetProvisionedConcurrencyConfigRequest) -> Result<GetProvisionedConcurrencyConfigResponse> {
        let (name, _) = self.provisioned_target(&ctx.scope, &input.function_name, &input.qualifier)?;
        let r: ProvisionedRecord = self.store.read(|tx| nubo_store::get_json(tx, PROVISIONED, &record_key(&ctx.scope, &name, &input.qualifier)))?.ok_or_else(not_found)?;
        Ok(out(&r))
    }

    pub async fn delete_provisioned_concurrency_config(&self, ctx: &RequestContext, input: DeleteProvisionedConcurrencyConfigRequest) -> Result<()> {
        let (name, f) = self.provisioned_target(&ctx.scope, &input.function_name, &input.qualifier)?;
        let k = record_key(&ctx.scope, &name, &input.qualifier);
        let existed = self.store.write(|tx| Ok::<_, LambdaError>(tx.delete(PROVISIONED, &k)?))?;
        if !existed {
            return Err(not_found());
        }
        // Its environments become ordinary ones: reaped once idle.
        self.runtime.unprovision(&self.launch_key(&f));
        Ok(())
    }

    pub async fn list_provisioned_concurrency_configs(&self, ctx: &RequestContext, input: ListProvisionedConcurrencyConfigsRequest) -> Result<ListProvisionedConcurrencyConfigsResponse> {
        let latest = self.function(&ctx.scope, &input.function_name)?;
        let all: Vec<(Vec<u8>, ProvisionedRecord)> = self.store.read(|tx| nubo_store::scan_json(tx, PROVISIONED, &key(&[&ctx.scope.account, &ctx.scope.region, &latest.name]), None, usize::MAX))?;
        let start: usize = input.marker.as_deref().and_then(|m| m.parse().ok()).unwrap_or(0);
        let size = input.max_items.unwrap_or(50).clamp(1, 50) as usize;
        let next = (start + size < all.len()).then(|| (start + size).to_string());
        let items = all
            .iter()
            .skip(start)
            .take(size)
            .map(|(_, r)| same_shape(out(r), Some(&r.function_arn)))
            .collect();
        Ok(ListProvisionedConcurrencyConfigsResponse { provisioned_concurrency_configs: Some(items), next_marker: next })
    }
}
