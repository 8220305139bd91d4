//! Starting the container's init: the parent side (`spawn`), the channel, and the child's
//! ordered setup (`init`). brig never re-executes itself: the child is a fork of this
//! process and already holds the parsed config.

pub mod attrs;
pub mod channel;
pub mod init;
pub mod namespaces;

use std::os::fd::OwnedFd;
use std::path::Path;

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use oci_spec::runtime::Spec;

use crate::cgroups::{CgroupManager, CgroupPaths};
use crate::error::{Error, Result};
use crate::security::capabilities::CapSets;
use crate::security::seccomp;
use channel::{Channel, Msg};
use namespaces::NamespacePlan;

/// Everything the init needs, prepared by the parent before the fork.
pub struct InitConfig<'a> {
    pub id: &'a str,
    pub spec: &'a Spec,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    /// An exec into a running container: join everything, set up nothing but the process.
    pub exec: bool,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    /// fds of the parent the child must close at once: the state directory's lock, which
    /// would otherwise stay held (flock follows the open file) until the init execs.
    pub close_in_child: Vec<std::os::fd::RawFd>,
    /// Extra fds (3..3+n) passed through to the process: --preserve-fds plus $LISTEN_FDS.
    pub preserve_fds: u32,
    /// Variables added to the process environment (LISTEN_FDS/LISTEN_PID).
    pub extra_env: Vec<String>,
    /// The exec fifo, opened read-write, for `create`; None for `run`.
    pub fifo: Option<OwnedFd>,
    pub namespaces: NamespacePlan,
    pub cgroup: &'a CgroupPaths,
    pub caps: CapSets,
    /// With process.terminal: the socket the init sends its pty master over.
    pub console: Option<OwnedFd>,
    /// Runs the host's prestart and createRuntime hooks for the init's host pid and returns
    /// the state JSON the init's own hooks get; None when the spec has no create hooks.
    pub create_hooks: Option<&'a dyn Fn(i32) -> Result<String>>,
    /// Idmapped mounts prepared on the host (`rootfs::prepare_idmapped`): the index in
    /// `mounts` and a detached mount tree the init moves into place.
    pub idmapped: Vec<(usize, OwnedFd)>,
}

/// A spawned init waiting for its final word (Commit or Exec).
pub struct Spawned {
    /// Host pid of the container's init.
    pub pid: i32,
    /// The process we forked: the init itself, or the first step of a two-step spawn.
    pub child: i32,
    channel: Channel,
}

impl Spawned {
    pub fn commit(&self, final_word: Msg) -> Result<()> {
        self.channel.send(&final_word)
    }

    /// After Exec: wait until the process runs. The init's end of the channel is
    /// close-on-exec, so EOF means execve happened (or the init died).
    pub fn wait_exec(&self) {
        while let Ok(Some(_)) = self.channel.recv() {}
    }
}

/// Fork the init, place it in its cgroup, and drive it to Ready.
/// On failure every process started here is killed and reaped.
pub fn spawn(cfg: &InitConfig, cgroup: &dyn CgroupManager) -> Result<Spawned> {
    let (parent_end, child_end) = Channel::pair()?;
    let child = crate::sys::clone_fork(cfg.namespaces.clone_flags().bits())
        .map_err(|e| Error::os("clone the container init", e))?;
    if child == 0 {
        drop(parent_end);
        for fd in &cfg.close_in_child {
            let _ = nix::unistd::close(*fd);
        }
        init::main(cfg, child_end);
    }
    drop(child_end);
    crate::crash::point("init forked");
    let mut init_pid = None;
    let result = drive_to_ready(cfg, cgroup, &parent_end, child, &mut init_pid);
    match result {
        Ok(pid) => Ok(Spawned {
            pid,
            child,
            channel: parent_end,
        }),
        Err(e) => {
            for pid in [Some(child), init_pid].into_iter().flatten() {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
            let _ = waitpid(Pid::from_raw(child), None);
            Err(e)
        }
    }
}

fn drive_to_ready(
    cfg: &InitConfig,
    cgroup: &dyn CgroupManager,
    ch: &Channel,
    child: i32,
    init_pid: &mut Option<i32>,
) -> Result<i32> {
    cgroup.add(child)?;
    if cfg.namespaces.new_user() && !cfg.namespaces.two_step() {
        namespaces::write_id_maps(cfg.spec, child)?;
    }
    ch.send(&Msg::Go)?;
    crate::crash::point("init placed in its cgroup");
    loop {
        match ch.recv()? {
            Some(Msg::MapRequest) => {
                namespaces::write_id_maps(cfg.spec, child)?;
                ch.send(&Msg::Mapped)?;
            }
            Some(Msg::InitPid(pid)) => {
                *init_pid = Some(pid);
                // The first step has done its job and exits; reap it now.
                let _ = waitpid(Pid::from_raw(child), None);
            }
            Some(Msg::Hooks) => {
                let run = cfg
                    .create_hooks
                    .ok_or_else(|| Error::msg("init asked for hooks that are not configured"))?;
                let json = run(init_pid.unwrap_or(child))?;
                ch.send(&Msg::HooksDone(json))?;
            }
            Some(Msg::SeccompFd(listener)) => {
                send_seccomp_listener(cfg, init_pid.unwrap_or(child), listener)?;
            }
            Some(Msg::Ready) => return Ok(init_pid.unwrap_or(child)),
            Some(Msg::Error(text)) => {
                return Err(Error::msg(format!(
                    "unable to start container process: {text}"
                )))
            }
            Some(other) => return Err(Error::msg(format!("init channel: unexpected {other:?}"))),
            None => {
                return Err(Error::msg(
                    "unable to start container process: the init exited during setup",
                ))
            }
        }
    }
}

/// linux.seccomp.listenerPath: the agent gets the listener fd of process `pid` with the
/// container's state, "creating" for a new container and "running" for an exec.
fn send_seccomp_listener(cfg: &InitConfig, pid: i32, listener: OwnedFd) -> Result<()> {
    use std::os::fd::AsFd;
    let seccomp = cfg
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref())
        .ok_or_else(|| Error::msg("init sent a seccomp listener without a seccomp profile"))?;
    let state = seccomp::ListenerState {
        oci_version: crate::spec::OCI_VERSION,
        id: cfg.id,
        status: if cfg.exec { "running" } else { "creating" },
        pid: cfg.namespaces.exec_into.unwrap_or(pid),
        bundle: cfg.bundle,
        annotations: cfg
            .spec
            .annotations()
            .iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
    };
    seccomp::send_to_listener(seccomp, listener.as_fd(), pid, state)
}
