//! The instance's init: nubo's binary, started by the host in new mount, UTS and IPC
//! namespaces, inside the instance's network namespace, with a new PID namespace for
//! its children.
//!
//! It forks once: the parent stays outside and ends as the instance ends (its exit
//! status is how the host learns of a poweroff, a reboot or a crash); the child is PID 1.
//! PID 1 mounts the overlay root, pivots into it, writes the files the host gave it,
//! installs the guest tools, runs user data at the first boot (its output to the console
//! and `/var/log/cloud-init-output.log`, as cloud-init does), starts the services the
//! guest enabled, then reaps orphans until the guest powers off or reboots (signals from
//! the guest tools) or the host kills it. When PID 1 ends, the kernel ends everything
//! in its namespace.

use crate::spec::BootSpec;
use crate::{exit_code, guest};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where cloud-init keeps the per-instance marker: user data runs once per instance (an
/// instance launched from an AMI made of this one runs its own).
fn user_data_marker(instance_id: &str) -> String {
    format!("/var/lib/cloud/instances/{instance_id}/sem/config_scripts_user")
}
const USER_DATA_SCRIPT: &str = "/var/lib/cloud/instance/scripts/part-001";
const USER_DATA_LOG: &str = "/var/log/cloud-init-output.log";

/// `nubo __sandbox-init <spec.json>`: returns the exit status.
pub fn main(spec_path: &str) -> i32 {
    let spec: BootSpec = match std::fs::read(spec_path).map_err(|e| e.to_string()).and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string())) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("nubo init: cannot read {spec_path}: {e}");
            return 1;
        }
    };
    for file in &spec.cgroups {
        let _ = std::fs::write(file, std::process::id().to_string());
    }
    if !spec.isolated {
        return match unisolated(&spec) {
            Ok(code) => code,
            Err(e) => {
                println!("nubo init: {e}");
                1
            }
        };
    }
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/proc/self/exe"));
    // SAFETY: the process is single-threaded here (nothing has spawned a thread yet).
    match unsafe { fork() } {
        Ok(ForkResult::Parent { child }) => loop {
            match waitpid(child, None) {
                Ok(WaitStatus::Exited(_, code)) => return code,
                Ok(WaitStatus::Signaled(_, signal, _)) => return 128 + signal as i32,
                Err(nix::errno::Errno::EINTR) | Ok(_) => continue,
                Err(_) => return 1,
            }
        },
        Ok(ForkResult::Child) => {
            let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
            match pid1(&spec, &exe) {
                Ok(code) => code,
                Err(e) => {
                    println!("nubo init: {e}");
                    1
                }
            }
        }
        Err(e) => {
            eprintln!("nubo init: fork: {e}");
            1
        }
    }
}

fn err(what: &str) -> impl Fn(nix::errno::Errno) -> io::Error + '_ {
    move |e| io::Error::other(format!("{what}: {e}"))
}

fn pid1(spec: &BootSpec, exe: &Path) -> io::Result<i32> {
    BOOTED.get_or_init(std::time::Instant::now);
    let user_data = spec.user_data.as_ref().map(std::fs::read).transpose()?;
    let root = &spec.rootfs;
    mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None::<&str>).map_err(err("making mounts private"))?;
    for dir in [spec.upper(), spec.work(), root.clone()] {
        std::fs::create_dir_all(dir)?;
    }
    let lower: Vec<String> = spec.lower.iter().map(|p| p.display().to_string()).collect();
    let options = format!("lowerdir={},upperdir={},workdir={}", lower.join(":"), spec.upper().display(), spec.work().display());
    mount(Some("overlay"), root, Some("overlay"), MsFlags::empty(), Some(options.as_str())).map_err(err("mounting the root overlay"))?;
    nix::unistd::sethostname(&spec.hostname).map_err(err("setting the host name"))?;
    mount_system(root)?;
    // nubo's binary, for the guest tools.
    let guest_binary = root.join(crate::GUEST_BINARY.trim_start_matches('/'));
    std::fs::create_dir_all(guest_binary.parent().expect("has a parent"))?;
    std::fs::write(&guest_binary, b"")?;
    mount(Some(exe), &guest_binary, None::<&str>, MsFlags::MS_BIND, None::<&str>).map_err(err("binding nubo"))?;
    let _ = mount(None::<&str>, &guest_binary, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY, None::<&str>);
    // Into the instance's root; the host's is detached for good.
    nix::unistd::chdir(root).map_err(err("entering the root"))?;
    nix::unistd::pivot_root(".", ".").map_err(err("pivot_root"))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(err("detaching the host's root"))?;
    nix::unistd::chdir("/").map_err(err("chdir /"))?;

    for (path, text) in &spec.files {
        let path = Path::new(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        // The host's file may be a link (/etc/resolv.conf to systemd's): the guest gets its own.
        if path.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink()) {
            std::fs::remove_file(path)?;
        }
        std::fs::write(path, text)?;
    }
    guest::install()?;
    let env = guest_env(spec);

    // Signals wait in the mask before any thread exists, so that only this loop takes them.
    let signals = signal_set();
    signals.thread_block().map_err(err("blocking signals"))?;
    let mut script = None;
    let marker = user_data_marker(&spec.instance_id);
    if let Some(data) = user_data.filter(|_| !Path::new(&marker).exists()) {
        script = run_user_data(&data, &env, &marker)?;
    }
    guest::start_enabled(&env);
    loop {
        match signals.wait().map_err(err("sigwait"))? {
            Signal::SIGCHLD => reap(&mut script),
            Signal::SIGUSR2 => return Ok(exit_code::REBOOT),
            _ => return Ok(exit_code::POWEROFF),
        }
    }
}

/// `/proc` of the new PID namespace, a small `/dev`, `/sys` read-only, a fresh `/run`.
pub(crate) fn mount_system(root: &Path) -> io::Result<()> {
    let at = |p: &str| root.join(p);
    let none = None::<&str>;
    std::fs::create_dir_all(at("proc"))?;
    mount(Some("proc"), &at("proc"), Some("proc"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC, none).map_err(err("mounting /proc"))?;
    std::fs::create_dir_all(at("dev"))?;
    mount(Some("tmpfs"), &at("dev"), Some("tmpfs"), MsFlags::MS_NOSUID, Some("mode=755,size=65536k")).map_err(err("mounting /dev"))?;
    for device in ["null", "zero", "full", "random", "urandom", "tty"] {
        let target = at("dev").join(device);
        std::fs::write(&target, b"")?;
        let _ = mount(Some(Path::new("/dev").join(device).as_path()), &target, none, MsFlags::MS_BIND, none);
    }
    for (link, to) in [("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"), ("ptmx", "pts/ptmx")] {
        let _ = std::os::unix::fs::symlink(to, at("dev").join(link));
    }
    std::fs::create_dir_all(at("dev/pts"))?;
    let _ = mount(Some("devpts"), &at("dev/pts"), Some("devpts"), MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC, Some("newinstance,ptmxmode=0666,mode=620"));
    std::fs::create_dir_all(at("dev/shm"))?;
    let _ = mount(Some("shm"), &at("dev/shm"), Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV, Some("mode=1777"));
    std::fs::create_dir_all(at("sys"))?;
    let _ = mount(Some("sysfs"), &at("sys"), Some("sysfs"), MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC, none);
    std::fs::create_dir_all(at("run"))?;
    mount(Some("tmpfs"), &at("run"), Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV, Some("mode=755")).map_err(err("mounting /run"))?;
    Ok(())
}

fn signal_set() -> SigSet {
    let mut set = SigSet::empty();
    for s in [Signal::SIGCHLD, Signal::SIGUSR1, Signal::SIGUSR2, Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP, Signal::SIGPWR] {
        set.add(s);
    }
    set
}

fn guest_env(spec: &BootSpec) -> Vec<(String, String)> {
    let mut env = vec![
        ("PATH".to_string(), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string()),
        ("HOME".to_string(), "/root".to_string()),
        ("USER".to_string(), "root".to_string()),
        ("LANG".to_string(), "C.UTF-8".to_string()),
        ("TERM".to_string(), "linux".to_string()),
    ];
    env.extend(spec.env.iter().cloned());
    env
}

/// When this boot began: the machine's uptime counts from here (the host's /proc/uptime
/// would tell the host's).
static BOOTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

fn uptime() -> String {
    format!("{:.2}", BOOTED.get_or_init(std::time::Instant::now).elapsed().as_secs_f64())
}

/// Starts user data as cloud-init does (a `#!` script as itself, anything else with
/// `/bin/sh`), after marking it run: a stop in the middle does not run it again.
fn run_user_data(data: &[u8], env: &[(String, String)], marker: &str) -> io::Result<Option<(Pid, std::time::Instant)>> {
    use std::os::unix::fs::PermissionsExt;
    for path in [marker, USER_DATA_SCRIPT] {
        std::fs::create_dir_all(Path::new(path).parent().expect("has a parent"))?;
    }
    std::fs::write(marker, b"")?;
    std::fs::write("/var/lib/cloud/instance/user-data.txt", data)?;
    if data.starts_with(b"#cloud-config") {
        println!("Cloud-init v. 22.2.2 running 'modules:final': #cloud-config user data is kept in /var/lib/cloud/instance/user-data.txt, not applied by nubo.");
        return Ok(None);
    }
    std::fs::write(USER_DATA_SCRIPT, data)?;
    std::fs::set_permissions(USER_DATA_SCRIPT, std::fs::Permissions::from_mode(0o700))?;
    println!("Cloud-init v. 22.2.2 running 'modules:final'. Up {} seconds.", uptime());
    let mut command = if data.starts_with(b"#!") {
        Command::new(USER_DATA_SCRIPT)
    } else {
        let mut c = Command::new("/bin/sh");
        c.arg(USER_DATA_SCRIPT);
        c
    };
    let (mut reader, writer) = io::pipe()?;
    let started = std::time::Instant::now();
    let child = command
        .env_clear()
        .envs(env.iter().cloned())
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer)
        .spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) => {
            println!("cloud-init: running user data failed: {e}");
            return Ok(None);
        }
    };
    let pid = Pid::from_raw(child.id() as i32);
    drop(command);
    std::thread::spawn(move || {
        let mut log = std::fs::OpenOptions::new().create(true).append(true).open(USER_DATA_LOG).ok();
        let mut buf = [0u8; 8192];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let _ = io::stdout().write_all(&buf[..n]);
                    let _ = io::stdout().flush();
                    if let Some(l) = log.as_mut() {
                        let _ = l.write_all(&buf[..n]);
                    }
                }
            }
        }
    });
    Ok(Some((pid, started)))
}

/// Reaps every child that ended; the user data's end is reported as cloud-init does.
fn reap(script: &mut Option<(Pid, std::time::Instant)>) {
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(_) => return,
            Ok(status) => {
                if let Some((pid, started)) = *script {
                    if status.pid() == Some(pid) {
                        if let WaitStatus::Exited(_, code) = status {
                            if code != 0 {
                                println!("cloud-init: user data script exited with status {code}");
                            }
                        }
                        println!("Cloud-init v. 22.2.2 finished. Datasource DataSourceEc2Local. Up {} seconds (user data ran {:.2} s)", uptime(), started.elapsed().as_secs_f64());
                        let _ = std::fs::write("/var/lib/cloud/instance/boot-finished", uptime());
                        *script = None;
                    }
                }
            }
        }
    }
}

/// Without namespaces: user data runs as a plain process of the host, in the volume's
/// directory, once; nothing else of a machine is there.
fn unisolated(spec: &BootSpec) -> io::Result<i32> {
    let marker = spec.volume.join("user-data-ran");
    let data = spec.user_data.as_ref().map(std::fs::read).transpose()?;
    std::fs::create_dir_all(&spec.volume)?;
    if let Some(data) = data.filter(|_| !marker.exists()) {
        std::fs::write(&marker, b"")?;
        let script = spec.volume.join("user-data");
        std::fs::write(&script, &data)?;
        println!("Cloud-init v. 22.2.2 running 'modules:final' (no isolation: a process of the host)");
        let status = Command::new("/bin/sh").arg(&script).env_clear().envs(guest_env(spec)).current_dir(&spec.volume).stdin(Stdio::null()).status()?;
        println!("Cloud-init v. 22.2.2 finished with {status}");
    }
    // The machine lives until the host stops it.
    loop {
        std::thread::park();
    }
}
