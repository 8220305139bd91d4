//! CRIU's RPC service: `criu swrk 3` started as a child with one end of a SOCK_SEQPACKET
//! pair as its fd 3, one protobuf request, then responses (notifications answered until the
//! final one). The message types are rust-criu's; the conversation is ours, because the
//! restored init must inherit brig's stdio and its pid, notifications and their fds must
//! reach the caller.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use protobuf::Message;
pub use rust_criu::rust_criu_protobuf::rpc;

use crate::support::error::{Context, Error, Result};

/// How long one answer of criu may take: a dump of a large memory image is slow, a criu
/// that never answers must not hang brig.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(600);

/// The criu binary and where its log of this request will be, for errors.
pub struct Criu<'a> {
    pub binary: &'a Path,
    /// The log file criu writes (work directory or image directory + log_file).
    pub log: Option<PathBuf>,
}

/// A notification from criu during a dump or restore (`notify_scripts`): the script name
/// (`setup-namespaces`, `post-restore`, `orphan-pts-master`, …), a pid, and an fd when
/// criu sends one.
pub struct Notify {
    pub script: String,
    pub pid: i32,
    pub fd: Option<OwnedFd>,
}

/// What criu's child gets: its stdio brig's own (restore: the init's stdio pipes are
/// passed on through them) or /dev/null, and more fds from 4 on.
pub struct Fds<'a> {
    pub inherit_stdio: bool,
    pub extra: Vec<BorrowedFd<'a>>,
}

impl Criu<'_> {
    /// Send `req` to a new `criu swrk` and answer its notifications with `on_notify` until
    /// the final response, which is returned when it reports success; criu has exited by
    /// then.
    pub fn call(
        &self,
        req: &rpc::Criu_req,
        fds: Fds,
        on_notify: &mut dyn FnMut(Notify) -> Result<()>,
    ) -> Result<rpc::Criu_resp> {
        self.call_placed(req, fds, &mut |_| Ok(()), on_notify)
    }

    /// `call`, with `place` given criu's pid before the request is sent (a restore puts
    /// criu in the container's cgroup, where it restores the tree).
    pub fn call_placed(
        &self,
        req: &rpc::Criu_req,
        fds: Fds,
        place: &mut dyn FnMut(i32) -> Result<()>,
        on_notify: &mut dyn FnMut(Notify) -> Result<()>,
    ) -> Result<rpc::Criu_resp> {
        let kind = format!("{:?}", req.type_());
        let (ours, theirs) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .ctx(|| "socketpair for criu")?;
        let mut child = self.spawn(theirs.as_fd(), &fds)?;
        // Without our copy of its end, criu's exit is an EOF here.
        drop(theirs);
        let result =
            place(child.id() as i32).and_then(|()| self.converse(req, &ours, &kind, on_notify));
        drop(ours);
        // A pre-dump's criu waits for the next request: our end closed, it stops; its
        // status then says nothing about the pre-dump, which was answered.
        let status = wait_child(&mut child, result.is_err());
        let resp = result?;
        match status {
            Ok(s) if s.success() || req.type_() == rpc::Criu_req_type::PRE_DUMP => Ok(resp),
            Ok(s) => Err(self.failed(&format!("criu {kind} exited with {s}"))),
            Err(e) => Err(e),
        }
    }

    /// criu's version as one number, major*10000 + minor*100 + sublevel (31701 for 3.17.1).
    pub fn version(&self) -> Result<u32> {
        let mut req = rpc::Criu_req::new();
        req.set_type(rpc::Criu_req_type::VERSION);
        let no_log = Criu {
            binary: self.binary,
            log: None,
        };
        let resp = no_log
            .call(
                &req,
                Fds {
                    inherit_stdio: false,
                    extra: Vec::new(),
                },
                &mut |_| Ok(()),
            )
            .map_err(|e| Error::msg(format!("CRIU version check failed: {e}")))?;
        let v = resp
            .version
            .as_ref()
            .ok_or_else(|| Error::msg("CRIU version check failed: no version in criu's answer"))?;
        Ok(version_number(
            v.major_number(),
            v.minor_number(),
            v.sublevel(),
        ))
    }

    fn spawn(&self, server: BorrowedFd, fds: &Fds) -> Result<std::process::Child> {
        // Above the numbers they go to (3, 4, …), so no dup2 below overwrites a source.
        let high = |fd: BorrowedFd| -> Result<OwnedFd> {
            crate::support::sys::dup_above(fd, 100).ctx(|| "dup an fd for criu")
        };
        let mut moved = vec![high(server)?];
        for fd in &fds.extra {
            moved.push(high(*fd)?);
        }
        let targets: Vec<(RawFd, RawFd)> = moved
            .iter()
            .enumerate()
            .map(|(i, fd)| (fd.as_raw_fd(), 3 + i as RawFd))
            .collect();
        let mut cmd = std::process::Command::new(self.binary);
        cmd.args(["swrk", "3"]);
        if !fds.inherit_stdio {
            cmd.stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
        }
        set_child_fds(&mut cmd, targets);
        let child = cmd.spawn().map_err(|e| {
            let what = if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "exec: \"{}\": executable file not found in $PATH",
                    self.binary.display()
                )
            } else {
                format!("start {}: {e}", self.binary.display())
            };
            Error::msg(what)
        })?;
        drop(moved);
        Ok(child)
    }

    fn converse(
        &self,
        req: &rpc::Criu_req,
        sock: &OwnedFd,
        kind: &str,
        on_notify: &mut dyn FnMut(Notify) -> Result<()>,
    ) -> Result<rpc::Criu_resp> {
        send(sock.as_fd(), req)?;
        loop {
            // criu dying mid-request (an EOF) has its reasons in its log too.
            let (bytes, fd) = recv(sock.as_fd(), kind).map_err(|e| self.failed(&e.to_string()))?;
            let resp = rpc::Criu_resp::parse_from_bytes(&bytes)
                .map_err(|e| Error::msg(format!("criu's answer to {kind} is not valid: {e}")))?;
            if !resp.success() {
                let mut text = format!("criu failed: type {kind} errno {}", resp.cr_errno());
                if !resp.cr_errmsg().is_empty() {
                    text.push_str(&format!(": {}", resp.cr_errmsg()));
                }
                return Err(self.failed(&text));
            }
            if resp.type_() != rpc::Criu_req_type::NOTIFY {
                return Ok(resp);
            }
            let n = resp.notify.as_ref();
            let note = Notify {
                script: n.map(|n| n.script().to_string()).unwrap_or_default(),
                pid: n.map(|n| n.pid()).unwrap_or(0),
                fd,
            };
            crate::support::logging::debug(|| format!("criu notify: {}", note.script));
            on_notify(note)?;
            let mut ack = rpc::Criu_req::new();
            ack.set_type(rpc::Criu_req_type::NOTIFY);
            ack.set_notify_success(true);
            send(sock.as_fd(), &ack)?;
        }
    }

    /// An error carrying criu's own complaint (its log's error lines) and the log's path.
    fn failed(&self, text: &str) -> Error {
        let Some(log) = &self.log else {
            return Error::msg(text.to_string());
        };
        let complaint = std::fs::read_to_string(log)
            .map(|t| log_errors(&t))
            .unwrap_or_default();
        let mut msg = text.to_string();
        if !complaint.is_empty() {
            msg.push_str(&format!("\n{complaint}"));
        }
        msg.push_str(&format!("\nlog file: {}", log.display()));
        Error::msg(msg)
    }
}

/// The `Error (...)` lines of a criu log, the last few: what criu itself said went wrong.
pub fn log_errors(log: &str) -> String {
    let errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("Error (") || l.starts_with("Error"))
        .collect();
    errors[errors.len().saturating_sub(5)..].join("\n")
}

pub fn version_number(major: i32, minor: i32, sublevel: i32) -> u32 {
    (major.max(0) * 10000 + minor.max(0) * 100 + sublevel.max(0)) as u32
}

fn send(sock: BorrowedFd, req: &rpc::Criu_req) -> Result<()> {
    let bytes = req
        .write_to_bytes()
        .map_err(|e| Error::msg(format!("encode the criu request: {e}")))?;
    nix::sys::socket::send(
        sock.as_raw_fd(),
        &bytes,
        nix::sys::socket::MsgFlags::empty(),
    )
    .ctx(|| "send the request to criu")?;
    Ok(())
}

/// One message from criu, with the fd it may carry; a bounded wait.
fn recv(sock: BorrowedFd, kind: &str) -> Result<(Vec<u8>, Option<OwnedFd>)> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let timeout =
        PollTimeout::try_from(ANSWER_TIMEOUT.as_millis() as i32).unwrap_or(PollTimeout::MAX);
    loop {
        let mut p = [PollFd::new(sock, PollFlags::POLLIN)];
        match poll(&mut p, timeout) {
            Ok(0) => {
                return Err(Error::msg(format!(
                    "timed out after {} s waiting for criu's answer to {kind}",
                    ANSWER_TIMEOUT.as_secs()
                )))
            }
            Ok(_) => break,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Error::os("wait for criu", e)),
        }
    }
    // criu's largest answers are a few hundred bytes; runc reads into 40 KiB.
    let mut buf = vec![0u8; 40 * 1024];
    let (n, fd) = crate::support::sys::recv_with_fd(sock, &mut buf)
        .map_err(|e| Error::os(format!("read criu's answer to {kind}"), e))?;
    if n == 0 {
        return Err(Error::msg(format!(
            "criu failed: type {kind}: criu exited without answering (unexpected EOF)"
        )));
    }
    buf.truncate(n);
    Ok((buf, fd))
}

/// Wait for criu to exit; killed first when the conversation failed (it may be waiting on
/// us). Bounded: criu exits once its socket closes.
fn wait_child(child: &mut std::process::Child, kill: bool) -> Result<std::process::ExitStatus> {
    if kill {
        let _ = child.kill();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(s) = child.try_wait().ctx(|| "wait for criu")? {
            return Ok(s);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::msg(
                "timed out after 60 s waiting for criu to exit once it had answered",
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// criu's fds: each (source, target) made `target` in the child; the sources are above
/// every target, so none is overwritten before it is used.
fn set_child_fds(cmd: &mut std::process::Command, targets: Vec<(RawFd, RawFd)>) {
    // SAFETY: the closure only calls sigprocmask and dup2, which are async-signal-safe, on
    // a set made here and fds that stay open in the parent until spawn returns; it
    // allocates nothing.
    let none: libc::sigset_t = *nix::sys::signal::SigSet::empty().as_ref();
    unsafe {
        cmd.pre_exec(move || {
            // A foreground restore blocks the signals it forwards; criu needs them.
            libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
            for &(from, to) in &targets {
                if libc::dup2(from, to) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two ends of the swrk socket: brig's, and criu's (played by a thread).
    fn pair() -> (OwnedFd, OwnedFd) {
        socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .unwrap()
    }

    /// criu's side of a restore, played by a thread: the request arrives whole, a
    /// notification carries an fd and waits for its answer, and the final response ends it.
    #[test]
    fn a_conversation_answers_notifications_and_returns_the_final_response() {
        let (ours, theirs) = pair();
        let peer = std::thread::spawn(move || {
            let (bytes, _) = recv(theirs.as_fd(), "test").unwrap();
            let req = rpc::Criu_req::parse_from_bytes(&bytes).unwrap();
            assert_eq!(req.type_(), rpc::Criu_req_type::RESTORE);
            assert!(req.opts.rst_sibling());
            let mut note = rpc::Criu_resp::new();
            note.set_type(rpc::Criu_req_type::NOTIFY);
            note.set_success(true);
            let mut n = rpc::Criu_notify::new();
            n.set_script("orphan-pts-master".into());
            n.set_pid(42);
            note.notify = protobuf::MessageField::some(n);
            let null = std::fs::File::open("/dev/null").unwrap();
            crate::support::sys::send_with_fd(
                theirs.as_fd(),
                &note.write_to_bytes().unwrap(),
                null.as_fd(),
            )
            .unwrap();
            let (ack, _) = recv(theirs.as_fd(), "test").unwrap();
            let ack = rpc::Criu_req::parse_from_bytes(&ack).unwrap();
            assert_eq!(ack.type_(), rpc::Criu_req_type::NOTIFY);
            assert!(ack.notify_success());
            let mut done = rpc::Criu_resp::new();
            done.set_type(rpc::Criu_req_type::RESTORE);
            done.set_success(true);
            let mut r = rpc::Criu_restore_resp::new();
            r.set_pid(42);
            done.restore = protobuf::MessageField::some(r);
            nix::sys::socket::send(
                theirs.as_raw_fd(),
                &done.write_to_bytes().unwrap(),
                nix::sys::socket::MsgFlags::empty(),
            )
            .unwrap();
        });
        let mut req = rpc::Criu_req::new();
        req.set_type(rpc::Criu_req_type::RESTORE);
        let mut opts = rpc::Criu_opts::new();
        opts.set_images_dir_fd(-1);
        opts.set_rst_sibling(true);
        req.opts = protobuf::MessageField::some(opts);
        let criu = Criu {
            binary: Path::new("criu"),
            log: None,
        };
        let mut seen = Vec::new();
        let resp = criu
            .converse(&req, &ours, "RESTORE", &mut |n| {
                seen.push((n.script.clone(), n.pid, n.fd.is_some()));
                Ok(())
            })
            .unwrap();
        peer.join().unwrap();
        assert_eq!(seen, vec![("orphan-pts-master".to_string(), 42, true)]);
        assert_eq!(resp.restore.pid(), 42);
    }

    /// A failure names the request, criu's errno and message, its log's error lines and
    /// the log's path; an EOF before the answer says so.
    #[test]
    fn a_failure_carries_criu_s_complaint_and_the_log_path() {
        let dir = std::env::temp_dir().join(format!("brig-criu-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("dump.log");
        std::fs::write(&log, "(0.1) Error (criu/cr-dump.c:1): Dumping FAILED.\n").unwrap();
        let (ours, theirs) = pair();
        let peer = std::thread::spawn(move || {
            recv(theirs.as_fd(), "test").unwrap();
            let mut resp = rpc::Criu_resp::new();
            resp.set_type(rpc::Criu_req_type::DUMP);
            resp.set_success(false);
            resp.set_cr_errno(2);
            resp.set_cr_errmsg("No such file or directory".into());
            nix::sys::socket::send(
                theirs.as_raw_fd(),
                &resp.write_to_bytes().unwrap(),
                nix::sys::socket::MsgFlags::empty(),
            )
            .unwrap();
        });
        let mut req = rpc::Criu_req::new();
        req.set_type(rpc::Criu_req_type::DUMP);
        let criu = Criu {
            binary: Path::new("criu"),
            log: Some(log.clone()),
        };
        let err = criu
            .converse(&req, &ours, "DUMP", &mut |_| Ok(()))
            .unwrap_err()
            .to_string();
        peer.join().unwrap();
        assert_eq!(
            err,
            format!(
                "criu failed: type DUMP errno 2: No such file or directory\n(0.1) Error (criu/cr-dump.c:1): Dumping FAILED.\nlog file: {}",
                log.display()
            )
        );
        let (ours, theirs) = pair();
        drop(theirs);
        let err = criu.converse(&req, &ours, "DUMP", &mut |_| Ok(()));
        assert!(err.is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn versions_compare_as_runc_numbers_them() {
        assert_eq!(version_number(3, 17, 1), 31701);
        assert!(version_number(3, 11, 0) >= 31100);
        assert!(version_number(3, 9, 9) < 31100);
    }

    #[test]
    fn the_complaint_is_criu_s_last_error_lines() {
        let log = "(00.001) Version: 3.17.1\n(00.002) Error (criu/vdso.c:613): vdso: Failed to fill self vdso symtable\n(00.003) Error (criu/crtools.c:260): Could not initialize kernel features detection.\n(00.004) Unlock network\n";
        assert_eq!(
            log_errors(log),
            "(00.002) Error (criu/vdso.c:613): vdso: Failed to fill self vdso symtable\n(00.003) Error (criu/crtools.c:260): Could not initialize kernel features detection."
        );
    }
}
