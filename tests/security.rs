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

/// A private rootfs whose own /dev is used (the spec's /dev tmpfs left out), holding a real
/// /dev/null; returns that /dev on the host, for a test to plant entries in.
fn image_dev_without_tmpfs(c: &mut Ctx) -> std::path::PathBuf {
    let dev = c.private_rootfs().join("dev");
    c.config["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["destination"] != "/dev");
    let status = std::process::Command::new("mknod")
        .args(["-m", "666"])
        .arg(dev.join("null"))
        .args(["c", "1", "3"])
        .status()
        .unwrap();
    assert!(status.success());
    dev
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
    let dev = image_dev_without_tmpfs(&mut c);
    let mounts = c.config["mounts"].as_array_mut().unwrap();
    for m in mounts.iter_mut().filter(|m| m["destination"] == "/dev/pts") {
        m["destination"] = json!("/dev/pts2");
    }
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

/// Add a capability to every set of the container's process.
fn grant(c: &mut Ctx, cap: &str) {
    for set in ["bounding", "effective", "permitted"] {
        c.config["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap()
            .push(json!(cap));
    }
}

/// CVE-2019-5736 with CAP_SYS_PTRACE, which non-dumpable does not stop: an exec'd process
/// opens the waiting init's /proc/1/exe (brig's image) read-only, waits until the init has
/// exec'd its program and no brig runs any more, then reopens that fd for writing (writing
/// nothing). brig's image must refuse it. brig runs from a private copy here, so that no
/// other test's brig keeps the image busy (ETXTBSY would hide the hole).
///
/// Checked against a broken brig: without `security::exe::reexec_read_only` (main.rs), the
/// reopen succeeded ("WRITABLE") and the test failed.
#[test]
fn brigs_image_cannot_be_reopened_for_writing_through_the_init_with_cap_sys_ptrace() {
    let mut c = Ctx::new("sec-exe-ptrace");
    let brig_copy = c.base.join("brig");
    std::fs::copy(BRIG, &brig_copy).unwrap();
    grant(&mut c, "CAP_SYS_PTRACE");
    c.set_args(&["sleep", "60"]);
    c.write_config();
    let brig = |args: &[&str]| {
        let mut cmd = std::process::Command::new(&brig_copy);
        cmd.arg("--root").arg(&c.root).args(args);
        cmd.stdin(std::process::Stdio::null());
        cmd
    };
    let status = brig(&["create", "--bundle", c.bundle.to_str().unwrap(), &c.id])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let script = "exec 3</proc/1/exe || { echo no-open; exit; }; i=0; \
        while [ \"$(readlink /proc/1/exe)\" != /bin/busybox ]; do \
        i=$((i+1)); [ $i -gt 400 ] && { echo init-never-execd; exit; }; sleep 0.05; done; \
        if (true >>/proc/self/fd/3) 2>/dev/null; then echo WRITABLE; else echo refused; fi";
    let result = c.base.join("attack.out");
    let status = brig(&["exec", "-d", &c.id, "sh", "-c", script])
        .stdout(std::fs::File::create(&result).unwrap())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(brig(&["start", &c.id]).status().unwrap().success());
    let mut said = String::new();
    for _ in 0..600 {
        said = std::fs::read_to_string(&result).unwrap_or_default();
        if said.ends_with('\n') {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        said, "refused\n",
        "the container reopened brig's image for writing"
    );
    assert!(brig(&["delete", "--force", &c.id])
        .status()
        .unwrap()
        .success());
    c.assert_clean();
}

/// The same for a process `exec` is setting up: it runs brig's image until its execve.
/// Here the container is paused, so the exec'd process stops (frozen) as soon as it joins
/// the container's cgroup, mid set-up; its /proc/PID/exe must lead to an image nobody can
/// write: a read-only mount, or a memfd sealed against writes.
///
/// Checked against a broken brig: without `security::exe::reexec_read_only`, the image
/// was brig's binary on a writable mount and the test failed.
#[test]
fn a_process_exec_is_setting_up_runs_from_a_read_only_image() {
    use std::os::fd::AsFd;
    let mut c = Ctx::new("sec-exe-exec");
    c.set_args(&["sleep", "60"]);
    c.run_detached();
    c.brig_ok(&["pause", &c.id]);
    let mut exec = c
        .cmd()
        .args(["exec", "--ignore-paused", &c.id, "true"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut child = None;
    for _ in 0..500 {
        let out = std::process::Command::new("pgrep")
            .args(["-P", &exec.id().to_string()])
            .output()
            .unwrap();
        child = stdout(&out).lines().next().map(str::to_string);
        if child.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let child = child.expect("exec forked a process");
    let image = std::fs::File::open(format!("/proc/{child}/exe")).unwrap();
    let read_only_mount = nix::sys::statvfs::fstatvfs(image.as_fd())
        .unwrap()
        .flags()
        .contains(nix::sys::statvfs::FsFlags::ST_RDONLY);
    let sealed = nix::fcntl::fcntl(&image, nix::fcntl::FcntlArg::F_GET_SEALS)
        .is_ok_and(|s| s & libc::F_SEAL_WRITE != 0);
    c.brig_ok(&["resume", &c.id]);
    assert!(exec.wait().unwrap().success());
    assert!(
        read_only_mount || sealed,
        "the process exec sets up runs a writable image of brig"
    );
    c.brig_ok(&["delete", "--force", &c.id]);
    c.assert_clean();
}

/// The LISTEN_ variables in a probe report's environment.
fn listen_env_of(r: &serde_json::Value) -> Vec<String> {
    r["env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e.as_str())
        .filter(|e| e.starts_with("LISTEN_"))
        .map(String::from)
        .collect()
}

/// The socket-activation checks for `run` and `exec` alike: `launch(fd3, listen_pid)`
/// starts brig with `fd3` open as fd 3 and LISTEN_FDS=1; a directory fails with
/// `dir_exit`.
fn check_listen_fds(
    host_file: &std::path::Path,
    dir: &std::path::Path,
    launch: impl Fn(&std::path::Path, &str) -> std::process::Output,
    dir_exit: i32,
) {
    // For another process (pid 1): nothing passed.
    let out = launch(host_file, "1");
    assert!(out.status.success(), "{}", stderr(&out));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(fd_numbers(&r), [0, 1, 2], "{}", r["fds"]);
    assert!(listen_env_of(&r).is_empty(), "{:?}", listen_env_of(&r));
    // For brig itself ($$ is the shell that execs brig): fd 3 and the variables.
    let out = launch(host_file, "$$");
    assert!(out.status.success(), "{}", stderr(&out));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(fd_numbers(&r), [0, 1, 2, 3], "{}", r["fds"]);
    assert_eq!(listen_env_of(&r), ["LISTEN_FDS=1", "LISTEN_PID=1"]);
    // A directory, even meant for brig: refused.
    let out = launch(dir, "$$");
    assert_eq!(out.status.code(), Some(dir_exit), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("LISTEN_FDS: fd 3 is a directory"),
        "{}",
        stderr(&out)
    );
}

/// systemd socket activation: LISTEN_FDS counts fds meant for the process LISTEN_PID
/// names. When that is not brig, whatever the caller has open at 3 (here a host file)
/// must not reach the container; when it is brig, the fds and the variables are passed
/// on; a directory is never passed (it would lead outside the root).
///
/// Checked against a broken brig: with LISTEN_PID ignored (`create::listen_fds`), fd 3 and
/// LISTEN_FDS=1 reached the container with LISTEN_PID=1, and the test failed.
#[test]
fn listen_fds_reach_the_container_only_when_meant_for_brig() {
    let c = Ctx::new("sec-listen-fds");
    let host_file = c.base.join("host-secret");
    std::fs::write(&host_file, "secret").unwrap();
    c.write_config();
    let run = |fd3: &std::path::Path, listen_pid: &str| {
        let script = format!(
            "exec 3<{}; LISTEN_FDS=1 LISTEN_PID={listen_pid} exec {BRIG} --root {} run --bundle {} {}",
            fd3.display(),
            c.root.display(),
            c.bundle.display(),
            c.id
        );
        std::process::Command::new("bash")
            .args(["-c", &script])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    check_listen_fds(&host_file, &c.base, run, 1);
    c.assert_clean();
}

/// The same rules for `exec` (runc's exec takes socket-activation fds as run does): a
/// caller's fd 3 reaches the exec'd process only when LISTEN_PID is brig's pid, with
/// LISTEN_FDS=1 and LISTEN_PID=1 in its environment; a directory never does.
///
/// Checked against a broken brig: with exec passing only --preserve-fds (no
/// `create::listen_fds`), the process meant for brig got fds 0-2 and no LISTEN_ variables,
/// and the test failed.
#[test]
fn listen_fds_reach_an_exec_only_when_meant_for_brig() {
    let mut c = Ctx::new("sec-listen-fds-exec");
    let host_file = c.base.join("host-secret");
    std::fs::write(&host_file, "secret").unwrap();
    c.set_args(&["sleep", "60"]);
    c.run_detached();
    let exec = |fd3: &std::path::Path, listen_pid: &str| {
        let script = format!(
            "exec 3<{}; LISTEN_FDS=1 LISTEN_PID={listen_pid} exec {BRIG} --root {} exec {} probe",
            fd3.display(),
            c.root.display(),
            c.id
        );
        std::process::Command::new("bash")
            .args(["-c", &script])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    // A directory: exec's own exit code for a failed exec, and the container goes on.
    check_listen_fds(&host_file, &c.base, exec, 255);
    assert_eq!(c.state()["status"], "running");
    c.brig_ok(&["delete", "--force", &c.id]);
    c.assert_clean();
}

/// uid or gid 4294967295 is (uid_t)-1, which setresuid/setresgid take as "leave
/// unchanged": the process would keep running as root. Refused as runc refuses ids
/// outside 0..2147483647, by field, for config.json and for `exec --user`.
///
/// Checked against a broken brig: without `spec::validate_user`, the container ran with
/// uid 0 (`run` succeeded) and the test failed; with only the validation removed from
/// exec, `exec --user 4294967295:4294967295` ran `id -u` as 0.
#[test]
fn ids_of_minus_one_are_refused_not_run_as_root() {
    for (field, user) in [
        ("process.user.uid", json!({"uid": 4294967295u32, "gid": 0})),
        ("process.user.gid", json!({"uid": 0, "gid": 4294967295u32})),
        (
            "process.user.additionalGids[1]",
            json!({"uid": 0, "gid": 0, "additionalGids": [1, 2147483648u32]}),
        ),
    ] {
        let mut c = Ctx::new("sec-uid-max");
        c.config["process"]["user"] = user;
        let err = c.expect_create_error(field);
        assert!(err.contains("must be in range 0-2147483647"), "{err}");
    }
    let mut c = Ctx::new("sec-uid-max-exec");
    c.set_args(&["sleep", "60"]);
    c.run_detached();
    for user in ["4294967295:4294967295", "1000:4294967295", "2147483648"] {
        let out = c.brig(&["exec", "--user", user, &c.id, "id", "-u"]);
        assert_ne!(out.status.code(), Some(0), "{user}: {}", stdout(&out));
        assert!(
            stderr(&out).contains(&format!("exec --user {user}: "))
                && stderr(&out).contains("must be in range 0-2147483647"),
            "{user}: {}",
            stderr(&out)
        );
    }
    let out = c.brig_ok(&["exec", "--user", "2147483647:2147483647", &c.id, "id", "-u"]);
    assert_eq!(stdout(&out), "2147483647\n");
    c.brig_ok(&["delete", "--force", &c.id]);
    c.assert_clean();
}

/// runtime-spec 1.1: a runtime SHOULD NOT fail on a capability name it does not know (a
/// newer kernel's, a typo). As runc: warned about ("ignoring unknown or unavailable
/// capabilities") and left out, in config.json, a process.json and `exec --cap`; the
/// known ones still apply.
#[test]
fn unknown_capability_names_are_warned_about_and_ignored() {
    let mut c = Ctx::new("sec-cap-unknown");
    for set in ["bounding", "effective", "permitted"] {
        c.config["process"]["capabilities"][set] = json!(["CAP_CHOWN", "CAP_FOO", ""]);
    }
    c.set_args(&["probe"]);
    let out = c.run();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("ignoring unknown or unavailable capabilities: [ CAP_FOO]"),
        "{}",
        stderr(&out)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["capabilities"]["effective"], json!(["CAP_CHOWN"]));

    c.set_args(&["sleep", "60"]);
    c.run_detached();
    let process = c.base.join("process.json");
    std::fs::write(
        &process,
        json!({"args": ["probe"], "cwd": "/", "user": {"uid": 0, "gid": 0}, "env": ["PATH=/bin:/usr/bin"],
               "capabilities": {"bounding": ["CAP_KILL", "CAP_BAR"],
                                "effective": ["CAP_KILL", "CAP_BAR"],
                                "permitted": ["CAP_KILL", "CAP_BAR"]}})
        .to_string(),
    )
    .unwrap();
    let out = c.brig_ok(&["exec", "--process", process.to_str().unwrap(), &c.id]);
    assert!(stderr(&out).contains("[CAP_BAR]"), "{}", stderr(&out));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["capabilities"]["effective"], json!(["CAP_KILL"]));
    let out = c.brig_ok(&["exec", "--cap", "CAP_BOGUS", &c.id, "true"]);
    assert!(
        stderr(&out).contains("ignoring unknown or unavailable capabilities: [CAP_BOGUS]"),
        "{}",
        stderr(&out)
    );
    c.brig_ok(&["delete", "--force", &c.id]);
    c.assert_clean();
}

/// An image whose /dev/console is a symlink to a host file (with no /dev tmpfs over it):
/// brig never follows it. The pty goes onto /dev/console by fd, or create is refused; the
/// host file keeps its content, owner and mode either way.
#[test]
fn a_dev_console_symlink_never_reaches_the_host_file() {
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::net::UnixListener;
    let mut c = Ctx::new("sec-console-link");
    let dev = image_dev_without_tmpfs(&mut c);
    let host_file = c.base.join("host-console");
    std::fs::write(&host_file, "host\n").unwrap();
    let before = std::fs::metadata(&host_file).unwrap();
    std::os::unix::fs::symlink(&host_file, dev.join("console")).unwrap();
    c.config["process"]["terminal"] = json!(true);
    c.set_args(&["sh", "-c", "echo written > /dev/console"]);
    c.write_config();
    let sock = c.base.join("console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    listener.set_nonblocking(true).unwrap();
    let out = c
        .cmd()
        .args(["create", "--console-socket"])
        .arg(&sock)
        .arg("--bundle")
        .arg(&c.bundle)
        .arg(&c.id)
        .output()
        .unwrap();
    let master = listener.accept().ok().map(|(s, _)| recv_with_fd(&s).1);
    if out.status.success() {
        c.brig_ok(&["start", &c.id]);
        c.wait_status("stopped");
        c.brig_ok(&["delete", &c.id]);
    }
    drop(master);
    let after = std::fs::metadata(&host_file).unwrap();
    assert_eq!(std::fs::read_to_string(&host_file).unwrap(), "host\n");
    assert_eq!(
        (after.uid(), after.gid(), after.mode()),
        (before.uid(), before.gid(), before.mode())
    );
    c.assert_clean();
}

/// A container that could not reach brig's image (its own pid namespace, no
/// CAP_SYS_PTRACE) is created without the re-exec, so its waiting init runs the writable
/// binary. What could reach that init later is refused until it has started: an exec
/// given CAP_SYS_PTRACE, and another container with CAP_SYS_PTRACE joining its pid
/// namespace. Once started, both are allowed.
///
/// Checked against a broken brig: without `exe::refuse_ptrace_near_waiting_init` (exec)
/// and `exe::refuse_joining_waiting_init` (namespaces), both succeeded and the test failed.
#[test]
fn cap_sys_ptrace_never_comes_near_an_init_made_without_the_read_only_image() {
    let mut waiting = Ctx::new("sec-exe-waiting");
    waiting.set_args(&["sleep", "60"]);
    waiting.create_ok();
    let out = waiting.brig(&["exec", "--cap", "CAP_SYS_PTRACE", &waiting.id, "true"]);
    assert_eq!(out.status.code(), Some(255), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot join a container whose init has not started"),
        "{}",
        stderr(&out)
    );
    let pid = waiting.state()["pid"].as_i64().unwrap();
    let mut joiner = Ctx::new("sec-exe-joiner");
    grant(&mut joiner, "CAP_SYS_PTRACE");
    for ns in joiner.config["linux"]["namespaces"].as_array_mut().unwrap() {
        if ns["type"] == "pid" {
            ns["path"] = json!(format!("/proc/{pid}/ns/pid"));
        }
    }
    joiner.set_args(&["true"]);
    let err =
        joiner.expect_create_error("linux.namespaces[0].path: this container holds CAP_SYS_PTRACE");
    assert!(err.contains("has not started"), "{err}");

    waiting.brig_ok(&["start", &waiting.id]);
    waiting.brig_ok(&["exec", "--cap", "CAP_SYS_PTRACE", &waiting.id, "true"]);
    let out = joiner.run();
    assert!(out.status.success(), "{}", stderr(&out));
    joiner.assert_clean();
    waiting.brig_ok(&["delete", "--force", &waiting.id]);
    waiting.assert_clean();
}
