//! riskgate's benchmarks (see BENCHMARKS.md for the figures and how to read
//! them):
//!
//! * `compile`: parse + check + compile of `examples/rules/agents.rules` and
//!   of a generated 1,000-rule file;
//! * `seed`: one `evaluate` (and `evaluate_explained`) of the seed rules on a
//!   warmed agent when no rule, one rule and all three fire, next to the
//!   hand-written reference (`benches/support/reference.rs`) in the same
//!   group, so the ratios come out of one run;
//! * `rules`: 10, 100 and 1,000 generated rules, selective by actor and
//!   category (1 in 20 is a candidate for the event) or all candidates, none
//!   firing;
//! * `agents`: 1, 10 k and 1 M pre-warmed agents evaluated round-robin, engine
//!   and reference;
//! * `threads`: 1 and 2 threads (`iter_custom`), distinct agents per thread
//!   or one hot agent shared; wall time, and the longest on-CPU time of a
//!   thread (`*_on_cpu`, for a machine that other work shares);
//! * `stateful`: one small rule set per construct of the language
//!   (`benches/support/stateful.rs`: `count` the reference, `since`, `first`,
//!   `previous`, `sequence`, keyed `distinct`/`first_seen`, `zscore`, ...,
//!   and one set with every stateful construct), on an agent warmed with 91
//!   days of traffic that goes on as the benchmark runs; no rule fires.
//!
//! `cargo bench --bench engine -- seed` runs one group.

#[path = "support/common.rs"]
mod common;
#[path = "support/reference.rs"]
mod reference;
#[path = "support/stateful.rs"]
mod stateful;

use std::borrow::Cow;
use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use riskgate::RuleSet;

use common::{Case, Mix};

fn compile(c: &mut Criterion) {
    let mut g = c.benchmark_group("compile");
    // Milliseconds an iteration: 20 samples keep the group under ~15 s.
    g.sample_size(20);
    let generated = common::generated_rules(1_000, Mix::Selective);
    for (name, text) in [
        ("agents.rules", common::AGENTS_RULES),
        ("generated_1000", generated.as_str()),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let rules =
                    RuleSet::from_source(name, black_box(text)).unwrap_or_else(|d| panic!("{d}"));
                black_box(rules.compile())
            })
        });
    }
    g.finish();
}

fn seed(c: &mut Criterion) {
    let mut g = c.benchmark_group("seed");
    g.throughput(Throughput::Elements(1));
    for case in Case::ALL {
        // Set up lazily: criterion calls a closure only if its id is selected.
        let mut state = None;
        g.bench_function(BenchmarkId::new("evaluate", case.name()), |b| {
            let (engine, e) = state.get_or_insert_with(|| common::warmed_engine(case));
            b.iter(|| black_box(engine.evaluate(black_box(&*e)).decision))
        });
        let mut state = None;
        g.bench_function(BenchmarkId::new("evaluate_explained", case.name()), |b| {
            let (engine, e) = state.get_or_insert_with(|| common::warmed_engine(case));
            b.iter(|| black_box(engine.evaluate_explained(black_box(&*e)).decision))
        });
        let mut state = None;
        g.bench_function(BenchmarkId::new("partition", case.name()), |b| {
            let (partition, e) = state.get_or_insert_with(|| common::warmed_partition(case));
            b.iter(|| black_box(partition.evaluate(black_box(&*e)).decision))
        });
        let mut state = None;
        g.bench_function(BenchmarkId::new("reference", case.name()), |b| {
            let (reference, e) = state.get_or_insert_with(|| common::warmed_reference(case));
            b.iter(|| black_box(reference.evaluate(black_box(&*e))))
        });
    }
    g.finish();
}

fn rules(c: &mut Criterion) {
    let mut g = c.benchmark_group("rules");
    g.throughput(Throughput::Elements(1));
    for (mix, label) in [
        (Mix::Selective, "selective"),
        (Mix::AllCandidates, "all_candidates"),
        (Mix::EventTypes, "event_types"),
    ] {
        for n in [10usize, 100, 1_000] {
            let mut state = None;
            g.bench_function(BenchmarkId::new(label, n), |b| {
                let (engine, e) = state.get_or_insert_with(|| {
                    let program =
                        common::compile("generated.rules", &common::generated_rules(n, mix));
                    let engine = riskgate::Engine::builder(program)
                        .clock(common::end_of_time())
                        .build()
                        .unwrap_or_else(|e| panic!("{e}"));
                    let mut e = common::scaling_event(common::NOON);
                    for _ in 0..10 {
                        e.time_ms += 1_000;
                        assert_eq!(engine.evaluate(&e).matches().count(), 0);
                    }
                    (engine, e)
                });
                b.iter(|| {
                    e.time_ms += 1_000;
                    black_box(engine.evaluate(black_box(&*e)).decision)
                })
            });
        }
    }
    g.finish();
}

/// Round-robin over `ids`, one event a second per agent (each round
/// advances the time by 1 s), so the window work per event is the same
/// whatever the number of agents. Returns the event to send and advances `i`.
fn next<'a>(e: &mut riskgate::Event<'a>, ids: &'a [String], i: &mut usize) {
    let n = ids.len();
    e.agent = Cow::Borrowed(ids[*i % n].as_str());
    e.time_ms = common::NOON + (*i / n) as i64 * 1_000;
    *i += 1;
}

fn agents(c: &mut Criterion) {
    let mut g = c.benchmark_group("agents");
    g.throughput(Throughput::Elements(1));
    for n in [1usize, 10_000, 1_000_000] {
        // Made only if one of the two benchmarks below is selected.
        let ids = std::cell::OnceCell::new();
        let mut state = None;
        g.bench_function(BenchmarkId::new("evaluate", n), |b| {
            let ids: &Vec<String> = ids.get_or_init(|| common::agent_ids(n));
            let (engine, e, i) = state.get_or_insert_with(|| {
                // Two rounds: every agent tracked and warmed.
                let engine = common::seed_engine(n.max(1_000_000));
                let (mut e, mut i) = (common::quiet_event(&ids[0], 0), 0);
                while i < 2 * n {
                    next(&mut e, ids, &mut i);
                    assert!(engine.evaluate(&e).matches().next().is_none());
                }
                assert_eq!(engine.store().len(), n);
                (engine, e, i)
            });
            b.iter(|| {
                next(e, ids, i);
                black_box(engine.evaluate(black_box(&*e)).decision)
            })
        });
        drop(state);
        let mut state = None;
        g.bench_function(BenchmarkId::new("reference", n), |b| {
            let ids: &Vec<String> = ids.get_or_init(|| common::agent_ids(n));
            let (reference, e, i) = state.get_or_insert_with(|| {
                let mut reference = reference::Reference::new();
                let (mut e, mut i) = (common::quiet_event(&ids[0], 0), 0);
                while i < 2 * n {
                    next(&mut e, ids, &mut i);
                    assert_eq!(reference.evaluate(&e), 0);
                }
                (reference, e, i)
            });
            b.iter(|| {
                next(e, ids, i);
                black_box(reference.evaluate(black_box(&*e)))
            })
        });
    }
    g.finish();
}

/// Nanoseconds this thread has run on a CPU (`CLOCK_THREAD_CPUTIME_ID`).
fn on_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    u64::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(ts.tv_nsec).unwrap_or(0)
}

/// `threads` threads evaluate `iters` events in all (each its share), on
/// their own `per_thread` agents each or, with `hot`, all on one agent.
/// `evaluator(t)` builds thread `t`'s evaluation function before the common
/// start (a shared engine, or a private reference).
/// Returns the wall time from the common start to the last thread's end, and
/// the longest time one thread spent on a CPU meanwhile (what the wall time
/// would be if every thread had a core to itself).
fn run_threads<F>(
    evaluator: impl Fn(usize) -> F + Sync,
    ids: &[String],
    threads: usize,
    per_thread: usize,
    hot: bool,
    iters: u64,
) -> (Duration, Duration)
where
    F: FnMut(&riskgate::Event<'_>) -> u8,
{
    let barrier = Barrier::new(threads + 1);
    let each = iters.div_ceil(threads as u64);
    let on_cpu = std::sync::atomic::AtomicU64::new(0);
    let wall = std::thread::scope(|s| {
        for t in 0..threads {
            let barrier = &barrier;
            let mine = if hot {
                &ids[..1]
            } else {
                &ids[t * per_thread..(t + 1) * per_thread]
            };
            let on_cpu = &on_cpu;
            let evaluator = &evaluator;
            s.spawn(move || {
                let mut evaluate = evaluator(t);
                let mut e = common::quiet_event(&mine[0], common::NOON);
                barrier.wait();
                let cpu0 = on_cpu_ns();
                for i in 0..each as usize {
                    if !hot {
                        e.agent = Cow::Borrowed(mine[i % mine.len()].as_str());
                        e.time_ms += i64::from(i % mine.len() == 0) * 1_000;
                    }
                    black_box(evaluate(black_box(&e)));
                }
                on_cpu.fetch_max(
                    on_cpu_ns().saturating_sub(cpu0),
                    std::sync::atomic::Ordering::Relaxed,
                );
            });
        }
        barrier.wait();
        Instant::now()
    })
    // `scope` returns once every thread has joined: this is the time from the
    // common start to the last thread's end.
    .elapsed();
    let on_cpu = Duration::from_nanos(on_cpu.into_inner());
    (wall, on_cpu)
}

fn threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("threads");
    g.throughput(Throughput::Elements(1));
    const PER_THREAD: usize = 1_000;
    let ids = common::agent_ids(2 * PER_THREAD);
    // `<workload>/<threads>`: wall time. `<workload>_on_cpu/<threads>`: the
    // longest on-CPU time of a thread, the same run's wall time on a machine
    // where each thread has a core to itself (on a shared machine the wall
    // time also counts the time a thread waited for a core; on-CPU time does
    // not count time parked on a contended lock either).
    //
    // `reference_private` is the control: each thread runs the hand-written
    // reference on its own agents in its own state, sharing nothing, so its
    // 2-thread speed-up is what this machine's two cores give to work that
    // needs no coordination at all; the engine's speed-up is read against it.
    let workloads = [
        ("distinct_agents", false, false),
        ("one_hot_agent", true, false),
        ("engine_private", false, false),
        ("reference_private", false, true),
    ];
    for (label, hot, reference) in workloads {
        let private = label == "engine_private";
        for on_cpu in [false, true] {
            for threads in [1usize, 2] {
                let name = if on_cpu {
                    format!("{label}_on_cpu")
                } else {
                    label.to_string()
                };
                g.bench_function(BenchmarkId::new(name, threads), |b| {
                    b.iter_custom(|iters| {
                        let (wall, cpu) = if reference {
                            let warmed = |t: usize| {
                                let mut r = common::seed_reference();
                                let mine = &ids[t * PER_THREAD..(t + 1) * PER_THREAD];
                                for id in mine {
                                    r.evaluate(&common::quiet_event(id, common::NOON - 1_000));
                                }
                                move |e: &riskgate::Event<'_>| r.evaluate(e)
                            };
                            run_threads(warmed, &ids, threads, PER_THREAD, hot, iters)
                        } else if private {
                            let engines: Vec<_> = (0..threads)
                                .map(|t| {
                                    let engine = common::seed_engine(1_000_000);
                                    for id in &ids[t * PER_THREAD..(t + 1) * PER_THREAD] {
                                        let _ = engine.evaluate(&common::quiet_event(
                                            id,
                                            common::NOON - 1_000,
                                        ));
                                    }
                                    engine
                                })
                                .collect();
                            let own = |t: usize| {
                                let engine = &engines[t];
                                move |e: &riskgate::Event<'_>| engine.evaluate(e).decision as u8
                            };
                            run_threads(own, &ids, threads, PER_THREAD, hot, iters)
                        } else {
                            // A fresh engine each sample: the hot agent's
                            // bucket does not grow without bound, and every
                            // sample starts warmed alike.
                            let engine = common::seed_engine(1_000_000);
                            for id in &ids {
                                let _ =
                                    engine.evaluate(&common::quiet_event(id, common::NOON - 1_000));
                            }
                            let shared =
                                |_| |e: &riskgate::Event<'_>| engine.evaluate(e).decision as u8;
                            run_threads(shared, &ids, threads, PER_THREAD, hot, iters)
                        };
                        if on_cpu {
                            cpu
                        } else {
                            wall
                        }
                    })
                });
            }
        }
    }
    g.finish();
}

/// `stateful/evaluate/<set>`: one event of the traffic of
/// `benches/support/stateful.rs` on its warmed agent, the next one each
/// iteration (the windows advance as they would live). All sets in one
/// group, so their ratios to `count` come out of one run.
fn stateful(c: &mut Criterion) {
    let mut g = c.benchmark_group("stateful");
    g.throughput(Throughput::Elements(1));
    let all = stateful::all_constructs();
    let sets = stateful::SETS
        .iter()
        .copied()
        .chain([("all_constructs", all.as_str())]);
    for (name, rules) in sets {
        let mut state = None;
        g.bench_function(BenchmarkId::new("evaluate", name), |b| {
            let (engine, e, t) = state.get_or_insert_with(|| {
                let (engine, t) = stateful::warmed(rules);
                (engine, stateful::event(t), t)
            });
            b.iter(|| {
                e.time_ms = *t;
                *t += stateful::step(*t);
                black_box(engine.evaluate(black_box(&*e)).decision)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, compile, seed, rules, agents, threads, stateful);
criterion_main!(benches);
