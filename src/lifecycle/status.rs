//! A container's status as the host sees it, derived from its saved state and the live
//! system (never stored), and the OCI state document runc prints.

use std::os::fd::OwnedFd;
use std::path::Path;

use serde::Serialize;

use crate::lifecycle::state::{ContainerDir, SavedState};
use crate::lifecycle::status;
use crate::support::proc::process_start_time;
use crate::support::sys;

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
            status::Status::Creating => "creating",
            status::Status::Created => "created",
            status::Status::Running => "running",
            status::Status::Paused => "paused",
            status::Status::Stopped => "stopped",
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
pub fn run_post_hooks(state: &SavedState, kind: crate::support::hooks::Kind, status: Status) {
    let Some(spec_hooks) = &state.hooks else {
        return;
    };
    let list = kind.in_hooks(spec_hooks);
    if list.is_empty() {
        return;
    }
    let json = hook_state_json(state, status, state.pid);
    if let Err(e) = crate::support::hooks::run(kind, list, &json, Some(&state.bundle)) {
        crate::support::logging::warn(&e.to_string());
    }
}

/// The status of a container from its saved state and the live system.
pub fn status(dir: &Path, state: &SavedState) -> Status {
    if state.pid == 0 {
        // Saved before the init existed: being created while its creator holds the lock,
        // stopped if the creator died.
        return if crate::lifecycle::state::is_locked(dir) {
            status::Status::Creating
        } else {
            status::Status::Stopped
        };
    }
    status_of_init(dir, state)
}

/// The status seen by a command that holds the container's lock: pid 0 then means its
/// creator died before the init was saved.
pub fn status_locked(dir: &ContainerDir, state: &SavedState) -> Status {
    if state.pid == 0 {
        return status::Status::Stopped;
    }
    status_of_init(&dir.path, state)
}

fn status_of_init(dir: &Path, state: &SavedState) -> Status {
    if process_start_time(state.pid) != Some(state.pid_start) {
        return status::Status::Stopped;
    }
    if is_frozen(state) {
        return status::Status::Paused;
    }
    if init_waits_on_fifo(&dir.join(crate::lifecycle::state::EXEC_FIFO)) {
        status::Status::Created
    } else {
        status::Status::Running
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
    let Some(dir) = state.cgroup.freezer_dir() else {
        return false;
    };
    if state.cgroup.layout == "v2" {
        crate::support::proc::read_text(dir.join("cgroup.freeze")).is_ok_and(|s| s.trim() == "1")
    } else {
        crate::support::proc::read_text(dir.join("freezer.state"))
            .is_ok_and(|s| s.trim() == "FROZEN")
    }
}

/// A pidfd for the container's init, checked against its start time so a reused pid is
/// never signalled. None when the init is gone.
pub fn init_pidfd(state: &SavedState) -> Option<OwnedFd> {
    let fd = sys::pidfd_open(state.pid).ok()?;
    // Checked after opening: the pidfd pins the process, so the check cannot go stale.
    (process_start_time(state.pid) == Some(state.pid_start)).then_some(fd)
}
