use clap::ArgMatches;

use super::{id, Globals};
use crate::container::{self, OciState, Status};
use crate::error::{Error, Result};

pub fn run(g: &Globals, m: &ArgMatches) -> Result<i32> {
    let id = id(m);
    let state = g.root.peek(id)?;
    let status = container::status(&g.root.dir().join(id), &state);
    let doc = OciState {
        oci_version: &state.oci_version,
        id: &state.id,
        pid: if status == Status::Stopped {
            0
        } else {
            state.pid
        },
        status: status.as_str(),
        bundle: &state.bundle,
        rootfs: &state.rootfs,
        created: &state.created,
        owner: "",
        annotations: &state.annotations,
    };
    let json = serde_json::to_string_pretty(&doc).map_err(|e| Error::msg(e.to_string()))?;
    println!("{json}");
    Ok(0)
}
