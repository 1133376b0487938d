//! Snapshot bytes: `EngineBuilder::restore` never panics on any input, and
//! an input it accepts is a working engine whose own snapshot restores to
//! the same state (agents, keys, bytes).
//!
//! Seeds (`seed_corpora.sh`): real snapshots of `riskgate replay` running
//! `snapshot.rules` over the bundled day, which the fuzzer mutates.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use riskgate::run::engine::ManualClock;
use riskgate::run::snapshot::SnapshotFilter;
use riskgate::{ActorKind, Categories, Engine, Event, Program, RuleSet};

const RULES: &str = include_str!("snapshot.rules");

fn program() -> Arc<Program> {
    static P: OnceLock<Arc<Program>> = OnceLock::new();
    Arc::clone(
        P.get_or_init(|| match RuleSet::from_source("snapshot.rules", RULES) {
            Ok(set) => set.compile(),
            Err(d) => panic!("{d}"),
        }),
    )
}

fn restore(bytes: &[u8]) -> Option<Engine> {
    Engine::builder(program())
        .clock(Arc::new(ManualClock::new(1_795_734_000_000)))
        .max_agents(64)
        .max_keys(256)
        .restore(bytes)
        .ok()
        .map(|(e, _)| e)
}

fuzz_target!(|data: &[u8]| {
    let Some(engine) = restore(data) else {
        return;
    };
    // It evaluates.
    let event = Event::builder("fuzz-agent", 1_795_734_000_000)
        .actor(ActorKind::ServiceApp)
        .categories(Categories::AUTHENTICATION)
        .ip("10.0.0.1".parse().expect("an address"))
        .outcome("FAILURE")
        .build();
    let _ = engine.evaluate(&event);
    // Its accounting holds, and its own snapshot restores to the same.
    let stats = engine.stats();
    assert_eq!(stats.state_bytes as usize, engine.store().bytes_by_scan());
    let mut again = Vec::new();
    engine
        .snapshot(&mut again, &SnapshotFilter::All)
        .expect("writing to a Vec");
    let second = restore(&again).expect("a snapshot written by the engine restores");
    let s2 = second.stats();
    assert_eq!(
        (s2.tracked_agents, s2.tracked_keys),
        (stats.tracked_agents, stats.tracked_keys)
    );
    assert!(s2.state_bytes <= stats.state_bytes);
});
