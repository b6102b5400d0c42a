//! A fake tray host: `org.kde.StatusNotifierWatcher` at `/StatusNotifierWatcher`, hosted by the
//! test on the private bus. It records every `RegisterStatusNotifierItem` call.
//!
//! libayatana-appindicator (what Tauri uses on Linux) registers with its object path (e.g.
//! `/org/ayatana/NotificationItem/<id>`) as the argument, other implementations with a bus
//! name: the item is then the caller's unique name plus that path, or that name plus
//! `/StatusNotifierItem`, as KDE's watcher does.

use std::sync::{Arc, Mutex};

use zbus::message::Header;
use zbus::object_server::SignalEmitter;

/// The well-known name and object path of the watcher.
pub const WATCHER_NAME: &str = "org.kde.StatusNotifierWatcher";
/// The watcher's object path.
pub const WATCHER_PATH: &str = "/StatusNotifierWatcher";

/// One registered tray item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The bus name that serves the item (the caller's unique name for path registrations).
    pub service: String,
    /// The item's object path.
    pub path: String,
    /// The argument as the item sent it.
    pub registered_as: String,
}

/// What the watcher has seen, shared with the test.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    items: Arc<Mutex<Vec<Item>>>,
    hosts: Arc<Mutex<Vec<String>>>,
}

impl Registry {
    /// Every item registered so far, oldest first.
    pub fn items(&self) -> Vec<Item> {
        self.items.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

struct Watcher {
    registry: Registry,
}

#[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
impl Watcher {
    async fn register_status_notifier_item(
        &self,
        service: String,
        #[zbus(header)] header: Header<'_>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) {
        let sender = header.sender().map(|s| s.to_string()).unwrap_or_default();
        let item = if service.starts_with('/') {
            Item {
                service: sender,
                path: service.clone(),
                registered_as: service.clone(),
            }
        } else {
            Item {
                service: service.clone(),
                path: "/StatusNotifierItem".to_string(),
                registered_as: service.clone(),
            }
        };
        let full = format!("{}{}", item.service, item.path);
        if let Ok(mut items) = self.registry.items.lock() {
            items.push(item);
        }
        let _ = Self::status_notifier_item_registered(&emitter, &full).await;
    }

    async fn register_status_notifier_host(
        &self,
        service: String,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) {
        if let Ok(mut hosts) = self.registry.hosts.lock() {
            hosts.push(service);
        }
        let _ = Self::status_notifier_host_registered(&emitter).await;
    }

    #[zbus(property)]
    fn registered_status_notifier_items(&self) -> Vec<String> {
        self.registry
            .items()
            .into_iter()
            .map(|i| format!("{}{}", i.service, i.path))
            .collect()
    }

    #[zbus(property)]
    fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn protocol_version(&self) -> i32 {
        0
    }

    #[zbus(signal)]
    async fn status_notifier_item_registered(
        emitter: &SignalEmitter<'_>,
        service: &str,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn status_notifier_item_unregistered(
        emitter: &SignalEmitter<'_>,
        service: &str,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn status_notifier_host_registered(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;
}

/// The watcher, served on its own connection until dropped.
pub struct FakeWatcher {
    _conn: zbus::blocking::Connection,
    /// What it has seen.
    pub registry: Registry,
}

impl FakeWatcher {
    /// Connects to `bus_address`, serves the watcher and owns its well-known name.
    pub fn start(bus_address: &str) -> zbus::Result<FakeWatcher> {
        let registry = Registry::default();
        let conn = zbus::blocking::connection::Builder::address(bus_address)?
            .serve_at(
                WATCHER_PATH,
                Watcher {
                    registry: registry.clone(),
                },
            )?
            .name(WATCHER_NAME)?
            .build()?;
        Ok(FakeWatcher {
            _conn: conn,
            registry,
        })
    }
}
