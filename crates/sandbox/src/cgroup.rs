//! Cgroup limits and CPU accounting for an instance: CPU quota from its vCPUs, memory
//! from its instance type, a process count. Works on cgroup v2 (one unified hierarchy)
//! and v1 (a hierarchy per controller), whichever the host mounts; where neither can be
//! written, an instance runs without limits and its CPU is read from /proc instead.

use std::io;
use std::path::{Path, PathBuf};

const ROOT: &str = "/sys/fs/cgroup";
const PERIOD_US: u64 = 100_000;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub vcpus: u32,
    pub memory_bytes: u64,
    pub pids: u32,
}

#[derive(Debug, Clone)]
pub struct Cgroup {
    /// The directories created, one per hierarchy (one on v2).
    dirs: Vec<PathBuf>,
    /// Where CPU time is read, and how (v2: `cpu.stat` in µs; v1: `cpuacct.usage` in ns).
    cpu: Option<(PathBuf, bool)>,
}

impl Cgroup {
    /// Creates `nubo/<name>` with `limits` in every hierarchy there is.
    pub fn create(name: &str, limits: Limits) -> io::Result<Cgroup> {
        let root = Path::new(ROOT);
        if root.join("cgroup.controllers").exists() {
            let parent = root.join("nubo");
            std::fs::create_dir_all(&parent)?;
            // Controllers must be delegated down to the instance's group.
            let _ = std::fs::write(root.join("cgroup.subtree_control"), "+cpu +memory +pids");
            let _ = std::fs::write(parent.join("cgroup.subtree_control"), "+cpu +memory +pids");
            let dir = parent.join(name);
            std::fs::create_dir_all(&dir)?;
            let _ = std::fs::write(dir.join("cpu.max"), format!("{} {PERIOD_US}", u64::from(limits.vcpus) * PERIOD_US));
            let _ = std::fs::write(dir.join("memory.max"), limits.memory_bytes.to_string());
            let _ = std::fs::write(dir.join("pids.max"), limits.pids.to_string());
            return Ok(Cgroup { cpu: Some((dir.join("cpu.stat"), true)), dirs: vec![dir] });
        }
        let mut group = Cgroup { dirs: Vec::new(), cpu: None };
        let mut settings: Vec<(&str, Vec<(&str, String)>)> = vec![
            ("cpu", vec![("cpu.cfs_period_us", PERIOD_US.to_string()), ("cpu.cfs_quota_us", (u64::from(limits.vcpus) * PERIOD_US).to_string())]),
            ("cpuacct", Vec::new()),
            ("memory", vec![("memory.limit_in_bytes", limits.memory_bytes.to_string())]),
            ("pids", vec![("pids.max", limits.pids.to_string())]),
        ];
        // Some hosts mount cpu and cpuacct together.
        if !root.join("cpuacct").exists() && root.join("cpu,cpuacct").exists() {
            settings[0].0 = "cpu,cpuacct";
            settings.remove(1);
        }
        for (controller, values) in settings {
            let hierarchy = root.join(controller);
            if !hierarchy.join("cgroup.procs").exists() {
                continue;
            }
            let dir = hierarchy.join("nubo").join(name);
            std::fs::create_dir_all(&dir)?;
            for (file, value) in values {
                let _ = std::fs::write(dir.join(file), value);
            }
            if dir.join("cpuacct.usage").exists() {
                group.cpu = Some((dir.join("cpuacct.usage"), false));
            }
            group.dirs.push(dir);
        }
        if group.dirs.is_empty() {
            return Err(io::Error::new(io::ErrorKind::Unsupported, "no cgroup hierarchy is mounted"));
        }
        Ok(group)
    }

    /// The `cgroup.procs` files a process writes its pid into to join.
    pub fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|d| d.join("cgroup.procs")).collect()
    }

    /// CPU time used by everything in the group so far, in nanoseconds.
    pub fn cpu_nanos(&self) -> Option<u64> {
        let (file, v2) = self.cpu.as_ref()?;
        let text = std::fs::read_to_string(file).ok()?;
        if *v2 {
            let usec = text.lines().find_map(|l| l.strip_prefix("usage_usec "))?;
            usec.trim().parse::<u64>().ok().map(|u| u * 1000)
        } else {
            text.trim().parse().ok()
        }
    }

    /// The most memory the group's processes used at once, in bytes (the current use
    /// where the kernel keeps no peak).
    pub fn memory_peak(&self) -> Option<u64> {
        let read = |file: PathBuf| std::fs::read_to_string(file).ok()?.trim().parse::<u64>().ok();
        self.dirs.iter().find_map(|d| read(d.join("memory.peak")).or_else(|| read(d.join("memory.max_usage_in_bytes"))).or_else(|| read(d.join("memory.current"))))
    }

    /// Removes the groups of instances gone (left by a nubo that was killed): only an
    /// empty group can be removed, so a running nubo's are safe.
    pub fn sweep() {
        let root = Path::new(ROOT);
        let parents = [root.join("nubo")].into_iter().chain(["cpu", "cpuacct", "cpu,cpuacct", "memory", "pids"].iter().map(|c| root.join(c).join("nubo")));
        for parent in parents {
            for entry in std::fs::read_dir(parent).into_iter().flatten().flatten() {
                let _ = std::fs::remove_dir(entry.path());
            }
        }
    }

    /// Removes the group; it must be empty (its processes gone), so callers retry.
    pub fn remove(&self) -> bool {
        self.dirs.iter().all(|d| std::fs::remove_dir(d).is_ok() || !d.exists())
    }
}
