//! Signals to a container: runc's signal names, the init or every process, and killing
//! everything and waiting until it is gone (without polling: pidfds).

use std::os::fd::{AsFd, OwnedFd};

use crate::cgroups;
use crate::lifecycle::processes::{cgroup_processes, processes, processes_without_cgroup};
use crate::lifecycle::state::{SavedState, StateRoot};
use crate::lifecycle::status::{self, init_pidfd};
use crate::support::error::{Error, Result};
use crate::support::sys;

/// Parse a signal as runc does: a number, or a name with or without SIG, any case.
pub fn parse_signal(raw: &str) -> Result<i32> {
    if let Ok(n) = raw.parse::<i32>() {
        // 0 sends nothing and asks whether the process is there (`kill ID 0`, as runc).
        if (0..=64).contains(&n) {
            return Ok(n);
        }
        return Err(Error::msg(format!("unknown signal {raw:?}")));
    }
    let upper = raw.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    let sig = match name {
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "ILL" => libc::SIGILL,
        "TRAP" => libc::SIGTRAP,
        "ABRT" | "IOT" => libc::SIGABRT,
        "BUS" => libc::SIGBUS,
        "FPE" => libc::SIGFPE,
        "KILL" => libc::SIGKILL,
        "USR1" => libc::SIGUSR1,
        "SEGV" => libc::SIGSEGV,
        "USR2" => libc::SIGUSR2,
        "PIPE" => libc::SIGPIPE,
        "ALRM" => libc::SIGALRM,
        "TERM" => libc::SIGTERM,
        "STKFLT" => libc::SIGSTKFLT,
        "CHLD" | "CLD" => libc::SIGCHLD,
        "CONT" => libc::SIGCONT,
        "STOP" => libc::SIGSTOP,
        "TSTP" => libc::SIGTSTP,
        "TTIN" => libc::SIGTTIN,
        "TTOU" => libc::SIGTTOU,
        "URG" => libc::SIGURG,
        "XCPU" => libc::SIGXCPU,
        "XFSZ" => libc::SIGXFSZ,
        "VTALRM" => libc::SIGVTALRM,
        "PROF" => libc::SIGPROF,
        "WINCH" => libc::SIGWINCH,
        "IO" | "POLL" => libc::SIGIO,
        "PWR" => libc::SIGPWR,
        "SYS" => libc::SIGSYS,
        _ => return rt_signal(name).ok_or_else(|| Error::msg(format!("unknown signal {raw:?}"))),
    };
    Ok(sig)
}

/// RTMIN, RTMIN+n, RTMAX-n.
fn rt_signal(name: &str) -> Option<i32> {
    let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
    let sig = if name == "RTMIN" {
        min
    } else if name == "RTMAX" {
        max
    } else if let Some(n) = name.strip_prefix("RTMIN+") {
        min + n.parse::<i32>().ok()?
    } else if let Some(n) = name.strip_prefix("RTMAX-") {
        max - n.parse::<i32>().ok()?
    } else {
        return None;
    };
    (min..=max).contains(&sig).then_some(sig)
}

/// `kill`: a signal (runc's spellings) to a running container's init, or with `all` to
/// every process of the container.
pub fn kill(root: &StateRoot, id: &str, signal_name: &str, all: bool) -> Result<()> {
    let sig = parse_signal(signal_name)?;
    let state = root.peek(id)?;
    if status::status(&root.dir().join(id), &state) == status::Status::Stopped {
        if !all {
            return Err(Error::NotRunning);
        }
        // As runc: `kill --all` of a stopped container signals what is left in its cgroup
        // (containerd's shim calls it once the init is gone, for every container without a
        // pid namespace of its own), and succeeds.
        return signal_leftovers(&state, sig);
    }
    signal(&state, sig, all)
}

/// The processes a stopped container left (none when its pid namespace went with it).
fn signal_leftovers(state: &SavedState, sig: i32) -> Result<()> {
    if state.own_pid_ns || state.cgroup.dirs.is_empty() {
        return Ok(());
    }
    // A cgroup already gone holds nothing.
    for pid in processes(state).unwrap_or_default() {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::try_from(sig).ok(),
        );
    }
    Ok(())
}

/// Send a signal to the init, or with `all` to every process of the container. A SIGKILL
/// to a container with its own pid namespace goes to the init alone: the kernel then kills
/// every process of the namespace, and nothing outside it.
pub fn signal(state: &SavedState, sig: i32, all: bool) -> Result<()> {
    let pidfd = init_pidfd(state).ok_or(Error::NotRunning)?;
    if all && !(state.own_pid_ns && sig == libc::SIGKILL) {
        signal_cgroup(state, sig)?;
    }
    match sys::pidfd_send_signal(pidfd.as_fd(), sig) {
        Ok(()) => Ok(()),
        // Already dead (zombie): nothing left to signal.
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) && all => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Err(Error::NotRunning),
        Err(e) => Err(Error::os(
            format!("signal the container's init (pid {})", state.pid),
            e,
        )),
    }
}

fn signal_cgroup(state: &SavedState, sig: i32) -> Result<()> {
    for pid in processes(state)? {
        // A process may exit between listing and signalling; that is fine.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::try_from(sig).ok(),
        );
    }
    Ok(())
}

/// How long a killed process may take to go away. A pid namespace's init cannot finish
/// exiting while a process of its namespace is an unreaped zombie of an outside parent;
/// brig reports that instead of hanging, as runc gives up after 10 s.
const EXIT_TIMEOUT_MS: u16 = 10_000;

/// Wait until a pidfd's process has exited, without polling; false on timeout.
pub fn wait_exit(pidfd: &OwnedFd) -> bool {
    let mut fds = [nix::poll::PollFd::new(
        pidfd.as_fd(),
        nix::poll::PollFlags::POLLIN,
    )];
    loop {
        match nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(EXIT_TIMEOUT_MS)) {
            Err(nix::errno::Errno::EINTR) => continue,
            Ok(0) => return false,
            _ => return true,
        }
    }
}

/// Kill every process of the container and wait until they are gone.
pub fn kill_all_and_wait(state: &SavedState) -> Result<()> {
    let cg = cgroups::from_paths(&state.cgroup);
    let stuck = |pid: i32| {
        Error::msg(format!(
            "process {pid} of the container did not exit within {}s of SIGKILL",
            EXIT_TIMEOUT_MS / 1000
        ))
    };
    // Without a cgroup or a pid namespace, the init's descendants are only known while it
    // lives: stop them first (until no new one shows up), so none forks or leaves the
    // tree, then kill them below.
    let mut strays: Vec<i32> = Vec::new();
    if state.cgroup.dirs.is_empty() && !state.own_pid_ns {
        for _ in 0..100 {
            let new: Vec<i32> = processes_without_cgroup(state)
                .into_iter()
                .filter(|p| !strays.contains(p))
                .collect();
            if new.is_empty() {
                break;
            }
            for &pid in &new {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGSTOP,
                );
            }
            strays.extend(new);
        }
    }
    if let Some(pidfd) = init_pidfd(state) {
        let _ = sys::pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL);
        // A frozen process only acts on SIGKILL once thawed (a paused container, or a
        // cgroup below it frozen on its own).
        cg.thaw_tree();
        if !wait_exit(&pidfd) {
            return Err(stuck(state.pid));
        }
    }
    // With its own pid namespace, the init's death took every process of the container
    // along; what else is in the cgroup is not the container's. (A create killed before
    // it saved the init's pid leaves an init only the cgroup knows.)
    if state.own_pid_ns && state.pid != 0 && !state.cgroup.dirs.is_empty() {
        return Ok(());
    }
    // Without one, the init's death does not take the rest along. Each round kills what
    // is listed (the whole cgroup tree, but processes that were there before the
    // container); new forks show up in the next round.
    cg.thaw_tree();
    for _ in 0..100 {
        let pids = if state.cgroup.dirs.is_empty() {
            std::mem::take(&mut strays)
        } else {
            cgroup_processes(state, &*cg).unwrap_or_default()
        };
        if pids.is_empty() {
            break;
        }
        for pid in pids {
            if let Ok(fd) = sys::pidfd_open(pid) {
                let _ = sys::pidfd_send_signal(fd.as_fd(), libc::SIGKILL);
                if !wait_exit(&fd) {
                    return Err(stuck(pid));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_parse_like_runc() {
        assert_eq!(parse_signal("9").unwrap(), 9);
        assert_eq!(parse_signal("KILL").unwrap(), 9);
        assert_eq!(parse_signal("SIGKILL").unwrap(), 9);
        assert_eq!(parse_signal("sigterm").unwrap(), 15);
        assert_eq!(parse_signal("RTMIN+1").unwrap(), libc::SIGRTMIN() + 1);
        assert_eq!(
            parse_signal("NOSIG").unwrap_err().to_string(),
            "unknown signal \"NOSIG\""
        );
        assert_eq!(parse_signal("0").unwrap(), 0);
        assert!(parse_signal("65").is_err());
    }
}
