//! Who the process is: root of a new user namespace during set-up, then the configured
//! uid, gid and groups with exactly the capabilities the spec gives, checked after the
//! switch.

use nix::unistd::{Gid, Uid};

use super::InitConfig;
use crate::support::error::{Context, Error, Result};

/// In a user namespace, setup runs as root of that namespace.
pub fn become_root_in_user_ns() -> Result<()> {
    nix::unistd::setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0))
        .ctx(|| "become root in the user namespace (setresgid 0; is gid 0 mapped?)")?;
    nix::unistd::setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0))
        .ctx(|| "become root in the user namespace (setresuid 0; is uid 0 mapped?)")
}

/// Drop the bounding set, switch to the configured user keeping capabilities, then set
/// the remaining capability sets.
pub fn switch_user(cfg: &InitConfig) -> Result<()> {
    let user = cfg.spec.process().as_ref().expect("validated").user();
    cfg.caps.drop_bounding()?;
    nix::sys::prctl::set_keepcaps(true).ctx(|| "prctl(PR_SET_KEEPCAPS)")?;
    let groups: Vec<Gid> = user
        .additional_gids()
        .iter()
        .flatten()
        .map(|&g| Gid::from_raw(g))
        .collect();
    // setgroups is refused (EPERM) in a user namespace whose setgroups file says deny,
    // which a container without /proc cannot read: with no groups to set, that is fine.
    let denied =
        || Error::msg("process.user.additionalGids: setgroups is denied in this user namespace");
    match nix::unistd::setgroups(&groups) {
        Ok(()) => {}
        Err(nix::errno::Errno::EPERM) if cfg.namespaces.in_user_ns() => {
            if !groups.is_empty() {
                return Err(denied());
            }
        }
        Err(e) => return Err(Error::os(format!("setgroups {groups:?}"), e)),
    }
    let (uid, gid) = (Uid::from_raw(user.uid()), Gid::from_raw(user.gid()));
    nix::unistd::setresgid(gid, gid, gid).ctx(|| format!("setresgid {}", user.gid()))?;
    nix::unistd::setresuid(uid, uid, uid).ctx(|| format!("setresuid {}", user.uid()))?;
    check_ids(uid, gid)?;
    nix::sys::prctl::set_keepcaps(false).ctx(|| "prctl(PR_SET_KEEPCAPS)")?;
    cfg.caps.apply()
}

/// The process must hold exactly the ids asked for: an id the kernel took as "unchanged"
/// (-1) would leave it running as root. `spec::validate_user` refuses those; this is the
/// last line.
fn check_ids(uid: Uid, gid: Gid) -> Result<()> {
    let r = nix::unistd::getresuid().ctx(|| "getresuid")?;
    let g = nix::unistd::getresgid().ctx(|| "getresgid")?;
    if [r.real, r.effective, r.saved] != [uid; 3] || [g.real, g.effective, g.saved] != [gid; 3] {
        return Err(Error::msg(format!(
            "process.user: after the switch to {uid}:{gid} the process holds uids {}/{}/{} and gids {}/{}/{}",
            r.real, r.effective, r.saved, g.real, g.effective, g.saved
        )));
    }
    Ok(())
}
