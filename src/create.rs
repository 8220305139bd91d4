//! `create` seen from the host: validate, make the state directory and cgroup, spawn the
//! init, save the state. Any failure undoes all of it: no state directory, cgroup,
//! process or fifo is left behind.

use std::os::fd::OwnedFd;
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use crate::cgroups::{self, CgroupManager};
use crate::container::process_start_time;
use crate::error::{Context, Error, Result};
use crate::process::{self, namespaces::NamespacePlan, InitConfig, Spawned};
use crate::security::capabilities::CapSets;
use crate::spec::{Bundle, OCI_VERSION};
use crate::state::{self, ContainerDir, SavedState, StateRoot};

pub struct CreateOptions<'a> {
    pub id: &'a str,
    pub bundle: &'a Path,
    pub pid_file: Option<&'a Path>,
    pub console_socket: Option<&'a Path>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    pub systemd_cgroup: bool,
    /// `run`: no exec fifo, the init is told to exec straight away.
    pub for_run: bool,
}

pub struct Created {
    pub dir: ContainerDir,
    pub state: SavedState,
    pub init: Spawned,
}

pub fn create(root: &StateRoot, o: &CreateOptions) -> Result<Created> {
    state::validate_id(o.id)?;
    let bundle = Bundle::load(o.bundle)?;
    if o.console_socket.is_some() {
        return Err(Error::msg("cannot use console socket if brig will not detach or allocate tty (process.terminal is false)"));
    }
    let spec = &bundle.spec;
    let linux = spec.linux().as_ref();
    let namespaces = NamespacePlan::from_spec(spec)?;
    let process = spec.process().as_ref().expect("validated");
    let caps = CapSets::from_spec(process.capabilities().as_ref())?;
    let cgroup = cgroups::for_new_container(
        linux.and_then(|l| l.cgroups_path().as_deref()),
        o.id,
        o.systemd_cgroup,
    )?;
    let (preserve_fds, extra_env) = listen_fds(o.preserve_fds);
    let dir = root.create(o.id)?;
    let result = (|| -> Result<(SavedState, Spawned)> {
        cgroup.create(linux.and_then(|l| l.resources().as_ref()))?;
        let fifo = if o.for_run {
            None
        } else {
            Some(make_exec_fifo(&dir)?)
        };
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
        };
        let init = process::spawn(&cfg, cgroup.as_ref())?;
        let saved = save(&dir, &bundle, &cfg, &init, cgroup.as_ref());
        let saved = saved.and_then(|s| {
            if let Some(f) = o.pid_file {
                write_pid_file(f, init.pid)?;
            }
            Ok(s)
        });
        match saved {
            Ok(s) => Ok((s, init)),
            Err(e) => {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(init.pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
                let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(init.child), None);
                Err(e)
            }
        }
    })();
    match result {
        Ok((state, init)) => Ok(Created { dir, state, init }),
        Err(e) => {
            let _ = cgroup.destroy();
            let _ = dir.remove();
            Err(e)
        }
    }
}

fn save(
    dir: &ContainerDir,
    bundle: &Bundle,
    cfg: &InitConfig,
    init: &Spawned,
    cgroup: &dyn CgroupManager,
) -> Result<SavedState> {
    let pid_start = process_start_time(init.pid)
        .ok_or_else(|| Error::msg("the container init exited during create"))?;
    let (secs, nanos) = crate::clock::now();
    let state = SavedState {
        id: cfg.id.to_string(),
        pid: init.pid,
        pid_start,
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        created: crate::clock::rfc3339_nano(secs, nanos),
        annotations: bundle
            .spec
            .annotations()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        cgroup: cgroup.paths().clone(),
        own_pid_ns: cfg
            .namespaces
            .new
            .contains(nix::sched::CloneFlags::CLONE_NEWPID),
        oci_version: if bundle.spec.version().is_empty() {
            OCI_VERSION.to_string()
        } else {
            bundle.spec.version().clone()
        },
    };
    dir.save(&state)?;
    // exec starts from the container's own process settings and seccomp profile.
    state::write_atomic(&dir.path.join(state::CONFIG_FILE), &bundle.raw, 0o600)?;
    Ok(state)
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
pub fn listen_fds(preserve: u32) -> (u32, Vec<String>) {
    match std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
    {
        Some(n) if n > 0 => (
            preserve + n,
            vec![format!("LISTEN_FDS={n}"), "LISTEN_PID=1".to_string()],
        ),
        _ => (preserve, Vec::new()),
    }
}
