//! The tray menu of DESIGN §10: typed ids that round-trip to the contract's string ids, a pure
//! menu *model* (labels, ids, enabled, checked) built from what the engine reports, and its
//! construction as a Tauri menu (which needs GTK, so tests check the model).

use std::fmt;
use std::str::FromStr;

use tauri::menu::{CheckMenuItem, IsMenuItem, Menu, MenuItem, Submenu};
use tauri::{Manager, Runtime};

use crate::error::Error;

/// A menu entry's id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MenuId {
    /// The status line (disabled).
    Status,
    /// `Sync now`.
    SyncNow,
    /// The `Pause` submenu.
    Pause,
    /// `Pause 15 min`.
    Pause15,
    /// `Pause 1 h`.
    Pause60,
    /// `Pause until resumed`.
    PauseIndefinite,
    /// `Resume` (shown instead of the `Pause` submenu while paused).
    Resume,
    /// The `Devices` submenu.
    Devices,
    /// One paired device's line (disabled), by node id.
    Device(String),
    /// `No paired devices` (disabled).
    NoDevices,
    /// `Pair…`: opens the window on the pair view.
    DevicesPair,
    /// `Unpair…`: opens the window on the devices view.
    DevicesUnpair,
    /// The `Nearby devices` submenu.
    Nearby,
    /// A discovered, unpaired device, by node id: starts click-to-pair.
    NearbyDevice(String),
    /// `No devices nearby` (disabled).
    NoNearby,
    /// `Open Mayros Sync`.
    Open,
    /// `Start at login` (check item).
    Autostart,
    /// `Quit`.
    Quit,
}

impl fmt::Display for MenuId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            MenuId::Status => "status",
            MenuId::SyncNow => "sync-now",
            MenuId::Pause => "pause",
            MenuId::Pause15 => "pause-15",
            MenuId::Pause60 => "pause-60",
            MenuId::PauseIndefinite => "pause-indefinite",
            MenuId::Resume => "resume",
            MenuId::Devices => "devices",
            MenuId::Device(id) => return write!(f, "device:{id}"),
            MenuId::NoDevices => "devices-none",
            MenuId::DevicesPair => "devices-pair",
            MenuId::DevicesUnpair => "devices-unpair",
            MenuId::Nearby => "nearby",
            MenuId::NearbyDevice(id) => return write!(f, "nearby:{id}"),
            MenuId::NoNearby => "nearby-none",
            MenuId::Open => "open",
            MenuId::Autostart => "autostart",
            MenuId::Quit => "quit",
        };
        f.write_str(s)
    }
}

impl FromStr for MenuId {
    type Err = Error;

    fn from_str(s: &str) -> Result<MenuId, Error> {
        if let Some(id) = s.strip_prefix("device:").filter(|id| !id.is_empty()) {
            return Ok(MenuId::Device(id.to_string()));
        }
        if let Some(id) = s.strip_prefix("nearby:").filter(|id| !id.is_empty()) {
            return Ok(MenuId::NearbyDevice(id.to_string()));
        }
        Ok(match s {
            "status" => MenuId::Status,
            "sync-now" => MenuId::SyncNow,
            "pause" => MenuId::Pause,
            "pause-15" => MenuId::Pause15,
            "pause-60" => MenuId::Pause60,
            "pause-indefinite" => MenuId::PauseIndefinite,
            "resume" => MenuId::Resume,
            "devices" => MenuId::Devices,
            "devices-none" => MenuId::NoDevices,
            "devices-pair" => MenuId::DevicesPair,
            "devices-unpair" => MenuId::DevicesUnpair,
            "nearby" => MenuId::Nearby,
            "nearby-none" => MenuId::NoNearby,
            "open" => MenuId::Open,
            "autostart" => MenuId::Autostart,
            "quit" => MenuId::Quit,
            _ => return Err(Error::UnknownMenuId(s.to_string())),
        })
    }
}

/// One entry of the menu model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A plain item.
    Item {
        /// Its id.
        id: MenuId,
        /// Its label.
        label: String,
        /// Whether it can be clicked.
        enabled: bool,
    },
    /// A check item.
    Check {
        /// Its id.
        id: MenuId,
        /// Its label.
        label: String,
        /// Whether it is ticked.
        checked: bool,
    },
    /// A submenu.
    Submenu {
        /// Its id.
        id: MenuId,
        /// Its label.
        label: String,
        /// Its entries.
        items: Vec<Entry>,
    },
}

impl Entry {
    fn item(id: MenuId, label: impl Into<String>) -> Entry {
        Entry::Item {
            id,
            label: label.into(),
            enabled: true,
        }
    }

    fn disabled(id: MenuId, label: impl Into<String>) -> Entry {
        Entry::Item {
            id,
            label: label.into(),
            enabled: false,
        }
    }

    /// Its id.
    pub fn id(&self) -> &MenuId {
        match self {
            Entry::Item { id, .. } | Entry::Check { id, .. } | Entry::Submenu { id, .. } => id,
        }
    }

    /// Its label.
    pub fn label(&self) -> &str {
        match self {
            Entry::Item { label, .. }
            | Entry::Check { label, .. }
            | Entry::Submenu { label, .. } => label,
        }
    }
}

/// A paired device as the menu shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceLine {
    /// Node id.
    pub node_id: String,
    /// Name.
    pub name: String,
    /// The engine's state of it in words (in sync, syncing, failing: why, unreachable, …).
    pub state: String,
}

/// A discovered, unpaired device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearbyLine {
    /// Node id.
    pub node_id: String,
    /// Name.
    pub name: String,
}

/// Everything the menu shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MenuInputs {
    /// The status line (see [`crate::tray_state`]).
    pub status_line: String,
    /// Whether syncing is paused.
    pub paused: bool,
    /// Paired devices.
    pub devices: Vec<DeviceLine>,
    /// Nearby, unpaired devices.
    pub nearby: Vec<NearbyLine>,
    /// Whether the app starts at login.
    pub autostart: bool,
    /// Whether the engine runs (engine actions are disabled when it does not).
    pub engine_running: bool,
}

/// The menu model, top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuModel(pub Vec<Entry>);

/// Builds the menu model of DESIGN §10 with the contract's labels.
pub fn menu_model(inputs: &MenuInputs) -> MenuModel {
    let engine = inputs.engine_running;
    let mut entries = vec![
        Entry::disabled(MenuId::Status, inputs.status_line.clone()),
        Entry::Item {
            id: MenuId::SyncNow,
            label: "Sync now".into(),
            enabled: engine,
        },
    ];
    if inputs.paused {
        entries.push(Entry::Item {
            id: MenuId::Resume,
            label: "Resume".into(),
            enabled: engine,
        });
    } else {
        entries.push(Entry::Submenu {
            id: MenuId::Pause,
            label: "Pause".into(),
            items: vec![
                Entry::item(MenuId::Pause15, "Pause 15 min"),
                Entry::item(MenuId::Pause60, "Pause 1 h"),
                Entry::item(MenuId::PauseIndefinite, "Pause until resumed"),
            ],
        });
    }
    let mut devices: Vec<Entry> = inputs
        .devices
        .iter()
        .map(|d| {
            Entry::disabled(
                MenuId::Device(d.node_id.clone()),
                format!("{} — {}", d.name, d.state),
            )
        })
        .collect();
    if devices.is_empty() {
        devices.push(Entry::disabled(MenuId::NoDevices, "No paired devices"));
    }
    devices.push(Entry::item(MenuId::DevicesPair, "Pair…"));
    devices.push(Entry::item(MenuId::DevicesUnpair, "Unpair…"));
    entries.push(Entry::Submenu {
        id: MenuId::Devices,
        label: "Devices".into(),
        items: devices,
    });
    let mut nearby: Vec<Entry> = inputs
        .nearby
        .iter()
        .map(|n| Entry::item(MenuId::NearbyDevice(n.node_id.clone()), n.name.clone()))
        .collect();
    if nearby.is_empty() {
        nearby.push(Entry::disabled(MenuId::NoNearby, "No devices nearby"));
    }
    entries.push(Entry::Submenu {
        id: MenuId::Nearby,
        label: "Nearby devices".into(),
        items: nearby,
    });
    entries.push(Entry::item(MenuId::Open, "Open Mayros Sync"));
    entries.push(Entry::Check {
        id: MenuId::Autostart,
        label: "Start at login".into(),
        checked: inputs.autostart,
    });
    entries.push(Entry::item(MenuId::Quit, "Quit"));
    MenuModel(entries)
}

/// Builds the Tauri menu for a model (needs a real runtime: GTK on Linux).
pub fn build_menu<R: Runtime, M: Manager<R>>(app: &M, model: &MenuModel) -> tauri::Result<Menu<R>> {
    let menu = Menu::new(app)?;
    for entry in &model.0 {
        append(app, &menu, entry)?;
    }
    Ok(menu)
}

fn append<R: Runtime, M: Manager<R>>(app: &M, menu: &Menu<R>, entry: &Entry) -> tauri::Result<()> {
    let item = make(app, entry)?;
    menu.append(item.as_ref())
}

fn make<R: Runtime, M: Manager<R>>(
    app: &M,
    entry: &Entry,
) -> tauri::Result<Box<dyn IsMenuItem<R>>> {
    Ok(match entry {
        Entry::Item { id, label, enabled } => Box::new(MenuItem::with_id(
            app,
            id.to_string(),
            label,
            *enabled,
            None::<&str>,
        )?),
        Entry::Check { id, label, checked } => Box::new(CheckMenuItem::with_id(
            app,
            id.to_string(),
            label,
            true,
            *checked,
            None::<&str>,
        )?),
        Entry::Submenu { id, label, items } => {
            let sub = Submenu::with_id(app, id.to_string(), label, true)?;
            for child in items {
                let child = make(app, child)?;
                sub.append(child.as_ref())?;
            }
            Box::new(sub)
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_id_round_trips() {
        let ids = [
            MenuId::Status,
            MenuId::SyncNow,
            MenuId::Pause,
            MenuId::Pause15,
            MenuId::Pause60,
            MenuId::PauseIndefinite,
            MenuId::Resume,
            MenuId::Devices,
            MenuId::Device("ab12".into()),
            MenuId::NoDevices,
            MenuId::DevicesPair,
            MenuId::DevicesUnpair,
            MenuId::Nearby,
            MenuId::NearbyDevice("cd34".into()),
            MenuId::NoNearby,
            MenuId::Open,
            MenuId::Autostart,
            MenuId::Quit,
        ];
        for id in ids {
            assert_eq!(id.to_string().parse::<MenuId>().unwrap(), id);
        }
        assert_eq!(MenuId::NearbyDevice("x".into()).to_string(), "nearby:x");
        assert_eq!(MenuId::PauseIndefinite.to_string(), "pause-indefinite");
        assert!("nearby:".parse::<MenuId>().is_err());
        assert!("bogus".parse::<MenuId>().is_err());
    }

    fn labels(entries: &[Entry]) -> Vec<&str> {
        entries.iter().map(Entry::label).collect()
    }

    fn submenu<'a>(model: &'a MenuModel, id: &MenuId) -> &'a [Entry] {
        model
            .0
            .iter()
            .find_map(|e| match e {
                Entry::Submenu { id: i, items, .. } if i == id => Some(items.as_slice()),
                _ => None,
            })
            .unwrap()
    }

    #[test]
    fn the_menu_has_the_entries_of_design_10() {
        let inputs = MenuInputs {
            status_line: "In sync · native · 1 peer online".into(),
            devices: vec![DeviceLine {
                node_id: "aa".into(),
                name: "laptop".into(),
                state: "online".into(),
            }],
            nearby: vec![NearbyLine {
                node_id: "bb".into(),
                name: "desk".into(),
            }],
            autostart: true,
            engine_running: true,
            ..MenuInputs::default()
        };
        let model = menu_model(&inputs);
        assert_eq!(
            labels(&model.0),
            [
                "In sync · native · 1 peer online",
                "Sync now",
                "Pause",
                "Devices",
                "Nearby devices",
                "Open Mayros Sync",
                "Start at login",
                "Quit"
            ]
        );
        assert_eq!(
            model.0[0],
            Entry::Item {
                id: MenuId::Status,
                label: "In sync · native · 1 peer online".into(),
                enabled: false
            }
        );
        assert_eq!(
            labels(submenu(&model, &MenuId::Pause)),
            ["Pause 15 min", "Pause 1 h", "Pause until resumed"]
        );
        assert_eq!(
            labels(submenu(&model, &MenuId::Devices)),
            ["laptop — online", "Pair…", "Unpair…"]
        );
        let nearby = submenu(&model, &MenuId::Nearby);
        assert_eq!(labels(nearby), ["desk"]);
        assert_eq!(nearby[0].id().to_string(), "nearby:bb");
        assert!(matches!(model.0[6], Entry::Check { checked: true, .. }));
    }

    #[test]
    fn paused_shows_resume_and_empty_submenus_say_so() {
        let model = menu_model(&MenuInputs {
            status_line: "Paused · until resumed".into(),
            paused: true,
            engine_running: true,
            ..MenuInputs::default()
        });
        assert_eq!(model.0[2].label(), "Resume");
        assert_eq!(model.0[2].id(), &MenuId::Resume);
        assert_eq!(
            labels(submenu(&model, &MenuId::Devices)),
            ["No paired devices", "Pair…", "Unpair…"]
        );
        assert_eq!(
            labels(submenu(&model, &MenuId::Nearby)),
            ["No devices nearby"]
        );
        assert!(matches!(
            &submenu(&model, &MenuId::Nearby)[0],
            Entry::Item { enabled: false, .. }
        ));
    }
}
