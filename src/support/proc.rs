//! Facts about processes read from /proc: a process's start time (so a reused pid is never
//! taken for it) and parent, and whether brig runs as the host's root.

/// The start time (jiffies since boot) of a live, non-zombie process, from /proc/PID/stat.
pub fn process_start_time(pid: i32) -> Option<u64> {
    if pid <= 0 {
        return None;
    }
    with_stat_fields(pid, |rest| {
        let mut fields = rest.split(' ');
        let state = fields.next()?;
        if state == "Z" || state == "X" {
            return None;
        }
        // starttime is field 22 of the line; `rest` starts at field 3.
        fields.nth(22 - 4)?.parse().ok()
    })
}

/// The parent of a live process (field 4 of /proc/PID/stat).
pub fn parent_pid(pid: i32) -> Option<i32> {
    with_stat_fields(pid, |rest| rest.split(' ').nth(1)?.parse().ok())
}

/// /proc/PID/stat from field 3 (the state) on, handed to `fields`. The command name may
/// hold spaces and parentheses: the fields start after the last ')'.
fn with_stat_fields<T>(pid: i32, fields: impl FnOnce(&str) -> Option<T>) -> Option<T> {
    let path = format!("/proc/{pid}/stat");
    // The line is a few hundred bytes: read on the stack, where a 4 KiB heap buffer would
    // be a page for `create` to fault in after the fork.
    let mut buf = [0u8; 1024];
    let owned;
    let stat = match read_into(&path, &mut buf) {
        Some(text) => text,
        None => {
            owned = read_text(&path).ok()?;
            owned.as_str()
        }
    };
    let start = stat.rfind(')')? + 2;
    fields(stat.get(start..)?)
}

/// A small kernel file in one read into `buf`; None if it fails or may not have fit.
fn read_into<'a>(path: &str, buf: &'a mut [u8]) -> Option<&'a str> {
    use std::io::Read;
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(buf))
        .ok()?;
    std::str::from_utf8(buf.get(..n).filter(|_| n < buf.len())?).ok()
}

/// A kernel file (procfs, cgroupfs) read whole. The buffer starts at a page, so the usual
/// small file takes one read; std's read_to_string reads from 32 bytes up, doubling, as
/// these files report a size of 0. Read through `take`, which asks no size hint: File's
/// own read_to_end would fstat and lseek for one first.
pub fn read_text(path: impl AsRef<std::path::Path>) -> std::io::Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut buf = Vec::with_capacity(4096);
    file.take(u64::MAX).read_to_end(&mut buf)?;
    String::from_utf8(buf).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// Root of the host: the kernel lets it do what rootless mode skips (device rules).
pub fn privileged() -> bool {
    nix::unistd::geteuid().is_root() && !in_user_namespace()
}

/// Whether this process runs in a user namespace other than the initial one, whose
/// uid_map maps the whole id range onto itself (runc's test). The initial namespace is
/// known first by its fixed inode (PROC_USER_INIT_INO): one readlink, not a file read.
fn in_user_namespace() -> bool {
    if std::fs::read_link("/proc/self/ns/user").is_ok_and(|l| l.as_os_str() == "user:[4026531837]")
    {
        return false;
    }
    read_text("/proc/self/uid_map").is_ok_and(|m| {
        let fields: Vec<&str> = m.split_whitespace().collect();
        fields != ["0", "0", "4294967295"]
    })
}

/// The signals this process ignores or catches (SigIgn | SigCgt of /proc/self/status; bit
/// N-1 for signal N), from one read into a buffer on the stack.
pub fn ignored_or_caught_signals() -> Option<u64> {
    let mut buf = [0u8; 4096];
    // A full buffer may have cut the file short: the caller then resets them all.
    signal_masks(read_into("/proc/self/status", &mut buf)?)
}

fn signal_masks(status: &str) -> Option<u64> {
    let mask = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
    };
    Some(mask("SigIgn:")? | mask("SigCgt:")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignored_and_caught_signals_are_read_from_status() {
        let status = "Name:\tx\nSigBlk:\t0000000000000001\nSigIgn:\t0000000000001000\nSigCgt:\t0000000000000002\n";
        assert_eq!(signal_masks(status), Some(0x1002));
        assert_eq!(signal_masks("SigIgn:\t0000000000001000\n"), None);
        // This process: SIGPIPE (13) ignored for a moment shows up.
        let _ignore = crate::support::sys::IgnoreSigpipe::new();
        let got = ignored_or_caught_signals().expect("readable");
        assert_ne!(got & (1 << 12), 0, "{got:x}");
    }

    #[test]
    fn our_own_process_is_alive() {
        let me = std::process::id() as i32;
        assert!(process_start_time(me).is_some());
        assert!(process_start_time(0).is_none());
    }
}
