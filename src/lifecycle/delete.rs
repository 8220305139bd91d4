//! Deleting a container: kill what is left, remove its cgroup (and resctrl group) and its
//! state directory, then the poststop hooks.

use crate::cgroups;
use crate::lifecycle::kill::kill_all_and_wait;
use crate::lifecycle::state::{ContainerDir, SavedState, StateRoot};
use crate::lifecycle::status::{self, run_post_hooks, Status};
use crate::support::crash;
use crate::support::error::{Error, Result};

/// Remove what a stopped container holds: its cgroup and its state directory.
pub fn destroy(dir: ContainerDir, state: &SavedState) -> Result<()> {
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
