//! One-time invite secrets (DESIGN §7.2): valid until they expire, single use, also across
//! restarts. Rows are keyed by SHA-256 of the secret.

use std::fmt;

use rusqlite::{OptionalExtension, TransactionBehavior};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::triples::{count, u64_to_sql};
use crate::Store;

/// An invite that can still be used.
#[derive(Clone, PartialEq, Eq)]
pub struct PendingInvite {
    /// The 128-bit secret carried by the invite code.
    pub secret: [u8; 16],
    /// When it was created, unix milliseconds.
    pub created_at_ms: u64,
    /// When it stops being valid, unix milliseconds.
    pub expires_at_ms: u64,
}

impl fmt::Debug for PendingInvite {
    /// Never prints the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingInvite")
            .field("secret", &"<redacted>")
            .field("created_at_ms", &self.created_at_ms)
            .field("expires_at_ms", &self.expires_at_ms)
            .finish()
    }
}

fn hash(secret: &[u8; 16]) -> [u8; 32] {
    Sha256::digest(secret).into()
}

impl Store {
    /// Records a new invite secret, valid from `now_ms` until `expires_at_ms` (exclusive).
    pub fn create_invite(
        &mut self,
        secret: [u8; 16],
        now_ms: u64,
        expires_at_ms: u64,
    ) -> Result<(), Error> {
        self.conn
            .prepare_cached(
                "INSERT INTO invites (secret_hash, secret, created_at_ms, expires_at_ms)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute((
                hash(&secret).as_slice(),
                secret.as_slice(),
                u64_to_sql(now_ms),
                u64_to_sql(expires_at_ms),
            ))?;
        Ok(())
    }

    /// Invites neither used nor expired at `now_ms`, oldest first.
    pub fn pending_invites(&self, now_ms: u64) -> Result<Vec<PendingInvite>, Error> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT secret, created_at_ms, expires_at_ms FROM invites
             WHERE used_at_ms IS NULL AND expires_at_ms > ?1
             ORDER BY created_at_ms, secret_hash",
        )?;
        let rows = stmt.query_map([u64_to_sql(now_ms)], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        rows.map(|row| {
            let (secret, created, expires) = row?;
            Ok(PendingInvite {
                secret: secret.as_slice().try_into().map_err(|_| {
                    Error::Corrupt(format!(
                        "an invite secret is {} bytes, not 16",
                        secret.len()
                    ))
                })?,
                created_at_ms: count(created)?,
                expires_at_ms: count(expires)?,
            })
        })
        .collect()
    }

    /// Uses up an invite for `joiner`, atomically: unknown, expired or already used secrets
    /// are refused with [`Error::InviteUnknown`], [`Error::InviteExpired`] or
    /// [`Error::InviteUsed`].
    pub fn consume_invite(
        &mut self,
        secret: &[u8; 16],
        now_ms: u64,
        joiner: &str,
    ) -> Result<(), Error> {
        let key = hash(secret);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row: Option<(i64, Option<i64>)> = tx
            .prepare_cached("SELECT expires_at_ms, used_at_ms FROM invites WHERE secret_hash = ?1")?
            .query_row([key.as_slice()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        match row {
            None => return Err(Error::InviteUnknown),
            Some((_, Some(_))) => return Err(Error::InviteUsed),
            Some((expires, None)) if u64_to_sql(now_ms) >= expires => {
                return Err(Error::InviteExpired)
            }
            Some(_) => {}
        }
        tx.prepare_cached(
            "UPDATE invites SET used_at_ms = ?2, used_by = ?3
             WHERE secret_hash = ?1 AND used_at_ms IS NULL",
        )?
        .execute((key.as_slice(), u64_to_sql(now_ms), joiner))?;
        tx.commit()?;
        Ok(())
    }
}
