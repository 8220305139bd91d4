//! The systemd cgroup driver (`--systemd-cgroup`), as runc's: the container's cgroup is a
//! transient unit that systemd makes and owns, a scope "<prefix>-<name>.scope" in its
//! slice (or a slice unit when the name is one), started over D-Bus with the init's pid,
//! delegation and the resources systemd has properties for. Everything else goes through
//! the cgroupfs layer on the unit's cgroup: the files systemd does not write (all of them
//! are written, as runc does), the v2 device filter, the hierarchies systemd does not manage
//! on v1, freezing, stats and removal of what systemd leaves.

mod bus;
mod properties;
pub mod unit;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

use super::{CgroupManager, CgroupPaths, Found};
use crate::support::error::{Error, Result};
pub use unit::{expand_slice, Unit};

/// systemd is the init system when /run/systemd/system exists (sd_booted(3)).
pub fn running() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

pub struct Manager {
    /// The cgroupfs paths of the unit's cgroup, with the unit (`paths.systemd`).
    paths: CgroupPaths,
    fs: Box<dyn CgroupManager>,
    /// A new container: the unit is started by `add`, which knows the init's pid, with
    /// these properties (annotations included) and then these resources written to files.
    pending: RefCell<Option<Pending>>,
    /// Whether this manager's container owns the unit: false until a new container's unit
    /// is started, so that a failed create never stops a unit of the same name it did not make.
    owned: Cell<bool>,
}

struct Pending {
    id: String,
    resources: Option<LinuxResources>,
    extra: Vec<bus::Property>,
}

impl Manager {
    /// The manager for a new container: the unit named by `cgroups_path`
    /// ("slice:prefix:name"), with `annotations`' org.systemd.property.* as extra
    /// properties. Nothing is made until `create` and `add`.
    pub fn new(
        cgroups_path: Option<&Path>,
        id: &str,
        rootless: bool,
        annotations: Option<&HashMap<String, String>>,
    ) -> Result<Manager> {
        let text = cgroups_path
            .map(|p| p.to_string_lossy())
            .unwrap_or_default();
        let unit = Unit::parse(&text, id, rootless);
        if !running() {
            let mut msg = "--systemd-cgroup: systemd is not running on this host (/run/systemd/system is missing; the systemd cgroup driver needs it); use the cgroupfs driver".to_string();
            if let Err(e) = unit {
                msg.push_str(&format!("; also {e}"));
            }
            return Err(Error::msg(msg));
        }
        let unit = unit?;
        // A user's systemd can delegate cgroup2 only (runc refuses the same).
        if rootless && !super::is_unified() {
            return Err(Error::msg(
                "cannot use rootless systemd cgroups manager on cgroup v1",
            ));
        }
        let extra = properties::from_annotations(annotations)?;
        let mut paths = super::cgroupfs_manager(&unit.cgroup_path()?)?
            .paths()
            .clone();
        paths.systemd = Some(unit);
        paths.rootless = rootless;
        Ok(Manager {
            fs: super::cgroupfs_from_paths(&paths),
            paths,
            pending: RefCell::new(Some(Pending {
                id: id.to_string(),
                resources: None,
                extra,
            })),
            owned: Cell::new(false),
        })
    }

    /// The manager of an existing container, whose unit it owns.
    pub fn from_paths(paths: &CgroupPaths) -> Manager {
        Manager {
            paths: paths.clone(),
            fs: super::cgroupfs_from_paths(paths),
            pending: RefCell::new(None),
            owned: Cell::new(true),
        }
    }

    fn unit(&self) -> &Unit {
        self.paths
            .systemd
            .as_ref()
            .expect("a systemd manager's paths name its unit")
    }

    fn v2(&self) -> bool {
        self.paths.layout == "v2"
    }

    /// Start the unit holding `pid`, waiting for systemd's job. A scope of the same name
    /// left failed or inactive (by a container that died) is reset and the start tried once
    /// more, as runc does; one that is active, or a slice that exists, is someone else's and
    /// refused. The unit is ours (`owned`, so a failure from here on stops it) as soon as
    /// systemd has queued its start.
    fn start_unit(&self, bus: &bus::Bus, pending: &Pending, pid: i32) -> Result<()> {
        let name = &self.unit().name;
        let mut props = properties::unit(
            &pending.id,
            &self.unit().slice,
            self.unit().is_slice(),
            (!self.unit().is_slice()).then_some(pid as u32),
            self.v2(),
        );
        if let Some(r) = &pending.resources {
            let rules = super::devices::rules(r.devices().as_deref().unwrap_or_default());
            let devices = (!self.paths.rootless).then_some(rules.as_slice());
            props.extend(properties::resources(r, devices, self.v2())?);
        }
        props.extend(pending.extra.iter().cloned());
        properties::for_version(&mut props, || bus.systemd_version());
        crate::support::logging::debug(|| {
            format!("systemd: start {name} with {} properties", props.len())
        });
        let mut job = bus.start_transient_unit(name, &props)?;
        if job.is_none() && !self.unit().is_slice() {
            if let Some("failed" | "inactive") | None = bus.active_state(name)?.as_deref() {
                bus.reset_failed_unit(name);
                job = bus.start_transient_unit(name, &props)?;
            }
        }
        let Some(job) = job else {
            return Err(Error::msg(format!(
                "systemd unit {name} already exists and is active (another container's?); a container needs a unit of its own"
            )));
        };
        self.owned.set(true);
        bus.wait_started(name, job)
    }
}

impl CgroupManager for Manager {
    /// Nothing is made yet: systemd makes the unit's cgroup when `add` names the init.
    fn create(&self, resources: Option<&LinuxResources>) -> Result<Found> {
        if let Some(p) = self.pending.borrow_mut().as_mut() {
            p.resources = resources.cloned();
        }
        Ok(Found::default())
    }

    fn add(&self, pid: i32) -> Result<()> {
        let pending = self.pending.borrow_mut().take();
        if let Some(pending) = pending {
            let bus = bus::Bus::connect(self.unit().user)?;
            self.start_unit(&bus, &pending, pid)?;
            // The files: what systemd has no property for, the v2 device filter, and the
            // v1 hierarchies systemd does not manage (made here, the init moved in).
            self.fs.create(pending.resources.as_ref())?;
            return self.fs.add(pid);
        }
        match self.fs.add(pid) {
            // A user may not move a process into the unit from outside its own subtree:
            // the process stays where it is, as runc leaves it.
            Err(e) if self.unit().user => {
                crate::support::logging::debug(|| format!("rootless: {e}"));
                Ok(())
            }
            other => other,
        }
    }

    fn pids(&self) -> Result<Vec<i32>> {
        self.fs.pids()
    }

    fn thaw_tree(&self) {
        self.fs.thaw_tree()
    }

    fn update(&self, resources: &LinuxResources) -> Result<()> {
        let resources = super::with_current_values(&self.paths, resources);
        let mut props = properties::resources(&resources, None, self.v2())?;
        if !props.is_empty() {
            let bus = bus::Bus::connect(self.unit().user)?;
            properties::for_version(&mut props, || bus.systemd_version());
            bus.set_unit_properties(&self.unit().name, &props)?;
        }
        self.fs.update(&resources)
    }

    fn freeze(&self, frozen: bool) -> Result<()> {
        self.fs.freeze(frozen)
    }

    fn is_frozen(&self) -> bool {
        self.fs.is_frozen()
    }

    /// Stop the unit (waiting for systemd), forget it if it failed, then remove what is
    /// left of the cgroup directories (the v1 hierarchies systemd does not manage).
    fn destroy(&self) -> Result<Vec<PathBuf>> {
        if !self.owned.get() {
            return Ok(Vec::new());
        }
        let bus = bus::Bus::connect(self.unit().user)?;
        // As runc: a stop that fails is a warning; the directories are still removed.
        if let Err(e) = bus.stop_unit(&self.unit().name) {
            crate::support::logging::warn(&e.to_string());
        }
        bus.reset_failed_unit(&self.unit().name);
        self.fs.destroy()
    }

    fn stats(&self) -> Result<super::Stats> {
        self.fs.stats()
    }

    fn oom_watch(&self) -> Result<super::OomWatch> {
        self.fs.oom_watch()
    }

    fn paths(&self) -> &CgroupPaths {
        &self.paths
    }
}
