use std::io::Read;

use clap::ArgMatches;
use oci_spec::runtime::LinuxResources;
use serde_json::{json, Map, Value};

use super::{id, Globals};
use crate::cli::MatchesExt;
use crate::support::error::{Error, Result};

pub fn run(g: &Globals, m: &ArgMatches) -> Result<i32> {
    let resources = match m.str("resources") {
        // As in runc, a resources document replaces the flags.
        Some(source) => parse_resources(&read_source(source)?)?,
        None => from_flags(m)?,
    };
    let rdt = crate::lifecycle::update::RdtUpdate {
        l3_cache_schema: m.str("l3-cache-schema"),
        mem_bw_schema: m.str("mem-bw-schema"),
    };
    crate::lifecycle::update::update(&g.root, id(m), &resources, &rdt)?;
    Ok(0)
}

fn read_source(source: &str) -> Result<Vec<u8>> {
    if source == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| Error::os("read resources from stdin", e))?;
        Ok(buf)
    } else {
        std::fs::read(source).map_err(|e| Error::os(format!("read {source}"), e))
    }
}

fn parse_resources(bytes: &[u8]) -> Result<LinuxResources> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de)
        .map_err(|e| Error::msg(format!("resources: {}: {}", e.path(), e.inner())))
}

/// The flags as a resources document: only what was given.
fn from_flags(m: &ArgMatches) -> Result<LinuxResources> {
    let int = |name: &str| -> Result<Option<i64>> {
        m.str(name)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| Error::msg(format!("--{name} {v:?}: not a number")))
            })
            .transpose()
    };
    let bytes = |name: &str| -> Result<Option<i64>> {
        m.str(name)
            .map(|v| {
                parse_bytes(v).ok_or_else(|| {
                    Error::msg(format!(
                        "--{name} {v:?}: not a size (bytes, or with k, m, g, t)"
                    ))
                })
            })
            .transpose()
    };
    let mut memory = Map::new();
    for (flag, key) in [
        ("memory", "limit"),
        ("memory-reservation", "reservation"),
        ("memory-swap", "swap"),
    ] {
        if let Some(v) = bytes(flag)? {
            memory.insert(key.into(), json!(v));
        }
    }
    let mut cpu = Map::new();
    for (flag, key) in [
        ("cpu-period", "period"),
        ("cpu-quota", "quota"),
        ("cpu-share", "shares"),
        ("cpu-rt-period", "realtimePeriod"),
        ("cpu-rt-runtime", "realtimeRuntime"),
    ] {
        if let Some(v) = int(flag)? {
            cpu.insert(key.into(), json!(v));
        }
    }
    for (flag, key) in [("cpuset-cpus", "cpus"), ("cpuset-mems", "mems")] {
        if let Some(v) = m.str(flag) {
            cpu.insert(key.into(), json!(v));
        }
    }
    let mut doc = Map::new();
    if !memory.is_empty() {
        doc.insert("memory".into(), Value::Object(memory));
    }
    if !cpu.is_empty() {
        doc.insert("cpu".into(), Value::Object(cpu));
    }
    if let Some(v) = int("pids-limit")? {
        doc.insert("pids".into(), json!({"limit": v}));
    }
    if let Some(v) = int("blkio-weight")? {
        doc.insert("blockIO".into(), json!({"weight": v}));
    }
    parse_resources(
        &serde_json::to_vec(&Value::Object(doc)).map_err(|e| Error::msg(e.to_string()))?,
    )
}

/// "64m" → 67108864; "-1" stays -1 (unlimited), as runc's size parser does.
fn parse_bytes(v: &str) -> Option<i64> {
    if v == "-1" {
        return Some(-1);
    }
    let lower = v.trim().to_ascii_lowercase();
    let lower = lower.strip_suffix('b').unwrap_or(&lower);
    let (num, mult) = match lower.chars().last()? {
        'k' => (&lower[..lower.len() - 1], 1i64 << 10),
        'm' => (&lower[..lower.len() - 1], 1 << 20),
        'g' => (&lower[..lower.len() - 1], 1 << 30),
        't' => (&lower[..lower.len() - 1], 1 << 40),
        _ => (lower, 1),
    };
    let n: f64 = num.trim().parse().ok()?;
    (n >= 0.0).then_some((n * mult as f64) as i64)
}

#[cfg(test)]
mod tests {
    use super::parse_bytes;

    #[test]
    fn sizes_parse_like_runc() {
        assert_eq!(parse_bytes("64m"), Some(64 << 20));
        assert_eq!(parse_bytes("1024"), Some(1024));
        assert_eq!(parse_bytes("1g"), Some(1 << 30));
        assert_eq!(parse_bytes("-1"), Some(-1));
        assert_eq!(parse_bytes("x"), None);
    }
}
