//! A QUIC sync stream: any bytes, in any chunking, through the frame decoder and then the
//! public gossip decoder (every message kind, present and future), never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mayros_sync_proto::clickpair::PairMsg;
use mayros_sync_proto::frame::FrameDecoder;
use mayros_sync_proto::gossip::change::TripleChange;
use mayros_sync_proto::gossip::msg::{decode_addresses, GossipMsg};

fuzz_target!(|data: &[u8]| {
    // The first byte picks the chunk size, so split frames and split prefixes are covered.
    let Some((&chunk, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);
    let mut dec = FrameDecoder::new();
    for piece in stream.chunks(chunk) {
        dec.push(piece);
        // A malformed frame ends the link; so does it here.
        while let Ok(Some(frame)) = dec.next_frame() {
            let _ = GossipMsg::<TripleChange>::decode(frame.kind, &frame.body);
            let _ = decode_addresses(&frame.body);
            let _ = PairMsg::from_bytes(&frame.body);
        }
    }
});
