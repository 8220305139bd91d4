use serde_json::json;

use crate::support::error::{Error, Result};

/// What this build of brig supports, per the runtime-spec features document. Every entry
/// must stay true: CRI-O and containerd decide what to send from it.
pub fn run() -> Result<i32> {
    let caps: Vec<String> = caps::all().into_iter().map(|c| c.to_string()).collect();
    let mut caps = caps;
    caps.sort_by_key(|name| {
        name.parse::<caps::Capability>()
            .map(|c| c.index())
            .unwrap_or(u8::MAX)
    });
    // brig applies each LSM where the host runs it.
    let lsm = crate::security::lsm::Host::detect();
    // intelRdt is applied where resctrl is mounted and refused elsewhere.
    let resctrl = crate::cgroups::resctrl::mount_point();
    let rdt_monitoring = resctrl
        .as_ref()
        .is_some_and(|r| r.join("info/L3_MON").exists());
    let doc = json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": crate::spec::OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": crate::init::rootfs::mountopts::known_names(),
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
            "capabilities": caps,
            "cgroup": {"v1": true, "v2": true, "systemd": false, "systemdUser": false},
            "seccomp": crate::security::seccomp::features(),
            "apparmor": {"enabled": lsm.apparmor},
            "selinux": {"enabled": lsm.selinux},
            "intelRdt": {"enabled": resctrl.is_some(), "schemata": resctrl.is_some(), "monitoring": rdt_monitoring},
            "memoryPolicy": {
                "modes": ["MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE", "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL"],
                "flags": ["MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"]
            },
            "netDevices": {"enabled": true},
            "mountExtensions": {"idmap": {"enabled": crate::support::sys::has_mount_setattr()}}
        },
        // runc's key: tools that ask a runtime whether it checkpoints read this one.
        "annotations": {
            "org.brig.version": env!("CARGO_PKG_VERSION"),
            "org.opencontainers.runc.checkpoint.enabled": "true"
        }
    });
    let text = serde_json::to_string_pretty(&doc).map_err(|e| Error::msg(e.to_string()))?;
    println!("{text}");
    Ok(0)
}
