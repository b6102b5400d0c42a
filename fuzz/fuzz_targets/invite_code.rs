//! An invite code typed or pasted by a user: decoding never panics, and a decoded code
//! re-encodes to one that decodes to the same invite.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mayros_sync_proto::invite::{base32_decode, Invite};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(inv) = Invite::decode(text) {
        let again = Invite::decode(&inv.encode()).expect("a re-encoded code decodes");
        assert_eq!(again, inv);
    }
    let _ = base32_decode(text);
});
