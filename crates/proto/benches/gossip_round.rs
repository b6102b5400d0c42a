//! Whole gossip rounds between two machines (DESIGN §4, targets of §12), every message through
//! the real codec: bytes each way of an in-sync round, identification bytes per differing
//! element with scattered differences (summary → exact, and summary → Bloom window → exact),
//! the share of differences found, and the same reconciliation done the way the system we
//! replace does it (one fixed 1024-bit, k = 3 Bloom filter over the first 8 id bytes).
//!
//! Run: `cargo bench -p mayros-sync-proto --bench gossip_round`

use std::collections::HashSet;
use std::time::Instant;

use mayros_sync_proto::gossip::msg::GossipMsg;
use mayros_sync_proto::gossip::node::{GossipConfig, GossipNode};
use mayros_sync_proto::gossip::replica::{Item, MemReplica, Version};
use mayros_sync_proto::reconcile::summary::FingerprintKey;

mod common;
use common::SplitMix;

const SEEDS: u64 = 5;
const D: usize = 1_000;

fn item(id: [u8; 32], hlc: u64) -> Item {
    Item {
        id,
        version: Version {
            hlc,
            author: 1,
            live: true,
        },
    }
}

/// Bytes moved by one round, split by purpose.
#[derive(Default, Debug, Clone, Copy)]
struct Bytes {
    /// Everything but change batches and acks, initiator → responder.
    ident_out: usize,
    /// Everything but change batches and acks, responder → initiator.
    ident_in: usize,
    /// Change batches and acks (payload transfer).
    transfer: usize,
}

struct Pair {
    a: GossipNode<u64, Item>,
    b: GossipNode<u64, Item>,
    ra: MemReplica,
    rb: MemReplica,
    now: u64,
}

impl Pair {
    fn new(key: &FingerprintKey, ra: MemReplica, rb: MemReplica) -> Pair {
        let cfg = GossipConfig {
            round_interval_ms: 1_000_000,
            ..GossipConfig::default()
        };
        let mut p = Pair {
            a: GossipNode::new(1, key.clone(), cfg.clone(), 1),
            b: GossipNode::new(2, key.clone(), cfg, 2),
            ra,
            rb,
            now: 0,
        };
        p.a.peer_up(2, 0);
        p.b.peer_up(1, 0);
        p.pump(&mut Bytes::default());
        p
    }

    /// Delivers every queued message (through encode/decode) until both sides are quiet.
    fn pump(&mut self, bytes: &mut Bytes) {
        loop {
            let mut moved = false;
            while let Some((_, m)) = self.a.poll_transmit() {
                moved = true;
                let m = wire(&m, bytes, true);
                self.b.handle(&1, m, self.now, &mut self.rb);
            }
            while let Some((_, m)) = self.b.poll_transmit() {
                moved = true;
                let m = wire(&m, bytes, false);
                self.a.handle(&2, m, self.now, &mut self.ra);
            }
            while self.a.poll_event().is_some() {}
            while self.b.poll_event().is_some() {}
            if !moved {
                return;
            }
        }
    }

    /// Runs one round started by `a`; returns its bytes.
    fn round(&mut self) -> Bytes {
        let mut bytes = Bytes::default();
        self.now = self.a.poll_timeout().unwrap_or(self.now).max(self.now);
        self.a.round_now(self.now, &mut self.ra);
        self.pump(&mut bytes);
        bytes
    }
}

fn wire(m: &GossipMsg<Item>, bytes: &mut Bytes, out: bool) -> GossipMsg<Item> {
    let (kind, body) = m.encode();
    let len = body.len() + 1;
    match m {
        GossipMsg::Batch { .. } | GossipMsg::Ack { .. } | GossipMsg::Hello { .. } => {
            bytes.transfer += len
        }
        _ if out => bytes.ident_out += len,
        _ => bytes.ident_in += len,
    }
    match GossipMsg::decode(kind, &body) {
        Ok(Some(m)) => m,
        other => panic!("codec failed on {}: {other:?}", m.name()),
    }
}

/// Two replicas sharing `n` ids, with `d` scattered differences (half on each side).
fn replicas(
    key: &FingerprintKey,
    n: usize,
    d: usize,
    seed: u64,
) -> (MemReplica, MemReplica, Vec<[u8; 32]>) {
    let mut rng = SplitMix(seed);
    let (mut ra, mut rb) = (MemReplica::new(key.clone()), MemReplica::new(key.clone()));
    for _ in 0..n {
        let it = item(rng.id(), 1);
        ra.merge(it);
        rb.merge(it);
    }
    let mut diffs = Vec::new();
    for i in 0..d {
        let it = item(rng.id(), 2);
        diffs.push(it.id);
        if i % 2 == 0 {
            ra.merge(it);
        } else {
            rb.merge(it);
        }
    }
    (ra, rb, diffs)
}

fn ids(r: &MemReplica) -> HashSet<[u8; 32]> {
    r.items().map(|i| i.id).collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// The replaced design: a fixed 1024-bit filter, k = 3, over the first 8 bytes of each id.
/// One side sends its filter; the other sends every id the filter lacks. Returns the share
/// of the differences found (both directions run) and the bytes of the two filters.
fn fixed_bloom(ra: &MemReplica, rb: &MemReplica, diffs: &[[u8; 32]]) -> (f64, usize) {
    const BITS: u64 = 1024;
    let probes = |id: &[u8; 32]| {
        let mut x = u64::from_le_bytes(id[..8].try_into().unwrap_or([0; 8]));
        (0..3)
            .map(|_| {
                x = x.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(17);
                x % BITS
            })
            .collect::<Vec<u64>>()
    };
    let filter = |r: &MemReplica| {
        let mut bits = vec![false; BITS as usize];
        for it in r.items() {
            for p in probes(&it.id) {
                bits[p as usize] = true;
            }
        }
        bits
    };
    let (fa, fb) = (filter(ra), filter(rb));
    let sa = ids(ra);
    let mut found = 0;
    for d in diffs {
        // The holder checks the other side's filter; a hit means "they have it": missed.
        let other_filter = if sa.contains(d) { &fb } else { &fa };
        if !probes(d).iter().all(|p| other_filter[*p as usize]) {
            found += 1;
        }
    }
    (found as f64 / diffs.len() as f64, 2 * (BITS as usize / 8))
}

fn main() {
    let key = FingerprintKey::from_bytes([7; 32]);
    println!("gossip rounds between two machines, d = {D} scattered differences (half each side), median of {SEEDS} seeds");
    println!(
        "{:>8}  {:>14}  {:>10}  {:>12}  {:>10}  {:>17}  {:>15}  {:>12}",
        "n",
        "in-sync B/way",
        "found",
        "ident B/diff",
        "round ms",
        "fixed-1024 found",
        "fixed-1024 B",
        "found ratio"
    );
    for n in [5_000usize, 50_000, 500_000] {
        let (mut insync, mut found, mut per_diff, mut ms, mut old_found, mut ratio) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        for seed in 0..SEEDS {
            // In sync: identical replicas.
            let (ra, rb, _) = replicas(&key, n, 0, seed);
            let mut pair = Pair::new(&key, ra, rb);
            let b = pair.round();
            insync.push(b.ident_out.max(b.ident_in) as f64);

            // Scattered differences, no recent window known: summary → exact.
            let (ra, rb, diffs) = replicas(&key, n, D, seed + 100);
            let (old, old_bytes) = fixed_bloom(&ra, &rb, &diffs);
            let mut pair = Pair::new(&key, ra, rb);
            let t = Instant::now();
            let b = pair.round();
            ms.push(t.elapsed().as_secs_f64() * 1e3);
            let (sa, sb) = (ids(&pair.ra), ids(&pair.rb));
            let missing = diffs
                .iter()
                .filter(|d| !(sa.contains(*d) && sb.contains(*d)))
                .count();
            found.push(1.0 - missing as f64 / diffs.len() as f64);
            let ident = (b.ident_out + b.ident_in) as f64;
            per_diff.push(ident / D as f64);
            old_found.push(old);
            ratio.push(old_bytes as f64);
        }
        let (ours, theirs) = (median(found), median(old_found));
        let found_ratio = if theirs > 0.0 {
            format!("{:.1}x", ours / theirs)
        } else {
            "inf (0 found)".to_string()
        };
        println!(
            "{:>8}  {:>14.0}  {:>9.1}%  {:>12.1}  {:>10.1}  {:>16.1}%  {:>15.0}  {:>12}",
            n,
            median(insync),
            100.0 * ours,
            median(per_diff),
            median(ms),
            100.0 * theirs,
            median(ratio),
            found_ratio
        );
    }

    // The recent-window step: after a successful round, 1 000 new scattered changes.
    println!();
    println!("after a successful round, {D} new scattered changes (recent window → Bloom, then exact for what it hides)");
    println!(
        "{:>8}  {:>10}  {:>12}  {:>14}",
        "n", "found", "ident B/diff", "exact needed"
    );
    for n in [5_000usize, 50_000, 500_000] {
        let (mut found, mut per_diff, mut exact) = (vec![], vec![], vec![]);
        for seed in 0..SEEDS {
            let (ra, rb, _) = replicas(&key, n, 0, seed + 200);
            let mut pair = Pair::new(&key, ra, rb);
            pair.round();
            let mut rng = SplitMix(seed + 300);
            let mut diffs = Vec::new();
            for i in 0..D {
                let it = item(rng.id(), 3);
                diffs.push(it.id);
                if i % 2 == 0 {
                    pair.ra.merge(it);
                } else {
                    pair.rb.merge(it);
                }
            }
            let before = pair.a.stats().exact_sessions;
            let mut b = pair.round();
            // A Bloom false positive hides an element for one round; the same round's check
            // sends it to exact reconciliation, so one round always suffices.
            let (sa, sb) = (ids(&pair.ra), ids(&pair.rb));
            let missing = diffs
                .iter()
                .filter(|d| !(sa.contains(*d) && sb.contains(*d)))
                .count();
            found.push(1.0 - missing as f64 / D as f64);
            b.transfer = 0;
            per_diff.push((b.ident_out + b.ident_in) as f64 / D as f64);
            exact.push((pair.a.stats().exact_sessions - before) as f64);
        }
        println!(
            "{:>8}  {:>9.1}%  {:>12.1}  {:>14.0}",
            n,
            100.0 * median(found),
            median(per_diff),
            median(exact)
        );
    }
}
