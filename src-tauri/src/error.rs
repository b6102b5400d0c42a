//! The one error type of the shell, and the `{kind, message}` shape commands return.

use serde::Serialize;

/// Everything that can go wrong in the shell (the engine's own failures arrive as
/// [`mayros_sync_node::Error`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The engine could not start or stop.
    #[error(transparent)]
    Engine(#[from] mayros_sync_node::Error),
    /// Tauri refused an operation (window, tray, menu, event).
    #[error("desktop shell: {0}")]
    Tauri(#[from] tauri::Error),
    /// Start at login could not be read or changed.
    #[error("start at login: {0}")]
    Autostart(String),
    /// A desktop notification could not be shown, updated or closed.
    #[error("notification: {0}")]
    Notify(String),
    /// A menu event with an id that is none of ours.
    #[error("unknown menu id {0:?}")]
    UnknownMenuId(String),
    /// A file or path problem.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// What the OS said.
        source: std::io::Error,
    },
}

/// The error of every `#[tauri::command]`: `kind` is the engine's `code` (e.g. `INVALID_CONFIG`)
/// or a shell kind (`AUTOSTART`, `ENGINE_DOWN`, `INTERNAL`), `message` what to show the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CommandError {
    /// Machine-readable kind.
    pub kind: String,
    /// Human-readable message.
    pub message: String,
    /// The config key at fault, when the engine names one (`INVALID_CONFIG`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl CommandError {
    /// Shell kind: the engine is not running (it failed to start, or is stopping).
    pub const ENGINE_DOWN: &'static str = "ENGINE_DOWN";
    /// Shell kind: start at login could not be read or changed.
    pub const AUTOSTART: &'static str = "AUTOSTART";
    /// Shell kind: anything else that went wrong inside the shell.
    pub const INTERNAL: &'static str = "INTERNAL";

    /// An error of `kind` with `message`.
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> CommandError {
        CommandError {
            kind: kind.into(),
            message: message.into(),
            field: None,
        }
    }
}

impl From<Error> for CommandError {
    fn from(e: Error) -> CommandError {
        let kind = match &e {
            Error::Autostart(_) => CommandError::AUTOSTART,
            Error::Engine(_) => CommandError::ENGINE_DOWN,
            _ => CommandError::INTERNAL,
        };
        CommandError::new(kind, e.to_string())
    }
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for CommandError {}
