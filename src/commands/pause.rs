use clap::ArgMatches;

use super::{id, Globals};
use crate::lifecycle::pause;
use crate::support::error::Result;

pub fn pause(g: &Globals, m: &ArgMatches) -> Result<i32> {
    pause::pause(&g.root, id(m))?;
    Ok(0)
}

pub fn resume(g: &Globals, m: &ArgMatches) -> Result<i32> {
    pause::resume(&g.root, id(m))?;
    Ok(0)
}
