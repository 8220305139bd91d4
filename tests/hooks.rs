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
