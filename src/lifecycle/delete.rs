//! Deleting a container: kill what is left, remove its cgroup (and resctrl group) and its
//! state directory, then the poststop hooks.

use std::os::fd::{AsFd, OwnedFd};

use crate::cgroups;
use crate::lifecycle::kill::kill_all_and_wait;
use crate::lifecycle::state::{ContainerDir, SavedState, StateRoot};
use crate::lifecycle::status::{self, run_post_hooks, Status};
use crate::support::crash;
use crate::support::error::{Error, Result};
use crate::support::proc::process_start_time;

/// Remove what a stopped container holds: its cgroup and its state directory.
pub fn destroy(dir: ContainerDir, state: &SavedState) -> Result<()> {
    // Held across the kill so that the devices outlive the init with it.
    let devices_ns = (!state.net_devices.is_empty())
        .then(|| devices_namespace(state))
        .flatten();
    kill_all_and_wait(state)?;
    crash::point("delete: processes killed");
    let left = cgroups::from_paths(&state.cgroup).destroy()?;
    if !left.is_empty() {
        let dirs: Vec<String> = left.iter().map(|d| d.display().to_string()).collect();
        crate::support::logging::warn(&format!(
            "left cgroup {}: it holds processes that are not the container's",
            dirs.join(", ")
        ));
    }
    if let Some(group) = &state.resctrl {
        group.remove()?;
    }
    crash::point("delete: cgroup removed");
    return_net_devices(state, devices_ns);
    dir.remove()?;
    crash::point("delete: state removed");
    // A container whose create never finished gets no poststop, as a failed create.
    if state.pid != 0 {
        run_post_hooks(
            state,
            crate::support::hooks::Kind::Poststop,
            Status::Stopped,
        );
    }
    Ok(())
}

/// The namespace to take `linux.netDevices` back from: a live init's, else the one the
/// container joined by path.
fn devices_namespace(state: &SavedState) -> Option<OwnedFd> {
    let of_init = || {
        let _pidfd = status::init_pidfd(state)?;
        let ns = crate::process::net_devices::hold_namespace(state.pid).ok()?;
        // Checked after the open: the namespace is the init's only if the pid still is.
        (process_start_time(state.pid) == Some(state.pid_start)).then_some(ns)
    };
    of_init().or_else(|| state.net_devices_ns.as_ref()?.open())
}

/// Move `linux.netDevices` back to the host; a failure is a warning, as the container is
/// gone either way.
fn return_net_devices(state: &SavedState, ns: Option<OwnedFd>) {
    if state.net_devices.is_empty() {
        return;
    }
    let names: Vec<&str> = state.net_devices.keys().map(String::as_str).collect();
    let Some(ns) = ns else {
        crate::support::logging::warn(&format!(
            "network devices {} not moved back: the container's network namespace is gone (the kernel returns a physical device itself)",
            names.join(", ")
        ));
        return;
    };
    if let Err(e) = crate::process::net_devices::move_out(&state.net_devices, ns.as_fd()) {
        crate::support::logging::warn(&e.to_string());
    }
}

/// `delete`: a stopped (or created) container, or with `force` any, and with `force` an
/// id whose state is unreadable or already gone.
pub fn delete(root: &StateRoot, id: &str, force: bool) -> Result<()> {
    let (dir, state) = match root.open_container(id) {
        // `delete --force` of a container that is already gone succeeds (containerd relies
        // on it), and clears what an id without a readable state left behind.
        Err(Error::NoSuchContainer) if force => {
            root.remove_debris(id)?;
            return Ok(());
        }
        Err(e) if force => {
            if !root.remove_debris(id)? {
                return Err(e);
            }
            crate::support::logging::warn(&format!(
                "{e}; removed the state directory (whatever processes or cgroup it named are not known)"
            ));
            return Ok(());
        }
        other => other?,
    };
    crate::support::crash::point("delete: locked");
    let status = status::status_locked(&dir, &state);
    match status {
        status::Status::Stopped | status::Status::Created => {}
        _ if force => {}
        other => {
            return Err(Error::msg(format!(
                "cannot delete container {id} that is not stopped: {}",
                other.as_str()
            )))
        }
    }
    destroy(dir, &state)
}
