//! Persistence of the signed roster entries (DESIGN §4, §7.2). The store keeps entries as
//! given; trust (signatures, signers, removals) is decided by `proto::roster::Roster`.

use mayros_sync_proto::roster::{RosterAction, RosterEntry};
use rusqlite::TransactionBehavior;

use crate::error::Error;
use crate::triples::{count, u64_to_sql};
use crate::Store;

fn action_name(action: RosterAction) -> &'static str {
    match action {
        RosterAction::Add => "add",
        RosterAction::Remove => "remove",
    }
}

impl Store {
    /// Stores roster entries not stored yet, in one transaction; returns how many were new.
    pub fn save_roster_entries(&mut self, entries: &[RosterEntry]) -> Result<usize, Error> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut added = 0;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO roster_entries (node_id, action, \"by\", at_ms, signature)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for e in entries {
                added += insert.execute((
                    &e.node_id,
                    action_name(e.action),
                    &e.by,
                    u64_to_sql(e.at_ms),
                    &e.signature,
                ))?;
            }
        }
        tx.commit()?;
        Ok(added)
    }

    /// Every stored roster entry, ordered by node id, action, signer and time.
    pub fn roster_entries(&self) -> Result<Vec<RosterEntry>, Error> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT node_id, action, \"by\", at_ms, signature FROM roster_entries
             ORDER BY node_id, action, \"by\", at_ms",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?;
        rows.map(|row| {
            let (node_id, action, by, at_ms, signature) = row?;
            let action = match action.as_str() {
                "add" => RosterAction::Add,
                "remove" => RosterAction::Remove,
                other => {
                    return Err(Error::Corrupt(format!(
                        "roster entry for {node_id} has unknown action {other:?}"
                    )))
                }
            };
            Ok(RosterEntry {
                node_id,
                action,
                by,
                at_ms: count(at_ms)?,
                signature,
            })
        })
        .collect()
    }
}
