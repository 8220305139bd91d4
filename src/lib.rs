//! brig: a low-level OCI container runtime, a drop-in replacement for runc.
//! ARCHITECTURE.md maps each config.json field to the function that applies it.
//!
//! The layers, each using only those below it:
//! - `cli`, `commands`: the command line, one file per subcommand;
//! - `lifecycle`: a container seen from the host (create, start, run, exec, kill, delete,
//!   state, terminals, the state root);
//! - `spec`: config.json read and validated once;
//! - `process`: starting a process in a container, the parent's side and its protocol;
//! - `init`: inside the container, the ordered steps to execve (and its root filesystem);
//! - `cgroups`, `security`: resources and what the process may do;
//! - `support`: errors, logging, raw syscalls, /proc, hooks.

pub mod cgroups;
pub mod cli;
pub mod commands;
pub mod init;
pub mod lifecycle;
pub mod process;
pub mod security;
pub mod spec;
pub mod support;
