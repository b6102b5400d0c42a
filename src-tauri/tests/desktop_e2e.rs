//! End-to-end test of the real `mayros-sync` tray app (DESIGN §10) on a throw-away desktop:
//! Xvfb, a private D-Bus session bus, a temporary HOME, a tray host (StatusNotifierWatcher) and
//! a notification server hosted by this test. It drives the app only as a desktop would: it
//! looks at the window, reads the tray menu over `com.canonical.dbusmenu` and clicks its
//! entries, checks the tray icon against `icons/tray/`, and watches
//! `org.freedesktop.Notifications` calls; the engine's local API (address in
//! `<data-dir>/daemon.json`, token in `<data-dir>/control.token`) is only used to observe.
//!
//! Needs the `mayros` CLI binary next to `mayros-sync` (`cargo build -p mayros-cli` first;
//! `cargo test --workspace` builds it), or its path in `MAYROS_CLI_BIN`. Skips when Xvfb,
//! dbus-daemon, x11-utils or imagemagick are missing, unless `MAYROS_REQUIRE_GUI=1` (CI).
//! Screenshots go to `src-tauri/tests/artifacts/` (ignored by git).

mod desktop;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use desktop::api::{self, Api};
use desktop::dbusmenu::{Entry, MenuClient};
use desktop::inspector;
use desktop::notifications::FakeNotifications;
use desktop::proc::{self, Proc};
use desktop::session::{self, Session, LANG};
use desktop::watcher::{FakeWatcher, Item};
use desktop::{screen, step, wait_for, wait_until};
use serde_json::json;

/// The app under test.
const APP: &str = env!("CARGO_BIN_EXE_mayros-sync");
/// The app listens on loopback only (its defaults are every interface).
const LOOPBACK_LISTENERS: [&str; 6] = [
    "--api",
    "127.0.0.1:0",
    "--peer-api",
    "127.0.0.1:0",
    "--quic",
    "127.0.0.1:0",
];
/// Overrides where the `mayros` CLI binary is.
const CLI_ENV: &str = "MAYROS_CLI_BIN";
/// The device name of the paired daemon (what notifications name).
const PEER_NAME: &str = "e2e-peer";
/// The window title.
const TITLE: &str = "Mayros Sync";
/// The file tauri-plugin-autostart writes (productName "Mayros Sync"; it ignores
/// XDG_CONFIG_HOME and always uses `$HOME/.config/autostart`).
const AUTOSTART_FILE: &str = ".config/autostart/Mayros Sync.desktop";
/// The state words a status line starts with (contract, DESIGN §10).
const STATE_LABELS: &[&str] = &[
    "In sync",
    "Syncing",
    "Paused",
    "Offline",
    "Needs attention",
    "Error",
];
/// The top-level entries after the status line, in order (DESIGN §10; `Pause` is replaced by
/// `Resume` while paused).
const TOP_LEVEL: &[&str] = &[
    "Sync now",
    "Pause",
    "Devices",
    "Nearby devices",
    "Open Mayros Sync",
    "Start at login",
    "Quit",
];
/// The tray icon states (DESIGN §10), one PNG each in `icons/tray/` (the app uses `@2x`).
const ICON_STATES: &[&str] = &[
    "in-sync",
    "syncing",
    "paused",
    "offline",
    "attention",
    "error",
];
/// Failed `Sync now` clicks while the peer is down (the policy notifies after 3 in a row).
const FAILING_CLICKS: u64 = 5;

/// Start-up of the app (GTK, WebKit, the engine) on a loaded 2-core machine.
const START: Duration = Duration::from_secs(90);
/// One engine action or menu refresh.
const ACTION: Duration = Duration::from_secs(30);
/// A daemon's ready line or a CLI command.
const DAEMON: Duration = Duration::from_secs(60);
/// A blank window (white page) has a handful of colours; a rendered UI has many more.
const MIN_COLOURS: u64 = 64;
/// How long the web UI may take to draw something once the window is mapped.
const RENDER: Duration = Duration::from_secs(45);
/// How long the window may take to stop changing once it shows something.
const SETTLE: Duration = Duration::from_secs(10);

#[test]
fn tray_app_end_to_end() {
    let t0 = Instant::now();
    if let Err(why) = session::check_tools() {
        eprintln!(
            "SKIPPED desktop end-to-end test: {why} (set MAYROS_REQUIRE_GUI=1 to fail instead)"
        );
        return;
    }
    let cli = cli_binary();
    let session = Session::start();
    step(
        t0,
        &format!(
            "Xvfb on {}, private bus at {}",
            session.display, session.bus_address
        ),
    );
    let watcher = FakeWatcher::start(&session.bus_address).expect("host the StatusNotifierWatcher");
    let notes =
        FakeNotifications::start(&session.bus_address).expect("host the notification server");

    // The peer: a real `mayros daemon`, polled mode, every listener on loopback.
    let peer_dir = session.root().join("peer");
    write_config(
        &peer_dir,
        &json!({"sync": {"nativeP2pPreferred": false, "intervalSeconds": 86400}}),
    );
    let (mut peer, peer_ready) = start_daemon(
        &session,
        &cli,
        &peer_dir,
        "127.0.0.1:0",
        "127.0.0.1:0",
        "127.0.0.1:0",
    );
    step(t0, &format!("peer daemon: {peer_ready}"));

    // The app.
    let app_dir = session.root().join("app");
    write_config(&app_dir, &json!({"sync": {"nativeP2pPreferred": false}}));
    let mut cmd = session.command(Path::new(APP));
    cmd.arg("--data-dir").arg(&app_dir).args(LOOPBACK_LISTENERS);
    let inspect = with_inspector(&mut cmd);
    let mut app = Proc::spawn("mayros-sync", cmd).expect("start mayros-sync");
    step(t0, &format!("started {APP} (pid {})", app.pid()));

    // ── The window appears and is not blank ───────────────────────────────────────────────
    let window = wait_until(
        "a viewable window named \"Mayros Sync\" (xwininfo -root -tree)",
        START,
        || {
            assert_running(&mut app);
            screen::windows_named(&session.display, TITLE)
                .into_iter()
                .find(|w| {
                    w.width >= 200
                        && w.height >= 200
                        && screen::is_viewable(&session.display, &w.id)
                })
        },
        || format!("{:?}", screen::windows_named(&session.display, TITLE)),
    );
    step(
        t0,
        &format!("window {} is {}x{}", window.id, window.width, window.height),
    );
    let artifacts = screen::artifacts_dir();
    let shot = artifacts.join("desktop-window.png");
    // From here on, checks that do not stop the rest are collected, and reported together at
    // the end, so one run tells everything that is wrong.
    let mut failures: Vec<String> = Vec::new();
    let rendered = wait_for(RENDER, || {
        assert_running(&mut app);
        screen::screenshot(&session.display, &window.id, &shot).ok()?;
        let n = screen::colour_count(&shot).ok()?;
        (n >= MIN_COLOURS).then_some(n)
    });
    // The page may still be drawing: take screenshots until two in a row look alike.
    let colours = rendered.map(|first| {
        let mut last = first;
        wait_for(SETTLE, || {
            screen::screenshot(&session.display, &window.id, &shot).ok()?;
            let n = screen::colour_count(&shot).ok()?;
            let settled = n == last;
            last = n;
            settled.then_some(n)
        })
        .unwrap_or(last)
    });
    let root_shot = artifacts.join("desktop-screen.png");
    screen::screenshot(&session.display, "root", &root_shot).expect("screenshot the screen");
    println!("screenshot of the window: {}", shot.display());
    println!("screenshot of the screen: {}", root_shot.display());
    match colours {
        Some(n) if n >= MIN_COLOURS => {
            step(t0, &format!("window screenshot has {n} colours"));
        }
        other => failures.push(format!(
            "the window stays blank: {} has {:?} distinct colours (want >= {MIN_COLOURS}) \
             {RENDER:?} after it appeared; the web UI did not render (the app runs with \
             LANG={LANG}); the page's console: {}",
            shot.display(),
            other.map_or_else(|| screen::colour_count(&shot), Ok),
            page_console(inspect)
        )),
    }

    // ── The tray item registers and its menu has the entries of DESIGN §10 ────────────────
    let item = wait_until(
        "the tray item to register with the StatusNotifierWatcher",
        START,
        || {
            assert_running(&mut app);
            watcher.registry.items().into_iter().next()
        },
        || "no RegisterStatusNotifierItem call".to_string(),
    );
    step(t0, &format!("tray item registered: {item:?}"));
    let menu = Menu::connect(&session, &item);
    let props: Vec<String> = ["Title", "Id", "Status", "IconName", "IconThemePath"]
        .iter()
        .map(|p| format!("{p}={:?}", menu.client.item_property(&item, p)))
        .collect();
    step(t0, &format!("tray item {}", props.join(", ")));
    let root = menu.wait("the full tray menu of DESIGN §10", START, |root| {
        check_top_level(root, false).is_ok() && !status_line(root).starts_with("Starting")
    });
    if let Err(e) = check_top_level(&root, false) {
        panic!("{e}\nmenu:{}", root.outline());
    }
    check_submenus(&root, None);
    step(t0, &format!("menu read over dbusmenu:{}", root.outline()));

    let icons = Icons::load();
    icons.expect(&menu, &item, "offline", &mut failures);

    // The engine's API, for observing what clicks do.
    let api = wait_until(
        "daemon.json and control.token in the app's data dir",
        ACTION,
        || Api::from_data_dir(&app_dir),
        || format!("{}", app_dir.display()),
    );
    let status = api.status().expect("the app's engine answers status");
    assert_eq!(
        api::text(&status, "mode"),
        "polled",
        "the app runs in polled mode: {status}"
    );

    // ── Pair with the peer: invite on the daemon, join from the app's engine ─────────────
    let invite = run_cli(&cli, &session, &peer_dir, &["sync", "invite"]);
    let code = invite
        .lines()
        .last()
        .map(str::trim)
        .filter(|c| c.starts_with("mayros1-"))
        .unwrap_or_else(|| panic!("no invite code on the last line of: {invite}"))
        .to_string();
    run_cli(&cli, &session, &app_dir, &["sync", "pair", "--code", &code]);
    wait_until(
        "the app's engine to list the peer",
        ACTION,
        || {
            api.status()
                .ok()
                .and_then(|s| api::peer(&s, PEER_NAME).cloned())
        },
        || format!("{:?}", api.status()),
    );
    step(t0, "paired with the peer through an invite");
    menu.wait("the peer in the Devices submenu", ACTION, |root| {
        device_line(root).is_some()
    });

    // ── Sync now ─────────────────────────────────────────────────────────────────────────
    let before = peer_counter(&api, "totalSyncs");
    menu.click("Sync now");
    wait_until(
        "Sync now to complete a sync with the peer",
        ACTION,
        || {
            let s = api.status().ok()?;
            let p = api::peer(&s, PEER_NAME)?;
            (api::num(p, "totalSyncs") > before && api::text(p, "lastResult") == "ok").then_some(())
        },
        || format!("{:?}", api.status()),
    );
    let root = menu.wait("the status line to say In sync", ACTION, |root| {
        status_line(root).starts_with("In sync")
    });
    icons.expect(&menu, &item, "in-sync", &mut failures);
    step(
        t0,
        &format!(
            "Sync now: the peer's totalSyncs went up, last result ok; status line {:?}, device {:?}",
            status_line(&root),
            device_line(&root)
        ),
    );

    // ── Pause 15 min, then Resume ────────────────────────────────────────────────────────
    menu.click("Pause 15 min");
    let paused = wait_until(
        "the engine to be paused for about 15 minutes",
        ACTION,
        || {
            let s = api.status().ok()?;
            (s.get("paused") == Some(&json!(true)) && !api::text(&s, "pausedUntil").is_empty())
                .then_some(s)
        },
        || format!("{:?}", api.status()),
    );
    let root = menu.wait("the menu to show Paused and Resume", ACTION, |root| {
        status_line(root).starts_with("Paused") && check_top_level(root, true).is_ok()
    });
    check_submenus(&root, Some(PEER_NAME));
    icons.expect(&menu, &item, "paused", &mut failures);
    step(
        t0,
        &format!(
            "paused until {}; menu:{}",
            api::text(&paused, "pausedUntil"),
            root.outline()
        ),
    );
    menu.click("Resume");
    wait_until(
        "the engine to resume",
        ACTION,
        || {
            let s = api.status().ok()?;
            (s.get("paused") == Some(&json!(false))).then_some(())
        },
        || format!("{:?}", api.status()),
    );
    menu.wait("the menu to show the Pause submenu again", ACTION, |root| {
        !status_line(root).starts_with("Paused") && check_top_level(root, false).is_ok()
    });
    step(t0, "resumed");

    // ── Start at login, on then off ──────────────────────────────────────────────────────
    let autostart = session.home().join(AUTOSTART_FILE);
    assert!(!autostart.exists(), "no autostart entry before the click");
    menu.click("Start at login");
    let entry = wait_until(
        "the autostart entry in the temporary HOME",
        ACTION,
        || std::fs::read_to_string(&autostart).ok(),
        || list_dir(&session.home().join(".config/autostart")),
    );
    let exec = entry
        .lines()
        .find(|l| l.starts_with("Exec="))
        .unwrap_or_else(|| panic!("no Exec line in {}:\n{entry}", autostart.display()));
    assert!(
        exec.split_whitespace().any(|w| w == "--hidden"),
        "a login start must stay in the tray (--hidden): {exec}"
    );
    assert!(
        exec.contains("mayros-sync"),
        "the autostart entry launches this binary: {exec}"
    );
    menu.wait("Start at login to be ticked", ACTION, |root| {
        root.find("Start at login")
            .is_some_and(|e| e.toggle_state == 1)
    });
    step(
        t0,
        &format!("autostart on: {} ({exec})", autostart.display()),
    );
    menu.click("Start at login");
    wait_until(
        "the autostart entry to be removed",
        ACTION,
        || (!autostart.exists()).then_some(()),
        || list_dir(&session.home().join(".config/autostart")),
    );
    menu.wait("Start at login to be unticked", ACTION, |root| {
        root.find("Start at login")
            .is_some_and(|e| e.toggle_state != 1)
    });
    step(t0, "autostart off: the entry is gone");

    // ── A failure that persists: exactly one notification, updated in place ──────────────
    let failing = format!("Sync with {PEER_NAME} is failing");
    let recovered = format!("Back in sync with {PEER_NAME}");
    assert!(
        notes.log.notifies(&failing).is_empty(),
        "no failure notification while the peer is up:\n  {}",
        notes.log.describe()
    );
    let status = peer
        .terminate(DAEMON)
        .unwrap_or_else(|| panic!("the peer daemon did not stop on SIGTERM within {DAEMON:?}"));
    step(t0, &format!("peer daemon stopped ({status})"));
    for click in 1..=FAILING_CLICKS {
        let before = peer_counter(&api, "failures");
        menu.click("Sync now");
        wait_until(
            &format!("failed attempt {click} to be recorded"),
            ACTION,
            || {
                let s = api.status().ok()?;
                let p = api::peer(&s, PEER_NAME)?;
                (api::num(p, "failures") > before).then_some(())
            },
            || format!("{:?}", api.status()),
        );
    }
    step(
        t0,
        &format!(
            "{FAILING_CLICKS} Sync now clicks failed (peer failures = {})",
            peer_counter(&api, "failures")
        ),
    );
    let first_id = wait_until(
        &format!("a Notify with summary {failing:?}"),
        ACTION,
        || notes.log.notifies(&failing).first().map(|(_, id, _)| *id),
        || notes.log.describe(),
    );
    check_one_incident(&notes, &failing, first_id);
    let root = menu.wait("the status line to say Needs attention", ACTION, |root| {
        status_line(root).starts_with("Needs attention")
    });
    icons.expect(&menu, &item, "attention", &mut failures);
    step(
        t0,
        &format!(
            "one failure notification (id {first_id}); status line {:?}; calls:\n  {}",
            status_line(&root),
            notes.log.describe()
        ),
    );

    // ── Recovery: the peer comes back on the same addresses ──────────────────────────────
    let field = |name: &str| -> String {
        peer_ready
            .split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name}= in {peer_ready}"))
            .to_string()
    };
    let (peer_api_addr, peer_peer_api, peer_quic) =
        (field("api"), field("peer_api"), field("quic"));
    let (peer2, ready2) = start_daemon(
        &session,
        &cli,
        &peer_dir,
        &peer_api_addr,
        &peer_peer_api,
        &peer_quic,
    );
    peer = peer2;
    step(t0, &format!("peer daemon restarted: {ready2}"));
    menu.click("Sync now");
    wait_until(
        "a successful sync with the restarted peer",
        ACTION,
        || {
            let s = api.status().ok()?;
            let p = api::peer(&s, PEER_NAME)?;
            (api::text(p, "lastResult") == "ok" && api::num(p, "failures") == 0).then_some(())
        },
        || format!("{:?}", api.status()),
    );
    let notified = wait_for(ACTION, || {
        let back = notes.log.notifies(&recovered);
        let withdrawn =
            notes.log.closed(first_id) || back.iter().any(|(replaces, _, _)| *replaces == first_id);
        (!back.is_empty() && withdrawn).then_some(())
    });
    if notified.is_none() {
        failures.push(format!(
            "no Notify {recovered:?} with the failure notification {first_id} closed (or replaced) \
             within {ACTION:?} of a successful sync with the restarted peer; calls:\n  {}",
            notes.log.describe()
        ));
    }
    check_one_incident(&notes, &failing, first_id);
    let back_in_sync = wait_for(ACTION, || {
        menu.client
            .layout()
            .ok()
            .filter(|root| status_line(root).starts_with("In sync"))
    });
    icons.expect(&menu, &item, "in-sync", &mut failures);
    if back_in_sync.is_none() {
        failures.push(format!(
            "the status line does not say In sync within {ACTION:?} of the recovery: {:?}",
            menu.client.layout().map(|root| status_line(&root))
        ));
    }
    step(
        t0,
        &format!(
            "after the recovery: closed {first_id}: {}; calls:\n  {}",
            notes.log.closed(first_id),
            notes.log.describe()
        ),
    );

    // The window after everything above (paired, synced, a failure and its recovery).
    let end_shot = artifacts.join("desktop-window-end.png");
    match screen::screenshot(&session.display, &window.id, &end_shot) {
        Ok(()) => println!(
            "screenshot of the window at the end: {}",
            end_shot.display()
        ),
        Err(e) => failures.push(format!("cannot take the last window screenshot: {e}")),
    }

    // ── Quit: a clean exit ───────────────────────────────────────────────────────────────
    menu.click("Quit");
    let status = app
        .wait_exit(ACTION)
        .unwrap_or_else(|| panic!("the app did not exit within {ACTION:?} after Quit"));
    assert!(status.success(), "Quit must exit 0, got {status}");
    step(t0, &format!("Quit: the app exited ({status})"));

    // ── A login start: `--hidden` stays in the tray until "Open Mayros Sync" ─────────────
    let registered = watcher.registry.items().len();
    let mut cmd = session.command(Path::new(APP));
    cmd.arg("--hidden")
        .arg("--data-dir")
        .arg(&app_dir)
        .args(LOOPBACK_LISTENERS);
    let inspect = with_inspector(&mut cmd);
    app = Proc::spawn("mayros-sync --hidden", cmd).expect("start mayros-sync --hidden");
    let item = wait_until(
        "the tray item of the --hidden start to register",
        START,
        || {
            assert_running(&mut app);
            watcher.registry.items().get(registered).cloned()
        },
        || format!("{:?}", watcher.registry.items()),
    );
    let menu = Menu::connect(&session, &item);
    // The pairing survived the restart: the menu lists the peer again.
    menu.wait(
        "the peer in the Devices submenu after a restart",
        START,
        |root| device_line(root).is_some(),
    );
    let viewable = || {
        screen::windows_named(&session.display, TITLE)
            .into_iter()
            .find(|w| {
                w.width >= 200 && w.height >= 200 && screen::is_viewable(&session.display, &w.id)
            })
    };
    if let Some(w) = viewable() {
        failures.push(format!(
            "started with --hidden, the window {} is shown anyway",
            w.id
        ));
    }
    menu.click("Open Mayros Sync");
    match wait_for(ACTION, viewable) {
        Some(w) => {
            let opened = artifacts.join("desktop-window-opened.png");
            let drawn = wait_for(RENDER, || {
                screen::screenshot(&session.display, &w.id, &opened).ok()?;
                let n = screen::colour_count(&opened).ok()?;
                (n >= MIN_COLOURS).then_some(n)
            });
            println!(
                "screenshot of the window opened from the tray: {}",
                opened.display()
            );
            match drawn {
                Some(n) => step(
                    t0,
                    &format!(
                        "--hidden start: no window until Open Mayros Sync showed {} ({n} colours)",
                        w.id
                    ),
                ),
                None => failures.push(format!(
                    "the window opened from the tray stays blank: {} has {:?} colours; the \
                     page's console: {}",
                    opened.display(),
                    screen::colour_count(&opened),
                    page_console(inspect)
                )),
            }
        }
        None => failures.push(format!(
            "\"Open Mayros Sync\" did not show the window within {ACTION:?} (started with --hidden)"
        )),
    }
    // ── A second start on the same data dir hands over to the running app and exits ───────
    let items_before = watcher.registry.items().len();
    let mut cmd = session.command(Path::new(APP));
    cmd.arg("--data-dir").arg(&app_dir).args(LOOPBACK_LISTENERS);
    let mut second = Proc::spawn("a second mayros-sync", cmd).expect("start a second mayros-sync");
    match second.wait_exit(START) {
        Some(status) if status.success() => step(
            t0,
            "a second start on the same data dir handed over and exited 0",
        ),
        Some(status) => failures.push(format!(
            "a second start on the same data dir exited {status} instead of handing over"
        )),
        None => failures.push(format!(
            "a second start on the same data dir still runs after {START:?}"
        )),
    }
    assert_running(&mut app);
    if watcher.registry.items().len() != items_before {
        failures.push(format!(
            "a second start registered another tray item: {:?}",
            watcher.registry.items()
        ));
    }
    menu.click("Quit");
    let status = app
        .wait_exit(ACTION)
        .unwrap_or_else(|| panic!("the --hidden app did not exit within {ACTION:?} after Quit"));
    assert!(status.success(), "Quit must exit 0, got {status}");
    step(t0, &format!("Quit again: the app exited ({status})"));
    let _ = peer.terminate(DAEMON);
    step(t0, "done");
    assert!(
        failures.is_empty(),
        "{} check(s) failed:\n- {}",
        failures.len(),
        failures.join("\n- ")
    );
}

/// The tray menu of the registered item, read and clicked over D-Bus.
struct Menu {
    client: MenuClient,
}

impl Menu {
    fn connect(session: &Session, item: &Item) -> Menu {
        let client = wait_until(
            "the tray item's Menu property",
            START,
            || MenuClient::connect(&session.bus_address, item).ok(),
            || {
                format!(
                    "{:?}",
                    MenuClient::connect(&session.bus_address, item).err()
                )
            },
        );
        Menu { client }
    }

    /// Waits until the layout satisfies `ok` and returns it.
    fn wait(&self, what: &str, timeout: Duration, ok: impl Fn(&Entry) -> bool) -> Entry {
        wait_until(
            what,
            timeout,
            || self.client.layout().ok().filter(|root| ok(root)),
            || match self.client.layout() {
                Ok(root) => format!("menu:{}", root.outline()),
                Err(e) => format!("GetLayout failed: {e}"),
            },
        )
    }

    /// Clicks the enabled entry labelled `label`. The app rebuilds its menu when what it shows
    /// changes, which renumbers the entries: an `Event` for an id that just went away fails, so
    /// the layout is read again and the click retried.
    fn click(&self, label: &str) {
        let mut last = String::new();
        let done = wait_for(ACTION, || {
            let root = match self.client.layout() {
                Ok(r) => r,
                Err(e) => {
                    last = format!("GetLayout failed: {e}");
                    return None;
                }
            };
            let Some(entry) = root.find(label).filter(|e| e.enabled) else {
                last = format!("no enabled entry {label:?} in the menu:{}", root.outline());
                return None;
            };
            match self.client.click(entry.id) {
                Ok(()) => Some(()),
                Err(e) => {
                    last = format!("Event({}, \"clicked\") failed: {e}", entry.id);
                    None
                }
            }
        });
        if done.is_none() {
            panic!("cannot click {label:?} within {ACTION:?}: {last}");
        }
    }
}

/// Tells which state icon of `icons/tray/` the tray item shows, by comparing pixels of the
/// file in its `IconName` with each state's PNG.
struct Icons {
    states: Vec<(String, String)>,
}

impl Icons {
    fn load() -> Icons {
        let dir = desktop::screen::manifest_dir().join("../icons/tray");
        let states = ICON_STATES
            .iter()
            .map(|state| {
                let path = dir.join(format!("{state}@2x.png"));
                let sig = screen::pixel_signature(&path)
                    .unwrap_or_else(|e| panic!("read the state icon {}: {e}", path.display()));
                (state.to_string(), sig)
            })
            .collect();
        Icons { states }
    }

    /// The state whose icon the item shows now (`IconName` is a PNG path with libayatana).
    fn shown(&self, menu: &Menu, item: &Item) -> Result<String, String> {
        let name = menu
            .client
            .item_property(item, "IconName")
            .ok_or("the tray item has no IconName")?;
        let mut path = PathBuf::from(&name);
        if !path.is_absolute() {
            let theme = menu
                .client
                .item_property(item, "IconThemePath")
                .unwrap_or_default();
            path = Path::new(&theme).join(format!("{name}.png"));
        }
        let sig = screen::pixel_signature(&path)?;
        self.states
            .iter()
            .find(|(_, s)| *s == sig)
            .map(|(state, _)| state.clone())
            .ok_or_else(|| format!("{} is none of the state icons", path.display()))
    }

    /// Waits until the item shows `want`'s icon; a mismatch is collected in `failures`.
    fn expect(&self, menu: &Menu, item: &Item, want: &str, failures: &mut Vec<String>) {
        let mut last = Err(String::new());
        let ok = wait_for(ACTION, || {
            last = self.shown(menu, item);
            (last.as_deref() == Ok(want)).then_some(())
        });
        if ok.is_none() {
            failures.push(format!(
                "the tray icon should be icons/tray/{want}@2x.png, it shows {last:?}"
            ));
        }
    }
}

/// Lets the app's WebKit serve its inspector on a free loopback port, so a blank window can be
/// explained by the page's console messages (see [`page_console`]).
fn with_inspector(cmd: &mut std::process::Command) -> Option<std::net::SocketAddr> {
    let addr = inspector::free_addr()?;
    cmd.env(inspector::ENV, addr.to_string());
    Some(addr)
}

/// The page's console messages, for a failure message.
fn page_console(inspect: Option<std::net::SocketAddr>) -> String {
    match inspect.map(inspector::console_messages) {
        Some(Ok(lines)) if lines.is_empty() => "no messages".to_string(),
        Some(Ok(lines)) => format!("\n    {}", lines.join("\n    ")),
        Some(Err(e)) => format!("cannot read it: {e}"),
        None => "no inspector port".to_string(),
    }
}

/// The first entry's label (the status line).
fn status_line(root: &Entry) -> String {
    root.items()
        .first()
        .map(|e| e.label.clone())
        .unwrap_or_default()
}

/// The Devices submenu's line for the peer, `<name> — <state>`.
fn device_line(root: &Entry) -> Option<String> {
    let devices = root.items().into_iter().find(|e| e.label == "Devices")?;
    devices
        .items()
        .into_iter()
        .find(|e| e.label.starts_with(&format!("{PEER_NAME} — ")))
        .map(|e| e.label.clone())
}

/// Checks the top level of DESIGN §10, in order: a disabled status line starting with a state
/// word, then the entries of `TOP_LEVEL` (`Resume` instead of the `Pause` submenu when paused).
fn check_top_level(root: &Entry, paused: bool) -> Result<(), String> {
    let items = root.items();
    let labels: Vec<&str> = items.iter().map(|e| e.label.as_str()).collect();
    let Some(first) = items.first() else {
        return Err("the menu is empty".into());
    };
    if first.enabled {
        return Err(format!(
            "the status line {:?} must be disabled",
            first.label
        ));
    }
    if !STATE_LABELS.iter().any(|s| first.label.starts_with(s))
        && !first.label.starts_with("Starting")
    {
        return Err(format!(
            "the status line {:?} does not start with a state ({STATE_LABELS:?})",
            first.label
        ));
    }
    let want: Vec<&str> = TOP_LEVEL
        .iter()
        .map(|l| {
            if paused && *l == "Pause" {
                "Resume"
            } else {
                *l
            }
        })
        .collect();
    if labels[1..] != want[..] {
        return Err(format!(
            "top-level entries after the status line: want {want:?}, got {:?}",
            &labels[1..]
        ));
    }
    for sub in ["Devices", "Nearby devices"]
        .into_iter()
        .chain((!paused).then_some("Pause"))
    {
        if !items.iter().any(|e| e.label == sub && e.is_submenu()) {
            return Err(format!("{sub:?} must be a submenu"));
        }
    }
    match items.iter().find(|e| e.label == "Start at login") {
        Some(e) if e.toggle_type == "checkmark" => Ok(()),
        Some(e) => Err(format!(
            "\"Start at login\" must be a check item, toggle-type is {:?}",
            e.toggle_type
        )),
        None => Err("no \"Start at login\"".into()),
    }
}

/// Checks the submenus: Pause's three entries, Devices (the peer's line or `No paired
/// devices`, then `Pair…`, `Unpair…`), Nearby devices (`No devices nearby`: discovery is off).
fn check_submenus(root: &Entry, peer: Option<&str>) {
    let sub = |label: &str| -> Vec<(String, bool)> {
        root.items()
            .into_iter()
            .find(|e| e.label == label)
            .map(|e| {
                e.items()
                    .iter()
                    .map(|c| (c.label.clone(), c.enabled))
                    .collect()
            })
            .unwrap_or_default()
    };
    if root.items().iter().any(|e| e.label == "Pause") {
        assert_eq!(
            sub("Pause"),
            vec![
                ("Pause 15 min".to_string(), true),
                ("Pause 1 h".to_string(), true),
                ("Pause until resumed".to_string(), true)
            ],
            "the Pause submenu; menu:{}",
            root.outline()
        );
    }
    let devices = sub("Devices");
    let labels: Vec<&str> = devices.iter().map(|(l, _)| l.as_str()).collect();
    match peer {
        None => assert_eq!(
            devices,
            vec![
                ("No paired devices".to_string(), false),
                ("Pair…".to_string(), true),
                ("Unpair…".to_string(), true)
            ],
            "the Devices submenu without devices; menu:{}",
            root.outline()
        ),
        Some(name) => {
            assert_eq!(
                labels.len(),
                3,
                "Devices: one device, Pair…, Unpair…: {labels:?}"
            );
            assert!(
                labels[0].starts_with(&format!("{name} — ")) && !devices[0].1,
                "the first Devices line is the disabled \"{name} — <state>\": {devices:?}"
            );
            assert_eq!(&labels[1..], &["Pair…", "Unpair…"], "Devices: {labels:?}");
        }
    }
    assert_eq!(
        sub("Nearby devices"),
        vec![("No devices nearby".to_string(), false)],
        "the Nearby devices submenu (discovery is off); menu:{}",
        root.outline()
    );
}

/// The failure incident gave exactly one new notification (`replaces_id` 0, id `first_id`);
/// every later update of it replaced that id instead of stacking a new one.
fn check_one_incident(notes: &FakeNotifications, failing: &str, first_id: u32) {
    let calls = notes.log.notifies(failing);
    assert!(
        calls.iter().all(|(_, _, body)| !body.trim().is_empty()),
        "the failure notification's body is the last error; calls:\n  {}",
        notes.log.describe()
    );
    let fresh: Vec<_> = calls
        .iter()
        .filter(|(replaces, _, _)| *replaces == 0)
        .collect();
    assert_eq!(
        fresh.len(),
        1,
        "exactly one new {failing:?} notification per incident; calls:\n  {}",
        notes.log.describe()
    );
    assert!(
        calls
            .iter()
            .all(|(replaces, id, _)| *id == first_id && (*replaces == 0 || *replaces == first_id)),
        "updates of {failing:?} must replace id {first_id}; calls:\n  {}",
        notes.log.describe()
    );
}

/// A counter of the peer in the app's status (0 before the first status).
fn peer_counter(api: &Api, key: &str) -> u64 {
    api.status()
        .ok()
        .and_then(|s| api::peer(&s, PEER_NAME).map(|p| api::num(p, key)))
        .unwrap_or(0)
}

/// Panics (with the app's stderr, through `Proc`'s drop) when the app has exited.
fn assert_running(app: &mut Proc) {
    if let Some(status) = app.try_status() {
        panic!("mayros-sync exited early ({status})");
    }
}

/// The `mayros` CLI binary: `MAYROS_CLI_BIN`, else next to `mayros-sync`.
fn cli_binary() -> PathBuf {
    let path = std::env::var_os(CLI_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(APP).with_file_name("mayros"));
    assert!(
        path.is_file(),
        "the desktop end-to-end test pairs the app with a real `mayros daemon`, but {} does not \
         exist: run `cargo build -p mayros-cli` first (`cargo test --workspace` does), or set \
         {CLI_ENV}",
        path.display()
    );
    path
}

fn write_config(data_dir: &Path, doc: &serde_json::Value) {
    std::fs::create_dir_all(data_dir).expect("create a data dir");
    std::fs::write(data_dir.join("config.json"), doc.to_string()).expect("write config.json");
}

/// Starts `mayros daemon` on `data_dir` with the given addresses and waits for its ready line.
fn start_daemon(
    session: &Session,
    cli: &Path,
    data_dir: &Path,
    api: &str,
    peer_api: &str,
    quic: &str,
) -> (Proc, String) {
    let mut cmd = session.command(cli);
    cmd.arg("daemon")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--api", api, "--peer-api", peer_api, "--quic", quic])
        .args(["--name", PEER_NAME]);
    let mut daemon = Proc::spawn("mayros daemon", cmd).expect("start mayros daemon");
    let ready = daemon
        .wait_line(DAEMON, |l| l.starts_with("ready "))
        .unwrap_or_else(|| {
            panic!(
                "mayros daemon printed no ready line within {DAEMON:?}: {}",
                daemon.stderr_tail(4096)
            )
        });
    (daemon, ready)
}

/// Runs `mayros --data-dir <data_dir> <args…>`; panics unless it exits 0; returns stdout.
fn run_cli(cli: &Path, session: &Session, data_dir: &Path, args: &[&str]) -> String {
    let mut cmd = session.command(cli);
    cmd.arg("--data-dir").arg(data_dir).args(args);
    let (code, out, err) = proc::run("mayros", cmd, DAEMON);
    assert_eq!(
        code,
        Some(0),
        "mayros --data-dir {} {args:?} failed:\nstdout: {out}\nstderr: {err}",
        data_dir.display()
    );
    out
}

fn list_dir(dir: &Path) -> String {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        Err(e) => format!("{}: {e}", dir.display()),
    }
}
