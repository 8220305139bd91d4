//! The same lifecycle driven with Debian's runc and with brig: same state shape, same
//! statuses, same exit codes. Skipped (with a message) where runc is not installed.

mod common;

use std::process::{Command, Stdio};

use common::*;
use serde_json::Value;

fn runc() -> Option<&'static str> {
    ["/usr/sbin/runc", "/usr/bin/runc"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
}

/// One lifecycle: (step, exit code, status after it, sorted state keys).
fn lifecycle(binary: &str, c: &Ctx) -> Vec<(String, Option<i32>, String, Vec<String>)> {
    let run = |args: &[&str]| {
        Command::new(binary)
            .arg("--root")
            .arg(&c.root)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap()
    };
    let state = || -> (String, Vec<String>) {
        let out = run(&["state", &c.id]);
        match serde_json::from_slice::<Value>(&out.stdout) {
            Ok(v) => {
                let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
                keys.sort();
                (v["status"].as_str().unwrap_or("").to_string(), keys)
            }
            Err(_) => ("none".into(), vec![]),
        }
    };
    let mut steps = Vec::new();
    let mut record = |name: &str, code: Option<i32>| {
        let (status, keys) = state();
        steps.push((name.to_string(), code, status, keys));
    };
    let create = Command::new(binary)
        .arg("--root")
        .arg(&c.root)
        .args(["create", "--bundle"])
        .arg(&c.bundle)
        .arg(&c.id)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    record("create", create.code());
    record("start", run(&["start", &c.id]).status.code());
    record("start again", run(&["start", &c.id]).status.code());
    record("delete running", run(&["delete", &c.id]).status.code());
    // The status is recorded once the init is gone: right after `kill` it may still be
    // exiting, under either runtime.
    let killed = run(&["kill", &c.id, "KILL"]).status.code();
    for _ in 0..300 {
        if state().0 == "stopped" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    record("kill KILL", killed);
    record("kill stopped", run(&["kill", &c.id, "TERM"]).status.code());
    record("start stopped", run(&["start", &c.id]).status.code());
    record("delete", run(&["delete", &c.id]).status.code());
    record("delete unknown", run(&["delete", &c.id]).status.code());
    record(
        "delete --force unknown",
        run(&["delete", "--force", &c.id]).status.code(),
    );
    record("state unknown", run(&["state", &c.id]).status.code());
    steps
}

#[test]
fn brig_and_runc_agree_on_the_lifecycle() {
    let Some(runc) = runc() else {
        eprintln!("runc is not installed: comparison skipped");
        return;
    };
    let mut b = Ctx::new("compat-brig");
    b.set_args(&["sleep", "30"]);
    b.write_config();
    let mut r = Ctx::new("compat-runc");
    r.set_args(&["sleep", "30"]);
    // runc 1.1.5 knows the runtime-spec up to 1.0.2.
    r.config["ociVersion"] = serde_json::json!("1.0.2-dev");
    r.write_config();
    let with_brig = lifecycle(BRIG, &b);
    let with_runc = lifecycle(runc, &r);
    assert_eq!(with_brig, with_runc);
    b.assert_clean();
    r.assert_clean();
}

/// `brig spec` and `brig spec --rootless` write runc's default configs field for field;
/// only `hostname` and `ociVersion` may differ. (Compared with the installed runc's own
/// `spec`, as JSON values: key order and whitespace aside.)
#[test]
fn spec_writes_runcs_default_config() {
    let Some(runc) = runc() else {
        eprintln!("runc is not installed: skipped");
        return;
    };
    let c = Ctx::new("compat-spec");
    for flags in [&[][..], &["--rootless"][..]] {
        let config = |binary: &str, name: &str| -> Value {
            let dir = c.base.join(format!("{name}{}", flags.len()));
            std::fs::create_dir_all(&dir).unwrap();
            let out = Command::new(binary)
                .arg("spec")
                .args(flags)
                .arg("--bundle")
                .arg(&dir)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{binary} spec {flags:?}: {}",
                stderr(&out)
            );
            let mut v: Value =
                serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
            let obj = v.as_object_mut().unwrap();
            obj.remove("hostname");
            obj.remove("ociVersion");
            v
        };
        assert_eq!(
            config(BRIG, "brig"),
            config(runc, "runc"),
            "spec {flags:?} differs from runc's"
        );
    }
}
