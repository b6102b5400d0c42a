//! The command line (clap derive types), DESIGN §8.
//!
//! Only parsing lives here; each subcommand is carried out by its module under `commands/`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use mayros_sync_node::paths;
use mayros_sync_proto::TripleId;

/// `mayros`: the headless Mayros Sync engine and the tools that talk to it.
#[derive(Debug, Parser)]
#[command(name = "mayros", version, about, propagate_version = true)]
pub struct Cli {
    /// Options accepted before or after any subcommand.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Data directory of the engine [default: ~/.local/share/mayros-sync]
    #[arg(long, global = true, env = paths::DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

impl GlobalArgs {
    /// The data directory: the one given (flag or environment), else the per-user default.
    pub fn data_dir(&self) -> PathBuf {
        self.given_data_dir()
            .map_or_else(paths::default_data_dir, |d| d.to_path_buf())
    }

    /// Whether a data dir was given explicitly (it then decides the default config file, §9).
    pub fn data_dir_given(&self) -> bool {
        self.given_data_dir().is_some()
    }

    fn given_data_dir(&self) -> Option<&std::path::Path> {
        self.data_dir
            .as_deref()
            .filter(|d| !d.as_os_str().is_empty())
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the sync engine in the foreground (prints one `ready …` line on stdout).
    Daemon(DaemonArgs),
    /// Read and write triples of the running engine's Cortex (for scripts).
    Cortex {
        /// Which operation.
        #[command(subcommand)]
        command: CortexCommand,
    },
    /// Read, change or validate the configuration file.
    Config(ConfigArgs),
    /// Inspect and control synchronisation.
    Sync {
        /// Which operation.
        #[command(subcommand)]
        command: SyncCommand,
    },
}

/// Flags of `mayros daemon`.
#[derive(Debug, Clone, Args)]
pub struct DaemonArgs {
    /// Configuration file [default: <data-dir>/config.json when a data dir is given]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Local API address (loopback only; port 0 picks a free port)
    #[arg(long, value_name = "ADDR", default_value = mayros_sync_node::daemon::DEFAULT_API_ADDR)]
    pub api: SocketAddr,
    /// Peer HTTPS API address (not served yet)
    #[arg(long, value_name = "ADDR")]
    pub peer_api: Option<SocketAddr>,
    /// QUIC address (not served yet)
    #[arg(long, value_name = "ADDR")]
    pub quic: Option<SocketAddr>,
    /// Device name shown to other devices [default: the host name]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

/// `mayros cortex …`.
#[derive(Debug, Clone, Subcommand)]
pub enum CortexCommand {
    /// Assert a triple (prints `created <id>` or `exists <id>`).
    Put {
        /// Subject, e.g. `mayros:agent:a1`.
        subject: String,
        /// Predicate, e.g. `mayros:likes`.
        predicate: String,
        /// Object: JSON when it parses (42, true, null, {"node":"ex:b"}, …), else a string.
        #[arg(allow_hyphen_values = true)]
        object: String,
        /// Take the object as a plain string even when it parses as JSON.
        #[arg(long)]
        string: bool,
        /// Print the stored triple as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one triple.
    Get {
        /// Triple id (64 hexadecimal digits).
        #[arg(value_parser = parse_triple_id)]
        id: TripleId,
        /// Print the triple as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List triples, optionally filtered by subject and predicate.
    List {
        /// Only triples with this subject.
        #[arg(long)]
        subject: Option<String>,
        /// Only triples with this predicate.
        #[arg(long)]
        predicate: Option<String>,
        /// Page size [engine default: 100].
        #[arg(long)]
        limit: Option<u64>,
        /// Rows to skip.
        #[arg(long)]
        offset: Option<u64>,
        /// Print the page as JSON (`{triples, total, limit, offset}`).
        #[arg(long)]
        json: bool,
    },
    /// Delete a triple (a durable tombstone that syncs).
    Delete {
        /// Triple id (64 hexadecimal digits).
        #[arg(value_parser = parse_triple_id)]
        id: TripleId,
    },
}

/// `mayros config …`.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// Configuration file [default: the running engine's, else <data-dir>/config.json when a
    /// data dir is given, else ~/.config/mayros-sync/config.json]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Which operation.
    #[command(subcommand)]
    pub command: ConfigCommand,
}

/// The operations of `mayros config`.
#[derive(Debug, Clone, Subcommand)]
pub enum ConfigCommand {
    /// Show the effective configuration, or one key of it.
    Get {
        /// Dotted key (e.g. `sync.intervalSeconds`) or section (e.g. `sync`).
        key: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Set one key; the running engine re-applies the file.
    Set {
        /// Dotted key, e.g. `sync.intervalSeconds`.
        key: String,
        /// Value: JSON when it parses (120, true, ["lo"]), else a string.
        #[arg(allow_hyphen_values = true)]
        value: String,
    },
    /// Remove one key from the file so that it takes its default again.
    Unset {
        /// Dotted key, e.g. `sync.intervalSeconds`.
        key: String,
    },
    /// Validate the configuration file (exit 1 when it is invalid).
    Check {
        /// Print `{ok, path, exists, warnings, error?, key?}`.
        #[arg(long)]
        json: bool,
    },
}

/// `mayros sync …`.
#[derive(Debug, Clone, Subcommand)]
pub enum SyncCommand {
    /// Show the engine's mode, Cortex health, peers and counters.
    Status {
        /// Print the status JSON exactly as the engine returns it.
        #[arg(long)]
        json: bool,
    },
}

fn parse_triple_id(text: &str) -> Result<TripleId, String> {
    text.parse()
        .map_err(|e: mayros_sync_proto::Error| e.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn data_dir_is_global() {
        let before = Cli::try_parse_from(["mayros", "--data-dir", "/d", "sync", "status"]).unwrap();
        let after = Cli::try_parse_from(["mayros", "sync", "status", "--data-dir", "/d"]).unwrap();
        assert_eq!(before.global.data_dir, Some(PathBuf::from("/d")));
        assert_eq!(after.global.data_dir, Some(PathBuf::from("/d")));
        assert!(after.global.data_dir_given());
    }

    #[test]
    fn negative_numbers_are_objects_not_flags() {
        let cli = Cli::try_parse_from(["mayros", "cortex", "put", "s", "p", "-5"]).unwrap();
        match cli.command {
            Command::Cortex {
                command: CortexCommand::Put { object, .. },
            } => assert_eq!(object, "-5"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ids_are_checked_while_parsing() {
        let err = Cli::try_parse_from(["mayros", "cortex", "get", "nope"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("64 hexadecimal digits"), "{err}");
    }

    #[test]
    fn config_file_flag_goes_before_or_after_the_operation() {
        for args in [
            ["mayros", "config", "--config", "/c.json", "check"],
            ["mayros", "config", "check", "--config", "/c.json"],
        ] {
            let cli = Cli::try_parse_from(args).unwrap();
            match cli.command {
                Command::Config(c) => assert_eq!(c.config, Some(PathBuf::from("/c.json"))),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn api_defaults_to_the_documented_port() {
        let cli = Cli::try_parse_from(["mayros", "daemon"]).unwrap();
        match cli.command {
            Command::Daemon(d) => assert_eq!(d.api.to_string(), "127.0.0.1:19090"),
            other => panic!("{other:?}"),
        }
    }
}
