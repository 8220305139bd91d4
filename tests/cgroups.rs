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
    c.config["linux"]["resources"]["hugepageLimits"] =
        json!([{"pageSize": "2MB", "limit": 2097152}]);
    c.expect_create_error("linux.resources.hugepageLimits");
}

/// major:minor of this machine's first disk.
fn a_disk() -> (u64, u64) {
    let dev = std::fs::read_dir("/sys/block")
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            !p.file_name().unwrap().to_string_lossy().starts_with("loop")
                && !p.file_name().unwrap().to_string_lossy().starts_with("ram")
        })
        .map(|p| std::fs::read_to_string(p.join("dev")).unwrap())
        .expect("a block device");
    let (major, minor) = dev.trim().split_once(':').unwrap();
    (major.parse().unwrap(), minor.parse().unwrap())
}

#[test]
fn block_io_throttles_are_written_and_weights_need_a_weight_file() {
    let (major, minor) = a_disk();
    let mut c = Ctx::new("cg-blkio");
    c.set_args(&["sleep", "60"]);
    // Docker sends weight 0 for "unset".
    c.config["linux"]["resources"]["blockIO"] = json!({"weight": 0, "throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": 1048576}]});
    assert!(
        c.create().status.success(),
        "{}",
        std::fs::read_to_string(c.base.join("container.err")).unwrap()
    );
    assert_eq!(
        read(&c, "blkio", "blkio.throttle.read_bps_device"),
        format!("{major}:{minor} 1048576")
    );
    assert!(c.brig(&["delete", &c.id]).status.success());
    c.assert_clean();
    // A weight goes to blkio.weight (CFQ) or blkio.bfq.weight (BFQ), which exist in
    // non-root cgroups when the scheduler has them; otherwise create says there is none.
    c.config["linux"]["resources"]["blockIO"] = json!({"weight": 500});
    let out = c.create();
    if out.status.success() {
        let weight = ["blkio.weight", "blkio.bfq.weight"]
            .iter()
            .find_map(|f| {
                std::fs::read_to_string(format!("/sys/fs/cgroup/blkio{}/{f}", c.cgroup)).ok()
            })
            .expect("a weight file");
        assert!(weight.contains("500"), "{weight}");
        assert!(c.brig(&["delete", &c.id]).status.success());
        c.assert_clean();
    } else {
        assert!(stderr(&out).contains("no weight file"), "{}", stderr(&out));
        c.assert_clean();
    }
}

#[test]
fn update_changes_a_running_containers_limits() {
    let mut c = Ctx::new("cg-update");
    c.set_args(&["sleep", "60"]);
    c.config["linux"]["resources"]["memory"] = json!({"limit": 67108864});
    c.run_detached();
    let out = c.brig(&[
        "update",
        "--memory",
        "32m",
        "--cpu-period",
        "100000",
        "--cpu-quota",
        "20000",
        "--pids-limit",
        "20",
        &c.id,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(read(&c, "memory", "memory.limit_in_bytes"), "33554432");
    assert_eq!(read(&c, "cpu", "cpu.cfs_quota_us"), "20000");
    assert_eq!(read(&c, "pids", "pids.max"), "20");
    let mut child = c
        .cmd()
        .args(["update", "--resources", "-", &c.id])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        child.stdin.as_mut().unwrap(),
        br#"{"cpu": {"shares": 256}, "pids": {"limit": 30}}"#,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(read(&c, "cpu", "cpu.shares"), "256");
    assert_eq!(read(&c, "pids", "pids.max"), "30");
    let bad = c.brig(&["update", "--memory", "lots", &c.id]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("--memory"), "{}", stderr(&bad));
    assert!(c.brig(&["kill", &c.id, "KILL"]).status.success());
    c.wait_status("stopped");
    let stopped = c.brig(&["update", "--pids-limit", "5", &c.id]);
    assert!(
        stderr(&stopped).contains("container not running"),
        "{}",
        stderr(&stopped)
    );
    assert!(c.brig(&["delete", &c.id]).status.success());
    c.assert_clean();
}
