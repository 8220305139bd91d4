//! `linux`: namespaces, id mappings, names, sysctls, paths, devices and the rest of the
//! Linux section, each checked by a function of its own, called in order by
//! `validate_linux`.

use std::collections::HashSet;

use oci_spec::runtime::{Linux, LinuxNamespaceType, Spec};

use crate::init::rootfs::mountopts;
use crate::support::error::{Error, Result};
use crate::support::oci::{has_namespace, namespace, ns_name, sysctl_namespace};

pub(super) fn validate_linux(spec: &Spec, linux: &Linux) -> Result<()> {
    validate_namespaces(spec, linux)?;
    validate_id_mappings(spec, linux)?;
    validate_names(spec)?;
    for (name, _) in linux.sysctl().iter().flatten() {
        check_sysctl(spec, name)?;
    }
    validate_paths(linux)?;
    validate_devices(linux)?;
    validate_mount_settings(linux)?;
    if let Some(res) = linux.resources() {
        crate::cgroups::check_supported(res)?;
        super::resources::validate_resources(res)?;
    }
    validate_time_offsets(spec, linux)?;
    if let Some(policy) = linux.memory_policy() {
        crate::init::attrs::memory_policy(policy)
            .map_err(|e| Error::config("linux.memoryPolicy", e))?;
    }
    validate_rdt_and_devices(linux)
}

/// No namespace twice, paths absolute and to namespace files (a fifo would block), and a
/// mount namespace (brig sets the root filesystem up in it).
fn validate_namespaces(spec: &Spec, linux: &Linux) -> Result<()> {
    let mut seen = HashSet::new();
    for (i, ns) in linux.namespaces().iter().flatten().enumerate() {
        if !seen.insert(ns.typ()) {
            return Err(Error::config(
                format!("linux.namespaces[{i}].type"),
                format!("duplicate namespace {:?}", ns_name(ns.typ())),
            ));
        }
        if let Some(p) = ns.path() {
            if !p.is_absolute() {
                return Err(Error::config(
                    format!("linux.namespaces[{i}].path"),
                    format!("{p:?} is not an absolute path"),
                ));
            }
            // Namespace files are regular files (nsfs); opening a fifo would block.
            if std::fs::metadata(p).is_ok_and(|m| !m.is_file()) {
                return Err(Error::config(
                    format!("linux.namespaces[{i}].path"),
                    format!("{} is not a {} namespace", p.display(), ns.typ()),
                ));
            }
        }
    }
    if !has_namespace(spec, LinuxNamespaceType::Mount) {
        return Err(Error::config(
            "linux.namespaces",
            "a mount namespace is required (brig sets the root filesystem up in it)",
        ));
    }
    Ok(())
}

/// uid/gid mappings go with a new user namespace, both of them, each range within 32 bits.
fn validate_id_mappings(spec: &Spec, linux: &Linux) -> Result<()> {
    let user = namespace(spec, LinuxNamespaceType::User);
    let new_user = user.is_some_and(|n| n.path().is_none());
    let has_maps = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
        || linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
    if new_user && !has_maps {
        return Err(Error::config(
            "linux.uidMappings",
            "a new user namespace needs uidMappings and gidMappings",
        ));
    }
    if !new_user && has_maps {
        return Err(Error::config(
            "linux.uidMappings",
            "id mappings are only valid with a new user namespace",
        ));
    }
    if new_user {
        for (field, maps) in [
            ("linux.uidMappings", linux.uid_mappings()),
            ("linux.gidMappings", linux.gid_mappings()),
        ] {
            if maps.as_ref().is_none_or(|m| m.is_empty()) {
                return Err(Error::config(
                    field,
                    "missing (a new user namespace needs both mappings)",
                ));
            }
            for (i, m) in maps.iter().flatten().enumerate() {
                if m.size() == 0 {
                    return Err(Error::config(
                        format!("{field}[{i}].size"),
                        "must not be zero",
                    ));
                }
                // Ids are 32 bits and the kernel refuses a range that wraps around.
                let end = |first: u32| u64::from(first) + u64::from(m.size());
                if end(m.container_id()).max(end(m.host_id())) > u64::from(u32::MAX) {
                    return Err(Error::config(
                        format!("{field}[{i}]"),
                        "the range runs past the largest id (4294967294)",
                    ));
                }
            }
        }
    }
    Ok(())
}

/// hostname and domainname: 64 bytes at most, and a UTS namespace to hold them.
fn validate_names(spec: &Spec) -> Result<()> {
    for (field, name) in [
        ("hostname", spec.hostname()),
        ("domainname", spec.domainname()),
    ] {
        if name.as_ref().is_some_and(|n| n.len() > 64) {
            return Err(Error::config(field, "longer than 64 bytes"));
        }
    }
    if spec.hostname().as_ref().is_some_and(|h| !h.is_empty())
        && !has_namespace(spec, LinuxNamespaceType::Uts)
    {
        return Err(Error::config(
            "hostname",
            "unable to set hostname without a private UTS namespace",
        ));
    }
    if spec.domainname().as_ref().is_some_and(|h| !h.is_empty())
        && !has_namespace(spec, LinuxNamespaceType::Uts)
    {
        return Err(Error::config(
            "domainname",
            "unable to set domainname without a private UTS namespace",
        ));
    }
    Ok(())
}

/// maskedPaths and readonlyPaths are absolute.
fn validate_paths(linux: &Linux) -> Result<()> {
    for (field, paths) in [
        ("linux.maskedPaths", linux.masked_paths()),
        ("linux.readonlyPaths", linux.readonly_paths()),
    ] {
        for (i, p) in paths.iter().flatten().enumerate() {
            if !p.starts_with('/') {
                return Err(Error::config(
                    format!("{field}[{i}]"),
                    format!("{p:?} is not an absolute path"),
                ));
            }
        }
    }
    Ok(())
}

/// linux.devices: absolute paths, and a node type (not "a").
fn validate_devices(linux: &Linux) -> Result<()> {
    for (i, d) in linux.devices().iter().flatten().enumerate() {
        if !d.path().is_absolute() {
            return Err(Error::config(
                format!("linux.devices[{i}].path"),
                format!("{:?} is not an absolute path", d.path()),
            ));
        }
        if d.typ() == oci_spec::runtime::LinuxDeviceType::A {
            return Err(Error::config(
                format!("linux.devices[{i}].type"),
                "must be one of c, b, u, p",
            ));
        }
    }
    Ok(())
}

/// rootfsPropagation, personality flags and mountLabel.
fn validate_mount_settings(linux: &Linux) -> Result<()> {
    if let Some(p) = linux.rootfs_propagation() {
        if mountopts::propagation(p).is_none() {
            return Err(Error::config(
                "linux.rootfsPropagation",
                format!(
                    "unknown propagation {p:?} (shared, slave, private, unbindable, or r-prefixed)"
                ),
            ));
        }
    }
    if linux
        .personality()
        .as_ref()
        .and_then(|p| p.flags().as_ref())
        .is_some_and(|f| !f.is_empty())
    {
        return Err(Error::Unsupported("linux.personality.flags".into()));
    }
    crate::security::lsm::check_selinux("linux.mountLabel", linux.mount_label().as_deref())?;
    Ok(())
}

/// `intelRdt`, which needs resctrl on this host.
fn validate_rdt_and_devices(linux: &Linux) -> Result<()> {
    if let Some(rdt) = linux.intel_rdt() {
        let resctrl = crate::cgroups::resctrl::mount_point();
        crate::cgroups::resctrl::validate(rdt, resctrl.as_deref())?;
    }
    validate_net_devices(linux)
}

/// `linux.netDevices`: a network namespace to move them into, and names the kernel takes
/// (runc's rule), no two of them the same inside.
fn validate_net_devices(linux: &Linux) -> Result<()> {
    let Some(devices) = linux.net_devices().as_ref().filter(|d| !d.is_empty()) else {
        return Ok(());
    };
    let has_netns = linux
        .namespaces()
        .iter()
        .flatten()
        .any(|n| n.typ() == oci_spec::runtime::LinuxNamespaceType::Network);
    if !has_netns {
        return Err(Error::config(
            "linux.netDevices",
            "unable to move network devices without a NET namespace",
        ));
    }
    let valid = |name: &str| {
        !name.is_empty()
            && name.len() < 16
            && name != "."
            && name != ".."
            && !name.contains(['/', ':', ' '])
    };
    let mut inside = std::collections::BTreeSet::new();
    for (host, device) in devices {
        if !valid(host) {
            return Err(Error::config(
                format!("linux.netDevices.{host}"),
                format!("invalid network device name {host:?}"),
            ));
        }
        let name = device.name().as_deref().filter(|n| !n.is_empty());
        if let Some(name) = name.filter(|n| !valid(n)) {
            return Err(Error::config(
                format!("linux.netDevices.{host}.name"),
                format!("invalid network device name {name:?}"),
            ));
        }
        if !inside.insert(name.unwrap_or(host)) {
            return Err(Error::config(
                format!("linux.netDevices.{host}"),
                format!(
                    "two devices are named {:?} in the container",
                    name.unwrap_or(host)
                ),
            ));
        }
    }
    Ok(())
}

/// `linux.timeOffsets`: only the clocks a time namespace offsets, and only for a new one.
fn validate_time_offsets(spec: &Spec, linux: &Linux) -> Result<()> {
    let Some(offsets) = linux.time_offsets() else {
        return Ok(());
    };
    for (clock, offset) in offsets {
        if clock != "monotonic" && clock != "boottime" {
            return Err(Error::config(
                format!("linux.timeOffsets.{clock}"),
                "unknown clock (only \"monotonic\" and \"boottime\" can be offset)",
            ));
        }
        if offset.nanosecs().is_some_and(|n| n >= 1_000_000_000) {
            return Err(Error::config(
                format!("linux.timeOffsets.{clock}.nanosecs"),
                "must be less than 1000000000",
            ));
        }
    }
    let time = namespace(spec, LinuxNamespaceType::Time);
    if offsets.is_empty() || time.is_some_and(|n| n.path().is_none()) {
        return Ok(());
    }
    Err(Error::config(
        "linux.timeOffsets",
        if time.is_some() {
            "offsets cannot be set on a time namespace joined by path"
        } else {
            "offsets need a new time namespace (linux.namespaces has no \"time\" entry)"
        },
    ))
}

/// Which namespace makes a sysctl safe to set, as runc decides it. Whether a joined one
/// is the host's is checked on the opened namespace (`namespaces::refuse_host_writes`).
fn check_sysctl(spec: &Spec, name: &str) -> Result<()> {
    let field = format!("linux.sysctl.{name}");
    // The name becomes a path under /proc/sys: a `/` or an empty part (`net..x`) could
    // climb out of the namespaced tree, e.g. `net.ipv4/../../kernel/core_pattern`.
    if name.contains('/') || name.split('.').any(str::is_empty) {
        return Err(Error::config(
            field,
            "invalid sysctl name (dot-separated parts, no \"/\" and no empty part)",
        ));
    }
    let Some(needs) = sysctl_namespace(name) else {
        return Err(Error::config(
            field,
            "sysctl is not in a separate kernel namespace",
        ));
    };
    match namespace(spec, needs) {
        Some(_) => Ok(()),
        None => Err(Error::config(
            field,
            format!(
                "sysctl {name:?} is not allowed in the hosts {} namespace (it needs a private one)",
                ns_name(needs)
            ),
        )),
    }
}
