//! AppArmor and SELinux labels, applied where the host has the LSM, as runc does:
//!
//! - AppArmor (`/sys/module/apparmor/parameters/enabled` reads `Y`): `exec <profile>` is
//!   written to the task's `attr/apparmor/exec` (`attr/exec` on kernels without the
//!   per-LSM directory), so the profile takes effect at execve.
//! - SELinux (selinuxfs mounted: `/sys/fs/selinux/enforce` exists): the process label is
//!   written to `attr/exec`; `linux.mountLabel` goes into the data of tmpfs, mqueue and
//!   devpts mounts as `context="<label>"`.
//!
//! The writes go through the verified procfs handle (`procfs::ProcRoot`), in the init
//! before the user switch (the non-dumpable init's /proc files belong to root) and before
//! seccomp (a profile may refuse the open). Without the LSM on the host a request is
//! answered as runc and crun do: an AppArmor profile is an error, an SELinux label is
//! ignored with a debug line.
//!
//! What to write where is decided by pure functions of `Host` (unit-tested); only
//! `Host::detect` and `apply_exec_labels` touch the system.

use crate::support::error::{Error, Result};
use crate::support::logging;

/// Which LSMs the host runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Host {
    pub apparmor: bool,
    pub selinux: bool,
}

impl Host {
    /// Looked up once per process, and only when a profile or label is asked for:
    /// validation, mounts and exec labels all ask.
    pub fn detect() -> Host {
        static HOST: std::sync::OnceLock<Host> = std::sync::OnceLock::new();
        *HOST.get_or_init(|| Host {
            apparmor: std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
                .is_ok_and(|s| s.trim() == "Y"),
            selinux: std::path::Path::new("/sys/fs/selinux/enforce").exists(),
        })
    }
}

/// One write to an attr file of the calling task, relative to the procfs root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrWrite {
    /// The file, and one to try when it does not exist.
    pub path: &'static str,
    pub fallback: Option<&'static str>,
    pub value: String,
    /// The config field (or flag) the value came from, for errors.
    pub field: &'static str,
}

fn non_empty(v: Option<&str>) -> Option<&str> {
    v.filter(|v| !v.is_empty())
}

/// `process.apparmorProfile` / `exec --apparmor`: the write that applies it, or an error on
/// a host without AppArmor.
pub fn apparmor_write(
    host: Host,
    field: &'static str,
    profile: Option<&str>,
) -> Result<Option<AttrWrite>> {
    match non_empty(profile) {
        None => Ok(None),
        Some(p) if host.apparmor => Ok(Some(AttrWrite {
            path: "thread-self/attr/apparmor/exec",
            fallback: Some("thread-self/attr/exec"),
            value: format!("exec {p}"),
            field,
        })),
        Some(p) => Err(Error::msg(format!(
            "{field}: profile {p:?} requested but AppArmor is not enabled on this host"
        ))),
    }
}

/// `process.selinuxLabel` / `exec --process-label`: the write that applies it; nothing
/// (and a debug line) on a host without SELinux.
pub fn selinux_write(host: Host, field: &'static str, label: Option<&str>) -> Option<AttrWrite> {
    let label = non_empty(label)?;
    if !host.selinux {
        logging::debug(|| {
            format!("{field}: SELinux is disabled on this host; label {label:?} ignored")
        });
        return None;
    }
    Some(AttrWrite {
        path: "thread-self/attr/exec",
        fallback: None,
        value: label.to_string(),
        field,
    })
}

/// Validation at create/exec time: an AppArmor profile on a host without AppArmor is an
/// error naming `field`.
pub fn check_apparmor(field: &'static str, profile: Option<&str>) -> Result<()> {
    if non_empty(profile).is_none() {
        return Ok(());
    }
    apparmor_write(Host::detect(), field, profile).map(drop)
}

/// Validation at create/exec time: an SELinux label is always accepted (ignored, with a
/// debug line, where SELinux is off).
pub fn check_selinux(field: &'static str, label: Option<&str>) -> Result<()> {
    if non_empty(label).is_some() {
        selinux_write(Host::detect(), field, label);
    }
    Ok(())
}

/// The writes for a process: AppArmor's first, then SELinux's.
pub fn exec_writes(host: Host, process: &oci_spec::runtime::Process) -> Result<Vec<AttrWrite>> {
    let mut writes = Vec::new();
    writes.extend(apparmor_write(
        host,
        "process.apparmorProfile",
        process.apparmor_profile().as_deref(),
    )?);
    writes.extend(selinux_write(
        host,
        "process.selinuxLabel",
        process.selinux_label().as_deref(),
    ));
    Ok(writes)
}

/// Apply the process's labels for its execve: in the init, before the user switch and
/// seccomp. Nothing is opened when nothing is asked.
pub fn apply_exec_labels(process: &oci_spec::runtime::Process) -> Result<()> {
    if non_empty(process.apparmor_profile().as_deref()).is_none()
        && non_empty(process.selinux_label().as_deref()).is_none()
    {
        return Ok(());
    }
    let writes = exec_writes(Host::detect(), process)?;
    if writes.is_empty() {
        return Ok(());
    }
    let proc = crate::support::procfs::ProcRoot::open()?;
    for w in writes {
        let mut res = proc.write(w.path, w.value.as_bytes(), false);
        if let (Err(_), Some(fallback)) = (&res, w.fallback) {
            if proc
                .open_file(w.path, nix::fcntl::OFlag::O_PATH, false)
                .is_err()
            {
                res = proc.write(fallback, w.value.as_bytes(), false);
            }
        }
        res.map_err(|e| Error::config(w.field, e))?;
    }
    Ok(())
}

/// The mount data of a `typ` mount with `linux.mountLabel` added where SELinux labels it:
/// `context="<label>"` on tmpfs, mqueue and devpts when the host has SELinux.
pub fn mount_data(
    host: Host,
    typ: &str,
    data: Option<String>,
    label: Option<&str>,
) -> Option<String> {
    let Some(label) = non_empty(label).filter(|_| host.selinux) else {
        return data;
    };
    if !matches!(typ, "tmpfs" | "mqueue" | "devpts") {
        return data;
    }
    let context = format!("context=\"{label}\"");
    Some(match data {
        Some(d) if !d.is_empty() => format!("{d},{context}"),
        _ => context,
    })
}

/// `mount_data` for this host and the spec's `linux.mountLabel`.
pub fn labelled_mount_data(
    spec: &oci_spec::runtime::Spec,
    typ: &str,
    data: Option<String>,
) -> Option<String> {
    let label = spec
        .linux()
        .as_ref()
        .and_then(|l| l.mount_label().as_deref());
    if non_empty(label).is_none() {
        return data;
    }
    mount_data(Host::detect(), typ, data, label)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: Host = Host {
        apparmor: false,
        selinux: false,
    };
    const BOTH: Host = Host {
        apparmor: true,
        selinux: true,
    };

    #[test]
    fn apparmor_is_written_as_an_exec_change_or_refused_without_apparmor() {
        let w = apparmor_write(BOTH, "process.apparmorProfile", Some("docker-default"))
            .unwrap()
            .unwrap();
        assert_eq!(w.path, "thread-self/attr/apparmor/exec");
        assert_eq!(w.fallback, Some("thread-self/attr/exec"));
        assert_eq!(w.value, "exec docker-default");
        let err = apparmor_write(NONE, "exec --apparmor", Some("p"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("exec --apparmor") && err.contains("not enabled"),
            "{err}"
        );
        for empty in [None, Some("")] {
            assert_eq!(apparmor_write(NONE, "f", empty).unwrap(), None);
        }
    }

    #[test]
    fn selinux_labels_go_to_attr_exec_or_are_ignored_without_selinux() {
        let label = "system_u:system_r:container_t:s0:c1,c2";
        let w = selinux_write(BOTH, "process.selinuxLabel", Some(label)).unwrap();
        assert_eq!((w.path, w.fallback), ("thread-self/attr/exec", None));
        assert_eq!(w.value, label);
        assert_eq!(
            selinux_write(NONE, "process.selinuxLabel", Some(label)),
            None
        );
        assert!(check_selinux("process.selinuxLabel", Some(label)).is_ok());
    }

    #[test]
    fn a_process_gets_apparmor_then_selinux() {
        let process: oci_spec::runtime::Process = serde_json::from_value(serde_json::json!({
            "cwd": "/", "args": ["sh"], "user": {"uid": 0, "gid": 0},
            "apparmorProfile": "p", "selinuxLabel": "l"
        }))
        .unwrap();
        let writes = exec_writes(BOTH, &process).unwrap();
        let values: Vec<&str> = writes.iter().map(|w| w.value.as_str()).collect();
        assert_eq!(values, ["exec p", "l"]);
        let only_selinux = Host {
            apparmor: false,
            selinux: true,
        };
        assert!(
            exec_writes(only_selinux, &process).is_err(),
            "AppArmor asked"
        );
    }

    #[test]
    fn the_mount_label_goes_into_tmpfs_mqueue_and_devpts_data_with_selinux() {
        let label = Some("system_u:object_r:container_file_t:s0:c1,c2");
        let ctx = "context=\"system_u:object_r:container_file_t:s0:c1,c2\"";
        assert_eq!(
            mount_data(BOTH, "tmpfs", Some("mode=755,size=65536k".into()), label).unwrap(),
            format!("mode=755,size=65536k,{ctx}")
        );
        assert_eq!(mount_data(BOTH, "mqueue", None, label).unwrap(), ctx);
        assert_eq!(
            mount_data(BOTH, "devpts", Some(String::new()), label).unwrap(),
            ctx
        );
        assert_eq!(mount_data(BOTH, "proc", None, label), None);
        assert_eq!(
            mount_data(BOTH, "sysfs", Some("x".into()), label).as_deref(),
            Some("x")
        );
        assert_eq!(
            mount_data(NONE, "tmpfs", Some("x".into()), label).as_deref(),
            Some("x")
        );
        assert_eq!(mount_data(BOTH, "tmpfs", None, Some("")), None);
    }
}
