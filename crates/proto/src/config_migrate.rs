//! Config file versions and their migrations: an older document in, the current document and
//! notes on what changed out. Pure; the caller reads and writes the file.

use serde_json::Value;

use crate::config_user::prune_defaults;
use crate::error::Error;

/// The config file version this build writes (the `version` key).
pub const CURRENT_VERSION: u64 = 1;

/// A document brought up to [`CURRENT_VERSION`].
#[derive(Debug, Clone, PartialEq)]
pub struct Migrated {
    /// The current document, `version` set.
    pub doc: Value,
    /// The version the input had (0: a file from before versions existed).
    pub from_version: u64,
    /// One line per change made, for logs and the CLI.
    pub notes: Vec<String>,
}

/// The `version` of a document: absent is 0; anything but a whole number up to
/// [`CURRENT_VERSION`] is an error naming the `version` key.
pub fn version_of(doc: &Value) -> Result<u64, Error> {
    let Some(v) = doc.get("version") else {
        return Ok(0);
    };
    let n = v.as_u64().ok_or_else(|| Error::Config {
        key: "version".into(),
        reason: format!("expected a whole number of at least 0, found {v}"),
    })?;
    if n > CURRENT_VERSION {
        return Err(Error::Config {
            key: "version".into(),
            reason: format!(
                "the file is version {n}, written by a newer Mayros Sync; this one reads up to \
                 version {CURRENT_VERSION}"
            ),
        });
    }
    Ok(n)
}

/// Brings `doc` up to [`CURRENT_VERSION`], one step at a time. The effective configuration
/// stays the same; only how the file says it changes.
pub fn migrate(doc: &Value) -> Result<Migrated, Error> {
    if !doc.is_object() {
        return Err(Error::Config {
            key: "(top level)".into(),
            reason: "expected a JSON object".into(),
        });
    }
    let from_version = version_of(doc)?;
    let mut out = doc.clone();
    let mut notes = Vec::new();
    if from_version < 1 {
        v0_to_v1(&mut out, &mut notes);
    }
    if let Value::Object(root) = &mut out {
        root.insert("version".into(), CURRENT_VERSION.into());
    }
    Ok(Migrated {
        doc: out,
        from_version,
        notes,
    })
}

/// Version 0 files were often written by the window with every default filled in, so later
/// changes of a default never reached them: drop the keys that hold their default value.
fn v0_to_v1(doc: &mut Value, notes: &mut Vec<String>) {
    let before = leaf_keys(doc);
    prune_defaults(doc);
    let after = leaf_keys(doc);
    let dropped: Vec<String> = before.into_iter().filter(|k| !after.contains(k)).collect();
    if !dropped.is_empty() {
        notes.push(format!(
            "version 0 → 1: removed {} key(s) holding their default value, so they follow future \
             defaults: {}",
            dropped.len(),
            dropped.join(", ")
        ));
    }
}

/// The dotted paths of the non-object values of `doc`.
fn leaf_keys(doc: &Value) -> Vec<String> {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, child, out);
                }
            }
            _ => out.push(prefix.to_owned()),
        }
    }
    let mut out = Vec::new();
    walk("", doc, &mut out);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_current_document_is_unchanged() {
        let doc = json!({"version": 1, "sync": {"intervalSeconds": 300}});
        let m = migrate(&doc).unwrap();
        assert_eq!(m.doc, doc, "a current file is not pruned");
        assert_eq!(m.from_version, 1);
        assert!(m.notes.is_empty());
    }

    #[test]
    fn newer_and_malformed_versions_are_errors_naming_the_key() {
        for doc in [
            json!({"version": 2}),
            json!({"version": "1"}),
            json!({"version": -1}),
        ] {
            match migrate(&doc).unwrap_err() {
                Error::Config { key, .. } => assert_eq!(key, "version", "{doc}"),
                other => panic!("{other:?}"),
            }
        }
        assert!(migrate(&json!([])).is_err());
    }

    #[test]
    fn the_parser_accepts_the_version_key_up_to_the_current_one() {
        assert!(crate::config::from_value(&json!({"version": 1})).is_ok());
        assert!(crate::config::from_value(&json!({"version": 0})).is_ok());
        match crate::config::from_value(&json!({"version": 2})).unwrap_err() {
            Error::Config { key, reason } => {
                assert_eq!(key, "version");
                assert!(reason.contains("newer Mayros Sync"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }
}
