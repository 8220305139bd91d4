//! The brig binary: normalise argv, parse it, set up logging, dispatch, and turn an error
//! into runc's exit code and log line.

use std::path::Path;

use brig::cli::{self, MatchesExt};
use brig::logging;

fn main() {
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let cmd = cli::command();
    let argv = cli::normalise(argv, &cmd);
    let matches = cmd.try_get_matches_from(argv).unwrap_or_else(|e| e.exit());
    if matches.get_flag("version") {
        print!("{}", version());
        return;
    }
    let format = match matches.str("log-format") {
        Some("json") => logging::Format::Json,
        _ => logging::Format::Text,
    };
    if let Err(e) = logging::init(
        matches.str("log").map(Path::new),
        format,
        matches.bool("debug"),
    ) {
        eprintln!("brig: open log file: {e}");
        std::process::exit(1);
    }
    let code = match brig::commands::dispatch(&matches) {
        Ok(code) => code,
        Err(e) => {
            logging::fatal(&e.to_string());
            1
        }
    };
    std::process::exit(code);
}

fn version() -> String {
    format!(
        "brig version {}\ncommit: {}\nspec: {}\n",
        env!("CARGO_PKG_VERSION"),
        env!("BRIG_COMMIT"),
        brig::spec::OCI_VERSION
    )
}
