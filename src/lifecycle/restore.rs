//! `restore`: a container brought back from a checkpoint by CRIU. brig makes the state
//! directory and the cgroup (with the spec's limits) as `create` does, then criu restores
//! the process tree into them as brig's children (`rst_sibling`); the container is then
//! running. In the foreground brig waits for it and removes it afterwards, as `run` does.
//! A failed restore leaves nothing: no state, cgroup, mount or process.

use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;

use crate::cgroups;
use crate::init::namespaces::NamespacePlan;
use crate::lifecycle::checkpoint::{in_container, open_dir_made};
use crate::lifecycle::criu_plan::{self, Side};
use crate::lifecycle::state::{self, StateRoot};
use crate::lifecycle::status::{self, Status};
use crate::lifecycle::{console, create, delete, foreground};
use crate::spec::Bundle;
use crate::support::criu::{rpc, Criu, Fds};
use crate::support::error::{Context, Error, Result};
use crate::support::hooks;
use crate::support::proc::process_start_time;

pub struct RestoreOptions<'a> {
    pub id: &'a str,
    pub criu: &'a Path,
    pub shared: criu_plan::Shared,
    pub bundle: &'a Path,
    pub detach: bool,
    pub pid_file: Option<&'a Path>,
    pub console_socket: Option<&'a Path>,
    pub no_subreaper: bool,
    pub systemd_cgroup: bool,
    pub rootless: bool,
    pub lsm_profile: Option<&'a str>,
    pub lsm_mount_context: Option<&'a str>,
}

/// Ok holds the exit code: the container's in the foreground, 0 detached.
pub fn restore(root: &StateRoot, o: &RestoreOptions) -> Result<i32> {
    state::validate_id(o.id)?;
    // criu's root is a bind of the rootfs that only brig and criu see: a brig killed
    // midway leaves no mount on the host, and no state directory holds one.
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
        .ctx(|| "unshare the mount namespace")?;
    nix::mount::mount(
        None::<&str>,
        "/",
        None::<&str>,
        nix::mount::MsFlags::MS_REC | nix::mount::MsFlags::MS_SLAVE,
        None::<&str>,
    )
    .ctx(|| "make brig's mounts slaves of the host's")?;
    let bundle = Bundle::load(o.bundle)?;
    let spec = &bundle.spec;
    let shared = &o.shared;
    let images = nix::fcntl::open(
        &shared.image_path,
        nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ctx(|| format!("open the image directory {}", shared.image_path.display()))?;
    let descriptors: Vec<String> = {
        let path = shared.image_path.join(criu_plan::DESCRIPTORS);
        let bytes = std::fs::read(&path).ctx(|| format!("read {}", path.display()))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::msg(format!("{}: {e}", path.display())))?
    };
    let terminal = spec.process().as_ref().and_then(|p| p.terminal()) == Some(true);
    // runc's console rules; the master comes from criu, not from an init.
    let (to_socket, proxied) = console::console_sockets(terminal, o.detach, o.console_socket)?;
    let criu_version = Criu {
        binary: o.criu,
        log: None,
    }
    .version()?;
    if (o.lsm_profile.is_some() || o.lsm_mount_context.is_some()) && criu_version < 31600 {
        return Err(Error::msg(
            "--lsm-profile and --lsm-mount-context require at least CRIU 3.16",
        ));
    }
    let work = shared.work_path.as_deref().map(open_dir_made).transpose()?;
    let log = shared
        .work_path
        .as_deref()
        .unwrap_or(&shared.image_path)
        .join("restore.log");
    let forwarded = if o.detach {
        None
    } else {
        Some(foreground::prepare_foreground(!o.no_subreaper)?)
    };
    let linux = spec.linux().as_ref();
    let namespaces = NamespacePlan::from_spec(spec)?;
    let cgroup = create::new_cgroup(spec, o.id, o.systemd_cgroup, o.rootless)?;
    let mut saved = create::new_state(o.id, &bundle, cgroup.as_ref(), &namespaces);
    let dir = root.create(o.id, &saved)?;
    let criu_root = dir.path.join("criu-root");
    let mut sent_master = false;
    let new_netns =
        crate::support::oci::namespace(spec, oci_spec::runtime::LinuxNamespaceType::Network)
            .is_some_and(|n| n.path().is_none());
    let result = (|| -> Result<i32> {
        let found = cgroup.create(linux.and_then(|l| l.resources().as_ref()))?;
        if found.preexisting {
            create::note_preexisting_cgroup(&mut saved, found.pids);
            dir.save(&saved)?;
        }
        std::fs::create_dir(&criu_root).ctx(|| format!("mkdir {}", criu_root.display()))?;
        nix::mount::mount(
            Some(&bundle.rootfs),
            &criu_root,
            None::<&str>,
            nix::mount::MsFlags::MS_BIND | nix::mount::MsFlags::MS_REC,
            None::<&str>,
        )
        .ctx(|| format!("bind the rootfs to {}", criu_root.display()))?;
        prepare_mountpoints(spec, &bundle.dir, &bundle.rootfs)?;

        let mut opts = criu_plan::common_opts(
            shared,
            spec,
            images.as_raw_fd(),
            work.as_ref().map(|w| w.as_raw_fd()),
            "restore.log",
        );
        opts.set_evasive_devices(true);
        opts.set_rst_sibling(true);
        opts.set_root(criu_root.display().to_string());
        if let Some(p) = o.lsm_profile {
            opts.set_lsm_profile(p.to_string());
        }
        if let Some(c) = o.lsm_mount_context {
            opts.set_lsm_mount_context(c.to_string());
        }
        opts.join_ns = criu_plan::joined_namespaces(spec)?;
        // Joined network and pid namespaces are handed in as fds 4, 5 of criu.
        let mut ns_files = Vec::new();
        for (_, path, key) in criu_plan::external_namespaces(spec, criu_version) {
            let f = std::fs::File::open(&path).map_err(|e| {
                Error::msg(format!(
                    "Requested network namespace {} does not exist: {}",
                    path.display(),
                    crate::support::error::errno_text(&e)
                ))
            })?;
            let mut inherit = rpc::Inherit_fd::new();
            inherit.set_key(key.to_string());
            inherit.set_fd(4 + ns_files.len() as i32);
            opts.inherit_fd.push(inherit);
            ns_files.push(f);
        }
        let in_root = |p: &Path| in_container(&bundle.rootfs, p);
        let paths = cgroup.paths().clone();
        for (key, val) in
            criu_plan::external_mounts(spec, &bundle.dir, &paths, Side::Restore, &in_root)
        {
            opts.ext_mnt.push(criu_plan::ext_mount(key, val));
        }
        let masked = linux
            .and_then(|l| l.masked_paths().as_ref())
            .is_some_and(|m| !m.is_empty());
        if masked {
            opts.ext_mnt
                .push(criu_plan::ext_mount("/dev/null".into(), "/dev/null".into()));
        }
        for root in cgroup_roots(&paths) {
            opts.cg_root.push(root);
        }
        for (key, fd) in criu_plan::inherited_stdio(&descriptors) {
            let mut inherit = rpc::Inherit_fd::new();
            inherit.set_key(key);
            inherit.set_fd(fd);
            opts.inherit_fd.push(inherit);
        }
        let mut req = rpc::Criu_req::new();
        req.set_type(rpc::Criu_req_type::RESTORE);
        req.opts = protobuf::MessageField::some(opts);

        let criu = Criu {
            binary: o.criu,
            log: Some(log.clone()),
        };
        let fds = Fds {
            inherit_stdio: true,
            extra: ns_files.iter().map(|f| f.as_fd()).collect(),
        };
        // criu restores the tree into its own cgroup: the container's.
        let mut place = |pid: i32| cgroup.add(pid);
        let mut on_notify = |n: crate::support::criu::Notify| -> Result<()> {
            match n.script.as_str() {
                "setup-namespaces" => {
                    // criu restores into an empty network namespace (empty_ns, as runc
                    // asks): its loopback comes up as `create` brings it up, before the
                    // sockets on it are restored.
                    if new_netns {
                        loopback_up(n.pid)?;
                    }
                    let json = status::hook_state_json(&saved, Status::Creating, n.pid);
                    for kind in [hooks::Kind::Prestart, hooks::Kind::CreateRuntime] {
                        hooks::run(kind, kind.of(spec), &json, Some(&bundle.dir))?;
                    }
                }
                "post-restore" => {
                    // Saved at once: from here `delete` finds and kills the restored tree.
                    saved.pid = n.pid;
                    saved.pid_start = process_start_time(n.pid)
                        .ok_or_else(|| Error::msg("the restored init exited during restore"))?;
                    dir.save(&saved)?;
                }
                "orphan-pts-master" => {
                    let fd = n.fd.ok_or_else(|| Error::msg("criu sent no pty master"))?;
                    let sock = to_socket.as_ref().ok_or_else(|| {
                        Error::msg("criu sent a pty master to a container without a terminal")
                    })?;
                    crate::init::console::send_master(sock.as_fd(), &fd)?;
                    sent_master = true;
                }
                _ => {}
            }
            Ok(())
        };
        let resp = criu.call_placed(&req, fds, &mut place, &mut on_notify)?;
        let pid = resp.restore.as_ref().map(|r| r.pid()).unwrap_or(0);
        if saved.pid == 0 {
            if pid <= 0 {
                return Err(Error::msg("criu restored no process"));
            }
            saved.pid = pid;
            saved.pid_start = process_start_time(pid)
                .ok_or_else(|| Error::msg("the restored init exited during restore"))?;
        }
        if terminal && !sent_master {
            return Err(Error::msg(
                "the container has a terminal but criu sent no pty master",
            ));
        }
        let (secs, nanos) = crate::support::clock::now();
        saved.created = crate::support::clock::rfc3339_nano(secs, nanos);
        dir.save(&saved)?;
        if let Some(f) = o.pid_file {
            create::write_pid_file(f, saved.pid)?;
        }
        Ok(saved.pid)
    })();
    let _ = nix::mount::umount2(&criu_root, nix::mount::MntFlags::MNT_DETACH);
    let _ = std::fs::remove_dir(&criu_root);
    let pid = match result {
        Ok(pid) => pid,
        Err(e) => {
            if saved.pid != 0 {
                // The restored init leads its pid namespace: killing it ends the tree.
                let _ = crate::lifecycle::kill::kill_all_and_wait(&saved);
            }
            let _ = cgroup.destroy();
            let _ = dir.remove();
            return Err(e);
        }
    };
    crate::support::logging::debug(|| format!("restore: {} running as {pid}", o.id));
    let Some(forwarded) = forwarded else {
        return Ok(0);
    };
    // Other brig commands must be able to lock the container meanwhile.
    drop(dir);
    let code = match proxied {
        Some(c) => console::proxy(c, pid, &forwarded)?,
        None => foreground::wait_forwarding(pid, &forwarded)?,
    };
    let (dir, state) = root.open_container(o.id)?;
    delete::destroy(dir, &state)?;
    Ok(code)
}

/// Bring `lo` up in the network namespace of `pid`, from a thread of brig's (a network
/// namespace is per thread), so brig itself stays in its own.
fn loopback_up(pid: i32) -> Result<()> {
    let ns = crate::process::net_devices::hold_namespace(pid)?;
    std::thread::scope(|s| {
        s.spawn(|| {
            nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET)
                .ctx(|| "join the restored network namespace")?;
            crate::support::sys::set_interface_up(c"lo").ctx(|| "set the loopback interface up")
        })
        .join()
        .unwrap_or_else(|_| Err(Error::msg("bringing the loopback up panicked")))
    })
}

/// Where criu puts the restored tree in each hierarchy: the new container's cgroup (which
/// may differ from the one dumped, under a new id), relative to the hierarchy's root.
fn cgroup_roots(paths: &cgroups::CgroupPaths) -> Vec<rpc::Cgroup_root> {
    let mut out = Vec::new();
    for (name, dir) in &paths.dirs {
        let Some(mount) = paths.mounts.get(name) else {
            continue;
        };
        let Ok(rel) = dir.strip_prefix(mount) else {
            continue;
        };
        let mut root = rpc::Cgroup_root::new();
        // cgroup2 has no controller name: criu's default root.
        if name != "unified" {
            root.set_ctrl(name.clone());
        }
        root.set_path(Path::new("/").join(rel).display().to_string());
        out.push(root);
    }
    out
}

/// Mount points the restored mounts need in the rootfs, made as `create` would (a
/// checkpoint may be restored on a fresh copy of the image). Those under a tmpfs come back
/// with the tmpfs; cgroup mount points with /sys.
fn prepare_mountpoints(spec: &oci_spec::runtime::Spec, bundle: &Path, rootfs: &Path) -> Result<()> {
    let mounts: Vec<_> = spec.mounts().iter().flatten().collect();
    let tmpfs: Vec<&Path> = mounts
        .iter()
        .filter(|m| m.typ().as_deref() == Some("tmpfs"))
        .map(|m| m.destination().as_path())
        .collect();
    let root = nix::fcntl::open(
        rootfs,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ctx(|| format!("open the rootfs {}", rootfs.display()))?;
    for m in mounts {
        let dest = m.destination();
        let typ = m.typ().as_deref().unwrap_or("");
        if typ == "cgroup"
            || typ == "cgroup2"
            || tmpfs.iter().any(|t| dest != *t && dest.starts_with(t))
        {
            continue;
        }
        let is_file_bind =
            crate::init::rootfs::mountopts::parse(m.options().as_deref().unwrap_or_default())
                .is_ok_and(|o| o.is_bind())
                && m.source()
                    .as_ref()
                    .is_some_and(|s| bundle.join(s).is_file());
        if is_file_bind {
            crate::init::rootfs::create_file_in_root(root.as_fd(), dest)?;
        } else {
            crate::init::rootfs::mkdir_all_in_root(root.as_fd(), dest)?;
        }
    }
    Ok(())
}
