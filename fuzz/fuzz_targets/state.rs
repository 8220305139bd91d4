//! state.json bytes → SavedState, and back: what brig writes for an accepted state must
//! read back and write again byte for byte, and the hook state document must encode.

#![no_main]

use brig::lifecycle::status::{hook_state_json, Status};
use brig::lifecycle::state::SavedState;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(state) = SavedState::parse(data) else {
        return;
    };
    let once = state.encode().expect("a parsed state encodes");
    let again = SavedState::parse(&once).expect("an encoded state parses");
    let twice = again.encode().expect("a parsed state encodes");
    assert_eq!(
        String::from_utf8_lossy(&once),
        String::from_utf8_lossy(&twice),
        "state.json changes on a round trip"
    );
    let json = hook_state_json(&state, Status::Running, state.pid);
    assert!(!json.is_empty(), "no OCI state document for {state:?}");
});
