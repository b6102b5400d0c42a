//! `mayros config get|set|unset|check` (DESIGN §9).
//!
//! The file is found as the daemon finds it: `--config F`, else the running engine's file, else
//! `<data-dir>/config.json` when a data dir is given, else the per-user config dir. When an
//! engine runs on that file, `get` shows what it has in force and `set` goes through
//! `PUT /api/v1/sync/config`, which writes the file and re-applies it; otherwise the file is
//! read and written directly.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context as _};
use mayros_sync_node::paths;
use mayros_sync_proto::config::{self, Parsed};
use serde_json::{json, Map, Value};

use crate::cli::{ConfigArgs, ConfigCommand, GlobalArgs};
use crate::client::{ClientError, EngineClient};
use crate::{output, Reported};

/// Runs one `mayros config` operation.
pub async fn run(global: &GlobalArgs, args: ConfigArgs) -> anyhow::Result<()> {
    let target = Target::resolve(global, args.config.as_deref())?;
    match args.command {
        ConfigCommand::Get { key, json } => get(&target, key.as_deref(), json).await,
        ConfigCommand::Set { key, value } => {
            let value = config::parse_cli_value(&key, &value);
            change(&target, &key, Edit::Set(value)).await
        }
        ConfigCommand::Unset { key } => change(&target, &key, Edit::Unset).await,
        ConfigCommand::Check { json } => check(&target, json),
    }
}

/// The config file to work on and the engine that has it in force, if one runs.
struct Target {
    path: PathBuf,
    engine: Option<EngineClient>,
}

impl Target {
    fn resolve(global: &GlobalArgs, explicit: Option<&Path>) -> anyhow::Result<Target> {
        let data_dir = global.data_dir();
        let engine = match EngineClient::locate(&data_dir) {
            Ok(client) => Some(client),
            Err(ClientError::NotRunning { .. }) => None,
            Err(e) => {
                tracing::warn!("{e}; ignoring it and working on the config file directly");
                None
            }
        };
        let path = match (explicit, &engine) {
            (Some(p), _) => std::path::absolute(p)
                .with_context(|| format!("cannot resolve path {}", p.display()))?,
            (None, Some(c)) => c.info().config_path.clone(),
            (None, None) => paths::config_file(None, &data_dir, global.data_dir_given()),
        };
        // An engine that reads another file has nothing to say about this one.
        let engine = engine.filter(|c| same_file(&c.info().config_path, &path));
        Ok(Target { path, engine })
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Where the shown configuration came from.
enum Source {
    Engine,
    File { exists: bool },
}

/// The file's text, `None` when it does not exist.
fn read_text(path: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read config file {}", path.display())),
    }
}

/// Parses the file like the daemon does (missing → defaults); errors name the file and key.
fn parse_file(path: &Path) -> anyhow::Result<(Parsed, bool)> {
    let text = read_text(path)?;
    let exists = text.is_some();
    let parsed = config::parse(text.as_deref().unwrap_or(""))
        .map_err(|e| anyhow!("config file {}: {e}", path.display()))?;
    Ok((parsed, exists))
}

/// The effective config document and its warnings, from the engine when it answers.
async fn effective(target: &Target) -> anyhow::Result<(Value, Vec<String>, Source)> {
    if let Some(engine) = &target.engine {
        match engine.control_get("/api/v1/sync/config").await {
            Ok(answer) => {
                let doc = answer.json.get("config").cloned().unwrap_or(Value::Null);
                let warnings = answer
                    .json
                    .get("warnings")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|w| w.as_str().map(str::to_string))
                    .collect();
                return Ok((doc, warnings, Source::Engine));
            }
            Err(ClientError::NotRunning { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let (parsed, exists) = parse_file(&target.path)?;
    let warnings = parsed.warnings.iter().map(ToString::to_string).collect();
    Ok((parsed.config.to_value(), warnings, Source::File { exists }))
}

async fn get(target: &Target, key: Option<&str>, json: bool) -> anyhow::Result<()> {
    let (doc, warnings, source) = effective(target).await?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    match key {
        Some(key) => {
            let value = config::get_key(&doc, key).ok_or_else(|| unknown_key(key))?;
            if json {
                output::print(&serde_json::to_string_pretty(&value)?)?;
            } else {
                output::print(&output::config_value(&value))?;
            }
        }
        None if json => output::print(&serde_json::to_string_pretty(&doc)?)?,
        None => {
            let path = target.path.display();
            let header = match source {
                Source::Engine => format!("# in force in the running engine (file {path})"),
                Source::File { exists: true } => format!("# from {path}"),
                Source::File { exists: false } => {
                    format!("# {path} does not exist: all defaults")
                }
            };
            output::print(&format!("{header}\n{}", output::config_lines(&doc)))?;
        }
    }
    Ok(())
}

/// The error for a key that is neither a known key nor a section, with a "did you mean".
fn unknown_key(key: &str) -> anyhow::Error {
    // `set_key` on a scratch document yields the crate's message for unknown keys.
    match config::set_key(&mut Value::Null, key, Value::Null) {
        Err(e) => anyhow!(e),
        Ok(()) => anyhow!("config key `{key}`: not present"),
    }
}

/// A change to one key.
enum Edit {
    Set(Value),
    Unset,
}

async fn change(target: &Target, key: &str, edit: Edit) -> anyhow::Result<()> {
    let path = &target.path;
    let mut doc = match read_text(path)? {
        Some(text) if !text.trim().is_empty() => serde_json::from_str(&text).map_err(|e| {
            anyhow!(
                "config file {}: not valid JSON ({e}); fix or remove it first",
                path.display()
            )
        })?,
        _ => Value::Object(Map::new()),
    };
    let changed = match edit {
        Edit::Set(value) => {
            config::set_key(&mut doc, key, value)?;
            true
        }
        Edit::Unset => config::unset_key(&mut doc, key)?,
    };
    let parsed =
        config::from_value(&doc).map_err(|e| anyhow!("{e} ({} left unchanged)", path.display()))?;
    for w in &parsed.warnings {
        eprintln!("warning: {w}");
    }
    let effective = config::get_key(&parsed.config.to_value(), key)
        .map_or_else(|| "?".to_string(), |v| output::config_value(&v));
    if !changed {
        output::print(&format!(
            "{key} is not set in {}; it is {effective} (the default)",
            path.display()
        ))?;
        return Ok(());
    }

    let applied = match &target.engine {
        Some(engine) => match engine.control_put("/api/v1/sync/config", &doc).await {
            Ok(_) => true,
            Err(ClientError::NotRunning { .. }) => false,
            Err(e) => return Err(anyhow!(e).context("the running engine refused the change")),
        },
        None => false,
    };
    if !applied {
        write_file(path, &doc)?;
    }
    let how = if applied {
        "the running engine applied it"
    } else {
        "no engine is running on it; it applies when one starts"
    };
    output::print(&format!(
        "{key} = {effective} (saved in {}; {how})",
        path.display()
    ))?;
    Ok(())
}

/// Writes the document atomically with mode 0600 (it may hold `cortex.authToken`).
fn write_file(path: &Path, doc: &Value) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(doc)?;
    text.push('\n');
    mayros_sync_node::daemon::write_file_atomic(path, text.as_bytes(), 0o600)?;
    Ok(())
}

fn check(target: &Target, json: bool) -> anyhow::Result<()> {
    let path = &target.path;
    let text = read_text(path)?;
    let exists = text.is_some();
    match config::parse(text.as_deref().unwrap_or("")) {
        Ok(parsed) => {
            let warnings: Vec<String> = parsed.warnings.iter().map(ToString::to_string).collect();
            if json {
                let body =
                    json!({"ok": true, "path": path, "exists": exists, "warnings": warnings});
                output::print(&serde_json::to_string_pretty(&body)?)?;
            } else {
                let mut out = format!("config OK: {}", path.display());
                if !exists {
                    out.push_str(" (does not exist: all defaults)");
                }
                for w in &warnings {
                    out.push_str(&format!("\nwarning: {w}"));
                }
                output::print(&out)?;
            }
            Ok(())
        }
        Err(e) if json => {
            let key = match &e {
                mayros_sync_proto::Error::Config { key, .. } => Some(key.clone()),
                _ => None,
            };
            let body = json!({
                "ok": false, "path": path, "exists": exists,
                "error": e.to_string(), "key": key, "warnings": [],
            });
            output::print(&serde_json::to_string_pretty(&body)?)?;
            Err(Reported.into())
        }
        Err(e) => Err(anyhow!("config file {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn unknown_keys_get_a_suggestion() {
        let text = unknown_key("sync.intervalSecs").to_string();
        assert!(text.contains("sync.intervalSecs"), "{text}");
        assert!(text.contains("intervalSeconds"), "{text}");
    }

    #[test]
    fn a_missing_file_parses_as_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let (parsed, exists) = parse_file(&dir.path().join("config.json")).unwrap();
        assert!(!exists);
        assert_eq!(parsed.config, config::Config::default());
    }

    #[test]
    fn file_errors_name_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, r#"{"sync":{"intervalSeconds":"x"}}"#).unwrap();
        let text = parse_file(&path).unwrap_err().to_string();
        assert!(text.contains("sync.intervalSeconds"), "{text}");
        assert!(text.contains(&path.display().to_string()), "{text}");
    }

    #[test]
    fn same_file_compares_resolved_paths() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        std::fs::write(&path, "{}").unwrap();
        assert!(same_file(&path, &dir.path().join(".").join("c.json")));
        assert!(!same_file(&path, &dir.path().join("other.json")));
    }
}
