use clap::ArgMatches;

use super::{id, Globals};
use crate::container::{self, OciState, Status};
use crate::error::{Error, Result};

pub fn run(g: &Globals, m: &ArgMatches) -> Result<i32> {
    let id = id(m);
    let state = g.root.peek(id)?;
    let status = container::status(&g.root.dir().join(id), &state);
    // runc reports pid 0 for a stopped container.
    let pid = if status == Status::Stopped {
        0
    } else {
        state.pid
    };
    let doc = OciState::of(&state, status, pid);
    let json = serde_json::to_string_pretty(&doc).map_err(|e| Error::msg(e.to_string()))?;
    println!("{json}");
    Ok(0)
}
