//! `exec`: start another process in a running container. It joins every namespace of the
//! container's init and its cgroup, and runs the same process steps as the init, starting
//! from the container's own process settings (or a process.json).

use std::path::{Path, PathBuf};

use oci_spec::runtime::{Capabilities, Capability, Process};

use crate::cgroups;
use crate::init::namespaces::NamespacePlan;
use crate::init::InitConfig;
use crate::lifecycle::create::{listen_fds, write_pid_file};
use crate::lifecycle::state::StateRoot;
use crate::lifecycle::status;
use crate::lifecycle::{console as tty, foreground as signals};
use crate::process;
use crate::security::capabilities::CapSets;
use crate::spec::Lenient;
use crate::support::error::{Error, Result};

#[derive(Default)]
pub struct ExecOptions<'a> {
    pub id: &'a str,
    pub process_file: Option<&'a Path>,
    pub args: Vec<String>,
    pub cwd: Option<&'a str>,
    pub env: Vec<String>,
    pub tty: bool,
    pub console_socket: Option<&'a Path>,
    /// `--pidfd-socket`: where a pidfd of the new process goes once it is ready.
    pub pidfd_socket: Option<&'a Path>,
    pub user: Option<&'a str>,
    pub additional_gids: Vec<String>,
    pub caps: Vec<String>,
    pub no_new_privs: bool,
    pub apparmor: Option<&'a str>,
    pub process_label: Option<&'a str>,
    pub preserve_fds: u32,
    pub cgroup: Vec<String>,
    pub ignore_paused: bool,
    pub detach: bool,
    pub pid_file: Option<&'a Path>,
}

/// Run the process; Ok holds the exit code (0 when detached).
pub fn exec(root: &StateRoot, o: &ExecOptions) -> Result<i32> {
    let state = root.peek(o.id)?;
    let dir = root.dir().join(o.id);
    let status = status::status(&dir, &state);
    match status {
        status::Status::Stopped => return Err(Error::msg("cannot exec in a stopped container")),
        status::Status::Paused if !o.ignore_paused => {
            return Err(Error::msg("cannot exec in a paused container"))
        }
        _ => {}
    }
    crate::security::lsm::check_apparmor("exec --apparmor", o.apparmor)?;
    crate::security::lsm::check_selinux("exec --process-label", o.process_label)?;
    let mut spec = crate::spec::parse(&state.config_bytes(&dir)?)?;
    let base = spec.process().clone().unwrap_or_default();
    let process = build_process(base, o)?;
    if status == status::Status::Created
        && crate::security::exe::ptrace_over_brig(&spec, Some(&process))
    {
        crate::security::exe::refuse_ptrace_near_waiting_init(state.pid)?;
    }
    let namespaces = NamespacePlan::for_exec(&spec, state.pid)?;
    let caps = CapSets::from_spec(process.capabilities().as_ref());
    spec.set_process(Some(process));
    // `--cgroup` places the process in sub-cgroups; everything else uses the container's.
    let cgroup = cgroups::from_paths(&state.cgroup.with_sub_cgroups(&o.cgroup)?);
    let forwarded = if o.detach {
        None
    } else {
        Some(signals::prepare_foreground(true)?)
    };
    let (preserve_fds, extra_env) = listen_fds(o.preserve_fds)?;
    let terminal = spec.process().as_ref().and_then(|p| p.terminal()) == Some(true);
    let (console_for_init, console) = tty::console_sockets(terminal, o.detach, o.console_socket)?;
    let cfg = InitConfig {
        id: o.id,
        spec: &spec,
        bundle: &state.bundle,
        rootfs: &state.rootfs,
        exec: true,
        no_pivot: false,
        no_new_keyring: true,
        close_in_child: Vec::new(),
        preserve_fds,
        extra_env,
        fifo: None,
        namespaces,
        cgroup: &state.cgroup,
        caps,
        console: console_for_init,
        create_hooks: false,
        idmapped: Vec::new(),
        bind_sources: Vec::new(),
    };
    let spawned = process::spawn(
        &cfg,
        cgroup.as_ref(),
        state.resctrl.as_ref(),
        &Default::default(),
    )?;
    crate::support::crash::point("exec: process ready");
    // Our copy of the init's console end must go, or a missing pty master would block the
    // proxy forever instead of reading EOF.
    drop(cfg);
    if let Some(f) = o.pid_file {
        write_pid_file(f, spawned.pid)?;
    }
    if let Some(socket) = o.pidfd_socket {
        tty::send_pidfd(socket, spawned.pid, "setns")?;
    }
    spawned.send_exec()?;
    crate::support::crash::point("exec: process started");
    crate::support::logging::debug(|| format!("exec: process {} started", spawned.pid));
    match (forwarded, console) {
        (Some(set), Some(console)) => tty::proxy(console, spawned.pid, &set),
        (Some(set), None) => signals::wait_forwarding(spawned.pid, &set),
        (None, _) => Ok(0),
    }
}

/// The exec'd process: a process.json, or the container's process with the flags applied.
fn build_process(base: Process, o: &ExecOptions) -> Result<Process> {
    let mut p = match o.process_file {
        Some(path) => {
            let bytes = with_default_user(crate::spec::read_stream(path)?);
            crate::spec::deserialize_lenient::<Process>(&bytes, "/capabilities").map_err(|e| {
                Error::msg(match e {
                    Lenient::Field(e) => format!("{}: {}: {}", path.display(), e.path(), e.inner()),
                    Lenient::Trailing(e) => format!("{}: trailing data: {e}", path.display()),
                })
            })?
        }
        None => {
            let mut p = base;
            if o.args.is_empty() {
                return Err(Error::msg(
                    "exec: no command given (pass one after the container id, or --process)",
                ));
            }
            p.set_args(Some(o.args.clone()));
            p.set_terminal(Some(o.tty));
            p
        }
    };
    if let Some(cwd) = o.cwd {
        p.set_cwd(PathBuf::from(cwd));
    }
    if let Some(profile) = o.apparmor {
        p.set_apparmor_profile(Some(profile.to_string()));
    }
    if let Some(label) = o.process_label {
        p.set_selinux_label(Some(label.to_string()));
    }
    let mut env = p.env().clone().unwrap_or_default();
    for kv in &o.env {
        // A variable given again replaces the container's value instead of shadowing it.
        let key = kv.split('=').next().unwrap_or(kv);
        env.retain(|e| e.split('=').next() != Some(key));
        env.push(kv.clone());
    }
    p.set_env(Some(env));
    if let Some(user) = o.user {
        let (uid, gid) = user.split_once(':').unwrap_or((user, "0"));
        let num = |v: &str| {
            v.parse::<u32>().map_err(|_| {
                Error::msg(format!(
                    "exec --user {user:?}: expected uid[:gid] as numbers"
                ))
            })
        };
        let mut u = p.user().clone();
        u.set_uid(num(uid)?);
        u.set_gid(num(gid)?);
        p.set_user(u);
    }
    if !o.additional_gids.is_empty() {
        let gids = o
            .additional_gids
            .iter()
            .map(|g| {
                g.parse::<u32>()
                    .map_err(|_| Error::msg(format!("exec --additional-gids {g:?}: not a number")))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut u = p.user().clone();
        u.set_additional_gids(Some(gids));
        p.set_user(u);
    }
    if !o.caps.is_empty() {
        add_caps(&mut p, &o.caps)?;
    }
    if o.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if p.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(Error::msg("exec: process.args must not be empty"));
    }
    let user_source = match (o.user, o.process_file) {
        (Some(u), _) => format!("exec --user {u}"),
        (None, Some(f)) => format!("{}: user", f.display()),
        (None, None) => "process.user".to_string(),
    };
    crate::spec::validate_user(p.user(), "user").map_err(|e| match e {
        Error::Config { problem, .. } => Error::msg(format!("{user_source}: {problem}")),
        other => other,
    })?;
    if !p.cwd().is_absolute() {
        return Err(Error::msg(format!(
            "exec: cwd {:?} is not an absolute path",
            p.cwd()
        )));
    }
    Ok(p)
}

/// `--cap`: added to the bounding, effective and permitted sets, never to the inheritable
/// one (CVE-2022-29162), nor ambient, which needs inheritable.
fn add_caps(p: &mut Process, names: &[String]) -> Result<()> {
    let mut caps = p.capabilities().clone().unwrap_or_default();
    for name in names {
        let full = if name.starts_with("CAP_") {
            name.clone()
        } else {
            format!("CAP_{name}")
        };
        let Ok(cap) = serde_json::from_value::<Capability>(serde_json::Value::String(
            full.to_ascii_uppercase(),
        )) else {
            // As runc: warned about and left out, not an error.
            crate::support::logging::warn(&format!(
                "ignoring unknown or unavailable capabilities: [{name}]"
            ));
            continue;
        };
        let add = |set: &Option<Capabilities>| -> Option<Capabilities> {
            let mut s = set.clone().unwrap_or_default();
            s.insert(cap);
            Some(s)
        };
        let (b, e, pm) = (
            add(caps.bounding()),
            add(caps.effective()),
            add(caps.permitted()),
        );
        caps.set_bounding(b);
        caps.set_effective(e);
        caps.set_permitted(pm);
    }
    p.set_capabilities(Some(caps));
    Ok(())
}

/// A process.json without `user` runs as root, as runc's (its `user` is a plain struct
/// whose zero value is 0:0); oci-spec would refuse it as missing. Bytes that are not a
/// JSON object are left for the parser to name the problem.
fn with_default_user(bytes: Vec<u8>) -> Vec<u8> {
    let Ok(serde_json::Value::Object(mut doc)) = serde_json::from_slice(&bytes) else {
        return bytes;
    };
    if doc.contains_key("user") {
        return bytes;
    }
    doc.insert("user".into(), serde_json::json!({"uid": 0, "gid": 0}));
    serde_json::to_vec(&doc).unwrap_or(bytes)
}
