use clap::ArgMatches;

use super::{id, Globals};
use crate::lifecycle::status;
use crate::lifecycle::status::OciState;
use crate::support::error::{Error, Result};

pub fn run(g: &Globals, m: &ArgMatches) -> Result<i32> {
    let id = id(m);
    let state = g.root.peek(id)?;
    let status = status::status(&g.root.dir().join(id), &state);
    // runc reports pid 0 for a stopped container.
    let pid = if status == status::Status::Stopped {
        0
    } else {
        state.pid
    };
    let doc = OciState::of(&state, status, pid);
    let json = serde_json::to_string_pretty(&doc).map_err(|e| Error::msg(e.to_string()))?;
    println!("{json}");
    Ok(0)
}
