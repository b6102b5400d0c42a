//! Figures for the reconciliation primitives of native mode (DESIGN §4, targets of §12).
//!
//! Run: `cargo bench -p mayros-sync-proto --bench reconcile`
//!
//! Prints, for n = 5 k / 50 k / 500 k ids per side and d = 1 000 scattered differences (500
//! on each side), over 5 seeds: the share of differences found, coded symbols per difference,
//! wire bytes per symbol and per difference, and encoder + decoder time (medians). Then the
//! overhead for other difference sizes, the in-sync summary size and Bloom filter sizes.

use std::time::Instant;

use mayros_sync_proto::reconcile::bloom::{BloomFilter, DEFAULT_FPR};
use mayros_sync_proto::reconcile::riblt::{encode_symbols, CodedSymbol, Decoder, Encoder};
use mayros_sync_proto::reconcile::summary::{FingerprintKey, Summary};

mod common;
use common::SplitMix;

const SEEDS: u64 = 5;
/// Symbols per batch in the "batched" column: what a sender that streams fixed batches until
/// the receiver says stop would put on the wire.
const BATCH: usize = 64;

/// One reconciliation's figures.
struct Run {
    found: f64,
    symbols_per_diff: f64,
    bytes_per_symbol: f64,
    bytes_per_diff: f64,
    batched_bytes_per_diff: f64,
    ms: f64,
}

/// Sender and receiver each hold `n` ids; `d` of the `2n` are on one side only.
fn run(n: usize, d: usize, seed: u64) -> Run {
    let mut rng =
        SplitMix(seed.wrapping_mul(0x1234_5678_9abc_def1) ^ (n as u64) ^ ((d as u64) << 40));
    let sender_only_n = d / 2;
    let receiver_only_n = d - sender_only_n;
    let shared: Vec<u64> = (0..n - receiver_only_n.max(sender_only_n))
        .map(|_| rng.next())
        .collect();
    let sender_only: Vec<u64> = (0..sender_only_n).map(|_| rng.next()).collect();
    let receiver_only: Vec<u64> = (0..receiver_only_n).map(|_| rng.next()).collect();
    // Interleave the differences with the shared ids, as a store would hold them.
    let mut sender = shared.clone();
    sender.extend(&sender_only);
    let mut receiver = shared;
    receiver.extend(&receiver_only);
    let key = rng.next();

    let start = Instant::now();
    let mut enc = Encoder::new(key);
    enc.extend(sender.iter().copied());
    let mut dec = Decoder::new(key);
    dec.extend_local(receiver.iter().copied());
    let mut sent: Vec<CodedSymbol> = Vec::new();
    'stream: loop {
        for sym in enc.next_symbols(BATCH) {
            sent.push(sym);
            dec.push_remote(sym);
            if dec.is_decoded() {
                break 'stream;
            }
        }
        assert!(
            sent.len() < 20 * d + 100 && !dec.is_inconsistent(),
            "no progress"
        );
    }
    let ms = start.elapsed().as_secs_f64() * 1e3;

    let used = dec.symbols_used();
    let mut got_remote = dec.remote_only().to_vec();
    let mut got_local = dec.local_only().to_vec();
    got_remote.sort_unstable();
    got_local.sort_unstable();
    let mut want_remote = sender_only;
    let mut want_local = receiver_only;
    want_remote.sort_unstable();
    want_local.sort_unstable();
    let correct = usize::from(got_remote == want_remote) * got_remote.len()
        + usize::from(got_local == want_local) * got_local.len();

    let bytes = encode_symbols(&sent[..used]).len();
    let batched: usize = sent.chunks(BATCH).map(|b| encode_symbols(b).len()).sum();
    let d = d as f64;
    Run {
        found: correct as f64 / d,
        symbols_per_diff: used as f64 / d,
        bytes_per_symbol: bytes as f64 / used as f64,
        bytes_per_diff: bytes as f64 / d,
        // Plus a one-byte "stop" from the receiver.
        batched_bytes_per_diff: (batched + 1) as f64 / d,
        ms,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let total = Instant::now();
    println!("# Rateless IBLT exact reconciliation (DESIGN §4 step 3)");
    println!(
        "d = 1000 scattered differences (500 on each side), {SEEDS} seeds, medians; \
         bytes = coded symbols on the wire until the receiver has decoded"
    );
    println!();
    println!(
        "| n per side | found | symbols/diff | bytes/symbol | bytes/diff | bytes/diff ({BATCH}-symbol batches) | enc+dec ms |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let mut at_500k = 0.0;
    for n in [5_000usize, 50_000, 500_000] {
        let runs: Vec<Run> = (0..SEEDS).map(|seed| run(n, 1_000, seed)).collect();
        let found = runs.iter().map(|r| r.found).fold(f64::INFINITY, f64::min);
        let bytes_per_diff = median(runs.iter().map(|r| r.bytes_per_diff).collect());
        println!(
            "| {n} | {:.1} % | {:.3} | {:.2} | {:.1} | {:.1} | {:.1} |",
            found * 100.0,
            median(runs.iter().map(|r| r.symbols_per_diff).collect()),
            median(runs.iter().map(|r| r.bytes_per_symbol).collect()),
            bytes_per_diff,
            median(runs.iter().map(|r| r.batched_bytes_per_diff).collect()),
            median(runs.iter().map(|r| r.ms).collect()),
        );
        assert!(
            found >= 1.0,
            "n = {n}: only {:.2} % of differences found",
            found * 100.0
        );
        if n == 500_000 {
            at_500k = bytes_per_diff;
        }
    }
    println!();
    println!(
        "target (§12): ≤ 48 B per differing triple at n = 500 k, d = 1 000 → {at_500k:.1} B: {}",
        if at_500k <= 48.0 { "met" } else { "NOT MET" }
    );

    println!();
    println!("# Overhead against the difference size (n = 50 000 per side, {SEEDS} seeds)");
    println!();
    println!(
        "| d | found | symbols/diff (median) | symbols/diff (max) | bytes/diff | enc+dec ms |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for d in [1usize, 10, 100, 1_000, 10_000] {
        let runs: Vec<Run> = (0..SEEDS).map(|seed| run(50_000, d, seed + 10)).collect();
        let found = runs.iter().map(|r| r.found).fold(f64::INFINITY, f64::min);
        println!(
            "| {d} | {:.1} % | {:.3} | {:.3} | {:.1} | {:.1} |",
            found * 100.0,
            median(runs.iter().map(|r| r.symbols_per_diff).collect()),
            runs.iter().map(|r| r.symbols_per_diff).fold(0.0, f64::max),
            median(runs.iter().map(|r| r.bytes_per_diff).collect()),
            median(runs.iter().map(|r| r.ms).collect()),
        );
        assert!(found >= 1.0, "d = {d}: differences missed");
    }

    println!();
    println!("# In-sync check (DESIGN §4 step 1; target ≤ 64 B each way per namespace)");
    println!();
    let key = FingerprintKey::from_group_seed(b"bench seed");
    let ids: Vec<[u8; 32]> = (0..500_000u64)
        .map(|i| *blake3::hash(&i.to_le_bytes()).as_bytes())
        .collect();
    let start = Instant::now();
    let summary = Summary::from_ids("mayros", &key, &ids[1_000..], &ids[..1_000]);
    let build_ms = start.elapsed().as_secs_f64() * 1e3;
    let received = Summary::from_bytes(&summary.to_bytes());
    assert!(received.is_some_and(|r| r.in_sync_with(&summary)));
    println!(
        "namespace `mayros`, {} live ids, {} tombstones: {} B each way (from scratch in {build_ms:.0} ms; \
         incremental updates are O(1))",
        summary.live_count,
        summary.tomb_count,
        summary.encoded_len()
    );
    let empty = Summary::new("mayros");
    println!("namespace `mayros`, empty: {} B", empty.encoded_len());

    println!();
    println!("# Bloom filter of the recent window (DESIGN §4 step 2, target FPR 1 %)");
    println!();
    println!("| window ids | bytes on the wire | bits/id | k | estimated FPR | measured FPR (100 k probes) |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for window in [100usize, 1_000, 10_000, 50_000] {
        let mut filter = BloomFilter::with_fpr(window, DEFAULT_FPR, 7);
        for id in &ids[..window] {
            filter.insert(id);
        }
        let probes = &ids[400_000..500_000];
        let fp = probes.iter().filter(|id| filter.contains(id)).count();
        println!(
            "| {window} | {} | {:.2} | {} | {:.3} % | {:.3} % |",
            filter.encoded_len(),
            filter.bit_len() as f64 / window as f64,
            filter.hash_count(),
            filter.estimated_fpr() * 100.0,
            fp as f64 / probes.len() as f64 * 100.0,
        );
    }
    println!();
    println!("total bench time: {:.1} s", total.elapsed().as_secs_f64());
}
