//! A `com.canonical.dbusmenu` client: finds the menu of a registered tray item (the item's
//! `Menu` property on `org.kde.StatusNotifierItem`), reads its layout (`GetLayout(0, -1, [])`)
//! and clicks entries (`Event(id, "clicked", v, timestamp)`), as a tray host does.

use std::collections::HashMap;

use zbus::blocking::{Connection, Proxy};
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

use super::watcher::Item;

const ITEM_IFACE: &str = "org.kde.StatusNotifierItem";
const MENU_IFACE: &str = "com.canonical.dbusmenu";

/// One layout node on the wire: `(ia{sv}av)` — id, properties, children (each a variant
/// holding another node).
type Node = (i32, HashMap<String, OwnedValue>, Vec<OwnedValue>);

/// One menu entry (DBusMenu properties with their spec defaults filled in).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The DBusMenu id (an integer assigned by the app's menu exporter).
    pub id: i32,
    /// The label with GTK mnemonic underscores removed.
    pub label: String,
    /// `"standard"` or `"separator"`.
    pub kind: String,
    /// `enabled` (default true).
    pub enabled: bool,
    /// `visible` (default true).
    pub visible: bool,
    /// `toggle-type`: `""`, `"checkmark"` or `"radio"`.
    pub toggle_type: String,
    /// `toggle-state`: 0 off, 1 on, -1 indeterminate (default -1).
    pub toggle_state: i32,
    /// `children-display`: `"submenu"` for a submenu.
    pub children_display: String,
    /// Child entries, in order.
    pub children: Vec<Entry>,
}

impl Entry {
    /// The visible, non-separator children, in order.
    pub fn items(&self) -> Vec<&Entry> {
        self.children
            .iter()
            .filter(|c| c.visible && c.kind != "separator")
            .collect()
    }

    /// Whether this entry opens a submenu.
    pub fn is_submenu(&self) -> bool {
        self.children_display == "submenu" || !self.children.is_empty()
    }

    /// The first visible entry (at any depth) whose label is `label`.
    pub fn find(&self, label: &str) -> Option<&Entry> {
        for c in self.items() {
            if c.label == label {
                return Some(c);
            }
            if let Some(found) = c.find(label) {
                return Some(found);
            }
        }
        None
    }

    /// The first visible entry (at any depth) whose label starts with `prefix`.
    pub fn find_prefix(&self, prefix: &str) -> Option<&Entry> {
        for c in self.items() {
            if c.label.starts_with(prefix) {
                return Some(c);
            }
            if let Some(found) = c.find_prefix(prefix) {
                return Some(found);
            }
        }
        None
    }

    /// An indented outline of the visible tree (for failure messages).
    pub fn outline(&self) -> String {
        let mut out = String::new();
        self.outline_into(0, &mut out);
        out
    }

    fn outline_into(&self, depth: usize, out: &mut String) {
        for c in self.items() {
            let mut flags = Vec::new();
            if !c.enabled {
                flags.push("disabled".to_string());
            }
            if !c.toggle_type.is_empty() {
                flags.push(format!("{}={}", c.toggle_type, c.toggle_state));
            }
            if c.is_submenu() {
                flags.push("submenu".to_string());
            }
            out.push_str(&format!(
                "\n{}{:?} [id {}{}]",
                "  ".repeat(depth + 1),
                c.label,
                c.id,
                if flags.is_empty() {
                    String::new()
                } else {
                    format!("; {}", flags.join(", "))
                }
            ));
            c.outline_into(depth + 1, out);
        }
    }
}

/// A connection to one tray item's menu.
pub struct MenuClient {
    conn: Connection,
    service: String,
    menu_path: OwnedObjectPath,
}

impl MenuClient {
    /// Connects to the bus and looks up the item's `Menu` object path.
    pub fn connect(bus_address: &str, item: &Item) -> zbus::Result<MenuClient> {
        let conn = zbus::blocking::connection::Builder::address(bus_address)?.build()?;
        let proxy = Proxy::new(&conn, item.service.clone(), item.path.clone(), ITEM_IFACE)?;
        let menu_path: OwnedObjectPath = proxy.get_property("Menu")?;
        Ok(MenuClient {
            conn,
            service: item.service.clone(),
            menu_path,
        })
    }

    /// A string property of the item (`Title`, `Id`, `Status`, `IconName`, `IconThemePath`…);
    /// `None` when the item does not answer it.
    pub fn item_property(&self, item: &Item, name: &str) -> Option<String> {
        let proxy = Proxy::new(
            &self.conn,
            item.service.clone(),
            item.path.clone(),
            ITEM_IFACE,
        )
        .ok()?;
        proxy.get_property::<String>(name).ok()
    }

    fn menu(&self) -> zbus::Result<Proxy<'static>> {
        Proxy::new(
            &self.conn,
            self.service.clone(),
            self.menu_path.clone(),
            MENU_IFACE,
        )
    }

    /// The whole menu tree (root entry id 0), after telling the exporter it is about to be shown.
    pub fn layout(&self) -> zbus::Result<Entry> {
        let menu = self.menu()?;
        // Exporters may build submenus lazily: say they are about to be shown (the answer,
        // "needs update", does not matter as the layout is read afterwards anyway).
        let _: zbus::Result<bool> = menu.call("AboutToShow", &(0i32,));
        let (_revision, root): (u32, Node) =
            menu.call("GetLayout", &(0i32, -1i32, Vec::<String>::new()))?;
        decode(root).map_err(|e| zbus::Error::Failure(format!("malformed layout: {e}")))
    }

    /// Clicks entry `id` (the event a tray host sends when the user activates it).
    pub fn click(&self, id: i32) -> zbus::Result<()> {
        let menu = self.menu()?;
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as u32)
            .unwrap_or(0);
        menu.call::<_, _, ()>("Event", &(id, "clicked", Value::from(0i32), timestamp))
    }
}

fn decode((id, props, children): Node) -> Result<Entry, String> {
    let text = |key: &str| -> Option<String> {
        props
            .get(key)
            .and_then(|v| String::try_from(v.clone()).ok())
    };
    let flag = |key: &str| -> Option<bool> { props.get(key).and_then(|v| bool::try_from(v).ok()) };
    let mut out = Entry {
        id,
        label: strip_mnemonic(&text("label").unwrap_or_default()),
        kind: text("type").unwrap_or_else(|| "standard".to_string()),
        enabled: flag("enabled").unwrap_or(true),
        visible: flag("visible").unwrap_or(true),
        toggle_type: text("toggle-type").unwrap_or_default(),
        toggle_state: props
            .get("toggle-state")
            .and_then(|v| i32::try_from(v).ok())
            .unwrap_or(-1),
        children_display: text("children-display").unwrap_or_default(),
        children: Vec::new(),
    };
    for child in children {
        let mut value: Value<'static> = child.into();
        // An `av` element may arrive still wrapped in its variant.
        while let Value::Value(inner) = value {
            value = *inner;
        }
        let fields = Node::try_from(value).map_err(|e| format!("child of {id}: {e}"))?;
        out.children.push(decode(fields)?);
    }
    Ok(out)
}

/// Removes GTK mnemonic markers: `_` before a letter goes, `__` is a literal underscore.
fn strip_mnemonic(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    let mut chars = label.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '_' {
            if chars.peek() == Some(&'_') {
                out.push('_');
                chars.next();
            }
            continue;
        }
        out.push(c);
    }
    out
}
