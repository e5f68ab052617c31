//! The seam between the gateway and a service: one object-safe trait.
//!
//! Each service implements its generated typed trait (e.g. `generated::sqs::Sqs`); the
//! generated `Service` wrapper turns that into a [`Handler`] that the gateway can hold
//! beside every other service and call with a decoded [`Value`].

use crate::value::{ShapeError, Value};
use crate::ServiceModel;
use nubo_core::{AwsError, RequestContext};
use std::future::Future;
use std::pin::Pin;

pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = Result<Value, AwsError>> + Send + 'a>>;
pub type HttpFuture<'a> = Pin<Box<dyn Future<Output = HttpResponse> + Send + 'a>>;

/// A request as HTTP sees it, for the few answers a service gives outside its API model.
pub struct HttpRequest<'a> {
    pub method: &'a str,
    /// As sent (percent-encoded).
    pub path: &'a str,
    pub query: &'a str,
    pub host: &'a str,
    pub headers: &'a http::HeaderMap,
    /// The request's body, for the handler that claims the request to take (a function
    /// URL's POST, a load balancer reached through nubo's port); `None` where there is
    /// none to give.
    pub body: Option<&'a dyn BodySlot>,
    /// Who the gateway authenticated, for requests whose [`HttpAuth`] asks for a signed
    /// caller (a function URL with `AWS_IAM` auth); `None` for anonymous ones.
    pub caller: Option<&'a RequestContext>,
}

/// Who may make a request a service answers itself ([`Handler::http`]), for the gateway to
/// check before the service sees it.
pub struct HttpAuth {
    /// What the request does, as IAM sees it (a function URL call is both
    /// `lambda:InvokeFunctionUrl` and `lambda:InvokeFunction`).
    pub accesses: Vec<crate::access::Access>,
    /// Only SigV4-signed callers, authenticated and (under enforcement) authorized by IAM
    /// with the resource's policy: a function URL with `AuthType=AWS_IAM`. Otherwise anyone,
    /// authorized under enforcement as an anonymous caller (S3's website endpoint).
    pub signed: bool,
    /// The answer to a refused caller, in the service's own format (S3's HTML page,
    /// a function URL's `{"Message":"Forbidden"}`).
    pub refuse: fn(&AwsError) -> HttpResponse,
}

/// Where a claimed request's body waits to be taken (the gateway keeps it).
pub trait BodySlot: Send + Sync {
    fn take(&self) -> Option<crate::stream::Body>;
}

impl HttpRequest<'_> {
    /// Takes the body (once); an empty one when there is none.
    pub fn take_body(&self) -> crate::stream::Body {
        use http_body_util::BodyExt;
        self.body.and_then(|b| b.take()).unwrap_or_else(|| http_body_util::Empty::<bytes::Bytes>::new().map_err(|never| match never {}).boxed_unsync())
    }
}

pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: crate::ByteStream,
}

pub trait Handler: Send + Sync + 'static {
    /// nubo's name of the service (`sqs`, `cloudwatch`): the key of its model.
    fn service(&self) -> &'static str;
    fn model(&self) -> &'static ServiceModel;
    /// Whether nubo implements this operation (others answer `NotImplemented`).
    fn implements(&self, operation: &str) -> bool;
    fn call<'a>(&'a self, ctx: &'a RequestContext, input: Value) -> HandlerFuture<'a>;

    /// Answers a request outside the API model that belongs to this service (S3's CORS
    /// preflight `OPTIONS` and its website endpoint), or `None`. Asked before routing, so
    /// it must decide from the method and host alone, and quickly.
    fn http<'a>(&'a self, req: &'a HttpRequest<'a>) -> Option<HttpFuture<'a>> {
        let _ = req;
        None
    }

    /// Headers to add to this service's API responses (S3's CORS headers).
    fn response_headers(&self, req: &HttpRequest<'_>) -> Vec<(String, String)> {
        let _ = req;
        Vec::new()
    }

    /// The IAM actions and resources a call with this (decoded) input makes; by default
    /// [`crate::access::derive`]. Asked only when IAM is enforced.
    fn access(&self, ctx: &RequestContext, input: &Value) -> Vec<crate::access::Access> {
        crate::access::derive(ctx, input)
    }

    /// Who may make a request claimed by [`Handler::http`]; `None` for requests that AWS
    /// answers without authentication or authorization (CORS preflight).
    fn http_auth(&self, req: &HttpRequest<'_>) -> Option<HttpAuth> {
        let _ = req;
        None
    }

    /// The resource-based policy of a resource this service owns (a bucket policy, a
    /// queue's or topic's `Policy` attribute), for authorization.
    fn resource_policy(&self, ctx: &RequestContext, arn: &str) -> Option<String> {
        let _ = (ctx, arn);
        None
    }
}

/// AWS's wording for input that does not fit the operation's shapes, as the JSON services
/// write it (`1 validation error detected: ...`). Services whose AWS counterparts say it
/// differently override `invalid_input` in their trait.
pub fn validation_error(e: ShapeError) -> AwsError {
    let msg = match e {
        ShapeError::MissingRequired { member } => format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            lower_first(&member)
        ),
        ShapeError::WrongType { member, expected, found } => format!(
            "1 validation error detected: Value at '{}' failed to satisfy constraint: Member must be a {expected}, found a {found}",
            lower_first(&member)
        ),
    };
    AwsError::new("ValidationException", 400, msg)
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}
