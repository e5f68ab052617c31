//! The instance runtime: makes every instance that should run, run, as a sandbox of
//! nubo-sandbox; the control plane decides, this controller acts.
//!
//! One loop ([`Runtime::run`]), woken by every write to EC2's state and once a second,
//! compares the store with the machines it has: an instance pending or running gets a
//! machine (booted from its root volume, its user data run at the first boot), one that
//! is stopping, shutting down or gone loses it, a reboot (its `boots` count moved) gets a
//! new one. It keeps each machine's published ports equal to what its security groups
//! allow ([`ports`]) and serves its metadata ([`imds`]) and a way to nubo's API. What a
//! machine does on its own comes back as an exit: a poweroff stops (or terminates) the
//! instance as `InstanceInitiatedShutdownBehavior` says, a reboot boots it again, a crash
//! leaves it running but impaired (its status checks fail) until it is rebooted or
//! stopped. Files: `<dir>/instances/<id>/` (console, boot spec, mount point) and
//! `<dir>/volumes/<vol-id>/` (a root volume's upper layer), kept while their records are.

mod imds;
pub mod ports;

use crate::instances::State;
use crate::records::{self, InstanceRecord, SecurityGroupRecord};
use crate::Ec2;
use nubo_core::{Scope, Timestamp};
use nubo_sandbox::cgroup::Limits;
use nubo_sandbox::{BootSpec, Driver, Exit, Machine};
use std::collections::{BTreeSet, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// Temporary credentials for an instance profile's role (from STS, through the wiring).
#[derive(Debug, Clone)]
pub struct RoleCredentials {
    pub role_name: String,
    pub profile_arn: String,
    pub profile_id: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub issued: Timestamp,
    pub expiration: Timestamp,
}

/// Who issues an instance's role credentials: IAM/STS, wired in by the binary.
pub trait InstanceCredentials: Send + Sync {
    /// `profile` is the instance profile's ARN or name; `session` names the session.
    fn credentials(&self, account: &str, profile: &str, session: &str) -> Option<RoleCredentials>;
}

/// What the metadata service tells an instance about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub scope: Scope,
    pub instance_id: String,
    pub image_id: String,
    pub instance_type: String,
    pub architecture: String,
    pub availability_zone: String,
    pub availability_zone_id: Option<String>,
    pub private_ip: String,
    pub public_ip: Option<String>,
    pub public_hostname: Option<String>,
    pub hostname: String,
    pub mac: String,
    pub eni_id: String,
    pub subnet_id: String,
    pub vpc_id: String,
    pub reservation_id: String,
    pub launch_index: i32,
    pub launch_time: String,
    pub security_groups: Vec<(String, String)>,
    pub instance_profile: Option<String>,
    pub root_device: String,
    pub user_data: Option<Vec<u8>>,
}

impl View {
    fn of(scope: &Scope, i: &InstanceRecord) -> View {
        View {
            scope: scope.clone(),
            instance_id: i.id.clone(),
            image_id: i.image_id.clone(),
            instance_type: i.instance_type.clone(),
            architecture: i.architecture.clone(),
            availability_zone: i.availability_zone.clone(),
            availability_zone_id: crate::regions::zone_id(&scope.region, &i.availability_zone),
            private_ip: i.private_ip.clone(),
            public_ip: i.public_ip.clone(),
            public_hostname: i.public_ip.as_ref().map(|ip| crate::instances::dns_public(ip, &scope.region)),
            hostname: crate::instances::dns_private(&i.private_ip, &scope.region),
            mac: i.mac.clone(),
            eni_id: i.eni_id.clone(),
            subnet_id: i.subnet_id.clone(),
            vpc_id: i.vpc_id.clone(),
            reservation_id: i.reservation_id.clone(),
            launch_index: i.ami_launch_index,
            launch_time: i.launch_time.to_iso8601_seconds(),
            security_groups: i.security_groups.clone(),
            instance_profile: i.iam_instance_profile.clone(),
            root_device: i.root_device_name.clone(),
            user_data: i.user_data.as_deref().and_then(decode_user_data),
        }
    }
}

/// User data as EC2 takes it: base64 of the bytes, which may be gzipped.
pub fn decode_user_data(b64: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok()?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&raw[..]), &mut out).ok()?;
        return Some(out);
    }
    Some(raw)
}

/// A machine and what serves it.
struct Running {
    scope: Scope,
    machine: Machine,
    /// The record's `boots` this machine was booted for.
    boots: u32,
    metadata: Arc<imds::Metadata>,
    /// The metadata server and the way to the API (aborted with the machine).
    services: Vec<JoinHandle<()>>,
    /// Published ports: (host address, port) → listener task.
    published: HashMap<(Ipv4Addr, u16), JoinHandle<()>>,
    vcpus: u32,
    /// The last CPU sample: (nanoseconds used, when).
    cpu_sample: Mutex<(u64, Instant)>,
}

impl Drop for Running {
    fn drop(&mut self) {
        for t in self.services.iter().chain(self.published.values()) {
            t.abort();
        }
    }
}

/// A machine's exit, queued for the loop.
struct Ended {
    id: String,
    boots: u32,
    exit: Exit,
}

/// One instance's figures for CloudWatch (AWS/EC2).
#[derive(Debug, Clone)]
pub struct Sample {
    pub scope: Scope,
    pub instance_id: String,
    pub cpu_percent: Option<f64>,
    pub status_check_failed: bool,
    /// The Auto Scaling group it belongs to (its `aws:autoscaling:groupName` tag).
    pub group: Option<String>,
}

pub struct Runtime {
    dir: PathBuf,
    driver: Box<dyn Driver>,
    /// nubo's API, where the guest's calls to `169.254.169.254:4566` are forwarded.
    api: SocketAddr,
    machines: Mutex<HashMap<String, Running>>,
    ended: Mutex<Vec<Ended>>,
    wake: Notify,
    credentials: Mutex<Option<Arc<dyn InstanceCredentials>>>,
    /// nubo's DNS, the instances' resolver.
    names: Mutex<Option<Arc<dyn nubo_dns::Names>>>,
}

impl Runtime {
    pub fn new(dir: PathBuf, driver: Box<dyn Driver>, api: SocketAddr) -> Arc<Runtime> {
        tracing::info!("instances run as {} under {}", driver.name(), dir.display());
        Arc::new(Runtime { dir, driver, api, machines: Default::default(), ended: Default::default(), wake: Notify::new(), credentials: Mutex::new(None), names: Mutex::new(None) })
    }

    pub fn set_credentials(&self, provider: Arc<dyn InstanceCredentials>) {
        *self.credentials.lock().unwrap() = Some(provider);
    }

    /// Instances resolve names with nubo's DNS (at the metadata address, port 53).
    pub fn set_names(&self, names: Arc<dyn nubo_dns::Names>) {
        *self.names.lock().unwrap() = Some(names);
    }

    /// Something changed: the loop looks again.
    pub fn poke(&self) {
        self.wake.notify_one();
    }

    fn instance_dir(&self, id: &str) -> PathBuf {
        self.dir.join("instances").join(id)
    }

    fn volume_dir(&self, id: &str) -> PathBuf {
        self.dir.join("volumes").join(id)
    }

    /// The last 64 KB of an instance's console, as `GetConsoleOutput` returns it.
    pub fn console(&self, id: &str) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.instance_dir(id).join("console.log")).ok()?;
        Some(bytes[bytes.len().saturating_sub(64 * 1024)..].to_vec())
    }

    /// The controller's loop; runs as long as nubo.
    pub async fn run(self: Arc<Self>, ec2: Ec2) {
        loop {
            let me = self.clone();
            let ec2c = ec2.clone();
            if let Err(e) = tokio::task::spawn_blocking(move || me.reconcile(&ec2c)).await {
                tracing::error!("the instance runtime failed: {e}");
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// One pass: exits first, then every instance, then files of what is gone.
    fn reconcile(self: &Arc<Self>, ec2: &Ec2) {
        let ended: Vec<Ended> = std::mem::take(&mut *self.ended.lock().unwrap());
        for e in ended {
            self.ended(ec2, e);
        }
        let now = ec2.clock.now();
        let Ok((instances, groups, volumes, snapshots)) = ec2.read(|tx| {
            let mut instances = Vec::new();
            for (key, mut i) in nubo_store::scan_json::<InstanceRecord>(tx, records::Kind::Instance.table(), b"", None, usize::MAX)? {
                let Some(scope) = scope_of(&key) else { continue };
                i.settle(now);
                instances.push((scope, i));
            }
            let groups: Vec<SecurityGroupRecord> = nubo_store::scan_json(tx, records::Kind::SecurityGroup.table(), b"", None, usize::MAX)?.into_iter().map(|(_, g)| g).collect();
            let volumes: HashMap<String, Option<String>> =
                nubo_store::scan_json::<crate::volumes::VolumeRecord>(tx, records::Kind::Volume.table(), b"", None, usize::MAX)?.into_iter().map(|(_, v)| (v.id, v.snapshot_id)).collect();
            let snapshots: BTreeSet<String> = nubo_store::scan_json::<crate::snapshots::SnapshotRecord>(tx, records::Kind::Snapshot.table(), b"", None, usize::MAX)?.into_iter().map(|(_, s)| s.id).collect();
            Ok((instances, groups, volumes, snapshots))
        }) else {
            return;
        };
        let mut machines = self.machines.lock().unwrap();
        let known: BTreeSet<&str> = instances.iter().map(|(_, i)| i.id.as_str()).collect();
        machines.retain(|id, _| known.contains(id.as_str()));
        for (scope, i) in &instances {
            let wanted = matches!(i.state, State::Pending | State::Running) && !i.impaired;
            let current = machines.get(&i.id).map(|r| r.boots);
            if current.is_some() && (!wanted || current != Some(i.boots)) {
                machines.remove(&i.id);
            }
            if wanted && !machines.contains_key(&i.id) {
                let snapshot = volumes.get(&i.root_volume_id).cloned().flatten();
                match self.boot(ec2, scope, i, snapshot.as_deref()) {
                    Ok(r) => {
                        machines.insert(i.id.clone(), r);
                    }
                    Err(e) => {
                        tracing::warn!("{} did not boot: {e}", i.id);
                        let _ = std::fs::write(self.instance_dir(&i.id).join("console.log"), format!("nubo: the instance did not boot: {e}\n"));
                        ec2.mark_impaired(scope, &i.id, i.boots);
                        continue;
                    }
                }
            }
            if let Some(r) = machines.get_mut(&i.id) {
                let view = View::of(scope, i);
                {
                    let mut current = r.metadata.view.lock().unwrap();
                    if *current != view {
                        *current = view;
                    }
                }
                self.publish(r, i, &groups);
            }
        }
        drop(machines);
        let volumes: BTreeSet<String> = volumes.into_keys().collect();
        self.sweep(&known, &volumes, &snapshots);
    }

    /// Files of instances, volumes and snapshots that no longer exist (a capture under
    /// way is a `.partial` directory: not a snapshot id, and it is renamed when done, so
    /// it is left alone here).
    fn sweep(&self, instances: &BTreeSet<&str>, volumes: &BTreeSet<String>, snapshots: &BTreeSet<String>) {
        let instances = instances.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        for (sub, keep) in [("instances", &instances), ("volumes", volumes), ("snapshots", snapshots)] {
            for entry in std::fs::read_dir(self.dir.join(sub)).into_iter().flatten().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !keep.contains(&name) && !name.ends_with(".partial") && !self.machines.lock().unwrap().contains_key(&name) {
                    // A mount point left by a killed init is detached by the kernel with its namespace.
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
    }

    fn ended(&self, ec2: &Ec2, e: Ended) {
        let mut machines = self.machines.lock().unwrap();
        let Some(r) = machines.get(&e.id).filter(|r| r.boots == e.boots) else { return };
        let scope = r.scope.clone();
        machines.remove(&e.id);
        drop(machines);
        match e.exit {
            Exit::Killed => {}
            Exit::Reboot => {} // the next pass boots it again
            Exit::PowerOff => ec2.guest_shutdown(&scope, &e.id),
            Exit::Crashed(why) => {
                tracing::warn!("{} crashed: {why}", e.id);
                ec2.mark_impaired(&scope, &e.id, e.boots);
            }
        }
    }

    fn snapshot_dir(&self, id: &str) -> PathBuf {
        self.dir.join("snapshots").join(id)
    }

    /// Captures a volume's data as snapshot `snapshot_id` (CreateSnapshot, CreateImage):
    /// the layer of the snapshot it was made from, with what was written since over it.
    pub fn capture(&self, volume_id: &str, from_snapshot: Option<&str>, snapshot_id: &str) {
        let base = from_snapshot.map(|s| self.snapshot_dir(s));
        let upper = self.volume_dir(volume_id).join("upper");
        if base.as_ref().is_none_or(|b| !b.is_dir()) && !upper.is_dir() {
            return; // nothing written: the snapshot is the AMI's base itself
        }
        let into = self.snapshot_dir(snapshot_id);
        let _ = std::fs::create_dir_all(self.dir.join("snapshots"));
        if let Err(e) = nubo_sandbox::layers::capture(base.as_deref(), &upper, &into) {
            tracing::warn!("snapshot {snapshot_id} of {volume_id} has no data: {e}");
        }
    }

    fn boot(self: &Arc<Self>, ec2: &Ec2, scope: &Scope, i: &InstanceRecord, snapshot: Option<&str>) -> std::io::Result<Running> {
        let dir = self.instance_dir(&i.id);
        std::fs::create_dir_all(&dir)?;
        // A volume made from a snapshot starts with the snapshot's data (overlayfs takes no
        // lower layer inside another, so the layer is copied rather than stacked).
        let volume = self.volume_dir(&i.root_volume_id);
        if let Some(layer) = snapshot.map(|s| self.snapshot_dir(s)).filter(|d| d.is_dir()) {
            if !volume.join("upper").exists() {
                std::fs::create_dir_all(&volume)?;
                nubo_sandbox::layers::capture(Some(&layer), &volume.join("none"), &volume.join("upper"))?;
            }
        }
        let view = View::of(scope, i);
        let private: Ipv4Addr = i.private_ip.parse().map_err(std::io::Error::other)?;
        let mac: Vec<u8> = i.mac.split(':').filter_map(|h| u8::from_str_radix(h, 16).ok()).collect();
        let netns = self.driver.network(private, <[u8; 6]>::try_from(mac).ok())?;
        let credentials = self.credentials.lock().unwrap().clone();
        let metadata = imds::Metadata::new(view.clone(), credentials, ec2.clock.clone());
        // The metadata service and the way to the API listen before anything runs.
        let mut services = Vec::new();
        let mut env = vec![("AWS_DEFAULT_REGION".to_string(), scope.region.clone()), ("AWS_REGION".to_string(), scope.region.clone())];
        let api_url;
        match &netns {
            Some(ns) => {
                let imds = ns.listen(SocketAddr::from((nubo_sandbox::METADATA_ADDRESS, 80)))?;
                services.push(tokio_spawn(metadata.clone().serve(tokio::net::TcpListener::from_std(imds)?)));
                let api = ns.listen(SocketAddr::from((nubo_sandbox::METADATA_ADDRESS, nubo_sandbox::API_PORT)))?;
                services.push(tokio_spawn(forward_all(tokio::net::TcpListener::from_std(api)?, self.api)));
                api_url = format!("http://{}:{}", Ipv4Addr::from(nubo_sandbox::METADATA_ADDRESS), nubo_sandbox::API_PORT);
                if let Some(names) = self.names.lock().unwrap().clone() {
                    let dns = ns.listen_udp(SocketAddr::from((nubo_sandbox::METADATA_ADDRESS, 53)))?;
                    services.push(tokio_spawn(nubo_dns::serve(tokio::net::UdpSocket::from_std(dns)?, names)));
                }
            }
            None => {
                let imds = std::net::TcpListener::bind("127.0.0.1:0")?;
                imds.set_nonblocking(true)?;
                env.push(("AWS_EC2_METADATA_SERVICE_ENDPOINT".into(), format!("http://{}/", imds.local_addr()?)));
                services.push(tokio_spawn(metadata.clone().serve(tokio::net::TcpListener::from_std(imds)?)));
                api_url = format!("http://{}", self.api);
            }
        }
        env.push(("AWS_ENDPOINT_URL".into(), api_url.clone()));
        let user_data = match &view.user_data {
            Some(data) => {
                let path = dir.join("user-data");
                std::fs::write(&path, data)?;
                Some(path)
            }
            None => None,
        };
        let short = view.hostname.split('.').next().unwrap_or_default().to_string();
        let files = vec![
            ("/etc/hostname".to_string(), format!("{}\n", view.hostname)),
            ("/etc/resolv.conf".to_string(), format!("# nubo's DNS: the names of load balancers and instances\nnameserver {}\n", Ipv4Addr::from(nubo_sandbox::METADATA_ADDRESS))),
            ("/etc/hosts".to_string(), format!("127.0.0.1   localhost localhost.localdomain\n::1         localhost6 localhost6.localdomain6\n{}  {} {short}\n169.254.169.254  instance-data.ec2.internal instance-data\n", i.private_ip, view.hostname)),
            // The AWS CLI and SDKs inside call nubo with no configuration; credentials come from the metadata service.
            ("/root/.aws/config".to_string(), format!("[default]\nregion = {}\nendpoint_url = {api_url}\n", scope.region)),
            ("/etc/profile.d/nubo.sh".to_string(), env.iter().map(|(k, v)| format!("export {k}={v}\n")).collect()),
        ];
        let itype = crate::images::instance_type(&i.instance_type);
        let vcpus = itype.map(|t| t.1 as u32).unwrap_or(1).max(1);
        let limits = Limits { vcpus, memory_bytes: itype.map(|t| t.2 as u64).unwrap_or(1024) * 1024 * 1024, pids: 4096 };
        let mut spec = BootSpec {
            instance_id: i.id.clone(),
            isolated: true,
            hostname: view.hostname.clone(),
            private_ip: i.private_ip.clone(),
            lower: vec![PathBuf::from("/")],
            volume: self.volume_dir(&i.root_volume_id),
            rootfs: dir.join("rootfs"),
            user_data,
            cgroups: Vec::new(),
            env,
            files,
        };
        let me = Arc::downgrade(self);
        let (id, boots) = (i.id.clone(), i.boots);
        let on_exit = Box::new(move |exit: Exit| {
            if let Some(me) = me.upgrade() {
                me.ended.lock().unwrap().push(Ended { id, boots, exit });
                me.poke();
            }
        });
        let machine = self.driver.boot(&mut spec, netns, limits, &dir.join("console.log"), on_exit)?;
        let cpu = machine.cpu_nanos();
        Ok(Running { scope: scope.clone(), machine, boots: i.boots, metadata, services, published: HashMap::new(), vcpus, cpu_sample: Mutex::new((cpu, Instant::now())) })
    }

    /// Keeps a machine's listeners on its public address equal to what its groups allow.
    fn publish(self: &Arc<Self>, r: &mut Running, i: &InstanceRecord, groups: &[SecurityGroupRecord]) {
        let host: Option<Ipv4Addr> = i.public_ip.as_deref().and_then(|ip| ip.parse().ok()).filter(|ip: &Ipv4Addr| ip.is_loopback());
        let wanted: BTreeSet<(Ipv4Addr, u16)> = match host {
            Some(host) => ports::allowed(i, groups, &ports::listening(r.machine.pid())).into_iter().map(|p| (host, p)).collect(),
            None => BTreeSet::new(),
        };
        r.published.retain(|key, task| {
            let keep = wanted.contains(key) && !task.is_finished();
            if !keep {
                task.abort();
            }
            keep
        });
        for key in wanted {
            if r.published.contains_key(&key) {
                continue;
            }
            match std::net::TcpListener::bind(key).and_then(|l| l.set_nonblocking(true).map(|_| l)).and_then(tokio::net::TcpListener::from_std_in_runtime) {
                Ok(listener) => {
                    let me = Arc::downgrade(self);
                    let id = i.id.clone();
                    let target = SocketAddr::from((i.private_ip.parse::<Ipv4Addr>().unwrap_or(Ipv4Addr::LOCALHOST), key.1));
                    r.published.insert(key, tokio_spawn(async move {
                        loop {
                            let Ok((inbound, _)) = listener.accept().await else { continue };
                            let Some(runtime) = me.upgrade() else { return };
                            let id = id.clone();
                            tokio::spawn(async move {
                                if let Ok(outbound) = runtime.connect(&id, target).await {
                                    splice(inbound, outbound).await;
                                }
                            });
                        }
                    }));
                }
                Err(e) => tracing::warn!("cannot publish port {} of {} on {}: {e}", key.1, i.id, key.0),
            }
        }
    }

    /// A connection into an instance's network, as from its subnet: what published
    /// ports, load balancers and the instance's own neighbours use.
    pub async fn connect(&self, instance_id: &str, target: SocketAddr) -> std::io::Result<tokio::net::TcpStream> {
        let socket = {
            let machines = self.machines.lock().unwrap();
            let r = machines.get(instance_id).ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "the instance is not running"))?;
            match &r.machine.netns {
                Some(ns) => Some(ns.socket()?),
                None => None,
            }
        };
        match socket {
            Some(s) => tokio::net::TcpSocket::from_std_stream(s).connect(target).await,
            // Without namespaces the instance listens on the host itself.
            None => tokio::net::TcpStream::connect(SocketAddr::from((Ipv4Addr::LOCALHOST, target.port()))).await,
        }
    }

    /// A UDP socket in an instance's network (non-blocking), to exchange datagrams with
    /// its private address; without namespaces, one on the host's loopback.
    pub fn udp(&self, instance_id: &str) -> std::io::Result<std::net::UdpSocket> {
        let machines = self.machines.lock().unwrap();
        let r = machines.get(instance_id).ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "the instance is not running"))?;
        let socket = match &r.machine.netns {
            Some(ns) => ns.run(|| std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)))?,
            None => std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?,
        };
        socket.set_nonblocking(true)?;
        Ok(socket)
    }

    /// CPU and status of every running machine since the last call, for AWS/EC2 metrics.
    pub fn samples(&self, impaired: &[(Scope, String)]) -> Vec<Sample> {
        let machines = self.machines.lock().unwrap();
        let mut out: Vec<Sample> = machines
            .iter()
            .map(|(id, r)| {
                let used = r.machine.cpu_nanos();
                let mut last = r.cpu_sample.lock().unwrap();
                let elapsed = last.1.elapsed().as_nanos() as f64;
                let percent = (elapsed > 0.0).then(|| (used.saturating_sub(last.0) as f64 / elapsed / f64::from(r.vcpus) * 100.0).clamp(0.0, 100.0));
                *last = (used, Instant::now());
                Sample { scope: r.scope.clone(), instance_id: id.clone(), cpu_percent: percent, status_check_failed: false, group: None }
            })
            .collect();
        out.extend(impaired.iter().map(|(scope, id)| Sample { scope: scope.clone(), instance_id: id.clone(), cpu_percent: Some(0.0), status_check_failed: true, group: None }));
        out
    }
}

fn tokio_spawn<F: std::future::Future<Output = ()> + Send + 'static>(f: F) -> JoinHandle<()> {
    tokio::runtime::Handle::current().spawn(f)
}

trait FromStdInRuntime: Sized {
    fn from_std_in_runtime(l: std::net::TcpListener) -> std::io::Result<Self>;
}

impl FromStdInRuntime for tokio::net::TcpListener {
    fn from_std_in_runtime(l: std::net::TcpListener) -> std::io::Result<Self> {
        let _guard = tokio::runtime::Handle::current().enter();
        tokio::net::TcpListener::from_std(l)
    }
}

/// Forwards every connection to `listener` to `to` (the guest's way to nubo's API).
async fn forward_all(listener: tokio::net::TcpListener, to: SocketAddr) {
    loop {
        let Ok((inbound, _)) = listener.accept().await else { continue };
        tokio::spawn(async move {
            if let Ok(outbound) = tokio::net::TcpStream::connect(to).await {
                splice(inbound, outbound).await;
            }
        });
    }
}

async fn splice(mut a: tokio::net::TcpStream, mut b: tokio::net::TcpStream) {
    let _ = a.set_nodelay(true);
    let _ = b.set_nodelay(true);
    let _ = tokio::io::copy_bidirectional(&mut a, &mut b).await;
}

/// `account \0 region \0 id` → the scope.
fn scope_of(key: &[u8]) -> Option<Scope> {
    let mut parts = key.split(|b| *b == 0);
    let account = std::str::from_utf8(parts.next()?).ok()?;
    let region = std::str::from_utf8(parts.next()?).ok()?;
    Some(Scope::new(account.to_string(), region.to_string()))
}
