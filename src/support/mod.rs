//! What every layer uses: the error type, log lines, RFC 3339 time, raw syscall wrappers,
//! the verified procfs handle, rtnetlink requests, the hook runner, and the test-only crash points.

pub mod clock;
pub mod crash;
pub mod criu;
pub mod error;
pub mod hooks;
pub mod logging;
pub mod netlink;
pub mod oci;
pub mod proc;
pub mod procfs;
pub mod sys;
