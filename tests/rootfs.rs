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
    c.write_config();
    let out = c
        .cmd()
        .args(["run", "--no-pivot", "--bundle"])
        .arg(&c.bundle)
        .arg(&c.id)
        .output()
        .unwrap();
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
    c.expect_create_error("symlink");
}

#[test]
fn mounting_over_proc_files_is_refused() {
    let mut c = Ctx::new("fs-proc-dest");
    c.config["mounts"].as_array_mut().unwrap().push(json!({"destination": "/proc/sys/kernel/core_pattern", "type": "bind", "source": "/etc/hostname", "options": ["bind"]}));
    c.expect_create_error("under /proc");
}
