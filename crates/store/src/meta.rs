//! The `meta` table: schema version, node id, install id and change-log epoch.

use mayros_sync_proto::Hlc;
use rand::RngCore;
use rusqlite::{Connection, OptionalExtension};

use crate::error::Error;

const SCHEMA_VERSION: &str = "schema_version";
const NODE_ID: &str = "node_id";
const INSTALL_ID: &str = "install_id";
const LOG_EPOCH: &str = "log_epoch";
const CLOCK: &str = "hlc_last";
const HORIZON: &str = "collection_horizon";
const RETAINED_FROM: &str = "retained_from_position";

/// Facts about a store that live in its `meta` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// The schema version the database is at.
    pub schema_version: u32,
    /// The node id of the device that owns this store, once set.
    pub node_id: Option<String>,
    /// A random 128-bit id (32 lowercase hex) created when the store was first opened.
    pub install_id: String,
    /// A random 64-bit id (16 lowercase hex) naming this change log; cursors carry it.
    pub log_epoch: String,
}

/// Records the schema version and creates the install id and log epoch when missing.
pub(crate) fn init(conn: &Connection, schema_version: u32) -> Result<(), Error> {
    set(conn, SCHEMA_VERSION, &schema_version.to_string())?;
    let mut rng = rand::rngs::OsRng;
    if get(conn, INSTALL_ID)?.is_none() {
        let mut id = [0u8; 16];
        rng.fill_bytes(&mut id);
        set(conn, INSTALL_ID, &hex::encode(id))?;
    }
    if get(conn, LOG_EPOCH)?.is_none() {
        set(conn, LOG_EPOCH, &format!("{:016x}", rng.next_u64()))?;
    }
    Ok(())
}

/// Reads every meta fact.
pub(crate) fn read(conn: &Connection) -> Result<Meta, Error> {
    let required = |key: &str| {
        get(conn, key)?.ok_or_else(|| Error::Corrupt(format!("meta key `{key}` is missing")))
    };
    let version = required(SCHEMA_VERSION)?;
    let schema_version = version.parse().map_err(|_| {
        Error::Corrupt(format!(
            "meta `{SCHEMA_VERSION}` is {version:?}, not a number"
        ))
    })?;
    Ok(Meta {
        schema_version,
        node_id: get(conn, NODE_ID)?,
        install_id: required(INSTALL_ID)?,
        log_epoch: required(LOG_EPOCH)?,
    })
}

/// Records the node id of the device owning the store.
pub(crate) fn set_node_id(conn: &Connection, node_id: &str) -> Result<(), Error> {
    set(conn, NODE_ID, node_id)
}

/// The local HLC as last committed (16 hex digits), if a v2+ build recorded one.
pub(crate) fn clock(conn: &Connection) -> Result<Option<Hlc>, Error> {
    get(conn, CLOCK)?
        .map(|text| {
            text.parse()
                .map_err(|_| Error::Corrupt(format!("meta `{CLOCK}` is {text:?}, not a stamp")))
        })
        .transpose()
}

/// Records the local HLC inside a write transaction, so a restart resumes exactly there
/// (and never adopts a remote stamp the skew rule refused).
pub(crate) fn set_clock(conn: &Connection, hlc: Hlc) -> Result<(), Error> {
    set(conn, CLOCK, &hlc.to_string())
}

/// The collection horizon: the newest stamp of any tombstone collected so far (DESIGN §2.3).
pub(crate) fn horizon(conn: &Connection) -> Result<Option<Hlc>, Error> {
    get(conn, HORIZON)?
        .map(|text| {
            text.parse()
                .map_err(|_| Error::Corrupt(format!("meta `{HORIZON}` is {text:?}, not a stamp")))
        })
        .transpose()
}

/// Records the collection horizon inside the collecting transaction.
pub(crate) fn set_horizon(conn: &Connection, hlc: Hlc) -> Result<(), Error> {
    set(conn, HORIZON, &hlc.to_string())
}

/// The lowest change-log position a delta cursor may start after (0 until something was
/// collected): the highest log position of a collected tombstone.
pub(crate) fn retained_from(conn: &Connection) -> Result<u64, Error> {
    match get(conn, RETAINED_FROM)? {
        None => Ok(0),
        Some(text) => text.parse().map_err(|_| {
            Error::Corrupt(format!(
                "meta `{RETAINED_FROM}` is {text:?}, not a position"
            ))
        }),
    }
}

/// Records the lowest position a cursor may start after.
pub(crate) fn set_retained_from(conn: &Connection, position: u64) -> Result<(), Error> {
    set(conn, RETAINED_FROM, &position.to_string())
}

fn get(conn: &Connection, key: &str) -> Result<Option<String>, Error> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

fn set(conn: &Connection, key: &str, value: &str) -> Result<(), Error> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute([key, value])?;
    Ok(())
}
