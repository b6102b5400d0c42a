//! A polled-mode delta page or request from a peer (JSON): parsing and checking every triple
//! and deletion never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mayros_sync_proto::delta::{DeltaRequest, DeltaResponse};

fuzz_target!(|data: &[u8]| {
    if let Ok(page) = serde_json::from_slice::<DeltaResponse>(data) {
        for t in &page.triples {
            let _ = t.to_triple();
        }
        let text = serde_json::to_vec(&page).expect("a parsed page renders");
        let back: DeltaResponse = serde_json::from_slice(&text).expect("a rendered page parses");
        assert_eq!(back.deletions, page.deletions);
    }
    let _ = serde_json::from_slice::<DeltaRequest>(data);
});
