//! Reliability: brig killed at every numbered step of create, run, start, exec and delete
//! (BRIG_CRASH_AT, see src/crash.rs), a caller that dies mid-create, and concurrent
//! operations on one root and on one container.

mod common;

use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::{stderr, Ctx};
use serde_json::Value;

/// The crash points passed, per command, so the run reports what it exercised.
fn crash(ctx: &Ctx, command: &str, n: u32, args: &[&str]) -> Option<Output> {
    ctx.write_config();
    // Not a pipe: a container that survives would hold it open.
    let err_path = ctx.base.join("crash.err");
    let status = ctx
        .cmd()
        .env("BRIG_CRASH_AT", format!("{command}:{n}"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .status()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    match status.signal() {
        Some(9) => None,
        _ => Some(Output {
            status,
            stdout: Vec::new(),
            stderr: std::fs::read(&err_path).unwrap_or_default(),
        }),
    }
}

/// The processes still in the container's cgroup (in any hierarchy).
fn cgroup_procs(ctx: &Ctx) -> Vec<String> {
    let mut pids: Vec<String> = ctx
        .cgroup_dirs()
        .iter()
        .filter_map(|d| std::fs::read_to_string(d.join("cgroup.procs")).ok())
        .flat_map(|s| s.lines().map(str::to_string).collect::<Vec<_>>())
        .collect();
    pids.sort();
    pids.dedup();
    pids
}

/// `state` after a crash: a status a caller can act on, or "does not exist". "creating"
/// lasts only while a half-made init, which inherited the lock, is still exiting.
fn state_after_crash(ctx: &Ctx, what: &str) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut out = ctx.brig(&["state", &ctx.id]);
    while out.status.success()
        && serde_json::from_slice::<Value>(&out.stdout).is_ok_and(|v| v["status"] == "creating")
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
        out = ctx.brig(&["state", &ctx.id]);
    }
    if !out.status.success() {
        assert!(
            stderr(&out).contains("does not exist"),
            "{what}: state failed unclearly: {}",
            stderr(&out)
        );
        return None;
    }
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{what}: state is not JSON ({e})"));
    let status = v["status"].as_str().unwrap().to_string();
    assert!(
        ["created", "running", "stopped"].contains(&status.as_str()),
        "{what}: status {status:?} after the crash"
    );
    Some(status)
}

/// A create killed before it finished must not leave its init running: it dies with its
/// creator (bounded wait; it is already exiting).
fn assert_init_gone(ctx: &Ctx, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cgroup_procs(ctx).is_empty() {
        assert!(
            Instant::now() < deadline,
            "{what}: processes outlived their creator: {:?}",
            cgroup_procs(ctx)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let procs = Command::new("pgrep")
        .args(["-f", &format!("--bundle {}", ctx.bundle.display())])
        .output()
        .unwrap();
    assert!(
        procs.stdout.is_empty(),
        "{what}: a half-made init outlived its creator"
    );
}

/// After a crash: delete --force clears everything and the id can be used again.
fn recover(ctx: &Ctx, what: &str) {
    let out = ctx.brig(&["delete", "--force", &ctx.id]);
    assert!(
        out.status.success(),
        "{what}: delete --force: {}",
        stderr(&out)
    );
    ctx.assert_clean();
    let out = ctx.create();
    assert!(
        out.status.success(),
        "{what}: create again: {}",
        stderr(&out)
    );
    assert_eq!(ctx.state()["status"], "created", "{what}");
    let out = ctx.brig(&["delete", "--force", &ctx.id]);
    assert!(out.status.success(), "{what}: delete: {}", stderr(&out));
    ctx.assert_clean();
}

/// Crash `command` at step 1, 2, ... until it runs to the end; returns the steps crashed.
fn crash_each_step(
    name: &str,
    command: &str,
    args: fn(&Ctx) -> Vec<String>,
    before: fn(&Ctx),
    check: fn(&Ctx, &str, Option<&str>),
) -> u32 {
    let mut ctx = Ctx::new(name);
    ctx.set_args(&["probe", "--no-report", "--sleep", "60"]);
    for n in 1.. {
        before(&ctx);
        let argv = args(&ctx);
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let what = format!("{command} crashed at step {n}");
        match crash(&ctx, command, n, &argv) {
            None => {
                let status = state_after_crash(&ctx, &what);
                check(&ctx, &what, status.as_deref());
                recover(&ctx, &what);
            }
            Some(out) => {
                assert!(
                    out.status.success(),
                    "{command} with no crash point left failed: {}",
                    stderr(&out)
                );
                let out = ctx.brig(&["delete", "--force", &ctx.id]);
                assert!(out.status.success());
                ctx.assert_clean();
                assert!(n > 2, "{command}: only {} crash points", n - 1);
                eprintln!("{command}: {} crash points exercised", n - 1);
                return n - 1;
            }
        }
    }
    unreachable!()
}

fn nothing(_: &Ctx) {}

fn create_it(ctx: &Ctx) {
    ctx.create_ok();
}

fn run_it(ctx: &Ctx) {
    create_it(ctx);
    let out = ctx.brig(&["start", &ctx.id]);
    assert!(out.status.success(), "start: {}", stderr(&out));
}

fn bundle_args(ctx: &Ctx, cmd: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
    v.push("--bundle".into());
    v.push(ctx.bundle.display().to_string());
    v.push(ctx.id.clone());
    v
}

/// A create that did not finish leaves no running init; one that did leaves a container.
fn check_create(ctx: &Ctx, what: &str, status: Option<&str>) {
    match status {
        Some("created") | Some("running") => {}
        _ => assert_init_gone(ctx, what),
    }
}

fn no_check(_: &Ctx, _: &str, _: Option<&str>) {}

#[test]
fn create_killed_at_every_step() {
    let n = crash_each_step(
        "crash-create",
        "create",
        |c| bundle_args(c, &["create"]),
        nothing,
        check_create,
    );
    assert!(n >= 8, "create has {n} crash points");
}

#[test]
fn run_killed_at_every_step() {
    crash_each_step(
        "crash-run",
        "run",
        |c| bundle_args(c, &["run", "-d"]),
        nothing,
        check_create,
    );
}

#[test]
fn start_killed_at_every_step() {
    crash_each_step(
        "crash-start",
        "start",
        |c| vec!["start".into(), c.id.clone()],
        create_it,
        no_check,
    );
}

#[test]
fn exec_killed_at_every_step() {
    crash_each_step(
        "crash-exec",
        "exec",
        |c| vec!["exec".into(), c.id.clone(), "true".into()],
        run_it,
        |ctx, what, status| {
            // The container itself is untouched by a dying exec.
            assert_eq!(status, Some("running"), "{what}");
            // The exec'd process goes with its caller: only the init is left.
            let deadline = Instant::now() + Duration::from_secs(10);
            while cgroup_procs(ctx).len() > 1 {
                assert!(Instant::now() < deadline, "{what}: exec process left");
                std::thread::sleep(Duration::from_millis(20));
            }
        },
    );
}

#[test]
fn delete_killed_at_every_step() {
    crash_each_step(
        "crash-delete",
        "delete",
        |c| vec!["delete".into(), "--force".into(), c.id.clone()],
        run_it,
        no_check,
    );
}

/// The creator (`brig create`) SIGKILLed while its init is still being set up: here a
/// createRuntime hook holds create up, and the caller is killed meanwhile.
#[test]
fn a_lost_caller_takes_the_half_made_container_with_it() {
    let mut ctx = Ctx::new("lost-caller");
    let marker = ctx.base.join("hook-ran");
    ctx.config["hooks"] = serde_json::json!({
        "createRuntime": [{"path": "/bin/sh",
            "args": ["sh", "-c", format!(
                "touch {m}; while [ -e {m} ]; do sleep 0.05; done", m = marker.display())]}]
    });
    ctx.set_args(&["probe", "--no-report", "--sleep", "60"]);
    ctx.write_config();
    let mut child = ctx
        .cmd()
        .args(bundle_args(&ctx, &["create"]))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "the hook never ran");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!cgroup_procs(&ctx).is_empty(), "the init should be waiting");
    child.kill().unwrap();
    child.wait().unwrap();
    // The hook is the killed creator's child; it goes when its own sleep ends or is killed
    // with the container's processes, but the init must not stay.
    assert_init_gone(&ctx, "create killed during createRuntime");
    let status = state_after_crash(&ctx, "lost caller");
    assert_ne!(status.as_deref(), Some("created"));
    // The orphaned hook ends when its marker goes.
    std::fs::remove_file(&marker).unwrap();
    ctx.config["hooks"] = serde_json::json!({});
    recover(&ctx, "lost caller");
}

/// 50 containers through create, start, state, kill, delete at once in one root, with a
/// reader listing the root meanwhile: no errors, no torn state, nothing left.
#[test]
fn fifty_parallel_lifecycles_in_one_root() {
    const N: usize = 50;
    let first = Ctx::new("par");
    let root = first.root.clone();
    let mut ctxs: Vec<Ctx> = (0..N)
        .map(|_| {
            let mut c = Ctx::new("par");
            c.root = root.clone();
            c
        })
        .collect();
    ctxs.push(first);
    for c in &mut ctxs {
        c.set_args(&["probe", "--no-report", "--sleep", "60"]);
    }
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (root, done) = (root.clone(), done.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let out = Command::new(common::BRIG)
                    .arg("--root")
                    .arg(&root)
                    .args(["list", "--format", "json"])
                    .output()
                    .unwrap();
                assert!(out.status.success(), "list: {}", stderr(&out));
                let v: Value = serde_json::from_slice(&out.stdout)
                    .unwrap_or_else(|e| panic!("list output torn ({e})"));
                assert!(v.is_array() || v.is_null());
                reads += 1;
            }
            reads
        })
    };
    let barrier = Arc::new(Barrier::new(ctxs.len()));
    std::thread::scope(|s| {
        for c in &ctxs {
            let barrier = barrier.clone();
            s.spawn(move || {
                barrier.wait();
                let out = c.create();
                assert!(out.status.success(), "create {}: {}", c.id, stderr(&out));
                for step in [
                    &["start", &c.id][..],
                    &["state", &c.id],
                    &["kill", &c.id, "KILL"],
                ] {
                    let out = c.brig(step);
                    assert!(
                        out.status.success(),
                        "{step:?}: {}; state {}; container stderr: {}",
                        stderr(&out),
                        String::from_utf8_lossy(&c.brig(&["state", &c.id]).stdout),
                        std::fs::read_to_string(c.base.join("container.err")).unwrap_or_default()
                    );
                }
                c.wait_status("stopped");
                let out = c.brig(&["delete", &c.id]);
                assert!(out.status.success(), "delete {}: {}", c.id, stderr(&out));
                c.assert_clean();
            });
        }
    });
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let reads = reader.join().unwrap();
    eprintln!(
        "{} parallel lifecycles, {reads} lists read meanwhile",
        ctxs.len()
    );
    let left: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n != "~staging")
        .collect();
    assert!(left.is_empty(), "left in the root: {left:?}");
}

/// Run the given brig commands at the same moment; their outputs in order.
fn race(ctx: &Ctx, commands: &[&[&str]]) -> Vec<Output> {
    let barrier = Arc::new(Barrier::new(commands.len()));
    std::thread::scope(|s| {
        let handles: Vec<_> = commands
            .iter()
            .map(|args| {
                let barrier = barrier.clone();
                s.spawn(move || {
                    barrier.wait();
                    ctx.brig(args)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn winners(outs: &[Output]) -> usize {
    outs.iter().filter(|o| o.status.success()).count()
}

#[test]
fn two_starts_one_winner() {
    let mut ctx = Ctx::new("two-starts");
    ctx.set_args(&["probe", "--no-report", "--sleep", "60"]);
    for _ in 0..5 {
        create_it(&ctx);
        let outs = race(&ctx, &[&["start", &ctx.id], &["start", &ctx.id]]);
        assert_eq!(winners(&outs), 1, "exactly one start wins");
        let loser = outs.iter().find(|o| !o.status.success()).unwrap();
        assert!(
            stderr(loser).contains("already running"),
            "clear error for the loser: {}",
            stderr(loser)
        );
        assert_eq!(ctx.state()["status"], "running");
        assert!(ctx.brig(&["delete", "--force", &ctx.id]).status.success());
        ctx.assert_clean();
    }
}

#[test]
fn delete_while_start_one_winner() {
    let mut ctx = Ctx::new("delete-start");
    ctx.set_args(&["probe", "--no-report", "--sleep", "60"]);
    for _ in 0..5 {
        create_it(&ctx);
        let outs = race(&ctx, &[&["start", &ctx.id], &["delete", &ctx.id]]);
        assert_eq!(winners(&outs), 1, "exactly one of start and delete wins");
        if outs[0].status.success() {
            assert!(
                stderr(&outs[1]).contains("not stopped"),
                "{}",
                stderr(&outs[1])
            );
            assert_eq!(ctx.state()["status"], "running");
        } else {
            assert!(
                stderr(&outs[0]).contains("does not exist"),
                "{}",
                stderr(&outs[0])
            );
        }
        assert!(ctx.brig(&["delete", "--force", &ctx.id]).status.success());
        ctx.assert_clean();
    }
}

#[test]
fn kill_while_delete_force() {
    let mut ctx = Ctx::new("kill-delete");
    ctx.set_args(&["probe", "--no-report", "--sleep", "60"]);
    for _ in 0..5 {
        run_it(&ctx);
        let outs = race(
            &ctx,
            &[&["kill", &ctx.id, "KILL"], &["delete", "--force", &ctx.id]],
        );
        assert!(
            outs[1].status.success(),
            "delete --force: {}",
            stderr(&outs[1])
        );
        if !outs[0].status.success() {
            let e = stderr(&outs[0]);
            assert!(
                e.contains("does not exist") || e.contains("not running"),
                "clear error for kill: {e}"
            );
        }
        ctx.assert_clean();
    }
}

/// A create SIGKILLed before its rename leaves only a staging entry, swept by the next
/// create; the id itself never half exists.
#[test]
fn staging_debris_is_swept() {
    let ctx = Ctx::new("staging");
    let staging = ctx.root.join("~staging");
    // Named after a creator that is gone (pids stop well below i32::MAX).
    std::fs::create_dir_all(staging.join(format!("{}~2147483000", ctx.id))).unwrap();
    create_it(&ctx);
    assert!(
        std::fs::read_dir(&staging).unwrap().next().is_none(),
        "debris swept"
    );
    assert!(ctx.brig(&["delete", "--force", &ctx.id]).status.success());
    ctx.assert_clean();
}

/// What is left under an id without a readable state (an empty directory, a state.json
/// that is a symlink, one that is not JSON, an id that is a symlink) never takes the id
/// for good: `state` says what is wrong without following the symlink, `delete --force`
/// clears it, and the id can be created again.
///
/// Checked against a broken brig: `delete --force` returned 0 and left the empty
/// directory, and `create` then said "already exists"; the test failed.
#[test]
fn delete_force_clears_an_id_whose_state_is_unreadable() {
    type Plant = fn(&std::path::Path, &std::path::Path);
    let cases: [(&str, Plant, &str); 4] = [
        (
            "empty",
            |dir, _| std::fs::create_dir_all(dir).unwrap(),
            "does not exist",
        ),
        (
            "symlinked",
            |dir, _| {
                std::fs::create_dir_all(dir).unwrap();
                std::os::unix::fs::symlink("/etc/hostname", dir.join("state.json")).unwrap();
            },
            "corrupt state: a symlink",
        ),
        (
            "garbage",
            |dir, _| {
                std::fs::create_dir_all(dir).unwrap();
                std::fs::write(dir.join("state.json"), "{not json").unwrap();
            },
            "corrupt state",
        ),
        (
            "id-symlink",
            |dir, base| {
                std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
                std::os::unix::fs::symlink(base, dir).unwrap();
            },
            "",
        ),
    ];
    for (name, plant, says) in cases {
        let c = Ctx::new("rel-debris");
        let dir = c.root.join(&c.id);
        plant(&dir, &c.base);
        let out = c.brig(&["state", &c.id]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        assert!(stderr(&out).contains(says), "{name}: {}", stderr(&out));
        let out = c.brig(&["delete", "--force", &c.id]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        assert!(
            std::fs::symlink_metadata(&dir).is_err(),
            "{name}: {} is still there",
            dir.display()
        );
        assert!(c.base.exists(), "{name}: delete followed the symlink");
        c.create_ok();
        let out = c.brig(&["delete", "--force", &c.id]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        c.assert_clean();
    }
}

/// A container's directory with more in it than brig put there, or one of brig's names
/// taken by a directory, is still removed whole by `delete`: brig unlinks its own files by
/// name and falls back to removing everything.
#[test]
fn delete_removes_a_state_directory_with_strangers_in_it() {
    for (name, plant) in [
        ("extra-file", "leftover.tmp"),
        ("config-is-a-directory", "config.json"),
    ] {
        let c = Ctx::new("rel-strangers");
        create_it(&c);
        let dir = c.root.join(&c.id);
        let path = dir.join(plant);
        if plant == "config.json" {
            // The name an older brig kept the config under (state.json holds it now).
            std::fs::create_dir_all(path.join("inside")).unwrap();
        } else {
            std::fs::write(&path, "x").unwrap();
        }
        let out = c.brig(&["delete", "--force", &c.id]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert!(!dir.exists(), "{name}: {} is still there", dir.display());
        c.assert_clean();
    }
}
