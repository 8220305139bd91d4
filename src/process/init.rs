//! Inside the container: the ordered steps from fork to execve. `run` reads top to bottom
//! as the sequence; each step is a named function.

use std::convert::Infallible;
use std::ffi::CString;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use nix::unistd::{Gid, Uid};

use super::channel::{Channel, Msg};
use super::InitConfig;
use crate::error::{Context, Error, Result};

/// The child's entry point: run the steps, report a failure to the parent, never return.
pub fn main(cfg: &InitConfig, ch: Channel) -> ! {
    let mut ready = false;
    let err = match run(cfg, &ch, &mut ready) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    if ready {
        // The runtime no longer listens once the container is created: say it where the
        // container's own output goes.
        let _ =
            std::io::Write::write_all(&mut std::io::stderr(), format!("brig: {err}\n").as_bytes());
    } else {
        let _ = ch.send(&Msg::Error(err.to_string()));
    }
    exit_now(1)
}

use crate::sys::exit_now;

fn run(cfg: &InitConfig, ch: &Channel, ready: &mut bool) -> Result<Infallible> {
    // Until execve this process runs the host's brig binary: a container process must not
    // reach it through /proc/PID/exe (CVE-2019-5736). Non-dumpable denies that to anyone
    // without CAP_SYS_PTRACE; execve makes the user's program dumpable again.
    // The exception: a user without root writes a new user namespace's id maps through our
    // /proc files, which are the user's only while we are dumpable (as in runc), so we stay
    // dumpable until the maps are written: from the clone to Go in a one-step spawn (in new
    // namespaces only, where nothing of the container exists yet), after the joins in a
    // two-step one (`enter_namespaces`).
    let maps_before_go = maps_by_user(cfg) && !cfg.namespaces.two_step();
    if !maps_before_go {
        set_dumpable(false)?;
    }
    // Nothing inherited from brig's caller may reach the container (CVE-2024-21626); every
    // fd brig opens from here on is close-on-exec already. Done first, before a seccomp
    // filter could refuse close_range.
    crate::sys::cloexec_from(3 + cfg.preserve_fds as i32)
        .ctx(|| "mark inherited file descriptors close-on-exec")?;
    reset_signals()?;
    crate::process::attrs::set_cpu_affinity(cfg.spec, false)?;
    ch.expect(Msg::Go)?;
    if maps_before_go {
        set_dumpable(false)?;
    }
    enter_namespaces(cfg, ch)?;
    if cfg.namespaces.new.contains(CloneFlags::CLONE_NEWCGROUP) {
        nix::sched::unshare(CloneFlags::CLONE_NEWCGROUP).ctx(|| "unshare the cgroup namespace")?;
    }
    if cfg.namespaces.in_user_ns() {
        become_root_in_user_ns()?;
    }
    let hooks_state = if cfg.exec {
        None
    } else {
        set_up_container(cfg, ch)?
    };
    if let (true, Some(console)) = (cfg.exec, &cfg.console) {
        // An exec'd process with a terminal leads a session of its own.
        nix::unistd::setsid().ctx(|| "setsid")?;
        set_up_console(cfg, console, false)?;
    }
    set_rlimits(cfg)?;
    let process = cfg
        .spec
        .process()
        .as_ref()
        .expect("validated: process is present");
    enter_cwd(process.cwd())?;
    check_cwd(process.cwd())?;
    let env = environment(cfg)?;
    let args = process.args().as_ref().expect("validated");
    let exe = find_executable(&args[0], &env)?;
    let seccomp = cfg.spec.linux().as_ref().and_then(|l| l.seccomp().as_ref());
    let filter = seccomp.map(crate::security::seccomp::prepare).transpose()?;
    // Realtime classes need capabilities the user switch may drop: set these first.
    crate::process::attrs::set_personality(cfg.spec)?;
    crate::process::attrs::set_scheduler(cfg.spec)?;
    crate::process::attrs::set_io_priority(cfg.spec)?;
    // The non-dumpable init's /proc files belong to root: before the user switch, and
    // before a seccomp filter could refuse the open.
    crate::security::lsm::apply_exec_labels(process)?;
    let nnp = process.no_new_privileges() == Some(true);
    let seccomp_at = filter.as_ref().map(|f| LoadSeccompBefore::when(f, nnp));
    if seccomp_at == Some(LoadSeccompBefore::UserSwitch) {
        load_seccomp(filter.as_ref(), ch)?;
    }
    switch_user(cfg)?;
    nix::sys::stat::umask(Mode::from_bits_truncate(
        process.user().umask().unwrap_or(0o022) as _,
    ));
    if nnp {
        nix::sys::prctl::set_no_new_privs().ctx(|| "set no_new_privs")?;
    }
    if seccomp_at == Some(LoadSeccompBefore::Ready) {
        load_seccomp(filter.as_ref(), ch)?;
    }
    ch.send(&Msg::Ready)?;
    *ready = true;
    wait_for_start(cfg, ch)?;
    if let Some(json) = hooks_state {
        // startContainer: after `start`, in the container, before the process runs.
        let json = json.replacen("\"status\":\"creating\"", "\"status\":\"created\"", 1);
        let kind = crate::hooks::Kind::StartContainer;
        crate::hooks::run(kind, kind.of(cfg.spec), &json, None)?;
    }
    crate::process::attrs::set_cpu_affinity(cfg.spec, true)?;
    if seccomp_at == Some(LoadSeccompBefore::Exec) {
        load_seccomp(filter.as_ref(), ch)?;
    }
    exec(&exe, args, &env)
}

/// Where in `run` the seccomp filter goes in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LoadSeccompBefore {
    /// Without no_new_privs loading a filter needs CAP_SYS_ADMIN, which the user switch
    /// may drop (runc's order).
    UserSwitch,
    /// A filter with a listener: the agent must have its fd before `create` returns, and
    /// answers what the init does after this (runc's order).
    Ready,
    /// Last, so that even a profile that forbids what setup needs cannot break it.
    Exec,
}

impl LoadSeccompBefore {
    fn when(filter: &crate::security::seccomp::Filter, nnp: bool) -> LoadSeccompBefore {
        match (nnp, filter.notifies()) {
            (false, _) => LoadSeccompBefore::UserSwitch,
            (true, true) => LoadSeccompBefore::Ready,
            (true, false) => LoadSeccompBefore::Exec,
        }
    }
}

/// Load the filter; a listener fd goes straight to brig, which hands it to the agent.
/// Nothing may come between the two: the agent answers nothing before it has the fd.
fn load_seccomp(filter: Option<&crate::security::seccomp::Filter>, ch: &Channel) -> Result<()> {
    let Some(filter) = filter else {
        return Ok(());
    };
    match filter.load()? {
        Some(listener) => ch.send(&Msg::SeccompFd(listener)),
        None => Ok(()),
    }
}

/// What only a new container needs: its session, keyring, root filesystem, names and
/// kernel settings. An exec joins all of these as they are.
fn set_up_container(cfg: &InitConfig, ch: &Channel) -> Result<Option<String>> {
    nix::unistd::setsid().ctx(|| "setsid")?;
    if !cfg.no_new_keyring {
        join_session_keyring(cfg.id)?;
    }
    // Device nodes and directories get exactly the modes the spec gives.
    nix::sys::stat::umask(Mode::empty());
    crate::rootfs::mount_all(cfg)?;
    let hooks_state = run_create_hooks(cfg, ch)?;
    crate::rootfs::enter_root(cfg)?;
    if let Some(console) = &cfg.console {
        set_up_console(cfg, console, true)?;
    }
    set_hostname(cfg)?;
    crate::rootfs::apply_sysctls(cfg.spec)?;
    crate::rootfs::finalize(cfg.spec)?;
    set_oom_score_adj(cfg)?;
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
    let (master, slave) = crate::tty::open_pty()?;
    if dev_console {
        crate::rootfs::bind_console(&slave)?;
    }
    if let Some(size) = cfg.spec.process().as_ref().and_then(|p| p.console_size()) {
        crate::tty::set_size(master.as_fd(), size.height() as u16, size.width() as u16)?;
    }
    crate::tty::send_master(socket.as_fd(), &master)?;
    crate::tty::make_controlling(&slave)
}

/// prestart and createRuntime run on the host (brig does them while the init waits);
/// createContainer runs here, in the container's namespaces, before pivot_root. Returns
/// the state JSON for the startContainer hooks.
fn run_create_hooks(cfg: &InitConfig, ch: &Channel) -> Result<Option<String>> {
    if cfg.create_hooks.is_none() {
        return Ok(None);
    }
    ch.send(&Msg::Hooks)?;
    let json = match ch.recv()? {
        Some(Msg::HooksDone(json)) => json,
        Some(Msg::Error(e)) => return Err(Error::msg(e)),
        other => {
            return Err(Error::msg(format!(
                "init channel: expected HooksDone, got {other:?}"
            )))
        }
    };
    let kind = crate::hooks::Kind::CreateContainer;
    crate::hooks::run(kind, kind.of(cfg.spec), &json, None)?;
    Ok(Some(json))
}

/// The process starts with no blocked signals and default dispositions: `run` blocks the
/// signals it forwards, and Rust ignores SIGPIPE; both would survive execve.
fn reset_signals() -> Result<()> {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal};
    for sig in Signal::iterator().filter(|s| !matches!(s, Signal::SIGKILL | Signal::SIGSTOP)) {
        crate::sys::default_disposition(sig).ctx(|| format!("reset {sig}"))?;
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
fn enter_namespaces(cfg: &InitConfig, ch: &Channel) -> Result<()> {
    if !cfg.namespaces.two_step() {
        return Ok(());
    }
    // Joins happen non-dumpable; a user's brig then needs us dumpable from its map writes
    // through our own timens_offsets write (both /proc files of ours).
    super::namespaces::join_and_unshare(&cfg.namespaces, || {
        if maps_by_user(cfg) {
            set_dumpable(true)?;
        }
        ch.send(&Msg::MapRequest)?;
        ch.expect(Msg::Mapped)
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
    let pid = crate::sys::clone_fork(0).map_err(|e| Error::os("fork the container init", e))?;
    if pid == 0 {
        drop(gate_open);
        let mut byte = [0u8; 1];
        while let Err(nix::errno::Errno::EINTR) = nix::unistd::read(&gate, &mut byte) {}
        return Ok(());
    }
    ch.send(&Msg::InitPid(pid))?;
    exit_now(0)
}

/// In a user namespace, setup runs as root of that namespace.
fn become_root_in_user_ns() -> Result<()> {
    nix::unistd::setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0))
        .ctx(|| "become root in the user namespace (setresgid 0; is gid 0 mapped?)")?;
    nix::unistd::setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0))
        .ctx(|| "become root in the user namespace (setresuid 0; is uid 0 mapped?)")
}

/// A session keyring of its own, so the container cannot see the caller's keys.
fn join_session_keyring(id: &str) -> Result<()> {
    let name = CString::new(format!("_ses.{id}")).map_err(|_| Error::InvalidId)?;
    match crate::sys::join_session_keyring(&name) {
        // Kernels without keyrings: nothing to isolate.
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => Ok(()),
        other => other.ctx(|| "join a new session keyring"),
    }
}

fn set_hostname(cfg: &InitConfig) -> Result<()> {
    if let Some(h) = cfg.spec.hostname().as_ref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h).ctx(|| format!("set hostname {h:?}"))?;
    }
    if let Some(d) = cfg.spec.domainname().as_ref().filter(|d| !d.is_empty()) {
        crate::sys::setdomainname(d).ctx(|| format!("set domainname {d:?}"))?;
    }
    Ok(())
}

fn set_rlimits(cfg: &InitConfig) -> Result<()> {
    let process = cfg.spec.process().as_ref().expect("validated");
    for (i, rl) in process.rlimits().iter().flatten().enumerate() {
        let name = serde_json::to_value(rl.typ())
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let resource = rlimit_resource(&name)
            .ok_or_else(|| Error::config("process.rlimits", format!("unknown rlimit {name}")))?;
        let lim = libc::rlimit {
            rlim_cur: rl.soft(),
            rlim_max: rl.hard(),
        };
        nix::errno::Errno::result(setrlimit(resource, &lim)).ctx(|| {
            format!(
                "process.rlimits[{i}]: setrlimit {name} (soft {}, hard {})",
                rl.soft(),
                rl.hard()
            )
        })?;
    }
    Ok(())
}

fn setrlimit(resource: libc::__rlimit_resource_t, lim: &libc::rlimit) -> libc::c_int {
    // SAFETY: lim points to a valid rlimit for the duration of the call.
    unsafe { libc::setrlimit(resource, lim) }
}

fn rlimit_resource(name: &str) -> Option<libc::__rlimit_resource_t> {
    Some(match name {
        "RLIMIT_AS" => libc::RLIMIT_AS,
        "RLIMIT_CORE" => libc::RLIMIT_CORE,
        "RLIMIT_CPU" => libc::RLIMIT_CPU,
        "RLIMIT_DATA" => libc::RLIMIT_DATA,
        "RLIMIT_FSIZE" => libc::RLIMIT_FSIZE,
        "RLIMIT_LOCKS" => libc::RLIMIT_LOCKS,
        "RLIMIT_MEMLOCK" => libc::RLIMIT_MEMLOCK,
        "RLIMIT_MSGQUEUE" => libc::RLIMIT_MSGQUEUE,
        "RLIMIT_NICE" => libc::RLIMIT_NICE,
        "RLIMIT_NOFILE" => libc::RLIMIT_NOFILE,
        "RLIMIT_NPROC" => libc::RLIMIT_NPROC,
        "RLIMIT_RSS" => libc::RLIMIT_RSS,
        "RLIMIT_RTPRIO" => libc::RLIMIT_RTPRIO,
        "RLIMIT_RTTIME" => libc::RLIMIT_RTTIME,
        "RLIMIT_SIGPENDING" => libc::RLIMIT_SIGPENDING,
        "RLIMIT_STACK" => libc::RLIMIT_STACK,
        _ => return None,
    })
}

fn set_oom_score_adj(cfg: &InitConfig) -> Result<()> {
    let process = cfg.spec.process().as_ref().expect("validated");
    if let Some(adj) = process.oom_score_adj() {
        crate::procfs::ProcRoot::open()?
            .write("self/oom_score_adj", adj.to_string().as_bytes(), false)
            .map_err(|e| Error::config("process.oomScoreAdj", e))?;
    }
    Ok(())
}

/// chdir into the configured cwd as root (it was created inside the rootfs if missing).
fn enter_cwd(cwd: &Path) -> Result<()> {
    nix::unistd::chdir(cwd).ctx(|| format!("chdir to cwd ({}) set in config.json", cwd.display()))
}

/// The cwd must be inside the container's root: a cwd reached through an fd of the host
/// would be outside it (CVE-2024-21626). The kernel shows such a cwd as "(unreachable)",
/// which glibc's getcwd reports as ENOENT.
fn check_cwd(cwd: &Path) -> Result<()> {
    let outside = || {
        Error::msg(format!(
            "current working directory is outside of container root: {}",
            cwd.display()
        ))
    };
    match nix::unistd::getcwd() {
        Err(nix::errno::Errno::ENOENT) => Err(outside()),
        Err(e) => Err(Error::os("getcwd after entering cwd", e)),
        Ok(real) if !real.is_absolute() => Err(outside()),
        Ok(_) => Ok(()),
    }
}

/// The process environment: the spec's, then LISTEN_FDS, then HOME if it is missing.
fn environment(cfg: &InitConfig) -> Result<Vec<String>> {
    let process = cfg.spec.process().as_ref().expect("validated");
    let mut env: Vec<String> = process.env().clone().unwrap_or_default();
    env.extend(cfg.extra_env.iter().cloned());
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        let home = home_of(process.user().uid()).unwrap_or_else(|| "/".into());
        env.push(format!("HOME={home}"));
    }
    Ok(env)
}

/// The user's home from the container's /etc/passwd, as runc sets it.
fn home_of(uid: u32) -> Option<String> {
    let passwd = read_user_db(Path::new("/etc/passwd"))?;
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() >= 6 && f[2].parse() == Ok(uid)).then(|| f[5].to_string())
    })
}

/// The most of a user database (/etc/passwd) the init reads.
const USER_DB_MAX: u64 = 16 << 20;

/// A user database of the image, read only if it is a regular file of sane size: a hostile
/// image's /etc/passwd can be /dev/zero or a pipe, which would be read until the memory
/// runs out (or forever). A refused file is named in a warning and treated as missing.
fn read_user_db(path: &Path) -> Option<String> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    let refused = |why: &str| {
        crate::logging::warn(&format!(
            "{} in the container {why}; not read (HOME defaults to /)",
            path.display()
        ));
        None
    };
    if !meta.is_file() {
        return refused("is not a regular file");
    }
    let mut text = String::with_capacity(meta.len().min(USER_DB_MAX) as usize + 1);
    let read = file.take(USER_DB_MAX + 1).read_to_string(&mut text).ok()?;
    if read as u64 > USER_DB_MAX {
        return refused(&format!("is larger than {} MiB", USER_DB_MAX >> 20));
    }
    Some(text)
}

/// Resolve args[0] like exec.LookPath inside the container, with runc's error texts,
/// so a missing binary fails `create` and not `start`.
fn find_executable(arg0: &str, env: &[String]) -> Result<PathBuf> {
    let check = |p: &Path| -> std::io::Result<()> {
        let meta = std::fs::metadata(p)?;
        if meta.is_dir() || meta.permissions().mode() & 0o111 == 0 {
            return Err(std::io::Error::from_raw_os_error(libc::EACCES));
        }
        Ok(())
    };
    if arg0.contains('/') {
        let p = PathBuf::from(arg0);
        return match check(&p) {
            Ok(()) => Ok(p),
            Err(e) if e.raw_os_error() == Some(libc::EACCES) => {
                Err(Error::msg(format!("exec: {arg0:?}: permission denied")))
            }
            Err(e) => Err(Error::msg(format!(
                "exec: {arg0:?}: stat {arg0}: {}",
                crate::error::errno_text(&e)
            ))),
        };
    }
    let path = env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("");
    let mut denied = false;
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = Path::new(dir).join(arg0);
        match check(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.raw_os_error() == Some(libc::EACCES) => denied = true,
            Err(_) => {}
        }
    }
    if denied {
        return Err(Error::msg(format!("exec: {arg0:?}: permission denied")));
    }
    Err(Error::msg(format!(
        "exec: {arg0:?}: executable file not found in $PATH"
    )))
}

/// Drop the bounding set, switch to the configured user keeping capabilities, then set
/// the remaining capability sets.
fn switch_user(cfg: &InitConfig) -> Result<()> {
    let user = cfg.spec.process().as_ref().expect("validated").user();
    cfg.caps.drop_bounding()?;
    nix::sys::prctl::set_keepcaps(true).ctx(|| "prctl(PR_SET_KEEPCAPS)")?;
    let groups: Vec<Gid> = user
        .additional_gids()
        .iter()
        .flatten()
        .map(|&g| Gid::from_raw(g))
        .collect();
    // setgroups is refused (EPERM) in a user namespace whose setgroups file says deny,
    // which a container without /proc cannot read: with no groups to set, that is fine.
    let denied =
        || Error::msg("process.user.additionalGids: setgroups is denied in this user namespace");
    match nix::unistd::setgroups(&groups) {
        Ok(()) => {}
        Err(nix::errno::Errno::EPERM) if cfg.namespaces.in_user_ns() => {
            if !groups.is_empty() {
                return Err(denied());
            }
        }
        Err(e) => return Err(Error::os(format!("setgroups {groups:?}"), e)),
    }
    let (uid, gid) = (Uid::from_raw(user.uid()), Gid::from_raw(user.gid()));
    nix::unistd::setresgid(gid, gid, gid).ctx(|| format!("setresgid {}", user.gid()))?;
    nix::unistd::setresuid(uid, uid, uid).ctx(|| format!("setresuid {}", user.uid()))?;
    check_ids(uid, gid)?;
    nix::sys::prctl::set_keepcaps(false).ctx(|| "prctl(PR_SET_KEEPCAPS)")?;
    cfg.caps.apply()
}

/// The process must hold exactly the ids asked for: an id the kernel took as "unchanged"
/// (-1) would leave it running as root. `spec::validate_user` refuses those; this is the
/// last line.
fn check_ids(uid: Uid, gid: Gid) -> Result<()> {
    let r = nix::unistd::getresuid().ctx(|| "getresuid")?;
    let g = nix::unistd::getresgid().ctx(|| "getresgid")?;
    if [r.real, r.effective, r.saved] != [uid; 3] || [g.real, g.effective, g.saved] != [gid; 3] {
        return Err(Error::msg(format!(
            "process.user: after the switch to {uid}:{gid} the process holds uids {}/{}/{} and gids {}/{}/{}",
            r.real, r.effective, r.saved, g.real, g.effective, g.saved
        )));
    }
    Ok(())
}

/// `create`: block on the exec fifo until `start` writes to it. `run`: go straight on.
fn wait_for_start(cfg: &InitConfig, ch: &Channel) -> Result<()> {
    match ch.recv()? {
        Some(Msg::Exec) => Ok(()),
        Some(Msg::Commit) => {
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
        Some(other) => Err(Error::msg(format!("init channel: unexpected {other:?}"))),
        None => Err(Error::msg(
            "the runtime went away before the container was created",
        )),
    }
}

fn exec(exe: &Path, args: &[String], env: &[String]) -> Result<Infallible> {
    let cstr = |s: &str| {
        CString::new(s).map_err(|_| Error::config("process", format!("{s:?} contains a NUL byte")))
    };
    let path = cstr(&exe.to_string_lossy())?;
    let argv = args.iter().map(|a| cstr(a)).collect::<Result<Vec<_>>>()?;
    let envp = env.iter().map(|e| cstr(e)).collect::<Result<Vec<_>>>()?;
    let err = nix::unistd::execve(&path, &argv, &envp).unwrap_err();
    // After `start` nobody reads the channel; say it on the container's stderr too.
    let msg = format!(
        "exec {}: {}",
        exe.display(),
        crate::error::errno_text(&err.into())
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("brig: {msg}\n").as_bytes());
    Err(Error::msg(msg))
}
