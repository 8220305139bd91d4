//! The container's root filesystem, set up inside its mount namespace in three calls from
//! the init: `mount_all` (propagation, the rootfs bound onto itself, the spec's mounts,
//! /dev, the cwd), `enter_root` (pivot_root or `--no-pivot`), `finalize` (read-only and
//! masked paths, a read-only root). One file per concern: `resolve` (paths kept inside
//! the root), `mounts`, `cgroupfs`, `devices`, `pivot`, `masked`, and the option parser
//! `mountopts` and `copyup` (tmpcopyup).
//!
//! Paths from config.json are resolved inside the rootfs with openat2(RESOLVE_IN_ROOT) and
//! mounts target the resulting fd through /proc/self/fd, so a symlink in the image can
//! never send a mount or a mkdir to the host (CVE-2021-30465, CVE-2024-45310).

mod cgroupfs;
pub mod copyup;
mod devices;
mod masked;
pub mod mountopts;
mod mounts;
mod pivot;
mod resolve;

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::mount::{mount, MsFlags};
use oci_spec::runtime::Spec;

use crate::cgroups::CgroupPaths;
use crate::support::error::{Context, Result};

pub use devices::bind_console;
use devices::{create_default_devices, create_spec_devices};
pub use devices::{DEFAULT_DEVICES, DEFAULT_LINKS};
use masked::{mask_paths, readonly_paths};
use mounts::{mount_entry, mounts_dev_tmpfs};
pub use pivot::check_no_pivot;
use pivot::{make_parent_mount_private, move_root, pivot_root};
pub use resolve::{create_file_in_root, mkdir_all_in_root, open_in_root};
use resolve::{open_dir, remount};

const NONE: Option<&str> = None;

/// What the root filesystem set-up needs, as plain values the init hands over.
pub struct Rootfs<'a> {
    pub spec: &'a Spec,
    /// The root filesystem on the host: absolute, symlink-free.
    pub path: &'a Path,
    /// The bundle, against which relative bind sources are resolved.
    pub bundle: &'a Path,
    pub no_pivot: bool,
    /// The container has a cgroup namespace of its own: hierarchies are mounted fresh.
    pub cgroup_ns: bool,
    /// The init is in a user namespace: device nodes are bound from the host, not made.
    pub user_ns: bool,
    pub cgroup: &'a CgroupPaths,
    /// Idmapped mounts prepared on the host: the index in `mounts` and the detached tree.
    pub idmapped: &'a [(usize, OwnedFd)],
    /// Bind sources opened on the host (before a new user namespace): index and O_PATH fd.
    pub bind_sources: &'a [(usize, OwnedFd)],
    /// Where the rootfs fd points, read once for every mount's destination check.
    pub root_link: std::cell::OnceCell<Option<std::path::PathBuf>>,
}

/// Mount everything inside the rootfs, still below the old root (`enter_root` and
/// `finalize` complete it).
pub fn mount_all(fs: &Rootfs) -> Result<()> {
    let spec = fs.spec;
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
            make_parent_mount_private(fs.path, false)?
        }
        Some(p) if !everything_unshared.contains(&p) => make_parent_mount_private(fs.path, true)?,
        _ => {}
    }
    // pivot_root needs the new root to be a mount point.
    mount(
        Some(fs.path),
        fs.path,
        NONE,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        NONE,
    )
    .ctx(|| format!("bind mount the rootfs {} onto itself", fs.path.display()))?;
    let root = open_dir(fs.path)?;
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        mount_entry(fs, root.as_fd(), i, m)
            .map_err(|e| e.wrap(&format!("mounts[{i}] ({})", m.destination().display())))?;
    }
    if mounts_dev_tmpfs(spec) {
        create_default_devices(fs, root.as_fd())?;
    }
    create_spec_devices(fs, root.as_fd())?;
    // After the mounts, as runc: a cwd inside a volume or tmpfs is made there, not in the
    // directory the mount then covers.
    let cwd = spec
        .process()
        .as_ref()
        .map(|p| p.cwd().clone())
        .unwrap_or_default();
    if resolve::relative(&cwd) == Path::new(".") {
        // The root itself: there already.
        return Ok(());
    }
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
pub fn enter_root(fs: &Rootfs) -> Result<()> {
    if fs.no_pivot {
        move_root(fs.path)?;
    } else {
        pivot_root(fs.path)?;
    }
    let propagation = fs
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().as_deref())
        .and_then(mountopts::propagation);
    if let Some(p) = propagation {
        mount(NONE, "/", NONE, p, NONE).ctx(|| "set rootfsPropagation on /")?;
    }
    if mounts_dev_tmpfs(fs.spec) {
        devices::reopen_dev_null()?;
    }
    Ok(())
}

/// After sysctls are written: read-only tmpfs mounts, read-only and masked paths, then a
/// read-only root.
pub fn finalize(spec: &Spec) -> Result<()> {
    let root = resolve::LazyRoot::default();
    readonly_tmpfs(&root, spec)?;
    if let Some(linux) = spec.linux() {
        readonly_paths(&root, linux.readonly_paths().as_deref().unwrap_or_default())?;
        mask_paths(&root, linux.masked_paths().as_deref().unwrap_or_default())?;
    }
    if spec.root().as_ref().and_then(|r| r.readonly()) == Some(true) {
        remount(Path::new("/"), MsFlags::MS_RDONLY)
            .map_err(|e| e.wrap("make the root read-only"))?;
    }
    Ok(())
}

/// The tmpfs mounts asked read-only (a read-only /dev among them) were mounted writable so
/// that what goes under them could be made; now they are remounted read-only.
fn readonly_tmpfs(root: &resolve::LazyRoot, spec: &Spec) -> Result<()> {
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let opts = mountopts::parse(m.options().as_deref().unwrap_or_default())
            .map_err(crate::support::error::Error::msg)?;
        if m.typ().as_deref() != Some("tmpfs")
            || opts.is_bind()
            || !opts.flags.contains(MsFlags::MS_RDONLY)
        {
            continue;
        }
        let top = resolve::reopen(root.get()?, m.destination())?;
        remount(
            Path::new(&resolve::mount_target(&top)),
            opts.flags - MsFlags::MS_REMOUNT,
        )
        .map_err(|e| {
            e.wrap(&format!(
                "mounts[{i}] ({}): make it read-only",
                m.destination().display()
            ))
        })?;
    }
    Ok(())
}
