use std::path::Path;

use clap::ArgMatches;

use super::{id, Globals};
use crate::cli::MatchesExt;
use crate::lifecycle::create::{create, CreateOptions};
use crate::support::error::{Error, Result};

/// The create/run flags shared by both commands.
pub fn options<'a>(g: &Globals, m: &'a ArgMatches, for_run: bool) -> CreateOptions<'a> {
    CreateOptions {
        id: id(m),
        bundle: Path::new(m.str("bundle").unwrap_or(".")),
        pid_file: m.str("pid-file").map(Path::new),
        console_socket: m.str("console-socket").map(Path::new),
        pidfd_socket: m.str("pidfd-socket").map(Path::new),
        no_pivot: m.bool("no-pivot"),
        no_new_keyring: m.bool("no-new-keyring"),
        preserve_fds: m.get_one::<u32>("preserve-fds").copied().unwrap_or(0),
        systemd_cgroup: g.systemd_cgroup,
        rootless: g.rootless(),
        for_run,
        detach: !for_run || m.bool("detach"),
    }
}

pub fn run(g: &Globals, m: &ArgMatches) -> Result<i32> {
    let created = create(&g.root, &options(g, m, false))
        .map_err(|e| Error::msg(format!("brig create failed: {e}")))?;
    created.init.send_wait_for_start()?;
    crate::support::crash::point("create: init committed");
    Ok(0)
}
