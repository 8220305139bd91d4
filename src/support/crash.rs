//! Crash points for the reliability tests. `BRIG_CRASH_AT=COMMAND:N` makes brig SIGKILL
//! itself when the COMMAND it runs (create, run, start, exec, delete) reaches its Nth
//! numbered step, as the OOM killer or a caller's timeout would. The tests then check that
//! `state` still answers, `delete --force` clears everything, and the id can be reused.
//! Unset, a crash point costs one atomic load.

use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};

pub const ENV: &str = "BRIG_CRASH_AT";

/// The step to die at (0: none), and the process that may die: never a forked child.
static AT: AtomicU32 = AtomicU32::new(0);
static OWNER: AtomicI32 = AtomicI32::new(0);
static REACHED: AtomicU32 = AtomicU32::new(0);

/// Read $BRIG_CRASH_AT for the subcommand about to run.
pub fn arm(command: &str) {
    let Ok(spec) = std::env::var(ENV) else {
        return;
    };
    let Some((cmd, n)) = spec.split_once(':') else {
        return;
    };
    if let (true, Ok(n)) = (cmd == command, n.parse::<u32>()) {
        OWNER.store(std::process::id() as i32, Ordering::Relaxed);
        AT.store(n, Ordering::Relaxed);
    }
}

/// A numbered step: the place named in the debug log, so a failing test can say where.
pub fn point(name: &str) {
    let at = AT.load(Ordering::Relaxed);
    if at == 0 || std::process::id() as i32 != OWNER.load(Ordering::Relaxed) {
        return;
    }
    if REACHED.fetch_add(1, Ordering::Relaxed) + 1 == at {
        crate::support::logging::log(
            crate::support::logging::Level::Debug,
            &format!("crash point {at} ({name}): SIGKILL"),
        );
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
}
