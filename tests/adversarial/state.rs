//! Adversarial inputs: state (windows, keys, cooldowns, memory bounds).

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use riskgate::engine::{EngineBuilder, ManualClock};
use riskgate::{ActorKind, Categories, Decision, Engine, Event, RuleSet};

/// 2026-11-22T00:00:00Z.
const T0: i64 = 1_795_305_600_000;
/// 9999-12-31T00:00:00Z.
const YEAR_9999: i64 = 253_402_214_400_000;
const MINUTE: i64 = 60_000;

fn builder(rules: &str) -> EngineBuilder {
    let set = RuleSet::from_source("adversarial.rules", rules).unwrap_or_else(|d| panic!("{d}"));
    Engine::builder(set.compile())
}

fn build(b: EngineBuilder) -> Engine {
    b.build().unwrap_or_else(|e| panic!("{e}"))
}

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(203, 0, 113, last))
}

fn failure(agent: &str, t: i64, from: IpAddr) -> Event<'static> {
    Event::builder(agent.to_string(), t)
        .actor(ActorKind::ServiceApp)
        .categories(Categories::AUTHENTICATION)
        .ip(from)
        .outcome("FAILURE")
        .build()
}

fn denies(engine: &Engine, events: &[Event<'_>]) -> usize {
    events
        .iter()
        .filter(|e| engine.evaluate(e).decision == Decision::Deny)
        .count()
}

const FAILURES: &str = r#"
Rule F — Repeated failures
Trigger: count(outcome == "FAILURE") over 10m > 3
Action: deny
Severity: HIGH
"#;

/// One event at 9999-12-31, then six failures a second apart: the 4th, 5th
/// and 6th are denied. Without the skew limit the forged time became the
/// agent's newest, every later failure was "late" by 8,000 years and none
/// was counted.
#[test]
fn item13_far_future_event_does_not_disable_windows() {
    let mut events = vec![failure("svc", YEAR_9999, ip(9))];
    events.extend((0..6).map(|i| failure("svc", T0 + i * 1_000, ip(9))));

    // Defaults: the system clock and a 5-minute limit.
    let engine = build(builder(FAILURES));
    assert_eq!(denies(&engine, &events), 3);
    let stats = engine.stats();
    assert_eq!(stats.skewed, 1, "the forged event is tallied, not dropped");
    assert_eq!(stats.events, 7);
    assert_eq!(stats.late_dropped, 0);

    // The limit off: the old behaviour, which the default prevents.
    let trusting = build(builder(FAILURES).forward_skew_limit_ms(None));
    assert_eq!(denies(&trusting, &events), 0);
    assert_eq!(trusting.stats().skewed, 0);
}

/// The skew is measured against the injected clock: 5 minutes ahead is
/// counted, a millisecond more is evaluated but not counted.
#[test]
fn item13_skew_is_measured_against_the_injected_clock() {
    let clock = Arc::new(ManualClock::new(T0));
    let engine = build(builder(FAILURES).clock(clock.clone()));
    let edge = T0 + 5 * MINUTE;
    // Three failures exactly at the limit: counted.
    for _ in 0..3 {
        assert_eq!(
            engine.evaluate(&failure("svc", edge, ip(1))).decision,
            Decision::Allow
        );
    }
    // Past it: evaluated (the count includes the three) but not counted.
    let past = failure("svc", edge + 1, ip(1));
    assert_eq!(engine.evaluate(&past).decision, Decision::Allow);
    assert_eq!(engine.evaluate(&past).decision, Decision::Allow);
    assert_eq!(engine.stats().skewed, 2);
    // The clock moves on: the same time is now within the limit.
    clock.set(T0 + 1);
    assert_eq!(engine.evaluate(&past).decision, Decision::Deny);
    assert_eq!(engine.stats().skewed, 2);

    // A limit set in the builder.
    let engine = build(
        builder(FAILURES)
            .clock(Arc::new(ManualClock::new(T0)))
            .max_forward_skew_ms(1_000),
    );
    engine.evaluate(&failure("svc", T0 + 1_001, ip(1)));
    engine.evaluate(&failure("svc", T0 + 1_000, ip(1)));
    assert_eq!(engine.stats().skewed, 1);
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_riskgate"))
}

/// A file under `target/test-tmp/adversarial-state/`.
fn temp(name: &str, contents: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("test-tmp")
        .join("adversarial-state");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let p = dir.join(name);
    std::fs::write(&p, contents).unwrap_or_else(|e| panic!("{e}"));
    p
}

fn native(agent: &str, time: &str, outcome: &str, ip: &str) -> String {
    format!(
        r#"{{"time": "{time}", "agent": "{agent}", "actor": "service_app", "categories": ["authentication"], "outcome": "{outcome}", "ip": "{ip}"}}"#
    )
}

/// `riskgate replay RULES EVENTS ARGS...`: (stdout, stderr).
fn replay(rules: &PathBuf, events: &PathBuf, args: &[&str]) -> (String, String) {
    let out = bin()
        .arg("replay")
        .arg(rules)
        .arg(events)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run riskgate: {e}"));
    assert!(out.status.success(), "{out:?}");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The replay measures skew against the system clock too (a historical log
/// lies in the past), shows the tally, and `--max-skew off` turns it off.
#[test]
fn item13_replay_counts_skewed_events_and_takes_max_skew() {
    let rules = temp("item13.rules", FAILURES);
    let mut lines = vec![native(
        "svc",
        "9999-12-31T00:00:00Z",
        "SUCCESS",
        "203.0.113.9",
    )];
    for s in 0..6 {
        lines.push(native(
            "svc",
            &format!("2026-11-22T00:00:0{s}Z"),
            "FAILURE",
            "203.0.113.9",
        ));
    }
    let events = temp("item13.jsonl", &(lines.join("\n") + "\n"));
    let deny_lines = |out: &str| out.lines().filter(|l| l.contains(" DENY ")).count();

    let (out, err) = replay(&rules, &events, &[]);
    assert_eq!(deny_lines(&out), 3, "{out}");
    assert!(err.contains("skewed: 1"), "{err}");
    assert!(err.contains("late dropped: 0"), "{err}");

    let (out, err) = replay(&rules, &events, &["--max-skew", "off"]);
    assert_eq!(deny_lines(&out), 0, "{out}");
    assert!(err.contains("skewed: 0"), "{err}");

    let bad = bin()
        .arg("replay")
        .arg(&rules)
        .arg(&events)
        .args(["--max-skew", "soon"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid duration `soon`"));
}

const RATE: &str = r#"
Rule B — Burst over the baseline
Trigger: requests_per_minute > max(baseline * 3, 20)
Action: flag_for_review
Severity: LOW
"#;

fn request(agent: &str, t: i64) -> Event<'static> {
    Event::builder(agent.to_string(), t)
        .actor(ActorKind::ServiceApp)
        .categories(Categories::AUTHENTICATION)
        .build()
}

/// `late_dropped` counts only events counted in no window, as documented;
/// one that misses the 1-second ring of `requests_per_minute` but enters its
/// minute history (for the baseline) is `late_partial`. Before, both were
/// "late dropped".
#[test]
fn item18_late_dropped_counts_only_events_counted_in_no_window() {
    let engine = build(builder(RATE).clock(Arc::new(ManualClock::new(T0 + 3_600_000))));
    for minute in 0..=20 {
        engine.evaluate(&request("svc", T0 + minute * MINUTE));
    }
    let stats = engine.stats();
    assert_eq!((stats.late_dropped, stats.late_partial), (0, 0));
    // Inside the ring: late, but counted everywhere.
    engine.evaluate(&request("svc", T0 + 20 * MINUTE - 30_000));
    // Five minutes late: misses the ring, enters the history.
    engine.evaluate(&request("svc", T0 + 15 * MINUTE));
    let stats = engine.stats();
    assert_eq!((stats.late_dropped, stats.late_partial), (0, 1));
    // Two hours late: older than the 60-minute history as well.
    engine.evaluate(&request("svc", T0 - 120 * MINUTE));
    let stats = engine.stats();
    assert_eq!((stats.late_dropped, stats.late_partial), (1, 1));
    assert_eq!(stats.events, 24);
}
