//! The root filesystem: mounts and their options, /dev, pivot or not, read-only root,
//! masked and read-only paths, and symlinks that try to leave the rootfs.

mod common;

use common::*;
use serde_json::{json, Value};

fn stat<'a>(r: &'a Value, path: &str) -> &'a Value {
    &r["stat"][path]
}

#[test]
fn dev_has_the_default_devices_and_links() {
    let mut c = Ctx::new("fs-dev");
    let r = c.probe(&[
        "--stat",
        "/dev/null",
        "--stat",
        "/dev/zero",
        "--stat",
        "/dev/full",
        "--stat",
        "/dev/random",
        "--stat",
        "/dev/urandom",
        "--stat",
        "/dev/tty",
        "--stat",
        "/dev/ptmx",
        "--stat",
        "/dev/fd",
        "--stat",
        "/dev/stdin",
    ]);
    for (dev, major, minor) in [
        ("/dev/null", 1, 3),
        ("/dev/zero", 1, 5),
        ("/dev/full", 1, 7),
        ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9),
        ("/dev/tty", 5, 0),
    ] {
        let s = stat(&r, dev);
        assert_eq!(s["type"], "char", "{dev}: {s}");
        assert_eq!(
            (s["major"].as_i64(), s["minor"].as_i64()),
            (Some(major), Some(minor)),
            "{dev}"
        );
        assert_eq!(s["mode"], 0o666, "{dev}");
    }
    for link in ["/dev/ptmx", "/dev/fd", "/dev/stdin"] {
        assert_eq!(stat(&r, link)["type"], "symlink", "{link}");
    }
    for (point, fstype) in [
        ("/dev", "tmpfs"),
        ("/dev/pts", "devpts"),
        ("/dev/shm", "tmpfs"),
        ("/dev/mqueue", "mqueue"),
        ("/proc", "proc"),
        ("/sys", "sysfs"),
    ] {
        let m = mount(&r, point).unwrap_or_else(|| panic!("{point} not mounted"));
        assert_eq!(m["fstype"], fstype, "{point}");
    }
    c.assert_clean();
}

#[test]
fn spec_devices_are_created_with_their_owner_and_mode() {
    let mut c = Ctx::new("fs-devices");
    c.config["linux"]["devices"] = json!([{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o600, "uid": 1000, "gid": 1000}]);
    let r = c.probe(&["--stat", "/dev/fuse"]);
    let s = stat(&r, "/dev/fuse");
    assert_eq!(
        (s["type"].as_str(), s["major"].as_i64(), s["minor"].as_i64()),
        (Some("char"), Some(10), Some(229))
    );
    assert_eq!(
        (s["mode"].as_i64(), s["uid"].as_i64(), s["gid"].as_i64()),
        (Some(0o600), Some(1000), Some(1000))
    );
    c.assert_clean();
}

/// The default devices belong to root even on a /dev whose directory is set-group-ID to
/// another group (files made in it take that group): brig skips chown only for nodes
/// made with the right owner already.
#[test]
fn default_devices_belong_to_root_on_a_setgid_dev() {
    let mut c = Ctx::new("fs-dev-setgid");
    for m in c.config["mounts"].as_array_mut().unwrap() {
        if m["destination"] == "/dev" {
            m["options"] = json!(["nosuid", "strictatime", "mode=2755", "gid=5", "size=65536k"]);
        }
    }
    let r = c.probe(&[
        "--stat",
        "/dev",
        "--stat",
        "/dev/null",
        "--stat",
        "/dev/tty",
    ]);
    assert_eq!(stat(&r, "/dev")["gid"], 5, "{r}");
    for dev in ["/dev/null", "/dev/tty"] {
        let s = stat(&r, dev);
        assert_eq!(
            (s["uid"].as_i64(), s["gid"].as_i64()),
            (Some(0), Some(0)),
            "{dev}: {s}"
        );
    }
    c.assert_clean();
}

#[test]
fn the_root_is_read_only_when_asked() {
    let mut c = Ctx::new("fs-ro");
    let r = c.probe(&["--try-write", "/etc/passwd"]);
    assert_eq!(r["writable"]["/etc/passwd"]["error"], "EROFS");
    c.private_rootfs();
    c.config["root"]["readonly"] = json!(false);
    let r = c.probe(&["--try-write", "/etc/passwd"]);
    assert_eq!(r["writable"]["/etc/passwd"]["ok"], true);
    c.assert_clean();
}

/// A file among the read-only paths is read-only in the container (its detached copy is
/// made read-only before it is put over the file); a file beside it is not.
#[test]
fn a_read_only_path_that_is_a_file() {
    let mut c = Ctx::new("fs-ro-file");
    c.private_rootfs();
    c.config["root"]["readonly"] = json!(false);
    c.config["linux"]["readonlyPaths"] = json!(["/etc/passwd"]);
    let r = c.probe(&["--try-write", "/etc/passwd", "--try-write", "/etc/group"]);
    assert_eq!(r["writable"]["/etc/passwd"]["error"], "EROFS", "{r}");
    assert_eq!(r["writable"]["/etc/group"]["ok"], true, "{r}");
    c.assert_clean();
}

#[test]
fn masked_and_readonly_paths_are_applied() {
    let mut c = Ctx::new("fs-mask");
    let r = c.probe(&[
        "--stat",
        "/proc/timer_list",
        "--stat",
        "/proc/keys",
        "--try-read",
        "/proc/keys",
        "--stat",
        "/proc/acpi",
        "--try-write",
        "/proc/sys/kernel/hostname",
        "--try-write",
        "/proc/sysrq-trigger",
    ]);
    for masked in ["/proc/timer_list", "/proc/keys"] {
        let s = stat(&r, masked);
        assert_eq!(
            (s["type"].as_str(), s["major"].as_i64(), s["minor"].as_i64()),
            (Some("char"), Some(1), Some(3)),
            "{masked} is /dev/null"
        );
    }
    assert_eq!(r["readable"]["/proc/keys"]["content"], "");
    let fw = mount(&r, "/proc/acpi").expect("/proc/acpi masked by a tmpfs");
    assert_eq!(fw["fstype"], "tmpfs");
    assert!(fw["options"].as_str().unwrap().starts_with("ro"), "{fw}");
    assert_eq!(r["writable"]["/proc/sys/kernel/hostname"]["error"], "EROFS");
    for ro in ["/proc/irq", "/proc/bus", "/proc/fs", "/proc/sys"] {
        let m = mount(&r, ro).unwrap_or_else(|| panic!("{ro} is bind-mounted"));
        assert!(
            m["options"].as_str().unwrap().split(',').any(|o| o == "ro"),
            "{ro}: {m}"
        );
    }
    c.assert_clean();
}

#[test]
fn mounts_get_their_options() {
    let mut c = Ctx::new("fs-mounts");
    let host_dir = c.base.join("hostdir");
    std::fs::create_dir_all(&host_dir).unwrap();
    std::fs::write(host_dir.join("file"), "from the host").unwrap();
    let host_file = c.base.join("hostfile");
    std::fs::write(&host_file, "single file").unwrap();
    c.config["mounts"].as_array_mut().unwrap().extend([
        json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "size=1m", "mode=700", "shared"]}),
        json!({"destination": "/mnt", "type": "bind", "source": host_dir, "options": ["rbind", "ro"]}),
        json!({"destination": "/etc/os-release", "type": "none", "source": host_file, "options": ["bind"]}),
    ]);
    let r = c.probe(&[
        "--stat",
        "/tmp",
        "--try-read",
        "/mnt/file",
        "--try-write",
        "/mnt/file",
        "--try-read",
        "/etc/os-release",
    ]);
    let tmp = mount(&r, "/tmp").unwrap();
    assert_eq!(tmp["fstype"], "tmpfs");
    let opts = tmp["options"].as_str().unwrap();
    assert!(opts.contains("nosuid") && opts.contains("nodev"), "{opts}");
    assert!(
        tmp["super_options"]
            .as_str()
            .unwrap()
            .contains("size=1024k"),
        "{tmp}"
    );
    assert!(
        tmp["optional"].as_str().unwrap().contains("shared:"),
        "propagation option applied: {tmp}"
    );
    assert_eq!(stat(&r, "/tmp")["mode"], 0o700);
    assert_eq!(r["readable"]["/mnt/file"]["content"], "from the host");
    assert_eq!(r["writable"]["/mnt/file"]["error"], "EROFS");
    assert_eq!(r["readable"]["/etc/os-release"]["content"], "single file");
    assert!(
        std::fs::read_to_string(fixture_rootfs().join("etc/os-release"))
            .unwrap()
            .contains("brig test rootfs"),
        "the fixture is untouched"
    );
    c.assert_clean();
}

#[test]
fn the_containers_cgroup_is_mounted_read_only() {
    let mut c = Ctx::new("fs-cgroup");
    let r = c.probe(&[
        "--try-write",
        "/sys/fs/cgroup/pids/pids.max",
        "--stat",
        "/sys/fs/cgroup/memory",
    ]);
    assert_eq!(stat(&r, "/sys/fs/cgroup/memory")["type"], "dir");
    assert_eq!(
        r["writable"]["/sys/fs/cgroup/pids/pids.max"]["error"],
        "EROFS"
    );
    let pids = mount(&r, "/sys/fs/cgroup/pids").unwrap();
    assert_eq!(
        pids["root"],
        c.cgroup.as_str(),
        "the container sees its own cgroup: {pids}"
    );
    c.assert_clean();
}

#[test]
fn rootfs_propagation_is_applied_to_the_root() {
    let mut c = Ctx::new("fs-prop");
    c.config["linux"]["rootfsPropagation"] = json!("shared");
    let r = c.probe(&[]);
    let root = mount(&r, "/").unwrap();
    assert!(
        root["optional"].as_str().unwrap().contains("shared:"),
        "{root}"
    );
    c.assert_clean();
}

#[test]
fn no_pivot_still_jails_the_process() {
    let mut c = Ctx::new("fs-nopivot");
    c.set_args(&[
        "probe",
        "--stat",
        "/proc/keys",
        "--try-read",
        "/etc/os-release",
    ]);
    let out = c.run_with(&["--no-pivot"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(r["readable"]["/etc/os-release"]["content"]
        .as_str()
        .unwrap()
        .contains("brig test rootfs"));
    assert_eq!(stat(&r, "/proc/keys")["major"], 1, "masking still applies");
    let points: Vec<&str> = r["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mount_point"].as_str().unwrap())
        .collect();
    assert!(
        !points.iter().any(|p| p.starts_with("/work")),
        "host mounts are hidden: {points:?}"
    );
    c.assert_clean();
}

/// CVE-2021-30465. Checked against a broken brig: without RESOLVE_IN_ROOT in
/// `rootfs::open_in_root`, the tmpfs went onto the host path and the test failed.
#[test]
fn a_symlinked_mount_destination_stays_inside_the_rootfs() {
    let mut c = Ctx::new("fs-symlink-escape");
    let rootfs = c.private_rootfs();
    let outside = c.base.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    // /escape -> an absolute host path: resolved inside the rootfs, never on the host.
    std::os::unix::fs::symlink(&outside, rootfs.join("escape")).unwrap();
    c.config["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"destination": "/escape/sub", "type": "tmpfs", "source": "tmpfs"}));
    let r = c.probe(&[]);
    assert!(
        mount(&r, &format!("{}/sub", outside.display())).is_some(),
        "mounted inside the rootfs at the link's target path"
    );
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing was created on the host"
    );
    c.assert_clean();
}

/// CVE-2019-19921. Checked against a broken brig: without RESOLVE_NO_SYMLINKS in
/// `rootfs::mount_fs`, `verified_proc` (O_NOFOLLOW) still refused /proc, with another
/// message, and the test failed on it; with that O_NOFOLLOW removed too, create succeeded
/// and the test failed.
#[test]
fn a_rootfs_whose_proc_is_a_symlink_is_refused() {
    let mut c = Ctx::new("fs-proc-symlink");
    let rootfs = c.private_rootfs();
    std::fs::remove_dir(rootfs.join("proc")).unwrap();
    std::os::unix::fs::symlink("/tmp", rootfs.join("proc")).unwrap();
    c.expect_create_error("must be mounted on ordinary directory");
}

#[test]
fn mounting_over_proc_files_is_refused() {
    let mut c = Ctx::new("fs-proc-dest");
    c.config["mounts"].as_array_mut().unwrap().push(json!({"destination": "/proc/sys/kernel/core_pattern", "type": "bind", "source": "/etc/hostname", "options": ["bind"]}));
    c.expect_create_error("under /proc");
}

/// The /proc rule follows symlinks: a destination spelled outside /proc that leads under
/// it is judged where it lands. Checked against a broken brig: with
/// `mounts::destination` taking the symlinked path as plain (no check where it lands),
/// create succeeded and the test failed.
#[test]
fn a_destination_symlinked_under_proc_is_refused() {
    for (name, mount) in [
        (
            "fs-proc-link-dir",
            json!({"destination": "/pl/kernel", "type": "tmpfs", "source": "tmpfs"}),
        ),
        (
            "fs-proc-link-file",
            json!({"destination": "/pl/kernel/core_pattern", "type": "bind", "source": "/etc/hostname", "options": ["bind"]}),
        ),
    ] {
        let mut c = Ctx::new(name);
        let rootfs = c.private_rootfs();
        std::os::unix::fs::symlink("/proc/sys", rootfs.join("pl")).unwrap();
        c.config["mounts"].as_array_mut().unwrap().push(mount);
        c.expect_create_error("under /proc");
    }
}

/// A tmpfs mounted on the host for a test, lazily unmounted when dropped (also on failure).
struct HostTmpfs(std::path::PathBuf);

impl HostTmpfs {
    fn mount(at: &std::path::Path) -> HostTmpfs {
        std::fs::create_dir_all(at).unwrap();
        let ok = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                "size=1m",
                "brig-test",
                at.to_str().unwrap(),
            ])
            .status()
            .unwrap()
            .success();
        assert!(ok, "mount a tmpfs on {}", at.display());
        HostTmpfs(at.to_path_buf())
    }
}

impl Drop for HostTmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

fn mount_options(r: &Value, point: &str) -> Vec<String> {
    let m = mount(r, point).unwrap_or_else(|| panic!("{point} is not mounted"));
    m["options"]
        .as_str()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect()
}

#[test]
fn recursive_attributes_reach_submounts_and_clear_again() {
    let mut c = Ctx::new("fs-rattrs");
    c.private_rootfs();
    let vol = c.base.join("vol");
    let _tmpfs = HostTmpfs::mount(&vol.join("sub"));
    let all = [
        "rbind",
        "rnosuid",
        "rnodev",
        "rnoexec",
        "rnoatime",
        "rnodiratime",
        "rnosymfollow",
        "rro",
    ];
    let mut cleared: Vec<&str> = all.to_vec();
    cleared.extend([
        "rsuid",
        "rdev",
        "rexec",
        "ratime",
        "rdiratime",
        "rsymfollow",
        "rrw",
    ]);
    let mounts = c.config["mounts"].as_array_mut().unwrap();
    mounts.push(bind("/set", &vol, &all));
    mounts.push(bind("/cleared", &vol, &cleared));
    mounts.push(bind(
        "/strict",
        &vol,
        &["rbind", "rnoatime", "rstrictatime"],
    ));
    mounts.push(bind("/relatime", &vol, &["rbind", "rnoatime", "rrelatime"]));
    let r = c.probe(&[]);
    // What the recursive options set on /set and clear again on /cleared.
    const FLAGS: [&str; 7] = [
        "ro",
        "nosuid",
        "nodev",
        "noexec",
        "noatime",
        "nodiratime",
        "nosymfollow",
    ];
    let set = mount_options(&r, "/set/sub");
    for flag in FLAGS {
        assert!(
            set.contains(&flag.to_string()),
            "/set/sub lacks {flag}: {set:?}"
        );
    }
    let cleared = mount_options(&r, "/cleared/sub");
    for flag in FLAGS {
        assert!(
            !cleared.contains(&flag.to_string()),
            "/cleared/sub has {flag}: {cleared:?}"
        );
    }
    assert!(cleared.contains(&"rw".to_string()), "{cleared:?}");
    let strict = mount_options(&r, "/strict/sub");
    assert!(
        !strict.iter().any(|o| o == "noatime" || o == "relatime"),
        "{strict:?}"
    );
    assert!(mount_options(&r, "/relatime/sub").contains(&"relatime".to_string()));
    c.assert_clean();
}

fn bind(dest: &str, source: &std::path::Path, options: &[&str]) -> Value {
    json!({"destination": dest, "type": "bind", "source": source, "options": options})
}

#[test]
fn rro_is_read_only_all_the_way_down_and_ro_only_on_top() {
    let mut c = Ctx::new("fs-rro");
    c.private_rootfs(); // the mount points are made in the rootfs
    let vol = c.base.join("vol");
    let sub = vol.join("sub");
    std::fs::create_dir_all(&vol).unwrap();
    std::fs::write(vol.join("top"), "x").unwrap();
    let _tmpfs = HostTmpfs::mount(&sub);
    std::fs::write(sub.join("below"), "y").unwrap();
    let mounts = c.config["mounts"].as_array_mut().unwrap();
    mounts.push(bind("/rro", &vol, &["rbind", "rro"]));
    mounts.push(bind("/ro", &vol, &["rbind", "ro"]));
    mounts.push(bind("/rw", &vol, &["rbind", "rro", "rrw"]));
    let r = c.probe(&[
        "--try-write",
        "/rro/top",
        "--try-write",
        "/rro/sub/below",
        "--try-write",
        "/ro/top",
        "--try-write",
        "/ro/sub/below",
        "--try-write",
        "/rw/sub/below",
    ]);
    let w = &r["writable"];
    assert_eq!(w["/rro/top"]["error"], "EROFS", "{w}");
    assert_eq!(w["/rro/sub/below"]["error"], "EROFS", "{w}");
    // Plain `ro` only covers the top mount: the submount stays writable.
    assert_eq!(w["/ro/top"]["error"], "EROFS", "{w}");
    assert_eq!(w["/ro/sub/below"]["ok"], true, "{w}");
    assert_eq!(w["/rw/sub/below"]["ok"], true, "{w}");
    assert!(mount_options(&r, "/rro/sub").contains(&"ro".to_string()));
    // The host's own mounts are untouched.
    std::fs::write(sub.join("below"), "z").unwrap();
    std::fs::write(vol.join("top"), "z").unwrap();
    c.assert_clean();
}

#[test]
fn nosymfollow_and_rnosymfollow_refuse_symlinks() {
    let mut c = Ctx::new("fs-nosymfollow");
    c.private_rootfs(); // the mount points are made in the rootfs
    let vol = c.base.join("links");
    std::fs::create_dir_all(&vol).unwrap();
    std::fs::write(vol.join("target"), "hello").unwrap();
    std::os::unix::fs::symlink("target", vol.join("link")).unwrap();
    let sub = vol.join("sub");
    let _tmpfs = HostTmpfs::mount(&sub);
    std::fs::write(sub.join("target"), "below").unwrap();
    std::os::unix::fs::symlink("target", sub.join("link")).unwrap();
    let mounts = c.config["mounts"].as_array_mut().unwrap();
    mounts.push(bind("/plain", &vol, &["rbind"]));
    mounts.push(bind("/nosym", &vol, &["rbind", "nosymfollow"]));
    mounts.push(bind("/rnosym", &vol, &["rbind", "rnosymfollow"]));
    let r = c.probe(&[
        "--try-read",
        "/plain/link",
        "--try-read",
        "/nosym/link",
        "--try-read",
        "/nosym/sub/link",
        "--try-read",
        "/rnosym/link",
        "--try-read",
        "/rnosym/sub/link",
        "--try-read",
        "/rnosym/sub/target",
    ]);
    let rd = &r["readable"];
    assert_eq!(rd["/plain/link"]["content"], "hello", "{rd}");
    assert_eq!(rd["/nosym/link"]["error"], "ELOOP", "{rd}");
    // nosymfollow is a flag of the top mount only.
    assert_eq!(rd["/nosym/sub/link"]["content"], "below", "{rd}");
    assert_eq!(rd["/rnosym/link"]["error"], "ELOOP", "{rd}");
    assert_eq!(rd["/rnosym/sub/link"]["error"], "ELOOP", "{rd}");
    assert_eq!(rd["/rnosym/sub/target"]["content"], "below", "{rd}");
    c.assert_clean();
}

#[test]
fn idmapped_mount_maps_owners_both_ways() {
    use std::os::unix::fs::MetadataExt;
    let mut c = Ctx::new("fs-idmap");
    // The container's root (host uid 100000) cannot make mount points in a root-owned
    // rootfs: they exist beforehand.
    let rootfs = c.private_rootfs();
    for dir in ["data", "raw", "rdata"] {
        std::fs::create_dir(rootfs.join(dir)).unwrap();
    }
    let vol = c.base.join("idmapped");
    std::fs::create_dir_all(&vol).unwrap();
    std::fs::write(vol.join("owned"), "x").unwrap();
    std::os::unix::fs::chown(vol.join("owned"), Some(1234), Some(2345)).unwrap();
    // A submount: `ridmap` maps it too, `idmap` only the top.
    let _tmpfs = HostTmpfs::mount(&vol.join("sub"));
    std::fs::write(vol.join("sub/owned"), "y").unwrap();
    std::os::unix::fs::chown(vol.join("sub/owned"), Some(1234), Some(2345)).unwrap();
    let maps = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    c.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    c.config["linux"]["uidMappings"] = maps.clone();
    c.config["linux"]["gidMappings"] = maps.clone();
    let mounts = c.config["mounts"].as_array_mut().unwrap();
    let mut idmapped = bind("/data", &vol, &["rbind", "idmap"]);
    idmapped["uidMappings"] = maps.clone();
    idmapped["gidMappings"] = maps.clone();
    mounts.push(idmapped);
    let mut ridmapped = bind("/rdata", &vol, &["rbind", "ridmap"]);
    ridmapped["uidMappings"] = maps.clone();
    ridmapped["gidMappings"] = maps.clone();
    mounts.push(ridmapped);
    // The same directory without a mapping, for contrast.
    mounts.push(bind("/raw", &vol, &["rbind"]));
    let r = c.probe(&[
        "--create",
        "/data/new",
        "--create",
        "/raw/new-raw",
        "--stat",
        "/data/owned",
        "--stat",
        "/raw/owned",
        "--stat",
        "/data",
        "--stat",
        "/data/sub/owned",
        "--stat",
        "/rdata/sub/owned",
    ]);
    assert_eq!(r["uid"]["effective"], 0);
    // On disk, host root owns the directory: through the mapping the container's root
    // owns it and may create files; those land on disk as host root's.
    assert_eq!(r["created"]["/data/new"]["ok"], true, "{}", r["created"]);
    assert_eq!(r["created"]["/raw/new-raw"]["error"], "EACCES");
    assert_eq!((r["stat"]["/data"]["uid"].as_u64()), Some(0));
    let meta = std::fs::metadata(vol.join("new")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (0, 0));
    // A file of host uid 1234 shows as 1234 through the mapping, and as the overflow
    // id without it.
    let s = &r["stat"]["/data/owned"];
    assert_eq!(
        (s["uid"].as_u64(), s["gid"].as_u64()),
        (Some(1234), Some(2345))
    );
    assert_eq!(r["stat"]["/raw/owned"]["uid"], 65534);
    assert_eq!(r["stat"]["/rdata/sub/owned"]["uid"], 1234);
    assert_eq!(r["stat"]["/data/sub/owned"]["uid"], 65534);
    c.assert_clean();
}

#[test]
fn idmap_ranges_in_the_option_map_like_the_mount_fields() {
    use std::os::unix::fs::MetadataExt;
    let mut c = Ctx::new("fs-idmap-opt");
    let rootfs = c.private_rootfs();
    for dir in ["plain", "relative"] {
        std::fs::create_dir(rootfs.join(dir)).unwrap();
    }
    let vol = c.base.join("vol");
    std::fs::create_dir_all(&vol).unwrap();
    std::fs::write(vol.join("owned"), "x").unwrap();
    std::os::unix::fs::chown(vol.join("owned"), Some(1234), Some(2345)).unwrap();
    let maps = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    c.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    c.config["linux"]["uidMappings"] = maps.clone();
    c.config["linux"]["gidMappings"] = maps;
    let mounts = c.config["mounts"].as_array_mut().unwrap();
    // crun's spelling: host ids given, or (`@`) container ids taken through its mapping.
    mounts.push(bind(
        "/plain",
        &vol,
        &["rbind", "idmap=uids=0-100000-65536;gids=0-100000-65536"],
    ));
    mounts.push(bind(
        "/relative",
        &vol,
        &["rbind", "idmap=uids=@0-0-65536;gids=@0-0-65536"],
    ));
    let r = c.probe(&[
        "--create",
        "/plain/new",
        "--create",
        "/relative/new-rel",
        "--stat",
        "/plain/owned",
        "--stat",
        "/relative/owned",
    ]);
    for (created, stat) in [
        ("/plain/new", "/plain/owned"),
        ("/relative/new-rel", "/relative/owned"),
    ] {
        assert_eq!(r["created"][created]["ok"], true, "{}", r["created"]);
        let s = &r["stat"][stat];
        assert_eq!(
            (s["uid"].as_u64(), s["gid"].as_u64()),
            (Some(1234), Some(2345)),
            "{stat}"
        );
    }
    for file in ["new", "new-rel"] {
        let meta = std::fs::metadata(vol.join(file)).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (0, 0), "{file} on disk");
    }
    c.assert_clean();

    // A relative range outside the container's mapping, and a range given twice, are
    // refused by field before anything is made.
    let mut c = Ctx::new("fs-idmap-opt-bad");
    c.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    c.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 10}]);
    c.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 10}]);
    let n = c.config["mounts"].as_array().unwrap().len();
    c.config["mounts"].as_array_mut().unwrap().push(bind(
        "/x",
        &c.base.clone(),
        &["rbind", "idmap=uids=@0-5-10;gids=0-100000-10"],
    ));
    let err = c.expect_create_error(&format!("mounts[{n}].options"));
    assert!(
        err.contains("not all in one of the container's mappings"),
        "{err}"
    );
    c.config["mounts"][n] = bind("/x", &c.base.clone(), &["rbind", "idmap=uids=0-1"]);
    c.expect_create_error(&format!("mounts[{n}].options"));
}

#[test]
fn tmpcopyup_fills_the_tmpfs_with_what_it_covers() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let mut c = Ctx::new("fs-copyup");
    let rootfs = c.private_rootfs();
    let data = rootfs.join("data");
    std::fs::create_dir_all(data.join("sub")).unwrap();
    std::fs::write(data.join("file"), "hello").unwrap();
    std::fs::write(data.join("sub/deep"), "deep").unwrap();
    std::os::unix::fs::symlink("file", data.join("link")).unwrap();
    std::os::unix::fs::chown(data.join("file"), Some(1234), Some(2345)).unwrap();
    std::fs::set_permissions(data.join("file"), std::fs::Permissions::from_mode(0o604)).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o751)).unwrap();
    std::fs::create_dir(rootfs.join("ro")).unwrap();
    std::fs::write(rootfs.join("ro/kept"), "kept").unwrap();
    let tmpfs = |dest: &str, opts: &[&str]| json!({"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": opts});
    let mounts = c.config["mounts"].as_array_mut().unwrap();
    mounts.push(tmpfs("/data", &["tmpcopyup", "nosuid"]));
    mounts.push(tmpfs("/ro", &["tmpcopyup", "ro", "mode=700"]));
    let r = c.probe(&[
        "--try-read",
        "/data/file",
        "--try-read",
        "/data/sub/deep",
        "--try-read",
        "/data/link",
        "--stat",
        "/data",
        "--stat",
        "/data/file",
        "--stat",
        "/data/link",
        "--create",
        "/data/new",
        "--try-read",
        "/ro/kept",
        "--create",
        "/ro/new",
        "--stat",
        "/ro",
    ]);
    let rd = &r["readable"];
    assert_eq!(rd["/data/file"]["content"], "hello", "{rd}");
    assert_eq!(rd["/data/sub/deep"]["content"], "deep", "{rd}");
    assert_eq!(rd["/data/link"]["content"], "hello", "{rd}");
    let st = &r["stat"];
    assert_eq!(
        st["/data"]["mode"], 0o751,
        "the tmpfs root takes the directory's mode"
    );
    assert_eq!(
        (
            st["/data/file"]["uid"].as_u64(),
            st["/data/file"]["gid"].as_u64(),
            st["/data/file"]["mode"].as_u64()
        ),
        (Some(1234), Some(2345), Some(0o604))
    );
    assert_eq!(st["/data/link"]["type"], "symlink");
    assert_eq!(mount(&r, "/data").unwrap()["fstype"], "tmpfs");
    // Writes go to the tmpfs, not to the image.
    assert_eq!(r["created"]["/data/new"]["ok"], true);
    assert!(!data.join("new").exists());
    // ro: filled, then read-only; mode= wins over the directory's mode.
    assert_eq!(rd["/ro/kept"]["content"], "kept", "{rd}");
    assert_eq!(r["created"]["/ro/new"]["error"], "EROFS");
    assert_eq!(st["/ro"]["mode"], 0o700);
    assert_eq!(std::fs::metadata(&data).unwrap().mode() & 0o7777, 0o751);
    c.assert_clean();

    // Only a tmpfs can copy up.
    let mut c = Ctx::new("fs-copyup-bind");
    let n = c.config["mounts"].as_array().unwrap().len();
    c.config["mounts"].as_array_mut().unwrap().push(bind(
        "/x",
        &c.base.clone(),
        &["rbind", "tmpcopyup"],
    ));
    c.expect_create_error(&format!("mounts[{n}].options"));
}

/// A tmpfs mounted over a directory of the image, with no `mode=`, takes that directory's
/// mode, as runc does (the kernel's default, 1777, would open a 0700 directory to all). A
/// tmpfs where the image has nothing keeps the kernel's 1777, and `mode=` wins.
///
/// Checked against a broken brig: without the covered directory's mode passed as `mode=`
/// (`rootfs::mount_fs`), /private was 1777 and the test failed.
#[test]
fn a_tmpfs_without_mode_takes_the_mode_of_the_directory_it_covers() {
    use std::os::unix::fs::PermissionsExt;
    let mut c = Ctx::new("rootfs-tmpfs-mode");
    let rootfs = c.private_rootfs();
    for dir in ["private", "given"] {
        std::fs::create_dir(rootfs.join(dir)).unwrap();
        std::fs::set_permissions(rootfs.join(dir), std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let mounts = c.config["mounts"].as_array_mut().unwrap();
    for (dest, options) in [
        ("/private", json!(["nosuid"])),
        ("/given", json!(["nosuid", "mode=750"])),
        ("/fresh", json!(["nosuid"])),
    ] {
        mounts.push(
            json!({"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": options}),
        );
    }
    let r = c.probe(&["--stat", "/private", "--stat", "/given", "--stat", "/fresh"]);
    assert_eq!(r["stat"]["/private"]["mode"], 0o700);
    assert_eq!(r["stat"]["/given"]["mode"], 0o750);
    assert_eq!(r["stat"]["/fresh"]["mode"], 0o1777);
    c.assert_clean();
}

/// An image whose /dev is a symlink to a host path: brig never follows it out of the
/// rootfs. The /dev tmpfs and its device nodes would land in the host directory; brig
/// refuses the symlinked /dev instead, and the host directory stays empty.
#[test]
fn a_dev_that_is_a_symlink_to_a_host_path_is_refused() {
    let mut c = Ctx::new("rootfs-dev-symlink");
    let rootfs = c.private_rootfs();
    let host_dir = c.base.join("host-dev");
    std::fs::create_dir(&host_dir).unwrap();
    std::fs::remove_dir_all(rootfs.join("dev")).unwrap();
    std::os::unix::fs::symlink(&host_dir, rootfs.join("dev")).unwrap();
    c.expect_create_error("/dev");
    assert_eq!(std::fs::read_dir(&host_dir).unwrap().count(), 0);
}

/// runc lets a bind of a procfs stand at /proc (rootless setups with the host's pid
/// namespace bind the host's /proc); a bind of anything else there stays refused.
///
/// Checked against a broken brig: /proc took only a fresh procfs ("/proc cannot be mounted
/// as \"bind\""), so the run failed and the test with it.
#[test]
fn a_procfs_bound_over_proc_is_taken_as_runc_takes_it() {
    let mut c = Ctx::new("fs-proc-bind");
    for m in c.config["mounts"].as_array_mut().unwrap() {
        if m["destination"] == "/proc" {
            *m = json!({"destination": "/proc", "type": "bind", "source": "/proc", "options": ["rbind"]});
        }
    }
    let r = c.probe(&[]);
    let proc = mount(&r, "/proc").expect("/proc mounted");
    assert_eq!(proc["fstype"], "proc", "{proc}");
    c.assert_clean();
    c.config["mounts"][0] =
        json!({"destination": "/proc", "type": "bind", "source": "/etc", "options": ["rbind"]});
    c.expect_create_error("/proc cannot be mounted as \\\"bind\\\"");
}

/// A read-only /dev (and any read-only tmpfs) is made read-only only once everything under
/// it is in place, as runc does: the default devices, and mounts nested below it.
///
/// Checked against a broken brig: with the tmpfs mounted read-only at once (as before),
/// making /dev/null failed with EROFS and the test failed.
#[test]
fn a_read_only_dev_gets_its_devices_first() {
    let mut c = Ctx::new("fs-ro-dev");
    // /data is made in the rootfs: a copy, not the fixture other tests share.
    c.private_rootfs();
    let mounts = c.config["mounts"].as_array_mut().unwrap();
    for m in mounts.iter_mut() {
        if m["destination"] == "/dev" {
            m["options"].as_array_mut().unwrap().push(json!("ro"));
        }
    }
    mounts.push(
        json!({"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["ro"]}),
    );
    mounts.push(json!({"destination": "/data/inner", "type": "tmpfs", "source": "tmpfs"}));
    let r = c.probe(&[
        "--try-write",
        "/dev/null",
        "--create",
        "/dev/new",
        "--create",
        "/data/x",
        "--create",
        "/data/inner/y",
    ]);
    assert_eq!(r["writable"]["/dev/null"]["ok"], true, "{r}");
    assert_eq!(r["created"]["/dev/new"]["error"], "EROFS", "{r}");
    assert_eq!(r["created"]["/data/x"]["error"], "EROFS", "{r}");
    assert_eq!(r["created"]["/data/inner/y"]["ok"], true, "{r}");
    c.assert_clean();
}

/// With a new user namespace the init is root only of that namespace; a bind source only
/// the host's root can reach (under a 0700 directory) is opened on the host before the
/// init enters it, as runc opens it, so the mount still works.
///
/// Checked against a broken brig: with the source resolved by the init (as before), the
/// bind mount failed with EACCES and the test failed.
#[test]
fn a_bind_source_only_root_can_reach_is_opened_before_the_user_namespace() {
    use std::os::unix::fs::PermissionsExt;
    let mut c = Ctx::new("fs-bind-private");
    let private = c.base.join("private");
    std::fs::create_dir(&private).unwrap();
    std::fs::write(private.join("file"), "host data\n").unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    c.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    c.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 300000, "size": 65536}]);
    c.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 300000, "size": 65536}]);
    c.config["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/etc/os-release", "type": "bind",
        "source": private.join("file"), "options": ["bind", "ro"]}));
    let r = c.probe(&["--try-read", "/etc/os-release"]);
    assert_eq!(
        r["readable"]["/etc/os-release"]["content"], "host data\n",
        "{r}"
    );
    c.assert_clean();
}
