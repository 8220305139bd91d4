//! `update`: new resource limits for a live container's cgroup (devices are left as they
//! are).

use oci_spec::runtime::LinuxResources;

use crate::cgroups;
use crate::lifecycle::state::StateRoot;
use crate::lifecycle::status::{self, Status};
use crate::support::error::{Error, Result};

pub fn update(root: &StateRoot, id: &str, resources: &LinuxResources) -> Result<()> {
    let (dir, state) = root.open_container(id)?;
    if status::status_locked(&dir, &state) == Status::Stopped {
        return Err(Error::NotRunning);
    }
    cgroups::from_paths(&state.cgroup).update(resources)
}
