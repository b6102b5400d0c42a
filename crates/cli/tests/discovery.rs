//! `mayros sync discover` between two engines in two network namespaces joined by a veth pair
//! (DESIGN §7.1): the test creates both namespaces and the pair, gives addresses only inside
//! them (10.77.x.0/24), runs one `mayros daemon` in each with `discovery.interfaces` set to its
//! veth, and deletes everything in a Drop guard, also when an assertion fails. Nothing runs
//! in the host namespace's network except the `ip` commands. Needs root (CAP_NET_ADMIN); set
//! `MAYROS_SKIP_NETNS_TESTS=1` to skip where that is not available.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;
use std::time::Duration;

use common::{bin, Proc, Sandbox};
use serde_json::{json, Value};

/// Runs `ip <args>`; returns stderr on failure.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `ip`: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Two namespaces and the veth pair between them; deleted on drop.
struct Netns {
    names: [String; 2],
    veths: [String; 2],
}

impl Netns {
    fn create(subnet: u8) -> Result<Netns, String> {
        let tag = format!("{}{}", std::process::id() % 100_000, subnet);
        let me = Netns {
            names: [format!("mayros-a-{tag}"), format!("mayros-b-{tag}")],
            veths: [format!("mva{tag}"), format!("mvb{tag}")],
        };
        for n in &me.names {
            ip(&["netns", "add", n])?;
        }
        ip(&[
            "link",
            "add",
            "name",
            &me.veths[0],
            "netns",
            &me.names[0],
            "type",
            "veth",
            "peer",
            "name",
            &me.veths[1],
            "netns",
            &me.names[1],
        ])?;
        for (i, (ns, veth)) in me.names.iter().zip(&me.veths).enumerate() {
            let addr = format!("10.77.{subnet}.{}/24", i + 1);
            ip(&["-n", ns, "addr", "add", &addr, "dev", veth])?;
            ip(&["-n", ns, "link", "set", veth, "up"])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        Ok(me)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth end inside it (and so the pair).
        for n in &self.names {
            if let Err(e) = ip(&["netns", "del", n]) {
                eprintln!("cleanup: {e}");
            }
        }
    }
}

/// `ip netns exec <ns> mayros <args>` in `sb`'s environment.
fn in_ns(sb: &Sandbox, ns: &str) -> Command {
    let template = sb.command();
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns, bin()]);
    for (k, v) in template.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.stdin(std::process::Stdio::null());
    cmd
}

fn discover(sb: &Sandbox, ns: &str) -> Vec<Value> {
    let mut cmd = in_ns(sb, ns);
    cmd.arg("--data-dir")
        .arg(sb.data_dir())
        .args(["sync", "discover", "--json"]);
    let mut p = Proc::spawn(cmd);
    let status = p
        .wait_exit(Duration::from_secs(30))
        .expect("discover hangs");
    assert!(status.success(), "discover failed: {}", p.stderr());
    serde_json::from_str::<Value>(&p.stdout_text())
        .unwrap()
        .as_array()
        .cloned()
        .unwrap()
}

#[test]
fn engines_in_two_namespaces_discover_each_other_over_a_veth() {
    if std::env::var("MAYROS_SKIP_NETNS_TESTS").as_deref() == Ok("1") {
        eprintln!("skipped: MAYROS_SKIP_NETNS_TESTS=1");
        return;
    }
    let net = Netns::create(0).unwrap_or_else(|e| {
        panic!(
            "cannot create network namespaces ({e}); this test needs root (CAP_NET_ADMIN) — \
             set MAYROS_SKIP_NETNS_TESTS=1 to skip it"
        )
    });
    let mut engines = Vec::new();
    for (i, (ns, veth)) in net.names.iter().zip(&net.veths).enumerate() {
        let sb = Sandbox::new();
        sb.write_config(&json!({"discovery": {"bonjourEnabled": true, "interfaces": [veth]}}));
        let mut cmd = in_ns(&sb, ns);
        cmd.arg("daemon")
            .arg("--data-dir")
            .arg(sb.data_dir())
            .args(["--api", "127.0.0.1:0"])
            .args(["--peer-api", "0.0.0.0:0"])
            .args(["--quic", "0.0.0.0:0"])
            .args(["--name", &format!("ns{i}")]);
        let mut daemon = Proc::spawn(cmd);
        let ready = daemon.wait_ready();
        engines.push((sb, daemon, ready));
    }
    for (i, (sb, _, _)) in engines.iter().enumerate() {
        let other = &engines[1 - i].2;
        let other_ip = format!("10.77.0.{}", 2 - i);
        let found = common::wait_until(Duration::from_secs(30), || {
            discover(sb, &net.names[i])
                .iter()
                .any(|d| d["nodeId"] == other.node_id.as_str())
        });
        let list = discover(sb, &net.names[i]);
        assert!(found, "ns{i} did not discover ns{}: {list:?}", 1 - i);
        let d = list
            .iter()
            .find(|d| d["nodeId"] == other.node_id.as_str())
            .unwrap();
        assert_eq!(d["name"], format!("ns{}", 1 - i), "{d}");
        assert_eq!(d["paired"], false, "{d}");
        assert!(
            d["addresses"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == other_ip.as_str()),
            "{d}"
        );
        let quic: u16 = other
            .quic
            .as_deref()
            .unwrap()
            .rsplit_once(':')
            .unwrap()
            .1
            .parse()
            .unwrap();
        assert_eq!(d["quicPort"], quic, "{d}");
    }
    // The human table names the other device.
    let mut cmd = in_ns(&engines[0].0, &net.names[0]);
    cmd.arg("--data-dir")
        .arg(engines[0].0.data_dir())
        .args(["sync", "discover"]);
    let mut p = Proc::spawn(cmd);
    assert!(p.wait_exit(Duration::from_secs(30)).unwrap().success());
    let table = p.stdout_text();
    assert!(table.starts_with("NAME"), "{table}");
    assert!(
        table.contains("ns1") && table.contains("not paired"),
        "{table}"
    );
    drop(engines);
    drop(net);
}
