//! Flood limits of the QUIC endpoint from one source address (issue 16): pairing requests and
//! failed seed proofs are refused with a reason past their limits and raise no more events.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use mayros_sync_node::quic::{
    dial_sync, LinkEvent, Links, Membership, QuicEndpoint, PAIR_ALPN, SYNC_ALPN,
};
use mayros_sync_node::tls::DeviceCert;
use mayros_sync_proto::ratelimit::{FAILED_PROOFS, PAIR_REQUESTS};
use mayros_sync_proto::seedproof::GroupSeed;
use tokio::sync::mpsc;

const DEADLINE: Duration = Duration::from_secs(30);

fn cert(n: u8) -> DeviceCert {
    DeviceCert::new(&SigningKey::from_bytes(&[n; 32])).unwrap()
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

struct Roster {
    members: HashSet<String>,
    seed: GroupSeed,
}

impl Membership for Roster {
    fn is_member(&self, node_id: &str) -> bool {
        self.members.contains(node_id)
    }

    fn seed(&self) -> Option<GroupSeed> {
        Some(self.seed.clone())
    }
}

/// Device 1 with device 2 in its roster and seed `[7; 32]`.
fn start() -> (Links, mpsc::Receiver<LinkEvent>, String) {
    let c = cert(1);
    let endpoint = QuicEndpoint::bind(loopback(), &c).unwrap();
    let roster = Roster {
        members: [cert(2).node_id().to_string()].into_iter().collect(),
        seed: GroupSeed([7; 32]),
    };
    let id = c.node_id().to_string();
    let (links, events) = Links::start(endpoint, id.clone(), Arc::new(roster));
    (links, events, id)
}

#[tokio::test]
async fn a_pairing_request_flood_reaches_the_prompt_only_within_the_limit() {
    let (links, _events, id) = start();
    let (tx, mut prompts) = mpsc::channel(64);
    links.set_pairing_handler(tx);
    let addr = links.local_addr().unwrap();
    let stranger = QuicEndpoint::bind(loopback(), &cert(9)).unwrap();
    let burst = PAIR_REQUESTS.burst as usize;
    let mut conns = Vec::new();
    for _ in 0..burst + 7 {
        conns.push(stranger.connect(addr, &id, PAIR_ALPN).await.unwrap());
    }
    for (i, conn) in conns.iter().enumerate().skip(burst) {
        let closed = tokio::time::timeout(DEADLINE, conn.closed()).await.unwrap();
        let reason = closed.to_string();
        assert!(
            reason.contains("too many pairing requests from 127.0.0.1")
                && reason.contains("try again in"),
            "request {i}: {reason}"
        );
    }
    // Held here: dropping the handler's end would close the connection.
    let mut prompted = Vec::new();
    while let Ok(Some(c)) = tokio::time::timeout(Duration::from_millis(1), prompts.recv()).await {
        prompted.push(c);
    }
    assert_eq!(
        prompted.len(),
        burst,
        "only the first requests reach the pairing prompt"
    );
    for conn in &conns[..burst] {
        assert!(conn.close_reason().is_none(), "accepted requests stay open");
    }
}

#[tokio::test]
async fn failed_seed_proofs_shut_the_address_out_without_more_security_events() {
    let (links, mut events, id) = start();
    let addr = links.local_addr().unwrap();
    // A member's certificate with the wrong seed: each try is a security event.
    let attacker = QuicEndpoint::bind(loopback(), &cert(2)).unwrap();
    let burst = FAILED_PROOFS.burst as usize;
    for i in 0..burst {
        let conn = attacker.connect(addr, &id, SYNC_ALPN).await.unwrap();
        let proof = dial_sync(&conn, &GroupSeed([8; 32]), cert(2).node_id()).await;
        assert!(proof.is_err(), "try {i} with a wrong seed");
    }
    let mut untrusted = 0;
    while untrusted < burst {
        match tokio::time::timeout(DEADLINE, events.recv()).await.unwrap() {
            Some(LinkEvent::Refused {
                untrusted: true, ..
            }) => untrusted += 1,
            Some(_) => {}
            None => panic!("events closed"),
        }
    }
    // Now the address is refused before any handshake, so no further event can arise.
    for i in 0..5 {
        let refused = attacker.connect(addr, &id, SYNC_ALPN).await;
        assert!(
            refused.is_err(),
            "try {} after the limit connected",
            burst + i
        );
    }
    assert!(events.try_recv().is_err(), "no events past the limit");
    // Another address is not affected.
    let member = QuicEndpoint::bind(SocketAddr::from(([127, 0, 0, 2], 0)), &cert(2)).unwrap();
    let conn = member.connect(addr, &id, SYNC_ALPN).await.unwrap();
    dial_sync(&conn, &GroupSeed([7; 32]), cert(2).node_id())
        .await
        .unwrap();
}
