//! What the container process is allowed to do: capabilities, seccomp, and the answer to
//! AppArmor/SELinux requests (`lsm`).

pub mod capabilities;
pub mod lsm;
pub mod seccomp;
