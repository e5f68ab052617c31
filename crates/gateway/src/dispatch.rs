//! One request, from bytes in to bytes out: body, route, identity, decode, call, encode, log.

use crate::router::Resolution;
use crate::{identity, internal, Gateway};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use nubo_core::{AwsError, RequestContext};
use nubo_protocol::{body, errors, Codec, Request, Response};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

/// Bodies of RPC-style requests (json, query, cbor): far above any AWS RPC limit.
pub const MAX_RPC_BODY: usize = 16 << 20;
/// Bodies of REST requests, until S3 streams its object bodies (issue "S3").
pub const MAX_REST_BODY: usize = 128 << 20;

pub type HttpResponse = hyper::Response<Full<Bytes>>;

fn is_rpc(parts: &http::request::Parts) -> bool {
    let h = &parts.headers;
    h.contains_key("x-amz-target")
        || parts.uri.path().starts_with("/service/")
        || h.get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
}

pub async fn handle(gw: Arc<Gateway>, req: hyper::Request<Incoming>) -> Result<HttpResponse, Infallible> {
    let started = Instant::now();
    let request_id = nubo_core::ids::uuid();
    if req.uri().path().starts_with("/_nubo/") || req.uri().path() == "/_nubo" {
        return Ok(internal::handle(&gw, req).await);
    }
    let (mut parts, body) = req.into_parts();
    let method = parts.method.as_str().to_string();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
        .unwrap_or_default();

    // Read the body; an error here is answered once the route tells the protocol.
    let rpc = is_rpc(&parts);
    let limit = if rpc { MAX_RPC_BODY } else { MAX_REST_BODY };
    let mut failure: Option<AwsError> = None;
    let declared = parts.headers.get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let mut body = match declared {
        Some(n) if n > limit as u64 => None,
        _ => Limited::new(body, limit).collect().await.ok().map(|c| c.to_bytes()),
    }
    .unwrap_or_else(|| {
        failure = Some(too_large(limit));
        Bytes::new()
    });
    // RPC bodies are unpacked before routing: a query request's `Action` may be inside.
    if rpc && failure.is_none() && body::is_gzipped(&parts.headers) {
        match body::decompress(&mut parts.headers, &body, limit) {
            Ok(b) => body = b,
            Err(e) => failure = Some(e),
        }
    }

    let req = Request { method: &method, path: &path, query: &query, headers: &parts.headers, body: &body };
    let (service, operation, resp) = match gw.router.resolve(&req, &host) {
        Resolution::Error { service, protocol, error } => {
            let error = failure.unwrap_or(error);
            (service.map(|s| s.name).unwrap_or("-"), "-".to_string(), errors::encode(protocol, service.map(|s| s.model()), &error, &request_id))
        }
        Resolution::Operation { service, protocol, operation, labels } => {
            let codec = Codec::new(protocol, service.model());
            let id = identity::resolve(&parts.headers, &query);
            let ctx = RequestContext {
                request_id: request_id.clone(),
                scope: id.scope,
                principal: id.principal,
                access_key: id.access_key,
                host: host.clone(),
                service: service.name,
                operation: operation.name.clone(),
            };
            let mut headers = parts.headers.clone();
            let result = match failure {
                Some(e) => Err(e),
                // REST bodies are compressed only where the operation allows it (S3 object
                // bodies with a Content-Encoding are content, not transport).
                None if !rpc && operation.requestcompression.is_some() && body::is_gzipped(&headers) => {
                    match body::decompress(&mut headers, &body, limit) {
                        Ok(b) => {
                            let req = Request { headers: &headers, body: &b, ..req };
                            call(service, &codec, operation, &req, &labels, &ctx).await
                        }
                        Err(e) => Err(e),
                    }
                }
                None => call(service, &codec, operation, &req, &labels, &ctx).await,
            };
            let resp = result.unwrap_or_else(|e| codec.encode_error(&e, &request_id));
            (service.name, operation.name.clone(), resp)
        }
    };
    let latency = started.elapsed();
    tracing::info!(
        target: "nubo::request",
        "{service} {operation} {} {:.1}ms",
        resp.status,
        latency.as_secs_f64() * 1000.0
    );
    Ok(to_http(resp, method == "HEAD"))
}

async fn call(
    service: &crate::router::ServiceEntry,
    codec: &Codec<'_>,
    operation: &nubo_model::Operation,
    req: &Request<'_>,
    labels: &[(String, String)],
    ctx: &RequestContext,
) -> Result<Response, AwsError> {
    // Decoding first: malformed input is reported as such even where nubo lacks the operation.
    let input = codec.decode(operation, req, labels)?;
    let handler = match &service.handler {
        Some(h) if h.implements(&operation.name) => h,
        _ => return Err(AwsError::not_implemented(service.name, &operation.name)),
    };
    let output = handler.call(ctx, input).await?;
    Ok(codec.encode(operation, output, &ctx.request_id))
}

fn too_large(limit: usize) -> AwsError {
    AwsError::new("RequestEntityTooLarge", 413, format!("Request body is larger than the {} MiB this endpoint accepts", limit >> 20))
}

pub fn to_http(resp: Response, head: bool) -> HttpResponse {
    let mut b = hyper::Response::builder().status(resp.status);
    for (k, v) in &resp.headers {
        if let (Ok(k), Ok(v)) = (http::HeaderName::from_bytes(k.as_bytes()), http::HeaderValue::from_str(v)) {
            b = b.header(k, v);
        }
    }
    let body = if head { Bytes::new() } else { resp.body };
    b.body(Full::new(body)).unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new())))
}

/// A JSON response for nubo's own endpoints.
pub fn json_response(status: u16, v: serde_json::Value) -> HttpResponse {
    let resp = Response {
        status,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: Bytes::from(serde_json::to_vec(&v).unwrap()),
    };
    to_http(resp, false)
}
