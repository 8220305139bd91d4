use clap::ArgMatches;

use super::{id, Globals};
use crate::cli::MatchesExt;
use crate::container::{self, Status};
use crate::error::{Error, Result};

pub fn run(g: &Globals, m: &ArgMatches) -> Result<i32> {
    let id = id(m);
    let force = m.bool("force");
    let (dir, state) = match container::open(&g.root, id) {
        // `delete --force` of a container that is already gone succeeds (containerd relies
        // on it), and clears what an id without a readable state left behind.
        Err(Error::NoSuchContainer) if force => {
            g.root.remove_debris(id)?;
            return Ok(0);
        }
        Err(e) if force => {
            if !g.root.remove_debris(id)? {
                return Err(e);
            }
            crate::logging::warn(&format!(
                "{e}; removed the state directory (whatever processes or cgroup it named are not known)"
            ));
            return Ok(0);
        }
        other => other?,
    };
    crate::crash::point("delete: locked");
    let status = container::status_locked(&dir, &state);
    match status {
        Status::Stopped | Status::Created => {}
        _ if force => {}
        other => {
            return Err(Error::msg(format!(
                "cannot delete container {id} that is not stopped: {}",
                other.as_str()
            )))
        }
    }
    container::destroy(dir, &state)?;
    Ok(0)
}
