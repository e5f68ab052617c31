//! What the host tells an instance's init: written as JSON beside the instance, read by
//! the init before it leaves the host's view of the filesystem.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BootSpec {
    pub instance_id: String,
    /// False under the process driver: no namespaces, no overlay, no guest tools.
    pub isolated: bool,
    /// The fully qualified host name (`ip-172-31-5-10.ec2.internal`).
    pub hostname: String,
    pub private_ip: String,
    /// The lower layers of the overlay, top first: the AMI's base root (`/` for the
    /// built-in AMIs). Overlayfs refuses a lower layer inside another, so data of
    /// snapshots is copied into volumes rather than stacked here.
    pub lower: Vec<PathBuf>,
    /// The root volume: the overlay's upper layer lives in `upper/`, its work dir in `work/`.
    pub volume: PathBuf,
    /// Where the overlay is mounted before the init pivots into it.
    pub rootfs: PathBuf,
    /// The decoded user data, a file on the host; run once, at the first boot.
    pub user_data: Option<PathBuf>,
    /// `cgroup.procs` files the init joins before anything runs.
    pub cgroups: Vec<PathBuf>,
    /// The environment of the guest's processes (besides PATH, HOME, ...).
    pub env: Vec<(String, String)>,
    /// Files the guest sees, (re)written at each boot: `/etc/hosts`, the AWS config, ...
    pub files: Vec<(String, String)>,
}

impl BootSpec {
    pub fn upper(&self) -> PathBuf {
        self.volume.join("upper")
    }

    pub fn work(&self) -> PathBuf {
        self.volume.join("work")
    }
}
