//! One request, from bytes in to bytes out: body, route, identity, decode, call, encode, log.

use crate::router::Resolution;
use crate::auth::{self, AuthError};
use crate::{internal, Gateway};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use nubo_core::{AwsError, RequestContext};
use nubo_model::handler::HttpRequest;
use nubo_model::ByteStream;
use nubo_protocol::{body, errors, Codec, Request, Response};
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

/// Bodies of RPC-style requests (json, query, cbor): far above any AWS RPC limit.
pub const MAX_RPC_BODY: usize = 16 << 20;
/// Bodies of REST requests, until S3 streams its object bodies (issue "S3").
pub const MAX_REST_BODY: usize = 128 << 20;

pub type ResponseBody = nubo_model::stream::Body;
pub type HttpResponse = hyper::Response<ResponseBody>;

/// Whether the request is routed by its body: JSON and CBOR RPCs, and query POSTs (a form
/// body). A PUT with a form content type (curl's default) is REST.
fn is_rpc(parts: &http::request::Parts) -> bool {
    let h = &parts.headers;
    h.contains_key("x-amz-target")
        || parts.uri.path().starts_with("/service/")
        || (parts.method == http::Method::POST
            && h.get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded")))
}

pub async fn handle(gw: Arc<Gateway>, req: hyper::Request<Incoming>, peer: Option<IpAddr>) -> Result<HttpResponse, Infallible> {
    let started = Instant::now();
    let request_id = nubo_core::ids::uuid();
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

    // Requests outside every API model that a service answers itself; the one that
    // claims a request may take its body.
    let pending = Pending(std::sync::Mutex::new(Some(body)));
    {
        let raw = HttpRequest { method: &method, path: &path, query: &query, host: &host, headers: &parts.headers, body: Some(&pending), caller: None };
        if let Some((service, resp)) = crate::claimed::answer(&gw, &raw, peer).await {
            tracing::info!(target: "nubo::request", "{service} {method} {} {:.1}ms", resp.status, started.elapsed().as_secs_f64() * 1000.0);
            let out = Response { status: resp.status, headers: resp.headers, body: Bytes::new(), stream: Some(resp.body) };
            return Ok(to_http(out, method == "HEAD"));
        }
    }
    let Some(body) = pending.0.into_inner().unwrap_or_else(|e| e.into_inner()) else {
        // A service claimed the request (and took its body) but gave no answer: cannot happen.
        return Ok(to_http(Response { status: 500, headers: Vec::new(), body: Bytes::new(), stream: None }, false));
    };
    if path.starts_with("/_nubo/") || path == "/_nubo" {
        return Ok(internal::handle(&gw, hyper::Request::from_parts(parts, body)).await);
    }

    let declared = parts.headers.get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let rpc = is_rpc(&parts);
    let limit = if rpc { MAX_RPC_BODY } else { MAX_REST_BODY };
    // An error while reading the body is answered once the route tells the protocol.
    let mut failure: Option<AwsError> = None;
    let mut incoming = Some(body);
    let mut body = Bytes::new();
    let mut body_sha256: Option<String> = None;
    if rpc {
        // RPC requests are routed by their body (a query request's `Action` may be in it,
        // gzipped even), so it is read first.
        match read_body(incoming.take().unwrap(), declared, limit).await {
            Ok(b) => body = b,
            Err(e) => failure = Some(e),
        }
        // The signature covers the body as sent, before any gunzip.
        if gw.enforce {
            body_sha256 = Some(nubo_sigv4::verify::sha256_hex(&body));
        }
        if failure.is_none() && body::is_gzipped(&parts.headers) {
            match body::decompress(&mut parts.headers, &body, limit) {
                Ok(b) => body = b,
                Err(e) => failure = Some(e),
            }
        }
    }

    let route_req = Request { method: &method, path: &path, query: &query, headers: &parts.headers, body: &body, stream: None };
    let (service, operation, resp) = match gw.router.resolve(&route_req, &host) {
        Resolution::Error { service, protocol, error } => {
            let error = failure.unwrap_or(error);
            (service.map(|s| s.name).unwrap_or("-"), "-".to_string(), errors::encode(protocol, service.map(|s| s.model()), &error, &request_id))
        }
        Resolution::Operation { service, protocol, operation, labels } => {
            let model = service.model();
            let codec = Codec::new(protocol, model);
            // REST bodies: streamed to the service where the payload streams (S3 object
            // data), read here otherwise.
            let streams = streams_input(model, operation);
            if !streams {
                if let Some(incoming) = incoming.take() {
                    match read_body(incoming, declared, limit).await {
                        Ok(b) => {
                            if gw.enforce {
                                body_sha256 = Some(nubo_sigv4::verify::sha256_hex(&b));
                            }
                            body = b
                        }
                        Err(e) => failure = failure.or(Some(e)),
                    }
                }
            }
            let caller = auth::authenticate(
                gw.guard.as_deref(),
                gw.enforce,
                gw.clock.now(),
                &auth::Incoming { service: service.name, method: &method, path: &path, query: &query, host: &host, headers: &parts.headers, body_sha256: body_sha256.as_deref() },
            );
            let mut caller = match caller {
                Ok(c) => c,
                Err(e) => {
                    let resp = codec.encode_error(&e.into_aws(service.name), &request_id);
                    tracing::info!(target: "nubo::request", "{} {} {} {:.1}ms", service.name, operation.name, resp.status, started.elapsed().as_secs_f64() * 1000.0);
                    return Ok(to_http(resp, method == "HEAD"));
                }
            };
            let chunk_signer = caller.chunk_signer.take();
            let ctx = RequestContext {
                request_id: request_id.clone(),
                scope: caller.scope,
                principal: caller.principal,
                access_key: caller.access_key,
                host: host.clone(),
                service: service.name,
                operation: operation.name.clone(),
                source_ip: peer,
                mfa_authenticated: caller.session.temporary.then_some(caller.session.mfa_authenticated),
            };
            let guard = Guarded { gw: &gw, session_policies: caller.session.policies };
            let mut stream = None;
            if streams && failure.is_none() {
                stream = Some(match incoming.take() {
                    Some(incoming) => streaming_body(incoming, &mut parts.headers, declared, chunk_signer),
                    None => streaming_body(Full::new(std::mem::take(&mut body)), &mut parts.headers, declared, chunk_signer),
                });
            }
            // A presigned URL past its expiry is refused, by the wall clock its signer used.
            if let Some(expiry) = nubo_sigv4::presigned_expiry(&query) {
                let now = nubo_core::clock::wall_clock_now();
                if now.as_secs() > expiry {
                    failure = failure.or(Some(
                        AwsError::new("AccessDenied", 403, "Request has expired")
                            .with_field("Expires", nubo_core::Timestamp::from_secs(expiry).to_iso8601_seconds())
                            .with_field("ServerTime", now.to_iso8601_seconds()),
                    ));
                }
            }
            let mut headers = parts.headers.clone();
            let result = match failure {
                Some(e) => Err(e),
                // REST bodies are compressed only where the operation allows it (S3 object
                // bodies with a Content-Encoding are content, not transport).
                None if !rpc && operation.requestcompression.is_some() && body::is_gzipped(&headers) => {
                    match body::decompress(&mut headers, &body, limit) {
                        Ok(b) => {
                            let req = Request { method: &method, path: &path, query: &query, headers: &headers, body: &b, stream };
                            call(service, &codec, operation, &req, &labels, &ctx, &guard).await
                        }
                        Err(e) => Err(e),
                    }
                }
                None => {
                    let req = Request { method: &method, path: &path, query: &query, headers: &parts.headers, body: &body, stream };
                    call(service, &codec, operation, &req, &labels, &ctx, &guard).await
                }
            };
            let mut resp = result.unwrap_or_else(|e| codec.encode_error(&e, &request_id));
            if let Some(h) = &service.handler {
                let raw = HttpRequest { method: &method, path: &path, query: &query, host: &host, headers: &parts.headers, body: None, caller: None };
                resp.headers.extend(h.response_headers(&raw));
            }
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
    guard: &Guarded<'_>,
) -> Result<Response, AwsError> {
    // Decoding first: malformed input is reported as such even where nubo lacks the operation.
    let input = codec.decode(operation, req, labels)?;
    // Authorization before the "implemented?" check: a denied call is denied everywhere.
    if guard.gw.enforce {
        auth::authorize(guard.gw.guard.as_deref(), service.handler.as_deref(), ctx, &input, &guard.session_policies)
            .map_err(|e: AuthError| e.into_aws(service.name))?;
    }
    let handler = match &service.handler {
        Some(h) if h.implements(&operation.name) => h,
        _ => return Err(AwsError::not_implemented(service.name, &operation.name)),
    };
    let output = handler.call(ctx, input).await?;
    Ok(codec.encode(operation, output, &ctx.request_id))
}

/// What authorization needs beside the request context.
struct Guarded<'a> {
    gw: &'a Gateway,
    session_policies: Vec<String>,
}

/// Reads a whole body, refusing more than `limit` bytes (by its declared length first).
/// A request's body while services decide whether to claim the request.
struct Pending(std::sync::Mutex<Option<Incoming>>);

impl nubo_model::handler::BodySlot for Pending {
    fn take(&self) -> Option<nubo_model::stream::Body> {
        let body = self.0.lock().unwrap_or_else(|e| e.into_inner()).take()?;
        Some(body.map_err(|e| -> nubo_model::stream::BoxError { Box::new(e) }).boxed_unsync())
    }
}

async fn read_body(body: Incoming, declared: Option<u64>, limit: usize) -> Result<Bytes, AwsError> {
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    match Limited::new(body, limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => Err(too_large(limit)),
        Err(e) => Err(AwsError::new("IncompleteBody", 400, format!("The request body could not be read: {e}"))),
    }
}

/// The body of a streaming payload. aws-chunked framing (SigV4 streaming uploads) is a
/// transfer encoding: it is unwrapped here into data and HTTP trailers, and removed from
/// `Content-Encoding`, so services see the payload itself.
fn streaming_body<B>(incoming: B, headers: &mut http::HeaderMap, declared: Option<u64>, signer: Option<nubo_sigv4::chunked::ChunkSigner>) -> ByteStream
where
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<nubo_model::stream::BoxError>,
{
    let encoding = headers.get(http::header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()).map(str::to_string);
    let sha = headers.get("x-amz-content-sha256").and_then(|v| v.to_str().ok());
    if !nubo_sigv4::chunked::is_aws_chunked(encoding.as_deref(), sha) {
        return ByteStream::from_body(incoming, declared);
    }
    let rest: Vec<&str> = encoding.as_deref().unwrap_or("").split(',').map(str::trim).filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("aws-chunked")).collect();
    headers.remove(http::header::CONTENT_ENCODING);
    if let Ok(v) = rest.join(", ").parse() {
        if !rest.is_empty() {
            headers.insert(http::header::CONTENT_ENCODING, v);
        }
    }
    let decoded = headers.get("x-amz-decoded-content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    let Some(signer) = signer else {
        return ByteStream::from_body(nubo_sigv4::chunked::AwsChunkedBody::new(incoming), decoded);
    };
    // A wrong chunk signature reaches the service as the AWS error it is.
    let body = nubo_sigv4::chunked::AwsChunkedBody::signed(incoming, signer).map_err(|e| -> nubo_model::stream::BoxError {
        match e.downcast_ref::<nubo_sigv4::chunked::ChunkError>() {
            Some(c) if c.is_signature_mismatch() => Box::new(AwsError::new("SignatureDoesNotMatch", 403, c.0.clone())),
            _ => e,
        }
    });
    ByteStream::from_body(body, decoded)
}

/// Whether the operation's input payload is a streaming blob (S3 `PutObject`, `UploadPart`).
fn streams_input(model: &nubo_model::ServiceModel, op: &nubo_model::Operation) -> bool {
    let Some(input) = op.input.as_ref().and_then(|i| model.shapes.get(&i.shape)) else { return false };
    let Some(member) = input.payload.as_ref().and_then(|p| input.members.get(p)) else { return false };
    member.streaming || model.shapes.get(&member.shape).is_some_and(|s| s.streaming)
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
    let body: ResponseBody = match (head, resp.stream) {
        (true, _) => Full::new(Bytes::new()).map_err(|never| match never {}).boxed_unsync(),
        (false, Some(s)) => s.take().unwrap_or_else(|| Full::new(Bytes::new()).map_err(|never| match never {}).boxed_unsync()),
        (false, None) => Full::new(resp.body).map_err(|never| match never {}).boxed_unsync(),
    };
    b.body(body).unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new()).map_err(|never| match never {}).boxed_unsync()))
}

/// A JSON response for nubo's own endpoints.
pub fn json_response(status: u16, v: serde_json::Value) -> HttpResponse {
    let resp = Response {
        status,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: Bytes::from(serde_json::to_vec(&v).unwrap()),
        stream: None,
    };
    to_http(resp, false)
}
