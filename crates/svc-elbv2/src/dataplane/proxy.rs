//! The ALB proxy: HTTP/1.1 and h2c from clients; rules evaluated by priority, then the
//! listener's default actions; forward (weighted target groups, round robin over
//! healthy targets, failing open when none is, `AWSALB` cookie stickiness), redirect
//! (`#{host}`, `#{path}`, `#{port}`, `#{query}`, `#{protocol}`), fixed response. A request
//! reaches its target with `X-Forwarded-For`/`-Proto`/`-Port` and `X-Amzn-Trace-Id`; the
//! load balancer answers 502 when the target cannot be reached, 503 when no target is
//! registered, 504 when the target does not answer within the idle timeout, with the
//! bodies ALB writes.

use super::{access_logs, live, Plane, View};
use crate::conditions::{self, RequestFacts};
use crate::records::{ActionRecord, ListenerRecord, LoadBalancerRecord, TargetRecord};
use base64::Engine;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use nubo_core::Scope;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;
pub type SendRequest = hyper::client::conn::http1::SendRequest<ProxyBody>;

/// Connections to targets kept alive for one client connection, so that its next requests
/// reuse them without a lock shared between clients (nginx's upstream keep-alive, per
/// client). Dropped, and the connections closed, with the client's connection.
#[derive(Default)]
pub struct Upstreams(std::sync::Mutex<Vec<(Arc<live::Target>, SendRequest)>>);

impl Upstreams {
    /// An idle connection to the target, ready for a request.
    fn take(&self, target: &Arc<live::Target>) -> Option<SendRequest> {
        let mut kept = self.0.lock().unwrap();
        kept.retain(|(_, s)| !s.is_closed());
        let at = kept.iter().position(|(t, s)| Arc::ptr_eq(t, target) && s.is_ready())?;
        Some(kept.swap_remove(at).1)
    }

    /// Keeps a connection whose response is under way: ready again once its body is read.
    fn put(&self, target: &Arc<live::Target>, sender: SendRequest) {
        let mut kept = self.0.lock().unwrap();
        if kept.iter().filter(|(t, _)| Arc::ptr_eq(t, target)).count() < 8 {
            kept.push((target.clone(), sender));
        }
    }
}

pub async fn serve(plane: Arc<Plane>, listener_arn: String, listener: tokio::net::TcpListener) {
    let arn: Arc<str> = listener_arn.as_str().into();
    loop {
        let Ok((stream, client)) = listener.accept().await else { continue };
        // The load balancer's security groups decide whether the port takes connections.
        if !plane.admits(&listener_arn) {
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        plane.count_connection(&listener_arn);
        let (me, arn) = (plane.clone(), arn.clone());
        plane.on_engine(stream, move |stream| async move {
            let _ = me.serve_connection(arn, client, stream).await;
        });
    }
}

/// An HTTPS listener: TLS terminated here, then the same proxy.
pub async fn serve_tls(plane: Arc<Plane>, listener_arn: String, listener: tokio::net::TcpListener, acceptor: tokio_rustls::TlsAcceptor) {
    let arn: Arc<str> = listener_arn.as_str().into();
    loop {
        let Ok((stream, client)) = listener.accept().await else { continue };
        if !plane.admits(&listener_arn) {
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        plane.count_connection(&listener_arn);
        let (me, arn, acceptor) = (plane.clone(), arn.clone(), acceptor.clone());
        plane.on_engine(stream, move |stream| async move {
            let Ok(stream) = acceptor.accept(stream).await else { return };
            let _ = me.serve_connection(arn, client, stream).await;
        });
    }
}

pub(super) fn body(bytes: impl Into<Bytes>) -> ProxyBody {
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
    pub(super) fn admits(&self, listener_arn: &str) -> bool {
        let view = self.view();
        let Some(l) = view.listeners.get(listener_arn) else { return false };
        let Some((scope, lb)) = view.load_balancers.get(&l.load_balancer_arn) else { return false };
        lb.security_groups.is_empty() || self.network.allows(scope, &lb.security_groups, l.port as u16)
    }

    pub(super) fn count_connection(&self, listener_arn: &str) {
        let view = self.view();
        if let Some(c) = view.listeners.get(listener_arn).and_then(|l| view.counts.get(&l.load_balancer_arn)) {
            c.connection();
        }
    }

    /// One client connection (HTTP/1.1 or h2c, over TLS or not) until it closes.
    async fn serve_connection<S>(self: Arc<Self>, arn: Arc<str>, client: SocketAddr, stream: S) -> Result<(), BoxError>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let upstreams = Arc::new(Upstreams::default());
        let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
            let (plane, arn, upstreams) = (self.clone(), arn.clone(), upstreams.clone());
            async move { Ok::<_, std::convert::Infallible>(plane.handle(&arn, client, req.map(|b| b.map_err(BoxError::from).boxed_unsync()), Some(&upstreams)).await) }
        });
        let builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
        builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service).await
    }

    pub(super) async fn handle(self: Arc<Self>, listener_arn: &str, client: SocketAddr, req: Request<ProxyBody>, upstreams: Option<&Upstreams>) -> Response<ProxyBody> {
        let view = self.view();
        let Some(listener) = view.listeners.get(listener_arn) else { return elb_error(503) };
        let Some((scope, lb)) = view.load_balancers.get(&listener.load_balancer_arn) else { return elb_error(503) };
        let Some(counts) = view.counts.get(&lb.arn) else { return elb_error(503) };
        let Some((priority, action)) = choose_action(&view, listener, &req, client) else { return elb_error(503) };
        // What the access log needs of the request, taken before it is passed on.
        let logged = view.access_logs.get(&lb.arn).map(|buffer| (buffer, Logged::of(&req, listener, self.clock.now())));
        let mut served = Served::default();
        let response = match action.kind.as_str() {
            "fixed-response" => {
                let f = action.fixed_response.clone().unwrap_or_else(|| crate::records::FixedResponseRecord { status_code: "200".into(), content_type: None, body: None });
                answer(f.status_code.parse().unwrap_or(200), f.content_type.as_deref().unwrap_or("text/plain; charset=utf-8"), f.body.unwrap_or_default())
            }
            "redirect" => redirect(action, listener, &req),
            _ => self.forward(&view, scope, lb, listener, action, client, req, upstreams, &mut served).await.unwrap_or_else(elb_error),
        };
        if served.target_status.is_none() {
            counts.own_answer(response.status().as_u16());
        }
        if let Some((buffer, logged)) = logged {
            let lb_dimension = lb.arn.split_once("loadbalancer/").map_or("", |(_, d)| d);
            let entry = access_logs::Entry {
                kind: logged.kind,
                time: self.clock.now(),
                created: logged.created,
                client,
                target: served.target.as_deref(),
                target_seconds: served.target_seconds,
                elb_status: response.status().as_u16(),
                target_status: served.target_status,
                received_bytes: logged.received_bytes,
                sent_bytes: response.headers().get("content-length").and_then(|v| v.to_str().ok()?.parse().ok()).unwrap_or(0),
                request: &logged.request,
                user_agent: &logged.user_agent,
                target_group: served.target_group.as_deref(),
                trace_id: served.trace_id.as_deref().unwrap_or("-"),
                domain: "-",
                rule_priority: &priority.to_string(),
                action: &action.kind,
                redirect_url: response.headers().get("location").and_then(|v| v.to_str().ok()),
            };
            buffer.lock().unwrap().push(access_logs::line(lb_dimension, &entry));
        }
        response
    }

    /// Chooses the target group (weighted, or the one the `AWSALBTG` cookie names), the
    /// target (stickiness cookie, else the group's algorithm), and passes the request on.
    /// `Err`: the status the load balancer answers itself.
    #[allow(clippy::too_many_arguments)]
    async fn forward(&self, view: &View, scope: &Scope, lb: &LoadBalancerRecord, listener: &ListenerRecord, action: &ActionRecord, client: SocketAddr, mut req: Request<ProxyBody>, upstreams: Option<&Upstreams>, served: &mut Served) -> Result<Response<ProxyBody>, u16> {
        let group_sticky = action.target_groups.len() > 1 && action.group_stickiness.is_some_and(|(on, _)| on);
        let remembered_group = if group_sticky { cookie(&req, "AWSALBTG").and_then(|c| decode(&c)).filter(|arn| action.target_groups.iter().any(|(g, w)| g == arn && *w > 0)) } else { None };
        let tg_arn: &str = match &remembered_group {
            Some(arn) => arn,
            None => weighted(&action.target_groups).ok_or(503u16)?,
        };
        let (Some((_, tg)), Some(routing)) = (view.target_groups.get(tg_arn), view.routing.get(tg_arn)) else { return Err(503) };
        let candidates = routing.routable(tg);
        if candidates.is_empty() {
            return Err(503);
        }
        let stickiness = match tg.attribute("stickiness.enabled") {
            Some("true") => tg.attribute("stickiness.type"),
            _ => None,
        };
        let remembered = match stickiness {
            Some("lb_cookie") => cookie(&req, "AWSALB"),
            Some("app_cookie") => cookie(&req, "AWSALBAPP-0"),
            _ => None,
        }
        .and_then(|c| decode(&c));
        let now = self.clock.now();
        let index = remembered.and_then(|key| candidates.iter().copied().find(|&i| target_key(&tg.targets[i]) == key)).unwrap_or_else(|| routing.pick(tg, &candidates, now.as_millis()));
        let target: &TargetRecord = &tg.targets[index];
        let live = &routing.targets[index];
        served.target_group = Some(tg_arn.to_string());
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
            let trace = format!("Root=1-{:08x}-{}", now.as_millis() / 1000, nubo_core::ids::random_string(b"0123456789abcdef", 24));
            headers.insert("x-amzn-trace-id", HeaderValue::from_str(&trace).expect("ascii"));
        }
        served.trace_id = headers.get("x-amzn-trace-id").and_then(|v| v.to_str().ok()).map(str::to_string);
        if req.headers().get("host").is_none() {
            if let Some(authority) = req.uri().authority().map(|a| a.to_string()) {
                req.headers_mut().insert("host", HeaderValue::from_str(&authority).unwrap_or(HeaderValue::from_static("localhost")));
            }
        }
        // Requests to targets are HTTP/1.1 with origin-form paths.
        if req.uri().authority().is_some() {
            let path = req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_else(|| "/".into());
            *req.uri_mut() = path.parse().unwrap_or_default();
        }
        *req.version_mut() = http::Version::HTTP_11;
        let idle: u64 = lb.attributes.get("idle_timeout.timeout_seconds").and_then(|v| v.parse().ok()).unwrap_or(60);
        let started = std::time::Instant::now();
        if tg.target_type == "lambda" {
            served.target = Some(target.id.clone());
            let functions = self.functions.get().ok_or(502u16)?.clone();
            let multi_value = tg.attribute("lambda.multi_value_headers.enabled") == Some("true");
            let call = super::lambda::call(functions, target.id.clone(), tg_arn.to_string(), multi_value, req);
            // The function runs on the shared runtime: its environments outlive this request.
            let response = match self.main.get() {
                Some(main) => main.spawn(call).await.map_err(|_| 502u16)??,
                None => call.await?,
            };
            routing.group.counts.target_answer(response.status().as_u16(), started.elapsed());
            served.target_status = Some(response.status().as_u16());
            served.target_seconds = Some(started.elapsed().as_secs_f64());
            return Ok(response);
        }
        let outstanding = live::Outstanding::start(live);
        served.target = Some(match tg.target_type.as_str() {
            "instance" => format!("{}:{}", self.network.instance(scope, &target.id).map(|i| i.private_ip).unwrap_or_default(), target.port),
            _ => format!("{}:{}", target.id, target.port),
        });
        let mut sender = match upstreams.and_then(|u| u.take(live)) {
            Some(s) => s,
            None => {
                let stream = self.connect(scope, tg, target, target.port as u16).await.map_err(|_| 502u16)?;
                let _ = stream.set_nodelay(true);
                let (sender, conn) = hyper::client::conn::http1::handshake::<_, ProxyBody>(hyper_util::rt::TokioIo::new(stream)).await.map_err(|_| 502u16)?;
                tokio::spawn(conn);
                sender
            }
        };
        let sent = tokio::time::timeout(Duration::from_secs(idle), sender.send_request(req)).await;
        if let Some(u) = upstreams {
            u.put(live, sender);
        }
        let response = match sent {
            Err(_) => return Err(504),
            Ok(Err(_)) => return Err(502),
            Ok(Ok(r)) => r,
        };
        routing.group.counts.target_answer(response.status().as_u16(), started.elapsed());
        served.target_status = Some(response.status().as_u16());
        served.target_seconds = Some(started.elapsed().as_secs_f64());
        // The request is outstanding until its body has been passed on.
        let mut response = response.map(|b| {
            b.map_err(BoxError::from)
                .map_frame(move |f| {
                    let _ = &outstanding;
                    f
                })
                .boxed_unsync()
        });
        // The load balancer speaks HTTP/1.1 to its clients whatever the target spoke.
        *response.version_mut() = http::Version::HTTP_11;
        for h in HOP_BY_HOP {
            response.headers_mut().remove(*h);
        }
        let mut cookies: Vec<String> = Vec::new();
        let expires = |seconds: i64| now.add_millis(seconds * 1000).to_http_date();
        match stickiness {
            Some("lb_cookie") => {
                let seconds = tg.attribute("stickiness.lb_cookie.duration_seconds").and_then(|v| v.parse().ok()).unwrap_or(86400);
                let value = encode(&target_key(target));
                cookies.push(format!("AWSALB={value}; Expires={}; Path=/", expires(seconds)));
                cookies.push(format!("AWSALBCORS={value}; Expires={}; Path=/; SameSite=None", expires(seconds)));
            }
            // The application's own cookie, when it sets one, is paired with the target.
            Some("app_cookie") => {
                let name = tg.attribute("stickiness.app_cookie.cookie_name").unwrap_or_default();
                let sets_it = response.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).any(|c| c.split_once('=').is_some_and(|(k, _)| k.trim() == name));
                if sets_it {
                    let seconds = tg.attribute("stickiness.app_cookie.duration_seconds").and_then(|v| v.parse().ok()).unwrap_or(86400);
                    cookies.push(format!("AWSALBAPP-0={}; Expires={}; Path=/", encode(&target_key(target)), expires(seconds)));
                }
            }
            _ => {}
        }
        if group_sticky {
            let seconds = action.group_stickiness.map_or(3600, |(_, d)| i64::from(d));
            let value = encode(tg_arn);
            cookies.push(format!("AWSALBTG={value}; Expires={}; Path=/", expires(seconds)));
            cookies.push(format!("AWSALBTGCORS={value}; Expires={}; Path=/; SameSite=None", expires(seconds)));
        }
        for c in cookies {
            if let Ok(v) = HeaderValue::from_str(&c) {
                response.headers_mut().append("set-cookie", v);
            }
        }
        Ok(response)
    }

    pub(super) async fn main_port_request(self: Arc<Self>, listener_arn: &str, req: &nubo_model::handler::HttpRequest<'_>) -> nubo_model::handler::HttpResponse {
        let uri = if req.query.is_empty() { req.path.to_string() } else { format!("{}?{}", req.path, req.query) };
        let mut builder = Request::builder().method(req.method).uri(uri);
        for (k, v) in req.headers {
            builder = builder.header(k, v);
        }
        let request = builder.body(req.take_body()).unwrap_or_else(|_| Request::new(body(Bytes::new())));
        let response = self.handle(listener_arn, SocketAddr::from(([127, 0, 0, 1], 0)), request, None).await;
        let (parts, body) = response.into_parts();
        nubo_model::handler::HttpResponse {
            status: parts.status.as_u16(),
            headers: parts.headers.iter().filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_string()))).collect(),
            body: nubo_model::ByteStream::from_body(body, None),
        }
    }
}

/// What forwarding did, for the access log and the counts.
#[derive(Default)]
struct Served {
    target: Option<String>,
    target_group: Option<String>,
    target_status: Option<u16>,
    target_seconds: Option<f64>,
    trace_id: Option<String>,
}

/// What the access log keeps of a request before it is passed on.
struct Logged {
    kind: &'static str,
    created: nubo_core::Timestamp,
    request: String,
    user_agent: String,
    received_bytes: u64,
}

impl Logged {
    fn of(req: &Request<ProxyBody>, listener: &ListenerRecord, now: nubo_core::Timestamp) -> Logged {
        let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
        let host = header("host");
        let host = host.rsplit_once(':').filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit())).map_or(host, |(h, _)| h);
        let scheme = if listener.protocol == "HTTPS" { "https" } else { "http" };
        let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
        Logged {
            kind: if req.version() == http::Version::HTTP_2 { "h2" } else { scheme },
            created: now,
            request: format!("{} {scheme}://{host}:{}{path} {:?}", req.method(), listener.port, req.version()),
            user_agent: header("user-agent").to_string(),
            received_bytes: header("content-length").parse().unwrap_or(0),
        }
    }
}

/// A weighted choice among a forward action's target groups.
fn weighted(groups: &[(String, i32)]) -> Option<&str> {
    if let [(only, _)] = groups {
        return Some(only.as_str());
    }
    let total: i32 = groups.iter().map(|(_, w)| (*w).max(0)).sum();
    if total == 0 {
        return None;
    }
    let mut pick = fastrand::i32(0..total);
    groups.iter().find(|(_, w)| {
        pick -= (*w).max(0);
        pick < 0
    })
    .map(|(g, _)| g.as_str())
}

/// `<id>:<port>`: what a stickiness cookie names.
fn target_key(t: &TargetRecord) -> String {
    format!("{}:{}", t.id, t.port)
}

fn encode(v: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v)
}

fn decode(v: &str) -> Option<String> {
    String::from_utf8(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(v).ok()?).ok()
}

/// The first rule (by priority) whose conditions all match, else the default actions;
/// the terminal action of what matched.
fn choose_action<'v>(view: &'v View, listener: &'v ListenerRecord, req: &Request<ProxyBody>, client: SocketAddr) -> Option<(i32, &'v ActionRecord)> {
    let Some(rules) = view.rules.get(&listener.arn).filter(|r| !r.is_empty()) else { return listener.default_actions.last().map(|a| (0, a)) };
    let host = req.headers().get("host").and_then(|h| h.to_str().ok()).map(str::to_string).or_else(|| req.uri().authority().map(|a| a.to_string())).unwrap_or_default();
    let query: Vec<(String, String)> = form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes()).into_owned().collect();
    let header = |name: &str| req.headers().get_all(name).iter().filter_map(|v| v.to_str().ok().map(str::to_string)).collect::<Vec<_>>();
    let facts = RequestFacts { host: &host, path: req.uri().path(), method: req.method().as_str(), query: &query, header: &header, source: client.ip() };
    match rules.iter().find(|r| conditions::all_match(&r.conditions, &facts)) {
        Some(r) => r.actions.last().map(|a| (r.priority, a)),
        None => listener.default_actions.last().map(|a| (0, a)),
    }
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
