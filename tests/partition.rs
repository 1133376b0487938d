//! The partition-owned engine decides what the shared engine decides: on
//! random rule sets from the pool (every kind of metric, keyed counters,
//! cooldowns) and random streams (late events, idle gaps), verdict for
//! verdict, with the same statistics (state bytes included); on the bundled
//! Okta day with the bundled rules and profiles; and their snapshots are
//! one format: a partition's restores an engine and an engine's a
//! partition, and the run goes on unchanged.

#[path = "support/pool.rs"]
mod pool;

use std::sync::Arc;

use pool::*;
use proptest::prelude::*;
use riskgate::input::okta::{parse_event_with, AttrFilter, Format};
use riskgate::input::profile::Profiles;
use riskgate::run::engine::ManualClock;
use riskgate::run::partition::Partition;
use riskgate::run::snapshot::SnapshotFilter;
use riskgate::{Engine, Program, RuleSet};

fn partition(p: Arc<Program>) -> Partition {
    Engine::builder(p)
        .clock(Arc::new(ManualClock::new(BASE + 100 * HOUR)))
        .build_partition()
        .expect("valid layout")
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|e| panic!("{e}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn a_partition_decides_what_the_engine_decides(
        rules in prop::collection::btree_set(0..POOL.len(), 1..=POOL.len()),
        t in 0u32..6,
        events in stream(),
        explain in any::<bool>(),
    ) {
        let p = program(&rules, t);
        let shared = engine(Arc::clone(&p));
        let mut owned = partition(Arc::clone(&p));
        for (i, ev) in events.iter().enumerate() {
            let e = event(ev);
            let (a, b) = if explain {
                (shared.evaluate_explained(&e), owned.evaluate_explained(&e))
            } else {
                (shared.evaluate(&e), owned.evaluate(&e))
            };
            prop_assert_eq!(json(&a), json(&b), "event {}: {:?}", i, ev);
        }
        prop_assert_eq!(shared.stats(), owned.stats());
        prop_assert_eq!(shared.cooldown_entries(), owned.cooldown_entries());
    }

    /// Events 0..k on one side, a snapshot, events k..n on the other:
    /// engine → partition and partition → engine, against the engine
    /// that ran straight through.
    #[test]
    fn snapshots_move_state_between_engine_and_partition(
        rules in prop::collection::btree_set(0..POOL.len(), 1..=POOL.len()),
        t in 0u32..6,
        events in stream(),
        cut in 0.0f64..1.0,
    ) {
        let k = ((events.len() as f64) * cut) as usize;
        let p = program(&rules, t);
        let straight = engine(Arc::clone(&p));
        let first_engine = engine(Arc::clone(&p));
        let mut first_partition = partition(Arc::clone(&p));
        for ev in &events[..k] {
            let e = event(ev);
            straight.evaluate(&e);
            first_engine.evaluate(&e);
            first_partition.evaluate(&e);
        }
        let mut from_engine = Vec::new();
        first_engine.snapshot(&mut from_engine, &SnapshotFilter::All).expect("to a Vec");
        let mut from_partition = Vec::new();
        first_partition.snapshot(&mut from_partition, &SnapshotFilter::All).expect("to a Vec");
        let clock = || Arc::new(ManualClock::new(BASE + 100 * HOUR));
        let (mut second_partition, _) = Engine::builder(Arc::clone(&p))
            .clock(clock())
            .restore_partition(&from_engine[..])
            .expect("an engine's snapshot restores a partition");
        let (second_engine, _) = Engine::builder(Arc::clone(&p))
            .clock(clock())
            .restore(&from_partition[..])
            .expect("a partition's snapshot restores an engine");
        for (i, ev) in events[k..].iter().enumerate() {
            let e = event(ev);
            let want = json(&straight.evaluate(&e));
            prop_assert_eq!(&json(&second_partition.evaluate(&e)), &want, "partition, event {}", i);
            prop_assert_eq!(&json(&second_engine.evaluate(&e)), &want, "engine, event {}", i);
        }
        let (a, b) = (straight.stats(), second_partition.stats());
        prop_assert_eq!(a.tracked_agents, b.tracked_agents);
        prop_assert_eq!(a.tracked_keys, b.tracked_keys);
        // A restored store counts its bytes afresh (entry by entry), as a
        // restored engine does.
        prop_assert_eq!(second_engine.stats().state_bytes, b.state_bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// A reload in the middle of a stream: the partition keeps, drops and
    /// starts the metrics the engine does, and goes on deciding the same.
    #[test]
    fn a_partition_reloads_as_the_engine_does(
        old_rules in prop::collection::btree_set(0..POOL.len(), 1..=POOL.len()),
        new_rules in prop::collection::btree_set(0..POOL.len(), 1..=POOL.len()),
        t in 0u32..6,
        events in stream(),
        cut in 0.0f64..1.0,
    ) {
        let k = ((events.len() as f64) * cut) as usize;
        let shared = engine(program(&old_rules, t));
        let mut owned = partition(program(&old_rules, t));
        for ev in &events[..k] {
            let e = event(ev);
            prop_assert_eq!(json(&shared.evaluate(&e)), json(&owned.evaluate(&e)));
        }
        let new = program(&new_rules, t);
        let a = shared.reload(Arc::clone(&new)).expect("reload");
        let b = owned.reload(new).expect("reload");
        prop_assert_eq!(json(&a), json(&b));
        for (i, ev) in events[k..].iter().enumerate() {
            let e = event(ev);
            prop_assert_eq!(
                json(&shared.evaluate(&e)),
                json(&owned.evaluate(&e)),
                "event {} after the reload", i
            );
        }
        let (a, b) = (shared.stats(), owned.stats());
        prop_assert_eq!(&a.fired, &b.fired);
        prop_assert_eq!((a.events, a.reloads, a.tracked_agents, a.tracked_keys),
            (b.events, b.reloads, b.tracked_agents, b.tracked_keys));
    }
}

#[test]
fn the_bundled_day_gives_the_same_verdicts_and_statistics() {
    // agents.rules: conditional and keyed counters, distinct, first_seen;
    // seed.rules: plain counters and a profile list (the profile found
    // through the agent's slot).
    for (name, source, min_notable) in [
        (
            "agents.rules",
            include_str!("../examples/rules/agents.rules"),
            10,
        ),
        (
            "seed.rules",
            include_str!("../examples/rules/seed.rules"),
            1,
        ),
    ] {
        let rules = RuleSet::from_source(name, source).unwrap_or_else(|d| panic!("{d}"));
        let program = rules.compile();
        let profiles = Profiles::from_json_str(include_str!("../examples/profiles/agents.json"))
            .unwrap_or_else(|e| panic!("{e}"));
        let builder = || {
            Engine::builder(Arc::clone(&program))
                .profiles(&profiles)
                .forward_skew_limit_ms(None)
        };
        let shared = builder().build().unwrap_or_else(|e| panic!("{e}"));
        let mut owned = builder()
            .build_partition()
            .unwrap_or_else(|e| panic!("{e}"));
        let filter = AttrFilter::for_program(&program);
        let mut notable = 0;
        let mut events = 0;
        for (n, line) in include_str!("../examples/events/okta-day.jsonl")
            .lines()
            .enumerate()
        {
            let Ok(event) = parse_event_with(line, Format::Auto, &filter) else {
                continue;
            };
            events += 1;
            let (a, b) = (shared.evaluate(&event), owned.evaluate(&event));
            notable += usize::from(a.is_notable());
            assert_eq!(json(&a), json(&b), "{name}, line {}", n + 1);
        }
        assert!(
            events > 1_000 && notable >= min_notable,
            "{name}: {events} events, {notable} notable"
        );
        assert_eq!(shared.stats(), owned.stats(), "{name}");
    }
}

#[test]
fn limits_hold_in_a_partition() {
    let p = program(&(0..POOL.len()).collect(), 2);
    let mut owned = Engine::builder(Arc::clone(&p))
        .clock(Arc::new(ManualClock::new(BASE + 100 * HOUR)))
        .max_agents(3)
        .max_keys(4)
        .build_partition()
        .unwrap_or_else(|e| panic!("{e}"));
    let shared = Engine::builder(p)
        .clock(Arc::new(ManualClock::new(BASE + 100 * HOUR)))
        .max_agents(3)
        .max_keys(4)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    for i in 0..50u8 {
        let ev = Ev {
            agent: i % 7,
            t: BASE + i64::from(i) * SECOND,
            ip: Some(i % 9),
            failure: i % 3 == 0,
            token: i % 2 == 0,
        };
        let e = event(&ev);
        let (a, b) = (shared.evaluate(&e), owned.evaluate(&e));
        let s = owned.stats();
        assert!(s.tracked_agents <= 3 && s.tracked_keys <= 4, "{s:?}");
        // Untracked agents and evicted keys alike: the same verdicts.
        assert_eq!(json(&a), json(&b), "event {i}");
    }
    let (a, b) = (shared.stats(), owned.stats());
    assert_eq!(a.untracked, b.untracked);
    assert!(b.untracked > 0 && b.evicted_keys > 0, "{b:?}");
}

#[test]
fn a_partition_moves_to_the_thread_that_owns_it() {
    fn send<T: Send>(_: &T) {}
    let p = partition(program(&[0usize].into_iter().collect(), 1));
    send(&p);
    let handle = std::thread::spawn(move || {
        let mut p = p;
        let e = event(&Ev {
            agent: 1,
            t: BASE,
            ip: None,
            failure: false,
            token: false,
        });
        p.evaluate(&e).decision
    });
    assert_eq!(handle.join().ok(), Some(riskgate::Decision::Allow));
}
