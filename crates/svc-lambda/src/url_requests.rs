//! Requests to function URLs: `http://<url-id>.lambda-url.<region>.localhost:<nubo's port>/`,
//! or `http://<the URL's own address>/` (nubo listens on port 80 there; Python and other
//! clients that do not resolve `*.localhost` themselves reach it, as do those using
//! nubo's DNS for the URL's name).
//!
//! Who may call is declared to the gateway ([`Lambda::url_auth`]), which checks it before
//! the request gets here: with `AuthType=AWS_IAM` only SigV4-signed callers (under
//! `--enforce-iam`, those IAM allows `lambda:InvokeFunctionUrl` and `lambda:InvokeFunction`,
//! by their policies or the function's); with `NONE` anyone (under enforcement, only if
//! the function's policy makes it public, as on AWS). A refusal is `403 {"Message":"Forbidden"}`.
//!
//! A request becomes the payload format 2.0 event and a synchronous invocation; the
//! function's answer becomes the HTTP response as Lambda maps it (a `statusCode` object,
//! or any JSON as a 200). With a CORS configuration Lambda answers preflight requests
//! itself and sets the `Access-Control-*` headers of responses.

use crate::error::{LambdaError, Result};
use crate::functions::FUNCTIONS;
use crate::runtime::Outcome;
use crate::urls::{UrlRecord, URLS};
use crate::Lambda;
use base64::Engine;
use bytes::Bytes;
use http_body_util::BodyExt;
use nubo_core::{ids, AwsError, Scope};
use nubo_model::access::Access;
use nubo_model::handler::{HttpAuth, HttpRequest, HttpResponse};
use nubo_model::ByteStream;
use serde_json::{json, Value};

/// How a `Host` names a function URL: `<url-id>.lambda-url.<region>.localhost`, or the
/// URL's own loopback address (127.16.0.0/12, where nubo listens on port 80).
#[derive(Debug, PartialEq)]
enum UrlHost {
    Name { id: String, region: String },
    Address(String),
}

fn url_host(host: &str) -> Option<UrlHost> {
    let host = host.rsplit_once(':').filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit())).map_or(host, |(h, _)| h).to_ascii_lowercase();
    if let Ok(ip) = host.parse::<std::net::Ipv4Addr>() {
        return nubo_core::addressing::is_public_loopback(ip).then_some(UrlHost::Address(host));
    }
    let (id, rest) = host.split_once(".lambda-url.")?;
    let region = rest.strip_suffix(".localhost")?;
    Some(UrlHost::Name { id: id.to_string(), region: region.to_string() })
}

/// How a function URL refuses a caller: `{"Message":"Forbidden"}`, or the signature
/// problem where there is one.
fn refusal(e: &AwsError) -> HttpResponse {
    let (status, body) = refusal_document(e);
    HttpResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into()), ("x-amzn-ErrorType".into(), "AccessDeniedException".into())],
        body: ByteStream::from_bytes(Bytes::from(body.to_string())),
    }
}

fn refusal_document(e: &AwsError) -> (u16, Value) {
    match e.code.as_ref() {
        "RequestEntityTooLarge" => (413, json!({ "Message": "Request must be smaller than 6291456 bytes for the InvokeFunction operation" })),
        "AccessDeniedException" | "AccessDenied" | "MissingAuthenticationToken" => (403, json!({ "Message": "Forbidden" })),
        _ => (403, json!({ "message": e.message })),
    }
}

impl Lambda {
    /// The URL configuration a `Host` names, and the scope of its function.
    fn url_for(&self, host: &UrlHost) -> Result<Option<(Scope, UrlRecord)>> {
        let all: Vec<(Vec<u8>, UrlRecord)> = self.store.read(|tx| nubo_store::scan_json(tx, URLS, b"", None, usize::MAX))?;
        Ok(all.into_iter().find_map(|(key, r)| {
            let mut parts = key.split(|b| *b == 0).map(|p| String::from_utf8_lossy(p).into_owned());
            let (account, region) = (parts.next()?, parts.next()?);
            let named = match host {
                UrlHost::Name { id, region: r_region } => *id == r.id && *r_region == region,
                UrlHost::Address(a) => *a == r.address,
            };
            named.then(|| (Scope::new(account, region), r))
        }))
    }

    /// Who may call a function URL (for the gateway); `None` for other requests and for
    /// the CORS preflight Lambda answers itself.
    pub(crate) fn url_auth(&self, req: &HttpRequest<'_>) -> Option<HttpAuth> {
        let (_, r) = self.url_for(&url_host(req.host)?).ok()??;
        if is_preflight(req, &r) {
            return None;
        }
        let accesses = vec![
            Access::new("lambda:InvokeFunctionUrl", &r.function_arn).with_context("lambda:FunctionUrlAuthType", &r.auth_type),
            Access::new("lambda:InvokeFunction", &r.function_arn).with_context("lambda:InvokedViaFunctionUrl", "true"),
        ];
        Some(HttpAuth { accesses, signed: r.auth_type == "AWS_IAM", refuse: refusal })
    }

    /// A request to a function URL, if it is one.
    pub(crate) fn url_request<'a>(&'a self, req: &'a HttpRequest<'a>) -> Option<nubo_model::handler::HttpFuture<'a>> {
        let host = url_host(req.host)?;
        let body = req.take_body();
        Some(Box::pin(async move {
            match self.serve_url(&host, req, body).await {
                Ok(r) => r,
                Err(LambdaError::ResourceNotFound(_)) => plain(404, "Not Found"),
                Err(_) => plain(502, "Internal Server Error"),
            }
        }))
    }

    async fn serve_url(&self, host: &UrlHost, req: &HttpRequest<'_>, body: nubo_model::stream::Body) -> Result<HttpResponse> {
        let (scope, r) = self.url_for(host)?.ok_or_else(|| LambdaError::ResourceNotFound("no such function URL".into()))?;
        if is_preflight(req, &r) {
            let mut headers = r.cors.as_ref().map(|c| cors_headers(c, req, true)).unwrap_or_default();
            headers.push(("content-length".into(), "0".into()));
            return Ok(HttpResponse { status: 200, headers, body: ByteStream::from_bytes(Bytes::new()) });
        }
        let f: crate::functions::FunctionRecord = self
            .store
            .read(|tx| nubo_store::get_json(tx, FUNCTIONS, &crate::functions::function_key(&scope, &r.function)))?
            .ok_or_else(|| LambdaError::ResourceNotFound("the function is gone".into()))?;
        let bytes = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
        let event = self.url_event(&r.id, &scope.region, req, &bytes);
        let (ran, _) = self.run(&scope, &f, Bytes::from(event.to_string())).await?;
        let Outcome::Response(out) = ran.outcome else { return Ok(plain(502, "Internal Server Error")) };
        let mut answer = http_answer(&out);
        if let Some(cors) = &r.cors {
            let set = cors_headers(cors, req, false);
            answer.headers.retain(|(k, _)| !set.iter().any(|(s, _)| s.eq_ignore_ascii_case(k)));
            answer.headers.extend(set);
        }
        Ok(answer)
    }

    /// The payload format 2.0 event of a request.
    fn url_event(&self, id: &str, region: &str, req: &HttpRequest<'_>, bytes: &[u8]) -> Value {
        let text = std::str::from_utf8(bytes).ok().filter(|t| !t.contains('\0'));
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
        let mut context = json!({
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
        });
        // A signed caller (AWS_IAM) is named to the function, as Lambda does.
        if let Some(caller) = req.caller {
            let account = caller.principal.account().to_string();
            context["accountId"] = json!(account);
            context["authorizer"] = json!({"iam": {
                "accessKey": caller.access_key,
                "accountId": account,
                "callerId": caller.principal.user_id(),
                "cognitoIdentity": null,
                "principalOrgId": null,
                "userArn": caller.principal.arn(),
                "userId": caller.principal.user_id(),
            }});
        }
        json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": req.path,
            "rawQueryString": req.query,
            "cookies": if cookies.is_empty() { Value::Null } else { json!(cookies) },
            "headers": headers,
            "queryStringParameters": if query.is_empty() { Value::Null } else { Value::Object(query) },
            "requestContext": context,
            "body": match text { Some(t) if !bytes.is_empty() => Value::String(t.to_string()), None => Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)), _ => Value::Null },
            "isBase64Encoded": text.is_none(),
        })
    }
}

/// A browser's CORS preflight, which Lambda answers itself where the URL has a CORS
/// configuration (without it the function gets the `OPTIONS` request).
fn is_preflight(req: &HttpRequest<'_>, r: &UrlRecord) -> bool {
    r.cors.is_some() && req.method == "OPTIONS" && req.headers.contains_key("origin") && req.headers.contains_key("access-control-request-method")
}

/// The `Access-Control-*` headers for a request from an allowed origin (none for others).
fn cors_headers(cors: &Value, req: &HttpRequest<'_>, preflight: bool) -> Vec<(String, String)> {
    let Some(origin) = req.headers.get("origin").and_then(|v| v.to_str().ok()) else { return Vec::new() };
    let list = |k: &str| -> Vec<String> { cors.get(k).and_then(Value::as_array).map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default() };
    let origins = list("AllowOrigins");
    let credentials = cors.get("AllowCredentials").and_then(Value::as_bool) == Some(true);
    let allowed = if origins.iter().any(|o| o == "*") && !credentials {
        "*".to_string()
    } else if origins.iter().any(|o| o == "*" || nubo_core::wildcard::matches(o, origin, true)) {
        origin.to_string()
    } else {
        return Vec::new();
    };
    let mut out = vec![("Access-Control-Allow-Origin".to_string(), allowed)];
    if credentials {
        out.push(("Access-Control-Allow-Credentials".into(), "true".into()));
    }
    if preflight {
        let methods = list("AllowMethods");
        if !methods.is_empty() {
            out.push(("Access-Control-Allow-Methods".into(), methods.join(",")));
        }
        let headers = list("AllowHeaders");
        if !headers.is_empty() {
            out.push(("Access-Control-Allow-Headers".into(), headers.join(",")));
        }
        if let Some(age) = cors.get("MaxAge").and_then(Value::as_i64) {
            out.push(("Access-Control-Max-Age".into(), age.to_string()));
        }
    } else {
        let expose = list("ExposeHeaders");
        if !expose.is_empty() {
            out.push(("Access-Control-Expose-Headers".into(), expose.join(",")));
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(headers: &'a hyper::HeaderMap, method: &'a str) -> HttpRequest<'a> {
        HttpRequest { method, path: "/", query: "", host: "abc.lambda-url.us-east-1.localhost:4566", headers, body: None, caller: None }
    }

    #[test]
    fn url_hosts_name_the_id_and_region() {
        let name = |id: &str, region: &str| Some(UrlHost::Name { id: id.into(), region: region.into() });
        assert_eq!(url_host("abc.lambda-url.eu-west-1.localhost:4566"), name("abc", "eu-west-1"));
        assert_eq!(url_host("ABC.lambda-url.us-east-1.localhost"), name("abc", "us-east-1"));
        assert_eq!(url_host("abc.execute-api.us-east-1.localhost"), None);
        assert_eq!(url_host("127.20.1.9"), Some(UrlHost::Address("127.20.1.9".into())));
        assert_eq!(url_host("127.0.0.1:4566"), None, "nubo's own address is no URL's");
    }

    #[test]
    fn cors_answers_allowed_origins_only() {
        let cors = json!({"AllowOrigins": ["https://app.example.com"], "AllowMethods": ["GET", "POST"], "AllowHeaders": ["x-token"], "MaxAge": 300});
        let mut h = hyper::HeaderMap::new();
        h.insert("origin", "https://app.example.com".parse().unwrap());
        let got = cors_headers(&cors, &request(&h, "OPTIONS"), true);
        assert!(got.contains(&("Access-Control-Allow-Origin".into(), "https://app.example.com".into())));
        assert!(got.contains(&("Access-Control-Allow-Methods".into(), "GET,POST".into())));
        assert!(got.contains(&("Access-Control-Max-Age".into(), "300".into())));
        h.insert("origin", "https://evil.example.com".parse().unwrap());
        assert!(cors_headers(&cors, &request(&h, "OPTIONS"), true).is_empty());
        let any = json!({"AllowOrigins": ["*"]});
        assert_eq!(cors_headers(&any, &request(&h, "GET"), false), vec![("Access-Control-Allow-Origin".to_string(), "*".to_string())]);
    }

    #[test]
    fn refusals_say_forbidden_unless_the_signature_is_wrong() {
        let denied = refusal_document(&AwsError::new("AccessDeniedException", 403, "User: x is not authorized"));
        assert_eq!(denied, (403, json!({"Message": "Forbidden"})));
        let sig = refusal_document(&AwsError::new("SignatureDoesNotMatch", 403, "The request signature we calculated does not match"));
        assert_eq!(sig, (403, json!({"message": "The request signature we calculated does not match"})));
    }
}
