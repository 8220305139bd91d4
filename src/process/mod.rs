//! Starting a process in a container, brig's side: fork the init (`spawn`), place it in
//! its cgroup, write its id maps, answer what it asks on the way to Ready, and give it its
//! final word. The parent↔init protocol (`channel`) stays inside this module: the init
//! sees it only as `init::Parent`, and callers only as `Spawned`'s methods. brig never
//! re-executes itself into the container: the child is a fork of this process and
//! already holds the parsed config. Also here, the host-side preparations of the init:
//! the namespace plan (`namespaces`), idmapped mounts (`idmapped`), and a user's id maps
//! (`idmap_helper`).

pub mod bind_sources;
mod channel;
pub mod idmap_helper;
pub mod idmapped;
pub mod namespaces;
pub mod net_devices;

use std::os::fd::OwnedFd;

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use crate::cgroups::{resctrl, CgroupManager};
use crate::init::{FinalWord, InitConfig};
use crate::security::seccomp;
use crate::support::error::{Error, Result};
use channel::{Channel, Msg};

/// What `create` does on the host when the init asks, given the init's host pid (none of
/// it for `exec`).
#[derive(Default)]
pub struct CreateSteps<'a> {
    /// Run prestart and createRuntime; returns the state JSON the init's own hooks get.
    pub hooks: Option<&'a dyn Fn(i32) -> Result<String>>,
    /// Move `linux.netDevices` into the init's network namespace.
    pub net_devices: Option<&'a dyn Fn(i32) -> Result<()>>,
}

/// A spawned init, Ready and waiting for its final word.
pub struct Spawned {
    /// Host pid of the container's init.
    pub pid: i32,
    /// The process we forked: the init itself, or the first step of a two-step spawn.
    pub child: i32,
    channel: Channel,
}

impl Spawned {
    /// `create`: the state is saved; the init is to wait on the exec fifo for `start`.
    pub fn send_wait_for_start(&self) -> Result<()> {
        self.channel.send(&Msg::Commit)
    }

    /// `run` and `exec`: the init is to exec the process now.
    pub fn send_exec(&self) -> Result<()> {
        self.channel.send(&Msg::Exec)
    }

    /// After `send_exec`: wait until the process runs. The init's end of the channel is
    /// close-on-exec, so EOF means execve happened (or the init died).
    pub fn wait_exec(&self) {
        while let Ok(Some(_)) = self.channel.recv() {}
    }
}

/// The init's end of the channel, as `init` sees its parent; `go`: whether brig sends Go
/// (`needs_go`).
struct ChildEnd {
    channel: Channel,
    go: bool,
}

impl crate::init::Parent for ChildEnd {
    fn wait_go(&self) -> Result<()> {
        if !self.go {
            return Ok(());
        }
        self.channel.expect(Msg::Go)
    }

    fn request_id_maps(&self) -> Result<()> {
        self.channel.send(&Msg::MapRequest)?;
        self.channel.expect(Msg::Mapped)
    }

    fn move_net_devices(&self) -> Result<()> {
        self.channel.send(&Msg::NetDevices)?;
        self.channel.expect(Msg::NetDevicesMoved)
    }

    fn init_forked(&self, pid: i32) -> Result<()> {
        self.channel.send(&Msg::InitPid(pid))
    }

    fn create_hooks(&self) -> Result<String> {
        self.channel.send(&Msg::Hooks)?;
        match self.channel.recv()? {
            Some(Msg::HooksDone(json)) => Ok(json),
            Some(Msg::Error(e)) => Err(Error::msg(e)),
            other => Err(Error::msg(format!(
                "init channel: expected HooksDone, got {other:?}"
            ))),
        }
    }

    fn seccomp_listener(&self, listener: OwnedFd) -> Result<()> {
        self.channel.send(&Msg::SeccompFd(listener))
    }

    fn ready(&self) -> Result<()> {
        self.channel.send(&Msg::Ready)
    }

    fn failed(&self, why: &str) {
        let _ = self.channel.send(&Msg::Error(why.to_string()));
    }

    fn final_word(&self) -> Result<FinalWord> {
        match self.channel.recv()? {
            Some(Msg::Exec) => Ok(FinalWord::ExecNow),
            Some(Msg::Commit) => Ok(FinalWord::WaitForStart),
            Some(other) => Err(Error::msg(format!("init channel: unexpected {other:?}"))),
            None => Err(Error::msg(
                "the runtime went away before the container was created",
            )),
        }
    }
}

/// Fork the init, place it in its cgroup (and resctrl group), and drive it to Ready.
/// On failure every process started here is killed and reaped.
pub fn spawn(
    cfg: &InitConfig,
    cgroup: &dyn CgroupManager,
    resctrl: Option<&resctrl::Group>,
    steps: &CreateSteps,
) -> Result<Spawned> {
    crate::support::logging::debug(|| {
        format!(
            "nsexec container setup: clone with {:?}",
            cfg.namespaces.clone_flags()
        )
    });
    let (parent_end, child_end) = Channel::pair()?;
    let flags = cfg.namespaces.clone_flags().bits();
    // On cgroup2 the init is born in its cgroup; elsewhere (or where clone3 is refused) it
    // is forked and then moved there.
    let born = cgroup.birth_cgroup().and_then(|fd| {
        use std::os::fd::AsFd;
        match crate::support::sys::clone_fork_into_cgroup(flags, fd.as_fd()) {
            Ok(pid) => Some(Ok(pid)),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENOSYS | libc::E2BIG | libc::EINVAL | libc::EPERM | libc::EACCES)
                ) =>
            {
                crate::support::logging::debug(|| {
                    format!("clone3 into the cgroup: {e}; forking and moving")
                });
                None
            }
            Err(e) => Some(Err(e)),
        }
    });
    let in_cgroup = born.is_some();
    let child = born
        .unwrap_or_else(|| crate::support::sys::clone_fork(flags))
        .map_err(|e| Error::os("clone the container init", e))?;
    let go = needs_go(cfg, in_cgroup, resctrl.is_some());
    if child == 0 {
        drop(parent_end);
        for fd in &cfg.close_in_child {
            let _ = nix::unistd::close(*fd);
        }
        crate::init::main(
            cfg,
            &ChildEnd {
                channel: child_end,
                go,
            },
        );
    }
    drop(child_end);
    crate::support::crash::point("init forked");
    let mut init_pid = None;
    if in_cgroup {
        crate::support::logging::debug(|| {
            format!("init {child} born in its cgroup (clone3 CLONE_INTO_CGROUP)")
        });
    }
    let result = drive_to_ready(
        cfg,
        (cgroup, resctrl),
        steps,
        &parent_end,
        (child, in_cgroup, go),
        &mut init_pid,
    );
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

/// Whether the init waits for Go: brig has work to do between the fork and the init's
/// set-up (moving it into its cgroup or resctrl group, writing its id maps). An init born
/// in its cgroup with none of that to wait for starts at once. Both ends decide alike,
/// after the clone.
fn needs_go(cfg: &InitConfig, in_cgroup: bool, resctrl: bool) -> bool {
    !in_cgroup || resctrl || cfg.namespaces.maps_before_go()
}

fn drive_to_ready(
    cfg: &InitConfig,
    (cgroup, resctrl): (&dyn CgroupManager, Option<&resctrl::Group>),
    steps: &CreateSteps,
    ch: &Channel,
    (child, in_cgroup, go): (i32, bool, bool),
    init_pid: &mut Option<i32>,
) -> Result<i32> {
    if !in_cgroup {
        cgroup.add(child)?;
    }
    if let Some(group) = resctrl {
        group.add(child)?;
    }
    if cfg.namespaces.maps_before_go() {
        namespaces::write_id_maps(cfg.spec, child)?;
    }
    if go {
        ch.send(&Msg::Go)?;
    }
    crate::support::crash::point("init placed in its cgroup");
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
            Some(Msg::NetDevices) => {
                let move_in = steps.net_devices.ok_or_else(|| {
                    Error::msg("init asked to move network devices that are not configured")
                })?;
                move_in(init_pid.unwrap_or(child))?;
                ch.send(&Msg::NetDevicesMoved)?;
            }
            Some(Msg::Hooks) => {
                let run = steps
                    .hooks
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
        oci_version: crate::support::oci::OCI_VERSION,
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
