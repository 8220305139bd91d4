//! `linux.maskedPaths` and `linux.readonlyPaths`: masked with a /dev/null verified to be
//! the null device, or an empty read-only tmpfs; read-only with their submounts.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::fcntl::{OFlag, ResolveFlag};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{fstat, makedev, Mode, SFlag};

use crate::support::error::{Context, Error, Result};

use super::resolve::{fd_path, mount_target, open_in_root, LazyRoot};
use super::NONE;

/// The container's /proc, verified to be the root of a procfs and not a symlink
/// (CVE-2019-19921, CVE-2023-27561); writes through it cannot be redirected by a mount
/// (`procfs`, CVE-2025-52881).
pub(super) fn verified_proc() -> Result<crate::support::procfs::ProcRoot> {
    crate::support::procfs::ProcRoot::open()
}

/// Hide paths: directories under an empty read-only tmpfs, files under /dev/null — a
/// /dev/null verified to be the real null device (CVE-2025-31133).
pub(super) fn mask_paths(root: &LazyRoot, paths: &[String]) -> Result<()> {
    if paths.is_empty() {
        return Ok(());
    }
    verified_proc()?;
    let null = nix::fcntl::open(
        "/dev/null",
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| "open /dev/null to mask paths")?;
    let st = fstat(&null).ctx(|| "stat /dev/null")?;
    if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFCHR
        || st.st_rdev != makedev(1, 3)
    {
        return Err(Error::msg("/dev/null in the container is not the null device (char 1:3); refusing to mask with it"));
    }
    for p in paths {
        let Some(fd) = open_listed(root.get()?, p, "masked")? else {
            continue;
        };
        let is_dir = fstat(&fd)
            .is_ok_and(|s| SFlag::from_bits_truncate(s.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR);
        let res = if is_dir {
            mount(
                Some("tmpfs"),
                mount_target(&fd).as_str(),
                Some("tmpfs"),
                MsFlags::MS_RDONLY,
                NONE,
            )
        } else {
            mount(
                Some(fd_path(&null).as_str()),
                fd_path(&fd).as_str(),
                NONE,
                MsFlags::MS_BIND,
                NONE,
            )
        };
        res.ctx(|| format!("mask {p}"))?;
    }
    Ok(())
}

/// Make paths read-only, submounts included: a detached copy of each path's mount tree is
/// made read-only, then put over the path (it is never seen writable there).
pub(super) fn readonly_paths(root: &LazyRoot, paths: &[String]) -> Result<()> {
    use crate::support::sys::{
        mount_attr, mount_setattr_recursive, move_mount_fd, open_tree_clone_fd,
    };
    for p in paths {
        let Some(fd) = open_listed(root.get()?, p, "read-only")? else {
            continue;
        };
        let tree = open_tree_clone_fd(fd.as_fd(), true).ctx(|| format!("copy the mount at {p}"))?;
        mount_setattr_recursive(tree.as_fd(), mount_attr::RDONLY, 0)
            .ctx(|| format!("make {p} read-only"))?;
        move_mount_fd(tree.as_fd(), fd.as_fd())
            .ctx(|| format!("put the read-only copy over {p}"))?;
    }
    Ok(())
}

/// A listed path, opened inside the root without following a final symlink; None when the
/// image has nothing there (runc skips it too).
fn open_listed(root: BorrowedFd, path: &str, list: &str) -> Result<Option<OwnedFd>> {
    match open_in_root(
        root,
        Path::new(path),
        OFlag::O_PATH | OFlag::O_NOFOLLOW,
        ResolveFlag::empty(),
    ) {
        Ok(fd) => Ok(Some(fd)),
        Err(nix::errno::Errno::ENOENT) => Ok(None),
        Err(e) => Err(Error::os(format!("open {list} path {path}"), e)),
    }
}
