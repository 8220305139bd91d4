//! Pure cgroup v2 hosts: one directory under /sys/fs/cgroup.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

use super::{
    create_dir, enable_v2_controller, hugepage_limits, in_field, rdma_lines, read_pids, remove_dir,
    wait_for, write, write_unified, CgroupManager, CgroupPaths,
};
use crate::error::{Error, Result};

pub struct Manager {
    paths: CgroupPaths,
}

const KEY: &str = "unified";

impl Manager {
    pub fn new(rel: &Path) -> Result<Manager> {
        let own = if rel.is_absolute() {
            None
        } else {
            let text = std::fs::read_to_string("/proc/self/cgroup")
                .map_err(|e| Error::os("read /proc/self/cgroup", e))?;
            text.lines()
                .find_map(|l| l.strip_prefix("0::"))
                .map(str::to_string)
        };
        let dir = Path::new(super::CGROUP_ROOT).join(super::place(rel, own.as_deref()));
        let mounts = BTreeMap::from([(KEY.to_string(), PathBuf::from(super::CGROUP_ROOT))]);
        Ok(Manager {
            paths: CgroupPaths {
                layout: "v2".into(),
                dirs: BTreeMap::from([(KEY.to_string(), dir)]),
                mounts,
            },
        })
    }

    pub fn from_paths(paths: CgroupPaths) -> Manager {
        Manager { paths }
    }

    fn dir(&self) -> &Path {
        &self.paths.dirs[KEY]
    }
}

impl Manager {
    /// hugetlb, rdma and the `unified` map (not yet run on a v2 host). v2 has no net_cls or
    /// net_prio, so `network` is an error when it asks for something.
    fn apply_v2_files(&self, r: &LinuxResources) -> Result<()> {
        let mount = Path::new(super::CGROUP_ROOT);
        let dir = self.dir();
        if let Some(h) = r.hugepage_limits().as_deref().filter(|h| !h.is_empty()) {
            let field = "linux.resources.hugepageLimits";
            let sizes = hugepage_limits(h)?;
            enable_v2_controller(mount, dir, "hugetlb").map_err(|e| e.wrap(field))?;
            for (size, limit) in sizes {
                let value = if limit < 0 {
                    "max".to_string()
                } else {
                    limit.to_string()
                };
                write(&dir.join(format!("hugetlb.{size}.max")), &value).map_err(in_field(field))?;
            }
        }
        if let Some(n) = r.network() {
            if n.class_id().is_some_and(|id| id != 0)
                || n.priorities().as_ref().is_some_and(|p| !p.is_empty())
            {
                return Err(Error::config(
                    "linux.resources.network",
                    "cgroup v2 has no net_cls or net_prio controller",
                ));
            }
        }
        if let Some(rdma) = r.rdma() {
            let lines = rdma_lines(rdma);
            if !lines.is_empty() {
                let field = "linux.resources.rdma";
                enable_v2_controller(mount, dir, "rdma").map_err(|e| e.wrap(field))?;
                for line in lines {
                    write(&dir.join("rdma.max"), &line).map_err(in_field(field))?;
                }
            }
        }
        if let Some(u) = r.unified().as_ref().filter(|u| !u.is_empty()) {
            write_unified(mount, dir, u)?;
        }
        Ok(())
    }
}

impl CgroupManager for Manager {
    fn create(&self, resources: Option<&LinuxResources>) -> Result<()> {
        if resources
            .and_then(|r| r.devices().as_ref())
            .is_some_and(|d| !d.is_empty())
        {
            return Err(Error::Unsupported(
                "linux.resources.devices on a cgroup v2 host (the eBPF device filter)".into(),
            ));
        }
        if let Some(r) = resources {
            let asked = [
                ("memory", r.memory().is_some()),
                ("cpu", r.cpu().is_some()),
                ("pids", r.pids().is_some()),
                ("blockIO", r.block_io().is_some()),
            ];
            if let Some((field, _)) = asked.iter().find(|(_, set)| *set) {
                return Err(Error::Unsupported(format!(
                    "linux.resources.{field} on a cgroup v2 host"
                )));
            }
        }
        create_dir(self.dir())?;
        if let Some(r) = resources {
            self.apply_v2_files(r)?;
        }
        Ok(())
    }

    fn update(&self, _resources: &LinuxResources) -> Result<()> {
        Err(Error::Unsupported("update on a cgroup v2 host".into()))
    }

    fn freeze(&self, frozen: bool) -> Result<()> {
        write(
            &self.dir().join("cgroup.freeze"),
            if frozen { "1" } else { "0" },
        )?;
        wait_for(
            &self.dir().join("cgroup.events"),
            if frozen { "frozen 1" } else { "frozen 0" },
        )
    }

    fn add(&self, pid: i32) -> Result<()> {
        write(&self.dir().join("cgroup.procs"), &pid.to_string())
    }

    fn pids(&self) -> Result<Vec<i32>> {
        read_pids(&self.dir().join("cgroup.procs"))
    }

    fn destroy(&self) -> Result<()> {
        remove_dir(self.dir())
    }

    fn stats(&self) -> Result<super::Stats> {
        super::stats::read_v2(self.dir())
    }

    fn oom_watch(&self) -> Result<super::OomWatch> {
        super::OomWatch::v2(self.dir())
    }

    fn paths(&self) -> &CgroupPaths {
        &self.paths
    }
}
