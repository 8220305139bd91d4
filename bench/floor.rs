//! brig-floor: the least work that runs a bundle's process as its config.json asks, for
//! `make bench` to measure how far brig is from what the kernel itself costs. Not a
//! runtime: no state, no lock, no checks, no hooks, no error handling (any failure
//! panics), and only what runc's default spec and the bench's bundles use.
//!
//! Usage: brig-floor BUNDLE ID  (runs the process in the foreground, like `run`, and
//! exits with its status; the cgroup at linux.cgroupsPath is made and removed), or
//! brig-floor exec BUNDLE PID ARGS...  (like `exec` into the container whose init is PID).
//!
//! The work, in the order brig does it: the cgroup (its directories, the device rules),
//! a clone into the spec's new namespaces (born in the cgroup on v2, moved into it on
//! v1), loopback up, session and keyring, the rootfs bind and the spec's mounts, the
//! default devices, pivot_root, hostname, masked and read-only paths, a read-only root,
//! rlimits, the user, capabilities, no_new_privs, the same seccomp filter (compiled by
//! brig's own code, as are the v2 device program's instructions), execve.

use std::ffi::CString;
use std::fs;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::{makedev, mknod, Mode, SFlag};
use serde_json::Value;

const CGROUP_ROOT: &str = "/sys/fs/cgroup";
type NoStr = Option<&'static str>;
const NONE: NoStr = None;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args[1] == "exec" {
        return exec(Path::new(&args[2]), args[3].parse().unwrap(), &args[4..]);
    }
    let (bundle, id) = (Path::new(&args[1]), &args[2]);
    let spec = read_spec(bundle);
    let linux = &spec["linux"];
    let cgroups = make_cgroup(linux);

    let mut flags = 0;
    for ns in linux["namespaces"].as_array().into_iter().flatten() {
        flags |= match ns["type"].as_str().unwrap() {
            "pid" => libc::CLONE_NEWPID,
            "network" => libc::CLONE_NEWNET,
            "ipc" => libc::CLONE_NEWIPC,
            "uts" => libc::CLONE_NEWUTS,
            "mount" => libc::CLONE_NEWNS,
            "cgroup" => 0, // unshared once inside the cgroup
            other => panic!("brig-floor: namespace {other} not supported"),
        };
    }
    let pid = cgroups.clone_into(&cgroups.open(), flags);
    if pid == 0 {
        set_up_container(&spec, bundle, id);
        become_process(&spec, &spec["process"]["args"]);
    }
    let code = wait(pid);
    cgroups.remove();
    std::process::exit(code);
}

/// `brig-floor exec BUNDLE PID ARGS...`: ARGS as the bundle's process, in the namespaces of
/// the running init PID and in the bundle's cgroup.
fn exec(bundle: &Path, init: i32, args: &[String]) {
    let spec = read_spec(bundle);
    let cgroups = Cgroups::existing(spec["linux"]["cgroupsPath"].as_str().unwrap());
    let opened = cgroups.open();
    for ns in ["ipc", "uts", "net", "pid", "mnt"] {
        let fd = fs::File::open(format!("/proc/{init}/ns/{ns}")).unwrap();
        let same = fs::read_link(format!("/proc/self/ns/{ns}")).unwrap()
            == fs::read_link(format!("/proc/{init}/ns/{ns}")).unwrap();
        if !same {
            // The pid namespace applies to the child cloned next.
            nix::sched::setns(fd, nix::sched::CloneFlags::empty()).unwrap();
        }
    }
    let pid = cgroups.clone_into(&opened, 0);
    if pid == 0 {
        let args = Value::from(args.to_vec());
        become_process(&spec, &args);
    }
    std::process::exit(wait(pid));
}

fn read_spec(bundle: &Path) -> Value {
    serde_json::from_slice(&fs::read(bundle.join("config.json")).unwrap()).expect("config.json")
}

fn wait(pid: i32) -> i32 {
    match nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None).unwrap() {
        nix::sys::wait::WaitStatus::Exited(_, code) => code,
        _ => 128,
    }
}

enum Cgroups {
    V1(Vec<PathBuf>),
    V2(PathBuf),
}

impl Cgroups {
    fn existing(path: &str) -> Cgroups {
        let rel = path.trim_start_matches('/');
        if Path::new(CGROUP_ROOT).join("cgroup.controllers").exists() {
            return Cgroups::V2(Path::new(CGROUP_ROOT).join(rel));
        }
        Cgroups::V1(v1_hierarchies().iter().map(|h| h.join(rel)).collect())
    }

    /// What `clone_into` needs, opened before an exec joins the container's mount namespace:
    /// the v2 directory, or the v1 cgroup.procs files.
    fn open(&self) -> Vec<fs::File> {
        match self {
            Cgroups::V2(dir) => vec![fs::File::open(dir).unwrap()],
            Cgroups::V1(dirs) => dirs
                .iter()
                .map(|d| {
                    fs::OpenOptions::new()
                        .write(true)
                        .open(d.join("cgroup.procs"))
                        .unwrap()
                })
                .collect(),
        }
    }

    /// fork with namespace flags into the cgroup: born there on v2, moved on v1.
    fn clone_into(&self, opened: &[fs::File], flags: libc::c_int) -> i32 {
        if let Cgroups::V2(_) = self {
            return brig::support::sys::clone_fork_into_cgroup(flags, opened[0].as_fd()).unwrap();
        }
        let pid = brig::support::sys::clone_fork(flags).unwrap();
        if pid == 0 {
            for mut f in opened {
                f.write_all(b"0").unwrap();
            }
        }
        pid
    }

    fn remove(&self) {
        let dirs = match self {
            Cgroups::V1(d) => d.clone(),
            Cgroups::V2(d) => vec![d.clone()],
        };
        for d in dirs {
            // The reaped init can linger in the cgroup for a moment.
            while let Err(e) = fs::remove_dir(&d) {
                assert_eq!(e.raw_os_error(), Some(libc::EBUSY), "rmdir {}", d.display());
                std::thread::yield_now();
            }
        }
    }
}

/// The cgroup's directories and device rules (runc's defaults after the spec's own).
fn make_cgroup(linux: &Value) -> Cgroups {
    let path = linux["cgroupsPath"]
        .as_str()
        .expect("an absolute cgroupsPath");
    let spec_rules: Vec<oci_spec::runtime::LinuxDeviceCgroup> =
        serde_json::from_value(linux["resources"]["devices"].clone()).unwrap_or_default();
    let rules = brig::cgroups::devices::rules(&spec_rules);
    let cgroups = Cgroups::existing(path);
    match &cgroups {
        Cgroups::V2(dir) => {
            fs::create_dir_all(dir).unwrap();
            let prog = brig::cgroups::devices::bpf_program(&rules);
            let insns = brig::cgroups::devices::encode(&prog);
            let prog = brig::support::sys::bpf_load_cgroup_device(&insns, c"Apache-2.0").unwrap();
            let fd = fs::File::open(dir).unwrap();
            brig::support::sys::bpf_attach_cgroup_device(fd.as_fd(), prog.as_fd()).unwrap();
        }
        Cgroups::V1(dirs) => {
            for d in dirs {
                fs::create_dir_all(d).unwrap();
                if d.starts_with("/sys/fs/cgroup/cpuset") {
                    for f in ["cpuset.cpus", "cpuset.mems"] {
                        let parent = fs::read_to_string(d.parent().unwrap().join(f)).unwrap();
                        fs::write(d.join(f), parent.trim()).unwrap();
                    }
                }
                if d.starts_with("/sys/fs/cgroup/devices") {
                    for r in &rules {
                        let file = if r.allow {
                            "devices.allow"
                        } else {
                            "devices.deny"
                        };
                        fs::write(d.join(file), r.v1_line()).unwrap();
                    }
                }
            }
        }
    }
    cgroups
}

fn v1_hierarchies() -> Vec<PathBuf> {
    fs::read_to_string("/proc/self/mounts")
        .unwrap()
        .lines()
        .filter(|l| l.split(' ').nth(2) == Some("cgroup"))
        .map(|l| PathBuf::from(l.split(' ').nth(1).unwrap()))
        .collect()
}

/// Inside the new namespaces: what a new container needs before its process.
fn set_up_container(spec: &Value, bundle: &Path, id: &str) {
    let linux = &spec["linux"];
    let has_ns = |t: &str| {
        linux["namespaces"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|n| n["type"] == t)
    };
    if has_ns("cgroup") {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP).unwrap();
    }
    if has_ns("network") {
        brig::support::sys::set_interface_up(c"lo").unwrap();
    }
    nix::unistd::setsid().unwrap();
    brig::support::sys::join_session_keyring(&CString::new(format!("_ses.{id}")).unwrap()).unwrap();
    nix::sys::stat::umask(Mode::empty());

    let root = bundle.join(spec["root"]["path"].as_str().unwrap());
    mount(NONE, "/", NONE, MsFlags::MS_SLAVE | MsFlags::MS_REC, NONE).unwrap();
    mount(
        Some(&root),
        &root,
        NONE,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        NONE,
    )
    .unwrap();
    for m in spec["mounts"].as_array().into_iter().flatten() {
        spec_mount(m, &root, linux["cgroupsPath"].as_str().unwrap());
    }
    make_devices(&root);

    nix::unistd::chdir(&root).unwrap();
    nix::unistd::pivot_root(".", ".").unwrap();
    mount(NONE, ".", NONE, MsFlags::MS_SLAVE | MsFlags::MS_REC, NONE).unwrap();
    umount2(".", MntFlags::MNT_DETACH).unwrap();
    nix::unistd::chdir("/").unwrap();

    if let Some(h) = spec["hostname"].as_str() {
        nix::unistd::sethostname(h).unwrap();
    }
    for p in strings(&linux["readonlyPaths"]) {
        if Path::new(&p).exists() {
            mount(
                Some(p.as_str()),
                p.as_str(),
                NONE,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                NONE,
            )
            .unwrap();
            let ro = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
            mount(NONE, p.as_str(), NONE, ro | MsFlags::MS_REC, NONE).unwrap();
        }
    }
    for p in strings(&linux["maskedPaths"]) {
        match fs::metadata(&p) {
            Ok(m) if m.is_dir() => mount(
                Some("tmpfs"),
                p.as_str(),
                Some("tmpfs"),
                MsFlags::MS_RDONLY,
                NONE,
            )
            .unwrap(),
            Ok(_) => mount(Some("/dev/null"), p.as_str(), NONE, MsFlags::MS_BIND, NONE).unwrap(),
            Err(_) => {}
        }
    }
    if spec["root"]["readonly"] == true {
        let ro = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        mount(NONE, "/", NONE, ro, NONE).unwrap();
    }
}

/// The process's rlimits, cwd, user, capabilities, no_new_privs and seccomp, then execve.
fn become_process(spec: &Value, args: &Value) -> ! {
    let linux = &spec["linux"];
    let process = &spec["process"];
    for r in process["rlimits"].as_array().into_iter().flatten() {
        let resource = match r["type"].as_str().unwrap() {
            "RLIMIT_NOFILE" => libc::RLIMIT_NOFILE,
            "RLIMIT_NPROC" => libc::RLIMIT_NPROC,
            "RLIMIT_CORE" => libc::RLIMIT_CORE,
            other => panic!("brig-floor: rlimit {other} not supported"),
        };
        let lim = libc::rlimit {
            rlim_cur: r["soft"].as_u64().unwrap(),
            rlim_max: r["hard"].as_u64().unwrap(),
        };
        // SAFETY: lim is a valid rlimit for the call.
        assert_eq!(unsafe { libc::setrlimit(resource, &lim) }, 0);
    }
    nix::unistd::chdir(process["cwd"].as_str().unwrap_or("/")).unwrap();

    let seccomp = linux.get("seccomp").map(|s| {
        let s: oci_spec::runtime::LinuxSeccomp = serde_json::from_value(s.clone()).unwrap();
        brig::security::seccomp::prepare(&s).unwrap()
    });
    let caps = &process["capabilities"];
    let set = |name: &str| -> u64 {
        strings(&caps[name])
            .iter()
            .map(|c| 1u64 << c.parse::<caps::Capability>().unwrap().index())
            .fold(0, |a, b| a | b)
    };
    let bounding = set("bounding");
    for cap in caps::all() {
        if bounding & (1 << cap.index()) == 0 {
            caps::drop(None, caps::CapSet::Bounding, cap).unwrap();
        }
    }
    let user = &process["user"];
    let (uid, gid) = (user["uid"].as_u64().unwrap(), user["gid"].as_u64().unwrap());
    nix::sys::prctl::set_keepcaps(true).unwrap();
    nix::unistd::setgroups(&[]).unwrap();
    nix::unistd::setgid(nix::unistd::Gid::from_raw(gid as u32)).unwrap();
    nix::unistd::setuid(nix::unistd::Uid::from_raw(uid as u32)).unwrap();
    brig::support::sys::capset(set("effective"), set("permitted"), set("inheritable")).unwrap();
    for c in strings(&caps["ambient"]) {
        // As in runc: an ambient capability not also inheritable is refused, and ignored.
        let _ = caps::raise(None, caps::CapSet::Ambient, c.parse().unwrap());
    }
    nix::sys::stat::umask(Mode::from_bits_truncate(0o022));
    if process["noNewPrivileges"] == true {
        nix::sys::prctl::set_no_new_privs().unwrap();
    }
    if let Some(filter) = seccomp {
        filter.load().unwrap();
    }

    let env: Vec<CString> = strings(&process["env"])
        .into_iter()
        .map(|e| CString::new(e).unwrap())
        .collect();
    let argv: Vec<CString> = strings(args)
        .into_iter()
        .map(|a| CString::new(a).unwrap())
        .collect();
    let path = env
        .iter()
        .find_map(|e| e.to_str().unwrap().strip_prefix("PATH="))
        .unwrap_or("/bin");
    let arg0 = argv[0].to_str().unwrap();
    let exe = if arg0.contains('/') {
        PathBuf::from(arg0)
    } else {
        path.split(':')
            .map(|d| Path::new(d).join(arg0))
            .find(|p| p.exists())
            .expect("args[0] in PATH")
    };
    let exe = CString::new(exe.into_os_string().into_encoded_bytes()).unwrap();
    nix::unistd::execve(&exe, &argv, &env).unwrap();
    unreachable!()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// One entry of `mounts`: its flags and data from the options; `cgroup` as runc does on a
/// host without a cgroup namespace (the container's own directories, bound read-only).
fn spec_mount(m: &Value, root: &Path, cgroups_path: &str) {
    let dest = root.join(m["destination"].as_str().unwrap().trim_start_matches('/'));
    let fstype = m["type"].as_str().unwrap_or("none");
    let (mut flags, mut data) = (MsFlags::empty(), Vec::new());
    for o in strings(&m["options"]) {
        match o.as_str() {
            "nosuid" => flags |= MsFlags::MS_NOSUID,
            "noexec" => flags |= MsFlags::MS_NOEXEC,
            "nodev" => flags |= MsFlags::MS_NODEV,
            "ro" => flags |= MsFlags::MS_RDONLY,
            "strictatime" => flags |= MsFlags::MS_STRICTATIME,
            "relatime" => flags |= MsFlags::MS_RELATIME,
            "bind" => flags |= MsFlags::MS_BIND,
            "rbind" => flags |= MsFlags::MS_BIND | MsFlags::MS_REC,
            "rw" => {}
            other => data.push(other.to_string()),
        }
    }
    fs::create_dir_all(&dest).unwrap();
    if fstype == "cgroup" || fstype == "cgroup2" {
        return mount_cgroups(&dest, flags, cgroups_path);
    }
    let data = data.join(",");
    let data = (!data.is_empty()).then_some(data.as_str());
    let source = m["source"].as_str().unwrap_or("none");
    mount(Some(source), &dest, Some(fstype), flags, data).unwrap();
    if flags.contains(MsFlags::MS_BIND) && flags.contains(MsFlags::MS_RDONLY) {
        mount(NONE, &dest, NONE, flags | MsFlags::MS_REMOUNT, NONE).unwrap();
    }
}

fn mount_cgroups(dest: &Path, flags: MsFlags, cgroups_path: &str) {
    let rel = cgroups_path.trim_start_matches('/');
    let bind_ro = |src: &Path, to: &Path| {
        mount(
            Some(src),
            to,
            NONE,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            NONE,
        )
        .unwrap();
        let ro = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        mount(NONE, to, NONE, ro | flags, NONE).unwrap();
    };
    if Path::new(CGROUP_ROOT).join("cgroup.controllers").exists() {
        return bind_ro(&Path::new(CGROUP_ROOT).join(rel), dest);
    }
    let writable = flags - MsFlags::MS_RDONLY;
    mount(
        Some("tmpfs"),
        dest,
        Some("tmpfs"),
        writable,
        Some("mode=755"),
    )
    .unwrap();
    for h in v1_hierarchies() {
        let sub = dest.join(h.file_name().unwrap());
        fs::create_dir_all(&sub).unwrap();
        bind_ro(&h.join(rel), &sub);
    }
    if flags.contains(MsFlags::MS_RDONLY) {
        let ro = MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | writable;
        mount(NONE, dest, NONE, ro, NONE).unwrap();
    }
}

/// runc's default devices as nodes, and its /dev symlinks (brig's own lists).
fn make_devices(root: &Path) {
    let dev = root.join("dev");
    for (name, major, minor) in brig::init::rootfs::DEFAULT_DEVICES {
        let mode = Mode::from_bits_truncate(0o666);
        mknod(&dev.join(name), SFlag::S_IFCHR, mode, makedev(major, minor)).unwrap();
    }
    for (target, link) in brig::init::rootfs::DEFAULT_LINKS {
        symlink(target, dev.join(link)).unwrap();
    }
}
