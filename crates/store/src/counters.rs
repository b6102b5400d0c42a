//! Named persistent counters (security events such as `auth_rejected`, DESIGN §7.3).

use crate::error::Error;
use crate::triples::{count, u64_to_sql};
use crate::Store;

impl Store {
    /// Adds one to the counter `name` (created at 0) and returns its new value.
    pub fn bump_counter(&mut self, name: &str) -> Result<u64, Error> {
        count(
            self.conn
                .prepare_cached(
                    "INSERT INTO counters (name, value) VALUES (?1, 1)
                     ON CONFLICT (name) DO UPDATE SET value = value + 1
                     RETURNING value",
                )?
                .query_row([name], |r| r.get(0))?,
        )
    }

    /// Sets the counter `name` to `value` (used as a small persistent register, e.g. the
    /// external Cortex mirror's write-back position).
    pub fn set_counter(&mut self, name: &str, value: u64) -> Result<(), Error> {
        self.conn
            .prepare_cached(
                "INSERT INTO counters (name, value) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            )?
            .execute((name, u64_to_sql(value)))?;
        Ok(())
    }

    /// The value of the counter `name` (0 if it was never bumped).
    pub fn counter(&self, name: &str) -> Result<u64, Error> {
        let value: Option<i64> = self
            .conn
            .prepare_cached("SELECT MAX(value) FROM counters WHERE name = ?1")?
            .query_row([name], |r| r.get(0))?;
        count(value.unwrap_or(0))
    }

    /// Every counter, by name.
    pub fn counters(&self) -> Result<Vec<(String, u64)>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT name, value FROM counters ORDER BY name")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        rows.map(|row| {
            let (name, value) = row?;
            Ok((name, count(value)?))
        })
        .collect()
    }
}
