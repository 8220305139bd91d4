//! The `tmpcopyup` mount option: a tmpfs mounted over a directory starts with a copy of
//! what the directory held. The init opens the directory before the tmpfs covers it; the
//! copy reads through that fd, entry by entry with *at calls that never follow symlinks.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::fcntl::{openat, readlinkat, AtFlags, OFlag};
use nix::sys::stat::{fchmod, fstat, fstatat, mkdirat, mknodat, FileStat, Mode, SFlag};
use nix::unistd::{fchown, fchownat, symlinkat, Gid, Uid};

use crate::support::error::{Context, Result};

/// Copy the tree under `from` (the covered directory) into `to` (the new tmpfs root).
/// The tmpfs root takes the directory's mode and owner unless the mount options set them
/// (`mode=`, `uid=`, `gid=`).
pub fn copy_up(from: BorrowedFd, to: BorrowedFd, data: &[String]) -> Result<()> {
    let src = open_dir(from, c".")?;
    let dst = open_dir(to, c".")?;
    let st = fstat(src.as_fd()).ctx(|| "stat the covered directory")?;
    let set = |key: &str| data.iter().any(|d| d.starts_with(key));
    if !set("mode=") {
        fchmod(dst.as_fd(), mode_of(&st)).ctx(|| "chmod the tmpfs root")?;
    }
    let uid = (!set("uid=")).then(|| uid_of(&st));
    let gid = (!set("gid=")).then(|| gid_of(&st));
    owner(fchown(dst.as_fd(), uid, gid))?;
    copy_tree(src.as_fd(), dst.as_fd())
}

fn copy_tree(src: BorrowedFd, dst: BorrowedFd) -> Result<()> {
    let dup = src.try_clone_to_owned().ctx(|| "dup a directory fd")?;
    let mut dir = nix::dir::Dir::from_fd(dup).ctx(|| "read a directory to copy up")?;
    for entry in dir.iter() {
        let entry = entry.ctx(|| "read a directory to copy up")?;
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        let shown = name.to_string_lossy();
        let st = fstatat(src, name, AtFlags::AT_SYMLINK_NOFOLLOW)
            .ctx(|| format!("copy up {shown}: stat"))?;
        let mode = mode_of(&st);
        let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
        match kind {
            SFlag::S_IFDIR => {
                mkdirat(dst, name, mode).ctx(|| format!("copy up {shown}: mkdir"))?;
                let (s, d) = (open_dir(src, name)?, open_dir(dst, name)?);
                // mkdir drops setuid/setgid bits; set the mode again.
                fchmod(d.as_fd(), mode).ctx(|| format!("copy up {shown}: chmod"))?;
                chown_fd(d.as_fd(), &st)?;
                copy_tree(s.as_fd(), d.as_fd())?;
            }
            SFlag::S_IFREG => {
                // Non-blocking, and checked to be the file just stat'ed: a fifo or device
                // swapped in meanwhile would hang the copy or never end it.
                let flags =
                    OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
                let s = openat(src, name, flags, Mode::empty())
                    .ctx(|| format!("copy up {shown}: open"))?;
                let opened = fstat(s.as_fd()).ctx(|| format!("copy up {shown}: stat"))?;
                if (opened.st_dev, opened.st_ino) != (st.st_dev, st.st_ino)
                    || SFlag::from_bits_truncate(opened.st_mode & SFlag::S_IFMT.bits())
                        != SFlag::S_IFREG
                {
                    return Err(crate::support::error::Error::msg(format!(
                        "copy up {shown}: the file changed while it was copied"
                    )));
                }
                let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_CLOEXEC;
                let d =
                    openat(dst, name, flags, mode).ctx(|| format!("copy up {shown}: create"))?;
                let (mut s, mut d) = (std::fs::File::from(s), std::fs::File::from(d));
                std::io::copy(&mut s, &mut d).ctx(|| format!("copy up {shown}"))?;
                chown_fd(d.as_fd(), &st)?;
                fchmod(d.as_fd(), mode).ctx(|| format!("copy up {shown}: chmod"))?;
            }
            SFlag::S_IFLNK => {
                let target = readlinkat(src, name).ctx(|| format!("copy up {shown}: readlink"))?;
                symlinkat(target.as_os_str(), dst, name)
                    .ctx(|| format!("copy up {shown}: symlink"))?;
                chown_entry(dst, name, &st)?;
            }
            _ => {
                mknodat(dst, name, kind, mode, st.st_rdev)
                    .ctx(|| format!("copy up {shown}: mknod"))?;
                chown_entry(dst, name, &st)?;
            }
        }
    }
    Ok(())
}

fn open_dir<P: ?Sized + nix::NixPath>(at: BorrowedFd, name: &P) -> Result<OwnedFd> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    openat(at, name, flags, Mode::empty()).ctx(|| "copy up: open a directory")
}

/// Give an open file or directory the owner recorded in `st`.
fn chown_fd(fd: BorrowedFd, st: &FileStat) -> Result<()> {
    owner(fchown(fd, Some(uid_of(st)), Some(gid_of(st))))
}

/// Give a symlink or node, by name, the owner recorded in `st`.
fn chown_entry(dir: BorrowedFd, name: &std::ffi::CStr, st: &FileStat) -> Result<()> {
    let flags = AtFlags::AT_SYMLINK_NOFOLLOW;
    owner(fchownat(
        dir,
        name,
        Some(uid_of(st)),
        Some(gid_of(st)),
        flags,
    ))
}

/// An owner the user namespace cannot represent (shown as the overflow id) stays the
/// copier's: EINVAL from chown is not an error here.
fn owner(r: nix::Result<()>) -> Result<()> {
    match r {
        Err(nix::errno::Errno::EINVAL) => Ok(()),
        other => other.ctx(|| "copy up: chown"),
    }
}

fn mode_of(st: &FileStat) -> Mode {
    Mode::from_bits_truncate(st.st_mode & 0o7777)
}

fn uid_of(st: &FileStat) -> Uid {
    Uid::from_raw(st.st_uid)
}

fn gid_of(st: &FileStat) -> Gid {
    Gid::from_raw(st.st_gid)
}
