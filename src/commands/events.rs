//! `events`: the container's resource usage as JSON, once (`--stats`) or every `--interval`,
//! with OOM notifications in between; the stream ends when the container's init exits.

use std::io::Write;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use clap::ArgMatches;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::{id, Globals};
use crate::cgroups::{self, stats::Event, Stats};
use crate::cli::MatchesExt;
use crate::container::{self, Status};
use crate::error::{Error, Result};

pub fn run(g: &Globals, m: &ArgMatches) -> Result<i32> {
    let id = id(m);
    let raw = m.str("interval").unwrap_or("5s");
    let interval = parse_go_duration(raw)
        .map_err(|e| Error::msg(format!("invalid value {raw:?} for flag -interval: {e}")))?;
    if interval.is_zero() {
        return Err(Error::msg("duration interval must be greater than 0"));
    }
    let state = g.root.peek(id)?;
    let not_running = || Error::msg(format!("container with id {id} is not running"));
    if container::status(&g.root.dir().join(id), &state) == Status::Stopped {
        return Err(not_running());
    }
    let cg = cgroups::from_paths(&state.cgroup);
    if m.bool("stats") {
        emit_stats(id, &cg.stats()?)?;
        return Ok(0);
    }
    // The init's pidfd ends the stream; taken after the status check, it may already be gone.
    let pidfd = container::init_pidfd(&state).ok_or_else(not_running)?;
    let mut oom = match cg.oom_watch() {
        Ok(w) => Some(w),
        Err(e) => {
            crate::logging::warn(&format!("OOM events will not be reported: {e}"));
            None
        }
    };
    let mut next = Instant::now();
    loop {
        let now = Instant::now();
        if now >= next {
            match cg.stats() {
                Ok(s) => emit_stats(id, &s)?,
                // The cgroup goes away with a container that just stopped.
                Err(_) if container::init_pidfd(&state).is_none() => return Ok(0),
                Err(e) => return Err(e),
            }
            next += interval;
            if next <= now {
                next = now + interval;
            }
        }
        let wait = next.saturating_duration_since(Instant::now());
        let timeout = PollTimeout::try_from(wait.as_millis().max(1).min(i32::MAX as u128) as i32)
            .unwrap_or(PollTimeout::MAX);
        let (exited, oom_ready) = {
            let mut fds = vec![PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
            if let Some(w) = &oom {
                fds.push(PollFd::new(w.fd(), PollFlags::POLLIN));
            }
            match poll(&mut fds, timeout) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(Error::os("poll for container events", e)),
            }
            let ready = |f: &PollFd| f.revents().is_some_and(|r| !r.is_empty());
            (ready(&fds[0]), fds.get(1).is_some_and(ready))
        };
        // An OOM kill notifies before its victim is gone: report it before ending.
        if oom_ready || exited {
            if let Some(w) = oom.as_mut() {
                if w.take()? > 0 {
                    emit(&Event {
                        kind: "oom",
                        id,
                        data: None,
                    })?;
                }
            }
        }
        if exited {
            return Ok(0);
        }
    }
}

fn emit_stats(id: &str, stats: &Stats) -> Result<()> {
    emit(&Event {
        kind: "stats",
        id,
        data: Some(stats),
    })
}

/// One JSON line on stdout, flushed at once (a reader follows the stream live).
fn emit(event: &Event) -> Result<()> {
    let line = serde_json::to_string(event).map_err(|e| Error::msg(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|_| out.flush())
        .map_err(|e| Error::os("write to stdout", e))
}

/// Go's time.ParseDuration: an optional sign, then one or more decimal numbers (with an
/// optional fraction) each followed by a unit (ns, us, µs, ms, s, m, h), as "1m30s" or
/// "1.5h"; "0" alone needs no unit. A negative duration reads as zero.
pub fn parse_go_duration(text: &str) -> std::result::Result<Duration, String> {
    let bad = || format!("time: invalid duration {text:?}");
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total_ns: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..num_len];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(bad());
        }
        let value: f64 = num.parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("time: missing unit in duration {text:?}")),
            unit => return Err(format!("time: unknown unit {unit:?} in duration {text:?}")),
        };
        rest = &rest[unit_len..];
        total_ns += value * scale;
    }
    if total_ns > i64::MAX as f64 {
        return Err(bad());
    }
    if negative {
        return Ok(Duration::ZERO);
    }
    Ok(Duration::from_nanos(total_ns.round() as u64))
}

#[cfg(test)]
mod tests {
    use super::parse_go_duration as p;
    use std::time::Duration;

    #[test]
    fn go_durations() {
        assert_eq!(p("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(p("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(p("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(p("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(p("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(p("100us"), Ok(Duration::from_micros(100)));
        assert_eq!(p("2µs"), Ok(Duration::from_micros(2)));
        assert_eq!(p("0"), Ok(Duration::ZERO));
        assert_eq!(p("-1s"), Ok(Duration::ZERO));
        for bad in ["", "5", "s", "abc", "1x", "1..2s", "-", "5 s"] {
            assert!(p(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(p("3d").unwrap_err().contains("unknown unit \"d\""));
    }
}
