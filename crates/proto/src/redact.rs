//! Secrets never leave through the local API: the config document is shown with its secret
//! values replaced by [`REDACTED`], and a document sent back with the placeholder keeps the
//! secret in force (so a form can round-trip the config without knowing the secret).

use serde_json::Value;

use crate::config::Config;

/// What a secret value is shown as.
pub const REDACTED: &str = "<redacted>";

/// The dotted config keys whose values are secrets.
pub const SECRET_KEYS: &[&str] = &["cortex.authToken"];

/// [`Config::to_value`] with every set secret replaced by [`REDACTED`] (unset stays `null`).
pub fn config_value(config: &Config) -> Value {
    let mut doc = config.to_value();
    for key in SECRET_KEYS {
        if let Some(slot) = slot_mut(&mut doc, key) {
            if !slot.is_null() {
                *slot = Value::String(REDACTED.to_string());
            }
        }
    }
    doc
}

/// Puts the secrets of `current` back where `doc` holds [`REDACTED`]; any other value
/// (a new secret, or `null` to remove it) is the caller's choice and stays.
pub fn restore(doc: &mut Value, current: &Config) {
    let current = current.to_value();
    for key in SECRET_KEYS {
        let Some(slot) = slot_mut(doc, key) else {
            continue;
        };
        if slot.as_str() == Some(REDACTED) {
            *slot = slot_ref(&current, key).cloned().unwrap_or(Value::Null);
        }
    }
}

fn slot_mut<'a>(doc: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    key.split('.').try_fold(doc, |cur, part| cur.get_mut(part))
}

fn slot_ref<'a>(doc: &'a Value, key: &str) -> Option<&'a Value> {
    key.split('.').try_fold(doc, |cur, part| cur.get(part))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with_token(token: Option<&str>) -> Config {
        let doc = json!({"cortex": {"url": "http://127.0.0.1:1", "authToken": token}});
        crate::config::from_value(&doc).unwrap().config
    }

    #[test]
    fn a_set_token_is_shown_redacted_and_an_unset_one_null() {
        let shown = config_value(&with_token(Some("s3cret-value")));
        assert_eq!(shown["cortex"]["authToken"], REDACTED);
        assert!(!shown.to_string().contains("s3cret-value"));
        assert_eq!(
            config_value(&with_token(None))["cortex"]["authToken"],
            Value::Null
        );
    }

    #[test]
    fn the_placeholder_sent_back_keeps_the_secret() {
        let current = with_token(Some("s3cret-value"));
        let mut doc = config_value(&current);
        doc["sync"]["intervalSeconds"] = json!(120);
        restore(&mut doc, &current);
        let back = crate::config::from_value(&doc).unwrap().config;
        assert_eq!(back.cortex.auth_token.as_deref(), Some("s3cret-value"));
        assert_eq!(back.sync.interval_seconds, 120);
    }

    #[test]
    fn a_new_value_or_null_replaces_the_secret() {
        let current = with_token(Some("old"));
        let mut doc = json!({"cortex": {"authToken": "new"}});
        restore(&mut doc, &current);
        assert_eq!(doc["cortex"]["authToken"], "new");
        let mut doc = json!({"cortex": {"authToken": null}});
        restore(&mut doc, &current);
        assert_eq!(doc["cortex"]["authToken"], Value::Null);
        // No token in force: the placeholder means none.
        let mut doc = json!({"cortex": {"authToken": REDACTED}});
        restore(&mut doc, &with_token(None));
        assert_eq!(doc["cortex"]["authToken"], Value::Null);
        // A sparse document without the key is left alone.
        let mut doc = json!({"sync": {"autoSync": false}});
        restore(&mut doc, &current);
        assert_eq!(doc, json!({"sync": {"autoSync": false}}));
    }
}
