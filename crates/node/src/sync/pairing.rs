//! Non-interactive pairing by one-time invite code (DESIGN §7.2): the inviter's key is pinned
//! from the code, the joiner proves the code's secret without sending it, and the group seed
//! crosses only the encrypted, mutually authenticated channel.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use hyper::Method;
use mayros_sync_proto::invite::{self, Invite, VALIDITY_MS};
use mayros_sync_proto::peerstate::PeerStatus;
use mayros_sync_proto::roster::RosterEntry;
use mayros_sync_proto::seedproof::GroupSeed;
use mayros_sync_store::PeerRecord;
use serde::{Deserialize, Serialize};

use crate::api::error::ApiError;
use crate::api::extract::ApiJson;
use crate::engine::Engine;
use crate::error::Error;
use crate::peer::{PeerConnInfo, PeerSession};

/// Path of the join route on the peer API.
pub const JOIN_PATH: &str = "/api/v1/sync/pair/join";

/// What a joiner sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JoinRequest {
    /// The joiner's node id (must match its TLS client certificate).
    pub node_id: String,
    /// The joiner's device name.
    pub name: String,
    /// The joiner's peer API endpoint, when it serves one.
    pub endpoint: Option<String>,
    /// Hex join proof over the TLS exporter.
    pub proof: String,
    /// The joiner's QUIC port (native mode), on the same host as `endpoint`.
    #[serde(default)]
    pub quic_port: Option<u16>,
}

/// What the inviter answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinResponse {
    /// The inviter's node id.
    pub node_id: String,
    /// The inviter's name.
    pub name: String,
    /// The group seed, hex (only ever inside this TLS channel).
    pub seed: String,
    /// The inviter's roster.
    pub roster: Vec<RosterEntry>,
    /// The inviter's QUIC port (native mode), on the host the joiner reached.
    #[serde(default)]
    pub quic_port: Option<u16>,
}

/// A freshly issued invite.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedInvite {
    /// The code to give to the joiner.
    pub code: String,
    /// When it stops working (RFC 3339).
    pub expires_at: String,
}

/// The result of joining with a code.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Joined {
    /// The inviter's node id.
    pub node_id: String,
    /// The inviter's name.
    pub name: String,
    /// The inviter endpoint that answered.
    pub endpoint: String,
}

/// Addresses at which our peer API can be reached, for invites (DESIGN §7.2).
fn advertised_endpoints(bound: SocketAddr) -> Vec<SocketAddr> {
    if !bound.ip().is_unspecified() {
        return vec![bound];
    }
    let mut out: Vec<SocketAddr> = if_addrs::get_if_addrs()
        .map(|ifs| {
            ifs.into_iter()
                .filter(|i| !i.is_loopback())
                .map(|i| i.ip())
                .filter(|ip| matches!(ip, IpAddr::V4(_)))
                .map(|ip| SocketAddr::new(ip, bound.port()))
                .collect()
        })
        .unwrap_or_default();
    out.truncate(invite::MAX_ENDPOINTS - 1);
    out.push(SocketAddr::from(([127, 0, 0, 1], bound.port())));
    out
}

impl Engine {
    /// Issues a one-time invite code valid for 10 minutes.
    pub async fn create_invite(self: &Arc<Self>) -> Result<IssuedInvite, Error> {
        let bound =
            self.control().snapshot().peer_api().ok_or_else(|| {
                Error::Peer("the peer API is not listening; cannot invite".into())
            })?;
        let secret: [u8; 16] = rand::random();
        let now = self.clock().now_ms();
        let expires = now + VALIDITY_MS;
        self.with_store(move |s| s.create_invite(secret, now, expires))
            .await?;
        let key = self.identity().device.verifying_key().to_bytes();
        let code = Invite {
            node_key: key,
            endpoints: advertised_endpoints(bound),
            secret,
        }
        .encode();
        tracing::info!("issued an invite code valid for 10 minutes");
        Ok(IssuedInvite {
            code,
            expires_at: mayros_sync_proto::timefmt::format_rfc3339_ms(expires),
        })
    }

    /// Joins the group of the device that issued `code`.
    pub async fn join_with_code(self: &Arc<Self>, code: &str) -> Result<Joined, PairError> {
        let invite = Invite::decode(code).map_err(|e| PairError::Invalid(e.to_string()))?;
        let inviter = invite.node_id();
        if inviter == self.identity().node_id {
            return Err(PairError::Invalid(
                "this invite was issued by this device".into(),
            ));
        }
        let mut last_err = String::from("no endpoint in the code");
        for ep in &invite.endpoints {
            let span = tracing::info_span!("pair_join", inviter = %mayros_sync_proto::node_id::short_node_id(&inviter), endpoint = %ep);
            let attempt = tracing::Instrument::instrument(self.join_at(&invite, *ep), span).await;
            match attempt {
                Ok(j) => return Ok(j),
                Err(PairError::Unreachable(e)) => last_err = e,
                Err(other) => return Err(other),
            }
        }
        Err(PairError::Unreachable(last_err))
    }

    async fn join_at(
        self: &Arc<Self>,
        invite: &Invite,
        ep: SocketAddr,
    ) -> Result<Joined, PairError> {
        let inviter = invite.node_id();
        let mut session = PeerSession::connect(ep, &inviter, &self.identity().cert)
            .await
            .map_err(|e| PairError::Unreachable(e.to_string()))?;
        let proof =
            invite::join_proof(&invite.secret, session.exporter(), &self.identity().node_id);
        let req = JoinRequest {
            node_id: self.identity().node_id.clone(),
            name: self.identity().name.clone(),
            endpoint: self.control().snapshot().peer_api().map(|a| a.to_string()),
            proof: hex::encode(proof),
            quic_port: self.native().map(|n| n.addr().port()),
        };
        let body = serde_json::to_vec(&req).map_err(|e| PairError::Invalid(e.to_string()))?;
        let (status, bytes) = session
            .send(Method::POST, JOIN_PATH, &[], body)
            .await
            .map_err(|e| PairError::Unreachable(e.to_string()))?;
        if !status.is_success() {
            let msg = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_string))
                .unwrap_or_else(|| format!("inviter answered {status}"));
            return Err(PairError::Rejected(msg));
        }
        let resp: JoinResponse = serde_json::from_slice(&bytes)
            .map_err(|e| PairError::Rejected(format!("malformed answer from the inviter: {e}")))?;
        if resp.node_id != inviter {
            return Err(PairError::Rejected(
                "the inviter answered with another node id".into(),
            ));
        }
        let mut seed = [0u8; 32];
        hex::decode_to_slice(&resp.seed, &mut seed)
            .map_err(|_| PairError::Rejected("the inviter sent a malformed group seed".into()))?;
        let now = self.clock().now_ms();
        let me = Arc::clone(self);
        let endpoint = ep.to_string();
        let name = resp.name.clone();
        let resp_quic_port = resp.quic_port;
        let entries = resp.roster;
        {
            let group = self.group();
            if group
                .seed()
                .is_some_and(|existing| existing.0 != seed && group.roster.in_group())
            {
                return Err(PairError::OtherGroup);
            }
        }
        // Joined before the roster is written; the keyring is called by the seed keeper's
        // thread.
        self.join_group_seed(GroupSeed(seed))
            .await
            .map_err(|e| PairError::Internal(e.to_string()))?;
        self.with_store(move |s| {
            me.sync_state().groups().update(s, |group, s| {
                group.merge(entries, s)?;
                group.add_member(&inviter, &me.identity().device, now, s)
            })?;
            let mut record = s
                .peer(&inviter)?
                .unwrap_or_else(|| PeerRecord::new(&inviter, now));
            record.name = name;
            record.endpoint = Some(endpoint);
            if let Some(q) = super::peers::quic_addr_near(&ep, resp_quic_port) {
                record.quic_addr = Some(q);
            }
            if record.status == PeerStatus::Removed {
                record.status = PeerStatus::Active;
            }
            s.upsert_peer(&record)?;
            Ok::<_, Error>(())
        })
        .await
        .map_err(|e| PairError::Internal(e.to_string()))?;
        self.native_changed();
        tracing::info!(peer = %resp.name, "paired by invite");
        Ok(Joined {
            node_id: resp.node_id,
            name: resp.name,
            endpoint: ep.to_string(),
        })
    }
}

/// Why joining with a code failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PairError {
    /// The code is malformed.
    #[error("invalid invite code: {0}")]
    Invalid(String),
    /// No endpoint of the inviter answered.
    #[error("cannot reach the inviting device: {0}")]
    Unreachable(String),
    /// The inviter refused (used, expired or forged code).
    #[error("the inviting device refused: {0}")]
    Rejected(String),
    /// This device already belongs to another group.
    #[error("this device already belongs to another sync group; leaving it needs an explicit choice (arrives with click-to-pair)")]
    OtherGroup,
    /// A local failure.
    #[error("{0}")]
    Internal(String),
}

impl From<PairError> for ApiError {
    fn from(e: PairError) -> ApiError {
        let (status, code) = match &e {
            PairError::Invalid(_) => (StatusCode::BAD_REQUEST, "INVALID_INVITE"),
            PairError::Unreachable(_) => (StatusCode::BAD_GATEWAY, "PEER_UNREACHABLE"),
            PairError::Rejected(_) => (StatusCode::UNAUTHORIZED, "INVITE_REJECTED"),
            PairError::OtherGroup => (StatusCode::CONFLICT, "OTHER_GROUP"),
            PairError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

fn refuse(msg: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "INVITE_REJECTED", msg)
}

/// `POST /api/v1/sync/pair/join` on the peer API: completes pairing for a valid invite proof.
pub async fn join_route(
    State(engine): State<Arc<Engine>>,
    Extension(conn): Extension<PeerConnInfo>,
    ApiJson(req): ApiJson<JoinRequest>,
) -> Result<Json<JoinResponse>, ApiError> {
    let ip = conn.remote.ip();
    if let Err(reason) = engine
        .flood()
        .admit_after_failures(ip)
        .and_then(|()| engine.flood().admit_invite_attempt(ip))
    {
        tracing::debug!(%reason, "join attempt refused by a flood limit");
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TOO_MANY_ATTEMPTS",
            reason,
        ));
    }
    if conn.client_node_id.as_deref() != Some(req.node_id.as_str()) {
        return Err(refuse(
            "the TLS client certificate must prove the joining node id",
        ));
    }
    if req
        .endpoint
        .as_deref()
        .is_some_and(|e| e.parse::<SocketAddr>().is_err())
    {
        return Err(ApiError::bad_request(
            "INVALID_FIELD",
            "endpoint must be ip:port",
        ));
    }
    let proof = hex::decode(&req.proof).map_err(|_| refuse("the proof is not hexadecimal"))?;
    let now = engine.clock().now_ms();
    let me = Arc::clone(&engine);
    let exporter = conn.exporter;
    // 1. The invite: verified and used up.
    let node_id = req.node_id.clone();
    let used = engine
        .with_store(move |s| {
            let matching = s
                .pending_invites(now)?
                .into_iter()
                .find(|i| invite::verify_join_proof(&i.secret, &exporter, &node_id, &proof));
            let Some(inv) = matching else {
                return Ok::<_, Error>(Err(
                    "invite code is unknown, expired or already used (codes work once, for 10 minutes)".to_string(),
                ));
            };
            Ok(s.consume_invite(&inv.secret, now, &node_id).map_err(|e| e.to_string()))
        })
        .await?;
    used.map_err(|reason| {
        engine.flood().proof_failed(ip);
        tracing::warn!(%reason, "refused a join attempt");
        refuse(reason)
    })?;
    // 2. The group seed, created if need be, stored by the seed keeper's thread.
    let seed = engine.ensure_group_seed().await?;
    // 3. The joiner is signed into the roster and recorded.
    let (roster, name) = engine
        .with_store(move |s| {
            let roster = me.sync_state().groups().update(s, |group, s| {
                group.add_member(&req.node_id, &me.identity().device, now, s)?;
                Ok(group.roster.entries().cloned().collect::<Vec<_>>())
            })?;
            let mut record = s
                .peer(&req.node_id)?
                .unwrap_or_else(|| PeerRecord::new(&req.node_id, now));
            record.name = req.name.clone();
            record.endpoint = req.endpoint.clone();
            if let Some(q) = req
                .endpoint
                .as_deref()
                .and_then(|e| e.parse::<SocketAddr>().ok())
                .and_then(|e| super::peers::quic_addr_near(&e, req.quic_port))
            {
                record.quic_addr = Some(q);
            }
            record.status = PeerStatus::Active;
            s.upsert_peer(&record)?;
            Ok::<_, Error>((roster, req.name))
        })
        .await?;
    tracing::info!(peer = %name, "a device joined with an invite code");
    engine.native_changed();
    Ok(Json(JoinResponse {
        node_id: engine.identity().node_id.clone(),
        name: engine.identity().name.clone(),
        seed: hex::encode(seed.0),
        roster,
        quic_port: engine.native().map(|n| n.addr().port()),
    }))
}
