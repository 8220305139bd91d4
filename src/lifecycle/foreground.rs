//! Foreground waiting: forward every signal brig receives to the container process and
//! return its exit status the way a shell reports it.

use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::support::error::{Context, Result};

/// The signals a foreground `run` or `exec` forwards. Faults belong to brig itself, and
/// KILL and STOP cannot be caught.
pub fn forwarded() -> SigSet {
    let mut set = SigSet::empty();
    for sig in Signal::iterator() {
        if !matches!(
            sig,
            Signal::SIGKILL
                | Signal::SIGSTOP
                | Signal::SIGSEGV
                | Signal::SIGBUS
                | Signal::SIGILL
                | Signal::SIGFPE
                | Signal::SIGTRAP
                | Signal::SIGSYS
                | Signal::SIGABRT
        ) {
            set.add(sig);
        }
    }
    set
}

/// Block the forwarded signals before the process exists, so none is lost in between (the
/// init unblocks them for itself), and become a subreaper so a grandchild can be reaped.
pub fn prepare_foreground(subreaper: bool) -> Result<SigSet> {
    if subreaper {
        nix::sys::prctl::set_child_subreaper(true).ctx(|| "become a child subreaper")?;
    }
    let set = forwarded();
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)
        .ctx(|| "block signals")?;
    Ok(set)
}

/// Wait for `pid`, forwarding signals; its exit code, or 128 + signal when it was killed.
pub fn wait_forwarding(pid: i32, set: &SigSet) -> Result<i32> {
    let pid = Pid::from_raw(pid);
    loop {
        let sig = set.wait().ctx(|| "wait for signals")?;
        if sig != Signal::SIGCHLD {
            let _ = kill(pid, sig);
            continue;
        }
        if let Some(code) = reap(pid.as_raw()) {
            return Ok(code);
        }
    }
}

/// Reap every exited child; Some(exit code) once `pid` is among them (128 + signal when it
/// was killed).
pub fn reap(pid: i32) -> Option<i32> {
    let pid = Pid::from_raw(pid);
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(p, code)) if p == pid => return Some(code),
            Ok(WaitStatus::Signaled(p, s, _)) if p == pid => return Some(128 + s as i32),
            Ok(WaitStatus::StillAlive) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}
