use clap::ArgMatches;

use super::{id, Globals};
use crate::cli::MatchesExt;
use crate::support::error::Result;

pub fn run(g: &Globals, m: &ArgMatches) -> Result<i32> {
    let signal = m.str("signal").unwrap_or("SIGTERM");
    crate::lifecycle::kill::kill(&g.root, id(m), signal, m.bool("all"))?;
    Ok(0)
}
