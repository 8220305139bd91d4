//! Per-process limits set in the init: `process.rlimits` and `process.oomScoreAdj`.

use super::InitConfig;
use crate::support::error::{Context, Error, Result};

pub fn set_rlimits(cfg: &InitConfig) -> Result<()> {
    let process = cfg.spec.process().as_ref().expect("validated");
    for (i, rl) in process.rlimits().iter().flatten().enumerate() {
        let name = serde_json::to_value(rl.typ())
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let resource = rlimit_resource(&name)
            .ok_or_else(|| Error::config("process.rlimits", format!("unknown rlimit {name}")))?;
        let lim = libc::rlimit {
            rlim_cur: rl.soft(),
            rlim_max: rl.hard(),
        };
        nix::errno::Errno::result(setrlimit(resource, &lim)).ctx(|| {
            format!(
                "process.rlimits[{i}]: setrlimit {name} (soft {}, hard {})",
                rl.soft(),
                rl.hard()
            )
        })?;
    }
    Ok(())
}

fn setrlimit(resource: libc::__rlimit_resource_t, lim: &libc::rlimit) -> libc::c_int {
    // SAFETY: lim points to a valid rlimit for the duration of the call.
    unsafe { libc::setrlimit(resource, lim) }
}

fn rlimit_resource(name: &str) -> Option<libc::__rlimit_resource_t> {
    Some(match name {
        "RLIMIT_AS" => libc::RLIMIT_AS,
        "RLIMIT_CORE" => libc::RLIMIT_CORE,
        "RLIMIT_CPU" => libc::RLIMIT_CPU,
        "RLIMIT_DATA" => libc::RLIMIT_DATA,
        "RLIMIT_FSIZE" => libc::RLIMIT_FSIZE,
        "RLIMIT_LOCKS" => libc::RLIMIT_LOCKS,
        "RLIMIT_MEMLOCK" => libc::RLIMIT_MEMLOCK,
        "RLIMIT_MSGQUEUE" => libc::RLIMIT_MSGQUEUE,
        "RLIMIT_NICE" => libc::RLIMIT_NICE,
        "RLIMIT_NOFILE" => libc::RLIMIT_NOFILE,
        "RLIMIT_NPROC" => libc::RLIMIT_NPROC,
        "RLIMIT_RSS" => libc::RLIMIT_RSS,
        "RLIMIT_RTPRIO" => libc::RLIMIT_RTPRIO,
        "RLIMIT_RTTIME" => libc::RLIMIT_RTTIME,
        "RLIMIT_SIGPENDING" => libc::RLIMIT_SIGPENDING,
        "RLIMIT_STACK" => libc::RLIMIT_STACK,
        _ => return None,
    })
}

pub fn set_oom_score_adj(cfg: &InitConfig) -> Result<()> {
    let process = cfg.spec.process().as_ref().expect("validated");
    if let Some(adj) = process.oom_score_adj() {
        crate::support::procfs::ProcRoot::open()?
            .write("self/oom_score_adj", adj.to_string().as_bytes(), false)
            .map_err(|e| Error::config("process.oomScoreAdj", e))?;
    }
    Ok(())
}
