//! Editing a raw configuration document key by key, as `mayros config get|set` does.
//!
//! Set a key in the raw (sparse) document, then re-validate the result with
//! [`from_value`](super::from_value).

use serde_json::{Map, Value};

use super::is_known_key;
use super::keys::{is_section, join_key, key_spec, KeySpec, KEYS};
use super::read::{kind, unknown_key};
use crate::Error;

/// Reads a dotted key (or a section such as `sync`) from a configuration document.
///
/// Meant for a full document ([`Config::to_value`]); `None` when the path is absent.
///
/// [`Config::to_value`]: super::Config::to_value
pub fn get_key(doc: &Value, key: &str) -> Option<Value> {
    key.split('.')
        .try_fold(doc, |node, part| node.as_object()?.get(part))
        .cloned()
}

/// Sets a dotted key inside a raw, possibly sparse document, creating the intermediate sections.
///
/// Only [`KEYS`] can be set; the value itself is not checked here: re-validate the document with
/// [`from_value`] before using or writing it. A `null` document is treated as `{}`.
///
/// [`from_value`]: super::from_value
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
    let string_key = key_spec(key).is_some_and(KeySpec::takes_text);
    match serde_json::from_str::<Value>(text) {
        Ok(v @ (Value::String(_) | Value::Null)) => v,
        Ok(v) if !string_key => v,
        _ => Value::String(text.to_owned()),
    }
}

/// Splits a known dotted key into its sections and leaf, or names it as unknown.
fn split_known_key(key: &str) -> Result<(Vec<&str>, &str), Error> {
    if !is_known_key(key) {
        if is_section(key) {
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
