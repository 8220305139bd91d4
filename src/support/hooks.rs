//! OCI hooks: each runs with the container's state JSON on stdin, its own args and env,
//! and an optional timeout.

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::Hook;

use crate::support::error::{Error, Result};

/// The six kinds, named as config.json names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Prestart => "prestart",
            Kind::CreateRuntime => "createRuntime",
            Kind::CreateContainer => "createContainer",
            Kind::StartContainer => "startContainer",
            Kind::Poststart => "poststart",
            Kind::Poststop => "poststop",
        }
    }

    /// Every kind, in lifecycle order.
    pub const ALL: [Kind; 6] = [
        Kind::Prestart,
        Kind::CreateRuntime,
        Kind::CreateContainer,
        Kind::StartContainer,
        Kind::Poststart,
        Kind::Poststop,
    ];
    /// The kinds that run during create or inside the init, which need the Hooks round trip.
    pub const IN_CREATE: [Kind; 4] = [
        Kind::Prestart,
        Kind::CreateRuntime,
        Kind::CreateContainer,
        Kind::StartContainer,
    ];

    pub fn of(self, spec: &oci_spec::runtime::Spec) -> &[Hook] {
        spec.hooks().as_ref().map_or(&[], |h| self.in_hooks(h))
    }

    /// This kind's list in a hooks object (the spec's, or the one saved in the state).
    pub fn in_hooks(self, h: &oci_spec::runtime::Hooks) -> &[Hook] {
        let list = match self {
            #[allow(deprecated)]
            Kind::Prestart => h.prestart(),
            Kind::CreateRuntime => h.create_runtime(),
            Kind::CreateContainer => h.create_container(),
            Kind::StartContainer => h.start_container(),
            Kind::Poststart => h.poststart(),
            Kind::Poststop => h.poststop(),
        };
        list.as_deref().unwrap_or_default()
    }
}

/// Run the hooks of one kind in order; the first failure stops them. `cwd` is where they
/// start: the bundle for the hooks brig runs on the host, as runc (which works from the
/// bundle); None keeps the caller's (the init's, for the hooks run in the container).
pub fn run(kind: Kind, hooks: &[Hook], state_json: &str, cwd: Option<&Path>) -> Result<()> {
    if hooks.is_empty() {
        return Ok(());
    }
    // A hook may exit without reading its stdin: that must not kill brig with SIGPIPE.
    let _guard = crate::support::sys::IgnoreSigpipe::new();
    for (i, hook) in hooks.iter().enumerate() {
        run_one(hook, state_json, cwd).map_err(|e| {
            Error::msg(format!(
                "{} hook #{i} ({}): {e}",
                kind.name(),
                hook.path().display()
            ))
        })?;
    }
    Ok(())
}

fn run_one(hook: &Hook, state_json: &str, cwd: Option<&Path>) -> std::result::Result<(), String> {
    let mut cmd = Command::new(hook.path());
    if let Some(args) = hook.args() {
        if let Some((arg0, rest)) = args.split_first() {
            cmd.arg0(arg0).args(rest);
        }
    }
    // As runc: a hook without `env` inherits the runtime's environment; a given list, even
    // an empty one, is the whole environment.
    if let Some(env) = hook.env() {
        cmd.env_clear();
        for kv in env {
            if let Some((k, v)) = kv.split_once('=') {
                cmd.env(k, v);
            }
        }
    }
    // A bundle already removed (a late poststop) leaves the caller's directory.
    if let Some(dir) = cwd.filter(|d| d.is_dir()) {
        cmd.current_dir(dir);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| crate::support::error::errno_text(&e))?;
    if let Some(mut stdin) = child.stdin.take() {
        // EPIPE means the hook did not want its stdin; that is allowed.
        let _ = stdin.write_all(state_json.as_bytes());
    }
    let pidfd = crate::support::sys::pidfd_open(child.id() as i32)
        .map_err(|e| crate::support::error::errno_text(&e))?;
    let stderr = child.stderr.take().map(OwnedFd::from);
    let (exited, stderr) = wait_reading_stderr(&pidfd, stderr, hook.timeout())?;
    if !exited {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!(
            "timed out after {}s",
            hook.timeout().unwrap_or_default()
        ));
    }
    let status = child
        .wait()
        .map_err(|e| crate::support::error::errno_text(&e))?;
    let out = std::process::Output {
        status,
        stdout: Vec::new(),
        stderr,
    };
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    Err(format!(
        "{}{}{}",
        out.status,
        if stderr.trim().is_empty() { "" } else { ": " },
        stderr.trim()
    ))
}

/// The most of a hook's stderr kept for the error message.
const STDERR_KEPT: usize = 64 << 10;

/// Wait for the hook to exit (false when `timeout` seconds pass first), reading its stderr
/// meanwhile so a chatty hook never blocks on a full pipe. Once it has exited, what is in
/// the pipe is read and no more: a child the hook left running in the background may hold
/// the pipe open for as long as it likes, and brig does not wait for it.
fn wait_reading_stderr(
    pidfd: &OwnedFd,
    stderr: Option<OwnedFd>,
    timeout: Option<i64>,
) -> std::result::Result<(bool, Vec<u8>), String> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let deadline = timeout.map(|s| Instant::now() + Duration::from_secs(s.max(0) as u64));
    let mut kept = Vec::new();
    let mut pipe = stderr;
    if let Some(p) = &pipe {
        nix::fcntl::fcntl(
            p,
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        )
        .map_err(|e| e.desc().to_string())?;
    }
    loop {
        let wait = match deadline {
            None => PollTimeout::NONE,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now()).as_millis();
                PollTimeout::try_from(left.min(i32::MAX as u128) as i32).unwrap_or(PollTimeout::MAX)
            }
        };
        let mut fds = vec![PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        if let Some(p) = &pipe {
            fds.push(PollFd::new(p.as_fd(), PollFlags::POLLIN));
        }
        let ready = match poll(&mut fds, wait) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.desc().to_string()),
            Ok(n) => n,
        };
        let exited = fds[0].any().unwrap_or(false);
        let readable = fds.get(1).and_then(|f| f.any()).unwrap_or(false);
        if ready == 0 {
            return Ok((false, kept));
        }
        if readable || exited {
            if let Some(p) = &pipe {
                if drain(p, &mut kept) {
                    pipe = None;
                }
            }
        }
        if exited {
            return Ok((true, kept));
        }
    }
}

/// Read what the pipe holds now; true at its end (every writer gone).
fn drain(pipe: &OwnedFd, kept: &mut Vec<u8>) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match nix::unistd::read(pipe, &mut buf) {
            Ok(0) => return true,
            Ok(n) => {
                let room = STDERR_KEPT.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return false,
        }
    }
}
