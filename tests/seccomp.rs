//! linux.seccomp: the filter is loaded, rules bite, and a profile that blocks what setup
//! needs cannot break the init (it is loaded last).

mod common;

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::mpsc;

use common::*;
use libseccomp::{ScmpNotifReq, ScmpNotifResp, ScmpNotifRespFlags};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use serde_json::{json, Value};

#[test]
fn a_seccomp_profile_is_loaded() {
    let mut c = Ctx::new("sc-loaded");
    c.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], "syscalls": [{"names": ["no_such_syscall_name", "kexec_load"], "action": "SCMP_ACT_ERRNO"}]});
    let r = c.probe(&[]);
    assert_eq!(r["seccomp"], 2, "filter mode");
    c.assert_clean();
}

#[test]
fn a_blocked_syscall_returns_the_configured_errno_even_one_setup_needs() {
    let mut c = Ctx::new("sc-errno");
    // getcwd is also what the init uses to check the cwd: the filter must come after it.
    c.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]});
    let r = c.probe(&[]);
    assert_eq!(
        r["cwd"],
        serde_json::Value::Null,
        "getcwd failed inside the container"
    );
    c.assert_clean();
}

#[test]
fn argument_conditions_select_the_calls_that_fail() {
    let mut c = Ctx::new("sc-args");
    // personality(0xffffffff) (a query) fails; personality(0) does not.
    c.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "args": [{"index": 0, "value": 4294967295u64, "op": "SCMP_CMP_EQ"}]}]});
    let r = c.probe(&[]);
    assert_eq!(
        r["personality"], -1,
        "the query is refused: {}",
        r["personality"]
    );
    c.assert_clean();
}

#[test]
fn kill_action_kills_the_process() {
    let mut c = Ctx::new("sc-kill");
    c.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_KILL"}]});
    c.set_args(&["probe"]);
    let out = c.run();
    assert_eq!(
        out.status.code(),
        Some(128 + libc::SIGSYS),
        "killed by SIGSYS: {}",
        stderr(&out)
    );
    c.assert_clean();
}

#[test]
fn a_profile_without_close_range_works_without_no_new_privs() {
    let mut c = Ctx::new("sc-old-profile");
    // Older profiles (Docker's before 2021) lack close_range; without no_new_privs the
    // filter is loaded before the user switch, so setup after it must not need the call.
    c.config["process"]["noNewPrivileges"] = json!(false);
    c.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["close_range"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]});
    let r = c.probe(&[]);
    let fds: Vec<i64> = fd_numbers(&r);
    assert_eq!(fds, [0, 1, 2]);
    c.assert_clean();
}

#[test]
fn a_failure_after_create_is_reported_on_the_containers_stderr() {
    let mut c = Ctx::new("sc-late-error");
    c.config["process"]["noNewPrivileges"] = json!(false);
    c.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["execve"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]});
    let out = c.run();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("brig: exec") && stderr(&out).contains("operation not permitted"),
        "{}",
        stderr(&out)
    );
    c.assert_clean();
}

/// How the test agent answers the n-th notification (counted per connection).
type Answer = fn(&ScmpNotifReq, usize) -> ScmpNotifResp;

/// A seccomp agent written for the tests: it accepts connections at `path`, reads the
/// state document and the listener fd of each, reports the document, and answers that
/// fd's notifications until every process using the filter is gone.
struct Agent {
    path: PathBuf,
    states: mpsc::Receiver<Value>,
}

impl Agent {
    fn start(c: &Ctx, answer: Answer) -> Agent {
        let path = c.base.join("agent.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let (tx, states) = mpsc::channel();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let (doc, fd) = recv_with_fd(&conn);
                let state = serde_json::from_slice(&doc).expect("the state document is JSON");
                let _ = tx.send(state);
                std::thread::spawn(move || serve(fd, answer));
            }
        });
        Agent { path, states }
    }

    /// The next state document brig sent (bounded by the test's own timeout).
    fn state(&self) -> Value {
        self.states
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("the agent got no state from brig")
    }
}

/// Answer notifications; stop when the filter has no process left (POLLHUP).
fn serve(fd: OwnedFd, answer: Answer) {
    let mut n = 0;
    loop {
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, PollTimeout::NONE).is_err() {
            return;
        }
        let revents = fds[0].revents().unwrap_or(PollFlags::empty());
        if !revents.contains(PollFlags::POLLIN) {
            return;
        }
        let Ok(req) = ScmpNotifReq::receive(fd.as_raw_fd()) else {
            continue;
        };
        let _ = answer(&req, n).respond(fd.as_raw_fd());
        n += 1;
    }
}

/// The first mkdir fails with EDQUOT (an errno nothing else would give), the next ones
/// run as if unfiltered.
fn first_mkdir_fails(req: &ScmpNotifReq, n: usize) -> ScmpNotifResp {
    if n == 0 {
        ScmpNotifResp::new_error(req.id, -libc::EDQUOT, ScmpNotifRespFlags::empty())
    } else {
        ScmpNotifResp::new_continue(req.id, ScmpNotifRespFlags::empty())
    }
}

fn notify_mkdir(agent: &Agent) -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": agent.path,
        "listenerMetadata": "test-agent-metadata",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]
    })
}

#[test]
fn a_notify_rule_is_answered_by_the_agent_at_listener_path() {
    let mut c = Ctx::new("sc-notify");
    let agent = Agent::start(&c, first_mkdir_fails);
    c.config["linux"]["seccomp"] = notify_mkdir(&agent);
    c.config["annotations"] = json!({"org.example.key": "value"});
    c.set_args(&[
        "sh",
        "-c",
        "mkdir /dev/shm/a; echo a=$?; mkdir /dev/shm/b; echo b=$?; test -d /dev/shm/b && echo b-exists",
    ]);
    let out = c.create();
    assert!(out.status.success(), "create: {}", stderr(&out));
    // The agent has its fd once create returns; the document is runc's
    // ContainerProcessState.
    let doc = agent.state();
    let pid = c.state()["pid"].as_i64().unwrap();
    assert_eq!(doc["fds"], json!(["seccompFd"]), "{doc}");
    assert_eq!(doc["pid"], pid, "{doc}");
    assert_eq!(doc["metadata"], "test-agent-metadata", "{doc}");
    assert!(doc["ociVersion"].as_str().is_some_and(|v| !v.is_empty()));
    let state = &doc["state"];
    assert_eq!(state["id"], c.id.as_str(), "{doc}");
    assert_eq!(state["status"], "creating", "{doc}");
    assert_eq!(state["pid"], pid, "{doc}");
    assert_eq!(state["bundle"], json!(c.bundle), "{doc}");
    assert_eq!(state["annotations"]["org.example.key"], "value", "{doc}");
    assert!(c.brig(&["start", &c.id]).status.success());
    c.wait_status("stopped");
    let out = c.container_stdout();
    assert!(out.contains("a=1\n"), "the agent's errno: {out}");
    assert!(out.contains("b=0\nb-exists"), "the agent let it run: {out}");
    assert!(c.brig(&["delete", &c.id]).status.success());
    c.assert_clean();
}

#[test]
fn an_exec_process_gets_its_own_listener_with_the_running_state() {
    let mut c = Ctx::new("sc-notify-exec");
    let agent = Agent::start(&c, first_mkdir_fails);
    c.config["linux"]["seccomp"] = notify_mkdir(&agent);
    c.set_args(&["sleep", "60"]);
    assert!(c.create().status.success());
    let init = agent.state();
    let out = c.brig(&["exec", &c.id, "sh", "-c", "mkdir /dev/shm/c; echo c=$?"]);
    assert_eq!(stdout(&out), "c=1\n", "{}", stderr(&out));
    let doc = agent.state();
    let init_pid = c.state()["pid"].as_i64().unwrap();
    assert_eq!(init["pid"], init_pid);
    assert_eq!(doc["state"]["status"], "running", "{doc}");
    assert_eq!(doc["state"]["pid"], init_pid, "{doc}");
    assert_ne!(doc["pid"], init_pid, "the exec'd process: {doc}");
    assert!(c.brig(&["delete", "--force", &c.id]).status.success());
    c.assert_clean();
}

#[test]
fn notify_without_a_listener_path_is_an_error_naming_it() {
    let mut c = Ctx::new("sc-notify-nopath");
    c.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]});
    c.expect_create_error("linux.seccomp.listenerPath");
}

#[test]
fn notify_cannot_catch_what_brig_needs_to_pass_the_fd() {
    let mut c = Ctx::new("sc-notify-refused");
    let path = c.base.join("agent.sock");
    c.config["linux"]["seccomp"] =
        json!({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": path});
    c.expect_create_error("linux.seccomp.defaultAction");
    c.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": path,
        "syscalls": [{"names": ["getppid", "sendmsg"], "action": "SCMP_ACT_NOTIFY"}]});
    c.expect_create_error("linux.seccomp.syscalls[0].names[1]");
}

#[test]
fn an_agent_that_is_not_listening_fails_create_and_leaves_nothing() {
    let mut c = Ctx::new("sc-notify-noagent");
    let path = c.base.join("nobody.sock");
    c.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": path,
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]});
    c.expect_create_error("failed to connect with seccomp agent specified in the seccomp profile");
}

const FLAGS: [&str; 4] = [
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

#[test]
fn each_filter_flag_is_accepted_and_the_filter_loaded() {
    // Effects are not visible from inside: TSYNC has one thread to sync, LOG writes to the
    // kernel log, SPEC_ALLOW only shows on CPUs that mitigate store bypass (not this VM's),
    // WAIT_KILLABLE_RECV needs a listener (next test). Each must load, alone and together.
    for flag in FLAGS {
        let mut c = Ctx::new("sc-flag");
        c.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": [flag],
            "syscalls": [{"names": ["kexec_load"], "action": "SCMP_ACT_ERRNO"}]});
        let r = c.probe(&[]);
        assert_eq!(r["seccomp"], 2, "filter mode with {flag}");
        c.assert_clean();
    }
    let mut c = Ctx::new("sc-flags");
    c.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": FLAGS,
        "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]});
    let r = c.probe(&[]);
    assert_eq!(r["seccomp"], 2);
    assert_eq!(r["cwd"], Value::Null, "the rules still bite");
    c.assert_clean();
}

#[test]
fn every_flag_works_with_a_listener() {
    // TSYNC with a listener needs TSYNC_ESRCH from brig; WAIT_KILLABLE_RECV needs the
    // listener itself.
    let mut c = Ctx::new("sc-flags-notify");
    let agent = Agent::start(&c, first_mkdir_fails);
    c.config["linux"]["seccomp"] = notify_mkdir(&agent);
    c.config["linux"]["seccomp"]["flags"] = json!(FLAGS);
    c.set_args(&["sh", "-c", "mkdir /dev/shm/a; echo a=$?"]);
    let out = c.run();
    assert_eq!(stdout(&out), "a=1\n", "{}", stderr(&out));
    assert_eq!(agent.state()["state"]["id"], c.id.as_str());
    c.assert_clean();
}

#[test]
fn an_unknown_flag_is_an_error_naming_it() {
    let mut c = Ctx::new("sc-flag-unknown");
    c.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_NO_SUCH"]});
    c.expect_create_error("linux.seccomp.flags[1]");
}

/// `features` is what CRI-O and containerd decide from: everything it lists must work,
/// together, and an architecture it leaves out must be refused.
#[test]
fn features_lists_exactly_what_a_profile_can_use() {
    let out = std::process::Command::new(BRIG)
        .arg("features")
        .output()
        .unwrap();
    let features: Value = serde_json::from_slice(&out.stdout).unwrap();
    let seccomp = &features["linux"]["seccomp"];
    assert_eq!(seccomp["enabled"], true);
    let list = |key: &str| -> Vec<String> {
        seccomp[key]
            .as_array()
            .unwrap_or_else(|| panic!("features lack linux.seccomp.{key}"))
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let (actions, operators, archs) = (list("actions"), list("operators"), list("archs"));
    assert_eq!(list("knownFlags"), FLAGS);
    assert_eq!(actions.len(), 9, "{actions:?}");
    assert_eq!(operators.len(), 7, "{operators:?}");
    assert!(archs.iter().any(|a| a == "SCMP_ARCH_X86_64"), "{archs:?}");

    let mut c = Ctx::new("sc-features");
    let agent = Agent::start(&c, first_mkdir_fails);
    // Each action on a syscall of its own that the probe never makes.
    let unused = [
        "kexec_load",
        "init_module",
        "delete_module",
        "swapon",
        "swapoff",
        "acct",
        "pivot_root",
        "quotactl",
        "reboot",
    ];
    let mut rules: Vec<Value> = actions
        .iter()
        .zip(unused)
        .map(|(a, name)| json!({"names": [name], "action": a}))
        .collect();
    // Each operator on an argument of setns, which the probe never calls.
    rules.extend(operators.iter().map(|op| {
        json!({"names": ["setns"], "action": "SCMP_ACT_ERRNO",
            "args": [{"index": 1, "value": 1, "valueTwo": 1, "op": op}]})
    }));
    c.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": archs,
        "flags": list("supportedFlags"),
        "listenerPath": agent.path,
        "syscalls": rules,
    });
    let r = c.probe(&[]);
    assert_eq!(r["seccomp"], 2);
    c.assert_clean();

    // An architecture the spec knows but features leave out (here: of the other byte
    // order) is refused, naming it.
    let mut c = Ctx::new("sc-features-arch");
    let absent = ["SCMP_ARCH_S390X", "SCMP_ARCH_PPC64", "SCMP_ARCH_MIPS"]
        .into_iter()
        .find(|a| !archs.iter().any(|l| l == a))
        .expect("one big-endian architecture is left out on this host");
    c.config["linux"]["seccomp"] =
        json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", absent]});
    c.expect_create_error("linux.seccomp.architectures[1]");
}

/// Calls a default container has no business making: mounts and namespaces, the kernel's
/// own state (modules, kexec, swap, reboot, clock, accounting, keys, BPF, perf), and
/// handles that reach around the root. brig's own list, in the spirit of the default
/// profiles of Docker and Podman, which hand runtimes an allow list of everything else.
const DENIED: &[&str] = &[
    "mount",
    "umount2",
    "unshare",
    "setns",
    "pivot_root",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    "init_module",
    "finit_module",
    "delete_module",
    "create_module",
    "query_module",
    "get_kernel_syms",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "swapon",
    "swapoff",
    "syslog",
    "acct",
    "bpf",
    "perf_event_open",
    "lookup_dcookie",
    "quotactl",
    "quotactl_fd",
    "iopl",
    "ioperm",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "add_key",
    "keyctl",
    "request_key",
    "open_by_handle_at",
    "userfaultfd",
    "vhangup",
    "nfsservctl",
    "uselib",
    "_sysctl",
    // Allowed below only with harmless arguments.
    "personality",
    "clone",
    "clone3",
    "socket",
];

/// A profile shaped like the ones Docker and Podman send once they have resolved their
/// capability and architecture conditions: an errno default, one long allow list (every
/// x86_64 syscall libseccomp knows, less `DENIED`), and argument conditions on a few calls.
fn default_shaped_profile(default_errno: u32) -> Value {
    use libseccomp::{ScmpArch, ScmpSyscall};
    let allowed: Vec<String> = (0..1024)
        .filter_map(|nr| ScmpSyscall::from(nr).get_name_by_arch(ScmpArch::X8664).ok())
        .filter(|name| !DENIED.contains(&name.as_str()))
        .collect();
    assert!(
        allowed.len() > 300,
        "libseccomp knows {} names",
        allowed.len()
    );
    let allow_if = |name: &str, index: u32, op: &str, value: u64, value_two: u64| {
        json!({"names": [name], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": index, "op": op, "value": value, "valueTwo": value_two}]})
    };
    let mut syscalls = vec![json!({"names": allowed, "action": "SCMP_ACT_ALLOW"})];
    // personality: Linux, 32-bit Linux, UNAME26 on either, and the query.
    for persona in [0, 0x8, 0x20000, 0x20008, 0xffff_ffff] {
        syscalls.push(allow_if("personality", 0, "SCMP_CMP_EQ", persona, 0));
    }
    // clone without a CLONE_NEW* flag (the mask of all of them must match nothing).
    syscalls.push(allow_if("clone", 0, "SCMP_CMP_MASKED_EQ", 0x7E02_0000, 0));
    // Every socket family but AF_VSOCK (40).
    syscalls.push(allow_if("socket", 0, "SCMP_CMP_NE", 40, 0));
    // clone3 cannot be filtered by its flags (they are behind a pointer): ENOSYS makes
    // libc fall back to clone.
    syscalls.push(json!({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}));
    json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": default_errno,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": syscalls,
    })
}

/// A shell session that uses what ordinary programs use, then calls that only the profile
/// can refuse (the container holds CAP_SYS_ADMIN, so without a filter they work).
const SESSION: &str = "set -e; ls / >/dev/null; grep -c root /etc/passwd; \
    echo hello | tee /dev/shm/f >/dev/null; cat /dev/shm/f; (sleep 0 & wait); linux32 true; \
    id -u; set +e; \
    unshare -m true; echo unshare=$?; mount -t tmpfs t /mnt; echo mount=$?; \
    swapon /dev/shm/f; echo swapon=$?";

fn with_sys_admin(c: &mut Ctx) {
    for set in ["bounding", "effective", "permitted"] {
        c.config["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap()
            .push(json!("CAP_SYS_ADMIN"));
    }
}

#[test]
fn the_shell_session_needs_a_profile_to_refuse_its_privileged_calls() {
    // The control for the two tests below: no filter, so unshare and mount work.
    let mut c = Ctx::new("sc-default-control");
    with_sys_admin(&mut c);
    c.set_args(&["sh", "-c", SESSION]);
    let out = c.run();
    let text = stdout(&out);
    assert!(
        text.contains("unshare=0\nmount=0\n"),
        "{text}{}",
        stderr(&out)
    );
    c.assert_clean();
}

#[test]
fn a_docker_shaped_default_profile_runs_a_shell_and_refuses_the_rest_with_eperm() {
    for nnp in [true, false] {
        let mut c = Ctx::new("sc-docker-shape");
        with_sys_admin(&mut c);
        c.config["process"]["noNewPrivileges"] = json!(nnp);
        c.config["linux"]["seccomp"] = default_shaped_profile(1);
        c.set_args(&["sh", "-c", SESSION]);
        let out = c.run();
        let (text, err) = (stdout(&out), stderr(&out));
        assert!(
            text.starts_with("1\nhello\n0\n"),
            "the shell works (nnp {nnp}): {text}{err}"
        );
        assert!(
            text.contains("unshare=1\nmount=1\nswapon=1\n"),
            "{text}{err}"
        );
        assert!(
            err.contains("unshare(0x20000): Operation not permitted"),
            "{err}"
        );
        assert!(err.contains("mount: permission denied"), "EPERM: {err}");
        assert!(err.contains("Operation not permitted"), "{err}");
        c.assert_clean();
    }
    // The probe (a static Rust program) runs under it too.
    let mut c = Ctx::new("sc-docker-shape-probe");
    c.config["linux"]["seccomp"] = default_shaped_profile(1);
    let r = c.probe(&[]);
    assert_eq!(r["seccomp"], 2);
    assert_eq!(fd_numbers(&r), [0, 1, 2]);
    c.assert_clean();
}

#[test]
fn a_podman_shaped_profile_answers_enosys_for_calls_it_does_not_list() {
    // Podman's default profile returns ENOSYS for what it does not know (so newer calls
    // fall back) and lists EPERM explicitly for what it refuses.
    let mut c = Ctx::new("sc-podman-shape");
    with_sys_admin(&mut c);
    let mut profile = default_shaped_profile(38);
    profile["syscalls"]
        .as_array_mut()
        .unwrap()
        .push(json!({"names": ["unshare", "mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}));
    c.config["linux"]["seccomp"] = profile;
    c.set_args(&["sh", "-c", SESSION]);
    let out = c.run();
    let (text, err) = (stdout(&out), stderr(&out));
    assert!(text.starts_with("1\nhello\n0\n"), "{text}{err}");
    assert!(
        err.contains("unshare(0x20000): Operation not permitted"),
        "{err}"
    );
    assert!(
        err.contains("swapon: /dev/shm/f: Function not implemented"),
        "{err}"
    );
    c.assert_clean();
}

/// Every x86_64 syscall name numbered up to `last`, less `except`: a profile written
/// before the calls after `last` existed.
fn names_up_to(last: &str, except: &[&str]) -> Vec<String> {
    use libseccomp::{ScmpArch, ScmpSyscall};
    let last = i32::from(ScmpSyscall::from_name_by_arch(last, ScmpArch::X8664).unwrap());
    (0..=last)
        .filter_map(|nr| ScmpSyscall::from(nr).get_name_by_arch(ScmpArch::X8664).ok())
        .filter(|name| !except.contains(&name.as_str()))
        .collect()
}

#[test]
fn syscalls_newer_than_the_profile_get_enosys_older_unlisted_ones_the_default() {
    // pidfd_open (434) is below the profile's last call, openat2 (437), and not allowed;
    // faccessat2 (439) is above it. Called with zero arguments they fail with EINVAL and
    // EFAULT when nothing filters them.
    let (older, newer) = ("434", "439");
    let profile = |extra: Value| {
        json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [
                {"names": names_up_to("openat2", &["pidfd_open"]), "action": "SCMP_ACT_ALLOW"},
                extra,
            ],
        })
    };
    let mut c = Ctx::new("sc-enosys");
    // A rule that only names a call old enough does not move the boundary.
    c.config["linux"]["seccomp"] =
        profile(json!({"names": ["acct"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}));
    let r = c.probe(&["--syscall", older, "--syscall", newer]);
    assert_eq!(r["seccomp"], 2);
    assert_eq!(r["syscalls"][older], json!({"errno": "EPERM"}), "{r}");
    assert_eq!(r["syscalls"][newer], json!({"errno": "ENOSYS"}), "{r}");
    c.assert_clean();

    // Naming a newer call (process_mrelease, 448) moves it: faccessat2 is now an unlisted
    // call the profile's author knew, so it gets the default errno.
    let mut c = Ctx::new("sc-enosys-named");
    c.config["linux"]["seccomp"] =
        profile(json!({"names": ["process_mrelease"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}));
    let r = c.probe(&["--syscall", newer, "--syscall", "448"]);
    assert_eq!(r["syscalls"][newer], json!({"errno": "EPERM"}), "{r}");
    assert_eq!(r["syscalls"]["448"], json!({"errno": "EACCES"}), "{r}");
    c.assert_clean();

    // No filter: the calls reach the kernel (the control for the errnos above).
    let mut c = Ctx::new("sc-enosys-control");
    let r = c.probe(&["--syscall", older, "--syscall", newer]);
    assert_eq!(r["syscalls"][older], json!({"errno": "EINVAL"}), "{r}");
    assert_eq!(r["syscalls"][newer], json!({"errno": "EFAULT"}), "{r}");
    c.assert_clean();

    // An ALLOW default needs no stub: the newer call reaches the kernel.
    let mut c = Ctx::new("sc-enosys-allow");
    c.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["acct"], "action": "SCMP_ACT_ERRNO"}]});
    let r = c.probe(&["--syscall", newer]);
    assert_eq!(r["syscalls"][newer], json!({"errno": "EFAULT"}), "{r}");
    c.assert_clean();
}

/// A profile that kills on every syscall it does not list, and lists none: the process
/// dies at its first syscall after the filter goes in. brig reports it and leaves nothing;
/// nothing waits forever on a process that can no longer answer.
#[test]
fn a_default_kill_profile_fails_promptly_and_leaves_nothing() {
    for action in ["SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS"] {
        let mut c = Ctx::new("sc-kill-all");
        c.config["linux"]["seccomp"] = json!({"defaultAction": action});
        c.set_args(&["true"]);
        let out = c.run();
        assert_ne!(out.status.code(), Some(0), "{action}");
        c.assert_clean();
        let out = c.create();
        if out.status.success() {
            let started = c.brig(&["start", &c.id]);
            assert!(started.status.code().is_some(), "{action}");
            c.brig_ok(&["delete", "--force", &c.id]);
        }
        c.assert_clean();
    }
}
