//! A container's resources as systemd unit properties, as runc sets them: the ones systemd
//! has (memory, CPU weight and quota, cpuset, tasks, IO weight, devices), for the cgroup
//! layout at hand; the `unified` keys systemd knows; and `org.systemd.property.<Name>`
//! annotations, whose values are GVariant text ("uint64 5", "true", "'text'").
//! Everything is also written to the cgroup files by the cgroupfs layer afterwards, so what
//! systemd has no property for still applies.

use std::collections::HashMap;

use oci_spec::runtime::LinuxResources;
use zbus::zvariant::Value;

use super::bus::Property;
use crate::cgroups::devices::DeviceRule;
use crate::support::error::{Error, Result};

/// systemd's "infinity" for limits and quotas.
const INFINITY: u64 = u64::MAX;
/// The CFS period runc assumes when a quota comes without one.
const DEFAULT_PERIOD: u64 = 100_000;
const ANNOTATION: &str = "org.systemd.property.";

fn prop(name: &str, value: impl Into<Value<'static>>) -> Property {
    (name.to_string(), value.into())
}

/// The properties every container unit gets: the slice (a scope) or the parent slice it
/// wants (a slice), delegation, the init's pid, accounting, and no default dependencies.
pub fn unit(id: &str, slice: &str, is_slice: bool, pid: Option<u32>, v2: bool) -> Vec<Property> {
    let mut p = vec![prop("Description", format!("brig container {id}"))];
    if is_slice {
        p.push(prop("Wants", vec![slice.to_string()]));
    } else {
        p.push(prop("Slice", slice.to_string()));
        p.push(prop("Delegate", true));
    }
    if let Some(pid) = pid {
        p.push(prop("PIDs", vec![pid]));
    }
    let io = if v2 {
        "IOAccounting"
    } else {
        "BlockIOAccounting"
    };
    for name in ["MemoryAccounting", "CPUAccounting", io, "TasksAccounting"] {
        p.push(prop(name, true));
    }
    p.push(prop("DefaultDependencies", false));
    p
}

/// The resources as properties. `devices`: the full device rule list when the unit is
/// made (at `update`, devices do not change and none are sent).
pub fn resources(
    r: &LinuxResources,
    devices: Option<&[DeviceRule]>,
    v2: bool,
) -> Result<Vec<Property>> {
    let mut p = Vec::new();
    if let Some(rules) = devices {
        p.extend(device_properties(rules));
    }
    if let Some(m) = r.memory() {
        let limit = m.limit().unwrap_or(0);
        if limit != 0 {
            p.push(prop(
                if v2 { "MemoryMax" } else { "MemoryLimit" },
                limit as u64,
            ));
        }
        if v2 {
            if let Some(low) = m.reservation().filter(|&v| v != 0) {
                p.push(prop("MemoryLow", low as u64));
            }
            let swap = crate::cgroups::v2::swap_max(m.swap().unwrap_or(0), limit)
                .map_err(|e| Error::config("linux.resources.memory.swap", e))?;
            if swap != 0 {
                p.push(prop("MemorySwapMax", swap as u64));
            }
        }
    }
    if let Some(c) = r.cpu() {
        if let Some(shares) = c.shares().filter(|&s| s != 0) {
            if v2 {
                p.push(prop("CPUWeight", crate::cgroups::v2::cpu_weight(shares)));
            } else {
                p.push(prop("CPUShares", shares));
            }
        }
        cpu_quota(&mut p, c.quota().unwrap_or(0), c.period().unwrap_or(0));
        if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
            p.push(prop(
                "AllowedCPUs",
                cpu_mask(cpus, "linux.resources.cpu.cpus")?,
            ));
        }
        if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
            p.push(prop(
                "AllowedMemoryNodes",
                cpu_mask(mems, "linux.resources.cpu.mems")?,
            ));
        }
    }
    if let Some(limit) = r.pids().as_ref().map(|p| p.limit()) {
        if limit > 0 || limit == -1 {
            p.push(prop("TasksMax", limit as u64));
        }
    }
    if let Some(w) = r
        .block_io()
        .as_ref()
        .and_then(|b| b.weight())
        .filter(|&w| w != 0)
    {
        if v2 {
            p.push(prop("IOWeight", crate::cgroups::v2::io_weight(w)));
        } else {
            p.push(prop("BlockIOWeight", u64::from(w)));
        }
    }
    if v2 {
        if let Some(unified) = r.unified() {
            p.extend(unified_properties(unified)?);
        }
    }
    Ok(p)
}

/// Drop what this systemd does not know, as runc does: CPUQuotaPeriodUSec came in 242,
/// AllowedCPUs and AllowedMemoryNodes in 244 (the cgroup files are written anyway).
/// `version` is asked (a bus call) only when one of them is there; 0 (unknown) keeps all.
pub fn for_version(props: &mut Vec<Property>, version: impl FnOnce() -> u32) {
    let since = |name: &str| match name {
        "CPUQuotaPeriodUSec" => 242,
        "AllowedCPUs" | "AllowedMemoryNodes" => 244,
        _ => 0,
    };
    if !props.iter().any(|(name, _)| since(name) > 0) {
        return;
    }
    let version = version();
    if version != 0 {
        props.retain(|(name, _)| version >= since(name));
    }
}

/// runc's conversion: the period as is (systemd ≥ 242), the quota as microseconds per
/// second of CPU, rounded up to 10 ms because systemd keeps it as whole percents.
fn cpu_quota(p: &mut Vec<Property>, quota: i64, period: u64) {
    if period != 0 {
        p.push(prop("CPUQuotaPeriodUSec", period));
    }
    if quota != 0 || period != 0 {
        let mut per_sec = INFINITY;
        if quota > 0 {
            let period = if period == 0 { DEFAULT_PERIOD } else { period };
            per_sec = quota as u64 * 1_000_000 / period;
            if per_sec % 10_000 != 0 {
                per_sec = (per_sec / 10_000 + 1) * 10_000;
            }
        }
        p.push(prop("CPUQuotaPerSecUSec", per_sec));
    }
}

/// A cpuset list ("0-3,8") as systemd's bit mask: byte i, bit j is member 8i+j.
fn cpu_mask(list: &str, field: &str) -> Result<Vec<u8>> {
    let members = crate::support::oci::parse_cpu_list(list).map_err(|e| Error::config(field, e))?;
    let mut mask = vec![0u8; members.iter().max().map_or(0, |&n| n / 8 + 1)];
    for n in members {
        mask[n / 8] |= 1 << (n % 8);
    }
    Ok(mask)
}

/// The `unified` keys systemd has a property for (runc's list); the rest are files only.
fn unified_properties(unified: &HashMap<String, String>) -> Result<Vec<Property>> {
    let mut p = Vec::new();
    let field = |k: &str| format!("linux.resources.unified[{k:?}]");
    let number = |k: &str, v: &str| -> Result<u64> {
        if v.trim() == "max" {
            return Ok(INFINITY);
        }
        v.trim()
            .parse()
            .map_err(|_| Error::config(field(k), format!("{v:?} is not a number or \"max\"")))
    };
    let mut keys: Vec<&String> = unified.keys().collect();
    keys.sort();
    for k in keys {
        let v = &unified[k];
        match k.as_str() {
            "cpu.max" => {
                let mut it = v.split_whitespace();
                let quota = match it.next() {
                    Some("max") => -1,
                    Some(q) => q.parse().map_err(|_| {
                        Error::config(field(k), format!("{v:?} is not \"$MAX [$PERIOD]\""))
                    })?,
                    None => return Err(Error::config(field(k), "empty")),
                };
                let period = match it.next() {
                    Some(s) => s.parse().map_err(|_| {
                        Error::config(field(k), format!("{v:?} is not \"$MAX [$PERIOD]\""))
                    })?,
                    None => 0,
                };
                cpu_quota(&mut p, quota, period);
            }
            "cpu.weight" => p.push(prop("CPUWeight", number(k, v)?)),
            "cpuset.cpus" => p.push(prop("AllowedCPUs", cpu_mask(v, &field(k))?)),
            "cpuset.mems" => p.push(prop("AllowedMemoryNodes", cpu_mask(v, &field(k))?)),
            "memory.min" => p.push(prop("MemoryMin", number(k, v)?)),
            "memory.low" => p.push(prop("MemoryLow", number(k, v)?)),
            "memory.high" => p.push(prop("MemoryHigh", number(k, v)?)),
            "memory.max" => p.push(prop("MemoryMax", number(k, v)?)),
            "memory.swap.max" => p.push(prop("MemorySwapMax", number(k, v)?)),
            "pids.max" => p.push(prop("TasksMax", number(k, v)?)),
            _ => {}
        }
    }
    Ok(p)
}

/// DevicePolicy and DeviceAllow from the rule list, as runc: systemd only has allow lists,
/// so the rules are played in order from deny-all, and the allowed set becomes
/// "strict" with one entry per rule: `char-*` for any char device, `char-<major>` for any
/// minor, `/dev/char/<major>:<minor>` for one. What ends as allow-all is policy "auto".
pub fn device_properties(rules: &[DeviceRule]) -> Vec<Property> {
    let mut allow_all = false;
    let mut denied_some = false;
    let mut allowed: Vec<DeviceRule> = Vec::new();
    for r in rules {
        let everything =
            r.kind == 'a' && r.major.is_none_or(|m| m < 0) && r.minor.is_none_or(|m| m < 0);
        if everything && r.access.len() == 3 {
            allow_all = r.allow;
            denied_some = false;
            allowed.clear();
        } else if r.allow && !allow_all {
            for kind in if r.kind == 'a' {
                vec!['c', 'b']
            } else {
                vec![r.kind]
            } {
                allowed.push(DeviceRule { kind, ..r.clone() });
            }
        } else if !r.allow && allow_all {
            denied_some = true;
        } else if !r.allow {
            // A deny after allows takes its letters from the same device's entries.
            for a in allowed.iter_mut().filter(|a| {
                (r.kind == 'a' || a.kind == r.kind) && a.major == r.major && a.minor == r.minor
            }) {
                a.access.retain(|c| !r.access.contains(c));
            }
            allowed.retain(|a| !a.access.is_empty());
        }
    }
    let empty: Vec<(String, String)> = Vec::new();
    if allow_all && !denied_some {
        return vec![prop("DevicePolicy", "auto"), prop("DeviceAllow", empty)];
    }
    let mut p = vec![prop("DevicePolicy", "strict"), prop("DeviceAllow", empty)];
    if allow_all {
        crate::support::logging::warn(
            "systemd doesn't support blacklist device rules -- applying temporary deny-all rule",
        );
        return p;
    }
    let mut list: Vec<(String, String)> = Vec::new();
    for r in &allowed {
        let group = if r.kind == 'b' { "block" } else { "char" };
        let num = |n: Option<i64>| n.filter(|&n| n >= 0);
        let path = match (num(r.major), num(r.minor)) {
            (None, None) => format!("{group}-*"),
            (Some(major), None) => format!("{group}-{major}"),
            (Some(major), Some(minor)) => format!("/dev/{group}/{major}:{minor}"),
            (None, Some(_)) => {
                crate::support::logging::warn(&format!(
                    "systemd doesn't support '*:n' device rules -- temporarily ignoring rule: {}",
                    r.v1_line()
                ));
                continue;
            }
        };
        list.push((path, r.access.clone()));
    }
    p.push(prop("DeviceAllow", list));
    p
}

/// `org.systemd.property.<Name>` annotations as properties, checked as runc checks them:
/// a name of three or more ASCII letters starting upper-case, and a GVariant text value.
/// A name ending in a lower-case letter and "Sec" is given in seconds and sent as
/// "<...>USec" in microseconds.
pub fn from_annotations(annotations: Option<&HashMap<String, String>>) -> Result<Vec<Property>> {
    let mut out = Vec::new();
    let Some(annotations) = annotations else {
        return Ok(out);
    };
    let mut keys: Vec<&String> = annotations
        .keys()
        .filter(|k| k.starts_with(ANNOTATION))
        .collect();
    keys.sort();
    for key in keys {
        let field = format!("annotations[{key:?}]");
        let name = &key[ANNOTATION.len()..];
        let good_name = name.len() >= 3
            && name.starts_with(|c: char| c.is_ascii_uppercase())
            && name.chars().all(|c| c.is_ascii_alphabetic());
        if !good_name {
            return Err(Error::config(
                field,
                format!("invalid systemd property name {name:?}: three or more ASCII letters, starting with an upper-case one"),
            ));
        }
        let value = parse_variant(&annotations[key])
            .map_err(|why| Error::config(&field, format!("value {:?}: {why}", annotations[key])))?;
        let sec = name
            .strip_suffix("Sec")
            .filter(|stem| stem.ends_with(|c: char| c.is_ascii_lowercase()));
        match sec {
            Some(stem) => {
                let usec = to_usec(&value)
                    .ok_or_else(|| Error::config(&field, "a value in seconds must be a number"))?;
                out.push(prop(&format!("{stem}USec"), usec));
            }
            None => out.push((name.to_string(), value)),
        }
    }
    Ok(out)
}

fn to_usec(v: &Value) -> Option<u64> {
    let secs = match v {
        Value::U8(n) => f64::from(*n),
        Value::U16(n) => f64::from(*n),
        Value::I16(n) => f64::from(*n),
        Value::U32(n) => f64::from(*n),
        Value::I32(n) => f64::from(*n),
        Value::U64(n) => *n as f64,
        Value::I64(n) => *n as f64,
        Value::F64(n) => *n,
        _ => return None,
    };
    (secs >= 0.0).then_some((secs * 1e6) as u64)
}

/// The GVariant text forms systemd properties take: true/false, numbers (a bare integer is
/// int32, a bare fraction a double, or typed: "uint64 5", "@t 5", "byte 3"), strings in
/// single or double quotes, and arrays of one type ("['a', 'b']", "@as []").
fn parse_variant(text: &str) -> std::result::Result<Value<'static>, String> {
    let t = text.trim();
    if let Some(rest) = t.strip_prefix('@') {
        let (sig, value) = rest
            .split_once(' ')
            .ok_or("a type annotation needs a value")?;
        return typed(sig, value.trim());
    }
    const WORDS: [(&str, &str); 9] = [
        ("boolean", "b"),
        ("byte", "y"),
        ("int16", "n"),
        ("uint16", "q"),
        ("int32", "i"),
        ("uint32", "u"),
        ("int64", "x"),
        ("uint64", "t"),
        ("double", "d"),
    ];
    for (word, sig) in WORDS {
        if let Some(value) = t.strip_prefix(word).and_then(|r| r.strip_prefix(' ')) {
            return typed(sig, value.trim());
        }
    }
    match t {
        "true" => return Ok(Value::Bool(true)),
        "false" => return Ok(Value::Bool(false)),
        _ => {}
    }
    if t.starts_with(['\'', '"']) {
        return Ok(Value::from(string(t)?));
    }
    if let Some(inner) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        let items: Vec<&str> = split_items(inner);
        if items.is_empty() {
            return Err("an empty array needs a type, such as \"@as []\"".into());
        }
        if items[0].starts_with(['\'', '"']) {
            return Ok(Value::from(
                items
                    .iter()
                    .map(|i| string(i))
                    .collect::<std::result::Result<Vec<_>, _>>()?,
            ));
        }
        return Ok(Value::from(
            items
                .iter()
                .map(|i| {
                    i.parse::<i32>()
                        .map_err(|_| format!("{i:?} is not an int32"))
                })
                .collect::<std::result::Result<Vec<_>, _>>()?,
        ));
    }
    if let Ok(n) = t.parse::<i32>() {
        return Ok(Value::I32(n));
    }
    if let Ok(n) = t.parse::<f64>() {
        return Ok(Value::F64(n));
    }
    Err("not a GVariant text value (true, 42, uint64 42, 'text', ['a', 'b'])".into())
}

/// The integer types by GVariant letter: a number in range becomes that type.
fn integer(sig: &str) -> Option<fn(i128) -> Option<Value<'static>>> {
    Some(match sig {
        "y" => |n| u8::try_from(n).ok().map(Value::U8),
        "n" => |n| i16::try_from(n).ok().map(Value::I16),
        "q" => |n| u16::try_from(n).ok().map(Value::U16),
        "i" => |n| i32::try_from(n).ok().map(Value::I32),
        "u" => |n| u32::try_from(n).ok().map(Value::U32),
        "x" => |n| i64::try_from(n).ok().map(Value::I64),
        "t" => |n| u64::try_from(n).ok().map(Value::U64),
        _ => return None,
    })
}

fn typed(sig: &str, value: &str) -> std::result::Result<Value<'static>, String> {
    let num = |v: &str| -> std::result::Result<i128, String> {
        v.parse::<i128>()
            .map_err(|_| format!("{v:?} is not an integer"))
    };
    if let Some(int) = integer(sig) {
        let n = num(value)?;
        return int(n).ok_or_else(|| format!("{n} is out of range"));
    }
    Ok(match sig {
        "b" => match value {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(format!("{value:?} is not true or false")),
        },
        "d" => Value::F64(
            value
                .parse()
                .map_err(|_| format!("{value:?} is not a number"))?,
        ),
        "s" => Value::from(string(value)?),
        "as" => Value::from(
            items(value)?
                .iter()
                .map(|i| string(i))
                .collect::<std::result::Result<Vec<_>, _>>()?,
        ),
        "au" => Value::from(
            items(value)?
                .iter()
                .map(|i| {
                    i.parse::<u32>()
                        .map_err(|_| format!("{i:?} is not a uint32"))
                })
                .collect::<std::result::Result<Vec<_>, _>>()?,
        ),
        _ => {
            return Err(format!(
                "type {sig:?} is not one brig reads (b y n q i u x t d s as au)"
            ))
        }
    })
}

/// The items of an array written "[a, b]".
fn items(value: &str) -> std::result::Result<Vec<&str>, String> {
    let inner = value
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .ok_or("an array is written [ ... ]")?;
    Ok(split_items(inner))
}

/// A quoted string: 'text' or "text", with backslash escapes of the quote and backslash.
fn string(t: &str) -> std::result::Result<String, String> {
    let t = t.trim();
    let quote = t
        .chars()
        .next()
        .filter(|c| *c == '\'' || *c == '"')
        .ok_or("a string is quoted")?;
    let inner = t[1..].strip_suffix(quote).ok_or("unterminated string")?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next().ok_or("a trailing backslash")?),
            c if c == quote => return Err("an unescaped quote inside the string".into()),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Array items split on commas outside quotes.
fn split_items(inner: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut start, mut quote, mut escaped) = (0, None, false);
    for (i, c) in inner.char_indices() {
        match (quote, c) {
            (_, _) if escaped => escaped = false,
            (Some(_), '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (None, ',') => {
                items.push(inner[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    let last = inner[start..].trim();
    if !last.is_empty() {
        items.push(last);
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{
        LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResourcesBuilder,
    };

    fn find<'a>(p: &'a [Property], name: &str) -> Option<&'a Value<'static>> {
        p.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    #[test]
    fn resources_become_runc_s_properties_for_each_layout() {
        let r = LinuxResourcesBuilder::default()
            .memory(
                LinuxMemoryBuilder::default()
                    .limit(64 << 20)
                    .swap(128 << 20)
                    .reservation(32 << 20)
                    .build()
                    .unwrap(),
            )
            .cpu(
                LinuxCpuBuilder::default()
                    .shares(512u64)
                    .quota(25_000i64)
                    .period(100_000u64)
                    .cpus("0-1,3")
                    .mems("0")
                    .build()
                    .unwrap(),
            )
            .pids(LinuxPidsBuilder::default().limit(-1i64).build().unwrap())
            .build()
            .unwrap();
        let v2 = resources(&r, None, true).unwrap();
        assert_eq!(find(&v2, "MemoryMax"), Some(&Value::U64(64 << 20)));
        assert_eq!(find(&v2, "MemoryLow"), Some(&Value::U64(32 << 20)));
        assert_eq!(find(&v2, "MemorySwapMax"), Some(&Value::U64(64 << 20)));
        assert_eq!(
            find(&v2, "CPUWeight"),
            Some(&Value::U64(crate::cgroups::v2::cpu_weight(512)))
        );
        assert_eq!(find(&v2, "CPUQuotaPeriodUSec"), Some(&Value::U64(100_000)));
        assert_eq!(find(&v2, "CPUQuotaPerSecUSec"), Some(&Value::U64(250_000)));
        assert_eq!(find(&v2, "AllowedCPUs"), Some(&Value::from(vec![0b1011u8])));
        assert_eq!(find(&v2, "TasksMax"), Some(&Value::U64(u64::MAX)));
        assert!(find(&v2, "MemoryLimit").is_none());
        let v1 = resources(&r, None, false).unwrap();
        assert_eq!(find(&v1, "MemoryLimit"), Some(&Value::U64(64 << 20)));
        assert_eq!(find(&v1, "CPUShares"), Some(&Value::U64(512)));
        assert!(find(&v1, "MemorySwapMax").is_none());
    }

    #[test]
    fn properties_an_old_systemd_lacks_are_left_out() {
        let all = || {
            let mut p = Vec::new();
            cpu_quota(&mut p, 20_000, 100_000);
            p.push(prop("AllowedCPUs", vec![1u8]));
            p
        };
        let names = |v: u32| {
            let mut p = all();
            for_version(&mut p, || v);
            p.into_iter().map(|(n, _)| n).collect::<Vec<_>>()
        };
        assert_eq!(names(239), ["CPUQuotaPerSecUSec"]);
        assert_eq!(names(243), ["CPUQuotaPeriodUSec", "CPUQuotaPerSecUSec"]);
        assert_eq!(names(252).len(), 3);
        assert_eq!(names(0).len(), 3);
    }

    #[test]
    fn a_fractional_quota_rounds_up_to_whole_percents() {
        let mut p = Vec::new();
        cpu_quota(&mut p, 12_345, 100_000);
        assert_eq!(find(&p, "CPUQuotaPerSecUSec"), Some(&Value::U64(130_000)));
        let mut p = Vec::new();
        cpu_quota(&mut p, -1, 50_000);
        assert_eq!(find(&p, "CPUQuotaPerSecUSec"), Some(&Value::U64(u64::MAX)));
    }

    #[test]
    fn device_rules_become_an_allow_list() {
        let mut rules = vec![DeviceRule {
            allow: false,
            kind: 'a',
            major: None,
            minor: None,
            access: "rwm".into(),
        }];
        rules.extend(crate::cgroups::devices::default_allowed());
        let p = device_properties(&rules);
        assert_eq!(find(&p, "DevicePolicy"), Some(&Value::from("strict")));
        let Some(Value::Array(list)) = find(&p, "DeviceAllow") else {
            panic!("{p:?}")
        };
        let list: Vec<(String, String)> = list.try_clone().unwrap().try_into().unwrap();
        assert!(list.contains(&("char-*".into(), "m".into())), "{list:?}");
        assert!(list.contains(&("block-*".into(), "m".into())), "{list:?}");
        assert!(
            list.contains(&("/dev/char/1:3".into(), "rwm".into())),
            "{list:?}"
        );
        assert!(
            list.contains(&("char-136".into(), "rwm".into())),
            "{list:?}"
        );
        let all = device_properties(&[DeviceRule {
            allow: true,
            kind: 'a',
            major: None,
            minor: None,
            access: "rwm".into(),
        }]);
        assert_eq!(find(&all, "DevicePolicy"), Some(&Value::from("auto")));
    }

    #[test]
    fn annotations_are_checked_and_parsed_as_runc_does() {
        let a = HashMap::from([
            (
                "org.systemd.property.TimeoutStopSec".to_string(),
                "uint64 3".to_string(),
            ),
            (
                "org.systemd.property.CollectMode".to_string(),
                "'inactive-or-failed'".to_string(),
            ),
            (
                "org.systemd.property.CPUQuotaPerSecUSec".to_string(),
                "@t 500000".to_string(),
            ),
            ("other".to_string(), "x".to_string()),
        ]);
        let p = from_annotations(Some(&a)).unwrap();
        assert_eq!(find(&p, "TimeoutStopUSec"), Some(&Value::U64(3_000_000)));
        assert_eq!(
            find(&p, "CollectMode"),
            Some(&Value::from("inactive-or-failed"))
        );
        assert_eq!(find(&p, "CPUQuotaPerSecUSec"), Some(&Value::U64(500_000)));
        assert_eq!(p.len(), 3);
        for (k, v) in [
            ("org.systemd.property.ab", "true"),
            ("org.systemd.property.Cpu1", "true"),
            ("org.systemd.property.Foo", "uint64 x"),
        ] {
            let e = from_annotations(Some(&HashMap::from([(k.to_string(), v.to_string())])))
                .unwrap_err();
            assert!(e.to_string().contains("annotations["), "{e}");
        }
        assert_eq!(
            parse_variant("['a', 'b,c']").unwrap(),
            Value::from(vec!["a".to_string(), "b,c".to_string()])
        );
        assert_eq!(parse_variant("42").unwrap(), Value::I32(42));
        assert!(parse_variant("[]").is_err());
        assert_eq!(
            parse_variant("@as []").unwrap(),
            Value::from(Vec::<String>::new())
        );
        assert_eq!(
            parse_variant("@au [1, 2]").unwrap(),
            Value::from(vec![1u32, 2])
        );
        assert_eq!(parse_variant("byte 7").unwrap(), Value::U8(7));
        assert!(parse_variant("byte 300")
            .unwrap_err()
            .contains("out of range"));
    }
}
