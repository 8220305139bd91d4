//! The argv normaliser and clap's parse of its output, as `main` runs them. The input is
//! the arguments after `brig`, one per line.

#![no_main]

use std::sync::LazyLock;

use brig::cli::{self, MatchesExt};
use libfuzzer_sys::fuzz_target;

static COMMAND: LazyLock<clap::Command> = LazyLock::new(cli::command);

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut argv = vec!["brig".to_string()];
    if !text.is_empty() {
        argv.extend(text.split('\n').map(String::from));
    }
    let out = cli::normalise(argv.clone(), &COMMAND);
    // The normaliser only ever turns `-name` into `--name`: same count, same order.
    assert_eq!(out.len(), argv.len(), "{argv:?} → {out:?}");
    for (a, o) in argv.iter().zip(&out) {
        assert!(o == a || *o == format!("-{a}"), "{argv:?} → {out:?}");
    }
    if let Ok(m) = COMMAND.clone().try_get_matches_from(out) {
        let _ = m.get_flag("version");
        let _ = m.str("log-format");
        let _ = m.str("log");
        let _ = m.bool("debug");
        let _ = m.str("root");
    }
});
