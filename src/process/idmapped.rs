//! Idmapped mounts, prepared on the host before the init is forked: for each, a detached
//! copy of its source that shows owners through the mount's maps (or the container's).
//! Giving a mount an id mapping needs privileges in the host's user namespace, which the
//! init in a new user namespace no longer has; it only moves the copy into place.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::mount::MsFlags;
use oci_spec::runtime::Spec;

use crate::init::rootfs::mountopts;
use crate::support::error::{Error, Result};

/// On the host, before the init is forked: for each idmapped mount, a detached copy of
/// its source (the tree below it too with `rbind`) that shows owners through the mount's
/// `uidMappings`/`gidMappings`, or the container's own maps when the mount has none.
/// Giving a mount an id mapping needs privileges in the host's user namespace, which the
/// init in a new user namespace no longer has; it only moves the copy into place.
pub fn prepare_idmapped(spec: &Spec, bundle: &Path) -> Result<Vec<(usize, OwnedFd)>> {
    let mut prepared = Vec::new();
    let linux = spec.linux().as_ref();
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let opts =
            mountopts::parse(m.options().as_deref().unwrap_or_default()).map_err(Error::msg)?;
        let own = |maps: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>| {
            maps.clone().filter(|v| !v.is_empty())
        };
        let (mut uid, mut gid) = (own(m.uid_mappings()), own(m.gid_mappings()));
        if opts.idmap.is_none() && uid.is_none() && gid.is_none() {
            continue;
        }
        if let Some(r) = &opts.idmap_ranges {
            let container = |maps: Option<&Vec<_>>| maps.cloned().unwrap_or_default();
            uid = Some(
                ranges_to_maps(
                    &r.uids,
                    &container(linux.and_then(|l| l.uid_mappings().as_ref())),
                )
                .map_err(|e| Error::config(format!("mounts[{i}].options"), e))?,
            );
            gid = Some(
                ranges_to_maps(
                    &r.gids,
                    &container(linux.and_then(|l| l.gid_mappings().as_ref())),
                )
                .map_err(|e| Error::config(format!("mounts[{i}].options"), e))?,
            );
        }
        let field = format!("mounts[{i}]");
        if !nix::unistd::geteuid().is_root() {
            return Err(Error::config(
                field,
                "an idmapped mount needs root: the kernel asks for CAP_SYS_ADMIN over the source's filesystem, which a rootless container does not have",
            ));
        }
        let uid = uid
            .or_else(|| linux.and_then(|l| own(l.uid_mappings())))
            .unwrap_or_default();
        let gid = gid
            .or_else(|| linux.and_then(|l| own(l.gid_mappings())))
            .unwrap_or_default();
        let source = m.source().as_ref().ok_or_else(|| {
            Error::config(format!("{field}.source"), "a bind mount needs a source")
        })?;
        let source = bundle.join(source);
        let c_source = std::ffi::CString::new(source.as_os_str().as_encoded_bytes())
            .map_err(|_| Error::config(format!("{field}.source"), "contains a NUL byte"))?;
        let userns = super::namespaces::userns_with_maps(&uid, &gid)
            .map_err(|e| e.wrap(&format!("{field} (idmapped mount)")))?;
        let tree =
            crate::support::sys::open_tree_clone(&c_source, opts.flags.contains(MsFlags::MS_REC))
                .map_err(|e| Error::os(format!("{field}: open_tree {}", source.display()), e))?;
        crate::support::sys::mount_setattr_idmap(
            tree.as_fd(),
            userns.as_fd(),
            opts.idmap == Some(true),
        )
        .map_err(|e| {
            Error::os(
                format!("{field}: idmap {} (mount_setattr)", source.display()),
                e,
            )
        })?;
        prepared.push((i, tree));
    }
    Ok(prepared)
}

/// crun's `idmap=` ranges as id mappings; a relative range (`@`) names container ids,
/// taken through the container's own mappings, and must fall within one of them.
fn ranges_to_maps(
    ranges: &[mountopts::IdRange],
    container: &[oci_spec::runtime::LinuxIdMapping],
) -> std::result::Result<Vec<oci_spec::runtime::LinuxIdMapping>, String> {
    ranges
        .iter()
        .map(|r| {
            let host = if r.relative {
                let within = container.iter().find(|m| {
                    r.host >= m.container_id()
                        && u64::from(r.host) + u64::from(r.size)
                            <= u64::from(m.container_id()) + u64::from(m.size())
                });
                let m = within.ok_or_else(|| {
                    format!(
                        "idmap range @{}-{}-{}: container ids {}..{} are not all in one of the container's mappings",
                        r.container,
                        r.host,
                        r.size,
                        r.host,
                        u64::from(r.host) + u64::from(r.size)
                    )
                })?;
                m.host_id() + (r.host - m.container_id())
            } else {
                r.host
            };
            oci_spec::runtime::LinuxIdMappingBuilder::default()
                .container_id(r.container)
                .host_id(host)
                .size(r.size)
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}
