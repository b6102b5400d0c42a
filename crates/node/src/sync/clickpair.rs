//! Click-to-pair sessions (DESIGN §7.2) over QUIC ALPN `mayros-pair/1`: the initiator dials a
//! typed address or a known node id, both derive the verification code by commit-then-reveal
//! (`mayros_sync_proto::clickpair`), the target holds a pairing request for 60 s until the user
//! accepts or rejects it, and on accept the group seed moves over the encrypted channel and both
//! add each other to the roster.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mayros_sync_proto::clickpair::{
    acceptor_keeps_group, commitment, format_code, hex32, verification_code, GroupChoice, PairMsg,
    KIND_PAIR, MAX_MESSAGE, REQUEST_TIMEOUT_MS,
};
use mayros_sync_proto::frame::{encode_frame, FrameDecoder};
use mayros_sync_proto::peerstate::PeerStatus;
use mayros_sync_proto::roster::RosterEntry;
use mayros_sync_proto::seedproof::GroupSeed;
use mayros_sync_store::PeerRecord;
use quinn::{Connection, RecvStream, SendStream};
use tokio::sync::{oneshot, watch};

use super::clickpair_state::{Decision, Pending, KEEP_FINISHED_MS};
pub use crate::dto::events::RequestView;
pub use crate::dto::events::SessionView;
use crate::engine::Engine;
use crate::locks::lock;
use crate::quic::{peer_node_id, PAIR_ALPN};

/// Time allowed for each protocol step before the user's decision.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a pairing action failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClickPairError {
    /// The target is neither `host:port` nor a node id with a known address.
    #[error("{0}")]
    BadTarget(String),
    /// The other device could not be reached or broke the protocol.
    #[error("{0}")]
    Failed(String),
    /// No pending request from that node.
    #[error("no pending pairing request from {0}")]
    NoRequest(String),
    /// Both devices are in a group and no choice was given.
    #[error("{0}")]
    ChoiceNeeded(String),
    /// Native layer (QUIC) is not running.
    #[error("pairing needs the QUIC endpoint, which is not running (--quic)")]
    NoQuic,
}

/// One framed, bidirectional pairing stream.
struct PairStream {
    send: SendStream,
    recv: RecvStream,
    dec: FrameDecoder,
}

impl PairStream {
    /// Ends our side and waits (bounded) for the other side to end theirs, so the last message
    /// each side sent is read before the connection closes.
    async fn drain(&mut self) {
        let _ = self.send.finish();
        let mut buf = [0u8; 1024];
        let _ = tokio::time::timeout(STEP_TIMEOUT, async {
            while let Ok(Some(_)) = self.recv.read(&mut buf).await {}
        })
        .await;
    }

    async fn send(&mut self, msg: &PairMsg) -> Result<(), String> {
        let frame = encode_frame(KIND_PAIR, &msg.to_bytes()).map_err(|e| e.to_string())?;
        self.send
            .write_all(&frame)
            .await
            .map_err(|e| format!("the other device closed the session: {e}"))
    }

    async fn recv(&mut self, within: Duration) -> Result<PairMsg, String> {
        let work = async {
            let mut buf = [0u8; 4096];
            loop {
                match self.dec.next_frame() {
                    Ok(Some(f)) if f.kind == KIND_PAIR => {
                        return PairMsg::from_bytes(&f.body)
                            .ok_or_else(|| "malformed pairing message".to_string())
                    }
                    Ok(Some(_)) => continue,
                    Ok(None) => {}
                    Err(e) => return Err(format!("malformed pairing frame: {e}")),
                }
                if self.dec.buffered() > MAX_MESSAGE + 16 {
                    return Err("pairing message too large".into());
                }
                match self.recv.read(&mut buf).await {
                    Ok(Some(n)) => self.dec.push(&buf[..n]),
                    Ok(None) => return Err("the other device closed the session".into()),
                    Err(e) => return Err(format!("the other device closed the session: {e}")),
                }
            }
        };
        tokio::time::timeout(within, work)
            .await
            .map_err(|_| "the other device did not answer in time".to_string())?
    }
}

fn pk(node_id: &str) -> Result<[u8; 32], String> {
    hex32(node_id).ok_or_else(|| format!("{node_id} is not a node id"))
}

fn random32() -> [u8; 32] {
    rand::random()
}

fn roster_entries(engine: &Engine) -> Vec<RosterEntry> {
    engine.group().roster.entries().cloned().collect()
}

impl Engine {
    /// Publishes a `pairing` event (SSE) with what happened and to whom.
    fn pairing_event(&self, change: &str, detail: crate::dto::PairingDetail) {
        self.events()
            .publish(crate::events::Event::Pairing(crate::dto::PairingEvent {
                change: change.to_string(),
                detail,
            }));
    }

    /// Pending pairing requests.
    pub fn pair_requests(&self) -> Vec<RequestView> {
        let now = self.clock().now_ms();
        let mut out: Vec<RequestView> = lock(&self.sync_state().clickpairs.requests)
            .values()
            .filter(|p| p.expires_ms > now)
            .map(|p| p.view.clone())
            .collect();
        out.sort_by(|a, b| a.node_id.cmp(&b.node_id));
        out
    }

    /// The state of a pairing this device started; waits up to `wait` for it to end.
    pub async fn pair_session(&self, id: u64, wait: Duration) -> Option<SessionView> {
        let mut rx = lock(&self.sync_state().clickpairs.sessions)
            .get(&id)?
            .1
            .clone();
        let _ = tokio::time::timeout(wait, rx.wait_for(|s| s.state != "waiting")).await;
        let view = rx.borrow().clone();
        Some(view)
    }

    /// Rejects a pending request.
    pub fn reject_pair_request(&self, node_id: &str) -> Result<(), ClickPairError> {
        let pending = lock(&self.sync_state().clickpairs.requests).remove(node_id);
        match pending.and_then(|p| p.decide) {
            Some(tx) => {
                let _ = tx.send(Decision::Reject);
                Ok(())
            }
            None => Err(ClickPairError::NoRequest(node_id.to_string())),
        }
    }

    /// Accepts a pending request; returns when pairing completed (or failed).
    pub async fn accept_pair_request(
        self: &Arc<Self>,
        node_id: &str,
        choice: Option<GroupChoice>,
    ) -> Result<String, ClickPairError> {
        let in_group = self.group().in_group();
        let tx = {
            let mut reqs = lock(&self.sync_state().clickpairs.requests);
            let Some(p) = reqs.get_mut(node_id) else {
                return Err(ClickPairError::NoRequest(node_id.to_string()));
            };
            if acceptor_keeps_group(p.view.in_group, in_group, choice).is_none() {
                return Err(ClickPairError::ChoiceNeeded(format!(
                    "both devices already belong to a sync group: choose --group mine (this device's group is kept; {} joins it and its triples merge into it) or --group theirs (this device joins {}'s group and its triples merge into that one)",
                    p.view.name, p.view.name
                )));
            }
            let tx = p.decide.take();
            reqs.remove(node_id);
            tx
        };
        let Some(tx) = tx else {
            return Err(ClickPairError::NoRequest(node_id.to_string()));
        };
        let (done_tx, done_rx) = oneshot::channel();
        tx.send(Decision::Accept(choice, done_tx))
            .map_err(|_| ClickPairError::Failed("the request is gone".into()))?;
        match tokio::time::timeout(STEP_TIMEOUT * 3, done_rx).await {
            Ok(Ok(Ok(name))) => Ok(name),
            Ok(Ok(Err(reason))) => Err(ClickPairError::Failed(reason)),
            _ => Err(ClickPairError::Failed(
                "pairing did not complete in time".into(),
            )),
        }
    }

    /// Starts pairing with `target` (`host:port` of its QUIC endpoint, or a node id whose
    /// address is known): returns the session id and the code once both sides derived it.
    pub async fn start_pairing(
        self: &Arc<Self>,
        target: &str,
    ) -> Result<(u64, SessionView), ClickPairError> {
        let native = self.native().ok_or(ClickPairError::NoQuic)?.clone();
        let own = self.identity().node_id.clone();
        let (addr, expected) = self.resolve_pair_target(target).await?;
        let endpoint = native.endpoint();
        let conn = match &expected {
            Some(id) => endpoint.connect(addr, id, PAIR_ALPN).await,
            None => endpoint.connect_any(addr, PAIR_ALPN).await,
        }
        .map_err(|e| ClickPairError::Failed(e.to_string()))?;
        let peer = peer_node_id(&conn)
            .ok_or_else(|| ClickPairError::Failed("the device presented no certificate".into()))?;
        if peer == own {
            conn.close(0u32.into(), b"self");
            return Err(ClickPairError::BadTarget(
                "that address is this device".into(),
            ));
        }
        let (send, recv) = conn
            .open_bi()
            .await
            .map_err(|e| ClickPairError::Failed(e.to_string()))?;
        let mut s = PairStream {
            send,
            recv,
            dec: FrameDecoder::new(),
        };
        let fail = ClickPairError::Failed;
        let nonce_a = random32();
        let in_group = self.group().in_group();
        s.send(&PairMsg::Hello {
            name: self.identity().name.clone(),
            commit: hex::encode(commitment(&nonce_a)),
            in_group,
            quic_port: Some(native.addr().port()),
            https_port: self.control().snapshot().peer_api().map(|a| a.port()),
        })
        .await
        .map_err(fail)?;
        let (name, nonce_b, quic_port, https_port) =
            match s.recv(STEP_TIMEOUT).await.map_err(fail)? {
                PairMsg::Nonce {
                    name,
                    nonce,
                    quic_port,
                    https_port,
                    ..
                } => (
                    name,
                    hex32(&nonce)
                        .ok_or_else(|| ClickPairError::Failed("malformed nonce".into()))?,
                    quic_port,
                    https_port,
                ),
                PairMsg::Rejected { reason } => return Err(ClickPairError::Failed(reason)),
                other => {
                    return Err(ClickPairError::Failed(format!(
                        "unexpected pairing message {other:?}"
                    )))
                }
            };
        s.send(&PairMsg::Reveal {
            nonce: hex::encode(nonce_a),
        })
        .await
        .map_err(ClickPairError::Failed)?;
        let code = verification_code(
            &pk(&own).map_err(ClickPairError::Failed)?,
            &pk(&peer).map_err(ClickPairError::Failed)?,
            &nonce_a,
            &nonce_b,
        );
        let view = SessionView {
            state: "waiting".into(),
            code: format_code(code),
            node_id: peer.clone(),
            name: name.clone(),
            reason: None,
        };
        let (tx, rx) = watch::channel(view.clone());
        let id = self
            .sync_state()
            .clickpairs
            .next
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        {
            // Finished sessions stay readable for a while, then go.
            let now = self.clock().now_ms();
            let mut sessions = lock(&self.sync_state().clickpairs.sessions);
            sessions.retain(|_, (started, rx)| {
                rx.borrow().state == "waiting" || now.saturating_sub(*started) < KEEP_FINISHED_MS
            });
            sessions.insert(id, (now, rx));
        }
        let me = Arc::clone(self);
        let endpoints = PeerEndpoints {
            https: https_port.map(|p| SocketAddr::new(addr.ip(), p)),
            quic: quic_port.map(|p| SocketAddr::new(addr.ip(), p)),
        };
        tokio::spawn(async move {
            let outcome = me
                .finish_as_initiator(&mut s, &peer, &name, endpoints)
                .await;
            s.drain().await;
            let mut v = tx.borrow().clone();
            match outcome {
                Ok(()) => v.state = "paired".into(),
                Err((state, reason)) => {
                    v.state = state.into();
                    v.reason = Some(reason);
                }
            }
            me.pairing_event(
                &v.state.clone(),
                crate::dto::PairingDetail::Session(v.clone()),
            );
            let _ = tx.send(v);
            conn.close(0u32.into(), b"done");
        });
        Ok((id, view))
    }

    async fn resolve_pair_target(
        &self,
        target: &str,
    ) -> Result<(SocketAddr, Option<String>), ClickPairError> {
        if let Ok(addr) = target.parse::<SocketAddr>() {
            return Ok((addr, None));
        }
        let id = target.to_ascii_lowercase();
        if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            // host:port with a host name.
            let resolved = tokio::net::lookup_host(target)
                .await
                .ok()
                .and_then(|mut a| a.next());
            return resolved.map(|a| (a, None)).ok_or_else(|| {
                ClickPairError::BadTarget(format!(
                    "{target:?} is neither host:port of a device's QUIC endpoint nor a node id"
                ))
            });
        }
        // A discovered device: its announced address and QUIC port.
        let nearby = self.nearby().list().into_iter().find_map(|d| {
            if d.node_id.as_deref() != Some(id.as_str()) {
                return None;
            }
            let port = d.quic_port?;
            let ip = d
                .addresses
                .iter()
                .find(|a| a.is_ipv4())
                .or(d.addresses.first())
                .copied()?;
            Some(SocketAddr::new(ip, port))
        });
        if let Some(addr) = nearby {
            return Ok((addr, Some(id)));
        }
        let lookup = id.clone();
        let peer = self
            .with_store(move |s| s.peer(&lookup))
            .await
            .map_err(|e| ClickPairError::Failed(e.to_string()))?;
        let addr = peer
            .and_then(|p| p.quic_addr)
            .and_then(|a| a.parse::<SocketAddr>().ok());
        match addr {
            Some(a) => Ok((a, Some(id))),
            None => Err(ClickPairError::BadTarget(format!(
                "no address known for {id} (not discovered nearby, not a known peer): give its host:port (QUIC) instead"
            ))),
        }
    }

    /// Initiator side after the code: wait for the decision, then move the seed.
    async fn finish_as_initiator(
        self: &Arc<Self>,
        s: &mut PairStream,
        peer: &str,
        name: &str,
        endpoints: PeerEndpoints,
    ) -> Result<(), (&'static str, String)> {
        let wait = Duration::from_millis(REQUEST_TIMEOUT_MS) + STEP_TIMEOUT;
        match s.recv(wait).await.map_err(|e| ("failed", e))? {
            PairMsg::Accepted {
                seed: Some(seed),
                roster,
            } => {
                let seed = hex32(&seed).ok_or(("failed", "malformed seed".to_string()))?;
                self.join_paired(peer, name, Some(GroupSeed(seed)), roster, endpoints)
                    .await
                    .map_err(|e| ("failed", e))?;
                let _ = s.send(&PairMsg::Done).await;
                Ok(())
            }
            PairMsg::Accepted { seed: None, roster } => {
                self.join_paired(peer, name, None, roster, endpoints)
                    .await
                    .map_err(|e| ("failed", e))?;
                let seed = { self.group().seed().cloned() }
                    .ok_or(("failed", "no group seed".to_string()))?;
                s.send(&PairMsg::Seed {
                    seed: hex::encode(seed.0),
                    roster: roster_entries(self),
                })
                .await
                .map_err(|e| ("failed", e))?;
                match s.recv(STEP_TIMEOUT).await.map_err(|e| ("failed", e))? {
                    PairMsg::Done => Ok(()),
                    other => Err(("failed", format!("unexpected pairing message {other:?}"))),
                }
            }
            PairMsg::Rejected { reason } => Err(("rejected", reason)),
            other => Err(("failed", format!("unexpected pairing message {other:?}"))),
        }
    }

    /// Adopts `seed` when given (else makes sure this device has one), merges `roster`,
    /// signs the peer into the roster and records its endpoints.
    async fn join_paired(
        self: &Arc<Self>,
        peer: &str,
        name: &str,
        seed: Option<GroupSeed>,
        entries: Vec<RosterEntry>,
        endpoints: PeerEndpoints,
    ) -> Result<(), String> {
        let peer = peer.to_string();
        let name = name.to_string();
        let now = self.clock().now_ms();
        let me = Arc::clone(self);
        let device = self.identity().device.clone();
        // The seed first, stored by the seed keeper's thread (the keyring may be slow).
        let seeded = match seed {
            Some(seed) => self.join_group_seed(seed).await,
            None => self.ensure_group_seed().await.map(|_| ()),
        };
        if let Err(e) = seeded {
            return Err(format!("cannot record the pairing: {e}"));
        }
        let r = self
            .with_store(move |s| {
                let result = me.sync_state().groups().update(s, |group, s| {
                    group.merge(entries, s)?;
                    group.add_member(&peer, &device, now, s)?;
                    Ok(())
                });
                if let Err(e) = result {
                    return Ok(Err(e));
                }
                let mut rec = s
                    .peer(&peer)?
                    .unwrap_or_else(|| PeerRecord::new(&peer, now));
                rec.name = name;
                if let Some(h) = endpoints.https {
                    rec.endpoint = Some(h.to_string());
                }
                if let Some(q) = endpoints.quic {
                    rec.quic_addr = Some(q.to_string());
                }
                rec.status = PeerStatus::Active;
                s.upsert_peer(&rec).map(Ok)
            })
            .await;
        self.native_changed();
        r.and_then(|inner| inner)
            .map_err(|e| format!("cannot record the pairing: {e}"))
    }

    /// Target side of one incoming pairing connection.
    pub async fn serve_pairing(self: Arc<Self>, conn: Connection) {
        let addr = conn.remote_address();
        let Some(peer) = peer_node_id(&conn) else {
            conn.close(1u32.into(), b"no certificate");
            return;
        };
        let span = tracing::info_span!("pair_request", peer = %mayros_sync_proto::node_id::short_node_id(&peer), %addr);
        let result =
            tracing::Instrument::instrument(self.serve_pairing_on(&conn, &peer, addr), span).await;
        if let Err(e) = result {
            tracing::info!(error = %e, "pairing request ended without pairing");
        }
        conn.close(0u32.into(), b"done");
    }

    async fn serve_pairing_on(
        self: &Arc<Self>,
        conn: &Connection,
        peer: &str,
        addr: SocketAddr,
    ) -> Result<(), String> {
        let (send, recv) = tokio::time::timeout(STEP_TIMEOUT, conn.accept_bi())
            .await
            .map_err(|_| "no pairing stream".to_string())?
            .map_err(|e| e.to_string())?;
        let mut s = PairStream {
            send,
            recv,
            dec: FrameDecoder::new(),
        };
        let result = self.serve_request(&mut s, peer, addr).await;
        s.drain().await;
        result
    }

    async fn serve_request(
        self: &Arc<Self>,
        s: &mut PairStream,
        peer: &str,
        addr: SocketAddr,
    ) -> Result<(), String> {
        let (name, commit, a_in_group, quic_port, https_port) = match s.recv(STEP_TIMEOUT).await? {
            PairMsg::Hello {
                name,
                commit,
                in_group,
                quic_port,
                https_port,
            } => (name, commit, in_group, quic_port, https_port),
            other => return Err(format!("unexpected pairing message {other:?}")),
        };
        let nonce_b = random32();
        let native = self.native().cloned();
        let in_group = self.group().in_group();
        s.send(&PairMsg::Nonce {
            name: self.identity().name.clone(),
            nonce: hex::encode(nonce_b),
            in_group,
            quic_port: native.as_ref().map(|n| n.addr().port()),
            https_port: self.control().snapshot().peer_api().map(|a| a.port()),
        })
        .await?;
        let nonce_a = match s.recv(STEP_TIMEOUT).await? {
            PairMsg::Reveal { nonce } => hex32(&nonce).ok_or("malformed nonce")?,
            other => return Err(format!("unexpected pairing message {other:?}")),
        };
        if hex::encode(commitment(&nonce_a)) != commit {
            let _ = s
                .send(&PairMsg::Rejected {
                    reason: "the revealed nonce does not match its commitment".into(),
                })
                .await;
            return Err("commitment mismatch".into());
        }
        let own = self.identity().node_id.clone();
        let code = format_code(verification_code(
            &pk(peer)?,
            &pk(&own)?,
            &nonce_a,
            &nonce_b,
        ));
        let expires = self.clock().now_ms() + REQUEST_TIMEOUT_MS;
        let (tx, rx) = oneshot::channel();
        let view = RequestView {
            node_id: peer.to_string(),
            name: name.clone(),
            address: addr.to_string(),
            code: code.clone(),
            expires_at: mayros_sync_proto::timefmt::format_rfc3339_ms(expires),
            in_group: a_in_group,
        };
        let previous = lock(&self.sync_state().clickpairs.requests).insert(
            peer.to_string(),
            Pending {
                view,
                expires_ms: expires,
                decide: Some(tx),
            },
        );
        if let Some(v) = lock(&self.sync_state().clickpairs.requests)
            .get(peer)
            .map(|p| p.view.clone())
        {
            self.pairing_event("requested", crate::dto::PairingDetail::Request(v));
        }
        if let Some(p) = previous.and_then(|p| p.decide) {
            // A newer request from the same device replaces the older one.
            let _ = p.send(Decision::Reject);
        }
        tracing::info!(%code, name = %name, "pairing request waiting for the user");
        let decision = tokio::time::timeout(Duration::from_millis(REQUEST_TIMEOUT_MS), rx).await;
        let endpoints = PeerEndpoints {
            https: https_port.map(|p| SocketAddr::new(addr.ip(), p)),
            quic: quic_port.map(|p| SocketAddr::new(addr.ip(), p)),
        };
        let who = crate::dto::PairingDetail::Device(crate::dto::PairedDevice {
            node_id: peer.to_string(),
            name: name.clone(),
        });
        let (change, reason) = match decision {
            Ok(Ok(Decision::Accept(choice, done))) => {
                let result = self
                    .accept_on(s, peer, &name, a_in_group, choice, endpoints)
                    .await;
                let _ = done.send(result.clone().map(|()| name.clone()));
                self.pairing_event(if result.is_ok() { "paired" } else { "failed" }, who);
                return result;
            }
            Ok(Ok(Decision::Reject)) | Ok(Err(_)) => {
                ("rejected", "the other device rejected the request")
            }
            Err(_) => (
                "expired",
                "the request expired (nobody accepted it within 60 s)",
            ),
        };
        lock(&self.sync_state().clickpairs.requests).remove(peer);
        self.pairing_event(change, who);
        let _ = s
            .send(&PairMsg::Rejected {
                reason: reason.into(),
            })
            .await;
        Err(change.into())
    }

    async fn accept_on(
        self: &Arc<Self>,
        s: &mut PairStream,
        peer: &str,
        name: &str,
        a_in_group: bool,
        choice: Option<GroupChoice>,
        endpoints: PeerEndpoints,
    ) -> Result<(), String> {
        let b_in_group = { self.group().in_group() };
        let keep_mine = acceptor_keeps_group(a_in_group, b_in_group, choice)
            .ok_or("both devices are in a group and no group was chosen")?;
        if keep_mine {
            let seed = self.ensure_group_seed().await.map_err(|e| e.to_string())?;
            self.join_paired(peer, name, Some(seed.clone()), Vec::new(), endpoints)
                .await?;
            s.send(&PairMsg::Accepted {
                seed: Some(hex::encode(seed.0)),
                roster: roster_entries(self),
            })
            .await?;
            match s.recv(STEP_TIMEOUT).await? {
                PairMsg::Done => Ok(()),
                other => Err(format!("unexpected pairing message {other:?}")),
            }
        } else {
            s.send(&PairMsg::Accepted {
                seed: None,
                roster: roster_entries(self),
            })
            .await?;
            match s.recv(STEP_TIMEOUT).await? {
                PairMsg::Seed { seed, roster } => {
                    let seed = hex32(&seed).ok_or("malformed seed")?;
                    self.join_paired(peer, name, Some(GroupSeed(seed)), roster, endpoints)
                        .await?;
                    s.send(&PairMsg::Done).await?;
                    Ok(())
                }
                other => Err(format!("unexpected pairing message {other:?}")),
            }
        }
    }
}

/// Where a newly paired device is reached.
#[derive(Debug, Clone, Copy)]
struct PeerEndpoints {
    https: Option<SocketAddr>,
    quic: Option<SocketAddr>,
}
