//! The namespace plan made on the host before the fork: each path opened and checked
//! (`NamespacePlan::from_spec` for a new container, `for_exec` for an exec), the writes a
//! joined host namespace must not take, and the id maps brig writes for a new user
//! namespace. The plan itself, and entering it, are the init's (`init::namespaces`).

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;

use nix::sched::CloneFlags;
use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType, Spec};

use crate::init::namespaces::{clone_flag, ns_label_of, NamespacePlan};
use crate::process::idmap_helper::{self, Ids};
use crate::support::error::{Context, Error, Result};
use crate::support::sys;

impl NamespacePlan {
    /// Open and check every namespace path; decide what is new.
    pub fn from_spec(spec: &Spec) -> Result<NamespacePlan> {
        let mut new = CloneFlags::empty();
        let mut joins = Vec::new();
        let namespaces = spec.linux().as_ref().and_then(|l| l.namespaces().as_ref());
        for (i, ns) in namespaces.into_iter().flatten().enumerate() {
            let flag = clone_flag(ns.typ());
            let Some(path) = ns.path() else {
                new |= flag;
                continue;
            };
            let field = format!("linux.namespaces[{i}].path");
            let fd = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_CLOEXEC)
                .open(path)
                .map_err(|e| {
                    Error::config(
                        &field,
                        format!(
                            "open {}: {}",
                            path.display(),
                            crate::support::error::errno_text(&e)
                        ),
                    )
                })?;
            let fd = OwnedFd::from(fd);
            match sys::ns_type(fd.as_fd()) {
                Ok(t) if t == flag.bits() => {}
                _ => {
                    return Err(Error::config(
                        field,
                        format!("{} is not a {} namespace", path.display(), ns.typ()),
                    ))
                }
            }
            refuse_host_writes(spec, &field, ns.typ(), fd.as_fd())?;
            if ns.typ() == LinuxNamespaceType::Pid
                && crate::security::exe::ptrace_over_brig(spec, spec.process().as_ref())
            {
                crate::security::exe::refuse_joining_waiting_init(fd.as_fd(), &field)?;
            }
            joins.push((flag, fd));
        }
        // Joining the user namespace first gives the capabilities to join the others.
        joins.sort_by_key(|(f, _)| *f != CloneFlags::CLONE_NEWUSER);
        let time_offsets = spec
            .linux()
            .as_ref()
            .and_then(|l| l.time_offsets().as_ref())
            .map(|offsets| {
                let mut clocks: Vec<_> = offsets.iter().collect();
                clocks.sort_by_key(|(name, _)| name.as_str());
                clocks
                    .into_iter()
                    .map(|(name, o)| {
                        let (secs, nanos) = (o.secs().unwrap_or(0), o.nanosecs().unwrap_or(0));
                        format!("{name} {secs} {nanos}\n")
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(NamespacePlan {
            new,
            joins,
            exec_into: None,
            time_offsets,
            unprivileged: !nix::unistd::geteuid().is_root(),
        })
    }

    /// An exec joins every namespace the container has, through its init's /proc entries.
    pub fn for_exec(spec: &Spec, init_pid: i32) -> Result<NamespacePlan> {
        let mut joins = Vec::new();
        let namespaces = spec.linux().as_ref().and_then(|l| l.namespaces().as_ref());
        for ns in namespaces.into_iter().flatten() {
            let flag = clone_flag(ns.typ());
            let file = match ns.typ() {
                LinuxNamespaceType::Mount => "mnt",
                LinuxNamespaceType::Network => "net",
                other => ns_label_of(other),
            };
            let path = format!("/proc/{init_pid}/ns/{file}");
            let fd = nix::fcntl::open(
                path.as_str(),
                nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )
            .map_err(|e| {
                // The init stays non-dumpable (its /proc files root's) until it execs.
                let hint = if e == nix::errno::Errno::EACCES && !nix::unistd::geteuid().is_root() {
                    " (rootless: a container can be entered once it has started)"
                } else {
                    ""
                };
                Error::msg(format!(
                    "open {path}: {}{hint}",
                    crate::support::error::errno_text(&std::io::Error::from(e))
                ))
            })?;
            joins.push((flag, fd));
        }
        // A restored init lives in the time namespace criu made for it (its clocks go on
        // from the dump): an exec joins it too, though the spec names none.
        let has_time = namespaces
            .into_iter()
            .flatten()
            .any(|n| n.typ() == LinuxNamespaceType::Time);
        if !has_time {
            if let Some(fd) = other_time_namespace(init_pid) {
                joins.push((clone_flag(LinuxNamespaceType::Time), fd));
            }
        }
        joins.sort_by_key(|(f, _)| *f != CloneFlags::CLONE_NEWUSER);
        Ok(NamespacePlan {
            new: CloneFlags::empty(),
            joins,
            exec_into: Some(init_pid),
            time_offsets: String::new(),
            unprivileged: !nix::unistd::geteuid().is_root(),
        })
    }
}

/// The init's time namespace when it is not brig's own.
fn other_time_namespace(init_pid: i32) -> Option<OwnedFd> {
    use std::os::unix::fs::MetadataExt;
    let path = format!("/proc/{init_pid}/ns/time");
    let theirs = std::fs::metadata(&path).ok()?;
    let ours = std::fs::metadata("/proc/self/ns/time").ok()?;
    if (theirs.dev(), theirs.ino()) == (ours.dev(), ours.ino()) {
        return None;
    }
    nix::fcntl::open(
        path.as_str(),
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ok()
}

/// Sysctls and the hostname are written into the namespace the container is in. When a
/// joined network, ipc or uts namespace is brig's own (the host's), they would change it
/// for every process on the host: refused, as runc refuses net.* sysctls there.
fn refuse_host_writes(
    spec: &Spec,
    joined_by: &str,
    typ: LinuxNamespaceType,
    fd: std::os::fd::BorrowedFd,
) -> Result<()> {
    let (kind, file) = match typ {
        LinuxNamespaceType::Network => ("network", "net"),
        LinuxNamespaceType::Ipc => ("ipc", "ipc"),
        LinuxNamespaceType::Uts => ("uts", "uts"),
        _ => return Ok(()),
    };
    let linux = spec.linux().as_ref();
    let sysctl = linux
        .and_then(|l| l.sysctl().as_ref())
        .into_iter()
        .flatten()
        .map(|(name, _)| name)
        .find(|name| crate::support::oci::sysctl_namespace(name) == Some(typ));
    let names = [
        ("hostname", spec.hostname()),
        ("domainname", spec.domainname()),
    ];
    let name = names
        .iter()
        .find(|(_, v)| typ == LinuxNamespaceType::Uts && v.as_ref().is_some_and(|v| !v.is_empty()));
    if sysctl.is_none() && name.is_none() {
        return Ok(());
    }
    let same = |a: &nix::sys::stat::FileStat, b: &nix::sys::stat::FileStat| {
        (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
    };
    let joined = nix::sys::stat::fstat(fd).ctx(|| format!("{joined_by}: fstat"))?;
    let own = nix::sys::stat::stat(format!("/proc/self/ns/{file}").as_str())
        .ctx(|| format!("stat /proc/self/ns/{file}"))?;
    if !same(&joined, &own) {
        return Ok(());
    }
    Err(match (sysctl, name) {
        (Some(sysctl), _) => Error::config(
            format!("linux.sysctl.{sysctl}"),
            format!("sysctl {sysctl:?} is not allowed in the hosts {kind} namespace ({joined_by} joins it)"),
        ),
        (None, Some((field, _))) => Error::config(
            *field,
            format!("the uts namespace {joined_by} joins is the host's; setting the {field} there would change the host's"),
        ),
        (None, None) => unreachable!("returned above"),
    })
}

/// A user namespace holding `uid` and `gid` maps, for an idmapped mount. A child forked
/// into a new user namespace waits while we write its maps and open its namespace, then
/// is killed: the open fd keeps the namespace alive.
pub fn userns_with_maps(uid: &[LinuxIdMapping], gid: &[LinuxIdMapping]) -> Result<OwnedFd> {
    let pid = sys::clone_fork(libc::CLONE_NEWUSER).map_err(|e| {
        Error::os(
            "fork a process into a user namespace for an idmapped mount",
            e,
        )
    })?;
    if pid == 0 {
        let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
        loop {
            nix::unistd::pause();
        }
    }
    struct Reap(i32);
    impl Drop for Reap {
        fn drop(&mut self) {
            let pid = nix::unistd::Pid::from_raw(self.0);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(pid, None);
        }
    }
    let _reap = Reap(pid);
    write_maps(pid, [uid, gid], |field, e| {
        Error::msg(format!("{field}: {e}"))
    })?;
    let path = format!("/proc/{pid}/ns/user");
    nix::fcntl::open(
        path.as_str(),
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ctx(|| format!("open {path}"))
}

fn map_text(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

/// Write uid_map and gid_map of `pid` from the spec.
pub fn write_id_maps(spec: &Spec, pid: i32) -> Result<()> {
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    let maps =
        [linux.uid_mappings(), linux.gid_mappings()].map(|m| m.as_deref().unwrap_or_default());
    write_maps(pid, maps, |field, e| {
        Error::config(format!("linux.{field}"), e.to_string())
    })
}

/// Write the uid and gid maps of `pid`; `named` names the field ("uidMappings") in an
/// error. Root writes both directly. A user writes a map of just its own id directly (denying setgroups first, as
/// the kernel demands of an unprivileged gid_map), and leaves more to newuidmap/newgidmap.
fn write_maps(
    pid: i32,
    maps: [&[LinuxIdMapping]; 2],
    named: impl Fn(&str, Error) -> Error,
) -> Result<()> {
    let privileged = nix::unistd::geteuid().is_root();
    let files = [
        (Ids::User, "uid_map", "uidMappings"),
        (Ids::Group, "gid_map", "gidMappings"),
    ];
    for ((ids, file, field), maps) in files.into_iter().zip(maps) {
        let named = |e: Error| named(field, e);
        if !privileged && idmap_helper::needs_helper(ids, maps) {
            idmap_helper::write_with_helper(ids, pid, maps).map_err(named)?;
            continue;
        }
        if !privileged && matches!(ids, Ids::Group) {
            let path = format!("/proc/{pid}/setgroups");
            std::fs::write(&path, "deny").ctx(|| format!("write {path}"))?;
        }
        let path = format!("/proc/{pid}/{file}");
        std::fs::write(&path, map_text(maps))
            .ctx(|| format!("write {path}"))
            .map_err(named)?;
    }
    Ok(())
}
