//! Recognising a damaged database file before and while opening it, so the engine stops with a
//! message naming the file and what to do, and never writes into it.
//!
//! Two signs: SQLite's own "not a database" / "malformed" answers, and a file shorter than the
//! page count its header records (a truncated copy: SQLite would only notice when it reads a
//! missing page). An empty file is a new store, not a damaged one.

use std::io::Read;
use std::path::Path;

use crate::error::Error;

/// The 16 bytes every SQLite 3 database starts with.
const MAGIC: &[u8; 16] = b"SQLite format 3\0";
/// Bytes of the database header.
const HEADER: usize = 100;

/// What is wrong with a database file, judged from its first 100 bytes and its length
/// (`None`: nothing seen). Pure, for tests.
pub fn header_problem(header: &[u8], file_len: u64, wal_pending: bool) -> Option<String> {
    if file_len == 0 {
        return None;
    }
    if header.len() < HEADER {
        return Some(format!(
            "it is {file_len} bytes long, shorter than a database header"
        ));
    }
    if &header[..16] != MAGIC {
        return Some("it does not start with the SQLite header".to_string());
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536u64,
        n if n >= 512 && n.is_power_of_two() => u64::from(n),
        n => return Some(format!("its header records an invalid page size {n}")),
    };
    let be32 = |at: usize| {
        u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let change_counter = be32(24);
    let pages = u64::from(be32(28));
    // The page count is only valid when written by the same change as the counter, and only
    // once no write-ahead log is waiting: a checkpoint cut short by a crash writes page 1 (the
    // header) before the pages after it, and SQLite finishes it from the log at the next open.
    if pages > 0 && be32(92) == change_counter && !wal_pending {
        let expected = pages * page_size;
        if file_len < expected {
            return Some(format!(
                "it is {file_len} bytes long but its header records {pages} pages of {page_size} bytes ({expected} bytes): it was truncated"
            ));
        }
    }
    None
}

/// Checks the file at `path` (a missing file is fine: it becomes a new store).
pub fn check_file(path: &Path) -> Result<(), Error> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(Error::Io {
                what: "cannot read the store database",
                path: path.to_path_buf(),
                source: e,
            })
        }
    };
    let len = file.metadata().map(|m| m.len()).map_err(|e| Error::Io {
        what: "cannot read the store database",
        path: path.to_path_buf(),
        source: e,
    })?;
    let mut header = Vec::with_capacity(HEADER);
    file.by_ref()
        .take(HEADER as u64)
        .read_to_end(&mut header)
        .map_err(|e| Error::Io {
            what: "cannot read the store database",
            path: path.to_path_buf(),
            source: e,
        })?;
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal_pending = std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0);
    let damaged = |detail| Error::Damaged {
        path: path.to_path_buf(),
        detail,
    };
    if let Some(detail) = header_problem(&header, len, wal_pending) {
        return Err(damaged(detail));
    }
    // With a log waiting, a short file may be a checkpoint a crash cut short (SQLite finishes
    // it from the log) or real damage: let SQLite check a copy, never the file itself.
    if wal_pending && header_problem(&header, len, false).is_some() {
        if let Err(why) = check_copy(path, Path::new(&wal)) {
            return Err(damaged(format!(
                "it is shorter than its header says and SQLite's check of a copy with its log reports: {why}"
            )));
        }
    }
    Ok(())
}

/// Runs SQLite's `quick_check` on a copy of the database and its write-ahead log.
fn check_copy(db: &Path, wal: &Path) -> Result<(), String> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("mayros-check-{}-{nanos}", std::process::id()));
    std::fs::create_dir(&dir).map_err(|e| format!("cannot make a scratch dir: {e}"))?;
    let result = (|| {
        let copy = dir.join("cortex.db");
        std::fs::copy(db, &copy).map_err(|e| format!("cannot copy the file: {e}"))?;
        std::fs::copy(wal, dir.join("cortex.db-wal"))
            .map_err(|e| format!("cannot copy the log: {e}"))?;
        let conn = rusqlite::Connection::open(&copy).map_err(|e| e.to_string())?;
        let answer: String = conn
            .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
            .map_err(|e| e.to_string())?;
        if answer == "ok" {
            Ok(())
        } else {
            Err(answer)
        }
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Whether SQLite's answer means the file is damaged or not a database.
pub fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    )
}

/// Turns an opening error caused by a damaged file into [`Error::Damaged`].
pub fn classify(e: Error, path: &Path) -> Error {
    let sqlite = match &e {
        Error::Open { source, .. } | Error::Migration { source, .. } | Error::Sqlite(source) => {
            source
        }
        _ => return e,
    };
    if is_damage(sqlite) {
        Error::Damaged {
            path: path.to_path_buf(),
            detail: format!("SQLite says: {sqlite}"),
        }
    } else {
        e
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn header(page_size: u16, pages: u32, counter: u32, valid_for: u32) -> Vec<u8> {
        let mut h = vec![0u8; HEADER];
        h[..16].copy_from_slice(MAGIC);
        h[16..18].copy_from_slice(&page_size.to_be_bytes());
        h[24..28].copy_from_slice(&counter.to_be_bytes());
        h[28..32].copy_from_slice(&pages.to_be_bytes());
        h[92..96].copy_from_slice(&valid_for.to_be_bytes());
        h
    }

    #[test]
    fn an_empty_file_is_a_new_store() {
        assert_eq!(header_problem(&[], 0, false), None);
    }

    #[test]
    fn garbage_and_short_files_are_named() {
        assert!(header_problem(b"hello", 5, false)
            .unwrap()
            .contains("shorter"));
        let junk = vec![0xA5u8; HEADER];
        assert!(header_problem(&junk, 8192, false)
            .unwrap()
            .contains("SQLite header"));
        let bad_page = header(1000, 2, 1, 1);
        assert!(header_problem(&bad_page, 8192, false)
            .unwrap()
            .contains("page size 1000"));
    }

    #[test]
    fn a_file_shorter_than_its_pages_is_truncated() {
        let h = header(4096, 10, 3, 3);
        assert_eq!(header_problem(&h, 40_960, false), None);
        assert_eq!(
            header_problem(&h, 50_000, false),
            None,
            "longer is fine (WAL checkpoints grow it)"
        );
        let p = header_problem(&h, 20_480, false).unwrap();
        assert!(p.contains("truncated") && p.contains("10 pages"), "{p}");
        // A stale page count (written by an older version) is not trusted.
        assert_eq!(header_problem(&header(4096, 10, 4, 3), 20_480, false), None);
        // A crash cut a checkpoint short: the log still holds the pages; SQLite finishes it.
        assert_eq!(header_problem(&h, 20_480, true), None);
        // Page size 1 means 65 536.
        assert!(header_problem(&header(1, 2, 1, 1), 65_536, false).is_some());
    }
}
