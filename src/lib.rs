//! brig: a low-level OCI container runtime, a drop-in replacement for runc.
//! ARCHITECTURE.md maps each config.json field to the function that applies it.

pub mod cgroups;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod container;
pub mod copyup;
pub mod crash;
pub mod create;
pub mod error;
pub mod exec;
pub mod hooks;
pub mod logging;
pub mod mountopts;
pub mod process;
pub mod procfs;
pub mod rootfs;
pub mod rootless;
pub mod security;
pub mod signals;
pub mod spec;
pub mod state;
pub mod sys;
pub mod tty;
