//! A `linux.seccomp` object (JSON) → a libseccomp filter, exported as BPF to /dev/null so
//! libseccomp generates the whole program. The filter is never loaded.

#![no_main]

use std::fs::File;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use oci_spec::runtime::LinuxSeccomp;

static DEV_NULL: LazyLock<File> =
    LazyLock::new(|| File::options().write(true).open("/dev/null").unwrap());

fuzz_target!(|data: &[u8]| {
    let Ok(profile) = serde_json::from_slice::<LinuxSeccomp>(data) else {
        return;
    };
    match brig::security::seccomp::compile(&profile) {
        Ok(filter) => {
            let _ = filter.export_bpf(&*DEV_NULL);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
