//! Facts about processes read from /proc: a process's start time (so a reused pid is never
//! taken for it) and parent, and whether brig runs as the host's root.

/// The start time (jiffies since boot) of a live, non-zombie process, from /proc/PID/stat.
pub fn process_start_time(pid: i32) -> Option<u64> {
    if pid <= 0 {
        return None;
    }
    let rest = stat_after_name(pid)?;
    let mut fields = rest.split(' ');
    let state = fields.next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    // starttime is field 22 of the line; `rest` starts at field 3.
    fields.nth(22 - 4)?.parse().ok()
}

/// The parent of a live process (field 4 of /proc/PID/stat).
pub fn parent_pid(pid: i32) -> Option<i32> {
    stat_after_name(pid)?.split(' ').nth(1)?.parse().ok()
}

/// /proc/PID/stat from field 3 (the state) on. The command name may hold spaces and
/// parentheses: the fields start after the last ')'.
fn stat_after_name(pid: i32) -> Option<String> {
    let mut stat = read_text(format!("/proc/{pid}/stat")).ok()?;
    let start = stat.rfind(')')? + 2;
    stat.drain(..start.min(stat.len()));
    Some(stat)
}

/// A kernel file (procfs, cgroupfs) read whole. The buffer starts at a page, so the usual
/// small file takes one read; std's read_to_string reads from 32 bytes up, doubling, as
/// these files report a size of 0. Read through `take`, which asks no size hint: File's
/// own read_to_end would fstat and lseek for one first.
pub fn read_text(path: impl AsRef<std::path::Path>) -> std::io::Result<String> {
    use std::io::Read;
    let mut buf = Vec::with_capacity(4096);
    std::fs::File::open(path)?
        .take(u64::MAX)
        .read_to_end(&mut buf)?;
    String::from_utf8(buf).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// Root of the host: the kernel lets it do what rootless mode skips (device rules).
pub fn privileged() -> bool {
    nix::unistd::geteuid().is_root() && !in_user_namespace()
}

/// Whether this process runs in a user namespace other than the initial one, whose
/// uid_map maps the whole id range onto itself.
fn in_user_namespace() -> bool {
    read_text("/proc/self/uid_map").is_ok_and(|m| {
        let fields: Vec<&str> = m.split_whitespace().collect();
        fields != ["0", "0", "4294967295"]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_process_is_alive() {
        let me = std::process::id() as i32;
        assert!(process_start_time(me).is_some());
        assert!(process_start_time(0).is_none());
    }
}
