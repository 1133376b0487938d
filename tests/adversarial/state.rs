//! Adversarial inputs: the engine's state (windows, keys, cooldowns, clock).

use std::sync::Arc;

use riskgate::engine::{Engine, EngineBuilder, ManualClock};
use riskgate::{Decision, Event, RuleSet};

/// 2026-11-22T00:00:00Z in ms.
const DAY: i64 = 1_795_305_600_000;
/// 9999-12-31T00:00:00Z in ms.
const FAR_FUTURE: i64 = 253_402_214_400_000;

const FAILURES: &str = "Rule F: Repeated failures\n\
    Trigger: count(outcome == \"FAILURE\") over 10m > 3\n\
    Action: deny\nSeverity: HIGH\n";

fn builder(rules: &str) -> EngineBuilder {
    let set = RuleSet::from_source("t.rules", rules).unwrap_or_else(|d| panic!("{d}"));
    Engine::builder(set.compile())
}

fn failure(agent: &str, t: i64) -> Event<'_> {
    Event::builder(agent, t).outcome("FAILURE").build()
}

/// Decisions for one far-future event then six failures a second apart.
fn denies_after_a_far_future_event(engine: &Engine) -> usize {
    let _ = engine.evaluate(&failure("a", FAR_FUTURE));
    (0..6)
        .filter(|i| engine.evaluate(&failure("a", DAY + i * 1_000)).decision == Decision::Deny)
        .count()
}

#[test]
fn item13_a_far_future_event_cannot_switch_an_agents_windows_off() {
    // The defaults: the machine's clock and a 5-minute limit.
    let engine = builder(FAILURES).build().unwrap_or_else(|e| panic!("{e}"));
    // The 4th, 5th and 6th failures are more than 3 in 10 minutes.
    assert_eq!(denies_after_a_far_future_event(&engine), 3);
    let stats = engine.stats();
    assert_eq!(stats.events, 7);
    assert_eq!(stats.skewed, 1, "the far-future event is tallied");
    assert_eq!(stats.late_dropped, 0);
}

#[test]
fn item13_the_limit_is_measured_against_the_injected_clock() {
    let clock = Arc::new(ManualClock::new(DAY));
    let engine = builder(FAILURES)
        .clock(clock.clone())
        .max_forward_skew_ms(60_000)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    // One minute ahead is within the limit, one minute and a millisecond past it.
    let _ = engine.evaluate(&failure("a", DAY + 60_000));
    assert_eq!(engine.stats().skewed, 0);
    let _ = engine.evaluate(&failure("b", DAY + 60_001));
    assert_eq!(engine.stats().skewed, 1);
    // The same time is within the limit once the clock has moved on.
    clock.set(DAY + 1_000);
    let _ = engine.evaluate(&failure("c", DAY + 60_001));
    assert_eq!(engine.stats().skewed, 1);
    // A skewed event is still evaluated and counted as an event.
    assert_eq!(engine.stats().events, 3);
}

#[test]
fn item13_without_a_limit_the_far_future_event_moves_the_windows() {
    // What `off` means, and what the default prevents.
    let engine = builder(FAILURES)
        .no_forward_skew_limit()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(denies_after_a_far_future_event(&engine), 0);
    assert_eq!(engine.stats().skewed, 0);
}

#[test]
fn item18_late_dropped_counts_only_events_counted_in_no_window() {
    let rules = "Rule S: short\nTrigger: count over 1m > 100\nAction: flag\nSeverity: LOW\n\n\
                 Rule L: long\nTrigger: count over 1h > 100\nAction: flag\nSeverity: LOW\n";
    let engine = builder(rules).build().unwrap_or_else(|e| panic!("{e}"));
    let t = DAY + 3 * 3_600_000;
    let _ = engine.evaluate(&failure("a", t));
    // Five minutes late: out of the 1-minute ring, inside the 1-hour one.
    let _ = engine.evaluate(&failure("a", t - 300_000));
    let stats = engine.stats();
    assert_eq!((stats.late_dropped, stats.late_partial), (0, 1));
    // Two hours late: in no window at all.
    let _ = engine.evaluate(&failure("a", t - 7_200_000));
    let stats = engine.stats();
    assert_eq!((stats.late_dropped, stats.late_partial), (1, 1));
    // One second late: in both rings, neither figure moves.
    let _ = engine.evaluate(&failure("a", t - 1_000));
    let stats = engine.stats();
    assert_eq!((stats.late_dropped, stats.late_partial), (1, 1));
}

const BY_IP: &str = "Rule B: Brute force from one address\n\
    Trigger: count(outcome == \"FAILURE\") over 10m by ip > 3\n\
    Action: deny\nSeverity: HIGH\n";

fn from_ip<'a>(agent: &'a str, t: i64, ip: std::net::IpAddr, outcome: &'static str) -> Event<'a> {
    Event::builder(agent, t).ip(ip).outcome(outcome).build()
}

fn nth_ip(i: u32) -> std::net::IpAddr {
    std::net::IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i))
}

#[test]
fn item11_events_a_by_counter_does_not_count_create_no_keys() {
    let engine = builder(BY_IP)
        .max_keys(1_000)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    // One agent, 5,000 successes from 5,000 addresses: nothing counted.
    for i in 0..5_000 {
        let _ = engine.evaluate(&from_ip("flood", DAY + i64::from(i), nth_ip(i), "SUCCESS"));
    }
    assert_eq!(engine.stats().tracked_keys, 0);
    // Another agent's five failures from one address still fire.
    let victim: std::net::IpAddr = "192.0.2.9".parse().unwrap_or_else(|e| panic!("{e}"));
    let denies = (0..5)
        .filter(|i| {
            let t = DAY + 10_000 + i * 1_000;
            engine
                .evaluate(&from_ip("victim", t, victim, "FAILURE"))
                .decision
                == Decision::Deny
        })
        .count();
    assert_eq!(denies, 2, "the 4th and 5th failures");
    let stats = engine.stats();
    assert_eq!((stats.tracked_keys, stats.untracked_key_updates), (1, 0));
}

#[test]
fn item11_keys_lost_at_the_cap_show_in_stats() {
    let engine = builder(BY_IP)
        .max_keys(100)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    for i in 0..300 {
        let _ = engine.evaluate(&from_ip("flood", DAY + i64::from(i), nth_ip(i), "FAILURE"));
    }
    let stats = engine.stats();
    assert_eq!(stats.tracked_keys, 100);
    assert_eq!(stats.untracked_key_updates, 200);
}

#[test]
fn item05_cooldowns_stay_within_their_cap_under_a_flood_of_new_agents() {
    let rules = "Rule A: alert on everything\nTrigger: count over 1m > 0\n\
                 Action: flag + alert security team\nSeverity: LOW\nCooldown: 1000s\n";
    let engine = builder(rules)
        .max_agents(1_000)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<String> = (0..20_000).map(|i| format!("agent-{i}")).collect();
    for (k, id) in ids.iter().enumerate() {
        let e = failure(id, DAY + k as i64);
        let v = engine.evaluate(&e);
        assert!(!v.matches[0].alerts[0].suppressed, "{id}: first alert");
        // The cap (max_agents, at least 1,024) holds at every step.
        assert!(engine.cooldown_entries() <= 1_024);
    }
    // The newest agents' cooldowns still apply; the oldest were forgotten
    // (their alerts may be raised again: never hidden).
    let (recent, oldest) = (
        failure(&ids[19_999], DAY + 30_000),
        failure(&ids[0], DAY + 30_000),
    );
    assert!(engine.evaluate(&recent).matches[0].alerts[0].suppressed);
    assert!(!engine.evaluate(&oldest).matches[0].alerts[0].suppressed);
}

#[test]
fn item18_a_late_event_that_enters_a_baseline_history_is_not_dropped() {
    let rules = "Rule H: over baseline\nTrigger: requests_per_minute > baseline * 100\n\
                 Action: flag\nSeverity: LOW\n";
    let engine = builder(rules).build().unwrap_or_else(|e| panic!("{e}"));
    let t = DAY + 3 * 3_600_000;
    let _ = engine.evaluate(&failure("a", t));
    // Five minutes late: not in the one-minute ring, in the 60-minute history.
    let _ = engine.evaluate(&failure("a", t - 300_000));
    let stats = engine.stats();
    assert_eq!((stats.late_dropped, stats.late_partial), (0, 1));
    // Two hours late: older than the history too.
    let _ = engine.evaluate(&failure("a", t - 7_200_000));
    let stats = engine.stats();
    assert_eq!((stats.late_dropped, stats.late_partial), (1, 1));
}
