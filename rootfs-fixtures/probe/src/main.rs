//! brig-probe: runs inside a container and prints, as one line of JSON, what
//! the process can see of its environment (ids, capabilities, limits,
//! namespaces, mounts, descriptors, ...). brig's integration tests run it as
//! the container process and compare the report with the OCI config.
//!
//! See ../README.md for the list of keys and options.

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: probe [--stat PATH] [--try-write PATH] [--try-read PATH] \
[--sysctl NAME] [--syscall NR] [--create PATH] [--exit N] [--sleep SECS] [--no-report] [--] [ARGS...]";

// ---------------------------------------------------------------------------
// JSON values and their serialisation
// ---------------------------------------------------------------------------

/// A JSON value; objects keep their keys in insertion order.
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl From<bool> for Json {
    fn from(b: bool) -> Self {
        Json::Bool(b)
    }
}

impl From<i32> for Json {
    fn from(n: i32) -> Self {
        Json::Int(n.into())
    }
}

impl From<i64> for Json {
    fn from(n: i64) -> Self {
        Json::Int(n)
    }
}

impl From<u32> for Json {
    fn from(n: u32) -> Self {
        Json::UInt(n.into())
    }
}

impl From<u64> for Json {
    fn from(n: u64) -> Self {
        Json::UInt(n)
    }
}

impl From<String> for Json {
    fn from(s: String) -> Self {
        Json::Str(s)
    }
}

impl From<&str> for Json {
    fn from(s: &str) -> Self {
        Json::Str(s.to_string())
    }
}

impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(v: Option<T>) -> Self {
        v.map_or(Json::Null, Into::into)
    }
}

impl<T: Into<Json>> FromIterator<T> for Json {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Json::Arr(iter.into_iter().map(Into::into).collect())
    }
}

/// Builds an object from a fixed list of fields.
fn obj<const N: usize>(fields: [(&str, Json); N]) -> Json {
    Json::Obj(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// Adds a field unless the key is already there (options may repeat a path).
fn insert_once(fields: &mut Vec<(String, Json)>, key: String, value: Json) {
    if !fields.iter().any(|(k, _)| *k == key) {
        fields.push((key, value));
    }
}

fn write_json(out: &mut String, value: &Json) {
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Json::UInt(n) => {
            let _ = write!(out, "{n}");
        }
        Json::Str(s) => write_json_str(out, s),
        Json::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item);
            }
            out.push(']');
        }
        Json::Obj(fields) => {
            out.push('{');
            for (i, (key, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_str(out, key);
                out.push(':');
                write_json(out, item);
            }
            out.push('}');
        }
    }
}

fn write_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c < ' ' || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn os_lossy(s: &OsStr) -> String {
    lossy(s.as_bytes())
}

/// Reads a whole file as (lossily converted) text.
fn read_text(path: &str) -> Option<String> {
    fs::read(path).ok().map(|b| lossy(&b))
}

/// Reads a file holding one value and returns it trimmed.
fn read_trimmed(path: &str) -> Option<String> {
    read_text(path).map(|s| s.trim().to_string())
}

/// The symbolic name of an errno ("errno N" for the less common ones).
fn errno_name(err: &io::Error) -> String {
    let Some(code) = err.raw_os_error() else {
        return "EINVAL".to_string();
    };
    let name = match code {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::E2BIG => "E2BIG",
        libc::ENOEXEC => "ENOEXEC",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::EXDEV => "EXDEV",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::ENOTTY => "ENOTTY",
        libc::ETXTBSY => "ETXTBSY",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::ESPIPE => "ESPIPE",
        libc::EROFS => "EROFS",
        libc::EMLINK => "EMLINK",
        libc::EPIPE => "EPIPE",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOSYS => "ENOSYS",
        libc::ELOOP => "ELOOP",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::ENOTCONN => "ENOTCONN",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::ESTALE => "ESTALE",
        _ => return format!("errno {code}"),
    };
    name.to_string()
}

/// Splits a Linux `dev_t` into (major, minor) the way glibc encodes it.
fn dev_split(dev: u64) -> (u64, u64) {
    let major = ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0x0fff);
    let minor = ((dev >> 12) & 0xffff_ff00) | (dev & 0x00ff);
    (major, minor)
}

// ---------------------------------------------------------------------------
// Thin wrappers around libc calls
// ---------------------------------------------------------------------------

fn getresuid() -> (u32, u32, u32) {
    let (mut r, mut e, mut s) = (0, 0, 0);
    // SAFETY: the three pointers are valid, writable uid_t locations.
    unsafe { libc::getresuid(&mut r, &mut e, &mut s) };
    (r, e, s)
}

fn getresgid() -> (u32, u32, u32) {
    let (mut r, mut e, mut s) = (0, 0, 0);
    // SAFETY: the three pointers are valid, writable gid_t locations.
    unsafe { libc::getresgid(&mut r, &mut e, &mut s) };
    (r, e, s)
}

fn getgroups() -> Vec<libc::gid_t> {
    // SAFETY: a size of 0 with a null list only asks for the count.
    let count = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    let Ok(len) = usize::try_from(count) else {
        return Vec::new();
    };
    let mut list: Vec<libc::gid_t> = vec![0; len];
    // SAFETY: `list` has room for exactly `count` entries.
    let got = unsafe { libc::getgroups(count, list.as_mut_ptr()) };
    list.truncate(usize::try_from(got).unwrap_or(0));
    list
}

#[cfg(target_env = "gnu")]
type RlimitResource = libc::__rlimit_resource_t;
#[cfg(not(target_env = "gnu"))]
type RlimitResource = libc::c_int;

/// (soft, hard) with RLIM_INFINITY widened to u64::MAX.
#[allow(clippy::useless_conversion)] // rlim_t is only u64 on 64-bit targets
fn getrlimit(resource: RlimitResource) -> Option<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(resource, &mut lim) } != 0 {
        return None;
    }
    let widen = |v: libc::rlim_t| {
        if v == libc::RLIM_INFINITY {
            u64::MAX
        } else {
            u64::from(v)
        }
    };
    Some((widen(lim.rlim_cur), widen(lim.rlim_max)))
}

/// (nodename, domainname) from uname(2).
fn uname() -> Option<(String, String)> {
    // SAFETY: utsname is plain arrays of c_char, for which all-zero is valid.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `uts` is a valid, writable utsname.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return None;
    }
    Some((c_chars(&uts.nodename), c_chars(&uts.domainname)))
}

/// A NUL-terminated c_char array as a (lossy) string.
fn c_chars(field: &[libc::c_char]) -> String {
    let bytes: Vec<u8> = field
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    lossy(&bytes)
}

fn no_new_privs() -> Option<bool> {
    // SAFETY: PR_GET_NO_NEW_PRIVS reads a flag; the unused arguments must be 0.
    let ret = unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0 as libc::c_ulong, 0, 0, 0) };
    (ret >= 0).then_some(ret == 1)
}

fn personality() -> i32 {
    // SAFETY: 0xffffffff only queries the current persona, changing nothing.
    unsafe { libc::personality(0xffff_ffff) }
}

fn getsid() -> i32 {
    // SAFETY: getsid(0) only reads the caller's session id.
    unsafe { libc::getsid(0) }
}

fn getpgid() -> i32 {
    // SAFETY: getpgid(0) only reads the caller's process group id.
    unsafe { libc::getpgid(0) }
}

fn stdin_is_tty() -> bool {
    // SAFETY: isatty takes any descriptor number and only inspects it.
    unsafe { libc::isatty(0) == 1 }
}

// ---------------------------------------------------------------------------
// Report sections
// ---------------------------------------------------------------------------

fn id_triple((real, effective, saved): (u32, u32, u32)) -> Json {
    obj([
        ("real", real.into()),
        ("effective", effective.into()),
        ("saved", saved.into()),
    ])
}

/// The value of a `Key:\tvalue` line of /proc/self/status.
fn status_field<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k == key).then(|| v.trim())
    })
}

const CAP_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

fn cap_name(bit: usize) -> String {
    CAP_NAMES
        .get(bit)
        .map_or_else(|| format!("CAP_{bit}"), |n| n.to_string())
}

/// Decodes a hex capability mask into names, lowest bit first.
fn cap_list(hex_mask: &str) -> Option<Json> {
    let mask = u64::from_str_radix(hex_mask, 16).ok()?;
    Some(
        (0..64)
            .filter(|bit| mask >> bit & 1 == 1)
            .map(cap_name)
            .collect(),
    )
}

fn capabilities(status: &str) -> Json {
    let set = |key: &str| Json::from(status_field(status, key).and_then(cap_list));
    obj([
        ("bounding", set("CapBnd")),
        ("effective", set("CapEff")),
        ("permitted", set("CapPrm")),
        ("inheritable", set("CapInh")),
        ("ambient", set("CapAmb")),
    ])
}

fn rlimits() -> Json {
    let resources = [
        ("RLIMIT_AS", libc::RLIMIT_AS),
        ("RLIMIT_CORE", libc::RLIMIT_CORE),
        ("RLIMIT_CPU", libc::RLIMIT_CPU),
        ("RLIMIT_DATA", libc::RLIMIT_DATA),
        ("RLIMIT_FSIZE", libc::RLIMIT_FSIZE),
        ("RLIMIT_LOCKS", libc::RLIMIT_LOCKS),
        ("RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK),
        ("RLIMIT_MSGQUEUE", libc::RLIMIT_MSGQUEUE),
        ("RLIMIT_NICE", libc::RLIMIT_NICE),
        ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE),
        ("RLIMIT_NPROC", libc::RLIMIT_NPROC),
        ("RLIMIT_RSS", libc::RLIMIT_RSS),
        ("RLIMIT_RTPRIO", libc::RLIMIT_RTPRIO),
        ("RLIMIT_RTTIME", libc::RLIMIT_RTTIME),
        ("RLIMIT_SIGPENDING", libc::RLIMIT_SIGPENDING),
        ("RLIMIT_STACK", libc::RLIMIT_STACK),
    ];
    let fields = resources
        .into_iter()
        .map(|(name, resource)| {
            let value = getrlimit(resource)
                .map(|(soft, hard)| obj([("soft", soft.into()), ("hard", hard.into())]));
            (name.to_string(), Json::from(value))
        })
        .collect();
    Json::Obj(fields)
}

const NAMESPACES: [&str; 10] = [
    "cgroup",
    "ipc",
    "mnt",
    "net",
    "pid",
    "pid_for_children",
    "time",
    "time_for_children",
    "user",
    "uts",
];

/// The inode number in a namespace link such as `mnt:[4026531840]`.
fn ns_inode(name: &str) -> Option<u64> {
    let link = fs::read_link(format!("/proc/self/ns/{name}")).ok()?;
    let text = link.to_str()?;
    let (_, rest) = text.split_once(":[")?;
    rest.strip_suffix(']')?.parse().ok()
}

fn namespaces() -> Json {
    let fields = NAMESPACES
        .iter()
        .map(|name| (name.to_string(), Json::from(ns_inode(name))))
        .collect();
    Json::Obj(fields)
}

/// Undoes the kernel's `\ooo` octal escapes (space, tab, newline, backslash).
fn unescape_octal(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let digits = field.get(i + 1..i + 4);
        let octal =
            digits.filter(|d| field[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                let value = d.iter().fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
                out.push(value as u8);
                i += 4;
            }
            None => {
                out.push(field[i]);
                i += 1;
            }
        }
    }
    out
}

/// One line of /proc/self/mountinfo, see proc(5).
fn mount_entry(line: &[u8]) -> Option<Json> {
    let fields: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    let sep = fields.iter().position(|f| *f == b"-")?;
    if sep < 6 || fields.len() < sep + 4 {
        return None;
    }
    let number = |f: &[u8]| lossy(f).parse::<u64>().ok();
    let path = |f: &[u8]| Json::from(lossy(&unescape_octal(f)));
    let text = |f: &[u8]| Json::from(lossy(f));
    let optional: Vec<String> = fields[6..sep].iter().map(|f| lossy(f)).collect();
    Some(obj([
        ("mount_id", number(fields[0])?.into()),
        ("parent_id", number(fields[1])?.into()),
        ("major_minor", text(fields[2])),
        ("root", path(fields[3])),
        ("mount_point", path(fields[4])),
        ("options", text(fields[5])),
        ("optional", optional.join(" ").into()),
        ("fstype", text(fields[sep + 1])),
        ("source", path(fields[sep + 2])),
        ("super_options", text(fields[sep + 3])),
    ]))
}

fn mounts() -> Json {
    match fs::read("/proc/self/mountinfo") {
        Ok(data) => data
            .split(|&b| b == b'\n')
            .filter(|line| !line.is_empty())
            .filter_map(mount_entry)
            .collect(),
        Err(_) => Json::Null,
    }
}

fn cgroup() -> Json {
    match read_text("/proc/self/cgroup") {
        Some(text) => text.lines().map(str::to_string).collect(),
        None => Json::Null,
    }
}

/// Open descriptors, excluding the one used to list /proc/self/fd.
fn fds() -> Json {
    let numbers: Vec<i32> = match fs::read_dir("/proc/self/fd") {
        Ok(dir) => dir
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect(),
        Err(_) => return Json::Null,
    };
    // The directory handle is closed by now, so its number no longer
    // resolves and drops out below.
    let mut entries: Vec<(i32, String)> = numbers
        .into_iter()
        .filter_map(|fd| {
            let target = fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
            Some((fd, os_lossy(target.as_os_str())))
        })
        .collect();
    entries.sort_by_key(|(fd, _)| *fd);
    entries
        .into_iter()
        .map(|(fd, target)| obj([("fd", fd.into()), ("target", target.into())]))
        .collect()
}

fn file_type_name(ft: fs::FileType) -> &'static str {
    if ft.is_symlink() {
        "symlink"
    } else if ft.is_dir() {
        "dir"
    } else if ft.is_file() {
        "file"
    } else if ft.is_char_device() {
        "char"
    } else if ft.is_block_device() {
        "block"
    } else if ft.is_fifo() {
        "fifo"
    } else if ft.is_socket() {
        "socket"
    } else {
        "unknown"
    }
}

fn stat_entry(path: &OsStr) -> Json {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) => return obj([("error", errno_name(&e).into())]),
    };
    let (major, minor) = dev_split(meta.rdev());
    let (dev_major, dev_minor) = dev_split(meta.dev());
    obj([
        ("type", file_type_name(meta.file_type()).into()),
        ("mode", (meta.mode() & 0o7777).into()),
        ("uid", meta.uid().into()),
        ("gid", meta.gid().into()),
        ("major", major.into()),
        ("minor", minor.into()),
        ("dev_major", dev_major.into()),
        ("dev_minor", dev_minor.into()),
        ("ino", meta.ino().into()),
        ("size", meta.size().into()),
    ])
}

fn failure(err: &io::Error) -> Json {
    obj([("ok", false.into()), ("error", errno_name(err).into())])
}

fn try_write(path: &OsStr) -> Json {
    match OpenOptions::new().write(true).open(path) {
        Ok(_) => obj([("ok", true.into())]),
        Err(e) => failure(&e),
    }
}

fn create(path: &OsStr) -> Json {
    match OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(_) => obj([("ok", true.into())]),
        Err(e) => failure(&e),
    }
}

/// Whole seconds of a clock (CLOCK_MONOTONIC, CLOCK_BOOTTIME), as this process's time
/// namespace shows it.
fn clock_secs(id: libc::clockid_t) -> Option<i64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid, writable timespec.
    (unsafe { libc::clock_gettime(id, &mut ts) } == 0).then_some(ts.tv_sec)
}

/// Call syscall number `nr` with six zero arguments: {"ret": N} or {"errno": "ENAME"}.
/// Lets a test see what a seccomp filter answers for a call libc never makes.
fn raw_syscall(nr: &OsStr) -> Json {
    let Some(nr) = nr.to_str().and_then(|n| n.parse::<libc::c_long>().ok()) else {
        return obj([("error", "not a number".into())]);
    };
    // SAFETY: only the numbers tests pass (calls that take zero arguments, or fail on
    // null pointers with EFAULT) are called.
    let ret = unsafe { libc::syscall(nr, 0, 0, 0, 0, 0, 0) };
    if ret < 0 {
        obj([("errno", errno_name(&io::Error::last_os_error()).into())])
    } else {
        obj([("ret", ret.into())])
    }
}

fn try_read(path: &OsStr) -> Json {
    let mut content = Vec::new();
    let result = File::open(path).and_then(|f| f.take(4096).read_to_end(&mut content));
    match result {
        Ok(_) => obj([("ok", true.into()), ("content", lossy(&content).into())]),
        Err(e) => failure(&e),
    }
}

/// `net.ipv4.ip_forward` -> /proc/sys/net/ipv4/ip_forward; a name that
/// already uses slashes is taken as a path below /proc/sys as it is.
fn sysctl(name: &OsStr) -> Json {
    let bytes = name.as_bytes();
    let rel: Vec<u8> = if bytes.contains(&b'/') {
        bytes.to_vec()
    } else {
        bytes
            .iter()
            .map(|&b| if b == b'.' { b'/' } else { b })
            .collect()
    };
    let mut path = b"/proc/sys/".to_vec();
    path.extend_from_slice(&rel);
    let value = fs::read(OsStr::from_bytes(&path))
        .ok()
        .map(|v| lossy(&v).trim().to_string());
    Json::from(value)
}

/// An object with one entry per distinct path given for an option.
fn per_path(paths: &[OsString], probe: fn(&OsStr) -> Json) -> Json {
    let mut fields = Vec::new();
    for path in paths {
        insert_once(&mut fields, os_lossy(path), probe(path));
    }
    Json::Obj(fields)
}

// ---------------------------------------------------------------------------
// Command line and main
// ---------------------------------------------------------------------------

struct Options {
    stat: Vec<OsString>,
    try_write: Vec<OsString>,
    try_read: Vec<OsString>,
    create: Vec<OsString>,
    sysctl: Vec<OsString>,
    syscall: Vec<OsString>,
    exit: u8,
    sleep: Option<Duration>,
    report: bool,
}

fn parse_args(args: &[OsString]) -> Result<Options, String> {
    let mut opts = Options {
        stat: Vec::new(),
        try_write: Vec::new(),
        try_read: Vec::new(),
        create: Vec::new(),
        sysctl: Vec::new(),
        syscall: Vec::new(),
        exit: 0,
        sleep: None,
        report: true,
    };
    let mut it = args.iter().skip(1);
    while let Some(arg) = it.next() {
        let flag = arg.to_string_lossy();
        match flag.as_ref() {
            "--" => break,
            "--no-report" => opts.report = false,
            "--stat" | "--try-write" | "--try-read" | "--create" | "--sysctl" | "--syscall"
            | "--exit" | "--sleep" => {
                let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
                match flag.as_ref() {
                    "--stat" => opts.stat.push(value.clone()),
                    "--try-write" => opts.try_write.push(value.clone()),
                    "--try-read" => opts.try_read.push(value.clone()),
                    "--create" => opts.create.push(value.clone()),
                    "--sysctl" => opts.sysctl.push(value.clone()),
                    "--syscall" => opts.syscall.push(value.clone()),
                    "--exit" => opts.exit = parse_exit(value)?,
                    _ => opts.sleep = Some(parse_sleep(value)?),
                }
            }
            _ if flag.starts_with('-') => return Err(format!("unknown option {flag:?}")),
            _ => {
                return Err(format!(
                    "unexpected argument {flag:?} (extra arguments go after --)"
                ))
            }
        }
    }
    Ok(opts)
}

fn parse_exit(value: &OsStr) -> Result<u8, String> {
    let text = value.to_string_lossy();
    text.parse()
        .map_err(|_| format!("--exit needs a number from 0 to 255, not {text:?}"))
}

fn parse_sleep(value: &OsStr) -> Result<Duration, String> {
    let text = value.to_string_lossy();
    text.parse::<f64>()
        .ok()
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .ok_or_else(|| format!("--sleep needs a number of seconds, not {text:?}"))
}

fn report(args: &[OsString], opts: &Options) -> Json {
    let status = read_text("/proc/self/status");
    let status = status.as_deref();
    let (hostname, domainname) = uname().unzip();
    let umask = status
        .and_then(|s| status_field(s, "Umask"))
        .and_then(|v| u32::from_str_radix(v, 8).ok());
    let seccomp = status
        .and_then(|s| status_field(s, "Seccomp"))
        .and_then(|v| v.parse::<i64>().ok());
    let env: Json = std::env::vars_os()
        .map(|(k, v)| format!("{}={}", os_lossy(&k), os_lossy(&v)))
        .collect();
    let cwd = std::env::current_dir()
        .ok()
        .map(|p| os_lossy(p.as_os_str()));
    let oom_score_adj =
        read_trimmed("/proc/self/oom_score_adj").and_then(|v| v.parse::<i64>().ok());
    obj([
        ("pid", std::process::id().into()),
        ("ppid", std::os::unix::process::parent_id().into()),
        ("uid", id_triple(getresuid())),
        ("gid", id_triple(getresgid())),
        ("groups", getgroups().into_iter().collect()),
        ("capabilities", status.map_or(Json::Null, capabilities)),
        ("no_new_privs", no_new_privs().into()),
        ("seccomp", seccomp.into()),
        ("umask", umask.into()),
        ("rlimits", rlimits()),
        ("hostname", hostname.into()),
        ("domainname", domainname.into()),
        ("namespaces", namespaces()),
        ("uid_map", read_text("/proc/self/uid_map").into()),
        ("gid_map", read_text("/proc/self/gid_map").into()),
        ("setgroups", read_trimmed("/proc/self/setgroups").into()),
        ("mounts", mounts()),
        ("cgroup", cgroup()),
        ("cwd", cwd.into()),
        ("env", env),
        ("args", args.iter().map(|a| os_lossy(a)).collect()),
        ("fds", fds()),
        ("oom_score_adj", oom_score_adj.into()),
        ("sid", getsid().into()),
        ("pgid", getpgid().into()),
        ("tty", stdin_is_tty().into()),
        ("personality", personality().into()),
        ("sysctl", per_path(&opts.sysctl, sysctl)),
        ("stat", per_path(&opts.stat, stat_entry)),
        ("writable", per_path(&opts.try_write, try_write)),
        ("readable", per_path(&opts.try_read, try_read)),
        ("syscalls", per_path(&opts.syscall, raw_syscall)),
        ("created", per_path(&opts.create, create)),
        (
            "clocks",
            obj([
                ("monotonic", clock_secs(libc::CLOCK_MONOTONIC).into()),
                ("boottime", clock_secs(libc::CLOCK_BOOTTIME).into()),
            ]),
        ),
    ])
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let opts = match parse_args(&args) {
        Ok(opts) => opts,
        Err(msg) => {
            eprintln!("probe: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if opts.report {
        let mut line = String::new();
        write_json(&mut line, &report(&args, &opts));
        line.push('\n');
        let mut out = io::stdout().lock();
        if let Err(e) = out.write_all(line.as_bytes()).and_then(|()| out.flush()) {
            eprintln!("probe: cannot write the report: {e}");
            return ExitCode::from(1);
        }
    }
    if let Some(pause) = opts.sleep {
        std::thread::sleep(pause);
    }
    ExitCode::from(opts.exit)
}
