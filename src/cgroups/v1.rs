//! cgroup v1 and hybrid hosts: one directory per mounted hierarchy (including named ones
//! such as name=systemd, and the cgroup2 mount at /sys/fs/cgroup/unified on hybrid hosts).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

use super::{create_dir, devices, read_pids, remove_dir, write, CgroupManager, CgroupPaths};
use crate::error::{Error, Result};

pub struct Manager {
    paths: CgroupPaths,
}

/// A mounted hierarchy: its mount point and its name as /proc/self/cgroup spells it.
struct Hierarchy {
    name: String,
    mount: PathBuf,
}

fn hierarchies() -> Result<Vec<Hierarchy>> {
    let info = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| Error::os("read /proc/self/mountinfo", e))?;
    let mut out = Vec::new();
    for line in info.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let mut post = post.split(' ');
        let (Some(fstype), _, Some(opts)) = (post.next(), post.next(), post.next()) else {
            continue;
        };
        let Some(mount) = pre.split(' ').nth(4) else {
            continue;
        };
        if !mount.starts_with(super::CGROUP_ROOT) {
            continue;
        }
        let name = match fstype {
            "cgroup" => {
                // The super options list the controllers (and name=X for named hierarchies).
                let known = [
                    "cpuset",
                    "cpu",
                    "cpuacct",
                    "blkio",
                    "memory",
                    "devices",
                    "freezer",
                    "net_cls",
                    "net_prio",
                    "perf_event",
                    "hugetlb",
                    "pids",
                    "rdma",
                    "misc",
                ];
                let ctrls: Vec<&str> = opts
                    .split(',')
                    .filter(|o| known.contains(o) || o.starts_with("name="))
                    .collect();
                if ctrls.is_empty() {
                    continue;
                }
                ctrls.join(",")
            }
            "cgroup2" => "unified".to_string(),
            _ => continue,
        };
        out.push(Hierarchy {
            name,
            mount: PathBuf::from(mount),
        });
    }
    Ok(out)
}

/// brig's own cgroup in each hierarchy, for relative cgroupsPaths.
fn own_cgroups() -> Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string("/proc/self/cgroup")
        .map_err(|e| Error::os("read /proc/self/cgroup", e))?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
            let name = if ctrls.is_empty() {
                "unified".to_string()
            } else {
                ctrls.to_string()
            };
            Some((name, path.to_string()))
        })
        .collect())
}

impl Manager {
    pub fn new(rel: &Path) -> Result<Manager> {
        let own = if rel.is_absolute() {
            BTreeMap::new()
        } else {
            own_cgroups()?
        };
        let mut dirs = BTreeMap::new();
        let mut mounts = BTreeMap::new();
        for h in hierarchies()? {
            let base = if rel.is_absolute() {
                PathBuf::from("/")
            } else {
                PathBuf::from(own.get(&h.name).map(String::as_str).unwrap_or("/"))
            };
            let path = base.join(rel);
            let path = path.strip_prefix("/").unwrap_or(&path);
            dirs.insert(h.name.clone(), h.mount.join(path));
            mounts.insert(h.name, h.mount);
        }
        if dirs.is_empty() {
            return Err(Error::msg(
                "no cgroup hierarchy is mounted under /sys/fs/cgroup",
            ));
        }
        Ok(Manager {
            paths: CgroupPaths {
                layout: "v1".into(),
                dirs,
                mounts,
            },
        })
    }

    pub fn from_paths(paths: CgroupPaths) -> Manager {
        Manager { paths }
    }

    fn dir_of(&self, controller: &str) -> Option<&PathBuf> {
        self.paths
            .dirs
            .iter()
            .find(|(name, _)| name.split(',').any(|c| c == controller))
            .map(|(_, d)| d)
    }

    fn apply_devices(&self, res: &LinuxResources) -> Result<()> {
        let spec_rules = res.devices().as_deref().unwrap_or_default();
        let Some(dir) = self.dir_of("devices") else {
            if spec_rules.is_empty() {
                return Ok(());
            }
            return Err(Error::msg(
                "linux.resources.devices: this host has no devices cgroup controller",
            ));
        };
        for rule in devices::rules(spec_rules) {
            let file = if rule.allow {
                "devices.allow"
            } else {
                "devices.deny"
            };
            write(&dir.join(file), &rule.v1_line())?;
        }
        Ok(())
    }
}

impl CgroupManager for Manager {
    fn create(&self, resources: Option<&LinuxResources>) -> Result<()> {
        for dir in self.paths.dirs.values() {
            create_dir(dir)?;
        }
        // cpuset starts empty in a new v1 cgroup; a task cannot join until it has cpus and mems.
        if let Some(dir) = self.dir_of("cpuset") {
            for file in ["cpuset.cpus", "cpuset.mems"] {
                inherit_from_parent(dir, file)?;
            }
        }
        if let Some(res) = resources {
            self.apply_devices(res)?;
        }
        Ok(())
    }

    fn add(&self, pid: i32) -> Result<()> {
        for dir in self.paths.dirs.values() {
            write(&dir.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    fn pids(&self) -> Result<Vec<i32>> {
        let dir = self
            .dir_of("pids")
            .or_else(|| self.dir_of("freezer"))
            .or_else(|| self.paths.dirs.values().next())
            .ok_or_else(|| Error::msg("container has no cgroup"))?;
        read_pids(&dir.join("cgroup.procs"))
    }

    fn destroy(&self) -> Result<()> {
        let mut first_err = None;
        for dir in self.paths.dirs.values() {
            if let Err(e) = remove_dir(dir) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn paths(&self) -> &CgroupPaths {
        &self.paths
    }
}

/// Copy a cpuset file from the nearest ancestor that has it set, down to `dir`.
fn inherit_from_parent(dir: &Path, file: &str) -> Result<()> {
    let current = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
    if !current.trim().is_empty() {
        return Ok(());
    }
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    inherit_from_parent(parent, file)?;
    let value = std::fs::read_to_string(parent.join(file)).unwrap_or_default();
    if value.trim().is_empty() {
        return Ok(());
    }
    write(&dir.join(file), value.trim())
}
