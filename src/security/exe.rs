//! CVE-2019-5736: until its execve, every process brig forks into a container (the init
//! waiting for `start`, an exec'd process being set up) runs brig's own image. A process
//! that can see it and holds CAP_SYS_PTRACE over brig's user namespace (which
//! non-dumpable does not stop) can open it through /proc/PID/exe and, once no process
//! runs it any more, rewrite the host's brig. Such processes are those of a container
//! without a user namespace whose capabilities include CAP_SYS_PTRACE, and whatever shares
//! a pid namespace brig did not make for the container. Where one could be there, brig
//! first re-executes itself from an image nobody can write through:
//!
//! - a read-only, detached clone of the mount holding the binary (open_tree +
//!   mount_setattr), executed by fd: no copy, the same page-cache pages;
//! - else (no open_tree, or no CAP_SYS_ADMIN for it) a sealed memfd copy, as runc does.
//!
//! `exec` always does (any earlier exec may have been given CAP_SYS_PTRACE, or another
//! container may have joined the pid namespace); `create` and `run` only when the
//! container could reach brig (`could_reach_brig`). What could otherwise reach an init
//! made without it is refused instead: an exec given CAP_SYS_PTRACE while that init waits
//! for `start` (`refuse_ptrace_near_waiting_init`), and a container with CAP_SYS_PTRACE
//! joining the pid namespace of one (`refuse_joining_waiting_init`). An image already
//! read-only (a read-only mount, a sealed memfd: our own re-exec) is used as it is. brig
//! without root puts every container in a user namespace of its own, whose processes hold
//! no capability over brig's, so it needs none of this.

use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;

use nix::fcntl::{AtFlags, FcntlArg, SealFlag};
use oci_spec::runtime::{Capability, LinuxNamespaceType, Spec};

use crate::support::error::{Error, Result};

const SELF_EXE: &std::ffi::CStr = c"/proc/self/exe";

/// Whether a process of this container could see its init (or an exec'd process) while it
/// runs brig's image and hold CAP_SYS_PTRACE over brig's user namespace: the container has
/// no user namespace and its bounding set has CAP_SYS_PTRACE, or its pid namespace is not
/// one brig makes for it (joined by path, or the host's), so others share it.
pub fn could_reach_brig(spec: &Spec) -> bool {
    let own_pid_ns = crate::support::oci::namespace(spec, LinuxNamespaceType::Pid)
        .is_some_and(|n| n.path().is_none());
    !own_pid_ns || ptrace_over_brig(spec, spec.process().as_ref())
}

/// The process would hold CAP_SYS_PTRACE in brig's own user namespace: the container has
/// no user namespace, and CAP_SYS_PTRACE is in its bounding set.
pub fn ptrace_over_brig(spec: &Spec, process: Option<&oci_spec::runtime::Process>) -> bool {
    let userns = crate::support::oci::namespace(spec, LinuxNamespaceType::User).is_some();
    let bounding = process
        .and_then(|p| p.capabilities().as_ref())
        .and_then(|c| c.bounding().as_ref());
    !userns && bounding.is_some_and(|b| b.contains(&Capability::SysPtrace))
}

/// Re-execute brig from a read-only image unless it runs from one already. Returns only
/// when nothing needs doing; on success the process is replaced (same pid, argv, env).
pub fn reexec_read_only() -> Result<()> {
    if !nix::unistd::geteuid().is_root() || image_is_read_only(SELF_EXE) {
        return Ok(());
    }
    let argv = cstrings(std::env::args_os().map(|a| a.as_bytes().to_vec()))?;
    let envp = cstrings(std::env::vars_os().map(|(k, v)| {
        let mut kv = k.as_bytes().to_vec();
        kv.push(b'=');
        kv.extend_from_slice(v.as_bytes());
        kv
    }))?;
    let clone_err = match read_only_clone(SELF_EXE) {
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

/// `exec` of a process holding CAP_SYS_PTRACE over brig into a container whose init still
/// waits for `start` running a writable brig image (made without `reexec_read_only`): the
/// process could reach it, so it is refused until the container has started.
pub fn refuse_ptrace_near_waiting_init(init_pid: i32) -> Result<()> {
    if image_is_read_only(&proc_exe(init_pid)) {
        return Ok(());
    }
    Err(Error::msg(
        "a process holding CAP_SYS_PTRACE cannot join a container whose init has not started: the init still runs brig's image, which the process could rewrite (CVE-2019-5736); start the container first",
    ))
}

/// A container holding CAP_SYS_PTRACE joins the pid namespace `ns`, whose init is a brig
/// init waiting for `start` from a writable image: refused, as for `exec`. The init is
/// found with NS_GET_TGID_FROM_PIDNS (Linux 6.9); on older kernels it cannot be, and the
/// joining container's own re-exec is all there is.
pub fn refuse_joining_waiting_init(ns: BorrowedFd, field: &str) -> Result<()> {
    let Ok(init) = crate::support::sys::tgid_from_pidns(ns, 1) else {
        return Ok(());
    };
    let exe = proc_exe(init);
    let ours = std::fs::metadata("/proc/self/exe");
    let same_binary = std::fs::metadata(std::ffi::OsStr::from_bytes(exe.to_bytes()))
        .ok()
        .zip(ours.ok())
        .is_some_and(|(a, b)| (a.dev(), a.ino()) == (b.dev(), b.ino()));
    if !same_binary || image_is_read_only(&exe) {
        return Ok(());
    }
    Err(Error::config(
        field,
        "this container holds CAP_SYS_PTRACE and the pid namespace it joins has a container init that has not started: the init still runs brig's image, which the container could rewrite (CVE-2019-5736); start that container first",
    ))
}

fn proc_exe(pid: i32) -> CString {
    CString::new(format!("/proc/{pid}/exe")).expect("no NUL in a /proc path")
}

/// The executable `exe` (a /proc/PID/exe) is on a read-only mount, or is a memfd sealed
/// against writes.
fn image_is_read_only(exe: &std::ffi::CStr) -> bool {
    let on_ro_mount = nix::sys::statvfs::statvfs(exe)
        .is_ok_and(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY));
    on_ro_mount
        || nix::fcntl::open(
            exe,
            nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .ok()
        .and_then(|fd| nix::fcntl::fcntl(&fd, FcntlArg::F_GET_SEALS).ok())
        .is_some_and(|seals| SealFlag::from_bits_truncate(seals).contains(SealFlag::F_SEAL_WRITE))
}

/// A detached, read-only bind of the binary: writes through it fail with EROFS, and once
/// the fd is closed (at exec) nobody can remount it, as it is in no mount namespace.
fn read_only_clone(binary: &std::ffi::CStr) -> std::result::Result<OwnedFd, std::io::Error> {
    let image = crate::support::sys::open_tree_clone(binary, false)?;
    crate::support::sys::mount_setattr_recursive(
        image.as_fd(),
        crate::support::sys::mount_attr::RDONLY,
        0,
    )?;
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
    /// fails with EROFS. (Cloned here from a file nobody runs: for a running binary the
    /// kernel answers ETXTBSY first.)
    #[test]
    fn the_read_only_clone_refuses_to_be_opened_for_writing() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let file = std::env::temp_dir().join(format!("brig-exe-test-{}", std::process::id()));
        std::fs::write(&file, b"not a binary").unwrap();
        let path = CString::new(file.as_os_str().as_bytes()).unwrap();
        let image = read_only_clone(&path);
        let _ = std::fs::remove_file(&file);
        let image = image.unwrap();
        let fd_path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&image));
        let err = std::fs::OpenOptions::new()
            .write(true)
            .open(&fd_path)
            .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EROFS));
        assert!(std::fs::File::open(&fd_path).is_ok(), "still readable");
    }
}
