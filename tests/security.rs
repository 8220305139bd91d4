//! Regression tests for runtime escapes. Each was checked against the unfixed code.

mod common;

use common::*;

/// CVE-2019-5736: while the init waits for `start` it still runs brig's own binary; a
/// process exec'd into the container must not be able to open it through /proc/1/exe.
/// Without PR_SET_DUMPABLE 0 in the init this read succeeded (and returned ELF bytes).
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
