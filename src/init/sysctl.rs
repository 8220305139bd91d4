//! `linux.sysctl`: written through the container's verified /proc.

use crate::support::error::{Error, Result};
use oci_spec::runtime::Spec;

/// Write `linux.sysctl` through the container's verified /proc.
pub fn apply_sysctls(spec: &Spec) -> Result<()> {
    let Some(sysctls) = spec.linux().as_ref().and_then(|l| l.sysctl().as_ref()) else {
        return Ok(());
    };
    if sysctls.is_empty() {
        return Ok(());
    }
    let proc = crate::support::procfs::ProcRoot::open()?;
    for (name, value) in sysctls {
        let rel = format!("sys/{}", name.replace('.', "/"));
        proc.write(&rel, value.as_bytes(), true)
            .map_err(|e| Error::config(format!("linux.sysctl.{name}"), e))?;
    }
    Ok(())
}
