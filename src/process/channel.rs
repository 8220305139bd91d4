//! The socketpair between brig and the container's init: small framed messages.
//! SOCK_SEQPACKET keeps message boundaries and reports the peer's exit as EOF, which is
//! how an init notices that its creator died mid-create.

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::sys::socket::{
    send, sendmsg, socketpair, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType,
};

use crate::support::error::{Context, Error, Result};

#[derive(Debug)]
pub enum Msg {
    /// parent → child: cgroup joined (and id maps written): start setting up. Sent only
    /// when there was such work to do (`process::needs_go`).
    Go,
    /// parent → child: the id maps asked for with MapRequest are written.
    Mapped,
    /// parent → child: state is saved; wait on the exec fifo for `start`.
    Commit,
    /// parent → child: exec the process now (`run`).
    Exec,
    /// child → parent: the child unshared a user namespace; write its id maps.
    MapRequest,
    /// child → parent: the init is in its network namespace: move linux.netDevices in.
    NetDevices,
    /// parent → child: they are moved.
    NetDevicesMoved,
    /// child → parent: the pid (in brig's pid namespace) of the forked container init.
    InitPid(i32),
    /// child → parent: the mounts are done, the root not yet entered: run the prestart
    /// and createRuntime hooks.
    Hooks,
    /// parent → child: those hooks ran; the container's state JSON for the init's own hooks.
    HooksDone(String),
    /// child → parent: the seccomp filter is loaded; its listener fd (sent with
    /// SCM_RIGHTS) goes to the agent at linux.seccomp.listenerPath.
    SeccompFd(OwnedFd),
    /// child → parent: everything is set up; the init waits for Commit or Exec.
    Ready,
    /// child → parent: setup failed.
    Error(String),
}

pub struct Channel {
    fd: OwnedFd,
}

impl Channel {
    pub fn pair() -> Result<(Channel, Channel)> {
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .ctx(|| "create the init channel (socketpair)")?;
        Ok((Channel { fd: a }, Channel { fd: b }))
    }

    pub fn send(&self, msg: &Msg) -> Result<()> {
        let mut buf = Vec::with_capacity(8);
        match msg {
            Msg::Go => buf.push(1),
            Msg::Mapped => buf.push(2),
            Msg::Commit => buf.push(3),
            Msg::Exec => buf.push(4),
            Msg::NetDevicesMoved => buf.push(6),
            Msg::MapRequest => buf.push(10),
            Msg::NetDevices => buf.push(16),
            Msg::InitPid(pid) => {
                buf.push(11);
                buf.extend_from_slice(&pid.to_le_bytes());
            }
            Msg::Ready => buf.push(12),
            Msg::Hooks => buf.push(14),
            Msg::HooksDone(json) => {
                buf.push(5);
                buf.extend_from_slice(json.as_bytes());
            }
            Msg::Error(text) => {
                buf.push(13);
                buf.extend_from_slice(text.as_bytes());
            }
            Msg::SeccompFd(fd) => {
                // One call, nothing else: the filter is already loaded (see seccomp.rs).
                let fds = [fd.as_raw_fd()];
                sendmsg::<()>(
                    self.fd.as_raw_fd(),
                    &[IoSlice::new(&[15])],
                    &[ControlMessage::ScmRights(&fds)],
                    MsgFlags::MSG_NOSIGNAL,
                    None,
                )
                .ctx(|| "send the seccomp listener fd on the init channel")?;
                return Ok(());
            }
        }
        send(self.fd.as_raw_fd(), &buf, MsgFlags::MSG_NOSIGNAL)
            .ctx(|| "send on the init channel")?;
        Ok(())
    }

    /// The next message; None when the peer has gone away.
    pub fn recv(&self) -> Result<Option<Msg>> {
        // The message's size first (MSG_PEEK|MSG_TRUNC gives a datagram's full length), so
        // its buffer is that size: a fixed 64 KiB one was zeroed on every receive, sixteen
        // fresh pages in each process of a `run`.
        let size = loop {
            let mut probe = [0u8; 1];
            match nix::sys::socket::recv(
                self.fd.as_raw_fd(),
                &mut probe,
                MsgFlags::MSG_PEEK | MsgFlags::MSG_TRUNC,
            ) {
                Err(nix::errno::Errno::EINTR) => continue,
                other => break other.ctx(|| "receive on the init channel")?,
            }
        };
        if size == 0 {
            return Ok(None);
        }
        let mut buf = vec![0u8; size];
        let (n, fd) = loop {
            match crate::support::sys::recv_with_fd(self.fd.as_fd(), &mut buf) {
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                other => break other.ctx(|| "receive on the init channel")?,
            }
        };
        if n == 0 {
            return Ok(None);
        }
        let body = &buf[1..n];
        let msg = match buf[0] {
            1 => Msg::Go,
            2 => Msg::Mapped,
            3 => Msg::Commit,
            4 => Msg::Exec,
            6 => Msg::NetDevicesMoved,
            10 => Msg::MapRequest,
            16 => Msg::NetDevices,
            11 if body.len() == 4 => {
                Msg::InitPid(i32::from_le_bytes([body[0], body[1], body[2], body[3]]))
            }
            12 => Msg::Ready,
            14 => Msg::Hooks,
            15 => Msg::SeccompFd(
                fd.ok_or_else(|| Error::msg("init channel: seccomp listener fd missing"))?,
            ),
            5 => Msg::HooksDone(String::from_utf8_lossy(body).into_owned()),
            13 => Msg::Error(String::from_utf8_lossy(body).into_owned()),
            tag => return Err(Error::msg(format!("init channel: unknown message {tag}"))),
        };
        Ok(Some(msg))
    }

    /// Wait for one specific message; EOF or anything else is an error.
    pub fn expect(&self, want: Msg) -> Result<()> {
        match self.recv()? {
            Some(m) if std::mem::discriminant(&m) == std::mem::discriminant(&want) => Ok(()),
            Some(Msg::Error(e)) => Err(Error::msg(e)),
            Some(m) => Err(Error::msg(format!(
                "init channel: expected {want:?}, got {m:?}"
            ))),
            None => Err(Error::msg(
                "the runtime went away before the container was created",
            )),
        }
    }
}
