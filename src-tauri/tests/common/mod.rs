//! Shared helpers of the shell's tests: a real engine in a temp dir, the app on Tauri's mock
//! runtime, and command invocation through the real IPC path.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;

use mayros_sync_node::DaemonOptions;
use mayros_sync_store::SecretStoreChoice;
use mayros_sync_tray::engine_host::EngineHost;
use mayros_sync_tray::notifier::{Notifier, RecordingNotifier};
use mayros_sync_tray::{run_app, EngineSlot, Launch};
use serde_json::Value;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{App, Manager, WebviewWindow};

/// An app on the mock runtime with a real engine behind it.
pub struct TestApp {
    pub app: App<MockRuntime>,
    pub host: Arc<EngineHost>,
    pub notifier: Arc<RecordingNotifier>,
    pub dir: tempfile::TempDir,
}

/// Engine options on loopback with free ports, file secrets and no QUIC (polled mode).
pub fn engine_options(dir: &std::path::Path) -> DaemonOptions {
    let mut opts = DaemonOptions::new(dir.to_path_buf());
    opts.api = "127.0.0.1:0".parse().unwrap();
    opts.peer_api = Some("127.0.0.1:0".parse().unwrap());
    opts.quic = None;
    opts.name = Some("test-device".into());
    opts.secret_store = Some(SecretStoreChoice::File);
    opts
}

/// Starts an engine and the app around it (with or without the autostart plugin).
pub fn start(autostart: bool) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let opts = engine_options(dir.path());
    let host = tauri::async_runtime::block_on(EngineHost::start(opts)).unwrap();
    let host = Arc::new(host);
    let notifier = Arc::new(RecordingNotifier::default());
    let launch = Launch {
        hidden: true,
        engine: EngineSlot::Running(Arc::clone(&host)),
        notifier: Arc::clone(&notifier) as Arc<dyn Notifier>,
        tray: false,
        autostart,
        single_instance: None,
        local_offset: time::UtcOffset::UTC,
    };
    let app = run_app(mock_builder(), launch, mock_context(noop_assets())).unwrap();
    TestApp {
        app,
        host,
        notifier,
        dir,
    }
}

impl TestApp {
    /// The main window.
    pub fn window(&self) -> WebviewWindow<MockRuntime> {
        self.app.get_webview_window("main").unwrap()
    }

    /// Invokes a command as the UI would (`invoke(cmd, args)`): `Ok` body or `Err` error JSON.
    pub fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        invoke_on(&self.window(), cmd, args)
    }
}

/// Invokes a command in `window` through Tauri's IPC.
pub fn invoke_on(
    window: &WebviewWindow<MockRuntime>,
    cmd: &str,
    args: Value,
) -> Result<Value, Value> {
    let request = InvokeRequest {
        cmd: cmd.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().unwrap(),
        body: InvokeBody::Json(args),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    };
    tauri::test::get_ipc_response(window, request).map(|body| body.deserialize::<Value>().unwrap())
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let host = Arc::clone(&self.host);
        tauri::async_runtime::block_on(async move { host.shutdown().await });
    }
}

/// Logs a conflict in the engine's store: a local value of `ex:person<n> ex:city`, then a
/// newer, different one from a peer.
pub fn log_conflict(host: &EngineHost, n: u64) {
    use mayros_sync_proto::config::ConflictStrategy;
    use mayros_sync_proto::{timefmt, Hlc, Triple, Value as V};
    use mayros_sync_store::{ApplyContext, NewTriple, RemoteTriple, WriteContext};
    let engine = Arc::clone(host.engine());
    let now = engine.clock().now_ms();
    let subject = format!("ex:person{n}");
    let city = |c: &str| Triple::new(&subject, "ex:city", V::String(c.into())).unwrap();
    let (local, remote) = (city("Paris"), city("Lyon"));
    let logged = tauri::async_runtime::block_on(engine.with_store(move |s| {
        let author = "e".repeat(64);
        s.insert(
            &NewTriple::new(local),
            &WriteContext {
                wall_ms: now,
                author,
            },
        )?;
        let theirs = RemoteTriple {
            triple: remote,
            created_at: timefmt::format_rfc3339_ms(now + 1_000),
            author: "b".repeat(64),
            hlc: Hlc::new(now + 1_000, 0),
        };
        let ctx = ApplyContext {
            wall_ms: now + 2_000,
            peer: "b".repeat(64),
            strategy: ConflictStrategy::LastWriterWins,
            multi_valued: Vec::new(),
            exclude_prefixes: Vec::new(),
            review_horizon: None,
        };
        s.apply_remote(&[theirs], &[], &ctx)
            .map(|out| out.conflicts)
    }));
    assert_eq!(logged.unwrap(), 1, "one conflict logged");
}
