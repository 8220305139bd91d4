//! cgroup v1 and hybrid hosts: one directory per mounted hierarchy (including named ones
//! such as name=systemd, and the cgroup2 mount at /sys/fs/cgroup/unified on hybrid hosts).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

use super::{
    create_dir, devices, enable_v2_controller, found_before, hugepage_limits, in_field, rdma_lines,
    read_pids_tree, remove_tree, tree, unified_field, wait_for, write, write_unified,
    CgroupManager, CgroupPaths, Found,
};
use crate::support::error::{Context, Error, Result};

pub struct Manager {
    paths: CgroupPaths,
}

/// A mounted hierarchy: its mount point and its name as /proc/self/cgroup spells it.
struct Hierarchy {
    name: String,
    mount: PathBuf,
}

fn hierarchies() -> Result<Vec<Hierarchy>> {
    let info = crate::support::proc::read_text("/proc/self/mountinfo")
        .map_err(|e| Error::os("read /proc/self/mountinfo", e))?;
    let mut out = Vec::new();
    for line in info.lines() {
        // The mount point (the fifth field) first: most lines are not cgroups', and this
        // check reads only the start of each.
        let Some(mount) = line.split(' ').nth(4) else {
            continue;
        };
        if !mount.starts_with(super::CGROUP_ROOT) {
            continue;
        }
        let Some((_, post)) = line.split_once(" - ") else {
            continue;
        };
        let mut post = post.split(' ');
        let (Some(fstype), _, Some(opts)) = (post.next(), post.next(), post.next()) else {
            continue;
        };
        let name = match fstype {
            "cgroup" => {
                // The super options list the controllers (and name=X for named hierarchies).
                let known = [
                    "cpuset",
                    "cpu",
                    "cpuacct",
                    "blkio",
                    "memory",
                    "devices",
                    "freezer",
                    "net_cls",
                    "net_prio",
                    "perf_event",
                    "hugetlb",
                    "pids",
                    "rdma",
                    "misc",
                ];
                let ctrls: Vec<&str> = opts
                    .split(',')
                    .filter(|o| known.contains(o) || o.starts_with("name="))
                    .collect();
                if ctrls.is_empty() {
                    continue;
                }
                ctrls.join(",")
            }
            "cgroup2" => "unified".to_string(),
            _ => continue,
        };
        out.push(Hierarchy {
            name,
            mount: PathBuf::from(mount),
        });
    }
    Ok(out)
}

/// brig's own cgroup in each hierarchy, for relative cgroupsPaths.
fn own_cgroups() -> Result<BTreeMap<String, String>> {
    let text = crate::support::proc::read_text("/proc/self/cgroup")
        .map_err(|e| Error::os("read /proc/self/cgroup", e))?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
            let name = if ctrls.is_empty() {
                "unified".to_string()
            } else {
                ctrls.to_string()
            };
            Some((name, path.to_string()))
        })
        .collect())
}

/// The container's directory and the mount point of each hierarchy; `own` is the caller's
/// cgroup per hierarchy (from /proc/self/cgroup), used for a relative `rel`.
fn container_dirs(
    rel: &Path,
    hierarchies: Vec<Hierarchy>,
    own: &BTreeMap<String, String>,
) -> (BTreeMap<String, PathBuf>, BTreeMap<String, PathBuf>) {
    let mut dirs = BTreeMap::new();
    let mut mounts = BTreeMap::new();
    for h in hierarchies {
        // Controller lists may be spelled in another order ("cpuacct,cpu").
        let mine = own
            .iter()
            .find(|(name, _)| same_controllers(name, &h.name))
            .map(|(_, path)| path.as_str());
        dirs.insert(h.name.clone(), h.mount.join(super::place(rel, mine)));
        mounts.insert(h.name, h.mount);
    }
    (dirs, mounts)
}

fn same_controllers(a: &str, b: &str) -> bool {
    let mut a: Vec<&str> = a.split(',').collect();
    let mut b: Vec<&str> = b.split(',').collect();
    a.sort_unstable();
    b.sort_unstable();
    a == b
}

impl Manager {
    pub fn new(rel: &Path) -> Result<Manager> {
        let own = if rel.is_absolute() {
            BTreeMap::new()
        } else {
            own_cgroups()?
        };
        let (dirs, mounts) = container_dirs(rel, hierarchies()?, &own);
        if dirs.is_empty() {
            return Err(Error::msg(
                "no cgroup hierarchy is mounted under /sys/fs/cgroup",
            ));
        }
        Ok(Manager {
            paths: CgroupPaths {
                layout: "v1".into(),
                dirs,
                mounts,
                ..CgroupPaths::default()
            },
        })
    }

    pub fn from_paths(paths: CgroupPaths) -> Manager {
        Manager { paths }
    }

    fn dir_of(&self, controller: &str) -> Option<&PathBuf> {
        self.paths
            .dirs
            .iter()
            .find(|(name, _)| name.split(',').any(|c| c == controller))
            .map(|(_, d)| d)
    }

    /// The directory of a controller the config asks for; an error naming the field when the
    /// host lacks it.
    fn require(&self, controller: &str, field: &str) -> Result<&PathBuf> {
        self.dir_of(controller)
            .ok_or_else(|| self.paths.missing(controller, field))
    }

    fn apply_memory(&self, m: &oci_spec::runtime::LinuxMemory) -> Result<()> {
        let dir = self.require("memory", "linux.resources.memory")?;
        let bytes = |v: i64| {
            if v < 0 {
                "-1".to_string()
            } else {
                v.to_string()
            }
        };
        let limit_file = dir.join("memory.limit_in_bytes");
        let memsw_file = dir.join("memory.memsw.limit_in_bytes");
        // As runc: lifting the memory limit (-1) without a word on swap lifts memory+swap
        // too, which the kernel would otherwise keep below the limit.
        let swap = match (m.limit(), m.swap()) {
            (Some(-1), None) if memsw_file.exists() => Some(-1),
            (_, swap) => swap,
        };
        match (m.limit(), swap) {
            // memsw must never drop below the limit: try the order that keeps that true.
            (Some(limit), Some(swap)) => {
                if write(&limit_file, &bytes(limit)).is_err() {
                    write(&memsw_file, &bytes(swap))?;
                    write(&limit_file, &bytes(limit))?;
                } else {
                    write(&memsw_file, &bytes(swap))?;
                }
            }
            (Some(limit), None) => write(&limit_file, &bytes(limit))?,
            (None, Some(swap)) => write(&memsw_file, &bytes(swap))?,
            (None, None) => {}
        }
        if let Some(r) = m.reservation() {
            write(&dir.join("memory.soft_limit_in_bytes"), &bytes(r))?;
        }
        if let Some(s) = m.swappiness() {
            if s > 100 {
                return Err(Error::config(
                    "linux.resources.memory.swappiness",
                    format!("{s} is more than 100"),
                ));
            }
            write(&dir.join("memory.swappiness"), &s.to_string())?;
        }
        if m.disable_oom_killer() == Some(true) {
            write(&dir.join("memory.oom_control"), "1")?;
        }
        if m.kernel().is_some() || m.kernel_tcp().is_some() {
            crate::support::logging::warn("linux.resources.memory.kernel and kernelTCP are ignored (deprecated by the kernel)");
        }
        Ok(())
    }

    fn apply_cpu(&self, c: &oci_spec::runtime::LinuxCpu) -> Result<()> {
        let wants_cpu = c.shares().is_some_and(|s| s > 0)
            || c.quota().is_some_and(|q| q != 0)
            || c.period().is_some_and(|p| p > 0)
            || c.burst().is_some()
            || c.idle().is_some()
            || c.realtime_runtime().is_some()
            || c.realtime_period().is_some();
        if wants_cpu {
            let dir = self.require("cpu", "linux.resources.cpu")?;
            // Docker sends shares 0 for "unset".
            if let Some(shares) = c.shares().filter(|&s| s > 0) {
                write(&dir.join("cpu.shares"), &shares.to_string())?;
            }
            // The kernel checks each value against the other one in place: a change valid
            // as a whole can be refused in one order, so the other is tried, as runc does.
            let period = c
                .period()
                .filter(|&p| p > 0)
                .map(|p| ("cpu.cfs_period_us", p as i64));
            let quota = c
                .quota()
                .filter(|&q| q != 0)
                .map(|q| ("cpu.cfs_quota_us", q));
            let write_all = |order: &[Option<(&str, i64)>]| -> Result<()> {
                for (file, v) in order.iter().flatten() {
                    write(&dir.join(file), &v.to_string())?;
                }
                Ok(())
            };
            if write_all(&[period, quota]).is_err() {
                write_all(&[quota, period])?;
            }
            if let Some(burst) = c.burst() {
                write(&dir.join("cpu.cfs_burst_us"), &burst.to_string())?;
            }
            if let Some(idle) = c.idle() {
                write(&dir.join("cpu.idle"), &idle.to_string())?;
            }
            if let Some(p) = c.realtime_period() {
                write(&dir.join("cpu.rt_period_us"), &p.to_string())?;
            }
            if let Some(r) = c.realtime_runtime() {
                write(&dir.join("cpu.rt_runtime_us"), &r.to_string())?;
            }
        }
        for (file, value) in [("cpuset.cpus", c.cpus()), ("cpuset.mems", c.mems())] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                let dir = self.require("cpuset", "linux.resources.cpu.cpus")?;
                write(&dir.join(file), v)?;
            }
        }
        Ok(())
    }

    fn apply_block_io(&self, b: &oci_spec::runtime::LinuxBlockIo) -> Result<()> {
        let field = "linux.resources.blockIO";
        let throttles = [
            (
                "blkio.throttle.read_bps_device",
                b.throttle_read_bps_device(),
            ),
            (
                "blkio.throttle.write_bps_device",
                b.throttle_write_bps_device(),
            ),
            (
                "blkio.throttle.read_iops_device",
                b.throttle_read_iops_device(),
            ),
            (
                "blkio.throttle.write_iops_device",
                b.throttle_write_iops_device(),
            ),
        ];
        // Docker sends weight 0 for "unset".
        let weight = b.weight().filter(|&w| w > 0);
        let asked = weight.is_some()
            || b.leaf_weight().is_some_and(|w| w > 0)
            || b.weight_device().as_ref().is_some_and(|d| !d.is_empty())
            || throttles
                .iter()
                .any(|(_, t)| t.as_ref().is_some_and(|t| !t.is_empty()));
        if !asked {
            return Ok(());
        }
        let dir = self.require("blkio", field)?;
        // Weights live in blkio.weight (CFQ) or blkio.bfq.weight (BFQ), if the host has either.
        let weight_file = |name: &str| {
            [format!("blkio.{name}"), format!("blkio.bfq.{name}")]
                .into_iter()
                .map(|f| dir.join(f))
                .find(|p| p.exists())
                .ok_or_else(|| Error::config(field, format!("this host's blkio controller has no {name} file (no CFQ or BFQ scheduler)")))
        };
        if let Some(w) = weight {
            write(&weight_file("weight")?, &w.to_string())?;
        }
        if let Some(w) = b.leaf_weight().filter(|&w| w > 0) {
            write(&weight_file("leaf_weight")?, &w.to_string())?;
        }
        for d in b.weight_device().iter().flatten() {
            if let Some(w) = d.weight() {
                write(
                    &weight_file("weight_device")?,
                    &format!("{}:{} {w}", d.major(), d.minor()),
                )?;
            }
        }
        for (file, list) in throttles {
            for t in list.iter().flatten() {
                write(
                    &dir.join(file),
                    &format!("{}:{} {}", t.major(), t.minor(), t.rate()),
                )?;
            }
        }
        Ok(())
    }

    /// The container's directory in the cgroup2 mount of a hybrid host, with that mount.
    fn unified(&self) -> Option<(&PathBuf, &PathBuf)> {
        Some((
            self.paths.dirs.get("unified")?,
            self.paths.mounts.get("unified")?,
        ))
    }

    /// A controller from a v1 hierarchy (`v1` = true, with its file names) or, failing that,
    /// from the cgroup2 mount of a hybrid host where it is then enabled down to the
    /// container's directory.
    fn v1_or_unified(&self, controller: &str, field: &str) -> Result<(PathBuf, bool)> {
        if let Some(dir) = self.dir_of(controller) {
            return Ok((dir.clone(), true));
        }
        let no_controller = || self.paths.missing(controller, field);
        let (dir, mount) = self.unified().ok_or_else(no_controller)?;
        let offered = crate::support::proc::read_text(mount.join("cgroup.controllers"))
            .is_ok_and(|s| s.split_whitespace().any(|c| c == controller));
        if !offered {
            return Err(no_controller());
        }
        enable_v2_controller(mount, dir, controller).map_err(in_field(field))?;
        Ok((dir.clone(), false))
    }

    /// hugetlb.<size>.limit_in_bytes in a v1 hierarchy, hugetlb.<size>.max in the unified
    /// mount (where hybrid hosts such as this one have it). Limit 0 is written as runc does:
    /// it forbids huge pages of that size.
    fn apply_hugetlb(&self, limits: &[oci_spec::runtime::LinuxHugepageLimit]) -> Result<()> {
        let field = "linux.resources.hugepageLimits";
        let sizes = hugepage_limits(limits)?;
        let (dir, v1) = self.v1_or_unified("hugetlb", field)?;
        for (size, limit) in sizes {
            let file = if v1 {
                format!("hugetlb.{size}.limit_in_bytes")
            } else {
                format!("hugetlb.{size}.max")
            };
            let value = if limit < 0 && !v1 {
                "max".to_string()
            } else {
                limit.to_string()
            };
            write(&dir.join(file), &value).map_err(in_field(field))?;
        }
        Ok(())
    }

    /// net_cls.classid (0 means unset, as in runc) and one net_prio.ifpriomap line per
    /// interface.
    fn apply_network(&self, n: &oci_spec::runtime::LinuxNetwork) -> Result<()> {
        let field = "linux.resources.network";
        if let Some(id) = n.class_id().filter(|&id| id != 0) {
            let dir = self.require("net_cls", field)?;
            write(&dir.join("net_cls.classid"), &id.to_string()).map_err(in_field(field))?;
        }
        for p in n.priorities().iter().flatten() {
            let dir = self.require("net_prio", field)?;
            write(
                &dir.join("net_prio.ifpriomap"),
                &format!("{} {}", p.name(), p.priority()),
            )
            .map_err(in_field(field))?;
        }
        Ok(())
    }

    fn apply_rdma(
        &self,
        rdma: &std::collections::HashMap<String, oci_spec::runtime::LinuxRdma>,
    ) -> Result<()> {
        let field = "linux.resources.rdma";
        let lines = rdma_lines(rdma);
        if lines.is_empty() {
            return Ok(());
        }
        let (dir, _) = self.v1_or_unified("rdma", field)?;
        for line in lines {
            write(&dir.join("rdma.max"), &line).map_err(in_field(field))?;
        }
        Ok(())
    }

    /// The cgroup v2 key/value map, written into the container's directory in the cgroup2
    /// mount of a hybrid host.
    fn apply_unified(&self, map: &std::collections::HashMap<String, String>) -> Result<()> {
        let Some((dir, mount)) = self.unified() else {
            let key = map.keys().min().map(String::as_str).unwrap_or_default();
            if self.paths.denied.iter().any(|h| h == "unified") {
                return Err(self.paths.missing("unified", &unified_field(key)));
            }
            return Err(Error::config(
                unified_field(key),
                "this host has no cgroup2 (unified) hierarchy",
            ));
        };
        // What this host's cgroup2 mount offers is written; a key it cannot take is runc's
        // error on v1 (which takes none).
        write_unified(mount, dir, map).map_err(|e| {
            Error::msg(format!(
                "invalid configuration: cannot use unified on cgroup v1 for this key ({e})"
            ))
        })
    }

    /// memory, cpu, pids, blkio, hugetlb, network, rdma and `unified`: what both create and
    /// update set.
    fn apply_limits(&self, res: &LinuxResources) -> Result<()> {
        if let Some(m) = res.memory() {
            self.apply_memory(m)
                .map_err(in_field("linux.resources.memory"))?;
        }
        if let Some(c) = res.cpu() {
            self.apply_cpu(c).map_err(in_field("linux.resources.cpu"))?;
        }
        if let Some(p) = res.pids() {
            let dir = self.require("pids", "linux.resources.pids")?;
            let max = if p.limit() > 0 {
                p.limit().to_string()
            } else {
                "max".into()
            };
            write(&dir.join("pids.max"), &max).map_err(in_field("linux.resources.pids"))?;
        }
        if let Some(b) = res.block_io() {
            self.apply_block_io(b)
                .map_err(in_field("linux.resources.blockIO"))?;
        }
        if let Some(h) = res.hugepage_limits().as_deref().filter(|h| !h.is_empty()) {
            self.apply_hugetlb(h)?;
        }
        if let Some(n) = res.network() {
            self.apply_network(n)?;
        }
        if let Some(r) = res.rdma() {
            self.apply_rdma(r)?;
        }
        // Last, as in runc: the raw files win over the typed fields.
        if let Some(u) = res.unified().as_ref().filter(|u| !u.is_empty()) {
            self.apply_unified(u)?;
        }
        Ok(())
    }

    /// Device rules; rootless, where the kernel lets only root write them, they are skipped
    /// as runc does (the user namespace already keeps mknod and device access away).
    fn apply_devices(&self, res: &LinuxResources) -> Result<()> {
        match self.write_device_rules(res) {
            Err(_) if self.paths.rootless && !crate::support::proc::privileged() => Ok(()),
            other => other,
        }
    }

    fn write_device_rules(&self, res: &LinuxResources) -> Result<()> {
        let spec_rules = res.devices().as_deref().unwrap_or_default();
        let Some(dir) = self.dir_of("devices") else {
            if spec_rules.is_empty() {
                return Ok(());
            }
            return Err(Error::msg(
                "linux.resources.devices: this host has no devices cgroup controller",
            ));
        };
        // The kernel takes one rule per write(2), not per open: each file is opened once
        // (the default spec's rules were twelve opens of devices.allow).
        let mut files: [Option<std::fs::File>; 2] = [None, None]; // deny, allow
        for rule in devices::rules(spec_rules) {
            let path = dir.join(if rule.allow {
                "devices.allow"
            } else {
                "devices.deny"
            });
            let line = rule.v1_line();
            let file = match &mut files[usize::from(rule.allow)] {
                Some(f) => Ok(f),
                empty => std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map(|f| empty.insert(f)),
            };
            file.and_then(|f| f.write_all(line.as_bytes()))
                .ctx(|| format!("write {line:?} to {}", path.display()))
                .map_err(in_field("linux.resources.devices"))?;
        }
        Ok(())
    }
}

impl Manager {
    /// The hierarchy whose cgroup.procs lists the container's processes.
    fn procs_dir(&self) -> Result<&PathBuf> {
        self.dir_of("pids")
            .or_else(|| self.dir_of("freezer"))
            .or_else(|| self.paths.dirs.values().next())
            .ok_or_else(|| Error::msg("container has no cgroup"))
    }
}

impl CgroupManager for Manager {
    fn create(&self, resources: Option<&LinuxResources>) -> Result<Found> {
        let mut found = match self.procs_dir() {
            Ok(dir) => found_before(dir)?,
            Err(_) => Found::default(),
        };
        for dir in self.paths.dirs.values() {
            found.preexisting |= !create_dir(dir)?;
        }
        // cpuset starts empty in a new v1 cgroup; a task cannot join until it has cpus and mems.
        if let Some(dir) = self.dir_of("cpuset") {
            for file in ["cpuset.cpus", "cpuset.mems"] {
                inherit_from_parent(dir, file)?;
            }
        }
        if let Some(res) = resources {
            self.apply_devices(res)?;
            self.apply_limits(res)?;
        }
        Ok(found)
    }

    fn update(&self, resources: &LinuxResources) -> Result<()> {
        self.apply_limits(resources)
    }

    fn freeze(&self, frozen: bool) -> Result<()> {
        let dir = self.require("freezer", "pause")?;
        let state = if frozen { "FROZEN" } else { "THAWED" };
        let file = dir.join("freezer.state");
        write(&file, state)?;
        wait_for(&file, state)
    }

    fn add(&self, pid: i32) -> Result<()> {
        for dir in self.paths.dirs.values() {
            write(&dir.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    fn pids(&self) -> Result<Vec<i32>> {
        read_pids_tree(self.procs_dir()?)
    }

    fn is_frozen(&self) -> bool {
        self.dir_of("freezer").is_some_and(|d| {
            crate::support::proc::read_text(d.join("freezer.state"))
                .is_ok_and(|s| s.trim() != "THAWED")
        })
    }

    fn thaw_tree(&self) {
        let Some(dir) = self.dir_of("freezer") else {
            return;
        };
        for d in tree(dir) {
            let file = d.join("freezer.state");
            if crate::support::proc::read_text(&file).is_ok_and(|s| s.trim() != "THAWED") {
                let _ = write(&file, "THAWED");
            }
        }
    }

    fn destroy(&self) -> Result<Vec<PathBuf>> {
        let mut first_err = None;
        let mut left = Vec::new();
        for dir in self.paths.dirs.values() {
            match remove_tree(dir, self.paths.preexisting) {
                Ok(l) => left.extend(l),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err.map_or(Ok(left), Err)
    }

    fn stats(&self) -> Result<super::Stats> {
        if self.paths.dirs.is_empty() {
            return Err(super::no_cgroup());
        }
        let unified = self.paths.dirs.get("unified").map(PathBuf::as_path);
        super::stats::read_v1(|c| self.dir_of(c), unified)
    }

    fn oom_watch(&self) -> Result<super::OomWatch> {
        let dir = self
            .dir_of("memory")
            .ok_or_else(|| self.paths.missing("memory", "events"))?;
        super::OomWatch::v1(dir)
    }

    fn paths(&self) -> &CgroupPaths {
        &self.paths
    }
}

/// Copy a cpuset file from the nearest ancestor that has it set, down to `dir`; returns
/// the value, so each level is read once.
fn inherit_from_parent(dir: &Path, file: &str) -> Result<String> {
    let current = crate::support::proc::read_text(dir.join(file)).unwrap_or_default();
    if !current.trim().is_empty() {
        return Ok(current.trim().to_string());
    }
    let Some(parent) = dir.parent() else {
        return Ok(String::new());
    };
    let value = inherit_from_parent(parent, file)?;
    if !value.is_empty() {
        write(&dir.join(file), &value)?;
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hierarchies() -> Vec<Hierarchy> {
        [
            ("cpu,cpuacct", "/sys/fs/cgroup/cpu,cpuacct"),
            ("memory", "/sys/fs/cgroup/memory"),
            ("name=systemd", "/sys/fs/cgroup/systemd"),
            ("unified", "/sys/fs/cgroup/unified"),
        ]
        .into_iter()
        .map(|(name, mount)| Hierarchy {
            name: name.into(),
            mount: mount.into(),
        })
        .collect()
    }

    /// The caller's cgroups, as /proc/self/cgroup would give them.
    fn own() -> BTreeMap<String, String> {
        [
            ("cpuacct,cpu", "/"),
            ("memory", "/session/abc"),
            ("name=systemd", "/user.slice"),
            ("unified", "/"),
        ]
        .into_iter()
        .map(|(a, b)| (a.into(), b.into()))
        .collect()
    }

    fn dir(rel: &str, hierarchy: &str) -> String {
        let (dirs, _) = container_dirs(Path::new(rel), hierarchies(), &own());
        dirs[hierarchy].display().to_string()
    }

    #[test]
    fn absolute_paths_start_at_each_hierarchys_root() {
        assert_eq!(dir("/brig/c1", "memory"), "/sys/fs/cgroup/memory/brig/c1");
        assert_eq!(
            dir("/brig/c1", "cpu,cpuacct"),
            "/sys/fs/cgroup/cpu,cpuacct/brig/c1"
        );
        assert_eq!(dir("/brig/c1", "unified"), "/sys/fs/cgroup/unified/brig/c1");
    }

    #[test]
    fn relative_paths_go_under_the_callers_own_cgroup() {
        assert_eq!(
            dir("pod/c1", "memory"),
            "/sys/fs/cgroup/memory/session/abc/pod/c1"
        );
        assert_eq!(
            dir("pod/c1", "cpu,cpuacct"),
            "/sys/fs/cgroup/cpu,cpuacct/pod/c1"
        );
        assert_eq!(
            dir("pod/c1", "name=systemd"),
            "/sys/fs/cgroup/systemd/user.slice/pod/c1"
        );
        assert_eq!(dir("pod/c1", "unified"), "/sys/fs/cgroup/unified/pod/c1");
    }

    #[test]
    fn an_empty_path_is_the_id_under_the_callers_own_cgroup() {
        let rel = super::super::cgroupfs_path(Some(Path::new("")), "ctr1").unwrap();
        assert_eq!(rel, Path::new("ctr1"));
        let rel = super::super::cgroupfs_path(None, "ctr1").unwrap();
        let (dirs, _) = container_dirs(&rel, hierarchies(), &own());
        assert_eq!(
            dirs["memory"],
            Path::new("/sys/fs/cgroup/memory/session/abc/ctr1")
        );
        assert_eq!(
            dirs["name=systemd"],
            Path::new("/sys/fs/cgroup/systemd/user.slice/ctr1")
        );
        for bad in ["../x", "/a/../../b", "a/.."] {
            let err = super::super::cgroupfs_path(Some(Path::new(bad)), "c").unwrap_err();
            assert!(
                err.to_string().contains("linux.cgroupsPath"),
                "{bad}: {err}"
            );
        }
    }
}
