//! Running without root: whether brig is in rootless mode, where its state goes, and
//! writing a new user namespace's id maps as an unprivileged user (directly for the
//! user's own id, through the setuid newuidmap/newgidmap helpers for more).

use std::path::PathBuf;
use std::process::Command;

use oci_spec::runtime::LinuxIdMapping;

use crate::error::{Error, Result};

/// `--rootless auto`, as runc decides it: rootless when not root, or when root only of a
/// user namespace (no permission over the host's cgroups either way).
pub fn detect() -> bool {
    !privileged()
}

/// Root of the host: the kernel lets it do what rootless mode skips (device rules).
pub fn privileged() -> bool {
    nix::unistd::geteuid().is_root() && !in_user_namespace()
}

/// Whether this process runs in a user namespace other than the initial one, whose
/// uid_map maps the whole id range onto itself.
fn in_user_namespace() -> bool {
    std::fs::read_to_string("/proc/self/uid_map").is_ok_and(|m| {
        let fields: Vec<&str> = m.split_whitespace().collect();
        fields != ["0", "0", "4294967295"]
    })
}

/// The state root when `--root` is not given: /run/brig, or $XDG_RUNTIME_DIR/brig for a
/// user that has one (runc's rule, with brig for runc).
pub fn default_root() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(dir) if !nix::unistd::geteuid().is_root() => PathBuf::from(dir).join("brig"),
        _ => PathBuf::from(crate::cli::DEFAULT_ROOT),
    }
}

/// Which ids a map file is for.
#[derive(Clone, Copy)]
pub enum Ids {
    User,
    Group,
}

impl Ids {
    fn helper(self) -> &'static str {
        match self {
            Ids::User => "newuidmap",
            Ids::Group => "newgidmap",
        }
    }

    fn own(self) -> u32 {
        match self {
            Ids::User => nix::unistd::geteuid().as_raw(),
            Ids::Group => nix::unistd::getegid().as_raw(),
        }
    }
}

/// How an unprivileged user gets a map written: the kernel takes a single line mapping the
/// writer's own id; anything more needs the helper, which checks /etc/subuid or subgid.
pub fn needs_helper(ids: Ids, maps: &[LinuxIdMapping]) -> bool {
    !matches!(maps, [m] if m.host_id() == ids.own() && m.size() == 1)
}

/// Run newuidmap or newgidmap for `pid`; its complaint (an id range the user was not
/// given, say) becomes the error.
pub fn write_with_helper(ids: Ids, pid: i32, maps: &[LinuxIdMapping]) -> Result<()> {
    let mut cmd = Command::new(ids.helper());
    cmd.arg(pid.to_string());
    for m in maps {
        cmd.args([
            m.container_id().to_string(),
            m.host_id().to_string(),
            m.size().to_string(),
        ]);
    }
    let out = cmd.output().map_err(|e| {
        let why = if e.kind() == std::io::ErrorKind::NotFound {
            format!(
                "mapping more than this user's own id needs {}, which is not in $PATH (Debian's uidmap package)",
                ids.helper()
            )
        } else {
            format!("run {}: {}", ids.helper(), crate::error::errno_text(&e))
        };
        Error::msg(why)
    })?;
    if out.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&out.stderr);
    Err(Error::msg(format!(
        "{} refused the mapping ({}): {}",
        ids.helper(),
        out.status,
        said.trim()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(c: u32, h: u32, s: u32) -> LinuxIdMapping {
        serde_json::from_value(serde_json::json!({"containerID": c, "hostID": h, "size": s}))
            .unwrap()
    }

    #[test]
    fn only_the_users_own_single_id_is_written_without_the_helper() {
        let me = Ids::User.own();
        assert!(!needs_helper(Ids::User, &[map(0, me, 1)]));
        assert!(needs_helper(Ids::User, &[map(0, me, 2)]));
        assert!(needs_helper(Ids::User, &[map(0, me + 1, 1)]));
        assert!(needs_helper(
            Ids::User,
            &[map(0, me, 1), map(1, 100_000, 65_536)]
        ));
        assert!(needs_helper(Ids::User, &[]));
    }
}
