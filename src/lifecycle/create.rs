//! `create` seen from the host: validate, make the state directory and cgroup, spawn the
//! init, save the state. Any failure undoes all of it: no state directory, cgroup,
//! process or fifo is left behind.

use std::os::fd::OwnedFd;
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use crate::cgroups::{self, CgroupManager};
use crate::init::namespaces::NamespacePlan;
use crate::init::InitConfig;
use crate::lifecycle::state::{self, ContainerDir, SavedState, StateRoot};
use crate::process::{self, Spawned};
use crate::security::capabilities::CapSets;
use crate::spec::{Bundle, OCI_VERSION};
use crate::support::crash;
use crate::support::error::{Context, Error, Result};
use crate::support::hooks;
use crate::support::proc::process_start_time;

pub struct CreateOptions<'a> {
    pub id: &'a str,
    pub bundle: &'a Path,
    pub pid_file: Option<&'a Path>,
    pub console_socket: Option<&'a Path>,
    /// `--pidfd-socket`: where a pidfd of the init goes once it is ready.
    pub pidfd_socket: Option<&'a Path>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    pub systemd_cgroup: bool,
    /// Skip the cgroups this user has no permission for (`--rootless`).
    pub rootless: bool,
    /// `run`: no exec fifo, the init is told to exec straight away.
    pub for_run: bool,
    /// The caller goes away after create (`create`, `run -d`): a terminal then needs a
    /// console socket; in the foreground brig proxies the terminal itself.
    pub detach: bool,
}

pub struct Created {
    pub dir: ContainerDir,
    pub state: SavedState,
    pub init: Spawned,
    /// Foreground `run` with a terminal: where the init sends the pty master.
    pub console: Option<OwnedFd>,
}

pub fn create(root: &StateRoot, o: &CreateOptions) -> Result<Created> {
    state::validate_id(o.id)?;
    let bundle = Bundle::load(o.bundle)?;
    let spec = &bundle.spec;
    crate::init::rootfs::check_no_pivot(spec, o.no_pivot)?;
    let net_devices = process::net_devices::from_spec(spec);
    if !net_devices.is_empty() && (o.rootless || !nix::unistd::geteuid().is_root()) {
        return Err(Error::config(
            "linux.netDevices",
            "network devices are not supported for rootless containers",
        ));
    }
    // Before anything exists: the re-executed brig starts this create again.
    if crate::security::exe::could_reach_brig(spec) {
        crate::security::exe::reexec_read_only()?;
    }
    let terminal = spec.process().as_ref().and_then(|p| p.terminal()) == Some(true);
    let (console_for_init, console) =
        crate::lifecycle::console::console_sockets(terminal, o.detach, o.console_socket)?;
    let linux = spec.linux().as_ref();
    let namespaces = NamespacePlan::from_spec(spec)?;
    let process = spec.process().as_ref().expect("validated");
    let caps = CapSets::from_spec(process.capabilities().as_ref());
    let cgroup = new_cgroup(spec, o.id, o.systemd_cgroup, o.rootless)?;
    let (preserve_fds, extra_env) = listen_fds(o.preserve_fds)?;
    let mut saved = new_state(o.id, &bundle, cgroup.as_ref(), &namespaces);
    crash::point("create: config validated");
    // Saved with pid 0 first: a brig killed from here on leaves a container that `state`
    // reports as stopped and `delete` removes, cgroup included.
    let dir = root.create(o.id, &saved)?;
    crash::point("create: state directory");
    // The container's network namespace while devices are in it: held open, it outlives a
    // failed init, so the devices can come back (a veth would die with it).
    let devices_ns: std::cell::RefCell<Option<OwnedFd>> = Default::default();
    crate::support::logging::debug(|| format!("create: state directory {}", dir.path.display()));
    let result = (|| -> Result<Spawned> {
        let found = cgroup.create(linux.and_then(|l| l.resources().as_ref()))?;
        if found.preexisting {
            note_preexisting_cgroup(&mut saved, found.pids);
            dir.save(&saved)?;
        }
        if let Some(rdt) = linux.and_then(|l| l.intel_rdt().as_ref()) {
            saved.resctrl = Some(cgroups::resctrl::create_on_host(rdt, o.id)?);
            dir.save(&saved)?;
        }
        crash::point("create: cgroup");
        crate::support::logging::debug(|| format!("create: cgroup {:?}", cgroup.paths().dirs));
        let fifo = if o.for_run {
            None
        } else {
            Some(make_exec_fifo(&dir)?)
        };
        crash::point("create: exec fifo");
        let run_create_hooks = |pid: i32| -> Result<String> {
            let json = crate::lifecycle::status::hook_state_json(
                &saved,
                crate::lifecycle::status::Status::Creating,
                pid,
            );
            for kind in [hooks::Kind::Prestart, hooks::Kind::CreateRuntime] {
                hooks::run(kind, kind.of(spec), &json, Some(&bundle.dir))?;
            }
            Ok(json)
        };
        let has_create_hooks = hooks::Kind::IN_CREATE
            .iter()
            .any(|k| !k.of(spec).is_empty());
        let bind_sources =
            process::bind_sources::open_bind_sources(spec, &bundle.dir, namespaces.new_user())?;
        let cfg = InitConfig {
            id: o.id,
            spec,
            bundle: &bundle.dir,
            rootfs: &bundle.rootfs,
            exec: false,
            no_pivot: o.no_pivot,
            no_new_keyring: o.no_new_keyring,
            close_in_child: vec![dir.lock_fd()],
            preserve_fds,
            extra_env,
            fifo,
            namespaces,
            cgroup: cgroup.paths(),
            caps,
            console: console_for_init,
            create_hooks: has_create_hooks,
            idmapped: process::idmapped::prepare_idmapped(spec, &bundle.dir)?,
            bind_sources,
        };
        let move_devices = |pid: i32| -> Result<()> {
            let ns = process::net_devices::hold_namespace(pid)?;
            process::net_devices::move_in(&net_devices, std::os::fd::AsFd::as_fd(&ns))?;
            *devices_ns.borrow_mut() = Some(ns);
            Ok(())
        };
        let steps = process::CreateSteps {
            hooks: has_create_hooks.then_some(&run_create_hooks),
            net_devices: (!net_devices.is_empty()).then_some(&move_devices),
        };
        process::spawn(&cfg, cgroup.as_ref(), saved.resctrl.as_ref(), &steps)
    })();
    let result = result.and_then(|init| {
        crash::point("create: init ready");
        crate::support::logging::debug(|| format!("create: init {} ready", init.pid));
        let committed = (|| {
            saved.pid = init.pid;
            saved.pid_start = process_start_time(init.pid)
                .ok_or_else(|| Error::msg("the container init exited during create"))?;
            dir.save(&saved)?;
            crash::point("create: state saved");
            if let Some(f) = o.pid_file {
                write_pid_file(f, init.pid)?;
            }
            if let Some(socket) = o.pidfd_socket {
                crate::lifecycle::console::send_pidfd(socket, init.pid, "standard")?;
            }
            crash::point("create: pid file");
            Ok(())
        })();
        match committed {
            Ok(()) => Ok(init),
            Err(e) => {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(init.pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
                let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(init.child), None);
                Err(e)
            }
        }
    });
    match result {
        Ok(init) => Ok(Created {
            dir,
            state: saved,
            init,
            console,
        }),
        Err(e) => {
            if let Some(ns) = devices_ns.take() {
                let back =
                    process::net_devices::move_out(&net_devices, std::os::fd::AsFd::as_fd(&ns));
                if let Err(e) = back {
                    crate::support::logging::warn(&e.to_string());
                }
            }
            let _ = cgroup.destroy();
            if let Some(group) = &saved.resctrl {
                let _ = group.remove();
            }
            let _ = dir.remove();
            Err(e)
        }
    }
}

/// The new container's cgroup (not made yet) from its config; one that exists frozen is
/// refused. `create` and `restore` both start here.
pub(crate) fn new_cgroup(
    spec: &oci_spec::runtime::Spec,
    id: &str,
    systemd: bool,
    rootless: bool,
) -> Result<Box<dyn CgroupManager>> {
    let cgroup = cgroups::for_new_container(
        spec.linux()
            .as_ref()
            .and_then(|l| l.cgroups_path().as_deref()),
        id,
        systemd,
        rootless,
        spec.annotations().as_ref(),
    )?;
    cgroups::refuse_frozen(cgroup.as_ref())?;
    Ok(cgroup)
}

/// A cgroup that was there before the container (runc accepts one, with a warning): its
/// processes are not the container's, so they are recorded to be spared by `kill --all`,
/// `delete` and `ps`; the cgroup itself is removed only if it ends up empty.
pub(crate) fn note_preexisting_cgroup(saved: &mut SavedState, pids: Vec<i32>) {
    saved.cgroup.preexisting = true;
    if pids.is_empty() {
        return;
    }
    crate::support::logging::warn(&format!(
        "container's cgroup is not empty: {} process(es) found",
        pids.len()
    ));
    saved.cgroup.foreign = pids
        .into_iter()
        .filter_map(|pid| {
            Some(cgroups::ForeignProcess {
                pid,
                start: process_start_time(pid)?,
            })
        })
        .collect();
}

/// The state to save, before the init exists (pid 0).
pub(crate) fn new_state(
    id: &str,
    bundle: &Bundle,
    cgroup: &dyn CgroupManager,
    namespaces: &NamespacePlan,
) -> SavedState {
    let (secs, nanos) = crate::support::clock::now();
    let spec = &bundle.spec;
    let net_devices = process::net_devices::from_spec(spec);
    SavedState {
        id: id.to_string(),
        pid: 0,
        pid_start: 0,
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        created: crate::support::clock::rfc3339_nano(secs, nanos),
        annotations: spec
            .annotations()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        cgroup: cgroup.paths().clone(),
        resctrl: None,
        net_devices_ns: (!net_devices.is_empty())
            .then(|| process::net_devices::JoinedNamespace::from_spec(spec))
            .flatten(),
        net_devices,
        own_pid_ns: namespaces
            .new
            .contains(nix::sched::CloneFlags::CLONE_NEWPID),
        oci_version: if spec.version().is_empty() {
            OCI_VERSION.to_string()
        } else {
            spec.version().clone()
        },
        hooks: spec.hooks().clone(),
        config: Some(bundle.raw.clone()),
    }
}

/// The fifo `start` writes to. The init holds it open read-write, so `start` can tell a
/// waiting init (open succeeds) from a dead one (ENXIO).
fn make_exec_fifo(dir: &ContainerDir) -> Result<OwnedFd> {
    let path = dir.fifo();
    nix::unistd::mkfifo(&path, Mode::from_bits_truncate(0o600))
        .ctx(|| format!("mkfifo {}", path.display()))?;
    nix::fcntl::open(&path, OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty())
        .ctx(|| format!("open {}", path.display()))
}

/// The pid file: decimal pid, no newline, replaced atomically (containerd reads it).
pub fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let path = std::path::absolute(path).ctx(|| format!("pid file {}", path.display()))?;
    state::write_atomic(&path, pid.to_string().as_bytes(), 0o644)
}

/// systemd socket activation: $LISTEN_FDS more fds follow stdio, and the process is told.
/// They are brig's only when $LISTEN_PID is brig's own pid, as runc checks: otherwise they
/// were meant for another process, and whatever the caller has open at 3… (a host file, a
/// directory) would reach the container. Every fd passed on must be open.
pub fn listen_fds(preserve: u32) -> Result<(u32, Vec<String>)> {
    let var = |name| std::env::var(name).ok();
    let ours = var("LISTEN_PID").and_then(|p| p.parse::<u32>().ok()) == Some(std::process::id());
    let activated = var("LISTEN_FDS")
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|&n| n > 0 && ours);
    let (total, env) = match activated {
        Some(n) => {
            for fd in (3..).take(n as usize) {
                check_listen_fd(fd)?;
            }
            (
                preserve.saturating_add(n),
                vec![format!("LISTEN_FDS={n}"), "LISTEN_PID=1".to_string()],
            )
        }
        None => (preserve, Vec::new()),
    };
    for fd in (3..).take(total as usize) {
        if std::fs::symlink_metadata(format!("/proc/self/fd/{fd}")).is_err() {
            return Err(Error::msg(format!(
                "--preserve-fds {preserve}: fd {fd} is not open"
            )));
        }
    }
    Ok((total, env))
}

/// A socket-activation fd is a socket or a fifo; a directory would hand the container a
/// way out of its root (as a leaked fd did in CVE-2024-21626).
fn check_listen_fd(fd: i32) -> Result<()> {
    let meta = std::fs::metadata(format!("/proc/self/fd/{fd}"))
        .map_err(|e| Error::os(format!("LISTEN_FDS: fd {fd}"), e))?;
    if meta.is_dir() {
        return Err(Error::msg(format!(
            "LISTEN_FDS: fd {fd} is a directory; socket activation passes sockets, and a directory would lead outside the container's root"
        )));
    }
    Ok(())
}
