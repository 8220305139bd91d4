//! Id maps written for an unprivileged user: a map of just the user's own id directly,
//! anything more through the setuid newuidmap/newgidmap helpers, which check /etc/subuid
//! and /etc/subgid.

use std::process::Command;

use oci_spec::runtime::LinuxIdMapping;

use crate::support::error::{Error, Result};

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
            format!("run {}: {}", ids.helper(), crate::support::error::errno_text(&e))
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
