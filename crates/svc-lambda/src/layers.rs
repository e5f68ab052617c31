//! Layers: zips published as numbered versions (`arn:aws:lambda:<region>:<account>:layer:<name>:<n>`),
//! up to five per function. At launch a function's layers are extracted, in order, into
//! one directory per set of layers — the environment's `/opt` — and the paths AWS's
//! runtimes search there are set: `PYTHONPATH` (`python`, `python/lib/<version>/site-packages`),
//! `NODE_PATH` (`nodejs/node_modules`), `PATH` (`bin`), `LD_LIBRARY_PATH` (`lib`), and
//! `NUBO_OPT` to it. The sandbox mounts the directory at `/opt`; without one (nubo not
//! root) it stays where it is, and code that names `/opt/...` literally should use `NUBO_OPT`.
//!
//! * `lambda.layers`: `account / region / name / version (10 digits)` → [`LayerRecord`];
//!   the zip is kept in `lambda.code` by its digest, as functions' code is.
//! * `lambda.layer-numbers`: `account / region / name` → the last version number given.

use crate::error::{invalid, LambdaError, Result};
use crate::functions::CODE;
use crate::Lambda;
use base64::Engine;
use nubo_core::{ids, RequestContext, Scope, Timestamp};
use nubo_model::generated::lambda::*;
use nubo_store::key::key;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

pub const LAYERS: &str = "lambda.layers";
/// The last number each layer name was given (numbers are never reused).
pub const LAYER_NUMBERS: &str = "lambda.layer-numbers";
/// A function takes at most five layers.
const MAX_LAYERS: usize = 5;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LayerRecord {
    pub name: String,
    pub version: i64,
    pub arn: String,
    pub description: String,
    pub created: Timestamp,
    pub code_sha256: String,
    pub code_size: i64,
    pub compatible_runtimes: Vec<String>,
    pub compatible_architectures: Vec<String>,
    pub license: Option<String>,
}

impl LayerRecord {
    fn code_key(&self) -> String {
        let raw = base64::engine::general_purpose::STANDARD.decode(&self.code_sha256).unwrap_or_default();
        raw.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn layer_arn(&self) -> String {
        self.arn.rsplit_once(':').map_or(self.arn.clone(), |(a, _)| a.to_string())
    }

    fn item(&self) -> LayerVersionsListItem {
        LayerVersionsListItem {
            layer_version_arn: Some(self.arn.clone()),
            version: Some(self.version),
            description: Some(self.description.clone()),
            created_date: Some(self.created.to_iso8601().replace('Z', "+0000")),
            compatible_runtimes: (!self.compatible_runtimes.is_empty()).then(|| self.compatible_runtimes.clone()),
            license_info: self.license.clone(),
            compatible_architectures: (!self.compatible_architectures.is_empty()).then(|| self.compatible_architectures.clone()),
        }
    }
}

fn layer_key(scope: &Scope, name: &str, version: i64) -> Vec<u8> {
    key(&[&scope.account, &scope.region, name, &format!("{version:010}")])
}

/// (scope, name, version) of a layer version ARN.
fn parse_arn(arn: &str) -> Option<(Scope, String, i64)> {
    match arn.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "lambda", region, account, "layer", name, version] => Some((Scope::new(*account, *region), name.to_string(), version.parse().ok()?)),
        _ => None,
    }
}

fn check_layer_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 140 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(LambdaError::Validation(format!(
            "1 validation error detected: Value '{name}' at 'layerName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{{12}}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+"
        )));
    }
    Ok(())
}

impl Lambda {
    fn content(&self, l: &LayerRecord) -> LayerVersionContentOutput {
        LayerVersionContentOutput { location: Some(format!("{}/_nubo/lambda/code/{}", self.endpoint, l.code_key())), code_sha256: Some(l.code_sha256.clone()), code_size: Some(l.code_size), ..Default::default() }
    }

    fn layer(&self, scope: &Scope, name: &str, version: i64) -> Result<LayerRecord> {
        let name = name.rsplit(':').next().unwrap_or(name);
        self.store
            .read(|tx| nubo_store::get_json(tx, LAYERS, &layer_key(scope, name, version)))?
            .ok_or_else(|| LambdaError::ResourceNotFound("The resource you requested does not exist.".into()))
    }

    pub async fn publish_layer_version(&self, ctx: &RequestContext, input: PublishLayerVersionRequest) -> Result<PublishLayerVersionResponse> {
        let scope = &ctx.scope;
        check_layer_name(&input.layer_name)?;
        let c = input.content;
        let zip = self.zip_from(c.zip_file, c.s3_bucket.zip(c.s3_key), c.s3_object_version.as_deref()).await?;
        let (sha, size) = crate::functions::code(&zip)?;
        let name = input.layer_name.clone();
        let now = self.clock.now();
        let record = self.store.write(|tx| {
            // Numbers are never reused, even after a deletion.
            let numbers = key(&[&scope.account, &scope.region, &name]);
            let version = tx.get(LAYER_NUMBERS, &numbers)?.and_then(|v| String::from_utf8(v).ok()?.parse::<i64>().ok()).unwrap_or(0) + 1;
            let record = LayerRecord {
                arn: format!("arn:aws:lambda:{}:{}:layer:{name}:{version}", scope.region, scope.account),
                name: name.clone(),
                version,
                description: input.description.clone().unwrap_or_default(),
                created: now,
                code_sha256: sha.clone(),
                code_size: size,
                compatible_runtimes: input.compatible_runtimes.clone().unwrap_or_default(),
                compatible_architectures: input.compatible_architectures.clone().unwrap_or_default(),
                license: input.license_info.clone(),
            };
            tx.put(CODE, &key(&[&record.code_key()]), &zip)?;
            tx.put(LAYER_NUMBERS, &numbers, version.to_string().as_bytes())?;
            nubo_store::put_json(tx, LAYERS, &layer_key(scope, &name, version), &record)?;
            Ok::<_, LambdaError>(record)
        })?;
        let item = record.item();
        Ok(PublishLayerVersionResponse {
            content: Some(self.content(&record)),
            layer_arn: Some(record.layer_arn()),
            layer_version_arn: item.layer_version_arn,
            description: item.description,
            created_date: item.created_date,
            version: item.version,
            compatible_runtimes: item.compatible_runtimes,
            license_info: item.license_info,
            compatible_architectures: item.compatible_architectures,
        })
    }

    fn layer_response(&self, l: &LayerRecord) -> GetLayerVersionResponse {
        let item = l.item();
        GetLayerVersionResponse {
            content: Some(self.content(l)),
            layer_arn: Some(l.layer_arn()),
            layer_version_arn: item.layer_version_arn,
            description: item.description,
            created_date: item.created_date,
            version: item.version,
            compatible_runtimes: item.compatible_runtimes,
            license_info: item.license_info,
            compatible_architectures: item.compatible_architectures,
        }
    }

    pub async fn get_layer_version(&self, ctx: &RequestContext, input: GetLayerVersionRequest) -> Result<GetLayerVersionResponse> {
        Ok(self.layer_response(&self.layer(&ctx.scope, &input.layer_name, input.version_number)?))
    }

    pub async fn get_layer_version_by_arn(&self, _: &RequestContext, input: GetLayerVersionByArnRequest) -> Result<GetLayerVersionResponse> {
        let (scope, name, version) = parse_arn(&input.arn).ok_or_else(|| LambdaError::Validation(format!("1 validation error detected: Value '{}' at 'arn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{{2}}((-gov)|(-iso(b?)))?-[a-z]+-\\d{{1}}:\\d{{12}}:layer:[a-zA-Z0-9-_]+:[0-9]+", input.arn)))?;
        Ok(self.layer_response(&self.layer(&scope, &name, version)?))
    }

    fn all_layers(&self, scope: &Scope, name: Option<&str>) -> Result<Vec<LayerRecord>> {
        let prefix = match name {
            Some(n) => key(&[&scope.account, &scope.region, n]),
            None => key(&[&scope.account, &scope.region]),
        };
        let raw: Vec<(Vec<u8>, LayerRecord)> = self.store.read(|tx| nubo_store::scan_json(tx, LAYERS, &prefix, None, usize::MAX))?;
        Ok(raw.into_iter().map(|(_, l)| l).collect())
    }

    pub async fn list_layer_versions(&self, ctx: &RequestContext, input: ListLayerVersionsRequest) -> Result<ListLayerVersionsResponse> {
        let name = input.layer_name.rsplit(':').next().unwrap_or(&input.layer_name).to_string();
        let mut versions: Vec<LayerRecord> = self.all_layers(&ctx.scope, Some(&name))?.into_iter().filter(|l| l.name == name).collect();
        versions.retain(|l| input.compatible_runtime.as_ref().is_none_or(|r| l.compatible_runtimes.contains(r)));
        versions.sort_by_key(|l| std::cmp::Reverse(l.version));
        Ok(ListLayerVersionsResponse { layer_versions: Some(versions.iter().map(LayerRecord::item).collect()), next_marker: None })
    }

    pub async fn list_layers(&self, ctx: &RequestContext, input: ListLayersRequest) -> Result<ListLayersResponse> {
        let mut latest: std::collections::BTreeMap<String, LayerRecord> = Default::default();
        for l in self.all_layers(&ctx.scope, None)? {
            if input.compatible_runtime.as_ref().is_some_and(|r| !l.compatible_runtimes.contains(r)) {
                continue;
            }
            if latest.get(&l.name).is_none_or(|k| k.version < l.version) {
                latest.insert(l.name.clone(), l);
            }
        }
        let layers = latest.values().map(|l| LayersListItem { layer_name: Some(l.name.clone()), layer_arn: Some(l.layer_arn()), latest_matching_version: Some(l.item()) }).collect();
        Ok(ListLayersResponse { layers: Some(layers), next_marker: None })
    }

    pub async fn delete_layer_version(&self, ctx: &RequestContext, input: DeleteLayerVersionRequest) -> Result<()> {
        let name = input.layer_name.rsplit(':').next().unwrap_or(&input.layer_name).to_string();
        self.store.write(|tx| {
            tx.delete(LAYERS, &layer_key(&ctx.scope, &name, input.version_number))?;
            Ok::<_, LambdaError>(())
        })
    }

    /// A function's `Layers` checked: at most five versions that exist; (ARN, size) each.
    pub(crate) fn check_layers(&self, arns: &[String]) -> Result<Vec<(String, i64)>> {
        if arns.len() > MAX_LAYERS {
            return invalid(format!("Cannot reference more than {MAX_LAYERS} layers."));
        }
        arns.iter()
            .map(|arn| {
                let (scope, name, version) = parse_arn(arn).ok_or_else(|| LambdaError::Validation(format!("1 validation error detected: Value '[{arn}]' at 'layers' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy regular expression pattern: arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{{12}}:layer:[a-zA-Z0-9-_]+:[0-9]+]")))?;
                let l = self.layer(&scope, &name, version).map_err(|_| LambdaError::InvalidParameterValue(format!("Layer version {arn} does not exist.")))?;
                Ok((arn.clone(), l.code_size))
            })
            .collect()
    }

    /// The function's `/opt`: its layers extracted in order, once per set of layers.
    pub(crate) fn opt_dir(&self, layers: &[(String, i64)]) -> Result<Option<PathBuf>> {
        if layers.is_empty() {
            return Ok(None);
        }
        let records: Vec<LayerRecord> = layers.iter().map(|(arn, _)| parse_arn(arn).ok_or_else(|| LambdaError::Service(format!("bad layer {arn}"))).and_then(|(s, n, v)| self.layer(&s, &n, v))).collect::<Result<_>>()?;
        let id = <sha2::Sha256 as sha2::Digest>::digest(records.iter().map(|l| l.code_key()).collect::<Vec<_>>().join("+").as_bytes());
        let id: String = id.iter().take(16).map(|b| format!("{b:02x}")).collect();
        let dir = self.runtime.scratch().join("opt").join(&id);
        // A staging directory renamed into place: where the directory is, it is complete.
        if !dir.exists() {
            let staging = self.runtime.scratch().join("opt").join(format!("{id}.{}", ids::random_string(b"abcdef0123456789", 8)));
            for l in &records {
                let zip: Vec<u8> = self.store.read(|tx| tx.get(CODE, &key(&[&l.code_key()])))?.ok_or_else(|| LambdaError::Service(format!("the code of layer {} is missing", l.arn)))?;
                crate::zip::extract(&zip, &staging).map_err(|e| LambdaError::Service(format!("unzipping layer {}: {e}", l.arn)))?;
            }
            std::fs::create_dir_all(&staging).map_err(|e| LambdaError::Service(e.to_string()))?;
            if std::fs::rename(&staging, &dir).is_err() {
                let _ = std::fs::remove_dir_all(&staging);
            }
        }
        Ok(Some(dir))
    }
}

/// The search paths AWS's runtimes use under `/opt`, for `opt`.
pub fn opt_env(opt: &std::path::Path, runtime: &str, path: &str) -> Vec<(String, String)> {
    let o = opt.display();
    let python = runtime.strip_prefix("python").unwrap_or("3");
    vec![
        ("NUBO_OPT".into(), o.to_string()),
        ("PYTHONPATH".into(), format!("{o}/python:{o}/python/lib/python{python}/site-packages")),
        ("NODE_PATH".into(), format!("{o}/nodejs/node_modules:{o}/nodejs/node{}/node_modules", runtime.strip_prefix("nodejs").and_then(|v| v.strip_suffix(".x")).unwrap_or(""))),
        ("PATH".into(), format!("{o}/bin:{path}")),
        ("LD_LIBRARY_PATH".into(), format!("{o}/lib")),
    ]
}
