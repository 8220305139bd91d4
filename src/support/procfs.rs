//! Writes to /proc files (sysctls, oom_score_adj, the LSM `attr` files) through a handle
//! that a mount cannot redirect (CVE-2025-52881). A container that controls its mounts
//! (a bind mount racing brig, a shared mount propagating in) could otherwise place
//! another file, say the host's /proc/sysrq-trigger, where brig writes.
//!
//! The root fd is checked to be the root of a procfs mount (`ProcRoot::open`); every file
//! is opened beneath it with openat2 RESOLVE_BENEATH | RESOLVE_NO_XDEV |
//! RESOLVE_NO_MAGICLINKS, so the walk never crosses into another mount nor follows a
//! /proc/PID/fd-style link, and the opened fd is checked to be on procfs before a byte is
//! written.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;

use crate::support::error::{errno_text, Context, Error, Result};

/// statfs f_type of procfs.
pub const PROC_SUPER_MAGIC: i64 = 0x9fa0;
/// The inode number of every procfs mount's root directory.
const PROC_ROOT_INO: u64 = 1;

/// A verified procfs root directory.
pub struct ProcRoot(OwnedFd);

impl ProcRoot {
    /// The calling process's /proc (the container's, once the init is in its root), not
    /// followed if it is a symlink, and refused unless it is the root of a procfs mount
    /// (CVE-2019-19921, CVE-2023-27561).
    pub fn open() -> Result<ProcRoot> {
        Self::open_at(Path::new("/proc"))
    }

    pub fn open_at(path: &Path) -> Result<ProcRoot> {
        let fd = nix::fcntl::open(
            path,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .ctx(|| format!("open {} in the container", path.display()))?;
        let is_proc =
            crate::support::sys::fs_magic(fd.as_fd()).is_ok_and(|m| m == PROC_SUPER_MAGIC);
        let is_root = nix::sys::stat::fstat(&fd).is_ok_and(|st| st.st_ino == PROC_ROOT_INO);
        if !(is_proc && is_root) {
            return Err(Error::msg(format!(
                "{} in the container is not the root of a procfs; refusing to use it",
                path.display()
            )));
        }
        Ok(ProcRoot(fd))
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }

    /// Open `rel` (relative to the procfs root, e.g. `sys/kernel/shmmax`,
    /// `self/oom_score_adj`) without leaving this procfs mount, and check that what was
    /// opened is a procfs file. `self` and `thread-self` are ordinary symlinks within
    /// procfs and are followed unless `no_symlinks`.
    pub fn open_file(
        &self,
        rel: &str,
        flags: OFlag,
        no_symlinks: bool,
    ) -> std::result::Result<OwnedFd, String> {
        let mut resolve = ResolveFlag::RESOLVE_BENEATH
            | ResolveFlag::RESOLVE_NO_XDEV
            | ResolveFlag::RESOLVE_NO_MAGICLINKS;
        if no_symlinks {
            resolve |= ResolveFlag::RESOLVE_NO_SYMLINKS;
        }
        let how = OpenHow::new()
            .flags(flags | OFlag::O_CLOEXEC | OFlag::O_NOCTTY)
            .resolve(resolve);
        let fd = openat2(self.fd(), rel, how).map_err(|e| match e {
            nix::errno::Errno::EXDEV => format!(
                "open /proc/{rel}: another mount covers it or a path on the way (refused: \
                 writes to /proc stay on the procfs mount)"
            ),
            e => format!("open /proc/{rel}: {}", errno_text(&e.into())),
        })?;
        match crate::support::sys::fs_magic(fd.as_fd()) {
            Ok(PROC_SUPER_MAGIC) => Ok(fd),
            _ => Err(format!(
                "/proc/{rel} is not a procfs file; refusing to write to it"
            )),
        }
    }

    /// Write `value` to `rel` in one write(2), as procfs files expect.
    pub fn write(
        &self,
        rel: &str,
        value: &[u8],
        no_symlinks: bool,
    ) -> std::result::Result<(), String> {
        let fd = self.open_file(rel, OFlag::O_WRONLY | OFlag::O_TRUNC, no_symlinks)?;
        let n = nix::unistd::write(&fd, value)
            .map_err(|e| format!("write /proc/{rel}: {}", errno_text(&e.into())))?;
        if n != value.len() {
            return Err(format!(
                "write /proc/{rel}: {n} of {} bytes written",
                value.len()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::mount::{mount, MsFlags};

    const NONE: Option<&str> = None;

    /// In a mount namespace of this test's thread only: a fresh procfs, with a regular
    /// file bind-mounted over one of its files as an attacker would.
    #[test]
    fn a_file_mounted_over_a_proc_file_is_never_written() {
        std::thread::spawn(|| {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).expect("unshare (root?)");
            // Nothing done here may reach the test host's mounts.
            mount(NONE, "/", NONE, MsFlags::MS_REC | MsFlags::MS_PRIVATE, NONE).unwrap();
            let dir = std::env::temp_dir().join(format!("brig-procfs-{}", std::process::id()));
            let proc = dir.join("proc");
            std::fs::create_dir_all(&proc).unwrap();
            let decoy = dir.join("decoy");
            std::fs::write(&decoy, "untouched\n").unwrap();
            mount(Some("proc"), &proc, Some("proc"), MsFlags::empty(), NONE).unwrap();
            let root = ProcRoot::open_at(&proc).unwrap();

            // thread-self's oom_score_adj, written with its own value: allowed.
            let rel = "thread-self/oom_score_adj";
            let now = std::fs::read_to_string(proc.join(rel)).unwrap();
            root.write(rel, now.trim().as_bytes(), false).unwrap();

            // The same file behind a bind mount: refused, the decoy keeps its content.
            mount(Some(&decoy), &proc.join(rel), NONE, MsFlags::MS_BIND, NONE).unwrap();
            let err = root.write(rel, b"0", false).unwrap_err();
            assert!(err.contains("another mount covers it"), "{err}");
            // A sysctl-shaped path, a directory on the way covered by a tmpfs.
            mount(
                Some("tmpfs"),
                &proc.join("sys/kernel"),
                Some("tmpfs"),
                MsFlags::empty(),
                NONE,
            )
            .unwrap();
            std::fs::write(proc.join("sys/kernel/shmmax"), "x").unwrap();
            let err = root.write("sys/kernel/shmmax", b"1", true).unwrap_err();
            assert!(err.contains("another mount covers it"), "{err}");
            assert_eq!(std::fs::read_to_string(&decoy).unwrap(), "untouched\n");

            // A procfs root that is not a procfs root: refused.
            assert!(ProcRoot::open_at(&dir).is_err());
            assert!(ProcRoot::open_at(&proc.join("sys")).is_err());
            nix::mount::umount2(&proc, nix::mount::MntFlags::MNT_DETACH).unwrap();
            let _ = std::fs::remove_dir_all(&dir);
        })
        .join()
        .unwrap();
    }
}
