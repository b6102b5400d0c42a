//! Native-mode gossip protocol machines (DESIGN §4). Sans-IO: messages in, messages out.

pub mod exact;
