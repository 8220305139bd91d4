//! `linux.resources`: values the cgroup files would refuse with a bare EINVAL, named here.

use crate::support::error::{Error, Result};

/// Values the cgroup files would refuse with a bare EINVAL, named here instead.
pub(super) fn validate_resources(res: &oci_spec::runtime::LinuxResources) -> Result<()> {
    if let Some(m) = res.memory() {
        for (name, v) in [
            ("limit", m.limit()),
            ("reservation", m.reservation()),
            ("swap", m.swap()),
        ] {
            if v.is_some_and(|v| v < -1) {
                return Err(Error::config(
                    format!("linux.resources.memory.{name}"),
                    "must be a number of bytes, or -1 for unlimited",
                ));
            }
        }
    }
    if let Some(c) = res.cpu() {
        for (name, list) in [("cpus", c.cpus()), ("mems", c.mems())] {
            if let Some(list) = list.as_deref().filter(|l| !l.is_empty()) {
                crate::support::oci::parse_cpu_list(list)
                    .map_err(|e| Error::config(format!("linux.resources.cpu.{name}"), e))?;
            }
        }
    }
    for (i, d) in res.devices().iter().flatten().enumerate() {
        // runc takes other letters and ignores them ("rwa" acts as "rw"): so does brig,
        // saying so.
        let access = d.access().as_deref().unwrap_or_default();
        if !access.chars().all(|c| "rwm".contains(c)) {
            crate::support::logging::warn(&format!(
                "linux.resources.devices[{i}].access {access:?}: only r, w and m mean anything; the rest is ignored"
            ));
        }
    }
    Ok(())
}
