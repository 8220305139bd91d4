//! The systemd cgroup driver (`--systemd-cgroup`) under a real systemd: `make test` runs
//! this file in a VM with systemd as PID 1 and a system bus, once on pure cgroup v2 and once
//! on a hybrid layout (tests/v2vm, V2VM_SYSTEMD). On a host without systemd each test says
//! so and passes, unless BRIG_REQUIRE_SYSTEMD is set (the VM sets it), where it fails.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::json;

/// Whether to run: systemd is PID 1 here (else the test is skipped, or fails when the VM
/// asked for systemd and it is missing).
fn systemd_here() -> bool {
    let up = Path::new("/run/systemd/system").is_dir();
    if !up {
        assert!(
            std::env::var_os("BRIG_REQUIRE_SYSTEMD").is_none(),
            "BRIG_REQUIRE_SYSTEMD is set but systemd is not running"
        );
        eprintln!("skipped: systemd is not running on this host (make test runs this file in the systemd VM)");
    }
    up
}

/// A container context whose cgroup is the scope `brigtest-<id>.scope` in `slice`; the
/// kit's cgroup checks then look at the unit's cgroup.
fn ctx(name: &str, slice: &str) -> (Ctx, Unit) {
    let mut c = Ctx::new(name);
    let unit = format!("brigtest-{}.scope", c.id);
    c.config["linux"]["cgroupsPath"] = json!(format!("{slice}:brigtest:{}", c.id));
    c.cgroup = format!("{}/{unit}", expand(slice));
    (c, Unit(unit))
}

/// systemd's nesting of a slice name: a-b.slice is /a.slice/a-b.slice.
fn expand(slice: &str) -> String {
    let stem = slice.trim_end_matches(".slice");
    let mut path = String::new();
    let mut prefix = String::new();
    for part in stem.split('-') {
        path.push_str(&format!("/{prefix}{part}.slice"));
        prefix.push_str(part);
        prefix.push('-');
    }
    path
}

/// A unit name, stopped and forgotten when the test ends however it ends.
struct Unit(String);

impl Unit {
    /// `systemctl show -p NAME --value`.
    fn prop(&self, name: &str) -> String {
        systemctl(&["show", "-p", name, "--value", &self.0])
    }

    /// What systemd knows of the unit: its LoadState ("not-found" once it is gone) and
    /// ActiveState.
    fn states(&self) -> (String, String) {
        (self.prop("LoadState"), self.prop("ActiveState"))
    }

    fn assert_gone(&self) {
        assert_eq!(
            self.states(),
            ("not-found".to_string(), "inactive".to_string()),
            "unit {} left behind",
            self.0
        );
        let failed = systemctl(&["list-units", "--failed", "--all", "--plain", "--no-legend"]);
        assert!(!failed.contains(&self.0), "failed unit left: {failed}");
    }
}

impl Drop for Unit {
    fn drop(&mut self) {
        let _ = Command::new("systemctl").args(["stop", &self.0]).output();
        let _ = Command::new("systemctl")
            .args(["reset-failed", &self.0])
            .output();
    }
}

fn systemctl(args: &[&str]) -> String {
    let out = Command::new("systemctl").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn create_systemd(c: &Ctx) {
    let out = c.create_with_flags(&["--systemd-cgroup"]);
    assert!(out.status.success(), "create: {}", stderr(&out));
}

/// The init's cgroup as /proc/PID/cgroup names it (the v2 line, or the name=systemd one).
fn init_cgroup(pid: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    text.lines()
        .find_map(|l| {
            l.strip_prefix("0::")
                .or_else(|| l.strip_prefix("1:name=systemd:"))
        })
        .unwrap_or_else(|| panic!("{text}"))
        .to_string()
}

#[test]
fn the_container_s_cgroup_is_a_delegated_scope_holding_the_init() {
    if !systemd_here() {
        return;
    }
    let (c, unit) = ctx("sd-scope", "brigtest.slice");
    create_systemd(&c);
    assert_eq!(unit.states().1, "active");
    assert_eq!(unit.prop("Delegate"), "yes");
    assert_eq!(unit.prop("Slice"), "brigtest.slice");
    assert_eq!(unit.prop("ControlGroup"), c.cgroup);
    let pid = c.state()["pid"].to_string();
    assert_eq!(init_cgroup(&pid), c.cgroup);
    assert!(!c.cgroup_dirs().is_empty());
    // The driver is in the state: start, kill and delete are not told again.
    c.brig_ok(&["start", &c.id]);
    c.wait_status("stopped");
    c.brig_ok(&["delete", &c.id]);
    unit.assert_gone();
    c.assert_clean();
}

#[test]
fn resources_are_unit_properties_and_cgroup_files_and_update_changes_both() {
    if !systemd_here() {
        return;
    }
    let (mut c, unit) = ctx("sd-res", "brigtest.slice");
    c.set_args(&["sleep", "100"]);
    c.config["linux"]["resources"] = json!({
        "memory": {"limit": 67108864, "reservation": 33554432, "swap": 134217728},
        "cpu": {"shares": 512, "quota": 25000, "period": 100000, "cpus": "0", "mems": "0"},
        "pids": {"limit": 20},
        "devices": [{"allow": false, "access": "rwm"}],
    });
    create_systemd(&c);
    let v2 = cgroup_v2();
    let file = |v1c: &str, v1f: &str, v2f: &str| read_cg(&c, v1c, v1f, v2f);
    if v2 {
        assert_eq!(unit.prop("MemoryMax"), "67108864");
        assert_eq!(file("", "", "memory.max"), "67108864");
        assert_eq!(unit.prop("MemoryLow"), "33554432");
        assert_eq!(file("", "", "memory.low"), "33554432");
        assert_eq!(unit.prop("MemorySwapMax"), "67108864");
        assert_eq!(file("", "", "memory.swap.max"), "67108864");
        assert_eq!(unit.prop("CPUWeight"), "59");
        assert_eq!(file("", "", "cpu.weight"), "59");
        assert_eq!(file("", "", "cpu.max"), "25000 100000");
        assert_eq!(unit.prop("AllowedCPUs"), "0");
        assert_eq!(unit.prop("AllowedMemoryNodes"), "0");
        assert_eq!(file("", "", "cpuset.cpus"), "0");
    } else {
        assert_eq!(unit.prop("MemoryLimit"), "67108864");
        assert_eq!(file("memory", "memory.limit_in_bytes", ""), "67108864");
        assert_eq!(unit.prop("CPUShares"), "512");
        assert_eq!(file("cpu,cpuacct", "cpu.shares", ""), "512");
        assert_eq!(file("cpu,cpuacct", "cpu.cfs_quota_us", ""), "25000");
        assert_eq!(file("cpuset", "cpuset.cpus", ""), "0");
    }
    assert_eq!(unit.prop("CPUQuotaPerSecUSec"), "250ms");
    assert_eq!(unit.prop("CPUQuotaPeriodUSec"), "100ms");
    assert_eq!(unit.prop("TasksMax"), "20");
    assert_eq!(file("pids", "pids.max", "pids.max"), "20");
    assert_eq!(unit.prop("DevicePolicy"), "strict");
    let allow = unit.prop("DeviceAllow");
    assert!(allow.contains("/dev/char/1:3 rwm"), "{allow}");
    assert!(allow.contains("char-136 rwm"), "{allow}");

    c.brig_ok(&[
        "update",
        "--memory",
        "134217728",
        "--pids-limit",
        "30",
        "--cpu-quota",
        "50000",
        &c.id,
    ]);
    if v2 {
        assert_eq!(unit.prop("MemoryMax"), "134217728");
        assert_eq!(file("", "", "memory.max"), "134217728");
        assert_eq!(file("", "", "cpu.max"), "50000 100000");
    } else {
        assert_eq!(unit.prop("MemoryLimit"), "134217728");
        assert_eq!(file("memory", "memory.limit_in_bytes", ""), "134217728");
        assert_eq!(file("cpu,cpuacct", "cpu.cfs_quota_us", ""), "50000");
    }
    assert_eq!(unit.prop("TasksMax"), "30");
    assert_eq!(file("pids", "pids.max", "pids.max"), "30");
    assert_eq!(unit.prop("CPUQuotaPerSecUSec"), "500ms");
    // Parts of a pair alone: the quota kept with a new period, swap against the memory
    // limit the container has (systemd takes them whole; runc merges the same way).
    c.brig_ok(&["update", "--cpu-period", "50000", &c.id]);
    assert_eq!(unit.prop("CPUQuotaPeriodUSec"), "50ms");
    assert_eq!(unit.prop("CPUQuotaPerSecUSec"), "1s");
    if v2 {
        assert_eq!(file("", "", "cpu.max"), "50000 50000");
        c.brig_ok(&["update", "--memory-swap", "-1", &c.id]);
        assert_eq!(unit.prop("MemorySwapMax"), "infinity");
        assert_eq!(file("", "", "memory.swap.max"), "max");
        assert_eq!(unit.prop("MemoryMax"), "134217728");
    } else {
        assert_eq!(file("cpu,cpuacct", "cpu.cfs_period_us", ""), "50000");
        assert_eq!(file("cpu,cpuacct", "cpu.cfs_quota_us", ""), "50000");
    }
    c.brig_ok(&["delete", "--force", &c.id]);
    unit.assert_gone();
    c.assert_clean();
}

#[test]
fn a_kubernetes_pod_slice_holds_two_containers_named_as_cri_runtimes_name_them() {
    if !systemd_here() {
        return;
    }
    let pod = format!("kubepods-besteffort-pod{}.slice", std::process::id());
    let slice = Unit(pod.clone());
    let (mut a, ua) = ctx("sd-pod-a", &pod);
    let (mut b, ub) = ctx("sd-pod-b", &pod);
    // As containerd's CRI plugin and CRI-O name them.
    for (c, prefix) in [(&mut a, "cri-containerd"), (&mut b, "crio")] {
        c.config["linux"]["cgroupsPath"] = json!(format!("{pod}:{prefix}:{}", c.id));
        c.set_args(&["sleep", "100"]);
    }
    let ua = Unit(ua.0.replacen("brigtest-", "cri-containerd-", 1));
    let ub = Unit(ub.0.replacen("brigtest-", "crio-", 1));
    a.cgroup = format!("{}/{}", expand(&pod), ua.0);
    b.cgroup = format!("{}/{}", expand(&pod), ub.0);
    for c in [&a, &b] {
        create_systemd(c);
        c.brig_ok(&["start", &c.id]);
    }
    // The parent slices were made on the way: kubepods, kubepods-besteffort, the pod.
    assert!(a
        .cgroup
        .starts_with("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"));
    for (c, u) in [(&a, &ua), (&b, &ub)] {
        assert_eq!(u.prop("Slice"), pod);
        assert_eq!(u.states().1, "active");
        let pid = c.state()["pid"].to_string();
        assert_eq!(init_cgroup(&pid), c.cgroup);
    }
    assert_eq!(slice.states().1, "active");
    for (c, u) in [(&a, &ua), (&b, &ub)] {
        c.brig_ok(&["kill", &c.id, "KILL"]);
        c.wait_status("stopped");
        c.brig_ok(&["delete", &c.id]);
        u.assert_gone();
        c.assert_clean();
    }
}

#[test]
fn pause_and_resume_freeze_the_unit_s_cgroup() {
    if !systemd_here() {
        return;
    }
    let (mut c, unit) = ctx("sd-pause", "brigtest.slice");
    c.set_args(&["sleep", "100"]);
    create_systemd(&c);
    c.brig_ok(&["start", &c.id]);
    c.brig_ok(&["pause", &c.id]);
    assert_eq!(c.state()["status"], "paused");
    let frozen = if cgroup_v2() {
        read_cg(&c, "", "", "cgroup.freeze")
    } else {
        read_cg(&c, "freezer", "freezer.state", "")
    };
    assert!(frozen == "1" || frozen == "FROZEN", "{frozen}");
    c.brig_ok(&["resume", &c.id]);
    assert_eq!(c.state()["status"], "running");
    c.brig_ok(&["delete", "--force", &c.id]);
    unit.assert_gone();
    c.assert_clean();
}

#[test]
fn a_name_is_free_again_after_delete_and_an_init_that_exits_is_cleaned() {
    if !systemd_here() {
        return;
    }
    let (mut c, unit) = ctx("sd-again", "brigtest.slice");
    c.set_args(&["true"]);
    for _ in 0..2 {
        create_systemd(&c);
        c.brig_ok(&["start", &c.id]);
        // The init exits on its own: systemd sees the scope empty; delete still cleans.
        c.wait_status("stopped");
        c.brig_ok(&["delete", &c.id]);
        unit.assert_gone();
        c.assert_clean();
    }
    // kill of a running one, then delete.
    c.set_args(&["sleep", "100"]);
    create_systemd(&c);
    c.brig_ok(&["start", &c.id]);
    c.brig_ok(&["kill", &c.id, "KILL"]);
    c.wait_status("stopped");
    c.brig_ok(&["delete", &c.id]);
    unit.assert_gone();
    c.assert_clean();
}

#[test]
fn annotations_become_properties_and_refusals_leave_nothing() {
    if !systemd_here() {
        return;
    }
    let (mut c, unit) = ctx("sd-annot", "brigtest.slice");
    c.config["annotations"] = json!({
        "org.systemd.property.TimeoutStopSec": "uint64 7",
        "org.systemd.property.CollectMode": "'inactive-or-failed'",
    });
    create_systemd(&c);
    assert_eq!(unit.prop("TimeoutStopUSec"), "7s");
    assert_eq!(unit.prop("CollectMode"), "inactive-or-failed");
    c.brig_ok(&["delete", "--force", &c.id]);
    unit.assert_gone();
    c.assert_clean();

    // systemd refuses a property it does not know: its error name and message, nothing left.
    c.config["annotations"] = json!({"org.systemd.property.NoSuchThing": "true"});
    let out = c.create_with_flags(&["--systemd-cgroup"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("systemd refused"), "{err}");
    assert!(err.contains("NoSuchThing"), "{err}");
    unit.assert_gone();
    c.assert_clean();

    // A malformed path names the field.
    c.config["annotations"] = json!({});
    c.config["linux"]["cgroupsPath"] = json!("brigtest.slice:only-two");
    let out = c.create_with_flags(&["--systemd-cgroup"]);
    assert!(
        stderr(&out).contains("linux.cgroupsPath"),
        "{}",
        stderr(&out)
    );
    c.assert_clean();
}

#[test]
fn a_unit_of_the_same_name_that_is_active_is_refused_and_kept() {
    if !systemd_here() {
        return;
    }
    let (mut a, unit) = ctx("sd-twice", "brigtest.slice");
    a.set_args(&["sleep", "100"]);
    create_systemd(&a);
    let mut b = Ctx::new("sd-twice-b");
    b.config["linux"]["cgroupsPath"] = a.config["linux"]["cgroupsPath"].clone();
    b.cgroup = format!("/nonexistent-{}", b.id);
    let out = b.create_with_flags(&["--systemd-cgroup"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("already exists"), "{err}");
    b.assert_clean();
    // The first container's unit is untouched.
    assert_eq!(unit.states().1, "active");
    let pid = a.state()["pid"].to_string();
    assert_eq!(init_cgroup(&pid), a.cgroup);
    a.brig_ok(&["delete", "--force", &a.id]);
    unit.assert_gone();
    a.assert_clean();
}

/// Rootless: the unit is the user's own systemd instance's (user@UID.service, started
/// here as a login would), reached on the user's bus; no flag but `--systemd-cgroup`.
/// On v1/hybrid, refused (a user's systemd cannot delegate v1 controllers).
#[test]
fn a_rootless_container_is_a_scope_of_the_user_s_own_systemd() {
    if !systemd_here() {
        return;
    }
    let (uid, _) = rootless_user();
    let manager = Unit(format!("user@{uid}.service"));
    assert_eq!(systemctl(&["start", &manager.0]), "");
    let bus = format!("/run/user/{uid}/bus");
    for _ in 0..100 {
        if Path::new(&bus).exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let mut c = Ctx::rootless("sd-rootless");
    let unit = format!("brigtest-{}.scope", c.id);
    c.config["linux"]["cgroupsPath"] = json!(format!(":brigtest:{}", c.id));
    c.config["process"]["args"] = json!(["sleep", "100"]);
    c.cgroup = format!("/user.slice/user-{uid}.slice/user@{uid}.service/user.slice/{unit}");
    let show = |prop: &str| {
        let out = Command::new("runuser")
            .args(["-u", "brig-rootless", "--", "env"])
            .arg(format!("XDG_RUNTIME_DIR=/run/user/{uid}"))
            .args(["systemctl", "--user", "show", "-p", prop, "--value", &unit])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    if !cgroup_v2() {
        // v1 controllers cannot be delegated to a user: refused as runc refuses it.
        let out = c.create_with_flags(&["--systemd-cgroup"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains("cannot use rootless systemd cgroups manager on cgroup v1"),
            "{err}"
        );
        assert_eq!(show("LoadState"), "not-found");
        c.assert_clean();
        return;
    }
    create_systemd(&c);
    assert_eq!(show("ActiveState"), "active");
    assert_eq!(show("Slice"), "user.slice");
    let pid = c.state()["pid"].to_string();
    assert_eq!(init_cgroup(&pid), c.cgroup);
    c.brig_ok(&["delete", "--force", &c.id]);
    assert_eq!(show("LoadState"), "not-found");
    c.assert_clean();
}
