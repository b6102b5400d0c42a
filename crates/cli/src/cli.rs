//! The command line (clap derive types), DESIGN §8.
//!
//! Only parsing lives here; each subcommand is carried out by its module under `commands/`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
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
    /// Print the web UI's address for the running engine, with the control token in its
    /// fragment, and open it in a browser when a desktop session is available.
    Ui(UiArgs),
}

/// Flags of `mayros ui`.
#[derive(Debug, Clone, Args)]
pub struct UiArgs {
    /// Only print the address; never start a browser.
    #[arg(long)]
    pub no_open: bool,
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
    /// Peer HTTPS API address, reachable by the other devices (port 0 picks a free port)
    /// [default: 0.0.0.0:19092]
    #[arg(long, value_name = "ADDR")]
    pub peer_api: Option<SocketAddr>,
    /// QUIC address for native gossip (port 0 picks a free port) [default: 0.0.0.0:19091 once
    /// native sync exists]
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
    /// Create a one-time invite code (valid 10 min) for another device to join this one.
    ///
    /// The code is printed alone on the last line of stdout; give it to
    /// `mayros sync pair --code <invite>` on the other device.
    Invite {
        /// Print `{code, expiresAt}`.
        #[arg(long)]
        json: bool,
    },
    /// Pair with another device (`<host:port|node-id>`, `--accept/--reject <node-id>`,
    /// `--code <invite>`), or record the endpoint of a paired one (`<node-id> <endpoint>`).
    Pair(PairArgs),
    /// List pending pairing requests from other devices.
    Requests {
        /// Print `[{nodeId, name, address, code, expiresAt}]`.
        #[arg(long)]
        json: bool,
    },
    /// List nearby devices found by mDNS or `discovery.manualPeers`, paired or not.
    Discover {
        /// Print `[{nodeId, name, addresses, quicPort, httpsPort, paired, lastSeen}]`.
        #[arg(long)]
        json: bool,
    },
    /// Remove a device from the group: every member refuses it, the group seed is rotated.
    Unpair {
        /// Node id, id prefix (≥ 8 digits) or name of the device.
        peer: String,
        /// Print the engine's answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the paired devices with their last sync and counters.
    Peers {
        /// Print the peer list JSON.
        #[arg(long)]
        json: bool,
    },
    /// Sync now with every peer, or one; returns when done (exit 1 if any peer failed).
    Now {
        /// Only this peer (node id or name).
        peer: Option<String>,
        /// Print the engine's answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run a Mayros hook (a sync of all peers when `sync.autoSync` is on, in polled mode).
    Hook {
        /// Which hook.
        #[arg(value_enum)]
        event: HookEvent,
        /// Print the engine's answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List resolved conflicts (both values), or restore a losing value.
    Conflicts(ConflictsArgs),
    /// List the items held for review (old items a stale peer offered that may have been
    /// deleted here), or accept or discard one.
    Review(ReviewArgs),
    /// Pause syncing, for some minutes or until `mayros sync resume`.
    Pause {
        /// Minutes to pause [default: until resumed].
        #[arg(value_parser = clap::value_parser!(u64).range(1..=MAX_PAUSE_MINUTES), conflicts_with = "peer")]
        minutes: Option<u64>,
        /// Pause only this peer (node id, id prefix or name), until resumed.
        #[arg(long)]
        peer: Option<String>,
        /// Print the engine's answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Resume syncing after `mayros sync pause`.
    Resume {
        /// Resume only this peer (node id, id prefix or name).
        #[arg(long)]
        peer: Option<String>,
        /// Print the engine's answer as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// The longest pause accepted on the command line (one year).
pub const MAX_PAUSE_MINUTES: u64 = 366 * 24 * 60;

/// `mayros sync pair …`.
///
/// Forms: `<host:port|node-id>` (click-to-pair, DESIGN §7.2: prints the code, waits for the
/// other side), `--accept <node-id>` / `--reject <node-id>` (answer a request), `--code <invite>`
/// (join the inviter's group), `<node-id> <endpoint>` (record where a roster member's peer API is).
#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("mode").required(true).args(["code", "target", "accept", "reject"])))]
pub struct PairArgs {
    /// Accept the pending pairing request of this node id (prints its code first).
    #[arg(long, value_name = "NODE_ID")]
    pub accept: Option<String>,
    /// Reject the pending pairing request of this node id.
    #[arg(long, value_name = "NODE_ID")]
    pub reject: Option<String>,
    /// When both devices are in a group, which one to keep: `mine` or `theirs`.
    #[arg(long, value_name = "GROUP", value_parser = ["mine", "theirs"])]
    pub group: Option<String>,
    /// Invite code from `mayros sync invite` on the other device (`mayros1-…`).
    #[arg(long, value_name = "INVITE")]
    pub code: Option<String>,
    /// Node id of a device already in the group (64 hexadecimal digits).
    #[arg(value_name = "TARGET")]
    pub target: Option<String>,
    /// Its peer API address, `host:port`.
    #[arg(value_name = "ENDPOINT", requires = "target")]
    pub endpoint: Option<String>,
    /// Print the engine's answer as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The hooks Mayros calls (DESIGN §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HookEvent {
    /// An agent finished a run.
    AgentEnd,
    /// The configuration changed.
    ConfigChange,
}

impl HookEvent {
    /// The last path segment of the hook's route (`/api/v1/sync/hooks/<segment>`).
    pub fn segment(self) -> &'static str {
        match self {
            HookEvent::AgentEnd => "agent-end",
            HookEvent::ConfigChange => "config-change",
        }
    }
}

/// `mayros sync conflicts [restore <id>]`.
#[derive(Debug, Clone, Args)]
pub struct ConflictsArgs {
    /// Print the conflict log JSON.
    #[arg(long)]
    pub json: bool,
    /// Without an operation: list the conflicts.
    #[command(subcommand)]
    pub command: Option<ConflictsCommand>,
}

/// The operations of `mayros sync conflicts`.
#[derive(Debug, Clone, Subcommand)]
pub enum ConflictsCommand {
    /// Bring back the value(s) a conflict resolution removed.
    Restore {
        /// The conflict's id, as listed.
        id: String,
        /// Print the engine's answer as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `mayros sync review [accept|discard <id>]`.
#[derive(Debug, Clone, Args)]
pub struct ReviewArgs {
    /// Print the review queue JSON.
    #[arg(long)]
    pub json: bool,
    /// Without an operation: list the held items.
    #[command(subcommand)]
    pub command: Option<ReviewCommand>,
}

/// The operations of `mayros sync review`.
#[derive(Debug, Clone, Subcommand)]
pub enum ReviewCommand {
    /// Bring the item back on purpose: it is written here as a new local write and syncs.
    Accept {
        /// The item's id (64 hex digits), as listed.
        id: String,
        /// Print the engine's answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Drop the item for good: it is deleted (a tombstone), so no peer offers it again.
    Discard {
        /// The item's id (64 hex digits), as listed.
        id: String,
        /// Print the engine's answer as JSON.
        #[arg(long)]
        json: bool,
    },
}

impl ReviewCommand {
    /// The last path segment of the decision's route (`accept` or `discard`).
    pub fn segment(&self) -> &'static str {
        match self {
            ReviewCommand::Accept { .. } => "accept",
            ReviewCommand::Discard { .. } => "discard",
        }
    }
}

impl Cli {
    /// Checks what clap cannot express; the error is a usage error (exit 2).
    pub fn check(&self) -> Result<(), clap::Error> {
        let Command::Sync {
            command: SyncCommand::Pair(pair),
        } = &self.command
        else {
            return Ok(());
        };
        if pair.group.is_some() && pair.accept.is_none() {
            return Err(pair_usage_error(
                ErrorKind::ArgumentConflict,
                "--group only goes with --accept <node-id>".to_string(),
            ));
        }
        let Some(target) = pair.target.as_deref() else {
            return Ok(());
        };
        let Some(endpoint) = pair.endpoint.as_deref() else {
            if target.starts_with(INVITE_PREFIX) {
                return Err(pair_usage_error(
                    ErrorKind::InvalidValue,
                    format!(
                        "{target:?} looks like an invite code: run `mayros sync pair --code {target}`"
                    ),
                ));
            }
            // Click-to-pair with `<host:port|node-id>`.
            return Ok(());
        };
        if !is_node_id(target) {
            return Err(pair_usage_error(
                ErrorKind::InvalidValue,
                format!(
                    "{target:?} is not a node id (64 hexadecimal digits); \
                     `mayros sync pair <node-id> <endpoint>` needs one"
                ),
            ));
        }
        if let Err(why) = check_endpoint(endpoint) {
            return Err(pair_usage_error(
                ErrorKind::InvalidValue,
                format!("{endpoint:?} is not a peer endpoint: {why}"),
            ));
        }
        Ok(())
    }
}

/// How every invite code starts (DESIGN §7.2).
pub const INVITE_PREFIX: &str = "mayros1-";

/// A usage error shown with the usage line of `mayros sync pair`.
fn pair_usage_error(kind: ErrorKind, message: String) -> clap::Error {
    let mut root = <Cli as clap::CommandFactory>::command();
    root.build();
    match root
        .find_subcommand_mut("sync")
        .and_then(|s| s.find_subcommand_mut("pair"))
    {
        Some(pair) => pair.error(kind, message),
        None => root.error(kind, message),
    }
}

/// 64 hexadecimal digits (either case; the CLI sends them lowercased).
pub fn is_node_id(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `host:port` with a non-empty host and a port in 1–65535 (`[v6]:port` for IPv6).
pub fn check_endpoint(text: &str) -> Result<(), &'static str> {
    if text.contains("://") || text.contains('/') {
        return Err("give host:port without a scheme or path");
    }
    let (host, port) = text
        .rsplit_once(':')
        .ok_or("expected host:port, e.g. 192.168.1.20:19092")?;
    if host.is_empty() || host == "[]" {
        return Err("the host is empty");
    }
    if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
        return Err("write an IPv6 address in brackets, e.g. [fe80::1]:19092");
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err("the port must be a number from 1 to 65535"),
    }
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

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        let mut full = vec!["mayros"];
        full.extend_from_slice(args);
        let cli = Cli::try_parse_from(full)?;
        cli.check()?;
        Ok(cli)
    }

    fn sync(args: &[&str]) -> SyncCommand {
        match parse(args).unwrap().command {
            Command::Sync { command } => command,
            other => panic!("{other:?}"),
        }
    }

    const ID: &str = "3f0c1a2b4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8";

    #[test]
    fn pair_with_a_code() {
        match sync(&["sync", "pair", "--code", "mayros1-abc"]) {
            SyncCommand::Pair(p) => {
                assert_eq!(p.code.as_deref(), Some("mayros1-abc"));
                assert_eq!(p.target, None);
                assert!(!p.json);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pair_with_node_id_and_endpoint() {
        match sync(&["sync", "pair", ID, "192.168.1.20:19092", "--json"]) {
            SyncCommand::Pair(p) => {
                assert_eq!(p.target.as_deref(), Some(ID));
                assert_eq!(p.endpoint.as_deref(), Some("192.168.1.20:19092"));
                assert!(p.json);
            }
            other => panic!("{other:?}"),
        }
        let upper = ID.to_uppercase();
        assert!(parse(&["sync", "pair", &upper, "[::1]:1"]).is_ok());
    }

    #[test]
    fn pair_usage_errors_exit_2() {
        let cases: &[(&[&str], &str)] = &[
            (&["sync", "pair"], "required"),
            (&["sync", "pair", "--code", "x", ID], "cannot be used with"),
            (
                &["sync", "pair", "--accept", ID, "--reject", ID],
                "cannot be used with",
            ),
            (&["sync", "pair", ID, "--group", "mine"], "--accept"),
            (
                &["sync", "pair", "--accept", ID, "--group", "both"],
                "possible values",
            ),
            (
                &["sync", "pair", "mayros1-xyz"],
                "mayros sync pair --code mayros1-xyz",
            ),
            (&["sync", "pair", "abc", "h:1"], "not a node id"),
            (&["sync", "pair", ID, "nohost"], "host:port"),
            (&["sync", "pair", ID, "h:0"], "port"),
            (&["sync", "pair", ID, "http://h:1"], "scheme"),
            (&["sync", "pair", ID, "fe80::1:5"], "brackets"),
        ];
        for (args, needle) in cases {
            let err = parse(args).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?}: {err}");
            let text = err.to_string();
            assert!(text.contains(needle), "{args:?}: {needle:?} not in {text}");
        }
        // The usage shown is the subcommand's.
        let err = parse(&["sync", "pair", "mayros1-x"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("Usage: mayros sync pair"), "{err}");
        // Click-to-pair forms parse.
        for ok in [
            &["sync", "pair", ID][..],
            &["sync", "pair", "box.local:19091"][..],
            &["sync", "pair", "--accept", ID, "--group", "theirs"][..],
            &["sync", "pair", "--reject", ID][..],
        ] {
            assert!(parse(ok).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn now_hook_pause_and_conflicts() {
        match sync(&["sync", "now"]) {
            SyncCommand::Now { peer, json } => assert!(peer.is_none() && !json),
            other => panic!("{other:?}"),
        }
        match sync(&["sync", "now", "laptop", "--json"]) {
            SyncCommand::Now { peer, json } => {
                assert_eq!(peer.as_deref(), Some("laptop"));
                assert!(json);
            }
            other => panic!("{other:?}"),
        }
        for (arg, event) in [
            ("agent-end", HookEvent::AgentEnd),
            ("config-change", HookEvent::ConfigChange),
        ] {
            match sync(&["sync", "hook", arg]) {
                SyncCommand::Hook { event: e, .. } => {
                    assert_eq!(e, event);
                    assert_eq!(e.segment(), arg);
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            parse(&["sync", "hook", "agent_end"])
                .unwrap_err()
                .exit_code(),
            2
        );
        match sync(&["sync", "pause", "15"]) {
            SyncCommand::Pause { minutes, .. } => assert_eq!(minutes, Some(15)),
            other => panic!("{other:?}"),
        }
        match sync(&["sync", "pause"]) {
            SyncCommand::Pause { minutes, .. } => assert_eq!(minutes, None),
            other => panic!("{other:?}"),
        }
        match sync(&["sync", "pause", "--peer", "alpha"]) {
            SyncCommand::Pause { minutes, peer, .. } => {
                assert_eq!((minutes, peer.as_deref()), (None, Some("alpha")))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            Cli::try_parse_from(["mayros", "sync", "pause", "5", "--peer", "alpha"])
                .unwrap_err()
                .exit_code(),
            2,
            "a peer is paused until resumed, not for minutes"
        );
        for bad in ["0", "-5", "soon"] {
            assert_eq!(
                parse(&["sync", "pause", bad]).unwrap_err().exit_code(),
                2,
                "{bad}"
            );
        }
        match sync(&["sync", "conflicts", "--json"]) {
            SyncCommand::Conflicts(c) => assert!(c.json && c.command.is_none()),
            other => panic!("{other:?}"),
        }
        match sync(&["sync", "conflicts", "restore", "7"]) {
            SyncCommand::Conflicts(ConflictsArgs {
                command: Some(ConflictsCommand::Restore { id, json }),
                ..
            }) => assert_eq!((id.as_str(), json), ("7", false)),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse(&["sync", "conflicts", "restore"])
                .unwrap_err()
                .exit_code(),
            2
        );
    }

    #[test]
    fn review_list_accept_and_discard() {
        match sync(&["sync", "review"]) {
            SyncCommand::Review(r) => assert!(!r.json && r.command.is_none()),
            other => panic!("{other:?}"),
        }
        match sync(&["sync", "review", "--json"]) {
            SyncCommand::Review(r) => assert!(r.json && r.command.is_none()),
            other => panic!("{other:?}"),
        }
        match sync(&["sync", "review", "accept", "ab12"]) {
            SyncCommand::Review(ReviewArgs {
                command: Some(ReviewCommand::Accept { id, json }),
                ..
            }) => {
                assert_eq!((id.as_str(), json), ("ab12", false));
                assert_eq!(ReviewCommand::Accept { id, json }.segment(), "accept");
            }
            other => panic!("{other:?}"),
        }
        match sync(&["sync", "review", "discard", "ab12", "--json"]) {
            SyncCommand::Review(ReviewArgs {
                command: Some(c @ ReviewCommand::Discard { json: true, .. }),
                ..
            }) => assert_eq!(c.segment(), "discard"),
            other => panic!("{other:?}"),
        }
        for bad in [
            &["sync", "review", "accept"][..],
            &["sync", "review", "discard"][..],
            &["sync", "review", "keep", "ab12"][..],
        ] {
            assert_eq!(parse(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn endpoints() {
        for ok in ["127.0.0.1:19092", "box.local:1", "[::1]:65535"] {
            assert!(check_endpoint(ok).is_ok(), "{ok}");
        }
        for bad in [":1", "h:", "h:65536", "h:x", "h", "[]:1", "h:1/x"] {
            assert!(check_endpoint(bad).is_err(), "{bad}");
        }
    }
}
