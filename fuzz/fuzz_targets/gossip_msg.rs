//! One gossip message body of any kind: the public decoder answers "unknown", "malformed" or a
//! message that re-encodes to bytes decoding to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mayros_sync_proto::frame::read_varint;
use mayros_sync_proto::gossip::change::TripleChange;
use mayros_sync_proto::gossip::msg::GossipMsg;
use mayros_sync_proto::gossip::replica::{Item, Payload};

fuzz_target!(|data: &[u8]| {
    let Some((kind, used)) = read_varint(data) else {
        return;
    };
    let body = &data[used..];
    if let Ok(Some(m)) = GossipMsg::<TripleChange>::decode(kind, body) {
        let (k, b) = m.encode();
        let again = GossipMsg::<TripleChange>::decode(k, &b);
        assert_eq!(again, Ok(Some(m)), "re-encoding changed the message");
    }
    if let Ok(Some(m)) = GossipMsg::<Item>::decode(kind, body) {
        let (k, b) = m.encode();
        assert_eq!(GossipMsg::<Item>::decode(k, &b), Ok(Some(m)));
    }
    let _ = TripleChange::decode(body);
    let _ = Item::decode(body);
});
