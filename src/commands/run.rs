use clap::ArgMatches;
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::Globals;
use crate::cli::MatchesExt;
use crate::container;
use crate::create::{create, Created};
use crate::error::{Context, Error, Result};
use crate::process::channel::Msg;

pub fn run(g: &Globals, m: &ArgMatches) -> Result<i32> {
    let detach = m.bool("detach");
    if !detach && !m.bool("no-subreaper") {
        // A two-step spawn makes the init our grandchild; as subreaper we still reap it.
        nix::sys::prctl::set_child_subreaper(true).ctx(|| "become a child subreaper")?;
    }
    // Block the signals we forward before the init exists, so none is lost in between;
    // the init unblocks them for itself before it execs.
    let forwarded = forwarded_signals();
    if !detach {
        nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&forwarded), None)
            .ctx(|| "block signals")?;
    }
    let opts = super::create::options(g, m, true);
    let Created { dir, state, init } =
        create(&g.root, &opts).map_err(|e| Error::msg(format!("brig run failed: {e}")))?;
    init.commit(Msg::Exec)?;
    if detach {
        return Ok(0);
    }
    // Other brig commands (kill, state) must be able to lock the container meanwhile.
    drop(dir);
    let code = wait_forwarding(state.pid, &forwarded)?;
    if !m.bool("keep") {
        let (dir, state) = container::open(&g.root, &state.id)?;
        container::destroy(dir, &state)?;
    }
    Ok(code)
}

fn forwarded_signals() -> SigSet {
    let mut set = SigSet::empty();
    for sig in Signal::iterator() {
        // Faults are about brig itself; KILL and STOP cannot be caught.
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

/// Wait for the init, forwarding every signal we receive; return its exit code, or
/// 128 + signal when it was killed.
fn wait_forwarding(init: i32, set: &SigSet) -> Result<i32> {
    let init = Pid::from_raw(init);
    loop {
        let sig = set.wait().ctx(|| "wait for signals")?;
        if sig != Signal::SIGCHLD {
            let _ = kill(init, sig);
            continue;
        }
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) if pid == init => return Ok(code),
                Ok(WaitStatus::Signaled(pid, s, _)) if pid == init => return Ok(128 + s as i32),
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    }
}
