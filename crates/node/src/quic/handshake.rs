//! The seed proof on a fresh sync connection (DESIGN §7.3): after the TLS handshake each side
//! sends HMAC(HKDF(seed, "mayros-sync/quic/1"), TLS exporter ‖ its node id); the dialer first.

use mayros_sync_proto::frame::{encode_frame, FrameDecoder};
use mayros_sync_proto::seedproof::{GroupSeed, EXPORTER_LABEL};
use quinn::{Connection, RecvStream, SendStream};

use super::endpoint::peer_node_id;

/// Message kind of the seed proof frame.
pub const KIND_SEED_PROOF: u64 = 1;
/// QUIC application close code for a refused handshake.
pub const CLOSE_REFUSED: u32 = 0x4d53;

/// Why a sync connection was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// The peer presented no usable certificate.
    #[error("the peer presented no Ed25519 device certificate")]
    NoCertificate,
    /// The peer is not a roster member.
    #[error("node {0} is not a member of this sync group")]
    NotAMember(String),
    /// The peer's seed proof did not verify.
    #[error("the peer's seed proof does not verify (wrong group seed)")]
    BadProof,
    /// The stream broke or sent something else.
    #[error("seed proof exchange failed: {0}")]
    Stream(String),
}

fn exporter(conn: &Connection) -> Result<[u8; 32], HandshakeError> {
    let mut out = [0u8; 32];
    conn.export_keying_material(&mut out, EXPORTER_LABEL, b"")
        .map_err(|_| HandshakeError::Stream("no TLS exporter".into()))?;
    Ok(out)
}

async fn send_proof(send: &mut SendStream, proof: &[u8; 32]) -> Result<(), HandshakeError> {
    let frame =
        encode_frame(KIND_SEED_PROOF, proof).map_err(|e| HandshakeError::Stream(e.to_string()))?;
    send.write_all(&frame)
        .await
        .map_err(|e| HandshakeError::Stream(e.to_string()))
}

/// Reads exactly one seed-proof frame (header, then body) and nothing beyond it, so a frame
/// the peer sends right after its proof stays in the stream for the link's reader.
async fn read_proof(recv: &mut RecvStream) -> Result<Vec<u8>, HandshakeError> {
    let closed = |e: quinn::ReadExactError| HandshakeError::Stream(e.to_string());
    let mut header = [0u8; 4];
    recv.read_exact(&mut header).await.map_err(closed)?;
    let len = u32::from_be_bytes(header) as usize;
    if len > 1024 {
        return Err(HandshakeError::Stream("seed proof frame too long".into()));
    }
    let mut payload = vec![0u8; len];
    recv.read_exact(&mut payload).await.map_err(closed)?;
    let mut dec = FrameDecoder::new();
    dec.push(&header);
    dec.push(&payload);
    match dec.next_frame() {
        Ok(Some(frame)) if frame.kind == KIND_SEED_PROOF => Ok(frame.body),
        Ok(Some(frame)) => Err(HandshakeError::Stream(format!(
            "expected a seed proof, got kind {}",
            frame.kind
        ))),
        Ok(None) => Err(HandshakeError::Stream("incomplete seed proof".into())),
        Err(e) => Err(HandshakeError::Stream(e.to_string())),
    }
}

fn refuse(conn: &Connection, err: HandshakeError) -> HandshakeError {
    conn.close(CLOSE_REFUSED.into(), err.to_string().as_bytes());
    err
}

/// Dialer side: prove our seed, then check the acceptor's proof. Returns the control stream.
pub async fn dial_sync(
    conn: &Connection,
    seed: &GroupSeed,
    own_node_id: &str,
) -> Result<(SendStream, RecvStream), HandshakeError> {
    let peer = peer_node_id(conn).ok_or(HandshakeError::NoCertificate)?;
    let exp = exporter(conn)?;
    let (mut send, mut recv) = conn
        .open_bi()
        .await
        .map_err(|e| HandshakeError::Stream(e.to_string()))?;
    send_proof(&mut send, &seed.quic_proof(&exp, own_node_id)).await?;
    let theirs = read_proof(&mut recv).await?;
    if !seed.verify_quic(&exp, &peer, &theirs) {
        return Err(refuse(conn, HandshakeError::BadProof));
    }
    Ok((send, recv))
}

/// Acceptor side: the dialer must be a roster member and prove one of `seeds` (the current one
/// or one a member that missed a rotation still holds) first; we answer with the same seed.
pub async fn accept_sync(
    conn: &Connection,
    seeds: &[GroupSeed],
    own_node_id: &str,
    is_member: impl Fn(&str) -> bool,
) -> Result<(String, SendStream, RecvStream), HandshakeError> {
    let peer = peer_node_id(conn).ok_or(HandshakeError::NoCertificate)?;
    if !is_member(&peer) {
        return Err(refuse(conn, HandshakeError::NotAMember(peer)));
    }
    let exp = exporter(conn)?;
    let (mut send, mut recv) = conn
        .accept_bi()
        .await
        .map_err(|e| HandshakeError::Stream(e.to_string()))?;
    let theirs = read_proof(&mut recv).await?;
    let Some(seed) = seeds.iter().find(|s| s.verify_quic(&exp, &peer, &theirs)) else {
        return Err(refuse(conn, HandshakeError::BadProof));
    };
    send_proof(&mut send, &seed.quic_proof(&exp, own_node_id)).await?;
    Ok((peer, send, recv))
}
