//! runc-compatible logging: logrus text or JSON lines, to `--log FILE` or stderr.
//!
//! containerd's shim reads `--log` as JSON lines and reports the last one whose level is
//! "error"; conmon reads stderr. With a log file, errors also go to stderr as plain text,
//! as runc does.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::OnceLock;

use crate::support::clock;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warning",
            Level::Error => "error",
        }
    }
}

struct Logger {
    format: Format,
    file: Option<File>,
    debug: bool,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Set up logging once, from the global flags.
pub fn init(path: Option<&Path>, format: Format, debug: bool) -> std::io::Result<()> {
    let file = match path {
        // `--log /dev/stderr` is runc's default spelled out: keep writing to fd 2.
        Some(p) if p != Path::new("/dev/stderr") => Some(
            OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o644)
                .custom_flags(libc::O_CLOEXEC)
                .open(p)?,
        ),
        _ => None,
    };
    let _ = LOGGER.set(Logger {
        format,
        file,
        debug,
    });
    Ok(())
}

fn logger() -> Option<&'static Logger> {
    LOGGER.get()
}

pub fn debug_enabled() -> bool {
    logger().is_some_and(|l| l.debug)
}

pub fn log(level: Level, msg: &str) {
    let (format, debug) = logger().map_or((Format::Text, false), |l| (l.format, l.debug));
    if level == Level::Debug && !debug {
        return;
    }
    let line = render(format, level, msg, clock::now().0);
    match logger().and_then(|l| l.file.as_ref()) {
        // One write per line keeps lines whole when several brig processes append.
        Some(mut f) => {
            let _ = f.write_all(line.as_bytes());
        }
        None => {
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }
}

/// Report a fatal error: to the log, and as plain text on stderr when the log is a file.
pub fn fatal(msg: &str) {
    log(Level::Error, msg);
    if logger().is_some_and(|l| l.file.is_some()) {
        let _ = writeln!(std::io::stderr(), "{msg}");
    }
}

pub fn error(msg: &str) {
    log(Level::Error, msg)
}

pub fn warn(msg: &str) {
    log(Level::Warn, msg)
}

pub fn debug(msg: impl FnOnce() -> String) {
    if debug_enabled() {
        log(Level::Debug, &msg())
    }
}

fn render(format: Format, level: Level, msg: &str, secs: i64) -> String {
    let time = clock::rfc3339(secs);
    match format {
        Format::Json => format!(
            "{{\"level\":\"{}\",\"msg\":{},\"time\":\"{}\"}}\n",
            level.name(),
            serde_json::to_string(msg).unwrap_or_else(|_| "\"\"".into()),
            time
        ),
        Format::Text => format!(
            "time=\"{time}\" level={} msg={}\n",
            level.name(),
            logfmt_value(msg)
        ),
    }
}

/// logrus quotes a value unless it is made only of a few safe characters.
fn logfmt_value(v: &str) -> String {
    let safe = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/@^+".contains(c));
    if safe {
        return v.to_string();
    }
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_line_has_the_shims_fields() {
        let line = render(Format::Json, Level::Error, "a \"b\"", 1_795_450_265);
        assert_eq!(
            line,
            "{\"level\":\"error\",\"msg\":\"a \\\"b\\\"\",\"time\":\"2026-11-23T16:11:05Z\"}\n"
        );
    }

    #[test]
    fn text_line_matches_logrus() {
        let line = render(
            Format::Text,
            Level::Error,
            "container does not exist",
            1_795_450_265,
        );
        assert_eq!(
            line,
            "time=\"2026-11-23T16:11:05Z\" level=error msg=\"container does not exist\"\n"
        );
        assert_eq!(logfmt_value("plain"), "plain");
    }
}
