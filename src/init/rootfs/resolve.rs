//! Paths from config.json resolved inside the rootfs, never out of it: openat2 with
//! RESOLVE_IN_ROOT (a symlink, even a dangling one, is followed inside the root), mkdir -p
//! that follows dangling symlinks inside the root (or, for a mount's first try, follows
//! none), and the path through which mount(2) reaches the resulting fds: `.` after fchdir
//! to a directory, the /proc/self/fd magic link for a file (CVE-2021-30465,
//! CVE-2024-45310); and the bind-remount every kind of mount uses to change its flags.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use nix::fcntl::{openat, openat2, OFlag, OpenHow, ResolveFlag};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{mkdirat, Mode};

use crate::support::error::{Context, Error, Result};

use super::NONE;

pub(super) fn open_dir(path: &Path) -> Result<OwnedFd> {
    nix::fcntl::open(
        path,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| format!("open {}", path.display()))
}

/// The container's "/", opened when first asked for.
#[derive(Default)]
pub(super) struct LazyRoot(std::cell::OnceCell<OwnedFd>);

impl LazyRoot {
    pub(super) fn get(&self) -> Result<BorrowedFd<'_>> {
        if let Some(fd) = self.0.get() {
            return Ok(fd.as_fd());
        }
        let fd = open_dir(Path::new("/"))?;
        Ok(self.0.get_or_init(|| fd).as_fd())
    }
}

/// "/a/b" → "a/b"; "/" → "."; `..` stays and is clamped to the root by RESOLVE_IN_ROOT.
pub(super) fn relative(path: &Path) -> PathBuf {
    let rel: PathBuf = path
        .components()
        .filter(|c| !matches!(c, Component::RootDir | Component::CurDir))
        .collect();
    if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        rel
    }
}

/// Open a path inside the root without leaving it, whatever symlinks the image holds.
pub fn open_in_root(
    root: BorrowedFd,
    path: &Path,
    flags: OFlag,
    resolve: ResolveFlag,
) -> nix::Result<OwnedFd> {
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .resolve(resolve | ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    openat2(root, &relative(path), how)
}

/// mkdir -p inside the root; returns an O_PATH fd of the directory. A dangling symlink on
/// the way is followed, inside the root, and its target created.
pub fn mkdir_all_in_root(root: BorrowedFd, path: &Path) -> Result<OwnedFd> {
    mkdir_all(root, path, ResolveFlag::empty())
}

/// A directory (or, when `file`, an empty file) made and opened inside the root without
/// following any symlink: None when a symlink is on the way (the caller then resolves it
/// as usual). A path so resolved is where it is spelled, `..` clamped at the root as the
/// kernel does.
pub fn make_in_root_plain(root: BorrowedFd, path: &Path, file: bool) -> Result<Option<OwnedFd>> {
    let plain = ResolveFlag::RESOLVE_NO_SYMLINKS;
    let made = if file {
        create_file(root, path, plain)
    } else {
        mkdir_all(root, path, plain)
    };
    match made {
        Ok(fd) => Ok(Some(fd)),
        Err(e) if e.errno() == Some(libc::ELOOP) => Ok(None),
        Err(e) => Err(e),
    }
}

fn mkdir_all(root: BorrowedFd, path: &Path, resolve: ResolveFlag) -> Result<OwnedFd> {
    let flags = OFlag::O_PATH | OFlag::O_DIRECTORY;
    let open = |p: &Path| open_in_root(root, p, flags, resolve);
    let comps: Vec<std::ffi::OsString> = relative(path)
        .components()
        .map(|c| c.as_os_str().to_owned())
        .collect();
    // Most destinations exist, or only their last parts are missing: start from the
    // deepest directory that opens (the same resolution the walk makes step by step)
    // rather than from the root, one openat2 per level instead of one per level per step.
    let mut start = None;
    for depth in (1..=comps.len()).rev() {
        let prefix: PathBuf = comps[..depth].iter().collect();
        match open(&prefix) {
            Ok(fd) if depth == comps.len() => return Ok(fd),
            Ok(fd) => {
                start = Some((fd, prefix, depth));
                break;
            }
            Err(nix::errno::Errno::ENOENT) => {}
            // Anything else is for the walk from the root to report.
            Err(_) => break,
        }
    }
    // Below a deepest directory found, the next part was just seen missing.
    let mut known_missing = start.is_some();
    let (mut cur, mut sofar, done) = match start {
        Some(s) => s,
        None => (
            open(Path::new(".")).ctx(|| "open the rootfs")?,
            PathBuf::new(),
            0,
        ),
    };
    let mut todo: std::collections::VecDeque<std::ffi::OsString> =
        comps.into_iter().skip(done).collect();
    let mut links = 0;
    while let Some(comp) = todo.pop_front() {
        let next = sofar.join(&comp);
        let opened = if std::mem::take(&mut known_missing) {
            Err(nix::errno::Errno::ENOENT)
        } else {
            open(&next)
        };
        match opened {
            Ok(fd) => {
                (cur, sofar) = (fd, next);
                continue;
            }
            Err(nix::errno::Errno::ENOENT) => {}
            Err(e) => {
                return Err(Error::os(
                    format!("open {} in the rootfs", next.display()),
                    e,
                ))
            }
        }
        match mkdirat(
            cur.as_fd(),
            comp.as_os_str(),
            Mode::from_bits_truncate(0o755),
        ) {
            Ok(()) => {}
            Err(nix::errno::Errno::EEXIST) => {
                // Something is there that does not resolve: a dangling symlink.
                if resolve.contains(ResolveFlag::RESOLVE_NO_SYMLINKS) {
                    return Err(Error::os(
                        format!("open {} in the rootfs", next.display()),
                        nix::errno::Errno::ELOOP,
                    ));
                }
                let target = nix::fcntl::readlinkat(cur.as_fd(), comp.as_os_str())
                    .ctx(|| format!("open {} in the rootfs", next.display()))?;
                links += 1;
                if links > 40 {
                    return Err(Error::os(
                        format!("resolve {} in the rootfs", path.display()),
                        nix::errno::Errno::ELOOP,
                    ));
                }
                let target = PathBuf::from(target);
                if target.is_absolute() {
                    (cur, sofar) = (
                        open(Path::new(".")).ctx(|| "open the rootfs")?,
                        PathBuf::new(),
                    );
                }
                for c in relative(&target).components().rev() {
                    todo.push_front(c.as_os_str().to_owned());
                }
                continue;
            }
            Err(e) => {
                return Err(Error::os(
                    format!("mkdir {} in the rootfs", next.display()),
                    e,
                ))
            }
        }
        // The directory just made, by its name in its parent: nothing to resolve.
        cur = openat(
            cur.as_fd(),
            comp.as_os_str(),
            flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .ctx(|| format!("open {} in the rootfs", next.display()))?;
        sofar = next;
    }
    Ok(cur)
}

/// Make an empty file (a bind mount target) inside the root; returns an O_PATH fd.
pub fn create_file_in_root(root: BorrowedFd, path: &Path) -> Result<OwnedFd> {
    create_file(root, path, ResolveFlag::empty())
}

fn create_file(root: BorrowedFd, path: &Path, resolve: ResolveFlag) -> Result<OwnedFd> {
    let rel = relative(path);
    let parent = mkdir_all(root, rel.parent().unwrap_or(Path::new(".")), resolve)?;
    let name = rel
        .file_name()
        .ok_or_else(|| Error::msg(format!("{} has no file name", path.display())))?;
    match openat(
        parent.as_fd(),
        name,
        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o644),
    ) {
        Ok(_) | Err(nix::errno::Errno::EEXIST) => {}
        Err(e) => {
            return Err(Error::os(
                format!("create {} in the rootfs", rel.display()),
                e,
            ))
        }
    }
    open_in_root(root, &rel, OFlag::O_PATH, resolve)
        .ctx(|| format!("open {} in the rootfs", rel.display()))
}

pub(super) use crate::support::sys::fd_path;

/// The target path mount(2) is given for an fd's file: a directory is entered (fchdir)
/// and named ".", which mount resolves without a lookup; anything else goes by its
/// magic link, a walk through procfs. Either reaches exactly the fd's file
/// (CVE-2021-30465). Leaves the working directory there: the init's next move is
/// absolute (pivot_root's fchdir, or chdir to the rootfs without it).
pub(super) fn mount_target(fd: &OwnedFd) -> String {
    match nix::unistd::fchdir(fd) {
        Ok(()) => ".".into(),
        Err(_) => fd_path(fd),
    }
}

/// After mounting on a path, an fd of the path (followed through the new mount).
pub(super) fn reopen(root: BorrowedFd, dest: &Path) -> Result<OwnedFd> {
    open_in_root(root, dest, OFlag::O_PATH, ResolveFlag::empty())
        .ctx(|| format!("reopen {} after mounting", dest.display()))
}

/// Flags a user namespace may not clear on a remount; they must be repeated.
pub(super) fn locked_flags(path: &str) -> MsFlags {
    let keep = MsFlags::MS_RDONLY
        | MsFlags::MS_NOSUID
        | MsFlags::MS_NODEV
        | MsFlags::MS_NOEXEC
        | MsFlags::MS_NOATIME
        | MsFlags::MS_NODIRATIME
        | MsFlags::MS_RELATIME;
    nix::sys::statvfs::statvfs(path)
        .map(|s| MsFlags::from_bits_truncate(s.flags().bits() as _) & keep)
        .unwrap_or(MsFlags::empty())
}

/// Bind-remount with new flags, repeating locked flags if the kernel insists.
pub(super) fn remount(target: &Path, flags: MsFlags) -> Result<()> {
    let flags = flags | MsFlags::MS_BIND | MsFlags::MS_REMOUNT;
    let t = target.to_string_lossy();
    match mount(NONE, t.as_ref(), NONE, flags, NONE) {
        Err(nix::errno::Errno::EPERM) => {
            mount(NONE, t.as_ref(), NONE, flags | locked_flags(&t), NONE)
        }
        other => other,
    }
    .ctx(|| format!("remount {} with {flags:?}", target.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A scratch root with `outside` beside it, removed when dropped.
    struct Scratch(PathBuf);
    impl Scratch {
        fn new(name: &str) -> Scratch {
            let base =
                std::env::temp_dir().join(format!("brig-resolve-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&base);
            std::fs::create_dir_all(base.join("root")).unwrap();
            std::fs::create_dir_all(base.join("outside")).unwrap();
            Scratch(base)
        }
        fn root(&self) -> PathBuf {
            self.0.join("root")
        }
    }
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn mkdir_all(s: &Scratch, path: &str) -> PathBuf {
        let root = open_dir(&s.root()).unwrap();
        let fd = mkdir_all_in_root(root.as_fd(), Path::new(path)).unwrap();
        std::fs::read_link(fd_path(&fd)).unwrap()
    }

    #[test]
    fn an_existing_directory_is_opened_and_missing_parts_are_made() {
        let s = Scratch::new("plain");
        std::fs::create_dir_all(s.root().join("sys/fs")).unwrap();
        assert_eq!(mkdir_all(&s, "/sys/fs"), s.root().join("sys/fs"));
        assert_eq!(
            mkdir_all(&s, "/sys/fs/cgroup/cpu"),
            s.root().join("sys/fs/cgroup/cpu")
        );
        assert_eq!(mkdir_all(&s, "/a/b/c"), s.root().join("a/b/c"));
        assert_eq!(mkdir_all(&s, "/"), s.root());
    }

    #[test]
    fn symlinks_on_the_way_stay_inside_the_root() {
        let s = Scratch::new("links");
        // Dangling, absolute: its target is made inside the root, not on the host.
        symlink("/target/x", s.root().join("abs")).unwrap();
        assert_eq!(mkdir_all(&s, "/abs/b"), s.root().join("target/x/b"));
        // Leading out by `..`: clamped to the root.
        symlink("../../outside", s.root().join("up")).unwrap();
        assert_eq!(mkdir_all(&s, "/up/c"), s.root().join("outside/c"));
        assert!(!s.0.join("outside/c").exists());
        // Existing and resolving: followed inside the root by the first open.
        std::fs::create_dir_all(s.root().join("real/d")).unwrap();
        symlink("/real", s.root().join("alias")).unwrap();
        assert_eq!(mkdir_all(&s, "/alias/d/e"), s.root().join("real/d/e"));
    }

    /// The plain resolution (mounts::destination's first try) says None for any symlink
    /// on the way, whole or dangling, and makes nothing then; a path without one is made.
    #[test]
    fn plain_resolution_refuses_every_symlink_and_makes_nothing_then() {
        let s = Scratch::new("plain-only");
        let root = open_dir(&s.root()).unwrap();
        let plain = |p: &str| make_in_root_plain(root.as_fd(), Path::new(p), false).unwrap();
        let file = |p: &str| make_in_root_plain(root.as_fd(), Path::new(p), true).unwrap();
        let fd = plain("/a/../b/c").expect("no symlink on the way");
        assert_eq!(
            std::fs::read_link(fd_path(&fd)).unwrap(),
            s.root().join("b/c")
        );
        std::fs::create_dir_all(s.root().join("real")).unwrap();
        symlink("/real", s.root().join("alias")).unwrap();
        symlink("/nowhere", s.root().join("dangling")).unwrap();
        for p in ["/alias/x", "/alias", "/dangling/y", "/dangling"] {
            assert!(plain(p).is_none(), "{p}");
        }
        assert!(file("/alias/f").is_none());
        assert!(file("/dangling").is_none());
        assert!(!s.root().join("real/x").exists() && !s.root().join("real/f").exists());
        assert!(!s.root().join("nowhere").exists());
        let f = file("/b/c/f").expect("no symlink on the way");
        assert_eq!(
            std::fs::read_link(fd_path(&f)).unwrap(),
            s.root().join("b/c/f")
        );
    }
}
