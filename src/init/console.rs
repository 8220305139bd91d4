//! The terminal inside the container: a pty from the container's own devpts, its master
//! handed to brig's caller over the console socket (SCM_RIGHTS, as runc does), its slave
//! the process's controlling terminal and stdio.

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::fcntl::OFlag;
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use nix::sys::stat::Mode;

use crate::support::error::{Context, Result};
use crate::support::sys;

/// Open a new pty in the current root's /dev/pts. The slave comes from the master itself
/// (TIOCGPTPEER), never by path, so a planted /dev/pts entry cannot be swapped in
/// (CVE-2025-52565).
pub fn open_pty() -> Result<(OwnedFd, OwnedFd)> {
    let master = nix::fcntl::open(
        "/dev/pts/ptmx",
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| "open /dev/pts/ptmx in the container")?;
    sys::unlock_pty(master.as_fd()).ctx(|| "unlock the pty")?;
    let slave = sys::pty_peer(master.as_fd()).ctx(|| "open the pty slave (TIOCGPTPEER)")?;
    Ok((master, slave))
}

/// Make the slave this process's stdin, stdout, stderr and controlling terminal.
pub fn make_controlling(slave: &OwnedFd) -> Result<()> {
    for fd in 0..3 {
        sys::dup_onto_stdio(slave.as_fd(), fd).ctx(|| format!("dup2 the pty onto fd {fd}"))?;
    }
    sys::set_controlling_tty(slave.as_fd()).ctx(|| "make the pty the controlling terminal")
}

/// Send the master over the console socket, named as runc names it.
pub fn send_master(socket: BorrowedFd, master: &OwnedFd) -> Result<()> {
    let fds = [master.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let name = b"/dev/ptmx";
    sendmsg::<()>(
        socket.as_raw_fd(),
        &[IoSlice::new(name)],
        &cmsg,
        MsgFlags::empty(),
        None,
    )
    .ctx(|| "send the pty master to the console socket")?;
    Ok(())
}

pub fn set_size(fd: BorrowedFd, rows: u16, cols: u16) -> Result<()> {
    sys::set_winsize(fd, rows, cols).ctx(|| "set the terminal size")
}

/// The terminal belongs to the process's user, as runc makes it (devpts gives it to the
/// init, root): a non-root process can then use its own console. The group is left as
/// devpts set it. A uid the kernel refuses here (unmapped, EINVAL) leaves it as it is.
pub fn give_to(slave: &OwnedFd, uid: u32) -> Result<()> {
    match nix::unistd::fchown(slave, Some(nix::unistd::Uid::from_raw(uid)), None) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::EPERM) => Ok(()),
        Err(e) => Err(crate::support::error::Error::os(
            "chown the terminal to the process's user",
            e,
        )),
    }
}
