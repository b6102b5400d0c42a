//! The tray icon: its six state icons, the menu (rebuilt when what it shows changes) and what
//! each menu entry does. The look is computed by [`crate::tray_state`] and [`crate::menu`].

use std::time::Duration;

use axum::http::Method;
use mayros_sync_node::dto::StatusSnapshot;
use serde_json::{json, Value};
use tauri::image::Image;
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Manager, Runtime};

use crate::autostart;
use crate::menu::{self, DeviceLine, MenuId, MenuInputs, MenuModel, NearbyLine};
use crate::shell_state::ShellState;
use crate::tray_state::{self, TrayState, TrayView};
use crate::ui_events::{self, UiEvent, View};
use crate::window;

/// The tray icon's id.
pub const TRAY_ID: &str = "mayros-sync";
/// Refresh at least this often (the `last sync` time, the end of a pause).
const REFRESH_EVERY: Duration = Duration::from_secs(30);
/// Events that arrive within this time are answered with one refresh.
const DEBOUNCE: Duration = Duration::from_millis(250);

/// The PNG of a state (64×64, the `@2x` render: panels scale it down).
pub fn icon(state: TrayState) -> tauri::Result<Image<'static>> {
    let bytes: &'static [u8] = match state {
        TrayState::InSync => include_bytes!("../../icons/tray/in-sync@2x.png"),
        TrayState::Syncing => include_bytes!("../../icons/tray/syncing@2x.png"),
        TrayState::Paused => include_bytes!("../../icons/tray/paused@2x.png"),
        TrayState::Offline => include_bytes!("../../icons/tray/offline@2x.png"),
        TrayState::Attention => include_bytes!("../../icons/tray/attention@2x.png"),
        TrayState::Error => include_bytes!("../../icons/tray/error@2x.png"),
    };
    Image::from_bytes(bytes)
}

/// What the tray shows now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Look {
    /// State and status line.
    pub view: TrayView,
    /// The menu.
    pub menu: MenuModel,
}

/// Asks the engine for status and nearby devices and computes the tray's look. The status is
/// read once into its typed form; a body that does not read is shown as an error.
pub async fn look<R: Runtime>(app: &AppHandle<R>, state: &ShellState) -> Look {
    let answer = state
        .request(Method::GET, "/api/v1/sync/status", None)
        .await
        .ok();
    let nearby = state
        .request(Method::GET, "/api/v1/sync/nearby", None)
        .await
        .unwrap_or(Value::Null);
    let engine_running = answer.is_some();
    let mut facts = state.facts();
    let status = match answer.map(tray_state::parse_status) {
        Some(Ok(status)) => Some(status),
        Some(Err(why)) => {
            tracing::warn!(error = %why, "the tray cannot show the engine's status");
            facts.engine_error.get_or_insert(why);
            None
        }
        None => None,
    };
    let view = tray_state::tray_view(status.as_ref(), &facts, state.local_offset());
    let inputs = menu_inputs(
        &view,
        status.as_ref(),
        engine_running,
        &nearby,
        autostart::current(app),
    );
    Look {
        menu: menu::menu_model(&inputs),
        view,
    }
}

/// The menu's inputs from the typed status and the nearby JSON; `engine_running` when the
/// engine answered.
pub fn menu_inputs(
    view: &TrayView,
    status: Option<&StatusSnapshot>,
    engine_running: bool,
    nearby: &Value,
    autostart: bool,
) -> MenuInputs {
    let devices = status
        .map(|s| {
            tray_state::paired_peers(s)
                .map(|p| DeviceLine {
                    node_id: p.node_id.clone(),
                    name: mayros_sync_proto::node_id::display_name(&p.name, &p.node_id).to_string(),
                    state: tray_state::peer_state_text(p),
                })
                .collect()
        })
        .unwrap_or_default();
    let nearby = nearby
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d.get("paired").and_then(Value::as_bool) != Some(true))
        .filter_map(|d| {
            let node_id = d.get("nodeId").and_then(Value::as_str)?.to_string();
            let name = d
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .unwrap_or(&node_id)
                .to_string();
            Some(NearbyLine { node_id, name })
        })
        .collect();
    MenuInputs {
        status_line: view.status_line.clone(),
        paused: view.state == TrayState::Paused,
        devices,
        nearby,
        autostart,
        engine_running,
    }
}

/// Creates the tray icon with its first look.
pub fn create<R: Runtime>(app: &AppHandle<R>, look: &Look) -> tauri::Result<TrayIcon<R>> {
    let menu = menu::build_menu(app, &look.menu)?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon(look.view.state)?)
        .tooltip(&look.view.status_line)
        .title("Mayros Sync")
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| match event.id().as_ref().parse::<MenuId>() {
            Ok(id) => on_menu(app, id),
            Err(e) => tracing::warn!(error = %e, "menu event ignored"),
        })
        .build(app)
}

/// Keeps the tray's look in step with the engine: on every refresh request (debounced) and
/// every [`REFRESH_EVERY`]. Without a tray (tests) it still computes the look.
pub async fn refresh_loop<R: Runtime>(app: AppHandle<R>, mut shown: Option<Look>) {
    let Some(state) = app.try_state::<ShellState>().map(|s| s.inner().clone()) else {
        return;
    };
    let signal = state.refresh_signal();
    loop {
        tokio::select! {
            _ = signal.notified() => tokio::time::sleep(DEBOUNCE).await,
            _ = tokio::time::sleep(REFRESH_EVERY) => {}
        }
        let next = look(&app, &state).await;
        if shown.as_ref() == Some(&next) {
            continue;
        }
        if let Some(tray) = app.tray_by_id(TRAY_ID) {
            if let Err(e) = apply(&app, &tray, shown.as_ref(), &next) {
                tracing::warn!(error = %e, "cannot update the tray");
            }
        }
        tracing::debug!(state = ?next.view.state, line = %next.view.status_line, "tray look");
        shown = Some(next);
    }
}

fn apply<R: Runtime>(
    app: &AppHandle<R>,
    tray: &TrayIcon<R>,
    before: Option<&Look>,
    next: &Look,
) -> tauri::Result<()> {
    if before.map(|b| b.view.state) != Some(next.view.state) {
        tray.set_icon(Some(icon(next.view.state)?))?;
    }
    if before.map(|b| &b.view.status_line) != Some(&next.view.status_line) {
        tray.set_tooltip(Some(&next.view.status_line))?;
    }
    if before.map(|b| &b.menu) != Some(&next.menu) {
        tray.set_menu(Some(menu::build_menu(app, &next.menu)?))?;
    }
    Ok(())
}

/// What a menu entry does.
pub fn on_menu<R: Runtime>(app: &AppHandle<R>, id: MenuId) {
    let _span = tracing::info_span!("menu", id = %id).entered();
    tracing::info!("menu entry clicked");
    match id {
        MenuId::SyncNow => engine_call(app, |state| async move {
            state.sync_now(None).await.map(|_| ())
        }),
        MenuId::Pause15 => pause(app, Some(15)),
        MenuId::Pause60 => pause(app, Some(60)),
        MenuId::PauseIndefinite => pause(app, None),
        MenuId::Resume => engine_call(app, |state| async move {
            state
                .request(Method::POST, "/api/v1/sync/resume", None)
                .await
                .map(|_| ())
        }),
        MenuId::DevicesPair => window::show(app, Some(View::Pair)),
        MenuId::DevicesUnpair => window::show(app, Some(View::Devices)),
        MenuId::NearbyDevice(node_id) => {
            engine_call(app, move |state| async move {
                state
                    .request(
                        Method::POST,
                        "/api/v1/sync/pair",
                        Some(json!({ "target": node_id })),
                    )
                    .await
                    .map(|_| ())
            });
            window::show(app, Some(View::Pair));
        }
        MenuId::Open => window::show(app, None),
        MenuId::Autostart => match autostart::toggle(app) {
            Ok(enabled) => {
                ui_events::emit(app, &UiEvent::Autostart { enabled });
                if let Some(state) = app.try_state::<ShellState>() {
                    state.ask_refresh();
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot change start at login"),
        },
        MenuId::Quit => quit(app),
        MenuId::Status
        | MenuId::Pause
        | MenuId::Devices
        | MenuId::Device(_)
        | MenuId::NoDevices
        | MenuId::Nearby
        | MenuId::NoNearby => {}
    }
}

fn pause<R: Runtime>(app: &AppHandle<R>, minutes: Option<u64>) {
    engine_call(app, move |state| async move {
        let body = minutes.map_or_else(|| json!({}), |m| json!({ "minutes": m }));
        state
            .request(Method::POST, "/api/v1/sync/pause", Some(body))
            .await
            .map(|_| ())
    });
}

/// Runs an engine request in the background, logs a failure and refreshes the tray.
fn engine_call<R, F, Fut>(app: &AppHandle<R>, call: F)
where
    R: Runtime,
    F: FnOnce(ShellState) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), crate::error::CommandError>> + Send,
{
    let Some(state) = app.try_state::<ShellState>().map(|s| s.inner().clone()) else {
        return;
    };
    tauri::async_runtime::spawn(async move {
        if let Err(e) = call(state.clone()).await {
            tracing::warn!(kind = %e.kind, error = %e.message, "menu action failed");
        }
        state.ask_refresh();
    });
}

/// Stops the engine cleanly, then exits 0.
pub fn quit<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    let state = app.try_state::<ShellState>().map(|s| s.inner().clone());
    tauri::async_runtime::spawn(async move {
        if let Some(host) = state.as_ref().and_then(|s| s.host().ok()) {
            host.shutdown().await;
        }
        tracing::info!("quitting");
        app.exit(0);
    });
}
