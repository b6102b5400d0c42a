//! Agent trace events (the Cortex `/api/v1/events` of the Mayros client): this device's own
//! append-only records, never synced, bounded by a count and an age.

use rusqlite::OptionalExtension;
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::triples::count;
use crate::Store;

/// An event to record: the indexed fields and the whole event as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAgentEvent {
    /// The event type (`type` in the client's payload).
    pub kind: String,
    /// The agent that emitted it.
    pub agent_id: String,
    /// The agent session, if any.
    pub session: Option<String>,
    /// The client's RFC 3339 timestamp.
    pub timestamp: String,
    /// Every field of the event as the client sent it (without `id`).
    pub body: serde_json::Value,
}

impl NewAgentEvent {
    /// The event's id: `evt-` and 32 hex digits of the SHA-256 of its canonical JSON, so a
    /// client's retry of the same event is recognised and stored once.
    pub fn id(&self) -> String {
        let digest = Sha256::digest(mayros_sync_proto::jcs::canonicalize(&self.body).as_bytes());
        format!("evt-{}", hex::encode(&digest[..16]))
    }
}

/// How many events are kept, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRetention {
    /// The newest this many are kept.
    pub max_events: u64,
    /// Events recorded longer ago than this (milliseconds) are dropped.
    pub max_age_ms: u64,
}

impl Default for EventRetention {
    fn default() -> EventRetention {
        EventRetention {
            max_events: 100_000,
            max_age_ms: 30 * 24 * 3600 * 1000,
        }
    }
}

/// What an append did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Ids of the events, in request order (a duplicate gets the id it was first stored under).
    pub ids: Vec<String>,
    /// How many were already stored.
    pub duplicates: usize,
    /// How many old events retention dropped.
    pub pruned: u64,
}

/// Which events to list; every `Some` must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only this agent's.
    pub agent_id: Option<String>,
    /// Only this session's.
    pub session: Option<String>,
    /// Only this type.
    pub kind: Option<String>,
    /// Only those whose timestamp is at or after this one (RFC 3339 text order).
    pub since: Option<String>,
}

/// A stored event: its id and the JSON the client sent.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAgentEvent {
    /// The event id.
    pub id: String,
    /// The event as the client sent it.
    pub body: serde_json::Value,
}

impl Store {
    /// Records `events` in one transaction, then applies `retention` as of `now_ms`.
    pub fn append_agent_events(
        &mut self,
        events: &[NewAgentEvent],
        now_ms: u64,
        retention: EventRetention,
    ) -> Result<AppendOutcome, Error> {
        let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
        let tx = self.conn.transaction()?;
        let mut ids = Vec::with_capacity(events.len());
        let mut duplicates = 0;
        for e in events {
            let id = e.id();
            let body = serde_json::to_string(&e.body)
                .map_err(|err| Error::Corrupt(format!("event body: {err}")))?;
            let added = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO agent_events
                       (id, type, agent_id, session, timestamp, recorded_at_ms, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(rusqlite::params![
                    id,
                    e.kind,
                    e.agent_id,
                    e.session,
                    e.timestamp,
                    now,
                    body
                ])?;
            if added == 0 {
                duplicates += 1;
            }
            ids.push(id);
        }
        let horizon = now.saturating_sub(i64::try_from(retention.max_age_ms).unwrap_or(i64::MAX));
        let mut pruned = tx
            .prepare_cached("DELETE FROM agent_events WHERE recorded_at_ms < ?1")?
            .execute([horizon])?;
        pruned += tx
            .prepare_cached(
                "DELETE FROM agent_events WHERE seq <= (SELECT MAX(seq) FROM agent_events) - ?1",
            )?
            .execute([i64::try_from(retention.max_events).unwrap_or(i64::MAX)])?;
        tx.commit()?;
        Ok(AppendOutcome {
            ids,
            duplicates,
            pruned: pruned as u64,
        })
    }

    /// The newest `limit` events matching `filter`, oldest first.
    pub fn agent_events(
        &self,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<Vec<StoredAgentEvent>, Error> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, body FROM (
                 SELECT seq, id, body FROM agent_events
                  WHERE (?1 IS NULL OR agent_id = ?1)
                    AND (?2 IS NULL OR session = ?2)
                    AND (?3 IS NULL OR type = ?3)
                    AND (?4 IS NULL OR timestamp >= ?4)
                  ORDER BY seq DESC LIMIT ?5)
             ORDER BY seq",
        )?;
        let rows = stmt.query_map(
            rusqlite::params![
                filter.agent_id,
                filter.session,
                filter.kind,
                filter.since,
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
        )?;
        rows.map(|r| {
            let (id, body) = r?;
            decode(id, &body)
        })
        .collect()
    }

    /// One event by id.
    pub fn agent_event(&self, id: &str) -> Result<Option<StoredAgentEvent>, Error> {
        let row = self
            .conn
            .prepare_cached("SELECT id, body FROM agent_events WHERE id = ?1")?
            .query_row([id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .optional()?;
        row.map(|(id, body)| decode(id, &body)).transpose()
    }

    /// How many events are kept.
    pub fn agent_event_count(&self) -> Result<u64, Error> {
        count(
            self.conn
                .prepare_cached("SELECT COUNT(*) FROM agent_events")?
                .query_row([], |r| r.get(0))?,
        )
    }
}

fn decode(id: String, body: &str) -> Result<StoredAgentEvent, Error> {
    let body =
        serde_json::from_str(body).map_err(|e| Error::Corrupt(format!("agent event {id}: {e}")))?;
    Ok(StoredAgentEvent { id, body })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn event(agent: &str, kind: &str, ts: &str) -> NewAgentEvent {
        NewAgentEvent {
            kind: kind.into(),
            agent_id: agent.into(),
            session: Some("s1".into()),
            timestamp: ts.into(),
            body: serde_json::json!({"type": kind, "agentId": agent, "timestamp": ts, "fields": {}}),
        }
    }

    const DAY: u64 = 24 * 3600 * 1000;

    #[test]
    fn events_are_kept_filtered_and_a_retry_is_stored_once() {
        let mut s = Store::open_in_memory().unwrap();
        let r = EventRetention::default();
        let a = event("a", "tool", "2026-12-01T00:00:00Z");
        let b = event("b", "llm", "2026-12-02T00:00:00Z");
        let out = s.append_agent_events(&[a.clone(), b], DAY, r).unwrap();
        assert_eq!(out.duplicates, 0);
        let again = s
            .append_agent_events(std::slice::from_ref(&a), DAY, r)
            .unwrap();
        assert_eq!(again.duplicates, 1);
        assert_eq!(again.ids[0], out.ids[0]);
        assert_eq!(s.agent_event_count().unwrap(), 2);

        let only_a = EventFilter {
            agent_id: Some("a".into()),
            ..EventFilter::default()
        };
        let got = s.agent_events(&only_a, 10).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].body["type"], "tool");
        let since = EventFilter {
            since: Some("2026-12-01T12:00:00Z".into()),
            ..EventFilter::default()
        };
        assert_eq!(s.agent_events(&since, 10).unwrap()[0].body["agentId"], "b");
        assert_eq!(
            s.agent_event(&out.ids[1]).unwrap().unwrap().body["type"],
            "llm"
        );
        assert!(s.agent_event("evt-none").unwrap().is_none());
    }

    #[test]
    fn retention_drops_the_oldest_by_count_and_by_age() {
        let mut s = Store::open_in_memory().unwrap();
        let r = EventRetention {
            max_events: 3,
            max_age_ms: 10 * DAY,
        };
        let evs: Vec<_> = (0..5)
            .map(|i| event("a", "t", &format!("2026-12-0{}T00:00:00Z", i + 1)))
            .collect();
        let out = s.append_agent_events(&evs, DAY, r).unwrap();
        assert_eq!(out.pruned, 2);
        let kept = s.agent_events(&EventFilter::default(), 10).unwrap();
        let stamps: Vec<_> = kept.iter().map(|e| e.body["timestamp"].clone()).collect();
        assert_eq!(
            stamps,
            [
                "2026-12-03T00:00:00Z",
                "2026-12-04T00:00:00Z",
                "2026-12-05T00:00:00Z"
            ]
        );
        // Eleven days later everything recorded on day one is too old.
        let late = event("a", "t", "2026-12-20T00:00:00Z");
        let out = s.append_agent_events(&[late], 12 * DAY, r).unwrap();
        assert_eq!(out.pruned, 3);
        assert_eq!(s.agent_event_count().unwrap(), 1);
    }

    #[test]
    fn a_page_is_the_newest_events_oldest_first() {
        let mut s = Store::open_in_memory().unwrap();
        let evs: Vec<_> = (1..=4)
            .map(|i| event("a", "t", &format!("2026-12-0{i}T00:00:00Z")))
            .collect();
        s.append_agent_events(&evs, DAY, EventRetention::default())
            .unwrap();
        let page = s.agent_events(&EventFilter::default(), 2).unwrap();
        let stamps: Vec<_> = page.iter().map(|e| e.body["timestamp"].clone()).collect();
        assert_eq!(stamps, ["2026-12-03T00:00:00Z", "2026-12-04T00:00:00Z"]);
    }
}
