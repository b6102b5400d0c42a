//! Configuration: parsing and validation of every key of DESIGN §9.
//!
//! The file is a nested JSON document, every key optional:
//! `{"sync":{"intervalSeconds":60},"cortex":{"url":"http://127.0.0.1:8080"},"namespace":"mayros"}`.
//! [`parse`] (text) and [`from_value`] (an already decoded document) turn it into a validated
//! [`Config`] plus the [`ConfigWarning`]s of numbers that were clamped into their range.
//!
//! Every key's name, kind, range, default and description is stated once, in [`KEY_SPECS`]
//! (`keys.rs`); [`KEYS`], the `*_RANGE` constants, the reader, the CLI value parsing and the
//! effective document ([`Config::to_value`]) come from it, and the typed [`Default`] impls below
//! are tested against it. The UI's `ui/src/config_keys.ts` is rendered from it too.
//!
//! The document is walked by hand (`read.rs`) rather than through a derived `Deserialize`, so
//! that every error names the exact dotted key (`sync.intervalSeconds`,
//! `discovery.manualPeers[1].endpoint`): unknown keys, wrong types and bad enum values are
//! errors; out-of-range numbers are clamped with a warning. String formats are checked in
//! `checks.rs`.
//!
//! [`get_key`], [`set_key`], [`unset_key`] and [`parse_cli_value`] (`edit.rs`) back
//! `mayros config get|set`: set a key in the raw (sparse) document, then re-validate the result
//! with [`from_value`].

mod checks;
mod edit;
mod keys;
#[cfg(test)]
mod keys_ts;
mod read;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

use crate::Error;

pub use edit::{get_key, parse_cli_value, set_key, unset_key};
pub use keys::{
    key_spec, KeyKind, KeySpec, INTERVAL_SECONDS_RANGE, KEYS, KEY_SPECS,
    MAX_TRIPLES_PER_SYNC_RANGE, SYNC_TIMEOUT_MS_RANGE, TOMBSTONE_MAX_RETENTION_DAYS_RANGE,
};

/// The whole validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The `sync.*` keys.
    pub sync: SyncConfig,
    /// The `discovery.*` keys.
    pub discovery: DiscoveryConfig,
    /// Default namespace for new peers (`namespace`).
    pub namespace: String,
    /// The `cortex.*` keys: which Cortex backend to use.
    pub cortex: CortexConfig,
    /// The `ui.*` keys.
    pub ui: UiConfig,
}

/// The `sync.*` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncConfig {
    /// Seconds between scheduled polled syncs (`sync.intervalSeconds`).
    pub interval_seconds: u64,
    /// Whether the `agent_end` / `config_change` hooks trigger a sync (`sync.autoSync`).
    pub auto_sync: bool,
    /// How conflicts are resolved (`sync.conflictStrategy`).
    pub conflict_strategy: ConflictStrategy,
    /// Largest batch of triples sent or requested at once (`sync.maxTriplesPerSync`).
    pub max_triples_per_sync: u64,
    /// Time budget of one sync with one peer, in milliseconds (`sync.syncTimeoutMs`).
    pub sync_timeout_ms: u64,
    /// Whether native P2P gossip is used when available (`sync.nativeP2pPreferred`).
    pub native_p2p_preferred: bool,
    /// Predicates whose several values are a set, never a conflict (`sync.multiValuedPredicates`).
    pub multi_valued_predicates: Vec<String>,
    /// Subject prefixes that are never synced (`sync.excludeSubjectPrefixes`).
    pub exclude_subject_prefixes: Vec<String>,
    /// Days after which a tombstone is collected whatever the acks (`sync.tombstoneMaxRetentionDays`).
    pub tombstone_max_retention_days: u64,
}

/// The `discovery.*` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryConfig {
    /// Whether mDNS/DNS-SD discovery runs (`discovery.bonjourEnabled`).
    pub bonjour_enabled: bool,
    /// DNS-SD service type, e.g. `_mayros-cortex._tcp` (`discovery.bonjourServiceType`).
    pub bonjour_service_type: String,
    /// Peers given by hand (`discovery.manualPeers`).
    pub manual_peers: Vec<ManualPeer>,
    /// Interfaces mDNS uses; `None` means all non-loopback ones (`discovery.interfaces`).
    pub interfaces: Option<Vec<String>>,
}

/// The `cortex.*` section; `url: None` means the embedded Cortex.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CortexConfig {
    /// URL of an external AIngle-compatible Cortex (`cortex.url`), `None` for the embedded one.
    pub url: Option<String>,
    /// Bearer token sent to the external Cortex (`cortex.authToken`).
    pub auth_token: Option<String>,
}

/// The `ui.*` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiConfig {
    /// Whether desktop notifications are shown (`ui.notifications`).
    pub notifications: bool,
}

/// Conflict resolution strategy (`sync.conflictStrategy`, DESIGN §2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictStrategy {
    /// The highest (hlc, author) stays; losers are tombstoned.
    #[default]
    LastWriterWins,
    /// Both values stay; the conflict is recorded.
    KeepBoth,
    /// The local value stays.
    LocalPriority,
    /// The incoming value stays.
    RemotePriority,
}

/// One entry of `discovery.manualPeers`: `"host:port"` or `{nodeId?, endpoint, namespaces?}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManualPeer {
    /// A bare `host:port` address of the peer HTTPS API.
    Address(String),
    /// An object form with optional node id and namespace list.
    Detailed {
        /// Expected node id (64 lowercase hex), when known.
        node_id: Option<String>,
        /// `host:port` address of the peer HTTPS API.
        endpoint: String,
        /// Namespaces to sync with this peer; `None` means the default.
        namespaces: Option<Vec<String>>,
    },
}

/// A validated configuration together with the warnings raised while reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The validated configuration.
    pub config: Config,
    /// Out-of-range numbers that were clamped, in the order they were met.
    pub warnings: Vec<ConfigWarning>,
}

/// An out-of-range number that was clamped into its range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigWarning {
    /// Dotted key, e.g. `sync.intervalSeconds`.
    pub key: String,
    /// The number as given in the document.
    pub value: Number,
    /// Lower end of the allowed range.
    pub min: u64,
    /// Upper end of the allowed range.
    pub max: u64,
    /// The value used instead.
    pub clamped_to: u64,
}

impl Config {
    /// Renders the full configuration as a nested camelCase JSON document, one member per key
    /// of [`KEY_SPECS`], in table order.
    ///
    /// [`from_value`] of the result gives back an equal `Config` with no warnings.
    pub fn to_value(&self) -> Value {
        let mut doc = Value::Object(Map::new());
        for spec in KEY_SPECS {
            if let Some(value) = self.value_at(spec.key) {
                // Every table key is settable, and `doc` holds only the sections made here.
                set_key(&mut doc, spec.key, value).expect("a key of the table can be set");
            }
        }
        doc
    }

    /// The value of one key of [`KEY_SPECS`] as the config file writes it.
    fn value_at(&self, key: &str) -> Option<Value> {
        let (s, d) = (&self.sync, &self.discovery);
        Some(match key {
            "sync.intervalSeconds" => s.interval_seconds.into(),
            "sync.autoSync" => s.auto_sync.into(),
            "sync.conflictStrategy" => s.conflict_strategy.as_str().into(),
            "sync.maxTriplesPerSync" => s.max_triples_per_sync.into(),
            "sync.syncTimeoutMs" => s.sync_timeout_ms.into(),
            "sync.nativeP2pPreferred" => s.native_p2p_preferred.into(),
            "sync.multiValuedPredicates" => string_array(&s.multi_valued_predicates),
            "sync.excludeSubjectPrefixes" => string_array(&s.exclude_subject_prefixes),
            "sync.tombstoneMaxRetentionDays" => s.tombstone_max_retention_days.into(),
            "discovery.bonjourEnabled" => d.bonjour_enabled.into(),
            "discovery.bonjourServiceType" => d.bonjour_service_type.as_str().into(),
            "discovery.manualPeers" => {
                Value::Array(d.manual_peers.iter().map(ManualPeer::to_value).collect())
            }
            "discovery.interfaces" => d.interfaces.as_deref().map_or(Value::Null, string_array),
            "namespace" => self.namespace.as_str().into(),
            "cortex.url" => self.cortex.url.clone().into(),
            "cortex.authToken" => self.cortex.auth_token.clone().into(),
            "ui.notifications" => self.ui.notifications.into(),
            _ => return None,
        })
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            sync: SyncConfig::default(),
            discovery: DiscoveryConfig::default(),
            namespace: "mayros".to_owned(),
            cortex: CortexConfig::default(),
            ui: UiConfig::default(),
        }
    }
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            interval_seconds: 300,
            auto_sync: false,
            conflict_strategy: ConflictStrategy::LastWriterWins,
            max_triples_per_sync: 5_000,
            sync_timeout_ms: 30_000,
            native_p2p_preferred: true,
            multi_valued_predicates: Vec::new(),
            exclude_subject_prefixes: vec!["mayros:sync:".to_owned()],
            tombstone_max_retention_days: 180,
        }
    }
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        Self {
            bonjour_enabled: false,
            bonjour_service_type: "_mayros-cortex._tcp".to_owned(),
            manual_peers: Vec::new(),
            interfaces: None,
        }
    }
}

impl Default for UiConfig {
    fn default() -> Self {
        Self {
            notifications: true,
        }
    }
}

impl SyncConfig {
    /// `sync.intervalSeconds` as a duration.
    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.interval_seconds)
    }

    /// `sync.syncTimeoutMs` as a duration.
    pub fn sync_timeout(&self) -> Duration {
        Duration::from_millis(self.sync_timeout_ms)
    }

    /// `sync.tombstoneMaxRetentionDays` as a duration.
    pub fn tombstone_max_retention(&self) -> Duration {
        Duration::from_secs(self.tombstone_max_retention_days * 86_400)
    }

    /// Whether `predicate` is listed in `sync.multiValuedPredicates`.
    pub fn is_multi_valued(&self, predicate: &str) -> bool {
        self.multi_valued_predicates.iter().any(|p| p == predicate)
    }

    /// Whether `subject` starts with one of `sync.excludeSubjectPrefixes` (never synced).
    pub fn is_excluded_subject(&self, subject: &str) -> bool {
        self.exclude_subject_prefixes
            .iter()
            .any(|p| subject.starts_with(p.as_str()))
    }
}

impl CortexConfig {
    /// Whether an external Cortex is configured (otherwise the embedded one is used).
    pub fn is_external(&self) -> bool {
        self.url.is_some()
    }
}

impl fmt::Debug for CortexConfig {
    /// Never prints the auth token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CortexConfig")
            .field("url", &self.url)
            .field(
                "auth_token",
                &self.auth_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl ConflictStrategy {
    /// Every strategy, in DESIGN §9 order.
    pub const ALL: [ConflictStrategy; 4] = [
        Self::LastWriterWins,
        Self::KeepBoth,
        Self::LocalPriority,
        Self::RemotePriority,
    ];

    /// The config / JSON spelling, e.g. `"last-writer-wins"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::LastWriterWins => "last-writer-wins",
            Self::KeepBoth => "keep-both",
            Self::LocalPriority => "local-priority",
            Self::RemotePriority => "remote-priority",
        }
    }

    /// Parses the config spelling; `None` for anything else.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for ConflictStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ManualPeer {
    /// The `host:port` address of the peer HTTPS API.
    pub fn endpoint(&self) -> &str {
        match self {
            Self::Address(endpoint) | Self::Detailed { endpoint, .. } => endpoint,
        }
    }

    /// The expected node id, when given.
    pub fn node_id(&self) -> Option<&str> {
        match self {
            Self::Address(_) => None,
            Self::Detailed { node_id, .. } => node_id.as_deref(),
        }
    }

    /// The namespace list, when given.
    pub fn namespaces(&self) -> Option<&[String]> {
        match self {
            Self::Address(_) => None,
            Self::Detailed { namespaces, .. } => namespaces.as_deref(),
        }
    }

    /// Renders the entry as in the config file (a string, or an object without absent fields).
    pub fn to_value(&self) -> Value {
        match self {
            Self::Address(endpoint) => Value::String(endpoint.clone()),
            Self::Detailed {
                node_id,
                endpoint,
                namespaces,
            } => {
                let mut m = Map::new();
                if let Some(id) = node_id {
                    m.insert("nodeId".into(), id.as_str().into());
                }
                m.insert("endpoint".into(), endpoint.as_str().into());
                if let Some(ns) = namespaces {
                    m.insert("namespaces".into(), string_array(ns));
                }
                Value::Object(m)
            }
        }
    }
}

impl ConfigWarning {
    /// The human-readable message (same as `Display`).
    pub fn message(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} = {} is out of range {}–{}; using {}",
            self.key, self.value, self.min, self.max, self.clamped_to
        )
    }
}

impl Serialize for Config {
    /// Serialises exactly as [`Config::to_value`].
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl Serialize for ManualPeer {
    /// Serialises exactly as [`ManualPeer::to_value`].
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

/// Parses and validates a configuration file's text.
///
/// Text that is empty or only whitespace is read as `{}` (all defaults).
pub fn parse(text: &str) -> Result<Parsed, Error> {
    if text.trim().is_empty() {
        return from_value(&Value::Object(Map::new()));
    }
    let doc: Value = serde_json::from_str(text).map_err(|e| Error::ConfigSyntax(e.to_string()))?;
    from_value(&doc)
}

/// Validates an already decoded configuration document; absent keys take their defaults.
pub fn from_value(doc: &Value) -> Result<Parsed, Error> {
    read::read_document(doc)
}

/// Whether `key` is one of [`KEYS`].
pub fn is_known_key(key: &str) -> bool {
    KEYS.contains(&key)
}

/// The JSON array of `items`.
fn string_array(items: &[String]) -> Value {
    Value::Array(items.iter().map(|s| Value::String(s.clone())).collect())
}
