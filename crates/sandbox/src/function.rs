//! Lambda execution environments: a function's runtime process in its own mount and PID
//! namespaces, as an instance's init is, but lighter, since a cold start pays for every
//! step: new IPC and UTS namespaces cost about 8 ms each here (measured), so functions
//! share the host's, and the runtime joins its cgroup after it has started.
//!
//! The environment sees the host's root as the lower layer of an overlay whose upper
//! layer is thrown away with it (so nothing it writes reaches the host), its code
//! read-only at `/var/task`, its layers read-only at `/opt`, the runtime's bootstrap at
//! `/var/runtime`, and a `/tmp` of the function's ephemeral storage size. Memory size is
//! the cgroup's memory limit. It shares the host's network: the Runtime API and nubo's
//! own API are on loopback, as Lambda's are reachable from a function.
//!
//! Host side: [`command`] makes the `nubo __function-init <spec>` command. Inside,
//! [`main`] forks once: the parent stays outside and ends with the runtime's status (the
//! host kills it to stop the environment); the child is PID 1, builds the root, starts
//! the runtime and reaps orphans until the runtime ends.

use crate::cgroup::{Cgroup, Limits};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};
use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The subcommand of nubo's binary that builds an environment and runs its runtime.
pub const INIT_COMMAND: &str = "__function-init";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FunctionSpec {
    /// The environment's own directory: `root/` (the mount point), `upper/` and `work/`.
    pub dir: PathBuf,
    /// Host paths bound read-only at guest paths: the code at `/var/task`, the layers at
    /// `/opt`, the bootstrap under `/var/runtime`.
    pub binds: Vec<(PathBuf, String)>,
    /// The size of `/tmp`, in MiB.
    pub tmp_mib: u64,
    /// The runtime: a guest path and its arguments, started in `cwd` with `env` alone.
    pub program: String,
    pub args: Vec<String>,
    pub cwd: String,
    pub env: Vec<(String, String)>,
    /// `cgroup.procs` files the runtime joins.
    pub cgroups: Vec<PathBuf>,
}

/// Whether environments can be isolated on this host (root, namespaces).
pub fn available() -> bool {
    crate::launch::Namespaces::available()
}

/// The limits of an environment of `memory_mib`: CPU in proportion, as Lambda gives a
/// full vCPU at 1,769 MB.
pub fn limits(memory_mib: u64) -> Limits {
    Limits { vcpus: memory_mib.div_ceil(1769).clamp(1, 6) as u32, memory_bytes: memory_mib * 1024 * 1024, pids: 1024 }
}

/// The environment's cgroup (`None` where cgroups cannot be written: it runs unlimited)
/// and the command that starts it; the caller sets its stdout and stderr.
pub fn command(spec: &mut FunctionSpec, name: &str, limits: Limits) -> io::Result<(Command, Option<Cgroup>)> {
    let cgroup = match Cgroup::create(name, limits) {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!("{name} runs without cgroup limits: {e}");
            None
        }
    };
    spec.cgroups = cgroup.as_ref().map(Cgroup::procs_files).unwrap_or_default();
    std::fs::create_dir_all(&spec.dir)?;
    let spec_path = spec.dir.join("spec.json");
    std::fs::write(&spec_path, serde_json::to_vec(spec).map_err(io::Error::other)?)?;
    let mut command = Command::new(std::env::current_exe()?);
    command.arg(INIT_COMMAND).arg(&spec_path).env_clear().stdin(std::process::Stdio::null());
    // SAFETY: only async-signal-safe system calls between fork and exec.
    unsafe {
        use std::os::unix::process::CommandExt;
        command.pre_exec(|| {
            if libc::unshare(libc::CLONE_NEWNS | libc::CLONE_NEWPID) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    Ok((command, cgroup))
}

fn err(what: &str) -> impl Fn(nix::errno::Errno) -> io::Error + '_ {
    move |e| io::Error::other(format!("{what}: {e}"))
}

/// `nubo __function-init <spec.json>`: returns the runtime's exit status.
pub fn main(spec_path: &str) -> i32 {
    let spec: FunctionSpec = match std::fs::read(spec_path).map_err(|e| e.to_string()).and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string())) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("nubo: cannot read the environment's spec {spec_path}: {e}");
            return 1;
        }
    };
    // SAFETY: single-threaded here.
    match unsafe { fork() } {
        Ok(ForkResult::Parent { child }) => wait_for(child),
        Ok(ForkResult::Child) => {
            let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
            match pid1(&spec) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("nubo: the execution environment could not start: {e}");
                    1
                }
            }
        }
        Err(e) => {
            eprintln!("nubo: fork: {e}");
            1
        }
    }
}

fn wait_for(child: Pid) -> i32 {
    loop {
        match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, code)) => return code,
            Ok(WaitStatus::Signaled(_, signal, _)) => return 128 + signal as i32,
            Err(nix::errno::Errno::EINTR) | Ok(_) => continue,
            Err(_) => return 1,
        }
    }
}

fn pid1(spec: &FunctionSpec) -> io::Result<i32> {
    let root = spec.dir.join("root");
    let (upper, work) = (spec.dir.join("upper"), spec.dir.join("work"));
    mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None::<&str>).map_err(err("making mounts private"))?;
    for d in [&root, &upper, &work] {
        std::fs::create_dir_all(d)?;
    }
    let options = format!("lowerdir=/,upperdir={},workdir={}", upper.display(), work.display());
    mount(Some("overlay"), &root, Some("overlay"), MsFlags::empty(), Some(options.as_str())).map_err(err("mounting the root overlay"))?;
    crate::init::mount_system(&root)?;
    let tmp = root.join("tmp");
    std::fs::create_dir_all(&tmp)?;
    mount(Some("tmpfs"), &tmp, Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV, Some(format!("mode=1777,size={}m", spec.tmp_mib.max(1)).as_str())).map_err(err("mounting /tmp"))?;
    for (host, guest) in &spec.binds {
        bind_read_only(host, &root.join(guest.trim_start_matches('/')))?;
    }
    // Opened now: the host's cgroup files are out of sight after pivot_root.
    let cgroups: Vec<std::fs::File> = spec.cgroups.iter().filter_map(|f| std::fs::OpenOptions::new().write(true).open(f).ok()).collect();
    nix::unistd::chdir(&root).map_err(err("entering the root"))?;
    nix::unistd::pivot_root(".", ".").map_err(err("pivot_root"))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(err("detaching the host's root"))?;
    let runtime = Command::new(&spec.program).args(&spec.args).env_clear().envs(spec.env.iter().cloned()).current_dir(&spec.cwd).spawn()?;
    let runtime = Pid::from_raw(runtime.id() as i32);
    // The runtime joins the cgroup once started: moving a process takes the kernel about
    // 10 ms (an RCU grace period), which the runtime's own start-up then hides. What it
    // allocated before is charged to nubo's group, not the function's.
    for mut file in cgroups {
        use std::io::Write;
        let _ = file.write_all(runtime.to_string().as_bytes());
    }
    // PID 1 reaps whatever the runtime leaves behind; the environment ends with the runtime.
    loop {
        match waitpid(Pid::from_raw(-1), None) {
            Ok(WaitStatus::Exited(pid, code)) if pid == runtime => return Ok(code),
            Ok(WaitStatus::Signaled(pid, signal, _)) if pid == runtime => return Ok(128 + signal as i32),
            Err(nix::errno::Errno::ECHILD) => return Ok(1),
            _ => continue,
        }
    }
}

/// Binds a host file or directory read-only at `target` (made to match).
fn bind_read_only(host: &Path, target: &Path) -> io::Result<()> {
    if host.is_dir() {
        std::fs::create_dir_all(target)?;
    } else {
        std::fs::create_dir_all(target.parent().expect("a guest path has a parent"))?;
        std::fs::write(target, b"")?;
    }
    let none = None::<&str>;
    mount(Some(host), target, none, MsFlags::MS_BIND | MsFlags::MS_REC, none).map_err(err("binding into the environment"))?;
    mount(none, target, none, MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY, none).map_err(err("making a bind read-only"))
}
