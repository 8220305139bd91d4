//! `events`: the container's resource usage as JSON, once (`--stats`) or every interval,
//! with OOM notifications in between; the stream ends when the container's init exits.

use std::io::Write;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::cgroups::{self, stats::Event, Stats};
use crate::lifecycle::state::StateRoot;
use crate::lifecycle::status;
use crate::support::error::{Error, Result};

/// `--stats` (`stats_only`) prints the usage once; otherwise a line every `interval`, and
/// OOM events as they come, until the init exits.
pub fn events(root: &StateRoot, id: &str, interval: Duration, stats_only: bool) -> Result<i32> {
    let state = root.peek(id)?;
    let not_running = || Error::msg(format!("container with id {id} is not running"));
    if status::status(&root.dir().join(id), &state) == status::Status::Stopped {
        return Err(not_running());
    }
    let cg = cgroups::from_paths(&state.cgroup);
    if stats_only {
        emit_stats(id, &cg.stats()?)?;
        return Ok(0);
    }
    // The init's pidfd ends the stream; taken after the status check, it may already be gone.
    let pidfd = status::init_pidfd(&state).ok_or_else(not_running)?;
    let mut oom = match cg.oom_watch() {
        Ok(w) => Some(w),
        Err(e) => {
            crate::support::logging::warn(&format!("OOM events will not be reported: {e}"));
            None
        }
    };
    let mut next = Instant::now();
    loop {
        let now = Instant::now();
        if now >= next {
            match cg.stats() {
                Ok(s) => emit_stats(id, &s)?,
                // The cgroup goes away with a container that just stopped.
                Err(_) if status::init_pidfd(&state).is_none() => return Ok(0),
                Err(e) => return Err(e),
            }
            next += interval;
            if next <= now {
                next = now + interval;
            }
        }
        let wait = next.saturating_duration_since(Instant::now());
        let timeout = PollTimeout::try_from(wait.as_millis().max(1).min(i32::MAX as u128) as i32)
            .unwrap_or(PollTimeout::MAX);
        let (exited, oom_ready) = {
            let mut fds = vec![PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
            if let Some(w) = &oom {
                fds.push(PollFd::new(w.fd(), PollFlags::POLLIN));
            }
            match poll(&mut fds, timeout) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(Error::os("poll for container events", e)),
            }
            let ready = |f: &PollFd| f.revents().is_some_and(|r| !r.is_empty());
            (ready(&fds[0]), fds.get(1).is_some_and(ready))
        };
        // An OOM kill notifies before its victim is gone: report it before ending.
        if oom_ready || exited {
            if let Some(w) = oom.as_mut() {
                if w.take()? > 0 {
                    emit(&Event {
                        kind: "oom",
                        id,
                        data: None,
                    })?;
                }
            }
        }
        if exited {
            return Ok(0);
        }
    }
}

fn emit_stats(id: &str, stats: &Stats) -> Result<()> {
    emit(&Event {
        kind: "stats",
        id,
        data: Some(stats),
    })
}

/// One JSON line on stdout, flushed at once (a reader follows the stream live).
fn emit(event: &Event) -> Result<()> {
    let line = serde_json::to_string(event).map_err(|e| Error::msg(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|_| out.flush())
        .map_err(|e| Error::os("write to stdout", e))
}
