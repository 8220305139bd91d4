//! Thin wrappers over the system calls nix does not cover. Each `unsafe` block is here,
//! small, and says why it is sound.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

fn check(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// fork(2) with namespace flags: `clone(flags | SIGCHLD)` without a new stack, so the child
/// continues on a copy of the caller's memory like fork. Returns 0 in the child.
///
/// The caller must be single-threaded (brig is, before it forks).
pub fn clone_fork(flags: libc::c_int) -> io::Result<libc::pid_t> {
    // SAFETY: with a null stack pointer clone behaves as fork: the child gets a private copy
    // of the address space; no other thread exists whose locks could be copied held.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags | libc::SIGCHLD) as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    check(ret).map(|r| r as libc::pid_t)
}

/// `clone_fork` through clone3(2) with CLONE_INTO_CGROUP: the child is born in the cgroup2
/// directory `cgroup`, so nothing migrates it afterwards (a migration waits for the cgroup
/// threadgroup lock). Err(ENOSYS, E2BIG, EINVAL) where the kernel or a seccomp filter
/// does not allow it: the caller falls back to `clone_fork` and a cgroup.procs write.
///
/// The caller must be single-threaded, as for `clone_fork`.
pub fn clone_fork_into_cgroup(flags: libc::c_int, cgroup: BorrowedFd) -> io::Result<libc::pid_t> {
    #[repr(C)]
    #[derive(Default)]
    struct CloneArgs {
        flags: u64,
        pidfd: u64,
        child_tid: u64,
        parent_tid: u64,
        exit_signal: u64,
        stack: u64,
        stack_size: u64,
        tls: u64,
        set_tid: u64,
        set_tid_size: u64,
        cgroup: u64,
    }
    const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
    let args = CloneArgs {
        flags: flags as u32 as u64 | CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cgroup.as_raw_fd() as u64,
        ..Default::default()
    };
    // SAFETY: with no stack given clone3 behaves as fork (the child gets a private copy of
    // the address space, as in clone_fork); the kernel reads `args` (size passed) only
    // during the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    check(ret).map(|r| r as libc::pid_t)
}

/// Set the effective, permitted and inheritable capability sets in one capset(2).
pub fn capset(effective: u64, permitted: u64, inheritable: u64) -> io::Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let lo = |v: u64| v as u32;
    let hi = |v: u64| (v >> 32) as u32;
    let data = [
        Data {
            effective: lo(effective),
            permitted: lo(permitted),
            inheritable: lo(inheritable),
        },
        Data {
            effective: hi(effective),
            permitted: hi(permitted),
            inheritable: hi(inheritable),
        },
    ];
    // SAFETY: header and two data structs are valid for the v3 ABI and live across the call.
    let ret = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
    check(ret).map(drop)
}

/// Join a new anonymous session keyring named `name` (KEYCTL_JOIN_SESSION_KEYRING).
pub fn join_session_keyring(name: &CStr) -> io::Result<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: name is a valid NUL-terminated string for the duration of the call.
    let ret =
        unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
    check(ret).map(drop)
}

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// `mount_setattr(2)` attributes (linux/mount.h).
pub mod mount_attr {
    pub const RDONLY: u64 = 0x1;
    pub const NOSUID: u64 = 0x2;
    pub const NODEV: u64 = 0x4;
    pub const NOEXEC: u64 = 0x8;
    pub const ATIME_MASK: u64 = 0x70;
    pub const RELATIME: u64 = 0x0;
    pub const NOATIME: u64 = 0x10;
    pub const STRICTATIME: u64 = 0x20;
    pub const NODIRATIME: u64 = 0x80;
    pub const NOSYMFOLLOW: u64 = 0x200000;
}

/// mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE): change a whole mount tree at once.
pub fn mount_setattr_recursive(fd: BorrowedFd, set: u64, clr: u64) -> io::Result<()> {
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clr,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: the path is a static empty C string and attr is a valid mount_attr of the
    // size passed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            (libc::AT_EMPTY_PATH | libc::AT_RECURSIVE) as libc::c_uint,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    check(ret).map(drop)
}

/// A close-on-exec duplicate of `fd` numbered `min` or above.
pub fn dup_above(fd: BorrowedFd, min: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC makes a new fd and touches no memory.
    let new = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, min) };
    check(new as libc::c_long)?;
    // SAFETY: the fd was just made for us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// Take an fd number the caller handed over (`checkpoint --status-fd`), after checking it
/// is open, so a wrong number is an error rather than an fd brig later closes by mistake.
pub fn adopt_fd(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_GETFD only reads the fd's flags.
    check(unsafe { libc::fcntl(fd, libc::F_GETFD) } as libc::c_long)?;
    // SAFETY: the caller gave this fd to brig for good, and brig holds no other owner of it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Mark every fd from `first` up close-on-exec, so nothing but stdio and the preserved
/// fds reaches the container process (CVE-2024-21626).
pub fn cloexec_from(first: RawFd) -> io::Result<()> {
    // SAFETY: close_range only changes fd flags; no memory is involved.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC as libc::c_uint,
        )
    };
    check(ret).map(drop)
}

/// Open /dev/null on whichever of fds 0, 1 and 2 is closed, as Rust's runtime does before
/// `main` (brig's binary starts without it): otherwise the first file brig opens would
/// become its stdin, stdout or stderr. Aborts if that cannot be done.
pub fn open_standard_fds() {
    for fd in 0..3 {
        // SAFETY: F_GETFD reads the fd table only.
        let closed = unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1
            && io::Error::last_os_error().raw_os_error() == Some(libc::EBADF);
        // SAFETY: open(2) of a constant path; the lowest free fd, `fd` itself since those
        // below it are open, is then owned by the process as that standard stream.
        if closed && unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) } != fd {
            std::process::abort();
        }
    }
}

/// Give a signal its default disposition.
pub fn default_disposition(sig: nix::sys::signal::Signal) -> nix::Result<()> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet};
    let dfl = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    // SAFETY: SIG_DFL installs no handler, so no code of ours can run in signal context.
    unsafe { sigaction(sig, &dfl) }.map(drop)
}

/// Ignores SIGPIPE while it lives and restores the previous disposition after.
pub struct IgnoreSigpipe(Option<nix::sys::signal::SigAction>);

impl IgnoreSigpipe {
    pub fn new() -> Self {
        use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
        let ign = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
        // SAFETY: SIG_IGN installs no handler, so no code of ours runs in signal context.
        IgnoreSigpipe(unsafe { sigaction(Signal::SIGPIPE, &ign) }.ok())
    }
}

impl Default for IgnoreSigpipe {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for IgnoreSigpipe {
    fn drop(&mut self) {
        if let Some(old) = &self.0 {
            // SAFETY: restores the disposition that was installed before (default or ignore).
            let _ = unsafe { nix::sys::signal::sigaction(nix::sys::signal::Signal::SIGPIPE, old) };
        }
    }
}

/// A standard stream's fd (0, 1 or 2) without std's handle, which would allocate a buffer
/// (8 KiB for stdin, 1 KiB for stdout) only to name the fd.
pub fn stdio_fd(n: RawFd) -> BorrowedFd<'static> {
    assert!((0..=2).contains(&n), "not a standard stream: {n}");
    // SAFETY: 0, 1 and 2 are open for the life of the process: std's runtime opens
    // /dev/null on any that is closed at start, and brig only ever dup2s onto them.
    unsafe { BorrowedFd::borrow_raw(n) }
}

/// dup2 onto a standard stream (0, 1 or 2), replacing what was there.
pub fn dup_onto_stdio(fd: BorrowedFd, stdio: RawFd) -> io::Result<()> {
    // SAFETY: dup2 onto 0..=2 only replaces a standard stream, which this process owns and
    // which no Rust object holds as an OwnedFd.
    let ret = unsafe { libc::dup2(fd.as_raw_fd(), stdio) };
    check(ret as libc::c_long).map(drop)
}

/// TIOCSPTLCK 0: unlock a pty master so its slave can be opened.
pub fn unlock_pty(master: BorrowedFd) -> io::Result<()> {
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads one int through the pointer, which lives across the call.
    let ret = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) };
    check(ret as libc::c_long).map(drop)
}

/// TIOCGPTPEER: the slave of a pty master, opened through the master.
pub fn pty_peer(master: BorrowedFd) -> io::Result<OwnedFd> {
    const TIOCGPTPEER: libc::c_ulong = 0x5441;
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: TIOCGPTPEER takes its open flags as the integer argument.
    let ret = unsafe { libc::ioctl(master.as_raw_fd(), TIOCGPTPEER as _, flags) };
    // SAFETY: on success the kernel returned a new fd that we now own.
    check(ret as libc::c_long).map(|fd| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// TIOCSCTTY: make a terminal the controlling terminal of this session.
pub fn set_controlling_tty(tty: BorrowedFd) -> io::Result<()> {
    // SAFETY: TIOCSCTTY takes an integer argument (0: do not steal).
    let ret = unsafe { libc::ioctl(tty.as_raw_fd(), libc::TIOCSCTTY, 0) };
    check(ret as libc::c_long).map(drop)
}

pub fn set_winsize(fd: BorrowedFd, rows: u16, cols: u16) -> io::Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize through the pointer, which lives across the call.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    check(ret as libc::c_long).map(drop)
}

/// The window size of a terminal, if it is one.
pub fn winsize(fd: BorrowedFd) -> Option<(u16, u16)> {
    let mut ws = std::mem::MaybeUninit::<libc::winsize>::uninit();
    // SAFETY: TIOCGWINSZ fills a winsize through the pointer on success.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, ws.as_mut_ptr()) };
    // SAFETY: the ioctl succeeded, so the struct is initialised.
    (ret == 0)
        .then(|| unsafe { ws.assume_init() })
        .map(|w| (w.ws_row, w.ws_col))
}

/// personality(2) with a new execution domain.
pub fn personality(persona: libc::c_ulong) -> io::Result<()> {
    // SAFETY: personality takes an integer and touches no memory.
    let ret = unsafe { libc::personality(persona) };
    check(ret as libc::c_long).map(drop)
}

/// ioprio_set(IOPRIO_WHO_PROCESS, self, class << 13 | priority).
pub fn ioprio_set(class: u32, priority: u32) -> io::Result<()> {
    const IOPRIO_WHO_PROCESS: libc::c_int = 1;
    // SAFETY: integer arguments only.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_ioprio_set,
            IOPRIO_WHO_PROCESS,
            0,
            ((class << 13) | priority) as libc::c_int,
        )
    };
    check(ret).map(drop)
}

/// The kernel's `struct sched_attr` (with the utilisation clamps, 56 bytes).
#[repr(C)]
pub struct SchedAttr {
    pub size: u32,
    pub sched_policy: u32,
    pub sched_flags: u64,
    pub sched_nice: i32,
    pub sched_priority: u32,
    pub sched_runtime: u64,
    pub sched_deadline: u64,
    pub sched_period: u64,
    pub sched_util_min: u32,
    pub sched_util_max: u32,
}

/// sched_setattr(2) for this thread.
pub fn sched_setattr(attr: &SchedAttr) -> io::Result<()> {
    // SAFETY: attr points to a valid sched_attr whose size field matches its layout.
    let ret = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, attr as *const SchedAttr, 0) };
    check(ret).map(drop)
}

/// Leave a forked child at once: no destructors, no stdio flushing of the parent's buffers.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no Rust state.
    unsafe { libc::_exit(code) }
}

pub fn setdomainname(name: &str) -> io::Result<()> {
    // SAFETY: the pointer and length describe a live byte slice.
    let ret = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    check(ret as libc::c_long).map(drop)
}

/// rename(2) that fails with EEXIST instead of replacing the target (renameat2).
pub fn rename_noreplace(from: &std::path::Path, to: &std::path::Path) -> io::Result<()> {
    renameat2(from, to, libc::RENAME_NOREPLACE)
}

/// Swap two existing names atomically (renameat2 RENAME_EXCHANGE); EINVAL where the
/// filesystem cannot.
/// The magic-link path of an fd's file: what mount(2) is given to reach exactly that file,
/// and what readlink(2) turns into the file's path.
pub fn fd_path<F: AsRawFd + ?Sized>(fd: &F) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

pub fn rename_exchange(a: &std::path::Path, b: &std::path::Path) -> io::Result<()> {
    renameat2(a, b, libc::RENAME_EXCHANGE)
}

fn renameat2(from: &std::path::Path, to: &std::path::Path, flags: libc::c_uint) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &std::path::Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes())
            .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
    };
    let (from, to) = (c(from)?, c(to)?);
    // SAFETY: both paths are NUL-terminated strings that outlive the call.
    let ret = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            flags,
        )
    };
    check(ret as libc::c_long).map(drop)
}

/// pidfd_open(2): a handle on a process that cannot be confused with a later reuse of its pid.
pub fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with integer arguments.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: on success the kernel returned a new fd that we now own.
    check(ret).map(|fd| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

pub fn pidfd_send_signal(pidfd: BorrowedFd, sig: libc::c_int) -> io::Result<()> {
    // SAFETY: null siginfo is allowed and means "as kill(2) would send it".
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    check(ret).map(drop)
}

/// The file-system type magic of an open file (statfs f_type).
pub fn fs_magic(fd: BorrowedFd) -> io::Result<i64> {
    let mut st = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: st is a writable statfs buffer; fstatfs fills it on success.
    let ret = unsafe { libc::fstatfs(fd.as_raw_fd(), st.as_mut_ptr()) };
    check(ret as libc::c_long)?;
    // SAFETY: fstatfs succeeded, so the buffer is initialised.
    Ok(unsafe { st.assume_init() }.f_type)
}

/// The type of namespace an nsfs fd refers to (NS_GET_NSTYPE), as a CLONE_NEW* flag.
pub fn ns_type(fd: BorrowedFd) -> io::Result<libc::c_int> {
    const NS_GET_NSTYPE: libc::c_ulong = 0xb703;
    // SAFETY: NS_GET_NSTYPE takes no argument and returns an int.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), NS_GET_NSTYPE as _) };
    check(ret as libc::c_long).map(|r| r as libc::c_int)
}

/// The pid, in our pid namespace, of the process whose pid is `pid` in the pid namespace
/// `ns` (NS_GET_TGID_FROM_PIDNS, Linux 6.9): `pid` 1 finds that namespace's init.
pub fn tgid_from_pidns(ns: BorrowedFd, pid: libc::pid_t) -> io::Result<libc::pid_t> {
    const NS_GET_TGID_FROM_PIDNS: libc::c_ulong = 0x8004_b707;
    // SAFETY: the request takes the pid as its integer argument and returns a pid.
    let ret = unsafe { libc::ioctl(ns.as_raw_fd(), NS_GET_TGID_FROM_PIDNS as _, pid) };
    check(ret as libc::c_long).map(|r| r as libc::pid_t)
}

/// seccomp(SECCOMP_SET_MODE_FILTER, flags, program): install a classic BPF program as this
/// thread's filter. With SECCOMP_FILTER_FLAG_NEW_LISTENER the kernel returns the
/// notification fd (close-on-exec), which is returned here.
pub fn seccomp_set_mode_filter(
    flags: libc::c_ulong,
    program: &[libc::sock_filter],
) -> io::Result<Option<OwnedFd>> {
    let len =
        u16::try_from(program.len()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let fprog = libc::sock_fprog {
        len,
        filter: program.as_ptr().cast_mut(),
    };
    // SAFETY: fprog describes `program`, which outlives the call; the kernel copies the
    // program and never writes through the pointer.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &fprog as *const libc::sock_fprog,
        )
    };
    let ret = check(ret)?;
    if flags & libc::SECCOMP_FILTER_FLAG_NEW_LISTENER != 0 {
        // SAFETY: with NEW_LISTENER a successful call returns a new fd that we now own.
        Ok(Some(unsafe { OwnedFd::from_raw_fd(ret as RawFd) }))
    } else {
        Ok(None)
    }
}

/// Whether this kernel accepts these seccomp filter flags. The kernel checks the flags
/// before it reads the program, so a null program fails with EFAULT when they are known
/// and EINVAL when they are not; nothing is installed either way.
pub fn seccomp_flags_supported(flags: libc::c_ulong) -> bool {
    // SAFETY: the null program pointer is only ever handed to copy_from_user, which fails
    // with EFAULT; no memory of ours is read or written.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            std::ptr::null::<libc::sock_fprog>(),
        )
    };
    ret < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EFAULT)
}

/// recvmsg(2) of one datagram and at most one fd sent with SCM_RIGHTS (close-on-exec on
/// arrival). Returns the byte count and the fd, which the caller then owns.
pub fn recv_with_fd(socket: BorrowedFd, buf: &mut [u8]) -> io::Result<(usize, Option<OwnedFd>)> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let mut iov = [io::IoSliceMut::new(buf)];
    let msg = recvmsg::<()>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )?;
    let mut fd = None;
    for c in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            for raw in fds {
                // SAFETY: the kernel just installed this fd in our table for this message;
                // nothing else refers to it.
                fd = Some(unsafe { OwnedFd::from_raw_fd(raw) });
            }
        }
    }
    Ok((msg.bytes, fd))
}

/// set_mempolicy(2): this thread's NUMA policy, `mode` with its flags, over the nodes in
/// `mask` (bit N = node N).
pub fn set_mempolicy(mode: libc::c_int, mask: &[libc::c_ulong]) -> io::Result<()> {
    let maxnode = (mask.len() * libc::c_ulong::BITS as usize) as libc::c_ulong;
    let ptr = if mask.is_empty() {
        std::ptr::null()
    } else {
        mask.as_ptr()
    };
    // SAFETY: ptr is null or points to `mask`, whose bits maxnode counts; the kernel only
    // reads it.
    let ret = unsafe { libc::syscall(libc::SYS_set_mempolicy, mode, ptr, maxnode) };
    check(ret).map(drop)
}

/// One message with one fd attached (SCM_RIGHTS), on a connected unix socket.
pub fn send_with_fd(socket: BorrowedFd, bytes: &[u8], fd: BorrowedFd) -> io::Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    let fds = [fd.as_raw_fd()];
    sendmsg::<()>(
        socket.as_raw_fd(),
        &[std::io::IoSlice::new(bytes)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map(drop)
    .map_err(io::Error::from)
}

/// open_tree(2) with OPEN_TREE_CLONE: a detached copy of the mount at `path` (the whole
/// tree below it too with `recursive`), close-on-exec.
pub fn open_tree_clone(path: &CStr, recursive: bool) -> io::Result<OwnedFd> {
    const OPEN_TREE_CLONE: libc::c_uint = 1;
    let mut flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: path is a valid NUL-terminated string for the duration of the call.
    let ret = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), flags) };
    // SAFETY: on success open_tree returned a new fd that nothing else owns.
    check(ret).map(|fd| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// open_tree(2) with OPEN_TREE_CLONE of what the O_PATH fd `at` names: a detached copy
/// of the mount there (the whole tree below it too with `recursive`), close-on-exec.
pub fn open_tree_clone_fd(at: BorrowedFd, recursive: bool) -> io::Result<OwnedFd> {
    const OPEN_TREE_CLONE: libc::c_uint = 1;
    let mut flags = OPEN_TREE_CLONE | (libc::O_CLOEXEC | libc::AT_EMPTY_PATH) as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: the path is a static empty C string; the fd is borrowed for the call.
    let ret = unsafe { libc::syscall(libc::SYS_open_tree, at.as_raw_fd(), c"".as_ptr(), flags) };
    // SAFETY: on success open_tree returned a new fd that nothing else owns.
    check(ret).map(|fd| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// mount_setattr(fd, "", AT_EMPTY_PATH [| AT_RECURSIVE]) with MOUNT_ATTR_IDMAP: the
/// detached mount `fd` shows owners through the id maps of the user namespace `userns`.
pub fn mount_setattr_idmap(fd: BorrowedFd, userns: BorrowedFd, recursive: bool) -> io::Result<()> {
    const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.as_raw_fd() as u64,
    };
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: the path is a static empty C string and attr is a valid mount_attr of the
    // size passed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    check(ret).map(drop)
}

/// Whether the kernel has mount_setattr(2): a call on an invalid fd fails with EBADF
/// there and ENOSYS on older kernels.
pub fn has_mount_setattr() -> bool {
    let attr = MountAttr {
        attr_set: 0,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: as in mount_setattr_recursive; fd -1 makes the kernel fail before any change.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            -1,
            c"".as_ptr(),
            libc::AT_EMPTY_PATH as libc::c_uint,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    !(ret < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS))
}

/// move_mount(2) from the detached mount `from` onto the directory or file `to` (both fds).
pub fn move_mount_fd(from: BorrowedFd, to: BorrowedFd) -> io::Result<()> {
    const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
    const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;
    // SAFETY: both paths are static empty C strings; the fds are borrowed for the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            c"".as_ptr(),
            to.as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    check(ret).map(drop)
}

/// The leading fields of `union bpf_attr` for BPF_PROG_LOAD (the kernel zero-fills the rest).
#[repr(C)]
#[derive(Default)]
struct BpfProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// The fields of `union bpf_attr` for BPF_PROG_ATTACH.
#[repr(C)]
struct BpfProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

fn bpf_prog_load(attr: &mut BpfProgLoadAttr) -> io::Result<OwnedFd> {
    // SAFETY: attr is a valid, fully initialised prefix of bpf_attr whose size is passed;
    // the instruction, license and log pointers it holds are live for the whole call (the
    // caller's borrows), and the log buffer's size is the one in log_size.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_LOAD,
            attr as *mut BpfProgLoadAttr,
            std::mem::size_of::<BpfProgLoadAttr>() as libc::c_uint,
        )
    };
    // SAFETY: on success the kernel returned a new program fd that we now own.
    check(ret).map(|fd| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// bpf(BPF_PROG_LOAD) of a BPF_PROG_TYPE_CGROUP_DEVICE program (`insns`: 8-byte
/// `struct bpf_insn`s). When the verifier refuses it, the load is retried with its log,
/// which is returned in the error.
pub fn bpf_load_cgroup_device(insns: &[u8], license: &CStr) -> io::Result<OwnedFd> {
    let mut attr = BpfProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: (insns.len() / 8) as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        ..Default::default()
    };
    match bpf_prog_load(&mut attr) {
        Ok(fd) => Ok(fd),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES) | Some(libc::EINVAL)) => {
            let mut log = vec![0u8; 64 * 1024];
            attr.log_level = 1;
            attr.log_size = log.len() as u32;
            attr.log_buf = log.as_mut_ptr() as u64;
            let again = bpf_prog_load(&mut attr);
            let text = CStr::from_bytes_until_nul(&log)
                .map(|c| c.to_string_lossy().into_owned())
                .unwrap_or_default();
            match again {
                Ok(fd) => Ok(fd),
                Err(_) if !text.trim().is_empty() => Err(io::Error::new(
                    e.kind(),
                    format!("{e}; verifier log: {}", text.trim()),
                )),
                Err(_) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// bpf(BPF_PROG_ATTACH) of a device program to a cgroup2 directory, BPF_F_ALLOW_MULTI so
/// that programs of the ancestors keep running too.
pub fn bpf_attach_cgroup_device(cgroup: BorrowedFd, prog: BorrowedFd) -> io::Result<()> {
    let attr = BpfProgAttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        replace_bpf_fd: 0,
    };
    // SAFETY: attr is a valid, initialised bpf_attr prefix whose size is passed, holding
    // only integers (two fds borrowed for the call).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_ATTACH,
            &attr as *const BpfProgAttachAttr,
            std::mem::size_of::<BpfProgAttachAttr>() as libc::c_uint,
        )
    };
    check(ret).map(drop)
}

/// Set an interface up in the current network namespace (SIOCGIFFLAGS, then SIOCSIFFLAGS
/// with IFF_UP added), through a datagram socket used for nothing else.
pub fn set_interface_up(name: &CStr) -> io::Result<()> {
    // SAFETY: socket(2) with constant arguments; the result is checked.
    let sock =
        check(
            unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) }
                as libc::c_long,
        )?;
    // SAFETY: the kernel just returned this fd; nothing else owns it.
    let sock = unsafe { OwnedFd::from_raw_fd(sock as RawFd) };
    // SAFETY: ifreq is plain data; all zeros is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    let bytes = name.to_bytes();
    if bytes.len() >= req.ifr_name.len() {
        return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
    }
    for (dst, &src) in req.ifr_name.iter_mut().zip(bytes) {
        *dst = src as libc::c_char;
    }
    // SAFETY: req is a valid ifreq naming the interface; the kernel fills its flags.
    check(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) } as libc::c_long)?;
    // SAFETY: SIOCGIFFLAGS just wrote the flags member of the union.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: req is a valid ifreq with the name and the new flags.
    check(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) } as libc::c_long)
        .map(drop)
}
