//! A local-API request body (the Cortex REST and control DTOs): parsing answers a named 400
//! error or a value, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mayros_sync_node::api::cortex::{triple_from_json, AddPeerBody, BatchBody};
use mayros_sync_node::api::extract::parse_json;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = parse_json::<serde_json::Value>(data) {
        if let Err(e) = triple_from_json(&v, "") {
            assert_eq!(e.status.as_u16(), 400, "{}", e.message);
        }
    }
    if let Ok(batch) = parse_json::<BatchBody>(data) {
        for (i, t) in batch.triples.iter().enumerate() {
            let _ = triple_from_json(t, &format!("triples[{i}]"));
        }
    }
    for r in [
        parse_json::<AddPeerBody>(data).err(),
        parse_json::<mayros_sync_node::api::control::CodeBody>(data).err(),
        parse_json::<mayros_sync_node::api::control::PairBody>(data).err(),
    ]
    .into_iter()
    .flatten()
    {
        assert_eq!(r.status.as_u16(), 400, "{}", r.message);
    }
});
