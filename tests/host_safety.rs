//! What a container asks for never reaches the host's own state: its sysctls and hostname
//! (through a joined host namespace), its mounts (through propagation), its processes
//! (through a shared cgroup). Each test was run against a brig without the fix named in
//! its comment and failed.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::*;
use serde_json::json;

/// The container shares brig's pid namespace: only its cgroup knows its processes.
fn without_pid_namespace(c: &mut Ctx) {
    c.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "pid");
}

/// Point one of the spec's namespaces at a path (joining it).
fn join_namespace(c: &mut Ctx, typ: &str, path: &str) {
    for ns in c.config["linux"]["namespaces"].as_array_mut().unwrap() {
        if ns["type"] == typ {
            ns["path"] = json!(path);
        }
    }
}

/// A net.* sysctl (or an ipc one, or the hostname) in a namespace joined by path that is
/// the host's would be written for the whole host: refused (runc's words for net), and
/// the host's value is untouched. The same sysctl in another container's namespace, joined
/// the same way, is written there.
///
/// Checked against a broken brig: without `namespaces::refuse_host_writes`, create
/// succeeded and wrote the sysctl into the host's network namespace.
#[test]
fn sysctls_and_the_hostname_are_refused_in_the_hosts_namespaces() {
    // The host's current values, so that even a broken brig would change nothing.
    let forward = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    let shmmni = std::fs::read_to_string("/proc/sys/kernel/shmmni").unwrap();
    let hostname = nix::unistd::gethostname().unwrap().into_string().unwrap();
    for (typ, path, field, set) in [
        (
            "network",
            "/proc/self/ns/net",
            "is not allowed in the hosts network namespace (linux.namespaces[1].path joins it)",
            json!({"sysctl": {"net.ipv4.ip_forward": forward.trim()}}),
        ),
        (
            "ipc",
            "/proc/self/ns/ipc",
            "is not allowed in the hosts ipc namespace (linux.namespaces[2].path joins it)",
            json!({"sysctl": {"kernel.shmmni": shmmni.trim()}}),
        ),
        (
            "uts",
            "/proc/self/ns/uts",
            "hostname: the uts namespace linux.namespaces[3].path joins is the host's",
            json!({"hostname": hostname}),
        ),
    ] {
        let mut c = Ctx::new("host-sysctl");
        join_namespace(&mut c, typ, path);
        if let Some(sysctl) = set.get("sysctl") {
            c.config["linux"]["sysctl"] = sysctl.clone();
        } else {
            c.config["hostname"] = set["hostname"].clone();
        }
        c.expect_create_error(field);
    }
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
        forward
    );

    // Another container's network namespace is not the host's.
    let mut first = Ctx::new("host-sysctl-owner");
    first.set_args(&["sleep", "60"]);
    first.run_detached();
    let pid = first.state()["pid"].as_i64().unwrap();
    let mut c = Ctx::new("host-sysctl-joiner");
    join_namespace(&mut c, "network", &format!("/proc/{pid}/ns/net"));
    c.config["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
    let r = c.probe(&["--sysctl", "net.ipv4.ip_forward"]);
    assert_eq!(r["sysctl"]["net.ipv4.ip_forward"], "1");
    c.assert_clean();
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
        forward,
        "the host's value did not move"
    );
    first.brig_ok(&["delete", "--force", &first.id]);
    first.assert_clean();
}

/// A tmpfs mounted on the host for a test, made shared, unmounted (with whatever is below
/// it) on drop.
struct SharedMount(PathBuf);

impl SharedMount {
    fn new(path: &Path) -> SharedMount {
        std::fs::create_dir_all(path).unwrap();
        sh(&format!(
            "mount -t tmpfs tmpfs {0} && mount --make-shared {0}",
            path.display()
        ));
        SharedMount(path.to_path_buf())
    }
}

impl Drop for SharedMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-R").arg(&self.0).status();
    }
}

fn sh(script: &str) {
    let out = Command::new("sh").args(["-c", script]).output().unwrap();
    assert!(out.status.success(), "{script}: {}", stderr(&out));
}

/// The host's mount points at or under `dir`.
fn host_mounts_under(dir: &Path) -> Vec<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| Path::new(p).starts_with(dir))
        .map(String::from)
        .collect()
}

/// `--no-pivot` unmounts the host's mounts around the rootfs inside the container's mount
/// namespace. With a rootfsPropagation that leaves mounts shared with the host (slave,
/// shared, rshared: none of them recursive slave), those unmounts reached the host's peers
/// and took the host's mounts away. Every mount is made a slave first; `[r]private` is
/// refused as runc refuses it.
///
/// Checked against a broken brig: without the MS_SLAVE|MS_REC in `rootfs::move_root`, the
/// host's `shared/sub` mount was gone after the first run and the test failed.
#[test]
fn no_pivot_never_unmounts_the_hosts_mounts() {
    let c0 = Ctx::new("host-nopivot");
    let shared = SharedMount::new(&c0.base.join("shared"));
    let sub = shared.0.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    sh(&format!("mount -t tmpfs tmpfs {}", sub.display()));
    let before = host_mounts_under(&shared.0);
    assert_eq!(before.len(), 2, "{before:?}");
    for propagation in ["slave", "shared", "rshared", "unbindable"] {
        let mut c = Ctx::new("host-nopivot");
        c.config["linux"]["rootfsPropagation"] = json!(propagation);
        c.set_args(&["true"]);
        let out = c.run_with(&["--no-pivot"]);
        assert!(out.status.success(), "{propagation}: {}", stderr(&out));
        assert_eq!(
            host_mounts_under(&shared.0),
            before,
            "{propagation}: the host's mounts changed"
        );
        c.assert_clean();
    }
    for propagation in ["private", "rprivate"] {
        let mut c = Ctx::new("host-nopivot-private");
        c.config["linux"]["rootfsPropagation"] = json!(propagation);
        c.write_config();
        let out = c
            .cmd()
            .args(["create", "--no-pivot", "--bundle"])
            .arg(&c.bundle)
            .arg(&c.id)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{propagation}");
        assert!(
            stderr(&out).contains("rootfsPropagation of [r]private is not safe without pivot_root"),
            "{}",
            stderr(&out)
        );
        c.assert_clean();
    }
}

/// A bundle on a shared mount with a rootfsPropagation that is not recursive (private,
/// slave) kept the mount holding the rootfs shared: the rootfs bind and every mount the
/// container made under it (/proc, /dev, ...) appeared on the host, and stayed there when
/// pivot_root then refused the shared parent and the run failed. The mount holding the
/// rootfs goes private first, as runc does.
///
/// Checked against a broken brig: with `make_parent_mount_private` only for shared and
/// unbindable propagations (as before), `private` failed at pivot_root and left the
/// container's mounts on the host under `shared/rootfs`; the test failed.
#[test]
fn container_mounts_never_appear_on_the_host_through_a_shared_bundle_mount() {
    for propagation in ["private", "slave", "shared", "unbindable"] {
        let mut c = Ctx::new("host-prop");
        let shared = SharedMount::new(&c.base.join("shared"));
        let rootfs = shared.0.join("rootfs");
        let ok = Command::new("cp")
            .arg("-a")
            .arg(fixture_rootfs())
            .arg(&rootfs)
            .status()
            .unwrap()
            .success();
        assert!(ok);
        let only_the_shared_mount = [shared.0.display().to_string()];
        c.config["root"]["path"] = json!(rootfs);
        c.config["linux"]["rootfsPropagation"] = json!(propagation);
        c.set_args(&["true"]);
        let out = c.run();
        assert_eq!(
            host_mounts_under(&shared.0),
            only_the_shared_mount,
            "{propagation}: container mounts reached the host ({})",
            stderr(&out)
        );
        assert!(out.status.success(), "{propagation}: {}", stderr(&out));
        // While it runs, none shows on the host.
        c.set_args(&["sleep", "60"]);
        c.run_detached();
        assert_eq!(
            host_mounts_under(&shared.0),
            only_the_shared_mount,
            "{propagation}: container mounts reached the host"
        );
        c.brig_ok(&["delete", "--force", &c.id]);
        // A run that fails after the mounts (no such program) leaves none either.
        c.set_args(&["/no/such/program"]);
        let out = c.run();
        assert_ne!(out.status.code(), Some(0));
        assert_eq!(
            host_mounts_under(&shared.0),
            only_the_shared_mount,
            "{propagation}: a failed run left mounts on the host"
        );
        c.assert_clean();
    }
}

/// The container's cgroup, made on the host before the container with a host process in
/// it (runc accepts such a cgroup, with a warning): the process is not the container's.
struct HostProcessInCgroup {
    dirs: Vec<PathBuf>,
    sleeper: Child,
}

impl HostProcessInCgroup {
    fn new(c: &Ctx) -> HostProcessInCgroup {
        let sleeper = Command::new("sleep").arg("600").spawn().unwrap();
        let mut dirs = Vec::new();
        let hierarchies: Vec<PathBuf> = if cgroup_v2() {
            vec![PathBuf::from("/sys/fs/cgroup")]
        } else {
            std::fs::read_dir("/sys/fs/cgroup")
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.join("cgroup.procs").exists())
                .collect()
        };
        for h in hierarchies {
            let dir = h.join(c.cgroup.trim_start_matches('/'));
            std::fs::create_dir_all(&dir).unwrap();
            // cpuset starts empty in v1: copy the parent's before a process can join.
            for f in ["cpuset.cpus", "cpuset.mems"] {
                if let Ok(v) = std::fs::read_to_string(h.join(f)) {
                    let _ = std::fs::write(dir.join(f), v.trim());
                }
            }
            std::fs::write(dir.join("cgroup.procs"), sleeper.id().to_string()).unwrap();
            dirs.push(dir);
        }
        HostProcessInCgroup { dirs, sleeper }
    }

    fn alive(&mut self) -> bool {
        self.sleeper.try_wait().unwrap().is_none()
    }
}

impl Drop for HostProcessInCgroup {
    fn drop(&mut self) {
        let _ = self.sleeper.kill();
        let _ = self.sleeper.wait();
        for d in &self.dirs {
            for _ in 0..100 {
                if std::fs::remove_dir(d).is_ok() || !d.exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
    }
}

/// A host process that shares the container's cgroup (it was there before the container)
/// is never listed by `ps` nor killed by `kill --all` or `delete --force`, with or without
/// a pid namespace of the container's own; create warns as runc does. The cgroup itself
/// stays (it holds the host process), with a warning. (`cgroupsPath: "/"`, the root
/// cgroup, is refused outright: tests/bad_input.rs.)
///
/// Checked against a broken brig: without the foreign processes recorded at create
/// (`create::note_preexisting_cgroup`), `kill --all KILL` killed the host's sleep and the
/// test failed.
#[test]
fn host_processes_in_the_containers_cgroup_are_never_killed() {
    for own_pid_ns in [false, true] {
        let mut c = Ctx::new("host-procs");
        if !own_pid_ns {
            without_pid_namespace(&mut c);
        }
        let mut host = HostProcessInCgroup::new(&c);
        c.set_args(&["sh", "-c", "sleep 60 & sleep 60"]);
        c.write_config();
        let err = c.base.join("run.err");
        let status = c
            .cmd()
            .args(["run", "-d", "--bundle"])
            .arg(&c.bundle)
            .arg(&c.id)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err).unwrap())
            .status()
            .unwrap();
        let err = std::fs::read_to_string(&err).unwrap();
        assert!(status.success(), "{err}");
        let ps = c.brig_ok(&["ps", "--format", "json", &c.id]);
        c.brig_ok(&["kill", "--all", &c.id, "KILL"]);
        c.wait_status("stopped");
        let delete = c.brig_ok(&["delete", "--force", &c.id]);
        assert!(
            host.alive(),
            "own pid namespace {own_pid_ns}: the host process was killed"
        );
        assert!(
            err.contains("container's cgroup is not empty: 1 process(es) found"),
            "{err}"
        );
        let pids: Vec<i64> = serde_json::from_slice(&ps.stdout).unwrap();
        assert_eq!(pids.len(), 2, "the container's sh and sleep only: {pids:?}");
        assert!(!pids.contains(&(host.sleeper.id() as i64)));
        assert!(
            stderr(&delete).contains("holds processes that are not the container's"),
            "{}",
            stderr(&delete)
        );
        assert!(!c.root.join(&c.id).exists());
    }
}

/// A container that made a cgroup below its own (here done from the host, as a container
/// with a writable cgroup mount does) and moved a process there: `ps` lists it, and
/// `delete --force` kills it, removes the child cgroup and then the container's, at once.
///
/// Checked against a broken brig: with the cgroup read one level deep (as before), `ps`
/// missed the process in the child cgroup and the test failed; removed one level deep,
/// `delete --force` left it alive (no pid namespace) or failed on rmdir (EBUSY, after
/// ~6.5 s), leaving the id taken.
#[test]
fn delete_removes_cgroups_the_container_made_and_their_processes() {
    for own_pid_ns in [false, true] {
        let mut c = Ctx::new("host-subcg");
        if !own_pid_ns {
            without_pid_namespace(&mut c);
        }
        c.set_args(&["sleep", "60"]);
        c.run_detached();
        let pid_file = c.base.join("exec.pid");
        let pid_file = pid_file.to_str().unwrap();
        // Its stdio are the exec'd process's: not pipes this test would wait on.
        let status = c
            .cmd()
            .args(["exec", "-d", "--pid-file", pid_file, &c.id, "sleep", "61"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let pid = std::fs::read_to_string(pid_file).unwrap();
        for dir in c.cgroup_dirs() {
            let child = dir.join("child");
            std::fs::create_dir(&child).unwrap();
            for f in ["cpuset.cpus", "cpuset.mems"] {
                if let Ok(v) = std::fs::read_to_string(dir.join(f)) {
                    let _ = std::fs::write(child.join(f), v.trim());
                }
            }
            std::fs::write(child.join("cgroup.procs"), &pid).unwrap();
        }
        let out = c.brig_ok(&["ps", "--format", "json", &c.id]);
        let pids: Vec<i64> = serde_json::from_slice(&out.stdout).unwrap();
        assert!(pids.contains(&pid.parse().unwrap()), "{pids:?} lacks {pid}");
        let started = std::time::Instant::now();
        c.brig_ok(&["delete", "--force", &c.id]);
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .is_ok_and(|s| s.contains(") Z")),
            "the process in the child cgroup survived"
        );
        c.assert_clean();
        eprintln!("delete with a child cgroup took {:?}", started.elapsed());
    }
}
