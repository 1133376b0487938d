//! The whole engine against a naive reference model.
//!
//! The model keeps, per agent, a plain `Vec` of the events it has seen
//! (timestamp, outcome, address) and recomputes every metric from scratch for
//! each event, following SPEC §2.7 and §7.12–§7.16 literally: epoch-aligned
//! buckets of `W / 60`, a window of the 60 buckets ending at the agent's newest
//! event, `baseline` over the complete minutes `max(f, m - 60) ..= m - 1`
//! (absent while `m - f < 10`), late events counted only while their bucket
//! or minute is still kept, `count ... by ip` keyed by the address alone.
//!
//! A property test writes a rule file with random thresholds, drives the
//! engine and the model with the same random event streams (several agents,
//! bursts in one second, idle gaps of hours, late and out-of-order events,
//! midnight crossings, absent addresses) and compares, on every event, the
//! fired rules, the decision, and the metric values themselves: shadow
//! "probe" rules whose triggers are always true once their metric is known
//! make the engine print each value in its explanation.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;
use riskgate::{ActorKind, Categories, Decision, Engine, Event, RuleSet};

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// 2026-11-21T23:00:00Z: the streams cross midnight UTC within the hour.
const BASE: i64 = 1_795_734_000_000;

/// The random parts of the rule file.
#[derive(Clone, Debug)]
struct Thresholds {
    rate: u32,
    /// `baseline * k` with `k = num / den`.
    factor: (u32, u32),
    failures_minutes: u32,
    failures: u32,
    night: (u32, u32),
    hourly: u32,
    addresses: u32,
    per_address: u32,
    first_seen_minutes: u32,
}

fn rules_text(t: &Thresholds) -> String {
    let (num, den) = t.factor;
    let factor = if den == 1 {
        format!("{num}")
    } else {
        format!("{num} / {den}")
    };
    format!(
        r#"Rule R — rate
Trigger: service_app authentication AND requests_per_minute > {rate}
Action: flag_for_review
Severity: LOW

Rule B — burst over the baseline
Trigger: requests_per_minute > baseline * ({factor})
Action: suspend_token
Severity: MEDIUM

Rule F — failures
Trigger: count(outcome == "FAILURE") over {fm}m > {failures}
Action: deny
Severity: HIGH

Rule N — night traffic
Trigger: authentication outside {n0:02}:00-{n1:02}:00 UTC AND count over 1h > {hourly}
Action: flag_for_review
Severity: MEDIUM

Rule D — many addresses
Trigger: distinct(ip) over 10m > {addresses}
Action: suspend_token
Severity: HIGH

Rule K — one address, many requests
Trigger: count over 5m by ip >= {per_address}
Action: deny
Severity: CRITICAL

Rule S — new address
Trigger: token request AND first_seen(ip, {fs}m)
Action: flag_for_review
Severity: LOW

Rule P1 — probe
Trigger: requests_per_minute >= 0
Mode: shadow
Action: flag_for_review
Severity: LOW

Rule P2 — probe
Trigger: requests_per_minute >= baseline * 0
Mode: shadow
Action: flag_for_review
Severity: LOW

Rule P3 — probe
Trigger: count(outcome == "FAILURE") over {fm}m >= 0
Mode: shadow
Action: flag_for_review
Severity: LOW

Rule P4 — probe
Trigger: count over 1h >= 0
Mode: shadow
Action: flag_for_review
Severity: LOW

Rule P5 — probe
Trigger: distinct(ip) over 10m >= 0
Mode: shadow
Action: flag_for_review
Severity: LOW

Rule P6 — probe
Trigger: count over 5m by ip >= 0
Mode: shadow
Action: flag_for_review
Severity: LOW
"#,
        rate = t.rate,
        fm = t.failures_minutes,
        failures = t.failures,
        n0 = t.night.0,
        n1 = t.night.1,
        hourly = t.hourly,
        addresses = t.addresses,
        per_address = t.per_address,
        fs = t.first_seen_minutes,
    )
}

/// One event of a stream.
#[derive(Clone, Debug)]
struct Ev {
    agent: u8,
    t: i64,
    ip: Option<u8>,
    failure: bool,
    auth: bool,
    token: bool,
}

/// What the engine or the model says about one event.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    rules: BTreeSet<String>,
    decision: Decision,
    /// Probe id → the metric value it printed (`None`: the probe did not fire).
    values: Vec<(&'static str, Option<String>)>,
}

const PROBES: [&str; 6] = ["P1", "P2", "P3", "P4", "P5", "P6"];

// ---------------------------------------------------------------------------
// The model

#[derive(Default)]
struct Agent {
    newest: Option<i64>,
    /// (time, failure, address, counted in the per-minute history)
    events: Vec<(i64, bool, Option<u8>, bool)>,
}

#[derive(Default)]
struct Model {
    agents: HashMap<u8, Agent>,
    /// Per address: its newest time and the times of its events.
    by_ip: HashMap<u8, (i64, Vec<i64>)>,
}

/// Events of `times` whose `W/60` bucket is one of the 60 ending at `newest`'s.
fn window_count(width: i64, newest: i64, times: impl Iterator<Item = i64>) -> u64 {
    let b = |t: i64| t.div_euclid(width / 60);
    let nb = b(newest);
    times.filter(|&t| b(t) <= nb && b(t) > nb - 60).count() as u64
}

fn decimal(sum: u64, windows: u64) -> String {
    let x = sum as f64 / windows as f64;
    if sum.is_multiple_of(windows) {
        return format!("{}", sum / windows);
    }
    let s = format!("{x}");
    if s.len() <= 8 {
        s
    } else {
        format!("{x:.4}")
    }
}

fn within(t: i64, (from, to): (u32, u32)) -> bool {
    let tod = t.rem_euclid(DAY);
    let (a, b) = (i64::from(from) * HOUR, i64::from(to) * HOUR);
    if a < b {
        a <= tod && tod < b
    } else {
        tod >= a || tod < b
    }
}

impl Model {
    fn observe(&mut self, th: &Thresholds, ev: &Ev) -> Seen {
        let agent = self.agents.entry(ev.agent).or_default();
        // First seen: against this agent's earlier events still retained.
        let newest = agent.newest.map_or(ev.t, |n| n.max(ev.t));
        let retention = i64::from(th.first_seen_minutes) * MINUTE;
        let first_seen = ev.ip.map(|ip| {
            !agent
                .events
                .iter()
                .any(|e| e.2 == Some(ip) && newest - e.0 < retention)
        });
        agent.newest = Some(newest);
        let counted = ev.t.div_euclid(MINUTE) >= newest.div_euclid(MINUTE) - 60;
        agent.events.push((ev.t, ev.failure, ev.ip, counted));
        let times = || agent.events.iter().map(|e| e.0);

        let rpm = window_count(MINUTE, newest, times());
        let hourly = window_count(HOUR, newest, times());
        let fm = i64::from(th.failures_minutes) * MINUTE;
        let failures = window_count(fm, newest, agent.events.iter().filter(|e| e.1).map(|e| e.0));
        let distinct = {
            let b = |t: i64| t.div_euclid(10 * MINUTE / 60);
            let nb = b(newest);
            let set: HashSet<u8> = agent
                .events
                .iter()
                .filter(|e| b(e.0) <= nb && b(e.0) > nb - 60)
                .filter_map(|e| e.2)
                .collect();
            set.len() as u64
        };
        let baseline = {
            let m = newest.div_euclid(MINUTE);
            let f = agent
                .events
                .iter()
                .filter(|e| e.3)
                .map(|e| e.0.div_euclid(MINUTE))
                .min();
            f.filter(|&f| m - f >= 10).map(|f| {
                let lo = f.max(m - 60);
                let sum = agent
                    .events
                    .iter()
                    .filter(|e| (lo..m).contains(&e.0.div_euclid(MINUTE)))
                    .count() as u64;
                (sum, (m - lo) as u64)
            })
        };
        let per_address = ev.ip.map(|ip| {
            let (newest, times) = self.by_ip.entry(ip).or_insert((ev.t, Vec::new()));
            *newest = (*newest).max(ev.t);
            times.push(ev.t);
            window_count(5 * MINUTE, *newest, times.iter().copied())
        });

        let mut rules = BTreeSet::new();
        let mut decision = Decision::Allow;
        let mut fire = |id: &str, d: Decision| {
            rules.insert(id.to_string());
            decision = decision.max(d);
        };
        if ev.auth && rpm > u64::from(th.rate) {
            fire("R", Decision::Flag);
        }
        let (num, den) = th.factor;
        if let Some((sum, windows)) = baseline {
            // rpm > sum / windows * num / den, exactly
            if u128::from(rpm) * u128::from(windows) * u128::from(den)
                > u128::from(sum) * u128::from(num)
            {
                fire("B", Decision::Suspend);
            }
        }
        if failures > u64::from(th.failures) {
            fire("F", Decision::Deny);
        }
        if ev.auth && !within(ev.t, th.night) && hourly > u64::from(th.hourly) {
            fire("N", Decision::Flag);
        }
        if distinct > u64::from(th.addresses) {
            fire("D", Decision::Suspend);
        }
        if per_address.is_some_and(|n| n >= u64::from(th.per_address)) {
            fire("K", Decision::Deny);
        }
        if ev.token && first_seen == Some(true) {
            fire("S", Decision::Flag);
        }
        let values = vec![
            ("P1", Some(rpm.to_string())),
            ("P2", baseline.map(|(s, w)| decimal(s, w))),
            ("P3", Some(failures.to_string())),
            ("P4", Some(hourly.to_string())),
            ("P5", Some(distinct.to_string())),
            ("P6", per_address.map(|n| n.to_string())),
        ];
        for (id, v) in &values {
            if v.is_some() {
                rules.insert((*id).to_string());
            }
        }
        Seen {
            rules,
            decision,
            values,
        }
    }
}

// ---------------------------------------------------------------------------
// The engine

fn event(ev: &Ev) -> Event<'static> {
    let mut cats = Categories::default();
    if ev.auth {
        cats.insert(Categories::AUTHENTICATION);
    }
    if ev.token {
        cats.insert(Categories::TOKEN_REQUEST);
    }
    let mut b = Event::builder(format!("agent-{}", ev.agent), ev.t)
        .actor(ActorKind::ServiceApp)
        .categories(cats)
        .outcome(if ev.failure { "FAILURE" } else { "SUCCESS" });
    if let Some(ip) = ev.ip {
        b = b.ip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, ip)));
    }
    b.build()
}

/// The metric value a probe printed: the number after the metric's name in
/// `requests_per_minute 3 >= 0`, or after `baseline` in
/// `requests_per_minute 3 >= baseline 4.2 * 0`.
fn probe_value(id: &str, lines: &[String]) -> Option<String> {
    let line = lines.iter().find(|l| l.contains(">="))?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = if id == "P2" {
        words.iter().position(|w| *w == "baseline")? + 1
    } else {
        words.iter().position(|w| *w == ">=")? - 1
    };
    words.get(at).map(|w| (*w).to_string())
}

fn run_engine(engine: &Engine, ev: &Ev) -> Seen {
    let e = event(ev);
    let v = engine.evaluate_explained(&e);
    let rules: BTreeSet<String> = v.rule_ids().map(str::to_string).collect();
    let values = PROBES
        .iter()
        .map(|&id| {
            let m = v.matches().find(|m| m.rule() == id)?;
            probe_value(id, m.explanation().unwrap_or_default())
        })
        .collect::<Vec<_>>();
    Seen {
        rules,
        decision: v.decision,
        values: PROBES.iter().copied().zip(values).collect(),
    }
}

// ---------------------------------------------------------------------------
// Streams

#[derive(Clone, Debug)]
enum Step {
    /// The same millisecond as the previous event.
    Same,
    /// A few seconds later.
    Soon(i64),
    /// A few minutes later.
    Later(i64),
    /// An idle gap of 10 minutes to 3 hours.
    Gap(i64),
    /// Late: this much before the stream's newest time.
    Late(i64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => Just(Step::Same),
        8 => (0..3 * SECOND).prop_map(Step::Soon),
        3 => (0..5 * MINUTE).prop_map(Step::Later),
        1 => (10 * MINUTE..3 * HOUR).prop_map(Step::Gap),
        2 => (0..2 * HOUR).prop_map(Step::Late),
    ]
}

fn raw() -> impl Strategy<Value = (Step, u8, Option<u8>, bool, u8)> {
    (
        step(),
        0u8..3,
        prop::option::weighted(0.9, 0u8..10),
        prop::bool::weighted(0.2),
        0u8..3,
    )
}

fn stream(raw: Vec<(Step, u8, Option<u8>, bool, u8)>) -> Vec<Ev> {
    let mut now = BASE;
    raw.into_iter()
        .map(|(step, agent, ip, failure, cats)| {
            let t = match step {
                Step::Same => now,
                Step::Soon(d) | Step::Later(d) | Step::Gap(d) => {
                    now += d;
                    now
                }
                Step::Late(d) => now - d,
            };
            Ev {
                agent,
                t,
                ip,
                failure,
                auth: cats != 1,
                token: cats != 0,
            }
        })
        .collect()
}

fn thresholds() -> impl Strategy<Value = Thresholds> {
    (
        (
            0u32..40,
            prop::sample::select(vec![(1, 1), (3, 2), (2, 1), (3, 1), (21, 5)]),
        ),
        (prop::sample::select(vec![1u32, 5, 10, 60]), 0u32..6),
        ((0u32..24, 1u32..24), 0u32..200),
        (0u32..8, 1u32..30, prop::sample::select(vec![1u32, 10, 90])),
    )
        .prop_map(
            |((rate, factor), (failures_minutes, failures), ((n0, len), hourly), (a, k, fs))| {
                Thresholds {
                    rate,
                    factor,
                    failures_minutes,
                    failures,
                    night: (n0, (n0 + len) % 24),
                    hourly,
                    addresses: a,
                    per_address: k,
                    first_seen_minutes: fs,
                }
            },
        )
}

fn check(th: &Thresholds, events: &[Ev]) -> Result<(), TestCaseError> {
    let text = rules_text(th);
    let set = RuleSet::from_source("model.rules", &text)
        .map_err(|d| TestCaseError::fail(format!("{d:?}\n{text}")))?;
    // The streams may run weeks past `BASE`, later than the system clock;
    // the model knows no forward skew, so the limit is off.
    let engine = Engine::builder(set.compile())
        .forward_skew_limit_ms(None)
        .build()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut model = Model::default();
    for (i, ev) in events.iter().enumerate() {
        let want = model.observe(th, ev);
        let got = run_engine(&engine, ev);
        prop_assert_eq!(
            &got,
            &want,
            "event {} of {}: {:?}\n{:?}",
            i,
            events.len(),
            ev,
            th
        );
    }
    let stats = engine.stats();
    prop_assert_eq!(stats.events, events.len() as u64);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn engine_agrees_with_the_naive_model(
        th in thresholds(),
        raw in prop::collection::vec(raw(), 1..300),
    ) {
        check(&th, &stream(raw))?;
    }
}

/// A long single-agent stream: warm-up, a day of steady traffic and a night
/// burst, against fixed thresholds — so the interesting paths (a warm
/// baseline, a burst above it) are certainly taken, not just likely.
#[test]
fn a_warm_day_and_a_night_burst_agree() {
    let th = Thresholds {
        rate: 30,
        factor: (3, 1),
        failures_minutes: 10,
        failures: 2,
        night: (6, 22),
        hourly: 100,
        addresses: 4,
        per_address: 50,
        first_seen_minutes: 90,
    };
    let mut events = Vec::new();
    // Two requests a minute for 20 hours, addresses rotating through 0..6.
    for i in 0..2_400i64 {
        events.push(Ev {
            agent: 0,
            t: BASE + 7 * HOUR + i * 30 * SECOND,
            ip: Some((i % 6) as u8),
            failure: i % 7 == 0,
            auth: true,
            token: i % 2 == 0,
        });
    }
    // 45 requests in one second at 03:10 the next morning, some late.
    let night = BASE + 28 * HOUR + 10 * MINUTE;
    for i in 0..45i64 {
        events.push(Ev {
            agent: 0,
            t: night + (i % 7) * 100 - if i % 9 == 0 { 40 * SECOND } else { 0 },
            ip: Some(7),
            failure: false,
            auth: true,
            token: false,
        });
    }
    let mut fired = BTreeSet::new();
    let text = rules_text(&th);
    let engine = Engine::builder(
        RuleSet::from_source("model.rules", &text)
            .unwrap_or_else(|d| panic!("{d:?}"))
            .compile(),
    )
    .forward_skew_limit_ms(None)
    .build()
    .unwrap_or_else(|e| panic!("{e}"));
    let mut model = Model::default();
    for (i, ev) in events.iter().enumerate() {
        let want = model.observe(&th, ev);
        let got = run_engine(&engine, ev);
        assert_eq!(got, want, "event {i}: {ev:?}");
        fired.extend(got.rules);
    }
    // The stream exercises the rules it is meant to.
    for id in ["R", "B", "D", "S", "F", "N", "P2"] {
        assert!(fired.contains(id), "{id} never fired: {fired:?}");
    }
}
