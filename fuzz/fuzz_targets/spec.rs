//! config.json bytes → a validated bundle: parsing (with the JSON path of a bad field) and
//! every check `spec.rs` makes. The rootfs path is taken as given, so no bundle is needed.

#![no_main]

use std::path::{Path, PathBuf};

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = PathBuf::from("/bundle");
    let rootfs = |p: &Path| Ok(p.to_path_buf());
    if let Err(e) = brig::spec::Bundle::from_config(dir, data.to_vec(), rootfs) {
        // The message is what the user sees: formatting it must not panic either.
        let _ = e.to_string();
    }
});
