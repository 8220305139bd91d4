//! A container's lifecycle seen from the host: its status, its OCI state, signals, and
//! tearing it down.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use serde::Serialize;

use crate::cgroups;
use crate::crash;
use crate::error::{Error, Result};
use crate::state::{ContainerDir, SavedState, StateRoot};
use crate::sys;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// The OCI state document, shaped exactly as runc prints it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OciState<'a> {
    pub oci_version: &'a str,
    pub id: &'a str,
    pub pid: i32,
    pub status: &'static str,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub created: &'a str,
    pub owner: &'a str,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub annotations: &'a std::collections::BTreeMap<String, String>,
}

impl<'a> OciState<'a> {
    /// The document for a saved container at a status, with the pid to report.
    pub fn of(state: &'a SavedState, status: Status, pid: i32) -> OciState<'a> {
        OciState {
            oci_version: &state.oci_version,
            id: &state.id,
            pid,
            status: status.as_str(),
            bundle: &state.bundle,
            rootfs: &state.rootfs,
            created: &state.created,
            owner: "",
            annotations: &state.annotations,
        }
    }
}

/// The state JSON a hook reads on its stdin.
pub fn hook_state_json(state: &SavedState, status: Status, pid: i32) -> String {
    serde_json::to_string(&OciState::of(state, status, pid)).unwrap_or_default()
}

/// Run poststart or poststop hooks; their failure is only a warning (runtime-spec).
pub fn run_post_hooks(state: &SavedState, kind: crate::hooks::Kind, status: Status) {
    let Some(spec_hooks) = &state.hooks else {
        return;
    };
    let list = kind.in_hooks(spec_hooks);
    if list.is_empty() {
        return;
    }
    let json = hook_state_json(state, status, state.pid);
    if let Err(e) = crate::hooks::run(kind, list, &json, Some(&state.bundle)) {
        crate::logging::warn(&e.to_string());
    }
}

/// The start time (jiffies since boot) of a live, non-zombie process, from /proc/PID/stat.
pub fn process_start_time(pid: i32) -> Option<u64> {
    if pid <= 0 {
        return None;
    }
    let rest = stat_after_name(pid)?;
    let mut fields = rest.split(' ');
    let state = fields.next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    // starttime is field 22 of the line; `rest` starts at field 3.
    fields.nth(22 - 4)?.parse().ok()
}

/// /proc/PID/stat from field 3 (the state) on. The command name may hold spaces and
/// parentheses: the fields start after the last ')'.
fn stat_after_name(pid: i32) -> Option<String> {
    let mut stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let start = stat.rfind(')')? + 2;
    stat.drain(..start.min(stat.len()));
    Some(stat)
}

/// The status of a container from its saved state and the live system.
pub fn status(dir: &Path, state: &SavedState) -> Status {
    if state.pid == 0 {
        // Saved before the init existed: being created while its creator holds the lock,
        // stopped if the creator died.
        return if crate::state::is_locked(dir) {
            Status::Creating
        } else {
            Status::Stopped
        };
    }
    status_of_init(dir, state)
}

/// The status seen by a command that holds the container's lock: pid 0 then means its
/// creator died before the init was saved.
pub fn status_locked(dir: &ContainerDir, state: &SavedState) -> Status {
    if state.pid == 0 {
        return Status::Stopped;
    }
    status_of_init(&dir.path, state)
}

fn status_of_init(dir: &Path, state: &SavedState) -> Status {
    if process_start_time(state.pid) != Some(state.pid_start) {
        return Status::Stopped;
    }
    if is_frozen(state) {
        return Status::Paused;
    }
    if init_waits_on_fifo(&dir.join(crate::state::EXEC_FIFO)) {
        Status::Created
    } else {
        Status::Running
    }
}

/// The init holds the exec fifo open (close-on-exec) until it execs, so the fifo having a
/// reader means it still waits for `start`. A missing fifo, or one left behind by a
/// `start` killed after releasing the init, means it runs.
fn init_waits_on_fifo(fifo: &Path) -> bool {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(fifo)
        .is_ok()
}

fn is_frozen(state: &SavedState) -> bool {
    let v1 = state
        .cgroup
        .dirs
        .iter()
        .find(|(k, _)| k.split(',').any(|c| c == "freezer"));
    match v1 {
        Some((_, dir)) => {
            std::fs::read_to_string(dir.join("freezer.state")).is_ok_and(|s| s.trim() == "FROZEN")
        }
        None => state
            .cgroup
            .dirs
            .get("unified")
            .filter(|_| state.cgroup.layout == "v2")
            .and_then(|d| std::fs::read_to_string(d.join("cgroup.freeze")).ok())
            .is_some_and(|s| s.trim() == "1"),
    }
}

/// A pidfd for the container's init, checked against its start time so a reused pid is
/// never signalled. None when the init is gone.
pub fn init_pidfd(state: &SavedState) -> Option<OwnedFd> {
    let fd = sys::pidfd_open(state.pid).ok()?;
    // Checked after opening: the pidfd pins the process, so the check cannot go stale.
    (process_start_time(state.pid) == Some(state.pid_start)).then_some(fd)
}

/// Parse a signal as runc does: a number, or a name with or without SIG, any case.
pub fn parse_signal(raw: &str) -> Result<i32> {
    if let Ok(n) = raw.parse::<i32>() {
        if (1..=64).contains(&n) {
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

/// Host pids of the container's processes: those in its cgroup tree but the ones that
/// were there before it, or, for a rootless container that has none, those found through
/// /proc (`processes_without_cgroup`).
pub fn processes(state: &SavedState) -> Result<Vec<i32>> {
    if state.cgroup.dirs.is_empty() {
        return Ok(processes_without_cgroup(state));
    }
    cgroup_processes(state, &*cgroups::from_paths(&state.cgroup))
}

fn cgroup_processes(state: &SavedState, cg: &dyn cgroups::CgroupManager) -> Result<Vec<i32>> {
    let mut pids = cg.pids()?;
    if !state.cgroup.foreign.is_empty() {
        pids.retain(|&p| !state.cgroup.is_foreign(p));
    }
    Ok(pids)
}

/// The init, its descendants, and (with a pid namespace of its own) every other process
/// in that namespace, such as an exec'd one. A process that is neither (one that left
/// the tree by double-forking on the host's pid namespace, or one whose namespace is
/// unreadable, non-dumpable, outside the tree) is missed: only a cgroup holds on to
/// everything.
fn processes_without_cgroup(state: &SavedState) -> Vec<i32> {
    use std::os::unix::fs::MetadataExt;
    if process_start_time(state.pid) != Some(state.pid_start) {
        return Vec::new();
    }
    let all: Vec<i32> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    let parent =
        |pid: i32| -> Option<i32> { stat_after_name(pid)?.split(' ').nth(1)?.parse().ok() };
    let parents: Vec<(i32, i32)> = all.iter().filter_map(|&p| Some((p, parent(p)?))).collect();
    let mut found = vec![state.pid];
    let mut i = 0;
    while i < found.len() {
        let of = found[i];
        found.extend(parents.iter().filter(|(_, pp)| *pp == of).map(|(p, _)| *p));
        i += 1;
    }
    let pid_ns = |pid: i32| {
        std::fs::metadata(format!("/proc/{pid}/ns/pid"))
            .ok()
            .map(|m| m.ino())
    };
    // The init's namespace is unreadable until it execs (non-dumpable); then the tree is
    // all there is.
    if let Some(ns) = pid_ns(state.pid).filter(|_| state.own_pid_ns) {
        let others: Vec<i32> = all
            .iter()
            .copied()
            .filter(|p| !found.contains(p) && pid_ns(*p) == Some(ns))
            .collect();
        found.extend(others);
    }
    found
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

/// Remove what a stopped container holds: its cgroup and its state directory.
pub fn destroy(dir: ContainerDir, state: &SavedState) -> Result<()> {
    kill_all_and_wait(state)?;
    crash::point("delete: processes killed");
    let left = cgroups::from_paths(&state.cgroup).destroy()?;
    if !left.is_empty() {
        let dirs: Vec<String> = left.iter().map(|d| d.display().to_string()).collect();
        crate::logging::warn(&format!(
            "left cgroup {}: it holds processes that are not the container's",
            dirs.join(", ")
        ));
    }
    crash::point("delete: cgroup removed");
    dir.remove()?;
    crash::point("delete: state removed");
    // A container whose create never finished gets no poststop, as a failed create.
    if state.pid != 0 {
        run_post_hooks(state, crate::hooks::Kind::Poststop, Status::Stopped);
    }
    Ok(())
}

/// Load a container for a command that changes it (locks its directory).
pub fn open(root: &StateRoot, id: &str) -> Result<(ContainerDir, SavedState)> {
    let dir = root.open(id)?;
    let state = dir.load()?;
    Ok((dir, state))
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
        assert!(parse_signal("0").is_err());
    }

    #[test]
    fn our_own_process_is_alive() {
        let me = std::process::id() as i32;
        assert!(process_start_time(me).is_some());
        assert!(process_start_time(0).is_none());
    }
}
