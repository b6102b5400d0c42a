//! The peer HTTPS transport over real loopback TLS: pinning and connection identity.
#![allow(clippy::unwrap_used)]

use axum::routing::post;
use axum::{Extension, Router};
use ed25519_dalek::SigningKey;
use hyper::{Method, StatusCode};
use mayros_sync_node::peer::{serve, PeerConnInfo, PeerSession, HTTPS_ALPN};
use mayros_sync_node::tls::DeviceCert;
use tokio::net::TcpListener;

async fn whoami(Extension(info): Extension<PeerConnInfo>, body: axum::body::Bytes) -> String {
    format!(
        "{}|{}|{}",
        info.client_node_id.unwrap_or_default(),
        hex::encode(info.exporter),
        String::from_utf8_lossy(&body)
    )
}

#[tokio::test]
async fn the_server_knows_the_client_and_both_share_the_exporter() {
    let server_cert = DeviceCert::new(&SigningKey::from_bytes(&[1; 32])).unwrap();
    let client_cert = DeviceCert::new(&SigningKey::from_bytes(&[2; 32])).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let app = Router::new().route("/who", post(whoami));
    let server = tokio::spawn(serve(
        listener,
        server_cert.server_config(&[HTTPS_ALPN]).unwrap(),
        app,
        stop_rx,
    ));

    let mut session = PeerSession::connect(addr, server_cert.node_id(), &client_cert)
        .await
        .unwrap();
    for round in 0..3 {
        let (status, body) = session
            .send(
                Method::POST,
                "/who",
                &[],
                format!("hello {round}").into_bytes(),
            )
            .await
            .unwrap();
        assert_eq!(status, StatusCode::OK);
        let text = String::from_utf8(body.to_vec()).unwrap();
        let parts: Vec<&str> = text.split('|').collect();
        assert_eq!(parts[0], client_cert.node_id());
        assert_eq!(
            parts[1],
            hex::encode(session.exporter()),
            "same channel binding on both ends"
        );
        assert_eq!(
            parts[2],
            format!("hello {round}"),
            "keep-alive reuses the connection"
        );
    }

    let wrong = DeviceCert::new(&SigningKey::from_bytes(&[3; 32])).unwrap();
    let err = PeerSession::connect(addr, wrong.node_id(), &client_cert)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("TLS handshake failed"), "{err}");

    stop.send(true).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap();
}
