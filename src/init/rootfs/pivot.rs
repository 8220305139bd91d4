//! Entering the new root: pivot_root, or with `--no-pivot` MS_MOVE and chroot after the
//! host's mounts are unmounted (every mount a slave first, so no unmount reaches the
//! host); the mount holding the rootfs made private when it is shared.

use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::Mode;
use oci_spec::runtime::Spec;

use crate::support::error::{Context, Error, Result};

use super::{mountopts, NONE};

/// pivot_root(".", ".") and detach the old root, which stays stacked underneath.
pub(super) fn pivot_root(rootfs: &Path) -> Result<()> {
    // O_PATH: fchdir is all they are for, so no filesystem's open (a network one's round
    // trip) runs for them.
    let old = nix::fcntl::open(
        "/",
        OFlag::O_DIRECTORY | OFlag::O_PATH | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| "open /")?;
    let new = nix::fcntl::open(
        rootfs,
        OFlag::O_DIRECTORY | OFlag::O_PATH | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| "open the rootfs")?;
    nix::unistd::fchdir(&new).ctx(|| "chdir into the rootfs")?;
    nix::unistd::pivot_root(".", ".").ctx(|| format!("pivot_root into {}", rootfs.display()))?;
    nix::unistd::fchdir(&old).ctx(|| "chdir into the old root")?;
    // The old root must not propagate our unmount to the host.
    mount(NONE, ".", NONE, MsFlags::MS_SLAVE | MsFlags::MS_REC, NONE)
        .ctx(|| "make the old root a slave")?;
    umount2(".", MntFlags::MNT_DETACH).ctx(|| "detach the old root")?;
    nix::unistd::chdir("/").ctx(|| "chdir /")
}

/// `--no-pivot`: hide what the host mounted outside the rootfs, move the rootfs onto /,
/// and chroot into it (for roots on a ramdisk, where pivot_root is refused).
pub(super) fn move_root(rootfs: &Path) -> Result<()> {
    let info = crate::support::proc::read_text("/proc/self/mountinfo")
        .ctx(|| "read /proc/self/mountinfo")?;
    let mut points: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(unescape_mountinfo(p)))
        .filter(|p| !p.starts_with(rootfs) && !rootfs.starts_with(p))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    // An unmount travels to the peers of the mount's parent: with every mount a slave
    // first, none reaches the host (the rootfs takes the spec's propagation again in
    // `enter_root`).
    mount(NONE, "/", NONE, MsFlags::MS_SLAVE | MsFlags::MS_REC, NONE)
        .ctx(|| "make every mount a slave before unmounting the host's")?;
    for p in points {
        let _ = umount2(&p, MntFlags::MNT_DETACH);
    }
    nix::unistd::chdir(rootfs).ctx(|| "chdir into the rootfs")?;
    mount(Some(rootfs), "/", NONE, MsFlags::MS_MOVE, NONE).ctx(|| "move the rootfs onto /")?;
    nix::unistd::chroot(".").ctx(|| "chroot into the rootfs")?;
    nix::unistd::chdir("/").ctx(|| "chdir /")
}

pub(super) fn unescape_mountinfo(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// Make the mount holding the rootfs private (only if it is shared, with `if_shared`):
/// pivot_root refuses a shared parent, and the rootfs bound from a shared mount would
/// pass every container mount to the host.
pub(super) fn make_parent_mount_private(rootfs: &Path, if_shared: bool) -> Result<()> {
    let info = crate::support::proc::read_text("/proc/self/mountinfo")
        .ctx(|| "read /proc/self/mountinfo")?;
    // The last listed of the longest mount points above the rootfs is the one on top.
    let parent = info
        .lines()
        .filter_map(|l| {
            let fields: Vec<&str> = l.split(" - ").next()?.split(' ').collect();
            let point = PathBuf::from(unescape_mountinfo(fields.get(4)?));
            let shared = fields
                .get(6..)
                .unwrap_or_default()
                .iter()
                .any(|f| f.starts_with("shared:"));
            rootfs.starts_with(&point).then_some((point, shared))
        })
        .max_by_key(|(p, _)| p.components().count());
    let (parent, shared) = parent.unwrap_or_else(|| (PathBuf::from("/"), true));
    if if_shared && !shared {
        return Ok(());
    }
    mount(NONE, &parent, NONE, MsFlags::MS_PRIVATE, NONE)
        .ctx(|| format!("make {} private", parent.display()))
}

/// `--no-pivot` moves the rootfs onto / and unmounts the host's mounts around it, so a
/// propagation that would let those unmounts reach the host is refused, as runc does.
pub fn check_no_pivot(spec: &Spec, no_pivot: bool) -> Result<()> {
    let propagation = spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().as_deref())
        .and_then(mountopts::propagation);
    if no_pivot && propagation.is_some_and(|p| p.contains(MsFlags::MS_PRIVATE)) {
        return Err(Error::config(
            "linux.rootfsPropagation",
            "rootfsPropagation of [r]private is not safe without pivot_root",
        ));
    }
    Ok(())
}
