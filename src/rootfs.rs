//! The container's root filesystem, set up inside its mount namespace: propagation, the
//! spec's mounts, /dev, pivot_root (or MS_MOVE + chroot), a read-only root, and masked and
//! read-only paths.
//!
//! Paths from config.json are resolved inside the rootfs with openat2(RESOLVE_IN_ROOT) and
//! mounts target the resulting fd through /proc/self/fd, so a symlink in the image can
//! never send a mount or a mkdir to the host (CVE-2021-30465, CVE-2024-45310).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use nix::fcntl::{openat, openat2, OFlag, OpenHow, ResolveFlag};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::{fstat, makedev, mkdirat, mknodat, Mode, SFlag};
use nix::unistd::{fchownat, symlinkat, Gid, Uid};
use oci_spec::runtime::{LinuxDeviceType, Mount, Spec};

use crate::error::{Context, Error, Result};
use crate::mountopts::{self, MountOptions};
use crate::process::InitConfig;

const NONE: Option<&str> = None;

/// Mount everything inside the rootfs, still below the old root (`enter_root` and
/// `finalize` complete it).
pub fn mount_all(cfg: &InitConfig) -> Result<()> {
    let spec = cfg.spec;
    let linux = spec.linux().as_ref();
    let propagation = linux
        .and_then(|l| l.rootfs_propagation().as_deref())
        .and_then(mountopts::propagation);
    // Nothing we mount may propagate back to the host.
    mount(
        NONE,
        "/",
        NONE,
        propagation.unwrap_or(MsFlags::MS_SLAVE | MsFlags::MS_REC),
        NONE,
    )
    .ctx(|| "set the propagation of / in the container's mount namespace")?;
    // pivot_root refuses a shared parent, and an unbindable one cannot be bound. A
    // propagation that leaves mounts shared with the host (anything but rslave or
    // rprivate) would also carry the rootfs bind below, and every mount under it, to the
    // host's peers: the parent goes private first, as runc does when it is shared.
    let everything_unshared = [
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        MsFlags::MS_PRIVATE | MsFlags::MS_REC,
    ];
    match propagation {
        Some(p) if p.intersects(MsFlags::MS_SHARED | MsFlags::MS_UNBINDABLE) => {
            make_parent_mount_private(cfg.rootfs, false)?
        }
        Some(p) if !everything_unshared.contains(&p) => {
            make_parent_mount_private(cfg.rootfs, true)?
        }
        _ => {}
    }
    // pivot_root needs the new root to be a mount point.
    mount(
        Some(cfg.rootfs),
        cfg.rootfs,
        NONE,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        NONE,
    )
    .ctx(|| format!("bind mount the rootfs {} onto itself", cfg.rootfs.display()))?;
    let root = open_dir(cfg.rootfs)?;
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        mount_entry(cfg, root.as_fd(), i, m)
            .map_err(|e| e.wrap(&format!("mounts[{i}] ({})", m.destination().display())))?;
    }
    if mounts_dev_tmpfs(spec) {
        create_default_devices(cfg, root.as_fd())?;
    }
    create_spec_devices(cfg, root.as_fd())?;
    // After the mounts, as runc: a cwd inside a volume or tmpfs is made there, not in the
    // directory the mount then covers.
    let cwd = spec
        .process()
        .as_ref()
        .map(|p| p.cwd().clone())
        .unwrap_or_default();
    match mkdir_all_in_root(root.as_fd(), &cwd) {
        // Through a magic link (/proc/self/fd/N): nothing is created there; `init::check_cwd`
        // judges where chdir lands.
        Err(e) if e.errno() == Some(libc::ELOOP) => Ok(()),
        other => other
            .map(drop)
            .map_err(|e| e.wrap("create the process cwd")),
    }
}

/// Switch into the new root: pivot_root, or MS_MOVE + chroot with `--no-pivot`.
pub fn enter_root(cfg: &InitConfig) -> Result<()> {
    if cfg.no_pivot {
        move_root(cfg.rootfs)?;
    } else {
        pivot_root(cfg.rootfs)?;
    }
    let propagation = cfg
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().as_deref())
        .and_then(mountopts::propagation);
    if let Some(p) = propagation {
        mount(NONE, "/", NONE, p, NONE).ctx(|| "set rootfsPropagation on /")?;
    }
    Ok(())
}

/// After sysctls are written: read-only and masked paths, then a read-only root.
pub fn finalize(spec: &Spec) -> Result<()> {
    if let Some(linux) = spec.linux() {
        readonly_paths(linux.readonly_paths().as_deref().unwrap_or_default())?;
        mask_paths(linux.masked_paths().as_deref().unwrap_or_default())?;
    }
    if spec.root().as_ref().and_then(|r| r.readonly()) == Some(true) {
        remount(Path::new("/"), MsFlags::MS_RDONLY)
            .map_err(|e| e.wrap("make the root read-only"))?;
    }
    Ok(())
}

fn open_dir(path: &Path) -> Result<OwnedFd> {
    nix::fcntl::open(
        path,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| format!("open {}", path.display()))
}

/// "/a/b" → "a/b"; "/" → "."; `..` stays and is clamped to the root by RESOLVE_IN_ROOT.
fn relative(path: &Path) -> PathBuf {
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
fn open_in_root(
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
fn mkdir_all_in_root(root: BorrowedFd, path: &Path) -> Result<OwnedFd> {
    let flags = OFlag::O_PATH | OFlag::O_DIRECTORY;
    let open = |p: &Path| open_in_root(root, p, flags, ResolveFlag::empty());
    let mut cur = open(Path::new(".")).ctx(|| "open the rootfs")?;
    let mut sofar = PathBuf::new();
    let mut todo: std::collections::VecDeque<std::ffi::OsString> = relative(path)
        .components()
        .map(|c| c.as_os_str().to_owned())
        .collect();
    let mut links = 0;
    while let Some(comp) = todo.pop_front() {
        let next = sofar.join(&comp);
        match open(&next) {
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
        cur = open(&next).ctx(|| format!("open {} in the rootfs", next.display()))?;
        sofar = next;
    }
    Ok(cur)
}

/// Make an empty file (a bind mount target) inside the root; returns an O_PATH fd.
fn create_file_in_root(root: BorrowedFd, path: &Path) -> Result<OwnedFd> {
    let rel = relative(path);
    let parent = mkdir_all_in_root(root, rel.parent().unwrap_or(Path::new(".")))?;
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
    open_in_root(root, &rel, OFlag::O_PATH, ResolveFlag::empty())
        .ctx(|| format!("open {} in the rootfs", rel.display()))
}

/// The magic-link path through which mount(2) reaches an fd's file.
fn fd_path(fd: &OwnedFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

/// Flags a user namespace may not clear on a remount; they must be repeated.
fn locked_flags(path: &str) -> MsFlags {
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
fn remount(target: &Path, flags: MsFlags) -> Result<()> {
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

fn mounts_dev_tmpfs(spec: &Spec) -> bool {
    spec.mounts().iter().flatten().any(|m| {
        m.destination() == Path::new("/dev")
            && !mountopts::parse(m.options().as_deref().unwrap_or_default())
                .is_ok_and(|o| o.is_bind())
    })
}

/// Where mounts under /proc may go: only the files lxcfs-style tools replace.
fn check_proc_destination(dest: &Path, typ: &str) -> Result<()> {
    const ALLOWED: &[&str] = &[
        "/proc/cpuinfo",
        "/proc/diskstats",
        "/proc/meminfo",
        "/proc/stat",
        "/proc/swaps",
        "/proc/uptime",
        "/proc/loadavg",
        "/proc/slabinfo",
        "/proc/net/dev",
        "/proc/sys/kernel/ns_last_pid",
    ];
    // `..` is resolved as the kernel resolves it in the root: never above `/`.
    let mut clean = PathBuf::from("/");
    for c in dest.components() {
        match c {
            std::path::Component::ParentDir => {
                clean.pop();
            }
            std::path::Component::Normal(name) => clean.push(name),
            _ => {}
        }
    }
    if clean == Path::new("/proc") {
        return if typ == "proc" {
            Ok(())
        } else {
            Err(Error::msg(format!(
                "/proc cannot be mounted as {typ:?} (only procfs)"
            )))
        };
    }
    if clean.starts_with("/proc") && !ALLOWED.iter().any(|a| clean == Path::new(a)) {
        return Err(Error::msg(format!(
            "mounting over {} is not allowed (it is under /proc)",
            clean.display()
        )));
    }
    Ok(())
}

/// The /proc rule again on where a destination really is, once resolved in the root: a
/// symlink in the rootfs can lead under /proc where its spelling does not.
fn check_real_destination(root: BorrowedFd, target: &OwnedFd, typ: &str) -> Result<()> {
    let root = std::fs::read_link(format!("/proc/self/fd/{}", root.as_raw_fd()));
    let real = std::fs::read_link(fd_path(target));
    match (root, real) {
        (Ok(root), Ok(real)) => match real.strip_prefix(&root) {
            Ok(rel) => check_proc_destination(&Path::new("/").join(rel), typ),
            // RESOLVE_IN_ROOT keeps it inside; a path we cannot compare is not judged.
            Err(_) => Ok(()),
        },
        _ => Ok(()),
    }
}

/// On the host, before the init is forked: for each idmapped mount, a detached copy of
/// its source (the tree below it too with `rbind`) that shows owners through the mount's
/// `uidMappings`/`gidMappings`, or the container's own maps when the mount has none.
/// Giving a mount an id mapping needs privileges in the host's user namespace, which the
/// init in a new user namespace no longer has; it only moves the copy into place.
pub fn prepare_idmapped(spec: &Spec, bundle: &Path) -> Result<Vec<(usize, OwnedFd)>> {
    let mut prepared = Vec::new();
    let linux = spec.linux().as_ref();
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let opts =
            mountopts::parse(m.options().as_deref().unwrap_or_default()).map_err(Error::msg)?;
        let own = |maps: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>| {
            maps.clone().filter(|v| !v.is_empty())
        };
        let (mut uid, mut gid) = (own(m.uid_mappings()), own(m.gid_mappings()));
        if opts.idmap.is_none() && uid.is_none() && gid.is_none() {
            continue;
        }
        if let Some(r) = &opts.idmap_ranges {
            let container = |maps: Option<&Vec<_>>| maps.cloned().unwrap_or_default();
            uid = Some(
                ranges_to_maps(
                    &r.uids,
                    &container(linux.and_then(|l| l.uid_mappings().as_ref())),
                )
                .map_err(|e| Error::config(format!("mounts[{i}].options"), e))?,
            );
            gid = Some(
                ranges_to_maps(
                    &r.gids,
                    &container(linux.and_then(|l| l.gid_mappings().as_ref())),
                )
                .map_err(|e| Error::config(format!("mounts[{i}].options"), e))?,
            );
        }
        let field = format!("mounts[{i}]");
        if !nix::unistd::geteuid().is_root() {
            return Err(Error::config(
                field,
                "an idmapped mount needs root: the kernel asks for CAP_SYS_ADMIN over the source's filesystem, which a rootless container does not have",
            ));
        }
        let uid = uid
            .or_else(|| linux.and_then(|l| own(l.uid_mappings())))
            .unwrap_or_default();
        let gid = gid
            .or_else(|| linux.and_then(|l| own(l.gid_mappings())))
            .unwrap_or_default();
        let source = m.source().as_ref().ok_or_else(|| {
            Error::config(format!("{field}.source"), "a bind mount needs a source")
        })?;
        let source = bundle.join(source);
        let c_source = std::ffi::CString::new(source.as_os_str().as_encoded_bytes())
            .map_err(|_| Error::config(format!("{field}.source"), "contains a NUL byte"))?;
        let userns = crate::process::namespaces::userns_with_maps(&uid, &gid)
            .map_err(|e| e.wrap(&format!("{field} (idmapped mount)")))?;
        let tree = crate::sys::open_tree_clone(&c_source, opts.flags.contains(MsFlags::MS_REC))
            .map_err(|e| Error::os(format!("{field}: open_tree {}", source.display()), e))?;
        crate::sys::mount_setattr_idmap(tree.as_fd(), userns.as_fd(), opts.idmap == Some(true))
            .map_err(|e| {
                Error::os(
                    format!("{field}: idmap {} (mount_setattr)", source.display()),
                    e,
                )
            })?;
        prepared.push((i, tree));
    }
    Ok(prepared)
}

/// crun's `idmap=` ranges as id mappings; a relative range (`@`) names container ids,
/// taken through the container's own mappings, and must fall within one of them.
fn ranges_to_maps(
    ranges: &[mountopts::IdRange],
    container: &[oci_spec::runtime::LinuxIdMapping],
) -> std::result::Result<Vec<oci_spec::runtime::LinuxIdMapping>, String> {
    ranges
        .iter()
        .map(|r| {
            let host = if r.relative {
                let within = container.iter().find(|m| {
                    r.host >= m.container_id()
                        && u64::from(r.host) + u64::from(r.size)
                            <= u64::from(m.container_id()) + u64::from(m.size())
                });
                let m = within.ok_or_else(|| {
                    format!(
                        "idmap range @{}-{}-{}: container ids {}..{} are not all in one of the container's mappings",
                        r.container,
                        r.host,
                        r.size,
                        r.host,
                        u64::from(r.host) + u64::from(r.size)
                    )
                })?;
                m.host_id() + (r.host - m.container_id())
            } else {
                r.host
            };
            oci_spec::runtime::LinuxIdMappingBuilder::default()
                .container_id(r.container)
                .host_id(host)
                .size(r.size)
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}

fn mount_entry(cfg: &InitConfig, root: BorrowedFd, index: usize, m: &Mount) -> Result<()> {
    let opts = mountopts::parse(m.options().as_deref().unwrap_or_default()).map_err(Error::msg)?;
    let typ = m.typ().as_deref().unwrap_or("");
    let dest = m.destination();
    check_proc_destination(dest, if opts.is_bind() { "bind" } else { typ })?;
    let target = if opts.is_bind() {
        bind_mount(cfg, root, index, m, &opts)?
    } else if typ == "cgroup" || typ == "cgroup2" {
        mount_cgroup(cfg, root, dest, &opts)?
    } else {
        mount_fs(cfg, root, m, typ, &opts)?
    };
    for p in &opts.propagation {
        mount(NONE, fd_path(&target).as_str(), NONE, *p, NONE)
            .ctx(|| format!("set propagation {p:?}"))?;
    }
    if opts.attr_set != 0 || opts.attr_clr != 0 {
        crate::sys::mount_setattr_recursive(target.as_fd(), opts.attr_set, opts.attr_clr)
            .ctx(|| "mount_setattr (recursive options)")?;
    }
    Ok(())
}

/// A bind mount: the target is a directory or a file like its source. Returns the fd of
/// the new mount's root.
fn bind_mount(
    cfg: &InitConfig,
    root: BorrowedFd,
    index: usize,
    m: &Mount,
    opts: &MountOptions,
) -> Result<OwnedFd> {
    let source = m
        .source()
        .as_ref()
        .ok_or_else(|| Error::msg("a bind mount needs a source"))?;
    let source = cfg.bundle.join(source);
    let meta =
        std::fs::metadata(&source).ctx(|| format!("stat bind source {}", source.display()))?;
    let target = if meta.is_dir() {
        mkdir_all_in_root(root, m.destination())?
    } else {
        create_file_in_root(root, m.destination())?
    };
    check_real_destination(root, &target, "bind")?;
    if let Some((_, tree)) = cfg.idmapped.iter().find(|(i, _)| *i == index) {
        crate::sys::move_mount_fd(tree.as_fd(), target.as_fd())
            .ctx(|| format!("move the idmapped mount of {} into place", source.display()))?;
    } else {
        let rec = opts.flags & MsFlags::MS_REC;
        mount(
            Some(&source),
            fd_path(&target).as_str(),
            NONE,
            MsFlags::MS_BIND | rec,
            NONE,
        )
        .ctx(|| format!("bind mount {}", source.display()))?;
    }
    let top = reopen(root, m.destination())?;
    let flags = opts.remount_flags();
    if !flags.is_empty() {
        remount(Path::new(&fd_path(&top)), flags)?;
    }
    Ok(top)
}

/// After mounting on a path, an fd of the path (followed through the new mount).
fn reopen(root: BorrowedFd, dest: &Path) -> Result<OwnedFd> {
    open_in_root(root, dest, OFlag::O_PATH, ResolveFlag::empty())
        .ctx(|| format!("reopen {} after mounting", dest.display()))
}

fn mount_fs(
    cfg: &InitConfig,
    root: BorrowedFd,
    m: &Mount,
    typ: &str,
    opts: &MountOptions,
) -> Result<OwnedFd> {
    let dest = m.destination();
    // As runc: a tmpfs over a directory the image has takes that directory's mode, unless
    // the options give one (the kernel's default is 1777, wrong over a 0700 directory).
    let covered_mode = (typ == "tmpfs" && !opts.data.iter().any(|d| d.starts_with("mode=")))
        .then(|| {
            open_in_root(
                root,
                dest,
                OFlag::O_PATH | OFlag::O_DIRECTORY,
                ResolveFlag::empty(),
            )
        })
        .and_then(|fd| fstat(&fd.ok()?).ok())
        .map(|st| st.st_mode & 0o7777);
    // procfs and sysfs are refused on a symlinked destination (CVE-2019-19921).
    let target = if typ == "proc" || typ == "sysfs" {
        match open_in_root(
            root,
            dest,
            OFlag::O_PATH | OFlag::O_DIRECTORY,
            ResolveFlag::RESOLVE_NO_SYMLINKS,
        ) {
            Ok(fd) => fd,
            Err(nix::errno::Errno::ELOOP) => {
                return Err(Error::msg(format!(
                    "{} is a symlink in the rootfs; refusing to mount {typ} there",
                    dest.display()
                )))
            }
            Err(nix::errno::Errno::ENOENT) => mkdir_all_in_root(root, dest)?,
            Err(e) => {
                return Err(Error::os(
                    format!("open {} in the rootfs", dest.display()),
                    e,
                ))
            }
        }
    } else {
        mkdir_all_in_root(root, dest)?
    };
    check_real_destination(root, &target, typ)?;
    let source = m
        .source()
        .as_ref()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| typ.to_string());
    let mut data = opts.data.clone();
    if let Some(mode) = covered_mode.filter(|_| !opts.tmpcopyup) {
        data.push(format!("mode={mode:o}"));
    }
    let data = crate::security::lsm::labelled_mount_data(
        cfg.spec,
        typ,
        (!data.is_empty()).then(|| data.join(",")),
    );
    let mut flags = opts.flags - MsFlags::MS_REMOUNT;
    if opts.tmpcopyup {
        // Filled first, made read-only after.
        flags -= MsFlags::MS_RDONLY;
    }
    let res = mount(
        Some(source.as_str()),
        fd_path(&target).as_str(),
        Some(typ),
        flags,
        data.as_deref(),
    );
    match res {
        Ok(()) => {}
        // Outside a namespace the container owns, the kernel refuses a fresh sysfs or
        // mqueue; bind the host's instead, as runc does.
        Err(nix::errno::Errno::EPERM) if typ == "sysfs" || typ == "mqueue" => {
            let host = if typ == "sysfs" {
                "/sys"
            } else {
                "/dev/mqueue"
            };
            mount(
                Some(host),
                fd_path(&target).as_str(),
                NONE,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                NONE,
            )
            .ctx(|| format!("bind mount {host} (a new {typ} was refused)"))?;
            let top = reopen(root, dest)?;
            let f = opts.remount_flags();
            if !f.is_empty() {
                remount(Path::new(&fd_path(&top)), f)?;
            }
        }
        Err(e) => {
            return Err(Error::os(
                format!(
                    "mount {typ} ({source}) with {:?}",
                    data.as_deref().unwrap_or("")
                ),
                e,
            ))
        }
    }
    let top = reopen(root, dest)?;
    if opts.tmpcopyup {
        // `target` still leads to the directory below the new tmpfs.
        crate::copyup::copy_up(target.as_fd(), top.as_fd(), &opts.data)?;
        if opts.flags.contains(MsFlags::MS_RDONLY) {
            remount(Path::new(&fd_path(&top)), opts.flags - MsFlags::MS_REMOUNT)?;
        }
    }
    Ok(top)
}

/// /sys/fs/cgroup inside the container. With a cgroup namespace the hierarchies are
/// mounted fresh (their root is the container's cgroup); without one the container's own
/// cgroup directories are bind-mounted.
fn mount_cgroup(
    cfg: &InitConfig,
    root: BorrowedFd,
    dest: &Path,
    opts: &MountOptions,
) -> Result<OwnedFd> {
    let cgns = cfg
        .namespaces
        .new
        .contains(nix::sched::CloneFlags::CLONE_NEWCGROUP);
    let target = mkdir_all_in_root(root, dest)?;
    let flags = opts.flags - MsFlags::MS_REMOUNT;
    if cfg.cgroup.layout == "v2" {
        if cgns {
            mount(
                Some("cgroup2"),
                fd_path(&target).as_str(),
                Some("cgroup2"),
                flags,
                NONE,
            )
            .ctx(|| "mount cgroup2")?;
        } else {
            // Rootless without a cgroup of its own: the one it runs in, its creator's, which
            // holds the user's other processes too, so always read-only.
            let (host, forced) = match cfg.cgroup.dirs.get("unified") {
                Some(dir) => (dir.clone(), MsFlags::empty()),
                None => (
                    crate::cgroups::own_v2_dir()
                        .ok_or_else(|| Error::msg("no cgroup2 line in /proc/self/cgroup"))?,
                    MsFlags::MS_RDONLY,
                ),
            };
            mount(
                Some(&host),
                fd_path(&target).as_str(),
                NONE,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                NONE,
            )
            .ctx(|| format!("bind mount {}", host.display()))?;
            let top = reopen(root, dest)?;
            remount(Path::new(&fd_path(&top)), opts.remount_flags() | forced)?;
        }
        return reopen(root, dest);
    }
    let writable = flags - MsFlags::MS_RDONLY;
    mount(
        Some("tmpfs"),
        fd_path(&target).as_str(),
        Some("tmpfs"),
        writable,
        Some("mode=755"),
    )
    .ctx(|| "mount the tmpfs for cgroup hierarchies")?;
    let top = reopen(root, dest)?;
    for (name, host_dir) in &cfg.cgroup.dirs {
        let Some(base) = cfg.cgroup.mounts.get(name).and_then(|m| m.file_name()) else {
            continue;
        };
        let sub_path = dest.join(base);
        let sub = mkdir_all_in_root(root, &sub_path)?;
        if cgns {
            let (fstype, data) = if name == "unified" {
                ("cgroup2", None)
            } else {
                ("cgroup", Some(name.as_str()))
            };
            mount(
                Some("cgroup"),
                fd_path(&sub).as_str(),
                Some(fstype),
                flags,
                data,
            )
            .ctx(|| format!("mount cgroup hierarchy {name}"))?;
        } else {
            mount(
                Some(host_dir),
                fd_path(&sub).as_str(),
                NONE,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                NONE,
            )
            .ctx(|| format!("bind mount {}", host_dir.display()))?;
            let sub_top = reopen(root, &sub_path)?;
            remount(Path::new(&fd_path(&sub_top)), opts.remount_flags())?;
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
        remount(Path::new(&fd_path(&top)), flags)?;
    }
    reopen(root, dest)
}

struct Node<'a> {
    path: &'a Path,
    kind: SFlag,
    mode: u32,
    major: u64,
    minor: u64,
    uid: u32,
    gid: u32,
}

/// The devices every container gets when /dev is a fresh tmpfs, and the usual links.
fn create_default_devices(cfg: &InitConfig, root: BorrowedFd) -> Result<()> {
    for (name, major, minor) in [
        ("null", 1, 3),
        ("zero", 1, 5),
        ("full", 1, 7),
        ("random", 1, 8),
        ("urandom", 1, 9),
        ("tty", 5, 0),
    ] {
        let path = PathBuf::from("/dev").join(name);
        make_node(
            cfg,
            root,
            &Node {
                path: &path,
                kind: SFlag::S_IFCHR,
                mode: 0o666,
                major,
                minor,
                uid: 0,
                gid: 0,
            },
        )?;
    }
    let dev = open_in_root(
        root,
        Path::new("/dev"),
        OFlag::O_PATH | OFlag::O_DIRECTORY,
        ResolveFlag::RESOLVE_NO_SYMLINKS,
    )
    .ctx(|| "open /dev in the rootfs")?;
    let mut links = vec![
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
        ("pts/ptmx", "ptmx"),
    ];
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

fn create_spec_devices(cfg: &InitConfig, root: BorrowedFd) -> Result<()> {
    let devices = cfg.spec.linux().as_ref().and_then(|l| l.devices().as_ref());
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
        make_node(cfg, root, &node)
            .map_err(|e| e.wrap(&format!("linux.devices[{i}] ({})", d.path().display())))?;
    }
    Ok(())
}

/// mknod inside the root; in a user namespace, where mknod is refused, bind the host's node.
fn make_node(cfg: &InitConfig, root: BorrowedFd, n: &Node) -> Result<()> {
    let rel = relative(n.path);
    let parent = mkdir_all_in_root(root, rel.parent().unwrap_or(Path::new(".")))?;
    let name = rel
        .file_name()
        .ok_or_else(|| Error::msg("device path has no name"))?;
    if cfg.namespaces.in_user_ns() {
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
    match mknodat(
        parent.as_fd(),
        name,
        n.kind,
        Mode::from_bits_truncate(n.mode),
        makedev(n.major, n.minor),
    ) {
        Ok(()) => {}
        Err(nix::errno::Errno::EEXIST) => return Ok(()),
        Err(e) => return Err(Error::os(format!("mknod {}", n.path.display()), e)),
    }
    fchownat(
        parent.as_fd(),
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

/// pivot_root(".", ".") and detach the old root, which stays stacked underneath.
fn pivot_root(rootfs: &Path) -> Result<()> {
    let old = nix::fcntl::open(
        "/",
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| "open /")?;
    let new = nix::fcntl::open(
        rootfs,
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
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
fn move_root(rootfs: &Path) -> Result<()> {
    let info =
        std::fs::read_to_string("/proc/self/mountinfo").ctx(|| "read /proc/self/mountinfo")?;
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

fn unescape_mountinfo(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// Make the mount holding the rootfs private (only if it is shared, with `if_shared`):
/// pivot_root refuses a shared parent, and the rootfs bound from a shared mount would
/// pass every container mount to the host.
fn make_parent_mount_private(rootfs: &Path, if_shared: bool) -> Result<()> {
    let info =
        std::fs::read_to_string("/proc/self/mountinfo").ctx(|| "read /proc/self/mountinfo")?;
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

/// The container's /proc, verified to be the root of a procfs and not a symlink
/// (CVE-2019-19921, CVE-2023-27561); writes through it cannot be redirected by a mount
/// (`procfs`, CVE-2025-52881).
fn verified_proc() -> Result<crate::procfs::ProcRoot> {
    crate::procfs::ProcRoot::open()
}

/// Hide paths: directories under an empty read-only tmpfs, files under /dev/null — a
/// /dev/null verified to be the real null device (CVE-2025-31133).
fn mask_paths(paths: &[String]) -> Result<()> {
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
    let root = open_dir(Path::new("/"))?;
    for p in paths {
        let fd = match open_in_root(
            root.as_fd(),
            Path::new(p),
            OFlag::O_PATH | OFlag::O_NOFOLLOW,
            ResolveFlag::empty(),
        ) {
            Ok(fd) => fd,
            Err(nix::errno::Errno::ENOENT) => continue,
            Err(e) => return Err(Error::os(format!("open masked path {p}"), e)),
        };
        let is_dir = fstat(&fd)
            .is_ok_and(|s| SFlag::from_bits_truncate(s.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR);
        let res = if is_dir {
            mount(
                Some("tmpfs"),
                fd_path(&fd).as_str(),
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

/// Make paths read-only, submounts included.
fn readonly_paths(paths: &[String]) -> Result<()> {
    if paths.is_empty() {
        return Ok(());
    }
    let root = open_dir(Path::new("/"))?;
    for p in paths {
        let fd = match open_in_root(
            root.as_fd(),
            Path::new(p),
            OFlag::O_PATH | OFlag::O_NOFOLLOW,
            ResolveFlag::empty(),
        ) {
            Ok(fd) => fd,
            Err(nix::errno::Errno::ENOENT) => continue,
            Err(e) => return Err(Error::os(format!("open read-only path {p}"), e)),
        };
        mount(
            Some(fd_path(&fd).as_str()),
            fd_path(&fd).as_str(),
            NONE,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            NONE,
        )
        .ctx(|| format!("bind {p} onto itself"))?;
        let top = reopen(root.as_fd(), Path::new(p))?;
        crate::sys::mount_setattr_recursive(top.as_fd(), crate::mountopts::attr::RDONLY, 0)
            .ctx(|| format!("make {p} read-only"))?;
    }
    Ok(())
}

/// Write `linux.sysctl` through the container's verified /proc.
pub fn apply_sysctls(spec: &Spec) -> Result<()> {
    let Some(sysctls) = spec.linux().as_ref().and_then(|l| l.sysctl().as_ref()) else {
        return Ok(());
    };
    if sysctls.is_empty() {
        return Ok(());
    }
    let proc = verified_proc()?;
    for (name, value) in sysctls {
        let rel = format!("sys/{}", name.replace('.', "/"));
        proc.write(&rel, value.as_bytes(), true)
            .map_err(|e| Error::config(format!("linux.sysctl.{name}"), e))?;
    }
    Ok(())
}
