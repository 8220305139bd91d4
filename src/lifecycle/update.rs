//! `update`: new resource limits for a live container's cgroup (devices are left as they
//! are), and new Intel RDT schemata for its resctrl group.

use oci_spec::runtime::LinuxResources;

use crate::cgroups::{self, resctrl};
use crate::lifecycle::state::StateRoot;
use crate::lifecycle::status::{self, Status};
use crate::support::error::{Error, Result};

/// `--l3-cache-schema` and `--mem-bw-schema`.
#[derive(Default)]
pub struct RdtUpdate<'a> {
    pub l3_cache_schema: Option<&'a str>,
    pub mem_bw_schema: Option<&'a str>,
}

pub fn update(
    root: &StateRoot,
    id: &str,
    resources: &LinuxResources,
    rdt: &RdtUpdate,
) -> Result<()> {
    let (dir, state) = root.open_container(id)?;
    // As runc: the RDT schemas are checked before anything changes.
    let l3 = rdt.l3_cache_schema.filter(|s| !s.is_empty());
    let mb = rdt.mem_bw_schema.filter(|s| !s.is_empty());
    let resctrl_root = resctrl::mount_point();
    let has = |info: &str| {
        resctrl_root
            .as_ref()
            .is_some_and(|r| r.join("info").join(info).exists())
    };
    if l3.is_some() && !has("L3") {
        return Err(Error::msg("Intel RDT/CAT: l3 cache schema is not enabled"));
    }
    if mb.is_some() && !has("MB") {
        return Err(Error::msg(
            "Intel RDT/MBA: memory bandwidth schema is not enabled",
        ));
    }
    let group = match (&state.resctrl, l3.or(mb)) {
        (None, Some(_)) => {
            return Err(Error::msg(
                "updating a non-existent Intel RDT configuration is not supported",
            ))
        }
        (group, _) => group,
    };
    if status::status_locked(&dir, &state) == Status::Stopped {
        return Err(Error::NotRunning);
    }
    cgroups::from_paths(&state.cgroup).update(resources)?;
    if let Some(group) = group {
        let lines: String = [l3, mb]
            .into_iter()
            .flatten()
            .map(|l| format!("{l}\n"))
            .collect();
        if !lines.is_empty() {
            group.write_schemata(&lines)?;
        }
    }
    Ok(())
}
