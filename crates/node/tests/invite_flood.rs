//! Invite-code guessing on a real engine's peer API (issue 16): past the per-address limit,
//! join attempts are refused with 429 and a message naming the limit, before any proof is checked.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use ed25519_dalek::SigningKey;
use hyper::Method;
use mayros_sync_node::peer::PeerSession;
use mayros_sync_node::sync::pairing::{JoinRequest, JOIN_PATH};
use mayros_sync_node::tls::DeviceCert;
use mayros_sync_node::{Daemon, DaemonOptions};
use mayros_sync_proto::ratelimit::INVITE_ATTEMPTS;

#[tokio::test]
async fn guessed_invite_proofs_are_cut_off_after_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = DaemonOptions::new(dir.path().to_path_buf());
    opts.api = SocketAddr::from(([127, 0, 0, 1], 0));
    opts.peer_api = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    opts.quic = None;
    opts.secret_store = Some(mayros_sync_store::SecretStoreChoice::File);
    let daemon = Daemon::start(opts).await.unwrap();
    let info = daemon.info().clone();
    // A live invite exists: the guesses race against a real secret.
    daemon.engine().create_invite().await.unwrap();

    let guesser = DeviceCert::new(&SigningKey::from_bytes(&[9; 32])).unwrap();
    let mut answers = Vec::new();
    for i in 0..INVITE_ATTEMPTS.burst + 5 {
        let mut session = PeerSession::connect(info.peer_api.unwrap(), &info.node_id, &guesser)
            .await
            .unwrap();
        let req = JoinRequest {
            node_id: guesser.node_id().to_string(),
            name: "guesser".into(),
            endpoint: None,
            proof: format!("{i:064x}"),
            quic_port: None,
        };
        let body = serde_json::to_vec(&req).unwrap();
        let (status, bytes) = session
            .send(Method::POST, JOIN_PATH, &[], body)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        answers.push((status.as_u16(), json));
    }
    let burst = INVITE_ATTEMPTS.burst as usize;
    for (status, json) in &answers[..burst] {
        assert_eq!(
            (*status, json["code"].as_str()),
            (401, Some("INVITE_REJECTED")),
            "{json}"
        );
    }
    for (status, json) in &answers[burst..] {
        assert_eq!(
            (*status, json["code"].as_str()),
            (429, Some("TOO_MANY_ATTEMPTS")),
            "{json}"
        );
        let msg = json["error"].as_str().unwrap();
        assert!(
            msg.starts_with("too many invite attempts from 127.0.0.1")
                && msg.contains("try again in"),
            "{msg}"
        );
    }
    daemon.shutdown().await;
}
