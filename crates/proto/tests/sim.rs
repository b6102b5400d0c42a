//! Gossip scenarios on the deterministic simulated network: convergence to the model merge,
//! partitions, restarts, clock skew, redundancy in steady state, and 20/50-node meshes.
#![allow(clippy::unwrap_used)]

use mayros_sync_proto::gossip::sim::{Sim, SimConfig};

/// Random writes and deletes by random nodes over `duration_ms` of virtual time.
fn churn(sim: &mut Sim, nodes: u64, ids: u64, ops: u64, duration_ms: u64) {
    let start = sim.now();
    for i in 0..ops {
        let t = start + duration_ms * i / ops;
        sim.run_until(t);
        let n = sim.random() % nodes;
        let id = sim.random() % ids;
        let live = !sim.random().is_multiple_of(4);
        sim.write(n, id, live);
    }
}

#[test]
fn five_nodes_with_random_edits_and_deletes_converge_to_the_model_merge() {
    for seed in 1..=5 {
        let mut sim = Sim::new(SimConfig {
            nodes: 5,
            loss: 0.02,
            seed,
            ..SimConfig::default()
        });
        churn(&mut sim, 5, 300, 1_000, 20_000);
        let intervals = sim.run_until_converged(15);
        assert!(intervals.is_some(), "seed {seed} did not converge");
        assert!(intervals.unwrap() <= 15);
        assert!(!sim.model().is_empty());
    }
}

#[test]
fn without_loss_pushes_alone_keep_replicas_identical() {
    let mut sim = Sim::new(SimConfig {
        nodes: 5,
        round_interval_ms: 60_000,
        seed: 9,
        ..SimConfig::default()
    });
    churn(&mut sim, 5, 100, 300, 5_000);
    sim.run_until(sim.now() + 1_000);
    assert!(
        sim.converged(),
        "push announcements alone deliver every change"
    );
}

#[test]
fn a_partition_with_concurrent_edits_heals() {
    let mut sim = Sim::new(SimConfig {
        nodes: 5,
        seed: 3,
        ..SimConfig::default()
    });
    churn(&mut sim, 5, 50, 100, 4_000);
    sim.run_until_converged(10).unwrap();
    sim.partition(&[0, 1]);
    for i in 0..200 {
        let n = i % 5;
        let id = sim.random() % 80;
        sim.write(n, id, !i.is_multiple_of(7));
        sim.run_until(sim.now() + 25);
    }
    sim.run_until(sim.now() + 10_000);
    assert!(!sim.converged(), "the two sides diverged while split");
    assert_eq!(sim.state(0), sim.state(1));
    assert_eq!(sim.state(2), sim.state(4));
    let blooms_before: u64 = sim
        .nodes()
        .iter()
        .map(|n| n.stats().bloom_filters_sent)
        .sum();
    sim.heal();
    let intervals = sim.run_until_converged(6).expect("healed");
    assert!(intervals <= 3, "healed in {intervals} intervals");
    let blooms: u64 = sim
        .nodes()
        .iter()
        .map(|n| n.stats().bloom_filters_sent)
        .sum();
    assert!(
        blooms > blooms_before,
        "healing used the recent-window Bloom step"
    );
}

#[test]
fn a_node_offline_across_deletes_does_not_resurrect_them() {
    let mut sim = Sim::new(SimConfig {
        nodes: 4,
        seed: 5,
        ..SimConfig::default()
    });
    for id in 0..50 {
        sim.write(id % 4, id, true);
    }
    sim.run_until_converged(5).unwrap();
    sim.stop(3);
    for id in 0..25 {
        sim.write(id % 3, id, false);
    }
    sim.run_until(sim.now() + 20_000);
    sim.restart(3);
    sim.run_until_converged(5).unwrap();
    for n in 0..4 {
        let live = sim.state(n).values().filter(|v| **v).count();
        assert_eq!(live, 25, "node {n}: deletes stay deleted");
    }
    // The restarted node knew no recent window: the identification step (here a listing:
    // half of the 50 elements differ) found the 25 deletes.
    let found: u64 = sim
        .nodes()
        .iter()
        .map(|n| n.stats().exact_differences + n.stats().listed_differences)
        .sum();
    assert!(found >= 25, "identification found {found} differences");
}

#[test]
fn a_node_offline_across_tombstone_collection_does_not_resurrect_them() {
    let mut sim = Sim::new(SimConfig {
        nodes: 4,
        seed: 21,
        ..SimConfig::default()
    });
    for id in 0..60 {
        sim.write(id % 4, id, true);
    }
    sim.run_until_converged(5).unwrap();
    sim.stop(3);
    for id in 0..30 {
        sim.write(id % 3, id, false);
    }
    sim.run_until(sim.now() + 10_000);
    // Past the maximum retention the others collect every tombstone, acked or not (§2.3).
    for n in 0..3 {
        let horizon = sim.clock(n);
        sim.collect(n, horizon);
        assert!(
            sim.state(n).values().all(|live| *live),
            "node {n} collected"
        );
    }
    sim.restart(3);
    sim.run_until(sim.now() + 5 * 2_000);
    for n in 0..3 {
        let live = sim.state(n).values().filter(|v| **v).count();
        assert_eq!(live, 30, "node {n}: collected deletes do not come back");
        assert_eq!(
            sim.replica(n).review().len(),
            30,
            "node {n} holds the stale node's zombies for review"
        );
    }
}

#[test]
fn clock_skew_does_not_break_convergence() {
    let mut sim = Sim::new(SimConfig {
        nodes: 5,
        seed: 11,
        ..SimConfig::default()
    });
    sim.set_skew(2, 3_600_000);
    sim.set_skew(4, -600_000);
    churn(&mut sim, 5, 40, 400, 8_000);
    assert!(sim.run_until_converged(10).is_some());
}

#[test]
fn in_steady_state_nothing_is_sent_twice_and_rounds_are_small() {
    let mut sim = Sim::new(SimConfig {
        nodes: 5,
        seed: 13,
        ..SimConfig::default()
    });
    churn(&mut sim, 5, 500, 2_000, 10_000);
    sim.run_until_converged(10).unwrap();
    sim.run_until(sim.now() + 2 * 2_000);
    sim.reset_traffic();
    sim.run_until(sim.now() + 10 * 2_000);
    let t = &sim.traffic;
    assert_eq!(t.changes, 0, "changes sent in steady state: {t:?}");
    for redundant in [
        "batch",
        "exact-symbols",
        "differ",
        "bloom",
        "check",
        "send-all",
    ] {
        assert_eq!(
            t.by_kind.get(redundant),
            None,
            "{redundant} sent in steady state: {t:?}"
        );
    }
    let summaries = t.by_kind["summary"];
    // Every round answered in sync; a summary or reply in flight at either edge of the window
    // is counted on one side only (at most one per pair of the 5-node mesh).
    let in_sync = t.by_kind["in-sync"];
    assert!(
        summaries.abs_diff(in_sync) <= 10,
        "{summaries} summaries, {in_sync} in sync"
    );
    let per_round = t.bytes / summaries;
    assert!(per_round <= 64, "an in-sync round costs {per_round} B");
}

#[test]
fn twenty_and_fifty_node_meshes_converge_within_three_round_intervals() {
    for nodes in [20, 50] {
        let mut sim = Sim::new(SimConfig {
            nodes,
            seed: 17,
            ..SimConfig::default()
        });
        churn(&mut sim, nodes, 400, 1_500, 6_000);
        // Lose a tenth of the pushes' effect: take two nodes down during the churn tail.
        sim.stop(1);
        sim.stop(2);
        churn(&mut sim, nodes, 400, 300, 2_000);
        sim.restart(1);
        sim.restart(2);
        let intervals = sim.run_until_converged(10).expect("converged");
        assert!(intervals <= 3, "{nodes} nodes took {intervals} intervals");
    }
}
