//! Inside the container: the ordered steps from fork to execve. `run` reads top to bottom
//! as the sequence; each step is a named function, most of them in this folder's files
//! (the root filesystem in `rootfs/`). The init learns what to do from `InitConfig`
//! (plain values prepared by brig before the fork) and talks to brig only through
//! `Parent`, which `process` implements over its channel.

pub mod attrs;
pub mod console;
pub mod limits;
pub mod namespaces;
pub mod program;
pub mod rootfs;
pub mod sysctl;
pub mod user;

use std::convert::Infallible;
use std::ffi::CString;
use std::io::Read;
use std::os::fd::{OwnedFd, RawFd};
use std::path::Path;

use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use oci_spec::runtime::Spec;

use crate::cgroups::CgroupPaths;
use crate::security::capabilities::CapSets;
use crate::support::error::{Context, Error, Result};
use crate::support::sys::exit_now;
use namespaces::NamespacePlan;

/// Everything the init needs, prepared by brig before the fork.
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
    pub close_in_child: Vec<RawFd>,
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
    /// The spec has prestart, createRuntime, createContainer or startContainer hooks: the
    /// init stops after its mounts for brig to run the host's (`Parent::create_hooks`).
    pub create_hooks: bool,
    /// Idmapped mounts prepared on the host (`process::idmapped`): the index in `mounts`
    /// and a detached mount tree the init moves into place.
    pub idmapped: Vec<(usize, OwnedFd)>,
    /// Bind sources opened on the host before a new user namespace
    /// (`process::bind_sources`): the index in `mounts` and an O_PATH fd.
    pub bind_sources: Vec<(usize, OwnedFd)>,
}

/// The init's link to brig, the process that forked it: what the init tells brig and
/// waits for. `process` implements it over the channel; the init never sees the protocol.
pub trait Parent {
    /// Wait until brig has put us in our cgroup (and written id maps): set-up may begin.
    fn wait_go(&self) -> Result<()>;
    /// A user namespace was just unshared: have brig write its id maps; returns once done.
    fn request_id_maps(&self) -> Result<()>;
    /// The init is in its network namespace: have brig move `linux.netDevices` into it.
    fn move_net_devices(&self) -> Result<()>;
    /// A two-step spawn forked the container's init, with this host pid.
    fn init_forked(&self, pid: i32) -> Result<()>;
    /// The mounts are made: have brig run the prestart and createRuntime hooks; returns
    /// the state JSON for the init's own hooks.
    fn create_hooks(&self) -> Result<String>;
    /// The seccomp filter went in with a listener: its fd, for the agent at listenerPath.
    fn seccomp_listener(&self, listener: OwnedFd) -> Result<()>;
    /// Set-up is done; the init waits for brig's final word.
    fn ready(&self) -> Result<()>;
    /// Set-up failed before `ready`: why.
    fn failed(&self, why: &str);
    /// brig's final word after `ready`.
    fn final_word(&self) -> Result<FinalWord>;
}

/// What the init does once brig has the container saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalWord {
    /// `create`: wait on the exec fifo for `start`.
    WaitForStart,
    /// `run` and `exec`: exec the process now.
    ExecNow,
}

/// The child's entry point: run the steps, report a failure to the parent, never return.
pub fn main(cfg: &InitConfig, parent: &dyn Parent) -> ! {
    crate::support::logging::debug(|| "child process in init()".into());
    let mut ready = false;
    let err = match run(cfg, parent, &mut ready) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    if ready {
        // The runtime no longer listens once the container is created: say it where the
        // container's own output goes.
        let _ =
            std::io::Write::write_all(&mut std::io::stderr(), format!("brig: {err}\n").as_bytes());
    } else {
        parent.failed(&err.to_string());
    }
    exit_now(1)
}

fn run(cfg: &InitConfig, parent: &dyn Parent, ready: &mut bool) -> Result<Infallible> {
    // Until execve this process runs the host's brig binary: a container process must not
    // reach it through /proc/PID/exe (CVE-2019-5736). Non-dumpable denies that to anyone
    // without CAP_SYS_PTRACE; execve makes the user's program dumpable again.
    // The exception: a user without root writes a new user namespace's id maps through our
    // /proc files, which are the user's only while we are dumpable (as in runc), so we stay
    // dumpable until the maps are written: from the clone to Go in a one-step spawn (in new
    // namespaces only, where nothing of the container exists yet), after the joins in a
    // two-step one (`enter_namespaces`).
    let maps_before_go = cfg.namespaces.maps_before_go() && cfg.namespaces.unprivileged;
    if !maps_before_go {
        set_dumpable(false)?;
    }
    // Nothing inherited from brig's caller may reach the container (CVE-2024-21626); every
    // fd brig opens from here on is close-on-exec already. Done first, before a seccomp
    // filter could refuse close_range.
    crate::support::sys::cloexec_from(3 + cfg.preserve_fds as i32)
        .ctx(|| "mark inherited file descriptors close-on-exec")?;
    reset_signals()?;
    crate::init::attrs::set_cpu_affinity(cfg.spec, false)?;
    parent.wait_go()?;
    if maps_before_go {
        set_dumpable(false)?;
    }
    enter_namespaces(cfg, parent)?;
    if cfg.namespaces.new.contains(CloneFlags::CLONE_NEWCGROUP) {
        nix::sched::unshare(CloneFlags::CLONE_NEWCGROUP).ctx(|| "unshare the cgroup namespace")?;
    }
    if cfg.namespaces.in_user_ns() {
        user::become_root_in_user_ns()?;
    }
    if !cfg.exec && cfg.namespaces.new.contains(CloneFlags::CLONE_NEWNET) {
        bring_loopback_up()?;
    }
    let net_devices = cfg
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.net_devices().as_ref());
    if !cfg.exec && net_devices.is_some_and(|d| !d.is_empty()) {
        parent.move_net_devices()?;
    }
    let hooks_state = if cfg.exec {
        None
    } else {
        set_up_container(cfg, parent)?
    };
    if let (true, Some(console)) = (cfg.exec, &cfg.console) {
        // An exec'd process with a terminal leads a session of its own.
        nix::unistd::setsid().ctx(|| "setsid")?;
        set_up_console(cfg, console, false)?;
    }
    limits::set_rlimits(cfg)?;
    let process = cfg
        .spec
        .process()
        .as_ref()
        .expect("validated: process is present");
    program::enter_cwd(process.cwd())?;
    program::check_cwd(process.cwd())?;
    let env = program::environment(cfg)?;
    let args = process.args().as_ref().expect("validated");
    let exe = program::find_executable(&args[0], &env)?;
    let seccomp = cfg.spec.linux().as_ref().and_then(|l| l.seccomp().as_ref());
    let filter = seccomp.map(crate::security::seccomp::prepare).transpose()?;
    // Realtime classes need capabilities the user switch may drop: set these first.
    crate::init::attrs::set_personality(cfg.spec)?;
    crate::init::attrs::set_scheduler(cfg.spec)?;
    crate::init::attrs::set_io_priority(cfg.spec)?;
    crate::init::attrs::set_memory_policy(cfg.spec)?;
    // The non-dumpable init's /proc files belong to root: before the user switch, and
    // before a seccomp filter could refuse the open.
    crate::security::lsm::apply_exec_labels(process)?;
    let nnp = process.no_new_privileges() == Some(true);
    let seccomp_at = filter.as_ref().map(|_| LoadSeccompBefore::when(nnp));
    if seccomp_at == Some(LoadSeccompBefore::UserSwitch) {
        load_seccomp(filter.as_ref(), parent)?;
    }
    user::switch_user(cfg)?;
    nix::sys::stat::umask(Mode::from_bits_truncate(
        process.user().umask().unwrap_or(0o022) as _,
    ));
    if nnp {
        nix::sys::prctl::set_no_new_privs().ctx(|| "set no_new_privs")?;
    }
    if seccomp_at == Some(LoadSeccompBefore::Ready) {
        load_seccomp(filter.as_ref(), parent)?;
    }
    crate::support::logging::debug(|| "init: closing the pipe to signal completion".into());
    parent.ready()?;
    *ready = true;
    wait_for_start(cfg, parent)?;
    if let Some(json) = hooks_state {
        // startContainer: after `start`, in the container, before the process runs.
        let json = json.replacen("\"status\":\"creating\"", "\"status\":\"created\"", 1);
        let kind = crate::support::hooks::Kind::StartContainer;
        crate::support::hooks::run(kind, kind.of(cfg.spec), &json, None)?;
    }
    crate::init::attrs::set_cpu_affinity(cfg.spec, true)?;
    crate::support::logging::debug(|| {
        if cfg.exec {
            format!("setns_init: about to exec {}", exe.display())
        } else {
            format!("standard_init: about to exec {}", exe.display())
        }
    });
    program::exec(&exe, args, &env)
}

/// Where in `run` the seccomp filter goes in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LoadSeccompBefore {
    /// Without no_new_privs loading a filter needs CAP_SYS_ADMIN, which the user switch
    /// may drop (runc's order).
    UserSwitch,
    /// With no_new_privs, runc's order: before Ready, so that the startContainer hooks
    /// and the wait for `start` already run under the filter, and a listener's agent has
    /// its fd before `create` returns.
    Ready,
}

impl LoadSeccompBefore {
    fn when(nnp: bool) -> LoadSeccompBefore {
        if nnp {
            LoadSeccompBefore::Ready
        } else {
            LoadSeccompBefore::UserSwitch
        }
    }
}

/// Load the filter; a listener fd goes straight to brig, which hands it to the agent.
/// Nothing may come between the two: the agent answers nothing before it has the fd.
fn load_seccomp(
    filter: Option<&crate::security::seccomp::Filter>,
    parent: &dyn Parent,
) -> Result<()> {
    let Some(filter) = filter else {
        return Ok(());
    };
    match filter.load()? {
        Some(listener) => parent.seccomp_listener(listener),
        None => Ok(()),
    }
}

/// What only a new container needs: its session, keyring, root filesystem, names and
/// kernel settings. An exec joins all of these as they are.
fn set_up_container(cfg: &InitConfig, parent: &dyn Parent) -> Result<Option<String>> {
    nix::unistd::setsid().ctx(|| "setsid")?;
    if !cfg.no_new_keyring {
        join_session_keyring(cfg.id)?;
    }
    // Device nodes and directories get exactly the modes the spec gives.
    nix::sys::stat::umask(Mode::empty());
    let fs = rootfs::Rootfs {
        spec: cfg.spec,
        path: cfg.rootfs,
        bundle: cfg.bundle,
        no_pivot: cfg.no_pivot,
        cgroup_ns: cfg.namespaces.new.contains(CloneFlags::CLONE_NEWCGROUP),
        user_ns: cfg.namespaces.in_user_ns(),
        cgroup: cfg.cgroup,
        idmapped: &cfg.idmapped,
        bind_sources: &cfg.bind_sources,
        root_link: Default::default(),
    };
    rootfs::mount_all(&fs)?;
    let hooks_state = run_create_hooks(cfg, parent)?;
    rootfs::enter_root(&fs)?;
    if let Some(console) = &cfg.console {
        set_up_console(cfg, console, true)?;
    }
    set_hostname(cfg)?;
    sysctl::apply_sysctls(cfg.spec)?;
    rootfs::finalize(cfg.spec)?;
    limits::set_oom_score_adj(cfg)?;
    Ok(hooks_state)
}

/// process.terminal: a pty from the container's own devpts becomes the process's stdio
/// and controlling terminal (and /dev/console for a new container); its master goes to
/// the console socket.
fn set_up_console(
    cfg: &InitConfig,
    socket: &std::os::fd::OwnedFd,
    dev_console: bool,
) -> Result<()> {
    use std::os::fd::AsFd;
    let (master, slave) = console::open_pty()?;
    let uid = cfg.spec.process().as_ref().map_or(0, |p| p.user().uid());
    console::give_to(&slave, uid)?;
    if dev_console {
        rootfs::bind_console(&slave)?;
    }
    if let Some(size) = cfg.spec.process().as_ref().and_then(|p| p.console_size()) {
        console::set_size(master.as_fd(), size.height() as u16, size.width() as u16)?;
    }
    console::send_master(socket.as_fd(), &master)?;
    console::make_controlling(&slave)
}

/// prestart and createRuntime run on the host (brig does them while the init waits);
/// createContainer runs here, in the container's namespaces, before pivot_root. Returns
/// the state JSON for the startContainer hooks.
fn run_create_hooks(cfg: &InitConfig, parent: &dyn Parent) -> Result<Option<String>> {
    if !cfg.create_hooks {
        return Ok(None);
    }
    let json = parent.create_hooks()?;
    // As runc: in the container's mount namespace, working in its rootfs (not yet its root).
    let kind = crate::support::hooks::Kind::CreateContainer;
    crate::support::hooks::run(kind, kind.of(cfg.spec), &json, Some(cfg.rootfs))?;
    Ok(Some(json))
}

/// The process starts with no blocked signals and default dispositions: `run` blocks the
/// signals it forwards, and an ignored signal (from brig's caller, or brig's own SIGPIPE)
/// would survive execve. Only the signals /proc/self/status lists as ignored or caught are
/// reset (one read, not a sigaction for each of 29); all of them if it cannot be read.
fn reset_signals() -> Result<()> {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal};
    let changed = crate::support::proc::ignored_or_caught_signals().unwrap_or(u64::MAX);
    for sig in Signal::iterator().filter(|s| !matches!(s, Signal::SIGKILL | Signal::SIGSTOP)) {
        if changed & (1 << (sig as i32 - 1)) != 0 {
            crate::support::sys::default_disposition(sig).ctx(|| format!("reset {sig}"))?;
        }
    }
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)
        .ctx(|| "unblock signals")
}

/// Whether brig, not being root, writes a new user namespace's id maps through our /proc
/// files (decided before the fork: `NamespacePlan::unprivileged`).
fn maps_by_user(cfg: &InitConfig) -> bool {
    cfg.namespaces.new_user() && cfg.namespaces.unprivileged
}

fn set_dumpable(on: bool) -> Result<()> {
    nix::sys::prctl::set_dumpable(on).ctx(|| format!("prctl(PR_SET_DUMPABLE, {})", on as u8))
}

/// Two-step spawns: join and unshare here, then fork the init if pid or time namespaces
/// only apply to children. The first step reports the init's pid and exits.
fn enter_namespaces(cfg: &InitConfig, parent: &dyn Parent) -> Result<()> {
    if !cfg.namespaces.two_step() {
        return Ok(());
    }
    // Joins happen non-dumpable; a user's brig then needs us dumpable from its map writes
    // through our own timens_offsets write (both /proc files of ours).
    namespaces::join_and_unshare(&cfg.namespaces, || {
        if maps_by_user(cfg) {
            set_dumpable(true)?;
        }
        parent.request_id_maps()
    })?;
    if maps_by_user(cfg) {
        set_dumpable(false)?;
    }
    if !cfg.namespaces.needs_fork() {
        return Ok(());
    }
    // brig must read InitPid before anything the init sends (Ready, SeccompFd, Hooks):
    // until then it takes this first step for the init, and would wait for the wrong
    // process. The init waits for the first step's end of this pipe to close, at its exit.
    let (gate, gate_open) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).ctx(|| "pipe for the init's start")?;
    let pid =
        crate::support::sys::clone_fork(0).map_err(|e| Error::os("fork the container init", e))?;
    if pid == 0 {
        drop(gate_open);
        let mut byte = [0u8; 1];
        while let Err(nix::errno::Errno::EINTR) = nix::unistd::read(&gate, &mut byte) {}
        return Ok(());
    }
    parent.init_forked(pid)?;
    exit_now(0)
}

/// A session keyring of its own, so the container cannot see the caller's keys.
fn join_session_keyring(id: &str) -> Result<()> {
    let name = CString::new(format!("_ses.{id}")).map_err(|_| Error::InvalidId)?;
    match crate::support::sys::join_session_keyring(&name) {
        // Kernels without keyrings: nothing to isolate.
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => Ok(()),
        other => other.ctx(|| "join a new session keyring"),
    }
}

/// A new network namespace starts with its loopback down; runc and crun bring it up, and
/// callers without a CNI loopback plugin (ctr, hand-written bundles) rely on it.
fn bring_loopback_up() -> Result<()> {
    crate::support::sys::set_interface_up(c"lo").ctx(|| "set the loopback interface up")
}

fn set_hostname(cfg: &InitConfig) -> Result<()> {
    if let Some(h) = cfg.spec.hostname().as_ref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h).ctx(|| format!("set hostname {h:?}"))?;
    }
    if let Some(d) = cfg.spec.domainname().as_ref().filter(|d| !d.is_empty()) {
        crate::support::sys::setdomainname(d).ctx(|| format!("set domainname {d:?}"))?;
    }
    Ok(())
}

/// `create`: block on the exec fifo until `start` writes to it. `run`: go straight on.
fn wait_for_start(cfg: &InitConfig, parent: &dyn Parent) -> Result<()> {
    match parent.final_word()? {
        FinalWord::ExecNow => Ok(()),
        FinalWord::WaitForStart => {
            let fifo = cfg
                .fifo
                .as_ref()
                .ok_or_else(|| Error::msg("no exec fifo to wait on"))?;
            let mut file = std::fs::File::from(fifo.try_clone().ctx(|| "dup the exec fifo")?);
            let mut byte = [0u8; 1];
            loop {
                match file.read(&mut byte) {
                    Ok(1) => return Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Ok(_) => return Err(Error::msg("exec fifo closed")),
                    Err(e) => return Err(Error::os("read the exec fifo", e)),
                }
            }
        }
    }
}
