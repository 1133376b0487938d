//! 2, 4 and 8 threads evaluating the same events as one thread (SPEC §7.17):
//! with each agent pinned to a thread, the same multiset of verdicts and the
//! same per-rule counts; with every agent's events spread over all threads,
//! the same final state. Each configuration runs `ROUNDS` times.

use std::collections::BTreeMap;
use std::sync::Arc;

use riskgate::run::engine::Engine;
use riskgate::run::state::Observation;
use riskgate::{ActorKind, Categories, Event, RuleSet};

const ROUNDS: usize = 5;
const AGENTS: usize = 16;
const PER_AGENT: usize = 400;
const T0: i64 = 1_795_305_600_000;

const RULES: &str = r#"
list corp = [10.0.0.0/8]
Rule burst — Burst over baseline
Trigger: agent authentication AND requests_per_minute > max(baseline * 3, 8)
Action: flag
Severity: MEDIUM

Rule net — New network
Trigger: agent authentication from IP not in corp AND first_seen(ip)
Action: suspend + alert security team
Severity: HIGH
Cooldown: 5m

Rule fail — Failures
Trigger: count(outcome == "FAILURE") over 10m > 4
Action: deny
Severity: CRITICAL
"#;

fn engine() -> Engine {
    let rules = RuleSet::from_source("c.rules", RULES).unwrap_or_else(|d| panic!("{d}"));
    Engine::builder(rules.compile())
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A deterministic stream per agent: mostly quiet, bursts, failures, new networks.
fn stream(agent: usize, spread_ms: i64) -> Vec<Event<'static>> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ (agent as u64).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut t = T0;
    (0..PER_AGENT)
        .map(|_| {
            let r = next();
            t += if r % 7 == 0 {
                0
            } else {
                (r % (spread_ms as u64).max(1)) as i64
            };
            let ip = if r % 13 == 0 {
                format!("203.0.113.{}", r % 5)
            } else {
                "10.0.0.7".to_string()
            };
            let outcome = if r % 11 == 0 { "FAILURE" } else { "SUCCESS" };
            Event::builder(format!("agent-{agent}"), t)
                .actor(ActorKind::ServiceApp)
                .categories(Categories::AUTHENTICATION)
                .ip(ip.parse().unwrap_or_else(|e| panic!("{e}")))
                .outcome(outcome)
                .build()
        })
        .collect()
}

type Seen = BTreeMap<(String, usize), Vec<String>>;

fn run_pinned(engine: &Engine, streams: &[Vec<Event<'static>>], threads: usize) -> Seen {
    let mut all = Seen::new();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                s.spawn(move || {
                    let mut seen = Seen::new();
                    // Interleave this thread's agents event by event.
                    for i in 0..PER_AGENT {
                        for (a, st) in streams.iter().enumerate().filter(|(a, _)| a % threads == k)
                        {
                            let v = engine.evaluate(&st[i]);
                            seen.insert(
                                (format!("agent-{a}"), i),
                                v.rule_ids().map(str::to_string).collect(),
                            );
                        }
                    }
                    seen
                })
            })
            .collect();
        for h in handles {
            all.extend(h.join().unwrap_or_else(|_| panic!("a thread panicked")));
        }
    });
    all
}

#[test]
fn pinned_agents_give_the_same_verdicts_and_counts_as_one_thread() {
    let streams: Vec<_> = (0..AGENTS).map(|a| stream(a, 4_000)).collect();
    let single = engine();
    let expected = run_pinned(&single, &streams, 1);
    let fired: usize = expected.values().map(Vec::len).sum();
    assert!(fired > 50, "the stream should make rules fire ({fired})");
    let expected_stats = single.stats();
    for threads in [2, 4, 8] {
        for _ in 0..ROUNDS {
            let e = engine();
            let got = run_pinned(&e, &streams, threads);
            assert_eq!(got, expected, "{threads} threads");
            let stats = e.stats();
            assert_eq!(stats.fired, expected_stats.fired, "{threads} threads");
            assert_eq!(stats.events, expected_stats.events);
        }
    }
}

#[test]
fn shared_agents_end_in_the_same_state_as_one_thread() {
    // Events spread over 50 s per agent: nothing is ever too late for a
    // ring, so the final state does not depend on the order.
    let streams: Vec<Vec<Event<'static>>> = (0..AGENTS).map(|a| stream(a, 120)).collect();
    let flat: Arc<Vec<&Event<'static>>> = Arc::new(streams.iter().flatten().collect());
    let single = engine();
    for e in flat.iter() {
        let _ = single.evaluate(e);
    }
    // Read every agent's metrics with a probe observation at a common time
    // (it counts itself in each engine alike).
    let t_end = flat.iter().map(|e| e.time_ms).max().unwrap_or(T0);
    let state_of = |e: &Engine| -> Vec<String> {
        let mut m = e.store().metrics();
        (0..AGENTS)
            .map(|a| {
                let hashes: &[u64] = &[7];
                let obs = Observation {
                    counter_hits: &[true, true],
                    first_seen_values: &[Some(hashes)],
                    ..Observation::at(t_end)
                };
                let _ = e.store().observe(&format!("agent-{a}"), &obs, &mut m);
                format!("{:?} {:?} {:?}", m.count(0), m.count(1), m.baseline(0, 60))
            })
            .collect()
    };
    let expected = state_of(&single);
    for threads in [2, 4, 8] {
        for _ in 0..ROUNDS {
            let e = engine();
            std::thread::scope(|s| {
                for k in 0..threads {
                    let (flat, e) = (&flat, &e);
                    s.spawn(move || {
                        for ev in flat.iter().skip(k).step_by(threads) {
                            let _ = e.evaluate(ev);
                        }
                    });
                }
            });
            assert_eq!(state_of(&e), expected, "{threads} threads");
            assert_eq!(e.stats().events, (AGENTS * PER_AGENT) as u64);
        }
    }
}
