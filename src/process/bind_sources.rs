//! Bind-mount sources opened on the host, before the init enters a new user namespace:
//! there it is root only of that namespace, and a source only the host's root can reach
//! (under a 0700 directory, say) would be out of its reach. Each is cloned here as a
//! detached mount (open_tree, recursive for rbind), which the init moves into place from
//! its own mount namespace (a plain fd of the host's namespace could not be bound there).

use std::os::fd::OwnedFd;
use std::path::Path;

use oci_spec::runtime::Spec;

use crate::init::rootfs::mountopts;
use crate::support::error::{Error, Result};

/// For each bind mount (idmapped ones aside, which are prepared whole): its index in
/// `mounts` and a detached copy of its source. Nothing without a new user namespace (the
/// init has the host's credentials then), nor for brig without root, whose credentials
/// the init keeps, and which may not clone mounts.
pub fn open_bind_sources(
    spec: &Spec,
    bundle: &Path,
    new_user_ns: bool,
) -> Result<Vec<(usize, OwnedFd)>> {
    if !new_user_ns || !nix::unistd::geteuid().is_root() {
        return Ok(Vec::new());
    }
    let mut opened = Vec::new();
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let opts =
            mountopts::parse(m.options().as_deref().unwrap_or_default()).map_err(Error::msg)?;
        if !opts.is_bind() || opts.idmap.is_some() || m.uid_mappings().is_some() {
            continue;
        }
        let Some(source) = m.source() else {
            continue;
        };
        let source = bundle.join(source);
        let path = std::ffi::CString::new(source.as_os_str().as_encoded_bytes())
            .map_err(|_| Error::config(format!("mounts[{i}].source"), "contains a NUL byte"))?;
        let recursive = opts.flags.contains(nix::mount::MsFlags::MS_REC);
        let fd = crate::support::sys::open_tree_clone(&path, recursive).map_err(|e| {
            Error::os(
                format!("mounts[{i}]: open bind source {}", source.display()),
                e,
            )
        })?;
        opened.push((i, fd));
    }
    Ok(opened)
}
