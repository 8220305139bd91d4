use clap::ArgMatches;

use super::{id, Globals};
use crate::cgroups;
use crate::container::{self, Status};
use crate::error::{Error, Result};

pub fn pause(g: &Globals, m: &ArgMatches) -> Result<i32> {
    let (dir, state) = container::open(&g.root, id(m))?;
    match container::status_locked(&dir, &state) {
        Status::Running | Status::Created => {}
        _ => return Err(Error::NotRunning),
    }
    cgroups::from_paths(&state.cgroup).freeze(true)?;
    Ok(0)
}

pub fn resume(g: &Globals, m: &ArgMatches) -> Result<i32> {
    let (dir, state) = container::open(&g.root, id(m))?;
    if container::status_locked(&dir, &state) != Status::Paused {
        return Err(Error::msg("container not paused"));
    }
    cgroups::from_paths(&state.cgroup).freeze(false)?;
    Ok(0)
}
