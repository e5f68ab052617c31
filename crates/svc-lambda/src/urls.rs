//! Function URLs: an HTTP endpoint per function, `http://<url-id>.lambda-url.<region>.localhost:<nubo's port>/`
//! (AWS's `https://<url-id>.lambda-url.<region>.on.aws/`, with `localhost`, which
//! resolves to nubo with no setup). A request becomes the payload format 2.0 event and a
//! synchronous invocation; the function's answer becomes the HTTP response as Lambda
//! maps it (a `statusCode` object, or any JSON as a 200).

use crate::error::{LambdaError, Result};
use crate::functions::FUNCTIONS;
use crate::runtime::Outcome;
use crate::Lambda;
use base64::Engine;
use bytes::Bytes;
use http_body_util::BodyExt;
use nubo_core::{ids, RequestContext, Scope};
use nubo_model::generated::lambda::*;
use nubo_model::handler::{HttpRequest, HttpResponse};
use nubo_model::ByteStream;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub const URLS: &str = "lambda.function-urls";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UrlRecord {
    pub id: String,
    pub function: String,
    pub function_arn: String,
    pub auth_type: String,
    pub invoke_mode: String,
    pub cors: Option<Value>,
    pub created: String,
    pub modified: String,
}

fn url_key(scope: &Scope, function: &str) -> Vec<u8> {
    format!("{}\0{}\0{function}", scope.account, scope.region).into_bytes()
}

fn cors_in(c: Option<Cors>) -> Option<Value> {
    c.map(|c| {
        json!({"AllowCredentials": c.allow_credentials, "AllowHeaders": c.allow_headers, "AllowMethods": c.allow_methods,
               "AllowOrigins": c.allow_origins, "ExposeHeaders": c.expose_headers, "MaxAge": c.max_age})
    })
}

fn cors_out(v: &Option<Value>) -> Option<Cors> {
    let v = v.as_ref()?;
    let list = |k: &str| v.get(k).and_then(|x| x.as_array()).map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect());
    Some(Cors {
        allow_credentials: v.get("AllowCredentials").and_then(Value::as_bool),
        allow_headers: list("AllowHeaders"),
        allow_methods: list("AllowMethods"),
        allow_origins: list("AllowOrigins"),
        expose_headers: list("ExposeHeaders"),
        max_age: v.get("MaxAge").and_then(Value::as_i64).map(|m| m as i32),
    })
}

fn check_auth(auth: &str) -> Result<()> {
    if auth != "NONE" && auth != "AWS_IAM" {
        return Err(LambdaError::Validation(format!("1 validation error detected: Value '{auth}' at 'authType' failed to satisfy constraint: Member must satisfy enum value set: [NONE, AWS_IAM]")));
    }
    Ok(())
}

impl Lambda {
    /// `http://<id>.lambda-url.<region>.localhost:<port>/`
    fn url_of(&self, id: &str, region: &str) -> String {
        let port = self.endpoint.rsplit(':').next().unwrap_or("4566");
        format!("http://{id}.lambda-url.{region}.localhost:{port}/")
    }

    fn url_record(&self, scope: &Scope, function: &str) -> Result<UrlRecord> {
        let f = self.function(scope, function)?;
        let found: Option<UrlRecord> = self.store.read(|tx| nubo_store::get_json(tx, URLS, &url_key(scope, &f.name)))?;
        found.ok_or_else(|| LambdaError::ResourceNotFound(format!("The resource you requested does not exist. (Service: Lambda, Status Code: 404) for function {}", f.name)))
    }

    pub(crate) fn create_url(&self, ctx: &RequestContext, input: CreateFunctionUrlConfigRequest) -> Result<CreateFunctionUrlConfigResponse> {
        check_auth(&input.auth_type)?;
        let f = self.function(&ctx.scope, &input.function_name)?;
        let now = self.clock.now().to_iso8601();
        let record = UrlRecord {
            id: ids::random_string(b"abcdefghijklmnopqrstuvwxyz0123456789", 32),
            function: f.name.clone(),
            function_arn: f.arn.clone(),
            auth_type: input.auth_type.clone(),
            invoke_mode: input.invoke_mode.clone().unwrap_or_else(|| "BUFFERED".into()),
            cors: cors_in(input.cors),
            created: now.clone(),
            modified: now,
        };
        let key = url_key(&ctx.scope, &f.name);
        self.store.write(|tx| {
            if nubo_store::get_json::<UrlRecord>(tx, URLS, &key)?.is_some() {
                return Err(LambdaError::ResourceConflict(format!("Failed to create function url config for [functionArn = {}]. Error message:  FunctionUrlConfig exists for this Lambda function", f.arn)));
            }
            nubo_store::put_json(tx, URLS, &key, &record)?;
            Ok(())
        })?;
        Ok(CreateFunctionUrlConfigResponse {
            function_url: self.url_of(&record.id, &ctx.scope.region),
            function_arn: record.function_arn,
            auth_type: record.auth_type,
            cors: cors_out(&record.cors),
            creation_time: record.created,
            invoke_mode: Some(record.invoke_mode),
        })
    }

    pub(crate) fn get_url(&self, ctx: &RequestContext, input: GetFunctionUrlConfigRequest) -> Result<GetFunctionUrlConfigResponse> {
        let r = self.url_record(&ctx.scope, &input.function_name)?;
        Ok(GetFunctionUrlConfigResponse {
            function_url: self.url_of(&r.id, &ctx.scope.region),
            function_arn: r.function_arn,
            auth_type: r.auth_type,
            cors: cors_out(&r.cors),
            creation_time: r.created,
            last_modified_time: r.modified,
            invoke_mode: Some(r.invoke_mode),
        })
    }

    pub(crate) fn update_url(&self, ctx: &RequestContext, input: UpdateFunctionUrlConfigRequest) -> Result<UpdateFunctionUrlConfigResponse> {
        let mut r = self.url_record(&ctx.scope, &input.function_name)?;
        if let Some(a) = input.auth_type {
            check_auth(&a)?;
            r.auth_type = a;
        }
        if input.cors.is_some() {
            r.cors = cors_in(input.cors);
        }
        if let Some(m) = input.invoke_mode {
            r.invoke_mode = m;
        }
        r.modified = self.clock.now().to_iso8601();
        self.store.write(|tx| nubo_store::put_json(tx, URLS, &url_key(&ctx.scope, &r.function), &r))?;
        Ok(UpdateFunctionUrlConfigResponse {
            function_url: self.url_of(&r.id, &ctx.scope.region),
            function_arn: r.function_arn,
            auth_type: r.auth_type,
            cors: cors_out(&r.cors),
            creation_time: r.created,
            last_modified_time: r.modified,
            invoke_mode: Some(r.invoke_mode),
        })
    }

    pub(crate) fn delete_url(&self, ctx: &RequestContext, input: DeleteFunctionUrlConfigRequest) -> Result<()> {
        let r = self.url_record(&ctx.scope, &input.function_name)?;
        self.store.write(|tx| tx.delete(URLS, &url_key(&ctx.scope, &r.function)).map(|_| ()))?;
        Ok(())
    }

    pub(crate) fn list_urls(&self, ctx: &RequestContext, input: ListFunctionUrlConfigsRequest) -> Result<ListFunctionUrlConfigsResponse> {
        let out = match self.url_record(&ctx.scope, &input.function_name) {
            Ok(r) => vec![FunctionUrlConfig {
                function_url: self.url_of(&r.id, &ctx.scope.region),
                function_arn: r.function_arn,
                creation_time: r.created,
                last_modified_time: r.modified,
                cors: cors_out(&r.cors),
                auth_type: r.auth_type,
                invoke_mode: Some(r.invoke_mode),
            }],
            Err(LambdaError::ResourceNotFound(_)) => {
                self.function(&ctx.scope, &input.function_name)?;
                Vec::new()
            }
            Err(e) => return Err(e),
        };
        Ok(ListFunctionUrlConfigsResponse { function_url_configs: out, next_marker: None })
    }

    /// A request to a function URL (`<id>.lambda-url.<region>.localhost`), if it is one.
    pub(crate) fn url_request<'a>(&'a self, req: &'a HttpRequest<'a>) -> Option<nubo_model::handler::HttpFuture<'a>> {
        let host = req.host.rsplit_once(':').filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit())).map_or(req.host, |(h, _)| h).to_ascii_lowercase();
        let (id, rest) = host.split_once(".lambda-url.")?;
        let region = rest.strip_suffix(".localhost")?.to_string();
        let id = id.to_string();
        let body = req.take_body();
        Some(Box::pin(async move {
            match self.serve_url(&id, &region, req, body).await {
                Ok(r) => r,
                Err(e) => plain(if matches!(e, LambdaError::ResourceNotFound(_)) { 404 } else { 502 }, if matches!(e, LambdaError::ResourceNotFound(_)) { "Not Found" } else { "Internal Server Error" }),
            }
        }))
    }

    async fn serve_url(&self, id: &str, region: &str, req: &HttpRequest<'_>, body: nubo_model::stream::Body) -> Result<HttpResponse> {
        // The URL names the function: find its record (any account of the region).
        let all: Vec<(Vec<u8>, UrlRecord)> = self.store.read(|tx| nubo_store::scan_json(tx, URLS, b"", None, usize::MAX))?;
        let (key, r) = all.into_iter().find(|(_, r)| r.id == id).ok_or_else(|| LambdaError::ResourceNotFound("no such function URL".into()))?;
        let account = String::from_utf8_lossy(key.split(|b| *b == 0).next().unwrap_or_default()).into_owned();
        let scope = Scope::new(account.clone(), region.to_string());
        let f: crate::functions::FunctionRecord = self
            .store
            .read(|tx| nubo_store::get_json(tx, FUNCTIONS, &crate::functions::function_key(&scope, &r.function)))?
            .ok_or_else(|| LambdaError::ResourceNotFound("the function is gone".into()))?;
        let bytes = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
        let text = std::str::from_utf8(&bytes).ok().filter(|t| !t.contains('\0'));
        let mut headers = serde_json::Map::new();
        let mut cookies = Vec::new();
        for (k, v) in req.headers {
            let Ok(v) = v.to_str() else { continue };
            if k.as_str() == "cookie" {
                cookies.extend(v.split(';').map(|c| c.trim().to_string()));
                continue;
            }
            let entry = headers.entry(k.as_str().to_string()).or_insert_with(|| Value::String(String::new()));
            if let Value::String(s) = entry {
                if !s.is_empty() {
                    s.push(',');
                }
                s.push_str(v);
            }
        }
        let query: serde_json::Map<String, Value> = form_urlencoded::parse(req.query.as_bytes()).into_owned().map(|(k, v)| (k, Value::String(v))).collect();
        let now = self.clock.now();
        let event = json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": req.path,
            "rawQueryString": req.query,
            "cookies": if cookies.is_empty() { Value::Null } else { json!(cookies) },
            "headers": headers,
            "queryStringParameters": if query.is_empty() { Value::Null } else { Value::Object(query) },
            "requestContext": {
                "accountId": "anonymous",
                "apiId": id,
                "domainName": format!("{id}.lambda-url.{region}.localhost"),
                "domainPrefix": id,
                "http": {"method": req.method, "path": req.path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                         "userAgent": req.headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or("")},
                "requestId": ids::uuid(),
                "routeKey": "$default",
                "stage": "$default",
                "time": now.to_http_date(),
                "timeEpoch": now.as_millis(),
            },
            "body": match text { Some(t) if !bytes.is_empty() => Value::String(t.to_string()), None => Value::String(base64::engine::general_purpose::STANDARD.encode(&bytes)), _ => Value::Null },
            "isBase64Encoded": text.is_none(),
        });
        let (ran, _) = self.run(&scope, &f, Bytes::from(event.to_string())).await?;
        let Outcome::Response(out) = ran.outcome else { return Ok(plain(502, "Internal Server Error")) };
        Ok(http_answer(&out))
    }
}

fn plain(status: u16, text: &str) -> HttpResponse {
    HttpResponse { status, headers: vec![("content-type".into(), "text/plain".into())], body: ByteStream::from_bytes(Bytes::from(text.to_string())) }
}

/// What a function returned, as Lambda turns it into HTTP.
fn http_answer(out: &[u8]) -> HttpResponse {
    let value: Option<Value> = serde_json::from_slice(out).ok();
    let Some(obj) = value.as_ref().and_then(Value::as_object).filter(|o| o.contains_key("statusCode")) else {
        return HttpResponse { status: 200, headers: vec![("content-type".into(), "application/json".into())], body: ByteStream::from_bytes(Bytes::copy_from_slice(out)) };
    };
    let status = obj.get("statusCode").and_then(Value::as_u64).unwrap_or(200) as u16;
    let mut headers: Vec<(String, String)> = obj.get("headers").and_then(Value::as_object).map(|h| h.iter().map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))).collect()).unwrap_or_default();
    for c in obj.get("cookies").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        headers.push(("set-cookie".into(), c.to_string()));
    }
    let text = obj.get("body").map(|b| b.as_str().map(str::to_string).unwrap_or_else(|| b.to_string())).unwrap_or_default();
    let body = if obj.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) { base64::engine::general_purpose::STANDARD.decode(text.as_bytes()).unwrap_or_default() } else { text.into_bytes() };
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
        headers.push(("content-type".into(), "application/json".into()));
    }
    HttpResponse { status, headers, body: ByteStream::from_bytes(Bytes::from(body)) }
}
