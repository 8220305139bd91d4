//! `run`: create, exec at once, and in the foreground wait for the process (forwarding
//! signals, or proxying its terminal), then delete it unless `--keep`.

use crate::lifecycle::create::{create, CreateOptions, Created};
use crate::lifecycle::state::StateRoot;
use crate::lifecycle::{console, delete, foreground, status};
use crate::support::crash;
use crate::support::error::{Error, Result};

pub struct RunOptions<'a> {
    pub create: CreateOptions<'a>,
    /// Leave the stopped container in place (`--keep`).
    pub keep: bool,
    /// Do not become a child subreaper (`--no-subreaper`).
    pub no_subreaper: bool,
}

/// Ok holds the exit code: the process's in the foreground, 0 detached.
pub fn run(root: &StateRoot, o: &RunOptions) -> Result<i32> {
    let detach = o.create.detach;
    // A two-step spawn makes the init our grandchild; as subreaper we still reap it.
    let forwarded = if detach {
        None
    } else {
        Some(foreground::prepare_foreground(!o.no_subreaper)?)
    };
    let Created {
        dir,
        state,
        init,
        console,
    } = create(root, &o.create).map_err(|e| Error::msg(format!("brig run failed: {e}")))?;
    init.send_exec()?;
    crash::point("run: exec sent");
    init.wait_exec();
    crash::point("run: process running");
    crate::support::logging::debug(|| format!("run: process {} running", state.pid));
    status::run_post_hooks(
        &state,
        crate::support::hooks::Kind::Poststart,
        status::Status::Running,
    );
    let Some(forwarded) = forwarded else {
        return Ok(0);
    };
    // Other brig commands (kill, state) must be able to lock the container meanwhile.
    let dir = dir.unlock()?;
    let code = match console {
        Some(console) => console::proxy(console, state.pid, &forwarded)?,
        None => foreground::wait_forwarding(state.pid, &forwarded)?,
    };
    if !o.keep {
        // Gone when a `delete --force` took it meanwhile, as the id is then.
        let dir = dir.relock()?.ok_or(Error::NoSuchContainer)?;
        delete::destroy(dir, &state)?;
    }
    Ok(code)
}
