//! `events`: the flags (`--interval` in Go's duration syntax, `--stats`).

use std::time::Duration;

use clap::ArgMatches;

use super::{id, Globals};
use crate::cli::MatchesExt;
use crate::support::error::{Error, Result};

pub fn run(g: &Globals, m: &ArgMatches) -> Result<i32> {
    let raw = m.str("interval").unwrap_or("5s");
    let interval = parse_go_duration(raw)
        .map_err(|e| Error::msg(format!("invalid value {raw:?} for flag -interval: {e}")))?;
    if interval.is_zero() {
        return Err(Error::msg("duration interval must be greater than 0"));
    }
    crate::lifecycle::events::events(&g.root, id(m), interval, m.bool("stats"))
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
