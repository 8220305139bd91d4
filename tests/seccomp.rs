//! linux.seccomp: the filter is loaded, rules bite, and a profile that blocks what setup
//! needs cannot break the init (it is loaded last).

mod common;

use common::*;
use serde_json::json;

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
fn notify_is_refused_until_it_is_wired() {
    let mut c = Ctx::new("sc-notify");
    c.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]});
    c.expect_create_error("SCMP_ACT_NOTIFY");
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
