//! Running without root: whether brig is in rootless mode, and where its state goes. (The
//! id maps a user writes are `process::idmap_helper`'s.)

use std::path::PathBuf;

/// `--rootless auto`, as runc decides it: rootless when not root, or when root only of a
/// user namespace (no permission over the host's cgroups either way).
pub fn detect() -> bool {
    !crate::support::proc::privileged()
}

/// The state root of root (runc's /run/runc, with brig for runc).
pub const DEFAULT_ROOT: &str = "/run/brig";

/// The state root when `--root` is not given: /run/brig, or $XDG_RUNTIME_DIR/brig for a
/// user that has one (runc's rule, with brig for runc).
pub fn default_root() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(dir) if !nix::unistd::geteuid().is_root() => PathBuf::from(dir).join("brig"),
        _ => PathBuf::from(DEFAULT_ROOT),
    }
}
