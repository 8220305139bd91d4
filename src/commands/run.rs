use clap::ArgMatches;

use super::Globals;
use crate::cli::MatchesExt;
use crate::container;
use crate::create::{create, Created};
use crate::error::{Error, Result};
use crate::process::channel::Msg;
use crate::{signals, tty};

pub fn run(g: &Globals, m: &ArgMatches) -> Result<i32> {
    let detach = m.bool("detach");
    // A two-step spawn makes the init our grandchild; as subreaper we still reap it.
    let forwarded = if detach {
        None
    } else {
        Some(signals::prepare_foreground(!m.bool("no-subreaper"))?)
    };
    let opts = super::create::options(g, m, true);
    let Created {
        dir,
        state,
        init,
        console,
    } = create(&g.root, &opts).map_err(|e| Error::msg(format!("brig run failed: {e}")))?;
    init.commit(Msg::Exec)?;
    crate::crash::point("run: exec sent");
    init.wait_exec();
    crate::crash::point("run: process running");
    container::run_post_hooks(
        &state,
        crate::hooks::Kind::Poststart,
        container::Status::Running,
    );
    let Some(forwarded) = forwarded else {
        return Ok(0);
    };
    // Other brig commands (kill, state) must be able to lock the container meanwhile.
    drop(dir);
    let code = match console {
        Some(console) => tty::proxy(console, state.pid, &forwarded)?,
        None => signals::wait_forwarding(state.pid, &forwarded)?,
    };
    if !m.bool("keep") {
        let (dir, state) = container::open(&g.root, &state.id)?;
        container::destroy(dir, &state)?;
    }
    Ok(code)
}
