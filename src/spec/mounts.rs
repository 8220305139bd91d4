//! `mounts` and `hooks`: destinations and hook paths absolute, mount options that parse,
//! idmapped mounts and tmpcopyup where they can work.

use oci_spec::runtime::Spec;

use crate::init::rootfs::mountopts;
use crate::support::error::{Error, Result};
use crate::support::oci::namespace;
use oci_spec::runtime::LinuxNamespaceType;

pub(super) fn validate_mounts(spec: &Spec) -> Result<()> {
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        if !m.destination().is_absolute() {
            return Err(Error::config(
                format!("mounts[{i}].destination"),
                format!("{:?} is not an absolute path", m.destination()),
            ));
        }
        let opts = mountopts::parse(m.options().as_deref().unwrap_or_default())
            .map_err(|e| Error::config(format!("mounts[{i}].options"), e))?;
        validate_idmapped_mount(spec, i, m, &opts)?;
    }
    Ok(())
}

pub(super) fn validate_hooks(spec: &Spec) -> Result<()> {
    for kind in crate::support::hooks::Kind::ALL {
        for (i, hook) in kind.of(spec).iter().enumerate() {
            if !hook.path().is_absolute() {
                return Err(Error::config(
                    format!("hooks.{}[{i}].path", kind.name()),
                    format!("{:?} is not an absolute path", hook.path()),
                ));
            }
            if hook.timeout().is_some_and(|t| t <= 0) {
                return Err(Error::config(
                    format!("hooks.{}[{i}].timeout", kind.name()),
                    "must be a positive number of seconds",
                ));
            }
        }
    }
    Ok(())
}

/// An idmapped mount (`idmap`/`ridmap`, or `uidMappings`/`gidMappings` on the mount): a
/// bind mount with both mappings, or the container's own when it has a new user namespace.
fn validate_idmapped_mount(
    spec: &Spec,
    i: usize,
    m: &oci_spec::runtime::Mount,
    opts: &mountopts::MountOptions,
) -> Result<()> {
    let given = |maps: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>| {
        maps.as_ref().is_some_and(|v| !v.is_empty())
    };
    let (mut uid, mut gid) = (given(m.uid_mappings()), given(m.gid_mappings()));
    let options = format!("mounts[{i}].options");
    if opts.tmpcopyup && (opts.is_bind() || m.typ().as_deref() != Some("tmpfs")) {
        return Err(Error::config(options, "tmpcopyup is for tmpfs mounts"));
    }
    if let Some(r) = &opts.idmap_ranges {
        if uid || gid {
            return Err(Error::config(
                options,
                "idmap=uids=…;gids=… and the mount's uidMappings/gidMappings both give its mapping: keep one",
            ));
        }
        if r.uids.is_empty() || r.gids.is_empty() {
            return Err(Error::config(
                options,
                "idmap= needs both uids=… and gids=…",
            ));
        }
        let relative = r.uids.iter().chain(&r.gids).any(|x| x.relative);
        let linux = spec.linux().as_ref();
        let own = |maps: Option<&Vec<oci_spec::runtime::LinuxIdMapping>>| {
            maps.is_some_and(|v| !v.is_empty())
        };
        if relative
            && !(own(linux.and_then(|l| l.uid_mappings().as_ref()))
                && own(linux.and_then(|l| l.gid_mappings().as_ref())))
        {
            return Err(Error::config(
                options,
                "an idmap= range with @ maps through the container's uidMappings/gidMappings, and it has none",
            ));
        }
        (uid, gid) = (true, true);
    }
    if opts.idmap.is_none() && !uid && !gid {
        return Ok(());
    }
    if uid != gid {
        let missing = if uid { "gidMappings" } else { "uidMappings" };
        return Err(Error::config(
            format!("mounts[{i}].{missing}"),
            "missing (an idmapped mount needs both uidMappings and gidMappings)",
        ));
    }
    if !opts.is_bind() {
        return Err(Error::config(
            format!("mounts[{i}].options"),
            "only bind mounts (bind or rbind) can be idmapped",
        ));
    }
    if !uid {
        let new_user =
            namespace(spec, LinuxNamespaceType::User).is_some_and(|n| n.path().is_none());
        if !new_user {
            return Err(Error::config(
                format!("mounts[{i}].uidMappings"),
                "idmap without uidMappings/gidMappings needs a new user namespace to take the mappings from",
            ));
        }
    }
    for (field, maps) in [
        ("uidMappings", m.uid_mappings()),
        ("gidMappings", m.gid_mappings()),
    ] {
        for (j, map) in maps.iter().flatten().enumerate() {
            if map.size() == 0 {
                return Err(Error::config(
                    format!("mounts[{i}].{field}[{j}].size"),
                    "must not be zero",
                ));
            }
            let end = |first: u32| u64::from(first) + u64::from(map.size());
            if end(map.container_id()).max(end(map.host_id())) > u64::from(u32::MAX) {
                return Err(Error::config(
                    format!("mounts[{i}].{field}[{j}]"),
                    "the range runs past the largest id (4294967294)",
                ));
            }
        }
    }
    Ok(())
}
