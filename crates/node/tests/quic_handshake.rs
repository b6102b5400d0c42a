//! QUIC on 127.0.0.1: pinned mutual TLS, ALPN, and the seed proof bound to the channel.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use ed25519_dalek::SigningKey;
use mayros_sync_node::quic::{accept_sync, dial_sync, HandshakeError, QuicEndpoint, SYNC_ALPN};
use mayros_sync_node::tls::DeviceCert;
use mayros_sync_proto::seedproof::GroupSeed;

fn cert(n: u8) -> DeviceCert {
    DeviceCert::new(&SigningKey::from_bytes(&[n; 32])).unwrap()
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Runs one dial/accept pair; returns both sides' handshake results.
async fn pair(
    server_seed: GroupSeed,
    client_seed: GroupSeed,
    member: bool,
) -> (Result<String, HandshakeError>, Result<(), HandshakeError>) {
    let (a, b) = (cert(1), cert(2));
    let server = QuicEndpoint::bind(loopback(), &a).unwrap();
    let client = QuicEndpoint::bind(loopback(), &b).unwrap();
    let addr = server.local_addr().unwrap();
    let b_id = b.node_id().to_string();
    let a_id = a.node_id().to_string();
    let acceptor = tokio::spawn(async move {
        let conn = server.accept().await.unwrap().await.unwrap();
        let r = accept_sync(&conn, std::slice::from_ref(&server_seed), &a_id, |id| {
            member && id == b_id
        })
        .await
        .map(|(peer, _, _)| peer);
        // Keep the connection open until the dialer has read our answer.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), conn.closed()).await;
        r
    });
    let conn = client.connect(addr, a.node_id(), SYNC_ALPN).await.unwrap();
    let dialed = dial_sync(&conn, &client_seed, b.node_id())
        .await
        .map(|_| ());
    conn.close(0u32.into(), b"done");
    (acceptor.await.unwrap(), dialed)
}

#[tokio::test]
async fn members_with_the_same_seed_complete_the_handshake() {
    let (accepted, dialed) = pair(GroupSeed([7; 32]), GroupSeed([7; 32]), true).await;
    assert_eq!(accepted.unwrap(), cert(2).node_id());
    dialed.unwrap();
}

#[tokio::test]
async fn a_wrong_seed_is_refused() {
    let (accepted, dialed) = pair(GroupSeed([7; 32]), GroupSeed([8; 32]), true).await;
    assert_eq!(accepted.unwrap_err(), HandshakeError::BadProof);
    assert!(dialed.is_err());
}

#[tokio::test]
async fn a_non_member_is_refused_before_any_proof() {
    let (accepted, dialed) = pair(GroupSeed([7; 32]), GroupSeed([7; 32]), false).await;
    assert!(matches!(
        accepted.unwrap_err(),
        HandshakeError::NotAMember(_)
    ));
    assert!(dialed.is_err());
}

#[tokio::test]
async fn dialing_pins_the_expected_node_id() {
    let server = QuicEndpoint::bind(loopback(), &cert(1)).unwrap();
    let client = QuicEndpoint::bind(loopback(), &cert(2)).unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(async move {
        while let Some(incoming) = server.accept().await {
            let _ = incoming.await;
        }
    });
    let err = client
        .connect(addr, cert(3).node_id(), SYNC_ALPN)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("handshake failed"), "{err}");
}
