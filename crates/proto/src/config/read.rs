//! Reading a configuration document into a [`Config`], key by key as the key table says.
//!
//! The walk follows the document: each member is a key of [`KEY_SPECS`](super::KEY_SPECS), a
//! section holding some, or an unknown key (an error suggesting the nearest known one). A key's
//! value is first decoded by its [`KeyKind`] (type errors, integer clamping, enum spellings), then
//! its own format rule runs and the result lands in its field of [`Config`].

use serde_json::{Map, Value};

use super::checks::{
    check_host_port, check_http_url, check_namespace, check_node_id, check_service_type, non_empty,
};
use super::keys::{
    children_of, is_section, join_key, key_spec, KeyKind, KeySpec, MANUAL_PEER_FIELDS,
};
use super::{Config, ConfigWarning, ConflictStrategy, ManualPeer, Parsed};
use crate::Error;

/// Validates a decoded document; absent keys keep their defaults.
pub(super) fn read_document(doc: &Value) -> Result<Parsed, Error> {
    let root = doc.as_object().ok_or_else(|| Error::Config {
        key: "(top level)".to_owned(),
        reason: format!("expected a JSON object, found {}", kind(doc)),
    })?;
    let mut reader = Reader {
        config: Config::default(),
        warnings: Vec::new(),
    };
    for (name, value) in root {
        if name == "version" {
            crate::config_migrate::version_of(doc)?;
        } else {
            reader.member("", name, value)?;
        }
    }
    Ok(Parsed {
        config: reader.config,
        warnings: reader.warnings,
    })
}

/// The configuration read so far and the warnings raised on the way.
struct Reader {
    config: Config,
    warnings: Vec<ConfigWarning>,
}

/// A value whose JSON type fits its key's kind, before the key's own rule.
#[derive(Debug)]
enum Leaf<'a> {
    /// `null` for a key that accepts it: unset.
    Unset,
    /// A boolean.
    Bool(bool),
    /// An integer, already clamped into the key's range.
    Integer(u64),
    /// A string (for an enum key, one of its values).
    Text(&'a str),
    /// The entries of an array, not yet checked.
    Items(&'a [Value]),
}

impl Reader {
    /// Reads the member `name` of the section `parent` (`""` for the top level).
    fn member(&mut self, parent: &str, name: &str, value: &Value) -> Result<(), Error> {
        let key = join_key(parent, name);
        // A dotted name is never a key: `{"sync.autoSync": true}` is not `{"sync": {…}}`.
        if name.is_empty() || name.contains('.') {
            return Err(unknown_key(&key));
        }
        if let Some(spec) = key_spec(&key) {
            let leaf = self.leaf(spec, value)?;
            return assign(&mut self.config, spec, leaf);
        }
        if !is_section(&key) {
            return Err(unknown_key(&key));
        }
        for (child, v) in object(&key, value)? {
            self.member(&key, child, v)?;
        }
        Ok(())
    }

    /// Decodes `value` by the kind of `spec`.
    fn leaf<'a>(&mut self, spec: &KeySpec, value: &'a Value) -> Result<Leaf<'a>, Error> {
        let key = spec.key;
        if value.is_null() && spec.accepts_null() {
            return Ok(Leaf::Unset);
        }
        Ok(match spec.kind {
            KeyKind::Bool => Leaf::Bool(
                value
                    .as_bool()
                    .ok_or_else(|| type_error(key, "a boolean", value))?,
            ),
            KeyKind::Integer { min, max } => Leaf::Integer(self.integer(key, value, min, max)?),
            KeyKind::String if spec.accepts_null() => Leaf::Text(
                value
                    .as_str()
                    .ok_or_else(|| type_error(key, "a string or null", value))?,
            ),
            KeyKind::String => Leaf::Text(string(key, value)?),
            KeyKind::Enum { values } => Leaf::Text(one_of(key, value, values)?),
            KeyKind::List => Leaf::Items(array(key, value, "an array of strings")?),
            KeyKind::ObjectList { .. } => Leaf::Items(array(key, value, "an array")?),
        })
    }

    /// Reads a JSON integer, clamping it into `min..=max` with a warning when outside.
    fn integer(&mut self, key: &str, value: &Value, min: u64, max: u64) -> Result<u64, Error> {
        let Value::Number(n) = value else {
            return Err(type_error(key, "an integer", value));
        };
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

/// Applies the key's own rule to its decoded value and stores it in its field of `c`.
fn assign(c: &mut Config, spec: &KeySpec, leaf: Leaf<'_>) -> Result<(), Error> {
    let key = spec.key;
    match (key, leaf) {
        ("sync.intervalSeconds", Leaf::Integer(n)) => c.sync.interval_seconds = n,
        ("sync.autoSync", Leaf::Bool(b)) => c.sync.auto_sync = b,
        ("sync.conflictStrategy", Leaf::Text(name)) => {
            c.sync.conflict_strategy = ConflictStrategy::from_name(name)
                .ok_or_else(|| table_mismatch(key, &Leaf::Text(name)))?;
        }
        ("sync.maxTriplesPerSync", Leaf::Integer(n)) => c.sync.max_triples_per_sync = n,
        ("sync.syncTimeoutMs", Leaf::Integer(n)) => c.sync.sync_timeout_ms = n,
        ("sync.nativeP2pPreferred", Leaf::Bool(b)) => c.sync.native_p2p_preferred = b,
        ("sync.multiValuedPredicates", Leaf::Items(items)) => {
            c.sync.multi_valued_predicates = strings(key, items, |k, s| {
                non_empty(k, s, "an empty predicate matches nothing")
            })?;
        }
        ("sync.excludeSubjectPrefixes", Leaf::Items(items)) => {
            c.sync.exclude_subject_prefixes = strings(key, items, |k, s| {
                non_empty(k, s, "an empty prefix would exclude every subject")
            })?;
        }
        ("sync.tombstoneMaxRetentionDays", Leaf::Integer(n)) => {
            c.sync.tombstone_max_retention_days = n;
        }
        ("discovery.bonjourEnabled", Leaf::Bool(b)) => c.discovery.bonjour_enabled = b,
        ("discovery.bonjourServiceType", Leaf::Text(s)) => {
            check_service_type(key, s)?;
            c.discovery.bonjour_service_type = s.to_owned();
        }
        ("discovery.manualPeers", Leaf::Items(items)) => {
            c.discovery.manual_peers = items
                .iter()
                .enumerate()
                .map(|(i, item)| manual_peer(&format!("{key}[{i}]"), item))
                .collect::<Result<_, _>>()?;
        }
        ("discovery.interfaces", Leaf::Unset) => c.discovery.interfaces = None,
        ("discovery.interfaces", Leaf::Items(items)) => {
            c.discovery.interfaces = Some(strings(key, items, |k, s| {
                non_empty(k, s, "an interface name cannot be empty")
            })?);
        }
        ("namespace", Leaf::Text(s)) => {
            check_namespace(key, s)?;
            c.namespace = s.to_owned();
        }
        ("cortex.url", Leaf::Unset) => c.cortex.url = None,
        ("cortex.url", Leaf::Text(s)) => {
            check_http_url(key, s)?;
            c.cortex.url = Some(s.to_owned());
        }
        ("cortex.authToken", Leaf::Unset) => c.cortex.auth_token = None,
        ("cortex.authToken", Leaf::Text(s)) => {
            non_empty(key, s, "an empty token; use null to send none")?;
            c.cortex.auth_token = Some(s.to_owned());
        }
        ("ui.notifications", Leaf::Bool(b)) => c.ui.notifications = b,
        (_, leaf) => return Err(table_mismatch(key, &leaf)),
    }
    Ok(())
}

/// The error for a key the table lists but [`assign`] does not handle that way (a bug that
/// the key table tests catch).
fn table_mismatch(key: &str, leaf: &Leaf<'_>) -> Error {
    Error::Config {
        key: key.to_owned(),
        reason: format!("internal: the key table and the reader disagree on {leaf:?}"),
    }
}

/// An object, or a type error naming `key`.
fn object<'a>(key: &str, value: &'a Value) -> Result<&'a Map<String, Value>, Error> {
    value
        .as_object()
        .ok_or_else(|| type_error(key, "an object", value))
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

/// A string spelled as one of `values`.
fn one_of<'a>(key: &str, value: &'a Value, values: &[&str]) -> Result<&'a str, Error> {
    let name = string(key, value)?;
    if values.contains(&name) {
        return Ok(name);
    }
    Err(Error::Config {
        key: key.to_owned(),
        reason: format!(
            "unknown value {:?}; expected one of: {}",
            name,
            values.join(", ")
        ),
    })
}

/// The entries of an array; a string where a list of strings belongs gets a hint.
fn array<'a>(key: &str, value: &'a Value, expected: &str) -> Result<&'a [Value], Error> {
    if let Value::Array(items) = value {
        return Ok(items);
    }
    let mut err = type_error(key, expected, value);
    if let (Error::Config { reason, .. }, Value::String(s), "an array of strings") =
        (&mut err, value, expected)
    {
        reason.push_str(&format!(
            " (write a list, e.g. [{}])",
            Value::from(s.as_str())
        ));
    }
    Err(err)
}

/// Array entries that must be strings, each checked by `check` with its indexed key (`key[2]`).
fn strings(
    key: &str,
    items: &[Value],
    check: impl Fn(&str, &str) -> Result<(), Error>,
) -> Result<Vec<String>, Error> {
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

/// One `discovery.manualPeers` entry: `"host:port"` or `{nodeId?, endpoint, namespaces?}`.
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
                            _ => Some(strings(
                                &field_key,
                                array(&field_key, v, "an array of strings")?,
                                check_namespace,
                            )?),
                        };
                    }
                    _ => {
                        return Err(Error::Config {
                            reason: unknown_reason(name, MANUAL_PEER_FIELDS),
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

/// "expected {expected}, found {kind of found}", naming `key`.
pub(super) fn type_error(key: &str, expected: &str, found: &Value) -> Error {
    Error::Config {
        key: key.to_owned(),
        reason: format!("expected {expected}, found {}", kind(found)),
    }
}

/// "a string", "an integer", … for error messages.
pub(super) fn kind(value: &Value) -> &'static str {
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

/// The error for a key that is not in [`KEYS`](super::KEYS) (nor a section of them).
pub(super) fn unknown_key(key: &str) -> Error {
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
