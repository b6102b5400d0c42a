//! Outbound links: each wanted peer's redialer, which dials while the peer is down and
//! waits out a backoff between failed attempts, and the dial itself (connect, pin the node id,
//! prove the seed).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use quinn::{Connection, ConnectionError, RecvStream, SendStream};
use tokio::sync::{watch, Notify};
use tracing::{debug, Instrument};

use super::backoff::Backoff;
use super::shared::{Refusal, Shared};
use super::CLOSE_DUPLICATE;
use crate::quic::endpoint::HANDSHAKE_TIMEOUT;
use crate::quic::handshake::{dial_sync, CLOSE_REFUSED};
use crate::quic::SYNC_ALPN;

impl Shared {
    /// Keeps `peer` linked while wanted: dials when down, with backoff between attempts.
    pub(super) async fn keep_wanted(
        self: Arc<Self>,
        peer: String,
        mut addr: watch::Receiver<SocketAddr>,
        down: Arc<Notify>,
    ) {
        let mut backoff = Backoff::new();
        let mut delay: Option<Duration> = None;
        loop {
            let linked = self.lock().linked_or_accepting(&peer);
            if linked {
                backoff.reset();
                tokio::select! {
                    _ = down.notified() => delay = Some(backoff.next_delay()),
                    changed = addr.changed() => if changed.is_err() { return },
                }
                continue;
            }
            if let Some(wait) = delay.take() {
                debug!(?wait, "redialing after backoff");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    changed = addr.changed() => if changed.is_err() { return },
                }
                continue;
            }
            let target = *addr.borrow_and_update();
            tokio::select! {
                linked = self.dial(&peer, target) => if !linked {
                    delay = Some(backoff.next_delay());
                },
                changed = addr.changed() => if changed.is_err() { return },
            }
        }
    }

    /// Dials `peer` at `addr` once; failures are reported as `Refused`. True if a link came up.
    async fn dial(self: &Arc<Self>, peer: &str, addr: SocketAddr) -> bool {
        let Some(guard) = self.begin_dial(peer) else {
            // Linked meanwhile, or a handshake with the peer is under way: nothing to do now.
            return self.lock().linked_or_accepting(peer);
        };
        debug!(%addr, "dialing");
        match self.try_dial(peer, addr).await {
            Ok((conn, streams)) => {
                // A cancelled dial must not cut an install short: it runs on its own task,
                // which keeps the dial marked until the link is in place.
                let (shared, peer) = (self.clone(), peer.to_string());
                let install = async move {
                    let linked = shared.install(peer, conn, streams, true).await;
                    drop(guard);
                    linked
                };
                let task = self.runtime.spawn(install.in_current_span());
                task.await.unwrap_or(false)
            }
            Err(Refusal::Duplicate(reason)) => {
                debug!(%reason, "our dial lost to the peer's");
                false
            }
            Err(
                Refusal::Refused(_, reason)
                | Refusal::Untrusted(_, reason)
                | Refusal::Limited(reason),
            ) => {
                self.refused(addr, Some(peer.to_string()), reason, false)
                    .await;
                false
            }
        }
    }

    /// Connects, pins the peer's node id, and proves the seed.
    async fn try_dial(
        self: &Arc<Self>,
        peer: &str,
        addr: SocketAddr,
    ) -> Result<(Connection, (SendStream, RecvStream)), Refusal> {
        let refused = |reason: String| Refusal::Refused(Some(peer.to_string()), reason);
        if !self.membership.is_member(peer) {
            return Err(refused(format!(
                "node {peer} is not a member of this sync group"
            )));
        }
        let seed = self
            .membership
            .seed()
            .ok_or_else(|| refused("this device is in no sync group".to_string()))?;
        let conn = self
            .endpoint
            .connect(addr, peer, SYNC_ALPN)
            .await
            .map_err(|e| refused(e.to_string()))?;
        let proof = dial_sync(&conn, &seed, &self.own);
        let streams = match tokio::time::timeout(HANDSHAKE_TIMEOUT, proof).await {
            Ok(Ok(streams)) => streams,
            Ok(Err(e)) => {
                if let Some(ConnectionError::ApplicationClosed(close)) = conn.close_reason() {
                    let reason = String::from_utf8_lossy(&close.reason).into_owned();
                    if close.error_code == CLOSE_DUPLICATE.into() {
                        return Err(Refusal::Duplicate(reason));
                    }
                    return Err(refused(format!("the peer refused: {reason}")));
                }
                return Err(Refusal::close(&conn, Some(peer.to_string()), e.to_string()));
            }
            Err(_) => {
                conn.close(CLOSE_REFUSED.into(), b"seed proof timed out");
                return Err(refused("the seed proof exchange timed out".to_string()));
            }
        };
        Ok((conn, streams))
    }
}
