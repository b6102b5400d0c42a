//! Membership scenarios in the simulated group (`membership::sim`): pairing through a third
//! device, unpair with seed rotation while a member is offline, concurrent rotations, and
//! random churn checked against a model of who is in the group.

use std::collections::BTreeSet;

use mayros_sync_proto::membership::sim::MemberSim;
use proptest::prelude::*;

/// Virtual time any scenario may take to settle (links are retried every 500 ms).
const SETTLE_MS: u64 = 30_000;

/// Lets `group` settle before a pairing or an unpair. With every member online it must; when
/// one is offline, it may hold what the others need to meet (an inviter gone before its news of
/// the device it paired spread): answers `false` then, and the op is skipped.
fn settled_for_op(sim: &mut MemberSim, group: &[usize], online: &[bool]) -> bool {
    if group.iter().all(|d| online[*d]) {
        settle(sim, group);
        return true;
    }
    sim.run_until(SETTLE_MS, |s| s.settled(group)).is_some()
}

fn settle(sim: &mut MemberSim, group: &[usize]) -> u64 {
    match sim.run_until(SETTLE_MS, |s| s.settled(group)) {
        Some(t) => t,
        None => panic!(
            "{group:?} did not settle within {SETTLE_MS} ms: {:?}",
            sim.stats()
        ),
    }
}

#[test]
fn devices_paired_through_a_third_one_link_directly() {
    let mut sim = MemberSim::new(3, 1);
    sim.pair(0, 1);
    settle(&mut sim, &[0, 1]);
    sim.pair(1, 2);
    let took = settle(&mut sim, &[0, 1, 2]);
    assert!(sim.linked(0, 2), "0 and 2 never met but must link directly");
    assert!(
        took <= 2_000,
        "learning the roster and address took {took} ms"
    );
    // 0 learned 2's address from 1 and keeps it across a restart.
    sim.stop(0);
    sim.stop(1);
    sim.start(0);
    // The group is still three; 1 is offline.
    settle(&mut sim, &[0, 1, 2]);
    assert!(sim.linked(0, 2));
}

#[test]
fn a_member_offline_during_an_unpair_gets_the_rotated_seed_and_the_removed_device_never_does() {
    let mut sim = MemberSim::new(4, 2);
    for b in 1..4 {
        sim.pair(0, b);
    }
    settle(&mut sim, &[0, 1, 2, 3]);
    let before = sim.machine(0).seeds().current().cloned();
    sim.stop(1);
    sim.unpair(2, 3);
    settle(&mut sim, &[0, 1, 2]);
    let rotated = sim.machine(2).seeds().current().cloned();
    let (Some(before), Some(rotated)) = (before, rotated) else {
        panic!("members hold a seed")
    };
    assert_ne!(before, rotated, "the unpair rotated the seed");
    assert!(
        sim.machine(3).seeds().current().is_none(),
        "3 was told it was removed"
    );
    assert!(!sim.linked(3, 0) && !sim.linked(3, 2));

    // 1 comes back with the old seed and the old roster: a member accepts its old seed, hands it
    // the new one and the removal; 3 stays out.
    sim.start(1);
    settle(&mut sim, &[0, 1, 2]);
    assert_eq!(sim.machine(1).seeds().current(), Some(&rotated));
    assert!(!sim.machine(1).roster().is_member(sim.id(3)));
    assert!(
        !sim.ever_held(3, &rotated),
        "the removed device never saw the new seed"
    );
    for m in [0, 1, 2] {
        assert!(!sim.linked(m, 3));
    }
    // And after a restart of everyone, from what each persisted, nothing changes.
    for d in 0..4 {
        sim.stop(d);
    }
    for d in 0..4 {
        sim.start(d);
    }
    settle(&mut sim, &[0, 1, 2]);
    assert_eq!(sim.machine(1).seeds().current(), Some(&rotated));
    assert!(!sim.ever_held(3, &rotated));
}

#[test]
fn two_members_unpairing_at_once_end_on_one_seed() {
    let mut sim = MemberSim::new(5, 3);
    for b in 1..5 {
        sim.pair(0, b);
    }
    settle(&mut sim, &[0, 1, 2, 3, 4]);
    sim.unpair(0, 3);
    sim.unpair(1, 4);
    settle(&mut sim, &[0, 1, 2]);
    let Some(seed) = sim.machine(0).seeds().current().cloned() else {
        panic!("0 holds a seed")
    };
    assert!(!sim.ever_held(3, &seed) && !sim.ever_held(4, &seed));
}

#[test]
fn a_removed_device_that_was_offline_is_refused_and_stays_out() {
    let mut sim = MemberSim::new(3, 4);
    sim.pair(0, 1);
    sim.pair(0, 2);
    settle(&mut sim, &[0, 1, 2]);
    sim.stop(2);
    sim.unpair(0, 2);
    settle(&mut sim, &[0, 1]);
    let refused = sim.stats().refused;
    sim.start(2);
    sim.run_for(5_000);
    assert!(sim.stats().refused > refused, "2 dialed and was refused");
    assert!(!sim.linked(2, 0) && !sim.linked(2, 1));
    assert!(sim.settled(&[0, 1]));
}

#[derive(Debug, Clone)]
enum Op {
    Pair {
        by: usize,
    },
    Unpair {
        by: usize,
        node: usize,
    },
    Stop(usize),
    Start(usize),
    /// The link between two devices breaks (QUIC path loss); they redial.
    Cut(usize, usize),
    Wait(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0usize..8).prop_map(|by| Op::Pair { by }),
        1 => (0usize..8, 0usize..8).prop_map(|(by, node)| Op::Unpair { by, node }),
        2 => (0usize..8).prop_map(Op::Stop),
        2 => (0usize..8).prop_map(Op::Start),
        1 => (0usize..8, 0usize..8).prop_map(|(a, b)| Op::Cut(a, b)),
        2 => (0u64..5_000).prop_map(Op::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Random pairing, unpairs, devices going offline and back, broken links, waits: once
    /// everyone is back, the group the model says is in (paired, never removed) settles on one
    /// seed with a full mesh of links, and no removed device holds that seed or any link.
    #[test]
    fn churn_settles_on_the_model_group(ops in prop::collection::vec(op(), 1..24), seed in any::<u64>()) {
        const N: usize = 8;
        let mut sim = MemberSim::new(N, seed);
        let mut online = [true; N];
        // Model: who was ever paired, who was removed.
        let mut joined: BTreeSet<usize> = BTreeSet::from([0]);
        let mut removed: BTreeSet<usize> = BTreeSet::new();
        let in_group = |joined: &BTreeSet<usize>, removed: &BTreeSet<usize>| -> Vec<usize> {
            joined.difference(removed).copied().collect()
        };
        for op in ops {
            match op {
                Op::Pair { by } => {
                    let by = by % N;
                    let fresh = (0..N).find(|d| !joined.contains(d) && !removed.contains(d));
                    let members = in_group(&joined, &removed);
                    let (Some(node), true) = (fresh, members.contains(&by)) else { continue };
                    if !online[by] || !online[node] { continue; }
                    // Pairing and unpairs happen from a settled group (their races are the
                    // concurrent-rotation scenario's business).
                    if !settled_for_op(&mut sim, &members, &online) { continue; }
                    sim.pair(by, node);
                    joined.insert(node);
                }
                Op::Unpair { by, node } => {
                    let members = in_group(&joined, &removed);
                    let (by, node) = (by % N, node % N);
                    if by == node || !members.contains(&by) || !members.contains(&node) || !online[by] {
                        continue;
                    }
                    if members.len() <= 2 { continue; }
                    if !settled_for_op(&mut sim, &members, &online) { continue; }
                    sim.unpair(by, node);
                    removed.insert(node);
                }
                Op::Stop(d) => {
                    let d = d % N;
                    if online[d] { sim.stop(d); online[d] = false; }
                }
                Op::Start(d) => {
                    let d = d % N;
                    if !online[d] { sim.start(d); online[d] = true; }
                }
                Op::Cut(a, b) => sim.cut(a % N, b % N),
                Op::Wait(ms) => sim.run_for(ms),
            }
        }
        for (d, up) in online.iter_mut().enumerate() {
            if !*up { sim.start(d); *up = true; }
        }
        let group = in_group(&joined, &removed);
        if group.len() >= 2 {
            settle(&mut sim, &group);
            let final_seed = sim.machine(group[0]).seeds().current().cloned();
            let Some(final_seed) = final_seed else { panic!("the group holds a seed") };
            for &r in &removed {
                prop_assert!(!sim.ever_held(r, &final_seed), "removed {r} held the final seed");
                for &m in &group {
                    prop_assert!(!sim.linked(r, m), "removed {r} linked to {m}");
                }
            }
        }
    }
}
