//! Mount option lists (one option per line) → flags, propagation, recursive attributes
//! and fs data, as `spec::validate` and `rootfs` parse them.

#![no_main]

use brig::init::rootfs::mountopts;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let options: Vec<String> = text.split('\n').map(String::from).collect();
    for o in &options {
        let _ = mountopts::propagation(o);
    }
    if let Ok(parsed) = mountopts::parse(&options) {
        let _ = parsed.is_bind();
        let _ = parsed.remount_flags();
        // Only options brig does not know reach the filesystem, and all of them do.
        for d in &parsed.data {
            assert!(!mountopts::is_known(d), "{d:?} passed as fs data");
        }
        let data_opts = options.iter().filter(|o| !mountopts::is_known(o)).count();
        assert_eq!(parsed.data.len(), data_opts, "{options:?}");
        assert_eq!(parsed.data_string().is_some(), data_opts > 0);
    }
});
