//! The shared front door: for each port that some application load balancer has an HTTP
//! or HTTPS listener on, nubo also listens on `127.0.0.1:<port>` and routes each request
//! by its Host header (and a TLS connection's certificate by SNI) to the load balancer of
//! that name. So `curl http://<DNSName>/` works with no setup: curl and browsers resolve
//! every `*.localhost` name to 127.0.0.1.
//!
//! A port is HTTPS at the door when every listener on it is HTTPS, else HTTP. A request
//! whose Host names no load balancer goes to the only load balancer on that port, if
//! there is one. A port that cannot be bound (privileged, or taken) is logged and shown
//! in `/_nubo/health`; the load balancer's own address still serves it.

use super::proxy::{BoxError, ProxyBody, Upstreams};
use super::{tls, Plane, View};
use http::{Request, Response};
use http_body_util::BodyExt;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use tokio::task::JoinHandle;

/// What the door of one port serves: `None` is plain HTTP.
type Tls = Arc<RwLock<Option<tokio_rustls::TlsAcceptor>>>;

struct Door {
    https: bool,
    /// The certificates (and names) the acceptor was built from.
    certificates: Vec<(String, Vec<String>)>,
    tls: Tls,
    task: JoinHandle<()>,
}

#[derive(Default)]
pub struct Doors {
    /// Off with `--no-front-door`.
    disabled: bool,
    /// Ports the door never takes (nubo's own API port).
    reserved: Vec<u16>,
    bound: HashMap<u16, Door>,
    /// Each wanted port's state, as `/_nubo/health` shows it.
    status: BTreeMap<u16, String>,
}

impl Doors {
    pub fn configure(&mut self, enabled: bool, reserved: Vec<u16>) {
        self.disabled = !enabled;
        self.reserved = reserved;
    }

    pub fn status(&self) -> BTreeMap<u16, String> {
        self.status.clone()
    }
}

/// Listeners at the door of each port: (listener ARN, load balancer ARN, HTTPS).
pub fn by_port(view: &View) -> HashMap<u16, Vec<(String, String, bool)>> {
    let mut ports: HashMap<u16, Vec<(String, String, bool)>> = HashMap::new();
    for l in view.listeners.values() {
        if l.protocol != "HTTP" && l.protocol != "HTTPS" {
            continue;
        }
        if let Ok(port) = u16::try_from(l.port) {
            ports.entry(port).or_default().push((l.arn.clone(), l.load_balancer_arn.clone(), l.protocol == "HTTPS"));
        }
    }
    for listeners in ports.values_mut() {
        listeners.sort();
    }
    ports
}

impl Plane {
    /// Binds, rebinds and unbinds the doors to match the view.
    pub(super) fn reconcile_doors(self: &Arc<Self>, view: &View) {
        let mut doors = self.doors.lock().unwrap();
        if doors.disabled {
            return;
        }
        let wanted = &view.front;
        doors.bound.retain(|port, door| {
            let keep = wanted.get(port).is_some_and(|ls| ls.iter().all(|(_, _, https)| *https) == door.https) && !door.task.is_finished();
            if !keep {
                door.task.abort();
            }
            keep
        });
        doors.status.retain(|port, _| wanted.contains_key(port));
        let mut ports: Vec<&u16> = wanted.keys().collect();
        ports.sort();
        for &port in ports {
            let listeners = &wanted[&port];
            if doors.reserved.contains(&port) {
                doors.status.insert(port, "not served: nubo's API port (routes by Host itself)".into());
                continue;
            }
            let https = listeners.iter().all(|(_, _, https)| *https);
            let certificates = if https { door_certificates(view, listeners) } else { Vec::new() };
            if let Some(door) = doors.bound.get_mut(&port) {
                if door.certificates != certificates {
                    *door.tls.write().unwrap() = self.door_acceptor(port, &certificates);
                    door.certificates = certificates;
                }
                continue;
            }
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let bound = std::net::TcpListener::bind(addr).and_then(|l| l.set_nonblocking(true).map(|_| l)).and_then(tokio::net::TcpListener::from_std);
            let status = match bound {
                Ok(listener) => {
                    let tls: Tls = Arc::new(RwLock::new(if https { self.door_acceptor(port, &certificates) } else { None }));
                    let task = tokio::spawn(serve(self.clone(), port, listener, tls.clone()));
                    doors.bound.insert(port, Door { https, certificates, tls, task });
                    format!("listening on {addr} ({})", if https { "HTTPS" } else { "HTTP" })
                }
                Err(e) => {
                    let hint = if e.kind() == std::io::ErrorKind::PermissionDenied { " (ports below 1024 need root or CAP_NET_BIND_SERVICE)" } else { "" };
                    format!("cannot listen on {addr}: {e}{hint}; the load balancers still answer on their own addresses")
                }
            };
            if doors.status.get(&port) != Some(&status) {
                if status.starts_with("cannot") {
                    tracing::warn!("front door for port {port}: {status}");
                } else {
                    tracing::info!("front door for port {port}: {status}");
                }
                doors.status.insert(port, status);
            }
        }
    }

    fn door_acceptor(&self, port: u16, certificates: &[(String, Vec<String>)]) -> Option<tokio_rustls::TlsAcceptor> {
        match tls::acceptor(self.certificates.get(), certificates, true) {
            Ok(a) => Some(a),
            Err(e) => {
                tracing::warn!("front door for port {port} cannot serve TLS: {e}");
                None
            }
        }
    }

    /// The listener a request at the door goes to: by the Host's load balancer name, or
    /// the only load balancer on the port.
    fn door_listener(&self, view: &View, port: u16, host: &str) -> Option<String> {
        let listeners = view.front.get(&port)?;
        let name = host.rsplit_once(':').filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit())).map_or(host, |(h, _)| h).to_ascii_lowercase();
        if let Some(lb) = view.by_name.get(&name) {
            return listeners.iter().find(|(_, l, _)| l == lb).map(|(arn, _, _)| arn.clone());
        }
        match listeners.as_slice() {
            [(arn, _, _)] => Some(arn.clone()),
            _ => None,
        }
    }
}

/// Every HTTPS listener's certificates on the port; each load balancer's DNS name is
/// served its listener's default certificate.
fn door_certificates(view: &View, listeners: &[(String, String, bool)]) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for (arn, lb, _) in listeners {
        let Some(l) = view.listeners.get(arn) else { continue };
        let dns = view.load_balancers.get(lb).map(|(_, lb)| lb.dns_name.clone());
        for (i, cert) in l.certificates.iter().enumerate() {
            out.push((cert.clone(), if i == 0 { dns.clone().into_iter().collect() } else { Vec::new() }));
        }
    }
    out
}

async fn serve(plane: Arc<Plane>, port: u16, listener: tokio::net::TcpListener, tls: Tls) {
    loop {
        let Ok((stream, client)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        let (me, acceptor) = (plane.clone(), tls.read().unwrap().clone());
        plane.on_engine(stream, move |stream| async move {
            let upstreams = Arc::new(Upstreams::default());
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let (plane, upstreams) = (me.clone(), upstreams.clone());
                async move { Ok::<_, std::convert::Infallible>(plane.at_door(port, client, req.map(|b| b.map_err(BoxError::from).boxed_unsync()), &upstreams).await) }
            });
            let builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            match acceptor {
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(stream).await {
                        let _ = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service).await;
                    }
                }
                None => {
                    let _ = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service).await;
                }
            }
        });
    }
}

impl Plane {
    async fn at_door(self: Arc<Self>, port: u16, client: SocketAddr, req: Request<ProxyBody>, upstreams: &Upstreams) -> Response<ProxyBody> {
        let host = req.headers().get("host").and_then(|h| h.to_str().ok()).map(str::to_string).or_else(|| req.uri().authority().map(|a| a.to_string())).unwrap_or_default();
        let view = self.view();
        let Some(listener) = self.door_listener(&view, port, &host) else {
            let text = format!("nubo: no load balancer named {host:?} has a listener on port {port}\n");
            let mut r = Response::new(super::proxy::body(text));
            *r.status_mut() = http::StatusCode::NOT_FOUND;
            r.headers_mut().insert("server", http::HeaderValue::from_static("nubo"));
            return r;
        };
        drop(view);
        if !self.admits(&listener) {
            let mut r = Response::new(super::proxy::body(format!("nubo: the load balancer's security groups do not let port {port} in\n")));
            *r.status_mut() = http::StatusCode::FORBIDDEN;
            return r;
        }
        self.handle(&listener, client, req, Some(upstreams)).await
    }
}
