//! Resource usage of a container's cgroup, in the JSON shape of runc's `events` (the field
//! names and which zero values are left out), and the OOM watch behind `events`' stream.
//! v1 readers take the directory of each controller, v2 readers the one unified directory.

use std::collections::BTreeMap;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use serde::Serialize;

use crate::support::error::{Context, Error, Result};

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// One `events` line: `{"type":"stats","id":ID,"data":{...}}` or `{"type":"oom","id":ID}`.
#[derive(Serialize)]
pub struct Event<'a> {
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<&'a Stats>,
}

#[derive(Serialize, Default, Debug)]
pub struct Stats {
    pub cpu: Cpu,
    pub cpuset: CpuSet,
    pub memory: Memory,
    pub pids: Pids,
    pub blkio: Blkio,
    /// Page size as the kernel names it ("2MB", "1GB") → usage.
    pub hugetlb: BTreeMap<String, Hugetlb>,
    /// Intel RDT is not supported: always empty, as runc prints it without RDT.
    pub intel_rdt: IntelRdt,
    /// runc fills this only for containers with a network namespace it set up (never).
    pub network_interfaces: Option<Vec<serde_json::Value>>,
}

#[derive(Serialize, Default, Debug)]
pub struct IntelRdt {}

#[derive(Serialize, Default, Debug)]
pub struct Cpu {
    pub usage: CpuUsage,
    pub throttling: Throttling,
}

/// Nanoseconds.
#[derive(Serialize, Default, Debug)]
pub struct CpuUsage {
    #[serde(skip_serializing_if = "is_zero")]
    pub total: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_kernel: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_user: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
}

#[derive(Serialize, Default, Debug)]
pub struct Throttling {
    #[serde(skip_serializing_if = "is_zero")]
    pub periods: u64,
    #[serde(rename = "throttledPeriods", skip_serializing_if = "is_zero")]
    pub throttled_periods: u64,
    /// Nanoseconds.
    #[serde(rename = "throttledTime", skip_serializing_if = "is_zero")]
    pub throttled_time: u64,
}

#[derive(Serialize, Default, Debug)]
pub struct CpuSet {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cpus: Vec<u16>,
    pub cpu_exclusive: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mems: Vec<u16>,
    pub mem_hardwall: u64,
    pub mem_exclusive: u64,
    pub memory_migrate: u64,
    pub memory_spread_page: u64,
    pub memory_spread_slab: u64,
    pub memory_pressure: u64,
    pub sched_load_balance: u64,
    pub sched_relax_domain_level: i64,
}

#[derive(Serialize, Default, Debug)]
pub struct MemoryEntry {
    pub limit: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    pub failcnt: u64,
}

#[derive(Serialize, Default, Debug)]
pub struct Memory {
    #[serde(skip_serializing_if = "is_zero")]
    pub cache: u64,
    pub usage: MemoryEntry,
    pub swap: MemoryEntry,
    pub kernel: MemoryEntry,
    #[serde(rename = "kernelTCP")]
    pub kernel_tcp: MemoryEntry,
    /// memory.stat, key by key.
    #[serde(rename = "raw", skip_serializing_if = "BTreeMap::is_empty")]
    pub stats: BTreeMap<String, u64>,
}

#[derive(Serialize, Default, Debug)]
pub struct Pids {
    #[serde(skip_serializing_if = "is_zero")]
    pub current: u64,
    /// 0 when unlimited ("max").
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
}

#[derive(Serialize, Default, Debug, PartialEq)]
pub struct BlkioEntry {
    #[serde(skip_serializing_if = "is_zero")]
    pub major: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub minor: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub op: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub value: u64,
}

#[derive(Serialize, Default, Debug)]
pub struct Blkio {
    #[serde(
        rename = "ioServiceBytesRecursive",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    #[serde(rename = "ioServicedRecursive", skip_serializing_if = "Vec::is_empty")]
    pub io_serviced_recursive: Vec<BlkioEntry>,
}

#[derive(Serialize, Default, Debug, PartialEq)]
pub struct Hugetlb {
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    pub failcnt: u64,
}

// ---- file readers -------------------------------------------------------------------

/// A control file's text; None when the kernel does not have it.
fn read_opt(path: &Path) -> Result<Option<String>> {
    match crate::support::proc::read_text(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::os(format!("read {}", path.display()), e)),
    }
}

fn read_required(path: &Path) -> Result<String> {
    crate::support::proc::read_text(path).ctx(|| format!("read {}", path.display()))
}

/// A single-number file; "max" (v2's unlimited) reads as `max_as`, a missing file as 0.
fn read_u64_or(path: &Path, max_as: u64) -> Result<u64> {
    match read_opt(path)? {
        None => Ok(0),
        Some(s) => parse_u64(s.trim(), max_as)
            .ok_or_else(|| Error::msg(format!("{}: not a number: {:?}", path.display(), s))),
    }
}

fn read_u64(path: &Path) -> Result<u64> {
    read_u64_or(path, u64::MAX)
}

fn parse_u64(s: &str, max_as: u64) -> Option<u64> {
    if s == "max" {
        return Some(max_as);
    }
    // A v1 limit may read as -1 (unlimited); negative values never count.
    s.parse::<u64>()
        .ok()
        .or_else(|| s.parse::<i64>().ok().map(|_| 0))
}

/// "key value" lines (memory.stat, cpu.stat, memory.events) as a map; lines that are not
/// a key and one number are skipped.
pub fn parse_flat_keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (k, v) = (f.next()?, f.next()?);
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

fn keyed(path: &Path) -> Result<BTreeMap<String, u64>> {
    Ok(read_opt(path)?
        .map(|t| parse_flat_keyed(&t))
        .unwrap_or_default())
}

fn numbers(text: &str) -> Vec<u64> {
    text.split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect()
}

/// A cpuset list ("0-3,5") as its members.
pub fn parse_list(text: &str) -> Vec<u16> {
    let mut out = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<u16>(), b.parse::<u16>()) {
                    out.extend(a..=b);
                }
            }
            None => out.extend(part.parse::<u16>().ok()),
        }
    }
    out
}

/// A v1 blkio file: "MAJ:MIN Op value" lines and a closing "Total N".
pub fn parse_blkio_v1(text: &str) -> Vec<BlkioEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let [dev, op, value] = f[..] else {
                return None;
            };
            let (major, minor) = dev.split_once(':')?;
            Some(BlkioEntry {
                major: major.parse().ok()?,
                minor: minor.parse().ok()?,
                op: op.to_string(),
                value: value.parse().ok()?,
            })
        })
        .collect()
}

/// v2 io.stat: "MAJ:MIN rbytes=.. wbytes=.. rios=.. wios=.. dbytes=.. dios=.." per device,
/// as runc's (bytes, operations) lists with ops Read and Write.
pub fn parse_io_stat(text: &str) -> Blkio {
    let mut out = Blkio::default();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let Some((major, minor)) = f.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (major.parse::<u64>(), minor.parse::<u64>()) else {
            continue;
        };
        for kv in f {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let Ok(value) = v.parse::<u64>() else {
                continue;
            };
            let (list, op) = match k {
                "rbytes" => (&mut out.io_service_bytes_recursive, "Read"),
                "wbytes" => (&mut out.io_service_bytes_recursive, "Write"),
                "rios" => (&mut out.io_serviced_recursive, "Read"),
                "wios" => (&mut out.io_serviced_recursive, "Write"),
                _ => continue,
            };
            list.push(BlkioEntry {
                major,
                minor,
                op: op.into(),
                value,
            });
        }
    }
    out
}

/// hugetlb usage per page size, from v1 files (hugetlb.2MB.usage_in_bytes, ...) or v2
/// files (hugetlb.2MB.current, hugetlb.2MB.events) in `dir`; reservation files are skipped.
fn hugetlb(dir: &Path) -> Result<BTreeMap<String, Hugetlb>> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(out);
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix("hugetlb.") else {
            continue;
        };
        let Some((size, file)) = rest.split_once('.') else {
            continue;
        };
        let h = match file {
            "usage_in_bytes" => Hugetlb {
                usage: read_u64(&entry.path())?,
                max: read_u64(&dir.join(format!("hugetlb.{size}.max_usage_in_bytes")))?,
                failcnt: read_u64(&dir.join(format!("hugetlb.{size}.failcnt")))?,
            },
            "current" => Hugetlb {
                usage: read_u64(&entry.path())?,
                max: 0,
                failcnt: keyed(&dir.join(format!("hugetlb.{size}.events")))?
                    .get("max")
                    .copied()
                    .unwrap_or(0),
            },
            _ => continue,
        };
        out.insert(size.to_string(), h);
    }
    Ok(out)
}

// ---- v1 -----------------------------------------------------------------------------

/// The clock tick of cpuacct.stat: the kernel reports it in USER_HZ, 100 on Linux.
const USER_HZ: u64 = 100;
const NS_PER_SEC: u64 = 1_000_000_000;

/// Stats of a v1 (or hybrid) container: `dir_of(controller)` is its directory in the
/// hierarchy holding that controller; `unified` its cgroup2 directory on a hybrid host.
pub fn read_v1<'a>(
    dir_of: impl Fn(&str) -> Option<&'a PathBuf>,
    unified: Option<&Path>,
) -> Result<Stats> {
    let mut s = Stats::default();
    if let Some(d) = dir_of("cpuacct") {
        let u = &mut s.cpu.usage;
        u.total = read_u64(&d.join("cpuacct.usage"))?;
        u.percpu = read_opt(&d.join("cpuacct.usage_percpu"))?
            .map(|t| numbers(&t))
            .unwrap_or_default();
        // cpuacct.usage_all: a "cpu user system" header, then one line per cpu (ns).
        if let Some(all) = read_opt(&d.join("cpuacct.usage_all"))? {
            for line in all.lines().skip(1) {
                if let [_, user, system] = numbers(line)[..] {
                    u.percpu_user.push(user);
                    u.percpu_kernel.push(system);
                }
            }
        }
        let ticks = keyed(&d.join("cpuacct.stat"))?;
        let ns = |k: &str| ticks.get(k).copied().unwrap_or(0) * (NS_PER_SEC / USER_HZ);
        u.user = ns("user");
        u.kernel = ns("system");
    }
    if let Some(d) = dir_of("cpu") {
        let st = keyed(&d.join("cpu.stat"))?;
        let t = &mut s.cpu.throttling;
        t.periods = st.get("nr_periods").copied().unwrap_or(0);
        t.throttled_periods = st.get("nr_throttled").copied().unwrap_or(0);
        t.throttled_time = st.get("throttled_time").copied().unwrap_or(0);
    }
    if let Some(d) = dir_of("cpuset") {
        let c = &mut s.cpuset;
        c.cpus = parse_list(&read_opt(&d.join("cpuset.cpus"))?.unwrap_or_default());
        c.mems = parse_list(&read_opt(&d.join("cpuset.mems"))?.unwrap_or_default());
        let n = |f: &str| read_u64(&d.join(format!("cpuset.{f}")));
        c.cpu_exclusive = n("cpu_exclusive")?;
        c.mem_hardwall = n("mem_hardwall")?;
        c.mem_exclusive = n("mem_exclusive")?;
        c.memory_migrate = n("memory_migrate")?;
        c.memory_spread_page = n("memory_spread_page")?;
        c.memory_spread_slab = n("memory_spread_slab")?;
        c.memory_pressure = n("memory_pressure")?;
        c.sched_load_balance = n("sched_load_balance")?;
        c.sched_relax_domain_level = read_opt(&d.join("cpuset.sched_relax_domain_level"))?
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0);
    }
    if let Some(d) = dir_of("memory") {
        let entry = |prefix: &str| -> Result<MemoryEntry> {
            let f = |name: &str| d.join(format!("{prefix}{name}"));
            Ok(MemoryEntry {
                limit: read_u64(&f("limit_in_bytes"))?,
                usage: read_u64(&f("usage_in_bytes"))?,
                max: read_u64(&f("max_usage_in_bytes"))?,
                failcnt: read_u64(&f("failcnt"))?,
            })
        };
        let m = &mut s.memory;
        // The one file every memory cgroup has: its absence means the cgroup is gone.
        read_required(&d.join("memory.usage_in_bytes"))?;
        m.usage = entry("memory.")?;
        m.swap = entry("memory.memsw.")?;
        m.kernel = entry("memory.kmem.")?;
        m.kernel_tcp = entry("memory.kmem.tcp.")?;
        m.stats = keyed(&d.join("memory.stat"))?;
        m.cache = m.stats.get("cache").copied().unwrap_or(0);
    }
    if let Some(d) = dir_of("pids") {
        s.pids.current = read_u64(&d.join("pids.current"))?;
        s.pids.limit = read_u64_or(&d.join("pids.max"), 0)?;
    }
    if let Some(d) = dir_of("blkio") {
        // The first family of files with entries: CFQ's, BFQ's, then the throttle
        // controller's (which counts every device).
        for prefix in ["blkio.", "blkio.bfq.", "blkio.throttle."] {
            let read = |f: &str| -> Result<Vec<BlkioEntry>> {
                Ok(read_opt(&d.join(format!("{prefix}{f}")))?
                    .map(|t| parse_blkio_v1(&t))
                    .unwrap_or_default())
            };
            let serviced = read("io_serviced_recursive")?;
            if !serviced.is_empty() || prefix == "blkio.throttle." {
                s.blkio.io_serviced_recursive = serviced;
                s.blkio.io_service_bytes_recursive = read("io_service_bytes_recursive")?;
                break;
            }
        }
    }
    match (dir_of("hugetlb"), unified) {
        (Some(d), _) => s.hugetlb = hugetlb(d)?,
        (None, Some(u)) => s.hugetlb = hugetlb(u)?,
        (None, None) => {}
    }
    Ok(s)
}

// ---- v2 -----------------------------------------------------------------------------

pub fn read_v2(dir: &Path) -> Result<Stats> {
    let mut s = Stats::default();
    // cpu.stat is always there (without the cpu controller it still counts usage).
    let cpu = parse_flat_keyed(&read_required(&dir.join("cpu.stat"))?);
    let us = |k: &str| cpu.get(k).copied().unwrap_or(0) * 1000;
    s.cpu.usage.total = us("usage_usec");
    s.cpu.usage.user = us("user_usec");
    s.cpu.usage.kernel = us("system_usec");
    s.cpu.throttling.periods = cpu.get("nr_periods").copied().unwrap_or(0);
    s.cpu.throttling.throttled_periods = cpu.get("nr_throttled").copied().unwrap_or(0);
    s.cpu.throttling.throttled_time = us("throttled_usec");

    if let Some(cpus) = read_opt(&dir.join("cpuset.cpus.effective"))? {
        s.cpuset.cpus = parse_list(&cpus);
    }
    if let Some(mems) = read_opt(&dir.join("cpuset.mems.effective"))? {
        s.cpuset.mems = parse_list(&mems);
    }

    if dir.join("memory.current").exists() {
        let m = &mut s.memory;
        let usage = read_u64(&dir.join("memory.current"))?;
        let limit = read_u64(&dir.join("memory.max"))?;
        m.usage = MemoryEntry {
            limit,
            usage,
            max: read_u64(&dir.join("memory.peak"))?,
            failcnt: keyed(&dir.join("memory.events"))?
                .get("max")
                .copied()
                .unwrap_or(0),
        };
        // As runc does, swap is reported as memory + swap (v1's memsw).
        if dir.join("memory.swap.current").exists() {
            let swap_limit = read_u64(&dir.join("memory.swap.max"))?;
            m.swap = MemoryEntry {
                limit: limit.saturating_add(swap_limit),
                usage: usage.saturating_add(read_u64(&dir.join("memory.swap.current"))?),
                max: 0,
                failcnt: keyed(&dir.join("memory.swap.events"))?
                    .get("max")
                    .copied()
                    .unwrap_or(0),
            };
        }
        m.stats = keyed(&dir.join("memory.stat"))?;
        m.cache = m.stats.get("file").copied().unwrap_or(0);
    }
    if dir.join("pids.current").exists() {
        s.pids.current = read_u64(&dir.join("pids.current"))?;
        s.pids.limit = read_u64_or(&dir.join("pids.max"), 0)?;
    }
    if let Some(io) = read_opt(&dir.join("io.stat"))? {
        s.blkio = parse_io_stat(&io);
    }
    s.hugetlb = hugetlb(dir)?;
    Ok(s)
}

// ---- OOM notifications ---------------------------------------------------------------

/// A pollable source of OOM notifications for one cgroup.
pub enum OomWatch {
    /// v1: an eventfd registered for memory.oom_control through cgroup.event_control.
    /// The kernel also signals it once when the cgroup is removed, which is not an OOM;
    /// the oom_kill counter of memory.oom_control (kernel 4.13+) is a second witness.
    V1 {
        efd: EventFd,
        _oom_control: std::fs::File,
        dir: PathBuf,
        counter_base: u64,
        /// OOMs seen through the eventfd, through the counter, and already reported.
        by_eventfd: u64,
        by_counter: u64,
        reported: u64,
    },
    /// v2: inotify on memory.events, whose oom_kill counter grows with each OOM kill.
    V2 {
        inotify: Inotify,
        events: PathBuf,
        seen: u64,
    },
}

impl OomWatch {
    /// Register for OOM notifications of the v1 memory cgroup `dir`.
    pub fn v1(dir: &Path) -> Result<OomWatch> {
        let oom_control = std::fs::File::open(dir.join("memory.oom_control"))
            .ctx(|| format!("open {}/memory.oom_control", dir.display()))?;
        let efd = EventFd::from_value_and_flags(0, EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)
            .map_err(|e| Error::os("eventfd", e))?;
        use std::os::fd::AsRawFd;
        let line = format!("{} {}", efd.as_raw_fd(), oom_control.as_raw_fd());
        super::write(&dir.join("cgroup.event_control"), &line)?;
        let counter_base = v1_oom_kills(dir).unwrap_or(0);
        Ok(OomWatch::V1 {
            efd,
            _oom_control: oom_control,
            dir: dir.to_path_buf(),
            counter_base,
            by_eventfd: 0,
            by_counter: 0,
            reported: 0,
        })
    }

    /// Watch the v2 cgroup `dir`'s memory.events.
    pub fn v2(dir: &Path) -> Result<OomWatch> {
        let events = dir.join("memory.events");
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK)
            .map_err(|e| Error::os("inotify_init", e))?;
        inotify
            .add_watch(&events, AddWatchFlags::IN_MODIFY)
            .map_err(|e| Error::os(format!("watch {}", events.display()), e))?;
        let seen = oom_kills(&events)?;
        Ok(OomWatch::V2 {
            inotify,
            events,
            seen,
        })
    }

    /// The fd to poll for readability.
    pub fn fd(&self) -> BorrowedFd<'_> {
        match self {
            OomWatch::V1 { efd, .. } => efd.as_fd(),
            OomWatch::V2 { inotify, .. } => inotify.as_fd(),
        }
    }

    /// How many OOMs happened since the last call; never blocks.
    pub fn take(&mut self) -> Result<u64> {
        match self {
            OomWatch::V1 {
                efd,
                dir,
                counter_base,
                by_eventfd,
                by_counter,
                reported,
                ..
            } => {
                let signals = match efd.read() {
                    Ok(n) => n,
                    Err(nix::errno::Errno::EAGAIN) => 0,
                    Err(e) => return Err(Error::os("read the OOM eventfd", e)),
                };
                // Checked after the read: a cgroup still there had not signalled its removal.
                match v1_oom_kills(dir) {
                    Some(kills) => {
                        *by_eventfd += signals;
                        *by_counter = kills.saturating_sub(*counter_base);
                    }
                    None => *by_eventfd += signals.saturating_sub(1),
                }
                // Both are lower bounds of the same OOMs: report what exceeds both so far.
                let seen = (*by_eventfd).max(*by_counter);
                let new = seen.saturating_sub(*reported);
                *reported = seen.max(*reported);
                Ok(new)
            }
            OomWatch::V2 {
                inotify,
                events,
                seen,
            } => {
                match inotify.read_events() {
                    Ok(_) | Err(nix::errno::Errno::EAGAIN) => {}
                    Err(e) => return Err(Error::os("read inotify events", e)),
                }
                let now = match oom_kills(events) {
                    Ok(n) => n,
                    // The cgroup went away with its container.
                    Err(_) if !events.exists() => return Ok(0),
                    Err(e) => return Err(e),
                };
                let new = now.saturating_sub(*seen);
                *seen = now;
                Ok(new)
            }
        }
    }
}

/// The oom_kill counter of a v1 memory cgroup; None once the cgroup is gone (or on a
/// kernel without the counter, where the eventfd alone counts).
fn v1_oom_kills(dir: &Path) -> Option<u64> {
    let text = crate::support::proc::read_text(dir.join("memory.oom_control")).ok()?;
    Some(
        parse_flat_keyed(&text)
            .get("oom_kill")
            .copied()
            .unwrap_or(0),
    )
}

fn oom_kills(events: &Path) -> Result<u64> {
    Ok(parse_flat_keyed(&read_required(events)?)
        .get("oom_kill")
        .copied()
        .unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_keyed_files() {
        assert_eq!(parse_list("0-2,5\n"), vec![0, 1, 2, 5]);
        assert_eq!(parse_list(""), Vec::<u16>::new());
        let m = parse_flat_keyed("cache 4096\nrss 12\nbogus\nx y\n");
        assert_eq!(m.len(), 2);
        assert_eq!(m["rss"], 12);
        assert_eq!(parse_u64("max", 7), Some(7));
        assert_eq!(parse_u64("-1", 7), Some(0));
    }

    #[test]
    fn blkio_v1_and_io_stat() {
        let v1 = parse_blkio_v1("8:0 Read 4096\n8:0 Write 0\nTotal 4096\n");
        assert_eq!(v1.len(), 2);
        assert_eq!((v1[0].major, v1[0].minor, v1[0].value), (8, 0, 4096));
        assert_eq!(v1[0].op, "Read");
        let v2 = parse_io_stat("253:1 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n");
        assert_eq!(v2.io_service_bytes_recursive.len(), 2);
        assert_eq!(v2.io_service_bytes_recursive[1].value, 20);
        assert_eq!(v2.io_serviced_recursive[0].op, "Read");
    }

    #[test]
    fn json_shape_leaves_out_what_runc_leaves_out() {
        let s = Stats::default();
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(
            v["cpu"]["usage"],
            serde_json::json!({"kernel": 0, "user": 0})
        );
        assert_eq!(v["cpu"]["throttling"], serde_json::json!({}));
        assert_eq!(
            v["memory"]["usage"],
            serde_json::json!({"limit": 0, "failcnt": 0})
        );
        assert_eq!(v["blkio"], serde_json::json!({}));
        assert_eq!(v["network_interfaces"], serde_json::Value::Null);
        let e = Event {
            kind: "oom",
            id: "x",
            data: None,
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"type":"oom","id":"x"}"#
        );
    }
}
