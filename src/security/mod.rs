//! What the container process is allowed to do: capabilities, seccomp, and the answer to
//! AppArmor/SELinux requests (`lsm`); and what it must never reach: brig's own binary
//! (`exe`).

pub mod capabilities;
pub mod exe;
pub mod lsm;
pub mod seccomp;
