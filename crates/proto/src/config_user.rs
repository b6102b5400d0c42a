//! The config file holds only what the user set: JSON merge patches of the keys a user
//! changes, and pruning of values that equal their defaults.

use serde_json::{Map, Value};

use crate::config::Config;

/// Applies a JSON merge patch (RFC 7396) to `doc`: objects merge key by key, `null` removes
/// the key (so it takes its default again), anything else replaces the value.
pub fn merge_patch(doc: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *doc = patch.clone();
        return;
    };
    if !doc.is_object() {
        *doc = Value::Object(Map::new());
    }
    let Value::Object(target) = doc else {
        return;
    };
    for (name, value) in patch {
        if value.is_null() {
            target.remove(name);
        } else {
            merge_patch(target.entry(name.clone()).or_insert(Value::Null), value);
        }
    }
}

/// Removes from `doc` every key whose value equals its default, and objects left empty, so
/// a full document (the effective config) keeps only what differs from the defaults.
pub fn prune_defaults(doc: &mut Value) {
    let defaults = Config::default().to_value();
    prune_against(doc, &defaults);
}

fn prune_against(doc: &mut Value, defaults: &Value) {
    let (Value::Object(doc), Value::Object(defaults)) = (doc, defaults) else {
        return;
    };
    doc.retain(|name, value| {
        let Some(default) = defaults.get(name) else {
            return true;
        };
        if value == default {
            return false;
        }
        if value.is_object() && default.is_object() {
            prune_against(value, default);
            return value.as_object().is_some_and(|o| !o.is_empty());
        }
        true
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_patch_merges_replaces_and_removes() {
        let mut doc = json!({"sync": {"intervalSeconds": 60, "autoSync": true}, "namespace": "x"});
        merge_patch(
            &mut doc,
            &json!({"sync": {"intervalSeconds": null, "maxTriplesPerSync": 200}, "namespace": "y",
                    "ui": {"notifications": false}}),
        );
        assert_eq!(
            doc,
            json!({"sync": {"autoSync": true, "maxTriplesPerSync": 200}, "namespace": "y",
                   "ui": {"notifications": false}})
        );
    }

    #[test]
    fn lists_are_replaced_whole() {
        let mut doc = json!({"sync": {"multiValuedPredicates": ["a", "b"]}});
        merge_patch(&mut doc, &json!({"sync": {"multiValuedPredicates": ["c"]}}));
        assert_eq!(doc, json!({"sync": {"multiValuedPredicates": ["c"]}}));
    }

    #[test]
    fn the_effective_defaults_prune_to_an_empty_file() {
        let mut doc = Config::default().to_value();
        prune_defaults(&mut doc);
        assert_eq!(doc, json!({}));
    }

    #[test]
    fn pruning_keeps_what_differs_and_unknown_keys() {
        let mut doc = Config::default().to_value();
        doc["sync"]["intervalSeconds"] = json!(60);
        doc["cortex"]["url"] = json!("http://127.0.0.1:8080");
        doc["extra"] = json!(1);
        prune_defaults(&mut doc);
        assert_eq!(
            doc,
            json!({"sync": {"intervalSeconds": 60}, "cortex": {"url": "http://127.0.0.1:8080"},
                   "extra": 1})
        );
        let parsed = crate::config::from_value(&{
            let mut d = doc.clone();
            d.as_object_mut().unwrap().remove("extra");
            d
        })
        .unwrap();
        assert_eq!(parsed.config.sync.interval_seconds, 60);
    }
}
