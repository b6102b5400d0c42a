//! The QUIC link manager on 127.0.0.1: linking, the duplicate-link tie-break, redialing,
//! refusals, malformed frames and pass-through of unknown kinds.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use mayros_sync_node::quic::links::PAIRING_UNAVAILABLE;
use mayros_sync_node::quic::{
    dial_sync, LinkError, LinkEvent, Links, Membership, QuicEndpoint, PAIR_ALPN, SYNC_ALPN,
};
use mayros_sync_node::tls::DeviceCert;
use mayros_sync_proto::frame::{encode_frame, MAX_FRAME};
use mayros_sync_proto::seedproof::GroupSeed;
use tokio::sync::mpsc::Receiver;
use tokio::time::Instant;

/// Upper bound for anything a test waits for.
const DEADLINE: Duration = Duration::from_secs(30);

fn cert(n: u8) -> DeviceCert {
    DeviceCert::new(&SigningKey::from_bytes(&[n; 32])).unwrap()
}

fn node_id(n: u8) -> String {
    cert(n).node_id().to_string()
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A fixed roster and seed.
struct Roster {
    members: HashSet<String>,
    seed: Option<GroupSeed>,
}

impl Membership for Roster {
    fn is_member(&self, node_id: &str) -> bool {
        self.members.contains(node_id)
    }

    fn seed(&self) -> Option<GroupSeed> {
        self.seed.clone()
    }
}

/// A running link manager under test.
struct Node {
    id: String,
    links: Links,
    events: Receiver<LinkEvent>,
}

impl Node {
    fn addr(&self) -> SocketAddr {
        self.links.local_addr().unwrap()
    }
}

/// Starts device `n` with `members` in its roster and group seed `[seed; 32]` (none if `None`).
fn start(n: u8, members: &[u8], seed: Option<u8>) -> Node {
    let cert = cert(n);
    let endpoint = QuicEndpoint::bind(loopback(), &cert).unwrap();
    let roster = Roster {
        members: members.iter().map(|m| node_id(*m)).collect(),
        seed: seed.map(|s| GroupSeed([s; 32])),
    };
    let id = cert.node_id().to_string();
    let (links, events) = Links::start(endpoint, id.clone(), Arc::new(roster));
    Node { id, links, events }
}

/// The next event matching `pred` (others are returned too, for checks), or a panic at the deadline.
async fn expect(
    events: &mut Receiver<LinkEvent>,
    what: &str,
    mut pred: impl FnMut(&LinkEvent) -> bool,
) -> (LinkEvent, Vec<LinkEvent>) {
    let deadline = Instant::now() + DEADLINE;
    let mut skipped = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(e)) if pred(&e) => return (e, skipped),
            Ok(Some(e)) => skipped.push(e),
            Ok(None) => panic!("event channel closed while waiting for {what}"),
            Err(_) => panic!("timed out waiting for {what}; saw {skipped:?}"),
        }
    }
}

async fn expect_up(node: &mut Node, peer: &str) -> LinkEvent {
    let what = format!("Up from {peer}");
    expect(
        &mut node.events,
        &what,
        |e| matches!(e, LinkEvent::Up { peer: p, .. } if p == peer),
    )
    .await
    .0
}

async fn expect_down(node: &mut Node, peer: &str) -> String {
    let what = format!("Down from {peer}");
    match expect(
        &mut node.events,
        &what,
        |e| matches!(e, LinkEvent::Down { peer: p, .. } if p == peer),
    )
    .await
    .0
    {
        LinkEvent::Down { reason, .. } => reason,
        e => panic!("unexpected {e:?}"),
    }
}

async fn expect_frame(node: &mut Node, peer: &str, kind: u64) -> Vec<u8> {
    let what = format!("frame {kind} from {peer}");
    let pred = |e: &LinkEvent| matches!(e, LinkEvent::Frame { peer: p, kind: k, .. } if p == peer && *k == kind);
    match expect(&mut node.events, &what, pred).await.0 {
        LinkEvent::Frame { body, .. } => body,
        e => panic!("unexpected {e:?}"),
    }
}

/// Waits until `cond` holds, checking every 10 ms, or panics at the deadline.
async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Links `a` to `b` (a dials) and waits for both `Up`s.
async fn link(a: &mut Node, b: &mut Node) {
    a.links.want(&b.id, b.addr());
    expect_up(a, &b.id.clone()).await;
    expect_up(b, &a.id.clone()).await;
}

/// The body of test frame `i`: `len` bytes derived from `i`.
fn body(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|j| (i.wrapping_mul(31) + j) as u8).collect()
}

/// Sizes from empty to 1 MiB: mostly small, every 100th frame 1 MiB.
fn size(i: usize) -> usize {
    if i % 100 == 99 {
        1 << 20
    } else {
        (i * 7919) % 5000
    }
}

/// Receives `n` test frames from `peer` and checks kind, content and order.
async fn receive_in_order(node: &mut Node, peer: &str, n: usize) {
    for i in 0..n {
        let kind = 100 + (i % 7) as u64;
        let got = expect_frame(node, peer, kind).await;
        assert_eq!(got.len(), size(i), "frame {i}");
        assert!(got == body(i, size(i)), "frame {i} content");
    }
}

#[tokio::test]
async fn frames_flow_both_ways_in_order() {
    let mut a = start(1, &[2], Some(7));
    let mut b = start(2, &[1], Some(7));
    a.links.want(&b.id, b.addr());
    match expect_up(&mut a, &b.id.clone()).await {
        LinkEvent::Up { addr, dialed, .. } => {
            assert!(dialed);
            assert_eq!(addr, b.addr());
        }
        e => panic!("unexpected {e:?}"),
    }
    match expect_up(&mut b, &a.id.clone()).await {
        LinkEvent::Up { dialed, .. } => assert!(!dialed),
        e => panic!("unexpected {e:?}"),
    }
    assert_eq!(a.links.connected(), vec![(b.id.clone(), b.addr())]);
    assert!(b.links.is_connected(&a.id));

    const N: usize = 1000;
    let mut wire = 0u64;
    for i in 0..N {
        let kind = 100 + (i % 7) as u64;
        let frame = body(i, size(i));
        wire += encode_frame(kind, &frame).unwrap().len() as u64;
        a.links.send(&b.id, kind, &frame).unwrap();
        b.links.send(&a.id, kind, &frame).unwrap();
    }
    let (a_id, b_id) = (a.id.clone(), b.id.clone());
    tokio::join!(
        receive_in_order(&mut a, &b_id, N),
        receive_in_order(&mut b, &a_id, N)
    );

    for node in [&a, &b] {
        let (out, inn) = node.links.byte_counters();
        assert!(out >= wire && inn >= wire, "{out} / {inn} < {wire}");
    }
    until("the send queues are empty", || {
        a.links.queued_bytes(&b.id) == 0 && b.links.queued_bytes(&a.id) == 0
    })
    .await;
}

/// What one node of the triangle saw.
#[derive(Default, Debug)]
struct Seen {
    ups: HashMap<String, usize>,
    downs: Vec<(String, String)>,
    next: HashMap<String, u8>,
}

/// Drives one node of the triangle: on each `Up`, sends `n` numbered frames to that peer;
/// checks that every peer's numbered frames arrive once and in order.
async fn drive(node: &mut Node, peers: &[String], n: u8) -> Seen {
    let mut seen = Seen::default();
    let deadline = Instant::now() + DEADLINE;
    let done = |s: &Seen| peers.iter().all(|p| s.next.get(p) == Some(&n));
    while !done(&seen) {
        let event = tokio::time::timeout_at(deadline, node.events.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out; saw {seen:?}"))
            .unwrap();
        match event {
            LinkEvent::Up { peer, .. } => {
                *seen.ups.entry(peer.clone()).or_default() += 1;
                for i in 0..n {
                    node.links.send(&peer, 20, &[i]).unwrap();
                }
            }
            LinkEvent::Frame { peer, kind, body } => {
                assert_eq!(kind, 20);
                let next = seen.next.entry(peer).or_default();
                assert_eq!(body, [*next], "frames out of order or duplicated");
                *next += 1;
            }
            LinkEvent::Down { peer, reason } => seen.downs.push((peer, reason)),
            LinkEvent::Refused { .. } => {}
        }
    }
    seen
}

#[tokio::test]
async fn three_managers_link_each_pair_once_despite_simultaneous_dials() {
    for _round in 0..3 {
        let mut nodes = [
            start(1, &[2, 3], Some(7)),
            start(2, &[1, 3], Some(7)),
            start(3, &[1, 2], Some(7)),
        ];
        let addrs: Vec<_> = nodes.iter().map(|n| (n.id.clone(), n.addr())).collect();
        for node in &nodes {
            for (id, addr) in &addrs {
                if *id != node.id {
                    node.links.want(id, *addr);
                }
            }
        }
        let peers = |me: &str| -> Vec<String> {
            addrs
                .iter()
                .map(|(id, _)| id.clone())
                .filter(|id| id != me)
                .collect()
        };
        let (p0, p1, p2) = (
            peers(&nodes[0].id),
            peers(&nodes[1].id),
            peers(&nodes[2].id),
        );
        let [n0, n1, n2] = &mut nodes;
        let seen = tokio::join!(drive(n0, &p0, 50), drive(n1, &p1, 50), drive(n2, &p2, 50));
        for (node, seen, peers) in [
            (&nodes[0], seen.0, p0),
            (&nodes[1], seen.1, p1),
            (&nodes[2], seen.2, p2),
        ] {
            assert!(seen.downs.is_empty(), "{seen:?}");
            for p in &peers {
                assert_eq!(seen.ups.get(p), Some(&1), "{seen:?}");
            }
            let connected: Vec<_> = node.links.connected().into_iter().map(|(p, _)| p).collect();
            let mut expected = peers.clone();
            expected.sort();
            assert_eq!(connected, expected);
        }
        // After the tie-break settled, every pair still carries frames both ways.
        for i in 0..3 {
            for j in 0..3 {
                if i != j {
                    let to = nodes[j].id.clone();
                    nodes[i].links.send(&to, 21, &[i as u8]).unwrap();
                }
            }
        }
        let index: HashMap<String, u8> = addrs
            .iter()
            .enumerate()
            .map(|(i, (id, _))| (id.clone(), i as u8))
            .collect();
        for node in &mut nodes {
            // The two peers' frames may arrive in either order.
            let mut from = HashSet::new();
            while from.len() < 2 {
                let pred = |e: &LinkEvent| matches!(e, LinkEvent::Frame { kind: 21, .. });
                let (event, skipped) = expect(&mut node.events, "frame 21", pred).await;
                assert!(skipped.is_empty(), "{skipped:?}");
                if let LinkEvent::Frame { peer, body, .. } = event {
                    assert_eq!(body, [index[&peer]]);
                    assert!(from.insert(peer), "frame 21 twice");
                }
            }
        }
        for node in &nodes {
            node.links.shutdown();
        }
    }
}

#[tokio::test]
async fn a_lost_peer_is_redialed_at_its_new_address() {
    let mut a = start(1, &[2], Some(7));
    let mut b = start(2, &[1], Some(7));
    link(&mut a, &mut b).await;

    b.links.shutdown();
    let Node {
        links, mut events, ..
    } = b;
    drop(links);
    // Every task of the shut-down manager ends: the last event sender goes with them.
    tokio::time::timeout(DEADLINE, async { while events.recv().await.is_some() {} })
        .await
        .expect("the shut-down manager's tasks did not end");
    let b_id = node_id(2);
    let reason = expect_down(&mut a, &b_id).await;
    assert!(!reason.is_empty());
    assert!(!a.links.is_connected(&b_id));

    let mut b2 = start(2, &[1], Some(7));
    a.links.want(&b2.id, b2.addr());
    match expect_up(&mut a, &b_id).await {
        LinkEvent::Up { addr, .. } => assert_eq!(addr, b2.addr()),
        e => panic!("unexpected {e:?}"),
    }
    expect_up(&mut b2, &a.id.clone()).await;
    a.links.send(&b_id, 5, b"again").unwrap();
    assert_eq!(expect_frame(&mut b2, &a.id.clone(), 5).await, b"again");
}

/// Starts device `n` bound to `addr` once the address is free again.
async fn restart_at(n: u8, members: &[u8], addr: SocketAddr) -> Node {
    let cert = cert(n);
    let deadline = Instant::now() + DEADLINE;
    let endpoint = loop {
        match QuicEndpoint::bind(addr, &cert) {
            Ok(endpoint) => break endpoint,
            Err(e) => assert!(Instant::now() < deadline, "cannot rebind {addr}: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let roster = Roster {
        members: members.iter().map(|m| node_id(*m)).collect(),
        seed: Some(GroupSeed([7; 32])),
    };
    let id = cert.node_id().to_string();
    let (links, events) = Links::start(endpoint, id.clone(), Arc::new(roster));
    Node { id, links, events }
}

#[tokio::test]
async fn a_peer_back_at_the_same_address_is_redialed_by_backoff_alone() {
    let mut a = start(1, &[2], Some(7));
    let mut b = start(2, &[1], Some(7));
    let b_addr = b.addr();
    link(&mut a, &mut b).await;

    b.links.shutdown();
    expect_down(&mut a, &b.id.clone()).await;
    let Node {
        links, mut events, ..
    } = b;
    drop(links);
    tokio::time::timeout(DEADLINE, async { while events.recv().await.is_some() {} })
        .await
        .expect("the shut-down manager's tasks did not end");

    // No call on `a`: its redial loop finds b again.
    let mut b2 = restart_at(2, &[1], b_addr).await;
    expect_up(&mut a, &b2.id.clone()).await;
    expect_up(&mut b2, &a.id.clone()).await;
    b2.links.send(&a.id, 6, b"back").unwrap();
    assert_eq!(expect_frame(&mut a, &b2.id.clone(), 6).await, b"back");
}

/// Waits for `node` to report `Refused`, checking it never reported `Up` meanwhile; returns
/// the reason and whether it was reported as untrusted (a security event).
async fn expect_refused(node: &mut Node, from: &str) -> (String, bool) {
    let what = format!("Refused naming {from}");
    let (event, skipped) = expect(
        &mut node.events,
        &what,
        |e| matches!(e, LinkEvent::Refused { node_id: Some(id), .. } if id == from),
    )
    .await;
    assert!(
        !skipped.iter().any(|e| matches!(e, LinkEvent::Up { .. })),
        "{skipped:?}"
    );
    match event {
        LinkEvent::Refused {
            reason, untrusted, ..
        } => (reason, untrusted),
        e => panic!("unexpected {e:?}"),
    }
}

#[tokio::test]
async fn non_members_and_wrong_seeds_are_refused() {
    // 3 is not in a's roster; 4 is, but holds another seed.
    let mut a = start(1, &[2, 4], Some(7));
    let mut c = start(3, &[1], Some(7));
    c.links.want(&a.id, a.addr());
    let (reason, untrusted) = expect_refused(&mut a, &c.id.clone()).await;
    assert!(reason.contains("not a member"), "{reason}");
    assert!(
        untrusted,
        "a non-member is a security event on the refusing side"
    );
    let (_, untrusted) = expect_refused(&mut c, &a.id.clone()).await;
    assert!(!untrusted, "our own refused dial is not");

    let mut d = start(4, &[1], Some(8));
    d.links.want(&a.id, a.addr());
    let (reason, untrusted) = expect_refused(&mut a, &d.id.clone()).await;
    assert!(reason.contains("seed"), "{reason}");
    assert!(untrusted, "a wrong seed is a security event");
    let (_, untrusted) = expect_refused(&mut d, &a.id.clone()).await;
    assert!(!untrusted);

    assert!(a.links.connected().is_empty());
    assert!(!c.links.is_connected(&a.id) && !d.links.is_connected(&a.id));
    assert!(matches!(
        c.links.send(&a.id, 9, b"x"),
        Err(LinkError::NotConnected(_))
    ));
}

#[tokio::test]
async fn a_device_in_no_group_refuses_sync_and_pairing_is_closed() {
    let mut a = start(1, &[2], None);
    let b = start(2, &[1], Some(7));
    b.links.want(&a.id, a.addr());
    let (reason, untrusted) = expect_refused(&mut a, &b.id.clone()).await;
    assert!(reason.contains("no sync group"), "{reason}");
    assert!(!untrusted, "being in no group is not the peer's fault");

    let raw = QuicEndpoint::bind(loopback(), &cert(2)).unwrap();
    let conn = raw.connect(a.addr(), &a.id, PAIR_ALPN).await.unwrap();
    let closed = tokio::time::timeout(DEADLINE, conn.closed()).await.unwrap();
    assert!(closed.to_string().contains(PAIRING_UNAVAILABLE), "{closed}");
    let (reason, _) = expect_refused(&mut a, &b.id.clone()).await;
    assert!(reason.contains("pairing"), "{reason}");
}

#[tokio::test]
async fn an_oversized_frame_closes_only_that_link() {
    let mut a = start(1, &[2, 3], Some(7));
    let mut b = start(2, &[1], Some(7));
    link(&mut a, &mut b).await;

    // A raw member that completes the handshake, then announces a 5 MiB frame.
    let raw = QuicEndpoint::bind(loopback(), &cert(3)).unwrap();
    let conn = raw.connect(a.addr(), &a.id, SYNC_ALPN).await.unwrap();
    let (mut send, _recv) = dial_sync(&conn, &GroupSeed([7; 32]), &node_id(3))
        .await
        .unwrap();
    let raw_id = node_id(3);
    expect_up(&mut a, &raw_id).await;
    let five_mib: u32 = 5 * 1024 * 1024;
    assert!(five_mib as usize > MAX_FRAME);
    send.write_all(&five_mib.to_be_bytes()).await.unwrap();
    let reason = expect_down(&mut a, &raw_id).await;
    assert!(reason.contains("5242880"), "{reason}");
    let closed = tokio::time::timeout(DEADLINE, conn.closed()).await.unwrap();
    assert!(closed.to_string().contains("5242880"), "{closed}");

    // The well-behaved link is untouched.
    assert!(a.links.is_connected(&b.id));
    a.links.send(&b.id, 7, b"ping").unwrap();
    assert_eq!(expect_frame(&mut b, &a.id.clone(), 7).await, b"ping");
    b.links.send(&a.id, 7, b"pong").unwrap();
    assert_eq!(expect_frame(&mut a, &b.id.clone(), 7).await, b"pong");
}

#[tokio::test]
async fn unknown_kinds_pass_through_and_bad_sends_are_errors() {
    let mut a = start(1, &[2], Some(7));
    let mut b = start(2, &[1], Some(7));
    link(&mut a, &mut b).await;

    let kind = 0xdead_beef_u64;
    b.links.send(&a.id, kind, b"from the future").unwrap();
    assert_eq!(
        expect_frame(&mut a, &b.id.clone(), kind).await,
        b"from the future"
    );

    assert_eq!(
        a.links.send(&b.id, 1, b"proof?"),
        Err(LinkError::ReservedKind(1))
    );
    assert!(matches!(
        a.links.send(&b.id, 9, &vec![0; MAX_FRAME]),
        Err(LinkError::Frame(_))
    ));
    assert!(matches!(
        a.links.send(&node_id(9), 9, b""),
        Err(LinkError::NotConnected(_))
    ));
}

#[tokio::test]
async fn unwant_closes_the_link_and_stops_redialing() {
    let mut a = start(1, &[2], Some(7));
    let mut b = start(2, &[1], Some(7));
    link(&mut a, &mut b).await;

    a.links.unwant(&b.id);
    assert!(!a.links.is_connected(&b.id));
    let reason = expect_down(&mut a, &b.id.clone()).await;
    assert_eq!(reason, "no longer wanted");
    let reason = expect_down(&mut b, &a.id.clone()).await;
    assert!(reason.contains("no longer wanted"), "{reason}");
    // No redial: b sees no new link for a while after its first backoff step would have fired.
    let quiet = tokio::time::timeout(Duration::from_secs(3), b.events.recv()).await;
    assert!(quiet.is_err(), "{quiet:?}");
    a.links.shutdown();
    b.links.shutdown();
}

/// A peer that restarts on another port (its old link still "up" here: it was killed without
/// closing) links again at once, even where our dialed link would win the tie-break: a dial
/// from another address is not a duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_back_on_another_port_replaces_the_stale_link_we_dialed() {
    // `small` dials, so its link wins every tie-break against `large`.
    let (small, large) = if node_id(41) < node_id(42) {
        (41, 42)
    } else {
        (42, 41)
    };
    let mut s = start(small, &[large], Some(9));
    let mut old = start(large, &[small], Some(9));
    s.links.want(&old.id, old.addr());
    let up = expect_up(&mut s, &old.id).await;
    assert!(matches!(up, LinkEvent::Up { dialed: true, .. }), "{up:?}");
    expect_up(&mut old, &s.id).await;
    // The same device again on a new port, while its old endpoint still answers: it dials us.
    let mut back = start(large, &[small], Some(9));
    assert_ne!(back.addr(), old.addr());
    back.links.want(&s.id, s.addr());
    let (up, _) = expect(&mut s.events, "Up from the restarted peer", |e| {
        matches!(e, LinkEvent::Up { peer, addr, .. } if *peer == back.id && *addr == back.addr())
    })
    .await;
    assert!(matches!(up, LinkEvent::Up { dialed: false, .. }), "{up:?}");
    expect_up(&mut back, &s.id).await;
    drop(old);
}
