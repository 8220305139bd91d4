//! `pause` and `resume`: freeze and thaw the container's cgroup.

use crate::cgroups;
use crate::lifecycle::state::StateRoot;
use crate::lifecycle::status::{self, Status};
use crate::support::error::{Error, Result};

pub fn pause(root: &StateRoot, id: &str) -> Result<()> {
    let (dir, state) = root.open_container(id)?;
    match status::status_locked(&dir, &state) {
        Status::Running | Status::Created => {}
        _ => return Err(Error::NotRunning),
    }
    cgroups::from_paths(&state.cgroup).freeze(true)
}

pub fn resume(root: &StateRoot, id: &str) -> Result<()> {
    let (dir, state) = root.open_container(id)?;
    if status::status_locked(&dir, &state) != Status::Paused {
        return Err(Error::msg("container not paused"));
    }
    cgroups::from_paths(&state.cgroup).freeze(false)
}
