//! Incoming connections: admission against flood limits, the QUIC handshake, routing by ALPN
//! (pairing connections go to the pairing handler), and the seed proof of a sync link; every
//! connection that does not become a link is refused with a reason.

use std::net::SocketAddr;
use std::sync::Arc;

use quinn::Connection;
use tracing::{debug, info_span, Instrument};

use super::shared::{Refusal, Shared};
use super::{short, CLOSE_DUPLICATE, PAIRING_UNAVAILABLE};
use crate::quic::endpoint::{alpn_of, peer_node_id, HANDSHAKE_TIMEOUT};
use crate::quic::handshake::{accept_sync, HandshakeError, CLOSE_REFUSED};
use crate::quic::{PAIR_ALPN, SYNC_ALPN};

/// Completes the QUIC handshake of an incoming connection, within [`HANDSHAKE_TIMEOUT`].
async fn quic_handshake(incoming: quinn::Incoming) -> Result<Connection, Refusal> {
    let refused = |reason: String| Refusal::Refused(None, reason);
    let connecting = incoming
        .accept()
        .map_err(|e| refused(format!("cannot accept: {e}")))?;
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, connecting).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(refused(format!("QUIC handshake failed: {e}"))),
        Err(_) => Err(refused("QUIC handshake timed out".to_string())),
    }
}

impl Shared {
    /// Accepts connections until the endpoint closes; each is handled on its own task.
    pub(super) async fn accept_loop(self: Arc<Self>) {
        let mut stop = self.stop.subscribe();
        loop {
            let incoming = tokio::select! {
                incoming = self.endpoint.accept() => incoming,
                _ = stop.wait_for(|s| *s) => None,
            };
            let Some(incoming) = incoming else { break };
            let addr = incoming.remote_address();
            // Before any handshake work: a flood from one address costs one refusal packet each.
            if let Err(reason) = self.flood.admit_connection(addr.ip()) {
                debug!(%addr, %reason, "connection refused before the handshake");
                incoming.refuse();
                continue;
            }
            let span = info_span!("accept", %addr, peer = tracing::field::Empty);
            self.runtime
                .spawn(self.clone().accept_one(incoming, addr).instrument(span));
        }
        debug!("accept loop ended");
    }

    /// Handles one incoming connection; refusals are reported.
    async fn accept_one(self: Arc<Self>, incoming: quinn::Incoming, addr: SocketAddr) {
        match self.try_accept(incoming).await {
            Ok(()) => {}
            Err(Refusal::Duplicate(reason)) => debug!(%reason, "duplicate link closed"),
            Err(Refusal::Limited(reason)) => debug!(%reason, "connection refused by a flood limit"),
            Err(Refusal::Refused(node_id, reason)) => {
                self.refused(addr, node_id, reason, false).await
            }
            Err(Refusal::Untrusted(node_id, reason)) => {
                self.flood.proof_failed(addr.ip());
                self.refused(addr, node_id, reason, true).await
            }
        }
    }

    /// Completes the QUIC handshake of an incoming connection and routes it by its ALPN.
    async fn try_accept(self: &Arc<Self>, incoming: quinn::Incoming) -> Result<(), Refusal> {
        let conn = quic_handshake(incoming).await?;
        let node_id = peer_node_id(&conn);
        if let Some(id) = &node_id {
            tracing::Span::current().record("peer", short(id));
        }
        match alpn_of(&conn).as_deref() {
            Some(alpn) if alpn == SYNC_ALPN => self.accept_sync_link(conn, node_id).await,
            Some(alpn) if alpn == PAIR_ALPN => self.hand_to_pairing(&conn, node_id),
            _ => Err(Refusal::close(
                &conn,
                node_id,
                "no supported ALPN".to_string(),
            )),
        }
    }

    /// Passes a pairing connection to the pairing handler, unless over the address's pairing
    /// limit, no handler is set, or the handler is busy.
    fn hand_to_pairing(&self, conn: &Connection, node_id: Option<String>) -> Result<(), Refusal> {
        if let Err(reason) = self.flood.admit_pair_request(conn.remote_address().ip()) {
            conn.close(CLOSE_REFUSED.into(), reason.as_bytes());
            return Err(Refusal::Limited(reason));
        }
        let handler = self
            .pairing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let reason = match handler {
            Some(tx) => match tx.try_send(conn.clone()) {
                Ok(()) => return Ok(()),
                Err(_) => "too many pairing sessions at once",
            },
            None => PAIRING_UNAVAILABLE,
        };
        Err(Refusal::close(conn, node_id, reason.to_string()))
    }

    /// Checks a sync connection's sender, lets its handshake proceed unless it is a duplicate
    /// link, and verifies the seed proof both ways; then installs the link.
    async fn accept_sync_link(
        self: &Arc<Self>,
        conn: Connection,
        node_id: Option<String>,
    ) -> Result<(), Refusal> {
        let refuse = |reason: String| Err(Refusal::close(&conn, node_id.clone(), reason));
        let seeds = self.membership.accepted_seeds();
        if seeds.is_empty() {
            return refuse("this device is in no sync group".to_string());
        }
        let Some(peer) = node_id.clone() else {
            return refuse(HandshakeError::NoCertificate.to_string());
        };
        if peer == self.own {
            return refuse("connection from this device's own node id".to_string());
        }
        let guard = match self.begin_accept(&peer, conn.remote_address()) {
            Ok(guard) => guard,
            Err(reason) => {
                conn.close(CLOSE_DUPLICATE.into(), reason.as_bytes());
                return Err(Refusal::Duplicate(reason));
            }
        };
        let membership = self.membership.clone();
        let is_member = move |id: &str| membership.is_member(id);
        let proof = accept_sync(&conn, &seeds, &self.own, is_member);
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, proof).await {
            Ok(Ok((peer, send, recv))) => {
                self.install(peer, conn, (send, recv), false).await;
                drop(guard);
                Ok(())
            }
            Ok(Err(e @ (HandshakeError::NotAMember(_) | HandshakeError::BadProof))) => {
                let reason = e.to_string();
                conn.close(CLOSE_REFUSED.into(), reason.as_bytes());
                Err(Refusal::Untrusted(node_id.clone(), reason))
            }
            Ok(Err(e)) => refuse(e.to_string()),
            Err(_) => refuse("the seed proof exchange timed out".to_string()),
        }
    }
}
