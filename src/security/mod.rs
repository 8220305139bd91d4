//! What the container process is allowed to do: capabilities and seccomp; LSM labels land
//! with the security milestone.

pub mod capabilities;
pub mod lsm;
pub mod seccomp;
