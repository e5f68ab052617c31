//! Versions and aliases. A version is a snapshot of `$LATEST` (code and configuration)
//! under the next number; an alias names a version, and may send a share of invocations
//! to a second one (`RoutingConfig.AdditionalVersionWeights`). Invocations, event
//! sources and triggers name them by qualifier (`name:3`, `name:live`, or a qualified ARN).
//!
//! * `lambda.versions`: `account / region / name / version (10 digits)` → the snapshot.
//! * `lambda.aliases`: `account / region / name / alias` → [`AliasRecord`].

use crate::error::{invalid, LambdaError, Result};
use crate::functions::{function_key, function_name, FunctionRecord, FUNCTIONS};
use crate::Lambda;
use nubo_core::{ids, RequestContext, Scope};
use nubo_model::generated::lambda::*;
use nubo_store::key::key;
use nubo_store::{ReadTxn, WriteTxn};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const VERSIONS: &str = "lambda.versions";
pub const ALIASES: &str = "lambda.aliases";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AliasRecord {
    pub name: String,
    pub function: String,
    pub arn: String,
    pub version: String,
    pub description: String,
    /// The second version and the share of invocations it takes.
    pub weights: BTreeMap<String, f64>,
    pub revision_id: String,
}

impl AliasRecord {
    fn configuration(&self) -> AliasConfiguration {
        AliasConfiguration {
            alias_arn: Some(self.arn.clone()),
            name: Some(self.name.clone()),
            function_version: Some(self.version.clone()),
            description: Some(self.description.clone()),
            routing_config: (!self.weights.is_empty()).then(|| AliasRoutingConfiguration { additional_version_weights: Some(self.weights.clone()) }),
            revision_id: Some(self.revision_id.clone()),
        }
    }
}

fn version_key(scope: &Scope, name: &str, version: u64) -> Vec<u8> {
    key(&[&scope.account, &scope.region, name, &format!("{version:010}")])
}

fn alias_key(scope: &Scope, name: &str, alias: &str) -> Vec<u8> {
    key(&[&scope.account, &scope.region, name, alias])
}

/// (name, qualifier) of `name`, `name:qualifier`, or a function ARN with or without one.
pub fn split_qualifier(given: &str) -> (String, Option<String>) {
    let rest = match given.rsplit_once(":function:") {
        Some((_, rest)) => rest,
        None if given.matches(':').count() == 1 => given,
        None => return (function_name(given), None),
    };
    match rest.split_once(':') {
        Some((name, q)) => (name.to_string(), Some(q.to_string())),
        None => (rest.to_string(), None),
    }
}

fn is_version(q: &str) -> bool {
    !q.is_empty() && q.bytes().all(|b| b.is_ascii_digit())
}

fn not_found(scope: &Scope, name: &str, q: &str) -> LambdaError {
    LambdaError::ResourceNotFound(format!("Function not found: arn:aws:lambda:{}:{}:function:{name}:{q}", scope.region, scope.account))
}

/// Everything of a deleted function's versions and aliases.
pub fn delete_all(tx: &mut dyn WriteTxn, scope: &Scope, name: &str) -> nubo_store::Result<()> {
    for table in [VERSIONS, ALIASES] {
        let keys: Vec<Vec<u8>> = nubo_store::scan_json::<serde_json::Value>(tx, table, &key(&[&scope.account, &scope.region, name]), None, usize::MAX)?.into_iter().map(|(k, _)| k).collect();
        for k in keys {
            tx.delete(table, &k)?;
        }
    }
    Ok(())
}

fn get_version(tx: &(impl ReadTxn + ?Sized), scope: &Scope, name: &str, version: &str) -> nubo_store::Result<Option<FunctionRecord>> {
    match version.parse::<u64>() {
        Ok(n) => nubo_store::get_json(tx, VERSIONS, &version_key(scope, name, n)),
        Err(_) => Ok(None),
    }
}

/// What decides how a version runs: two versions that agree here are the same.
fn same_function(a: &FunctionRecord, b: &FunctionRecord) -> bool {
    (&a.code_sha256, &a.runtime, &a.handler, &a.role, a.timeout, a.memory, &a.env, &a.architectures, a.ephemeral_storage)
        == (&b.code_sha256, &b.runtime, &b.handler, &b.role, b.timeout, b.memory, &b.env, &b.architectures, b.ephemeral_storage)
}

fn check_alias_name(name: &str) -> Result<()> {
    let ok = !name.is_empty() && name.len() <= 128 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') && !is_version(name);
    if ok {
        Ok(())
    } else {
        Err(LambdaError::Validation(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)"
        )))
    }
}

impl Lambda {
    /// The record an invocation or a read names, and the version it runs: `$LATEST`, a
    /// version, or an alias (a weighted draw between its versions).
    pub(crate) fn resolve(&self, scope: &Scope, given: &str, qualifier: Option<&str>) -> Result<(FunctionRecord, String)> {
        let (name, embedded) = split_qualifier(given);
        let q = qualifier.map(str::to_string).or(embedded);
        let latest = self.function(scope, &name)?;
        let version = match q.as_deref() {
            None | Some("$LATEST") => return Ok((latest, "$LATEST".into())),
            Some(v) if is_version(v) => v.to_string(),
            Some(alias) => {
                let a: AliasRecord = self.store.read(|tx| nubo_store::get_json(tx, ALIASES, &alias_key(scope, &name, alias)))?.ok_or_else(|| not_found(scope, &name, alias))?;
                let mut pick = fastrand::f64();
                let mut chosen = a.version.clone();
                for (v, w) in &a.weights {
                    if pick < *w {
                        chosen = v.clone();
                        break;
                    }
                    pick -= w;
                }
                if chosen == "$LATEST" {
                    return Ok((latest, chosen));
                }
                chosen
            }
        };
        let record = self.store.read(|tx| get_version(tx, scope, &name, &version))?.ok_or_else(|| not_found(scope, &name, &version))?;
        Ok((record, version))
    }

    /// Publishes `$LATEST` as the next version (or answers with the last one when nothing
    /// changed since, as Lambda does).
    pub async fn publish_version(&self, ctx: &RequestContext, input: PublishVersionRequest) -> Result<FunctionConfiguration> {
        let scope = &ctx.scope;
        let name = function_name(&input.function_name);
        let now = self.clock.now();
        let published = self.store.write(|tx| {
            let k = function_key(scope, &name);
            let Some(mut latest) = nubo_store::get_json::<FunctionRecord>(tx, FUNCTIONS, &k)? else {
                return Err(LambdaError::ResourceNotFound(format!("Function not found: arn:aws:lambda:{}:{}:function:{name}", scope.region, scope.account)));
            };
            if input.revision_id.as_ref().is_some_and(|r| *r != latest.revision_id) {
                return Err(LambdaError::Precondition("The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id".into()));
            }
            if let Some(sha) = input.code_sha256.as_ref().filter(|s| **s != latest.code_sha256) {
                return invalid(format!("CodeSHA256 ({sha}) is different from current CodeSHA256 in $LATEST ({}). Please try again with the CodeSHA256 in $LATEST.", latest.code_sha256));
            }
            if latest.last_version > 0 {
                if let Some(last) = get_version(tx, scope, &name, &latest.last_version.to_string())? {
                    if same_function(&last, &latest) {
                        return Ok(last);
                    }
                }
            }
            latest.last_version += 1;
            let mut version = latest.clone();
            version.version = latest.last_version.to_string();
            version.description = input.description.clone().unwrap_or_else(|| latest.description.clone());
            version.revision_id = ids::uuid();
            version.last_modified = now;
            version.policy = Vec::new();
            version.last_version = 0;
            version.reserved_concurrency = None;
            version.event_invoke = Default::default();
            nubo_store::put_json(tx, VERSIONS, &version_key(scope, &name, latest.last_version), &version)?;
            nubo_store::put_json(tx, FUNCTIONS, &k, &latest)?;
            Ok(version)
        })?;
        Ok(published.configuration())
    }

    pub async fn list_versions_by_function(&self, ctx: &RequestContext, input: ListVersionsByFunctionRequest) -> Result<ListVersionsByFunctionResponse> {
        let scope = &ctx.scope;
        let latest = self.function(scope, &input.function_name)?;
        let versions: Vec<(Vec<u8>, FunctionRecord)> = self.store.read(|tx| nubo_store::scan_json(tx, VERSIONS, &key(&[&scope.account, &scope.region, &latest.name]), None, usize::MAX))?;
        let all: Vec<FunctionConfiguration> = std::iter::once(latest.configuration()).chain(versions.into_iter().map(|(_, v)| v.configuration())).collect();
        let start = input.marker.as_deref().and_then(|m| all.iter().position(|c| c.version.as_deref() == Some(m))).map_or(0, |i| i + 1);
        let max = input.max_items.unwrap_or(50).clamp(1, 10_000) as usize;
        let page: Vec<FunctionConfiguration> = all.iter().skip(start).take(max).cloned().collect();
        let more = all.len() > start + page.len();
        Ok(ListVersionsByFunctionResponse { next_marker: more.then(|| page.last().and_then(|c| c.version.clone())).flatten(), versions: Some(page) })
    }

    /// DeleteFunction with a qualifier: one version, unless an alias still points at it.
    pub(crate) fn delete_version(&self, scope: &Scope, given: &str, version: &str) -> Result<()> {
        let name = split_qualifier(given).0;
        if version == "$LATEST" {
            return invalid("$LATEST version cannot be deleted without deleting the function.");
        }
        let latest = self.function(scope, &name)?;
        if !is_version(version) {
            return invalid("Deletion of aliases is not supported. Use the DeleteAlias API instead.");
        }
        self.store.write(|tx| {
            let aliases: Vec<AliasRecord> = nubo_store::scan_json(tx, ALIASES, &key(&[&scope.account, &scope.region, &name]), None, usize::MAX)?.into_iter().map(|(_, a)| a).collect();
            let using: Vec<String> = aliases.iter().filter(|a| a.version == version || a.weights.contains_key(version)).map(|a| a.arn.clone()).collect();
            if !using.is_empty() {
                return Err(LambdaError::ResourceConflict(format!("Unable to delete version because the following aliases reference it: [{}]", using.join(", "))));
            }
            if let Ok(n) = version.parse::<u64>() {
                tx.delete(VERSIONS, &version_key(scope, &name, n))?;
                tx.delete(crate::provisioned::PROVISIONED, &nubo_store::key::key(&[&scope.account, &scope.region, &name, version]))?;
            }
            Ok(())
        })?;
        self.runtime.retire(&latest.arn);
        Ok(())
    }

    /// A version an alias may name, and weights it may carry, checked.
    fn check_alias_target(&self, tx: &(impl ReadTxn + ?Sized), scope: &Scope, name: &str, version: &str, weights: &BTreeMap<String, f64>) -> Result<()> {
        if version != "$LATEST" && get_version(tx, scope, name, version)?.is_none() {
            return Err(not_found(scope, name, version));
        }
        if weights.len() > 1 {
            return invalid("Number of items in AdditionalVersionWeights cannot be greater than 1");
        }
        for (v, w) in weights {
            if !(0.0..=1.0).contains(w) {
                return Err(LambdaError::Validation(format!("1 validation error detected: Value '{w}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0]")));
            }
            if version == "$LATEST" || v == "$LATEST" {
                return invalid("$LATEST is not supported for an alias pointing to more than 1 version");
            }
            if v == version {
                return invalid(format!("Invalid function version {v}. Function version {v} is already included in routing configuration."));
            }
            if get_version(tx, scope, name, v)?.is_none() {
                return Err(not_found(scope, name, v));
            }
        }
        Ok(())
    }

    pub async fn create_alias(&self, ctx: &RequestContext, input: CreateAliasRequest) -> Result<AliasConfiguration> {
        let scope = &ctx.scope;
        check_alias_name(&input.name)?;
        let latest = self.function(scope, &input.function_name)?;
        let weights = input.routing_config.and_then(|r| r.additional_version_weights).unwrap_or_default();
        let alias = AliasRecord {
            arn: format!("{}:{}", latest.arn, input.name),
            name: input.name.clone(),
            function: latest.name.clone(),
            version: input.function_version.clone(),
            description: input.description.unwrap_or_default(),
            weights,
            revision_id: ids::uuid(),
        };
        self.store.write(|tx| {
            self.check_alias_target(tx, scope, &latest.name, &alias.version, &alias.weights)?;
            let k = alias_key(scope, &latest.name, &alias.name);
            if tx.get(ALIASES, &k)?.is_some() {
                return Err(LambdaError::ResourceConflict(format!("Alias already exists: {}", alias.arn)));
            }
            Ok(nubo_store::put_json(tx, ALIASES, &k, &alias)?)
        })?;
        Ok(alias.configuration())
    }

    fn alias(&self, scope: &Scope, function: &str, name: &str) -> Result<AliasRecord> {
        let latest = self.function(scope, function)?;
        self.store
            .read(|tx| nubo_store::get_json(tx, ALIASES, &alias_key(scope, &latest.name, name)))?
            .ok_or_else(|| LambdaError::ResourceNotFound(format!("Cannot find alias arn: {}:{name}", latest.arn)))
    }

    pub async fn get_alias(&self, ctx: &RequestContext, input: GetAliasRequest) -> Result<AliasConfiguration> {
        Ok(self.alias(&ctx.scope, &input.function_name, &input.name)?.configuration())
    }

    pub async fn list_aliases(&self, ctx: &RequestContext, input: ListAliasesRequest) -> Result<ListAliasesResponse> {
        let scope = &ctx.scope;
        let latest = self.function(scope, &input.function_name)?;
        let all: Vec<(Vec<u8>, AliasRecord)> = self.store.read(|tx| nubo_store::scan_json(tx, ALIASES, &key(&[&scope.account, &scope.region, &latest.name]), None, usize::MAX))?;
        let aliases: Vec<AliasConfiguration> =
            all.into_iter().map(|(_, a)| a).filter(|a| input.function_version.as_ref().is_none_or(|v| *v == a.version)).map(|a| a.configuration()).collect();
        let start = input.marker.as_deref().and_then(|m| aliases.iter().position(|a| a.name.as_deref() == Some(m))).map_or(0, |i| i + 1);
        let max = input.max_items.unwrap_or(50).clamp(1, 10_000) as usize;
        let page: Vec<AliasConfiguration> = aliases.iter().skip(start).take(max).cloned().collect();
        let more = aliases.len() > start + page.len();
        Ok(ListAliasesResponse { next_marker: more.then(|| page.last().and_then(|a| a.name.clone())).flatten(), aliases: Some(page) })
    }

    pub async fn update_alias(&self, ctx: &RequestContext, input: UpdateAliasRequest) -> Result<AliasConfiguration> {
        let scope = &ctx.scope;
        let current = self.alias(scope, &input.function_name, &input.name)?;
        let updated = self.store.write(|tx| {
            let k = alias_key(scope, &current.function, &current.name);
            let Some(mut a) = nubo_store::get_json::<AliasRecord>(tx, ALIASES, &k)? else {
                return Err(LambdaError::ResourceNotFound(format!("Cannot find alias arn: {}", current.arn)));
            };
            if input.revision_id.as_ref().is_some_and(|r| *r != a.revision_id) {
                return Err(LambdaError::Precondition("The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id".into()));
            }
            if let Some(v) = &input.function_version {
                a.version = v.clone();
            }
            if let Some(d) = &input.description {
                a.description = d.clone();
            }
            if let Some(r) = &input.routing_config {
                a.weights = r.additional_version_weights.clone().unwrap_or_default();
            }
            self.check_alias_target(tx, scope, &a.function, &a.version, &a.weights)?;
            a.revision_id = ids::uuid();
            nubo_store::put_json(tx, ALIASES, &k, &a)?;
            Ok(a)
        })?;
        Ok(updated.configuration())
    }

    pub async fn delete_alias(&self, ctx: &RequestContext, input: DeleteAliasRequest) -> Result<()> {
        let scope = &ctx.scope;
        let latest = self.function(scope, &input.function_name)?;
        self.store.write(|tx| {
            tx.delete(ALIASES, &alias_key(scope, &latest.name, &input.name))?;
            tx.delete(crate::provisioned::PROVISIONED, &nubo_store::key::key(&[&scope.account, &scope.region, &latest.name, &input.name]))?;
            Ok::<_, LambdaError>(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualifiers_come_from_names_and_arns() {
        assert_eq!(split_qualifier("fn"), ("fn".into(), None));
        assert_eq!(split_qualifier("fn:live"), ("fn".into(), Some("live".into())));
        assert_eq!(split_qualifier("arn:aws:lambda:us-east-1:000000000000:function:fn:3"), ("fn".into(), Some("3".into())));
        assert_eq!(split_qualifier("arn:aws:lambda:us-east-1:000000000000:function:fn"), ("fn".into(), None));
    }

    #[test]
    fn alias_names_are_not_numbers() {
        assert!(check_alias_name("live").is_ok());
        assert!(check_alias_name("12").is_err());
        assert!(check_alias_name("a b").is_err());
    }
}
