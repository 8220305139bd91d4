use clap::ArgMatches;

use super::{id, Globals};
use crate::cli::MatchesExt;
use crate::support::error::Result;

pub fn run(g: &Globals, m: &ArgMatches) -> Result<i32> {
    crate::lifecycle::delete::delete(&g.root, id(m), m.bool("force"))?;
    Ok(0)
}
