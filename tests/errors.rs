//! Bad input: a clear error naming the problem, exit 1, a JSON log line when asked, and
//! nothing left behind.

mod common;

use common::*;
use serde_json::{json, Value};

#[test]
fn invalid_json_is_reported_and_nothing_is_left() {
    let c = Ctx::new("err-json");
    c.write_config();
    std::fs::write(
        c.bundle.join("config.json"),
        b"{\"ociVersion\": \"1.0.2\", \"process\": {",
    )
    .unwrap();
    let out = c
        .cmd()
        .args(["create", "--bundle"])
        .arg(&c.bundle)
        .arg(&c.id)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("config.json"), "{}", stderr(&out));
    c.assert_clean();
}

#[test]
fn a_wrong_type_names_the_field() {
    let mut c = Ctx::new("err-type");
    c.config["process"]["user"]["uid"] = json!("root");
    c.expect_create_error("process.user.uid");
}

#[test]
fn structural_mistakes_name_the_field() {
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation, &str)> = vec![
        (
            "err-noroot",
            Box::new(|c: &mut Value| {
                c.as_object_mut().unwrap().remove("root");
            }),
            "root",
        ),
        (
            "err-relmount",
            Box::new(|c: &mut Value| c["mounts"][0]["destination"] = json!("proc")),
            "mounts[0].destination",
        ),
        (
            "err-badns",
            Box::new(|c: &mut Value| c["linux"]["namespaces"][0]["type"] = json!("bogus")),
            "linux.namespaces[0].type",
        ),
        (
            "err-dupns",
            Box::new(|c: &mut Value| {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"type": "pid"}))
            }),
            "duplicate namespace",
        ),
        (
            // A name must be a string (an unknown one is only warned about: security.rs).
            "err-cap",
            Box::new(|c: &mut Value| c["process"]["capabilities"]["bounding"] = json!([7])),
            "process.capabilities.bounding",
        ),
        (
            "err-rlimit",
            Box::new(|c: &mut Value| c["process"]["rlimits"][0]["type"] = json!("RLIMIT_TEST")),
            "process.rlimits[0].type",
        ),
        (
            "err-uts",
            Box::new(|c: &mut Value| c["linux"]["namespaces"] = json!([{"type": "mount"}])),
            "private UTS namespace",
        ),
        (
            "err-nspath",
            Box::new(|c: &mut Value| c["linux"]["namespaces"][0]["path"] = json!("/etc/hostname")),
            "is not a pid namespace",
        ),
        (
            "err-nsmissing",
            Box::new(|c: &mut Value| {
                c["linux"]["namespaces"][1]["path"] = json!("/proc/no/ns/net")
            }),
            "linux.namespaces[1].path",
        ),
        (
            "err-cwd",
            Box::new(|c: &mut Value| c["process"]["cwd"] = json!("relative")),
            "process.cwd",
        ),
        (
            "err-args",
            Box::new(|c: &mut Value| c["process"]["args"] = json!([])),
            "process.args",
        ),
        (
            "err-sysctl",
            Box::new(|c: &mut Value| c["linux"]["sysctl"] = json!({"vm.swappiness": "1"})),
            "linux.sysctl.vm.swappiness",
        ),
        (
            "err-option",
            // tmpcopyup is for tmpfs mounts; mounts[0] is /proc.
            Box::new(|c: &mut Value| c["mounts"][0]["options"] = json!(["tmpcopyup"])),
            "mounts[0].options",
        ),
    ];
    for (name, mutate, needle) in cases {
        let mut c = Ctx::new(name);
        mutate(&mut c.config);
        c.expect_create_error(needle);
    }
}

#[test]
fn a_missing_executable_fails_create_like_runc() {
    let mut c = Ctx::new("err-noexec");
    c.set_args(&["no-such-binary"]);
    // logrus quotes the message, so the inner quotes arrive escaped, as with runc.
    let err = c.expect_create_error("executable file not found in $PATH");
    assert!(err.contains("no-such-binary"), "{err}");
    c.set_args(&["/no/such/bin"]);
    c.expect_create_error("stat /no/such/bin: no such file or directory");
    c.set_args(&["/etc/passwd"]);
    c.expect_create_error("permission denied");
}

#[test]
fn the_rootfs_must_be_a_directory() {
    let mut c = Ctx::new("err-rootfile");
    let file = c.base.join("rootfile");
    std::fs::write(&file, "x").unwrap();
    c.config["root"]["path"] = json!(file);
    c.expect_create_error("root.path");
    c.config["root"]["path"] = json!("/no/such/rootfs");
    c.expect_create_error("root.path");
}

#[test]
fn errors_go_to_the_json_log_for_containerd() {
    let mut c = Ctx::new("err-log");
    c.set_args(&["no-such-binary"]);
    c.write_config();
    let log = c.base.join("log.json");
    let out = c
        .cmd()
        .arg("--log")
        .arg(&log)
        .args(["--log-format", "json", "create", "--bundle"])
        .arg(&c.bundle)
        .arg(&c.id)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = std::fs::read_to_string(&log).unwrap();
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["level"], "error");
    assert!(
        last["msg"]
            .as_str()
            .unwrap()
            .contains("executable file not found"),
        "{last}"
    );
    assert!(last["time"].as_str().unwrap().ends_with('Z'));
    assert!(
        stderr(&out).contains("executable file not found"),
        "also on stderr for conmon"
    );
    c.assert_clean();
}

#[test]
fn invalid_ids_are_refused() {
    let c = Ctx::new("err-id");
    c.write_config();
    for bad in ["../x", "a/b", "..", "a b"] {
        let out = c
            .cmd()
            .args(["create", "--bundle"])
            .arg(&c.bundle)
            .arg(bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{bad}");
        assert!(
            stderr(&out).contains("invalid container ID format"),
            "{bad}: {}",
            stderr(&out)
        );
    }
    assert!(!c.root.exists() || std::fs::read_dir(&c.root).unwrap().count() == 0);
}

#[test]
fn unknown_signals_are_refused() {
    let mut c = Ctx::new("err-signal");
    c.set_args(&["sleep", "30"]);
    assert!(c.create().status.success());
    let out = c.brig(&["kill", &c.id, "NOSIG"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("unknown signal") && stderr(&out).contains("NOSIG"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        c.state()["status"],
        "created",
        "the container is undisturbed"
    );
    assert!(c.brig(&["delete", &c.id]).status.success());
    c.assert_clean();
}

#[test]
fn a_failed_create_leaves_other_containers_running() {
    let mut good = Ctx::new("err-neighbour");
    good.set_args(&["sleep", "30"]);
    assert!(good.create().status.success());
    let mut bad = Ctx::new("err-neighbour-bad");
    bad.root = good.root.clone();
    bad.set_args(&["no-such-binary"]);
    bad.expect_create_error("executable file not found");
    assert_eq!(good.state()["status"], "created");
    assert!(good.brig(&["delete", &good.id]).status.success());
    good.assert_clean();
}

#[test]
fn lsm_requests_on_a_host_without_them() {
    let apparmor = std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y");
    let selinux = std::path::Path::new("/sys/fs/selinux/enforce").exists();
    if apparmor || selinux {
        eprintln!("this host has an LSM: the no-LSM behaviour is not what it would show");
        return;
    }
    let mut c = Ctx::new("err-apparmor");
    c.config["process"]["apparmorProfile"] = json!("docker-default");
    c.expect_create_error("AppArmor is not enabled on this host");
    let mut c = Ctx::new("err-selinux");
    c.config["process"]["selinuxLabel"] = json!("system_u:system_r:container_t:s0");
    c.config["linux"]["mountLabel"] = json!("system_u:object_r:container_file_t:s0");
    let out = c.run();
    assert!(
        out.status.success(),
        "SELinux labels are ignored without SELinux: {}",
        stderr(&out)
    );
    c.assert_clean();
}

/// `--debug` logs each step of create, start, run and exec, in the format and place asked
/// for, with runc's words where runc has a line for the step.
///
/// Checked against a broken brig: without the debug lines (as before), the log held no
/// debug line and the test failed.
#[test]
fn debug_logs_each_step_with_runcs_words() {
    let mut c = Ctx::new("err-debug");
    let log = c.base.join("log.json");
    c.set_args(&["sleep", "60"]);
    let out = c.create_with_flags(&[
        "--debug",
        "--log-format",
        "json",
        "--log",
        log.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let debug = [
        "--debug",
        "--log-format",
        "json",
        "--log",
        log.to_str().unwrap(),
    ];
    let with = |args: &[&str]| {
        let mut all = debug.to_vec();
        all.extend_from_slice(args);
        c.brig_ok(&all)
    };
    with(&["start", &c.id]);
    with(&["exec", &c.id, "true"]);
    with(&["delete", "--force", &c.id]);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let debug_msgs: Vec<&str> = lines
        .iter()
        .filter(|l| l["level"] == "debug")
        .map(|l| l["msg"].as_str().unwrap())
        .collect();
    for want in [
        "nsexec container setup",
        "child process in init()",
        "init: closing the pipe to signal completion",
        "create: init ",
        "start: released init ",
        "setns_init: about to exec",
        "exec: process ",
    ] {
        assert!(
            debug_msgs.iter().any(|m| m.contains(want)),
            "no debug line with {want:?}: {debug_msgs:?}"
        );
    }
    // Text lines on stderr without --log.
    c.set_args(&["true"]);
    c.write_config();
    let out = c
        .cmd()
        .args(["--debug", "run", "--bundle"])
        .arg(&c.bundle)
        .arg(&c.id)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("level=debug msg=\"standard_init: about to exec /bin/true\""),
        "{}",
        stderr(&out)
    );
    c.assert_clean();
}
