//! The ALB proxy: HTTP/1.1 and h2c from clients; rules evaluated by priority, then the
//! listener's default actions; forward (weighted target groups, round robin over
//! healthy targets, failing open when none is, `AWSALB` cookie stickiness), redirect
//! (`#{host}`, `#{path}`, `#{port}`, `#{query}`, `#{protocol}`), fixed response. A request
//! reaches its target with `X-Forwarded-For`/`-Proto`/`-Port` and `X-Amzn-Trace-Id`; the
//! load balancer answers 502 when the target cannot be reached, 503 when no target is
//! registered, 504 when the target does not answer within the idle timeout, with the
//! bodies ALB writes.

use super::{health, Plane, View};
use crate::conditions::{self, RequestFacts};
use crate::records::{ActionRecord, ListenerRecord, LoadBalancerRecord, TargetRecord};
use base64::Engine;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use nubo_core::Scope;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;
pub type SendRequest = hyper::client::conn::http1::SendRequest<ProxyBody>;
/// (target type, id, port): connections to a target are kept per target.
pub type PoolKey = (String, String, i32);
pub type Pool = Arc<std::sync::Mutex<std::collections::HashMap<PoolKey, Vec<SendRequest>>>>;

pub async fn serve(plane: Arc<Plane>, listener_arn: String, listener: tokio::net::TcpListener) {
    loop {
        let Ok((stream, client)) = listener.accept().await else { continue };
        // The load balancer's security groups decide whether the port takes connections.
        if !plane.admits(&listener_arn) {
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        if let Some(l) = plane.view().listeners.get(&listener_arn) {
            plane.meter.connection(&l.load_balancer_arn);
        }
        let plane = plane.clone();
        let arn = listener_arn.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let plane = plane.clone();
                let arn = arn.clone();
                async move { Ok::<_, std::convert::Infallible>(plane.handle(&arn, client, req.map(|b| b.map_err(BoxError::from).boxed_unsync())).await) }
            });
            let builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            let _ = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service).await;
        });
    }
}

/// An HTTPS listener: TLS terminated here, then the same proxy.
pub async fn serve_tls(plane: Arc<Plane>, listener_arn: String, listener: tokio::net::TcpListener, acceptor: tokio_rustls::TlsAcceptor) {
    loop {
        let Ok((stream, client)) = listener.accept().await else { continue };
        if !plane.admits(&listener_arn) {
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        if let Some(l) = plane.view().listeners.get(&listener_arn) {
            plane.meter.connection(&l.load_balancer_arn);
        }
        let (plane, arn, acceptor) = (plane.clone(), listener_arn.clone(), acceptor.clone());
        tokio::spawn(async move {
            let Ok(stream) = acceptor.accept(stream).await else { return };
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let plane = plane.clone();
                let arn = arn.clone();
                async move { Ok::<_, std::convert::Infallible>(plane.handle(&arn, client, req.map(|b| b.map_err(BoxError::from).boxed_unsync())).await) }
            });
            let builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            let _ = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service).await;
        });
    }
}

fn body(bytes: impl Into<Bytes>) -> ProxyBody {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed_unsync()
}

/// One of ALB's own answers (502, 503, 504, fixed responses, redirects).
fn answer(status: u16, content_type: &str, text: String) -> Response<ProxyBody> {
    let mut r = Response::new(body(text));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert("server", HeaderValue::from_static("awselb/2.0"));
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert("content-type", v);
    }
    r
}

fn elb_error(status: u16) -> Response<ProxyBody> {
    let title = match status {
        502 => "502 Bad Gateway",
        503 => "503 Service Temporarily Unavailable",
        504 => "504 Gateway Time-out",
        _ => "500 Internal Server Error",
    };
    answer(status, "text/html", format!("<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"))
}

const HOP_BY_HOP: &[&str] = &["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"];

fn cookie(req: &Request<ProxyBody>, name: &str) -> Option<String> {
    req.headers().get_all("cookie").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

impl Plane {
    /// Whether the listener's load balancer lets its port in (ALB security groups).
    fn admits(&self, listener_arn: &str) -> bool {
        let view = self.view();
        let Some(l) = view.listeners.get(listener_arn) else { return false };
        let Some((scope, lb)) = view.load_balancers.get(&l.load_balancer_arn) else { return false };
        lb.security_groups.is_empty() || self.network.allows(scope, &lb.security_groups, l.port as u16)
    }

    pub(super) async fn handle(self: Arc<Self>, listener_arn: &str, client: SocketAddr, req: Request<ProxyBody>) -> Response<ProxyBody> {
        let view = self.view();
        let Some(listener) = view.listeners.get(listener_arn) else { return elb_error(503) };
        let Some((scope, lb)) = view.load_balancers.get(&listener.load_balancer_arn) else { return elb_error(503) };
        let action = choose_action(&view, listener, &req, client).cloned();
        let Some(action) = action else { return elb_error(503) };
        let response = match action.kind.as_str() {
            "fixed-response" => {
                let f = action.fixed_response.clone().unwrap_or_else(|| crate::records::FixedResponseRecord { status_code: "200".into(), content_type: None, body: None });
                answer(f.status_code.parse().unwrap_or(200), f.content_type.as_deref().unwrap_or("text/plain; charset=utf-8"), f.body.unwrap_or_default())
            }
            "redirect" => redirect(&action, listener, &req),
            _ => return self.forward(&view, scope, lb, listener, &action, client, req).await,
        };
        self.meter.own_answer(&lb.arn, response.status().as_u16());
        response
    }

    #[allow(clippy::too_many_arguments)]
    async fn forward(&self, view: &View, scope: &Scope, lb: &LoadBalancerRecord, listener: &ListenerRecord, action: &ActionRecord, client: SocketAddr, mut req: Request<ProxyBody>) -> Response<ProxyBody> {
        // Weighted choice of target group.
        let groups: Vec<&(String, i32)> = action.target_groups.iter().filter(|(_, w)| *w > 0).collect();
        let total: i32 = groups.iter().map(|(_, w)| *w).sum();
        let Some((tg_arn, _)) = (if total == 0 {
            None
        } else {
            let mut pick = fastrand::i32(0..total);
            groups.into_iter().find(|(_, w)| {
                pick -= *w;
                pick < 0
            })
        }) else {
            return elb_error(503);
        };
        let own = |status: u16| {
            self.meter.own_answer(&lb.arn, status);
            elb_error(status)
        };
        let Some((_, tg)) = view.target_groups.get(tg_arn) else { return own(503) };
        let targets = health::routable(self, tg);
        if targets.is_empty() {
            return own(503);
        }
        let sticky = tg.attribute("stickiness.enabled") == Some("true") && tg.attribute("stickiness.type") == Some("lb_cookie");
        let remembered = if sticky { cookie(&req, "AWSALB").and_then(|c| decode_target(&c)) } else { None };
        let target: &TargetRecord = match remembered.and_then(|(id, port)| targets.iter().copied().find(|t| t.id == id && t.port == port)) {
            Some(t) => t,
            None => {
                let turn = self.turn(tg_arn).fetch_add(1, Ordering::Relaxed);
                targets[turn % targets.len()]
            }
        };
        // What the target sees of the client.
        let headers = req.headers_mut();
        let xff = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
            Some(prior) => format!("{prior}, {}", client.ip()),
            None => client.ip().to_string(),
        };
        for h in HOP_BY_HOP {
            headers.remove(*h);
        }
        headers.insert("x-forwarded-for", HeaderValue::from_str(&xff).unwrap_or(HeaderValue::from_static("127.0.0.1")));
        headers.insert("x-forwarded-proto", HeaderValue::from_static(if listener.protocol == "HTTPS" { "https" } else { "http" }));
        headers.insert("x-forwarded-port", HeaderValue::from(listener.port as u16));
        if !headers.contains_key("x-amzn-trace-id") {
            let trace = format!("Root=1-{:08x}-{}", self.clock.now().as_millis() / 1000, nubo_core::ids::random_string(b"0123456789abcdef", 24));
            headers.insert("x-amzn-trace-id", HeaderValue::from_str(&trace).expect("ascii"));
        }
        if req.headers().get("host").is_none() {
            if let Some(authority) = req.uri().authority().map(|a| a.to_string()) {
                req.headers_mut().insert("host", HeaderValue::from_str(&authority).unwrap_or(HeaderValue::from_static("localhost")));
            }
        }
        // Requests to targets are HTTP/1.1 with origin-form paths.
        let path = req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_else(|| "/".into());
        *req.uri_mut() = path.parse().unwrap_or_default();
        *req.version_mut() = http::Version::HTTP_11;
        let idle: u64 = lb.attributes.get("idle_timeout.timeout_seconds").and_then(|v| v.parse().ok()).unwrap_or(60);
        let started = std::time::Instant::now();
        let key = (tg.target_type.clone(), target.id.clone(), target.port);
        let mut sender = match self.idle_connection(&key) {
            Some(s) => s,
            None => {
                let stream = match self.connect(scope, tg, target, target.port as u16).await {
                    Ok(s) => s,
                    Err(_) => return own(502),
                };
                let _ = stream.set_nodelay(true);
                let Ok((sender, conn)) = hyper::client::conn::http1::handshake::<_, ProxyBody>(hyper_util::rt::TokioIo::new(stream)).await else {
                    return own(502);
                };
                tokio::spawn(conn);
                sender
            }
        };
        let sent = tokio::time::timeout(Duration::from_secs(idle), sender.send_request(req)).await;
        self.keep_alive(key, sender);
        let response = match sent {
            Err(_) => return own(504),
            Ok(Err(_)) => return own(502),
            Ok(Ok(r)) => r,
        };
        self.meter.target_answer(&lb.arn, tg_arn, response.status().as_u16(), started.elapsed().as_secs_f64());
        let mut response = response.map(|b| b.map_err(BoxError::from).boxed_unsync());
        // The load balancer speaks HTTP/1.1 to its clients whatever the target spoke.
        *response.version_mut() = http::Version::HTTP_11;
        for h in HOP_BY_HOP {
            response.headers_mut().remove(*h);
        }
        if sticky {
            let seconds: i64 = tg.attribute("stickiness.lb_cookie.duration_seconds").and_then(|v| v.parse().ok()).unwrap_or(86400);
            let expires = self.clock.now().add_millis(seconds * 1000).to_http_date();
            let value = encode_target(target);
            for name in ["AWSALB", "AWSALBCORS"] {
                let extra = if name == "AWSALBCORS" { "; SameSite=None" } else { "" };
                if let Ok(v) = HeaderValue::from_str(&format!("{name}={value}; Expires={expires}; Path=/{extra}")) {
                    response.headers_mut().append("set-cookie", v);
                }
            }
        }
        response
    }

    /// A kept-alive connection to a target that is ready for a request, if one is idle.
    fn idle_connection(&self, key: &PoolKey) -> Option<SendRequest> {
        let mut pool = self.pool.lock().unwrap();
        let idle = pool.get_mut(key)?;
        while let Some(s) = idle.pop() {
            if s.is_ready() {
                return Some(s);
            }
        }
        None
    }

    /// Puts a connection back once its response is done (a target that keeps it open).
    fn keep_alive(&self, key: PoolKey, mut sender: SendRequest) {
        let pool = self.pool.clone();
        tokio::spawn(async move {
            if sender.ready().await.is_ok() {
                let mut pool = pool.lock().unwrap();
                let idle = pool.entry(key).or_default();
                if idle.len() < 64 {
                    idle.push(sender);
                }
            }
        });
    }

    pub(super) async fn main_port_request(self: Arc<Self>, listener_arn: &str, req: &nubo_model::handler::HttpRequest<'_>) -> nubo_model::handler::HttpResponse {
        let uri = if req.query.is_empty() { req.path.to_string() } else { format!("{}?{}", req.path, req.query) };
        let mut builder = Request::builder().method(req.method).uri(uri);
        for (k, v) in req.headers {
            builder = builder.header(k, v);
        }
        let request = builder.body(req.take_body()).unwrap_or_else(|_| Request::new(body(Bytes::new())));
        let response = self.handle(listener_arn, SocketAddr::from(([127, 0, 0, 1], 0)), request).await;
        let (parts, body) = response.into_parts();
        nubo_model::handler::HttpResponse {
            status: parts.status.as_u16(),
            headers: parts.headers.iter().filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_string()))).collect(),
            body: nubo_model::ByteStream::from_body(body, None),
        }
    }
}

fn encode_target(t: &TargetRecord) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}:{}", t.id, t.port))
}

fn decode_target(v: &str) -> Option<(String, i32)> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(v).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, port) = text.rsplit_once(':')?;
    Some((id.to_string(), port.parse().ok()?))
}

/// The first rule (by priority) whose conditions all match, else the default actions;
/// the terminal action of what matched.
fn choose_action<'v>(view: &'v View, listener: &'v ListenerRecord, req: &Request<ProxyBody>, client: SocketAddr) -> Option<&'v ActionRecord> {
    let host = req.headers().get("host").and_then(|h| h.to_str().ok()).map(str::to_string).or_else(|| req.uri().authority().map(|a| a.to_string())).unwrap_or_default();
    let query: Vec<(String, String)> = form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes()).into_owned().collect();
    let header = |name: &str| req.headers().get_all(name).iter().filter_map(|v| v.to_str().ok().map(str::to_string)).collect::<Vec<_>>();
    let facts = RequestFacts { host: &host, path: req.uri().path(), method: req.method().as_str(), query: &query, header: &header, source: client.ip() };
    let actions = view
        .rules
        .get(&listener.arn)
        .into_iter()
        .flatten()
        .find(|r| conditions::all_match(&r.conditions, &facts))
        .map(|r| &r.actions)
        .unwrap_or(&listener.default_actions);
    actions.last()
}

fn redirect(action: &ActionRecord, listener: &ListenerRecord, req: &Request<ProxyBody>) -> Response<ProxyBody> {
    let Some(r) = &action.redirect else { return elb_error(500) };
    let host_header = req.headers().get("host").and_then(|h| h.to_str().ok()).unwrap_or("");
    let host = host_header.rsplit_once(':').filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit())).map_or(host_header, |(h, _)| h);
    let protocol = if listener.protocol == "HTTPS" { "HTTPS" } else { "HTTP" };
    let path = req.uri().path().trim_start_matches('/');
    let query = req.uri().query().unwrap_or("");
    let fill = |s: &str| s.replace("#{protocol}", protocol).replace("#{host}", host).replace("#{port}", &listener.port.to_string()).replace("#{path}", path).replace("#{query}", query);
    let scheme = fill(&r.protocol).to_ascii_lowercase();
    let port = fill(&r.port);
    let default_port = (scheme == "http" && port == "80") || (scheme == "https" && port == "443");
    let mut location = format!("{scheme}://{}{}{}", fill(&r.host), if default_port { String::new() } else { format!(":{port}") }, fill(&r.path));
    let q = fill(&r.query);
    if !q.is_empty() {
        location.push('?');
        location.push_str(&q);
    }
    let (status, title) = if r.status_code == "HTTP_301" { (301, "301 Moved Permanently") } else { (302, "302 Found") };
    let mut response = answer(status, "text/html", format!("<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"));
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert("location", v);
    }
    response
}
