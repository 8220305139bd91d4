//! Which processes are a container's: those in its cgroup tree but the ones found there
//! before it, or, for a rootless container without a cgroup, those found through /proc.

use crate::cgroups;
use crate::lifecycle::state::SavedState;
use crate::support::error::Result;
use crate::support::proc::{parent_pid, process_start_time};

/// Host pids of the container's processes: those in its cgroup tree but the ones that
/// were there before it, or, for a rootless container that has none, those found through
/// /proc (`processes_without_cgroup`).
pub fn processes(state: &SavedState) -> Result<Vec<i32>> {
    if state.cgroup.dirs.is_empty() {
        return Ok(processes_without_cgroup(state));
    }
    cgroup_processes(state, &*cgroups::from_paths(&state.cgroup))
}

pub(crate) fn cgroup_processes(
    state: &SavedState,
    cg: &dyn cgroups::CgroupManager,
) -> Result<Vec<i32>> {
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
pub(crate) fn processes_without_cgroup(state: &SavedState) -> Vec<i32> {
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
    let parents: Vec<(i32, i32)> = all
        .iter()
        .filter_map(|&p| Some((p, parent_pid(p)?)))
        .collect();
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
