//! Native-mode gossip protocol machines (DESIGN §4). Sans-IO: messages in, messages out.

pub mod change;
pub mod exact;
pub mod msg;
pub mod node;
mod reader;
pub mod replica;
pub mod sim;
pub mod strategy;
