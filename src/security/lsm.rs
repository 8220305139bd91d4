//! AppArmor and SELinux labels. brig does not apply either yet; on a host without the LSM
//! a request is answered as runc and crun do: an AppArmor profile is an error, an SELinux
//! label is ignored (with a debug line).

use crate::error::{Error, Result};
use crate::logging;

fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y")
}

fn selinux_enabled() -> bool {
    std::path::Path::new("/sys/fs/selinux/enforce").exists()
}

/// `process.apparmorProfile` / `exec --apparmor`.
pub fn check_apparmor(field: &str, profile: Option<&str>) -> Result<()> {
    match profile.filter(|p| !p.is_empty()) {
        None => Ok(()),
        Some(_) if apparmor_enabled() => Err(Error::Unsupported(format!(
            "{field} (applying AppArmor profiles)"
        ))),
        Some(p) => Err(Error::msg(format!(
            "{field}: profile {p:?} requested but AppArmor is not enabled on this host"
        ))),
    }
}

/// `process.selinuxLabel`, `linux.mountLabel` / `exec --process-label`.
pub fn check_selinux(field: &str, label: Option<&str>) -> Result<()> {
    match label.filter(|l| !l.is_empty()) {
        None => Ok(()),
        Some(_) if selinux_enabled() => Err(Error::Unsupported(format!(
            "{field} (applying SELinux labels)"
        ))),
        Some(l) => {
            logging::debug(|| {
                format!("{field}: SELinux is disabled on this host; label {l:?} ignored")
            });
            Ok(())
        }
    }
}
