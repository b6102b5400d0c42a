//! Convergence from arbitrary starting states (DESIGN §13): random pairs and triples of
//! replicas — sizes 0–50 000, any overlap, tombstones and delete/keep conflicts on every
//! side, either side initiating, restarts and loss — must reach the model merge within the
//! bound `gossip::strategy` states, in identification bytes that grow with the difference.
#![allow(clippy::unwrap_used)]

use mayros_sync_proto::gossip::sim::{Sim, SimConfig};
use proptest::prelude::*;

/// Round interval of these runs (virtual ms).
const INTERVAL: u64 = 2_000;

/// Fixed identification cost of the rounds of one run (summaries, first IBLT batch, round
/// ends) that does not grow with the difference.
const FIXED_BYTES: u64 = 6_144;

/// Worst identification bytes per difference (the strategy's bound: an IBLT that spends its
/// budget and the listing after it; the typical figure is 24–27 B).
const BYTES_PER_DIFFERENCE: u64 = 64;

#[derive(Debug, Clone)]
struct Case {
    /// Elements only node k holds.
    own: Vec<u64>,
    /// Elements every node holds.
    shared: u64,
    /// Shared elements that one node deleted later than the others wrote them.
    conflicts: u64,
    /// Percentage of each node's own elements that are tombstones.
    tomb_pct: u64,
    /// Which node holds which content (rotates who initiates).
    rotate: u64,
    seed: u64,
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn size() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..=8, 0u64..=2_000, 0u64..=50_000]
}

fn case(nodes: usize) -> impl Strategy<Value = Case> {
    (
        proptest::collection::vec(size(), nodes),
        size(),
        0u64..=100,
        0u64..=60,
        0u64..3,
        any::<u64>(),
    )
        .prop_map(|(own, shared, conflict_pct, tomb_pct, rotate, seed)| Case {
            conflicts: shared * conflict_pct / 400,
            own,
            shared,
            tomb_pct,
            rotate,
            seed,
        })
}

/// A simulator whose nodes start from `case`'s contents with their links up.
fn build(case: &Case, loss: f64) -> Sim {
    let nodes = case.own.len() as u64;
    let mut sim = Sim::new(SimConfig {
        nodes,
        round_interval_ms: INTERVAL,
        loss,
        max_batch_changes: 5_000,
        seed: case.seed,
        ..SimConfig::default()
    });
    for (k, own) in case.own.iter().enumerate() {
        let node = (k as u64 + case.rotate) % nodes;
        for i in 0..*own {
            let id = ((k as u64 + 1) << 40) | i;
            let live = mix(id ^ case.seed) % 100 >= case.tomb_pct;
            sim.preload(node, id, live, 1_000 + i);
        }
    }
    for i in 0..case.shared {
        for n in 0..nodes {
            sim.preload(n, i, true, 1_000 + i);
        }
    }
    for i in 0..case.conflicts {
        // A later delete on one node must win everywhere.
        sim.preload(i % nodes, i, false, 10_000_000 + i);
    }
    sim
}

/// Differing reconciliation elements between nodes 0 and 1: an id one side lacks is one, an
/// id live on one side and deleted on the other is two (its live and its tombstone element).
fn differences(sim: &Sim) -> u64 {
    let (a, b) = (sim.state(0), sim.state(1));
    let mut d = 0;
    for (id, live) in &a {
        d += match b.get(id) {
            None => 1,
            Some(other) if other != live => 2,
            Some(_) => 0,
        };
    }
    d + b.keys().filter(|id| !a.contains_key(*id)).count() as u64
}

fn failed_rounds(sim: &Sim) -> u64 {
    sim.nodes().iter().map(|n| n.stats().failed_rounds).sum()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    /// Two replicas from any state: identical to the merge within two completed rounds (three
    /// intervals: the first round starts within a tenth of one), no failed round, and
    /// identification bytes within the stated bound per difference and never above a 32-byte
    /// listing of the larger side.
    #[test]
    fn any_two_replicas_converge_within_the_bound(case in case(2)) {
        let mut sim = build(&case, 0.0);
        let d = differences(&sim);
        let larger = sim.state(0).len().max(sim.state(1).len()) as u64;
        let intervals = sim.run_until_converged(3);
        prop_assert!(intervals.is_some(), "not converged in 3 intervals: d = {d}");
        prop_assert_eq!(sim.state(0), sim.model());
        prop_assert_eq!(failed_rounds(&sim), 0, "a round failed");
        let ident = sim.traffic.identification_bytes();
        prop_assert!(
            ident <= FIXED_BYTES + BYTES_PER_DIFFERENCE * d,
            "{} B to identify {} differences", ident, d
        );
        prop_assert!(
            ident <= FIXED_BYTES + 32 * larger * 11 / 10,
            "{} B: more than 1.1 x a listing of {} ids", ident, larger
        );
    }

    /// Three replicas from any state converge to the merge, and stay there.
    #[test]
    fn any_three_replicas_converge_within_the_bound(case in case(3)) {
        let mut sim = build(&case, 0.0);
        prop_assert!(sim.run_until_converged(4).is_some(), "not converged in 4 intervals");
        prop_assert_eq!(failed_rounds(&sim), 0, "a round failed");
        sim.reset_traffic();
        sim.run_until(sim.now() + 2 * INTERVAL);
        prop_assert!(sim.converged());
        prop_assert_eq!(sim.traffic.changes, 0, "in sync, yet changes moved");
    }

    /// With message loss (each loss breaks the link, as QUIC would) and a node restarted
    /// mid-way, every node still reaches the merge, and no strategy failure repeats.
    #[test]
    fn loss_and_restarts_only_delay_convergence(case in case(3), at in 0u64..INTERVAL * 2) {
        let mut sim = build(&case, 0.002);
        sim.run_until(at);
        sim.stop(1);
        sim.run_until(at + INTERVAL);
        sim.restart(1);
        prop_assert!(sim.run_until_converged(30).is_some(), "not converged in 30 intervals");
    }
}

/// The pair of the report: a device with 5 triples of its own joins one with 20 000.
#[test]
fn five_of_its_own_against_twenty_thousand_converges_in_two_rounds() {
    for rotate in 0..2 {
        let case = Case {
            own: vec![5, 20_000],
            shared: 0,
            conflicts: 0,
            tomb_pct: 0,
            rotate,
            seed: 7,
        };
        let mut sim = build(&case, 0.0);
        assert!(sim.run_until_converged(3).is_some(), "rotate {rotate}");
        assert_eq!(sim.state(0).len(), 20_005);
        assert_eq!(failed_rounds(&sim), 0);
        let ident = sim.traffic.identification_bytes();
        assert!(ident < 1_024, "{ident} B to identify 20 005 differences");
    }
}

/// A node offline while the other wrote 20 000, restarted with a fresh machine (no window).
#[test]
fn a_restarted_node_catches_up_twenty_thousand_writes() {
    let case = Case {
        own: vec![0, 0],
        shared: 1_000,
        conflicts: 1,
        tomb_pct: 0,
        rotate: 0,
        seed: 11,
    };
    let mut sim = build(&case, 0.0);
    assert!(sim.run_until_converged(3).is_some());
    // A round proves the pair in sync: both record the acknowledgement.
    sim.run_until(sim.now() + 2 * INTERVAL);
    sim.stop(1);
    for i in 0..20_000 {
        sim.write(0, 1 << 50 | i, true);
    }
    sim.reset_traffic();
    sim.restart(1);
    let intervals = sim.run_until_converged(3);
    assert!(intervals.is_some(), "no catch-up");
    assert_eq!(failed_rounds(&sim), 0);
    // The durable acknowledgements give the restarted node its recent window back: a Bloom
    // filter (~1.2 B per window element) finds the writes, not a full identification (~25 B).
    let ident = sim.traffic.identification_bytes();
    assert!(ident < 20_000 * 3, "{ident} B to identify 20 000 writes");
    assert!(
        sim.traffic.by_kind.get("bloom").is_some_and(|n| *n >= 1),
        "{:?}",
        sim.traffic.by_kind
    );
}

/// Both sides with 10 000 of their own, and one side holding 5 000 deletes of triples the
/// other still has live.
#[test]
fn disjoint_halves_and_deletes_the_other_side_lacks_converge() {
    let case = Case {
        own: vec![10_000, 10_000],
        shared: 20_000,
        conflicts: 5_000 * 2,
        tomb_pct: 10,
        rotate: 1,
        seed: 5,
    };
    let mut sim = build(&case, 0.0);
    let d = differences(&sim);
    assert!(sim.run_until_converged(3).is_some());
    let model = sim.model();
    assert!(model.values().filter(|live| !**live).count() >= 5_000);
    assert_eq!(sim.state(1), model);
    assert!(sim.traffic.identification_bytes() <= FIXED_BYTES + 48 * d);
}

/// Three nodes, one stopped while 50 000 writes land elsewhere, then restarted.
#[test]
fn three_nodes_one_restarting_after_fifty_thousand_writes() {
    let case = Case {
        own: vec![100, 100, 100],
        shared: 0,
        conflicts: 0,
        tomb_pct: 5,
        rotate: 0,
        seed: 13,
    };
    let mut sim = build(&case, 0.0);
    assert!(sim.run_until_converged(4).is_some());
    sim.stop(2);
    for i in 0..50_000u64 {
        sim.write(i % 2, 1 << 51 | i, i % 10 != 0);
    }
    sim.run_until(sim.now() + INTERVAL);
    sim.restart(2);
    assert!(sim.run_until_converged(4).is_some());
    assert_eq!(failed_rounds(&sim), 0);
}

/// Equal counts hide a difference larger than the IBLT's budget: the round's IBLT gives up and
/// the same round falls to a listing, so the pair converges without a failed round.
#[test]
fn an_iblt_that_spends_its_budget_falls_to_a_listing_in_the_same_round() {
    let case = Case {
        own: vec![1_600, 1_600],
        shared: 400,
        conflicts: 0,
        tomb_pct: 0,
        rotate: 0,
        seed: 17,
    };
    let mut sim = build(&case, 0.0);
    assert!(sim.run_until_converged(3).is_some());
    assert_eq!(failed_rounds(&sim), 0, "the give-up is not a failed round");
    let exact: u64 = sim.nodes().iter().map(|n| n.stats().exact_sessions).sum();
    let listings: u64 = sim.nodes().iter().map(|n| n.stats().listings).sum();
    let rounds: u64 = sim.nodes().iter().map(|n| n.stats().rounds).sum();
    assert!(exact >= 1, "the counts were equal: the IBLT was tried");
    assert!(listings >= 2, "both sides took part in a listing");
    assert!(
        sim.traffic.identification_bytes() <= 32 * 2_000 * 11 / 10 + FIXED_BYTES,
        "{} B",
        sim.traffic.identification_bytes()
    );
    assert!(rounds <= 4, "{rounds} rounds");
}
