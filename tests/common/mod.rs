//! The integration-test kit: a container per test with its own id, state root, bundle and
//! absolute cgroupsPath, cleaned up on drop and checked for leftovers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{json, Value};

pub const BRIG: &str = env!("CARGO_BIN_EXE_brig");

/// The fixture root filesystem built by `make fixtures` (rootfs-fixtures/build-rootfs.sh).
/// A container whose root is mapped to another uid (a user namespace) must be able to
/// reach it: in a checkout under a directory closed to others (/root), a copy in
/// /tmp/brig-it is used, made afresh once per test binary.
pub fn fixture_rootfs() -> PathBuf {
    static REACHABLE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    REACHABLE
        .get_or_init(|| {
            use std::os::unix::fs::PermissionsExt;
            let p = std::env::var_os("BRIG_TEST_ROOTFS")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fixtures/rootfs")
                });
            assert!(
                p.join("bin/probe").exists(),
                "fixture rootfs missing at {}: run `make fixtures` (or `make test`)",
                p.display()
            );
            let open_to_all = p
                .ancestors()
                .skip(1)
                .all(|a| std::fs::metadata(a).is_ok_and(|m| m.permissions().mode() & 0o001 != 0));
            if open_to_all {
                return p;
            }
            let copy = Path::new("/tmp/brig-it")
                .join(format!("fixture{}", p.to_string_lossy().replace('/', "_")));
            let tmp = copy.with_extension(format!("tmp{}", std::process::id()));
            std::fs::create_dir_all("/tmp/brig-it").unwrap();
            assert_root_owned(Path::new("/tmp/brig-it"));
            let _ = std::fs::remove_dir_all(&tmp);
            let ok = Command::new("cp")
                .arg("-a")
                .arg(&p)
                .arg(&tmp)
                .status()
                .unwrap()
                .success();
            assert!(ok, "copy the fixture rootfs to {}", tmp.display());
            let _ = std::fs::remove_dir_all(&copy);
            std::fs::rename(&tmp, &copy).unwrap();
            copy
        })
        .clone()
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub struct Ctx {
    pub id: String,
    pub base: PathBuf,
    pub root: PathBuf,
    pub bundle: PathBuf,
    pub cgroup: String,
    pub config: Value,
    /// Rootless contexts: brig runs as this (uid, gid), with no --root.
    pub user: Option<(u32, u32)>,
    /// Rootless contexts: the cgroup (a directory) brig is started in, as a user's
    /// session would sit in its delegated cgroup2 subtree.
    pub start_cgroup: Option<PathBuf>,
}

impl Ctx {
    /// A fresh container context with runc's default spec (from `brig spec`), the fixture
    /// rootfs, and `probe` as the process.
    pub fn new(name: &str) -> Ctx {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let id = format!("{name}-{}-{n}", std::process::id());
        let base = PathBuf::from("/tmp/brig-it").join(&id);
        let _ = std::fs::remove_dir_all(&base);
        let bundle = base.join("bundle");
        std::fs::create_dir_all(&bundle).unwrap();
        let out = Command::new(BRIG)
            .args(["spec", "--bundle"])
            .arg(&bundle)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "brig spec: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut config: Value =
            serde_json::from_slice(&std::fs::read(bundle.join("config.json")).unwrap()).unwrap();
        let cgroup = format!("/brig-test-{id}");
        config["root"]["path"] = json!(fixture_rootfs());
        // runc's default asks for a terminal; tests that want one say so.
        config["process"]["terminal"] = json!(false);
        config["process"]["args"] = json!(["probe"]);
        config["linux"]["cgroupsPath"] = json!(cgroup);
        Ctx {
            id,
            root: base.join("state"),
            bundle,
            base,
            cgroup,
            config,
            user: None,
            start_cgroup: None,
        }
    }

    /// A context for a user without root (`rootless_user`): the base directory is theirs,
    /// with XDG_RUNTIME_DIR in it, so brig's default root is `base/xdg/brig`; the config is
    /// what `brig spec --rootless` gives that user, with a private rootfs they own, `probe`
    /// as the process and the usual absolute cgroupsPath (which they may not create).
    pub fn rootless(name: &str) -> Ctx {
        let (uid, gid) = rootless_user();
        let mut c = Ctx::new(name);
        c.user = Some((uid, gid));
        c.root = c.base.join("xdg/brig");
        std::fs::create_dir(c.base.join("xdg")).unwrap();
        std::fs::remove_file(c.bundle.join("config.json")).unwrap();
        let rootfs = c.private_rootfs();
        chown_tree(&c.base, uid, gid);
        std::fs::set_permissions(
            c.base.join("xdg"),
            <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700),
        )
        .unwrap();
        let out = c
            .cmd()
            .args(["spec", "--rootless", "--bundle"])
            .arg(&c.bundle)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "brig spec --rootless: {}",
            stderr(&out)
        );
        c.config =
            serde_json::from_slice(&std::fs::read(c.bundle.join("config.json")).unwrap()).unwrap();
        c.config["root"]["path"] = json!(rootfs);
        c.config["process"]["terminal"] = json!(false);
        c.config["process"]["args"] = json!(["probe"]);
        c.config["linux"]["cgroupsPath"] = json!(c.cgroup);
        c
    }

    /// Give this container a private copy of the fixture rootfs (for tests that write to it
    /// or plant symlinks in it).
    pub fn private_rootfs(&mut self) -> PathBuf {
        let dest = self.base.join("rootfs");
        let ok = Command::new("cp")
            .arg("-a")
            .arg(fixture_rootfs())
            .arg(&dest)
            .status()
            .unwrap()
            .success();
        assert!(ok, "copy the fixture rootfs");
        self.config["root"]["path"] = json!(dest);
        dest
    }

    /// Run `create` expecting a failure whose message contains `needle`; check that
    /// nothing is left behind.
    pub fn expect_create_error(&self, needle: &str) -> String {
        let out = self.create();
        let err = stderr(&out);
        assert_eq!(
            out.status.code(),
            Some(1),
            "create should fail with exit 1: {err}"
        );
        assert!(
            err.contains(needle),
            "error should mention {needle:?}: {err}"
        );
        self.assert_clean();
        err
    }

    pub fn write_config(&self) {
        let path = self.bundle.join("config.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&self.config).unwrap()).unwrap();
        if let Some((uid, gid)) = self.user {
            std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
        }
    }

    pub fn set_args(&mut self, args: &[&str]) -> &mut Self {
        self.config["process"]["args"] = json!(args);
        self
    }

    /// brig with this context's --root.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(BRIG);
        match self.user {
            None => {
                c.arg("--root").arg(&self.root);
            }
            Some((uid, gid)) => {
                use std::os::unix::ffi::OsStrExt;
                use std::os::unix::process::CommandExt;
                c = Command::new(rootless_brig());
                c.env("XDG_RUNTIME_DIR", self.base.join("xdg"));
                let procs = self.start_cgroup.as_ref().map(|d| {
                    std::ffi::CString::new(d.join("cgroup.procs").as_os_str().as_bytes()).unwrap()
                });
                let fail = || Err(std::io::Error::last_os_error());
                // Join the start cgroup while still root, then become the user.
                // SAFETY: only async-signal-safe calls (open, write, close, setgroups,
                // setgid, setuid) run between fork and exec.
                unsafe {
                    c.pre_exec(move || {
                        if let Some(p) = &procs {
                            let fd = libc::open(p.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                            if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                                return fail();
                            }
                            libc::close(fd);
                        }
                        if libc::setgroups(0, std::ptr::null()) != 0
                            || libc::setgid(gid) != 0
                            || libc::setuid(uid) != 0
                        {
                            return fail();
                        }
                        Ok(())
                    });
                }
            }
        }
        c.stdin(Stdio::null());
        c
    }

    pub fn brig(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// brig with this context's --root, which must succeed; a failure shows its stderr.
    pub fn brig_ok(&self, args: &[&str]) -> Output {
        let out = self.brig(args);
        assert!(out.status.success(), "brig {args:?}: {}", stderr(&out));
        out
    }

    /// `brig run --bundle B ID` with the config written, ready for stdio settings.
    pub fn run_cmd(&self) -> Command {
        self.write_config();
        let mut c = self.cmd();
        c.args(["run", "--bundle"]).arg(&self.bundle).arg(&self.id);
        c
    }

    /// `brig run -d`: the container keeps brig's stdio, so it gets /dev/null, not pipes
    /// (reading a pipe would wait for the container to exit).
    pub fn run_detached(&self) {
        self.write_config();
        // brig's errors go to a file, which the container inherits (a pipe would block).
        let err_path = self.base.join("run-d.err");
        let status = self
            .cmd()
            .args(["run", "-d", "--bundle"])
            .arg(&self.bundle)
            .arg(&self.id)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err_path).unwrap())
            .status()
            .unwrap();
        assert!(
            status.success(),
            "brig run -d failed: {}",
            std::fs::read_to_string(&err_path).unwrap_or_default()
        );
    }

    /// `brig run` in the foreground, returned once the container printed "ready".
    pub fn spawn_until_ready(&self) -> std::process::Child {
        let mut child = self.run_cmd().stdout(Stdio::piped()).spawn().unwrap();
        let mut buf = [0u8; 6];
        std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut buf).unwrap();
        assert_eq!(&buf, b"ready\n");
        child
    }

    /// `brig run` in the foreground, stdout captured.
    pub fn run(&self) -> Output {
        self.run_with(&[])
    }

    /// `brig run FLAGS --bundle B ID` in the foreground (config written), output captured.
    pub fn run_with(&self, flags: &[&str]) -> Output {
        self.write_config();
        self.cmd()
            .arg("run")
            .args(flags)
            .arg("--bundle")
            .arg(&self.bundle)
            .arg(&self.id)
            .output()
            .unwrap()
    }

    /// Run the probe with extra arguments and parse its report.
    pub fn probe(&mut self, probe_args: &[&str]) -> Value {
        let mut args = vec!["probe"];
        args.extend_from_slice(probe_args);
        self.set_args(&args);
        let out = self.run();
        assert!(
            out.status.success(),
            "brig run failed: {}\nstdout: {}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "probe output is not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// `brig create` with stdout/stderr of the container going to files in the base dir.
    pub fn create(&self) -> Output {
        self.create_with_flags(&[])
    }

    /// `create` with global flags before the subcommand (`--rootless=false`, ...).
    pub fn create_with_flags(&self, global: &[&str]) -> Output {
        self.write_config();
        let out_file = std::fs::File::create(self.base.join("container.out")).unwrap();
        let err_file = std::fs::File::create(self.base.join("container.err")).unwrap();
        // brig's own output is read from the same files: the container inherits them.
        self.cmd()
            .args(global)
            .args(["create", "--bundle"])
            .arg(&self.bundle)
            .arg(&self.id)
            .stdout(out_file)
            .stderr(err_file)
            .status()
            .map(|status| Output {
                status,
                stdout: Vec::new(),
                stderr: std::fs::read(self.base.join("container.err")).unwrap_or_default(),
            })
            .unwrap()
    }

    /// `brig create`, which must succeed; a failure shows the container's stderr.
    pub fn create_ok(&self) {
        let out = self.create();
        assert!(out.status.success(), "create: {}", stderr(&out));
    }

    pub fn container_stdout(&self) -> String {
        std::fs::read_to_string(self.base.join("container.out")).unwrap_or_default()
    }

    pub fn state(&self) -> Value {
        let out = self.brig(&["state", &self.id]);
        assert!(
            out.status.success(),
            "state: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Directories of this container's cgroup that exist on the host: the one directory
    /// under the cgroup2 mount on a pure v2 host, else one per v1 hierarchy (and the
    /// unified mount of a hybrid host).
    pub fn cgroup_dirs(&self) -> Vec<PathBuf> {
        if cgroup_v2() {
            let dir = Path::new("/sys/fs/cgroup").join(self.cgroup.trim_start_matches('/'));
            return if dir.exists() { vec![dir] } else { Vec::new() };
        }
        let mut found: Vec<PathBuf> = Vec::new();
        for entry in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
            let dir = entry.path().join(self.cgroup.trim_start_matches('/'));
            // A hierarchy mounted once appears under several names where systemd links
            // them (cpu and cpuacct to cpu,cpuacct): each directory counts once.
            let same =
                |d: &PathBuf| std::fs::canonicalize(d).ok() == std::fs::canonicalize(&dir).ok();
            if dir.exists() && !found.iter().any(same) {
                found.push(dir);
            }
        }
        found
    }

    /// Assert nothing of the container is left: state dir, cgroup, process.
    pub fn assert_clean(&self) {
        assert!(
            !self.root.join(&self.id).exists(),
            "state directory left behind"
        );
        let procs = Command::new("pgrep")
            .args(["-f", &format!("--bundle {}", self.bundle.display())])
            .output()
            .unwrap();
        assert!(
            procs.stdout.is_empty(),
            "process left behind: {}",
            String::from_utf8_lossy(&procs.stdout)
        );
        assert_eq!(
            self.cgroup_dirs(),
            Vec::<PathBuf>::new(),
            "cgroup left behind"
        );
        assert_host_dev_null_intact();
    }

    /// Wait (bounded) until the container reports a status.
    pub fn wait_status(&self, want: &str) {
        for _ in 0..500 {
            if self.state()["status"] == want {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("container never reached {want}: {}", self.state());
    }
}

impl Drop for Ctx {
    fn drop(&mut self) {
        let _ = self.cmd().args(["delete", "--force", &self.id]).output();
        if self.user.is_some() {
            // Root clears what the user could not.
            let _ = Command::new(BRIG)
                .arg("--root")
                .arg(&self.root)
                .args(["delete", "--force", &self.id])
                .output();
        }
        for dir in self.cgroup_dirs() {
            let _ = std::fs::remove_dir(dir);
        }
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

/// The user rootless tests run brig as: `brig-rootless`, made on first use with 65536
/// subordinate uids and gids (useradd gives them on Debian; added here if it did not).
/// Returns (uid, gid).
pub fn rootless_user() -> (u32, u32) {
    static USER: std::sync::OnceLock<(u32, u32)> = std::sync::OnceLock::new();
    *USER.get_or_init(|| {
        const NAME: &str = "brig-rootless";
        let id = |flag: &str| -> Option<u32> {
            let out = Command::new("id").args([flag, NAME]).output().ok()?;
            String::from_utf8_lossy(&out.stdout).trim().parse().ok()
        };
        if id("-u").is_none() {
            let out = Command::new("useradd")
                .args([
                    "--no-create-home",
                    "--user-group",
                    "--shell",
                    "/usr/sbin/nologin",
                ])
                .arg(NAME)
                .output()
                .unwrap();
            assert!(
                out.status.success() || id("-u").is_some(),
                "useradd: {}",
                stderr(&out)
            );
        }
        for file in ["/etc/subuid", "/etc/subgid"] {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            if text.lines().any(|l| l.starts_with(&format!("{NAME}:"))) {
                continue;
            }
            // After every range already given out.
            let start = text
                .lines()
                .filter_map(|l| {
                    let f: Vec<&str> = l.split(':').collect();
                    Some(f.get(1)?.parse::<u64>().ok()? + f.get(2)?.parse::<u64>().ok()?)
                })
                .fold(200_000, u64::max);
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(file)
                .unwrap();
            std::io::Write::write_all(&mut f, format!("{NAME}:{start}:65536\n").as_bytes())
                .unwrap();
        }
        (id("-u").unwrap(), id("-g").unwrap())
    })
}

/// BRIG where the rootless user can run it: the checkout may sit in a directory only
/// root can enter (/root), so the binary is copied to /tmp/brig-it/bin (replaced
/// atomically, one copy per checkout).
pub fn rootless_brig() -> PathBuf {
    static COPY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    COPY.get_or_init(|| {
        use std::os::unix::fs::PermissionsExt;
        let dir = Path::new("/tmp/brig-it/bin");
        std::fs::create_dir_all(dir).unwrap();
        assert_root_owned(Path::new("/tmp/brig-it"));
        assert_root_owned(dir);
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let dest = dir.join(BRIG.trim_start_matches('/').replace('/', "_"));
        let tmp = dest.with_extension(format!("tmp{}", std::process::id()));
        // Read and written whole, not std::fs::copy: its in-kernel copy from the v2 VM's
        // 9p mount was seen stuck there (one soft lockup in a dozen runs).
        std::fs::write(&tmp, std::fs::read(BRIG).unwrap()).unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::rename(&tmp, &dest).unwrap();
        dest
    })
    .clone()
}

/// What the kit puts in /tmp for other users (brig, the fixture) must sit in directories
/// only root can change: another user could otherwise swap them.
fn assert_root_owned(dir: &Path) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::symlink_metadata(dir).unwrap();
    assert!(
        m.is_dir() && m.uid() == 0 && m.mode() & 0o022 == 0,
        "{} must be a directory owned by root and writable only by it",
        dir.display()
    );
}

/// The first subordinate id given to `rootless_user` in /etc/subuid or /etc/subgid.
pub fn subordinate_start(file: &str) -> u32 {
    let text = std::fs::read_to_string(file).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("brig-rootless:"))
        .and_then(|rest| rest.split(':').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no brig-rootless range in {file}"))
}

/// chown -R
pub fn chown_tree(path: &Path, uid: u32, gid: u32) {
    let ok = Command::new("chown")
        .arg("-R")
        .arg(format!("{uid}:{gid}"))
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "chown -R {}", path.display());
}

/// Whether this host is a pure cgroup v2 host (cgroup2 mounted alone at /sys/fs/cgroup).
pub fn cgroup_v2() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// The path of one of the container's cgroup files: `v1_file` in the `v1_controller`
/// hierarchy on a v1 or hybrid host, `v2_file` in its one directory on a v2 host.
pub fn cg_path(c: &Ctx, v1_controller: &str, v1_file: &str, v2_file: &str) -> PathBuf {
    if cgroup_v2() {
        PathBuf::from(format!("/sys/fs/cgroup{}/{v2_file}", c.cgroup))
    } else {
        PathBuf::from(format!(
            "/sys/fs/cgroup/{v1_controller}{}/{v1_file}",
            c.cgroup
        ))
    }
}

/// One of the container's cgroup files, trimmed (see `cg_path`), e.g.
/// `read_cg(&c, "memory", "memory.limit_in_bytes", "memory.max")`.
pub fn read_cg(c: &Ctx, v1_controller: &str, v1_file: &str, v2_file: &str) -> String {
    let path = cg_path(c, v1_controller, v1_file, v2_file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_string()
}

/// The inode of a process's namespace (`file` as in /proc/PID/ns: mnt, net, pid, ...).
pub fn ns_inode(pid: &str, file: &str) -> u64 {
    let link = std::fs::read_link(format!("/proc/{pid}/ns/{file}")).unwrap();
    let s = link.to_string_lossy();
    s[s.find('[').unwrap() + 1..s.len() - 1].parse().unwrap()
}

/// The namespace inode of this (host) process.
pub fn host_ns(name: &str) -> u64 {
    ns_inode("self", name)
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The fd numbers open in the probe.
pub fn fd_numbers(report: &Value) -> Vec<i64> {
    report["fds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fd"].as_i64().unwrap())
        .collect()
}

/// Find a mount by mount point in a probe report.
pub fn mount<'a>(report: &'a Value, point: &str) -> Option<&'a Value> {
    report["mounts"]
        .as_array()?
        .iter()
        .rev()
        .find(|m| m["mount_point"] == point)
}

/// The host's /dev/null as no container may leave it: the null device (char 1:3), owned
/// by root, mode 0666. Checked by every `assert_clean`.
pub fn assert_host_dev_null_intact() {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let m = std::fs::metadata("/dev/null").unwrap();
    assert!(m.file_type().is_char_device(), "host /dev/null: {m:?}");
    assert_eq!(m.rdev(), libc::makedev(1, 3), "host /dev/null device");
    assert_eq!((m.uid(), m.gid()), (0, 0), "host /dev/null owner");
    assert_eq!(m.mode() & 0o7777, 0o666, "host /dev/null mode");
}

/// One message from a unix socket and the fd sent with it (SCM_RIGHTS), as a console
/// socket or a seccomp agent receives them.
pub fn recv_with_fd(sock: &impl std::os::fd::AsRawFd) -> (Vec<u8>, std::os::fd::OwnedFd) {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    use std::os::fd::{FromRawFd, OwnedFd, RawFd};
    let mut buf = vec![0u8; 65536];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )
    .unwrap();
    let mut fd = None;
    for c in msg.cmsgs().unwrap() {
        if let ControlMessageOwned::ScmRights(fds) = c {
            // SAFETY: the kernel just gave us this fd; nothing else owns it.
            fd = fds.first().map(|&f| unsafe { OwnedFd::from_raw_fd(f) });
        }
    }
    let n = msg.bytes;
    buf.truncate(n);
    (buf, fd.expect("an fd came with the message"))
}
