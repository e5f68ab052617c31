//! Lambda targets: the request becomes the event ALB sends a function (`requestContext.elb`,
//! method, path, query parameters as sent — not decoded —, headers, body, base64 when it is
//! not text), or with `lambda.multi_value_headers.enabled` the multi-value forms; the
//! function's answer (`statusCode`, `statusDescription`, headers, body, `isBase64Encoded`)
//! becomes the response. A body over 1 MB is refused with 413; a failed function or a
//! malformed answer is a 502, as on AWS.

use super::proxy::{body, ProxyBody};
use base64::Engine;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Map, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The largest request and response bodies ALB passes to and from a function.
pub const MAX_BODY: usize = 1 << 20;

fn is_text(content_type: &str) -> bool {
    let t = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    t.is_empty() || t.starts_with("text/") || t.ends_with("json") || t.ends_with("xml") || t.ends_with("javascript") || t == "application/x-www-form-urlencoded"
}

/// A request read whole; `Err(413)` when its body is too large for a function.
pub async fn read(req: Request<ProxyBody>) -> Result<(http::request::Parts, bytes::Bytes), u16> {
    let (parts, mut incoming) = req.into_parts();
    let mut bytes = bytes::BytesMut::new();
    while let Some(frame) = incoming.frame().await {
        let Ok(data) = frame.map_err(|_| 400u16)?.into_data() else { continue };
        if bytes.len() + data.len() > MAX_BODY {
            return Err(413);
        }
        bytes.extend_from_slice(&data);
    }
    Ok((parts, bytes.freeze()))
}

/// The event for a request.
pub fn event(tg_arn: &str, parts: &http::request::Parts, bytes: &[u8], multi_value: bool) -> Vec<u8> {
    let content_type = parts.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let text = is_text(content_type) && std::str::from_utf8(bytes).is_ok();
    let body = if text { String::from_utf8_lossy(bytes).into_owned() } else { base64::engine::general_purpose::STANDARD.encode(bytes) };
    let query: Vec<(&str, &str)> = parts.uri.query().unwrap_or("").split('&').filter(|p| !p.is_empty()).map(|p| p.split_once('=').unwrap_or((p, ""))).collect();
    let mut event = json!({
        "requestContext": { "elb": { "targetGroupArn": tg_arn } },
        "httpMethod": parts.method.as_str(),
        "path": parts.uri.path(),
        "body": body,
        "isBase64Encoded": !text,
    });
    if multi_value {
        let mut q: Map<String, Value> = Map::new();
        for (k, v) in &query {
            q.entry(k.to_string()).or_insert_with(|| json!([])).as_array_mut().expect("array").push(json!(v));
        }
        let mut h: Map<String, Value> = Map::new();
        for (k, v) in &parts.headers {
            h.entry(k.as_str().to_string()).or_insert_with(|| json!([])).as_array_mut().expect("array").push(json!(v.to_str().unwrap_or("")));
        }
        event["multiValueQueryStringParameters"] = Value::Object(q);
        event["multiValueHeaders"] = Value::Object(h);
    } else {
        // The last value of a repeated parameter or header, as ALB passes it.
        event["queryStringParameters"] = Value::Object(query.iter().map(|(k, v)| (k.to_string(), json!(v))).collect());
        event["headers"] = Value::Object(parts.headers.iter().map(|(k, v)| (k.as_str().to_string(), json!(v.to_str().unwrap_or("")))).collect());
    }
    event.to_string().into_bytes()
}

/// Invokes the function with the request and answers with its response. Boxed as a
/// `Send` future of owned values, so the proxy's future stays provably `Send`.
pub fn call(functions: Arc<dyn crate::Functions>, function_arn: String, tg_arn: String, multi_value: bool, req: Request<ProxyBody>) -> Pin<Box<dyn Future<Output = Result<Response<ProxyBody>, u16>> + Send>> {
    Box::pin(async move {
        let (parts, bytes) = read(req).await?;
        let event = event(&tg_arn, &parts, &bytes, multi_value);
        let (payload, error) = functions.invoke(&function_arn, event).await.map_err(|_| 502u16)?;
        response(&payload, error.is_some())
    })
}

/// The response a function's answer describes; `Err(502)` for an error or a malformed answer.
pub fn response(payload: &[u8], failed: bool) -> Result<Response<ProxyBody>, u16> {
    if failed || payload.len() > MAX_BODY {
        return Err(502);
    }
    let answer: Value = serde_json::from_slice(payload).map_err(|_| 502u16)?;
    let status = answer.get("statusCode").and_then(|s| s.as_u64().or_else(|| s.as_str()?.parse().ok())).ok_or(502u16)?;
    let status = StatusCode::from_u16(u16::try_from(status).map_err(|_| 502u16)?).map_err(|_| 502u16)?;
    let text = answer.get("body").and_then(Value::as_str).unwrap_or("");
    let bytes = if answer.get("isBase64Encoded").and_then(Value::as_bool).unwrap_or(false) {
        base64::engine::general_purpose::STANDARD.decode(text).map_err(|_| 502u16)?
    } else {
        text.as_bytes().to_vec()
    };
    let mut r = Response::new(body(bytes));
    *r.status_mut() = status;
    let mut put = |k: &str, v: &Value| {
        let v = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(&v)) {
            r.headers_mut().append(k, v);
        }
    };
    if let Some(Value::Object(many)) = answer.get("multiValueHeaders") {
        for (k, vs) in many {
            for v in vs.as_array().into_iter().flatten() {
                put(k, v);
            }
        }
    } else if let Some(Value::Object(one)) = answer.get("headers") {
        for (k, v) in one {
            put(k, v);
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(uri: &str, content_type: &str, payload: &'static [u8]) -> Request<ProxyBody> {
        Request::builder().method("POST").uri(uri).header("content-type", content_type).header("x-forwarded-for", "127.0.0.1").body(body(payload)).unwrap()
    }

    async fn event_of(req: Request<ProxyBody>, multi: bool) -> Value {
        let (parts, bytes) = read(req).await.unwrap();
        serde_json::from_slice(&event("arn:tg", &parts, &bytes, multi)).unwrap()
    }

    #[tokio::test]
    async fn events_carry_albs_fields_and_raw_query_values() {
        let e = event_of(request("/hello?name=a%20b&x=1", "application/json", b"{\"k\":1}"), false).await;
        assert_eq!(e["requestContext"]["elb"]["targetGroupArn"], "arn:tg");
        assert_eq!((e["httpMethod"].as_str(), e["path"].as_str()), (Some("POST"), Some("/hello")));
        assert_eq!(e["queryStringParameters"]["name"], "a%20b");
        assert_eq!(e["headers"]["x-forwarded-for"], "127.0.0.1");
        assert_eq!((e["body"].as_str(), e["isBase64Encoded"].as_bool()), (Some("{\"k\":1}"), Some(false)));
        let e = event_of(request("/b", "image/png", b"\x89PNG"), true).await;
        assert_eq!((e["body"].as_str(), e["isBase64Encoded"].as_bool()), (Some("iVBORw=="), Some(true)));
        assert_eq!(e["multiValueHeaders"]["content-type"], json!(["image/png"]));
    }

    #[test]
    fn answers_become_responses_and_bad_ones_502() {
        let r = response(br#"{"statusCode": 201, "headers": {"x-a": "1"}, "body": "aGk=", "isBase64Encoded": true}"#, false).unwrap();
        assert_eq!((r.status().as_u16(), r.headers()["x-a"].to_str().unwrap()), (201, "1"));
        assert_eq!(response(br#"{"body": "no status"}"#, false).err(), Some(502));
        assert_eq!(response(b"{}", true).err(), Some(502));
    }
}
