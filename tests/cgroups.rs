//! linux.resources on this host (cgroup v1 hybrid): values read back from the cgroup files,
//! limits that bite, and pause/resume through the freezer.

mod common;

use common::*;
use serde_json::json;

fn read(c: &Ctx, controller: &str, file: &str) -> String {
    let path = format!("/sys/fs/cgroup/{controller}{}/{file}", c.cgroup);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .trim()
        .to_string()
}

#[test]
fn memory_cpu_and_pids_settings_are_written() {
    let mut c = Ctx::new("cg-values");
    c.set_args(&["sleep", "60"]);
    c.config["linux"]["resources"]["memory"] =
        json!({"limit": 67108864, "reservation": 33554432, "swap": 134217728, "swappiness": 10});
    // Docker sends shares 0 for "unset".
    c.config["linux"]["resources"]["cpu"] =
        json!({"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"});
    c.config["linux"]["resources"]["pids"] = json!({"limit": 50});
    assert!(
        c.create().status.success(),
        "{}",
        std::fs::read_to_string(c.base.join("container.err")).unwrap()
    );
    assert_eq!(read(&c, "memory", "memory.limit_in_bytes"), "67108864");
    assert_eq!(read(&c, "memory", "memory.soft_limit_in_bytes"), "33554432");
    assert_eq!(
        read(&c, "memory", "memory.memsw.limit_in_bytes"),
        "134217728"
    );
    assert_eq!(read(&c, "memory", "memory.swappiness"), "10");
    assert_eq!(read(&c, "cpu", "cpu.shares"), "512");
    assert_eq!(read(&c, "cpu", "cpu.cfs_quota_us"), "50000");
    assert_eq!(read(&c, "cpu", "cpu.cfs_period_us"), "100000");
    assert_eq!(read(&c, "cpuset", "cpuset.cpus"), "0");
    assert_eq!(read(&c, "pids", "pids.max"), "50");
    assert!(c.brig(&["delete", &c.id]).status.success());
    c.assert_clean();
}

#[test]
fn zero_values_mean_unset() {
    let mut c = Ctx::new("cg-zero");
    c.config["linux"]["resources"]["cpu"] = json!({"shares": 0, "quota": 0});
    let out = c.run();
    assert!(out.status.success(), "{}", stderr(&out));
    c.assert_clean();
}

#[test]
fn a_memory_hog_is_oom_killed() {
    let mut c = Ctx::new("cg-oom");
    c.config["linux"]["resources"]["memory"] = json!({"limit": 16777216, "swap": 16777216});
    // dd holds a 64 MiB buffer: more than the limit allows.
    c.set_args(&["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"]);
    let out = c.run();
    assert_eq!(
        out.status.code(),
        Some(137),
        "killed by the OOM killer: {}",
        stderr(&out)
    );
    c.assert_clean();
}

#[test]
fn a_fork_bomb_stops_at_pids_max() {
    let mut c = Ctx::new("cg-pids");
    c.config["linux"]["resources"]["pids"] = json!({"limit": 5});
    c.set_args(&[
        "sh",
        "-c",
        "for i in 1 2 3 4 5 6 7 8; do sleep 2 & done 2>&1; wait",
    ]);
    let out = c.run();
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        text.contains("fork") || text.contains("Resource temporarily unavailable"),
        "forks beyond pids.max fail: {text}"
    );
    c.assert_clean();
}

#[test]
fn pause_freezes_and_resume_thaws() {
    let mut c = Ctx::new("cg-pause");
    c.set_args(&["sleep", "60"]);
    c.run_detached();
    assert!(c.brig(&["pause", &c.id]).status.success());
    assert_eq!(c.state()["status"], "paused");
    assert_eq!(read(&c, "freezer", "freezer.state"), "FROZEN");
    let pid = c.state()["pid"].as_i64().unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    assert!(stat.contains(") D ") || stat.contains(") S "), "{stat}");
    let again = c.brig(&["resume", &c.id]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(c.state()["status"], "running");
    let not_paused = c.brig(&["resume", &c.id]);
    assert!(stderr(&not_paused).contains("container not paused"));
    assert!(c.brig(&["pause", &c.id]).status.success());
    assert!(
        c.brig(&["delete", "--force", &c.id]).status.success(),
        "a paused container can be force-deleted"
    );
    c.assert_clean();
}

#[test]
fn a_controller_brig_cannot_apply_yet_is_refused() {
    let mut c = Ctx::new("cg-refused");
    c.config["linux"]["resources"]["blockIO"] = json!({"weight": 500});
    c.expect_create_error("linux.resources.blockIO");
}
