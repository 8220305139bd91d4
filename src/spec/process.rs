//! `process`: what config.json (or an exec's process.json) asks of the process, checked
//! before anything is created.

use oci_spec::runtime::{Process, Spec};

use crate::support::error::{Error, Result};

/// The process of a new container: present, runnable, and each of its fields sane.
pub(super) fn validate_process(spec: &Spec) -> Result<()> {
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::config("process", "missing (nothing to run)"))?;
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(Error::config("process.args", "must not be empty"));
    }
    validate_strings(process)?;
    if !process.cwd().is_absolute() {
        return Err(Error::config(
            "process.cwd",
            format!("{:?} is not an absolute path", process.cwd()),
        ));
    }
    for (i, rl) in process.rlimits().iter().flatten().enumerate() {
        if rl.soft() > rl.hard() {
            return Err(Error::config(
                format!("process.rlimits[{i}]"),
                "soft limit is greater than the hard limit",
            ));
        }
    }
    validate_process_extras(process)?;
    validate_user(process.user(), "process.user")?;

    Ok(())
}

/// args and env become C strings for execve: no NUL bytes, an executable name, and env
/// entries of the form NAME=value (runc's rules).
fn validate_strings(p: &Process) -> Result<()> {
    let args = p.args().as_deref().unwrap_or_default();
    if args.first().is_some_and(|a| a.is_empty()) {
        return Err(Error::config("process.args[0]", "must not be empty"));
    }
    for (i, a) in args.iter().enumerate() {
        if a.contains('\0') {
            return Err(Error::config(
                format!("process.args[{i}]"),
                "contains a NUL byte",
            ));
        }
    }
    for (i, e) in p.env().iter().flatten().enumerate() {
        let field = format!("process.env[{i}]");
        let problem = match e.split_once('=') {
            _ if e.contains('\0') => "contains a NUL byte",
            None => "missing '=' (expected NAME=value)",
            Some(("", _)) => "the variable name is empty",
            Some(_) => continue,
        };
        return Err(Error::config(field, format!("{e:?}: {problem}")));
    }
    Ok(())
}

/// The largest uid or gid a process may be given, as runc allows: -1 (4294967295) would
/// make setresuid leave the id unchanged, so the process would keep running as root.
pub const MAX_ID: u32 = i32::MAX as u32;

/// `process.user` (or an exec's): every id within 0..=MAX_ID.
pub fn validate_user(user: &oci_spec::runtime::User, field: &str) -> Result<()> {
    let out_of_range = |name: String, id: u32| {
        Error::config(
            format!("{field}.{name}"),
            format!("{id}: uids and gids must be in range 0-{MAX_ID}"),
        )
    };
    if user.uid() > MAX_ID {
        return Err(out_of_range("uid".into(), user.uid()));
    }
    if user.gid() > MAX_ID {
        return Err(out_of_range("gid".into(), user.gid()));
    }
    for (i, &g) in user.additional_gids().iter().flatten().enumerate() {
        if g > MAX_ID {
            return Err(out_of_range(format!("additionalGids[{i}]"), g));
        }
    }
    Ok(())
}

fn validate_process_extras(p: &Process) -> Result<()> {
    if let Some(adj) = p.oom_score_adj() {
        if !(-1000..=1000).contains(&adj) {
            return Err(Error::config(
                "process.oomScoreAdj",
                format!("{adj} is outside -1000..1000"),
            ));
        }
    }
    crate::security::lsm::check_apparmor(
        "process.apparmorProfile",
        p.apparmor_profile().as_deref(),
    )?;
    crate::security::lsm::check_selinux("process.selinuxLabel", p.selinux_label().as_deref())?;
    if let Some(io) = p.io_priority() {
        if !(0..=7).contains(&io.priority()) {
            return Err(Error::config(
                "process.ioPriority.priority",
                "must be between 0 and 7",
            ));
        }
    }
    if let Some(a) = p.exec_cpu_affinity() {
        for (field, list) in [("initial", a.initial()), ("final", a.cpu_affinity_final())] {
            if let Some(list) = list {
                crate::support::oci::parse_cpu_list(list)
                    .map_err(|e| Error::config(format!("process.execCPUAffinity.{field}"), e))?;
            }
        }
    }
    Ok(())
}
