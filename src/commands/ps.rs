use clap::ArgMatches;

use super::{id, Globals};
use crate::cli::MatchesExt;
use crate::support::error::{Error, Result};

pub fn run(g: &Globals, m: &ArgMatches) -> Result<i32> {
    let state = g.root.peek(id(m))?;
    let pids = crate::lifecycle::processes::processes(&state)?;
    if m.str("format") == Some("json") {
        println!(
            "{}",
            serde_json::to_string(&pids).map_err(|e| Error::msg(e.to_string()))?
        );
        return Ok(0);
    }
    // The table is the host's ps(1), filtered to the container's processes, as runc does.
    let args: Vec<String> = m
        .get_many::<String>("ps-args")
        .map(|a| a.cloned().collect())
        .unwrap_or_else(|| vec!["-ef".into()]);
    let out = std::process::Command::new("ps")
        .args(&args)
        .output()
        .map_err(|e| Error::os("run ps", e))?;
    if !out.status.success() {
        return Err(Error::msg(format!(
            "ps {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let pid_col = header
        .split_whitespace()
        .position(|c| c == "PID")
        .ok_or_else(|| Error::msg("ps output has no PID column"))?;
    println!("{header}");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(pid_col)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            println!("{line}");
        }
    }
    Ok(0)
}
