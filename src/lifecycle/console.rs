//! Terminals seen from the host: runc's console-socket rules, the master received from a
//! socket, and the foreground proxy for `run`/`exec -t` without a console socket.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};

use crate::support::error::{Context, Error, Result};
use crate::support::sys;

/// Receive a pty master sent with `send_master`.
pub fn recv_master(socket: BorrowedFd) -> Result<OwnedFd> {
    let mut buf = [0u8; 4096];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .ctx(|| "receive the pty master")?;
    for c in msg.cmsgs().ctx(|| "read the control message")? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let Some(&fd) = fds.first() {
                // SAFETY: the kernel just installed this fd for us; nothing else owns it.
                return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }
    Err(Error::msg("the init sent no pty master"))
}

/// The console socket the init sends its pty master to, as runc's rules have it: a
/// detached command needs `--console-socket`; a foreground one gets a socketpair and
/// proxies the terminal itself. Returns (the init's end, brig's end for the proxy).
pub fn console_sockets(
    terminal: bool,
    detach: bool,
    socket: Option<&std::path::Path>,
) -> Result<(Option<OwnedFd>, Option<OwnedFd>)> {
    match (terminal, detach, socket) {
        (false, _, None) => Ok((None, None)),
        (false, _, Some(_)) | (true, false, Some(_)) => Err(Error::msg(
            "cannot use console socket if brig will not detach or allocate tty",
        )),
        (true, true, None) => Err(Error::msg(
            "cannot allocate tty if brig will detach without setting console socket",
        )),
        (true, true, Some(path)) => {
            let stream = std::os::unix::net::UnixStream::connect(path)
                .ctx(|| format!("connect to console socket {}", path.display()))?;
            Ok((Some(OwnedFd::from(stream)), None))
        }
        (true, false, None) => {
            let (a, b) = nix::sys::socket::socketpair(
                nix::sys::socket::AddressFamily::Unix,
                nix::sys::socket::SockType::Stream,
                None,
                nix::sys::socket::SockFlag::SOCK_CLOEXEC,
            )
            .ctx(|| "create the console socketpair")?;
            Ok((Some(a), Some(b)))
        }
    }
}

/// Puts a terminal in raw mode and restores it when dropped.
struct RawMode<'a> {
    fd: BorrowedFd<'a>,
    saved: nix::sys::termios::Termios,
}

impl<'a> RawMode<'a> {
    fn new(fd: BorrowedFd<'a>) -> Option<RawMode<'a>> {
        let saved = nix::sys::termios::tcgetattr(fd).ok()?;
        let mut raw = saved.clone();
        nix::sys::termios::cfmakeraw(&mut raw);
        nix::sys::termios::tcsetattr(fd, nix::sys::termios::SetArg::TCSANOW, &raw).ok()?;
        Some(RawMode { fd, saved })
    }
}

impl Drop for RawMode<'_> {
    fn drop(&mut self) {
        let _ =
            nix::sys::termios::tcsetattr(self.fd, nix::sys::termios::SetArg::TCSANOW, &self.saved);
    }
}

/// Foreground terminal: copy stdin to the pty and the pty to stdout, follow the caller's
/// window size, forward signals, and return the process's exit code.
pub fn proxy(console: OwnedFd, pid: i32, set: &nix::sys::signal::SigSet) -> Result<i32> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use nix::sys::signal::Signal;
    use nix::sys::signalfd::{SfdFlags, SignalFd};
    let master = recv_master(console.as_fd())?;
    drop(console);
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let _raw = RawMode::new(stdin.as_fd());
    // A caller whose terminal has no size (0x0) keeps the spec's consoleSize.
    let follow_size = |master: BorrowedFd| {
        if let Some((rows, cols)) = sys::winsize(stdin.as_fd()).filter(|&(r, c)| r > 0 && c > 0) {
            let _ = sys::set_winsize(master, rows, cols);
        }
    };
    follow_size(master.as_fd());
    let sfd = SignalFd::with_flags(set, SfdFlags::SFD_CLOEXEC).ctx(|| "signalfd")?;
    let mut stdin_open = true;
    let mut buf = [0u8; 8192];
    let code = loop {
        let mut fds = vec![
            PollFd::new(master.as_fd(), PollFlags::POLLIN),
            PollFd::new(sfd.as_fd(), PollFlags::POLLIN),
        ];
        if stdin_open {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => other.ctx(|| "poll the terminal")?,
        };
        let ready = |i: usize| {
            fds.get(i)
                .and_then(|f| f.revents())
                .is_some_and(|r| !r.is_empty())
        };
        let (master_ready, signal_ready, stdin_ready) = (ready(0), ready(1), ready(2));
        drop(fds);
        if master_ready {
            copy_once(master.as_fd(), stdout.as_fd(), &mut buf);
        }
        if stdin_ready && copy_once(stdin.as_fd(), master.as_fd(), &mut buf) == 0 {
            stdin_open = false;
        }
        if !signal_ready {
            continue;
        }
        let Ok(Some(info)) = sfd.read_signal() else {
            continue;
        };
        match Signal::try_from(info.ssi_signo as i32) {
            Ok(Signal::SIGCHLD) => {
                if let Some(code) = crate::lifecycle::foreground::reap(pid) {
                    break code;
                }
            }
            Ok(Signal::SIGWINCH) => follow_size(master.as_fd()),
            Ok(sig) => {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig);
            }
            Err(_) => {}
        }
    };
    // What the process wrote just before it exited is still in the pty.
    let _ = nix::fcntl::fcntl(
        master.as_fd(),
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    );
    while copy_once(master.as_fd(), stdout.as_fd(), &mut buf) > 0 {}
    Ok(code)
}

/// One read and a full write; the number of bytes moved (0 at EOF or on error).
fn copy_once(from: BorrowedFd, to: BorrowedFd, buf: &mut [u8]) -> usize {
    match nix::unistd::read(from, buf) {
        Ok(n) if n > 0 => {
            let mut out = &buf[..n];
            while !out.is_empty() {
                match nix::unistd::write(to, out) {
                    Ok(w) => out = &out[w..],
                    Err(nix::errno::Errno::EINTR) => continue,
                    Err(_) => break,
                }
            }
            n
        }
        _ => 0,
    }
}

/// `--pidfd-socket` (runc 1.2): a pidfd of the new process, sent over a new connection to
/// the socket with runc's message ("standard" for a container's init, "setns" for an exec).
pub fn send_pidfd(socket: &std::path::Path, pid: i32, kind: &str) -> Result<()> {
    let pidfd = sys::pidfd_open(pid).ctx(|| format!("pidfd_open {pid}"))?;
    let stream = std::os::unix::net::UnixStream::connect(socket)
        .ctx(|| format!("connect to the pidfd socket {}", socket.display()))?;
    sys::send_with_fd(stream.as_fd(), kind.as_bytes(), pidfd.as_fd())
        .ctx(|| format!("send the pidfd to {}", socket.display()))
}
