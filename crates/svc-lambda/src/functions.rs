//! Functions: their configuration and code, as the control plane keeps them.
//!
//! * `lambda.functions`: `account / region / name` → [`FunctionRecord`].
//! * `lambda.code`: the code's SHA-256 → the zip as uploaded (shared by functions and
//!   revisions with the same code).

use crate::error::{invalid, LambdaError, Result};
use crate::Lambda;
use base64::Engine;
use nubo_core::{ids, RequestContext, Scope, Timestamp};
use nubo_model::generated::lambda::*;
use nubo_store::key::key;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const FUNCTIONS: &str = "lambda.functions";
pub const CODE: &str = "lambda.code";

/// The runtimes nubo accepts: those AWS supports for new functions, plus the OS-only ones.
const RUNTIMES: &[&str] = &[
    "python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "nodejs18.x", "nodejs20.x", "nodejs22.x", "provided.al2",
    "provided.al2023",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FunctionRecord {
    pub name: String,
    pub arn: String,
    pub runtime: String,
    pub handler: String,
    pub role: String,
    pub description: String,
    pub timeout: i32,
    pub memory: i32,
    pub env: BTreeMap<String, String>,
    /// Base64 SHA-256 of the zip, as AWS reports it; the hex form keys the code.
    pub code_sha256: String,
    pub code_size: i64,
    pub last_modified: Timestamp,
    pub revision_id: String,
    pub architectures: Vec<String>,
    pub ephemeral_storage: i32,
    pub tags: BTreeMap<String, String>,
    /// The resource policy's statements (see [`crate::permissions`]).
    #[serde(default)]
    pub policy: Vec<serde_json::Value>,
    /// `$LATEST`, or the number of a published version (see [`crate::versions`]).
    #[serde(default = "latest")]
    pub version: String,
    /// On `$LATEST`: the number of the last version published.
    #[serde(default)]
    pub last_version: u64,
    /// On `$LATEST`: the function's reserved concurrency (for every version).
    #[serde(default)]
    pub reserved_concurrency: Option<i32>,
    /// Where failed asynchronous events go (`DeadLetterConfig.TargetArn`).
    #[serde(default)]
    pub dead_letter: Option<String>,
    /// Layer version ARNs, in order, with their sizes.
    #[serde(default)]
    pub layers: Vec<(String, i64)>,
    /// On `$LATEST`: asynchronous invocation settings per qualifier.
    #[serde(default)]
    pub event_invoke: BTreeMap<String, crate::event_invoke::EventInvokeRecord>,
}

fn latest() -> String {
    "$LATEST".into()
}

impl FunctionRecord {
    pub fn code_key(&self) -> String {
        let raw = base64::engine::general_purpose::STANDARD.decode(&self.code_sha256).unwrap_or_default();
        raw.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The ARN with the version for a published version (as Lambda shows it).
    pub fn qualified_arn(&self) -> String {
        if self.version == "$LATEST" {
            self.arn.clone()
        } else {
            format!("{}:{}", self.arn, self.version)
        }
    }

    pub fn configuration(&self) -> FunctionConfiguration {
        FunctionConfiguration {
            function_name: Some(self.name.clone()),
            function_arn: Some(self.qualified_arn()),
            runtime: Some(self.runtime.clone()),
            role: Some(self.role.clone()),
            handler: Some(self.handler.clone()),
            code_size: Some(self.code_size),
            description: Some(self.description.clone()),
            timeout: Some(self.timeout),
            memory_size: Some(self.memory),
            last_modified: Some(self.last_modified.to_iso8601().replace('Z', "+0000")),
            code_sha256: Some(self.code_sha256.clone()),
            version: Some(self.version.clone()),
            environment: (!self.env.is_empty()).then(|| EnvironmentResponse { variables: Some(self.env.clone()), error: None }),
            tracing_config: Some(TracingConfigResponse { mode: Some("PassThrough".into()) }),
            revision_id: Some(self.revision_id.clone()),
            state: Some("Active".into()),
            last_update_status: Some("Successful".into()),
            package_type: Some("Zip".into()),
            architectures: Some(self.architectures.clone()),
            ephemeral_storage: Some(EphemeralStorage { size: self.ephemeral_storage }),
            dead_letter_config: self.dead_letter.clone().map(|arn| DeadLetterConfig { target_arn: Some(arn) }),
            layers: (!self.layers.is_empty()).then(|| self.layers.iter().map(|(arn, size)| Layer { arn: Some(arn.clone()), code_size: Some(*size), ..Default::default() }).collect()),
            ..Default::default()
        }
    }
}

pub fn function_key(scope: &Scope, name: &str) -> Vec<u8> {
    key(&[&scope.account, &scope.region, name])
}

/// A function named by name, partial ARN or full ARN, as Lambda accepts them.
pub fn function_name(given: &str) -> String {
    match given.rsplit_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest).to_string(),
        None => given.rsplit(':').next().unwrap_or(given).to_string(),
    }
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 64 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(LambdaError::Validation(format!(
            "1 validation error detected: Value '{name}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{{2}}(-gov)?-[a-z]+-\\d{{1}}:)?(\\d{{12}}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
        )));
    }
    Ok(())
}

fn check_settings(role: Option<&str>, timeout: Option<i32>, memory: Option<i32>, runtime: Option<&str>) -> Result<()> {
    if let Some(role) = role {
        let ok = role.starts_with("arn:aws:iam::") && role.contains(":role/");
        if !ok {
            return Err(LambdaError::Validation(format!(
                "1 validation error detected: Value '{role}' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{{12}}:role/?[a-zA-Z_0-9+=,.@\\-_/]+"
            )));
        }
    }
    if let Some(t) = timeout {
        if !(1..=900).contains(&t) {
            return Err(LambdaError::Validation(format!("1 validation error detected: Value '{t}' at 'timeout' failed to satisfy constraint: Member must have value {}", if t < 1 { "greater than or equal to 1" } else { "less than or equal to 900" })));
        }
    }
    if let Some(m) = memory {
        if !(128..=10240).contains(&m) {
            return Err(LambdaError::Validation(format!("1 validation error detected: Value '{m}' at 'memorySize' failed to satisfy constraint: Member must have value {}", if m < 128 { "greater than or equal to 128" } else { "less than or equal to 10240" })));
        }
    }
    if let Some(r) = runtime {
        if !RUNTIMES.contains(&r) {
            return invalid(format!("The runtime parameter of {r} is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions."));
        }
    }
    Ok(())
}

fn env_vars(env: Option<Environment>) -> Result<BTreeMap<String, String>> {
    let vars = env.and_then(|e| e.variables).unwrap_or_default();
    const RESERVED: [&str; 8] = ["_HANDLER", "AWS_REGION", "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT"];
    if let Some(k) = vars.keys().find(|k| RESERVED.contains(&k.as_str())) {
        return invalid(format!("Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: {k}"));
    }
    Ok(vars)
}

/// A dead-letter target: an SQS queue or SNS topic ARN (empty: none).
fn dead_letter(config: Option<DeadLetterConfig>) -> Result<Option<String>> {
    let Some(arn) = config.and_then(|c| c.target_arn).filter(|a| !a.is_empty()) else { return Ok(None) };
    match arn.split(':').nth(2) {
        Some("sqs" | "sns") if arn.starts_with("arn:") => Ok(Some(arn)),
        _ => invalid(format!("The provided DeadLetterConfig TargetArn {arn} is invalid. Please provide a valid SQS queue or SNS topic ARN.")),
    }
}

/// The zip checked (it must unzip) and its AWS digest.
pub(crate) fn code(zip: &[u8]) -> Result<(String, i64)> {
    if crate::zip::entries(zip).is_none() {
        return invalid("Could not unzip uploaded file. Please check your file, then try to upload again.");
    }
    let digest = <sha2::Sha256 as sha2::Digest>::digest(zip);
    Ok((base64::engine::general_purpose::STANDARD.encode(digest), zip.len() as i64))
}

impl Lambda {
    /// Whether a function exists, by ARN (other services check their targets).
    pub fn function_exists(&self, arn: &str) -> bool {
        crate::invoke::parse_function_arn(arn).is_some_and(|(scope, name)| self.function(&scope, &name).is_ok())
    }

    pub(crate) fn function(&self, scope: &Scope, name: &str) -> Result<FunctionRecord> {
        let name = function_name(name);
        let found: Option<FunctionRecord> = self.store.read(|tx| nubo_store::get_json(tx, FUNCTIONS, &function_key(scope, &name)))?;
        found.ok_or_else(|| LambdaError::ResourceNotFound(format!("Function not found: arn:aws:lambda:{}:{}:function:{name}", scope.region, scope.account)))
    }

    /// `GET /_nubo/lambda/code/<digest>`: a function's or layer's zip, where
    /// `Code.Location` and `Content.Location` point.
    pub(crate) fn code_download<'a>(&'a self, req: &'a nubo_model::handler::HttpRequest<'a>) -> Option<nubo_model::handler::HttpFuture<'a>> {
        let digest = req.path.strip_prefix("/_nubo/lambda/code/")?.to_string();
        if req.method != "GET" {
            return None;
        }
        Some(Box::pin(async move {
            let found = self.store.read(|tx| tx.get(CODE, &key(&[&digest]))).ok().flatten();
            match found {
                Some(zip) => nubo_model::handler::HttpResponse {
                    status: 200,
                    headers: vec![("content-type".into(), "application/zip".into())],
                    body: nubo_model::ByteStream::from_bytes(zip.into()),
                },
                None => nubo_model::handler::HttpResponse { status: 404, headers: vec![("content-type".into(), "text/plain".into())], body: nubo_model::ByteStream::from_bytes(bytes::Bytes::from_static(b"no such code\n")) },
            }
        }))
    }

    pub(crate) fn zip(&self, f: &FunctionRecord) -> Result<Vec<u8>> {
        self.store.read(|tx| tx.get(CODE, &key(&[&f.code_key()])))?.ok_or_else(|| LambdaError::Service("the function's code is missing".into()))
    }

    /// The deployment package: inline, or read from S3 (`S3Bucket`, `S3Key`, `S3ObjectVersion`).
    pub(crate) async fn zip_from(&self, zip_file: Option<bytes::Bytes>, s3: Option<(String, String)>, version: Option<&str>) -> Result<bytes::Bytes> {
        match (zip_file, s3) {
            (Some(z), _) => Ok(z),
            (None, Some((bucket, object))) => {
                let source = self.code_source.as_ref().ok_or_else(|| LambdaError::InvalidParameterValue("S3 is not running".into()))?;
                match source.fetch(&bucket, &object, version).await {
                    Ok(bytes) => Ok(bytes.into()),
                    Err(e) if e.code == "NoSuchBucket" => invalid("Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified bucket does not exist"),
                    Err(e) if e.code == "NoSuchKey" || e.code == "NoSuchVersion" => invalid(format!("Error occurred while GetObject. S3 Error Code: {}. S3 Error Message: The specified key does not exist.", e.code)),
                    Err(e) => invalid(format!("Error occurred while GetObject. S3 Error Code: {}. S3 Error Message: {}", e.code, e.message)),
                }
            }
            (None, None) => invalid("Please provide a source for function code."),
        }
    }

    pub async fn create_function(&self, ctx: &RequestContext, input: CreateFunctionRequest) -> Result<FunctionConfiguration> {
        let name = function_name(&input.function_name);
        check_name(&name)?;
        check_settings(Some(&input.role), input.timeout, input.memory_size, input.runtime.as_deref())?;
        if input.package_type.as_deref() == Some("Image") {
            return invalid("nubo runs functions from zip packages; container images are not supported.");
        }
        let Some(runtime) = input.runtime.clone() else { return invalid("Runtime and Handler are mandatory parameters for functions created with deployment packages.") };
        let Some(handler) = input.handler.clone() else { return invalid("Runtime and Handler are mandatory parameters for functions created with deployment packages.") };
        let zip = self.zip_from(input.code.zip_file.clone(), input.code.s3_bucket.clone().zip(input.code.s3_key.clone()), input.code.s3_object_version.as_deref()).await?;
        let (sha, size) = code(&zip)?;
        let publish = input.publish == Some(true);
        if runtime.starts_with("python") {
            // Finds the interpreter now rather than in the first invocation's cold start.
            tokio::task::spawn_blocking(crate::runtime::python);
        }
        let scope = &ctx.scope;
        let record = FunctionRecord {
            arn: format!("arn:aws:lambda:{}:{}:function:{name}", scope.region, scope.account),
            name,
            runtime,
            handler,
            role: input.role,
            description: input.description.unwrap_or_default(),
            timeout: input.timeout.unwrap_or(3),
            memory: input.memory_size.unwrap_or(128),
            env: env_vars(input.environment)?,
            code_sha256: sha,
            code_size: size,
            last_modified: self.clock.now(),
            revision_id: ids::uuid(),
            architectures: input.architectures.unwrap_or_else(|| vec!["x86_64".into()]),
            ephemeral_storage: input.ephemeral_storage.map(|e| e.size).unwrap_or(512),
            tags: input.tags.unwrap_or_default(),
            policy: Vec::new(),
            version: latest(),
            last_version: 0,
            reserved_concurrency: None,
            dead_letter: dead_letter(input.dead_letter_config)?,
            layers: self.check_layers(&input.layers.unwrap_or_default())?,
            event_invoke: BTreeMap::new(),
        };
        self.store.write(|tx| {
            let k = function_key(scope, &record.name);
            if tx.get(FUNCTIONS, &k)?.is_some() {
                return Err(LambdaError::ResourceConflict(format!("Function already exist: {}", record.name)));
            }
            tx.put(CODE, &key(&[&record.code_key()]), &zip)?;
            Ok(nubo_store::put_json(tx, FUNCTIONS, &k, &record)?)
        })?;
        if publish {
            return self.publish_version(ctx, PublishVersionRequest { function_name: record.name.clone(), ..Default::default() }).await;
        }
        Ok(record.configuration())
    }

    pub async fn get_function(&self, ctx: &RequestContext, input: GetFunctionRequest) -> Result<GetFunctionResponse> {
        let f = self.resolve(&ctx.scope, &input.function_name, input.qualifier.as_deref())?.0;
        let latest = self.function(&ctx.scope, &f.name)?;
        let location = format!("{}/_nubo/lambda/code/{}", self.endpoint, f.code_key());
        Ok(GetFunctionResponse {
            configuration: Some(f.configuration()),
            code: Some(FunctionCodeLocation { repository_type: Some("S3".into()), location: Some(location), ..Default::default() }),
            tags: Some(latest.tags.clone()),
            concurrency: latest.reserved_concurrency.map(|r| Concurrency { reserved_concurrent_executions: Some(r) }),
            ..Default::default()
        })
    }

    pub async fn get_function_configuration(&self, ctx: &RequestContext, input: GetFunctionConfigurationRequest) -> Result<FunctionConfiguration> {
        Ok(self.resolve(&ctx.scope, &input.function_name, input.qualifier.as_deref())?.0.configuration())
    }

    pub async fn list_functions(&self, ctx: &RequestContext, input: ListFunctionsRequest) -> Result<ListFunctionsResponse> {
        let scope = &ctx.scope;
        let all: Vec<(Vec<u8>, FunctionRecord)> = self.store.read(|tx| nubo_store::scan_json(tx, FUNCTIONS, &key(&[&scope.account, &scope.region]), None, usize::MAX))?;
        let max = input.max_items.unwrap_or(50).clamp(1, 10_000) as usize;
        let page: Vec<FunctionConfiguration> =
            all.iter().map(|(_, f)| f).filter(|f| input.marker.as_ref().is_none_or(|m| f.name > *m)).take(max).map(|f| f.configuration()).collect();
        let more = all.iter().filter(|(_, f)| input.marker.as_ref().is_none_or(|m| f.name > *m)).count() > page.len();
        Ok(ListFunctionsResponse { next_marker: more.then(|| page.last().and_then(|f| f.function_name.clone())).flatten(), functions: Some(page) })
    }

    pub async fn delete_function(&self, ctx: &RequestContext, input: DeleteFunctionRequest) -> Result<()> {
        let (_, embedded) = crate::versions::split_qualifier(&input.function_name);
        if let Some(q) = input.qualifier.as_deref().or(embedded.as_deref()) {
            return self.delete_version(&ctx.scope, &input.function_name, q);
        }
        let f = self.function(&ctx.scope, &input.function_name)?;
        // The function goes with its versions and aliases.
        self.store.write(|tx| {
            tx.delete(FUNCTIONS, &function_key(&ctx.scope, &f.name))?;
            crate::versions::delete_all(tx, &ctx.scope, &f.name)?;
            crate::provisioned::delete_all(tx, &ctx.scope, &f.name)?;
            tx.delete(crate::urls::URLS, &crate::urls::url_key(&ctx.scope, &f.name))?;
            Ok::<_, LambdaError>(())
        })?;
        self.publish_urls();
        self.runtime.retire(&f.arn);
        Ok(())
    }

    pub async fn update_function_code(&self, ctx: &RequestContext, input: UpdateFunctionCodeRequest) -> Result<FunctionConfiguration> {
        let zip = self.zip_from(input.zip_file.clone(), input.s3_bucket.clone().zip(input.s3_key.clone()), input.s3_object_version.as_deref()).await?;
        let (sha, size) = code(&zip)?;
        let f = self.update(ctx, &input.function_name, input.revision_id.as_deref(), |f| {
            f.code_sha256 = sha.clone();
            f.code_size = size;
            if let Some(a) = &input.architectures {
                f.architectures = a.clone();
            }
            Ok(())
        }, Some(zip))?;
        if input.publish == Some(true) {
            return self.publish_version(ctx, PublishVersionRequest { function_name: f.name.clone(), ..Default::default() }).await;
        }
        Ok(f.configuration())
    }

    pub async fn update_function_configuration(&self, ctx: &RequestContext, input: UpdateFunctionConfigurationRequest) -> Result<FunctionConfiguration> {
        check_settings(input.role.as_deref(), input.timeout, input.memory_size, input.runtime.as_deref())?;
        let env = input.environment.clone().map(|e| env_vars(Some(e))).transpose()?;
        let dlq = input.dead_letter_config.clone().map(|d| dead_letter(Some(d))).transpose()?;
        let layers = input.layers.as_deref().map(|l| self.check_layers(l)).transpose()?;
        let f = self.update(ctx, &input.function_name, input.revision_id.as_deref(), |f| {
            if let Some(v) = &input.role {
                f.role = v.clone();
            }
            if let Some(v) = &input.handler {
                f.handler = v.clone();
            }
            if let Some(v) = &input.description {
                f.description = v.clone();
            }
            if let Some(v) = input.timeout {
                f.timeout = v;
            }
            if let Some(v) = input.memory_size {
                f.memory = v;
            }
            if let Some(v) = &input.runtime {
                f.runtime = v.clone();
            }
            if let Some(v) = &env {
                f.env = v.clone();
            }
            if let Some(v) = &input.ephemeral_storage {
                f.ephemeral_storage = v.size;
            }
            if let Some(v) = &dlq {
                f.dead_letter = v.clone();
            }
            if let Some(v) = &layers {
                f.layers = v.clone();
            }
            Ok(())
        }, None)?;
        Ok(f.configuration())
    }

    /// Changes a function in one transaction: a new revision, warm environments retired.
    fn update(
        &self,
        ctx: &RequestContext,
        name: &str,
        revision: Option<&str>,
        change: impl FnOnce(&mut FunctionRecord) -> Result<()>,
        zip: Option<bytes::Bytes>,
    ) -> Result<FunctionRecord> {
        let name = function_name(name);
        let now = self.clock.now();
        let f = self.store.write(|tx| {
            let k = function_key(&ctx.scope, &name);
            let Some(mut f) = nubo_store::get_json::<FunctionRecord>(tx, FUNCTIONS, &k)? else {
                return Err(LambdaError::ResourceNotFound(format!("Function not found: arn:aws:lambda:{}:{}:function:{name}", ctx.scope.region, ctx.scope.account)));
            };
            if revision.is_some_and(|r| r != f.revision_id) {
                return Err(LambdaError::Precondition("The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id".into()));
            }
            change(&mut f)?;
            f.last_modified = now;
            f.revision_id = ids::uuid();
            if let Some(z) = &zip {
                tx.put(CODE, &key(&[&f.code_key()]), z)?;
            }
            nubo_store::put_json(tx, FUNCTIONS, &k, &f)?;
            Ok(f)
        })?;
        self.runtime.retire(&f.arn);
        Ok(f)
    }
}
