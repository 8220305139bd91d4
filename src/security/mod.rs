//! What the container process is allowed to do: capabilities now; seccomp and LSM labels
//! land with the security milestone.

pub mod capabilities;
