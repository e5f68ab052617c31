//! Asynchronous invocation (`InvocationType=Event`, S3 and SNS triggers): the event is
//! run, and retried on failure after one then two minutes of nubo's clock, up to the
//! function's `MaximumRetryAttempts` (2 by default) and while younger than its
//! `MaximumEventAgeInSeconds` (6 hours). Then the outcome goes where the function's
//! EventInvokeConfig says (`OnSuccess`/`OnFailure`: an SQS queue, SNS topic or another
//! function, with AWS's invocation record), and a failed event to its dead-letter queue
//! (`DeadLetterConfig`, with the `RequestID`/`ErrorCode`/`ErrorMessage` attributes).
//! Also the EventInvokeConfig API, kept on `$LATEST` per qualifier.

use crate::error::{invalid, LambdaError, Result};
use crate::functions::{function_key, function_name, FunctionRecord, FUNCTIONS};
use crate::runtime::Outcome;
use crate::Lambda;
use bytes::Bytes;
use nubo_core::{ids, RequestContext, Scope, Timestamp};
use nubo_model::generated::lambda::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

const DEFAULT_RETRIES: i32 = 2;

/// A failed event's last error: the function's error document, and (type, message).
type Failure = (Option<Bytes>, Option<(String, String)>);
const DEFAULT_MAX_AGE: i32 = 21_600;

pub type Sending = std::pin::Pin<Box<dyn std::future::Future<Output = std::result::Result<(), String>> + Send>>;

/// Where destinations and dead-letter queues are: SQS and SNS, wired by the composition
/// root (functions as destinations are Lambda's own).
pub trait Destinations: Send + Sync {
    /// Sends `body` to a queue or topic ARN, with (name, type, value) attributes.
    fn send(&self, arn: &str, body: String, attributes: Vec<(String, String, String)>) -> Sending;
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct EventInvokeRecord {
    pub max_retries: Option<i32>,
    pub max_age: Option<i32>,
    pub on_success: Option<String>,
    pub on_failure: Option<String>,
    pub last_modified: Option<Timestamp>,
}

fn check_config(retries: Option<i32>, age: Option<i32>, destinations: Option<&DestinationConfig>) -> Result<()> {
    if let Some(r) = retries.filter(|r| !(0..=2).contains(r)) {
        return Err(LambdaError::Validation(format!("1 validation error detected: Value '{r}' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value {}", if r < 0 { "greater than or equal to 0" } else { "less than or equal to 2" })));
    }
    if let Some(a) = age.filter(|a| !(60..=21_600).contains(a)) {
        return Err(LambdaError::Validation(format!("1 validation error detected: Value '{a}' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value {}", if a < 60 { "greater than or equal to 60" } else { "less than or equal to 21600" })));
    }
    let arns = destinations.into_iter().flat_map(|d| [d.on_success.as_ref().and_then(|s| s.destination.clone()), d.on_failure.as_ref().and_then(|f| f.destination.clone())]).flatten();
    for arn in arns {
        let service = arn.split(':').nth(2).unwrap_or("");
        if !arn.starts_with("arn:") || !["sqs", "sns", "lambda", "events"].contains(&service) {
            return invalid(format!("The destination ARN {arn} is invalid."));
        }
    }
    Ok(())
}

impl EventInvokeRecord {
    fn output(&self, function_arn: &str) -> FunctionEventInvokeConfig {
        let destination_config = (self.on_success.is_some() || self.on_failure.is_some()).then(|| DestinationConfig {
            on_success: Some(OnSuccess { destination: self.on_success.clone() }),
            on_failure: Some(OnFailure { destination: self.on_failure.clone() }),
        });
        FunctionEventInvokeConfig {
            last_modified: self.last_modified,
            function_arn: Some(function_arn.to_string()),
            maximum_retry_attempts: self.max_retries,
            maximum_event_age_in_seconds: self.max_age,
            destination_config,
        }
    }
}

impl Lambda {
    fn amend_event_config(&self, scope: &Scope, given: &str, qualifier: Option<&str>, f: impl FnOnce(Option<EventInvokeRecord>) -> Result<Option<EventInvokeRecord>>) -> Result<(String, Option<EventInvokeRecord>)> {
        let name = function_name(given);
        let q = qualifier.unwrap_or("$LATEST").to_string();
        // The qualifier must name something.
        self.resolve(scope, &name, Some(&q))?;
        self.store.write(|tx| {
            let k = function_key(scope, &name);
            let Some(mut latest) = nubo_store::get_json::<FunctionRecord>(tx, FUNCTIONS, &k)? else {
                return Err(LambdaError::ResourceNotFound(format!("Function not found: arn:aws:lambda:{}:{}:function:{name}", scope.region, scope.account)));
            };
            let arn = format!("{}:{q}", latest.arn);
            let updated = f(latest.event_invoke.get(&q).cloned())?;
            match &updated {
                Some(r) => latest.event_invoke.insert(q.clone(), r.clone()),
                None => latest.event_invoke.remove(&q),
            };
            nubo_store::put_json(tx, FUNCTIONS, &k, &latest)?;
            Ok((arn, updated))
        })
    }

    pub async fn put_function_event_invoke_config(&self, ctx: &RequestContext, input: PutFunctionEventInvokeConfigRequest) -> Result<FunctionEventInvokeConfig> {
        check_config(input.maximum_retry_attempts, input.maximum_event_age_in_seconds, input.destination_config.as_ref())?;
        let now = self.clock.now();
        let d = input.destination_config.clone().unwrap_or_default();
        let record = EventInvokeRecord {
            max_retries: input.maximum_retry_attempts,
            max_age: input.maximum_event_age_in_seconds,
            on_success: d.on_success.and_then(|s| s.destination),
            on_failure: d.on_failure.and_then(|f| f.destination),
            last_modified: Some(now),
        };
        let (arn, r) = self.amend_event_config(&ctx.scope, &input.function_name, input.qualifier.as_deref(), |_| Ok(Some(record)))?;
        Ok(r.unwrap_or_default().output(&arn))
    }

    pub async fn update_function_event_invoke_config(&self, ctx: &RequestContext, input: UpdateFunctionEventInvokeConfigRequest) -> Result<FunctionEventInvokeConfig> {
        check_config(input.maximum_retry_attempts, input.maximum_event_age_in_seconds, input.destination_config.as_ref())?;
        let now = self.clock.now();
        let (arn, r) = self.amend_event_config(&ctx.scope, &input.function_name, input.qualifier.as_deref(), |current| {
            let mut r = current.unwrap_or_default();
            if input.maximum_retry_attempts.is_some() {
                r.max_retries = input.maximum_retry_attempts;
            }
            if input.maximum_event_age_in_seconds.is_some() {
                r.max_age = input.maximum_event_age_in_seconds;
            }
            if let Some(d) = &input.destination_config {
                if let Some(s) = &d.on_success {
                    r.on_success = s.destination.clone();
                }
                if let Some(f) = &d.on_failure {
                    r.on_failure = f.destination.clone();
                }
            }
            r.last_modified = Some(now);
            Ok(Some(r))
        })?;
        Ok(r.unwrap_or_default().output(&arn))
    }

    pub async fn get_function_event_invoke_config(&self, ctx: &RequestContext, input: GetFunctionEventInvokeConfigRequest) -> Result<FunctionEventInvokeConfig> {
        let latest = self.function(&ctx.scope, &input.function_name)?;
        let q = input.qualifier.unwrap_or_else(|| "$LATEST".into());
        let arn = format!("{}:{q}", latest.arn);
        latest.event_invoke.get(&q).map(|r| r.output(&arn)).ok_or_else(|| LambdaError::ResourceNotFound(format!("The function {arn} doesn't have an EventInvokeConfig")))
    }

    pub async fn delete_function_event_invoke_config(&self, ctx: &RequestContext, input: DeleteFunctionEventInvokeConfigRequest) -> Result<()> {
        let mut missing = None;
        self.amend_event_config(&ctx.scope, &input.function_name, input.qualifier.as_deref(), |current| {
            if current.is_none() {
                missing = Some(());
            }
            Ok(None)
        })
        .and_then(|(arn, _)| match missing {
            Some(()) => Err(LambdaError::ResourceNotFound(format!("The function {arn} doesn't have an EventInvokeConfig"))),
            None => Ok(()),
        })
    }

    pub async fn list_function_event_invoke_configs(&self, ctx: &RequestContext, input: ListFunctionEventInvokeConfigsRequest) -> Result<ListFunctionEventInvokeConfigsResponse> {
        let latest = self.function(&ctx.scope, &input.function_name)?;
        let configs = latest.event_invoke.iter().map(|(q, r)| r.output(&format!("{}:{q}", latest.arn))).collect();
        Ok(ListFunctionEventInvokeConfigsResponse { function_event_invoke_configs: Some(configs), next_marker: None })
    }

    /// Queues an event for `f` (resolved from `qualifier`): runs it in the background
    /// with the retries, age limit, destinations and dead-letter queue described above.
    pub(crate) fn invoke_async(&self, scope: &Scope, f: FunctionRecord, qualifier: String, executed: String, payload: Bytes) -> String {
        let request_id = ids::uuid();
        let me = self.clone();
        let scope = scope.clone();
        let id = request_id.clone();
        tokio::spawn(async move {
            let config = me.function(&scope, &f.name).ok().and_then(|l| l.event_invoke.get(&qualifier).or_else(|| l.event_invoke.get("$LATEST")).cloned()).unwrap_or_default();
            let retries = config.max_retries.unwrap_or(DEFAULT_RETRIES);
            let deadline = me.clock.now().add_millis(i64::from(config.max_age.unwrap_or(DEFAULT_MAX_AGE)) * 1000);
            let mut attempts = 0;
            let mut last: Failure = (None, None);
            for delay in [0i64, 60, 120].into_iter().take(retries as usize + 1) {
                if delay > 0 {
                    let at = me.clock.now().add_millis(delay * 1000);
                    if at.as_millis() > deadline.as_millis() {
                        break;
                    }
                    me.clock.sleep_until(at).await;
                }
                attempts += 1;
                match me.run(&scope, &f, payload.clone()).await {
                    Ok((ran, _)) => match ran.outcome {
                        Outcome::Response(body) => {
                            me.conclude(&scope, &f, &executed, &id, attempts, &payload, Ok(body), &config).await;
                            return;
                        }
                        Outcome::Error(doc) | Outcome::InitError(doc) => {
                            let v: serde_json::Value = serde_json::from_slice(&doc).unwrap_or(json!({}));
                            last = (Some(doc), Some((v["errorType"].as_str().unwrap_or("Unhandled").to_string(), v["errorMessage"].as_str().unwrap_or("").to_string())));
                        }
                        Outcome::TimedOut => last = (None, Some(("Unhandled".into(), format!("Task timed out after {}.00 seconds", f.timeout)))),
                        Outcome::Exited(why) => last = (None, Some(("Runtime.ExitError".into(), why))),
                    },
                    Err(e) => last = (None, Some(("ServiceException".into(), format!("{e:?}")))),
                }
                tracing::info!("asynchronous invocation {id} of {} failed (attempt {attempts})", f.name);
            }
            me.conclude(&scope, &f, &executed, &id, attempts, &payload, Err(last), &config).await;
        });
        request_id
    }

    /// Sends an event's outcome to the destination for it, and a failure to the DLQ.
    #[allow(clippy::too_many_arguments)]
    async fn conclude(&self, scope: &Scope, f: &FunctionRecord, executed: &str, request_id: &str, attempts: i32, payload: &Bytes, outcome: std::result::Result<Bytes, Failure>, config: &EventInvokeRecord) {
        let request: serde_json::Value = serde_json::from_slice(payload).unwrap_or(serde_json::Value::Null);
        let (condition, destination, response) = match &outcome {
            Ok(body) => ("Success", config.on_success.clone(), serde_json::from_slice(body).unwrap_or(serde_json::Value::Null)),
            Err((doc, _)) => ("RetriesExhausted", config.on_failure.clone(), doc.as_ref().and_then(|d| serde_json::from_slice(d).ok()).unwrap_or(serde_json::Value::Null)),
        };
        if let Some(arn) = destination {
            let mut record = json!({
                "version": "1.0",
                "timestamp": self.clock.now().to_iso8601(),
                "requestContext": { "requestId": request_id, "functionArn": format!("{}:{executed}", f.arn), "condition": condition, "approximateInvokeCount": attempts },
                "requestPayload": request,
                "responseContext": { "statusCode": 200, "executedVersion": executed },
                "responsePayload": response,
            });
            if let Err((_, Some((kind, _)))) = &outcome {
                record["responseContext"]["functionError"] = json!(kind);
            }
            self.send(scope, &arn, record.to_string(), Vec::new()).await;
        }
        if let (Err((_, error)), Some(dlq)) = (&outcome, &f.dead_letter) {
            let (code, message) = error.clone().unwrap_or_default();
            let attributes = vec![("RequestID".into(), "String".into(), request_id.to_string()), ("ErrorCode".into(), "Number".into(), "200".into()), ("ErrorMessage".into(), "String".into(), if message.is_empty() { code } else { message })];
            self.send(scope, dlq, String::from_utf8_lossy(payload).into_owned(), attributes).await;
        }
    }

    async fn send(&self, scope: &Scope, arn: &str, body: String, attributes: Vec<(String, String, String)>) {
        let sent = if arn.split(':').nth(2) == Some("lambda") {
            self.resolve(scope, arn, None).map(|(f, executed)| {
                self.invoke_async(scope, f, crate::versions::split_qualifier(arn).1.unwrap_or_else(|| "$LATEST".into()), executed, Bytes::from(body));
            })
            .map_err(|e| format!("{e:?}"))
        } else {
            match &self.destinations {
                Some(d) => d.send(arn, body, attributes).await,
                None => Err("no destinations are wired".into()),
            }
        };
        if let Err(e) = sent {
            tracing::warn!("asynchronous invocation record to {arn} not delivered: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_destinations_are_checked() {
        assert!(check_config(Some(2), Some(60), None).is_ok());
        assert!(check_config(Some(3), None, None).is_err());
        assert!(check_config(None, Some(59), None).is_err());
        let bad = DestinationConfig { on_success: Some(OnSuccess { destination: Some("arn:aws:s3:::bucket".into()) }), on_failure: None };
        assert!(check_config(None, None, Some(&bad)).is_err());
    }
}
