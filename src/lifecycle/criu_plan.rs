//! What CRIU is told about a container, from its config.json: which mounts come from the
//! host (external mounts, named by their place in the container at dump and bound from
//! their source at restore), which namespaces were joined by path (external at dump,
//! handed in at restore), and the options both commands share. Pure where it can be, so
//! the plan is tested without criu.

use std::path::{Component, Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::cgroups::CgroupPaths;
use crate::support::criu::rpc;
use crate::support::error::{Error, Result};

/// The flags `checkpoint` and `restore` share.
#[derive(Clone, Debug, Default)]
pub struct Shared {
    pub image_path: PathBuf,
    pub work_path: Option<PathBuf>,
    pub tcp_established: bool,
    pub ext_unix_sk: bool,
    pub shell_job: bool,
    pub file_locks: bool,
    pub lazy_pages: bool,
    pub auto_dedup: bool,
    pub manage_cgroups_mode: Option<rpc::Criu_cg_mode>,
    /// `--empty-ns`: always the network (brig configures no network devices), plus those
    /// named.
    pub empty_ns: u32,
}

/// `--manage-cgroups-mode`: runc's words, and `ignore` (runc 1.2).
pub fn cgroups_mode(name: &str) -> Result<rpc::Criu_cg_mode> {
    Ok(match name {
        "soft" => rpc::Criu_cg_mode::SOFT,
        "full" => rpc::Criu_cg_mode::FULL,
        "strict" => rpc::Criu_cg_mode::STRICT,
        "ignore" => rpc::Criu_cg_mode::IGNORE,
        _ => return Err(Error::msg("Invalid manage cgroups mode")),
    })
}

/// `--empty-ns`: the network is always in the mask, as runc has it; only `network` may be
/// named.
pub fn empty_ns_mask(names: &[String]) -> Result<u32> {
    for n in names {
        if n != "network" {
            return Err(Error::msg(format!("namespace {n:?} is not supported")));
        }
    }
    Ok(libc::CLONE_NEWNET as u32)
}

/// The image directory: `--image-path`, else ./checkpoint, as runc.
pub fn image_path(given: Option<&str>) -> Result<PathBuf> {
    let p = match given.filter(|p| !p.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => std::env::current_dir()
            .map_err(|e| Error::os("getcwd", e))?
            .join("checkpoint"),
    };
    std::path::absolute(&p).map_err(|e| Error::os(format!("image path {}", p.display()), e))
}

/// `--parent-path`: relative to the image directory, and an existing directory there.
pub fn parent_path(image: &Path, parent: &str) -> Result<()> {
    if Path::new(parent).is_absolute() {
        return Err(Error::msg("--parent-path must be relative"));
    }
    // Joined as Go's filepath.Join does, lexically: the image directory may not exist yet.
    let real = PathBuf::from(clean(&image.join(parent)));
    match std::fs::metadata(&real) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Error::msg(format!(
            "invalid --parent-path: {}: not a directory",
            real.display()
        ))),
        Err(e) => Err(Error::msg(format!(
            "invalid --parent-path: {}: {}",
            real.display(),
            crate::support::error::errno_text(&e)
        ))),
    }
}

/// The CRIU configuration file runc names: the `org.criu.config` annotation ("" for
/// none), else /etc/criu/runc.conf (criu ignores a file that does not exist). brig reads
/// runc's file, so a host set up for runc's checkpoints works the same.
pub fn config_file(spec: &Spec) -> Option<String> {
    match spec
        .annotations()
        .as_ref()
        .and_then(|a| a.get("org.criu.config"))
    {
        Some(f) if f.is_empty() => None,
        Some(f) => Some(f.clone()),
        None => Some("/etc/criu/runc.conf".to_string()),
    }
}

/// Which end of an external mount criu is given.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Side {
    /// At dump: the mount at `key` is external, named `key`.
    Dump,
    /// At restore: the mount named `key` is bound from `val` on the host.
    Restore,
}

/// The devices brig makes in a fresh /dev (runc's list): as runc does, each is named an
/// external mount, which matters where it is a bind of the host's node (user namespaces).
const DEFAULT_DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
];

/// The external mounts: bind mounts, the container's cgroup directories bound without a
/// cgroup namespace, and device nodes. `in_root` resolves a destination as the container
/// sees it (symlinks followed inside the rootfs). Masked files are added by the caller:
/// at dump only those that exist, at restore the one /dev/null they all come from.
pub fn external_mounts(
    spec: &Spec,
    bundle: &Path,
    cgroup: &CgroupPaths,
    side: Side,
    in_root: &dyn Fn(&Path) -> String,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut add = |key: String, source: &Path| {
        let val = match side {
            Side::Dump => key.clone(),
            Side::Restore => source.display().to_string(),
        };
        out.push((key, val));
    };
    let cgroup_ns = crate::support::oci::has_namespace(spec, LinuxNamespaceType::Cgroup);
    for m in spec.mounts().iter().flatten() {
        let typ = m.typ().as_deref().unwrap_or("");
        let opts =
            crate::init::rootfs::mountopts::parse(m.options().as_deref().unwrap_or_default());
        let is_bind = typ == "bind" || opts.as_ref().is_ok_and(|o| o.is_bind());
        let dest = in_root(m.destination());
        if is_bind {
            let source = m.source().clone().unwrap_or_default();
            let source = if source.is_absolute() {
                source
            } else {
                bundle.join(source)
            };
            add(dest, &source);
        } else if (typ == "cgroup" || typ == "cgroup2") && !cgroup_ns {
            // Without a cgroup namespace brig binds the container's own cgroup directories.
            if cgroup.layout == "v2" {
                if let Some(dir) = cgroup.dirs.get("unified") {
                    add(dest, dir);
                }
            } else {
                for (name, dir) in &cgroup.dirs {
                    if let Some(base) = cgroup.mounts.get(name).and_then(|m| m.file_name()) {
                        add(format!("{dest}/{}", base.to_string_lossy()), dir);
                    }
                }
            }
        }
    }
    let devices = spec
        .linux()
        .as_ref()
        .and_then(|l| l.devices().as_ref())
        .into_iter()
        .flatten()
        .map(|d| d.path().clone());
    for path in DEFAULT_DEVICES.iter().map(PathBuf::from).chain(devices) {
        add(in_root(&path), &path);
    }
    out
}

/// A destination cleaned as criu names mount points: absolute, no `.`, `..` or trailing
/// slash (used where the rootfs cannot resolve it).
pub fn clean(dest: &Path) -> String {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for c in dest.components() {
        match c {
            Component::Normal(p) => parts.push(p),
            Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    let mut s = String::from("/");
    s.push_str(
        &parts
            .iter()
            .map(|p| p.to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
    );
    s
}

/// Namespaces joined by path that criu must treat as outside the container: the network
/// and pid ones, as runc does (`extRootNetNS`, `extRootPidNS`), where criu can (3.11 for
/// the network, 3.15 for pid; `criu_version` as `Criu::version` numbers it).
pub fn external_namespaces(
    spec: &Spec,
    criu_version: u32,
) -> Vec<(LinuxNamespaceType, PathBuf, &'static str)> {
    [
        (LinuxNamespaceType::Network, "extRootNetNS", 31100),
        (LinuxNamespaceType::Pid, "extRootPidNS", 31500),
    ]
    .into_iter()
    .filter(|&(_, _, min)| criu_version >= min)
    .filter_map(|(t, key, _)| {
        let path = crate::support::oci::namespace(spec, t)?.path().clone()?;
        Some((t, path, key))
    })
    .collect()
}

/// The options a dump and a restore share, as runc sets them: the image and work
/// directories (fds criu opens through /proc/<brig>/fd), the log, cgroups managed,
/// notifications on, the orphan pty master sent back, the flags both commands take, and
/// the config file.
pub fn common_opts(
    shared: &Shared,
    spec: &Spec,
    images: std::os::fd::RawFd,
    work: Option<std::os::fd::RawFd>,
    log_file: &str,
) -> rpc::Criu_opts {
    let mut opts = rpc::Criu_opts::new();
    opts.set_images_dir_fd(images);
    if let Some(w) = work {
        opts.set_work_dir_fd(w);
    }
    opts.set_log_level(4);
    opts.set_log_file(log_file.into());
    opts.set_manage_cgroups(true);
    opts.set_notify_scripts(true);
    opts.set_shell_job(shared.shell_job);
    opts.set_tcp_established(shared.tcp_established);
    opts.set_ext_unix_sk(shared.ext_unix_sk);
    opts.set_file_locks(shared.file_locks);
    opts.set_empty_ns(shared.empty_ns);
    opts.set_orphan_pts_master(true);
    opts.set_auto_dedup(shared.auto_dedup);
    opts.set_lazy_pages(shared.lazy_pages);
    if let Some(mode) = shared.manage_cgroups_mode {
        opts.set_manage_cgroups_mode(mode);
    }
    if let Some(f) = config_file(spec) {
        opts.set_config_file(f);
    }
    opts
}

/// One external mount for criu: the mount at (or named) `key`, and `val`.
pub fn ext_mount(key: String, val: String) -> rpc::Ext_mount_map {
    let mut m = rpc::Ext_mount_map::new();
    m.set_key(key);
    m.set_val(val);
    m
}

/// criu's name of a namespace in `--external net[INODE]:KEY`.
pub fn criu_ns_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Network => "net",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Mount => "mnt",
        other => crate::support::oci::ns_name(other),
    }
}

/// Namespaces other than the network and pid ones joined by path: criu joins them itself
/// at restore (`join_ns`). A joined cgroup namespace criu cannot handle.
pub fn joined_namespaces(spec: &Spec) -> Result<Vec<rpc::Join_namespace>> {
    let mut out = Vec::new();
    let all = spec.linux().as_ref().and_then(|l| l.namespaces().as_ref());
    for ns in all.into_iter().flatten() {
        let Some(path) = ns.path() else { continue };
        match ns.typ() {
            LinuxNamespaceType::Network | LinuxNamespaceType::Pid => {}
            LinuxNamespaceType::Cgroup => {
                return Err(Error::msg(format!(
                    "Do not know how to handle namespace {}",
                    crate::support::oci::ns_name(ns.typ())
                )))
            }
            t => {
                let mut j = rpc::Join_namespace::new();
                j.set_ns(criu_ns_name(t).to_string());
                j.set_ns_file(path.display().to_string());
                out.push(j);
            }
        }
    }
    Ok(out)
}

/// descriptors.json: the link targets of the init's fds 0-2 at dump ("pipe:[123]",
/// "/dev/null", …), as runc writes it.
pub const DESCRIPTORS: &str = "descriptors.json";

/// At restore: the init's stdio that were pipes are handed to criu as brig's own fds of
/// the same number (criu's stdio are brig's), as runc does.
pub fn inherited_stdio(descriptors: &[String]) -> Vec<(String, i32)> {
    descriptors
        .iter()
        .enumerate()
        .filter(|(_, d)| d.contains("pipe:"))
        .map(|(i, d)| (d.clone(), i as i32))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: serde_json::Value) -> Spec {
        serde_json::from_value(json).unwrap()
    }

    fn cgroups() -> CgroupPaths {
        let mut c = CgroupPaths {
            layout: "v1".into(),
            ..Default::default()
        };
        c.dirs
            .insert("memory".into(), "/sys/fs/cgroup/memory/ct".into());
        c.mounts
            .insert("memory".into(), "/sys/fs/cgroup/memory".into());
        c.dirs
            .insert("cpu,cpuacct".into(), "/sys/fs/cgroup/cpu,cpuacct/ct".into());
        c.mounts
            .insert("cpu,cpuacct".into(), "/sys/fs/cgroup/cpu,cpuacct".into());
        c
    }

    fn base(extra_ns: serde_json::Value) -> Spec {
        spec(serde_json::json!({
            "ociVersion": "1.0.2",
            "root": {"path": "rootfs"},
            "mounts": [
                {"destination": "/proc", "type": "proc", "source": "proc"},
                {"destination": "/data/", "type": "none", "source": "vol", "options": ["rbind", "ro"]},
                {"destination": "/etc/hosts", "type": "bind", "source": "/srv/hosts"},
                {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup"}
            ],
            "linux": {
                "namespaces": extra_ns,
                "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]
            }
        }))
    }

    fn lexical(p: &Path) -> String {
        clean(p)
    }

    #[test]
    fn binds_are_named_by_their_place_at_dump_and_bound_from_their_source_at_restore() {
        let s = base(serde_json::json!([{"type": "mount"}]));
        let dump = external_mounts(&s, Path::new("/b"), &cgroups(), Side::Dump, &lexical);
        let restore = external_mounts(&s, Path::new("/b"), &cgroups(), Side::Restore, &lexical);
        let get = |v: &[(String, String)], k: &str| {
            v.iter()
                .find(|(key, _)| key == k)
                .map(|(_, val)| val.clone())
        };
        assert_eq!(get(&dump, "/data").as_deref(), Some("/data"));
        assert_eq!(get(&restore, "/data").as_deref(), Some("/b/vol"));
        assert_eq!(get(&restore, "/etc/hosts").as_deref(), Some("/srv/hosts"));
        // v1 without a cgroup namespace: each hierarchy is a bind of the container's dir.
        assert_eq!(
            get(&restore, "/sys/fs/cgroup/cpu,cpuacct").as_deref(),
            Some("/sys/fs/cgroup/cpu,cpuacct/ct")
        );
        assert_eq!(
            get(&dump, "/sys/fs/cgroup/memory").as_deref(),
            Some("/sys/fs/cgroup/memory")
        );
        assert_eq!(get(&restore, "/dev/null").as_deref(), Some("/dev/null"));
        assert_eq!(get(&restore, "/dev/fuse").as_deref(), Some("/dev/fuse"));
        assert!(
            get(&dump, "/proc").is_none(),
            "proc is criu's to dump: {dump:?}"
        );
    }

    #[test]
    fn a_cgroup_namespace_makes_the_cgroup_mount_criu_s_own() {
        let s = base(serde_json::json!([{"type": "mount"}, {"type": "cgroup"}]));
        let dump = external_mounts(&s, Path::new("/b"), &cgroups(), Side::Dump, &lexical);
        assert!(
            !dump.iter().any(|(k, _)| k.starts_with("/sys/fs/cgroup")),
            "{dump:?}"
        );
        let mut v2 = CgroupPaths {
            layout: "v2".into(),
            ..Default::default()
        };
        v2.dirs.insert("unified".into(), "/sys/fs/cgroup/ct".into());
        let s = base(serde_json::json!([{"type": "mount"}]));
        let restore = external_mounts(&s, Path::new("/b"), &v2, Side::Restore, &lexical);
        assert!(restore.contains(&("/sys/fs/cgroup".into(), "/sys/fs/cgroup/ct".into())));
    }

    #[test]
    fn namespaces_joined_by_path_are_external_or_joined_by_criu() {
        let s = base(serde_json::json!([
            {"type": "network", "path": "/run/netns/x"},
            {"type": "uts", "path": "/proc/1/ns/uts"},
            {"type": "pid"}
        ]));
        let ext = external_namespaces(&s, 31701);
        assert!(
            external_namespaces(&s, 31000).is_empty(),
            "criu before 3.11"
        );
        assert_eq!(ext.len(), 1);
        assert_eq!(ext[0].1, PathBuf::from("/run/netns/x"));
        assert_eq!(ext[0].2, "extRootNetNS");
        let joined = joined_namespaces(&s).unwrap();
        assert_eq!(joined.len(), 1);
        assert_eq!(joined[0].ns(), "uts");
        let s = base(serde_json::json!([{"type": "cgroup", "path": "/proc/1/ns/cgroup"}]));
        assert!(joined_namespaces(&s).is_err());
    }

    #[test]
    fn flags_follow_runc() {
        assert_eq!(empty_ns_mask(&[]).unwrap(), libc::CLONE_NEWNET as u32);
        assert_eq!(
            empty_ns_mask(&["network".into()]).unwrap(),
            libc::CLONE_NEWNET as u32
        );
        assert!(empty_ns_mask(&["pid".into()]).is_err());
        assert_eq!(cgroups_mode("full").unwrap(), rpc::Criu_cg_mode::FULL);
        assert_eq!(
            cgroups_mode("bogus").unwrap_err().to_string(),
            "Invalid manage cgroups mode"
        );
        let dir = std::env::temp_dir().join(format!("brig-plan-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("pre")).unwrap();
        assert!(parent_path(&dir, "pre").is_ok());
        assert!(parent_path(&dir.join("final"), "../pre").is_ok());
        assert_eq!(
            parent_path(&dir, "/abs").unwrap_err().to_string(),
            "--parent-path must be relative"
        );
        assert!(parent_path(&dir, "none")
            .unwrap_err()
            .to_string()
            .starts_with("invalid --parent-path:"));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(clean(Path::new("/a/./b/../c/")), "/a/c");
        assert_eq!(
            inherited_stdio(&["pipe:[5]".into(), "/dev/null".into(), "pipe:[7]".into()]),
            vec![("pipe:[5]".into(), 0), ("pipe:[7]".into(), 2)]
        );
    }

    #[test]
    fn the_criu_config_file_is_runcs_unless_annotated() {
        let mut s = base(serde_json::json!([]));
        assert_eq!(config_file(&s).as_deref(), Some("/etc/criu/runc.conf"));
        s.set_annotations(Some(
            [("org.criu.config".to_string(), String::new())].into(),
        ));
        assert_eq!(config_file(&s), None);
        s.set_annotations(Some(
            [("org.criu.config".to_string(), "/etc/x.conf".to_string())].into(),
        ));
        assert_eq!(config_file(&s).as_deref(), Some("/etc/x.conf"));
    }
}
