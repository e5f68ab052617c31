//! Invoke: runs the function in an execution environment ([`crate::runtime`]) and answers
//! as Lambda does: the function's result, or its error document with
//! `X-Amz-Function-Error: Unhandled`, a timeout as `Task timed out after N seconds`,
//! and, with `LogType=Tail`, the last 4 KB of the invocation's log.

use crate::error::{LambdaError, Result};
use crate::functions::FunctionRecord;
use crate::runtime::{Launch, Outcome, Ran};
use crate::Lambda;
use base64::Engine;
use bytes::Bytes;
use nubo_core::{ids, RequestContext, Scope, Timestamp};
use nubo_model::generated::lambda::*;
use std::path::PathBuf;
use std::time::Duration;

/// A synchronous invocation carries at most 6 MB each way.
const MAX_PAYLOAD: usize = 6 * 1024 * 1024;

/// Where a function's output goes: CloudWatch Logs, wired by the composition root.
pub trait LogSink: Send + Sync {
    fn put(&self, scope: &Scope, group: &str, stream: &str, events: Vec<(i64, String)>);
}

impl Lambda {
    /// The function's code, unzipped once per code digest.
    fn code_dir(&self, f: &FunctionRecord) -> Result<PathBuf> {
        let dir = self.runtime.scratch().join("code").join(f.code_key());
        // A staging directory renamed into place: where the directory is, it is complete.
        if !dir.exists() {
            let zip = self.zip(f)?;
            let staging = self.runtime.scratch().join("code").join(format!("{}.{}", f.code_key(), ids::random_string(b"abcdef0123456789", 8)));
            let ok = crate::zip::extract(&zip, &staging).map_err(|e| LambdaError::Service(format!("unzipping the code: {e}")))?;
            if !ok {
                return Err(LambdaError::InvalidParameterValue("Could not unzip uploaded file. Please check your file, then try to upload again.".into()));
            }
            std::fs::create_dir_all(&staging).map_err(|e| LambdaError::Service(e.to_string()))?;
            // Another invocation may have won the race: either copy is the same code.
            if std::fs::rename(&staging, &dir).is_err() {
                let _ = std::fs::remove_dir_all(&staging);
            }
        }
        Ok(dir)
    }

    /// Environments of the same function version and revision are interchangeable.
    pub(crate) fn launch_key(&self, f: &FunctionRecord) -> String {
        format!("{}#{}#{}", f.arn, f.version, f.revision_id)
    }

    /// What an environment of `f` starts with; its log stream is its own, as on Lambda.
    pub(crate) fn launch_for(&self, scope: &Scope, f: &FunctionRecord, provisioned: bool) -> Result<Launch> {
        let day = &self.clock.now().to_iso8601()[..10];
        let stream = format!("{}/[{}]{}", day.replace('-', "/"), f.version, ids::random_string(b"0123456789abcdef", 32));
        let mut env: Vec<(String, String)> = vec![
            ("AWS_LAMBDA_FUNCTION_NAME".into(), f.name.clone()),
            ("AWS_LAMBDA_FUNCTION_VERSION".into(), f.version.clone()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(), f.memory.to_string()),
            ("AWS_LAMBDA_LOG_GROUP_NAME".into(), format!("/aws/lambda/{}", f.name)),
            ("AWS_LAMBDA_LOG_STREAM_NAME".into(), stream.clone()),
            ("AWS_LAMBDA_INITIALIZATION_TYPE".into(), if provisioned { "provisioned-concurrency" } else { "on-demand" }.into()),
            ("AWS_REGION".into(), scope.region.clone()),
            ("AWS_DEFAULT_REGION".into(), scope.region.clone()),
            ("AWS_EXECUTION_ENV".into(), format!("AWS_Lambda_{}", f.runtime)),
            // The SDK inside the function calls nubo, with nothing to configure.
            ("AWS_ENDPOINT_URL".into(), self.endpoint.clone()),
            ("TZ".into(), ":UTC".into()),
            ("LANG".into(), "en_US.UTF-8".into()),
            ("PATH".into(), std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into())),
        ];
        // The execution role's credentials, as Lambda puts them in every environment.
        match self.roles.as_ref().and_then(|r| r.credentials(&f.role, &f.name)) {
            Some((key, secret, token)) => env.extend([("AWS_ACCESS_KEY_ID".into(), key), ("AWS_SECRET_ACCESS_KEY".into(), secret), ("AWS_SESSION_TOKEN".into(), token)]),
            None => env.extend([("AWS_ACCESS_KEY_ID".into(), "test".into()), ("AWS_SECRET_ACCESS_KEY".into(), "test".into())]),
        }
        env.extend(f.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        Ok(Launch {
            key: self.launch_key(f),
            stream,
            arn: f.arn.clone(),
            runtime: f.runtime.clone(),
            handler: f.handler.clone(),
            code_dir: self.code_dir(f)?,
            opt_dir: self.opt_dir(&f.layers)?,
            memory_mib: f.memory.max(128) as u64,
            tmp_mib: f.ephemeral_storage.max(512) as u64,
            env,
        })
    }

    pub async fn invoke(&self, ctx: &RequestContext, input: InvocationRequest) -> Result<InvocationResponse> {
        let (f, executed) = self.resolve(&ctx.scope, &input.function_name, input.qualifier.as_deref())?;
        let payload = input.payload.unwrap_or_default();
        if payload.len() > MAX_PAYLOAD {
            return Err(LambdaError::RequestTooLarge(format!("Request must be smaller than {MAX_PAYLOAD} bytes for the InvokeFunction operation")));
        }
        if !payload.is_empty() {
            if let Err(e) = serde_json::from_slice::<serde_json::Value>(&payload) {
                return Err(LambdaError::InvalidRequestContent(format!("Could not parse request body into json: Could not parse payload into json: {e}")));
            }
        }
        let payload = if payload.is_empty() { Bytes::from_static(b"{}") } else { payload };
        match input.invocation_type.as_deref().unwrap_or("RequestResponse") {
            "DryRun" => return Ok(InvocationResponse { status_code: Some(204), ..Default::default() }),
            "Event" => {
                let qualifier = input.qualifier.clone().or_else(|| crate::versions::split_qualifier(&input.function_name).1).unwrap_or_else(|| "$LATEST".into());
                self.invoke_async(&ctx.scope, f, qualifier, executed, payload);
                return Ok(InvocationResponse { status_code: Some(202), ..Default::default() });
            }
            "RequestResponse" => {}
            other => {
                return Err(LambdaError::Validation(format!(
                    "1 validation error detected: Value '{other}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
                )))
            }
        }
        let (ran, log) = self.run(&ctx.scope, &f, payload).await?;
        let log_result = (input.log_type.as_deref() == Some("Tail")).then(|| {
            let bytes = log.as_bytes();
            base64::engine::general_purpose::STANDARD.encode(&bytes[bytes.len().saturating_sub(4096)..])
        });
        let (payload, error) = match ran.outcome {
            Outcome::Response(body) => (body, None),
            Outcome::Error(doc) | Outcome::InitError(doc) => (doc, Some("Unhandled")),
            Outcome::TimedOut => (
                Bytes::from(serde_json::json!({ "errorMessage": timeout_message(self.clock.now(), &ran.request_id, f.timeout) }).to_string()),
                Some("Unhandled"),
            ),
            Outcome::Exited(why) => (
                Bytes::from(serde_json::json!({ "errorType": "Runtime.ExitError", "errorMessage": format!("RequestId: {} Error: Runtime exited with error: {why}", ran.request_id) }).to_string()),
                Some("Unhandled"),
            ),
        };
        if payload.len() > MAX_PAYLOAD {
            return Ok(InvocationResponse {
                status_code: Some(200),
                function_error: Some("Unhandled".into()),
                payload: Some(Bytes::from(serde_json::json!({ "errorType": "Function.ResponseSizeTooLarge", "errorMessage": format!("Response payload size exceeded maximum allowed payload size ({MAX_PAYLOAD} bytes).") }).to_string())),
                executed_version: Some(executed),
                log_result,
                ..Default::default()
            });
        }
        Ok(InvocationResponse {
            status_code: Some(200),
            function_error: error.map(str::to_string),
            log_result,
            payload: Some(payload),
            executed_version: Some(executed),
            ..Default::default()
        })
    }

    /// A synchronous invocation on behalf of another service (a load balancer's Lambda
    /// target): the function's response payload, and `Some("Unhandled")` when it failed.
    pub async fn invoke_for(&self, function_arn: &str, payload: Bytes) -> std::result::Result<(Bytes, Option<String>), String> {
        let (scope, _) = parse_function_arn(function_arn).ok_or_else(|| format!("not a function ARN: {function_arn}"))?;
        let ctx = RequestContext::on_behalf("lambda", "Invoke", scope);
        let input = InvocationRequest { function_name: function_arn.to_string(), payload: Some(payload), ..Default::default() };
        let out = self.invoke(&ctx, input).await.map_err(|e| format!("{:?}", nubo_core::AwsError::from(e)))?;
        Ok((out.payload.unwrap_or_default(), out.function_error))
    }

    /// An asynchronous invocation on behalf of another service (S3 notifications, SNS
    /// subscriptions) of the function (or version, or alias) its ARN names: see
    /// [`crate::event_invoke`] for retries, destinations and the dead-letter queue.
    pub fn invoke_event(&self, function_arn: &str, event: String) -> std::result::Result<(), String> {
        let (scope, _) = parse_function_arn(function_arn).ok_or_else(|| format!("not a function ARN: {function_arn}"))?;
        let (f, executed) = self.resolve(&scope, function_arn, None).map_err(|e| format!("{e:?}"))?;
        let qualifier = crate::versions::split_qualifier(function_arn).1.unwrap_or_else(|| "$LATEST".into());
        self.invoke_async(&scope, f, qualifier, executed, Bytes::from(event));
        Ok(())
    }

    /// Runs one invocation and writes its log (START, output, END, REPORT) to CloudWatch Logs.
    pub(crate) async fn run(&self, scope: &Scope, f: &FunctionRecord, payload: Bytes) -> Result<(Ran, String)> {
        // Reserved concurrency is the function's, whichever version runs.
        let reserved = if f.version == "$LATEST" { f.reserved_concurrency } else { self.function(scope, &f.name)?.reserved_concurrency };
        let _slot = self.activity.admit(scope, &f.name, reserved).map_err(LambdaError::TooManyRequests)?;
        let now = self.clock.now();
        let launch = self.launch_for(scope, f, false)?;
        let request_id = ids::uuid();
        let ran = self.runtime.invoke(&launch, request_id.clone(), payload, Duration::from_secs(f.timeout as u64)).await?;
        self.activity.ended(scope, &f.name, ran.duration.as_secs_f64() * 1000.0, !matches!(ran.outcome, Outcome::Response(_)));
        // A cold start says which runtime started, as Lambda's INIT_START does, and whether
        // the host's language version is the one the function declares.
        let init = match ran.init {
            Some(_) => {
                let note = crate::runtime::version_note(&f.runtime).map(|n| format!("{n}\n")).unwrap_or_default();
                format!("INIT_START Runtime Version: {}.nubo\n{note}", f.runtime.replacen("python", "python:", 1).replacen("nodejs", "nodejs:", 1))
            }
            None => String::new(),
        };
        let mut log = format!("{init}START RequestId: {request_id} Version: {}\n{}", f.version, ran.output);
        if !log.ends_with('\n') {
            log.push('\n');
        }
        if matches!(ran.outcome, Outcome::TimedOut) {
            log.push_str(&format!("{}\n", timeout_message(self.clock.now(), &request_id, f.timeout)));
        }
        let ms = ran.duration.as_secs_f64() * 1000.0;
        let init = ran.init.map(|d| format!("\tInit Duration: {:.2} ms", d.as_secs_f64() * 1000.0)).unwrap_or_default();
        log.push_str(&format!(
            "END RequestId: {request_id}\nREPORT RequestId: {request_id}\tDuration: {ms:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB{init}\t\n",
            ms.ceil() as u64,
            f.memory,
            ran.max_memory_mib.unwrap_or(f.memory.min(64) as u64),
        ));
        if let Some(sink) = &self.logs {
            let at = now.as_millis();
            let events = log.lines().map(|l| (at, l.to_string())).collect();
            sink.put(scope, &format!("/aws/lambda/{}", f.name), &ran.stream, events);
        }
        Ok((ran, log))
    }
}

/// `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`.
pub(crate) fn parse_function_arn(arn: &str) -> Option<(Scope, String)> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "lambda", region, account, "function", name, ..] => Some((Scope::new(*account, *region), name.to_string())),
        _ => None,
    }
}

/// `2026-11-23T13:45:00.000Z <request id> Task timed out after 3.00 seconds`.
fn timeout_message(now: Timestamp, request_id: &str, timeout: i32) -> String {
    format!("{} {request_id} Task timed out after {timeout}.00 seconds", now.to_iso8601())
}
