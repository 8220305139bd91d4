//! linux.resources on this host (cgroup v1 hybrid) and on a pure cgroup v2 host (the VM
//! of tests/v2vm): values read back from the cgroup files, limits that bite, and
//! pause/resume through the freezer (v1) or cgroup.freeze (v2).

mod common;

use common::*;
use serde_json::json;

/// A file of the container's cgroup in a v1 hierarchy (v1 and hybrid hosts).
fn read(c: &Ctx, controller: &str, file: &str) -> String {
    let path = format!("/sys/fs/cgroup/{controller}{}/{file}", c.cgroup);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .trim()
        .to_string()
}

/// A file of the container's one cgroup directory on a pure v2 host.
fn read2(c: &Ctx, file: &str) -> String {
    read_cg(c, "", "", file)
}

/// Remove a key of linux.resources.
fn unset(c: &mut Ctx, key: &str) {
    c.config["linux"]["resources"]
        .as_object_mut()
        .unwrap()
        .remove(key);
}

#[test]
fn memory_cpu_and_pids_settings_are_written() {
    let mut c = Ctx::new("cg-values");
    c.set_args(&["sleep", "60"]);
    let v2 = cgroup_v2();
    if v2 {
        // cgroup v2 has no files for these: refused by field before anything is created.
        for (key, value, field) in [
            (
                "memory",
                json!({"limit": 67108864, "swappiness": 10}),
                "linux.resources.memory.swappiness",
            ),
            (
                "cpu",
                json!({"realtimeRuntime": 1000}),
                "linux.resources.cpu.realtimeRuntime",
            ),
            (
                "cpu",
                json!({"realtimePeriod": 1000000}),
                "linux.resources.cpu.realtimePeriod",
            ),
        ] {
            c.config["linux"]["resources"][key] = value;
            c.expect_create_error(field);
            unset(&mut c, key);
        }
    }
    c.config["linux"]["resources"]["memory"] = if v2 {
        json!({"limit": 67108864, "reservation": 33554432, "swap": 134217728})
    } else {
        json!({"limit": 67108864, "reservation": 33554432, "swap": 134217728, "swappiness": 10})
    };
    // Docker sends shares 0 for "unset".
    c.config["linux"]["resources"]["cpu"] =
        json!({"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"});
    c.config["linux"]["resources"]["pids"] = json!({"limit": 50});
    c.create_ok();
    if v2 {
        assert_eq!(read2(&c, "memory.max"), "67108864");
        assert_eq!(read2(&c, "memory.low"), "33554432");
        // OCI swap is memory+swap; memory.swap.max is swap alone.
        assert_eq!(read2(&c, "memory.swap.max"), "67108864");
        // runc's shares-to-weight conversion: 512 shares is weight 59.
        assert_eq!(read2(&c, "cpu.weight"), "59");
        assert_eq!(read2(&c, "cpu.max"), "50000 100000");
        assert_eq!(read2(&c, "cpuset.cpus"), "0");
        assert_eq!(read2(&c, "cpuset.mems"), "0");
        assert_eq!(read2(&c, "pids.max"), "50");
    } else {
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
    }
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
    if cgroup_v2() {
        assert_eq!(read2(&c, "cgroup.freeze"), "1");
        assert!(
            read2(&c, "cgroup.events").lines().any(|l| l == "frozen 1"),
            "{}",
            read2(&c, "cgroup.events")
        );
    } else {
        assert_eq!(read(&c, "freezer", "freezer.state"), "FROZEN");
    }
    let pid = c.state()["pid"].as_i64().unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    assert!(stat.contains(") D ") || stat.contains(") S "), "{stat}");
    let again = c.brig(&["resume", &c.id]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(c.state()["status"], "running");
    if cgroup_v2() {
        assert_eq!(read2(&c, "cgroup.freeze"), "0");
        assert!(
            read2(&c, "cgroup.events").lines().any(|l| l == "frozen 0"),
            "{}",
            read2(&c, "cgroup.events")
        );
    } else {
        assert_eq!(read(&c, "freezer", "freezer.state"), "THAWED");
    }
    let not_paused = c.brig(&["resume", &c.id]);
    assert!(stderr(&not_paused).contains("container not paused"));
    assert!(c.brig(&["pause", &c.id]).status.success());
    assert!(
        c.brig(&["delete", "--force", &c.id]).status.success(),
        "a paused container can be force-deleted"
    );
    c.assert_clean();
}

/// Whether a v1 hierarchy with this controller is mounted on this host.
fn v1_mounted(controller: &str) -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(" - ").map(|(_, post)| post))
        .filter(|post| post.starts_with("cgroup "))
        .any(|post| {
            post.split(' ')
                .nth(2)
                .is_some_and(|o| o.split(',').any(|c| c == controller))
        })
}

/// This host's hugetlb files: the container's own directory on a pure v2 host
/// ("hugetlb.2MB.max"), the cgroup2 mount at /sys/fs/cgroup/unified (hybrid, as here) or
/// a v1 hierarchy ("hugetlb.2MB.limit_in_bytes").
fn hugetlb_file(c: &Ctx, size: &str) -> String {
    if cgroup_v2() {
        read2(c, &format!("hugetlb.{size}.max"))
    } else if v1_mounted("hugetlb") {
        read(c, "hugetlb", &format!("hugetlb.{size}.limit_in_bytes"))
    } else {
        read(c, "unified", &format!("hugetlb.{size}.max"))
    }
}

#[test]
fn hugepage_limits_are_written_and_sizes_checked_against_the_host() {
    assert!(
        std::path::Path::new("/sys/kernel/mm/hugepages/hugepages-2048kB").exists(),
        "this test expects 2MB huge pages on the host"
    );
    let mut c = Ctx::new("cg-hugetlb");
    c.set_args(&["sleep", "60"]);
    let gigantic = std::path::Path::new("/sys/kernel/mm/hugepages/hugepages-1048576kB").exists();
    // Limit 0 is written (no huge pages of that size), as runc does.
    c.config["linux"]["resources"]["hugepageLimits"] = if gigantic {
        json!([{"pageSize": "2MB", "limit": 4194304}, {"pageSize": "1GB", "limit": 0}])
    } else {
        json!([{"pageSize": "2MB", "limit": 4194304}])
    };
    c.create_ok();
    assert_eq!(hugetlb_file(&c, "2MB"), "4194304");
    if gigantic {
        assert_eq!(hugetlb_file(&c, "1GB"), "0");
    }
    // update writes them too.
    let out = update_from_stdin(
        &c,
        br#"{"hugepageLimits": [{"pageSize": "2MB", "limit": 0}]}"#,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(hugetlb_file(&c, "2MB"), "0");
    assert!(c.brig(&["delete", &c.id]).status.success());
    c.assert_clean();

    // A size the host does not offer, and one that is not a size at all.
    c.config["linux"]["resources"]["hugepageLimits"] = json!([
        {"pageSize": "2MB", "limit": 2097152},
        {"pageSize": "3MB", "limit": 3145728}
    ]);
    let err = c.expect_create_error("linux.resources.hugepageLimits[1].pageSize");
    assert!(err.contains("2MB"), "lists the host's sizes: {err}");
    c.config["linux"]["resources"]["hugepageLimits"] = json!([{"pageSize": "2 MB", "limit": 1}]);
    c.expect_create_error("linux.resources.hugepageLimits[0].pageSize");
}

#[test]
fn network_class_id_and_priorities_need_net_cls_and_net_prio() {
    let mut c = Ctx::new("cg-net");
    c.set_args(&["sleep", "60"]);
    // classID 0 and no priorities: nothing asked, on any host.
    c.config["linux"]["resources"]["network"] = json!({"classID": 0, "priorities": []});
    c.create_ok();
    assert!(c.brig(&["delete", &c.id]).status.success());
    c.assert_clean();
    c.config["linux"]["resources"]["network"] =
        json!({"classID": 1048577, "priorities": [{"name": "lo", "priority": 5}]});
    if v1_mounted("net_cls") && v1_mounted("net_prio") {
        c.create_ok();
        assert_eq!(read(&c, "net_cls", "net_cls.classid"), "1048577");
        assert!(read(&c, "net_prio", "net_prio.ifpriomap").contains("lo 5"));
        assert!(c.brig(&["delete", &c.id]).status.success());
        c.assert_clean();
    } else {
        // This host: net_cls and net_prio exist in the kernel but are not mounted.
        let err = c.expect_create_error("linux.resources.network");
        assert!(err.contains("net_cls"), "{err}");
        c.config["linux"]["resources"]["network"] =
            json!({"priorities": [{"name": "lo", "priority": 5}]});
        let err = c.expect_create_error("linux.resources.network");
        assert!(err.contains("net_prio"), "{err}");
    }
}

#[test]
fn rdma_limits_need_the_rdma_controller() {
    let mut c = Ctx::new("cg-rdma");
    c.set_args(&["sleep", "60"]);
    // An entry without limits asks for nothing.
    c.config["linux"]["resources"]["rdma"] = json!({"mlx4_0": {}});
    c.create_ok();
    assert!(c.brig(&["delete", &c.id]).status.success());
    c.assert_clean();
    c.config["linux"]["resources"]["rdma"] =
        json!({"mlx4_0": {"hcaHandles": 2, "hcaObjects": 2000}});
    // The cgroup2 mount: /sys/fs/cgroup on a pure v2 host, /sys/fs/cgroup/unified here.
    let v2 = cgroup_v2();
    let controllers = if v2 {
        "/sys/fs/cgroup/cgroup.controllers"
    } else {
        "/sys/fs/cgroup/unified/cgroup.controllers"
    };
    let unified_rdma = std::fs::read_to_string(controllers)
        .is_ok_and(|s| s.split_whitespace().any(|c| c == "rdma"));
    if v1_mounted("rdma") || unified_rdma {
        // The kernel accepts limits only for devices it has; without an RDMA device the
        // write is refused and the error names the field.
        let out = c.create();
        if out.status.success() {
            let max = if v2 {
                read2(&c, "rdma.max")
            } else if v1_mounted("rdma") {
                read(&c, "rdma", "rdma.max")
            } else {
                read(&c, "unified", "rdma.max")
            };
            assert!(max.contains("mlx4_0 hca_handle=2 hca_object=2000"), "{max}");
            assert!(c.brig(&["delete", &c.id]).status.success());
            c.assert_clean();
        } else {
            // The message names the field and the device whose limit was refused.
            assert!(
                stderr(&out).contains("linux.resources.rdma") && stderr(&out).contains("mlx4_0"),
                "{}",
                stderr(&out)
            );
            c.assert_clean();
        }
    } else {
        // This host: the kernel has no rdma controller at all.
        let err = c.expect_create_error("linux.resources.rdma");
        assert!(err.contains("no rdma cgroup controller"), "{err}");
    }
}

#[test]
fn unified_keys_are_written_in_the_cgroup2_mount() {
    let mut c = Ctx::new("cg-unified");
    c.set_args(&["sleep", "60"]);
    let v2 = cgroup_v2();
    c.config["linux"]["resources"]["unified"] = if v2 {
        // On v2 every controller is in the one hierarchy, memory too.
        json!({"cgroup.max.descendants": "5", "hugetlb.2MB.max": "6291456", "memory.max": "33554432"})
    } else {
        json!({"cgroup.max.descendants": "5", "hugetlb.2MB.max": "6291456"})
    };
    c.create_ok();
    if v2 {
        assert_eq!(read2(&c, "cgroup.max.descendants"), "5");
        assert_eq!(read2(&c, "hugetlb.2MB.max"), "6291456");
        assert_eq!(read2(&c, "memory.max"), "33554432");
    } else {
        assert_eq!(read(&c, "unified", "cgroup.max.descendants"), "5");
        assert_eq!(read(&c, "unified", "hugetlb.2MB.max"), "6291456");
    }
    assert!(c.brig(&["delete", &c.id]).status.success());
    c.assert_clean();

    // A file the cgroup does not have; a controller the cgroup2 mount does not offer
    // (memory is a v1 hierarchy on this host; net_cls has no v2 controller anywhere);
    // names that would leave the directory.
    for (key, needle) in [
        ("hugetlb.3MB.max", "no such file"),
        ("cgroup.no_such_file", "no such file"),
        (
            if v2 { "net_cls.classid" } else { "memory.max" },
            "not available",
        ),
        ("../cgroup.procs", "controller.file"),
        ("x/cgroup.procs", "controller.file"),
        ("cgroup..procs", "controller.file"),
    ] {
        c.config["linux"]["resources"]["unified"] = json!({key: "1"});
        // The log line quotes the message, so the key's quotes come escaped.
        let err = c.expect_create_error(&format!(r#"linux.resources.unified[\"{key}\"]"#));
        assert!(err.contains(needle), "{key}: {err}");
        // On v1 and hybrid hosts, runc's words for a key the host cannot take.
        if !v2 && key == "memory.max" {
            assert!(
                err.contains("invalid configuration: cannot use unified on cgroup v1"),
                "{err}"
            );
        }
    }
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
    c.create_ok();
    if cgroup_v2() {
        // io.max lists every key of the device: "MAJ:MIN rbps=N wbps=max riops=max wiops=max".
        let max = read2(&c, "io.max");
        assert!(
            max.lines()
                .any(|l| l.starts_with(&format!("{major}:{minor} rbps=1048576 "))),
            "{max}"
        );
    } else {
        assert_eq!(
            read(&c, "blkio", "blkio.throttle.read_bps_device"),
            format!("{major}:{minor} 1048576")
        );
    }
    assert!(c.brig(&["delete", &c.id]).status.success());
    c.assert_clean();
    if cgroup_v2() {
        // v2 has no leaf weights: refused by field. A weight goes to io.bfq.weight as it
        // is (BFQ) or to io.weight converted as runc does (500 is "default 4950").
        c.config["linux"]["resources"]["blockIO"] = json!({"leafWeight": 500});
        c.expect_create_error("linux.resources.blockIO.leafWeight");
        c.config["linux"]["resources"]["blockIO"] = json!({"weight": 500});
        c.create_ok();
        let bfq = cg_path(&c, "", "", "io.bfq.weight");
        if bfq.exists() {
            let w = read2(&c, "io.bfq.weight");
            assert!(w.lines().any(|l| l == "default 500"), "{w}");
        } else {
            assert_eq!(read2(&c, "io.weight"), "default 4950");
        }
        assert!(c.brig(&["delete", &c.id]).status.success());
        c.assert_clean();
        return;
    }
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
    let v2 = cgroup_v2();
    assert_eq!(
        read_cg(&c, "memory", "memory.limit_in_bytes", "memory.max"),
        "33554432"
    );
    if v2 {
        assert_eq!(read2(&c, "cpu.max"), "20000 100000");
    } else {
        assert_eq!(read(&c, "cpu", "cpu.cfs_quota_us"), "20000");
    }
    assert_eq!(read_cg(&c, "pids", "pids.max", "pids.max"), "20");
    let out = update_from_stdin(&c, br#"{"cpu": {"shares": 256}, "pids": {"limit": 30}}"#);
    assert!(out.status.success(), "{}", stderr(&out));
    if v2 {
        // runc's shares-to-weight conversion: 256 shares is weight 35.
        assert_eq!(read2(&c, "cpu.weight"), "35");
    } else {
        assert_eq!(read(&c, "cpu", "cpu.shares"), "256");
    }
    assert_eq!(read_cg(&c, "pids", "pids.max", "pids.max"), "30");
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

/// A device node the container has but its rules deny cannot be opened: the v1 devices
/// controller here, the eBPF device filter on v2. /dev/kmsg (c 1:11) is not one of runc's
/// default devices, and opening it write-only needs no capability.
#[test]
fn a_denied_device_cannot_be_opened() {
    let mut c = Ctx::new("cg-devices");
    c.config["linux"]["devices"] = json!([{"path": "/dev/kmsg", "type": "c", "major": 1,
        "minor": 11, "fileMode": 0o666, "uid": 0, "gid": 0}]);
    // runc's default spec: deny everything (then the default devices, /dev/null...).
    assert_eq!(
        c.config["linux"]["resources"]["devices"],
        json!([{"allow": false, "access": "rwm"}])
    );
    let r = c.probe(&[
        "--stat",
        "/dev/kmsg",
        "--try-write",
        "/dev/kmsg",
        "--try-write",
        "/dev/null",
    ]);
    assert_eq!(r["stat"]["/dev/kmsg"]["type"], "char", "{r}");
    assert_eq!(r["stat"]["/dev/kmsg"]["minor"], 11, "{r}");
    assert_eq!(r["writable"]["/dev/null"]["ok"], true, "{r}");
    assert_eq!(r["writable"]["/dev/kmsg"]["error"], "EPERM", "{r}");
    c.assert_clean();

    // Allowed for writing, the same node opens.
    c.config["linux"]["resources"]["devices"] = json!([
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "w"}
    ]);
    let r = c.probe(&["--try-write", "/dev/kmsg"]);
    assert_eq!(r["writable"]["/dev/kmsg"]["ok"], true, "{r}");
    c.assert_clean();

    // runc takes access letters it does not know ("rwa" acts as "rw"): a warning, and the
    // rule applies. (Refused before: "only r, w and m are allowed".)
    c.config["linux"]["resources"]["devices"] = json!([
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "rwa"}
    ]);
    c.set_args(&["probe", "--try-write", "/dev/kmsg"]);
    let out = c.run();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("only r, w and m mean anything"),
        "{}",
        stderr(&out)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["writable"]["/dev/kmsg"]["ok"], true, "{r}");
    c.assert_clean();
}

#[test]
fn the_systemd_driver_says_systemd_is_not_running() {
    assert!(
        !std::path::Path::new("/run/systemd/system").exists(),
        "this test is for hosts without systemd"
    );
    let mut c = Ctx::new("cg-systemd");
    for (path, also) in [
        ("system.slice:brigtest:abc", None),
        ("/brig-test-not-systemd-form", Some("slice:prefix:name")),
        ("a--b.slice:brigtest:abc", Some("linux.cgroupsPath")),
    ] {
        c.config["linux"]["cgroupsPath"] = json!(path);
        let out = c.create_with_flags(&["--systemd-cgroup"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("systemd is not running"), "{path}: {err}");
        if let Some(also) = also {
            assert!(err.contains(also), "{path}: {err}");
        }
        c.assert_clean();
    }
}

/// `brig update --resources -` with the JSON on stdin.
fn update_from_stdin(c: &Ctx, json: &[u8]) -> std::process::Output {
    let mut child = c
        .cmd()
        .args(["update", "--resources", "-", &c.id])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), json).unwrap();
    child.wait_with_output().unwrap()
}

/// runc's flag parser takes a dash-led value after a flag: `update --memory -1` (and with
/// `=`) lifts the limits, as runc users write it.
///
/// Checked against a broken brig: without `allow_hyphen_values` on the flags, clap refused
/// `-1` ("unexpected argument") and the test failed.
#[test]
fn update_takes_negative_numbers_as_values() {
    let mut c = Ctx::new("cg-update-neg");
    c.set_args(&["sleep", "60"]);
    c.config["linux"]["resources"]["memory"] = json!({"limit": 67108864});
    c.config["linux"]["resources"]["cpu"] = json!({"quota": 20000, "period": 100000});
    c.run_detached();
    c.brig_ok(&["update", "--memory", "-1", "--cpu-quota", "-1", &c.id]);
    let unlimited = read_cg(&c, "memory", "memory.limit_in_bytes", "memory.max");
    assert!(unlimited == "max" || unlimited.len() > 15, "{unlimited}");
    if cgroup_v2() {
        assert_eq!(read_cg(&c, "cpu", "", "cpu.max"), "max 100000");
    } else {
        assert_eq!(read(&c, "cpu", "cpu.cfs_quota_us"), "-1");
    }
    c.brig_ok(&["update", "--pids-limit=-1", &c.id]);
    assert_eq!(read_cg(&c, "pids", "pids.max", "pids.max"), "max");
    c.brig_ok(&["delete", "--force", &c.id]);
    c.assert_clean();
}

/// Every limit runc's `update` takes -1 for is lifted by it, written `--flag -1` or
/// `--flag=-1`: --memory, --memory-swap (where the kernel accounts swap),
/// --memory-reservation, --cpu-quota and --pids-limit. Each flag is given alone, from a
/// limit set just before, and its own file is read back. --cpu-rt-runtime -1 reaches the
/// kernel too (which refuses it under a parent with a realtime budget, as for runc).
/// brig has no --kernel-memory (runc keeps it hidden and ignored).
///
/// Checked against a broken brig: with `--memory-reservation` (or `--cpu-rt-runtime`) not
/// taking a dash-led value, `update --memory-reservation -1` failed ("unexpected
/// argument"); with a reservation or a quota of -1 not written (v1), the file kept its
/// limit; the test failed on each.
#[test]
fn update_lifts_each_limit_with_minus_one_in_either_spelling() {
    let mut c = Ctx::new("cg-update-neg-each");
    c.set_args(&["sleep", "60"]);
    c.run_detached();
    let v2 = cgroup_v2();
    let swap_file = cg_path(
        &c,
        "memory",
        "memory.memsw.limit_in_bytes",
        "memory.swap.max",
    );
    let swap = swap_file.exists();
    if !swap {
        eprintln!("--memory-swap left out: no swap accounting here");
    }
    let unlimited_bytes = |v: &str| v == "max" || v.parse::<u64>().is_ok_and(|n| n > 1 << 60);
    // (flag, controller, v1 file, v2 file, value once set, lifted?). On v1, memory+swap
    // goes before memory: lifting memory alone lifts memory+swap too (as runc does).
    type Lifted = fn(&str) -> bool;
    let cases: [(&str, &str, &str, &str, &str, Lifted); 5] = [
        (
            "--memory-swap",
            "memory",
            "memory.memsw.limit_in_bytes",
            "memory.swap.max",
            // v2's file holds swap alone: memory+swap 128m less memory 64m.
            if v2 { "67108864" } else { "134217728" },
            unlimited_bytes,
        ),
        (
            "--memory-reservation",
            "memory",
            "memory.soft_limit_in_bytes",
            "memory.low",
            "33554432",
            unlimited_bytes,
        ),
        (
            "--memory",
            "memory",
            "memory.limit_in_bytes",
            "memory.max",
            "67108864",
            unlimited_bytes,
        ),
        (
            "--cpu-quota",
            "cpu",
            "cpu.cfs_quota_us",
            "cpu.max",
            if v2 { "20000 100000" } else { "20000" },
            |v| v == "-1" || v == "max 100000",
        ),
        ("--pids-limit", "pids", "pids.max", "pids.max", "20", |v| {
            v == "max"
        }),
    ];
    for equals in [false, true] {
        let mut limits = vec![
            "update",
            "--memory",
            "64m",
            "--memory-reservation",
            "32m",
            "--cpu-period",
            "100000",
            "--cpu-quota",
            "20000",
            "--pids-limit",
            "20",
        ];
        if swap {
            limits.extend(["--memory-swap", "128m"]);
        }
        limits.push(&c.id);
        c.brig_ok(&limits);
        for (flag, controller, v1_file, v2_file, set, lifted) in cases {
            if flag == "--memory-swap" && !swap {
                continue;
            }
            let file = || read_cg(&c, controller, v1_file, v2_file);
            assert_eq!(file(), set, "{flag} before it is lifted");
            let spelled = format!("{flag}=-1");
            let args = if equals {
                vec!["update", &spelled, &c.id]
            } else {
                vec!["update", flag, "-1", &c.id]
            };
            c.brig_ok(&args);
            assert!(lifted(&file()), "{args:?} left {}", file());
        }
    }
    // cpu.rt_runtime_us exists on v1 with realtime group scheduling; v2 has no such file.
    let rt = cg_path(&c, "cpu", "cpu.rt_runtime_us", "cpu.rt_runtime_us");
    if !v2 && rt.exists() {
        let parent = rt.parent().and_then(|dir| dir.parent()).unwrap();
        let parent = std::fs::read_to_string(parent.join("cpu.rt_runtime_us")).unwrap();
        for args in [
            ["update", "--cpu-rt-runtime", "-1", &c.id].as_slice(),
            ["update", "--cpu-rt-runtime=-1", &c.id].as_slice(),
        ] {
            let out = c.brig(args);
            if parent.trim() == "-1" {
                assert!(out.status.success(), "{args:?}: {}", stderr(&out));
                assert_eq!(read(&c, "cpu", "cpu.rt_runtime_us"), "-1");
            } else {
                // The kernel's EINVAL for the write, not a flag brig refused.
                assert_eq!(out.status.code(), Some(1), "{args:?}");
                assert!(
                    stderr(&out).contains("linux.resources.cpu: write ")
                        && stderr(&out).contains("cpu.rt_runtime_us: invalid argument"),
                    "{args:?}: {}",
                    stderr(&out)
                );
            }
        }
    }
    c.brig_ok(&["delete", "--force", &c.id]);
    c.assert_clean();
}

/// A container's cgroup that exists frozen (left so by someone else) is refused at create
/// and run with runc's words, before anything is made; the init would otherwise stop in
/// it for good, and brig with it.
///
/// Checked against the previous brig by hand (`timeout 5 brig run -d` in a frozen v1
/// cgroup): it hung until the timeout (exit 124); this brig exits 1 at once.
#[test]
fn a_frozen_cgroup_is_refused_as_runc_refuses_it() {
    let c = Ctx::new("cg-frozen");
    let (dir, file, frozen, thawed) = if cgroup_v2() {
        (cg_path(&c, "", "", ""), "cgroup.freeze", "1", "0")
    } else {
        (
            std::path::PathBuf::from(format!("/sys/fs/cgroup/freezer{}", c.cgroup)),
            "freezer.state",
            "FROZEN",
            "THAWED",
        )
    };
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(file), frozen).unwrap();
    struct Thaw(std::path::PathBuf, &'static str, &'static str);
    impl Drop for Thaw {
        fn drop(&mut self) {
            let _ = std::fs::write(self.0.join(self.1), self.2);
            let _ = std::fs::remove_dir(&self.0);
        }
    }
    let _thaw = Thaw(dir, file, thawed);
    for command in [&["run", "-d"][..], &["create"][..]] {
        c.write_config();
        let mut cmd = c.cmd();
        cmd.args(command)
            .arg("--bundle")
            .arg(&c.bundle)
            .arg(&c.id)
            .stdout(std::process::Stdio::null());
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{command:?}");
        assert!(
            stderr(&out).contains("container's cgroup unexpectedly frozen"),
            "{command:?}: {}",
            stderr(&out)
        );
        assert!(!c.root.join(&c.id).exists(), "{command:?}: state left");
    }
}

/// `update` changes that are valid as a whole are never refused for their order: a CFS
/// period and quota (under a parent with a bandwidth limit the kernel checks each write
/// against the other value in place; runc retries the other order), and `--memory -1`
/// after a swap limit (lifting memory+swap too, as runc does). v1 only: v2 writes cpu.max
/// in one go and has no memory+swap limit.
///
/// Checked against a broken brig: with the period always written first, the update failed
/// (EINVAL, quota 40000 over period 20000 under a 0.5 CPU parent); with memory+swap left in
/// place, `--memory -1` failed (EINVAL); the test failed on each.
#[test]
fn update_orders_its_writes_as_runc() {
    if cgroup_v2() {
        return;
    }
    /// The parent cgroup in every hierarchy, removed after the container (declared first,
    /// so dropped last, even when the test fails).
    struct Parent(String);
    impl Drop for Parent {
        fn drop(&mut self) {
            for h in std::fs::read_dir("/sys/fs/cgroup")
                .into_iter()
                .flatten()
                .flatten()
            {
                let _ = std::fs::remove_dir(h.path().join(self.0.trim_start_matches('/')));
            }
        }
    }
    let mut parent = Parent(String::new());
    let mut c = Ctx::new("cg-update-order");
    parent.0 = c.cgroup.clone();
    let parent_cpu = std::path::PathBuf::from(format!("/sys/fs/cgroup/cpu{}", parent.0));
    std::fs::create_dir_all(&parent_cpu).unwrap();
    std::fs::write(parent_cpu.join("cpu.cfs_quota_us"), "50000").unwrap();
    c.cgroup = format!("{}/inner", parent.0);
    c.config["linux"]["cgroupsPath"] = json!(c.cgroup);
    c.config["linux"]["resources"]["cpu"] = json!({"quota": 40000, "period": 100000});
    c.config["linux"]["resources"]["memory"] = json!({"limit": 67108864, "swap": 134217728});
    c.set_args(&["sleep", "60"]);
    c.run_detached();
    c.brig_ok(&[
        "update",
        "--cpu-period",
        "20000",
        "--cpu-quota",
        "10000",
        &c.id,
    ]);
    assert_eq!(read(&c, "cpu", "cpu.cfs_period_us"), "20000");
    assert_eq!(read(&c, "cpu", "cpu.cfs_quota_us"), "10000");
    if std::path::Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists() {
        c.brig_ok(&["update", "--memory", "-1", &c.id]);
        let limit: u64 = read(&c, "memory", "memory.limit_in_bytes").parse().unwrap();
        assert!(limit > 1 << 60, "{limit}");
    }
    c.brig_ok(&["delete", "--force", &c.id]);
    c.assert_clean();
}

/// Intel RDT: `linux.intelRdt` is applied through resctrl where it is mounted (the group
/// logic is unit-tested in `cgroups::resctrl` against a directory laid out as resctrl);
/// where it is not, as on the test hosts, create refuses the field by name and leaves
/// nothing, and `update --l3-cache-schema`/`--mem-bw-schema` fail with runc's words.
///
/// Checked against the previous brig: it refused both as "not supported yet".
#[test]
fn intel_rdt_is_refused_by_name_where_resctrl_is_not_mounted() {
    if std::path::Path::new("/sys/fs/resctrl/info").exists() {
        eprintln!("skipped: this host has resctrl mounted");
        return;
    }
    let mut c = Ctx::new("cg-rdt");
    c.config["linux"]["intelRdt"] = json!({"closID": "brig-test", "l3CacheSchema": "L3:0=f"});
    let err = c.expect_create_error("linux.intelRdt");
    assert!(err.contains("Intel RDT is not enabled"), "{err}");
    c.assert_clean();

    let mut c = Ctx::new("cg-rdt-update");
    c.set_args(&["sleep", "60"]);
    c.run_detached();
    for (flag, want) in [
        (
            "--l3-cache-schema",
            "Intel RDT/CAT: l3 cache schema is not enabled",
        ),
        (
            "--mem-bw-schema",
            "Intel RDT/MBA: memory bandwidth schema is not enabled",
        ),
    ] {
        let out = c.brig(&["update", flag, "L3:0=f", &c.id]);
        assert!(!out.status.success(), "{flag} accepted");
        assert!(stderr(&out).contains(want), "{flag}: {}", stderr(&out));
    }
    c.brig_ok(&["delete", "--force", &c.id]);
    c.assert_clean();
}

/// On cgroup v2 the init is born in its cgroup (clone3 with CLONE_INTO_CGROUP) and an exec
/// in the container's: brig never writes their pid to cgroup.procs, so neither waits for
/// the cgroup lock a migration takes. Elsewhere (v1 and hybrid hosts) they are forked
/// and moved, and the debug log says nothing of the kind. Either way the process ends up
/// in the container's cgroup.
#[test]
fn on_cgroup_v2_the_init_and_an_exec_are_born_in_the_cgroup() {
    let mut c = Ctx::new("cg-born");
    c.set_args(&["sleep", "100"]);
    let log = c.base.join("debug.log");
    let out = c.create_with_flags(&["--debug", "--log", log.to_str().unwrap()]);
    assert!(out.status.success(), "create: {}", stderr(&out));
    let pid = c.state()["pid"].as_i64().unwrap();
    let out = c
        .cmd()
        .args([
            "--debug",
            "--log",
            log.to_str().unwrap(),
            "exec",
            &c.id,
            "cat",
            "/proc/self/cgroup",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "exec: {}", stderr(&out));
    let text = std::fs::read_to_string(&log).unwrap();
    let born = text
        .matches("born in its cgroup (clone3 CLONE_INTO_CGROUP)")
        .count();
    let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    if cgroup_v2() {
        assert_eq!(born, 2, "the init and the exec: {text}");
        assert_eq!(own.trim(), format!("0::{}", c.cgroup));
        assert_eq!(stdout(&out).trim(), format!("0::{}", c.cgroup));
    } else {
        assert_eq!(born, 0, "{text}");
        assert!(own.contains(&c.cgroup), "{own}");
    }
}
