//! A container seen from the host: create, start, run, exec, kill, delete and its status,
//! the state root, terminals, the foreground `run`/`exec`, and rootless decisions.

pub mod checkpoint;
pub mod console;
pub mod create;
pub mod criu_plan;
pub mod delete;
pub mod events;
pub mod exec;
pub mod foreground;
pub mod kill;
pub mod pause;
pub mod processes;
pub mod restore;
pub mod rootless;
pub mod run;
pub mod start;
pub mod state;
pub mod status;
pub mod update;
