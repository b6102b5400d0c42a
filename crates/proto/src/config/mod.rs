//! Configuration: parsing and validation of every key of DESIGN §9.
//!
//! The file is a nested JSON document, every key optional:
//! `{"sync":{"intervalSeconds":60},"cortex":{"url":"http://127.0.0.1:8080"},"namespace":"mayros"}`.
//! [`parse`] (text) and [`from_value`] (an already decoded document) turn it into a validated
//! [`Config`] plus the [`ConfigWarning`]s of numbers that were clamped into their range. Defaults
//! live in one place, the [`Default`] impls below; the numeric ranges are the `*_RANGE` constants.
//!
//! The document is walked by hand rather than through a derived `Deserialize`, so that every error
//! names the exact dotted key (`sync.intervalSeconds`, `discovery.manualPeers[1].endpoint`):
//! unknown keys, wrong types and bad enum values are errors; out-of-range numbers are clamped with a
//! warning.
//!
//! [`get_key`], [`set_key`], [`unset_key`] and [`parse_cli_value`] back `mayros config get|set`: set a
//! key in the raw (sparse) document, then re-validate the result with [`from_value`].

use std::fmt;
use std::ops::RangeInclusive;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

use crate::Error;

/// Allowed range of `sync.intervalSeconds`.
pub const INTERVAL_SECONDS_RANGE: RangeInclusive<u64> = 10..=86_400;
/// Allowed range of `sync.maxTriplesPerSync`.
pub const MAX_TRIPLES_PER_SYNC_RANGE: RangeInclusive<u64> = 100..=50_000;
/// Allowed range of `sync.syncTimeoutMs`.
pub const SYNC_TIMEOUT_MS_RANGE: RangeInclusive<u64> = 5_000..=120_000;
/// Allowed range of `sync.tombstoneMaxRetentionDays`.
pub const TOMBSTONE_MAX_RETENTION_DAYS_RANGE: RangeInclusive<u64> = 1..=3_650;

/// Every dotted key of the configuration file, in DESIGN §9 order.
pub const KEYS: &[&str] = &[
    "sync.intervalSeconds",
    "sync.autoSync",
    "sync.conflictStrategy",
    "sync.maxTriplesPerSync",
    "sync.syncTimeoutMs",
    "sync.nativeP2pPreferred",
    "sync.multiValuedPredicates",
    "sync.excludeSubjectPrefixes",
    "sync.tombstoneMaxRetentionDays",
    "discovery.bonjourEnabled",
    "discovery.bonjourServiceType",
    "discovery.manualPeers",
    "discovery.interfaces",
    "namespace",
    "cortex.url",
    "cortex.authToken",
    "ui.notifications",
];

/// Keys of a `discovery.manualPeers` entry written as an object.
const MANUAL_PEER_KEYS: &[&str] = &["nodeId", "endpoint", "namespaces"];

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
    /// Renders the full configuration as a nested camelCase JSON document.
    ///
    /// [`from_value`] of the result gives back an equal `Config` with no warnings.
    pub fn to_value(&self) -> Value {
        let s = &self.sync;
        let mut sync = Map::new();
        sync.insert("intervalSeconds".into(), s.interval_seconds.into());
        sync.insert("autoSync".into(), s.auto_sync.into());
        sync.insert(
            "conflictStrategy".into(),
            s.conflict_strategy.as_str().into(),
        );
        sync.insert("maxTriplesPerSync".into(), s.max_triples_per_sync.into());
        sync.insert("syncTimeoutMs".into(), s.sync_timeout_ms.into());
        sync.insert("nativeP2pPreferred".into(), s.native_p2p_preferred.into());
        sync.insert(
            "multiValuedPredicates".into(),
            string_array(&s.multi_valued_predicates),
        );
        sync.insert(
            "excludeSubjectPrefixes".into(),
            string_array(&s.exclude_subject_prefixes),
        );
        sync.insert(
            "tombstoneMaxRetentionDays".into(),
            s.tombstone_max_retention_days.into(),
        );

        let d = &self.discovery;
        let mut discovery = Map::new();
        discovery.insert("bonjourEnabled".into(), d.bonjour_enabled.into());
        discovery.insert(
            "bonjourServiceType".into(),
            d.bonjour_service_type.as_str().into(),
        );
        discovery.insert(
            "manualPeers".into(),
            Value::Array(d.manual_peers.iter().map(ManualPeer::to_value).collect()),
        );
        discovery.insert(
            "interfaces".into(),
            d.interfaces.as_deref().map_or(Value::Null, string_array),
        );

        let mut cortex = Map::new();
        cortex.insert("url".into(), self.cortex.url.clone().into());
        cortex.insert("authToken".into(), self.cortex.auth_token.clone().into());

        let mut ui = Map::new();
        ui.insert("notifications".into(), self.ui.notifications.into());

        let mut root = Map::new();
        root.insert("sync".into(), Value::Object(sync));
        root.insert("discovery".into(), Value::Object(discovery));
        root.insert("namespace".into(), self.namespace.as_str().into());
        root.insert("cortex".into(), Value::Object(cortex));
        root.insert("ui".into(), Value::Object(ui));
        Value::Object(root)
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
    pub fn as_str(self) -> &'static str {
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
    let root = doc.as_object().ok_or_else(|| Error::Config {
        key: "(top level)".to_owned(),
        reason: format!("expected a JSON object, found {}", kind(doc)),
    })?;
    let mut reader = Reader::default();
    let mut config = Config::default();
    for (name, value) in root {
        match name.as_str() {
            "sync" => reader.sync(&mut config.sync, value)?,
            "discovery" => reader.discovery(&mut config.discovery, value)?,
            "namespace" => config.namespace = namespace("namespace", value)?,
            "cortex" => reader.cortex(&mut config.cortex, value)?,
            "ui" => reader.ui(&mut config.ui, value)?,
            "version" => {
                crate::config_migrate::version_of(doc)?;
            }
            _ => return Err(unknown_key(name)),
        }
    }
    Ok(Parsed {
        config,
        warnings: reader.warnings,
    })
}

/// Whether `key` is one of [`KEYS`].
pub fn is_known_key(key: &str) -> bool {
    KEYS.contains(&key)
}

/// Reads a dotted key (or a section such as `sync`) from a configuration document.
///
/// Meant for a full document ([`Config::to_value`]); `None` when the path is absent.
pub fn get_key(doc: &Value, key: &str) -> Option<Value> {
    key.split('.')
        .try_fold(doc, |node, part| node.as_object()?.get(part))
        .cloned()
}

/// Sets a dotted key inside a raw, possibly sparse document, creating the intermediate sections.
///
/// Only [`KEYS`] can be set; the value itself is not checked here: re-validate the document with
/// [`from_value`] before using or writing it. A `null` document is treated as `{}`.
pub fn set_key(doc: &mut Value, key: &str, value: Value) -> Result<(), Error> {
    let (sections, leaf) = split_known_key(key)?;
    let mut node = root_object(doc)?;
    let mut path = String::new();
    for section in sections {
        path = join_key(&path, section);
        let child = node
            .entry(section.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        let found = kind(child);
        node = child.as_object_mut().ok_or_else(|| Error::Config {
            key: path.clone(),
            reason: format!("expected an object, found {found}"),
        })?;
    }
    node.insert(leaf.to_owned(), value);
    Ok(())
}

/// Removes a dotted key from a raw document so that it takes its default again.
///
/// Returns whether the key was present; sections left empty are removed too.
pub fn unset_key(doc: &mut Value, key: &str) -> Result<bool, Error> {
    let (sections, leaf) = split_known_key(key)?;
    let root = root_object(doc)?;
    let Some(section) = sections.first() else {
        return Ok(root.remove(leaf).is_some());
    };
    let Some(Value::Object(map)) = root.get_mut(*section) else {
        return Ok(false);
    };
    let removed = map.remove(leaf).is_some();
    if map.is_empty() {
        root.remove(*section);
    }
    Ok(removed)
}

/// Interprets a value typed on the command line for `key`.
///
/// Text that parses as JSON is taken as JSON (numbers, booleans, arrays, objects, `null`, quoted
/// strings); anything else is a plain string. For keys whose value is a string
/// (`namespace`, `cortex.url`, …) a bare number or boolean stays a string, so
/// `mayros config set cortex.authToken 12345` stores `"12345"`.
pub fn parse_cli_value(key: &str, text: &str) -> Value {
    let string_key = matches!(
        key,
        "namespace"
            | "sync.conflictStrategy"
            | "discovery.bonjourServiceType"
            | "cortex.url"
            | "cortex.authToken"
    );
    match serde_json::from_str::<Value>(text) {
        Ok(v @ (Value::String(_) | Value::Null)) => v,
        Ok(v) if !string_key => v,
        _ => Value::String(text.to_owned()),
    }
}

/// Collects warnings while walking a document.
#[derive(Default)]
struct Reader {
    warnings: Vec<ConfigWarning>,
}

impl Reader {
    fn sync(&mut self, out: &mut SyncConfig, value: &Value) -> Result<(), Error> {
        for (name, v) in object("sync", value)? {
            let key = format!("sync.{name}");
            match name.as_str() {
                "intervalSeconds" => {
                    out.interval_seconds = self.integer(&key, v, &INTERVAL_SECONDS_RANGE)?;
                }
                "autoSync" => out.auto_sync = boolean(&key, v)?,
                "conflictStrategy" => out.conflict_strategy = conflict_strategy(&key, v)?,
                "maxTriplesPerSync" => {
                    out.max_triples_per_sync =
                        self.integer(&key, v, &MAX_TRIPLES_PER_SYNC_RANGE)?;
                }
                "syncTimeoutMs" => {
                    out.sync_timeout_ms = self.integer(&key, v, &SYNC_TIMEOUT_MS_RANGE)?;
                }
                "nativeP2pPreferred" => out.native_p2p_preferred = boolean(&key, v)?,
                "multiValuedPredicates" => {
                    out.multi_valued_predicates = string_list(&key, v, |k, s| {
                        non_empty(k, s, "an empty predicate matches nothing")
                    })?;
                }
                "excludeSubjectPrefixes" => {
                    out.exclude_subject_prefixes = string_list(&key, v, |k, s| {
                        non_empty(k, s, "an empty prefix would exclude every subject")
                    })?;
                }
                "tombstoneMaxRetentionDays" => {
                    out.tombstone_max_retention_days =
                        self.integer(&key, v, &TOMBSTONE_MAX_RETENTION_DAYS_RANGE)?;
                }
                _ => return Err(unknown_key(&key)),
            }
        }
        Ok(())
    }

    fn discovery(&mut self, out: &mut DiscoveryConfig, value: &Value) -> Result<(), Error> {
        for (name, v) in object("discovery", value)? {
            let key = format!("discovery.{name}");
            match name.as_str() {
                "bonjourEnabled" => out.bonjour_enabled = boolean(&key, v)?,
                "bonjourServiceType" => {
                    let s = string(&key, v)?;
                    check_service_type(&key, s)?;
                    out.bonjour_service_type = s.to_owned();
                }
                "manualPeers" => out.manual_peers = manual_peers(&key, v)?,
                "interfaces" => {
                    out.interfaces = match v {
                        Value::Null => None,
                        _ => Some(string_list(&key, v, |k, s| {
                            non_empty(k, s, "an interface name cannot be empty")
                        })?),
                    };
                }
                _ => return Err(unknown_key(&key)),
            }
        }
        Ok(())
    }

    fn cortex(&mut self, out: &mut CortexConfig, value: &Value) -> Result<(), Error> {
        for (name, v) in object("cortex", value)? {
            let key = format!("cortex.{name}");
            match name.as_str() {
                "url" => {
                    out.url = optional_string(&key, v)?
                        .map(|s| check_http_url(&key, s).map(|()| s.to_owned()))
                        .transpose()?;
                }
                "authToken" => {
                    out.auth_token = optional_string(&key, v)?
                        .map(|s| {
                            non_empty(&key, s, "an empty token; use null to send none")
                                .map(|()| s.to_owned())
                        })
                        .transpose()?;
                }
                _ => return Err(unknown_key(&key)),
            }
        }
        Ok(())
    }

    fn ui(&mut self, out: &mut UiConfig, value: &Value) -> Result<(), Error> {
        for (name, v) in object("ui", value)? {
            let key = format!("ui.{name}");
            match name.as_str() {
                "notifications" => out.notifications = boolean(&key, v)?,
                _ => return Err(unknown_key(&key)),
            }
        }
        Ok(())
    }

    /// Reads a JSON integer, clamping it into `range` with a warning when outside.
    fn integer(
        &mut self,
        key: &str,
        value: &Value,
        range: &RangeInclusive<u64>,
    ) -> Result<u64, Error> {
        let Value::Number(n) = value else {
            return Err(type_error(key, "an integer", value));
        };
        let (min, max) = (*range.start(), *range.end());
        let clamped = if let Some(u) = n.as_u64() {
            u.clamp(min, max)
        } else if let Some(i) = n.as_i64() {
            // Only negative numbers reach here (non-negative ones are u64).
            debug_assert!(i < 0);
            min
        } else {
            // serde_json stores integer literals beyond u64/i64 as floats: accept those (they
            // are integers, just huge) and reject numbers with a fractional part.
            match n.as_f64() {
                Some(f) if f.is_finite() && f.fract() == 0.0 && f.abs() >= 9.2e18 => {
                    if f > 0.0 {
                        max
                    } else {
                        min
                    }
                }
                _ => {
                    return Err(Error::Config {
                        key: key.to_owned(),
                        reason: format!("expected an integer, found a float ({n})"),
                    })
                }
            }
        };
        if n.as_u64() != Some(clamped) {
            self.warnings.push(ConfigWarning {
                key: key.to_owned(),
                value: n.clone(),
                min,
                max,
                clamped_to: clamped,
            });
        }
        Ok(clamped)
    }
}

fn object<'a>(key: &str, value: &'a Value) -> Result<&'a Map<String, Value>, Error> {
    value
        .as_object()
        .ok_or_else(|| type_error(key, "an object", value))
}

fn boolean(key: &str, value: &Value) -> Result<bool, Error> {
    value
        .as_bool()
        .ok_or_else(|| type_error(key, "a boolean", value))
}

fn string<'a>(key: &str, value: &'a Value) -> Result<&'a str, Error> {
    value
        .as_str()
        .ok_or_else(|| type_error(key, "a string", value))
}

/// A string, or `null` for unset.
fn optional_string<'a>(key: &str, value: &'a Value) -> Result<Option<&'a str>, Error> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        _ => Err(type_error(key, "a string or null", value)),
    }
}

/// An array of strings, each checked by `check` with its indexed key (`key[2]`).
fn string_list(
    key: &str,
    value: &Value,
    check: impl Fn(&str, &str) -> Result<(), Error>,
) -> Result<Vec<String>, Error> {
    let Value::Array(items) = value else {
        let mut err = type_error(key, "an array of strings", value);
        if let (Error::Config { reason, .. }, Value::String(s)) = (&mut err, value) {
            reason.push_str(&format!(
                " (write a list, e.g. [{}])",
                Value::from(s.as_str())
            ));
        }
        return Err(err);
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let item_key = format!("{key}[{i}]");
            let s = string(&item_key, item)?;
            check(&item_key, s)?;
            Ok(s.to_owned())
        })
        .collect()
}

fn non_empty(key: &str, s: &str, why: &str) -> Result<(), Error> {
    if s.is_empty() {
        return Err(Error::Config {
            key: key.to_owned(),
            reason: why.to_owned(),
        });
    }
    Ok(())
}

fn conflict_strategy(key: &str, value: &Value) -> Result<ConflictStrategy, Error> {
    let name = string(key, value)?;
    ConflictStrategy::from_name(name).ok_or_else(|| {
        let allowed: Vec<&str> = ConflictStrategy::ALL.iter().map(|s| s.as_str()).collect();
        Error::Config {
            key: key.to_owned(),
            reason: format!(
                "unknown value {:?}; expected one of: {}",
                name,
                allowed.join(", ")
            ),
        }
    })
}

/// A namespace: the part of a subject before its first `:` (so it cannot contain one).
fn namespace(key: &str, value: &Value) -> Result<String, Error> {
    let s = string(key, value)?;
    check_namespace(key, s)?;
    Ok(s.to_owned())
}

fn check_namespace(key: &str, s: &str) -> Result<(), Error> {
    let reason = if s.contains(':') {
        "a namespace cannot contain ':' (it is the subject prefix before the first ':')"
    } else if s.chars().any(char::is_control) {
        "a namespace cannot contain control characters"
    } else {
        return Ok(());
    };
    Err(Error::Config {
        key: key.to_owned(),
        reason: reason.to_owned(),
    })
}

fn manual_peers(key: &str, value: &Value) -> Result<Vec<ManualPeer>, Error> {
    let Value::Array(items) = value else {
        return Err(type_error(key, "an array", value));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| manual_peer(&format!("{key}[{i}]"), item))
        .collect()
}

fn manual_peer(key: &str, value: &Value) -> Result<ManualPeer, Error> {
    match value {
        Value::String(s) => {
            check_host_port(key, s)?;
            Ok(ManualPeer::Address(s.clone()))
        }
        Value::Object(map) => {
            let mut node_id = None;
            let mut endpoint = None;
            let mut namespaces = None;
            for (name, v) in map {
                let field_key = format!("{key}.{name}");
                match name.as_str() {
                    "nodeId" => {
                        if let Some(id) = optional_string(&field_key, v)? {
                            check_node_id(&field_key, id)?;
                            node_id = Some(id.to_owned());
                        }
                    }
                    "endpoint" => {
                        let s = string(&field_key, v)?;
                        check_host_port(&field_key, s)?;
                        endpoint = Some(s.to_owned());
                    }
                    "namespaces" => {
                        namespaces = match v {
                            Value::Null => None,
                            _ => Some(string_list(&field_key, v, check_namespace)?),
                        };
                    }
                    _ => {
                        return Err(Error::Config {
                            reason: unknown_reason(name, MANUAL_PEER_KEYS),
                            key: field_key,
                        })
                    }
                }
            }
            let endpoint = endpoint.ok_or_else(|| Error::Config {
                key: format!("{key}.endpoint"),
                reason: "missing; a manual peer needs its \"host:port\" endpoint".to_owned(),
            })?;
            Ok(ManualPeer::Detailed {
                node_id,
                endpoint,
                namespaces,
            })
        }
        _ => Err(type_error(
            key,
            "a \"host:port\" string or an object {nodeId?, endpoint, namespaces?}",
            value,
        )),
    }
}

/// A node id: 64 lowercase hexadecimal digits (DESIGN §4).
fn check_node_id(key: &str, id: &str) -> Result<(), Error> {
    if id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Ok(());
    }
    Err(Error::Config {
        key: key.to_owned(),
        reason: format!("expected 64 lowercase hexadecimal digits, found {id:?}"),
    })
}

/// `host:port` with a port in 1–65535; an IPv6 host must be bracketed (`[::1]:19092`).
fn check_host_port(key: &str, s: &str) -> Result<(), Error> {
    let bad = |why: String| Error::Config {
        key: key.to_owned(),
        reason: format!("expected \"host:port\", found {s:?}: {why}"),
    };
    if s.contains("://") {
        return Err(bad("give the address without a scheme".to_owned()));
    }
    let Some((host, port)) = s.rsplit_once(':') else {
        return Err(bad("missing \":port\"".to_owned()));
    };
    check_port(port).map_err(bad)?;
    check_host(host).map_err(bad)
}

fn check_port(port: &str) -> Result<u16, String> {
    if port.is_empty() {
        return Err("missing port".to_owned());
    }
    match port.parse::<u16>() {
        Ok(0) => Err("port 0 cannot be dialled".to_owned()),
        Ok(p) if port.bytes().all(|b| b.is_ascii_digit()) => Ok(p),
        _ => Err(format!("port {port:?} is not a number in 1–65535")),
    }
}

fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("missing host".to_owned());
    }
    if let Some(inner) = host.strip_prefix('[') {
        let Some(addr) = inner.strip_suffix(']') else {
            return Err("unclosed '[' in IPv6 address".to_owned());
        };
        // An optional zone follows '%', e.g. `[fe80::1%eth0]`.
        let (ip, zone) = addr.split_once('%').unwrap_or((addr, "x"));
        let valid = ip.contains(':')
            && ip
                .chars()
                .all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | '.'))
            && !zone.is_empty()
            && zone
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        return if valid {
            Ok(())
        } else {
            Err(format!("invalid IPv6 address {addr:?}"))
        };
    }
    if host.contains(':') {
        return Err("put an IPv6 address in brackets, e.g. [::1]:19092".to_owned());
    }
    if host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    {
        Ok(())
    } else {
        Err(format!("invalid host name {host:?}"))
    }
}

/// An `http://` or `https://` URL with a host (and optional port and path).
fn check_http_url(key: &str, url: &str) -> Result<(), Error> {
    let bad = |why: String| Error::Config {
        key: key.to_owned(),
        reason: format!("expected an http:// or https:// URL, found {url:?}: {why}"),
    };
    if url.is_empty() {
        return Err(bad("empty; use null for the embedded Cortex".to_owned()));
    }
    let lower = url.to_ascii_lowercase();
    let rest = if lower.starts_with("http://") {
        &url["http://".len()..]
    } else if lower.starts_with("https://") {
        &url["https://".len()..]
    } else {
        return Err(bad("unsupported scheme".to_owned()));
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("contains whitespace".to_owned()));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(bad(
            "credentials in the URL are not supported; use cortex.authToken".to_owned(),
        ));
    }
    // A port is present when the part after the last ':' is outside IPv6 brackets.
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (h, Some(p)),
        _ => (authority, None),
    };
    if let Some(port) = port {
        check_port(port).map_err(bad)?;
    }
    check_host(host).map_err(bad)
}

/// A DNS-SD service type `_name._tcp` / `_name._udp`; name per RFC 6335 (1–15 letters, digits,
/// hyphens, at least one letter, no leading, trailing or double hyphen).
fn check_service_type(key: &str, s: &str) -> Result<(), Error> {
    let bad = |why: &str| Error::Config {
        key: key.to_owned(),
        reason: format!(
            "expected a DNS-SD service type like \"_mayros-cortex._tcp\", found {s:?}: {why}"
        ),
    };
    let Some((name, proto)) = s.rsplit_once('.') else {
        return Err(bad("missing \"._tcp\" or \"._udp\""));
    };
    if proto != "_tcp" && proto != "_udp" {
        return Err(bad("the protocol must be _tcp or _udp"));
    }
    let Some(name) = name.strip_prefix('_') else {
        return Err(bad("the service name must start with '_'"));
    };
    if name.is_empty() || name.len() > 15 {
        return Err(bad("the service name must be 1–15 characters"));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(bad(
            "the service name may only hold letters, digits and hyphens",
        ));
    }
    if !name.bytes().any(|b| b.is_ascii_alphabetic()) {
        return Err(bad("the service name needs at least one letter"));
    }
    if name.starts_with('-') || name.ends_with('-') || name.contains("--") {
        return Err(bad(
            "the service name cannot start or end with a hyphen or hold two in a row",
        ));
    }
    Ok(())
}

fn type_error(key: &str, expected: &str, found: &Value) -> Error {
    Error::Config {
        key: key.to_owned(),
        reason: format!("expected {expected}, found {}", kind(found)),
    }
}

/// "a string", "an integer", … for error messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a float",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The error for a key that is not in [`KEYS`] (nor a section of them).
fn unknown_key(key: &str) -> Error {
    let (parent, name) = match key.rsplit_once('.') {
        Some((parent, name)) => (parent, name),
        None => ("", key),
    };
    let siblings = children_of(parent);
    Error::Config {
        key: key.to_owned(),
        reason: unknown_reason(name, &siblings),
    }
}

/// "unknown key; did you mean `x`?" or "unknown key; known keys here: a, b, c".
fn unknown_reason(name: &str, known: &[&str]) -> String {
    let best = known
        .iter()
        .map(|k| {
            (
                edit_distance(&name.to_ascii_lowercase(), &k.to_ascii_lowercase()),
                k,
            )
        })
        .min_by_key(|(d, _)| *d);
    match best {
        Some((d, k)) if d <= 2.max(name.len() / 3) => {
            format!("unknown key; did you mean `{k}`?")
        }
        _ if known.is_empty() => "unknown key".to_owned(),
        _ => format!("unknown key; known keys here: {}", known.join(", ")),
    }
}

/// The direct children of a section (`""` for the top level), derived from [`KEYS`].
fn children_of(parent: &str) -> Vec<&'static str> {
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

/// Levenshtein distance over chars (keys are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

/// Splits a known dotted key into its sections and leaf, or names it as unknown.
fn split_known_key(key: &str) -> Result<(Vec<&str>, &str), Error> {
    if !is_known_key(key) {
        if !key.is_empty() && !children_of(key).is_empty() {
            let example = KEYS
                .iter()
                .find(|k| k.starts_with(&format!("{key}.")))
                .copied()
                .unwrap_or_default();
            return Err(Error::Config {
                key: key.to_owned(),
                reason: format!("is a section; set one of its keys, e.g. {example}"),
            });
        }
        return Err(unknown_key(key));
    }
    let mut parts: Vec<&str> = key.split('.').collect();
    let leaf = parts.pop().unwrap_or(key);
    Ok((parts, leaf))
}

/// The top-level object of a raw document (`null` becomes `{}`).
fn root_object(doc: &mut Value) -> Result<&mut Map<String, Value>, Error> {
    if doc.is_null() {
        *doc = Value::Object(Map::new());
    }
    let found = kind(doc);
    doc.as_object_mut().ok_or_else(|| Error::Config {
        key: "(top level)".to_owned(),
        reason: format!("expected a JSON object, found {found}"),
    })
}

fn join_key(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

fn string_array(items: &[String]) -> Value {
    Value::Array(items.iter().map(|s| Value::String(s.clone())).collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn ok(doc: Value) -> Parsed {
        from_value(&doc).unwrap()
    }

    fn err(doc: Value) -> (String, String) {
        match from_value(&doc) {
            Err(Error::Config { key, reason }) => (key, reason),
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn empty_document_gives_every_default() {
        let p = ok(json!({}));
        assert!(p.warnings.is_empty());
        let c = p.config;
        assert_eq!(c.sync.interval_seconds, 300);
        assert!(!c.sync.auto_sync);
        assert_eq!(c.sync.conflict_strategy, ConflictStrategy::LastWriterWins);
        assert_eq!(c.sync.max_triples_per_sync, 5000);
        assert_eq!(c.sync.sync_timeout_ms, 30_000);
        assert!(c.sync.native_p2p_preferred);
        assert!(c.sync.multi_valued_predicates.is_empty());
        assert_eq!(c.sync.exclude_subject_prefixes, vec!["mayros:sync:"]);
        assert_eq!(c.sync.tombstone_max_retention_days, 180);
        assert!(!c.discovery.bonjour_enabled);
        assert_eq!(c.discovery.bonjour_service_type, "_mayros-cortex._tcp");
        assert!(c.discovery.manual_peers.is_empty());
        assert_eq!(c.discovery.interfaces, None);
        assert_eq!(c.namespace, "mayros");
        assert_eq!(c.cortex.url, None);
        assert_eq!(c.cortex.auth_token, None);
        assert!(!c.cortex.is_external());
        assert!(c.ui.notifications);
        assert_eq!(c, Config::default());
    }

    #[test]
    fn defaults_lie_inside_their_ranges() {
        let s = SyncConfig::default();
        assert!(INTERVAL_SECONDS_RANGE.contains(&s.interval_seconds));
        assert!(MAX_TRIPLES_PER_SYNC_RANGE.contains(&s.max_triples_per_sync));
        assert!(SYNC_TIMEOUT_MS_RANGE.contains(&s.sync_timeout_ms));
        assert!(TOMBSTONE_MAX_RETENTION_DAYS_RANGE.contains(&s.tombstone_max_retention_days));
    }

    #[test]
    fn empty_or_blank_text_is_all_defaults() {
        assert_eq!(parse("").unwrap().config, Config::default());
        assert_eq!(parse(" \n\t").unwrap().config, Config::default());
        assert_eq!(parse("{}").unwrap().config, Config::default());
    }

    #[test]
    fn design_example_parses() {
        let p = parse(
            r#"{"sync":{"intervalSeconds":60},"cortex":{"url":"http://127.0.0.1:8080"},"namespace":"mayros"}"#,
        )
        .unwrap();
        assert!(p.warnings.is_empty());
        assert_eq!(p.config.sync.interval_seconds, 60);
        assert_eq!(p.config.sync.interval(), Duration::from_secs(60));
        assert_eq!(
            p.config.cortex.url.as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert!(p.config.cortex.is_external());
    }

    #[test]
    fn every_key_is_read() {
        let doc = json!({
            "sync": {
                "intervalSeconds": 60,
                "autoSync": true,
                "conflictStrategy": "keep-both",
                "maxTriplesPerSync": 1000,
                "syncTimeoutMs": 10000,
                "nativeP2pPreferred": false,
                "multiValuedPredicates": ["ex:knows", "ex:tag"],
                "excludeSubjectPrefixes": [],
                "tombstoneMaxRetentionDays": 30
            },
            "discovery": {
                "bonjourEnabled": true,
                "bonjourServiceType": "_test-1._udp",
                "manualPeers": ["10.0.0.2:19092"],
                "interfaces": ["lo"]
            },
            "namespace": "work",
            "cortex": {"url": "https://cortex.local/base", "authToken": "s3cret"},
            "ui": {"notifications": false}
        });
        let p = ok(doc.clone());
        assert!(p.warnings.is_empty());
        let c = &p.config;
        assert_eq!(c.sync.interval_seconds, 60);
        assert!(c.sync.auto_sync);
        assert_eq!(c.sync.conflict_strategy, ConflictStrategy::KeepBoth);
        assert_eq!(c.sync.max_triples_per_sync, 1000);
        assert_eq!(c.sync.sync_timeout_ms, 10_000);
        assert_eq!(c.sync.sync_timeout(), Duration::from_secs(10));
        assert!(!c.sync.native_p2p_preferred);
        assert!(c.sync.is_multi_valued("ex:tag"));
        assert!(!c.sync.is_multi_valued("ex:age"));
        assert!(!c.sync.is_excluded_subject("mayros:sync:x"));
        assert_eq!(c.sync.tombstone_max_retention_days, 30);
        assert_eq!(
            c.sync.tombstone_max_retention(),
            Duration::from_secs(30 * 86_400)
        );
        assert!(c.discovery.bonjour_enabled);
        assert_eq!(c.discovery.bonjour_service_type, "_test-1._udp");
        assert_eq!(
            c.discovery.manual_peers,
            vec![ManualPeer::Address("10.0.0.2:19092".into())]
        );
        assert_eq!(c.discovery.interfaces, Some(vec!["lo".to_owned()]));
        assert_eq!(c.namespace, "work");
        assert_eq!(c.cortex.url.as_deref(), Some("https://cortex.local/base"));
        assert_eq!(c.cortex.auth_token.as_deref(), Some("s3cret"));
        assert!(!c.ui.notifications);
        // A full document is its own rendering.
        assert_eq!(c.to_value(), doc);
    }

    #[test]
    fn excluded_subject_prefix_default() {
        let s = SyncConfig::default();
        assert!(s.is_excluded_subject("mayros:sync:cursor"));
        assert!(!s.is_excluded_subject("mayros:agent:a1"));
    }

    #[test]
    fn null_optional_values_mean_unset() {
        let p = ok(json!({
            "cortex": {"url": null, "authToken": null},
            "discovery": {"interfaces": null, "manualPeers": [{"endpoint": "h:1", "nodeId": null, "namespaces": null}]}
        }));
        assert_eq!(p.config.cortex, CortexConfig::default());
        assert_eq!(p.config.discovery.interfaces, None);
        assert_eq!(
            p.config.discovery.manual_peers,
            vec![ManualPeer::Detailed {
                node_id: None,
                endpoint: "h:1".into(),
                namespaces: None
            }]
        );
    }

    #[test]
    fn null_for_a_required_value_is_a_type_error() {
        let (key, reason) = err(json!({"sync": {"intervalSeconds": null}}));
        assert_eq!(key, "sync.intervalSeconds");
        assert_eq!(reason, "expected an integer, found null");
        let (key, reason) = err(json!({"sync": null}));
        assert_eq!(key, "sync");
        assert_eq!(reason, "expected an object, found null");
    }

    /// (key, section, name, range) of every numeric key.
    const RANGES: [(&str, &str, &str, RangeInclusive<u64>); 4] = [
        (
            "sync.intervalSeconds",
            "sync",
            "intervalSeconds",
            INTERVAL_SECONDS_RANGE,
        ),
        (
            "sync.maxTriplesPerSync",
            "sync",
            "maxTriplesPerSync",
            MAX_TRIPLES_PER_SYNC_RANGE,
        ),
        (
            "sync.syncTimeoutMs",
            "sync",
            "syncTimeoutMs",
            SYNC_TIMEOUT_MS_RANGE,
        ),
        (
            "sync.tombstoneMaxRetentionDays",
            "sync",
            "tombstoneMaxRetentionDays",
            TOMBSTONE_MAX_RETENTION_DAYS_RANGE,
        ),
    ];

    fn read_number(section: &str, name: &str, value: Value) -> Parsed {
        ok(json!({ section: { name: value } }))
    }

    fn number_field(c: &Config, key: &str) -> u64 {
        match key {
            "sync.intervalSeconds" => c.sync.interval_seconds,
            "sync.maxTriplesPerSync" => c.sync.max_triples_per_sync,
            "sync.syncTimeoutMs" => c.sync.sync_timeout_ms,
            "sync.tombstoneMaxRetentionDays" => c.sync.tombstone_max_retention_days,
            _ => unreachable!(),
        }
    }

    #[test]
    fn every_range_clamps_both_ends_with_a_warning() {
        for (key, section, name, range) in RANGES {
            let (min, max) = (*range.start(), *range.end());
            // Edges are accepted silently.
            for edge in [min, max] {
                let p = read_number(section, name, json!(edge));
                assert!(p.warnings.is_empty(), "{key} = {edge}");
                assert_eq!(number_field(&p.config, key), edge);
            }
            // Below, above, negative and huge are clamped with a warning.
            let cases = [
                (json!(min - 1), min, (min - 1).to_string()),
                (json!(max + 1), max, (max + 1).to_string()),
                (json!(-5), min, "-5".to_owned()),
                (json!(i64::MIN), min, i64::MIN.to_string()),
                (json!(u64::MAX), max, u64::MAX.to_string()),
            ];
            for (value, expected, shown) in cases {
                let p = read_number(section, name, value);
                assert_eq!(number_field(&p.config, key), expected, "{key}");
                assert_eq!(p.warnings.len(), 1);
                let w = &p.warnings[0];
                assert_eq!(w.key, key);
                assert_eq!(w.value.to_string(), shown);
                assert_eq!((w.min, w.max, w.clamped_to), (min, max, expected));
                assert_eq!(
                    w.to_string(),
                    format!("{key} = {shown} is out of range {min}–{max}; using {expected}")
                );
            }
        }
    }

    #[test]
    fn warning_message_matches_the_design_example() {
        let p = parse(r#"{"sync":{"intervalSeconds":5}}"#).unwrap();
        assert_eq!(p.config.sync.interval_seconds, 10);
        assert_eq!(
            p.warnings[0].message(),
            "sync.intervalSeconds = 5 is out of range 10–86400; using 10"
        );
        let v = serde_json::to_value(&p.warnings[0]).unwrap();
        assert_eq!(
            v,
            json!({"key": "sync.intervalSeconds", "value": 5, "min": 10, "max": 86400, "clampedTo": 10})
        );
    }

    #[test]
    fn integers_beyond_u64_are_clamped_not_rejected() {
        let p = parse(r#"{"sync":{"intervalSeconds":100000000000000000000000}}"#).unwrap();
        assert_eq!(p.config.sync.interval_seconds, 86_400);
        assert_eq!(p.warnings.len(), 1);
        let p = parse(r#"{"sync":{"intervalSeconds":-100000000000000000000000}}"#).unwrap();
        assert_eq!(p.config.sync.interval_seconds, 10);
        assert_eq!(p.warnings.len(), 1);
    }

    #[test]
    fn warnings_are_collected_for_several_keys() {
        let p = ok(json!({"sync": {"intervalSeconds": 1, "syncTimeoutMs": 1_000_000}}));
        let keys: Vec<&str> = p.warnings.iter().map(|w| w.key.as_str()).collect();
        assert_eq!(keys.len(), 2);
        assert!(keys.contains(&"sync.intervalSeconds"));
        assert!(keys.contains(&"sync.syncTimeoutMs"));
    }

    #[test]
    fn floats_are_type_errors() {
        for text in [
            r#"{"sync":{"intervalSeconds":10.5}}"#,
            r#"{"sync":{"intervalSeconds":60.0}}"#,
            r#"{"sync":{"intervalSeconds":6e1}}"#,
        ] {
            match parse(text) {
                Err(Error::Config { key, reason }) => {
                    assert_eq!(key, "sync.intervalSeconds");
                    assert!(
                        reason.starts_with("expected an integer, found a float"),
                        "{reason}"
                    );
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn wrong_types_name_the_key() {
        let cases = [
            (
                json!({"sync": {"intervalSeconds": "60"}}),
                "sync.intervalSeconds",
                "expected an integer, found a string",
            ),
            (
                json!({"sync": {"autoSync": "yes"}}),
                "sync.autoSync",
                "expected a boolean, found a string",
            ),
            (
                json!({"ui": {"notifications": 1}}),
                "ui.notifications",
                "expected a boolean, found an integer",
            ),
            (
                json!({"sync": {"conflictStrategy": 3}}),
                "sync.conflictStrategy",
                "expected a string, found an integer",
            ),
            (
                json!({"namespace": ["a"]}),
                "namespace",
                "expected a string, found an array",
            ),
            (
                json!({"sync": {"multiValuedPredicates": {"a": 1}}}),
                "sync.multiValuedPredicates",
                "expected an array of strings, found an object",
            ),
            (
                json!({"sync": {"multiValuedPredicates": ["a", "b", 7]}}),
                "sync.multiValuedPredicates[2]",
                "expected a string, found an integer",
            ),
            (
                json!({"sync": {"excludeSubjectPrefixes": [null]}}),
                "sync.excludeSubjectPrefixes[0]",
                "expected a string, found null",
            ),
            (
                json!({"discovery": {"interfaces": ["lo", true]}}),
                "discovery.interfaces[1]",
                "expected a string, found a boolean",
            ),
            (
                json!({"discovery": {"manualPeers": "h:1"}}),
                "discovery.manualPeers",
                "expected an array, found a string",
            ),
            (
                json!({"cortex": {"url": 8080}}),
                "cortex.url",
                "expected a string or null, found an integer",
            ),
            (
                json!({"cortex": {"authToken": false}}),
                "cortex.authToken",
                "expected a string or null, found a boolean",
            ),
            (
                json!({"discovery": []}),
                "discovery",
                "expected an object, found an array",
            ),
            (
                json!({"ui": 1.5}),
                "ui",
                "expected an object, found a float",
            ),
        ];
        for (doc, key, reason) in cases {
            assert_eq!(err(doc), (key.to_owned(), reason.to_owned()));
        }
    }

    #[test]
    fn a_string_for_a_list_hints_at_the_list_syntax() {
        let (key, reason) = err(json!({"discovery": {"interfaces": "lo"}}));
        assert_eq!(key, "discovery.interfaces");
        assert_eq!(
            reason,
            r#"expected an array of strings, found a string (write a list, e.g. ["lo"])"#
        );
    }

    #[test]
    fn top_level_must_be_an_object() {
        for doc in [json!([]), json!(null), json!("x"), json!(3)] {
            let (key, reason) = err(doc);
            assert_eq!(key, "(top level)");
            assert!(reason.starts_with("expected a JSON object, found"));
        }
    }

    #[test]
    fn invalid_json_is_a_syntax_error() {
        assert!(matches!(
            parse(r#"{"sync": {"#),
            Err(Error::ConfigSyntax(_))
        ));
        assert!(matches!(parse("{,}"), Err(Error::ConfigSyntax(_))));
    }

    #[test]
    fn unknown_keys_are_errors_at_every_level() {
        let (key, reason) = err(json!({"sync": {"intervalSecs": 60}}));
        assert_eq!(key, "sync.intervalSecs");
        assert_eq!(reason, "unknown key; did you mean `intervalSeconds`?");

        let (key, reason) = err(json!({"Sync": {}}));
        assert_eq!(key, "Sync");
        assert_eq!(reason, "unknown key; did you mean `sync`?");

        let (key, reason) = err(json!({"telemetry": true}));
        assert_eq!(key, "telemetry");
        assert_eq!(
            reason,
            "unknown key; known keys here: sync, discovery, namespace, cortex, ui"
        );

        let (key, reason) = err(json!({"ui": {"theme": "dark"}}));
        assert_eq!(key, "ui.theme");
        assert!(reason.starts_with("unknown key"), "{reason}");

        let (key, reason) = err(json!({"cortex": {"token": "x"}}));
        assert_eq!(key, "cortex.token");
        assert!(reason.starts_with("unknown key"), "{reason}");

        let (key, reason) =
            err(json!({"discovery": {"manualPeers": [{"endpoint": "h:1", "node": "x"}]}}));
        assert_eq!(key, "discovery.manualPeers[0].node");
        assert!(reason.starts_with("unknown key"), "{reason}");
    }

    #[test]
    fn bad_enum_value_lists_the_allowed_ones() {
        let (key, reason) = err(json!({"sync": {"conflictStrategy": "lww"}}));
        assert_eq!(key, "sync.conflictStrategy");
        assert_eq!(
            reason,
            "unknown value \"lww\"; expected one of: last-writer-wins, keep-both, \
             local-priority, remote-priority"
        );
    }

    #[test]
    fn conflict_strategy_spellings_round_trip() {
        for s in ConflictStrategy::ALL {
            assert_eq!(ConflictStrategy::from_name(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
            assert_eq!(
                serde_json::from_value::<ConflictStrategy>(json!(s.as_str())).unwrap(),
                s
            );
            assert_eq!(s.to_string(), s.as_str());
            let p = ok(json!({"sync": {"conflictStrategy": s.as_str()}}));
            assert_eq!(p.config.sync.conflict_strategy, s);
        }
        assert_eq!(
            ConflictStrategy::default(),
            ConflictStrategy::LastWriterWins
        );
    }

    #[test]
    fn manual_peers_both_forms() {
        let id = "ab".repeat(32);
        let p = ok(json!({"discovery": {"manualPeers": [
            "192.168.1.20:19092",
            "[::1]:19092",
            "laptop.local:443",
            {"endpoint": "10.0.0.3:19092"},
            {"nodeId": id, "endpoint": "nas:19092", "namespaces": ["mayros", "work", ""]}
        ]}}));
        let peers = &p.config.discovery.manual_peers;
        assert_eq!(peers.len(), 5);
        assert_eq!(peers[0], ManualPeer::Address("192.168.1.20:19092".into()));
        assert_eq!(peers[1].endpoint(), "[::1]:19092");
        assert_eq!(peers[3].node_id(), None);
        assert_eq!(peers[3].namespaces(), None);
        assert_eq!(peers[4].node_id(), Some(id.as_str()));
        assert_eq!(peers[4].endpoint(), "nas:19092");
        assert_eq!(
            peers[4].namespaces().unwrap(),
            &["mayros".to_owned(), "work".to_owned(), String::new()]
        );
        assert_eq!(peers[0].to_value(), json!("192.168.1.20:19092"));
        assert_eq!(peers[3].to_value(), json!({"endpoint": "10.0.0.3:19092"}));
        assert_eq!(
            serde_json::to_value(&peers[4]).unwrap(),
            json!({"nodeId": id, "endpoint": "nas:19092", "namespaces": ["mayros", "work", ""]})
        );
    }

    #[test]
    fn bad_manual_peers_name_the_entry() {
        let cases = [
            (
                json!("10.0.0.1"),
                "discovery.manualPeers[0]",
                "missing \":port\"",
            ),
            (
                json!("10.0.0.1:"),
                "discovery.manualPeers[0]",
                "missing port",
            ),
            (json!("10.0.0.1:0"), "discovery.manualPeers[0]", "port 0"),
            (
                json!("10.0.0.1:70000"),
                "discovery.manualPeers[0]",
                "not a number in 1–65535",
            ),
            (
                json!("10.0.0.1:+80"),
                "discovery.manualPeers[0]",
                "not a number",
            ),
            (json!(":19092"), "discovery.manualPeers[0]", "missing host"),
            (json!("::1:19092"), "discovery.manualPeers[0]", "brackets"),
            (
                json!("https://h:1"),
                "discovery.manualPeers[0]",
                "without a scheme",
            ),
            (
                json!("bad host:1"),
                "discovery.manualPeers[0]",
                "invalid host name",
            ),
            (
                json!(42),
                "discovery.manualPeers[0]",
                "expected a \"host:port\" string or an object",
            ),
            (json!({}), "discovery.manualPeers[0].endpoint", "missing"),
            (
                json!({"endpoint": 5}),
                "discovery.manualPeers[0].endpoint",
                "expected a string",
            ),
            (
                json!({"endpoint": "h"}),
                "discovery.manualPeers[0].endpoint",
                "missing \":port\"",
            ),
            (
                json!({"endpoint": "h:1", "nodeId": "AB".repeat(32)}),
                "discovery.manualPeers[0].nodeId",
                "64 lowercase hexadecimal digits",
            ),
            (
                json!({"endpoint": "h:1", "nodeId": "abc"}),
                "discovery.manualPeers[0].nodeId",
                "64 lowercase hexadecimal digits",
            ),
            (
                json!({"endpoint": "h:1", "namespaces": ["ok", 1]}),
                "discovery.manualPeers[0].namespaces[1]",
                "expected a string",
            ),
            (
                json!({"endpoint": "h:1", "namespaces": ["a:b"]}),
                "discovery.manualPeers[0].namespaces[0]",
                "cannot contain ':'",
            ),
        ];
        for (peer, key, needle) in cases {
            let (k, reason) = err(json!({"discovery": {"manualPeers": [peer]}}));
            assert_eq!(k, key, "{reason}");
            assert!(
                reason.contains(needle),
                "{key}: {reason:?} lacks {needle:?}"
            );
        }
        // The index points at the bad entry, not the first one.
        let (k, _) = err(json!({"discovery": {"manualPeers": ["a:1", "b:2", "c"]}}));
        assert_eq!(k, "discovery.manualPeers[2]");
    }

    #[test]
    fn service_type_validation() {
        for good in [
            "_mayros-cortex._tcp",
            "_http._tcp",
            "_a._udp",
            "_abcdefghij12345._tcp",
        ] {
            let p = ok(json!({"discovery": {"bonjourServiceType": good}}));
            assert_eq!(p.config.discovery.bonjour_service_type, good);
        }
        for bad in [
            "",
            "mayros-cortex._tcp",
            "_mayros-cortex._sctp",
            "_mayros-cortex",
            "__tcp",
            "_._tcp",
            "_abcdefghij123456._tcp",
            "_my_service._tcp",
            "_-abc._tcp",
            "_abc-._tcp",
            "_a--b._tcp",
            "_123._tcp",
            "_mayros-cortex._tcp.local.",
        ] {
            let (key, reason) = err(json!({"discovery": {"bonjourServiceType": bad}}));
            assert_eq!(key, "discovery.bonjourServiceType");
            assert!(
                reason.starts_with("expected a DNS-SD service type"),
                "{bad}: {reason}"
            );
        }
    }

    #[test]
    fn cortex_url_validation() {
        for good in [
            "http://127.0.0.1:8080",
            "https://cortex.example.com",
            "HTTP://localhost:19090/",
            "http://[::1]:8080/api",
            "http://[::1]",
            "https://h/p?q=1#f",
        ] {
            let p = ok(json!({"cortex": {"url": good}}));
            assert_eq!(p.config.cortex.url.as_deref(), Some(good));
        }
        for bad in [
            "",
            "ftp://h",
            "127.0.0.1:8080",
            "http://",
            "http://:8080",
            "http://h:0",
            "http://h:port",
            "http://user:pw@h",
            "http://h x",
            "http://::1:8080",
        ] {
            let (key, reason) = err(json!({"cortex": {"url": bad}}));
            assert_eq!(key, "cortex.url");
            assert!(
                reason.starts_with("expected an http:// or https:// URL"),
                "{bad}: {reason}"
            );
        }
    }

    #[test]
    fn empty_strings_where_they_make_no_sense() {
        let cases = [
            (json!({"cortex": {"authToken": ""}}), "cortex.authToken"),
            (
                json!({"sync": {"excludeSubjectPrefixes": ["ok", ""]}}),
                "sync.excludeSubjectPrefixes[1]",
            ),
            (
                json!({"sync": {"multiValuedPredicates": [""]}}),
                "sync.multiValuedPredicates[0]",
            ),
            (
                json!({"discovery": {"interfaces": [""]}}),
                "discovery.interfaces[0]",
            ),
        ];
        for (doc, key) in cases {
            assert_eq!(err(doc).0, key);
        }
    }

    #[test]
    fn namespace_validation() {
        assert_eq!(ok(json!({"namespace": ""})).config.namespace, "");
        assert_eq!(ok(json!({"namespace": "work"})).config.namespace, "work");
        let (key, reason) = err(json!({"namespace": "mayros:agent"}));
        assert_eq!(key, "namespace");
        assert!(reason.contains("':'"));
        assert_eq!(err(json!({"namespace": "a\nb"})).0, "namespace");
    }

    #[test]
    fn empty_interface_list_is_kept() {
        let p = ok(json!({"discovery": {"interfaces": []}}));
        assert_eq!(p.config.discovery.interfaces, Some(Vec::new()));
    }

    fn sample_config() -> Config {
        let mut c = Config::default();
        c.sync.interval_seconds = 42;
        c.sync.auto_sync = true;
        c.sync.conflict_strategy = ConflictStrategy::RemotePriority;
        c.sync.multi_valued_predicates = vec!["ex:tag".into()];
        c.sync.exclude_subject_prefixes = Vec::new();
        c.discovery.manual_peers = vec![
            ManualPeer::Address("h:1".into()),
            ManualPeer::Detailed {
                node_id: Some("0f".repeat(32)),
                endpoint: "[fe80::1%eth0]:19092".into(),
                namespaces: Some(vec!["mayros".into()]),
            },
            ManualPeer::Detailed {
                node_id: None,
                endpoint: "nas.local:19092".into(),
                namespaces: None,
            },
        ];
        c.discovery.interfaces = Some(vec!["lo".into(), "eth0".into()]);
        c.namespace = "work".into();
        c.cortex.url = Some("https://cortex:8443".into());
        c.cortex.auth_token = Some("t".into());
        c.ui.notifications = false;
        c
    }

    #[test]
    fn to_value_round_trips() {
        for c in [Config::default(), sample_config()] {
            let v = c.to_value();
            let back = from_value(&v).unwrap();
            assert_eq!(back.config, c);
            assert!(back.warnings.is_empty());
            // Serialize produces the same document as to_value.
            assert_eq!(serde_json::to_value(&c).unwrap(), v);
            // And so does the text form.
            let text = serde_json::to_string_pretty(&c).unwrap();
            assert_eq!(parse(&text).unwrap().config, c);
        }
    }

    #[test]
    fn to_value_has_every_key() {
        let v = Config::default().to_value();
        for key in KEYS {
            assert!(get_key(&v, key).is_some(), "{key} missing from to_value");
        }
        assert_eq!(get_key(&v, "cortex.url"), Some(Value::Null));
        assert_eq!(get_key(&v, "sync.intervalSeconds"), Some(json!(300)));
        assert_eq!(
            get_key(&v, "sync.excludeSubjectPrefixes"),
            Some(json!(["mayros:sync:"]))
        );
        assert_eq!(get_key(&v, "ui"), Some(json!({"notifications": true})));
        assert_eq!(get_key(&v, "sync.nope"), None);
        assert_eq!(get_key(&v, "namespace.x"), None);
    }

    #[test]
    fn keys_cover_exactly_the_sections() {
        assert_eq!(
            children_of(""),
            ["sync", "discovery", "namespace", "cortex", "ui"]
        );
        assert_eq!(KEYS.len(), 17);
        assert!(is_known_key("ui.notifications"));
        assert!(!is_known_key("ui"));
    }

    #[test]
    fn debug_redacts_the_auth_token() {
        let c = sample_config();
        let dbg = format!("{c:?}");
        assert!(dbg.contains("<redacted>"));
        assert!(!dbg.contains("auth_token: Some(\"t\")"));
    }

    #[test]
    fn set_key_creates_sections_in_a_sparse_document() {
        let mut doc = json!({"namespace": "work"});
        set_key(&mut doc, "sync.intervalSeconds", json!(60)).unwrap();
        set_key(&mut doc, "sync.autoSync", json!(true)).unwrap();
        set_key(&mut doc, "cortex.url", json!("http://h:1")).unwrap();
        set_key(&mut doc, "namespace", json!("home")).unwrap();
        assert_eq!(
            doc,
            json!({"namespace": "home", "sync": {"intervalSeconds": 60, "autoSync": true}, "cortex": {"url": "http://h:1"}})
        );
        let c = from_value(&doc).unwrap().config;
        assert_eq!(c.sync.interval_seconds, 60);
        assert_eq!(c.namespace, "home");

        let mut empty = Value::Null;
        set_key(&mut empty, "ui.notifications", json!(false)).unwrap();
        assert_eq!(empty, json!({"ui": {"notifications": false}}));
    }

    #[test]
    fn set_key_rejects_unknown_keys_and_sections() {
        let mut doc = json!({});
        let e = set_key(&mut doc, "sync.intervalSecs", json!(1)).unwrap_err();
        assert_eq!(
            e,
            Error::Config {
                key: "sync.intervalSecs".into(),
                reason: "unknown key; did you mean `intervalSeconds`?".into()
            }
        );
        let e = set_key(&mut doc, "sync", json!({})).unwrap_err();
        assert!(
            matches!(e, Error::Config { ref key, ref reason } if key == "sync" && reason.contains("section"))
        );
        let e = set_key(&mut doc, "", json!(1)).unwrap_err();
        assert!(matches!(e, Error::Config { ref reason, .. } if reason.starts_with("unknown key")));
        assert!(set_key(&mut doc, "sync.intervalSeconds.x", json!(1)).is_err());
        assert_eq!(doc, json!({}));
    }

    #[test]
    fn set_key_refuses_to_overwrite_a_non_object_section() {
        let mut doc = json!({"sync": 5});
        let e = set_key(&mut doc, "sync.autoSync", json!(true)).unwrap_err();
        assert_eq!(
            e,
            Error::Config {
                key: "sync".into(),
                reason: "expected an object, found an integer".into()
            }
        );
        let mut doc = json!([1]);
        assert!(set_key(&mut doc, "namespace", json!("x")).is_err());
    }

    #[test]
    fn set_key_then_validate_reports_bad_values() {
        let mut doc = json!({});
        set_key(&mut doc, "sync.conflictStrategy", json!("newest")).unwrap();
        let (key, _) = err(doc);
        assert_eq!(key, "sync.conflictStrategy");
    }

    #[test]
    fn unset_key_restores_the_default() {
        let mut doc = json!({"sync": {"intervalSeconds": 60}, "namespace": "x"});
        assert!(unset_key(&mut doc, "sync.intervalSeconds").unwrap());
        assert!(!unset_key(&mut doc, "sync.intervalSeconds").unwrap());
        assert!(unset_key(&mut doc, "namespace").unwrap());
        assert_eq!(doc, json!({}));
        assert!(unset_key(&mut doc, "bogus").is_err());
    }

    #[test]
    fn cli_values() {
        assert_eq!(parse_cli_value("sync.intervalSeconds", "60"), json!(60));
        assert_eq!(parse_cli_value("sync.intervalSeconds", "ten"), json!("ten"));
        assert_eq!(parse_cli_value("sync.autoSync", "true"), json!(true));
        assert_eq!(
            parse_cli_value("discovery.interfaces", r#"["lo"]"#),
            json!(["lo"])
        );
        assert_eq!(parse_cli_value("discovery.interfaces", "null"), Value::Null);
        assert_eq!(parse_cli_value("cortex.url", "null"), Value::Null);
        assert_eq!(
            parse_cli_value("cortex.url", "http://127.0.0.1:8080"),
            json!("http://127.0.0.1:8080")
        );
        assert_eq!(parse_cli_value("cortex.authToken", "12345"), json!("12345"));
        assert_eq!(parse_cli_value("namespace", "true"), json!("true"));
        assert_eq!(parse_cli_value("namespace", r#""quoted""#), json!("quoted"));
        assert_eq!(
            parse_cli_value("sync.conflictStrategy", "keep-both"),
            json!("keep-both")
        );
        assert_eq!(
            parse_cli_value("discovery.manualPeers", r#"[{"endpoint":"h:1"}]"#),
            json!([{"endpoint": "h:1"}])
        );
    }

    #[test]
    fn cli_set_flow_end_to_end() {
        let mut doc = parse("").map(|_| Value::Null).unwrap();
        let key = "sync.intervalSeconds";
        set_key(&mut doc, key, parse_cli_value(key, "5")).unwrap();
        let p = from_value(&doc).unwrap();
        assert_eq!(p.config.sync.interval_seconds, 10);
        assert_eq!(p.warnings.len(), 1);
        assert_eq!(get_key(&p.config.to_value(), key), Some(json!(10)));
    }

    proptest! {
        #[test]
        fn in_range_interval_round_trips(v in INTERVAL_SECONDS_RANGE) {
            let p = from_value(&json!({"sync": {"intervalSeconds": v}})).unwrap();
            prop_assert!(p.warnings.is_empty());
            prop_assert_eq!(p.config.sync.interval_seconds, v);
            let again = from_value(&p.config.to_value()).unwrap();
            prop_assert_eq!(again.config, p.config);
        }

        #[test]
        fn any_integer_lands_in_range(v in any::<i64>(), idx in 0usize..4) {
            let (key, section, name, range) = RANGES[idx].clone();
            let p = from_value(&json!({ section: { name: v } })).unwrap();
            let got = number_field(&p.config, key);
            prop_assert!(range.contains(&got));
            let inside = u64::try_from(v).map(|u| range.contains(&u)).unwrap_or(false);
            if inside {
                prop_assert!(p.warnings.is_empty());
                prop_assert_eq!(i128::from(got), i128::from(v));
            } else {
                prop_assert_eq!(p.warnings.len(), 1);
                prop_assert_eq!(&p.warnings[0].key, key);
                prop_assert_eq!(p.warnings[0].clamped_to, got);
                let expected = if v < i64::try_from(*range.start()).unwrap() {
                    *range.start()
                } else {
                    *range.end()
                };
                prop_assert_eq!(got, expected);
            }
        }

        #[test]
        fn any_u64_lands_in_range(v in any::<u64>()) {
            let p = from_value(&json!({"sync": {"syncTimeoutMs": v}})).unwrap();
            prop_assert!(SYNC_TIMEOUT_MS_RANGE.contains(&p.config.sync.sync_timeout_ms));
            prop_assert_eq!(p.warnings.is_empty(), SYNC_TIMEOUT_MS_RANGE.contains(&v));
        }
    }
}
