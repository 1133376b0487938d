//! A hostile flood of new agent ids against the whole engine: the agent cap
//! holds, agents past it are still evaluated (with fresh state) and counted,
//! and cooldowns (kept in the tracked agents' own state) stay bounded too.

use std::net::{IpAddr, Ipv4Addr};

use riskgate::{ActorKind, Categories, Decision, Engine, Event, RuleSet};

const RULES: &str = "list approved_ranges = [10.0.0.0/8]

Rule 1 — New network for agent credentials
Trigger: service_app authentication from IP not in approved_ranges
Action: suspend_token + alert security team
Severity: HIGH
Cooldown: 15m

Rule 2 — Burst
Trigger: requests_per_minute > 3
Action: flag_for_review
Severity: LOW
";

const T0: i64 = 1_795_910_400_000;
const CAP: usize = 1_000;

fn engine(idle_ttl_ms: Option<u64>) -> Engine {
    let set = RuleSet::from_source("flood.rules", RULES).unwrap_or_else(|d| panic!("{d:?}"));
    let mut b = Engine::builder(set.compile()).max_agents(CAP);
    if let Some(ttl) = idle_ttl_ms {
        b = b.idle_ttl_ms(ttl);
    }
    b.build().unwrap_or_else(|e| panic!("{e}"))
}

fn hit(engine: &Engine, agent: &str, t: i64) -> Decision {
    let e = Event::builder(agent.to_string(), t)
        .actor(ActorKind::ServiceApp)
        .categories(Categories::AUTHENTICATION)
        .ip(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9)))
        .build();
    engine.evaluate(&e).decision
}

/// `n` new agents, one event each, 1 ms apart.
fn flood(engine: &Engine, n: usize) {
    for i in 0..n {
        let d = hit(engine, &format!("flood-{i}"), T0 + i as i64);
        assert_eq!(d, Decision::Suspend, "agent {i}");
    }
}

#[test]
fn new_agents_past_the_cap_are_evaluated_untracked() {
    let engine = engine(None);
    flood(&engine, 20_000);
    let stats = engine.stats();
    assert_eq!(stats.events, 20_000);
    assert_eq!(stats.tracked_agents, CAP as u64);
    assert_eq!(stats.untracked, 19_000);
    assert_eq!(stats.fired[0].1, 20_000);
    // Bounded: one entry per tracked agent that alerted.
    assert_eq!(engine.cooldown_entries(), CAP);
}

#[test]
fn an_untracked_agent_has_fresh_state_on_every_event() {
    // An agent past the cap never accumulates a rate; a tracked one does.
    let engine2 = engine_with_rate_only();
    for i in 0..CAP {
        hit_rate(&engine2, &format!("flood-{i}"), T0);
    }
    let late: Vec<_> = (0..10)
        .map(|i| hit_rate(&engine2, "newcomer", T0 + i))
        .collect();
    assert!(late.iter().all(|d| *d == Decision::Allow), "{late:?}");
    let early: Vec<_> = (0..4)
        .map(|i| hit_rate(&engine2, "flood-1", T0 + i))
        .collect();
    assert_eq!(early[3], Decision::Flag, "{early:?}");
    assert_eq!(engine2.stats().untracked, 10);
}

fn engine_with_rate_only() -> Engine {
    let set = RuleSet::from_source(
        "rate.rules",
        "Rule 2 — Burst\nTrigger: requests_per_minute > 3\nAction: flag_for_review\nSeverity: LOW\n",
    )
    .unwrap_or_else(|d| panic!("{d:?}"));
    Engine::builder(set.compile())
        .max_agents(CAP)
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn hit_rate(engine: &Engine, agent: &str, t: i64) -> Decision {
    let e = Event::builder(agent.to_string(), t)
        .actor(ActorKind::ServiceApp)
        .categories(Categories::AUTHENTICATION)
        .build();
    engine.evaluate(&e).decision
}

#[test]
fn idle_agents_make_room_for_new_ones() {
    // One new agent a millisecond, idle after 500 ms: the store keeps turning over.
    let engine = engine(Some(500));
    flood(&engine, 20_000);
    let stats = engine.stats();
    assert!(stats.tracked_agents <= CAP as u64);
    assert!(stats.untracked < 19_000, "{}", stats.untracked);
    engine.evict_idle(T0 + 20_000 + 15 * 60_000);
    assert_eq!(engine.cooldown_entries(), 0);
}

#[test]
fn the_cooldown_still_suppresses_for_tracked_agents() {
    let engine = engine(None);
    let e = |t| {
        Event::builder("svc", t)
            .actor(ActorKind::ServiceApp)
            .categories(Categories::AUTHENTICATION)
            .ip(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9)))
            .build()
    };
    let first = e(T0);
    let again = e(T0 + 60_000);
    assert!(!engine.evaluate(&first).into_owned().matches[0].alerts[0].suppressed);
    assert!(engine.evaluate(&again).into_owned().matches[0].alerts[0].suppressed);
}

/// The million-id case; slow unoptimised (`cargo test --release --test engine_flood`).
#[test]
#[cfg_attr(debug_assertions, ignore = "1M agents: run with --release")]
fn a_million_new_agents() {
    let engine = engine(None);
    flood(&engine, 1_000_000);
    let stats = engine.stats();
    assert_eq!(stats.tracked_agents, CAP as u64);
    assert_eq!(stats.untracked, 999_000);
    assert_eq!(engine.cooldown_entries(), CAP);
}
