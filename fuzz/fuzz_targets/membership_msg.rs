//! A membership message as a peer may send it (kinds 20–22, the first byte picks the kind):
//! decoding answers an error naming the message or a message that encodes back to itself, and
//! the membership machine takes it without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mayros_sync_proto::membership::seeds::SeedRing;
use mayros_sync_proto::membership::{wire, Membership};

const KINDS: [u64; 3] = [20, 21, 22];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let kind = KINDS[usize::from(pick) % KINDS.len()];
    match wire::decode(kind, body) {
        Ok(Some(msg)) => {
            let (k, again) = wire::encode(&msg);
            assert_eq!(k, kind);
            assert_eq!(wire::decode(k, &again).expect("re-encoded decodes"), Some(msg.clone()));
            let own = "a".repeat(64);
            let mut machine: Membership<String> =
                Membership::new(&own, Vec::new(), SeedRing::default(), Vec::new(), [7; 32]);
            machine.link_up(&"b".repeat(64), "127.0.0.1:9".into(), 1);
            machine.handle(&"b".repeat(64), msg, 2);
            while machine.poll().is_some() {}
        }
        Ok(None) => unreachable!("kinds 20-22 are membership kinds"),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
