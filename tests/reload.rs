//! `Engine::reload`: a new program keeps the state of the metrics it shares
//! with the old one, so the verdicts after a reload are those of an engine
//! that ran the new program from the start, for every rule whose metrics
//! (and cooldown) the old program had; new metrics warm up; reloads racing
//! evaluations on four threads leave every verdict explained by one program.

#[path = "support/pool.rs"]
mod pool;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pool::*;
use proptest::prelude::*;
use riskgate::run::verdict::Verdict;
use riskgate::{ActorKind, Categories, Decision, Engine, Event, RuleSet};

/// The rules of B whose verdicts must be unchanged by starting on A's state.
fn comparable(a: &BTreeSet<usize>, b: &BTreeSet<usize>) -> BTreeSet<&'static str> {
    let has = |set: &BTreeSet<usize>, id: &str| set.iter().any(|&i| POOL[i].id == id);
    // The history of `requests_per_minute`: 120 windows with R3, 60 with
    // R2 alone, none otherwise.
    let history = |set: &BTreeSet<usize>| match (has(set, "R3"), has(set, "R2")) {
        (true, _) => 120,
        (false, true) => 60,
        _ => 0,
    };
    b.iter()
        .map(|&i| &POOL[i])
        .filter(|r| r.needs_any_of.is_empty() || r.needs_any_of.iter().any(|id| has(a, id)))
        .filter(|r| !r.cooldown || has(a, r.id))
        .filter(|r| !r.baseline || history(a) == history(b))
        .map(|r| r.id)
        .collect()
}

/// What a verdict says about the rules in `only`: which fired, and whether
/// their alerts were suppressed.
fn seen(v: &Verdict<'_>, only: &BTreeSet<&str>) -> Vec<(String, Vec<bool>)> {
    v.matches()
        .filter(|m| only.contains(m.rule()))
        .map(|m| {
            (
                m.rule().to_string(),
                m.alerts().map(|a| a.suppressed).collect(),
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Events 0..k on A, reload to B, events k..n == B from the start, for
    /// every rule of B whose state A had.
    #[test]
    fn reload_keeps_the_state_of_shared_metrics(
        a in rule_set(),
        b in rule_set(),
        t in 0u32..6,
        events in stream(),
        cut in 0.0f64..1.0,
    ) {
        let k = ((events.len() as f64) * cut) as usize;
        let reloaded = engine(program(&a, t));
        let from_start = engine(program(&b, t));
        for ev in &events[..k] {
            let e = event(ev);
            reloaded.evaluate(&e);
            from_start.evaluate(&e);
        }
        let report = reloaded.reload(program(&b, t)).expect("reload");
        let only = comparable(&a, &b);
        let all = only.len() == b.len();
        for (i, ev) in events[k..].iter().enumerate() {
            let e = event(ev);
            let (x, y) = (reloaded.evaluate(&e), from_start.evaluate(&e));
            prop_assert_eq!(
                seen(&x, &only), seen(&y, &only),
                "event {} after the reload {:?}; A {:?} B {:?}; report {:?}",
                i, ev, a, b, report
            );
            if all {
                prop_assert_eq!(x.decision, y.decision);
                prop_assert_eq!(x.severity, y.severity);
            }
        }
        // The counts stay exact, and the rule counts of kept rules carry.
        prop_assert_eq!(reloaded.stats().events, events.len() as u64);
        prop_assert_eq!(reloaded.stats().reloads, 1);
    }
}

/// The report names what was kept, added and dropped, by canonical text.
#[test]
fn the_report_lists_metrics_and_rules() {
    let a: BTreeSet<usize> = [0, 3, 6].into_iter().collect(); // R1 R4 R7
    let b: BTreeSet<usize> = [0, 4, 6].into_iter().collect(); // R1 R5 R7
    let e = engine(program(&a, 2));
    let report = e.reload(program(&b, 2)).expect("reload");
    assert_eq!(
        report.kept_metrics,
        ["distinct(ip) over 10m", "requests_per_minute"]
    );
    assert_eq!(report.new_metrics, ["count over 1h"]);
    assert_eq!(
        report.dropped_metrics,
        ["count(outcome == \"FAILURE\") over 5m"]
    );
    assert_eq!(report.kept_rules, ["R1", "R7"]);
    assert_eq!(report.new_rules, ["R5"]);
    assert_eq!(report.dropped_rules, ["R4"]);
    assert!(report.reshaped_metrics.is_empty());
    // Adding a baseline of a kept counter reshapes its history.
    let c: BTreeSet<usize> = [0, 1, 6].into_iter().collect(); // R1 R2 R7
    let report = e.reload(program(&c, 2)).expect("reload");
    assert_eq!(report.reshaped_metrics, ["requests_per_minute"]);
    assert_eq!(
        report.kept_metrics,
        ["distinct(ip) over 10m", "requests_per_minute"]
    );
}

/// A baseline added by a reload warms up: absent for ten windows of its
/// counter after the reload, then read over the windows seen since.
#[test]
fn a_new_baseline_warms_up() {
    let only_rate: BTreeSet<usize> = [0].into_iter().collect(); // R1: no history
    let with_baseline: BTreeSet<usize> = [0, 1].into_iter().collect(); // + R2
    let e = engine(program(&only_rate, 100));
    let ev = |t: i64| {
        Event::builder("agent-0", t)
            .actor(ActorKind::ServiceApp)
            .categories(Categories::AUTHENTICATION)
            .build()
    };
    // An hour of one request a minute on the old program.
    for m in 0..60 {
        e.evaluate(&ev(BASE + m * MINUTE));
    }
    e.reload(program(&with_baseline, 100)).expect("reload");
    // A burst right away: the baseline is warming up, R2 cannot fire.
    let reload_minute = BASE + 60 * MINUTE;
    for s in 0..10 {
        let event = ev(reload_minute + s * SECOND);
        let v = e.evaluate(&event);
        assert!(
            v.rule_ids().all(|r| r != "R2"),
            "R2 fired during warm-up at {s}"
        );
    }
    // Ten quiet minutes of one request, then a burst: now it fires.
    for m in 1..=10 {
        e.evaluate(&ev(reload_minute + m * MINUTE));
    }
    let burst = reload_minute + 11 * MINUTE;
    let fired = (0..10).any(|s| {
        let event = ev(burst + s * SECOND);
        let v = e.evaluate(&event);
        let hit = v.rule_ids().any(|r| r == "R2");
        hit
    });
    assert!(fired, "R2 must fire once the baseline is warm");
}

/// A program that reads a profile path the old one did not needs the
/// profiles again; the old program keeps running.
#[test]
fn a_new_profile_path_needs_the_profiles() {
    let old = RuleSet::from_source(
        "a.rules",
        "Rule P — team\nTrigger: agent.team == \"payments\"\nAction: flag_for_review\nSeverity: LOW\n",
    )
    .expect("rules")
    .compile();
    let new = RuleSet::from_source(
        "b.rules",
        "Rule P — owner\nTrigger: agent.owner == \"alice\"\nAction: deny\nSeverity: HIGH\n",
    )
    .expect("rules")
    .compile();
    let profiles = riskgate::input::profile::Profiles::from_json_str(
        r#"{"agent_id": "agent-0", "team": "payments", "owner": "alice"}"#,
    )
    .expect("profiles");
    let e = Engine::builder(old)
        .profiles(&profiles)
        .build()
        .expect("engine");
    let ev = Event::builder("agent-0", BASE)
        .actor(ActorKind::ServiceApp)
        .build();
    assert_eq!(e.evaluate(&ev).decision, Decision::Flag);
    let err = e.reload(Arc::clone(&new)).expect_err("needs the profiles");
    assert!(err.to_string().contains("agent.owner"), "{err}");
    assert_eq!(
        e.evaluate(&ev).decision,
        Decision::Flag,
        "the old program runs on"
    );
    e.reload_with_profiles(new, &profiles)
        .expect("with the profiles");
    assert_eq!(e.evaluate(&ev).decision, Decision::Deny);
}

/// Reloads between two programs while four threads evaluate: every verdict
/// is one that one of the two programs gives, and no event is lost.
#[test]
fn reloads_racing_evaluations_give_verdicts_of_one_program() {
    // A: R1 flags (LOW) above 0 a minute; B: R1 and R10' deny-level rule.
    let a = RuleSet::from_source(
        "a.rules",
        "Rule X — a\nTrigger: requests_per_minute > 0\nAction: flag_for_review\nSeverity: LOW\n",
    )
    .expect("a")
    .compile();
    let b = RuleSet::from_source(
        "b.rules",
        "Rule X — a\nTrigger: requests_per_minute > 0\nAction: flag_for_review\nSeverity: LOW\n\nRule Y — b\nTrigger: requests_per_minute > 0\nAction: deny\nSeverity: HIGH\n",
    )
    .expect("b")
    .compile();
    let e = Arc::new(engine(Arc::clone(&a)));
    let stop = Arc::new(AtomicBool::new(false));
    let per_thread: u32 = 20_000;
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let e = Arc::clone(&e);
            std::thread::spawn(move || {
                let mut bad = Vec::new();
                for i in 0..per_thread {
                    let ev = Event::builder(format!("agent-{}", i % 50), BASE + i64::from(i) * 10)
                        .actor(ActorKind::ServiceApp)
                        .categories(Categories::AUTHENTICATION)
                        .build();
                    let v = e.evaluate(&ev);
                    let ids: Vec<&str> = v.rule_ids().collect();
                    let ok = match ids.as_slice() {
                        ["X"] => v.decision == Decision::Flag,
                        ["X", "Y"] => v.decision == Decision::Deny,
                        _ => false,
                    };
                    if !ok {
                        bad.push((w, i, ids.iter().map(|s| s.to_string()).collect::<Vec<_>>()));
                    }
                }
                bad
            })
        })
        .collect();
    let reloader = {
        let (e, stop) = (Arc::clone(&e), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let p = if n.is_multiple_of(2) {
                    Arc::clone(&b)
                } else {
                    Arc::clone(&a)
                };
                let report = e.reload(p).expect("reload");
                assert_eq!(report.kept_metrics, ["requests_per_minute"]);
                n += 1;
            }
            n
        })
    };
    let mut bad = Vec::new();
    for w in workers {
        bad.extend(w.join().expect("worker"));
    }
    stop.store(true, Ordering::Relaxed);
    let reloads = reloader.join().expect("reloader");
    assert!(
        bad.is_empty(),
        "verdicts of no single program: {:?}",
        &bad[..bad.len().min(5)]
    );
    let stats = e.stats();
    assert_eq!(stats.events, 4 * u64::from(per_thread));
    assert_eq!(stats.reloads, reloads);
    assert!(reloads > 0, "the reloader ran");
    // X fired on every event, whatever program was in force.
    let x = stats
        .fired
        .iter()
        .find(|(id, _)| &**id == "X")
        .map(|(_, n)| *n);
    assert_eq!(x, Some(4 * u64::from(per_thread)));
}
