//! cgroups behind one trait: placement on v1, hybrid and v2 hosts; on v1/hybrid the
//! devices, memory, cpu, cpuset, pids, blkio, hugetlb, net_cls/net_prio and rdma resources
//! and the `unified` map (in the cgroup2 mount), update and the freezer; on v2 the same but
//! network, converted as runc does, with devices as an eBPF program (`v2.rs`); usage stats and
//! OOM events (`stats.rs`). A controller the host lacks is an error naming the field only
//! when the config asks for it; what the v2 manager does not apply yet is refused by name.

pub mod devices;
pub mod resctrl;
pub mod stats;
pub mod systemd;
mod v1;
mod v2;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

use crate::support::error::{Context, Error, Result};

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
    /// Rootless mode: device rules are not enforced, and the hierarchies this user may not
    /// make the container's cgroup in are left out, named in `denied`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rootless: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub denied: Vec<String>,
    /// The container's cgroup existed before it (runc accepts that): brig then removes
    /// only that directory, if empty, and none of the cgroups below it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub preexisting: bool,
    /// Processes that were in that cgroup (or below it) before the container: they are not
    /// the container's, so brig never lists, signals or kills them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign: Vec<ForeignProcess>,
    /// The systemd driver's unit, when the container's cgroup is one (`--systemd-cgroup`
    /// at create; later commands need not repeat it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd: Option<systemd::Unit>,
}

impl CgroupPaths {
    /// The directory whose freezer holds the container: the v1 freezer hierarchy's, else
    /// on v2 the container's cgroup. `state` reads it; criu freezes through it.
    pub fn freezer_dir(&self) -> Option<&Path> {
        let v1 = self
            .dirs
            .iter()
            .find(|(k, _)| k.split(',').any(|c| c == "freezer"));
        match v1 {
            Some((_, d)) => Some(d),
            None if self.layout == "v2" => self.dirs.get("unified").map(PathBuf::as_path),
            None => None,
        }
    }
}

/// A process found in the container's cgroup at create, by pid and start time (so a
/// reused pid is not mistaken for it).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ForeignProcess {
    pub pid: i32,
    pub start: u64,
}

impl CgroupPaths {
    /// Whether `pid` is one of the processes that were in the cgroup before the container.
    pub fn is_foreign(&self, pid: i32) -> bool {
        self.foreign
            .iter()
            .any(|f| f.pid == pid && crate::support::proc::process_start_time(pid) == Some(f.start))
    }
}

impl CgroupPaths {
    /// The error for a controller this container has no directory for: the host lacks it,
    /// or (rootless) this user may not create the container's cgroup in its hierarchy.
    pub(crate) fn missing(&self, controller: &str, field: &str) -> Error {
        // Its own v1 hierarchy, else a cgroup2 one that offers it.
        let denied = self
            .denied
            .iter()
            .find(|h| h.split(',').any(|c| c == controller))
            .or_else(|| {
                self.denied.iter().find(|h| {
                    h.as_str() == "unified"
                        && self.mounts.get(*h).is_some_and(|m| {
                            crate::support::proc::read_text(m.join("cgroup.controllers"))
                                .is_ok_and(|s| s.split_whitespace().any(|c| c == controller))
                        })
                })
            });
        let why = match denied {
            Some(h) => format!(
                "rootless: no permission to create the container's {controller} cgroup{}; delegate a cgroup to this user and set linux.cgroupsPath inside it",
                self.mounts
                    .get(h)
                    .map(|m| format!(" under {}", m.display()))
                    .unwrap_or_default()
            ),
            None => format!("this host has no {controller} cgroup controller"),
        };
        if field.starts_with("linux.") {
            Error::config(field, why)
        } else {
            // A command (pause, events) rather than a config field.
            Error::msg(format!("{field}: {why}"))
        }
    }
}

impl CgroupPaths {
    /// `exec --cgroup [<controller>[,<controller>...]:]<path>`: these paths with the named
    /// hierarchies moved down to an existing sub-cgroup of the container's. One argument
    /// without a prefix moves every hierarchy (the only form on a v2 host); each argument
    /// with a prefix moves the hierarchies of its controllers.
    pub fn with_sub_cgroups(&self, args: &[String]) -> Result<CgroupPaths> {
        let mut paths = self.clone();
        for arg in args {
            let (controllers, sub) = match arg.split(':').collect::<Vec<_>>()[..] {
                [sub] if args.len() == 1 => (None, sub),
                [_] => {
                    return Err(Error::msg(format!(
                        "invalid --cgroup argument: {arg} (missing <controller>: prefix)"
                    )))
                }
                [controllers, sub] => (Some(controllers), sub),
                _ => return Err(Error::msg(format!("invalid --cgroup argument: {arg}"))),
            };
            let below = sub_cgroup(sub)?;
            let keys: Vec<String> = match controllers {
                None => paths.dirs.keys().cloned().collect(),
                Some(list) => list
                    .split(',')
                    .map(|c| {
                        paths
                            .dirs
                            .keys()
                            .find(|h| h.split(',').any(|x| x == c))
                            .cloned()
                            .ok_or_else(|| {
                                Error::msg(format!("unknown controller {c} in SubCgroupPaths"))
                            })
                    })
                    .collect::<Result<_>>()?,
            };
            for key in keys {
                let dir = self.dirs[&key].join(&below);
                if !dir.is_dir() {
                    return Err(Error::msg(format!(
                        "exec --cgroup: the sub-cgroup {} does not exist",
                        dir.display()
                    )));
                }
                paths.dirs.insert(key, dir);
            }
        }
        Ok(paths)
    }
}

/// A `--cgroup` path made relative and checked to stay inside the container's cgroup
/// (".." may not climb out of it).
fn sub_cgroup(sub: &str) -> Result<PathBuf> {
    let mut below = PathBuf::new();
    for part in Path::new(sub).components() {
        match part {
            std::path::Component::Normal(name) => below.push(name),
            std::path::Component::ParentDir if below.pop() => {}
            std::path::Component::ParentDir => {
                return Err(Error::msg(format!("{sub} is not a sub cgroup path")))
            }
            _ => {}
        }
    }
    Ok(below)
}

/// What `create` found: whether the cgroup was there already, and the processes in it.
#[derive(Debug, Default)]
pub struct Found {
    pub preexisting: bool,
    pub pids: Vec<i32>,
}

pub trait CgroupManager {
    /// Create the container's directories (with parents) and apply the resources.
    fn create(&self, resources: Option<&LinuxResources>) -> Result<Found>;
    /// Move a process into the container's cgroup in every hierarchy.
    fn add(&self, pid: i32) -> Result<()>;
    /// An fd of the one cgroup a new process can be born in (clone3's CLONE_INTO_CGROUP),
    /// which then needs no `add`: a cgroup2 directory of the cgroupfs driver. None where
    /// placing takes more than that (v1 hierarchies, a systemd unit to start).
    fn birth_cgroup(&self) -> Option<std::os::fd::OwnedFd> {
        None
    }
    /// Host pids of every process in the container's cgroup and the cgroups below it.
    fn pids(&self) -> Result<Vec<i32>>;
    /// Thaw every frozen cgroup of the container's tree (a SIGKILL does not end a frozen
    /// process).
    fn thaw_tree(&self);
    /// Change the limits of a live container (`update`); devices are left as they are.
    fn update(&self, resources: &LinuxResources) -> Result<()>;
    /// Freeze or thaw every process of the container, returning once the kernel is done.
    fn freeze(&self, frozen: bool) -> Result<()>;
    /// The container's cgroup exists and is frozen (a new container's must not be: its init
    /// would stop there for good).
    fn is_frozen(&self) -> bool;
    /// Remove the container's directories, the cgroups a container made below them first.
    /// A directory still holding processes (ones brig did not start) is left: returned.
    fn destroy(&self) -> Result<Vec<PathBuf>>;
    /// Resource usage read from the container's cgroup files (`events`).
    fn stats(&self) -> Result<stats::Stats>;
    /// Start watching for OOM kills in the container's cgroup (`events`).
    fn oom_watch(&self) -> Result<stats::OomWatch>;
    fn paths(&self) -> &CgroupPaths;
}

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The manager for a new container: resolve `cgroupsPath` against this host's layout,
/// or (`systemd`) as a systemd unit, with the `org.systemd.property.*` annotations.
/// In rootless mode the hierarchies this user may not use are left out (`keep_permitted`).
pub fn for_new_container(
    cgroups_path: Option<&Path>,
    id: &str,
    systemd: bool,
    rootless: bool,
    annotations: Option<&std::collections::HashMap<String, String>>,
) -> Result<Box<dyn CgroupManager>> {
    if systemd {
        return Ok(Box::new(systemd::Manager::new(
            cgroups_path,
            id,
            rootless,
            annotations,
        )?));
    }
    let manager = cgroupfs_manager(&cgroupfs_path(cgroups_path, id)?)?;
    if !rootless {
        return Ok(manager);
    }
    let mut paths = manager.paths().clone();
    keep_permitted(&mut paths, own_v2_cgroup()?.as_deref());
    Ok(from_paths(&paths))
}

/// The cgroupfs manager of this host's layout for a cgroup at `rel` (absolute: from each
/// hierarchy's root; relative: below the caller's cgroup).
fn cgroupfs_manager(rel: &Path) -> Result<Box<dyn CgroupManager>> {
    Ok(if is_unified() {
        Box::new(v2::Manager::new(rel)?)
    } else {
        Box::new(v1::Manager::new(rel)?)
    })
}

/// A new container's cgroup that exists frozen is refused before anything is made, as
/// runc refuses it: the init would stop in it, and create with it.
pub fn refuse_frozen(manager: &dyn CgroupManager) -> Result<()> {
    if manager.is_frozen() {
        return Err(Error::msg("container's cgroup unexpectedly frozen"));
    }
    Ok(())
}

/// The first resource the config sets, as (field, v2 controller); device rules do not
/// count (rootless, they are not enforced). Empty objects, as some callers send, are unset.
fn first_limit(r: &LinuxResources) -> Option<(&'static str, &'static str)> {
    fn set<T: Serialize>(v: &Option<T>) -> bool {
        v.as_ref()
            .and_then(|v| serde_json::to_value(v).ok())
            .is_some_and(|v| {
                !(v.is_null() || v == serde_json::json!({}) || v == serde_json::json!([]))
            })
    }
    [
        (set(r.memory()), "linux.resources.memory", "memory"),
        (set(r.cpu()), "linux.resources.cpu", "cpu"),
        (set(r.pids()), "linux.resources.pids", "pids"),
        (set(r.block_io()), "linux.resources.blockIO", "io"),
        (
            set(r.hugepage_limits()),
            "linux.resources.hugepageLimits",
            "hugetlb",
        ),
        (set(r.network()), "linux.resources.network", "net_cls"),
        (set(r.rdma()), "linux.resources.rdma", "rdma"),
        (set(r.unified()), "linux.resources.unified", "unified"),
    ]
    .into_iter()
    .find_map(|(is_set, field, controller)| is_set.then_some((field, controller)))
}

/// What commands that need the container's cgroup (stats, freeze, update) say when a
/// rootless container has none.
fn no_cgroup() -> Error {
    Error::msg("rootless: the container has no cgroup (this user may not create one)")
}

/// This process's cgroup directory on a pure v2 host.
pub fn own_v2_dir() -> Option<PathBuf> {
    let own = own_v2_cgroup().ok()??;
    Some(Path::new(CGROUP_ROOT).join(own.strip_prefix("/").unwrap_or(&own)))
}

/// This process's cgroup in the cgroup2 hierarchy ("0::/path" in /proc/self/cgroup).
fn own_v2_cgroup() -> Result<Option<PathBuf>> {
    let text = crate::support::proc::read_text("/proc/self/cgroup")
        .map_err(|e| Error::os("read /proc/self/cgroup", e))?;
    Ok(text
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(PathBuf::from))
}

/// Rootless mode: keep the hierarchies where this user may make the container's cgroup
/// and move processes into it (a cgroup delegated to the user); the rest go to `denied`.
/// `own_v2` is our cgroup in a cgroup2 hierarchy ("unified"), where moves are checked
/// against the common ancestor.
fn keep_permitted(paths: &mut CgroupPaths, own_v2: Option<&Path>) {
    paths.rootless = true;
    let names: Vec<String> = paths.dirs.keys().cloned().collect();
    for name in names {
        let dir = &paths.dirs[&name];
        let from = match (name.as_str(), paths.mounts.get(&name), own_v2) {
            ("unified", Some(mount), Some(own)) => {
                Some(mount.join(own.strip_prefix("/").unwrap_or(own)))
            }
            _ => None,
        };
        if !permitted(dir, from.as_deref()) {
            paths.dirs.remove(&name);
            paths.denied.push(name);
        }
    }
}

/// Whether this user can create `dir` (or it exists and takes new processes), and, for
/// cgroup2, move a process there from `from`: the kernel asks for write access to
/// cgroup.procs of the closest common ancestor of the two.
fn permitted(dir: &Path, from: Option<&Path>) -> bool {
    let writable = |p: &Path| {
        nix::unistd::faccessat(
            nix::fcntl::AT_FDCWD,
            p,
            nix::unistd::AccessFlags::W_OK,
            nix::fcntl::AtFlags::AT_EACCESS,
        )
        .is_ok()
    };
    let can_make = if dir.exists() {
        writable(&dir.join("cgroup.procs"))
    } else {
        dir.ancestors().find(|a| a.exists()).is_some_and(writable)
    };
    match from {
        Some(from) if can_make => writable(&common_ancestor(from, dir).join("cgroup.procs")),
        _ => can_make,
    }
}

fn common_ancestor(a: &Path, b: &Path) -> PathBuf {
    a.components()
        .zip(b.components())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x)
        .collect()
}

/// The cgroupfs driver's path, as runc's: absolute is taken from each hierarchy's root,
/// relative is under the caller's own cgroup, and empty is the container id (relative).
/// `..` is refused rather than cleaned away, and so is a path naming no cgroup below
/// (`/` is the root cgroup, holding every process of the host; `.` the caller's own).
fn cgroupfs_path(cgroups_path: Option<&Path>, id: &str) -> Result<PathBuf> {
    let rel = match cgroups_path {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from(id),
    };
    if !rel
        .components()
        .any(|c| matches!(c, std::path::Component::Normal(_)))
    {
        return Err(Error::config(
            "linux.cgroupsPath",
            format!(
                "{:?} names the root cgroup or the caller's own, which hold other processes; a container needs a cgroup of its own",
                rel
            ),
        ));
    }
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
    Ok(rel)
}

/// Where the container's cgroup goes inside one hierarchy, relative to its root: `rel`
/// itself when absolute, else under `own` (the caller's cgroup there, "/" if unknown).
fn place(rel: &Path, own: Option<&str>) -> PathBuf {
    let base = Path::new(if rel.is_absolute() {
        "/"
    } else {
        own.unwrap_or("/")
    });
    let path = base.join(rel);
    path.strip_prefix("/")
        .map(Path::to_path_buf)
        .unwrap_or(path)
}

/// An update made whole where the kernel or systemd takes values together: a CPU quota
/// or period given alone gets the other from the container's cgroup (systemd keeps them as
/// one property), and a swap limit given alone gets the memory limit (v2 counts swap
/// without memory). runc merges an update into its saved config to the same end.
pub(crate) fn with_current_values(paths: &CgroupPaths, r: &LinuxResources) -> LinuxResources {
    let v2 = paths.layout == "v2";
    let read = |v1_controller: &str, v1_file: &str, v2_file: &str| -> Option<String> {
        let path = if v2 {
            paths.dirs.get("unified")?.join(v2_file)
        } else {
            let (_, dir) = paths
                .dirs
                .iter()
                .find(|(h, _)| h.split(',').any(|c| c == v1_controller))?;
            dir.join(v1_file)
        };
        crate::support::proc::read_text(path)
            .ok()
            .map(|t| t.trim().to_string())
    };
    // "max" is -1, as in the OCI fields.
    let number = |t: &str| if t == "max" { Some(-1) } else { t.parse().ok() };
    let cpu_max = |i: usize| {
        read("", "", "cpu.max")?
            .split_whitespace()
            .nth(i)
            .map(str::to_string)
    };
    let mut r = r.clone();
    if let Some(mut cpu) = r.cpu().clone() {
        if cpu.quota().is_none() && cpu.period().is_some() {
            let quota = if v2 {
                cpu_max(0)
            } else {
                read("cpu", "cpu.cfs_quota_us", "")
            };
            cpu.set_quota(quota.as_deref().and_then(number));
        }
        if cpu.period().is_none() && cpu.quota().is_some() {
            let period = if v2 {
                cpu_max(1)
            } else {
                read("cpu", "cpu.cfs_period_us", "")
            };
            cpu.set_period(period.and_then(|p| p.parse().ok()));
        }
        r.set_cpu(Some(cpu));
    }
    if let Some(mut m) = *r.memory() {
        if m.swap().is_some() && m.limit().is_none() {
            let limit = read("memory", "memory.limit_in_bytes", "memory.max");
            if let Some(limit) = limit.as_deref().and_then(number) {
                m.set_limit(Some(limit));
                r.set_memory(Some(m));
            }
        }
    }
    r
}

/// The manager of an existing container, from its saved paths.
pub fn from_paths(paths: &CgroupPaths) -> Box<dyn CgroupManager> {
    match &paths.systemd {
        Some(_) => Box::new(systemd::Manager::from_paths(paths)),
        None => cgroupfs_from_paths(paths),
    }
}

/// The cgroupfs manager of saved paths (the systemd driver's included).
fn cgroupfs_from_paths(paths: &CgroupPaths) -> Box<dyn CgroupManager> {
    if paths.layout == "v2" {
        Box::new(v2::Manager::from_paths(paths.clone()))
    } else {
        Box::new(v1::Manager::from_paths(paths.clone()))
    }
}

/// A pure cgroup v2 host has cgroup2 mounted at /sys/fs/cgroup itself (asked once a
/// command: the config check and the manager both want it).
fn is_unified() -> bool {
    const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
    static UNIFIED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *UNIFIED.get_or_init(|| {
        nix::sys::statfs::statfs(CGROUP_ROOT)
            .map(|s| s.filesystem_type().0 == CGROUP2_SUPER_MAGIC)
            .unwrap_or(false)
    })
}

/// Check what can be judged from the config alone: hugepage size strings, `unified` key
/// names (which become file names in the container's cgroup) and, on a v2 host, the fields
/// v2 has no file for (`v2::check`). Whether this host has
/// the controllers is checked when the cgroup is created.
pub fn check_supported(res: &LinuxResources) -> Result<()> {
    if is_unified() {
        v2::check(res)?;
    }
    for (i, h) in res.hugepage_limits().iter().flatten().enumerate() {
        if parse_page_size(h.page_size()).is_none() {
            return Err(Error::config(
                format!("linux.resources.hugepageLimits[{i}].pageSize"),
                format!(
                    "{:?} is not a page size such as \"2MB\" or \"1GB\"",
                    h.page_size()
                ),
            ));
        }
    }
    for key in res.unified().iter().flat_map(|u| u.keys()) {
        let bad = key.contains('/')
            || key.contains("..")
            || key.contains('\0')
            || key.split('.').count() < 2
            || key.split('.').any(str::is_empty);
        if bad {
            return Err(Error::config(
                unified_field(key),
                "must name a file of the container's cgroup (\"controller.file\", no \"/\" or \"..\")",
            ));
        }
    }
    Ok(())
}

/// `linux.resources.unified["key"]`
fn unified_field(key: &str) -> String {
    format!("linux.resources.unified[{key:?}]")
}

/// "2MB" → bytes; the spellings the kernel uses in hugetlb file names (KB, MB, GB), and
/// the B/TB/PB ones runc also prints.
fn parse_page_size(s: &str) -> Option<u64> {
    let digits = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(digits);
    let n: u64 = n.parse().ok()?;
    let shift = match unit {
        "B" => 0,
        "KB" => 10,
        "MB" => 20,
        "GB" => 30,
        "TB" => 40,
        "PB" => 50,
        _ => return None,
    };
    n.checked_mul(1 << shift).filter(|&b| b > 0)
}

/// A size in bytes as the kernel spells it in hugetlb file names: "2MB", "1GB", "64KB".
fn page_size_name(bytes: u64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB", "PB"];
    let mut n = bytes;
    let mut i = 0;
    while n >= 1024 && n % 1024 == 0 && i + 1 < units.len() {
        n /= 1024;
        i += 1;
    }
    format!("{n}{}", units[i])
}

/// The huge page sizes this host offers (/sys/kernel/mm/hugepages/hugepages-2048kB → "2MB").
fn host_page_sizes() -> Vec<String> {
    let mut sizes: Vec<u64> = std::fs::read_dir("/sys/kernel/mm/hugepages")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let kb: u64 = name
                .strip_prefix("hugepages-")?
                .strip_suffix("kB")?
                .parse()
                .ok()?;
            Some(kb * 1024)
        })
        .collect();
    sizes.sort_unstable();
    sizes.into_iter().map(page_size_name).collect()
}

/// Check each hugepageLimits entry against the host's page sizes; the kernel's name of
/// each size with its limit.
fn hugepage_limits(limits: &[oci_spec::runtime::LinuxHugepageLimit]) -> Result<Vec<(String, i64)>> {
    let host = host_page_sizes();
    limits
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let name = parse_page_size(h.page_size())
                .map(page_size_name)
                .filter(|n| host.contains(n))
                .ok_or_else(|| {
                    Error::config(
                        format!("linux.resources.hugepageLimits[{i}].pageSize"),
                        format!(
                            "{:?}: this host's huge page sizes are {}",
                            h.page_size(),
                            if host.is_empty() {
                                "none".to_string()
                            } else {
                                host.join(", ")
                            }
                        ),
                    )
                })?;
            Ok((name, h.limit()))
        })
        .collect()
}

/// rdma.max lines ("mlx4_0 hca_handle=2 hca_object=2000"), sorted by device; entries that
/// set neither limit are skipped.
fn rdma_lines(
    rdma: &std::collections::HashMap<String, oci_spec::runtime::LinuxRdma>,
) -> Vec<String> {
    let mut lines: Vec<String> = rdma
        .iter()
        .filter(|(_, l)| l.hca_handles().is_some() || l.hca_objects().is_some())
        .map(|(dev, l)| {
            let mut line = dev.clone();
            if let Some(h) = l.hca_handles() {
                line.push_str(&format!(" hca_handle={h}"));
            }
            if let Some(o) = l.hca_objects() {
                line.push_str(&format!(" hca_object={o}"));
            }
            line
        })
        .collect();
    lines.sort();
    lines
}

/// Make `controller` available in `dir` of a cgroup2 hierarchy mounted at `mount`: it must
/// be in the mount's cgroup.controllers, and is enabled in cgroup.subtree_control of every
/// ancestor from the mount down to `dir`'s parent.
fn enable_v2_controller(mount: &Path, dir: &Path, controller: &str) -> Result<()> {
    let has = |file: &Path| {
        crate::support::proc::read_text(file)
            .is_ok_and(|s| s.split_whitespace().any(|c| c == controller))
    };
    if !has(&mount.join("cgroup.controllers")) {
        return Err(Error::msg(format!(
            "the {controller} controller is not available in the cgroup2 hierarchy at {}",
            mount.display()
        )));
    }
    let rel = dir.strip_prefix(mount).unwrap_or(Path::new(""));
    // The ancestors are the mount and each prefix of `rel` short of `dir` itself.
    let mut ancestor = mount.to_path_buf();
    for part in rel.components() {
        let control = ancestor.join("cgroup.subtree_control");
        if !has(&control) {
            write(&control, &format!("+{controller}"))?;
        }
        ancestor.push(part);
    }
    Ok(())
}

/// The `unified` map written into a cgroup2 directory: each key's controller is enabled
/// first (cgroup.* keys need none), and a key without a file is an error naming it.
fn write_unified(
    mount: &Path,
    dir: &Path,
    map: &std::collections::HashMap<String, String>,
) -> Result<()> {
    let mut keys: Vec<_> = map.iter().collect();
    keys.sort();
    for (key, value) in keys {
        let field = unified_field(key);
        let controller = key.split('.').next().unwrap_or_default();
        if controller != "cgroup" {
            enable_v2_controller(mount, dir, controller).map_err(|e| e.wrap(&field))?;
        }
        let file = dir.join(key);
        if !file.exists() {
            return Err(Error::config(
                field,
                format!("{} has no such file", dir.display()),
            ));
        }
        write(&file, value).map_err(|e| e.wrap(&field))?;
    }
    Ok(())
}

/// mkdir -p of a new container's cgroup, reporting the directory that failed; true when
/// `dir` itself was made here (it did not exist before).
fn create_dir(dir: &Path) -> Result<bool> {
    let made = match std::fs::create_dir(dir) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map(|()| true)
        }
        Err(e) => Err(e),
    };
    made.ctx(|| format!("linux.cgroupsPath: create cgroup {}", dir.display()))
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
    let text = crate::support::proc::read_text(file).ctx(|| format!("read {}", file.display()))?;
    Ok(text.lines().filter_map(|l| l.trim().parse().ok()).collect())
}

/// The cgroups below `dir`, deepest first (each before its parent); `dir` itself last.
/// A cgroup removed meanwhile is skipped.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                out.extend(tree(&entry.path()));
            }
        }
    }
    out.push(dir.to_path_buf());
    out
}

/// Pids of every process in `dir` and the cgroups below it. A cgroup that vanishes while
/// it is read (its container exiting) holds nothing.
fn read_pids_tree(dir: &Path) -> Result<Vec<i32>> {
    let mut pids = read_pids(&dir.join("cgroup.procs"))?;
    for sub in tree(dir).into_iter().filter(|d| d != dir) {
        match read_pids(&sub.join("cgroup.procs")) {
            Ok(more) => pids.extend(more),
            Err(e) if e.errno() == Some(libc::ENOENT) || e.errno() == Some(libc::ENODEV) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(pids)
}

/// What a new container's cgroup directory held before the container: whether it existed,
/// and its processes (the whole tree below it).
fn found_before(dir: &Path) -> Result<Found> {
    if !dir.exists() {
        return Ok(Found::default());
    }
    Ok(Found {
        preexisting: true,
        pids: read_pids_tree(dir)?,
    })
}

/// Remove a container's cgroup: the cgroups below it first (ones the container made;
/// not when the cgroup was there before it), then itself. A directory with processes in
/// it (ones brig must not kill) is left, with every directory above it: returned.
fn remove_tree(dir: &Path, preexisting: bool) -> Result<Vec<PathBuf>> {
    // The usual case first: an rmdir succeeds only on a cgroup without processes or
    // cgroups below it, which is what the walk would remove anyway, without reading it.
    match std::fs::remove_dir(dir) {
        Ok(()) => return Ok(Vec::new()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(_) => {}
    }
    let dirs = tree(dir);
    if preexisting && dirs.len() > 1 {
        // Cgroups below one that was not brig's: not brig's to remove, and it cannot go
        // while they are there.
        return Ok(vec![dir.to_path_buf()]);
    }
    let mut left: Vec<PathBuf> = Vec::new();
    for d in dirs {
        let occupied = left.iter().any(|l| l.starts_with(&d))
            || read_pids(&d.join("cgroup.procs")).is_ok_and(|p| !p.is_empty());
        if occupied {
            left.push(d);
            continue;
        }
        remove_dir(&d)?;
    }
    Ok(left)
}

/// Wait (bounded) until a control file reads `want`. The v1 freezer has no notification,
/// so this re-reads with growing pauses, 2 s at most.
fn wait_for(file: &Path, want: &str) -> Result<()> {
    let mut pause = std::time::Duration::from_micros(100);
    for _ in 0..16 {
        if crate::support::proc::read_text(file).is_ok_and(|s| s.lines().any(|l| l.trim() == want))
        {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_sub_cgroups_follow_runc_and_stay_inside_the_container() {
        let base = std::env::temp_dir().join(format!("brig-sub-cgroups-{}", std::process::id()));
        let mut paths = CgroupPaths::default();
        for h in ["cpu,cpuacct", "memory", "name=systemd"] {
            let dir = base.join(h).join("ctr");
            std::fs::create_dir_all(dir.join("sub/deeper")).unwrap();
            paths.dirs.insert(h.into(), dir);
        }
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let err = |a: &[&str]| paths.with_sub_cgroups(&args(a)).unwrap_err().to_string();

        let all = paths.with_sub_cgroups(&args(&["/sub"])).unwrap();
        assert!(all.dirs.values().all(|d| d.ends_with("ctr/sub")), "{all:?}");
        let some = paths
            .with_sub_cgroups(&args(&[
                "cpuacct,memory:sub/x/../deeper",
                "name=systemd:sub",
            ]))
            .unwrap();
        assert!(some.dirs["cpu,cpuacct"].ends_with("ctr/sub/deeper"));
        assert!(some.dirs["memory"].ends_with("ctr/sub/deeper"));
        assert!(some.dirs["name=systemd"].ends_with("ctr/sub"));

        assert_eq!(err(&["a:b:c"]), "invalid --cgroup argument: a:b:c");
        assert_eq!(
            err(&["sub", "memory:sub"]),
            "invalid --cgroup argument: sub (missing <controller>: prefix)"
        );
        assert_eq!(
            err(&["pids:sub"]),
            "unknown controller pids in SubCgroupPaths"
        );
        assert_eq!(
            err(&["sub/../../ctr2"]),
            "sub/../../ctr2 is not a sub cgroup path"
        );
        assert!(err(&["memory:nope"]).contains("sub-cgroup"));
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_cgroup2_move_is_judged_at_the_common_ancestor() {
        let p = |s: &str| PathBuf::from(s);
        let mount = "/sys/fs/cgroup";
        assert_eq!(
            common_ancestor(
                &p("/sys/fs/cgroup/user.slice/u-1000"),
                &p("/sys/fs/cgroup/user.slice/u-1000/ctr")
            ),
            p("/sys/fs/cgroup/user.slice/u-1000")
        );
        assert_eq!(
            common_ancestor(
                &p("/sys/fs/cgroup/user.slice/a"),
                &p("/sys/fs/cgroup/user.slice/b/ctr")
            ),
            p("/sys/fs/cgroup/user.slice")
        );
        assert_eq!(
            common_ancestor(&p(mount), &p("/sys/fs/cgroup/deleg/ctr")),
            p(mount)
        );
    }

    #[test]
    fn rootless_denials_name_the_field_and_the_reason() {
        let paths = CgroupPaths {
            layout: "v1".into(),
            mounts: BTreeMap::from([("pids".to_string(), PathBuf::from("/sys/fs/cgroup/pids"))]),
            rootless: true,
            denied: vec!["pids".into(), "cpu,cpuacct".into()],
            ..CgroupPaths::default()
        };
        let e = paths.missing("pids", "linux.resources.pids").to_string();
        assert!(
            e.contains("linux.resources.pids")
                && e.contains("rootless")
                && e.contains("/sys/fs/cgroup/pids"),
            "{e}"
        );
        assert!(paths
            .missing("cpuacct", "linux.resources.cpu")
            .to_string()
            .contains("rootless"));
        let e = paths
            .missing("memory", "linux.resources.memory")
            .to_string();
        assert!(e.contains("this host has no memory"), "{e}");
        assert_eq!(
            paths.missing("pids", "pause").to_string().split(':').next(),
            Some("pause")
        );
    }

    #[test]
    fn empty_resource_objects_ask_for_no_limit() {
        let res = |json: &str| -> LinuxResources { serde_json::from_str(json).unwrap() };
        assert_eq!(
            first_limit(&res(r#"{"devices": [{"allow": false, "access": "rwm"}]}"#)),
            None
        );
        assert_eq!(first_limit(&res(r#"{"memory": {}, "cpu": {}}"#)), None);
        assert_eq!(
            first_limit(&res(r#"{"cpu": {}, "pids": {"limit": 5}}"#)),
            Some(("linux.resources.pids", "pids"))
        );
    }

    #[test]
    fn page_sizes_parse_and_print_as_the_kernel_names_them() {
        assert_eq!(parse_page_size("2MB"), Some(2 << 20));
        assert_eq!(parse_page_size("1GB"), Some(1 << 30));
        assert_eq!(parse_page_size("64KB"), Some(64 << 10));
        for bad in ["", "2", "MB", "2 MB", "2mb", "0MB", "-2MB", "2MiB"] {
            assert_eq!(parse_page_size(bad), None, "{bad:?}");
        }
        assert_eq!(page_size_name(2 << 20), "2MB");
        assert_eq!(page_size_name(1 << 30), "1GB");
        assert_eq!(page_size_name(64 << 10), "64KB");
        assert_eq!(page_size_name(2048 << 10), "2MB");
    }

    #[test]
    fn rdma_lines_skip_entries_without_limits() {
        let rdma: std::collections::HashMap<String, oci_spec::runtime::LinuxRdma> =
            serde_json::from_str(
                r#"{"mlx5_1": {"hcaObjects": 7}, "mlx4_0": {"hcaHandles": 2, "hcaObjects": 2000}, "none": {}}"#,
            )
            .unwrap();
        assert_eq!(
            rdma_lines(&rdma),
            ["mlx4_0 hca_handle=2 hca_object=2000", "mlx5_1 hca_object=7"]
        );
    }

    #[test]
    fn unified_keys_and_page_sizes_are_checked_before_anything_is_created() {
        let res = |json: &str| -> LinuxResources { serde_json::from_str(json).unwrap() };
        assert!(check_supported(&res(
            r#"{"unified": {"cgroup.max.descendants": "5", "hugetlb.2MB.max": "1"}}"#
        ))
        .is_ok());
        for key in [
            "../cgroup.procs",
            "a/b.c",
            "memory",
            "cgroup..procs",
            ".x",
            "",
        ] {
            let err = check_supported(&res(&format!(r#"{{"unified": {{"{key}": "1"}}}}"#)))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!("linux.resources.unified[{key:?}]")),
                "{key}: {err}"
            );
        }
        let err = check_supported(&res(
            r#"{"hugepageLimits": [{"pageSize": "2MB", "limit": 1}, {"pageSize": "huge", "limit": 1}]}"#,
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("linux.resources.hugepageLimits[1].pageSize"),
            "{err}"
        );
    }
}
