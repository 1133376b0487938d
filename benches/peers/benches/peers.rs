//! riskgate vs CEL, evalexpr, Rhai and Cedar on the seed rules.
//!
//! Before anything is timed, the agreement check replays the shared stream
//! through riskgate and every peer and aborts on the first difference.
//!
//! Group `seed_one_event`: one event, repeated. riskgate evaluates it on a
//! warmed agent (60 minutes of history, so the baseline exists) and does its
//! whole job each time: counts the event in the agent's windows, reads the
//! rate and the baseline, evaluates the three rules (rule 3 fires) and
//! builds the verdict. The peers get the window values precomputed by the
//! host and only evaluate the three rules:
//! * `<peer>`: bind the event into the peer's context (reused where the API
//!   allows), then evaluate — what a service embedding the peer does per event;
//! * `<peer>_prebuilt`: the peer's per-event input built before timing;
//!   evaluation alone — the peer's floor.
//!
//! Group `seed_stream`: the whole shared stream (a few hundred events of five
//! identities), reported per event. riskgate starts each pass from a fresh
//! engine (built outside the timed routine), so its windows fill as they
//! would live.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use riskgate_peers::peer_cedar::CedarPeer;
use riskgate_peers::peer_cel::CelPeer;
use riskgate_peers::peer_evalexpr::EvalexprPeer;
use riskgate_peers::peer_rhai::RhaiPeer;
use riskgate_peers::{check_agreement, host, ids, riskgate_engine, riskgate_ids, riskgate_partition, stream, Peer, PeerInput};

fn one_peer<P: Peer>(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, mut peer: P, input: &PeerInput) {
    assert_eq!(ids(peer.fired(input)), ["3"], "{} on the benchmark event", peer.name());
    let name = peer.name();
    g.bench_function(name, |b| b.iter(|| peer.fired(black_box(input))));
    let mut prepared = peer.prepare(input);
    g.bench_function(format!("{name}_prebuilt"), |b| b.iter(|| peer.eval(black_box(&mut prepared))));
}

fn stream_peer<P: Peer>(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, mut peer: P, inputs: &[PeerInput]) {
    let name = peer.name();
    g.bench_function(name, |b| {
        b.iter(|| {
            for i in inputs {
                black_box(peer.fired(black_box(i)));
            }
        })
    });
    let mut prepared: Vec<P::Prepared> = inputs.iter().map(|i| peer.prepare(i)).collect();
    g.bench_function(format!("{name}_prebuilt"), |b| {
        b.iter(|| {
            for p in &mut prepared {
                black_box(peer.eval(black_box(p)));
            }
        })
    });
}

fn benches(c: &mut Criterion) {
    let cov = check_agreement().unwrap_or_else(|e| panic!("peers disagree with riskgate, nothing timed:\n{e}"));
    eprintln!(
        "agreement: {} events, every peer (bind and prebuilt) fired riskgate's rule set on each; \
         rule 1 fired on {}, rule 2 on {}, rule 3 on {}, nothing on {}",
        cov.events, cov.fired[0], cov.fired[1], cov.fired[2], cov.quiet
    );

    // One event on a warmed agent; rule 3 fires.
    let (warm, event) = stream::warmed_one_fires();
    let engine = riskgate_engine();
    for e in &warm {
        assert!(engine.evaluate(e).matches().next().is_none());
    }
    assert_eq!(riskgate_ids(&engine, &event), ["3"]);
    let mut all = warm.clone();
    all.push(event.clone());
    let input = host::precompute(&all).pop().unwrap_or_else(|| panic!("no input"));
    let mut partition = riskgate_partition();
    for e in &warm {
        assert!(partition.evaluate(e).matches().next().is_none());
    }
    assert_eq!(partition.evaluate(&event).rule_ids().collect::<Vec<_>>(), ["3"]);
    {
        let mut g = c.benchmark_group("seed_one_event");
        g.bench_function("riskgate", |b| b.iter(|| engine.evaluate(black_box(&event)).matches().count()));
        g.bench_function("riskgate_partition", |b| {
            b.iter(|| partition.evaluate(black_box(&event)).matches().count())
        });
        one_peer(&mut g, CelPeer::new(), &input);
        one_peer(&mut g, EvalexprPeer::new(), &input);
        one_peer(&mut g, RhaiPeer::new(), &input);
        one_peer(&mut g, CedarPeer::new(), &input);
        g.finish();
    }

    // The shared stream, per event.
    let events = stream::events();
    let inputs = host::precompute(&events);
    {
        let mut g = c.benchmark_group("seed_stream");
        g.throughput(Throughput::Elements(events.len() as u64));
        g.bench_function("riskgate", |b| {
            b.iter_batched(
                riskgate_engine,
                |engine| {
                    for e in &events {
                        black_box(engine.evaluate(black_box(e)).matches().count());
                    }
                    engine
                },
                BatchSize::PerIteration,
            )
        });
        stream_peer(&mut g, CelPeer::new(), &inputs);
        stream_peer(&mut g, EvalexprPeer::new(), &inputs);
        stream_peer(&mut g, RhaiPeer::new(), &inputs);
        stream_peer(&mut g, CedarPeer::new(), &inputs);
        g.finish();
    }
}

criterion_group!(peers, benches);
criterion_main!(peers);
