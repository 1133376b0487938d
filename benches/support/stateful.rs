//! One small rule set per stateful (and stateless) construct of the
//! language, the traffic that warms an agent for it, and the warmed engine:
//! shared by `benches/engine.rs` (group `stateful`), `benches/footprint.rs`
//! (bytes per agent and per key) and `tests/alloc.rs` (no allocation when no
//! rule fires).
//!
//! Every set is one rule that reads one construct and does not fire on the
//! traffic below, so a benchmark measures the construct's update and read on
//! the quiet path. The traffic is one agent's events, all alike but for
//! their time (`ip` 10.0.0.1, `user_agent` `okta-sync/2.4`, outcome
//! `SUCCESS`, event type `t.a`, an `attr` object with a JSON string and a
//! display name), at a pace that varies by hour and by day so that the
//! hourly and daily totals vary (`stddev` > 0) and the current window stays
//! within one standard deviation of the mean (`zscore` ≤ 1.6):
//!
//! | | even hour | odd hour |
//! |---|---|---|
//! | even day | every 10 min (6/h) | every 5 min (12/h) |
//! | odd day | every 5 min (12/h) | every 2.5 min (24/h) |
//!
//! i.e. 216 events on an even day, 432 on an odd one. An agent is warmed
//! with [`WARM_DAYS`] days of it (91: a 90-day history full), about 29,500
//! events, ending at [`START`]; a benchmark then goes on with the same
//! traffic, so windows and histories advance as they would live.

#![allow(dead_code)]

use std::sync::Arc;

use riskgate::run::engine::{Engine, ManualClock};
use riskgate::{ActorKind, Categories, Event, RuleSet};

pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY_MS: i64 = 24 * HOUR;
/// 2026-11-22T00:00:00Z: where warming ends and a benchmark starts.
pub const START: i64 = 1_795_305_600_000;
/// Days of traffic an agent is warmed with.
pub const WARM_DAYS: i64 = 91;
pub const AGENT: &str = "datadog-remediation-prod";

/// `(name, rule set)`: `count` (the reference) first, then a rule that
/// reads no metric (the floor: the event's lookup, lock and verdict), then
/// each construct.
pub const SETS: &[(&str, &str)] = &[
    (
        "count",
        "Rule C — count\nTrigger: count(outcome == \"SUCCESS\") over 10m > 1000\nAction: flag\nSeverity: LOW\n",
    ),
    (
        "no_metric",
        "Rule I — no metric\nTrigger: ip == 192.0.2.1\nAction: flag\nSeverity: LOW\n",
    ),
    (
        "count_by_pair",
        "Rule C — count by a pair\nTrigger: count(outcome == \"SUCCESS\") over 10m by (ip, user_agent) > 1000\nAction: flag\nSeverity: LOW\n",
    ),
    (
        "count_where",
        "Rule C — count with a scope\nTrigger: count(event.type == \"t.a\" where outcome == \"SUCCESS\") over 10m > 1000\nAction: flag\nSeverity: LOW\n",
    ),
    (
        "distinct_by",
        "Rule D — distinct by\nTrigger: distinct(ip where outcome == \"SUCCESS\") over 1h by (user_agent, event.type) > 5\nAction: flag\nSeverity: LOW\n",
    ),
    (
        "first_seen_by",
        "Rule F — first seen by\nTrigger: first_seen(ip where outcome == \"SUCCESS\") by user_agent\nAction: flag\nSeverity: LOW\n",
    ),
    (
        "since",
        "Rule S — since\nTrigger: since(outcome == \"SUCCESS\") < 1m\nAction: flag\nSeverity: LOW\n",
    ),
    (
        "since_by",
        "Rule S — since by\nTrigger: since(outcome == \"SUCCESS\") by user_agent < 1m\nAction: flag\nSeverity: LOW\n",
    ),
    (
        "first_by",
        "Rule F — first by\nTrigger: ip != first(ip) by user_agent\nAction: flag\nSeverity: LOW\n",
    ),
    (
        "first_str",
        "Rule F — first string\nTrigger: user_agent != first(user_agent)\nAction: flag\nSeverity: LOW\n",
    ),
    (
        "previous",
        "Rule P — previous\nTrigger: ip != previous(ip)\nAction: flag\nSeverity: LOW\n",
    ),
    (
        "previous_str_by",
        "Rule P — previous string by\nTrigger: user_agent != previous(user_agent) by ip\nAction: flag\nSeverity: LOW\n",
    ),
    (
        "sequence_by",
        "Rule Q — sequence\nTrigger: sequence(event.type == \"t.a\", event.type == \"t.b\", event.type == \"t.c\") within 30m by user_agent\nAction: flag\nSeverity: LOW\n",
    ),
    (
        "tracked_for",
        "Rule T — tracked for\nTrigger: tracked_for < 1d\nAction: flag\nSeverity: LOW\n",
    ),
    (
        "zscore_1d_90d",
        "Rule Z — zscore\nTrigger: zscore(count over 1d, 90d) > 3\nAction: flag\nSeverity: LOW\n",
    ),
    (
        "zscore_1h_90d_active",
        "Rule Z — zscore active\nTrigger: zscore(count over 1h, 90d, active) > 3\nAction: flag\nSeverity: LOW\n",
    ),
    (
        "stddev_1h_30d",
        "Rule D — stddev\nTrigger: stddev(count over 1h, 30d) > 1000\nAction: flag\nSeverity: LOW\n",
    ),
    (
        "baseline_active",
        "Rule B — baseline active\nTrigger: count over 1h > baseline(count over 1h, 90d, active) * 5\nAction: flag\nSeverity: LOW\n",
    ),
    (
        "named_twice",
        "metric successes = count(outcome == \"SUCCESS\") over 10m by ip\n\nRule N — named metric read twice\nTrigger: successes > 1000 OR successes * 2 > 5000\nAction: flag\nSeverity: LOW\n",
    ),
    (
        "hour_of_week",
        "Rule H — hour of week\nTrigger: hour_of_week(\"Europe/Berlin\") == 200\nAction: flag\nSeverity: LOW\n",
    ),
    (
        "json_path",
        "Rule J — decoded JSON\nTrigger: json(attr.data).level == \"HIGH\"\nAction: flag\nSeverity: LOW\n",
    ),
    (
        "similarity",
        "Rule M — similarity\nTrigger: similarity(attr.actor.displayName, \"Completely Different\") > 0.99\nAction: flag\nSeverity: LOW\n",
    ),
];

/// The sets whose construct keeps no state.
pub const STATELESS: [&str; 4] = ["no_metric", "hour_of_week", "json_path", "similarity"];

/// A rule set that uses one of each stateful construct (the stateless ones
/// keep nothing), as one rule each.
pub fn all_constructs() -> String {
    let (mut metrics, mut rules) = (String::new(), String::new());
    for (name, text) in SETS {
        if STATELESS.contains(name) {
            continue;
        }
        for line in text.lines() {
            if line.starts_with("metric ") {
                metrics += line;
                metrics.push('\n');
            } else if let Some((_, title)) =
                line.strip_prefix("Rule ").and_then(|l| l.split_once(" — "))
            {
                // Rule ids must be unique in a set: the set's name is.
                rules += &format!("Rule {name} — {title}\n");
            } else if !line.is_empty() {
                rules += line;
                rules.push('\n');
            }
        }
        rules.push('\n');
    }
    format!("{metrics}\n{rules}")
}

/// The traffic's gap after an event at `t` (see the module's table).
pub fn step(t: i64) -> i64 {
    let odd_day = t.div_euclid(DAY_MS) % 2 == 1;
    let odd_hour = t.div_euclid(HOUR) % 2 == 1;
    (10 * MINUTE) >> (u8::from(odd_day) + u8::from(odd_hour))
}

/// The event of the traffic at `t`.
pub fn event(t: i64) -> Event<'static> {
    Event::builder(AGENT, t)
        .actor(ActorKind::ServiceApp)
        .categories(Categories::AUTHENTICATION)
        .event_type("t.a")
        .outcome("SUCCESS")
        .user_agent("okta-sync/2.4")
        .ip("10.0.0.1".parse().unwrap_or_else(|e| panic!("{e}")))
        .attrs(serde_json::json!({
            "data": "{\"level\": \"LOW\", \"behaviors\": {\"New Device\": \"NEGATIVE\"}}",
            "actor": {"displayName": "Datadog Remediation"},
        }))
        .build()
}

/// An engine for `rules` with a clock at the end of time (no event is past
/// the forward-skew limit however far a benchmark runs).
pub fn engine(rules: &str) -> Engine {
    let program = RuleSet::from_source("stateful.rules", rules)
        .unwrap_or_else(|d| panic!("{d}"))
        .compile();
    Engine::builder(program)
        .clock(Arc::new(ManualClock::new(i64::MAX)))
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// An engine for `rules` whose agent has seen [`WARM_DAYS`] days of the
/// traffic, and the time of the next event. Panics if a rule fired.
pub fn warmed(rules: &str) -> (Engine, i64) {
    warmed_for(rules, WARM_DAYS)
}

/// [`warmed`] with `days` days of traffic.
pub fn warmed_for(rules: &str, days: i64) -> (Engine, i64) {
    let engine = engine(rules);
    let mut t = START - days * DAY_MS;
    let mut e = event(t);
    while t < START {
        e.time_ms = t;
        // All but the last day through `evaluate_explained` (the same
        // update and reads): `benches/instructions.py` counts the
        // instructions of `Engine::evaluate` only, so the agent's creation
        // and first days stay out of its average.
        let v = if t < START - DAY_MS {
            engine.evaluate_explained(&e)
        } else {
            engine.evaluate(&e)
        };
        // The first day's events may fire (`tracked_for < 1d`, a first
        // `first_seen`), not the last day's.
        assert!(
            t < START - DAY_MS || v.matches().next().is_none(),
            "a rule fired while warming at {t}: {:?}",
            v.rule_ids().collect::<Vec<_>>()
        );
        t += step(t);
    }
    (engine, t)
}
