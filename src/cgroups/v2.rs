//! Pure cgroup v2 hosts: one directory under /sys/fs/cgroup.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

use super::{
    create_dir, enable_v2_controller, found_before, hugepage_limits, in_field, rdma_lines,
    read_pids_tree, remove_tree, tree, wait_for, write, write_unified, CgroupManager, CgroupPaths,
    Found,
};
use crate::support::error::{Error, Result};

pub struct Manager {
    paths: CgroupPaths,
    /// The directory as `create` opened it to attach the device filter, kept for
    /// `birth_cgroup` (one open of it, not two).
    opened: std::cell::Cell<Option<std::os::fd::OwnedFd>>,
}

const KEY: &str = "unified";

impl Manager {
    pub fn new(rel: &Path) -> Result<Manager> {
        let own = if rel.is_absolute() {
            None
        } else {
            super::own_v2_cgroup()?
        };
        let own = own.as_deref().and_then(Path::to_str);
        let dir = Path::new(super::CGROUP_ROOT).join(super::place(rel, own));
        let mounts = BTreeMap::from([(KEY.to_string(), PathBuf::from(super::CGROUP_ROOT))]);
        Ok(Manager {
            paths: CgroupPaths {
                layout: "v2".into(),
                dirs: BTreeMap::from([(KEY.to_string(), dir)]),
                mounts,
                ..CgroupPaths::default()
            },
            opened: Default::default(),
        })
    }

    pub fn from_paths(paths: CgroupPaths) -> Manager {
        Manager {
            paths,
            opened: Default::default(),
        }
    }

    /// The container's directory; rootless, a container may have none.
    fn dir(&self) -> Result<&Path> {
        self.paths
            .dirs
            .get(KEY)
            .map(PathBuf::as_path)
            .ok_or_else(|| {
                Error::msg("rootless: the container has no cgroup (this user may not create one)")
            })
    }
}

/// What the v2 manager cannot write, refused by config field before anything is created:
/// v2 has no swappiness, realtime CPU, leaf weights, net_cls or net_prio files.
pub(super) fn check(r: &LinuxResources) -> Result<()> {
    let no = |field: &str, why: &str| Err(Error::config(field, format!("cgroup v2 has {why}")));
    if let Some(m) = r.memory() {
        if m.swappiness().is_some() {
            return no(
                "linux.resources.memory.swappiness",
                "no per-cgroup swappiness",
            );
        }
    }
    if let Some(c) = r.cpu() {
        if c.realtime_runtime().is_some_and(|v| v != 0) {
            return no(
                "linux.resources.cpu.realtimeRuntime",
                "no realtime CPU bandwidth",
            );
        }
        if c.realtime_period().is_some_and(|v| v != 0) {
            return no(
                "linux.resources.cpu.realtimePeriod",
                "no realtime CPU bandwidth",
            );
        }
    }
    if let Some(b) = r.block_io() {
        let leaf = b.leaf_weight().is_some_and(|w| w > 0)
            || b.weight_device()
                .iter()
                .flatten()
                .any(|d| d.leaf_weight().is_some_and(|w| w > 0));
        if leaf {
            return no("linux.resources.blockIO.leafWeight", "no leaf weights");
        }
        if let Some(w) = b.weight().filter(|&w| w > 0 && !(10..=1000).contains(&w)) {
            return Err(Error::config(
                "linux.resources.blockIO.weight",
                format!("{w} is outside 10..1000"),
            ));
        }
    }
    if let Some(n) = r.network() {
        if n.class_id().is_some_and(|id| id != 0)
            || n.priorities().as_ref().is_some_and(|p| !p.is_empty())
        {
            return no(
                "linux.resources.network",
                "no net_cls or net_prio controller",
            );
        }
    }
    Ok(())
}

/// The cgroup directory as the device filter's attach and clone3's CLONE_INTO_CGROUP
/// take it.
fn open_dir(dir: &Path) -> nix::Result<std::os::fd::OwnedFd> {
    nix::fcntl::open(
        dir,
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
}

/// The v2 device filter: the spec's rules then runc's defaults, as an eBPF program
/// (`devices::bpf_program`) loaded and attached to the cgroup directory `dir`.
/// Returns the cgroup directory, opened to attach to.
pub(super) fn attach_device_filter(
    dir: &Path,
    spec_rules: &[oci_spec::runtime::LinuxDeviceCgroup],
) -> Result<std::os::fd::OwnedFd> {
    let field = "linux.resources.devices";
    let prog = super::devices::bpf_program(&super::devices::rules(spec_rules));
    let prog =
        crate::support::sys::bpf_load_cgroup_device(&super::devices::encode(&prog), c"Apache-2.0")
            .map_err(|e| Error::os(format!("{field}: load the eBPF device filter"), e))?;
    let cgroup =
        open_dir(dir).map_err(|e| Error::os(format!("{field}: open {}", dir.display()), e))?;
    crate::support::sys::bpf_attach_cgroup_device(
        std::os::fd::AsFd::as_fd(&cgroup),
        std::os::fd::AsFd::as_fd(&prog),
    )
    .map(|()| cgroup)
    .map_err(|e| {
        Error::os(
            format!(
                "{field}: attach the eBPF device filter to {}",
                dir.display()
            ),
            e,
        )
    })
}

/// runc's conversion of v1 cpu.shares (2..262144, default 1024) to v2 cpu.weight
/// (1..10000, default 100): a quadratic in log2(shares) through those three points.
/// 0 stays 0 (unset).
pub(super) fn cpu_weight(shares: u64) -> u64 {
    match shares {
        0 => 0,
        1..=2 => 1,
        262_144.. => 10_000,
        _ => {
            let l = (shares as f64).log2();
            let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
            10f64.powf(exponent).ceil() as u64
        }
    }
}

/// runc's conversion of a v1 blkio weight (10..1000) to v2 io.weight (1..10000).
pub(super) fn io_weight(blkio: u16) -> u64 {
    if blkio < 10 {
        return u64::from(blkio.min(1));
    }
    1 + (u64::from(blkio) - 10) * 9999 / 990
}

/// The OCI swap field is memory+swap; v2's memory.swap.max is swap alone. As runc: -1
/// stays "max", 0 stays unset (but unlimited memory with unset swap is unlimited swap),
/// otherwise swap − limit, which needs a limit no larger than swap.
pub(super) fn swap_max(swap: i64, limit: i64) -> std::result::Result<i64, String> {
    if limit == -1 && swap == 0 {
        return Ok(-1);
    }
    if swap == -1 || swap == 0 || limit == -1 {
        return Ok(swap);
    }
    if limit == 0 {
        return Err("a swap limit needs a memory limit".into());
    }
    if limit < 0 || swap < 0 {
        return Err(format!("invalid memory ({limit}) or memory+swap ({swap})"));
    }
    if swap < limit {
        return Err(format!(
            "memory+swap ({swap}) is less than the memory limit ({limit})"
        ));
    }
    Ok(swap - limit)
}

/// A v2 limit: negative is "max", 0 is unset.
fn limit_value(v: i64) -> Option<String> {
    match v {
        0 => None,
        v if v < 0 => Some("max".into()),
        v => Some(v.to_string()),
    }
}

/// memory.max, memory.swap.max (converted), memory.low (from reservation).
fn apply_memory(mount: &Path, dir: &Path, m: &oci_spec::runtime::LinuxMemory) -> Result<()> {
    let field = "linux.resources.memory";
    let limit = m.limit().unwrap_or(0);
    let swap = m.swap().unwrap_or(0);
    let reservation = m.reservation().unwrap_or(0);
    if m.disable_oom_killer() == Some(true) {
        crate::support::logging::warn(
            "linux.resources.memory.disableOOMKiller is ignored on cgroup v2 (as by runc)",
        );
    }
    if limit == 0 && reservation == 0 && swap <= 0 {
        return Ok(());
    }
    let swap_v2 =
        swap_max(swap, limit).map_err(|e| Error::config("linux.resources.memory.swap", e))?;
    enable_v2_controller(mount, dir, "memory").map_err(|e| e.wrap(field))?;
    // Memory and memory+swap equal: no swap at all.
    let swap_text = limit_value(swap_v2).or_else(|| (swap > 0).then(|| "0".to_string()));
    if let Some(text) = swap_text {
        let file = dir.join("memory.swap.max");
        // A kernel without swap accounting has no file; "max" and "0" then already hold.
        if file.exists() || !(text == "max" || text == "0") {
            write(&file, &text).map_err(in_field(field))?;
        }
    }
    if let Some(text) = limit_value(limit) {
        write(&dir.join("memory.max"), &text).map_err(in_field(field))?;
    }
    if let Some(text) = limit_value(reservation) {
        write(&dir.join("memory.low"), &text).map_err(in_field(field))?;
    }
    Ok(())
}

/// cpu.idle, cpu.weight (from shares), cpu.max, cpu.max.burst; cpuset.cpus and mems.
fn apply_cpu(mount: &Path, dir: &Path, c: &oci_spec::runtime::LinuxCpu) -> Result<()> {
    let field = "linux.resources.cpu";
    // Docker sends shares 0 for "unset".
    let weight = c.shares().map(cpu_weight).filter(|&w| w > 0);
    let quota = c.quota().filter(|&q| q != 0);
    let period = c.period().filter(|&p| p > 0);
    if weight.is_some()
        || quota.is_some()
        || period.is_some()
        || c.burst().is_some()
        || c.idle().is_some()
    {
        enable_v2_controller(mount, dir, "cpu").map_err(|e| e.wrap(field))?;
        if let Some(idle) = c.idle() {
            write(&dir.join("cpu.idle"), &idle.to_string()).map_err(in_field(field))?;
        }
        if let Some(w) = weight {
            write(&dir.join("cpu.weight"), &w.to_string()).map_err(in_field(field))?;
        }
        if quota.is_some() || period.is_some() {
            let file = dir.join("cpu.max");
            let quota = match quota {
                Some(q) if q > 0 => q.to_string(),
                Some(_) => "max".into(),
                // Only the period: keep the quota the cgroup has.
                None => crate::support::proc::read_text(&file)
                    .ok()
                    .and_then(|s| s.split_whitespace().next().map(str::to_string))
                    .unwrap_or_else(|| "max".into()),
            };
            let text = match period {
                Some(p) => format!("{quota} {p}"),
                None => quota,
            };
            write(&file, &text).map_err(in_field(field))?;
        }
        if let Some(burst) = c.burst() {
            write(&dir.join("cpu.max.burst"), &burst.to_string()).map_err(in_field(field))?;
        }
    }
    for (file, value, field) in [
        ("cpuset.cpus", c.cpus(), "linux.resources.cpu.cpus"),
        ("cpuset.mems", c.mems(), "linux.resources.cpu.mems"),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            enable_v2_controller(mount, dir, "cpuset").map_err(|e| e.wrap(field))?;
            write(&dir.join(file), v).map_err(in_field(field))?;
        }
    }
    Ok(())
}

/// io.bfq.weight where the BFQ scheduler is present, else io.weight (converted);
/// per-device weights (BFQ only); io.max throttles.
fn apply_io(mount: &Path, dir: &Path, b: &oci_spec::runtime::LinuxBlockIo) -> Result<()> {
    let field = "linux.resources.blockIO";
    // Docker sends weight 0 for "unset".
    let weight = b.weight().filter(|&w| w > 0);
    let devices: Vec<_> = b
        .weight_device()
        .iter()
        .flatten()
        .filter_map(|d| Some((d.major(), d.minor(), d.weight()?)))
        .collect();
    let throttles: Vec<String> = [
        ("rbps", b.throttle_read_bps_device()),
        ("wbps", b.throttle_write_bps_device()),
        ("riops", b.throttle_read_iops_device()),
        ("wiops", b.throttle_write_iops_device()),
    ]
    .into_iter()
    .flat_map(|(key, list)| {
        list.iter()
            .flatten()
            .map(move |t| format!("{}:{} {key}={}", t.major(), t.minor(), t.rate()))
            .collect::<Vec<_>>()
    })
    .collect();
    if weight.is_none() && devices.is_empty() && throttles.is_empty() {
        return Ok(());
    }
    enable_v2_controller(mount, dir, "io").map_err(|e| e.wrap(field))?;
    let bfq = dir.join("io.bfq.weight");
    let has_bfq = bfq.exists();
    if let Some(w) = weight {
        if has_bfq {
            write(&bfq, &w.to_string()).map_err(in_field(field))?;
        } else {
            write(&dir.join("io.weight"), &format!("default {}", io_weight(w)))
                .map_err(in_field(field))?;
        }
    }
    if !devices.is_empty() && !has_bfq {
        return Err(Error::config(
            "linux.resources.blockIO.weightDevice",
            "per-device weights need the BFQ I/O scheduler (no io.bfq.weight)",
        ));
    }
    for (major, minor, w) in devices {
        write(&bfq, &format!("{major}:{minor} {w}")).map_err(in_field(field))?;
    }
    for line in throttles {
        write(&dir.join("io.max"), &line).map_err(in_field(field))?;
    }
    Ok(())
}

/// Every resource but devices, written into `dir` of the cgroup2 hierarchy mounted at
/// `mount` (each controller enabled down the path first): what create and update set.
pub(super) fn apply_limits(mount: &Path, dir: &Path, r: &LinuxResources) -> Result<()> {
    check(r)?;
    if let Some(m) = r.memory() {
        apply_memory(mount, dir, m)?;
    }
    if let Some(c) = r.cpu() {
        apply_cpu(mount, dir, c)?;
    }
    if let Some(p) = r.pids() {
        // As on v1: a positive limit, else no limit.
        let field = "linux.resources.pids";
        let max = limit_value(p.limit()).unwrap_or_else(|| "max".into());
        enable_v2_controller(mount, dir, "pids").map_err(|e| e.wrap(field))?;
        write(&dir.join("pids.max"), &max).map_err(in_field(field))?;
    }
    if let Some(b) = r.block_io() {
        apply_io(mount, dir, b)?;
    }
    if let Some(h) = r.hugepage_limits().as_deref().filter(|h| !h.is_empty()) {
        let field = "linux.resources.hugepageLimits";
        let sizes = hugepage_limits(h)?;
        enable_v2_controller(mount, dir, "hugetlb").map_err(|e| e.wrap(field))?;
        for (size, limit) in sizes {
            let value = if limit < 0 {
                "max".to_string()
            } else {
                limit.to_string()
            };
            write(&dir.join(format!("hugetlb.{size}.max")), &value).map_err(in_field(field))?;
        }
    }
    if let Some(rdma) = r.rdma() {
        let lines = rdma_lines(rdma);
        if !lines.is_empty() {
            let field = "linux.resources.rdma";
            enable_v2_controller(mount, dir, "rdma").map_err(|e| e.wrap(field))?;
            for line in lines {
                write(&dir.join("rdma.max"), &line).map_err(in_field(field))?;
            }
        }
    }
    // Last, as in runc: the raw files win over the typed fields.
    if let Some(u) = r.unified().as_ref().filter(|u| !u.is_empty()) {
        write_unified(mount, dir, u)?;
    }
    Ok(())
}

impl CgroupManager for Manager {
    fn create(&self, resources: Option<&LinuxResources>) -> Result<Found> {
        if let Some(r) = resources {
            check(r)?;
        }
        let Ok(dir) = self.dir() else {
            // Rootless without a cgroup: fine unless the config asks for a limit.
            return match resources.and_then(super::first_limit) {
                Some((field, controller)) => Err(self.paths.missing(controller, field)),
                None => Ok(Found::default()),
            };
        };
        // mkdir first: a new container's cgroup is usually new, and then nothing is in it.
        let found = if create_dir(dir)? {
            Found::default()
        } else {
            found_before(dir)?
        };
        // As runc: the filter (runc's defaults at least) on every new container; rootless,
        // where only root may load it, it is skipped as runc does.
        let spec_rules = resources
            .and_then(|r| r.devices().as_deref())
            .unwrap_or_default();
        match attach_device_filter(dir, spec_rules) {
            Ok(fd) => self.opened.set(Some(fd)),
            Err(_) if self.paths.rootless && !crate::support::proc::privileged() => {}
            Err(e) => return Err(e),
        }
        if let Some(r) = resources {
            apply_limits(Path::new(super::CGROUP_ROOT), dir, r)?;
        }
        Ok(found)
    }

    fn update(&self, resources: &LinuxResources) -> Result<()> {
        let resources = super::with_current_values(&self.paths, resources);
        apply_limits(Path::new(super::CGROUP_ROOT), self.dir()?, &resources)
    }

    fn freeze(&self, frozen: bool) -> Result<()> {
        let dir = self.dir()?;
        write(&dir.join("cgroup.freeze"), if frozen { "1" } else { "0" })?;
        wait_for(
            &dir.join("cgroup.events"),
            if frozen { "frozen 1" } else { "frozen 0" },
        )
    }

    fn add(&self, pid: i32) -> Result<()> {
        match self.dir() {
            Ok(dir) => write(&dir.join("cgroup.procs"), &pid.to_string()),
            Err(_) => Ok(()),
        }
    }

    fn birth_cgroup(&self) -> Option<std::os::fd::OwnedFd> {
        self.opened
            .take()
            .or_else(|| open_dir(self.dir().ok()?).ok())
    }

    fn pids(&self) -> Result<Vec<i32>> {
        read_pids_tree(self.dir()?)
    }

    fn is_frozen(&self) -> bool {
        self.dir().is_ok_and(|d| {
            crate::support::proc::read_text(d.join("cgroup.freeze")).is_ok_and(|s| s.trim() == "1")
        })
    }

    fn thaw_tree(&self) {
        let Ok(dir) = self.dir() else {
            return;
        };
        for d in tree(dir) {
            let file = d.join("cgroup.freeze");
            if crate::support::proc::read_text(&file).is_ok_and(|s| s.trim() == "1") {
                let _ = write(&file, "0");
            }
        }
    }

    fn destroy(&self) -> Result<Vec<PathBuf>> {
        match self.dir() {
            Ok(dir) => remove_tree(dir, self.paths.preexisting),
            Err(_) => Ok(Vec::new()),
        }
    }

    fn stats(&self) -> Result<super::Stats> {
        super::stats::read_v2(self.dir()?)
    }

    fn oom_watch(&self) -> Result<super::OomWatch> {
        super::OomWatch::v2(self.dir()?)
    }

    fn paths(&self) -> &CgroupPaths {
        &self.paths
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake cgroup2 mount in a temp dir: the root offers `controllers`, and the container's
    /// cgroup is `pod/c1` with the usual v2 files present and empty.
    struct Fake {
        mount: PathBuf,
        dir: PathBuf,
    }

    impl Fake {
        fn new(name: &str, controllers: &str) -> Fake {
            let mount = std::env::temp_dir().join(format!("brig-v2-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&mount);
            let dir = mount.join("pod/c1");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(mount.join("cgroup.controllers"), controllers).unwrap();
            for d in [&mount, &mount.join("pod")] {
                std::fs::write(d.join("cgroup.subtree_control"), "").unwrap();
            }
            for f in [
                "memory.max",
                "memory.swap.max",
                "memory.low",
                "cpu.weight",
                "cpu.max",
                "cpu.idle",
                "cpu.max.burst",
                "cpuset.cpus",
                "cpuset.mems",
                "pids.max",
                "io.weight",
                "io.max",
            ] {
                std::fs::write(dir.join(f), "").unwrap();
            }
            Fake { mount, dir }
        }

        fn read(&self, file: &str) -> String {
            std::fs::read_to_string(self.dir.join(file)).unwrap()
        }

        fn enabled(&self, at: &str) -> String {
            std::fs::read_to_string(self.mount.join(at).join("cgroup.subtree_control")).unwrap()
        }

        fn apply(&self, json: &str) -> Result<()> {
            let r: LinuxResources = serde_json::from_str(json).unwrap();
            apply_limits(&self.mount, &self.dir, &r)
        }
    }

    impl Drop for Fake {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.mount);
        }
    }

    const ALL: &str = "cpuset cpu io memory hugetlb pids rdma misc";

    #[test]
    fn conversions_follow_runc() {
        assert_eq!(cpu_weight(0), 0);
        assert_eq!(cpu_weight(2), 1);
        assert_eq!(cpu_weight(1024), 100);
        assert_eq!(cpu_weight(262_144), 10_000);
        assert_eq!(cpu_weight(1), 1);
        assert_eq!(cpu_weight(3), 2);
        assert_eq!(cpu_weight(262_143), 10_000);
        assert_eq!(cpu_weight(262_145), 10_000);
        assert_eq!(io_weight(10), 1);
        assert_eq!(io_weight(500), 4950);
        assert_eq!(io_weight(1000), 10_000);
        assert_eq!(swap_max(96 << 20, 64 << 20), Ok(32 << 20));
        assert_eq!(swap_max(64 << 20, 64 << 20), Ok(0));
        assert_eq!(swap_max(-1, 64 << 20), Ok(-1));
        assert_eq!(swap_max(0, -1), Ok(-1));
        assert_eq!(swap_max(0, 64 << 20), Ok(0));
        assert!(swap_max(32 << 20, 64 << 20).is_err());
        assert!(swap_max(32 << 20, 0).is_err());
        assert!(swap_max(-2, 0).is_err());
        assert!(swap_max(500, -2).is_err());
    }

    #[test]
    fn a_representative_spec_writes_runcs_v2_values() {
        let fake = Fake::new("spec", ALL);
        fake.apply(
            r#"{
                "memory": {"limit": 67108864, "swap": 100663296, "reservation": 33554432},
                "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0-1", "mems": "0", "idle": 0},
                "pids": {"limit": 20},
                "blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]}
            }"#,
        )
        .unwrap();
        assert_eq!(fake.read("memory.max"), "67108864");
        assert_eq!(fake.read("memory.swap.max"), "33554432");
        assert_eq!(fake.read("memory.low"), "33554432");
        assert_eq!(fake.read("cpu.weight"), "100");
        assert_eq!(fake.read("cpu.max"), "50000 100000");
        assert_eq!(fake.read("cpu.idle"), "0");
        assert_eq!(fake.read("cpuset.cpus"), "0-1");
        assert_eq!(fake.read("cpuset.mems"), "0");
        assert_eq!(fake.read("pids.max"), "20");
        assert_eq!(fake.read("io.weight"), "default 4950");
        assert_eq!(fake.read("io.max"), "8:0 rbps=1048576");
        // Each controller was enabled in the root and in pod (the file keeps the last write).
        assert_eq!(fake.enabled(""), "+io");
        assert_eq!(fake.enabled("pod"), "+io");
    }

    #[test]
    fn zero_values_are_unset_and_minus_one_is_max() {
        let fake = Fake::new("zero", ALL);
        fake.apply(r#"{"cpu": {"shares": 0}, "blockIO": {"weight": 0}, "memory": {"limit": 0}}"#)
            .unwrap();
        for f in [
            "cpu.weight",
            "cpu.max",
            "io.weight",
            "memory.max",
            "memory.swap.max",
        ] {
            assert_eq!(fake.read(f), "", "{f}");
        }
        assert_eq!(
            fake.enabled(""),
            "",
            "no controller enabled for unset values"
        );
        fake.apply(r#"{"memory": {"limit": -1}, "cpu": {"quota": -1}, "pids": {"limit": -1}}"#)
            .unwrap();
        assert_eq!(fake.read("memory.max"), "max");
        assert_eq!(fake.read("memory.swap.max"), "max");
        assert_eq!(fake.read("cpu.max"), "max");
        assert_eq!(fake.read("pids.max"), "max");
        // Memory equal to memory+swap: no swap.
        fake.apply(r#"{"memory": {"limit": 1048576, "swap": 1048576}}"#)
            .unwrap();
        assert_eq!(fake.read("memory.swap.max"), "0");
    }

    #[test]
    fn update_of_the_period_alone_keeps_the_quota() {
        let fake = Fake::new("period", ALL);
        fake.apply(r#"{"cpu": {"quota": 20000, "period": 100000}}"#)
            .unwrap();
        fake.apply(r#"{"cpu": {"period": 50000}}"#).unwrap();
        assert_eq!(fake.read("cpu.max"), "20000 50000");
        fake.apply(r#"{"cpu": {"quota": 30000, "burst": 1000}}"#)
            .unwrap();
        assert_eq!(fake.read("cpu.max"), "30000");
        assert_eq!(fake.read("cpu.max.burst"), "1000");
    }

    #[test]
    fn update_of_the_swap_alone_converts_with_the_current_memory_limit() {
        let fake = Fake::new("swap", ALL);
        fake.apply(r#"{"memory": {"limit": 67108864, "swap": 134217728}}"#)
            .unwrap();
        assert_eq!(fake.read("memory.swap.max"), "67108864");
        let paths = CgroupPaths {
            layout: "v2".into(),
            dirs: BTreeMap::from([(KEY.to_string(), fake.dir.clone())]),
            ..CgroupPaths::default()
        };
        let update = |json: &str| {
            let r: LinuxResources = serde_json::from_str(json).unwrap();
            apply_limits(
                &fake.mount,
                &fake.dir,
                &super::super::with_current_values(&paths, &r),
            )
        };
        update(r#"{"memory": {"swap": -1}}"#).unwrap();
        assert_eq!(fake.read("memory.swap.max"), "max");
        update(r#"{"memory": {"swap": 100663296}}"#).unwrap();
        assert_eq!(fake.read("memory.swap.max"), "33554432");
        assert_eq!(fake.read("memory.max"), "67108864");
    }

    #[test]
    fn bfq_takes_the_raw_weight_and_device_weights() {
        let fake = Fake::new("bfq", ALL);
        std::fs::write(fake.dir.join("io.bfq.weight"), "").unwrap();
        fake.apply(r#"{"blockIO": {"weight": 300}}"#).unwrap();
        assert_eq!(fake.read("io.bfq.weight"), "300");
        assert_eq!(fake.read("io.weight"), "");
        fake.apply(r#"{"blockIO": {"weightDevice": [{"major": 8, "minor": 16, "weight": 700}]}}"#)
            .unwrap();
        assert_eq!(fake.read("io.bfq.weight"), "8:16 700");
        std::fs::remove_file(fake.dir.join("io.bfq.weight")).unwrap();
        let err = fake
            .apply(r#"{"blockIO": {"weightDevice": [{"major": 8, "minor": 16, "weight": 700}]}}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("linux.resources.blockIO.weightDevice"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_controller_is_an_error_only_when_asked_for() {
        let fake = Fake::new("missing", "cpu pids");
        fake.apply(r#"{"memory": {"limit": 0}, "blockIO": {"weight": 0}, "pids": {"limit": 5}}"#)
            .unwrap();
        for (json, field) in [
            (
                r#"{"memory": {"limit": 1048576}}"#,
                "linux.resources.memory",
            ),
            (r#"{"blockIO": {"weight": 100}}"#, "linux.resources.blockIO"),
            (r#"{"cpu": {"cpus": "0"}}"#, "linux.resources.cpu.cpus"),
        ] {
            let err = fake.apply(json).unwrap_err().to_string();
            assert!(err.contains(field), "{json}: {err}");
        }
    }

    #[test]
    fn fields_without_a_v2_file_are_refused_by_name() {
        let res = |json: &str| -> LinuxResources { serde_json::from_str(json).unwrap() };
        for (json, field) in [
            (
                r#"{"memory": {"swappiness": 10}}"#,
                "linux.resources.memory.swappiness",
            ),
            (
                r#"{"cpu": {"realtimeRuntime": 1000}}"#,
                "linux.resources.cpu.realtimeRuntime",
            ),
            (
                r#"{"blockIO": {"leafWeight": 100}}"#,
                "linux.resources.blockIO.leafWeight",
            ),
            (
                r#"{"blockIO": {"weight": 5}}"#,
                "linux.resources.blockIO.weight",
            ),
            (r#"{"network": {"classID": 1}}"#, "linux.resources.network"),
            (
                r#"{"memory": {"limit": 1048576, "swap": 1024}}"#,
                "linux.resources.memory.swap",
            ),
        ] {
            let fake = Fake::new("refused", ALL);
            let err = fake.apply(json).unwrap_err().to_string();
            assert!(err.contains(field), "{json}: {err}");
            let _ = res(json);
        }
        assert!(check(&res(
            r#"{"cpu": {"shares": 0, "realtimeRuntime": 0}, "network": {"classID": 0}}"#
        ))
        .is_ok());
    }

    /// The filter loads (the kernel's verifier accepts it) and bites: on this hybrid host
    /// the cgroup2 mount's device programs run for its cgroups too. A shell moved into a
    /// cgroup with Docker's rules (deny all, then runc's defaults) can still open /dev/null
    /// but no longer /dev/kmsg (c 1:11, not a default), which it opened just before.
    #[test]
    fn the_device_filter_loads_attaches_and_denies() {
        let mount = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
            .into_iter()
            .map(Path::new)
            .find(|m| m.join("cgroup.procs").exists() && m.join("cgroup.subtree_control").exists());
        let Some(mount) = mount.filter(|_| nix::unistd::geteuid().is_root()) else {
            eprintln!("skipped: needs root and a cgroup2 mount");
            return;
        };
        let dir = mount.join(format!("brig-devfilter-{}", std::process::id()));
        let node = std::env::temp_dir().join(format!("brig-kmsg-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        let rules: Vec<oci_spec::runtime::LinuxDeviceCgroup> =
            serde_json::from_str(r#"[{"allow": false, "access": "rwm"}]"#).unwrap();
        let attached = attach_device_filter(&dir, &rules);
        let out = attached.as_ref().ok().map(|_| {
            std::process::Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "mknod {n} c 1 11 && : > {n} && echo before-ok; echo $$ > {d}/cgroup.procs && : < /dev/null && echo null-ok; : > {n} && echo after-ok; exit 0",
                    n = node.display(),
                    d = dir.display()
                ))
                .output()
                .unwrap()
        });
        let _ = std::fs::remove_file(&node);
        let _ = super::super::remove_dir(&dir);
        attached.unwrap();
        let out = out.unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !stdout.contains("before-ok") {
            eprintln!("skipped: cannot open a kmsg node here: {stderr}");
            return;
        }
        assert!(stdout.contains("null-ok"), "{stdout} {stderr}");
        assert!(!stdout.contains("after-ok"), "{stdout} {stderr}");
        assert!(
            stderr.contains("ermission denied") || stderr.contains("ot permitted"),
            "{stderr}"
        );
    }
}
