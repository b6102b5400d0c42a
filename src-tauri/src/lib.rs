//! The Mayros Sync tray app: a thin Tauri 2 shell around the sync engine of
//! `mayros-sync-node`, run in-process (DESIGN §10). It adds the tray icon and menu, the window
//! with the web UI, desktop notifications and start at login; every action goes through the
//! engine's own local API router, so the app and a browser hit the same code.
#![warn(missing_docs)]

pub mod autostart;
pub mod commands;
pub mod engine_host;
pub mod engine_watch;
pub mod error;
pub mod menu;
pub mod notifier;
pub mod notify_policy;
pub mod shell_state;
pub mod single_instance;
pub mod tray;
pub mod tray_state;
pub mod ui_events;
pub mod window;

use std::io::IsTerminal as _;
use std::sync::Arc;

use clap::Parser;
use tauri::{Manager, RunEvent, Runtime};
use time::UtcOffset;

use crate::engine_host::{EngineArgs, EngineHost};
use crate::menu::MenuInputs;
use crate::notifier::{DesktopNotifier, Notifier};
pub use crate::shell_state::{EngineSlot, ShellState};
use crate::tray_state::{TrayState, TrayView};

/// `mayros-sync [--hidden] [--data-dir D] [--api ADDR] [--peer-api ADDR] [--quic ADDR]`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "mayros-sync",
    version,
    about = "Mayros Sync: the sync engine in your tray"
)]
pub struct Args {
    /// Start in the tray without showing the window (used by start at login)
    #[arg(long)]
    pub hidden: bool,
    /// Data directory of the engine [default: ~/.local/share/mayros-sync]
    #[arg(long, env = mayros_sync_node::paths::DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: Option<std::path::PathBuf>,
    /// Local API address (loopback; a free port is taken when it is in use)
    /// [default: 127.0.0.1:19090]
    #[arg(long, value_name = "ADDR")]
    pub api: Option<std::net::SocketAddr>,
    /// HTTPS peer API address for polled mode (port 0 picks a free one) [default: 0.0.0.0:19092]
    #[arg(long, value_name = "ADDR")]
    pub peer_api: Option<std::net::SocketAddr>,
    /// QUIC endpoint address for native mode (port 0 picks a free one) [default: 0.0.0.0:19091]
    #[arg(long, value_name = "ADDR")]
    pub quic: Option<std::net::SocketAddr>,
}

/// How to start the shell.
pub struct Launch {
    /// Start without showing the window.
    pub hidden: bool,
    /// The engine, or why it could not start.
    pub engine: EngineSlot,
    /// Where notification decisions go.
    pub notifier: Arc<dyn Notifier>,
    /// Create the tray icon (needs GTK; the mock runtime of tests cannot).
    pub tray: bool,
    /// Load the autostart plugin.
    pub autostart: bool,
    /// Hand over to an app already running on this data dir (see [`single_instance`]).
    pub single_instance: Option<std::path::PathBuf>,
    /// The local UTC offset, read at start-up (before any thread exists).
    pub local_offset: UtcOffset,
}

impl std::fmt::Debug for Launch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Launch")
            .field("hidden", &self.hidden)
            .field("engine", &self.engine)
            .field("tray", &self.tray)
            .field("autostart", &self.autostart)
            .finish_non_exhaustive()
    }
}

/// Builds the app on any runtime: state, commands, plugins, window, tray, and the tasks that
/// follow the engine. Tests pass `tauri::test::mock_builder()` and a mock context.
pub fn run_app<R: Runtime>(
    builder: tauri::Builder<R>,
    launch: Launch,
    context: tauri::Context<R>,
) -> tauri::Result<tauri::App<R>> {
    let state = ShellState::new(launch.engine, launch.local_offset);
    let mut builder = builder
        .manage(state.clone())
        .invoke_handler(tauri::generate_handler![
            commands::get_status,
            commands::get_p2p_status,
            commands::sync_now,
            commands::pause_sync,
            commands::resume_sync,
            commands::list_peers,
            commands::unpair_peer,
            commands::list_nearby,
            commands::pair_device,
            commands::pair_session,
            commands::pair_requests,
            commands::decide_pair_request,
            commands::list_conflicts,
            commands::restore_conflict,
            commands::get_config,
            commands::put_config,
            commands::patch_config,
            commands::get_autostart,
            commands::set_autostart,
        ]);
    // First, so a second start hands over before anything else is set up.
    if let Some(data_dir) = &launch.single_instance {
        builder = builder.plugin(single_instance::plugin(data_dir));
    }
    if launch.autostart {
        builder = builder.plugin(autostart::plugin());
    }
    let app = builder.build(context)?;
    // Done before the event loop runs (not in `setup`), so tests on the mock runtime, whose
    // loop never runs, see the same app.
    let _span = tracing::info_span!("start", hidden = launch.hidden, tray = launch.tray).entered();
    let handle = app.handle().clone();
    window::create(&handle, launch.hidden)?;
    let first = if launch.tray {
        let look = starting_look();
        tray::create(&handle, &look)?;
        Some(look)
    } else {
        None
    };
    tauri::async_runtime::spawn(tray::refresh_loop(handle.clone(), first));
    tauri::async_runtime::spawn(engine_watch::run(handle, state.clone(), launch.notifier));
    state.ask_refresh();
    Ok(app)
}

/// The tray's look until the first refresh (a fraction of a second).
fn starting_look() -> tray::Look {
    let view = TrayView {
        state: TrayState::Syncing,
        status_line: "Starting…".into(),
    };
    let menu = menu::menu_model(&MenuInputs {
        status_line: view.status_line.clone(),
        ..MenuInputs::default()
    });
    tray::Look { view, menu }
}

/// The binary's entry: parses the flags, starts the engine and runs the app until Quit.
pub fn run() -> anyhow::Result<()> {
    let args = Args::parse();
    // Read while the process has a single thread (reading it later is refused as unsound).
    let local_offset = UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC);
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("mayros-engine")
        .build()?;
    tauri::async_runtime::set(runtime.handle().clone());
    // Installed first, so a SIGTERM that arrives while the engine and window start still
    // stops them cleanly instead of killing the process.
    let signals = {
        let _in_runtime = runtime.enter();
        Signals::new()?
    };

    let engine_args = EngineArgs {
        data_dir: args.data_dir.clone(),
        api: args.api,
        peer_api: args.peer_api,
        quic: args.quic,
    };
    let options = engine_args.daemon_options();
    let data_dir = options.as_ref().ok().map(|o| o.data_dir.clone());
    let engine = match options.map(|opts| runtime.block_on(EngineHost::start(opts))) {
        Ok(Ok(host)) => EngineSlot::Running(Arc::new(host)),
        Ok(Err(e)) | Err(e) => {
            tracing::error!(error = %e, "the engine cannot start; the tray shows why");
            EngineSlot::Failed(e.to_string())
        }
    };
    let notifier: Arc<dyn Notifier> = Arc::new(DesktopNotifier::start()?);
    let launch = Launch {
        hidden: args.hidden,
        engine,
        notifier,
        tray: true,
        autostart: true,
        single_instance: data_dir,
        local_offset,
    };
    let app = run_app(
        tauri::Builder::default(),
        launch,
        tauri::generate_context!(),
    )?;
    let handle = app.handle().clone();
    runtime.spawn(quit_on_signal(handle, signals));
    app.run(|_app, event| {
        // Closing the window hides it; the app lives in the tray until Quit.
        if let RunEvent::ExitRequested {
            code: None, api, ..
        } = event
        {
            api.prevent_exit();
        }
    });
    Ok(())
}

/// SIGINT and SIGTERM, registered before anything starts.
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }
}

/// SIGINT or SIGTERM: the same clean stop as Quit.
async fn quit_on_signal<R: Runtime>(app: tauri::AppHandle<R>, mut signals: Signals) {
    let name = tokio::select! {
        _ = signals.int.recv() => "SIGINT",
        _ = signals.term.recv() => "SIGTERM",
    };
    tracing::info!("{name} received; stopping");
    if app.try_state::<ShellState>().is_some() {
        tray::quit(&app);
    }
}

/// Logs go to stderr, filtered by `RUST_LOG` (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
