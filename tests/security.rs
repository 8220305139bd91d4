//! Regression tests for runtime escapes. Each was checked against the unfixed code.

mod common;

use common::*;
use serde_json::json;

/// CVE-2019-5736: while the init waits for `start` it still runs brig's own binary; a
/// process exec'd into the container must not be able to open it through /proc/1/exe.
/// Checked against a broken brig: with PR_SET_DUMPABLE 0 removed from `init::run`, this
/// read succeeded (it returned the ELF header) and the test failed.
#[test]
fn the_brig_binary_is_unreachable_through_proc_exe() {
    let mut c = Ctx::new("sec-exe");
    c.set_args(&["sleep", "60"]);
    assert!(c.create().status.success());
    let out = c.brig(&[
        "exec",
        &c.id,
        "probe",
        "--try-read",
        "/proc/1/exe",
        "--stat",
        "/proc/1/exe",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        r["readable"]["/proc/1/exe"]["ok"], false,
        "the init's binary must not be readable: {}",
        r["readable"]
    );
    assert!(c.brig(&["start", &c.id]).status.success());
    assert!(c.brig(&["delete", "--force", &c.id]).status.success());
    c.assert_clean();
}

/// CVE-2024-21626: a cwd reached through an fd the init holds (here a host directory the
/// caller passes with --preserve-fds, in runc's case a leaked cgroup fd) would start the
/// process outside the container's root. brig checks the cwd after chdir and refuses, for
/// `run` and for `exec --cwd`; the process never runs, so nothing lands in the host dir.
///
/// Checked against a broken brig: with `check_cwd` removed from `init::run`, `run` exited 0
/// and `touch escaped` ran in the host directory; the test failed.
#[test]
fn a_cwd_through_an_inherited_fd_is_refused() {
    let mut c = Ctx::new("sec-cwd-fd");
    // brig creates a missing cwd in the image (here /proc/self/fd/3, before /proc is
    // mounted over it): not in the shared fixture.
    c.private_rootfs();
    let host_dir = c.base.join("host-dir");
    std::fs::create_dir_all(&host_dir).unwrap();
    c.config["process"]["cwd"] = json!("/proc/self/fd/3");
    c.set_args(&["touch", "escaped"]);
    c.write_config();
    let (root, dir) = (c.root.clone(), host_dir.clone());
    let with_fd3 = move |brig_args: String| {
        let script = format!(
            "exec 3<{}; exec {BRIG} --root {} {brig_args}",
            dir.display(),
            root.display()
        );
        std::process::Command::new("bash")
            .args(["-c", &script])
            .output()
            .unwrap()
    };
    let out = with_fd3(format!(
        "run --preserve-fds 1 --bundle {} {}",
        c.bundle.display(),
        c.id
    ));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("outside of container root"),
        "{}",
        stderr(&out)
    );
    c.assert_clean();

    c.config["process"]["cwd"] = json!("/");
    c.set_args(&["sleep", "60"]);
    c.run_detached();
    let out = with_fd3(format!(
        "exec --preserve-fds 1 --cwd /proc/self/fd/3 {} touch escaped",
        c.id
    ));
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("outside of container root"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_dir(&host_dir).unwrap().count(),
        0,
        "nothing ran in the host dir"
    );
    assert!(c.brig(&["delete", "--force", &c.id]).status.success());
    c.assert_clean();
}

/// Puts the host's device nodes back as they were if a broken brig let a container change
/// them, so a failing run of this test does not leave the machine with a 0600 /dev/null.
struct HostNodes(Vec<(&'static str, std::fs::Metadata)>);

impl HostNodes {
    fn record() -> HostNodes {
        HostNodes(
            ["/dev/null", "/dev/zero"]
                .into_iter()
                .map(|p| (p, std::fs::metadata(p).unwrap()))
                .collect(),
        )
    }
}

impl Drop for HostNodes {
    fn drop(&mut self) {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        for (path, m) in &self.0 {
            let _ = std::os::unix::fs::chown(path, Some(m.uid()), Some(m.gid()));
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(m.mode()));
        }
    }
}

/// The container cannot chown or chmod the host's device nodes: /dev/null and the paths
/// masked with it keep the host's /dev/null as it was (root:root, 0666). Root in the
/// container holds CAP_CHOWN and CAP_FOWNER; in a user namespace, where brig binds the
/// host's nodes in, it is root of that namespace only.
///
/// Checked against a broken brig: with `rootfs::make_node` binding the host's nodes into
/// every container (as it does for a user namespace), root in the container made the
/// host's /dev/null 0600 and /dev/zero setuid, and this test failed.
#[test]
fn the_container_cannot_change_the_hosts_dev_null() {
    let _restore = HostNodes::record();
    let attack = "chown 1000:1000 /dev/null /proc/kcore /proc/timer_list; \
        chmod 0600 /dev/null /proc/kcore /proc/timer_list; chmod u+s /dev/zero; \
        echo done";
    for userns in [false, true] {
        let mut c = Ctx::new("sec-dev-null");
        if userns {
            c.config["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "user"}));
            c.config["linux"]["uidMappings"] =
                json!([{"containerID": 0, "hostID": 400000, "size": 65536}]);
            c.config["linux"]["gidMappings"] =
                json!([{"containerID": 0, "hostID": 400000, "size": 65536}]);
        }
        c.set_args(&["sh", "-c", attack]);
        let out = c.run();
        assert_eq!(stdout(&out), "done\n", "{}", stderr(&out));
        assert_host_dev_null_intact();
        let zero = std::fs::metadata("/dev/zero").unwrap();
        assert_eq!(std::os::unix::fs::MetadataExt::mode(&zero) & 0o7777, 0o666);
        c.assert_clean();
    }
}

/// CVE-2024-45310: the parent of a mount destination is swapped between a directory and a
/// symlink to a host directory while brig creates the container, 50 times. Whatever brig
/// resolves mid-swap, it resolves inside the rootfs: nothing is ever created on the host.
///
/// Checked against a broken brig: without RESOLVE_IN_ROOT in `rootfs::open_in_root`,
/// `outside/sub` was created on the host (49 of the 50 creates started) and the test failed.
#[test]
fn a_racing_symlink_swap_never_sends_a_mkdir_or_mount_to_the_host() {
    use nix::fcntl::{renameat2, RenameFlags, AT_FDCWD};
    let mut c = Ctx::new("sec-race");
    let rootfs = c.private_rootfs();
    let outside = c.base.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::create_dir(rootfs.join("race")).unwrap();
    std::os::unix::fs::symlink(&outside, rootfs.join("race-link")).unwrap();
    c.config["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"destination": "/race/sub/dir", "type": "tmpfs", "source": "tmpfs"}));
    c.set_args(&["true"]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let (stop, a, b) = (stop.clone(), rootfs.join("race"), rootfs.join("race-link"));
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                renameat2(AT_FDCWD, &a, AT_FDCWD, &b, RenameFlags::RENAME_EXCHANGE).unwrap();
                swaps += 1;
            }
            swaps
        })
    };
    let mut started = 0;
    for _ in 0..50 {
        if c.run().status.success() {
            started += 1;
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    assert!(swaps > 0);
    let created: Vec<_> = std::fs::read_dir(&outside)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(
        created,
        Vec::<std::path::PathBuf>::new(),
        "created on the host ({started} of 50 started)"
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(outside.to_str().unwrap()),
        "mounted on the host"
    );
    c.assert_clean();
}

/// CVE-2019-19921 / CVE-2023-27561: a filesystem the image or a volume controls, mounted
/// where /proc is (through a symlink in the image, or named outright), would receive what
/// brig writes into /proc: sysctls, and masks bound over its files. brig judges a mount
/// where it really lands, and checks /proc is procfs before writing to it.
///
/// Checked against a broken brig: removing only `check_real_destination` (or only the /proc
/// rule of `check_proc_destination`), the test still passed, since `verified_proc` refused
/// the fake /proc; with `verified_proc`'s procfs check removed as well, create went on
/// until a later mount failed elsewhere, and the test failed.
#[test]
fn a_proc_that_is_not_procfs_is_refused() {
    let mut c = Ctx::new("sec-fake-proc");
    let rootfs = c.private_rootfs();
    std::os::unix::fs::symlink("/proc", rootfs.join("myproc")).unwrap();
    c.config["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"destination": "/myproc", "type": "tmpfs", "source": "tmpfs"}));
    c.expect_create_error("/proc");

    let mut c = Ctx::new("sec-fake-proc-bind");
    let fake = c.base.join("fake-proc");
    std::fs::create_dir_all(fake.join("sys/kernel")).unwrap();
    std::fs::write(fake.join("sys/kernel/domainname"), "untouched").unwrap();
    c.config["mounts"].as_array_mut().unwrap().push(
        json!({"destination": "/proc", "type": "bind", "source": fake, "options": ["rbind"]}),
    );
    c.config["linux"]["sysctl"] = json!({"kernel.domainname": "attacker.example"});
    c.expect_create_error("/proc");
    assert_eq!(
        std::fs::read_to_string(fake.join("sys/kernel/domainname")).unwrap(),
        "untouched",
        "nothing written into the fake /proc"
    );
}

/// A rootfs whose own /dev is used (no /dev tmpfs in the spec) and whose /dev/null is not
/// the null device. CVE-2025-31133: masking with a /dev/null that is a symlink (here to
/// the kernel's core_pattern) would bind that file over the masked paths. brig opens
/// /dev/null without following it, checks it is char 1:3, and refuses otherwise.
///
/// Checked against a broken brig: without the char 1:3 check in `rootfs::mask_paths`,
/// create succeeded with the planted /dev/null bound over the masked paths; the test failed.
#[test]
fn a_planted_dev_null_is_never_used_for_masking() {
    for planted in ["symlink", "file"] {
        let mut c = Ctx::new("sec-dev-null-plant");
        let rootfs = c.private_rootfs();
        let mounts = c.config["mounts"].as_array_mut().unwrap();
        mounts.retain(|m| m["destination"] != "/dev");
        let null = rootfs.join("dev/null");
        let _ = std::fs::remove_file(&null);
        if planted == "symlink" {
            std::os::unix::fs::symlink("/proc/sys/kernel/core_pattern", &null).unwrap();
        } else {
            std::fs::write(&null, "not the null device").unwrap();
        }
        c.set_args(&["sh", "-c", "cat /proc/kcore; echo ran"]);
        let err = c.expect_create_error("not the null device");
        assert!(err.contains("char 1:3"), "{planted}: {err}");
    }
}

/// CVE-2025-52565: the pty slave brig binds onto /dev/console and hands to the process is
/// the master's own peer (TIOCGPTPEER), never a path. Here the image's /dev/pts/ptmx leads
/// to the real devpts (mounted at /dev/pts2) while /dev/pts/0 is a symlink to the kernel's
/// core_pattern: a slave opened by path would bind that file over /dev/console.
///
/// Checked against a broken brig: with `tty::open_pty` opening /dev/pts/N by path (N from
/// TIOCGPTN), brig bound core_pattern over /dev/console and only failed later, at
/// TIOCSCTTY ("not a typewriter"); the test failed.
#[test]
fn the_console_is_the_ptys_own_peer_not_a_path() {
    use std::os::unix::net::UnixListener;
    let mut c = Ctx::new("sec-console");
    let rootfs = c.private_rootfs();
    let mounts = c.config["mounts"].as_array_mut().unwrap();
    mounts.retain(|m| m["destination"] != "/dev");
    for m in mounts.iter_mut().filter(|m| m["destination"] == "/dev/pts") {
        m["destination"] = json!("/dev/pts2");
    }
    let dev = rootfs.join("dev");
    let status = std::process::Command::new("mknod")
        .args(["-m", "666"])
        .arg(dev.join("null"))
        .args(["c", "1", "3"])
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::create_dir_all(dev.join("pts")).unwrap();
    std::os::unix::fs::symlink("/dev/pts2/ptmx", dev.join("pts/ptmx")).unwrap();
    std::os::unix::fs::symlink("/proc/sys/kernel/core_pattern", dev.join("pts/0")).unwrap();
    c.config["process"]["terminal"] = json!(true);
    c.set_args(&["probe", "--stat", "/dev/console"]);
    c.write_config();
    let sock = c.base.join("console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let receiver = std::thread::spawn(move || recv_with_fd(&listener.accept().unwrap().0).1);
    let out = c
        .cmd()
        .args(["create", "--console-socket"])
        .arg(&sock)
        .arg("--bundle")
        .arg(&c.bundle)
        .arg(&c.id)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let mut master = std::fs::File::from(receiver.join().unwrap());
    assert!(c.brig(&["start", &c.id]).status.success());
    let mut text = String::new();
    let mut buf = [0u8; 4096];
    // The probe prints one line of JSON; the pty turns its newline into \r\n.
    while !text.ends_with("}\r\n") {
        match std::io::Read::read(&mut master, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => text.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    let r: serde_json::Value =
        serde_json::from_str(&text[text.find('{').unwrap()..=text.rfind('}').unwrap()]).unwrap();
    let console = &r["stat"]["/dev/console"];
    assert_eq!(
        (console["type"].as_str(), console["major"].as_i64()),
        (Some("char"), Some(136)),
        "/dev/console is the pty: {console}"
    );
    assert_eq!(r["tty"], true);
    c.wait_status("stopped");
    assert!(c.brig(&["delete", &c.id]).status.success());
    c.assert_clean();
}

/// A capability the spec grants but brig itself does not hold (its caller's bounding set
/// lacks it, as CAP_SYS_RESOURCE in some sandboxes) cannot be given: create fails naming
/// the capability and the field, instead of a bare capset EPERM.
#[test]
fn a_capability_brig_does_not_hold_is_an_error_naming_it() {
    let mut c = Ctx::new("sec-cap-not-held");
    for set in ["bounding", "effective", "permitted"] {
        c.config["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap()
            .push(json!("CAP_SYS_NICE"));
    }
    c.set_args(&["true"]);
    c.write_config();
    let out = std::process::Command::new("setpriv")
        .args(["--bounding-set", "-sys_nice", BRIG, "--root"])
        .arg(&c.root)
        .args(["run", "--bundle"])
        .arg(&c.bundle)
        .arg(&c.id)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("process.capabilities.permitted: CAP_SYS_NICE cannot be granted"),
        "{err}"
    );
    c.assert_clean();
}

/// CVE-2025-52881: a mount placed over a /proc file brig writes to (by a racing process or
/// a propagated mount in the real attack; here by a createContainer hook, which runs in
/// the container's mount namespace after /proc is mounted) must not receive the write.
/// brig opens /proc files beneath the verified procfs root with RESOLVE_NO_XDEV and checks
/// the fd is on procfs; create fails naming the field and the decoy keeps its content.
///
/// Checked against a broken brig: with `procfs::ProcRoot::write` replaced by a plain
/// open-and-write of /proc/PATH, create succeeded and wrote the sysctl into the decoy;
/// the test failed. (The unit test `procfs::tests` covers each check on its own.)
#[test]
fn a_mount_over_a_proc_file_never_receives_brigs_write() {
    for (field, target, set) in [
        (
            "linux.sysctl.kernel.shmmax",
            "proc/sys/kernel/shmmax",
            json!({"linux": {"sysctl": {"kernel.shmmax": "12345"}}}),
        ),
        (
            "process.oomScoreAdj",
            // The container's procfs: the init is pid 1 there.
            "proc/1/oom_score_adj",
            json!({"process": {"oomScoreAdj": 500}}),
        ),
    ] {
        let mut c = Ctx::new("sec-proc-redirect");
        let decoy = c.base.join("decoy");
        std::fs::write(&decoy, "untouched\n").unwrap();
        let rootfs = fixture_rootfs();
        let script = format!(
            "mount --bind {} {}/{target}",
            decoy.display(),
            rootfs.display()
        );
        c.config["hooks"] = json!({"createContainer": [
            {"path": "/bin/sh", "args": ["sh", "-c", script]}
        ]});
        if let Some(sysctl) = set["linux"]["sysctl"].as_object() {
            c.config["linux"]["sysctl"] = json!(sysctl);
        } else {
            c.config["process"]["oomScoreAdj"] = set["process"]["oomScoreAdj"].clone();
        }
        let err = c.expect_create_error(field);
        assert!(err.contains("another mount covers it"), "{err}");
        assert_eq!(
            std::fs::read_to_string(&decoy).unwrap(),
            "untouched\n",
            "{field}: nothing written into the decoy"
        );
    }
}

/// The control: without a mount over them, the same writes land in the container's /proc.
#[test]
fn sysctls_and_oom_score_adj_reach_the_containers_proc() {
    let mut c = Ctx::new("sec-proc-write");
    c.config["linux"]["sysctl"] = json!({"kernel.shmmax": "12345"});
    c.config["process"]["oomScoreAdj"] = json!(500);
    let r = c.probe(&["--sysctl", "kernel.shmmax"]);
    assert_eq!(r["sysctl"]["kernel.shmmax"], "12345");
    assert_eq!(r["oom_score_adj"], 500);
    c.assert_clean();
}
