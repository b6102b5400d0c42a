//! Starting and stopping the engine: data dir, config, store, identity, local API, background tasks.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use mayros_sync_proto::mode::RECHECK_INTERVAL_SECS;
use mayros_sync_store::{
    select_secret_store, DeviceIdentity, SecretStore, SecretStoreChoice, Store,
};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{self, ApiState};
use crate::clock::Clock;
use crate::engine::{ConfigState, Engine, Identity};
use crate::error::Error;
use crate::paths;
pub use crate::private_files::write_file_atomic;

/// Default local API address.
pub const DEFAULT_API_ADDR: &str = "127.0.0.1:19090";
/// How often the config file is checked for changes.
const CONFIG_POLL: Duration = Duration::from_secs(2);

/// How to start a daemon (the flags of `mayros daemon`, DESIGN §8).
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// The data directory (created when missing, mode 0700).
    pub data_dir: PathBuf,
    /// Whether the data dir was given explicitly (decides the default config file, DESIGN §9).
    pub data_dir_given: bool,
    /// An explicit config file.
    pub config: Option<PathBuf>,
    /// Local API address (loopback only).
    pub api: SocketAddr,
    /// Peer HTTPS API address (`None`: not served, so this device can pull but not be pulled from).
    pub peer_api: Option<SocketAddr>,
    /// QUIC address of native sync (`None`: no QUIC endpoint, so `p2p/status` answers 404
    /// and the mode is never native).
    pub quic: Option<SocketAddr>,
    /// Device name; defaults to the host name.
    pub name: Option<String>,
    /// Wall clock (tests inject an offset).
    pub clock: Clock,
    /// Tunables of an external Cortex backend (pacing, timeouts); the defaults fit the stock
    /// sidecar.
    pub cortex: crate::cortex::CortexOptions,
    /// Where the device secrets go (DESIGN §7.3); `None` reads `MAYROS_SECRET_STORE` (`auto`
    /// when unset: the OS keyring when it works, else 0600 files with a status warning).
    pub secret_store: Option<SecretStoreChoice>,
}

impl DaemonOptions {
    /// Options for `data_dir` with default addresses.
    pub fn new(data_dir: PathBuf) -> DaemonOptions {
        DaemonOptions {
            data_dir,
            data_dir_given: true,
            config: None,
            api: SocketAddr::from(([127, 0, 0, 1], 19090)),
            peer_api: Some(SocketAddr::from(([0, 0, 0, 0], 19092))),
            quic: Some(SocketAddr::from(([0, 0, 0, 0], 19091))),
            name: None,
            clock: Clock::system(),
            cortex: crate::cortex::CortexOptions::default(),
            secret_store: None,
        }
    }
}

/// What a running daemon publishes in `<data-dir>/daemon.json` (the facts of the `ready` line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DaemonInfo {
    /// Bound local API address.
    pub api: SocketAddr,
    /// Bound peer API address, when served.
    pub peer_api: Option<SocketAddr>,
    /// Bound QUIC address, when served.
    pub quic: Option<SocketAddr>,
    /// This device's node id.
    pub node_id: String,
    /// Device name.
    pub name: String,
    /// Process id of the daemon.
    pub pid: u32,
    /// The data directory.
    pub data_dir: PathBuf,
    /// The config file in force.
    pub config_path: PathBuf,
    /// Engine version.
    pub version: String,
    /// Start time, unix milliseconds.
    pub started_at_ms: u64,
}

impl DaemonInfo {
    /// The single `ready …` line printed on stdout (DESIGN §8).
    pub fn ready_line(&self) -> String {
        fn show(a: Option<SocketAddr>) -> String {
            a.map_or_else(|| "-".to_string(), |a| a.to_string())
        }
        format!(
            "ready api={} peer_api={} quic={} node_id={}",
            self.api,
            show(self.peer_api),
            show(self.quic),
            self.node_id
        )
    }

    /// Reads `daemon.json` from a data dir.
    pub fn read(data_dir: &Path) -> Result<DaemonInfo, Error> {
        let path = paths::daemon_file(data_dir);
        let text =
            std::fs::read_to_string(&path).map_err(|e| Error::io("cannot read", &path, e))?;
        serde_json::from_str(&text).map_err(|e| {
            Error::io(
                "malformed daemon file",
                &path,
                std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            )
        })
    }
}

/// A running engine with its local API.
#[derive(Debug)]
pub struct Daemon {
    info: DaemonInfo,
    engine: Arc<Engine>,
    token: String,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    server: JoinHandle<()>,
    _lock: std::fs::File,
}

impl Daemon {
    /// Opens everything, binds the local API and makes the first mode decision.
    pub async fn start(opts: DaemonOptions) -> Result<Daemon, Error> {
        if !opts.api.ip().is_loopback() {
            return Err(Error::ApiNotLoopback { addr: opts.api });
        }
        let data_dir = opts.data_dir.clone();
        // Repairs (and logs) any mode looser than 0700/0600 left by an older build or a user.
        crate::private_files::secure_data_dir(&data_dir)?;
        let lock = lock_data_dir(&data_dir)?;
        let config_path =
            paths::config_file(opts.config.as_deref(), &data_dir, opts.data_dir_given);
        let config = ConfigState::load(config_path.clone())?;
        for w in &config.warnings {
            tracing::warn!("{w}");
        }

        let secret_choice = match opts.secret_store {
            Some(choice) => choice,
            None => SecretStoreChoice::from_env()?,
        };
        let (store, device, secrets, secrets_warning) = {
            let data_dir = data_dir.clone();
            tokio::task::spawn_blocking(move || open_store_and_identity(&data_dir, secret_choice))
                .await
                .map_err(|e| Error::Task(e.to_string()))??
        };
        let name = opts.name.clone().unwrap_or_else(host_name);
        let mut identity = Identity::new(device, name.clone(), secrets.kind())?;
        identity.secret_store_warning = secrets_warning;

        let listener = TcpListener::bind(opts.api)
            .await
            .map_err(|cause| Error::ApiBind {
                addr: opts.api,
                cause,
            })?;
        let api_addr = listener.local_addr().map_err(|cause| Error::ApiBind {
            addr: opts.api,
            cause,
        })?;

        let peer_listener = match opts.peer_api {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|cause| Error::PeerApiBind { addr, cause })?,
            ),
            None => None,
        };
        let peer_addr = match &peer_listener {
            Some(l) => Some(
                l.local_addr()
                    .map_err(|e| Error::io("cannot read peer API address", &data_dir, e))?,
            ),
            None => None,
        };

        let token = load_or_create_token(&paths::token_file(&data_dir))?;
        let engine = {
            let identity = identity.clone();
            let clock = opts.clock.clone();
            tokio::task::spawn_blocking(move || {
                Engine::new(store, identity, secrets, config, clock)
            })
            .await
            .map_err(|e| Error::Task(e.to_string()))??
        };
        if let Some(addr) = peer_addr {
            engine
                .control()
                .apply(crate::engine::Command::PeerApi(addr));
        }
        engine.set_cortex_options(opts.cortex.clone());
        let quic_addr = match opts.quic {
            Some(addr) => {
                let endpoint = crate::quic::QuicEndpoint::bind(addr, &identity.cert)?;
                let native = crate::native::Native::start(Arc::clone(&engine), endpoint)?;
                let bound = native.addr();
                engine.set_native(native);
                Some(bound)
            }
            None => None,
        };
        // The first decision with every probe (an external Cortex is asked now, with timeouts).
        engine.reevaluate_mode().await;
        let decision = engine.mode();
        tracing::info!(mode = %decision.mode, reason = %decision.reason, "initial sync mode");

        let (shutdown, shutdown_rx) = watch::channel(false);
        let app = api::router(ApiState::new(Arc::clone(&engine), token.clone(), api_addr));
        let mut server_rx = shutdown_rx.clone();
        let server = tokio::spawn(async move {
            let result = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = server_rx.wait_for(|stop| *stop).await;
                })
                .await;
            if let Err(e) = result {
                tracing::error!(error = %e, "local API server stopped with an error");
            }
        });

        let mut tasks = vec![
            tokio::spawn(mode_recheck_loop(Arc::clone(&engine), shutdown_rx.clone())),
            tokio::spawn(config_watch_loop(Arc::clone(&engine), shutdown_rx.clone())),
            tokio::spawn(crate::sync::scheduler::run(
                Arc::clone(&engine),
                shutdown_rx.clone(),
            )),
            tokio::spawn(crate::sync::retention::run(
                Arc::clone(&engine),
                shutdown_rx.clone(),
            )),
            tokio::spawn(crate::cortex::mirror::run(
                Arc::clone(&engine),
                shutdown_rx.clone(),
            )),
            tokio::spawn(crate::discovery::run(
                Arc::clone(&engine),
                shutdown_rx.clone(),
            )),
            tokio::spawn(metrics_loop(Arc::clone(&engine), shutdown_rx.clone())),
            tokio::spawn(crate::memory::run(
                Arc::clone(engine.memory()),
                shutdown_rx.clone(),
            )),
        ];
        if let Some(listener) = peer_listener {
            let tls = identity.cert.server_config(&[crate::peer::HTTPS_ALPN])?;
            let app = crate::sync::peer_api::router(Arc::clone(&engine));
            tasks.push(tokio::spawn(crate::peer::serve(
                listener,
                tls,
                app,
                shutdown_rx,
            )));
        }

        let info = DaemonInfo {
            api: api_addr,
            peer_api: peer_addr,
            quic: quic_addr,
            node_id: identity.node_id.clone(),
            name,
            pid: std::process::id(),
            data_dir: data_dir.clone(),
            config_path,
            version: env!("CARGO_PKG_VERSION").to_string(),
            started_at_ms: opts.clock.now_ms(),
        };
        let json = serde_json::to_vec_pretty(&info).map_err(|e| {
            Error::io(
                "cannot render",
                paths::daemon_file(&data_dir),
                std::io::Error::other(e),
            )
        })?;
        write_file_atomic(&paths::daemon_file(&data_dir), &json, 0o600)?;

        Ok(Daemon {
            info,
            engine,
            token,
            shutdown,
            tasks,
            server,
            _lock: lock,
        })
    }

    /// The facts published in `daemon.json`.
    pub fn info(&self) -> &DaemonInfo {
        &self.info
    }

    /// The engine.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// The control-API bearer token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Stops the API gracefully, ends background tasks and removes `daemon.json`.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        self.engine.events().close();
        if let Some(native) = self.engine.native() {
            native.shutdown();
        }
        for t in self.tasks {
            let _ = t.await;
        }
        let _ = self.server.await;
        // Leave the write-ahead log empty: at the next start a waiting log then means a crash.
        if let Err(e) = self.engine.with_store(|s| s.checkpoint()).await {
            tracing::warn!(error = %e, "cannot checkpoint the store at shutdown");
        }
        let path = paths::daemon_file(&self.info.data_dir);
        // Only remove the file if it still describes us (another daemon may have replaced it).
        if DaemonInfo::read(&self.info.data_dir)
            .is_ok_and(|i| i.pid == self.info.pid && i.api == self.info.api)
        {
            let _ = std::fs::remove_file(path);
        }
        tracing::info!("engine stopped");
    }
}

type Opened = (Store, DeviceIdentity, Arc<dyn SecretStore>, Option<String>);

/// Opens the store, chooses the secret store (the keyring is probed with a 2 s limit and file
/// secrets move into it; see `keyring_store`) and loads the device key.
fn open_store_and_identity(data_dir: &Path, choice: SecretStoreChoice) -> Result<Opened, Error> {
    let db = paths::store_file(data_dir);
    crate::private_files::create_private_file(&db)?;
    let mut store = Store::open(&db)?;
    let install_id = store.meta()?.install_id;
    let selection = select_secret_store(data_dir, &install_id, choice)?;
    let secrets = selection.store;
    tracing::info!(kind = %secrets.kind(), "secret store chosen");
    let device = DeviceIdentity::load_or_create(secrets.as_ref())?;
    let node_id = device.node_id();
    if store.meta()?.node_id.as_deref() != Some(node_id.as_str()) {
        store.set_node_id(&node_id)?;
    }
    Ok((store, device, secrets, selection.warning))
}

async fn mode_recheck_loop(engine: Arc<Engine>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(RECHECK_INTERVAL_SECS));
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => { engine.reevaluate_mode().await; }
            _ = stop.changed() => return,
        }
    }
}

/// Publishes a `metrics` event every [`crate::events::METRICS_EVERY`] while anyone listens, until `stop`.
async fn metrics_loop(engine: Arc<Engine>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(crate::events::METRICS_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = async { let _ = stop.wait_for(|s| *s).await; } => return,
        }
        if engine.events().subscribers() == 0 {
            continue;
        }
        let triple_count = engine.with_store(|s| s.triple_count()).await.ok();
        let data = crate::dto::MetricsEvent {
            triple_count,
            mode: engine.mode().mode.as_str().to_string(),
            gossip: engine.native().map(|n| n.status()),
            sync: engine.sync_counters(),
            nearby_count: engine.nearby().count() as u64,
        };
        engine.events().publish(crate::events::Event::Metrics(data));
    }
}

fn file_stamp(path: &Path) -> Option<(SystemTime, u64)> {
    std::fs::metadata(path)
        .ok()
        .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()))
}

/// Re-applies the config file when it changes on disk (DESIGN §9).
async fn config_watch_loop(engine: Arc<Engine>, mut stop: watch::Receiver<bool>) {
    let path = engine.config().path;
    let mut last = file_stamp(&path);
    let mut tick = tokio::time::interval(CONFIG_POLL);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let now = file_stamp(&path);
        if now == last {
            continue;
        }
        last = now;
        match ConfigState::load(path.clone()) {
            Ok(state) => {
                for w in &state.warnings {
                    tracing::warn!("{w}");
                }
                engine.set_config(state);
                engine.reevaluate_mode().await;
                tracing::info!(path = %path.display(), "config file changed; re-applied");
                fire_config_change_hook(&engine);
            }
            Err(e) => {
                tracing::error!(error = %e, "config file changed but is invalid; keeping the previous config")
            }
        }
    }
}

/// Runs the `config-change` hook in the background (DESIGN §3.2, §9).
pub(crate) fn fire_config_change_hook(engine: &Arc<Engine>) {
    let engine = Arc::clone(engine);
    tokio::spawn(async move {
        match engine.run_hook("config-change").await {
            Ok((ran, reason, _)) => tracing::info!(ran, %reason, "config-change hook"),
            Err(e) => tracing::warn!(error = %e, "config-change hook failed"),
        }
    });
}

/// Takes the exclusive engine lock of a data dir; held for the daemon's lifetime.
fn lock_data_dir(data_dir: &Path) -> Result<std::fs::File, Error> {
    let path = data_dir.join("engine.lock");
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .mode(crate::private_files::FILE_MODE)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io("cannot open", &path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::AlreadyRunning {
            path: data_dir.to_path_buf(),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io("cannot lock", &path, e)),
    }
}

/// Reads the control token, creating a fresh random one (mode 0600) when missing or malformed.
fn load_or_create_token(path: &Path) -> Result<String, Error> {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(text) = std::fs::read_to_string(path) {
        let token = text.trim();
        if token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()) {
            let perms = std::fs::Permissions::from_mode(0o600);
            std::fs::set_permissions(path, perms)
                .map_err(|e| Error::io("cannot chmod", path, e))?;
            return Ok(token.to_string());
        }
        tracing::warn!(path = %path.display(), "control token file is malformed; writing a new token");
    }
    let token = hex::encode(rand::random::<[u8; 32]>());
    write_file_atomic(path, token.as_bytes(), 0o600)?;
    Ok(token)
}

/// The host name, for the default device name.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "mayros-device".to_string())
}
