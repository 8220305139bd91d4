//! CVE-2019-5736: until its execve, every process brig forks into a container (the init
//! waiting for `start`, an exec'd process being set up) runs brig's own image. A container
//! process holding CAP_SYS_PTRACE can open it through /proc/PID/exe and, once no process
//! runs it any more, rewrite the host's brig. Non-dumpable alone does not stop a holder of
//! CAP_SYS_PTRACE. So the commands that start container processes first re-execute brig
//! from an image nobody can write through:
//!
//! - a read-only, detached clone of the mount holding the binary (open_tree +
//!   mount_setattr), executed by fd: no copy, the same page-cache pages;
//! - else (no open_tree, or no CAP_SYS_ADMIN for it) a sealed memfd copy, as runc does.
//!
//! An image already read-only (on a read-only mount, or a sealed memfd: our own re-exec)
//! is used as it is. brig without root puts every container in a user namespace of its
//! own, whose processes hold no capability over brig's, so it skips this.

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use nix::fcntl::{AtFlags, FcntlArg, SealFlag};

use crate::error::{Error, Result};

const SELF_EXE: &std::ffi::CStr = c"/proc/self/exe";

/// Re-execute brig from a read-only image unless it runs from one already. Returns only
/// when nothing needs doing; on success the process is replaced (same pid, argv, env).
pub fn reexec_read_only() -> Result<()> {
    if !nix::unistd::geteuid().is_root() || already_read_only() {
        return Ok(());
    }
    let argv = cstrings(std::env::args_os().map(|a| a.as_bytes().to_vec()))?;
    let envp = cstrings(std::env::vars_os().map(|(k, v)| {
        let mut kv = k.as_bytes().to_vec();
        kv.push(b'=');
        kv.extend_from_slice(v.as_bytes());
        kv
    }))?;
    let clone_err = match read_only_clone() {
        Ok(image) => exec(&image, &argv, &envp),
        Err(e) => e,
    };
    let memfd_err = match sealed_copy() {
        Ok(image) => exec(&image, &argv, &envp),
        Err(e) => e,
    };
    Err(Error::msg(format!(
        "cannot run brig from a read-only image (CVE-2019-5736): a read-only clone of its mount failed ({clone_err}), and so did a sealed copy ({memfd_err})"
    )))
}

/// The binary is on a read-only mount, or is a memfd sealed against writes.
fn already_read_only() -> bool {
    let on_ro_mount = nix::sys::statvfs::statvfs(SELF_EXE)
        .is_ok_and(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY));
    on_ro_mount
        || nix::fcntl::open(
            SELF_EXE,
            nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .ok()
        .and_then(|fd| nix::fcntl::fcntl(&fd, FcntlArg::F_GET_SEALS).ok())
        .is_some_and(|seals| SealFlag::from_bits_truncate(seals).contains(SealFlag::F_SEAL_WRITE))
}

/// A detached, read-only bind of the binary: writes through it fail with EROFS, and once
/// the fd is closed (at exec) nobody can remount it, as it is in no mount namespace.
fn read_only_clone() -> std::result::Result<OwnedFd, std::io::Error> {
    let image = crate::sys::open_tree_clone(SELF_EXE, false)?;
    crate::sys::mount_setattr_recursive(image.as_fd(), crate::mountopts::attr::RDONLY, 0)?;
    Ok(image)
}

/// A memfd holding a copy of the binary, sealed against every change.
fn sealed_copy() -> std::result::Result<OwnedFd, std::io::Error> {
    use nix::sys::memfd::{memfd_create, MFdFlags};
    // MFD_EXEC (Linux 6.3): executable even where vm.memfd_noexec defaults to no-exec.
    const MFD_EXEC: libc::c_uint = 0x10;
    let base = MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING;
    let memfd = match memfd_create(c"brig", base | MFdFlags::from_bits_retain(MFD_EXEC)) {
        Err(nix::errno::Errno::EINVAL) => memfd_create(c"brig", base)?,
        other => other?,
    };
    // std's copy moves the bytes in the kernel (copy_file_range or sendfile).
    let mut binary = std::fs::File::open("/proc/self/exe")?;
    std::io::copy(&mut binary, &mut std::fs::File::from(memfd.try_clone()?))?;
    let seals = SealFlag::F_SEAL_SEAL
        | SealFlag::F_SEAL_SHRINK
        | SealFlag::F_SEAL_GROW
        | SealFlag::F_SEAL_WRITE;
    nix::fcntl::fcntl(&memfd, FcntlArg::F_ADD_SEALS(seals))?;
    Ok(memfd)
}

/// execveat(image, "", AT_EMPTY_PATH); returns only the error.
fn exec(image: &OwnedFd, argv: &[CString], envp: &[CString]) -> std::io::Error {
    let err = nix::unistd::execveat(image, c"", argv, envp, AtFlags::AT_EMPTY_PATH).unwrap_err();
    err.into()
}

fn cstrings(items: impl Iterator<Item = Vec<u8>>) -> Result<Vec<CString>> {
    items
        .map(|bytes| {
            CString::new(bytes).map_err(|_| Error::msg("an argument or variable holds a NUL byte"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// The memfd fallback: a whole copy of the binary, sealed so that no write, resize or
    /// new seal gets through.
    #[test]
    fn the_sealed_copy_is_the_binary_and_refuses_writes() {
        let copy = sealed_copy().unwrap();
        let mut file = std::fs::File::from(copy);
        let len = file.metadata().unwrap().len();
        assert_eq!(len, std::fs::metadata("/proc/self/exe").unwrap().len());
        let err = file.write_all(b"x").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EPERM));
        assert!(file.set_len(0).is_err());
        let seals = nix::fcntl::fcntl(&file, FcntlArg::F_GET_SEALS).unwrap();
        assert!(SealFlag::from_bits_truncate(seals).contains(SealFlag::F_SEAL_SEAL));
    }

    /// The first choice (needs root, as the tests run): reopening the clone for writing
    /// fails with EROFS.
    #[test]
    fn the_read_only_clone_refuses_to_be_opened_for_writing() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let image = read_only_clone().unwrap();
        let path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&image));
        let err = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EROFS));
        assert!(std::fs::File::open(&path).is_ok(), "still readable");
    }
}
