//! mDNS/DNS-SD advertisement and browsing (DESIGN §7.1) — the only module that uses `mdns-sd`.
//!
//! The responder is restricted to `discovery.interfaces` (default: every non-loopback one)
//! through mdns-sd's interface selection *before* anything is registered or browsed, so no
//! announcement or query leaves on another interface. The TXT record carries `node_id`,
//! `name`, `quic`, `https` and `version` — never the seed or anything derived from it.

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Duration;

use mdns_sd::{IfKind, ServiceDaemon, ServiceEvent, ServiceInfo};
use tokio::sync::mpsc;

use super::nearby::{NearbySource, Sighting};
use crate::error::Error;

/// What is advertised about this device.
#[derive(Debug, Clone)]
pub struct Advert {
    /// Our node id (TXT `node_id`); announcements carrying it are ignored.
    pub node_id: String,
    /// Device name (TXT `name`).
    pub name: String,
    /// QUIC port (TXT `quic`).
    pub quic_port: Option<u16>,
    /// Peer HTTPS API port (TXT `https`, and the SRV port).
    pub https_port: Option<u16>,
}

/// Which responder runs: a change of any field restarts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdnsSettings {
    /// DNS-SD service type as configured (`_mayros-cortex._tcp`).
    pub service_type: String,
    /// Interfaces to use; `None` means every non-loopback one.
    pub interfaces: Option<Vec<String>>,
}

/// What the browser reports.
#[derive(Debug, Clone)]
pub enum MdnsEvent {
    /// Another device's instance resolved (or re-resolved).
    Resolved {
        /// The DNS-SD instance name.
        fullname: String,
        /// What it announced.
        sighting: Sighting,
    },
    /// An instance said goodbye or its records expired.
    Removed {
        /// The DNS-SD instance name.
        fullname: String,
    },
}

/// A running responder and browser.
pub struct Mdns {
    daemon: ServiceDaemon,
    fullname: String,
    ty_domain: String,
    settings: MdnsSettings,
}

impl std::fmt::Debug for Mdns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mdns")
            .field("fullname", &self.fullname)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// `_x._tcp` → `_x._tcp.local.`
fn ty_domain(service_type: &str) -> String {
    let t = service_type.trim_end_matches('.');
    if t.ends_with(".local") {
        format!("{t}.")
    } else {
        format!("{t}.local.")
    }
}

/// Addresses of the selected interfaces (non-loopback ones when `interfaces` is `None`).
fn interface_addresses(interfaces: Option<&[String]>) -> Vec<IpAddr> {
    let all = if_addrs::get_if_addrs().unwrap_or_default();
    all.into_iter()
        .filter(|i| match interfaces {
            Some(names) => names.iter().any(|n| n == &i.name),
            None => !i.is_loopback(),
        })
        .map(|i| i.ip())
        .collect()
}

impl Mdns {
    /// Starts advertising `advert` and browsing the same type on the configured interfaces;
    /// resolved and removed instances are sent to `events`.
    pub fn start(
        settings: MdnsSettings,
        advert: &Advert,
        events: mpsc::UnboundedSender<MdnsEvent>,
    ) -> Result<Mdns, Error> {
        let _span =
            tracing::info_span!("mdns_start", service_type = %settings.service_type).entered();
        let err = |what: &str, e: mdns_sd::Error| Error::Discovery(format!("{what}: {e}"));
        let daemon = ServiceDaemon::new().map_err(|e| err("cannot start mDNS", e))?;
        // Restrict the interfaces first: commands run in order, before any register/browse.
        match &settings.interfaces {
            Some(names) => {
                daemon
                    .disable_interface(IfKind::All)
                    .map_err(|e| err("cannot disable interfaces", e))?;
                if names.is_empty() {
                    tracing::warn!("discovery.interfaces is empty: mDNS uses no interface");
                } else {
                    let kinds: Vec<IfKind> =
                        names.iter().map(|n| IfKind::Name(n.clone())).collect();
                    daemon
                        .enable_interface(kinds)
                        .map_err(|e| err("cannot enable interfaces", e))?;
                }
            }
            None => daemon
                .disable_interface(vec![IfKind::LoopbackV4, IfKind::LoopbackV6])
                .map_err(|e| err("cannot disable loopback", e))?,
        }
        let ty = ty_domain(&settings.service_type);
        let mut txt: Vec<(&str, String)> = vec![
            ("node_id", advert.node_id.clone()),
            ("name", truncate(&advert.name, 200)),
            ("version", env!("CARGO_PKG_VERSION").to_string()),
        ];
        if let Some(p) = advert.quic_port {
            txt.push(("quic", p.to_string()));
        }
        if let Some(p) = advert.https_port {
            txt.push(("https", p.to_string()));
        }
        let short = advert.node_id.get(..16).unwrap_or(&advert.node_id);
        let instance = format!("mayros-{short}");
        let host = format!("mayros-{short}.local.");
        let addrs = interface_addresses(settings.interfaces.as_deref());
        let port = advert.https_port.or(advert.quic_port).unwrap_or(0);
        let info = ServiceInfo::new(&ty, &instance, &host, &addrs[..], port, &txt[..])
            .map_err(|e| err("invalid mDNS service", e))?
            .enable_addr_auto();
        let fullname = info.get_fullname().to_string();
        let browse = daemon
            .browse(&ty)
            .map_err(|e| err("cannot browse mDNS", e))?;
        daemon
            .register(info)
            .map_err(|e| err("cannot register the mDNS service", e))?;
        tracing::info!(%fullname, interfaces = ?settings.interfaces, addresses = ?addrs, "mDNS discovery started");

        let own = advert.node_id.clone();
        let own_fullname = fullname.clone();
        let browse_ty = ty.clone();
        std::thread::Builder::new()
            .name("mayros-mdns-browse".into())
            .spawn(move || browse_loop(browse, &browse_ty, &own, &own_fullname, events))
            .map_err(|e| Error::Discovery(format!("cannot spawn the mDNS browser: {e}")))?;
        Ok(Mdns {
            daemon,
            fullname,
            ty_domain: ty,
            settings,
        })
    }

    /// The settings it runs with.
    pub fn settings(&self) -> &MdnsSettings {
        &self.settings
    }

    /// Says goodbye (so others drop us at once) and stops the responder (blocking, ≤ 2 s).
    pub fn stop(self) {
        let _span = tracing::info_span!("mdns_stop", fullname = %self.fullname).entered();
        if let Ok(rx) = self.daemon.unregister(&self.fullname) {
            let _ = rx.recv_timeout(Duration::from_secs(1));
        }
        let _ = self.daemon.stop_browse(&self.ty_domain);
        if let Ok(rx) = self.daemon.shutdown() {
            let _ = rx.recv_timeout(Duration::from_secs(1));
        }
        tracing::info!("mDNS discovery stopped");
    }
}

fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// How often the browse thread, between events, checks that someone still listens. Stopping
/// the responder ends it at once (its channel disconnects); this only bounds how long it
/// outlives an engine that dropped its receiver without stopping.
const BROWSE_CHECK: Duration = Duration::from_secs(5);

/// Turns browse events into [`MdnsEvent`]s until the daemon or the receiver goes away.
fn browse_loop(
    rx: mdns_sd::Receiver<ServiceEvent>,
    ty: &str,
    own_node_id: &str,
    own_fullname: &str,
    events: mpsc::UnboundedSender<MdnsEvent>,
) {
    let mut ours: HashSet<String> = HashSet::new();
    loop {
        let event = match rx.recv_timeout(BROWSE_CHECK) {
            Ok(e) => e,
            Err(mdns_sd::RecvTimeoutError::Timeout) => {
                if events.is_closed() {
                    return;
                }
                continue;
            }
            Err(mdns_sd::RecvTimeoutError::Disconnected) => return,
        };
        let out = match event {
            ServiceEvent::ServiceResolved(r) => {
                if r.ty_domain != ty || r.fullname == own_fullname {
                    continue;
                }
                let prop = |k: &str| r.get_property_val_str(k).map(str::to_string);
                let Some(node_id) =
                    prop("node_id").filter(|id| mayros_sync_proto::roster::is_valid_node_id(id))
                else {
                    tracing::debug!(fullname = %r.fullname, "mDNS instance without a valid node_id; ignored");
                    continue;
                };
                if node_id == own_node_id {
                    continue;
                }
                ours.insert(r.fullname.clone());
                let port = |k: &str| prop(k).and_then(|p| p.parse::<u16>().ok());
                let mut addresses: Vec<IpAddr> =
                    r.addresses.iter().map(|a| a.to_ip_addr()).collect();
                addresses.sort();
                addresses.dedup();
                MdnsEvent::Resolved {
                    fullname: r.fullname.clone(),
                    sighting: Sighting {
                        node_id: Some(node_id),
                        name: prop("name").unwrap_or_default(),
                        addresses,
                        quic_port: port("quic"),
                        https_port: port("https"),
                        source: NearbySource::Mdns,
                    },
                }
            }
            ServiceEvent::ServiceRemoved(t, fullname) if t == ty => {
                if !ours.remove(&fullname) {
                    continue;
                }
                MdnsEvent::Removed { fullname }
            }
            _ => continue,
        };
        if events.send(out).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_type_gets_the_local_domain() {
        assert_eq!(
            ty_domain("_mayros-cortex._tcp"),
            "_mayros-cortex._tcp.local."
        );
        assert_eq!(ty_domain("_x._udp.local."), "_x._udp.local.");
        assert_eq!(truncate("héllo", 2), "h");
    }
}
