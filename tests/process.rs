//! process.*: user, capabilities, rlimits, env, cwd, fds, no_new_privs, oom score, sysctl.

mod common;

use common::*;
use serde_json::{json, Value};

fn names(v: &Value) -> Vec<String> {
    let mut n: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    n.sort();
    n
}

#[test]
fn default_capabilities_are_exactly_the_specs() {
    let mut c = Ctx::new("pr-caps");
    let r = c.probe(&[]);
    let want = vec!["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
    for set in ["bounding", "effective", "permitted"] {
        assert_eq!(names(&r["capabilities"][set]), want, "{set}");
    }
    assert_eq!(
        names(&r["capabilities"]["inheritable"]),
        Vec::<String>::new(),
        "inheritable only when asked"
    );
    c.assert_clean();
}

#[test]
fn a_non_root_user_keeps_ambient_capabilities() {
    let mut c = Ctx::new("pr-ambient");
    c.config["process"]["user"] =
        json!({"uid": 1000, "gid": 1000, "additionalGids": [2000], "umask": 63});
    let caps = json!(["CAP_NET_BIND_SERVICE"]);
    c.config["process"]["capabilities"] = json!({"bounding": caps, "effective": caps, "permitted": caps, "inheritable": caps, "ambient": caps});
    let r = c.probe(&[]);
    assert_eq!(
        r["uid"],
        json!({"real": 1000, "effective": 1000, "saved": 1000})
    );
    assert_eq!(
        r["gid"],
        json!({"real": 1000, "effective": 1000, "saved": 1000})
    );
    assert_eq!(r["groups"], json!([2000]));
    assert_eq!(r["umask"], 63);
    assert_eq!(
        names(&r["capabilities"]["effective"]),
        ["CAP_NET_BIND_SERVICE"]
    );
    assert_eq!(
        names(&r["capabilities"]["ambient"]),
        ["CAP_NET_BIND_SERVICE"]
    );
    let home = r["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e.as_str().unwrap().starts_with("HOME="));
    assert_eq!(
        home,
        Some(&json!("HOME=/home/user")),
        "HOME comes from the container's passwd"
    );
    c.assert_clean();
}

#[test]
fn ambient_without_inheritable_is_not_raised() {
    let mut c = Ctx::new("pr-ambient-no-inh");
    c.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    let r = c.probe(&[]);
    // runc's default spec lists ambient caps but no inheritable ones: the user gets none.
    assert_eq!(names(&r["capabilities"]["ambient"]), Vec::<String>::new());
    assert_eq!(names(&r["capabilities"]["effective"]), Vec::<String>::new());
    c.assert_clean();
}

#[test]
fn rlimits_no_new_privs_and_oom_score_adj_apply() {
    let mut c = Ctx::new("pr-limits");
    c.config["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200}, {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]);
    c.config["process"]["oomScoreAdj"] = json!(500);
    let r = c.probe(&[]);
    assert_eq!(
        r["rlimits"]["RLIMIT_NOFILE"],
        json!({"soft": 100, "hard": 200})
    );
    assert_eq!(r["rlimits"]["RLIMIT_CORE"], json!({"soft": 0, "hard": 0}));
    assert_eq!(r["no_new_privs"], true);
    assert_eq!(r["oom_score_adj"], 500);
    c.config["process"]["noNewPrivileges"] = json!(false);
    let r = c.probe(&[]);
    assert_eq!(r["no_new_privs"], false);
    c.assert_clean();
}

#[test]
fn env_args_and_cwd_reach_the_process() {
    let mut c = Ctx::new("pr-env");
    c.private_rootfs();
    c.config["process"]["env"] = json!(["PATH=/usr/bin:/bin", "FOO=bar baz"]);
    c.config["process"]["cwd"] = json!("/srv/made/by/brig");
    let r = c.probe(&["--", "a b", "--x"]);
    assert_eq!(r["args"], json!(["probe", "--", "a b", "--x"]));
    assert_eq!(r["cwd"], "/srv/made/by/brig", "a missing cwd is created");
    let env = r["env"].as_array().unwrap();
    assert_eq!(env[0], "PATH=/usr/bin:/bin");
    assert_eq!(env[1], "FOO=bar baz");
    assert!(env.contains(&json!("HOME=/root")));
    c.assert_clean();
}

/// CVE-2024-21626. Checked against a broken brig: without `sys::cloexec_from` in
/// `init::run`, fds the test harness inherited (10 and 251 that run) reached the probe and
/// the test failed.
#[test]
fn only_stdio_reaches_the_process_unless_fds_are_preserved() {
    let mut c = Ctx::new("pr-fds");
    let r = c.probe(&[]);
    let fds: Vec<i64> = fd_numbers(&r);
    assert_eq!(
        fds,
        [0, 1, 2],
        "no host fd leaks into the container: {}",
        r["fds"]
    );

    c.set_args(&["probe"]);
    c.write_config();
    let script = format!(
        "exec 3</etc/hostname 4</etc/hostname; exec {} --root {} run --preserve-fds 1 --bundle {} {}",
        BRIG, c.root.display(), c.bundle.display(), c.id
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let fds: Vec<i64> = fd_numbers(&r);
    assert_eq!(fds, [0, 1, 2, 3], "fd 3 preserved, fd 4 not: {}", r["fds"]);
    c.assert_clean();
}

#[test]
fn sysctls_are_written_in_the_containers_namespaces() {
    let mut c = Ctx::new("pr-sysctl");
    c.config["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1", "kernel.shmmni": "1234"});
    let r = c.probe(&[
        "--sysctl",
        "net.ipv4.ip_forward",
        "--sysctl",
        "kernel.shmmni",
    ]);
    assert_eq!(r["sysctl"]["net.ipv4.ip_forward"], "1");
    assert_eq!(r["sysctl"]["kernel.shmmni"], "1234");
    let host = std::fs::read_to_string("/proc/sys/kernel/shmmni").unwrap();
    assert_ne!(host.trim(), "1234", "the host's value is untouched");
    c.assert_clean();
}

#[test]
fn the_executable_is_found_on_the_containers_path() {
    let mut c = Ctx::new("pr-path");
    c.config["process"]["env"] = json!(["PATH=/nowhere:/usr/bin:/bin"]);
    c.set_args(&["sh", "-c", "echo $0"]);
    let out = c.run();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "sh\n");
    c.assert_clean();
}

#[test]
fn personality_io_priority_scheduler_and_cpu_affinity_apply() {
    let mut c = Ctx::new("pr-attrs");
    c.config["linux"]["personality"] = json!({"domain": "LINUX32"});
    c.config["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_BE", "priority": 6});
    c.config["process"]["scheduler"] = json!({"policy": "SCHED_BATCH", "nice": 5});
    c.config["process"]["execCPUAffinity"] = json!({"initial": "0-1", "final": "1"});
    c.set_args(&["sh", "-c", "ionice -p $$; grep Cpus_allowed_list /proc/self/status; cut -d' ' -f19,41 /proc/self/stat; uname -m"]);
    let out = c.run();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("best-effort: prio 6"), "ioPriority: {text}");
    assert!(
        text.contains("Cpus_allowed_list:\t1\n"),
        "final affinity: {text}"
    );
    assert!(
        text.contains("5 3\n"),
        "nice 5, policy SCHED_BATCH (3): {text}"
    );
    assert!(text.contains("i686"), "LINUX32 personality: {text}");
    c.assert_clean();
}

#[test]
fn bad_process_attributes_are_refused() {
    let mut c = Ctx::new("pr-attrs-bad");
    c.config["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_BE", "priority": 9});
    c.expect_create_error("process.ioPriority.priority");
    c.config["process"]
        .as_object_mut()
        .unwrap()
        .remove("ioPriority");
    c.config["process"]["execCPUAffinity"] = json!({"final": "3-1"});
    c.expect_create_error("process.execCPUAffinity.final");
}

/// HOME comes from the image's /etc/passwd. A hostile image whose /etc/passwd is
/// /dev/zero made the init read without end (1 GiB in under a second, then the OOM
/// killer): brig reads user databases only when they are regular files, up to a limit,
/// and says which file it refused. The memory limit keeps a broken brig's read inside the
/// container's cgroup.
///
/// Checked against a broken brig: with /etc/passwd read by `read_to_string`, the init was
/// OOM-killed reading it and `run` failed; the test failed.
#[test]
fn a_passwd_that_never_ends_is_refused_not_read() {
    let mut c = Ctx::new("proc-passwd-zero");
    let rootfs = c.private_rootfs();
    std::fs::remove_file(rootfs.join("etc/passwd")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", rootfs.join("etc/passwd")).unwrap();
    c.config["linux"]["resources"]["memory"] = json!({"limit": 64 << 20});
    let out = c.run();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("/etc/passwd in the container is not a regular file"),
        "{}",
        stderr(&out)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        r["env"].as_array().unwrap().contains(&json!("HOME=/")),
        "{}",
        r["env"]
    );
    c.assert_clean();
}

/// A cwd inside a mount's destination (here a tmpfs) is made after the mounts, as runc
/// makes it, so it exists in what the process sees.
///
/// Checked against a broken brig: with the cwd made before the mounts, it was made in the
/// image under /data, the tmpfs covered it, and chdir failed (ENOENT); the test failed.
#[test]
fn a_cwd_inside_a_mount_is_made_in_the_mount() {
    let mut c = Ctx::new("proc-cwd-in-mount");
    c.private_rootfs();
    c.config["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"destination": "/data", "type": "tmpfs", "source": "tmpfs"}));
    c.config["process"]["cwd"] = json!("/data/work/here");
    let r = c.probe(&[]);
    assert_eq!(r["cwd"], "/data/work/here");
    c.assert_clean();
}

/// `linux.memoryPolicy` (runc 1.3): the process starts with the NUMA policy asked for
/// (/proc/self/numa_maps shows it on every mapping); nodes a mode needs, or must not have,
/// are refused by field.
///
/// Checked against a broken brig: the field was refused as not supported and the test
/// failed.
#[test]
fn the_memory_policy_is_set_before_the_process_runs() {
    let mut c = Ctx::new("proc-mempolicy");
    c.config["linux"]["memoryPolicy"] =
        json!({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]});
    let r = c.probe(&["--try-read", "/proc/self/numa_maps"]);
    let maps = r["readable"]["/proc/self/numa_maps"]["content"]
        .as_str()
        .unwrap();
    assert!(
        maps.contains(" bind=static:0 ") || maps.contains(" bind:0 "),
        "{maps}"
    );
    c.assert_clean();
    c.config["linux"]["memoryPolicy"] = json!({"mode": "MPOL_BIND"});
    c.expect_create_error("linux.memoryPolicy: MPOL_BIND needs nodes");
    c.config["linux"]["memoryPolicy"] = json!({"mode": "MPOL_LOCAL", "nodes": "0"});
    c.expect_create_error("linux.memoryPolicy: MPOL_LOCAL takes no nodes");
}

/// Signals brig's caller ignores reach the container's process at their defaults, and none
/// is blocked: an ignored disposition and the mask survive execve, and `run` blocks the
/// signals it forwards. The init resets only what /proc/self/status lists, so this is
/// what tells a missed reset.
#[test]
fn signals_the_caller_ignores_reach_the_process_at_their_defaults() {
    use std::os::unix::process::CommandExt;
    let mut c = Ctx::new("proc-sigdfl");
    c.set_args(&["probe", "--try-read", "/proc/self/status"]);
    let mut cmd = c.run_cmd();
    // SAFETY: signal(2) is async-signal-safe, and only changes this child's dispositions.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            libc::signal(libc::SIGUSR1, libc::SIG_IGN);
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "brig run: {}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let status = r["readable"]["/proc/self/status"]["content"]
        .as_str()
        .unwrap_or_else(|| panic!("no status read: {r}"));
    let mask = |key: &str| {
        let line = status.lines().find_map(|l| l.strip_prefix(key)).unwrap();
        u64::from_str_radix(line.trim(), 16).unwrap()
    };
    let (hup, usr1) = (1 << (libc::SIGHUP - 1), 1 << (libc::SIGUSR1 - 1));
    assert_eq!(mask("SigIgn:") & (hup | usr1), 0, "{status}");
    assert_eq!(mask("SigBlk:"), 0, "{status}");
    c.assert_clean();
}
