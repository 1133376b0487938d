//! Adversarial inputs: state (windows, keys, cooldowns, memory bounds).

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use riskgate::run::engine::{EngineBuilder, ManualClock};
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
    assert!(err.contains("past the forward skew: 1"), "{err}");
    assert!(err.contains("late dropped: 0"), "{err}");

    let (out, err) = replay(&rules, &events, &["--max-skew", "off"]);
    assert_eq!(deny_lines(&out), 0, "{out}");
    assert!(err.contains("past the forward skew: 0"), "{err}");

    let bad = bin()
        .arg("replay")
        .arg(&rules)
        .arg(&events)
        .args(["--max-skew", "soon"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected `off` or a duration"));
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

const ALERT: &str = r#"
Rule N — New network
Trigger: service_app authentication
Action: flag_for_review + alert security team
Severity: MEDIUM
Cooldown: 20s
"#;

/// Whether the one alert of `agent`'s event at `t` was suppressed.
fn suppressed(engine: &Engine, agent: &str, t: i64) -> bool {
    let event = request(agent, t);
    let v = engine.evaluate(&event);
    assert_eq!(v.decision, Decision::Flag);
    v.into_owned().matches[0].alerts[0].suppressed
}

/// Distinct agents 1 ms apart, each alerting, past the agent cap: cooldowns
/// live in each agent's own state, so an alert touches that agent alone.
/// The old shared map was pruned by a scan of every entry on every alert
/// once at its cap, and cleared when everything still suppressed: here its
/// entry count fell back, and the first agents' cooldowns were lost.
#[test]
fn item5_an_alert_touches_only_its_agents_cooldown() {
    let engine = build(
        builder(ALERT)
            .clock(Arc::new(ManualClock::new(T0)))
            .max_agents(1_000),
    );
    let mut last = 0;
    for i in 0..3_000 {
        assert!(!suppressed(&engine, &format!("agent-{i}"), T0 + i));
        if i % 97 == 0 {
            // One entry per tracked agent that alerted; never fewer.
            let n = engine.cooldown_entries();
            assert_eq!(n, (i as usize + 1).min(1_000));
            assert!(n >= last);
            last = n;
        }
    }
    assert_eq!(engine.cooldown_entries(), 1_000);
    let stats = engine.stats();
    assert_eq!((stats.tracked_agents, stats.untracked), (1_000, 2_000));
    // Within 20 s of their alerts, tracked agents are still suppressed...
    for i in (0..1_000).step_by(111) {
        assert!(suppressed(&engine, &format!("agent-{i}"), T0 + 10_000));
    }
    // ... exactly until `last + 20s`.
    assert!(suppressed(&engine, "agent-0", T0 + 19_999));
    assert!(!suppressed(&engine, "agent-0", T0 + 20_000));
    // An agent past the cap runs on fresh state: never suppressed.
    assert!(!suppressed(&engine, "agent-2999", T0 + 3_000));
}

/// A forged far-future alert neither is suppressed nor starts a cooldown:
/// with the old shared map, its time became the agent's last alert and
/// silenced the agent's alerts for 8,000 years.
#[test]
fn item13_far_future_alert_does_not_start_a_cooldown() {
    let engine = build(builder(ALERT).clock(Arc::new(ManualClock::new(T0))));
    assert!(!suppressed(&engine, "svc", YEAR_9999));
    assert!(!suppressed(&engine, "svc", T0));
    assert!(suppressed(&engine, "svc", T0 + 1_000));
    assert_eq!(engine.stats().skewed, 1);
}

const LONG_VALUES: &str = r#"
Rule N — Agent authentication
Trigger: service_app authentication
Action: alert security team
Severity: LOW
Cooldown: 1h

Rule S — New client
Trigger: first_seen(user_agent)
Action: flag_for_review
Severity: MEDIUM

Rule U — Many failures from one client
Trigger: count(outcome == "FAILURE") over 10m by user_agent > 3
Action: deny
Severity: HIGH
"#;

/// The ids of the rules that fired, and whether N's alert was suppressed.
fn fired(engine: &Engine, event: &Event<'_>) -> (Vec<String>, bool) {
    let v = engine.evaluate(event);
    let ids = v.rule_ids().map(str::to_string).collect();
    let suppressed = v
        .matches()
        .any(|m| m.rule() == "N" && m.alerts().next().is_some_and(|a| a.suppressed));
    (ids, suppressed)
}

/// 500 events with distinct 200 KB agent ids and 200 KB user agents (the
/// `by` key and the `first_seen` value), each alerting under a cooldown:
/// every id is tracked (as its first bytes and a hash), and the state
/// holds a bounded number of bytes per agent and key, nowhere near the
/// 200 KB an id (the old cooldown map kept every id whole: 987 MB for
/// 5,000 such events; and ids over 1 KiB were not tracked at all).
#[test]
fn item8_long_ids_and_keys_take_bounded_memory() {
    const N: usize = 500;
    const LONG: usize = 200_000;
    let engine = build(builder(LONG_VALUES).clock(Arc::new(ManualClock::new(T0))));
    let filler = "z".repeat(LONG);
    let event = |i: usize, t: i64| {
        Event::builder(format!("{filler}{i}"), t)
            .actor(ActorKind::ServiceApp)
            .categories(Categories::AUTHENTICATION)
            .outcome("FAILURE")
            .user_agent(format!("{filler}{i}"))
            .build()
    };
    for i in 0..N {
        let e = event(i, T0 + i as i64);
        assert_eq!(fired(&engine, &e), (vec!["N".into(), "S".into()], false));
    }
    let stats = engine.stats();
    assert_eq!(stats.tracked_agents, N as u64, "long ids are tracked");
    assert_eq!(stats.untracked, 0);
    assert_eq!(stats.tracked_keys, N as u64);
    assert_eq!(engine.cooldown_entries(), N);
    let per_entry = stats.state_bytes / (2 * N as u64);
    assert!(per_entry < 1_500, "{per_entry} bytes an agent or key");
    // The same long id is the same agent (its cooldown suppresses, its
    // client is known) and the same long key counts on.
    for k in 2..=4 {
        let e = event(7, T0 + 1_000 * k);
        let want: Vec<String> = if k == 4 {
            vec!["N".into(), "U".into()]
        } else {
            vec!["N".into()]
        };
        assert_eq!(fired(&engine, &e), (want, true), "event {k} of agent 7");
    }
    assert_eq!(engine.stats().tracked_agents, N as u64);
}

const BY_IP: &str = r#"
Rule K — Failures from one address
Trigger: count(outcome == "FAILURE") over 10m by ip > 3
Action: deny
Severity: HIGH
"#;

fn from_ip(agent: &str, t: i64, n: u32, outcome: &str) -> Event<'static> {
    Event::builder(agent.to_string(), t)
        .actor(ActorKind::ServiceApp)
        .categories(Categories::AUTHENTICATION)
        .ip(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n)))
        .outcome(outcome.to_string())
        .build()
}

/// The victim's five failures from one address: the 4th and 5th are denied.
fn victim_denies(engine: &Engine, t: i64) -> usize {
    let events: Vec<_> = (0..5)
        .map(|i| failure("victim", t + i * 1_000, ip(77)))
        .collect();
    denies(engine, &events)
}

/// One agent's flood of distinct addresses cannot disable `by ip` counters
/// for the others. Successes create no key (the counter counts failures
/// only); the flooder's failures from 20,000 addresses keep at most its
/// quota of keys, its oldest evicted first; the victim's five failures are
/// counted and denied, and the losses show in `Stats`. Before, the
/// successes alone filled the global key cap, after which every new key
/// was untracked (and the victim never denied) while the stats said
/// nothing.
#[test]
fn item11_one_agent_cannot_disable_by_counters_for_others() {
    let engine = build(
        builder(BY_IP)
            .clock(Arc::new(ManualClock::new(T0 + 3_600_000)))
            .max_keys(1_000)
            .max_keys_per_agent(100),
    );
    for n in 0..20_000 {
        engine.evaluate(&from_ip("flooder", T0 + i64::from(n), n, "SUCCESS"));
    }
    let stats = engine.stats();
    assert_eq!(stats.tracked_keys, 0, "no failure, no key");
    assert_eq!(victim_denies(&engine, T0 + 20_000), 2);

    for n in 0..20_000 {
        engine.evaluate(&from_ip(
            "flooder",
            T0 + 30_000 + i64::from(n),
            n,
            "FAILURE",
        ));
    }
    let stats = engine.stats();
    assert_eq!(
        stats.tracked_keys, 101,
        "the flooder's quota and the victim's key"
    );
    assert_eq!(stats.quota_evicted_keys, 19_900);
    assert_eq!(stats.evicted_keys, 19_900);
    assert_eq!(stats.untracked_keys, 0);
    assert_eq!(
        victim_denies(&engine, T0 + 60_000),
        5,
        "the victim's count went on"
    );
    // The flooder kept its newest keys: three more failures from its last
    // address make four (the third is denied), from its first only three.
    let again = |n| -> Vec<_> {
        (0..3)
            .map(|i| from_ip("flooder", T0 + 70_000 + i, n, "FAILURE"))
            .collect()
    };
    assert_eq!(denies(&engine, &again(19_999)), 1);
    assert_eq!(denies(&engine, &again(0)), 0);
}

/// Many agents together reach the global key cap: the least recently seen
/// keys make room (never the new key refused), so a new attack is counted.
#[test]
fn item11_the_key_cap_evicts_the_least_recently_seen_keys() {
    let engine = build(
        builder(BY_IP)
            .clock(Arc::new(ManualClock::new(T0 + 3_600_000)))
            .max_keys(1_000)
            .max_keys_per_agent(100),
    );
    for n in 0..5_000u32 {
        let agent = format!("agent-{}", n / 100);
        engine.evaluate(&from_ip(&agent, T0 + i64::from(n), n, "FAILURE"));
    }
    let stats = engine.stats();
    assert!(stats.tracked_keys <= 1_000, "{}", stats.tracked_keys);
    assert!(stats.tracked_keys >= 875, "{}", stats.tracked_keys);
    assert_eq!(stats.untracked_keys, 0);
    assert_eq!(stats.quota_evicted_keys, 0);
    assert_eq!(stats.evicted_keys, 5_000 - stats.tracked_keys);
    assert_eq!(victim_denies(&engine, T0 + 10_000), 2);
    // The newest addresses survived, the oldest did not.
    let newest: Vec<_> = (0..3)
        .map(|i| from_ip("agent-49", T0 + 20_000 + i, 4_999, "FAILURE"))
        .collect();
    assert_eq!(denies(&engine, &newest), 1, "1 + 3 failures > 3");
    let oldest: Vec<_> = (0..3)
        .map(|i| from_ip("agent-0", T0 + 20_000 + i, 0, "FAILURE"))
        .collect();
    assert_eq!(
        denies(&engine, &oldest),
        0,
        "evicted: counting again from 1"
    );
}

/// `n` rules, each with a counter of its own width (`count over 1m`,
/// `count over 2m`, ...): `n` counters an agent.
fn many_counters(n: usize) -> String {
    (1..=n)
        .map(|i| {
            format!(
                "Rule R{i} — Counter {i}\nTrigger: count over {i}m > 1000000\nAction: flag_for_review\nSeverity: LOW\n\n"
            )
        })
        .collect()
}

/// A large rule set makes every agent cost ~150 KB; with a budget of 2 MB,
/// a flood of 300 agents keeps the state within it (checked after every
/// event) by evicting the least recently seen agents, and says so in
/// `Stats`. Without a budget the store held every agent: 300 x 150 KB.
#[test]
fn item9_the_state_stays_within_its_byte_budget() {
    const BUDGET: u64 = 2 << 20;
    let rules = many_counters(1_000);
    let engine = build(
        builder(&rules)
            .clock(Arc::new(ManualClock::new(T0 + 3_600_000)))
            .max_state_bytes(BUDGET as usize),
    );
    let per_agent = engine.store().new_agent_memory_bytes(9) as u64;
    assert!(per_agent > 150_000, "{per_agent}");
    let mut peak = 0;
    for i in 0..300 {
        let agent = format!("agent-{i:03}");
        engine.evaluate(&request(&agent, T0 + i));
        let stats = engine.stats();
        peak = peak.max(stats.state_bytes);
        assert!(
            stats.state_bytes <= BUDGET,
            "{} after agent {i}",
            stats.state_bytes
        );
        assert!(engine.store().contains(&agent), "the newest agent stays");
    }
    let stats = engine.stats();
    assert!(peak > BUDGET * 3 / 4, "the budget was used: {peak}");
    assert_eq!(stats.evicted_agents + stats.tracked_agents, 300);
    assert!(stats.tracked_agents <= BUDGET / per_agent);
    // Least recently seen first: the oldest agents went, the newest stayed.
    assert!(!engine.store().contains("agent-000"));
    assert!(engine.store().contains("agent-299"));
    // The figure is the sum of what the agents hold.
    let held: usize = (0..300)
        .filter_map(|i| engine.store().agent_memory_bytes(&format!("agent-{i:03}")))
        .sum();
    assert_eq!(held as u64, stats.state_bytes);
}

/// Agents and keys share the budget; the one seen least recently goes
/// first, whichever kind it is.
#[test]
fn item9_agents_and_keys_share_the_budget_least_recently_seen_first() {
    let engine = build(
        builder(BY_IP)
            .clock(Arc::new(ManualClock::new(T0 + 3_600_000)))
            .max_state_bytes(200_000),
    );
    // An old agent with an old key, then a flood of new agents and keys.
    engine.evaluate(&from_ip("old", T0, 1_000_000, "FAILURE"));
    for n in 0..3_000u32 {
        engine.evaluate(&from_ip(
            &format!("agent-{n}"),
            T0 + 1 + i64::from(n),
            n,
            "FAILURE",
        ));
        assert!(engine.stats().state_bytes <= 200_000);
    }
    let stats = engine.stats();
    assert!(
        stats.evicted_agents > 0 && stats.evicted_keys > 0,
        "{stats:?}"
    );
    assert!(!engine.store().contains("old"));
    assert!(engine.store().contains("agent-2999"));
    // The newest key is still counted: three more failures make four.
    let again: Vec<_> = (0..3)
        .map(|i| from_ip("agent-2999", T0 + 5_000 + i, 2_999, "FAILURE"))
        .collect();
    assert_eq!(denies(&engine, &again), 1);
}

/// The key and memory bounds are set from the command line, and what they
/// cost shows in the summary: 50 failures from distinct addresses by one
/// agent with a quota of 10 keep 10 keys and evict 40.
#[test]
fn item11_replay_sets_the_key_bounds_and_shows_the_losses() {
    let rules = temp("item11.rules", BY_IP);
    let lines: Vec<String> = (0..50)
        .map(|n| {
            native(
                "flooder",
                &format!("2026-11-22T00:00:{:02}Z", n),
                "FAILURE",
                &format!("10.0.0.{n}"),
            )
        })
        .collect();
    let events = temp("item11.jsonl", &(lines.join("\n") + "\n"));
    let (_, err) = replay(
        &rules,
        &events,
        &[
            "--max-keys-per-agent",
            "10",
            "--max-keys",
            "1000",
            "--max-state-bytes",
            "64M",
        ],
    );
    assert!(
        err.contains(
            "keys tracked: 10  untracked key updates: 0  evicted: 40 (over an agent's quota: 40)"
        ),
        "{err}"
    );
    let (_, err) = replay(&rules, &events, &[]);
    assert!(
        err.contains("keys tracked: 50  untracked key updates: 0  evicted: 0"),
        "{err}"
    );
    for (flag, value, message) in [
        ("--max-state-bytes", "lots", "invalid size `lots`"),
        ("--max-keys-per-agent", "many", "invalid value 'many'"),
    ] {
        let bad = bin()
            .arg("replay")
            .arg(&rules)
            .arg(&events)
            .args([flag, value])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!bad.status.success());
        assert!(
            String::from_utf8_lossy(&bad.stderr).contains(message),
            "{bad:?}"
        );
    }
}

/// A budget from the command line bounds the state the summary shows.
#[test]
fn item9_replay_takes_a_state_budget() {
    let rules = temp("item9.rules", &many_counters(200));
    let lines: Vec<String> = (0..40)
        .map(|n| {
            native(
                &format!("agent-{n}"),
                "2026-11-22T00:00:00Z",
                "SUCCESS",
                "10.0.0.1",
            )
        })
        .collect();
    let events = temp("item9.jsonl", &(lines.join("\n") + "\n"));
    let state_mib = |err: &str| -> f64 {
        let at = err.find("state: ").unwrap_or_else(|| panic!("{err}")) + "state: ".len();
        let rest = err.get(at..).unwrap_or_default();
        let end = rest.find(' ').unwrap_or(rest.len());
        rest.get(..end)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{err}"))
    };
    let (_, err) = replay(&rules, &events, &["--max-state-bytes", "256K"]);
    assert!(state_mib(&err) <= 0.25, "{err}");
    assert!(!err.contains("agents tracked: 40 "), "{err}");
    let (_, err) = replay(&rules, &events, &[]);
    assert!(
        err.contains("agents tracked: 40  untracked evaluations: 0  evicted: 0"),
        "{err}"
    );
    assert!(state_mib(&err) > 1.0, "{err}");
}
