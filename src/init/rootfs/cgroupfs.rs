//! /sys/fs/cgroup inside the container: fresh hierarchies with a cgroup namespace, the
//! container's own cgroup directories bound without one.

use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::mount::{mount, MsFlags};
use nix::sys::stat::{mkdirat, Mode};
use nix::unistd::symlinkat;

use crate::support::error::{Context, Error, Result};

use super::mountopts::MountOptions;
use super::mounts::mounted_fd;
use super::resolve::{mkdir_all_in_root, mount_target, remount, reopen};
use super::{Rootfs, NONE};

/// /sys/fs/cgroup inside the container. With a cgroup namespace the hierarchies are
/// mounted fresh (their root is the container's cgroup); without one the container's own
/// cgroup directories are bind-mounted.
pub(super) fn mount_cgroup(
    fs: &Rootfs,
    root: BorrowedFd,
    dest: &Path,
    opts: &MountOptions,
) -> Result<Option<OwnedFd>> {
    let cgns = fs.cgroup_ns;
    let target = mkdir_all_in_root(root, dest)?;
    let flags = opts.flags - MsFlags::MS_REMOUNT;
    if fs.cgroup.layout == "v2" {
        if cgns {
            mount(
                Some("cgroup2"),
                mount_target(&target).as_str(),
                Some("cgroup2"),
                flags,
                NONE,
            )
            .ctx(|| "mount cgroup2")?;
        } else {
            // Rootless without a cgroup of its own: the one it runs in, its creator's, which
            // holds the user's other processes too, so always read-only.
            let (host, forced) = match fs.cgroup.dirs.get("unified") {
                Some(dir) => (dir.clone(), MsFlags::empty()),
                None => (
                    crate::cgroups::own_v2_dir()
                        .ok_or_else(|| Error::msg("no cgroup2 line in /proc/self/cgroup"))?,
                    MsFlags::MS_RDONLY,
                ),
            };
            mount(
                Some(&host),
                mount_target(&target).as_str(),
                NONE,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                NONE,
            )
            .ctx(|| format!("bind mount {}", host.display()))?;
            let top = reopen(root, dest)?;
            remount(
                Path::new(&mount_target(&top)),
                opts.remount_flags() | forced,
            )?;
        }
        return mounted_fd(root, dest, opts);
    }
    let writable = flags - MsFlags::MS_RDONLY;
    mount(
        Some("tmpfs"),
        mount_target(&target).as_str(),
        Some("tmpfs"),
        writable,
        Some("mode=755"),
    )
    .ctx(|| "mount the tmpfs for cgroup hierarchies")?;
    let top = reopen(root, dest)?;
    // From here each hierarchy's directory is named relative to the tmpfs, the working
    // directory: mount(2) needs no fd of it, nor a walk from the rootfs.
    nix::unistd::fchdir(&top).ctx(|| format!("chdir into {}", dest.display()))?;
    for (name, host_dir) in &fs.cgroup.dirs {
        let Some(base) = fs.cgroup.mounts.get(name).and_then(|m| m.file_name()) else {
            continue;
        };
        subdir(&top, dest, base)?;
        if cgns {
            let (fstype, data) = if name == "unified" {
                ("cgroup2", None)
            } else {
                ("cgroup", Some(name.as_str()))
            };
            mount(Some("cgroup"), base, Some(fstype), flags, data)
                .ctx(|| format!("mount cgroup hierarchy {name}"))?;
        } else {
            mount(
                Some(host_dir),
                base,
                NONE,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                NONE,
            )
            .ctx(|| format!("bind mount {}", host_dir.display()))?;
            // The name now leads into the bind mount, whose flags the remount sets.
            remount(Path::new(base), opts.remount_flags())?;
        }
        // Co-mounted controllers (cpu,cpuacct) also answer to each name, as on the host.
        let base = base.to_string_lossy();
        if base.contains(',') {
            for part in base.split(',') {
                match symlinkat(base.as_ref(), top.as_fd(), part) {
                    Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
                    Err(e) => return Err(Error::os(format!("symlink {part} -> {base}"), e)),
                }
            }
        }
    }
    if flags.contains(MsFlags::MS_RDONLY) {
        // The working directory is still the tmpfs's root.
        remount(Path::new("."), flags)?;
    }
    mounted_fd(root, dest, opts)
}

/// A hierarchy's directory on the tmpfs just mounted at the cgroup mount's destination,
/// made from the tmpfs's fd. Nothing but brig has written to the tmpfs, so its names hold
/// no symlink to resolve. A name made already (a co-mounted pair listed twice) is used
/// again, as before. `dest` (the tmpfs's path) is for the error messages.
fn subdir(top: &OwnedFd, dest: &Path, name: &OsStr) -> Result<()> {
    match mkdirat(top.as_fd(), name, Mode::from_bits_truncate(0o755)) {
        Ok(()) | Err(nix::errno::Errno::EEXIST) => Ok(()),
        Err(e) => Err(Error::os(
            format!("mkdir {} in the rootfs", dest.join(name).display()),
            e,
        )),
    }
}
