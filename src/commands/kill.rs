use clap::ArgMatches;

use super::{id, Globals};
use crate::cli::MatchesExt;
use crate::container::{self, Status};
use crate::error::{Error, Result};

pub fn run(g: &Globals, m: &ArgMatches) -> Result<i32> {
    let id = id(m);
    let sig = container::parse_signal(m.str("signal").unwrap_or("SIGTERM"))?;
    let state = g.root.peek(id)?;
    if container::status(&g.root.dir().join(id), &state) == Status::Stopped {
        return Err(Error::NotRunning);
    }
    container::signal(&state, sig, m.bool("all"))?;
    Ok(0)
}
