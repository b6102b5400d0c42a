//! Property tests for the sync stream: whatever bytes arrive, the decoders answer "unknown",
//! "malformed" or a message that re-encodes to the same bytes — they never panic.
#![allow(clippy::unwrap_used)]

use mayros_sync_proto::clickpair::PairMsg;
use mayros_sync_proto::frame::FrameDecoder;
use mayros_sync_proto::gossip::change::TripleChange;
use mayros_sync_proto::gossip::msg::{decode_addresses, GossipMsg};
use mayros_sync_proto::gossip::replica::{Item, Payload};
use mayros_sync_proto::model::{Triple, Value};
use mayros_sync_proto::Hlc;
use proptest::prelude::*;

fn valid_batch() -> (u64, Vec<u8>) {
    let changes: Vec<TripleChange> = (0..3)
        .map(|i| TripleChange::Assert {
            triple: Triple::new("mayros:s", "ex:p", Value::Integer(i)).unwrap(),
            created_at: "2026-11-24T00:00:00Z".into(),
            author: "ab".repeat(32),
            hlc: Hlc::new(1_700_000_000_000, 1),
        })
        .collect();
    GossipMsg::Batch {
        seq: 7,
        source: mayros_sync_proto::gossip::replica::Source::Round,
        changes,
    }
    .encode()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn random_bodies_never_panic(kind in 0u64..64, body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let engine = GossipMsg::<TripleChange>::decode(kind, &body);
        if let Ok(Some(m)) = engine {
            // Whatever decodes must re-encode to a message that decodes to itself.
            let (k, b) = m.encode();
            prop_assert_eq!(GossipMsg::<TripleChange>::decode(k, &b).unwrap().unwrap(), m);
        }
        let _ = GossipMsg::<Item>::decode(kind, &body);
        let _ = TripleChange::decode(&body);
        let _ = Item::decode(&body);
        let _ = decode_addresses(&body);
        let _ = PairMsg::from_bytes(&body);
    }

    #[test]
    fn mutated_valid_batches_never_panic(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        let (kind, mut body) = valid_batch();
        for (at, x) in flips {
            let i = at % body.len();
            body[i] ^= x;
        }
        let _ = GossipMsg::<TripleChange>::decode(kind, &body);
    }

    #[test]
    fn the_frame_decoder_survives_any_stream(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..16)) {
        let mut dec = FrameDecoder::new();
        for c in chunks {
            dec.push(&c);
            while let Ok(Some(_)) = dec.next_frame() {}
        }
    }
}

/// Found by `scripts/fuzz` (gossip_msg): a JSON object `99.0` decoded to a value that
/// re-encoded as `99` and then decoded to another value.
#[test]
fn a_json_number_in_non_canonical_form_round_trips() {
    let input: &[u8] = &[
        11, 1, 0, 1, 0, 8, 27, 0, 3, 0, 0, 0, 0, 35, 9, 9, 18, 9, 9, 9, 9, 48, 9, 87, 9, 9, 9, 9,
        9, 9, 57, 57, 46, 48, 9, 0, 0, 0, 0, 0, 0, 59, 9, 52, 57, 57, 57, 0, 0, 0, 0, 0, 238, 0,
        34, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 46, 0, 0, 57, 57, 57, 9, 30, 9, 9, 9, 53,
    ];
    let (kind, used) = mayros_sync_proto::frame::read_varint(input).unwrap();
    let m = GossipMsg::<TripleChange>::decode(kind, &input[used..])
        .unwrap()
        .unwrap();
    let (k, b) = m.encode();
    assert_eq!(
        GossipMsg::<TripleChange>::decode(k, &b).unwrap().unwrap(),
        m
    );
}
