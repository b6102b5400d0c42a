//! The PeerManager's engine side (DESIGN §5, §3.2): `sync now`, hooks, roster exchange,
//! recording a roster member's endpoint, and the peer list shown to users.

use std::net::SocketAddr;
use std::sync::Arc;

use mayros_sync_proto::mode::SyncMode;
use mayros_sync_proto::peerstate::{peer_matches, PeerStatus};
use mayros_sync_store::PeerRecord;

use super::pull::{parse_peer, PullReport, PULL_REQUEST_PATH};
pub use crate::dto::status::PeerView;
pub use crate::dto::sync::SyncNowOutcome;
use crate::engine::Engine;
use crate::error::Error;
use crate::peer::PeerSession;
use mayros_sync_proto::roster::RosterExchange;

/// Why `sync now` could not start.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SyncNowError {
    /// No peer matches the given id or name.
    #[error("no peer matches {0:?}")]
    UnknownPeer(String),
    /// A local failure.
    #[error("{0}")]
    Internal(String),
}

/// The QUIC address of a peer on the host of its peer API endpoint, when that host is a
/// concrete address and the peer told its QUIC port.
pub(crate) fn quic_addr_near(endpoint: &SocketAddr, quic_port: Option<u16>) -> Option<String> {
    let port = quic_port?;
    if endpoint.ip().is_unspecified() {
        return None;
    }
    Some(SocketAddr::new(endpoint.ip(), port).to_string())
}

impl Engine {
    /// `mayros sync unpair <peer>` (DESIGN §7.2 step 5): signs the removal into the roster,
    /// rotates the group seed, and tells the members (the removed device learns it from the
    /// roster). Returns the removed node id.
    pub async fn unpair(self: &Arc<Self>, target: &str) -> Result<String, SyncNowError> {
        let own = self.identity().node_id.clone();
        let peers = self
            .with_store(|s| s.peers())
            .await
            .map_err(|e| SyncNowError::Internal(e.to_string()))?;
        let members = self.group().roster.members();
        let matched: Vec<String> = members
            .keys()
            .filter(|id| {
                let name = peers
                    .iter()
                    .find(|p| &p.node_id == *id)
                    .map(|p| p.name.clone())
                    .unwrap_or_default();
                peer_matches(id, &name, target)
            })
            .cloned()
            .collect();
        let node = match matched.as_slice() {
            [one] if *one != own => one.clone(),
            [] => return Err(SyncNowError::UnknownPeer(target.to_string())),
            _ => {
                return Err(SyncNowError::Internal(format!(
                    "{target:?} matches several devices; use the node id"
                )))
            }
        };
        let me = Arc::clone(self);
        let removed = node.clone();
        let now = self.clock().now_ms();
        self.with_store(move |s| {
            me.sync_state().groups().update(s, |g, s| {
                g.remove_member(&removed, &me.identity().device, now, s)
            })
        })
        .await
        .map_err(|e| SyncNowError::Internal(e.to_string()))?;
        // The rotated seed is stored by the seed keeper's thread (the keyring may be slow).
        self.update_group_seeds(move |g| {
            let mut ring = g.seeds.clone();
            ring.rotate(
                mayros_sync_proto::seedproof::GroupSeed(rand::random()),
                g.roster.removed(),
                now,
            );
            Some(ring)
        })
        .await
        .map_err(|e| SyncNowError::Internal(e.to_string()))?;
        let removed = node.clone();
        self.with_store(move |s| s.set_peer_status(&removed, PeerStatus::Removed))
            .await
            .map_err(|e| SyncNowError::Internal(e.to_string()))?;
        tracing::info!(peer = %mayros_sync_proto::node_id::short_node_id(&node), "unpaired; group seed rotated");
        if let Some(n) = self.native() {
            n.unpaired(&node);
        }
        Ok(node)
    }

    /// Every known peer, including removed ones.
    pub async fn peer_views(&self) -> Result<Vec<PeerView>, Error> {
        let peers = self.with_store(|s| s.peers()).await?;
        Ok(peers.iter().map(PeerView::from).collect())
    }

    /// Our side of a roster exchange.
    pub async fn roster_exchange_body(&self) -> RosterExchange {
        RosterExchange {
            entries: self.group().roster.entries().cloned().collect(),
            name: self.identity().name.clone(),
            endpoint: self.control().snapshot().peer_api().map(|a| a.to_string()),
            quic_port: self.native().map(|n| n.addr().port()),
        }
    }

    /// Merges a member's roster and records its name and endpoint.
    pub async fn merge_roster_from(
        self: &Arc<Self>,
        from: &str,
        body: RosterExchange,
    ) -> Result<(), Error> {
        let me = Arc::clone(self);
        let from = from.to_string();
        let now = self.clock().now_ms();
        self.with_store(move |s| {
            let members = me.sync_state().groups().update(s, |group, s| {
                group.merge(body.entries, s)?;
                Ok(group.roster.members())
            })?;
            let endpoint = body
                .endpoint
                .as_deref()
                .and_then(|e| e.parse::<SocketAddr>().ok());
            let quic = endpoint.and_then(|e| quic_addr_near(&e, body.quic_port));
            let record = match s.peer(&from)? {
                Some(r) => Some(r),
                None if members.contains_key(&from) => Some(PeerRecord::new(&from, now)),
                None => None,
            };
            if let Some(mut record) = record {
                record.name = body.name;
                if let Some(ep) = endpoint {
                    record.endpoint = Some(ep.to_string());
                }
                // An address an authenticated QUIC link came from wins over a derived one.
                if record.quic_addr.is_none() {
                    record.quic_addr = quic;
                }
                s.upsert_peer(&record)?;
            }
            for id in members.keys() {
                if s.peer(id)?.is_none() {
                    s.upsert_peer(&PeerRecord::new(id, now))?;
                }
            }
            for p in s.peers()? {
                if !members.contains_key(&p.node_id) && p.status != PeerStatus::Removed {
                    s.set_peer_status(&p.node_id, PeerStatus::Removed)?;
                }
            }
            Ok::<_, Error>(())
        })
        .await
    }

    /// Records the REST endpoint of a roster member (the seed's `sync pair <nodeId> <endpoint>`).
    pub async fn record_member_endpoint(
        &self,
        node_id: &str,
        endpoint: SocketAddr,
    ) -> Result<Option<PeerView>, Error> {
        if !self.group().roster.is_member(node_id) {
            return Ok(None);
        }
        let id = node_id.to_string();
        let now = self.clock().now_ms();
        let record = self
            .with_store(move |s| {
                let mut record = s.peer(&id)?.unwrap_or_else(|| PeerRecord::new(&id, now));
                record.endpoint = Some(endpoint.to_string());
                if record.status == PeerStatus::Removed {
                    record.status = PeerStatus::Active;
                }
                s.upsert_peer(&record)?;
                Ok::<_, mayros_sync_store::Error>(record)
            })
            .await?;
        Ok(Some(PeerView::from(&record)))
    }

    /// `sync now [peer]` (DESIGN §3.2): in polled mode, pull from each peer and ask each to
    /// pull from us; returns when every targeted peer has finished.
    pub async fn sync_now(
        self: &Arc<Self>,
        target: Option<&str>,
    ) -> Result<SyncNowOutcome, SyncNowError> {
        let _running = self.control().sync_started();
        let mode = self.mode();
        let peers = self
            .with_store(|s| s.peers())
            .await
            .map_err(|e| SyncNowError::Internal(e.to_string()))?;
        let chosen: Vec<PeerRecord> = match target {
            Some(t) => {
                let matched: Vec<_> = peers
                    .into_iter()
                    .filter(|p| p.status != PeerStatus::Removed)
                    .filter(|p| peer_matches(&p.node_id, &p.name, t))
                    .collect();
                if matched.is_empty() {
                    return Err(SyncNowError::UnknownPeer(t.to_string()));
                }
                matched
            }
            None => peers
                .into_iter()
                .filter(|p| matches!(p.status, PeerStatus::Active | PeerStatus::Unreachable))
                .filter(|p| p.endpoint.is_some())
                .collect(),
        };
        if mode.mode == SyncMode::None {
            return Ok(SyncNowOutcome {
                mode: mode.mode.as_str().into(),
                deferred: false,
                message: format!("no sync: {}", mode.reason),
                results: Vec::new(),
            });
        }
        // An external Cortex is rescanned first, so what was written into it is offered now
        // (pulled by the peers in polled mode, pushed by the gossip in native mode).
        let timeout = self.config().config.sync.sync_timeout();
        let mut notes = Vec::new();
        if let Some(Err(e)) = self.refresh_cortex_mirror(timeout).await {
            notes.push(format!("reading the external Cortex failed: {e}"));
        }
        if mode.mode == SyncMode::Native {
            let stats = self.native().map(|n| n.status());
            let figures = stats.map_or_else(String::new, |s| {
                format!(
                    " (round {}, {} known ids, {} of {} peers connected, bloom FPR {:.4}, {} successful / {} failed syncs)",
                    s.round,
                    s.known_ids,
                    s.peers.iter().filter(|p| p.connected).count(),
                    s.peers.len(),
                    s.bloom_filter_fpr,
                    s.successful_syncs,
                    s.failed_syncs
                )
            });
            let note = notes.iter().map(|n| format!("; {n}")).collect::<String>();
            return Ok(SyncNowOutcome {
                mode: mode.mode.as_str().into(),
                deferred: true,
                message: format!(
                    "native mode: gossip propagates changes as they happen; no REST sync started{figures}{note}"
                ),
                results: Vec::new(),
            });
        }
        let mut set = tokio::task::JoinSet::new();
        for peer in chosen {
            let me = Arc::clone(self);
            set.spawn(async move { me.sync_both_ways(&peer).await });
        }
        let mut results = Vec::new();
        while let Some(r) = set.join_next().await {
            match r {
                Ok(report) => results.push(report),
                Err(e) => return Err(SyncNowError::Internal(e.to_string())),
            }
        }
        results.sort_by(|a, b| a.name.cmp(&b.name).then(a.node_id.cmp(&b.node_id)));
        // …and what the peers sent is written back to it before we answer.
        if !results.is_empty() {
            match self.refresh_cortex_mirror(timeout).await {
                Some(Ok(view)) if view.pushed + view.pushed_deletes > 0 => notes.push(format!(
                    "wrote {} triple(s) and {} deletion(s) to the external Cortex",
                    view.pushed, view.pushed_deletes
                )),
                Some(Err(e)) => notes.push(format!("writing to the external Cortex failed: {e}")),
                _ => {}
            }
        }
        let failed = results.iter().filter(|r| !r.ok).count();
        let message = if results.is_empty() {
            "no peers to sync with; pair a device first (mayros sync invite)".to_string()
        } else if failed == 0 {
            format!("synced with {} peer(s)", results.len())
        } else {
            format!("{failed} of {} peer(s) failed", results.len())
        };
        let message = if notes.is_empty() {
            message
        } else {
            format!("{message}; {}", notes.join("; "))
        };
        Ok(SyncNowOutcome {
            mode: mode.mode.as_str().into(),
            deferred: false,
            message,
            results,
        })
    }

    /// Pulls from `peer`, then asks it to pull from us over the same connection and waits.
    async fn sync_both_ways(self: &Arc<Self>, peer: &PeerRecord) -> PullReport {
        let (mut report, session) = self.pull_from_keeping(peer).await;
        let Some(session) = session else {
            return report;
        };
        match self.request_pull(peer, session).await {
            Ok(theirs) if theirs.ok => report.sent = theirs.applied,
            Ok(theirs) => {
                report.ok = false;
                report.error = Some(format!(
                    "the peer could not pull from us: {}",
                    theirs.error.unwrap_or_default()
                ));
            }
            Err(e) => {
                report.ok = false;
                report.error = Some(format!("asking the peer to pull from us failed: {e}"));
            }
        }
        report
    }

    #[tracing::instrument(skip_all, fields(peer = %mayros_sync_proto::node_id::short_node_id(&peer.node_id)))]
    async fn request_pull(
        &self,
        peer: &PeerRecord,
        mut session: PeerSession,
    ) -> Result<PullReport, Error> {
        let (status, body) = self
            .signed_post(
                &mut session,
                &peer.node_id,
                PULL_REQUEST_PATH,
                b"{}".to_vec(),
            )
            .await?;
        parse_peer(status, &body, "pull request")
    }

    /// The `agent-end` / `config-change` hooks (DESIGN §3.2).
    pub async fn run_hook(
        self: &Arc<Self>,
        hook: &str,
    ) -> Result<(bool, String, Vec<PullReport>), SyncNowError> {
        let mode = self.mode();
        if mode.mode == SyncMode::Native {
            return Ok((
                false,
                "native mode: gossip propagates, the hook is skipped".into(),
                Vec::new(),
            ));
        }
        if mode.mode == SyncMode::None {
            return Ok((false, format!("no sync: {}", mode.reason), Vec::new()));
        }
        if !self.config().config.sync.auto_sync {
            return Ok((false, "sync.autoSync is false".into(), Vec::new()));
        }
        if self.pause_state().is_some() {
            return Ok((false, "sync is paused".into(), Vec::new()));
        }
        let out = self.sync_now(None).await?;
        Ok((true, format!("{hook}: {}", out.message), out.results))
    }
}
