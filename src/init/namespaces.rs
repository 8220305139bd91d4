//! The namespaces the init enters: which are new and which joined by path (the plan brig
//! makes on the host, `process::namespaces`), and entering them in the first step of a
//! two-step spawn.
//!
//! The common case (nothing joined, no time namespace) is one clone with every new
//! namespace flag. Joining by path, or a new time namespace (which only children enter),
//! needs a plain fork first, setns/unshare in that child, and one more fork for the init.

use std::os::fd::{AsFd, OwnedFd};

use nix::sched::CloneFlags;
use oci_spec::runtime::LinuxNamespaceType;

use crate::support::error::{Context, Error, Result};

pub fn clone_flag(t: LinuxNamespaceType) -> CloneFlags {
    match t {
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        LinuxNamespaceType::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
    }
}

pub struct NamespacePlan {
    /// Namespaces to create.
    pub new: CloneFlags,
    /// Namespaces to join, opened by the parent (user first).
    pub joins: Vec<(CloneFlags, OwnedFd)>,
    /// `exec`: the container init whose namespaces these are.
    pub exec_into: Option<i32>,
    /// `linux.timeOffsets` as /proc/PID/timens_offsets takes them ("CLOCK SECS NANOSECS"
    /// lines); empty for none.
    pub time_offsets: String,
    /// brig is not root: a new user namespace's maps follow the unprivileged rules (see
    /// `write_maps`). Decided before the fork: in the child, geteuid() turns 0 as soon as
    /// the parent writes uid_map.
    pub unprivileged: bool,
}

impl NamespacePlan {
    pub fn two_step(&self) -> bool {
        !self.joins.is_empty() || self.new.contains(clone_flag(LinuxNamespaceType::Time))
    }

    /// Flags for the first clone. The cgroup namespace is always unshared later, after the
    /// process has joined its cgroup, so that the namespace's root is the container's cgroup.
    pub fn clone_flags(&self) -> CloneFlags {
        if self.two_step() {
            CloneFlags::empty()
        } else {
            self.new - CloneFlags::CLONE_NEWCGROUP
        }
    }

    pub fn new_user(&self) -> bool {
        self.new.contains(CloneFlags::CLONE_NEWUSER)
    }

    /// A new user namespace made by the clone itself (a one-step spawn): brig writes its
    /// id maps before it sends Go, not on the init's MapRequest.
    pub fn maps_before_go(&self) -> bool {
        self.new_user() && !self.two_step()
    }

    pub fn in_user_ns(&self) -> bool {
        self.new_user()
            || self
                .joins
                .iter()
                .any(|(f, _)| *f == CloneFlags::CLONE_NEWUSER)
    }

    /// Whether entering needs one more fork: pid and time namespaces apply to children only.
    pub fn needs_fork(&self) -> bool {
        let child_only = CloneFlags::CLONE_NEWPID | clone_flag(LinuxNamespaceType::Time);
        self.two_step()
            && (self.new.intersects(child_only)
                || self.joins.iter().any(|(f, _)| child_only.contains(*f)))
    }
}

/// In the first child of a two-step spawn: join, unshare, and tell the caller whether a
/// user namespace now needs its id maps.
pub fn join_and_unshare(
    plan: &NamespacePlan,
    request_maps: impl FnOnce() -> Result<()>,
) -> Result<()> {
    for (flag, fd) in &plan.joins {
        nix::sched::setns(fd.as_fd(), *flag)
            .ctx(|| format!("join namespace {}", ns_label(*flag)))?;
    }
    if plan.new_user() {
        nix::sched::unshare(CloneFlags::CLONE_NEWUSER).ctx(|| "unshare the user namespace")?;
        request_maps()?;
    }
    let rest = plan.new - CloneFlags::CLONE_NEWUSER - CloneFlags::CLONE_NEWCGROUP;
    if !rest.is_empty() {
        nix::sched::unshare(rest).ctx(|| "unshare namespaces")?;
    }
    // A new time namespace takes its offsets from the process that unshared it, before
    // any process (our next fork, the init) enters it.
    if !plan.time_offsets.is_empty() {
        std::fs::write("/proc/self/timens_offsets", &plan.time_offsets).map_err(|e| {
            Error::config(
                "linux.timeOffsets",
                format!(
                    "write /proc/self/timens_offsets: {}",
                    crate::support::error::errno_text(&e)
                ),
            )
        })?;
    }
    Ok(())
}

pub fn ns_label_of(t: LinuxNamespaceType) -> &'static str {
    ns_label(clone_flag(t))
}

pub fn ns_label(flag: CloneFlags) -> &'static str {
    match flag {
        CloneFlags::CLONE_NEWNS => "mount",
        CloneFlags::CLONE_NEWCGROUP => "cgroup",
        CloneFlags::CLONE_NEWUTS => "uts",
        CloneFlags::CLONE_NEWIPC => "ipc",
        CloneFlags::CLONE_NEWUSER => "user",
        CloneFlags::CLONE_NEWPID => "pid",
        CloneFlags::CLONE_NEWNET => "network",
        _ => "time",
    }
}
