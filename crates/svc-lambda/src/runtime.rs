//! Execution environments: each is a process of the function's runtime (the host's
//! `python3` or `node` running nubo's bootstrap, or a custom runtime's own `bootstrap`),
//! sandboxed where nubo may create namespaces (nubo-sandbox's `function`), that speaks
//! the Lambda Runtime API to nubo. One HTTP server on a loopback port serves
//! that API for every environment, under a path prefix naming the environment, which is
//! what `AWS_LAMBDA_RUNTIME_API` tells the process.
//!
//! An environment runs one invocation at a time and is reused while warm; concurrent
//! invocations start more. One left idle for [`IDLE_LIMIT_MS`] of nubo's clock is stopped
//! ([`Runtime::reap`]), so the next invocation starts cold, as on AWS. Its stdout and stderr go to one pipe that is read, without
//! blocking, when an invocation ends: whatever the function printed before it answered
//! is in the pipe by then, so each invocation's log is exactly its own output.

use crate::error::{LambdaError, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, Notify};

/// How long an environment stays warm without an invocation.
pub const IDLE_LIMIT_MS: i64 = 10 * 60 * 1000;

const PYTHON_BOOTSTRAP: &str = include_str!("bootstrap/python.py");
const NODE_BOOTSTRAP: &str = include_str!("bootstrap/node.js");

/// How an invocation ended, as the environment reported it.
#[derive(Debug)]
pub enum Outcome {
    Response(Bytes),
    /// The function failed: the error document its runtime posted.
    Error(Bytes),
    /// The runtime could not initialize (import error, missing handler).
    InitError(Bytes),
    /// The process ended during the invocation.
    Exited(String),
    TimedOut,
}

/// What starting an environment needs.
pub struct Launch {
    /// Environments are shared by invocations with the same key (function and revision).
    pub key: String,
    /// The environment's log stream (`AWS_LAMBDA_LOG_STREAM_NAME`).
    pub stream: String,
    pub arn: String,
    pub runtime: String,
    pub handler: String,
    pub code_dir: PathBuf,
    /// The function's layers, extracted in order into one directory (its `/opt`).
    pub opt_dir: Option<PathBuf>,
    pub memory_mib: u64,
    /// Ephemeral storage: the size of `/tmp`.
    pub tmp_mib: u64,
    pub env: Vec<(String, String)>,
}

/// The result of one invocation.
pub struct Ran {
    pub outcome: Outcome,
    pub request_id: String,
    pub output: String,
    pub duration: Duration,
    /// Set when this invocation started the environment.
    pub init: Option<Duration>,
    /// The most memory the environment used so far, where its cgroup tells.
    pub max_memory_mib: Option<u64>,
    /// The log stream of the environment that ran it.
    pub stream: String,
}

struct Pending {
    request_id: String,
    payload: Bytes,
    deadline_ms: u128,
    arn: String,
    respond: oneshot::Sender<Outcome>,
}

struct Env {
    id: String,
    key: String,
    stream: String,
    /// Started for provisioned concurrency: kept however long it idles.
    provisioned: AtomicBool,
    pid: AtomicI32,
    queue: Mutex<VecDeque<Pending>>,
    arrived: Notify,
    current: Mutex<Option<(String, oneshot::Sender<Outcome>)>>,
    output: Mutex<Option<std::fs::File>>,
    dead: AtomicBool,
    /// When it last went idle, in milliseconds of nubo's clock.
    idle_since: AtomicI64,
    /// Its cgroup, when it is sandboxed.
    cgroup: Option<nubo_sandbox::cgroup::Cgroup>,
    /// Stopped while it waits for an event (changed under `queue`'s lock).
    frozen: AtomicBool,
}

impl Env {
    /// Whatever the process wrote since the last drain (never waits).
    fn drain(&self) -> String {
        let mut out = Vec::new();
        if let Some(f) = self.output.lock().unwrap().as_mut() {
            let mut buf = [0u8; 8192];
            while let Ok(n) = f.read(&mut buf) {
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Fails whatever is waiting on this environment.
    fn fail_all(&self, outcome: impl Fn() -> Outcome) {
        if let Some((_, tx)) = self.current.lock().unwrap().take() {
            let _ = tx.send(outcome());
        }
        for p in self.queue.lock().unwrap().drain(..) {
            let _ = p.respond.send(outcome());
        }
    }

    /// Ends the environment: its whole process group (the runtime and whatever it started).
    fn kill(&self) {
        self.dead.store(true, Ordering::SeqCst);
        self.signal(libc::SIGKILL);
    }

    /// Freezes or thaws the environment, as Lambda freezes one between invocations:
    /// nothing it left running (threads, timers, child processes) runs until the next
    /// event. Callers hold `queue`'s lock, so an event and a freeze never cross.
    fn set_frozen(&self, frozen: bool) {
        if self.frozen.swap(frozen, Ordering::SeqCst) != frozen {
            self.signal(if frozen { libc::SIGSTOP } else { libc::SIGCONT });
        }
    }

    /// Signals the environment's process group (each environment leads its own).
    fn signal(&self, signal: libc::c_int) {
        let pid = self.pid.load(Ordering::SeqCst);
        if pid > 0 {
            // SAFETY: signalling the process group of a child we started; the watcher reaps it.
            unsafe {
                if libc::kill(-pid, signal) != 0 {
                    libc::kill(pid, signal);
                }
            }
        }
    }
}

pub struct Runtime {
    clock: nubo_core::Clock,
    server: tokio::sync::OnceCell<SocketAddr>,
    envs: Mutex<HashMap<String, Arc<Env>>>,
    idle: Mutex<HashMap<String, Vec<Arc<Env>>>>,
    scratch: PathBuf,
}

impl Runtime {
    pub fn new(scratch: PathBuf, clock: nubo_core::Clock) -> Arc<Runtime> {
        Arc::new(Runtime { clock, server: Default::default(), envs: Default::default(), idle: Default::default(), scratch })
    }

    /// Stops the environments idle for `limit_ms` or more of nubo's clock; says how many.
    pub fn reap(&self, limit_ms: i64) -> usize {
        let now = self.clock.now().as_millis();
        let stale: Vec<Arc<Env>> =
            self.idle.lock().unwrap().values().flatten().filter(|e| !e.provisioned.load(Ordering::SeqCst) && now - e.idle_since.load(Ordering::SeqCst) >= limit_ms).cloned().collect();
        for env in &stale {
            self.retire_env(env);
        }
        stale.len()
    }

    pub fn scratch(&self) -> &PathBuf {
        &self.scratch
    }

    /// The Runtime API server's address, started on first use.
    async fn api(self: &Arc<Self>) -> Result<SocketAddr> {
        let me = self.clone();
        self.server
            .get_or_try_init(|| async move {
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| LambdaError::Service(format!("runtime API: {e}")))?;
                let addr = listener.local_addr().map_err(|e| LambdaError::Service(e.to_string()))?;
                tokio::spawn(async move {
                    loop {
                        let Ok((stream, _)) = listener.accept().await else { continue };
                        let me = me.clone();
                        tokio::spawn(async move {
                            let service = hyper::service::service_fn(move |req| {
                                let me = me.clone();
                                async move { Ok::<_, std::convert::Infallible>(me.serve(req).await) }
                            });
                            let _ = hyper::server::conn::http1::Builder::new().serve_connection(hyper_util::rt::TokioIo::new(stream), service).await;
                        });
                    }
                });
                Ok(addr)
            })
            .await
            .copied()
    }

    /// Runs one invocation in a warm environment of the function, or a new one.
    pub async fn invoke(self: &Arc<Self>, launch: &Launch, request_id: String, payload: Bytes, timeout: Duration) -> Result<Ran> {
        let started = Instant::now();
        let (env, init) = match self.take_idle(&launch.key) {
            Some(env) => (env, None),
            None => (self.spawn(launch).await?, Some(())),
        };
        let (tx, rx) = oneshot::channel();
        let deadline_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis() + timeout.as_millis();
        {
            let mut queue = env.queue.lock().unwrap();
            queue.push_back(Pending { request_id: request_id.clone(), payload, deadline_ms, arn: launch.arn.clone(), respond: tx });
            env.set_frozen(false);
        }
        env.arrived.notify_one();
        let outcome = match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(o)) => o,
            Ok(Err(_)) => Outcome::Exited("the environment went away".into()),
            Err(_) => Outcome::TimedOut,
        };
        let output = env.drain();
        let duration = started.elapsed();
        let max_memory_mib = env.cgroup.as_ref().and_then(|c| c.memory_peak()).map(|b| b.div_ceil(1024 * 1024));
        let stream = env.stream.clone();
        match outcome {
            Outcome::Response(_) | Outcome::Error(_) if !env.dead.load(Ordering::SeqCst) => self.put_idle(env),
            _ => self.retire_env(&env),
        }
        Ok(Ran { outcome, request_id, output, duration, init: init.map(|_| duration), max_memory_mib, stream })
    }

    /// Starts environments until `count` provisioned ones of the launch's key run, and
    /// keeps them idle and warm.
    pub async fn provision(self: &Arc<Self>, launch: &Launch, count: usize) -> Result<()> {
        let running = self.envs.lock().unwrap().values().filter(|e| e.key == launch.key && e.provisioned.load(Ordering::SeqCst) && !e.dead.load(Ordering::SeqCst)).count();
        for _ in running..count {
            let env = self.spawn(launch).await?;
            env.provisioned.store(true, Ordering::SeqCst);
            self.put_idle(env);
        }
        Ok(())
    }

    /// Provisioned environments of a key become ordinary ones (reaped once idle).
    pub fn unprovision(&self, key: &str) {
        for env in self.envs.lock().unwrap().values().filter(|e| e.key == key) {
            env.provisioned.store(false, Ordering::SeqCst);
        }
    }

    fn take_idle(&self, key: &str) -> Option<Arc<Env>> {
        let mut idle = self.idle.lock().unwrap();
        let pool = idle.get_mut(key)?;
        while let Some(env) = pool.pop() {
            if !env.dead.load(Ordering::SeqCst) {
                return Some(env);
            }
        }
        None
    }

    fn put_idle(&self, env: Arc<Env>) {
        env.idle_since.store(self.clock.now().as_millis(), Ordering::SeqCst);
        self.idle.lock().unwrap().entry(env.key.clone()).or_default().push(env);
    }

    fn retire_env(&self, env: &Arc<Env>) {
        env.kill();
        self.envs.lock().unwrap().remove(&env.id);
        if let Some(pool) = self.idle.lock().unwrap().get_mut(&env.key) {
            pool.retain(|e| e.id != env.id);
        }
    }

    /// Stops every environment of a function (its code or configuration changed, or it
    /// was deleted): keys start with the function's ARN.
    pub fn retire(&self, arn: &str) {
        let doomed: Vec<Arc<Env>> = self.envs.lock().unwrap().values().filter(|e| e.key.starts_with(arn)).cloned().collect();
        for env in doomed {
            env.fail_all(|| Outcome::Exited("the function was updated".into()));
            self.retire_env(&env);
        }
    }

    async fn spawn(self: &Arc<Self>, launch: &Launch) -> Result<Arc<Env>> {
        let addr = self.api().await?;
        let id = nubo_core::ids::random_string(b"0123456789abcdef", 32);
        let mut env = launch.env.clone();
        env.extend([("AWS_LAMBDA_RUNTIME_API".to_string(), format!("{addr}/{id}")), ("_HANDLER".to_string(), launch.handler.clone())]);
        let (command, cgroup) = if nubo_sandbox::function::available() { self.sandboxed(launch, &id, env)? } else { (self.unsandboxed(launch, &id, env)?, None) };
        let (read, write) = pipe().map_err(|e| LambdaError::Service(format!("pipe: {e}")))?;
        let mut command = command;
        // Its own process group: frozen, thawed and killed as one.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut command = tokio::process::Command::from(command);
        command
            .stdout(std::process::Stdio::from(write.try_clone().map_err(|e| LambdaError::Service(e.to_string()))?))
            .stderr(std::process::Stdio::from(write))
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|e| LambdaError::Service(format!("cannot start the {} runtime: {e}", launch.runtime)))?;
        let env = Arc::new(Env {
            id: id.clone(),
            key: launch.key.clone(),
            stream: launch.stream.clone(),
            provisioned: AtomicBool::new(false),
            pid: AtomicI32::new(child.id().map(|p| p as i32).unwrap_or(0)),
            queue: Default::default(),
            arrived: Notify::new(),
            current: Default::default(),
            output: Mutex::new(Some(std::fs::File::from(read))),
            dead: AtomicBool::new(false),
            idle_since: AtomicI64::new(0),
            cgroup: cgroup.clone(),
            frozen: AtomicBool::new(false),
        });
        self.envs.lock().unwrap().insert(id, env.clone());
        // The watcher reaps the process and fails what it was doing when it ends.
        let watched = env.clone();
        let me = self.clone();
        tokio::spawn(async move {
            let status = child.wait().await;
            watched.dead.store(true, Ordering::SeqCst);
            let why = match status {
                Ok(s) => match s.code() {
                    Some(code) => format!("exit status {code}"),
                    None => "signal: killed".to_string(),
                },
                Err(e) => e.to_string(),
            };
            watched.fail_all(|| Outcome::Exited(why.clone()));
            me.envs.lock().unwrap().remove(&watched.id);
            // The namespace is gone with its last process: its cgroup and upper layer can go.
            if let Some(cgroup) = cgroup {
                for _ in 0..200 {
                    if cgroup.remove() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            let _ = std::fs::remove_dir_all(me.scratch.join("envs").join(&watched.id));
            let _ = std::fs::remove_dir_all(me.scratch.join("tmp").join(&watched.id));
        });
        Ok(env)
    }

    /// For a Python or Node runtime: the interpreter, nubo's bootstrap script for it (a
    /// file on the host) and that script's name in `/var/runtime`. `None` for a custom
    /// runtime, whose package's own `bootstrap` runs.
    fn interpreter(&self, runtime: &str) -> Result<Option<(PathBuf, PathBuf, &'static str)>> {
        Ok(match runtime {
            r if r.starts_with("python") => Some((python(), PathBuf::from(self.bootstrap("python.py", PYTHON_BOOTSTRAP)?), "bootstrap.py")),
            r if r.starts_with("nodejs") => Some(("node".into(), PathBuf::from(self.bootstrap("node.js", NODE_BOOTSTRAP)?), "bootstrap.js")),
            _ => None,
        })
    }

    /// The runtime in a sandbox (function.rs of nubo-sandbox): code at `/var/task`,
    /// layers at `/opt`, the bootstrap at `/var/runtime`, a `/tmp` of its own.
    fn sandboxed(&self, launch: &Launch, id: &str, mut env: Vec<(String, String)>) -> Result<(std::process::Command, Option<nubo_sandbox::cgroup::Cgroup>)> {
        let mut binds = vec![(launch.code_dir.clone(), "/var/task".to_string())];
        let (program, args) = match self.interpreter(&launch.runtime)? {
            Some((program, script, name)) => {
                let guest = format!("/var/runtime/{name}");
                binds.push((script, guest.clone()));
                (program.display().to_string(), vec![guest])
            }
            None => ("/var/task/bootstrap".to_string(), Vec::new()),
        };
        if let Some(opt) = &launch.opt_dir {
            binds.push((opt.clone(), "/opt".into()));
            env.extend(crate::layers::opt_env(std::path::Path::new("/opt"), &launch.runtime, &host_path()));
        }
        env.extend([("LAMBDA_TASK_ROOT".to_string(), "/var/task".to_string()), ("LAMBDA_RUNTIME_DIR".to_string(), "/var/runtime".to_string())]);
        let mut spec = nubo_sandbox::function::FunctionSpec { dir: self.scratch.join("envs").join(id), binds, tmp_mib: launch.tmp_mib, program, args, cwd: "/var/task".into(), env, cgroups: Vec::new() };
        nubo_sandbox::function::command(&mut spec, &format!("lambda-{id}"), nubo_sandbox::function::limits(launch.memory_mib)).map_err(|e| LambdaError::Service(format!("cannot sandbox the {} runtime: {e}", launch.runtime)))
    }

    /// The runtime as a plain process of the host (where nubo cannot make namespaces):
    /// the code in its directory, layers where they were extracted (`NUBO_OPT`).
    fn unsandboxed(&self, launch: &Launch, id: &str, mut env: Vec<(String, String)>) -> Result<std::process::Command> {
        static WARNED: std::sync::Once = std::sync::Once::new();
        WARNED.call_once(|| tracing::warn!("Lambda functions run as plain processes of the host: nubo cannot create namespaces here (it needs root). They see the host's filesystem, layers are not at /opt (NUBO_OPT says where) and memory is not limited."));
        let (program, args): (PathBuf, Vec<String>) = match self.interpreter(&launch.runtime)? {
            Some((program, script, _)) => (program, vec![script.display().to_string()]),
            None => (launch.code_dir.join("bootstrap"), Vec::new()),
        };
        if let Some(opt) = &launch.opt_dir {
            env.extend(crate::layers::opt_env(opt, &launch.runtime, &host_path()));
        }
        let tmp = self.scratch.join("tmp").join(id);
        std::fs::create_dir_all(&tmp).map_err(|e| LambdaError::Service(e.to_string()))?;
        env.extend([("LAMBDA_TASK_ROOT".to_string(), launch.code_dir.display().to_string()), ("TMPDIR".to_string(), tmp.display().to_string())]);
        let mut command = std::process::Command::new(&program);
        command.args(&args).current_dir(&launch.code_dir).env_clear().envs(env).stdin(std::process::Stdio::null());
        Ok(command)
    }

    /// Writes a bootstrap script once per nubo process.
    fn bootstrap(&self, name: &str, text: &str) -> Result<String> {
        let path = self.scratch.join(name);
        if !path.exists() {
            std::fs::create_dir_all(&self.scratch).and_then(|_| std::fs::write(&path, text)).map_err(|e| LambdaError::Service(e.to_string()))?;
        }
        Ok(path.to_string_lossy().into_owned())
    }

    fn env(&self, id: &str) -> Option<Arc<Env>> {
        self.envs.lock().unwrap().get(id).cloned()
    }

    /// The Runtime API: `/<environment>/2018-06-01/runtime/...`.
    async fn serve(self: Arc<Self>, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let path = req.uri().path().to_string();
        let parts: Vec<&str> = path.trim_start_matches('/').splitn(4, '/').collect();
        let [env_id, "2018-06-01", "runtime", rest] = parts.as_slice() else { return reply(StatusCode::NOT_FOUND, r#"{"errorType":"NotFound"}"#) };
        let Some(env) = self.env(env_id) else { return reply(StatusCode::GONE, r#"{"errorType":"EnvironmentGone"}"#) };
        let method = req.method().clone();
        let error_type = req.headers().get("Lambda-Runtime-Function-Error-Type").and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let segments: Vec<&str> = rest.split('/').collect();
        match (method.as_str(), segments.as_slice()) {
            ("GET", ["invocation", "next"]) => loop {
                let next = {
                    let mut queue = env.queue.lock().unwrap();
                    let next = queue.pop_front();
                    if next.is_none() {
                        env.set_frozen(true);
                    }
                    next
                };
                if let Some(p) = next {
                    let resp = Response::builder()
                        .status(StatusCode::OK)
                        .header("Lambda-Runtime-Aws-Request-Id", &p.request_id)
                        .header("Lambda-Runtime-Deadline-Ms", p.deadline_ms.to_string())
                        .header("Lambda-Runtime-Invoked-Function-Arn", &p.arn)
                        .header("Lambda-Runtime-Trace-Id", format!("Root=1-{:08x}-{}", p.deadline_ms / 1000, &p.request_id.replace('-', "")[..24]))
                        .header("Content-Type", "application/json")
                        .body(Full::new(p.payload))
                        .unwrap_or_default();
                    *env.current.lock().unwrap() = Some((p.request_id, p.respond));
                    return resp;
                }
                env.arrived.notified().await;
            },
            ("POST", ["invocation", id, kind @ ("response" | "error")]) => {
                let mut current = env.current.lock().unwrap();
                match current.take() {
                    Some((rid, tx)) if rid == *id => {
                        let _ = tx.send(if *kind == "response" { Outcome::Response(body) } else { Outcome::Error(error_document(body, error_type)) });
                        reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
                    }
                    other => {
                        *current = other;
                        reply(StatusCode::BAD_REQUEST, r#"{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}"#)
                    }
                }
            }
            ("POST", ["init", "error"]) => {
                let document = error_document(body, error_type);
                env.fail_all(|| Outcome::InitError(document.clone()));
                reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
            }
            _ => reply(StatusCode::NOT_FOUND, r#"{"errorType":"NotFound"}"#),
        }
    }
}

/// The host's version of a runtime's language (`3.11.2`, `18.19.0`), asked once each.
fn host_version(language: &'static str) -> Option<String> {
    static VERSIONS: std::sync::OnceLock<Mutex<HashMap<&'static str, Option<String>>>> = std::sync::OnceLock::new();
    let mut known = VERSIONS.get_or_init(Default::default).lock().unwrap();
    known
        .entry(language)
        .or_insert_with(|| {
            let out = match language {
                "python" => std::process::Command::new(python()).args(["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"]).output(),
                _ => std::process::Command::new("node").arg("--version").output(),
            };
            out.ok().filter(|o| o.status.success()).and_then(|o| String::from_utf8(o.stdout).ok()).map(|v| v.trim().trim_start_matches('v').to_string())
        })
        .clone()
}

/// What nubo says when a function declares a runtime version the host does not have
/// (`python3.12` run by the host's Python 3.11): `None` when they agree.
pub fn version_note(runtime: &str) -> Option<String> {
    let (language, name, declared) = if let Some(v) = runtime.strip_prefix("python") {
        ("python", "Python", v.to_string())
    } else {
        ("node", "Node.js", runtime.strip_prefix("nodejs")?.trim_end_matches(".x").to_string())
    };
    let host = host_version(language);
    let agrees = host.as_deref().is_some_and(|h| h == declared || h.starts_with(&format!("{declared}.")));
    if agrees {
        return None;
    }
    let note = match host {
        Some(h) => format!("nubo: this function declares {runtime}; the host's {name} {h} runs it."),
        None => format!("nubo: this function declares {runtime}, but the host has no {name} to run it."),
    };
    static WARNED: std::sync::OnceLock<Mutex<std::collections::HashSet<String>>> = std::sync::OnceLock::new();
    if WARNED.get_or_init(Default::default).lock().unwrap().insert(runtime.to_string()) {
        tracing::warn!("{note}");
    }
    Some(note)
}

/// The host's PATH, where runtimes are found.
fn host_path() -> String {
    std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into())
}

/// The host's Python interpreter itself, found once: `python3` on the PATH is often a
/// version manager's shim (pyenv's costs 80 ms a start), and cold starts pay for it.
pub fn python() -> PathBuf {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON
        .get_or_init(|| {
            std::process::Command::new("python3")
                .args(["-c", "import sys; print(sys.executable)"])
                .output()
                .ok()
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .map(|s| PathBuf::from(s.trim()))
                .filter(|p| p.is_absolute())
                .unwrap_or_else(|| PathBuf::from("python3"))
        })
        .clone()
}

/// An error body as the invoker sees it: the runtime's document, or one made from the
/// error type header when the body is not JSON.
fn error_document(body: Bytes, error_type: Option<String>) -> Bytes {
    if serde_json::from_slice::<serde_json::Value>(&body).is_ok_and(|v| v.is_object()) {
        return body;
    }
    let doc = serde_json::json!({ "errorType": error_type.unwrap_or_else(|| "Unhandled".into()), "errorMessage": String::from_utf8_lossy(&body) });
    Bytes::from(doc.to_string())
}

fn reply(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    Response::builder().status(status).header("Content-Type", "application/json").body(Full::new(Bytes::from_static(body.as_bytes()))).unwrap_or_default()
}

/// A pipe whose read end never blocks; both ends close on exec except where given.
fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two fds we then own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both fds were just created and are owned by nothing else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: setting a flag on our own fd.
    unsafe {
        let flags = libc::fcntl(fds[0], libc::F_GETFL);
        libc::fcntl(fds[0], libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    Ok((read, write))
}
