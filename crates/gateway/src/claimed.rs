//! Requests a service answers itself, outside every API model: S3's CORS preflight and
//! website endpoint, function URLs, load balancers reached by DNS name on nubo's port.
//!
//! The service that claims a request says who may make it ([`HttpAuth`]); it is checked
//! here, before the service sees the request, the way API calls are checked in
//! [`crate::dispatch`]: a signed caller (a function URL with `AuthType=AWS_IAM`) is
//! authenticated like any API caller and, under enforcement, authorized with the
//! resource's policy; an anonymous one is authorized under enforcement as anonymous.
//! A refusal is answered in the claiming service's own format.

use crate::auth::{self, AuthError};
use crate::dispatch::MAX_RPC_BODY;
use crate::Gateway;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use nubo_core::{AwsError, RequestContext};
use nubo_model::handler::{BodySlot, HttpAuth, HttpRequest, HttpResponse};
use nubo_model::Handler;
use std::net::IpAddr;
use std::sync::Mutex;

/// The answer of the service that claims `raw`, with that service's name; `None` when no
/// service claims it.
pub(crate) async fn answer(gw: &Gateway, raw: &HttpRequest<'_>, peer: Option<IpAddr>) -> Option<(&'static str, HttpResponse)> {
    for svc in &gw.router.services {
        let Some(handler) = svc.handler.as_deref() else { continue };
        match handler.http_auth(raw) {
            Some(auth) if auth.signed => {
                if let Some(resp) = signed(gw, svc.name, handler, raw, &auth, peer).await {
                    return Some((svc.name, resp));
                }
            }
            Some(auth) if gw.enforce => {
                let ctx = RequestContext::anonymous(svc.name, peer);
                if let Some(guard) = gw.guard.as_deref() {
                    for access in &auth.accesses {
                        if let Err(e) = auth::authorize_access(guard, Some(handler), &ctx, access, &[]) {
                            return Some((svc.name, (auth.refuse)(&e.into_aws(svc.name))));
                        }
                    }
                }
            }
            _ => {}
        }
        if let Some(answer) = handler.http(raw) {
            return Some((svc.name, answer.await));
        }
    }
    None
}

/// Authenticates (and under enforcement authorizes) the caller of a request only signed
/// callers may make, then lets the service answer it knowing who called.
async fn signed(gw: &Gateway, service: &'static str, handler: &dyn Handler, raw: &HttpRequest<'_>, auth: &HttpAuth, peer: Option<IpAddr>) -> Option<HttpResponse> {
    let refuse = |e: AuthError| Some((auth.refuse)(&e.into_aws(service)));
    // Without enforcement any key is accepted, but a request must carry one: an unsigned
    // call is refused as on AWS.
    if matches!(nubo_sigv4::verify::signature(raw.headers, raw.query), Ok(None)) {
        return refuse(AuthError::MissingAuthenticationToken);
    }
    // The signature covers the body: under enforcement it is read first, to be hashed.
    let mut replay = None;
    let mut body_sha256 = None;
    if gw.enforce {
        let Some(bytes) = read_limited(raw.take_body(), MAX_RPC_BODY).await else {
            return Some((auth.refuse)(&AwsError::new("RequestEntityTooLarge", 413, "The request body is too large.")));
        };
        body_sha256 = Some(nubo_sigv4::verify::sha256_hex(&bytes));
        replay = Some(Replay(Mutex::new(Some(bytes))));
    }
    let incoming = auth::Incoming { service, method: raw.method, path: raw.path, query: raw.query, host: raw.host, headers: raw.headers, body_sha256: body_sha256.as_deref() };
    let caller = match auth::authenticate(gw.guard.as_deref(), gw.enforce, gw.clock.now(), &incoming) {
        Ok(c) => c,
        Err(e) => return refuse(e),
    };
    let ctx = RequestContext {
        request_id: nubo_core::ids::uuid(),
        scope: caller.scope,
        principal: caller.principal,
        access_key: caller.access_key,
        host: raw.host.to_string(),
        service,
        operation: auth.accesses.first().and_then(|a| a.action.rsplit(':').next()).unwrap_or("-").to_string(),
        source_ip: peer,
        mfa_authenticated: caller.session.temporary.then_some(caller.session.mfa_authenticated),
    };
    if gw.enforce && !ctx.principal.is_root() {
        if let Some(guard) = gw.guard.as_deref() {
            for access in &auth.accesses {
                if let Err(e) = auth::authorize_access(guard, Some(handler), &ctx, access, &caller.session.policies) {
                    return refuse(e);
                }
            }
        }
    }
    let body: Option<&dyn BodySlot> = match &replay {
        Some(r) => Some(r),
        None => raw.body,
    };
    let known = HttpRequest { method: raw.method, path: raw.path, query: raw.query, host: raw.host, headers: raw.headers, body, caller: Some(&ctx) };
    let answer = handler.http(&known)?;
    Some(answer.await)
}

/// The whole body, unless it is over `limit` bytes or breaks off.
async fn read_limited(mut body: nubo_model::stream::Body, limit: usize) -> Option<Bytes> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.ok()?.into_data() {
            if out.len() + data.len() > limit {
                return None;
            }
            out.extend_from_slice(&data);
        }
    }
    Some(Bytes::from(out))
}

/// A body read for its hash, given to the service as if unread.
struct Replay(Mutex<Option<Bytes>>);

impl BodySlot for Replay {
    fn take(&self) -> Option<nubo_model::stream::Body> {
        let bytes = self.0.lock().unwrap_or_else(|e| e.into_inner()).take()?;
        Some(Full::new(bytes).map_err(|never| match never {}).boxed_unsync())
    }
}

