use clap::ArgMatches;

use super::{id, Globals};
use crate::support::error::Result;

pub fn run(g: &Globals, m: &ArgMatches) -> Result<i32> {
    crate::lifecycle::start::start(&g.root, id(m))?;
    Ok(0)
}
