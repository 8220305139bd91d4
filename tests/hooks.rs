//! OCI hooks: all six kinds, at their moments, with the state on stdin.

mod common;

use common::*;
use serde_json::{json, Value};

/// A hook that appends its kind to DIR/order and saves its stdin as DIR/KIND.json.
fn recorder(dir: &str, kind: &str) -> Value {
    json!({"path": "/bin/sh", "args": ["sh", "-c", format!("echo {kind} >> {dir}/order; cat > {dir}/{kind}.json")]})
}

#[test]
fn all_six_hooks_run_in_order_with_the_state_on_stdin() {
    let mut c = Ctx::new("hk-all");
    let host = c.base.join("hooks");
    std::fs::create_dir_all(&host).unwrap();
    let h = host.to_str().unwrap().to_string();
    // startContainer runs inside the container, after pivot_root: it sees the bind at /mnt.
    c.config["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"destination": "/mnt", "type": "bind", "source": h, "options": ["bind"]}));
    c.config["hooks"] = json!({
        "prestart": [recorder(&h, "prestart")],
        "createRuntime": [recorder(&h, "createRuntime")],
        "createContainer": [recorder(&h, "createContainer")],
        "startContainer": [recorder("/mnt", "startContainer")],
        "poststart": [recorder(&h, "poststart")],
        "poststop": [recorder(&h, "poststop")],
    });
    c.set_args(&["true"]);
    let out = c.run();
    assert!(out.status.success(), "{}", stderr(&out));
    let order = std::fs::read_to_string(host.join("order")).unwrap();
    let order: Vec<&str> = order.lines().collect();
    // poststart runs after the process is released, so it may come before or after the
    // process itself; everything else has a fixed place.
    assert_eq!(
        order,
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop"
        ]
    );
    for (kind, status) in [
        ("prestart", "creating"),
        ("createRuntime", "creating"),
        ("createContainer", "creating"),
        ("startContainer", "created"),
        ("poststart", "running"),
        ("poststop", "stopped"),
    ] {
        let state: Value =
            serde_json::from_slice(&std::fs::read(host.join(format!("{kind}.json"))).unwrap())
                .unwrap();
        assert_eq!(state["status"], status, "{kind}");
        assert_eq!(state["id"], c.id.as_str(), "{kind}");
        assert!(state["pid"].as_i64().unwrap() > 0, "{kind}");
        assert_eq!(state["bundle"], c.bundle.to_str().unwrap(), "{kind}");
    }
    c.assert_clean();
}

#[test]
fn a_failing_create_hook_fails_create_and_leaves_nothing() {
    let mut c = Ctx::new("hk-fail");
    c.config["hooks"] = json!({"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "echo nope >&2; exit 3"]}]});
    let err = c.expect_create_error("createRuntime hook");
    assert!(err.contains("nope"), "the hook's stderr is reported: {err}");
}

#[test]
fn a_missing_hook_binary_fails_create() {
    let mut c = Ctx::new("hk-missing");
    c.config["hooks"] = json!({"prestart": [{"path": "/no/such/hook"}]});
    c.expect_create_error("no such file or directory");
}

#[test]
fn a_hook_past_its_timeout_is_killed_and_fails_create() {
    let mut c = Ctx::new("hk-timeout");
    c.config["hooks"] =
        json!({"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]});
    let started = std::time::Instant::now();
    c.expect_create_error("timed out");
    assert!(
        started.elapsed().as_secs() < 20,
        "the hook was killed at its timeout"
    );
}

#[test]
fn poststart_and_poststop_failures_are_warnings() {
    let mut c = Ctx::new("hk-post");
    c.config["hooks"] =
        json!({"poststart": [{"path": "/bin/false"}], "poststop": [{"path": "/bin/false"}]});
    c.set_args(&["true"]);
    let out = c.run();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("level=warning") && stderr(&out).contains("poststart hook"),
        "{}",
        stderr(&out)
    );
    c.assert_clean();
}

#[test]
fn a_hook_that_ignores_its_stdin_does_not_break_brig() {
    let mut c = Ctx::new("hk-stdin");
    // A state larger than a pipe buffer: writing it to a hook that exits at once gets EPIPE.
    c.config["annotations"] = json!({"big": "x".repeat(200_000)});
    c.config["hooks"] = json!({"createRuntime": [{"path": "/bin/true"}], "createContainer": [{"path": "/bin/true"}]});
    c.set_args(&["true"]);
    let out = c.run();
    assert!(out.status.success(), "{}", stderr(&out));
    c.assert_clean();
}

#[test]
fn a_relative_hook_path_is_refused() {
    let mut c = Ctx::new("hk-relative");
    c.config["hooks"] = json!({"poststop": [{"path": "bin/true"}]});
    c.expect_create_error("hooks.poststop[0].path");
}

/// As runc: a hook without `env` runs with the runtime's environment, one with `env` (even
/// empty) with exactly that; the hooks brig runs on the host start in the bundle.
///
/// Checked against a broken brig: with the environment always cleared and the caller's
/// directory kept (as before), BRIG_HOOK_TEST was missing and pwd was the caller's; the
/// test failed.
#[test]
fn hooks_get_runcs_environment_and_the_bundle_as_cwd() {
    let mut c = Ctx::new("hk-env");
    let out_dir = c.base.join("hooks");
    std::fs::create_dir_all(&out_dir).unwrap();
    let record = |name: &str| {
        format!(
            "echo \"${{BRIG_HOOK_TEST:-unset}} $(pwd)\" > {}/{name}",
            out_dir.display()
        )
    };
    c.config["hooks"] = json!({
        "createRuntime": [
            {"path": "/bin/sh", "args": ["sh", "-c", record("inherited")]},
            {"path": "/bin/sh", "args": ["sh", "-c", record("given")], "env": ["PATH=/bin"]},
        ],
        "poststop": [{"path": "/bin/sh", "args": ["sh", "-c", record("poststop")]}],
    });
    c.set_args(&["true"]);
    c.write_config();
    let out = c
        .cmd()
        .env("BRIG_HOOK_TEST", "from-brig")
        .current_dir("/")
        .args(["run", "--bundle"])
        .arg(&c.bundle)
        .arg(&c.id)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let read = |name: &str| std::fs::read_to_string(out_dir.join(name)).unwrap();
    let bundle = c.bundle.display().to_string();
    assert_eq!(read("inherited"), format!("from-brig {bundle}\n"));
    assert_eq!(read("given"), format!("unset {bundle}\n"));
    assert_eq!(read("poststop"), format!("from-brig {bundle}\n"));
    c.assert_clean();
}

/// A hook that leaves a child running in the background, holding the hook's stderr: brig
/// reads what the hook wrote and goes on once the hook itself has exited, instead of
/// waiting for the child to let go of the pipe.
///
/// Checked against a broken brig: reading stderr to its end (`wait_with_output`, as
/// before), `run` took the child's 20 s and the test failed.
#[test]
fn a_hook_that_leaves_a_child_does_not_hold_up_the_container() {
    for (end, ok) in [("echo started", true), ("echo refused >&2; exit 3", false)] {
        let mut c = Ctx::new("hk-child");
        let child = c.base.join("child.pid");
        let script = format!("sleep 20 & echo $! > {}; {end}", child.display());
        c.config["hooks"] =
            json!({"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", script]}]});
        c.set_args(&["true"]);
        let started = std::time::Instant::now();
        let out = c.run();
        let took = started.elapsed();
        if let Ok(pid) = std::fs::read_to_string(&child) {
            let _ = std::process::Command::new("kill").arg(pid.trim()).status();
        }
        assert_eq!(out.status.success(), ok, "{}", stderr(&out));
        if !ok {
            assert!(stderr(&out).contains("refused"), "{}", stderr(&out));
        }
        assert!(
            took < std::time::Duration::from_secs(10),
            "run waited for the hook's child: {took:?}"
        );
        c.assert_clean();
    }
}

/// As runc: a createContainer hook works in the container's rootfs (it runs in the
/// container's mount namespace, before pivot_root); with noNewPrivileges the seccomp
/// filter is in place before the startContainer hooks run, which inherit it.
///
/// Checked against a broken brig: with the init's cwd kept for createContainer and the
/// filter loaded right before execve (as before), the hook saw the caller's directory and
/// startContainer reported "Seccomp: 0"; the test failed.
#[test]
fn container_hooks_run_in_the_rootfs_and_under_seccomp_as_runc() {
    let mut c = Ctx::new("hk-order");
    let host = c.base.join("hooks");
    std::fs::create_dir_all(&host).unwrap();
    let h = host.to_str().unwrap().to_string();
    c.config["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"destination": "/mnt", "type": "bind", "source": h, "options": ["bind"]}));
    c.config["process"]["noNewPrivileges"] = json!(true);
    c.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["kexec_load"], "action": "SCMP_ACT_ERRNO"}]});
    c.config["hooks"] = json!({
        "createContainer": [{"path": "/bin/sh", "args": ["sh", "-c", format!("pwd > {h}/cwd")]}],
        "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c",
            "grep Seccomp: /proc/self/status > /mnt/seccomp"]}],
    });
    c.set_args(&["true"]);
    let out = c.run();
    assert!(out.status.success(), "{}", stderr(&out));
    let cwd = std::fs::read_to_string(host.join("cwd")).unwrap();
    assert_eq!(cwd.trim(), fixture_rootfs().to_str().unwrap());
    let seccomp = std::fs::read_to_string(host.join("seccomp")).unwrap();
    assert_eq!(seccomp.split_whitespace().nth(1), Some("2"), "{seccomp}");
    c.assert_clean();
}
