//! Snapshot cost: bytes per agent, writing and reading speed, and what a
//! snapshot running on one thread costs the evaluations on another.
//!
//! ```sh
//! cargo bench --bench snapshot
//! ```
//!
//! 100,000 agents of the seed rules (`requests_per_minute` and its 60-minute
//! baseline), each warmed with an event a minute for 15 minutes (a full
//! ring and 15 windows of history). Besides criterion's timings, the setup
//! prints the snapshot's size per agent, and the pause measurement prints
//! the worst and the 99.9th-percentile evaluation latency with and without
//! a snapshot running meanwhile.

#[path = "support/common.rs"]
mod common;
#[path = "support/reference.rs"]
mod reference;

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use riskgate::run::snapshot::SnapshotFilter;
use riskgate::Engine;

const AGENTS: usize = 100_000;

fn warmed(ids: &[String]) -> Engine {
    let engine = common::seed_engine(1_000_000);
    for minute in 0..15i64 {
        for id in ids {
            let e = common::quiet_event(id, common::NOON + minute * 60_000);
            black_box(engine.evaluate(&e));
        }
    }
    engine
}

fn snapshot_bytes(engine: &Engine) -> Vec<u8> {
    let mut bytes = Vec::new();
    engine
        .snapshot(&mut bytes, &SnapshotFilter::All)
        .unwrap_or_else(|e| panic!("{e}"));
    bytes
}

/// Latencies (ns) of at least `n` evaluations of other agents, and more
/// until `until` holds, sorted.
fn latencies(engine: &Engine, ids: &[String], n: usize, until: &dyn Fn() -> bool) -> Vec<u64> {
    let mut out = Vec::with_capacity(n);
    let t0 = common::NOON + 20 * 60_000;
    let mut i = 0;
    while i < n || !until() {
        i += 1;
        let e = common::quiet_event(&ids[i % ids.len()], t0 + (i / ids.len()) as i64 * 1_000);
        let start = Instant::now();
        black_box(engine.evaluate(black_box(&e)));
        out.push(start.elapsed().as_nanos() as u64);
    }
    out.sort_unstable();
    out
}

fn pct(sorted: &[u64], p: f64) -> u64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn snapshot(c: &mut Criterion) {
    let ids = common::agent_ids(AGENTS);
    let engine = warmed(&ids);
    let bytes = snapshot_bytes(&engine);
    let state = engine.stats().state_bytes;
    eprintln!(
        "snapshot of {AGENTS} agents: {} bytes, {:.1} bytes an agent (state in memory: {:.1} bytes an agent)",
        bytes.len(),
        bytes.len() as f64 / AGENTS as f64,
        state as f64 / AGENTS as f64
    );
    let mut g = c.benchmark_group("snapshot");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("write_100k_agents", |b| {
        let mut out = Vec::with_capacity(bytes.len());
        b.iter(|| {
            out.clear();
            engine
                .snapshot(&mut out, &SnapshotFilter::All)
                .unwrap_or_else(|e| panic!("{e}"));
            black_box(out.len())
        })
    });
    g.bench_function("restore_100k_agents", |b| {
        b.iter(|| {
            let (e, _) = Engine::builder(common::compile("seed.rules", common::SEED))
                .restore(black_box(&bytes[..]))
                .unwrap_or_else(|e| panic!("{e}"));
            black_box(e.stats().tracked_agents)
        })
    });
    g.finish();

    // The pause: evaluations of other agents on this thread, with and
    // without another thread snapshotting the whole store in a loop.
    let engine = Arc::new(engine);
    let n = 400_000;
    let alone = latencies(&engine, &ids, n, &|| true);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let writer = {
        let (engine, stop, done) = (Arc::clone(&engine), Arc::clone(&stop), Arc::clone(&done));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                engine
                    .snapshot(std::io::sink(), &SnapshotFilter::All)
                    .unwrap_or_else(|e| panic!("{e}"));
                done.fetch_add(1, Ordering::Relaxed);
            }
            done.load(Ordering::Relaxed)
        })
    };
    // Evaluations for as long as ten whole snapshots take.
    let during = latencies(&engine, &ids, n, &|| done.load(Ordering::Relaxed) >= 10);
    stop.store(true, Ordering::Relaxed);
    let snapshots = writer.join().unwrap_or_else(|_| panic!("writer"));
    eprintln!("evaluation latency of other agents, {n} evaluations ({snapshots} snapshots ran meanwhile):");
    eprintln!("| | p50 | p99 | p99.9 | max |");
    eprintln!("|---|---|---|---|---|");
    for (name, l) in [("alone", &alone), ("during snapshots", &during)] {
        eprintln!(
            "| {name} | {} ns | {} ns | {} ns | {} ns |",
            pct(l, 0.5),
            pct(l, 0.99),
            pct(l, 0.999),
            l[l.len() - 1]
        );
    }
}

criterion_group!(benches, snapshot);
criterion_main!(benches);
