//! The command line surface: runc's flag spellings, version, spec, features.

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;

#[test]
fn version_names_the_runtime_and_the_spec() {
    let out = std::process::Command::new(BRIG)
        .arg("--version")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(text.starts_with("brig version "), "{text}");
    assert!(text.contains("\nspec: 1.2.0\n"), "{text}");
    assert!(text.contains("\ncommit: "), "{text}");
}

#[test]
fn every_spelling_of_a_flag_is_accepted() {
    let c = Ctx::new("cli-forms");
    let root = c.root.to_str().unwrap().to_string();
    for args in [
        vec!["--root".to_string(), root.clone(), "list".into()],
        vec![format!("--root={root}"), "list".into()],
        vec!["-root".into(), root.clone(), "list".into()],
        vec![format!("-root={root}"), "list".into()],
        vec![
            "--root".into(),
            root.clone(),
            "--debug=false".into(),
            "list".into(),
            "-format=json".into(),
        ],
    ] {
        let out = std::process::Command::new(BRIG)
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
    let out = std::process::Command::new(BRIG)
        .args(["--criu", "/usr/sbin/criu", "--root", &root, "list"])
        .output()
        .unwrap();
    assert!(out.status.success(), "--criu is accepted: {}", stderr(&out));
}

/// urfave/cli takes a flag given twice, the last value winning; podman 4.3 passes
/// `checkpoint --leave-running --leave-running`.
#[test]
fn a_flag_given_twice_takes_its_last_value_as_runc_does() {
    let mut c = Ctx::new("cli-twice");
    c.set_args(&["sleep", "100"]);
    c.create_ok();
    let out = std::process::Command::new(BRIG)
        .args(["--root", "/tmp/brig-it/none", "--root"])
        .arg(&c.root)
        .args(["state", &c.id])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the last --root wins: {}",
        stderr(&out)
    );
    let out = c.brig(&[
        "checkpoint",
        "--leave-running",
        "--leave-running",
        "no-such-id",
    ]);
    assert!(
        stderr(&out).contains("container does not exist"),
        "{}",
        stderr(&out)
    );
    let out = c.brig(&["delete", "--force", "--force", &c.id]);
    assert!(out.status.success(), "{}", stderr(&out));
    c.assert_clean();
}

#[test]
fn spec_writes_a_config_brig_accepts_and_refuses_to_overwrite() {
    let c = Ctx::new("cli-spec");
    let config: Value =
        serde_json::from_slice(&std::fs::read(c.bundle.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["process"]["args"][0], "sh");
    assert_eq!(config["root"]["path"], "rootfs");
    let out = std::process::Command::new(BRIG)
        .args(["spec", "-b"])
        .arg(&c.bundle)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("exists"), "{}", stderr(&out));
    let rootless = c.base.join("rootless");
    std::fs::create_dir_all(&rootless).unwrap();
    assert!(std::process::Command::new(BRIG)
        .args(["spec", "--rootless", "--bundle"])
        .arg(&rootless)
        .status()
        .unwrap()
        .success());
    let r: Value =
        serde_json::from_slice(&std::fs::read(rootless.join("config.json")).unwrap()).unwrap();
    assert!(r["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["type"] == "user"));
    assert_eq!(r["linux"]["uidMappings"][0]["hostID"], 0);
}

/// Checked against a broken brig: with the memoryPolicy entry gone from
/// `commands::features`, the test failed.
#[test]
fn features_reports_what_brig_does() {
    let out = std::process::Command::new(BRIG)
        .arg("features")
        .output()
        .unwrap();
    assert!(out.status.success());
    let f: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(f["ociVersionMin"], "1.0.0");
    assert_eq!(f["ociVersionMax"], "1.2.0");
    let opts: Vec<&str> = f["mountOptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(opts.contains(&"rro") && opts.contains(&"rbind") && opts.contains(&"nosymfollow"));
    // Every recursive attribute and both idmap options work (tests/rootfs.rs).
    for name in [
        "rro",
        "rrw",
        "rnosuid",
        "rsuid",
        "rnodev",
        "rdev",
        "rnoexec",
        "rexec",
        "rnosymfollow",
        "rsymfollow",
        "rnoatime",
        "ratime",
        "rrelatime",
        "rnorelatime",
        "rnodiratime",
        "rdiratime",
        "rstrictatime",
        "idmap",
        "ridmap",
        "tmpcopyup",
    ] {
        assert!(opts.contains(&name), "mountOptions lacks {name}");
    }
    assert_eq!(f["linux"]["mountExtensions"]["idmap"]["enabled"], true);
    // intelRdt where resctrl is mounted (refused elsewhere: tests/bad_input.rs).
    let resctrl = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| {
            l.split(" - ")
                .nth(1)
                .is_some_and(|t| t.starts_with("resctrl "))
        });
    assert_eq!(f["linux"]["intelRdt"]["enabled"], resctrl);
    assert_eq!(f["linux"]["intelRdt"]["schemata"], resctrl);
    assert_eq!(f["linux"]["netDevices"]["enabled"], true);
    // linux.memoryPolicy (runc 1.3): every mode and flag of set_mempolicy(2) that
    // `init::attrs::memory_policy` takes (tests/process.rs runs one).
    assert_eq!(
        f["linux"]["memoryPolicy"],
        serde_json::json!({
            "modes": ["MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
                "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL"],
            "flags": ["MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"]
        })
    );
    assert!(f["linux"]["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c == "CAP_CHECKPOINT_RESTORE"));
    assert_eq!(f["linux"]["seccomp"]["enabled"], true);
    let actions = f["linux"]["seccomp"]["actions"].as_array().unwrap();
    assert!(
        actions.contains(&serde_json::json!("SCMP_ACT_NOTIFY")),
        "NOTIFY goes to the agent at listenerPath (tests/seccomp.rs checks every entry)"
    );
    assert_eq!(f["hooks"].as_array().unwrap().len(), 6);
}

#[test]
fn list_of_an_empty_root() {
    let c = Ctx::new("cli-list-empty");
    assert_eq!(
        stdout(&c.brig(&["list", "--format", "json"])).trim(),
        "null"
    );
    assert_eq!(stdout(&c.brig(&["list"])).lines().count(), 1);
}

/// Help in runc's layout (urfave/cli's sections), every command and flag listed as parsed;
/// `foo -h` answers as runc ("No help topic", exit 3); the program answers to the name it
/// was run as, so a `runc` symlink to brig prints `runc version …`.
///
/// Checked against a broken brig: with clap's own help (as before), `--help` had no
/// `GLOBAL OPTIONS:` and `foo -h` exited 1 ("unrecognized subcommand"); the test failed.
#[test]
fn help_and_version_in_runcs_layout_under_the_name_run_as() {
    let run = |args: &[&str]| Command::new(BRIG).args(args).output().unwrap();
    let out = run(&["--help"]);
    assert!(out.status.success());
    let text = stdout(&out);
    for section in [
        "NAME:\n",
        "USAGE:\n",
        "VERSION:\n",
        "COMMANDS:\n",
        "GLOBAL OPTIONS:\n",
    ] {
        assert!(text.contains(section), "{section}: {text}");
    }
    for command in [
        "create", "run", "exec", "kill", "delete", "update", "help, h",
    ] {
        assert!(
            text.contains(&format!("\n   {command} ")),
            "{command}: {text}"
        );
    }
    for flag in [
        "--root value",
        "--log-format value",
        "--systemd-cgroup",
        "--version, -v",
    ] {
        assert!(text.contains(flag), "{flag}: {text}");
    }
    for args in [
        &["create", "--help"][..],
        &["help", "create"][..],
        &["create", "-h"][..],
    ] {
        let out = run(args);
        assert!(out.status.success(), "{args:?}");
        let text = stdout(&out);
        assert!(text.starts_with("NAME:\n   brig create - "), "{text}");
        for flag in [
            "--bundle value, -b value",
            "--console-socket value",
            "--no-pivot",
            "--preserve-fds value",
        ] {
            assert!(text.contains(flag), "{args:?} {flag}: {text}");
        }
    }
    let out = run(&["foo", "-h"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("No help topic for 'foo'"),
        "{}",
        stderr(&out)
    );

    let dir = std::env::temp_dir().join(format!("brig-cli-name-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let runc = dir.join("runc");
    let _ = std::fs::remove_file(&runc);
    std::os::unix::fs::symlink(BRIG, &runc).unwrap();
    let out = Command::new(&runc).arg("--version").output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("runc version "), "{text}");
    assert!(lines[1].starts_with("commit: "), "{text}");
    assert!(lines[2].starts_with("spec: "), "{text}");
    assert!(lines[3].starts_with("libseccomp: 2."), "{text}");
}

/// A `--log` that cannot be opened still reports, on stderr, in the format asked for:
/// containerd and conmon parse JSON lines.
#[test]
fn a_log_file_that_cannot_be_opened_is_reported_as_a_json_line() {
    let out = Command::new(BRIG)
        .args([
            "--log",
            "/nonexistent-dir/log.json",
            "--log-format",
            "json",
            "state",
            "x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line: Value = serde_json::from_str(stderr(&out).lines().last().unwrap()).unwrap();
    assert_eq!(line["level"], "error");
    assert!(
        line["msg"]
            .as_str()
            .unwrap()
            .contains("/nonexistent-dir/log.json"),
        "{line}"
    );
}
