//! `checkpoint`: a running container saved to an image directory by CRIU, then removed
//! unless `--leave-running` or `--pre-dump`. A failed dump leaves the container running
//! and untouched (criu resumes its processes).

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use crate::lifecycle::criu_plan::{self, Side};
use crate::lifecycle::state::StateRoot;
use crate::lifecycle::{delete, status};
use crate::support::criu::{rpc, Criu, Fds};
use crate::support::error::{Context, Error, Result};

pub struct CheckpointOptions<'a> {
    pub id: &'a str,
    pub criu: &'a Path,
    pub shared: criu_plan::Shared,
    pub parent_path: Option<String>,
    pub leave_running: bool,
    pub pre_dump: bool,
    /// `--page-server ADDRESS:PORT`.
    pub page_server: Option<(String, i32)>,
    /// `--status-fd` (with `--lazy-pages`): written a \0 once the lazy-pages server is up.
    pub status_fd: Option<i32>,
}

pub fn checkpoint(root: &StateRoot, o: &CheckpointOptions) -> Result<()> {
    let (dir, state) = root.open_container(o.id)?;
    let st = status::status_locked(&dir, &state);
    if matches!(st, status::Status::Created | status::Status::Stopped) {
        return Err(Error::msg(format!(
            "Container cannot be checkpointed in {} state",
            st.as_str()
        )));
    }
    let spec = crate::spec::parse(&state.config_bytes(&dir.path)?)?;
    let shared = &o.shared;
    if let Some(parent) = &o.parent_path {
        criu_plan::parent_path(&shared.image_path, parent)?;
    }
    let mut status_fd = o.status_fd.map(check_status_fd).transpose()?;
    let criu_version = Criu {
        binary: o.criu,
        log: None,
    }
    .version()?;
    let images = open_dir_made(&shared.image_path)?;
    let work = shared.work_path.as_deref().map(open_dir_made).transpose()?;
    let log = shared
        .work_path
        .as_deref()
        .unwrap_or(&shared.image_path)
        .join("dump.log");

    let mut opts = criu_plan::common_opts(
        shared,
        &spec,
        images.as_raw_fd(),
        work.as_ref().map(|w| w.as_raw_fd()),
        "dump.log",
    );
    opts.set_root(state.rootfs.display().to_string());
    opts.set_pid(state.pid);
    opts.set_leave_running(o.leave_running);
    // Joined network and pid namespaces stay outside the image.
    for (t, path, key) in criu_plan::external_namespaces(&spec, criu_version) {
        let ino = std::fs::metadata(&path)
            .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
            .map_err(|e| Error::os(format!("stat {}", path.display()), e))?;
        opts.external
            .push(format!("{}[{ino}]:{key}", criu_plan::criu_ns_name(t)));
    }
    // criu freezes with the cgroup freezer rather than ptrace when given one.
    if let Some(dir) = state.cgroup.freezer_dir() {
        opts.set_freeze_cgroup(dir.display().to_string());
    }
    if let Some((address, port)) = &o.page_server {
        let mut ps = rpc::Criu_page_server_info::new();
        ps.set_address(address.clone());
        ps.set_port(*port);
        opts.ps = protobuf::MessageField::some(ps);
    }
    if let Some(parent) = &o.parent_path {
        opts.set_parent_img(parent.clone());
        opts.set_track_mem(true);
    }
    if o.pre_dump {
        check_feature(o.criu, &opts, |f| f.set_mem_track(true), |f| f.mem_track())?;
    }
    if shared.lazy_pages {
        check_feature(
            o.criu,
            &opts,
            |f| f.set_lazy_pages(true),
            |f| f.lazy_pages(),
        )?;
    }
    if !o.pre_dump {
        let in_root = |p: &Path| in_container(&state.rootfs, p);
        for (key, val) in
            criu_plan::external_mounts(&spec, &state.bundle, &state.cgroup, Side::Dump, &in_root)
        {
            opts.ext_mnt.push(criu_plan::ext_mount(key, val));
        }
        for path in masked_files(&spec, state.pid) {
            opts.ext_mnt
                .push(criu_plan::ext_mount(path, "/dev/null".into()));
        }
        write_descriptors(&shared.image_path, state.pid)?;
    }
    let mut req = rpc::Criu_req::new();
    req.set_type(if o.pre_dump {
        rpc::Criu_req_type::PRE_DUMP
    } else {
        rpc::Criu_req_type::DUMP
    });
    req.opts = protobuf::MessageField::some(opts);
    let criu = Criu {
        binary: o.criu,
        log: Some(log),
    };
    let fds = Fds {
        inherit_stdio: false,
        extra: Vec::new(),
    };
    criu.call(&req, fds, &mut |n| {
        if n.script == "status-ready" {
            // Written once and closed, as runc does.
            if let Some(owned) = status_fd.take() {
                if let Err(e) = nix::unistd::write(&owned, &[0]) {
                    crate::support::logging::warn(&format!("can't write \\0 to status fd: {e}"));
                }
            }
        }
        Ok(())
    })?;
    crate::support::logging::debug(|| format!("checkpoint: {} dumped", o.id));
    if !(o.leave_running || o.pre_dump) {
        // criu has killed the processes; the container goes, as runc's does.
        delete::destroy(dir, &state)?;
    }
    Ok(())
}

/// The image (or work) directory, made if missing (0700, as runc), opened for criu, which
/// reaches it through /proc/<brig>/fd.
pub(crate) fn open_dir_made(path: &Path) -> Result<OwnedFd> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
    {
        Ok(()) => {}
        Err(e) => return Err(Error::os(format!("mkdir {}", path.display()), e)),
    }
    nix::fcntl::open(
        path,
        nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ctx(|| format!("open {}", path.display()))
}

/// A destination as the container sees it: symlinks in the rootfs followed inside it, as
/// criu names the mount point; lexically cleaned where the path does not resolve.
pub(crate) fn in_container(rootfs: &Path, dest: &Path) -> String {
    let resolved = (|| {
        let root = nix::fcntl::open(
            rootfs,
            nix::fcntl::OFlag::O_PATH
                | nix::fcntl::OFlag::O_DIRECTORY
                | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .ok()?;
        let fd = crate::init::rootfs::open_in_root(
            std::os::fd::AsFd::as_fd(&root),
            dest,
            nix::fcntl::OFlag::O_PATH,
            nix::fcntl::ResolveFlag::empty(),
        )
        .ok()?;
        let real = std::fs::read_link(crate::support::sys::fd_path(&fd)).ok()?;
        let rel = real.strip_prefix(rootfs).ok()?;
        Some(criu_plan::clean(&Path::new("/").join(rel)))
    })();
    resolved.unwrap_or_else(|| criu_plan::clean(dest))
}

/// Masked paths that are files in the running container: each is a bind of /dev/null.
fn masked_files(spec: &oci_spec::runtime::Spec, pid: i32) -> Vec<String> {
    let masked = spec
        .linux()
        .as_ref()
        .and_then(|l| l.masked_paths().as_ref());
    masked
        .into_iter()
        .flatten()
        .filter(|p| {
            std::fs::metadata(format!("/proc/{pid}/root/{}", p.trim_start_matches('/')))
                .is_ok_and(|m| !m.is_dir())
        })
        .cloned()
        .collect()
}

/// The init's stdio as it is now (pipes are handed back at restore): descriptors.json.
fn write_descriptors(images: &Path, pid: i32) -> Result<()> {
    let fds: Vec<String> = (0..3)
        .map(|fd| {
            std::fs::read_link(format!("/proc/{pid}/fd/{fd}"))
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| "/dev/null".into())
        })
        .collect();
    let json = serde_json::to_vec(&fds).map_err(|e| Error::msg(e.to_string()))?;
    crate::lifecycle::state::write_atomic(&images.join(criu_plan::DESCRIPTORS), &json, 0o600)
}

/// `--status-fd` must be an open fd brig can write; brig then owns it.
fn check_status_fd(fd: i32) -> Result<OwnedFd> {
    let owned = crate::support::sys::adopt_fd(fd)
        .map_err(|e| Error::os(format!("invalid --status-fd argument {fd}"), e))?;
    let flags = nix::fcntl::fcntl(&owned, nix::fcntl::FcntlArg::F_GETFL)
        .map_err(|e| Error::os(format!("invalid --status-fd argument {fd}"), e))?;
    if flags & (libc::O_WRONLY | libc::O_RDWR) == 0 {
        return Err(Error::msg(format!(
            "invalid --status-fd argument {fd}: not writable"
        )));
    }
    Ok(owned)
}

/// Ask criu whether it has a feature (memory tracking for pre-dump, lazy pages).
fn check_feature(
    binary: &Path,
    opts: &rpc::Criu_opts,
    want: impl Fn(&mut rpc::Criu_features),
    has: impl Fn(&rpc::Criu_features) -> bool,
) -> Result<()> {
    let mut features = rpc::Criu_features::new();
    want(&mut features);
    let mut req = rpc::Criu_req::new();
    req.set_type(rpc::Criu_req_type::FEATURE_CHECK);
    // criu before 2.12 crashes on a request without options.
    req.opts = protobuf::MessageField::some(opts.clone());
    req.features = protobuf::MessageField::some(features);
    let criu = Criu { binary, log: None };
    let fds = Fds {
        inherit_stdio: false,
        extra: Vec::new(),
    };
    let resp = criu
        .call(&req, fds, &mut |_| Ok(()))
        .map_err(|e| Error::msg(format!("CRIU feature check failed: {e}")))?;
    match resp.features.as_ref() {
        Some(f) if has(f) => Ok(()),
        _ => Err(Error::msg("CRIU is missing features")),
    }
}
