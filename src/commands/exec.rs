use std::path::Path;

use clap::ArgMatches;

use super::{id, Globals};
use crate::cli::MatchesExt;
use crate::lifecycle::exec::{exec, ExecOptions};
use crate::support::error::Result;
use crate::support::logging;

fn many(m: &ArgMatches, name: &str) -> Vec<String> {
    m.get_many::<String>(name)
        .into_iter()
        .flatten()
        .cloned()
        .collect()
}

pub fn run(g: &Globals, m: &ArgMatches) -> Result<i32> {
    let opts = ExecOptions {
        id: id(m),
        process_file: m.str("process").map(Path::new),
        args: many(m, "command"),
        cwd: m.str("cwd"),
        env: many(m, "env"),
        tty: m.bool("tty"),
        console_socket: m.str("console-socket").map(Path::new),
        pidfd_socket: m.str("pidfd-socket").map(Path::new),
        user: m.str("user"),
        additional_gids: many(m, "additional-gids"),
        caps: many(m, "cap"),
        no_new_privs: m.bool("no-new-privs"),
        apparmor: m.str("apparmor"),
        process_label: m.str("process-label"),
        preserve_fds: m.get_one::<u32>("preserve-fds").copied().unwrap_or(0),
        cgroup: many(m, "cgroup"),
        ignore_paused: m.bool("ignore-paused"),
        detach: m.bool("detach"),
        pid_file: m.str("pid-file").map(Path::new),
    };
    match exec(&g.root, &opts) {
        Ok(code) => Ok(code),
        // runc exits 255 when the exec itself fails, so callers can tell it from the
        // process's own exit code.
        Err(e) => {
            logging::fatal(&format!("exec failed: {e}"));
            Ok(255)
        }
    }
}
