use clap::ArgMatches;

use super::Globals;
use crate::cli::MatchesExt;
use crate::lifecycle::run::{run as run_container, RunOptions};
use crate::support::error::Result;

pub fn run(g: &Globals, m: &ArgMatches) -> Result<i32> {
    let opts = RunOptions {
        create: super::create::options(g, m, true),
        keep: m.bool("keep"),
        no_subreaper: m.bool("no-subreaper"),
    };
    run_container(&g.root, &opts)
}
