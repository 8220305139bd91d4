//! Terminals: the console socket handshake containerd and conmon use, and an interactive
//! `brig run` / `brig exec -t` under a pty.

mod common;

use std::io::{IoSliceMut, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use serde_json::{json, Value};

/// Play the receiving side of a console socket: accept one connection, take the fd.
fn receive_master(listener: &UnixListener) -> OwnedFd {
    let (conn, _) = listener.accept().unwrap();
    let mut buf = [0u8; 4096];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )
    .unwrap();
    for c in msg.cmsgs().unwrap() {
        if let ControlMessageOwned::ScmRights(fds) = c {
            // SAFETY: the fd was just received and is owned by nobody else.
            return unsafe { OwnedFd::from_raw_fd(fds[0]) };
        }
    }
    panic!("no fd received");
}

/// Spawn a command with a new pty as its stdio; returns the child and the master.
fn spawn_on_pty(
    mut cmd: std::process::Command,
    size: Option<&nix::pty::Winsize>,
) -> (std::process::Child, std::fs::File) {
    let pty = nix::pty::openpty(size, None).unwrap();
    let slave = || Stdio::from(pty.slave.try_clone().unwrap());
    let child = cmd
        .stdin(slave())
        .stdout(slave())
        .stderr(slave())
        .spawn()
        .unwrap();
    (child, std::fs::File::from(pty.master))
}

/// Read from a pty master until `done` says so or the deadline passes.
fn read_until(master: &mut std::fs::File, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline && !done(&String::from_utf8_lossy(&out)) {
        match master.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `create --console-socket` with the config as it stands: the pty master received.
fn create_with_console_socket(c: &Ctx) -> std::fs::File {
    c.write_config();
    let sock = c.base.join("console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let receiver = std::thread::spawn(move || receive_master(&listener));
    let out = c
        .cmd()
        .args(["create", "--console-socket"])
        .arg(&sock)
        .arg("--bundle")
        .arg(&c.bundle)
        .arg(&c.id)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::File::from(receiver.join().unwrap())
}

/// The probe's JSON report in what the terminal showed, once all of it has come (a
/// read can end just after an inner `}`).
fn parse_report(text: &str) -> Option<Value> {
    let (open, close) = (text.find('{')?, text.rfind('}')?);
    serde_json::from_str(text.get(open..=close)?).ok()
}

fn report(text: &str) -> Value {
    parse_report(text).unwrap_or_else(|| panic!("no whole report on the terminal: {text:?}"))
}

#[test]
fn the_console_socket_receives_the_pty_master() {
    let mut c = Ctx::new("tty-socket");
    c.config["process"]["terminal"] = json!(true);
    c.config["process"]["consoleSize"] = json!({"height": 24, "width": 80});
    c.set_args(&["probe", "--stat", "/dev/console"]);
    let mut master = create_with_console_socket(&c);
    assert!(c.brig(&["start", &c.id]).status.success());
    let text = read_until(&mut master, |t| parse_report(t).is_some());
    let r = report(&text);
    assert_eq!(r["tty"], true);
    assert_eq!(r["sid"], r["pid"], "the process leads its own session");
    assert_eq!(
        r["stat"]["/dev/console"]["major"], 136,
        "/dev/console is the container's pty"
    );
    c.wait_status("stopped");
    assert!(c.brig(&["delete", &c.id]).status.success());
    c.assert_clean();
}

#[test]
fn an_interactive_shell_under_brig_run() {
    let mut c = Ctx::new("tty-run");
    c.config["process"]["terminal"] = json!(true);
    c.set_args(&["sh"]);
    c.write_config();
    let size = nix::pty::Winsize {
        ws_row: 30,
        ws_col: 90,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let (mut child, mut master) = spawn_on_pty(c.run_cmd(), Some(&size));
    master
        .write_all(b"echo hel''lo-$((6*7)); stty size; exit 7\n")
        .unwrap();
    let text = read_until(&mut master, |t| t.contains("30 90"));
    assert!(
        text.contains("hello-42"),
        "the shell ran what was typed: {text:?}"
    );
    assert!(
        text.contains("30 90"),
        "the window size follows the caller's terminal: {text:?}"
    );
    assert_eq!(child.wait().unwrap().code(), Some(7));
    c.assert_clean();
}

#[test]
fn runcs_console_socket_rules() {
    let mut c = Ctx::new("tty-rules");
    c.config["process"]["terminal"] = json!(true);
    c.expect_create_error("cannot allocate tty if brig will detach without setting console socket");
    c.config["process"]["terminal"] = json!(false);
    c.write_config();
    let out = c
        .cmd()
        .args([
            "create",
            "--console-socket",
            "/tmp/no-such.sock",
            "--bundle",
        ])
        .arg(&c.bundle)
        .arg(&c.id)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot use console socket"),
        "{}",
        stderr(&out)
    );
    c.assert_clean();
}

#[test]
fn exec_with_a_tty() {
    let mut c = Ctx::new("tty-exec");
    c.set_args(&["sleep", "60"]);
    c.run_detached();
    let mut cmd = c.cmd();
    cmd.args(["exec", "-t", &c.id, "sh", "-c", "tty; echo done"]);
    let (mut child, mut master) = spawn_on_pty(cmd, None);
    let text = read_until(&mut master, |t| t.contains("done"));
    assert!(text.contains("/dev/pts/"), "{text:?}");
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert!(c.brig(&["delete", "--force", &c.id]).status.success());
    c.assert_clean();
}

/// The process's terminal belongs to its user, as runc makes it, so a non-root process can
/// use its console (devpts gives it to the init, root, otherwise).
///
/// Checked against a broken brig: without `console::give_to`, /dev/console (the pty)
/// was uid 0 for the uid-1000 process and the test failed.
#[test]
fn the_terminal_belongs_to_the_processs_user() {
    let mut c = Ctx::new("tty-owner");
    c.config["process"]["terminal"] = json!(true);
    c.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    c.set_args(&["probe", "--stat", "/dev/console"]);
    let mut master = create_with_console_socket(&c);
    c.brig_ok(&["start", &c.id]);
    let text = read_until(&mut master, |t| parse_report(t).is_some());
    let r = report(&text);
    assert_eq!(r["stat"]["/dev/console"]["uid"], 1000, "{}", r["stat"]);
    c.wait_status("stopped");
    c.brig_ok(&["delete", &c.id]);
    c.assert_clean();
}

/// The same for `exec -t`: the pty made for the exec'd process belongs to that process's
/// user (process.user.uid, here from --user), not to root who opened it.
///
/// Checked against a broken brig: with `console::give_to` left to the init's terminal
/// only, the exec's /dev/pts/N was uid 0 and the test failed.
#[test]
fn the_terminal_of_an_exec_belongs_to_its_user() {
    let mut c = Ctx::new("tty-exec-owner");
    c.set_args(&["sleep", "60"]);
    c.run_detached();
    let sock = c.base.join("exec-console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let receiver = std::thread::spawn(move || receive_master(&listener));
    // The process's terminal is what its stdin points to.
    let out = c
        .cmd()
        .args(["exec", "-d", "-t", "--console-socket"])
        .arg(&sock)
        .args(["--user", "1000:1000", &c.id, "sh", "-c"])
        .arg(r#"exec probe --stat "$(readlink /proc/self/fd/0)""#)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let mut master = std::fs::File::from(receiver.join().unwrap());
    let text = read_until(&mut master, |t| parse_report(t).is_some());
    let r = report(&text);
    let tty = r["fds"][0]["target"].as_str().unwrap();
    assert!(tty.starts_with("/dev/pts/"), "{}", r["fds"]);
    assert_eq!(r["stat"][tty]["uid"], 1000, "{}", r["stat"]);
    c.brig_ok(&["delete", "--force", &c.id]);
    c.assert_clean();
}
