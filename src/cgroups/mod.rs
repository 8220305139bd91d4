//! cgroups behind one trait: placement on v1, hybrid and v2 hosts; on v1/hybrid the
//! devices, memory, cpu, cpuset, pids and blkio resources, update and the freezer; usage
//! stats and OOM events (`stats.rs`). What is not applied yet is refused by name
//! (`check_supported`, and the v2 manager).

mod devices;
pub mod stats;
mod v1;
mod v2;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

use crate::error::{Context, Error, Result};

pub use devices::DeviceRule;
pub use stats::{OomWatch, Stats};

/// Where a container's cgroup lives in each hierarchy, saved in the state so that every
/// later command uses what `create` chose.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct CgroupPaths {
    /// "v1" (including hybrid hosts) or "v2".
    pub layout: String,
    /// Hierarchy name (a controller list such as "cpu,cpuacct", "name=systemd", or
    /// "unified") → the container's directory in it.
    pub dirs: BTreeMap<String, PathBuf>,
    /// Hierarchy name → its mount point on the host (for the container's cgroup mount).
    #[serde(default)]
    pub mounts: BTreeMap<String, PathBuf>,
}

pub trait CgroupManager {
    /// Create the container's directories (with parents) and apply the resources.
    fn create(&self, resources: Option<&LinuxResources>) -> Result<()>;
    /// Move a process into the container's cgroup in every hierarchy.
    fn add(&self, pid: i32) -> Result<()>;
    /// Host pids of every process in the container's cgroup.
    fn pids(&self) -> Result<Vec<i32>>;
    /// Change the limits of a live container (`update`); devices are left as they are.
    fn update(&self, resources: &LinuxResources) -> Result<()>;
    /// Freeze or thaw every process of the container, returning once the kernel is done.
    fn freeze(&self, frozen: bool) -> Result<()>;
    /// Remove the container's directories (they must hold no process).
    fn destroy(&self) -> Result<()>;
    /// Resource usage read from the container's cgroup files (`events`).
    fn stats(&self) -> Result<stats::Stats>;
    /// Start watching for OOM kills in the container's cgroup (`events`).
    fn oom_watch(&self) -> Result<stats::OomWatch>;
    fn paths(&self) -> &CgroupPaths;
}

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The manager for a new container: resolve `cgroupsPath` against this host's layout.
pub fn for_new_container(
    cgroups_path: Option<&Path>,
    id: &str,
    systemd: bool,
) -> Result<Box<dyn CgroupManager>> {
    if systemd {
        return Err(Error::msg(
            "--systemd-cgroup: systemd is not running on this host (the systemd cgroup driver needs it); use the cgroupfs driver",
        ));
    }
    let rel = match cgroups_path {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from(id),
    };
    if rel
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(Error::config(
            "linux.cgroupsPath",
            "must not contain \"..\"",
        ));
    }
    if rel.as_os_str().as_encoded_bytes().contains(&0) {
        return Err(Error::config(
            "linux.cgroupsPath",
            "must not contain a NUL byte",
        ));
    }
    if is_unified() {
        Ok(Box::new(v2::Manager::new(&rel)?))
    } else {
        Ok(Box::new(v1::Manager::new(&rel)?))
    }
}

/// The manager of an existing container, from its saved paths.
pub fn from_paths(paths: &CgroupPaths) -> Box<dyn CgroupManager> {
    if paths.layout == "v2" {
        Box::new(v2::Manager::from_paths(paths.clone()))
    } else {
        Box::new(v1::Manager::from_paths(paths.clone()))
    }
}

/// A pure cgroup v2 host has cgroup2 mounted at /sys/fs/cgroup itself.
fn is_unified() -> bool {
    const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
    nix::sys::statfs::statfs(CGROUP_ROOT)
        .map(|s| s.filesystem_type().0 == CGROUP2_SUPER_MAGIC)
        .unwrap_or(false)
}

/// Refuse resource fields this milestone does not apply yet, naming the first one.
pub fn check_supported(res: &LinuxResources) -> Result<()> {
    let later = [
        (
            "hugepageLimits",
            res.hugepage_limits()
                .as_ref()
                .is_some_and(|h| !h.is_empty()),
        ),
        ("network", res.network().is_some()),
        ("rdma", res.rdma().as_ref().is_some_and(|r| !r.is_empty())),
        (
            "unified",
            res.unified().as_ref().is_some_and(|u| !u.is_empty()),
        ),
    ];
    match later.iter().find(|(_, set)| *set) {
        Some((field, _)) => Err(Error::Unsupported(format!("linux.resources.{field}"))),
        None => Ok(()),
    }
}

/// mkdir -p of a new container's cgroup, reporting the directory that failed.
fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .ctx(|| format!("linux.cgroupsPath: create cgroup {}", dir.display()))
}

/// Name the config field behind a failed write: "linux.resources.cpu: write ...".
fn in_field(field: &str) -> impl FnOnce(Error) -> Error + '_ {
    move |e| match e {
        Error::Os { .. } => e.wrap(field),
        other => other,
    }
}

fn write(path: &Path, value: &str) -> Result<()> {
    std::fs::write(path, value).ctx(|| format!("write {value:?} to {}", path.display()))
}

fn read_pids(file: &Path) -> Result<Vec<i32>> {
    let text = std::fs::read_to_string(file).ctx(|| format!("read {}", file.display()))?;
    Ok(text.lines().filter_map(|l| l.trim().parse().ok()).collect())
}

/// Wait (bounded) until a control file reads `want`. The v1 freezer has no notification,
/// so this re-reads with growing pauses, 2 s at most.
fn wait_for(file: &Path, want: &str) -> Result<()> {
    let mut pause = std::time::Duration::from_micros(100);
    for _ in 0..16 {
        if std::fs::read_to_string(file).is_ok_and(|s| s.lines().any(|l| l.trim() == want)) {
            return Ok(());
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(std::time::Duration::from_millis(250));
    }
    Err(Error::msg(format!(
        "{} did not reach {want:?}",
        file.display()
    )))
}

/// rmdir a cgroup directory; a cgroup whose last process just exited can stay busy for a
/// moment, so EBUSY is retried briefly with growing pauses.
fn remove_dir(dir: &Path) -> Result<()> {
    let mut pause = std::time::Duration::from_micros(200);
    for _ in 0..14 {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                std::thread::sleep(pause);
                pause *= 2;
            }
            Err(e) => return Err(Error::os(format!("remove cgroup {}", dir.display()), e)),
        }
    }
    std::fs::remove_dir(dir).ctx(|| format!("remove cgroup {}", dir.display()))
}
