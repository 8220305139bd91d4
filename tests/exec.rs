//! exec into a running container, and ps: as containerd's shim and `kubectl exec` use them.

mod common;

use common::*;
use serde_json::{json, Value};

/// A running container (sleep) to exec into.
fn running(name: &str) -> Ctx {
    let mut c = Ctx::new(name);
    c.set_args(&["sleep", "60"]);
    c.run_detached();
    c
}

fn exec(c: &Ctx, args: &[&str]) -> std::process::Output {
    let mut full = vec!["exec"];
    full.extend_from_slice(args);
    c.brig(&full)
}

fn exec_probe(c: &Ctx, flags: &[&str], probe_args: &[&str]) -> Value {
    let mut args: Vec<&str> = flags.to_vec();
    args.push(&c.id);
    args.push("probe");
    args.extend_from_slice(probe_args);
    let out = exec(c, &args);
    assert!(out.status.success(), "exec failed: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)))
}

#[test]
fn exec_joins_the_containers_namespaces_and_cgroup() {
    let c = running("ex-join");
    let init = c.state()["pid"].as_i64().unwrap();
    let r = exec_probe(&c, &[], &["--try-read", "/etc/os-release"]);
    for (key, file) in [
        ("mnt", "mnt"),
        ("pid", "pid"),
        ("net", "net"),
        ("ipc", "ipc"),
        ("uts", "uts"),
    ] {
        assert_eq!(
            r["namespaces"][key].as_u64(),
            Some(ns_inode(&init.to_string(), file)),
            "{key}"
        );
    }
    assert_ne!(r["pid"], 1, "the init stays PID 1");
    assert!(
        r["cgroup"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().ends_with(&c.cgroup)),
        "{}",
        r["cgroup"]
    );
    assert!(
        r["readable"]["/etc/os-release"]["content"]
            .as_str()
            .unwrap()
            .contains("brig test rootfs"),
        "sees the container's root"
    );
    assert_eq!(
        fd_numbers(&r),
        [0, 1, 2],
        "no host fd leaks into an exec'd process"
    );
    assert_eq!(r["hostname"], "brig");
    assert!(c.brig(&["delete", "--force", &c.id]).status.success());
    c.assert_clean();
}

#[test]
fn exec_returns_the_exit_code_and_255_when_it_cannot_start() {
    let c = running("ex-codes");
    assert_eq!(
        exec(&c, &[&c.id, "sh", "-c", "exit 3"]).status.code(),
        Some(3)
    );
    let missing = exec(&c, &[&c.id, "/no/such/bin"]);
    assert_eq!(missing.status.code(), Some(255));
    assert!(
        stderr(&missing).contains("no such file or directory"),
        "{}",
        stderr(&missing)
    );
    let not_found = exec(&c, &[&c.id, "no-such-command"]);
    assert!(
        stderr(&not_found).contains("executable file not found"),
        "{}",
        stderr(&not_found)
    );
    assert!(c.brig(&["kill", &c.id, "KILL"]).status.success());
    c.wait_status("stopped");
    let stopped = exec(&c, &[&c.id, "true"]);
    assert_eq!(stopped.status.code(), Some(255));
    assert!(
        stderr(&stopped).contains("cannot exec in a stopped container"),
        "{}",
        stderr(&stopped)
    );
    let unknown = exec(&c, &["no-such-container", "true"]);
    assert_eq!(unknown.status.code(), Some(255));
    assert!(stderr(&unknown).contains("does not exist"));
    assert!(c.brig(&["delete", &c.id]).status.success());
    c.assert_clean();
}

/// exec takes the config saved at create, not the bundle's (changed since); a container
/// made by a brig before 2026-12 keeps it in config.json beside state.json, and exec and
/// delete still understand that.
#[test]
fn exec_uses_the_config_saved_at_create_in_either_layout() {
    let mut c = running("ex-saved");
    c.config["process"]["env"] = json!(["PATH=/bin", "CHANGED=1"]);
    c.write_config();
    let env = |c: &Ctx| exec_probe(c, &[], &[])["env"].clone();
    assert!(!env(&c).as_array().unwrap().contains(&json!("CHANGED=1")));
    // The older layout: config.json beside a state.json without it.
    let dir = c.root.join(&c.id);
    let mut state: Value =
        serde_json::from_slice(&std::fs::read(dir.join("state.json")).unwrap()).unwrap();
    let config = state
        .as_object_mut()
        .unwrap()
        .remove("config")
        .expect("config in state");
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_vec(&config).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("state.json"), serde_json::to_vec(&state).unwrap()).unwrap();
    assert!(!env(&c).as_array().unwrap().contains(&json!("CHANGED=1")));
    std::fs::remove_file(dir.join("config.json")).unwrap();
    assert!(
        !exec(&c, &[&c.id, "true"]).status.success(),
        "exec without a saved config"
    );
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_vec(&config).unwrap(),
    )
    .unwrap();
    c.brig_ok(&["delete", "--force", &c.id]);
    c.assert_clean();
}

#[test]
fn exec_flags_set_the_process() {
    let c = running("ex-flags");
    let r = exec_probe(
        &c,
        &[
            "--env",
            "FOO=bar",
            "-e",
            "PATH=/bin:/usr/bin",
            "--cwd",
            "/tmp",
            "--user",
            "1000:1000",
            "-g",
            "2000",
            "--cap",
            "CAP_NET_RAW",
            "--no-new-privs",
        ],
        &[],
    );
    assert!(r["env"].as_array().unwrap().contains(&json!("FOO=bar")));
    let paths: Vec<&Value> = r["env"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.as_str().unwrap().starts_with("PATH="))
        .collect();
    assert_eq!(
        paths,
        [&json!("PATH=/bin:/usr/bin")],
        "-e replaces the container's PATH"
    );
    assert_eq!(r["cwd"], "/tmp");
    assert_eq!(r["uid"]["effective"], 1000);
    assert_eq!(r["gid"]["effective"], 1000);
    assert_eq!(r["groups"], json!([2000]));
    assert_eq!(r["no_new_privs"], true);
    let bounding: Vec<&str> = r["capabilities"]["bounding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(bounding.contains(&"CAP_NET_RAW"), "{bounding:?}");
    assert_eq!(
        r["capabilities"]["inheritable"],
        json!([]),
        "--cap never adds inheritable (CVE-2022-29162)"
    );
    // Checked against a broken brig: with `exec::add_caps` adding to the inheritable set
    // too, this assertion failed.
    assert!(c.brig(&["delete", "--force", &c.id]).status.success());
    c.assert_clean();
}

#[test]
fn exec_takes_a_process_json() {
    let c = running("ex-process");
    let process = json!({"args": ["probe"], "cwd": "/home/user", "env": ["PATH=/bin", "X=1"], "user": {"uid": 1000, "gid": 1000}});
    let file = c.base.join("process.json");
    std::fs::write(&file, process.to_string()).unwrap();
    let out = exec(&c, &["--process", file.to_str().unwrap(), &c.id]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["cwd"], "/home/user");
    assert_eq!(r["uid"]["effective"], 1000);
    assert!(r["env"].as_array().unwrap().contains(&json!("X=1")));
    std::fs::write(
        &file,
        r#"{"args": ["probe"], "cwd": "/", "user": {"uid": "x"}}"#,
    )
    .unwrap();
    let bad = exec(&c, &["-p", file.to_str().unwrap(), &c.id]);
    assert_eq!(bad.status.code(), Some(255));
    assert!(
        stderr(&bad).contains("user.uid"),
        "names the field: {}",
        stderr(&bad)
    );
    assert!(c.brig(&["delete", "--force", &c.id]).status.success());
    c.assert_clean();
}

#[test]
fn exec_detached_writes_the_pid_and_ps_lists_it() {
    let c = running("ex-detach");
    let pid_file = c.base.join("exec.pid");
    let out = c
        .cmd()
        .args(["exec", "-d", "--pid-file"])
        .arg(&pid_file)
        .args([&c.id, "sleep", "60"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(out.success());
    let pid: i64 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    let init = c.state()["pid"].as_i64().unwrap();
    let json: Value =
        serde_json::from_slice(&c.brig(&["ps", "--format", "json", &c.id]).stdout).unwrap();
    let mut pids: Vec<i64> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_i64().unwrap())
        .collect();
    pids.sort_unstable();
    let mut want = vec![init, pid];
    want.sort_unstable();
    let procs = std::fs::read_to_string(format!("/sys/fs/cgroup/pids{}/cgroup.procs", c.cgroup))
        .unwrap_or_default();
    assert_eq!(
        pids, want,
        "ps --format json lists the init and the exec'd process (cgroup.procs now: {procs:?})"
    );
    let table = stdout(&c.brig(&["ps", &c.id]));
    assert!(table.lines().next().unwrap().contains("PID"), "{table}");
    assert_eq!(
        table.lines().count(),
        3,
        "header and two processes: {table}"
    );
    assert!(c.brig(&["delete", "--force", &c.id]).status.success());
    c.assert_clean();
}

#[test]
fn exec_gets_the_containers_seccomp_filter_and_user_namespace() {
    let mut c = Ctx::new("ex-userns");
    c.set_args(&["sleep", "60"]);
    c.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    c.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 300000, "size": 65536}]);
    c.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 300000, "size": 65536}]);
    c.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"}]});
    c.run_detached();
    let r = exec_probe(&c, &[], &[]);
    assert_eq!(r["seccomp"], 2);
    assert_eq!(
        r["cwd"],
        Value::Null,
        "the container's profile applies to exec too"
    );
    assert_eq!(r["uid"]["effective"], 0);
    assert!(r["uid_map"].as_str().unwrap().contains("300000"));
    assert!(c.brig(&["delete", "--force", &c.id]).status.success());
    c.assert_clean();
}

/// `exec -p` takes what runc takes: a process.json from a pipe (`-p /dev/fd/3`, bash's
/// `<(…)`), and one without `user`, which runs as root (runc's zero value).
///
/// Checked against a broken brig: with process files read only as regular files (as
/// before), the pipe was "not a regular file", and the missing `user` was refused by
/// oci-spec; the test failed.
#[test]
fn exec_reads_a_process_json_from_a_pipe_and_defaults_the_user() {
    let c = running("ex-process-pipe");
    let process = json!({"args": ["probe"], "cwd": "/", "env": ["PATH=/bin"]}).to_string();
    let script = format!(
        "exec 3< <(printf '%s' '{process}'); exec {BRIG} --root {} exec -p /dev/fd/3 {}",
        c.root.display(),
        c.id
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["uid"]["effective"], 0);
    assert!(c.brig(&["delete", "--force", &c.id]).status.success());
    c.assert_clean();
}

/// The process's cgroup lines (`/proc/self/cgroup`) as the probe saw them.
fn cgroup_lines(r: &Value) -> Vec<String> {
    r["cgroup"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn exec_cgroup_places_the_process_in_a_sub_cgroup() {
    let c = running("ex-subcg");
    for dir in c.cgroup_dirs() {
        std::fs::create_dir(dir.join("sub")).unwrap();
        // A new v1 cpuset cgroup has no cpus or mems: a process cannot join it until set.
        for file in ["cpuset.cpus", "cpuset.mems"] {
            let (from, to) = (dir.join(file), dir.join("sub").join(file));
            if let (Ok(v), true) = (std::fs::read_to_string(from), to.exists()) {
                std::fs::write(to, v).unwrap();
            }
        }
    }
    let inside = format!("{}/sub", c.cgroup);

    // One path without a prefix: every hierarchy.
    let r = exec_probe(&c, &["--cgroup", "sub"], &[]);
    let lines = cgroup_lines(&r);
    assert!(
        lines.iter().all(|l| l.ends_with(&inside)),
        "every hierarchy in the sub-cgroup: {lines:?}"
    );

    if cgroup_v2() {
        let out = exec(&c, &["--cgroup", "memory:sub", &c.id, "true"]);
        assert!(
            stderr(&out).contains("unknown controller memory in SubCgroupPaths"),
            "{}",
            stderr(&out)
        );
    } else {
        // A controller prefix moves that hierarchy only.
        let r = exec_probe(&c, &["--cgroup", "memory:sub"], &[]);
        let lines = cgroup_lines(&r);
        let memory = lines.iter().find(|l| l.contains(":memory:")).unwrap();
        assert!(memory.ends_with(&inside), "{lines:?}");
        let pids = lines.iter().find(|l| l.contains(":pids:")).unwrap();
        assert!(pids.ends_with(&c.cgroup), "{lines:?}");
    }

    for (arg, want) in [
        ("../elsewhere", "../elsewhere is not a sub cgroup path"),
        ("missing", "the sub-cgroup"),
        ("a:b:c", "invalid --cgroup argument: a:b:c"),
    ] {
        let out = exec(&c, &["--cgroup", arg, &c.id, "true"]);
        assert!(!out.status.success(), "--cgroup {arg} accepted");
        assert!(
            stderr(&out).contains(want),
            "--cgroup {arg}: {}",
            stderr(&out)
        );
    }
    let out = exec(
        &c,
        &["--cgroup", "sub", "--cgroup", "pids:sub", &c.id, "true"],
    );
    assert!(
        stderr(&out).contains("invalid --cgroup argument: sub (missing <controller>: prefix)"),
        "{}",
        stderr(&out)
    );

    // delete removes the sub-cgroups brig placed processes in, with the container's.
    assert!(c.brig(&["delete", "--force", &c.id]).status.success());
    c.assert_clean();
}
