//! The host side of a sandbox: drivers that boot a [`BootSpec`] into a running
//! [`Machine`], and tell when it ends and how ([`Exit`]).
//!
//! Every init is forked by one long-lived thread: a child asks the kernel to kill it when
//! the thread that forked it ends (`PR_SET_PDEATHSIG`), so nubo's end, even by kill -9,
//! ends every instance with it, and a thread pool retiring a thread ends nothing.

use crate::cgroup::{Cgroup, Limits};
use crate::netns::NetNs;
use crate::spec::BootSpec;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};

/// How a machine ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// The guest powered off.
    PowerOff,
    /// The guest rebooted.
    Reboot,
    /// The machine died on its own (its init failed or was killed).
    Crashed(String),
    /// The host stopped it.
    Killed,
}

/// A running sandbox.
pub struct Machine {
    /// The instance's network namespace (none under the process driver: it shares the host's).
    pub netns: Option<NetNs>,
    pub cgroup: Option<Cgroup>,
    /// The init outside the PID namespace (under the process driver, a process group leader).
    pid: i32,
    killed: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Machine {
    /// Ends the machine and everything in it.
    pub fn kill(&self) {
        self.killed.store(true, std::sync::atomic::Ordering::SeqCst);
        // The init's child, PID 1 inside, dies with it (parent-death signal), and the
        // kernel ends its namespace; without namespaces, the process group goes.
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(-self.pid), nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid), nix::sys::signal::Signal::SIGKILL);
    }

    /// The init's process id on the host (its `/proc/<pid>/net` is the machine's network).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// CPU time used so far by everything in the machine, in nanoseconds.
    pub fn cpu_nanos(&self) -> u64 {
        if let Some(n) = self.cgroup.as_ref().and_then(Cgroup::cpu_nanos) {
            return n;
        }
        tree_cpu_nanos(self.pid)
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        self.kill();
    }
}

pub trait Driver: Send + Sync {
    /// For logs and docs: `namespaces` or `processes`.
    fn name(&self) -> &'static str;
    /// The machine's network, made first so that what serves it (the metadata service)
    /// listens before anything in the machine runs. `None`: the host's own network.
    fn network(&self, private_ip: Ipv4Addr, mac: Option<[u8; 6]>) -> io::Result<Option<NetNs>>;
    /// Boots `spec` in `netns`; the console (stdout and stderr of the init) goes to
    /// `console`; `on_exit` is called once, from a thread of its own, when the machine ends.
    fn boot(&self, spec: &mut BootSpec, netns: Option<NetNs>, limits: Limits, console: &Path, on_exit: Box<dyn FnOnce(Exit) + Send>) -> io::Result<Machine>;
}

/// The best driver this host allows: namespaces where nubo may create them.
pub fn detect() -> Box<dyn Driver> {
    if Namespaces::available() {
        Cgroup::sweep();
        Box::new(Namespaces)
    } else {
        tracing::warn!(
            "instances run as plain processes of the host: nubo cannot create namespaces here (it needs root). \
             They share the host's filesystem, processes and network (two instances serving one port collide), \
             run without cgroup limits, and reach the metadata service through AWS_EC2_METADATA_SERVICE_ENDPOINT."
        );
        Box::new(Processes)
    }
}

/// Linux namespaces, an overlay root, cgroups.
pub struct Namespaces;

impl Namespaces {
    pub fn available() -> bool {
        static AVAILABLE: OnceLock<bool> = OnceLock::new();
        *AVAILABLE.get_or_init(|| nix::unistd::geteuid().is_root() && NetNs::create(Ipv4Addr::new(10, 0, 0, 1), None, Ipv4Addr::from(crate::METADATA_ADDRESS)).is_ok())
    }
}

fn spec_file(spec: &BootSpec, console: &Path) -> io::Result<std::path::PathBuf> {
    let path = console.with_file_name("boot.json");
    std::fs::write(&path, serde_json::to_vec(spec).map_err(io::Error::other)?)?;
    Ok(path)
}

fn console_file(console: &Path) -> io::Result<std::fs::File> {
    std::fs::OpenOptions::new().create(true).append(true).open(console)
}

impl Driver for Namespaces {
    fn name(&self) -> &'static str {
        "namespaces"
    }

    fn network(&self, private_ip: Ipv4Addr, mac: Option<[u8; 6]>) -> io::Result<Option<NetNs>> {
        NetNs::create(private_ip, mac, Ipv4Addr::from(crate::METADATA_ADDRESS)).map(Some)
    }

    fn boot(&self, spec: &mut BootSpec, netns: Option<NetNs>, limits: Limits, console: &Path, on_exit: Box<dyn FnOnce(Exit) + Send>) -> io::Result<Machine> {
        let netns = netns.ok_or_else(|| io::Error::other("a namespace machine needs its network"))?;
        let cgroup = match Cgroup::create(&spec.instance_id, limits) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!("{} runs without cgroup limits: {e}", spec.instance_id);
                None
            }
        };
        spec.cgroups = cgroup.as_ref().map(Cgroup::procs_files).unwrap_or_default();
        let spec_path = spec_file(spec, console)?;
        let out = console_file(console)?;
        let ns_fd = netns.fd().as_raw_fd();
        let mut command = Command::new(std::env::current_exe()?);
        command.arg(crate::INIT_COMMAND).arg(&spec_path).env_clear().stdin(Stdio::null()).stdout(out.try_clone()?).stderr(out);
        // SAFETY: only async-signal-safe system calls between fork and exec.
        unsafe {
            command.pre_exec(move || {
                if libc::setns(ns_fd, libc::CLONE_NEWNET) != 0
                    || libc::unshare(libc::CLONE_NEWNS | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC | libc::CLONE_NEWPID) != 0
                    || libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0
                {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = spawn(command)?;
        Ok(watch(child, netns.into(), cgroup, on_exit))
    }
}

/// Plain processes of the host: the fallback where namespaces cannot be made.
pub struct Processes;

impl Driver for Processes {
    fn name(&self) -> &'static str {
        "processes"
    }

    fn network(&self, _private_ip: Ipv4Addr, _mac: Option<[u8; 6]>) -> io::Result<Option<NetNs>> {
        Ok(None)
    }

    fn boot(&self, spec: &mut BootSpec, _netns: Option<NetNs>, _limits: Limits, console: &Path, on_exit: Box<dyn FnOnce(Exit) + Send>) -> io::Result<Machine> {
        spec.isolated = false;
        let spec_path = spec_file(spec, console)?;
        let out = console_file(console)?;
        let mut command = Command::new(std::env::current_exe()?);
        command.arg(crate::INIT_COMMAND).arg(&spec_path).env_clear().stdin(Stdio::null()).stdout(out.try_clone()?).stderr(out);
        // SAFETY: async-signal-safe system calls only.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() < 0 || libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = spawn(command)?;
        Ok(watch(child, None, None, on_exit))
    }
}

type Job = (Command, mpsc::Sender<io::Result<Child>>);

/// Forks on the one thread that lives as long as nubo.
fn spawn(command: Command) -> io::Result<Child> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("nubo-sandbox-spawner".into())
            .spawn(move || {
                for (mut command, reply) in rx {
                    let _ = reply.send(command.spawn());
                }
            })
            .expect("the spawner thread starts");
        Mutex::new(tx)
    });
    let (reply, answer) = mpsc::channel();
    spawner.lock().unwrap().send((command, reply)).map_err(|_| io::Error::other("the spawner thread is gone"))?;
    answer.recv().map_err(|_| io::Error::other("the spawner thread is gone"))?
}

fn watch(mut child: Child, netns: Option<NetNs>, cgroup: Option<Cgroup>, on_exit: Box<dyn FnOnce(Exit) + Send>) -> Machine {
    let pid = child.id() as i32;
    let killed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let was_killed = killed.clone();
    let group = cgroup.clone();
    std::thread::spawn(move || {
        let status = child.wait();

        let exit = if was_killed.load(std::sync::atomic::Ordering::SeqCst) {
            Exit::Killed
        } else {
            match status.map(|s| (s.code(), s)) {
                Ok((Some(crate::exit_code::POWEROFF), _)) => Exit::PowerOff,
                Ok((Some(crate::exit_code::REBOOT), _)) => Exit::Reboot,
                Ok((_, s)) => Exit::Crashed(s.to_string()),
                Err(e) => Exit::Crashed(e.to_string()),
            }
        };
        on_exit(exit);
        // The group empties as the kernel tears the PID namespace down.
        if let Some(group) = group {
            for _ in 0..200 {
                if group.remove() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
    });
    Machine { netns, cgroup, pid, killed }
}

/// CPU time of a process and its descendants, from /proc (utime + stime, clock ticks).
fn tree_cpu_nanos(root: i32) -> u64 {
    let tick = 1_000_000_000 / (nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok().flatten().unwrap_or(100) as u64);
    let mut children: std::collections::HashMap<i32, Vec<i32>> = Default::default();
    let mut cpu: std::collections::HashMap<i32, u64> = Default::default();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        let Some(rest) = stat.rsplit_once(") ").map(|(_, r)| r) else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // After the command: state(0) ppid(1) ... utime(11) stime(12).
        let (Some(ppid), Some(u), Some(s)) = (fields.get(1).and_then(|v| v.parse().ok()), fields.get(11).and_then(|v| v.parse::<u64>().ok()), fields.get(12).and_then(|v| v.parse::<u64>().ok())) else { continue };
        children.entry(ppid).or_default().push(pid);
        cpu.insert(pid, (u + s) * tick);
    }
    let mut total = 0;
    let mut stack = vec![root];
    while let Some(p) = stack.pop() {
        total += cpu.get(&p).copied().unwrap_or(0);
        stack.extend(children.get(&p).into_iter().flatten());
    }
    total
}
