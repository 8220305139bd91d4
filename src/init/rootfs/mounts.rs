//! The spec's mounts: bind mounts (idmapped ones moved into place), filesystems (with
//! tmpcopyup and the covered directory's mode), remounts that repeat locked flags, and
//! the rules on where a mount may land (never over /proc but the files lxcfs replaces).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::{OFlag, ResolveFlag};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::fstat;
use oci_spec::runtime::{Mount, Spec};

use crate::support::error::{Context, Error, Result};

use super::cgroupfs::mount_cgroup;
use super::mountopts::{self, MountOptions};
use super::resolve::{
    create_file_in_root, fd_path, make_in_root_plain, mkdir_all_in_root, mount_target,
    open_in_root, remount, reopen,
};
use super::{Rootfs, NONE};

pub(super) fn mounts_dev_tmpfs(spec: &Spec) -> bool {
    spec.mounts().iter().flatten().any(|m| {
        m.destination() == Path::new("/dev")
            && !mountopts::parse(m.options().as_deref().unwrap_or_default())
                .is_ok_and(|o| o.is_bind())
    })
}

/// Where mounts under /proc may go: only the files lxcfs-style tools replace.
pub(super) fn check_proc_destination(dest: &Path, typ: &str) -> Result<()> {
    const ALLOWED: &[&str] = &[
        "/proc/cpuinfo",
        "/proc/diskstats",
        "/proc/meminfo",
        "/proc/stat",
        "/proc/swaps",
        "/proc/uptime",
        "/proc/loadavg",
        "/proc/slabinfo",
        "/proc/net/dev",
        "/proc/sys/kernel/ns_last_pid",
    ];
    // `..` is resolved as the kernel resolves it in the root: never above `/`.
    let mut clean = PathBuf::from("/");
    for c in dest.components() {
        match c {
            std::path::Component::ParentDir => {
                clean.pop();
            }
            std::path::Component::Normal(name) => clean.push(name),
            _ => {}
        }
    }
    if clean == Path::new("/proc") {
        return if typ == "proc" {
            Ok(())
        } else {
            Err(Error::msg(format!(
                "/proc cannot be mounted as {typ:?} (only procfs)"
            )))
        };
    }
    if clean.starts_with("/proc") && !ALLOWED.iter().any(|a| clean == Path::new(a)) {
        return Err(Error::msg(format!(
            "mounting over {} is not allowed (it is under /proc)",
            clean.display()
        )));
    }
    Ok(())
}

/// The /proc rule again on where a destination really is, once resolved in the root: a
/// symlink in the rootfs can lead under /proc where its spelling does not.
/// The root's own path is read once per container (`Rootfs::root_link`).
pub(super) fn check_real_destination(
    fs: &Rootfs,
    root: BorrowedFd,
    target: &OwnedFd,
    typ: &str,
) -> Result<()> {
    let root = fs
        .root_link
        .get_or_init(|| std::fs::read_link(fd_path(&root)).ok());
    let real = std::fs::read_link(fd_path(target));
    match (root, real) {
        (Some(root), Ok(real)) => match real.strip_prefix(root) {
            Ok(rel) => check_proc_destination(&Path::new("/").join(rel), typ),
            // RESOLVE_IN_ROOT keeps it inside; a path we cannot compare is not judged.
            Err(_) => Ok(()),
        },
        _ => Ok(()),
    }
}

/// A mount's destination, made if missing (a directory, or a file when `file`). Resolved
/// without a symlink, it is where it is spelled, which `check_proc_destination` judged;
/// with one, it is followed inside the root and judged where it really is.
fn destination(
    fs: &Rootfs,
    root: BorrowedFd,
    dest: &Path,
    kind: &str,
    file: bool,
) -> Result<OwnedFd> {
    if let Some(fd) = make_in_root_plain(root, dest, file)? {
        return Ok(fd);
    }
    let fd = if file {
        create_file_in_root(root, dest)?
    } else {
        mkdir_all_in_root(root, dest)?
    };
    check_real_destination(fs, root, &fd, kind)?;
    Ok(fd)
}

pub(super) fn mount_entry(fs: &Rootfs, root: BorrowedFd, index: usize, m: &Mount) -> Result<()> {
    let opts = mountopts::parse(m.options().as_deref().unwrap_or_default()).map_err(Error::msg)?;
    let typ = m.typ().as_deref().unwrap_or("");
    let dest = m.destination();
    check_proc_destination(dest, mount_kind(fs, m, &opts, typ))?;
    let target = if opts.is_bind() {
        bind_mount(fs, root, index, m, &opts)?
    } else if typ == "cgroup" || typ == "cgroup2" {
        mount_cgroup(fs, root, dest, &opts)?
    } else {
        mount_fs(fs, root, m, typ, &opts)?
    };
    let Some(target) = target else {
        return Ok(());
    };
    for p in &opts.propagation {
        mount(NONE, mount_target(&target).as_str(), NONE, *p, NONE)
            .ctx(|| format!("set propagation {p:?}"))?;
    }
    if opts.attr_set != 0 || opts.attr_clr != 0 {
        crate::support::sys::mount_setattr_recursive(target.as_fd(), opts.attr_set, opts.attr_clr)
            .ctx(|| "mount_setattr (recursive options)")?;
    }
    Ok(())
}

/// What a mount puts at its destination, for the /proc rules: its type, or "bind" — or
/// "proc" for a bind whose source is a procfs (runc allows binding the host's /proc over
/// the container's, as rootless setups with the host's pid namespace do).
fn mount_kind<'a>(fs: &Rootfs, m: &Mount, opts: &MountOptions, typ: &'a str) -> &'a str {
    if !opts.is_bind() {
        return typ;
    }
    let source = m.source().as_ref().map(|s| fs.bundle.join(s));
    let is_procfs = source.is_some_and(|s| {
        nix::sys::statfs::statfs(&s)
            .is_ok_and(|st| st.filesystem_type().0 == crate::support::procfs::PROC_SUPER_MAGIC)
    });
    if is_procfs {
        "proc"
    } else {
        "bind"
    }
}

/// A bind mount: the target is a directory or a file like its source. Returns the fd of
/// the new mount's root when `mounted_fd` would.
pub(super) fn bind_mount(
    fs: &Rootfs,
    root: BorrowedFd,
    index: usize,
    m: &Mount,
    opts: &MountOptions,
) -> Result<Option<OwnedFd>> {
    let source = m
        .source()
        .as_ref()
        .ok_or_else(|| Error::msg("a bind mount needs a source"))?;
    let source = fs.bundle.join(source);
    // Cloned on the host when the init is root only of a new user namespace.
    let opened = fs.bind_sources.iter().find(|(i, _)| *i == index);
    let meta = match opened {
        Some((_, fd)) => std::fs::metadata(fd_path(fd)),
        None => std::fs::metadata(&source),
    }
    .ctx(|| format!("stat bind source {}", source.display()))?;
    let kind = mount_kind(fs, m, opts, "bind");
    let target = destination(fs, root, m.destination(), kind, !meta.is_dir())?;
    if let Some((_, tree)) = fs.idmapped.iter().find(|(i, _)| *i == index) {
        crate::support::sys::move_mount_fd(tree.as_fd(), target.as_fd())
            .ctx(|| format!("move the idmapped mount of {} into place", source.display()))?;
    } else if let Some((_, tree)) = opened {
        crate::support::sys::move_mount_fd(tree.as_fd(), target.as_fd())
            .ctx(|| format!("move the bind mount of {} into place", source.display()))?;
    } else {
        let rec = opts.flags & MsFlags::MS_REC;
        mount(
            Some(&source),
            mount_target(&target).as_str(),
            NONE,
            MsFlags::MS_BIND | rec,
            NONE,
        )
        .ctx(|| format!("bind mount {}", source.display()))?;
    }
    let flags = opts.remount_flags();
    if flags.is_empty() {
        return mounted_fd(root, m.destination(), opts);
    }
    let top = reopen(root, m.destination())?;
    remount(Path::new(&mount_target(&top)), flags)?;
    Ok(opts.act_on_mount().then_some(top))
}

/// After mounting on `dest`, the new mount's fd if an option acts on it through one
/// (`MountOptions::act_on_mount`); most mounts need none, and the open is spared.
pub(super) fn mounted_fd(
    root: BorrowedFd,
    dest: &Path,
    opts: &MountOptions,
) -> Result<Option<OwnedFd>> {
    if !opts.act_on_mount() {
        return Ok(None);
    }
    reopen(root, dest).map(Some)
}

pub(super) fn mount_fs(
    fs: &Rootfs,
    root: BorrowedFd,
    m: &Mount,
    typ: &str,
    opts: &MountOptions,
) -> Result<Option<OwnedFd>> {
    let dest = m.destination();
    // As runc: a tmpfs over a directory the image has takes that directory's mode, unless
    // the options give one (the kernel's default is 1777, wrong over a 0700 directory).
    let covered_mode = (typ == "tmpfs" && !opts.data.iter().any(|d| d.starts_with("mode=")))
        .then(|| {
            open_in_root(
                root,
                dest,
                OFlag::O_PATH | OFlag::O_DIRECTORY,
                ResolveFlag::empty(),
            )
        })
        .and_then(|fd| fstat(&fd.ok()?).ok())
        .map(|st| st.st_mode & 0o7777);
    // procfs and sysfs are refused on a symlinked destination (CVE-2019-19921).
    let target = if typ == "proc" || typ == "sysfs" {
        match open_in_root(
            root,
            dest,
            OFlag::O_PATH | OFlag::O_DIRECTORY,
            ResolveFlag::RESOLVE_NO_SYMLINKS,
        ) {
            Ok(fd) => fd,
            Err(nix::errno::Errno::ELOOP) => {
                return Err(Error::msg(format!(
                    "filesystem {typ:?} must be mounted on ordinary directory ({} is a symlink in the rootfs)",
                    dest.display()
                )))
            }
            Err(nix::errno::Errno::ENOENT) => destination(fs, root, dest, typ, false)?,
            Err(e) => {
                return Err(Error::os(
                    format!("open {} in the rootfs", dest.display()),
                    e,
                ))
            }
        }
    } else {
        destination(fs, root, dest, typ, false)?
    };
    let source = m
        .source()
        .as_ref()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| typ.to_string());
    let mut data = opts.data.clone();
    if let Some(mode) = covered_mode.filter(|_| !opts.tmpcopyup) {
        data.push(format!("mode={mode:o}"));
    }
    let data = crate::security::lsm::labelled_mount_data(
        fs.spec,
        typ,
        (!data.is_empty()).then(|| data.join(",")),
    );
    let mut flags = opts.flags - MsFlags::MS_REMOUNT;
    if typ == "tmpfs" {
        // Read-only only once everything under it is made (devices, nested mounts, the
        // tmpcopyup copy): `finalize` remounts it, as runc does.
        flags -= MsFlags::MS_RDONLY;
    }
    let res = mount(
        Some(source.as_str()),
        mount_target(&target).as_str(),
        Some(typ),
        flags,
        data.as_deref(),
    );
    match res {
        Ok(()) => {}
        // Outside a namespace the container owns, the kernel refuses a fresh sysfs or
        // mqueue; bind the host's instead, as runc does.
        Err(nix::errno::Errno::EPERM) if typ == "sysfs" || typ == "mqueue" => {
            let host = if typ == "sysfs" {
                "/sys"
            } else {
                "/dev/mqueue"
            };
            mount(
                Some(host),
                mount_target(&target).as_str(),
                NONE,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                NONE,
            )
            .ctx(|| format!("bind mount {host} (a new {typ} was refused)"))?;
            let top = reopen(root, dest)?;
            let f = opts.remount_flags();
            if !f.is_empty() {
                remount(Path::new(&mount_target(&top)), f)?;
            }
        }
        Err(e) => {
            return Err(Error::os(
                format!(
                    "mount {typ} ({source}) with {:?}",
                    data.as_deref().unwrap_or("")
                ),
                e,
            ))
        }
    }
    if !opts.tmpcopyup {
        return mounted_fd(root, dest, opts);
    }
    let top = reopen(root, dest)?;
    // `target` still leads to the directory below the new tmpfs.
    crate::init::rootfs::copyup::copy_up(target.as_fd(), top.as_fd(), &opts.data)?;
    Ok(opts.act_on_mount().then_some(top))
}
