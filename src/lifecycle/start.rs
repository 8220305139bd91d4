//! `start`: release a created container's init through the exec fifo.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use crate::lifecycle::state::StateRoot;
use crate::lifecycle::status;
use crate::support::crash;
use crate::support::error::{Error, Result};

/// Release a created container's init: it execs the process; returns once it runs, after
/// the poststart hooks.
pub fn start(root: &StateRoot, id: &str) -> Result<()> {
    let (dir, state) = root.open_container(id)?;
    crash::point("start: locked");
    match status::status_locked(&dir, &state) {
        status::Status::Created => {}
        status::Status::Stopped => {
            return Err(Error::msg("cannot start a container that has stopped"))
        }
        status::Status::Running => {
            return Err(Error::msg("cannot start an already running container"))
        }
        status::Status::Paused => return Err(Error::msg("cannot start a paused container")),
        status::Status::Creating => {
            return Err(Error::msg(
                "cannot start a container that is still being created",
            ))
        }
    }
    let fifo = dir.fifo();
    // Non-blocking: a dead init (no reader) fails with ENXIO instead of hanging.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&fifo)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENXIO) => {
                Error::msg("cannot start container: its init is no longer waiting")
            }
            _ => Error::os(format!("open {}", fifo.display()), e),
        })?;
    crash::point("start: fifo opened");
    f.write_all(b"0")
        .map_err(|e| Error::os("release the container init", e))?;
    crash::point("start: init released");
    crate::support::logging::debug(|| format!("start: released init {}", state.pid));
    wait_for_exec(&f);
    std::fs::remove_file(&fifo).map_err(|e| Error::os(format!("remove {}", fifo.display()), e))?;
    crash::point("start: fifo removed");
    status::run_post_hooks(
        &state,
        crate::support::hooks::Kind::Poststart,
        status::Status::Running,
    );
    Ok(())
}

/// The init holds the fifo open (close-on-exec) until it execs the process: when the last
/// reader is gone, poll on our write end reports POLLERR. So `start` returns, and poststart
/// runs, once the user's process is running.
fn wait_for_exec(fifo: &std::fs::File) {
    use std::os::fd::AsFd;
    let mut fds = [nix::poll::PollFd::new(
        fifo.as_fd(),
        nix::poll::PollFlags::empty(),
    )];
    while let Err(nix::errno::Errno::EINTR) =
        nix::poll::poll(&mut fds, nix::poll::PollTimeout::NONE)
    {}
}
