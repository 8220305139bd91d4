//! `linux.intelRdt`: the container's group in the resctrl filesystem (Intel RDT, AMD
//! PQoS), where cache and memory-bandwidth allocations are made as runc makes them. The
//! group is `<resctrl>/<closID>` (shared, made by someone else unless a schema is given) or
//! `<resctrl>/<id>` (the container's own, removed by `delete`); `enableMonitoring` adds a
//! monitoring group `mon_groups/<id>` in it. Where resctrl is not mounted the field is
//! refused by name (runc ignores it there).

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxIntelRdt;
use serde::{Deserialize, Serialize};

use crate::support::error::{Error, Result};

const DEFAULT_MOUNT: &str = "/sys/fs/resctrl";
const RDTGROUP_SUPER_MAGIC: i64 = 0x0765_5821;

/// The container's resctrl group, saved in the state for `exec`, `update` and `delete`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Group {
    pub path: PathBuf,
    /// brig made the directory (no closID, none there before): `delete` removes it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub owned: bool,
    /// `enableMonitoring`: the container's monitoring group inside `path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<PathBuf>,
}

/// Where resctrl is mounted: /sys/fs/resctrl, else the first resctrl mount listed.
pub fn mount_point() -> Option<PathBuf> {
    if nix::sys::statfs::statfs(DEFAULT_MOUNT)
        .is_ok_and(|s| s.filesystem_type().0 == RDTGROUP_SUPER_MAGIC)
    {
        return Some(PathBuf::from(DEFAULT_MOUNT));
    }
    let info = crate::support::proc::read_text("/proc/self/mountinfo").ok()?;
    info.lines().find_map(|line| {
        let (pre, post) = line.split_once(" - ")?;
        (post.split(' ').next() == Some("resctrl"))
            .then(|| pre.split(' ').nth(4).map(PathBuf::from))?
    })
}

/// Check the field against the config alone and this host's resctrl (`root`, None where
/// it is not mounted), with runc's rules and each error naming its field.
pub fn validate(rdt: &LinuxIntelRdt, root: Option<&Path>) -> Result<()> {
    let Some(root) = root else {
        return Err(Error::config(
            "linux.intelRdt",
            "Intel RDT is not enabled on this host (no resctrl filesystem is mounted)",
        ));
    };
    if let Some(clos) = rdt.clos_id() {
        if clos == "." || clos == ".." || (clos.len() > 1 && clos.contains('/')) {
            return Err(Error::config(
                "linux.intelRdt.closID",
                format!("invalid intelRdt.ClosID {clos:?}"),
            ));
        }
    }
    let schemas = [
        ("l3CacheSchema", rdt.l3_cache_schema(), "L3", "CAT"),
        ("memBwSchema", rdt.mem_bw_schema(), "MB", "MBA"),
    ];
    for (field, schema, info, feature) in schemas {
        if schema.as_deref().is_some_and(|s| !s.is_empty())
            && !root.join("info").join(info).exists()
        {
            return Err(Error::config(
                format!("linux.intelRdt.{field}"),
                format!("Intel RDT/{feature} is not enabled on this host"),
            ));
        }
    }
    if *rdt.enable_monitoring() == Some(true) && !root.join("info/L3_MON").exists() {
        return Err(Error::config(
            "linux.intelRdt.enableMonitoring",
            "resctrl monitoring is not enabled on this host (no info/L3_MON)",
        ));
    }
    Ok(())
}

/// Make the container's group in this host's resctrl (see `Group::create`).
pub fn create_on_host(rdt: &LinuxIntelRdt, id: &str) -> Result<Group> {
    let root = mount_point();
    validate(rdt, root.as_deref())?;
    Group::create(&root.expect("validated: resctrl is mounted"), rdt, id)
}

/// The schemata lines the config asks for, in runc's order: L3, MB, then `schemata`.
fn schemata(rdt: &LinuxIntelRdt) -> String {
    let mut out = String::new();
    let lines = [rdt.l3_cache_schema().clone(), rdt.mem_bw_schema().clone()];
    for line in lines
        .into_iter()
        .flatten()
        .chain(rdt.schemata().clone().unwrap_or_default())
        .filter(|l| !l.is_empty())
    {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

impl Group {
    /// Make (or find) the container's group under `root` and write its schemata.
    pub fn create(root: &Path, rdt: &LinuxIntelRdt, id: &str) -> Result<Group> {
        let clos = rdt.clos_id().as_deref().filter(|c| !c.is_empty());
        let path = match clos {
            Some(c) => root.join(c.trim_start_matches('/')),
            None => root.join(id),
        };
        let lines = schemata(rdt);
        if clos.is_some() && lines.is_empty() && !path.is_dir() {
            return Err(Error::config(
                "linux.intelRdt.closID",
                format!(
                    "clos dir not accessible (must be pre-created when schemata, l3CacheSchema and memBwSchema are empty): {} does not exist",
                    path.display()
                ),
            ));
        }
        let owned = match std::fs::create_dir(&path) {
            Ok(()) => clos.is_none(),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(Error::os(format!("intelrdt: create {}", path.display()), e)),
        };
        let mut group = Group {
            path,
            owned,
            monitor: None,
        };
        let made = (|| {
            if !lines.is_empty() {
                group.write_schemata(&lines)?;
            }
            if *rdt.enable_monitoring() == Some(true) {
                let monitor = group.path.join("mon_groups").join(id);
                std::fs::create_dir(&monitor).or_else(|e| match e.kind() {
                    std::io::ErrorKind::AlreadyExists => Ok(()),
                    _ => Err(Error::os(
                        format!("intelrdt: create {}", monitor.display()),
                        e,
                    )),
                })?;
                group.monitor = Some(monitor);
            }
            Ok(())
        })();
        match made {
            Ok(()) => Ok(group),
            Err(e) => {
                let _ = group.remove();
                Err(e)
            }
        }
    }

    /// Write schemata lines (a partial write changes only the resources it names).
    pub fn write_schemata(&self, lines: &str) -> Result<()> {
        std::fs::write(self.path.join("schemata"), lines)
            .map_err(|e| Error::os(format!("intelrdt: unable to write {lines:?}"), e))
    }

    /// Put a process in the group (and its monitoring group); its children follow it.
    pub fn add(&self, pid: i32) -> Result<()> {
        for dir in std::iter::once(&self.path).chain(&self.monitor) {
            std::fs::write(dir.join("tasks"), pid.to_string())
                .map_err(|e| Error::os(format!("intelrdt: unable to add pid {pid}"), e))?;
        }
        Ok(())
    }

    /// Remove what brig made: its own group, else only its monitoring group (a closID
    /// group is shared and managed by someone else).
    pub fn remove(&self) -> Result<()> {
        let dir = match (&self.monitor, self.owned) {
            (_, true) => &self.path,
            (Some(monitor), false) => monitor,
            (None, false) => return Ok(()),
        };
        match std::fs::remove_dir(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::os(format!("intelrdt: remove {}", dir.display()), e))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rdt(v: serde_json::Value) -> LinuxIntelRdt {
        serde_json::from_value(v).unwrap()
    }

    /// A directory laid out as resctrl: info/L3 and info/MB, no monitoring.
    fn fake_root(name: &str) -> PathBuf {
        let root = std::env::temp_dir().join(format!("brig-resctrl-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("info/L3")).unwrap();
        std::fs::create_dir_all(root.join("info/MB")).unwrap();
        root
    }

    fn field(e: Error) -> String {
        match e {
            Error::Config { field, .. } => field,
            other => panic!("not a config error: {other}"),
        }
    }

    #[test]
    fn validation_names_the_field_and_follows_runc() {
        let root = fake_root("validate");
        let err = |v, root: Option<&Path>| field(validate(&rdt(v), root).unwrap_err());
        assert_eq!(err(json!({"closID": "a"}), None), "linux.intelRdt");
        for bad in [".", "..", "a/b", "/a"] {
            assert_eq!(
                err(json!({"closID": bad}), Some(&root)),
                "linux.intelRdt.closID"
            );
        }
        assert!(
            validate(&rdt(json!({"closID": "/"})), Some(&root)).is_ok(),
            "the root group"
        );
        assert!(validate(
            &rdt(json!({"l3CacheSchema": "L3:0=f", "memBwSchema": "MB:0=50"})),
            Some(&root)
        )
        .is_ok());
        std::fs::remove_dir(root.join("info/MB")).unwrap();
        assert_eq!(
            err(json!({"memBwSchema": "MB:0=50"}), Some(&root)),
            "linux.intelRdt.memBwSchema"
        );
        std::fs::remove_dir(root.join("info/L3")).unwrap();
        assert_eq!(
            err(json!({"l3CacheSchema": "L3:0=f"}), Some(&root)),
            "linux.intelRdt.l3CacheSchema"
        );
        assert_eq!(
            err(json!({"enableMonitoring": true}), Some(&root)),
            "linux.intelRdt.enableMonitoring"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn the_containers_own_group_gets_the_schemata_and_the_pid_and_is_removed() {
        let root = fake_root("own");
        std::fs::create_dir(root.join("info/L3_MON")).unwrap();
        let spec = rdt(json!({
            "l3CacheSchema": "L3:0=f0", "memBwSchema": "MB:0=40",
            "schemata": ["L2:0=3"], "enableMonitoring": true
        }));
        // resctrl makes mon_groups in each new group; the plain directory needs it made.
        std::fs::create_dir_all(root.join("ctr/mon_groups")).unwrap();
        let g = Group::create(&root, &spec, "ctr").unwrap();
        assert!(
            !g.owned,
            "a directory that was there before is not the container's"
        );
        assert_eq!(
            g.monitor.as_deref(),
            Some(root.join("ctr/mon_groups/ctr").as_path())
        );
        g.remove().unwrap();
        assert!(
            root.join("ctr").is_dir(),
            "only the monitoring group brig made goes"
        );
        assert!(!root.join("ctr/mon_groups/ctr").exists());
        std::fs::remove_dir_all(root.join("ctr")).unwrap();

        let plain = rdt(
            json!({"l3CacheSchema": "L3:0=f0", "memBwSchema": "MB:0=40", "schemata": ["L2:0=3"]}),
        );
        let g = Group::create(&root, &plain, "ctr").unwrap();
        assert_eq!(g.path, root.join("ctr"));
        assert!(g.owned);
        assert_eq!(
            std::fs::read_to_string(g.path.join("schemata")).unwrap(),
            "L3:0=f0\nMB:0=40\nL2:0=3\n"
        );
        g.add(42).unwrap();
        assert_eq!(std::fs::read_to_string(g.path.join("tasks")).unwrap(), "42");
        // (resctrl has no files to remove; the plain directory does)
        std::fs::remove_file(g.path.join("tasks")).unwrap();
        std::fs::remove_file(g.path.join("schemata")).unwrap();
        g.remove().unwrap();
        assert!(!g.path.exists());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_clos_group_is_shared_must_exist_without_a_schema_and_is_kept() {
        let root = fake_root("clos");
        let spec = rdt(json!({"closID": "shared"}));
        let e = Group::create(&root, &spec, "ctr").unwrap_err();
        assert!(e.to_string().contains("must be pre-created"), "{e}");
        assert!(!root.join("ctr").exists() && !root.join("shared").exists());

        std::fs::create_dir_all(root.join("shared/mon_groups")).unwrap();
        std::fs::create_dir(root.join("info/L3_MON")).unwrap();
        let spec = rdt(json!({"closID": "shared", "enableMonitoring": true}));
        let g = Group::create(&root, &spec, "ctr").unwrap();
        assert_eq!(g.path, root.join("shared"));
        assert!(!g.owned);
        assert_eq!(
            g.monitor.as_deref(),
            Some(root.join("shared/mon_groups/ctr").as_path())
        );
        g.add(7).unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join("shared/tasks")).unwrap(),
            "7"
        );
        assert_eq!(
            std::fs::read_to_string(root.join("shared/mon_groups/ctr/tasks")).unwrap(),
            "7"
        );
        std::fs::remove_file(root.join("shared/mon_groups/ctr/tasks")).unwrap();
        g.remove().unwrap();
        assert!(root.join("shared").is_dir(), "the shared group stays");
        assert!(
            !root.join("shared/mon_groups/ctr").exists(),
            "the monitoring group goes"
        );

        let root_group = Group::create(
            &root,
            &rdt(json!({"closID": "/", "schemata": ["L3:0=1"]})),
            "ctr",
        )
        .unwrap();
        assert_eq!(root_group.path, root);
        assert!(!root_group.owned);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
