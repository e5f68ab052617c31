//! The data plane: a controller that binds every listener of every load balancer on the
//! load balancer's loopback address (the host plays the internet), proxies what arrives
//! ([`proxy`] for HTTP, [`tcp`] for NLB listeners), and checks targets' health on
//! nubo's clock ([`health`]).
//!
//! The configuration the proxies read is a snapshot ([`View`]) rebuilt after every write
//! to Elastic Load Balancing's state (the service pokes [`Plane::poke`]), so a request
//! never reads the store.

pub mod access_logs;
mod balance;
mod engines;
mod front;
mod health;
mod lambda;
mod live;
pub mod metrics;
mod proxy;
mod tcp;
mod tls;
mod udp;

use crate::records::{self, ListenerRecord, LoadBalancerRecord, RuleRecord, TargetGroupRecord, TargetRecord, LISTENERS, LOAD_BALANCERS, RULES, TARGET_GROUPS};
use crate::Network;
use nubo_core::{Clock, Scope, Timestamp};
use nubo_store::Store;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

pub use health::TargetKey;

/// The configuration as the proxies read it.
#[derive(Default)]
pub struct View {
    pub load_balancers: HashMap<String, (Scope, LoadBalancerRecord)>,
    pub listeners: HashMap<String, ListenerRecord>,
    /// Rules of each listener, by priority.
    pub rules: HashMap<String, Vec<RuleRecord>>,
    pub target_groups: HashMap<String, (Scope, TargetGroupRecord)>,
    /// DNS name → load balancer ARN.
    pub by_name: HashMap<String, String>,
    /// Each target group's live objects (health, turns, counts).
    pub routing: HashMap<String, balance::Routing>,
    /// Each load balancer's own counts.
    pub counts: HashMap<String, Arc<live::Counts>>,
    /// Lines for the access logs of the load balancers that keep them.
    pub access_logs: HashMap<String, Arc<Mutex<Vec<String>>>>,
    /// The HTTP(S) listeners of each port, for the front door on 127.0.0.1.
    pub front: HashMap<u16, Vec<(String, String, bool)>>,
}

impl View {
    /// Whether a listener or rule of some load balancer forwards to the group.
    pub fn in_use(&self, tg: &str) -> bool {
        self.listeners.values().any(|l| {
            let rules = self.rules.get(&l.arn).into_iter().flatten().flat_map(|r| r.actions.iter());
            l.default_actions.iter().chain(rules).any(|a| a.target_groups.iter().any(|(arn, _)| arn == tg))
        })
    }
}

/// A bound listener: ((address, protocol and certificates), its task).
type Bound = ((SocketAddr, String), JoinHandle<()>);

pub struct Plane {
    store: Store,
    clock: Clock,
    network: Arc<dyn Network>,
    wake: Notify,
    view: RwLock<Arc<View>>,
    /// Bound listeners by ARN.
    bound: Mutex<HashMap<String, Bound>>,
    health: health::Health,
    live: live::Registry,
    doors: Mutex<front::Doors>,
    /// The threads that carry traffic, started with the first listener.
    engines: std::sync::OnceLock<engines::Engines>,
    /// The shared runtime, where work that outlives a request (Lambda) runs.
    main: std::sync::OnceLock<tokio::runtime::Handle>,
    /// Lambda, for `lambda` targets.
    pub(crate) functions: std::sync::OnceLock<Arc<dyn crate::Functions>>,
    /// HTTPS listeners' certificates (ACM).
    pub(crate) certificates: std::sync::OnceLock<Arc<dyn crate::Certificates>>,
}

impl Plane {
    pub fn new(store: Store, clock: Clock, network: Arc<dyn Network>) -> Arc<Plane> {
        Arc::new(Plane {
            store,
            clock,
            network,
            wake: Notify::new(),
            view: RwLock::new(Arc::new(View::default())),
            bound: Default::default(),
            health: health::Health::default(),
            live: live::Registry::default(),
            doors: Default::default(),
            certificates: Default::default(),
            functions: Default::default(),
            engines: Default::default(),
            main: Default::default(),
        })
    }

    /// The front door on 127.0.0.1 (on unless `--no-front-door`), never on `reserved` ports.
    pub fn configure_front_door(&self, enabled: bool, reserved: Vec<u16>) {
        self.doors.lock().unwrap().configure(enabled, reserved);
    }

    /// Each front door port's state: listening, or why not.
    pub fn front_door_status(&self) -> std::collections::BTreeMap<u16, String> {
        self.doors.lock().unwrap().status()
    }

    pub fn poke(&self) {
        self.wake.notify_waiters();
        self.health.poke();
    }

    /// Rebuilds the view and binds what changed, now (inside tokio).
    pub fn refresh(self: &Arc<Self>) {
        self.reconcile();
    }

    pub fn view(&self) -> Arc<View> {
        self.view.read().unwrap().clone()
    }

    pub fn start(self: Arc<Self>) {
        let _ = self.main.set(tokio::runtime::Handle::current());
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                let woken = me.wake.notified();
                me.reconcile();
                woken.await;
            }
        });
        tokio::spawn(health::run(self));
    }

    /// Rebuilds the view and makes the bound listeners match it.
    fn reconcile(self: &Arc<Self>) {
        let mut view = View::default();
        let loaded = self.store.read(|tx| {
            for (scope, lb) in records::everywhere::<LoadBalancerRecord>(tx, LOAD_BALANCERS)? {
                view.by_name.insert(lb.dns_name.to_ascii_lowercase(), lb.arn.clone());
                view.load_balancers.insert(lb.arn.clone(), (scope, lb));
            }
            for (_, l) in records::everywhere::<ListenerRecord>(tx, LISTENERS)? {
                view.listeners.insert(l.arn.clone(), l);
            }
            for (_, r) in records::everywhere::<RuleRecord>(tx, RULES)? {
                view.rules.entry(r.listener_arn.clone()).or_default().push(r);
            }
            for (scope, tg) in records::everywhere::<TargetGroupRecord>(tx, TARGET_GROUPS)? {
                view.target_groups.insert(tg.arn.clone(), (scope, tg));
            }
            Ok(())
        });
        if let Err(e) = loaded {
            tracing::error!("the load balancers' configuration could not be read: {e}");
            return;
        }
        for rules in view.rules.values_mut() {
            rules.sort_by_key(|r| r.priority);
        }
        self.live.retain(|tg| view.target_groups.contains_key(tg), |lb| view.load_balancers.contains_key(lb));
        for (arn, (_, tg)) in &view.target_groups {
            let targets = tg.targets.iter().map(|t| self.live.target(&TargetKey::of(arn, t))).collect();
            view.routing.insert(arn.clone(), balance::Routing { group: self.live.group(arn), targets });
        }
        for (arn, (_, lb)) in &view.load_balancers {
            view.counts.insert(arn.clone(), self.live.load_balancer(arn));
            if lb.attributes.get("access_logs.s3.enabled").is_some_and(|v| v == "true") {
                view.access_logs.insert(arn.clone(), self.live.access_log(arn));
            }
        }
        view.front = front::by_port(&view);
        let view = Arc::new(view);
        *self.view.write().unwrap() = view.clone();
        // The health checker reads the new view.
        self.health.poke();
        self.reconcile_doors(&view);
        let mut bound = self.bound.lock().unwrap();
        // A listener is bound again when its address, protocol or certificates change.
        let wanted: HashMap<String, (SocketAddr, String)> = view
            .listeners
            .values()
            .filter_map(|l| {
                let (_, lb) = view.load_balancers.get(&l.load_balancer_arn)?;
                let ip: std::net::Ipv4Addr = lb.address.parse().ok()?;
                Some((l.arn.clone(), (SocketAddr::from((ip, l.port as u16)), format!("{} {}", l.protocol, l.certificates.join(",")))))
            })
            .collect();
        bound.retain(|arn, (addr, task)| {
            let keep = wanted.get(arn) == Some(addr) && !task.is_finished();
            if !keep {
                task.abort();
            }
            keep
        });
        for (arn, key) in wanted {
            if bound.contains_key(&arn) {
                continue;
            }
            let addr = key.0;
            let protocol = view.listeners.get(&arn).map(|l| l.protocol.clone()).unwrap_or_default();
            let udp = match protocol.as_str() {
                "UDP" | "TCP_UDP" => match std::net::UdpSocket::bind(addr).and_then(|s| s.set_nonblocking(true).map(|_| s)).and_then(tokio::net::UdpSocket::from_std) {
                    Ok(s) => Some(s),
                    Err(e) => {
                        tracing::warn!("listener {arn} cannot listen on udp {addr}: {e}");
                        continue;
                    }
                },
                _ => None,
            };
            if protocol == "UDP" {
                let Some(socket) = udp else { continue };
                let task = tokio::spawn(udp::serve(self.clone(), arn.clone(), socket));
                bound.insert(arn, (key, task));
                continue;
            }
            let listener = match std::net::TcpListener::bind(addr).and_then(|l| l.set_nonblocking(true).map(|_| l)).and_then(tokio::net::TcpListener::from_std) {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!("listener {arn} cannot listen on {addr}: {e}");
                    continue;
                }
            };
            let task = match protocol.as_str() {
                "TCP" => tokio::spawn(tcp::serve(self.clone(), arn.clone(), listener)),
                "TCP_UDP" => {
                    let Some(udp) = udp else { continue };
                    let (me, arn) = (self.clone(), arn.clone());
                    tokio::spawn(async move {
                        tokio::join!(tcp::serve(me.clone(), arn.clone(), listener), udp::serve(me, arn, udp));
                    })
                }
                "HTTPS" | "TLS" => {
                    let certificates = view.listeners.get(&arn).map(|l| l.certificates.clone()).unwrap_or_default();
                    let certificates: Vec<(String, Vec<String>)> = certificates.into_iter().map(|c| (c, Vec::new())).collect();
                    match tls::acceptor(self.certificates.get(), &certificates, protocol == "HTTPS") {
                        Ok(acceptor) if protocol == "HTTPS" => tokio::spawn(proxy::serve_tls(self.clone(), arn.clone(), listener, acceptor)),
                        Ok(acceptor) => tokio::spawn(tcp::serve_tls(self.clone(), arn.clone(), listener, acceptor)),
                        Err(e) => {
                            tracing::warn!("listener {arn} cannot serve TLS: {e}");
                            continue;
                        }
                    }
                }
                _ => tokio::spawn(proxy::serve(self.clone(), arn.clone(), listener)),
            };
            bound.insert(arn, (key, task));
        }
    }

    /// The health of a target as DescribeTargetHealth shows it: (state, reason, description).
    pub fn health_of(&self, tg: &TargetGroupRecord, t: &TargetRecord, in_use: bool, now: Timestamp) -> (&'static str, Option<&'static str>, Option<String>) {
        let _ = now;
        if t.draining_since.is_some() {
            return ("draining", Some("Target.DeregistrationInProgress"), Some("Target deregistration is in progress".into()));
        }
        if !in_use {
            return ("unused", Some("Target.NotInUse"), Some("Target group is not configured to receive traffic from the load balancer".into()));
        }
        if !tg.health.enabled {
            return ("unavailable", Some("Target.HealthCheckDisabled"), Some("Health checks are disabled".into()));
        }
        self.health.describe(&TargetKey::of(&tg.arn, t))
    }

    /// Hands an accepted connection to a traffic thread, where `serve` runs it to its end.
    pub(super) fn on_engine<F, Fut>(&self, stream: tokio::net::TcpStream, serve: F)
    where
        F: FnOnce(tokio::net::TcpStream) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let Ok(stream) = stream.into_std() else { return };
        self.engines.get_or_init(engines::Engines::start).spawn(async move {
            if let Ok(stream) = tokio::net::TcpStream::from_std(stream) {
                serve(stream).await;
            }
        });
    }

    /// A connection to a target: a loopback `ip` target directly, an instance through its
    /// sandbox. Nothing else is ever connected to from the host.
    async fn connect(&self, scope: &Scope, tg: &TargetGroupRecord, t: &TargetRecord, port: u16) -> std::io::Result<tokio::net::TcpStream> {
        match tg.target_type.as_str() {
            "instance" => {
                let info = self.network.instance(scope, &t.id).ok_or_else(|| std::io::Error::other("the instance is gone"))?;
                let ip: std::net::Ipv4Addr = info.private_ip.parse().map_err(std::io::Error::other)?;
                self.network.connect(&t.id, SocketAddr::from((ip, port))).await
            }
            _ => {
                let ip: std::net::IpAddr = t.id.parse().map_err(std::io::Error::other)?;
                if !ip.is_loopback() {
                    return Err(std::io::Error::new(std::io::ErrorKind::PermissionDenied, "nubo connects only to loopback addresses from the host"));
                }
                tokio::net::TcpStream::connect(SocketAddr::new(ip, port)).await
            }
        }
    }

    /// Removes a target whose deregistration delay has passed.
    fn forget_target(&self, scope: &Scope, tg_arn: &str, t: &TargetRecord) {
        let done = self.store.write(|tx| -> nubo_store::Result<()> {
            if let Some(mut tg) = records::get::<TargetGroupRecord>(tx, TARGET_GROUPS, scope, tg_arn)? {
                tg.targets.retain(|r| !(r.id == t.id && r.port == t.port && r.draining_since.is_some()));
                records::put(tx, TARGET_GROUPS, scope, tg_arn, &tg)?;
            }
            Ok(())
        });
        if let Err(e) = done {
            tracing::warn!("a drained target of {tg_arn} stays: {e}");
        }
        self.health.forget(&TargetKey::of(tg_arn, t));
        self.live.forget_target(&TargetKey::of(tg_arn, t));
        self.poke();
    }

    /// Requests to nubo's own port whose Host is a load balancer's DNS name (any port)
    /// go to that load balancer: its HTTP listener on port 80, or its lowest HTTP one.
    pub fn main_port<'a>(self: &Arc<Self>, req: &'a nubo_model::handler::HttpRequest<'a>) -> Option<nubo_model::handler::HttpFuture<'a>> {
        let host = req.host.rsplit_once(':').filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit())).map_or(req.host, |(h, _)| h).to_ascii_lowercase();
        if !host.ends_with(".localhost") {
            return None;
        }
        let view = self.view();
        let lb = view.by_name.get(&host)?;
        let mut listeners: Vec<&ListenerRecord> = view.listeners.values().filter(|l| &l.load_balancer_arn == lb && l.protocol == "HTTP").collect();
        listeners.sort_by_key(|l| (l.port != 80, l.port));
        let listener = listeners.first()?.arn.clone();
        let me = self.clone();
        Some(Box::pin(async move { me.main_port_request(&listener, req).await }))
    }
}
