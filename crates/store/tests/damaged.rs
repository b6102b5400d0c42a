//! A truncated or garbage-filled database file is refused with a message naming the file and
//! what to do, and is never written to (issue 16).
#![allow(clippy::unwrap_used)]

use std::path::Path;

use mayros_sync_proto::{Triple, Value};
use mayros_sync_store::{Error, NewTriple, Store, WriteContext};

fn filled(path: &Path, n: i64) {
    let mut store = Store::open(path).unwrap();
    let items: Vec<NewTriple> = (0..n)
        .map(|i| NewTriple::new(Triple::new("ex:s", "ex:p", Value::Integer(i)).unwrap()))
        .collect();
    let ctx = WriteContext {
        wall_ms: 1_795_541_774_123,
        author: "a".repeat(64),
    };
    store.insert_batch(&items, &ctx).unwrap();
    // A checkpoint puts every page in the main file, as after a clean stop.
    drop(store);
}

fn assert_refused_untouched(path: &Path, what: &str) {
    let before = std::fs::read(path).unwrap();
    let err = Store::open(path).unwrap_err();
    assert!(matches!(err, Error::Damaged { .. }), "{what}: {err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "{what}: names the file: {msg}"
    );
    assert!(
        msg.contains("Move it away") && msg.contains("backup"),
        "{what}: says what to do: {msg}"
    );
    assert_eq!(
        std::fs::read(path).unwrap(),
        before,
        "{what}: the file is unchanged"
    );
    // Asking again changes nothing either.
    assert!(Store::open(path).is_err());
    assert_eq!(
        std::fs::read(path).unwrap(),
        before,
        "{what}: unchanged after a retry"
    );
}

#[test]
fn a_garbage_file_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cortex.db");
    let garbage: Vec<u8> = (0..64 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &garbage).unwrap();
    assert_refused_untouched(&path, "random bytes");
    std::fs::write(&path, b"not a database").unwrap();
    assert_refused_untouched(&path, "a short text file");
}

#[test]
fn a_truncated_store_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cortex.db");
    filled(&path, 5_000);
    let len = std::fs::metadata(&path).unwrap().len();
    assert!(len > 64 * 1024, "a store of several pages: {len}");
    for keep in [len / 2, len - 4096, 4096, 100] {
        let full = std::fs::read(&path).unwrap();
        std::fs::write(&path, &full[..keep as usize]).unwrap();
        assert_refused_untouched(&path, &format!("cut to {keep} bytes"));
        std::fs::write(&path, &full).unwrap();
    }
    // The intact file still opens with every triple.
    assert_eq!(
        Store::open(&path).unwrap().stats().unwrap().triple_count,
        5_000
    );
}

#[test]
fn a_store_with_garbage_over_its_pages_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cortex.db");
    filled(&path, 5_000);
    let mut bytes = std::fs::read(&path).unwrap();
    // Keep the header and page 1 (the schema), overwrite everything after it.
    for (i, b) in bytes.iter_mut().enumerate().skip(4096) {
        *b = (i % 251) as u8;
    }
    std::fs::write(&path, &bytes).unwrap();
    assert_refused_untouched(&path, "garbage pages");
}
