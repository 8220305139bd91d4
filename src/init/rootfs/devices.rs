//! /dev: runc's default device nodes and links on a /dev tmpfs, `linux.devices`, and
//! /dev/console bound to the pty by fd. Nodes are made with mknod; in a user namespace,
//! where mknod is refused, the host's node is bound instead.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::{openat, OFlag, ResolveFlag};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{makedev, mknodat, Mode, SFlag};
use nix::unistd::{fchownat, symlinkat, Gid, Uid};
use oci_spec::runtime::LinuxDeviceType;

use crate::support::error::{Context, Error, Result};

use super::resolve::{create_file_in_root, fd_path, mkdir_all_in_root, open_in_root, relative};
use super::{Rootfs, NONE};

pub(super) struct Node<'a> {
    path: &'a Path,
    kind: SFlag,
    mode: u32,
    major: u64,
    minor: u64,
    uid: u32,
    gid: u32,
}

/// The character devices every container gets when /dev is a fresh tmpfs (name in /dev,
/// major, minor; mode 0666, owned by root), as runc makes them.
pub const DEFAULT_DEVICES: [(&str, u64, u64); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

/// The usual /dev links (target, name in /dev); /dev/core too where /proc/kcore exists.
pub const DEFAULT_LINKS: [(&str, &str); 5] = [
    ("/proc/self/fd", "fd"),
    ("/proc/self/fd/0", "stdin"),
    ("/proc/self/fd/1", "stdout"),
    ("/proc/self/fd/2", "stderr"),
    ("pts/ptmx", "ptmx"),
];

/// The devices every container gets when /dev is a fresh tmpfs, and the usual links.
pub(super) fn create_default_devices(fs: &Rootfs, root: BorrowedFd) -> Result<()> {
    let dev = open_in_root(
        root,
        Path::new("/dev"),
        OFlag::O_PATH | OFlag::O_DIRECTORY,
        ResolveFlag::RESOLVE_NO_SYMLINKS,
    )
    .ctx(|| "open /dev in the rootfs")?;
    let made_as = (!fs.user_ns)
        .then(|| owner_of_new_files(dev.as_fd()))
        .flatten();
    for (name, major, minor) in DEFAULT_DEVICES {
        let path = PathBuf::from("/dev").join(name);
        let node = Node {
            path: &path,
            kind: SFlag::S_IFCHR,
            mode: 0o666,
            major,
            minor,
            uid: 0,
            gid: 0,
        };
        if fs.user_ns {
            make_node(fs, root, &node)?;
        } else {
            mknod_in(dev.as_fd(), std::ffi::OsStr::new(name), &node, made_as)?;
        }
    }
    let mut links = DEFAULT_LINKS.to_vec();
    if Path::new("/proc/kcore").exists() {
        links.push(("/proc/kcore", "core"));
    }
    for (target, name) in links {
        match symlinkat(target, dev.as_fd(), name) {
            Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
            Err(e) => return Err(Error::os(format!("symlink /dev/{name} -> {target}"), e)),
        }
    }
    Ok(())
}

pub(super) fn create_spec_devices(fs: &Rootfs, root: BorrowedFd) -> Result<()> {
    let devices = fs.spec.linux().as_ref().and_then(|l| l.devices().as_ref());
    for (i, d) in devices.into_iter().flatten().enumerate() {
        let kind = match d.typ() {
            LinuxDeviceType::B => SFlag::S_IFBLK,
            LinuxDeviceType::P => SFlag::S_IFIFO,
            _ => SFlag::S_IFCHR,
        };
        let node = Node {
            path: d.path(),
            kind,
            mode: d.file_mode().unwrap_or(0o666) & 0o7777,
            major: d.major() as u64,
            minor: d.minor() as u64,
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        };
        make_node(fs, root, &node)
            .map_err(|e| e.wrap(&format!("linux.devices[{i}] ({})", d.path().display())))?;
    }
    Ok(())
}

/// mknod inside the root; in a user namespace, where mknod is refused, bind the host's node.
pub(super) fn make_node(fs: &Rootfs, root: BorrowedFd, n: &Node) -> Result<()> {
    let rel = relative(n.path);
    let parent = mkdir_all_in_root(root, rel.parent().unwrap_or(Path::new(".")))?;
    let name = rel
        .file_name()
        .ok_or_else(|| Error::msg("device path has no name"))?;
    if fs.user_ns {
        let target = create_file_in_root(root, n.path)?;
        return mount(
            Some(n.path),
            fd_path(&target).as_str(),
            NONE,
            MsFlags::MS_BIND,
            NONE,
        )
        .ctx(|| format!("bind mount host device {}", n.path.display()));
    }
    mknod_in(parent.as_fd(), name, n, None)
}

/// Who owns a file made now in `dir`: our effective uid, and our effective gid unless the
/// directory is set-group-ID (then its group). None if the directory cannot be read.
fn owner_of_new_files(dir: BorrowedFd) -> Option<(u32, u32)> {
    let st = nix::sys::stat::fstat(dir).ok()?;
    let gid = if st.st_mode & libc::S_ISGID != 0 {
        st.st_gid
    } else {
        nix::unistd::getegid().as_raw()
    };
    Some((nix::unistd::geteuid().as_raw(), gid))
}

/// mknod `name` in the directory `parent` and give it the node's owner, unless it is made
/// with that owner already (`made_as`); one that exists is left as it is.
fn mknod_in(
    parent: BorrowedFd,
    name: &std::ffi::OsStr,
    n: &Node,
    made_as: Option<(u32, u32)>,
) -> Result<()> {
    match mknodat(
        parent,
        name,
        n.kind,
        Mode::from_bits_truncate(n.mode),
        makedev(n.major, n.minor),
    ) {
        Ok(()) => {}
        Err(nix::errno::Errno::EEXIST) => return Ok(()),
        Err(e) => return Err(Error::os(format!("mknod {}", n.path.display()), e)),
    }
    if made_as == Some((n.uid, n.gid)) {
        return Ok(());
    }
    fchownat(
        parent,
        name,
        Some(Uid::from_raw(n.uid)),
        Some(Gid::from_raw(n.gid)),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .ctx(|| format!("chown {}", n.path.display()))
}

/// /dev/console becomes the container's pty slave, bound through its fd.
pub fn bind_console(slave: &OwnedFd) -> Result<()> {
    let dev = nix::fcntl::open(
        "/dev",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| "open /dev")?;
    match openat(
        dev.as_fd(),
        "console",
        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) {
        Ok(_) | Err(nix::errno::Errno::EEXIST) => {}
        Err(e) => return Err(Error::os("create /dev/console", e)),
    }
    let target = openat(
        dev.as_fd(),
        "console",
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| "open /dev/console")?;
    mount(
        Some(fd_path(slave).as_str()),
        fd_path(&target).as_str(),
        NONE,
        MsFlags::MS_BIND,
        NONE,
    )
    .ctx(|| "bind the pty onto /dev/console")
}

/// Stdio that is the caller's /dev/null (containerd, conmon and `run -d </dev/null` give
/// it) is a file of the host's /dev, which the container's mounts do not hold: CRIU cannot
/// checkpoint a process holding it. As runc does, such stdio is reopened as the
/// container's own /dev/null, once it is verified to be the null device.
pub(super) fn reopen_dev_null() -> Result<()> {
    let is_null = |st: &nix::sys::stat::FileStat| {
        SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFCHR
            && st.st_rdev == makedev(1, 3)
    };
    let mut null: Option<OwnedFd> = None;
    for n in 0..3 {
        let st = nix::sys::stat::fstat(crate::support::sys::stdio_fd(n));
        if !st.is_ok_and(|st| is_null(&st)) {
            continue;
        }
        if null.is_none() {
            let f = nix::fcntl::open(
                "/dev/null",
                OFlag::O_RDWR | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .ctx(|| "open the container's /dev/null")?;
            let st = nix::sys::stat::fstat(&f).ctx(|| "stat the container's /dev/null")?;
            if !is_null(&st) {
                return Err(Error::msg(
                    "/dev/null in the container is not the null device (char 1:3)",
                ));
            }
            null = Some(f);
        }
        if let Some(f) = &null {
            crate::support::sys::dup_onto_stdio(f.as_fd(), n)
                .ctx(|| format!("reopen fd {n} on the container's /dev/null"))?;
        }
    }
    Ok(())
}
