//! create / start / state / kill / delete / run, as containerd and a user drive them.

mod common;

use common::*;
use serde_json::Value;

#[test]
fn create_waits_for_start_then_runs_the_process() {
    let mut c = Ctx::new("lc-create");
    c.set_args(&["probe", "--sleep", "30"]);
    let pid_file = c.base.join("pid");
    c.write_config();
    // The container inherits create's stdio: files, not pipes, or reading them would wait
    // for the container to exit.
    let status = c
        .cmd()
        .args(["create", "--pid-file"])
        .arg(&pid_file)
        .arg("--bundle")
        .arg(&c.bundle)
        .arg(&c.id)
        .stdout(std::fs::File::create(c.base.join("container.out")).unwrap())
        .stderr(std::fs::File::create(c.base.join("container.err")).unwrap())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(c.base.join("container.err")).unwrap()
    );

    let state = c.state();
    assert_eq!(state["status"], "created");
    let pid = state["pid"].as_i64().unwrap();
    let pid_bytes = std::fs::read(&pid_file).unwrap();
    assert_eq!(
        pid_bytes,
        pid.to_string().as_bytes(),
        "pid file holds the pid with no newline"
    );
    // The process has not run yet: nothing printed.
    assert_eq!(c.container_stdout(), "");

    let exe = || std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    assert!(
        !exe().ends_with("probe"),
        "before start the init is still brig"
    );
    assert!(c.brig(&["start", &c.id]).status.success());
    assert!(
        exe().ends_with("bin/probe"),
        "start returns once the process runs: {:?}",
        exe()
    );
    assert_eq!(c.state()["status"], "running");
    for _ in 0..500 {
        if !c.container_stdout().is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let report: Value = serde_json::from_str(c.container_stdout().trim()).unwrap();
    assert_eq!(report["pid"], 1, "the process is PID 1 of its namespace");

    let again = c.brig(&["start", &c.id]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("cannot start an already running container"),
        "{}",
        stderr(&again)
    );

    let del = c.brig(&["delete", &c.id]);
    assert!(
        !del.status.success(),
        "plain delete of a running container fails"
    );
    assert!(
        stderr(&del).contains("not stopped: running"),
        "{}",
        stderr(&del)
    );

    assert!(c.brig(&["kill", &c.id, "KILL"]).status.success());
    c.wait_status("stopped");
    let stopped = c.state();
    assert_eq!(stopped["pid"], 0);
    let kill_stopped = c.brig(&["kill", &c.id, "9"]);
    assert!(!kill_stopped.status.success());
    assert!(stderr(&kill_stopped).contains("container not running"));

    assert!(c.brig(&["delete", &c.id]).status.success());
    c.assert_clean();
}

#[test]
fn state_json_has_runcs_shape() {
    let mut c = Ctx::new("lc-shape");
    c.set_args(&["sleep", "30"]);
    c.config["annotations"] = serde_json::json!({"org.example.key": "v"});
    assert!(c.create().status.success());
    let state = c.state();
    // The keys of `runc state` (runc 1.1.5), annotations aside.
    let mut keys: Vec<&str> = state
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .filter(|k| *k != "annotations")
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "bundle",
            "created",
            "id",
            "ociVersion",
            "owner",
            "pid",
            "rootfs",
            "status"
        ]
    );
    assert_eq!(state["annotations"]["org.example.key"], "v");
    assert_eq!(state["bundle"], c.bundle.to_str().unwrap());
    assert_eq!(state["id"], c.id.as_str());
    let created = state["created"].as_str().unwrap();
    assert!(created.ends_with('Z') && created.contains('T'), "{created}");
    assert!(c.brig(&["delete", "--force", &c.id]).status.success());
    c.assert_clean();
}

#[test]
fn deleting_a_created_container_kills_its_init() {
    let c = Ctx::new("lc-del-created");
    assert!(c.create().status.success());
    let pid = c.state()["pid"].as_i64().unwrap();
    assert!(c.brig(&["delete", &c.id]).status.success());
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}/cgroup")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(") Z")
    );
    c.assert_clean();
}

#[test]
fn run_returns_the_exit_code() {
    let mut c = Ctx::new("lc-exit");
    c.set_args(&["probe", "--no-report", "--exit", "7"]);
    assert_eq!(c.run().status.code(), Some(7));
    c.assert_clean();
}

#[test]
fn run_reports_a_killed_process_as_128_plus_signal() {
    let mut c = Ctx::new("lc-signal");
    // PID 1 of a pid namespace cannot SIGKILL itself: the signal comes from the host.
    c.set_args(&["sh", "-c", "echo ready; exec sleep 30"]);
    let mut child = c.spawn_until_ready();
    assert!(c.brig(&["kill", &c.id, "SIGKILL"]).status.success());
    assert_eq!(child.wait().unwrap().code(), Some(137));
    c.assert_clean();
}

#[test]
fn run_forwards_signals_to_the_container() {
    let mut c = Ctx::new("lc-forward");
    // sh as PID 1 ignores TERM unless it traps it.
    c.set_args(&[
        "sh",
        "-c",
        "trap 'exit 42' TERM; echo ready; while true; do sleep 0.05; done",
    ]);
    let mut child = c.spawn_until_ready();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(42));
    c.assert_clean();
}

/// A foreground `run` takes its container's directory again after the process ended: if
/// that container was force-deleted meanwhile and its id taken by a new one, `run` leaves
/// the new one alone (it never looks the id up again).
#[test]
fn a_foreground_run_leaves_a_new_container_of_its_id_alone() {
    use nix::sys::signal::{kill, Signal};
    let mut c = Ctx::new("lc-runreuse");
    c.set_args(&["sh", "-c", "echo ready; exec sleep 1000"]);
    let mut run = c.spawn_until_ready();
    let brig = nix::unistd::Pid::from_raw(run.id() as i32);
    // `run` lets go of the container's lock just after the process starts: stopped before
    // that, it would hold the lock the delete waits for.
    let mut dir = std::fs::File::open(c.root.join(&c.id)).unwrap();
    for tries in 0.. {
        match nix::fcntl::Flock::lock(dir, nix::fcntl::FlockArg::LockExclusiveNonblock) {
            Ok(_free) => break,
            Err((d, _)) => dir = d,
        }
        assert!(tries < 500, "run kept the container locked");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // Held still until the id has a new owner; its process dies with the delete.
    kill(brig, Signal::SIGSTOP).unwrap();
    let stat = format!("/proc/{brig}/stat");
    for tries in 0.. {
        let text = std::fs::read_to_string(&stat).unwrap();
        if text
            .rsplit(')')
            .next()
            .unwrap()
            .trim_start()
            .starts_with('T')
        {
            break;
        }
        assert!(tries < 500, "brig run never stopped: {text}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let deleted = c.brig(&["delete", "--force", &c.id]);
    c.set_args(&["sleep", "1000"]);
    let created = c.create();
    kill(brig, Signal::SIGCONT).unwrap();
    let ended = run.wait().unwrap();
    assert!(deleted.status.success(), "{}", stderr(&deleted));
    assert!(created.status.success(), "{}", stderr(&created));
    assert!(
        !ended.success(),
        "run of a container deleted under it: {ended:?}"
    );
    assert_eq!(c.state()["status"], "created");
    c.brig_ok(&["delete", "--force", &c.id]);
    c.assert_clean();
}

/// root.path through a symlinked directory, relative to the bundle: the container runs,
/// and its state names the rootfs by its resolved path.
#[test]
fn a_rootfs_reached_through_symlinks_is_recorded_resolved() {
    let mut c = Ctx::new("lc-rootlink");
    c.set_args(&["sleep", "30"]);
    let real = std::fs::canonicalize(fixture_rootfs()).unwrap();
    std::os::unix::fs::symlink(real.parent().unwrap(), c.base.join("via")).unwrap();
    let name = real.file_name().unwrap().to_str().unwrap();
    c.config["root"]["path"] = serde_json::json!(format!("../via/{name}"));
    c.create_ok();
    assert_eq!(c.state()["rootfs"], real.to_str().unwrap());
    c.brig_ok(&["delete", "--force", &c.id]);
    c.assert_clean();
}

#[test]
fn run_detached_then_kill_and_delete() {
    let mut c = Ctx::new("lc-detach");
    c.set_args(&["sleep", "30"]);
    c.write_config();
    c.run_detached();
    assert_eq!(c.state()["status"], "running");
    let list = c.brig(&["list", "--format", "json"]);
    let list: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(list[0]["id"], c.id.as_str());
    assert_eq!(list[0]["owner"], "root");
    let table = stdout(&c.brig(&["list"]));
    assert!(table.starts_with("ID "), "{table}");
    assert!(
        table.contains(&c.id) && table.contains("running"),
        "{table}"
    );
    assert_eq!(stdout(&c.brig(&["list", "-q"])).trim(), c.id);
    assert!(
        c.brig(&["kill", &c.id]).status.success(),
        "default signal TERM"
    );
    // sleep as PID 1 ignores TERM: the container is still running.
    assert_eq!(c.state()["status"], "running");
    assert!(c.brig(&["delete", "--force", &c.id]).status.success());
    c.assert_clean();
}

#[test]
fn run_keep_leaves_a_stopped_container() {
    let mut c = Ctx::new("lc-keep");
    c.set_args(&["true"]);
    c.write_config();
    let out = c
        .cmd()
        .args(["run", "--keep", "--bundle"])
        .arg(&c.bundle)
        .arg(&c.id)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(c.state()["status"], "stopped");
    assert!(c.brig(&["delete", &c.id]).status.success());
    c.assert_clean();
}

#[test]
fn kill_all_signals_every_process() {
    let mut c = Ctx::new("lc-killall");
    c.set_args(&["sh", "-c", "sleep 30 & sleep 30 & wait"]);
    c.write_config();
    c.run_detached();
    let procs_file = format!("/sys/fs/cgroup/pids{}/cgroup.procs", c.cgroup);
    let count = || {
        std::fs::read_to_string(&procs_file)
            .unwrap()
            .lines()
            .count()
    };
    for _ in 0..500 {
        if count() >= 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(count(), 3, "sh and two sleeps");
    assert!(c.brig(&["kill", "--all", &c.id, "KILL"]).status.success());
    c.wait_status("stopped");
    assert!(c.brig(&["delete", &c.id]).status.success());
    c.assert_clean();
}

#[test]
fn stdio_passes_through_untouched() {
    let mut c = Ctx::new("lc-stdio");
    c.set_args(&["sh", "-c", "read line; echo got:$line; echo err >&2"]);
    c.write_config();
    let mut child = c
        .run_cmd()
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"hello\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(stdout(&out), "got:hello\n");
    assert_eq!(stderr(&out), "err\n");
    c.assert_clean();
}

#[test]
fn delete_force_of_an_unknown_id_succeeds_and_plain_delete_fails() {
    let c = Ctx::new("lc-unknown");
    assert!(c
        .brig(&["delete", "--force", "no-such-container"])
        .status
        .success());
    let out = c.brig(&["delete", "no-such-container"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("container does not exist"),
        "{}",
        stderr(&out)
    );
    let out = c.brig(&["state", "no-such-container"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("container does not exist"));
}

#[test]
fn a_second_create_with_the_same_id_is_refused_and_the_first_survives() {
    let mut c = Ctx::new("lc-dup");
    c.set_args(&["sleep", "30"]);
    assert!(c.create().status.success());
    let out = c
        .cmd()
        .args(["create", "--bundle"])
        .arg(&c.bundle)
        .arg(&c.id)
        .stdout(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("container with given ID already exists"),
        "{}",
        stderr(&out)
    );
    assert_eq!(c.state()["status"], "created");
    assert!(c.brig(&["delete", &c.id]).status.success());
    c.assert_clean();
}

#[test]
fn pid_reuse_is_not_mistaken_for_the_container() {
    let mut c = Ctx::new("lc-pidreuse");
    c.set_args(&["sleep", "30"]);
    assert!(c.create().status.success());
    // Rewrite the saved start time, as if the pid now belonged to another process.
    let path = c.root.join(&c.id).join("state.json");
    let mut saved: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let real = saved["pid_start"].as_u64().unwrap();
    saved["pid_start"] = serde_json::json!(real + 1);
    std::fs::write(&path, serde_json::to_vec(&saved).unwrap()).unwrap();
    assert_eq!(c.state()["status"], "stopped");
    saved["pid_start"] = serde_json::json!(real);
    std::fs::write(&path, serde_json::to_vec(&saved).unwrap()).unwrap();
    assert!(c.brig(&["delete", "--force", &c.id]).status.success());
    c.assert_clean();
}

/// `kill ID 0` asks whether the init is there (as runc): 0 while it runs, an error once
/// it is gone. `kill --all` of a stopped container succeeds and kills what it left in
/// its cgroup: containerd's shim calls it once the init has exited, for every container
/// without a pid namespace of its own, and the leftovers hold its log pipes.
///
/// Checked against a broken brig: signal 0 was refused ("unknown signal") and `kill
/// --all` of the stopped container said "container not running", leaving the sleep; the
/// test failed.
#[test]
fn kill_zero_and_kill_all_of_a_stopped_container_act_as_runc() {
    let mut c = Ctx::new("lc-kill-all-stopped");
    c.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "pid");
    c.set_args(&["sleep", "60"]);
    c.run_detached();
    c.brig_ok(&["kill", &c.id, "0"]);
    c.brig_ok(&["delete", "--force", &c.id]);
    let out = c.brig(&["kill", &c.id, "0"]);
    assert_eq!(out.status.code(), Some(1));

    // The init leaves a sleep behind in the container's cgroup and exits.
    c.set_args(&["sh", "-c", "sleep 60 & exit 0"]);
    c.run_detached();
    c.wait_status("stopped");
    let procs = |c: &Ctx| -> Vec<i32> {
        let out = c.brig_ok(&["ps", "--format", "json", &c.id]);
        serde_json::from_slice(&out.stdout).unwrap()
    };
    assert_eq!(procs(&c).len(), 1, "the sleep the init left");
    let out = c.brig(&["kill", &c.id, "0"]);
    assert_eq!(out.status.code(), Some(1), "a stopped container's init");
    c.brig_ok(&["kill", "--all", &c.id, "KILL"]);
    for _ in 0..200 {
        if procs(&c).is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(
        procs(&c).is_empty(),
        "what the stopped container left is alive"
    );
    c.brig_ok(&["delete", &c.id]);
    c.assert_clean();
}

/// `--pidfd-socket` (runc 1.2) on create, run and exec: a pidfd of the new process arrives
/// on the socket, with runc's message ("standard" for an init, "setns" for an exec).
///
/// Checked against a broken brig: the flag did not exist ("unexpected argument") and the
/// test failed.
#[test]
fn a_pidfd_of_the_new_process_goes_to_the_pidfd_socket() {
    use std::os::unix::net::UnixListener;
    let pid_of = |fd: &std::os::fd::OwnedFd| -> i64 {
        use std::os::fd::AsRawFd;
        let info =
            std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).unwrap();
        info.lines()
            .find_map(|l| l.strip_prefix("Pid:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let mut c = Ctx::new("lc-pidfd");
    c.set_args(&["sleep", "60"]);
    let sock = c.base.join("pidfd.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let receiver = std::thread::spawn(move || {
        let first = recv_with_fd(&listener.accept().unwrap().0);
        let second = recv_with_fd(&listener.accept().unwrap().0);
        (first, second)
    });
    c.write_config();
    let status = c
        .cmd()
        .args(["create", "--pidfd-socket"])
        .arg(&sock)
        .arg("--bundle")
        .arg(&c.bundle)
        .arg(&c.id)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let init = c.state()["pid"].as_i64().unwrap();
    c.brig_ok(&["start", &c.id]);
    let pid_file = c.base.join("exec.pid");
    let status = c
        .cmd()
        .args(["exec", "-d", "--pidfd-socket"])
        .arg(&sock)
        .arg("--pid-file")
        .arg(&pid_file)
        .args([&c.id, "sleep", "30"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let ((msg1, fd1), (msg2, fd2)) = receiver.join().unwrap();
    assert_eq!(msg1, b"standard");
    assert_eq!(pid_of(&fd1), init);
    assert_eq!(msg2, b"setns");
    let exec_pid: i64 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    assert_eq!(pid_of(&fd2), exec_pid);
    c.brig_ok(&["delete", "--force", &c.id]);
    c.assert_clean();
}

/// `run --pidfd-socket`: the pidfd that arrives is the init's (the pid `state` reports),
/// with runc's "standard" message, sent before `run -d` returns.
///
/// Checked against a broken brig: with run dropping the flag (create's options without
/// it), no connection was waiting when `run -d` returned and the test failed.
#[test]
fn run_sends_a_pidfd_of_the_init_to_the_pidfd_socket() {
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixListener;
    let mut c = Ctx::new("lc-run-pidfd");
    c.set_args(&["sleep", "60"]);
    let sock = c.base.join("pidfd.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    c.write_config();
    let err_path = c.base.join("run-d.err");
    let status = c
        .cmd()
        .args(["run", "-d", "--pidfd-socket"])
        .arg(&sock)
        .arg("--bundle")
        .arg(&c.bundle)
        .arg(&c.id)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(&err_path).unwrap_or_default()
    );
    // brig has exited: whatever it sent is queued, so waiting would only hang.
    listener.set_nonblocking(true).unwrap();
    let (conn, _) = listener
        .accept()
        .expect("run -d returned without connecting to the pidfd socket");
    conn.set_nonblocking(false).unwrap();
    let (msg, pidfd) = recv_with_fd(&conn);
    assert_eq!(msg, b"standard");
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", pidfd.as_raw_fd())).unwrap();
    let pid: i64 = info
        .lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .unwrap_or_else(|| panic!("not a pidfd: {info}"))
        .trim()
        .parse()
        .unwrap();
    assert_eq!(pid, c.state()["pid"].as_i64().unwrap());
    c.brig_ok(&["delete", "--force", &c.id]);
    c.assert_clean();
}
