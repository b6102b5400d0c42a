//! Sync peers: the PeerManager's persistence (DESIGN §5).

use mayros_sync_proto::peerstate::PeerStatus;
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::triples::{count, u64_to_sql};
use crate::Store;

/// How the last sync attempt with a peer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncResult {
    /// It succeeded.
    Ok,
    /// It failed (see [`PeerRecord::last_error`]).
    Error,
}

impl SyncResult {
    /// The stored / JSON name: `ok` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncResult::Ok => "ok",
            SyncResult::Error => "error",
        }
    }

    /// Parses the stored name.
    pub fn from_name(name: &str) -> Option<SyncResult> {
        [SyncResult::Ok, SyncResult::Error]
            .into_iter()
            .find(|r| r.as_str() == name)
    }
}

/// A sync peer as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRecord {
    /// The peer's node id (64 lowercase hex).
    pub node_id: String,
    /// Its device name.
    pub name: String,
    /// `host:port` of its peer HTTPS API, once known (a roster member may be known first).
    pub endpoint: Option<String>,
    /// `host:port` of its QUIC endpoint, when known.
    pub quic_addr: Option<String>,
    /// Namespaces synced with it; empty means all.
    pub namespaces: Vec<String>,
    /// Where it stands.
    pub status: PeerStatus,
    /// When it was added, unix milliseconds.
    pub added_at_ms: u64,
    /// When the last sync attempt ended, unix milliseconds.
    pub last_sync_at_ms: Option<u64>,
    /// When the last successful sync ended, unix milliseconds.
    pub last_success_at_ms: Option<u64>,
    /// How the last attempt ended.
    pub last_result: Option<SyncResult>,
    /// The last attempt's error, when it failed.
    pub last_error: Option<String>,
    /// Successful syncs, ever.
    pub total_syncs: u64,
    /// Failed syncs, ever.
    pub total_failures: u64,
    /// Triples (and deletions) applied from it, ever.
    pub total_triples_synced: u64,
    /// Consecutive failures since the last success.
    pub failures: u64,
    /// When to retry after a failure, unix milliseconds.
    pub next_retry_at_ms: Option<u64>,
    /// The last `next` cursor received from it.
    pub cursor: Option<String>,
    /// The highest position of our change log it acknowledged by sending it as its delta
    /// cursor (it has applied everything up to there); 0 while it never pulled from us.
    pub acked_position: u64,
    /// Whether it missed a tombstone we collected after the maximum retention (DESIGN §2.3):
    /// our next pull from it is a full comparison that holds old unknown items for review.
    pub stale: bool,
}

impl PeerRecord {
    /// A newly added active peer with no name, endpoint or history yet.
    pub fn new(node_id: &str, added_at_ms: u64) -> PeerRecord {
        PeerRecord {
            node_id: node_id.to_string(),
            name: String::new(),
            endpoint: None,
            quic_addr: None,
            namespaces: Vec::new(),
            status: PeerStatus::Active,
            added_at_ms,
            last_sync_at_ms: None,
            last_success_at_ms: None,
            last_result: None,
            last_error: None,
            total_syncs: 0,
            total_failures: 0,
            total_triples_synced: 0,
            failures: 0,
            next_retry_at_ms: None,
            cursor: None,
            acked_position: 0,
            stale: false,
        }
    }
}

const COLUMNS: &str = "node_id, name, endpoint, quic_addr, namespaces, status, added_at_ms,
    last_sync_at_ms, last_success_at_ms, last_result, last_error, total_syncs, total_failures,
    total_triples_synced, failures, next_retry_at_ms, cursor, acked_position, stale";

impl Store {
    /// Inserts the peer, or replaces every stored field of the peer with its node id.
    pub fn upsert_peer(&mut self, peer: &PeerRecord) -> Result<(), Error> {
        let namespaces = serde_json::to_string(&peer.namespaces)
            .map_err(|e| Error::Corrupt(format!("cannot encode namespaces: {e}")))?;
        let opt = |v: Option<u64>| v.map(u64_to_sql);
        self.conn
            .prepare_cached(&format!(
                "INSERT OR REPLACE INTO peers ({COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                         ?18, ?19)"
            ))?
            .execute(rusqlite::params![
                peer.node_id,
                peer.name,
                peer.endpoint,
                peer.quic_addr,
                namespaces,
                peer.status.as_str(),
                u64_to_sql(peer.added_at_ms),
                opt(peer.last_sync_at_ms),
                opt(peer.last_success_at_ms),
                peer.last_result.map(SyncResult::as_str),
                peer.last_error,
                u64_to_sql(peer.total_syncs),
                u64_to_sql(peer.total_failures),
                u64_to_sql(peer.total_triples_synced),
                u64_to_sql(peer.failures),
                opt(peer.next_retry_at_ms),
                peer.cursor,
                u64_to_sql(peer.acked_position),
                peer.stale,
            ])?;
        Ok(())
    }

    /// The peer with this node id, if stored.
    pub fn peer(&self, node_id: &str) -> Result<Option<PeerRecord>, Error> {
        peer_with(&self.conn, node_id)
    }

    /// Every stored peer, removed ones included, in the order they were added.
    pub fn peers(&self) -> Result<Vec<PeerRecord>, Error> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM peers ORDER BY added_at_ms, node_id"
        ))?;
        let rows = stmt.query_map([], RawPeer::read)?;
        rows.map(|r| r.map_err(Error::from).and_then(RawPeer::decode))
            .collect()
    }

    /// Records a successful sync: resets the failure count, adds `triples` to the total,
    /// stores `cursor` when given, and makes the peer active unless paused or removed.
    pub fn record_sync_success(
        &mut self,
        node_id: &str,
        at_ms: u64,
        triples: u64,
        cursor: Option<&str>,
    ) -> Result<(), Error> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE peers SET
                     last_sync_at_ms = ?2, last_success_at_ms = ?2, last_result = 'ok',
                     last_error = NULL, total_syncs = total_syncs + 1,
                     total_triples_synced = total_triples_synced + ?3,
                     failures = 0, next_retry_at_ms = NULL,
                     cursor = COALESCE(?4, cursor),
                     status = CASE WHEN status IN ('paused', 'removed') THEN status
                                   ELSE 'active' END
                 WHERE node_id = ?1",
            )?
            .execute((node_id, u64_to_sql(at_ms), u64_to_sql(triples), cursor))?;
        found(changed, node_id)
    }

    /// Records a failed sync: counts it, keeps `error`, schedules the retry and makes the peer
    /// unreachable unless paused or removed.
    pub fn record_sync_failure(
        &mut self,
        node_id: &str,
        at_ms: u64,
        error: &str,
        next_retry_at_ms: u64,
    ) -> Result<(), Error> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE peers SET
                     last_sync_at_ms = ?2, last_result = 'error', last_error = ?3,
                     total_failures = total_failures + 1, failures = failures + 1,
                     next_retry_at_ms = ?4,
                     status = CASE WHEN status IN ('paused', 'removed') THEN status
                                   ELSE 'unreachable' END
                 WHERE node_id = ?1",
            )?
            .execute((
                node_id,
                u64_to_sql(at_ms),
                error,
                u64_to_sql(next_retry_at_ms),
            ))?;
        found(changed, node_id)
    }

    /// Sets a peer's status (e.g. paused by the user, or removed when unpaired).
    pub fn set_peer_status(&mut self, node_id: &str, status: PeerStatus) -> Result<(), Error> {
        let changed = self
            .conn
            .prepare_cached("UPDATE peers SET status = ?2 WHERE node_id = ?1")?
            .execute((node_id, status.as_str()))?;
        found(changed, node_id)
    }

    /// Sets (or with `None` clears, forcing a sync from the start) a peer's delta cursor.
    pub fn set_peer_cursor(&mut self, node_id: &str, cursor: Option<&str>) -> Result<(), Error> {
        let changed = self
            .conn
            .prepare_cached("UPDATE peers SET cursor = ?2 WHERE node_id = ?1")?
            .execute((node_id, cursor))?;
        found(changed, node_id)
    }
}

impl Store {
    /// Records that `node_id` acknowledged our change log up to `position` (it sent that
    /// position as its delta cursor, DESIGN §2.3). Acknowledgements only move forward; returns
    /// whether a stored peer was updated (`false` for an unknown peer or an older position).
    pub fn record_peer_ack(&mut self, node_id: &str, position: u64) -> Result<bool, Error> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE peers SET acked_position = ?2 WHERE node_id = ?1 AND acked_position < ?2",
            )?
            .execute((node_id, u64_to_sql(position)))?;
        Ok(changed > 0)
    }

    /// Sets or clears a peer's stale flag (cleared after a full comparison with it).
    pub fn set_peer_stale(&mut self, node_id: &str, stale: bool) -> Result<(), Error> {
        let changed = self
            .conn
            .prepare_cached("UPDATE peers SET stale = ?2 WHERE node_id = ?1")?
            .execute((node_id, stale))?;
        found(changed, node_id)
    }
}

fn found(changed: usize, node_id: &str) -> Result<(), Error> {
    if changed == 0 {
        return Err(Error::PeerUnknown {
            node_id: node_id.chars().take(80).collect(),
        });
    }
    Ok(())
}

fn peer_with(conn: &Connection, node_id: &str) -> Result<Option<PeerRecord>, Error> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM peers WHERE node_id = ?1"))?
        .query_row([node_id], RawPeer::read)
        .optional()?
        .map(RawPeer::decode)
        .transpose()
}

/// One row of `peers`, as read, before validation.
struct RawPeer {
    node_id: String,
    name: String,
    endpoint: Option<String>,
    quic_addr: Option<String>,
    namespaces: String,
    status: String,
    added_at_ms: i64,
    last_sync_at_ms: Option<i64>,
    last_success_at_ms: Option<i64>,
    last_result: Option<String>,
    last_error: Option<String>,
    total_syncs: i64,
    total_failures: i64,
    total_triples_synced: i64,
    failures: i64,
    next_retry_at_ms: Option<i64>,
    cursor: Option<String>,
    acked_position: i64,
    stale: bool,
}

impl RawPeer {
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawPeer> {
        Ok(RawPeer {
            node_id: r.get(0)?,
            name: r.get(1)?,
            endpoint: r.get(2)?,
            quic_addr: r.get(3)?,
            namespaces: r.get(4)?,
            status: r.get(5)?,
            added_at_ms: r.get(6)?,
            last_sync_at_ms: r.get(7)?,
            last_success_at_ms: r.get(8)?,
            last_result: r.get(9)?,
            last_error: r.get(10)?,
            total_syncs: r.get(11)?,
            total_failures: r.get(12)?,
            total_triples_synced: r.get(13)?,
            failures: r.get(14)?,
            next_retry_at_ms: r.get(15)?,
            cursor: r.get(16)?,
            acked_position: r.get(17)?,
            stale: r.get(18)?,
        })
    }

    fn decode(self) -> Result<PeerRecord, Error> {
        let node = &self.node_id;
        let bad = |what: String| Error::Corrupt(format!("peer {node}: {what}"));
        let namespaces: Vec<String> = serde_json::from_str(&self.namespaces)
            .map_err(|e| bad(format!("namespaces {:?}: {e}", self.namespaces)))?;
        let status = PeerStatus::from_name(&self.status)
            .ok_or_else(|| bad(format!("unknown status {:?}", self.status)))?;
        let last_result = self
            .last_result
            .map(|r| SyncResult::from_name(&r).ok_or_else(|| bad(format!("unknown result {r:?}"))))
            .transpose()?;
        let opt = |v: Option<i64>| v.map(count).transpose();
        Ok(PeerRecord {
            name: self.name,
            endpoint: self.endpoint,
            quic_addr: self.quic_addr,
            namespaces,
            status,
            added_at_ms: count(self.added_at_ms)?,
            last_sync_at_ms: opt(self.last_sync_at_ms)?,
            last_success_at_ms: opt(self.last_success_at_ms)?,
            last_result,
            last_error: self.last_error,
            total_syncs: count(self.total_syncs)?,
            total_failures: count(self.total_failures)?,
            total_triples_synced: count(self.total_triples_synced)?,
            failures: count(self.failures)?,
            next_retry_at_ms: opt(self.next_retry_at_ms)?,
            cursor: self.cursor,
            acked_position: count(self.acked_position)?,
            stale: self.stale,
            node_id: self.node_id,
        })
    }
}
