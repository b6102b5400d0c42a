//! `ui/src/config_keys.ts`, rendered from [`KEY_SPECS`] and checked to be the committed file.
//!
//! `MAYROS_BLESS=1 cargo test -p mayros-sync-proto --lib config_keys_ts` writes the file anew.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::keys::{KeyKind, KEY_SPECS};

/// The command that regenerates the file.
const REGENERATE: &str = "MAYROS_BLESS=1 cargo test -p mayros-sync-proto --lib config_keys_ts";

/// The TypeScript module: `CONFIG_KEYS`, one object per key of the table, in table order.
fn render() -> String {
    let mut out = format!(
        "// Generated from the key table KEY_SPECS in crates/proto/src/config/keys.rs: do not edit.\n\
         // Regenerate with: {REGENERATE}\n\
         \n\
         /** Every configuration key (DESIGN §9): kind, inclusive range, default, allowed values,\n \
         * whether the window's settings form sets it, and what it does. */\n\
         export const CONFIG_KEYS = [\n"
    );
    for spec in KEY_SPECS {
        let (min, max) = spec.range().map_or((Value::Null, Value::Null), |r| {
            ((*r.start()).into(), (*r.end()).into())
        });
        let values = match spec.kind {
            KeyKind::Enum { values } => Value::from(values.to_vec()),
            _ => Value::Null,
        };
        let fields: [(&str, Value); 8] = [
            ("key", spec.key.into()),
            ("kind", spec.kind.name().into()),
            ("min", min),
            ("max", max),
            ("default", spec.default_value()),
            ("values", values),
            ("window", spec.window.into()),
            ("description", spec.description.into()),
        ];
        out.push_str("  {\n");
        for (name, value) in fields {
            out.push_str(&format!("    {name}: {},\n", literal(&value)));
        }
        out.push_str("  },\n");
    }
    out.push_str(
        "] as const;\n\
         \n\
         /** One entry of CONFIG_KEYS. */\n\
         export type ConfigKeySpec = (typeof CONFIG_KEYS)[number];\n",
    );
    out
}

/// `value` as a TypeScript literal: JSON, with a space after each comma of an array.
fn literal(value: &Value) -> String {
    match value {
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(literal).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

/// Where the file lives: `ui/src/config_keys.ts` from the repository root, found at run time
/// (clones share build artefacts, so the path cannot be baked in at build time).
fn target() -> PathBuf {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    // CARGO_MANIFEST_DIR is <root>/crates/proto.
    let root = Path::new(&manifest)
        .ancestors()
        .nth(2)
        .unwrap_or(Path::new("."));
    root.join("ui/src/config_keys.ts")
}

#[test]
fn config_keys_ts_is_rendered_from_the_key_table() {
    let path = target();
    let want = render();
    if std::env::var("MAYROS_BLESS").as_deref() == Ok("1") {
        std::fs::write(&path, &want).expect("write ui/src/config_keys.ts");
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "ui/src/config_keys.ts ({}) is not what the config key table renders; regenerate it \
         with: {REGENERATE}",
        path.display()
    );
}
