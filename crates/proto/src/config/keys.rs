//! The key table: every configuration key of DESIGN §9 with its kind, range, default and use.
//!
//! [`KEY_SPECS`] is the one place a key's name, value kind, inclusive range, enum values,
//! default and description are stated. The reader, the CLI value parsing, the effective
//! document, [`KEYS`], the `*_RANGE` constants and the UI's `ui/src/config_keys.ts` all come
//! from it; the typed [`Default`](super::Config) impls are checked against it by tests.

use std::ops::RangeInclusive;

use serde_json::Value;

use super::ConflictStrategy;

/// What values a configuration key takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// `true` or `false`.
    Bool,
    /// A whole number; one outside `min..=max` is clamped into it with a warning.
    Integer {
        /// Smallest value kept as given.
        min: u64,
        /// Largest value kept as given.
        max: u64,
    },
    /// A string, further checked by the key's own format rule.
    String,
    /// A string spelled exactly as one of `values`.
    Enum {
        /// The allowed spellings, in DESIGN §9 order.
        values: &'static [&'static str],
    },
    /// An array of strings.
    List,
    /// An array whose entries are each a string or an object with some of `fields`.
    ObjectList {
        /// The keys an object entry may hold.
        fields: &'static [&'static str],
    },
}

/// One configuration key as DESIGN §9 states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    /// Dotted key path, e.g. `sync.intervalSeconds`.
    pub key: &'static str,
    /// What values the key takes.
    pub kind: KeyKind,
    /// The default as JSON text; `null` means unset, and such a key also accepts `null`.
    pub default: &'static str,
    /// Whether the window's settings form lets the user set the key.
    pub window: bool,
    /// One line saying what the key does.
    pub description: &'static str,
}

/// Keys of a `discovery.manualPeers` entry written as an object.
pub(super) const MANUAL_PEER_FIELDS: &[&str] = &["nodeId", "endpoint", "namespaces"];

/// The `sync.conflictStrategy` spellings, taken from [`ConflictStrategy::ALL`].
const CONFLICT_STRATEGIES: [&str; ConflictStrategy::ALL.len()] = {
    let mut out = [""; ConflictStrategy::ALL.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = ConflictStrategy::ALL[i].as_str();
        i += 1;
    }
    out
};

/// The table itself; its length is checked by the compiler.
const TABLE: [KeySpec; 17] = [
    KeySpec {
        key: "sync.intervalSeconds",
        kind: KeyKind::Integer {
            min: 10,
            max: 86_400,
        },
        default: "300",
        window: true,
        description: "Seconds between scheduled polled syncs.",
    },
    KeySpec {
        key: "sync.autoSync",
        kind: KeyKind::Bool,
        default: "false",
        window: true,
        description: "Whether the agent_end and config_change hooks trigger a sync.",
    },
    KeySpec {
        key: "sync.conflictStrategy",
        kind: KeyKind::Enum {
            values: &CONFLICT_STRATEGIES,
        },
        default: r#""last-writer-wins""#,
        window: true,
        description: "How two different values of one subject and predicate are resolved.",
    },
    KeySpec {
        key: "sync.maxTriplesPerSync",
        kind: KeyKind::Integer {
            min: 100,
            max: 50_000,
        },
        default: "5000",
        window: true,
        description: "Largest batch of triples sent or requested at once.",
    },
    KeySpec {
        key: "sync.syncTimeoutMs",
        kind: KeyKind::Integer {
            min: 5_000,
            max: 120_000,
        },
        default: "30000",
        window: true,
        description: "Time budget of one sync with one peer, in milliseconds.",
    },
    KeySpec {
        key: "sync.nativeP2pPreferred",
        kind: KeyKind::Bool,
        default: "true",
        window: true,
        description: "Whether native P2P gossip (QUIC) is used when available.",
    },
    KeySpec {
        key: "sync.multiValuedPredicates",
        kind: KeyKind::List,
        default: "[]",
        window: true,
        description: "Predicates whose several values are a set, never a conflict.",
    },
    KeySpec {
        key: "sync.excludeSubjectPrefixes",
        kind: KeyKind::List,
        default: r#"["mayros:sync:"]"#,
        window: true,
        description: "Subject prefixes that are never synced.",
    },
    KeySpec {
        key: "sync.tombstoneMaxRetentionDays",
        kind: KeyKind::Integer { min: 1, max: 3_650 },
        default: "180",
        window: true,
        description: "Days after which a deletion is forgotten whatever the peers acknowledged.",
    },
    KeySpec {
        key: "discovery.bonjourEnabled",
        kind: KeyKind::Bool,
        default: "false",
        window: true,
        description: "Whether devices on the local network are found with mDNS/DNS-SD.",
    },
    KeySpec {
        key: "discovery.bonjourServiceType",
        kind: KeyKind::String,
        default: r#""_mayros-cortex._tcp""#,
        window: true,
        description: "DNS-SD service type announced and browsed, _name._tcp or _name._udp.",
    },
    KeySpec {
        key: "discovery.manualPeers",
        kind: KeyKind::ObjectList {
            fields: MANUAL_PEER_FIELDS,
        },
        default: "[]",
        window: false,
        description: "Peers given by hand: \"host:port\" or {nodeId?, endpoint, namespaces?}.",
    },
    KeySpec {
        key: "discovery.interfaces",
        kind: KeyKind::List,
        default: "null",
        window: true,
        description: "Network interfaces mDNS uses; null means every non-loopback one.",
    },
    KeySpec {
        key: "namespace",
        kind: KeyKind::String,
        default: r#""mayros""#,
        window: true,
        description: "Default namespace for new peers.",
    },
    KeySpec {
        key: "cortex.url",
        kind: KeyKind::String,
        default: "null",
        window: true,
        description: "http(s) URL of an external Cortex; null means the embedded one.",
    },
    KeySpec {
        key: "cortex.authToken",
        kind: KeyKind::String,
        default: "null",
        window: false,
        description: "Bearer token sent to the external Cortex; null sends none.",
    },
    KeySpec {
        key: "ui.notifications",
        kind: KeyKind::Bool,
        default: "true",
        window: true,
        description: "Whether desktop notifications are shown.",
    },
];

/// Every configuration key, in DESIGN §9 order.
pub static KEY_SPECS: &[KeySpec] = &TABLE;

/// Every dotted key of the configuration file, in DESIGN §9 order (the keys of [`KEY_SPECS`]).
pub const KEYS: &[&str] = &{
    let mut out = [""; TABLE.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = TABLE[i].key;
        i += 1;
    }
    out
};

/// Allowed range of `sync.intervalSeconds`.
pub const INTERVAL_SECONDS_RANGE: RangeInclusive<u64> = integer_range("sync.intervalSeconds");
/// Allowed range of `sync.maxTriplesPerSync`.
pub const MAX_TRIPLES_PER_SYNC_RANGE: RangeInclusive<u64> = integer_range("sync.maxTriplesPerSync");
/// Allowed range of `sync.syncTimeoutMs`.
pub const SYNC_TIMEOUT_MS_RANGE: RangeInclusive<u64> = integer_range("sync.syncTimeoutMs");
/// Allowed range of `sync.tombstoneMaxRetentionDays`.
pub const TOMBSTONE_MAX_RETENTION_DAYS_RANGE: RangeInclusive<u64> =
    integer_range("sync.tombstoneMaxRetentionDays");

impl KeyKind {
    /// The kind's name in `ui/src/config_keys.ts`: `bool`, `integer`, `string`, `enum`, `list`
    /// or `objectList`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Bool => "bool",
            Self::Integer { .. } => "integer",
            Self::String => "string",
            Self::Enum { .. } => "enum",
            Self::List => "list",
            Self::ObjectList { .. } => "objectList",
        }
    }
}

impl KeySpec {
    /// The default as a JSON value.
    pub fn default_value(&self) -> Value {
        // The defaults are JSON literals of this file, each parsed by a test.
        serde_json::from_str(self.default).expect("a key table default is valid JSON")
    }

    /// Whether `null` is accepted, meaning unset: true of the keys whose default is `null`.
    pub fn accepts_null(&self) -> bool {
        self.default == "null"
    }

    /// The inclusive range of an integer key.
    pub fn range(&self) -> Option<RangeInclusive<u64>> {
        match self.kind {
            KeyKind::Integer { min, max } => Some(min..=max),
            _ => None,
        }
    }

    /// Whether a value typed on the command line stays a string (string and enum keys).
    pub fn takes_text(&self) -> bool {
        matches!(self.kind, KeyKind::String | KeyKind::Enum { .. })
    }
}

/// The table entry of a dotted key.
pub fn key_spec(key: &str) -> Option<&'static KeySpec> {
    KEY_SPECS.iter().find(|spec| spec.key == key)
}

/// The direct children of a section (`""` for the top level), in table order.
pub(super) fn children_of(parent: &str) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for key in KEYS {
        let rest = if parent.is_empty() {
            Some(*key)
        } else {
            key.strip_prefix(parent).and_then(|r| r.strip_prefix('.'))
        };
        if let Some(child) = rest.and_then(|r| r.split('.').next()) {
            if !out.contains(&child) {
                out.push(child);
            }
        }
    }
    out
}

/// Whether `key` is a section holding keys of the table (`sync`, `cortex`, …).
pub(super) fn is_section(key: &str) -> bool {
    !key.is_empty() && !children_of(key).is_empty()
}

/// `parent.name`, or `name` at the top level.
pub(super) fn join_key(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

/// The range of the integer key `key`; used in constants, so a wrong key fails the build.
const fn integer_range(key: &str) -> RangeInclusive<u64> {
    let mut i = 0;
    while i < TABLE.len() {
        if same_text(TABLE[i].key, key) {
            if let KeyKind::Integer { min, max } = TABLE[i].kind {
                return min..=max;
            }
        }
        i += 1;
    }
    panic!("not an integer key of the config key table");
}

/// `a == b`, usable in constants.
const fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::{from_value, get_key, Config};
    use crate::Error;

    /// A one-key document: `{"sync": {"intervalSeconds": value}}` for `sync.intervalSeconds`.
    fn doc_with(key: &str, value: Value) -> Value {
        key.rsplit('.')
            .fold(value, |inner, part| json!({ part: inner }))
    }

    /// The key an error names, or a panic saying what came instead.
    fn error_key(doc: &Value) -> String {
        match from_value(doc) {
            Err(Error::Config { key, .. }) => key,
            other => panic!("expected a config error for {doc}, got {other:?}"),
        }
    }

    #[test]
    fn every_table_default_is_the_default_configs_value() {
        let defaults = Config::default().to_value();
        for spec in KEY_SPECS {
            assert_eq!(
                get_key(&defaults, spec.key),
                Some(spec.default_value()),
                "{}",
                spec.key
            );
            // And the default, written out, reads back as the default.
            let p = from_value(&doc_with(spec.key, spec.default_value())).unwrap();
            assert_eq!(p.config, Config::default(), "{}", spec.key);
            assert!(p.warnings.is_empty(), "{}", spec.key);
        }
    }

    #[test]
    fn range_bounds_are_kept_and_one_past_them_is_clamped_naming_the_key() {
        let integers: Vec<_> = KEY_SPECS.iter().filter(|s| s.range().is_some()).collect();
        assert_eq!(integers.len(), 4);
        for spec in integers {
            let range = spec.range().unwrap();
            let (min, max) = (*range.start(), *range.end());
            for edge in [min, max] {
                let p = from_value(&doc_with(spec.key, json!(edge))).unwrap();
                assert!(p.warnings.is_empty(), "{} = {edge}", spec.key);
                assert_eq!(get_key(&p.config.to_value(), spec.key), Some(json!(edge)));
            }
            // DESIGN §9: out-of-range numbers are clamped with a warning naming key and range.
            for (past, edge) in [(min - 1, min), (max + 1, max)] {
                let p = from_value(&doc_with(spec.key, json!(past))).unwrap();
                assert_eq!(get_key(&p.config.to_value(), spec.key), Some(json!(edge)));
                let [w] = p.warnings.as_slice() else {
                    panic!("{} = {past}: {:?}", spec.key, p.warnings)
                };
                assert_eq!(
                    (w.key.as_str(), w.min, w.max, w.clamped_to),
                    (spec.key, min, max, edge)
                );
                assert!(w.message().starts_with(&format!("{} = {past} ", spec.key)));
            }
            // What is not a whole number is rejected, and the error names the key.
            for bad in [json!(max as f64 + 0.5), json!(min.to_string())] {
                assert_eq!(error_key(&doc_with(spec.key, bad)), spec.key);
            }
        }
    }

    #[test]
    fn a_value_of_the_wrong_kind_is_an_error_naming_the_key() {
        for spec in KEY_SPECS {
            let wrong = match spec.kind {
                KeyKind::Bool => json!(1),
                KeyKind::Integer { .. } => json!(true),
                KeyKind::String | KeyKind::Enum { .. } => json!(["x"]),
                KeyKind::List | KeyKind::ObjectList { .. } => json!({}),
            };
            assert_eq!(error_key(&doc_with(spec.key, wrong)), spec.key);
            if !spec.accepts_null() {
                assert_eq!(error_key(&doc_with(spec.key, Value::Null)), spec.key);
            }
        }
    }

    #[test]
    fn enum_values_are_rejected_outside_the_table() {
        for spec in KEY_SPECS {
            let KeyKind::Enum { values } = spec.kind else {
                continue;
            };
            for value in values {
                from_value(&doc_with(spec.key, json!(value))).unwrap();
            }
            assert_eq!(error_key(&doc_with(spec.key, json!("nope"))), spec.key);
        }
        assert_eq!(
            CONFLICT_STRATEGIES.to_vec(),
            ConflictStrategy::ALL.map(ConflictStrategy::as_str).to_vec()
        );
    }

    #[test]
    fn the_named_constants_are_the_tables() {
        let keys: Vec<&str> = KEY_SPECS.iter().map(|s| s.key).collect();
        assert_eq!(KEYS, keys.as_slice());
        let range = |key| key_spec(key).and_then(KeySpec::range);
        assert_eq!(range("sync.intervalSeconds"), Some(INTERVAL_SECONDS_RANGE));
        assert_eq!(
            range("sync.maxTriplesPerSync"),
            Some(MAX_TRIPLES_PER_SYNC_RANGE)
        );
        assert_eq!(range("sync.syncTimeoutMs"), Some(SYNC_TIMEOUT_MS_RANGE));
        assert_eq!(
            range("sync.tombstoneMaxRetentionDays"),
            Some(TOMBSTONE_MAX_RETENTION_DAYS_RANGE)
        );
        assert_eq!(key_spec("sync"), None);
    }

    #[test]
    fn descriptions_are_one_line() {
        for spec in KEY_SPECS {
            let d = spec.description;
            assert!(
                !d.is_empty() && !d.contains('\n') && d.ends_with('.'),
                "{d:?}"
            );
        }
    }
}
