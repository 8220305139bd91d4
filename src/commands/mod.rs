//! One file per subcommand: read the flags, call the library, print.

mod checkpoint;
mod create;
mod delete;
mod events;
mod exec;
mod features;
mod kill;
mod list;
mod pause;
mod ps;
mod run;
mod spec;
mod start;
mod state;
mod update;

use std::path::PathBuf;

use clap::ArgMatches;

use crate::cli::MatchesExt;
use crate::lifecycle::state::StateRoot;
use crate::support::error::{Error, Result};

/// The global flags every subcommand may need.
pub struct Globals {
    pub root: StateRoot,
    pub systemd_cgroup: bool,
    /// `--criu`: the criu binary for checkpoint and restore.
    pub criu: PathBuf,
    /// `--rootless true/false`; None for auto, decided when a command needs it.
    rootless: Option<bool>,
}

impl Globals {
    /// Rootless mode: cgroups this user may not create are skipped.
    pub fn rootless(&self) -> bool {
        self.rootless
            .unwrap_or_else(crate::lifecycle::rootless::detect)
    }
}

/// Run the chosen subcommand; Ok holds the process exit code.
pub fn dispatch(m: &ArgMatches) -> Result<i32> {
    let rootless = match m.str("rootless") {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => None,
    };
    let root = m
        .str("root")
        .map(PathBuf::from)
        .unwrap_or_else(crate::lifecycle::rootless::default_root);
    let g = Globals {
        root: StateRoot::new(&root),
        systemd_cgroup: m.bool("systemd-cgroup"),
        criu: PathBuf::from(m.str("criu").unwrap_or("criu")),
        rootless,
    };
    let Some((name, sub)) = m.subcommand() else {
        return Err(Error::msg("no command given; see brig --help"));
    };
    crate::support::crash::arm(name);
    match name {
        "create" => create::run(&g, sub),
        "run" => run::run(&g, sub),
        "start" => start::run(&g, sub),
        "state" => state::run(&g, sub),
        "kill" => kill::run(&g, sub),
        "delete" => delete::run(&g, sub),
        "list" => list::run(&g, sub),
        "exec" => exec::run(&g, sub),
        "pause" => pause::pause(&g, sub),
        "update" => update::run(&g, sub),
        "resume" => pause::resume(&g, sub),
        "ps" => ps::run(&g, sub),
        "events" => events::run(&g, sub),
        "spec" => spec::run(sub),
        "features" => features::run(),
        "checkpoint" => checkpoint::run_checkpoint(&g, sub),
        "restore" => checkpoint::run_restore(&g, sub),
        other => Err(Error::msg(format!("unknown command {other:?}"))),
    }
}

fn id(m: &ArgMatches) -> &str {
    m.str("id").expect("clap requires the id")
}
