//! Rootless mode: brig run by a user without root (`brig-rootless`, made by the kit with
//! a subordinate id range), with the config `brig spec --rootless` gives that user. The
//! tests check from inside (the probe) and from the host (owners, cgroup files, /proc).

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::{json, Value};

fn host_uid_of(pid: &str) -> u32 {
    std::fs::metadata(format!("/proc/{pid}")).unwrap().uid()
}

fn pids_of(c: &Ctx) -> Vec<i64> {
    let out = c.brig_ok(&["ps", "--format", "json", &c.id]);
    serde_json::from_slice::<Vec<i64>>(&out.stdout).unwrap()
}

/// Run `sh -c 'sleep 60 & sleep 60 & exec probe …'` detached and return the three pids
/// `ps` lists once both sleeps are up.
fn run_init_with_two_sleeps(c: &mut Ctx) -> Vec<i64> {
    c.set_args(&[
        "sh",
        "-c",
        "sleep 60 & sleep 60 & exec probe --no-report --sleep 60",
    ]);
    c.run_detached();
    let mut pids = Vec::new();
    for _ in 0..200 {
        pids = pids_of(c);
        if pids.len() == 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(pids.len(), 3, "init and two sleeps: {pids:?}");
    pids
}

/// Each process is gone, or a zombie of a parent that does not reap (this host's PID 1).
fn assert_gone(pids: &[i64]) {
    for pid in pids {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(
            stat.is_empty() || stat.contains(") Z "),
            "process {pid} survived: {stat}"
        );
    }
}

#[test]
fn a_user_runs_the_whole_lifecycle_with_state_under_xdg_runtime_dir() {
    let mut c = Ctx::rootless("rl-life");
    let (uid, _) = c.user.unwrap();
    c.set_args(&["probe", "--no-report", "--sleep", "60"]);
    c.create_ok();
    // No --root: the state went to $XDG_RUNTIME_DIR/brig, and it is the user's.
    let state_dir = c.base.join("xdg/brig").join(&c.id);
    assert_eq!(std::fs::metadata(&state_dir).unwrap().uid(), uid);
    assert_eq!(c.state()["status"], "created");
    let pid = c.state()["pid"].to_string();
    assert_eq!(
        host_uid_of(&pid),
        uid,
        "the init runs as the user on the host"
    );
    // Rootless exec into a created container: its init is not the user's to enter yet.
    let early = c.brig(&["exec", &c.id, "true"]);
    assert!(!early.status.success());
    assert!(
        stderr(&early).contains("once it has started"),
        "{}",
        stderr(&early)
    );

    c.brig_ok(&["start", &c.id]);
    c.wait_status("running");
    let out = c.brig_ok(&["exec", &c.id, "probe"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["uid"]["effective"], 0, "root inside");
    assert_eq!(
        report["uid_map"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["0", &uid.to_string(), "1"]
    );
    assert_eq!(
        report["setgroups"], "deny",
        "a user's own gid map denies setgroups"
    );
    assert_eq!(report["namespaces"]["pid"], json!(ns_inode(&pid, "pid")));
    assert_ne!(report["namespaces"]["user"], json!(host_ns("user")));
    assert_eq!(pids_of(&c), [pid.parse::<i64>().unwrap()]);
    // This user may not create /brig-test-*: no cgroup was made anywhere.
    assert_eq!(c.cgroup_dirs(), Vec::<PathBuf>::new());

    c.brig_ok(&["kill", &c.id, "KILL"]);
    c.wait_status("stopped");
    c.brig_ok(&["delete", &c.id]);
    c.assert_clean();
}

#[test]
fn more_than_the_users_own_id_is_mapped_through_newuidmap() {
    let mut c = Ctx::rootless("rl-maps");
    let (uid, gid) = c.user.unwrap();
    let (sub_u, sub_g) = (
        subordinate_start("/etc/subuid"),
        subordinate_start("/etc/subgid"),
    );
    c.config["linux"]["uidMappings"] = json!([
        {"containerID": 0, "hostID": uid, "size": 1},
        {"containerID": 1, "hostID": sub_u, "size": 65536}
    ]);
    c.config["linux"]["gidMappings"] = json!([
        {"containerID": 0, "hostID": gid, "size": 1},
        {"containerID": 1, "hostID": sub_g, "size": 65536}
    ]);
    c.config["process"]["user"] = json!({"uid": 1000, "gid": 1000, "additionalGids": [1001]});
    c.config["root"]["readonly"] = json!(false);
    let r = c.probe(&["--create", "/tmp/made-by-1000"]);
    assert_eq!(r["uid"]["effective"], 1000);
    assert_eq!(r["gid"]["effective"], 1000);
    assert_eq!(
        r["groups"],
        json!([1001]),
        "newgidmap leaves setgroups allowed"
    );
    let lines = |m: &Value| -> Vec<Vec<String>> {
        m.as_str()
            .unwrap()
            .lines()
            .map(|l| l.split_whitespace().map(String::from).collect())
            .collect()
    };
    assert_eq!(
        lines(&r["uid_map"]),
        [
            ["0".to_string(), uid.to_string(), "1".into()],
            ["1".to_string(), sub_u.to_string(), "65536".into()]
        ]
    );
    assert_eq!(lines(&r["gid_map"])[1][1], sub_g.to_string());
    // On disk the file belongs to subordinate id 1000 - 1 + start.
    assert_eq!(r["created"]["/tmp/made-by-1000"]["ok"], true);
    let made = c.base.join("rootfs/tmp/made-by-1000");
    let m = std::fs::metadata(&made).unwrap();
    assert_eq!((m.uid(), m.gid()), (sub_u + 999, sub_g + 999));
    c.assert_clean();
}

#[test]
fn ids_the_user_was_not_given_are_refused_by_name() {
    let mut c = Ctx::rootless("rl-badmap");
    let (uid, _) = c.user.unwrap();
    c.config["linux"]["uidMappings"] = json!([
        {"containerID": 0, "hostID": uid, "size": 1},
        {"containerID": 1, "hostID": 1, "size": 10}
    ]);
    let err = c.expect_create_error("linux.uidMappings");
    assert!(err.contains("newuidmap"), "{err}");
}

#[test]
fn sysfs_and_devices_are_bound_from_the_host_where_a_user_cannot_make_them() {
    let mut c = Ctx::rootless("rl-sysdev");
    // A plain sysfs mount too (not spec --rootless's rbind): without a network namespace
    // of its own the kernel refuses it, and the host's /sys is bound instead.
    let mounts = c.config["mounts"].as_array_mut().unwrap();
    for m in mounts.iter_mut() {
        if m["destination"] == "/sys" {
            *m = json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]});
        }
    }
    let r = c.probe(&[
        "--stat",
        "/dev/null",
        "--try-write",
        "/dev/null",
        "--try-read",
        "/sys/devices/system/cpu/online",
    ]);
    let null = &r["stat"]["/dev/null"];
    assert_eq!(null["type"], "char");
    assert_eq!(
        (null["major"].as_u64(), null["minor"].as_u64()),
        (Some(1), Some(3))
    );
    assert_eq!(r["writable"]["/dev/null"]["ok"], true);
    let sys = mount(&r, "/sys").expect("/sys is mounted");
    assert_eq!(sys["fstype"], "sysfs");
    assert!(
        sys["options"]
            .as_str()
            .unwrap()
            .split(',')
            .any(|o| o == "ro"),
        "{sys}"
    );
    assert_eq!(r["readable"]["/sys/devices/system/cpu/online"]["ok"], true);
    c.assert_clean();
}

/// A cgroup delegated to the user, as an administrator (or systemd's Delegate=yes) makes
/// one: on v1 a directory in the pids and memory hierarchies; on v2 one directory with
/// those controllers enabled for its children and a `brig` child for the user's
/// processes (cgroup2 moves need write access at the common ancestor). The directory
/// and its control files belong to the user.
struct Delegated {
    dirs: Vec<PathBuf>,
}

impl Delegated {
    fn new(name: &str, uid: u32, gid: u32) -> Delegated {
        let give = |dir: &Path, files: &[&str]| {
            for file in files {
                std::os::unix::fs::chown(dir.join(file), Some(uid), Some(gid)).unwrap();
            }
        };
        if cgroup_v2() {
            let dir = Path::new("/sys/fs/cgroup").join(name);
            std::fs::create_dir(&dir).unwrap();
            std::fs::write(dir.join("cgroup.subtree_control"), "+pids +memory").unwrap();
            std::fs::create_dir(dir.join("brig")).unwrap();
            let files = [
                "",
                "cgroup.procs",
                "cgroup.threads",
                "cgroup.subtree_control",
            ];
            give(&dir, &files);
            give(&dir.join("brig"), &files);
            return Delegated { dirs: vec![dir] };
        }
        let mut dirs = Vec::new();
        for h in ["pids", "memory"] {
            let dir = Path::new("/sys/fs/cgroup").join(h).join(name);
            std::fs::create_dir(&dir).unwrap();
            give(&dir, &["", "cgroup.procs", "tasks"]);
            dirs.push(dir);
        }
        Delegated { dirs }
    }

    /// The container's directory under the delegated one (`controller`'s on v1).
    fn ctr(&self, controller: &str) -> PathBuf {
        let dir = self
            .dirs
            .iter()
            .find(|d| cgroup_v2() || d.starts_with(format!("/sys/fs/cgroup/{controller}")))
            .unwrap();
        dir.join("ctr")
    }
}

impl Drop for Delegated {
    fn drop(&mut self) {
        for dir in &self.dirs {
            if let Ok(entries) = std::fs::read_dir(dir) {
                for e in entries.flatten().filter(|e| e.path().is_dir()) {
                    let _ = std::fs::remove_dir(e.path());
                }
            }
            let _ = std::fs::remove_dir(dir);
        }
    }
}

#[test]
fn a_delegated_cgroup_is_used_and_its_limits_apply() {
    // Made before the container's context, so that it is dropped after it.
    let (uid, gid) = rootless_user();
    let name = format!("brig-test-deleg-{}", std::process::id());
    let delegated = Delegated::new(&name, uid, gid);
    let mut c = Ctx::rootless("rl-deleg");
    if cgroup_v2() {
        c.start_cgroup = Some(delegated.dirs[0].join("brig"));
    }
    c.cgroup = format!("/{name}/ctr");
    c.config["linux"]["cgroupsPath"] = json!(c.cgroup);
    c.config["linux"]["resources"] = json!({"pids": {"limit": 20}, "memory": {"limit": 67108864}});
    c.set_args(&["probe", "--no-report", "--sleep", "60"]);
    c.create_ok();
    let pid = c.state()["pid"].as_i64().unwrap();
    let read = |p: PathBuf| std::fs::read_to_string(&p).unwrap().trim().to_string();
    let (pids_max, memory_max) = if cgroup_v2() {
        ("pids.max", "memory.max")
    } else {
        ("pids.max", "memory.limit_in_bytes")
    };
    assert_eq!(read(delegated.ctr("pids").join(pids_max)), "20");
    assert_eq!(read(delegated.ctr("memory").join(memory_max)), "67108864");
    assert_eq!(
        read(delegated.ctr("pids").join("cgroup.procs")),
        pid.to_string()
    );
    assert_eq!(
        std::fs::metadata(delegated.ctr("pids")).unwrap().uid(),
        uid,
        "made by the user"
    );
    // Only the delegated hierarchies got a directory (both of them on v1, the one on v2).
    assert_eq!(
        c.cgroup_dirs().len(),
        delegated.dirs.len(),
        "{:?}",
        c.cgroup_dirs()
    );
    assert_eq!(pids_of(&c), [pid]);
    // update works in the delegated cgroup too.
    c.brig_ok(&["update", "--pids-limit", "30", &c.id]);
    assert_eq!(read(delegated.ctr("pids").join(pids_max)), "30");
    c.brig_ok(&["delete", "--force", &c.id]);
    c.assert_clean();
    assert!(
        delegated.dirs.iter().all(|d| d.exists()),
        "the delegated cgroup stays"
    );
}

#[test]
fn limits_without_a_cgroup_to_put_them_in_are_refused_by_name() {
    let mut c = Ctx::rootless("rl-nolimit");
    c.config["linux"]["resources"] = json!({"pids": {"limit": 20}});
    let err = c.expect_create_error("linux.resources.pids");
    assert!(err.contains("rootless"), "{err}");

    // A container without a cgroup cannot be paused, updated or measured; it says why.
    c.config["linux"]
        .as_object_mut()
        .unwrap()
        .remove("resources");
    c.set_args(&["probe", "--no-report", "--sleep", "60"]);
    c.run_detached();
    for args in [
        vec!["pause"],
        vec!["update", "--pids-limit", "5"],
        vec!["events", "--stats"],
    ] {
        let mut argv = args.clone();
        argv.push(&c.id);
        let out = c.brig(&argv);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&out).contains("rootless"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert_eq!(c.state()["status"], "running");
    c.brig_ok(&["delete", "--force", &c.id]);
    c.assert_clean();
}

#[test]
fn kill_all_without_a_cgroup_reaches_every_process_of_the_pid_namespace() {
    let mut c = Ctx::rootless("rl-killall");
    let pids = run_init_with_two_sleeps(&mut c);
    c.brig_ok(&["kill", "--all", &c.id, "KILL"]);
    c.wait_status("stopped");
    assert_gone(&pids);
    c.brig_ok(&["delete", &c.id]);
    c.assert_clean();
}

#[test]
fn time_offsets_apply_in_a_rootless_container() {
    let mut c = Ctx::rootless("rl-time");
    c.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "time"}));
    c.config["linux"]["timeOffsets"] = json!({"boottime": {"secs": 1000000, "nanosecs": 0}});
    let r = c.probe(&[]);
    let mut host = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: host is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut host) };
    let inside = r["clocks"]["boottime"].as_i64().unwrap();
    let shift = inside - host.tv_sec;
    assert!(
        (999_990..=1_000_000).contains(&shift),
        "boottime shifted by {shift}"
    );
    c.assert_clean();
}

#[test]
fn an_idmapped_mount_needs_root_and_says_so() {
    let mut c = Ctx::rootless("rl-idmap");
    let (uid, gid) = c.user.unwrap();
    let vol = c.base.join("vol");
    std::fs::create_dir(&vol).unwrap();
    std::os::unix::fs::chown(&vol, Some(uid), Some(gid)).unwrap();
    c.config["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/vol", "type": "bind", "source": vol, "options": ["rbind", "idmap"]
    }));
    let n = c.config["mounts"].as_array().unwrap().len() - 1;
    let err = c.expect_create_error(&format!("mounts[{n}]"));
    assert!(err.contains("needs root"), "{err}");
}

#[test]
fn spec_rootless_maps_the_calling_users_ids() {
    let c = Ctx::rootless("rl-spec");
    let (uid, gid) = c.user.unwrap();
    let linux = &c.config["linux"];
    assert_eq!(
        linux["uidMappings"],
        json!([{"containerID": 0, "hostID": uid, "size": 1}])
    );
    assert_eq!(
        linux["gidMappings"],
        json!([{"containerID": 0, "hostID": gid, "size": 1}])
    );
    let types: Vec<&str> = linux["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"user") && !types.contains(&"network"),
        "{types:?}"
    );
    assert!(linux.get("resources").is_none());
}

#[test]
fn rootless_false_makes_a_cgroup_the_user_may_not_create_an_error() {
    let c = Ctx::rootless("rl-false");
    let out = c.create_with_flags(&["--rootless=false"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("linux.cgroupsPath") && err.contains("permission denied"),
        "{err}"
    );
    c.assert_clean();
}

#[test]
fn root_with_rootless_true_still_gets_its_cgroup() {
    let mut c = Ctx::new("rl-root-true");
    c.config["linux"]["resources"] = json!({"pids": {"limit": 20}});
    c.set_args(&["probe", "--no-report", "--sleep", "60"]);
    let out = c.create_with_flags(&["--rootless=true"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Root may create every hierarchy's directory: none is skipped.
    assert!(!c.cgroup_dirs().is_empty());
    assert_eq!(read_cg(&c, "pids", "pids.max", "pids.max"), "20");
    c.brig_ok(&["delete", "--force", &c.id]);
    c.assert_clean();
}

#[test]
fn without_a_cgroup_or_pid_namespace_delete_still_kills_the_whole_tree() {
    let mut c = Ctx::rootless("rl-nopidns");
    // The host's pid namespace: no /proc of its own to mount, so none, and nothing to mask.
    c.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "pid");
    c.config["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["destination"] != "/proc");
    c.config["linux"]["maskedPaths"] = json!([]);
    c.config["linux"]["readonlyPaths"] = json!([]);
    // The init and two sleeps, found as its descendants.
    let pids = run_init_with_two_sleeps(&mut c);
    c.brig_ok(&["delete", "--force", &c.id]);
    assert_gone(&pids);
    c.assert_clean();
}
