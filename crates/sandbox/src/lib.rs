//! Sandboxes: what makes an EC2 instance a real, isolated machine on the host.
//!
//! The host side ([`launch`]) picks a [`Driver`]: [`launch::Namespaces`] when nubo may
//! create namespaces (root, as in CI), [`launch::Processes`] otherwise, with a warning of
//! what is then not isolated. A namespace sandbox is a network namespace nubo owns
//! ([`netns`]: only a loopback interface carrying the instance's private address and the
//! metadata address), cgroup limits from the instance type ([`cgroup`]), and nubo's own
//! binary re-executed as the instance's init ([`init`]): it mounts an overlay whose lower
//! layer is the AMI's root and whose upper layer is the root volume, pivots into it,
//! becomes PID 1 of a new PID namespace, runs user data once and starts the services the
//! guest enabled. The guest tools ([`guest`]) stand in for `yum`, `apt-get`, `systemctl`
//! and a web server, since an instance has no package network.
//!
//! Lambda's execution environments use the same parts, lighter ([`function`]): mount and
//! PID namespaces, an overlay root thrown away with them, the code and layers bound
//! read-only, a memory limit.
//!
//! This crate knows nothing of EC2's API: svc-ec2's runtime decides what runs, this crate
//! makes it run.

pub mod cgroup;
pub mod function;
pub mod guest;
pub mod init;
pub mod launch;
pub mod layers;
pub mod netlink;
pub mod netns;
pub mod spec;

pub use launch::{Driver, Exit, Machine};
pub use spec::BootSpec;

/// The subcommand of nubo's binary that runs as an instance's init.
pub const INIT_COMMAND: &str = "__sandbox-init";
/// The subcommand that the guest tools (`yum`, `systemctl`, ...) call.
pub const GUEST_COMMAND: &str = "__guest";
/// Where the guest sees nubo's binary (bind-mounted read-only).
pub const GUEST_BINARY: &str = "/usr/lib/nubo/nubo";
/// The metadata service's address, inside an instance.
pub const METADATA_ADDRESS: [u8; 4] = [169, 254, 169, 254];
/// The port on the metadata address where an instance reaches nubo's API.
pub const API_PORT: u16 = 4566;

/// How an instance's init ends, as its exit status tells the host.
pub mod exit_code {
    /// The guest powered off (`poweroff`, `shutdown -h`, `halt`).
    pub const POWEROFF: i32 = 0;
    /// The guest rebooted (`reboot`).
    pub const REBOOT: i32 = 100;
}
