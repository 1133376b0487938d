//! Snapshots: a run interrupted by a snapshot and a restore gives the
//! verdicts of the uninterrupted run; a bad snapshot (truncated anywhere,
//! a flipped bit, another version, another program, trailing data) is a
//! clear error and loads nothing; partitions split the agents exactly; a
//! snapshot does not stop evaluations.

#[path = "support/pool.rs"]
mod pool;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pool::*;
use proptest::prelude::*;
use riskgate::run::snapshot::{RestoreError, SnapshotFilter, SNAPSHOT_MAGIC};
use riskgate::run::verdict::Verdict;
use riskgate::{partition_of, ActorKind, Categories, Engine, Event, Program, RuleSet};

fn restore(p: Arc<Program>, bytes: &[u8]) -> Result<Engine, RestoreError> {
    Engine::builder(p)
        .clock(Arc::new(riskgate::run::engine::ManualClock::new(
            BASE + 100 * HOUR,
        )))
        .restore(bytes)
        .map(|(e, _)| e)
}

/// Everything a verdict says, as comparable data.
fn whole(v: &Verdict<'_>) -> String {
    let matches: Vec<String> = v
        .matches()
        .map(|m| {
            let alerts: Vec<bool> = m.alerts().map(|a| a.suppressed).collect();
            format!("{}:{:?}:{:?}", m.rule(), m.decision(), alerts)
        })
        .collect();
    format!("{:?} {:?} {}", v.decision, v.severity, matches.join(","))
}

fn snapshot(e: &Engine, filter: &SnapshotFilter) -> Vec<u8> {
    let mut bytes = Vec::new();
    e.snapshot(&mut bytes, filter).expect("writing to a Vec");
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Events 0..k, snapshot, restore into a fresh engine, events k..n ==
    /// the uninterrupted run, verdict for verdict.
    #[test]
    fn a_restart_through_a_snapshot_changes_no_verdict(
        rules in prop::collection::btree_set(0..POOL.len(), 1..=POOL.len()),
        t in 0u32..6,
        events in stream(),
        cut in 0.0f64..1.0,
    ) {
        let k = ((events.len() as f64) * cut) as usize;
        let p = program(&rules, t);
        let straight = engine(Arc::clone(&p));
        let first = engine(Arc::clone(&p));
        for ev in &events[..k] {
            let e = event(ev);
            straight.evaluate(&e);
            first.evaluate(&e);
        }
        let bytes = snapshot(&first, &SnapshotFilter::All);
        drop(first);
        let second = restore(Arc::clone(&p), &bytes).expect("restore");
        for (i, ev) in events[k..].iter().enumerate() {
            let e = event(ev);
            prop_assert_eq!(
                whole(&second.evaluate(&e)),
                whole(&straight.evaluate(&e)),
                "event {} after the restart: {:?}", i, ev
            );
        }
        prop_assert_eq!(second.stats().tracked_agents, straight.stats().tracked_agents);
        prop_assert_eq!(second.stats().tracked_keys, straight.stats().tracked_keys);
        // A restored set has the room its values need; the live one may
        // have grown more (and kept the room after values expired).
        prop_assert!(second.stats().state_bytes <= straight.stats().state_bytes);
        prop_assert_eq!(second.stats().state_bytes as usize, second.store().bytes_by_scan());
    }
}

/// A stream that leaves state of every kind: counters, a baseline, keys,
/// distinct and first-seen sets, cooldowns.
fn busy_engine() -> (Arc<Program>, Engine) {
    let all: BTreeSet<usize> = (0..POOL.len()).collect();
    let p = program(&all, 1);
    let e = engine(Arc::clone(&p));
    let mut t = BASE;
    for i in 0..400u32 {
        t += i64::from(i % 7) * 1_700;
        let ev = Ev {
            agent: (i % 5) as u8,
            t,
            ip: Some((i % 11) as u8),
            failure: i % 3 == 0,
            token: i % 2 == 0,
        };
        e.evaluate(&event(&ev));
    }
    (p, e)
}

#[test]
fn every_truncation_is_an_error() {
    let (p, e) = busy_engine();
    let bytes = snapshot(&e, &SnapshotFilter::All);
    assert!(bytes.len() > 1_000, "{} bytes", bytes.len());
    assert!(restore(Arc::clone(&p), &bytes).is_ok());
    for cut in 0..bytes.len() {
        match restore(Arc::clone(&p), &bytes[..cut]) {
            Err(RestoreError::Truncated { offset, .. }) => {
                assert!(offset <= cut as u64, "offset {offset} past the cut {cut}")
            }
            Err(RestoreError::NotASnapshot) => assert!(cut < SNAPSHOT_MAGIC.len()),
            other => panic!("cut at {cut} of {}: {:?}", bytes.len(), other.map(|_| ())),
        }
    }
}

#[test]
fn a_flipped_bit_is_a_checksum_error() {
    let (p, e) = busy_engine();
    let bytes = snapshot(&e, &SnapshotFilter::All);
    // Every 7th byte past the version, each bit in turn.
    for at in (10..bytes.len()).step_by(7) {
        let mut bad = bytes.clone();
        bad[at] ^= 1 << (at % 8);
        let err = restore(Arc::clone(&p), &bad)
            .map(|_| ())
            .expect_err("corrupt");
        let ok = matches!(
            err,
            RestoreError::Checksum { .. }
                | RestoreError::Truncated { .. }
                | RestoreError::Corrupt { .. }
        );
        assert!(ok, "byte {at}: {err}");
    }
}

#[test]
fn bad_magic_version_and_trailing_data_are_named() {
    let (p, e) = busy_engine();
    let bytes = snapshot(&e, &SnapshotFilter::All);
    let err = restore(Arc::clone(&p), b"{\"not\": \"a snapshot\"}\n")
        .map(|_| ())
        .expect_err("");
    assert!(matches!(err, RestoreError::NotASnapshot), "{err}");
    let mut v2 = bytes.clone();
    v2[8] = 3;
    let err = restore(Arc::clone(&p), &v2).map(|_| ()).expect_err("");
    assert!(
        matches!(
            err,
            RestoreError::Version {
                found: 3,
                supported: 2
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "snapshot format version 3; this build reads version 2"
    );
    let mut longer = bytes.clone();
    longer.push(0);
    let err = restore(p, &longer).map(|_| ()).expect_err("");
    assert!(err.to_string().contains("data after the end"), "{err}");
}

#[test]
fn a_snapshot_of_another_program_is_refused() {
    let (_, e) = busy_engine();
    let bytes = snapshot(&e, &SnapshotFilter::All);
    let other = RuleSet::from_source(
        "other.rules",
        "Rule Z — other\nTrigger: count over 3h > 5\nAction: deny\nSeverity: HIGH\n",
    )
    .expect("rules")
    .compile();
    let err = restore(other, &bytes)
        .map(|_| ())
        .expect_err("another program");
    assert!(matches!(err, RestoreError::WrongProgram { .. }), "{err}");
    assert!(err.to_string().contains("another program"), "{err}");
}

/// Under a compatible program, the shared metrics are restored and the
/// report says which.
#[test]
fn a_compatible_program_restores_what_it_shares() {
    let (_, e) = busy_engine();
    let bytes = snapshot(&e, &SnapshotFilter::All);
    let some: BTreeSet<usize> = [0, 6].into_iter().collect(); // R1, R7
    let (restored, report) = Engine::builder(program(&some, 1))
        .restore(&bytes[..])
        .expect("compatible");
    assert_eq!(
        report.kept_metrics,
        ["distinct(ip) over 10m", "requests_per_minute"]
    );
    assert!(report.new_metrics.is_empty());
    assert!(report
        .dropped_metrics
        .contains(&"count over 5m by ip".to_string()));
    assert_eq!(report.summary.agents, 5);
    assert_eq!(restored.stats().tracked_agents, 5);
    // The dropped keyed counter's keys are not kept.
    assert_eq!(restored.stats().tracked_keys, 0);
    assert_eq!(
        restored.stats().state_bytes as usize,
        restored.store().bytes_by_scan()
    );
}

/// Partition snapshots hold exactly their agents; together they hold all.
#[test]
fn partitions_split_the_agents() {
    let (p, e) = busy_engine();
    let n = 3;
    let mut seen = 0;
    for part in 0..n {
        let bytes = snapshot(&e, &SnapshotFilter::partition(part, n));
        let r = restore(Arc::clone(&p), &bytes).expect("restore");
        for a in 0..5u8 {
            let id = format!("agent-{a}");
            assert_eq!(
                r.store().contains(&id),
                partition_of(&id, n) == part,
                "{id} in {part}"
            );
        }
        seen += r.stats().tracked_agents;
    }
    assert_eq!(seen, 5);
}

/// The input position comes back with the restore.
#[test]
fn the_position_comes_back() {
    let (p, e) = busy_engine();
    let mut bytes = Vec::new();
    let position = [("line".to_string(), 400u64)].into_iter().collect();
    e.snapshot_at(&mut bytes, &SnapshotFilter::All, position)
        .expect("write");
    let (_, report) = Engine::builder(p).restore(&bytes[..]).expect("restore");
    assert_eq!(report.summary.position.get("line"), Some(&400));
    assert_eq!(report.summary.bytes, bytes.len() as u64);
}

/// A snapshot taken while two threads evaluate: it completes, no event is
/// lost, and what it holds restores.
#[test]
fn a_snapshot_does_not_stop_evaluations() {
    let (p, e) = busy_engine();
    let e = Arc::new(e);
    let before = e.stats().events;
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..2)
        .map(|w| {
            let (e, stop) = (Arc::clone(&e), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) || n < 1_000 {
                    let ev = Event::builder(format!("busy-{w}-{}", n % 300), BASE + 10 * HOUR)
                        .actor(ActorKind::ServiceApp)
                        .categories(Categories::AUTHENTICATION)
                        .build();
                    e.evaluate(&ev);
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut snapshots = 0;
    for _ in 0..20 {
        let bytes = snapshot(&e, &SnapshotFilter::All);
        assert!(restore(Arc::clone(&p), &bytes).is_ok());
        snapshots += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let evaluated: u64 = workers.into_iter().map(|w| w.join().expect("worker")).sum();
    assert_eq!(snapshots, 20);
    assert_eq!(e.stats().events, before + evaluated);
}
