//! Helpers shared by the store's integration tests.
#![allow(clippy::unwrap_used, dead_code)]

use std::path::Path;

use mayros_sync_store::Store;

/// Creates `data_dir` with a store in it and returns that store's install id (the secret
/// store's account prefix).
pub fn install_id_of(data_dir: &Path) -> String {
    std::fs::create_dir_all(data_dir).unwrap();
    Store::open(&data_dir.join("store.db"))
        .unwrap()
        .meta()
        .unwrap()
        .install_id
}
