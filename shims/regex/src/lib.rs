//! brig's stand-in for the regex crate (shims/regex/Cargo.toml says why): regex-lite's
//! API under regex's name.

pub use regex_lite::*;
