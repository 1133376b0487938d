//! A pool of rules with every kind of state (counters, baselines of two
//! lengths, keyed counters, distinct, first-seen, a cooldown, `since`,
//! `first`, `previous`, `sequence`, keyed `distinct` and `first_seen`,
//! z-scores, `tracked_for`, none), and
//! random event streams with late events: shared by the reload and
//! snapshot tests.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use proptest::prelude::*;
use riskgate::run::engine::ManualClock;
use riskgate::{ActorKind, Categories, Engine, Event, RuleSet};

pub const SECOND: i64 = 1_000;
pub const MINUTE: i64 = 60 * SECOND;
pub const HOUR: i64 = 60 * MINUTE;
/// 2026-11-21T23:00:00Z.
pub const BASE: i64 = 1_795_734_000_000;

/// A rule of the pool: its id, the state it reads, and its text (`{t}` is
/// the run's threshold).
pub struct PoolRule {
    pub id: &'static str,
    /// What must exist in the old program for the rule's state to carry
    /// over exactly: ids of rules of which at least one must be in it
    /// (any of them has the metric, with at least the history it needs).
    pub needs_any_of: &'static [&'static str],
    /// The rule has a cooldown: its own id must be in the old program too.
    pub cooldown: bool,
    /// The rule reads a baseline of `requests_per_minute`: the counter's
    /// history must be as long in both programs (baselines of one counter
    /// share one history, as long as the longest baseline read, and a late
    /// event enters a longer history where a shorter one drops it).
    pub baseline: bool,
    pub text: &'static str,
}

pub const POOL: &[PoolRule] = &[
    PoolRule {
        id: "R1",
        needs_any_of: &["R1", "R2", "R3", "R9"],
        cooldown: false,
        baseline: false,
        text: "Trigger: service_app authentication AND requests_per_minute > {t}\nAction: flag_for_review\nSeverity: LOW",
    },
    PoolRule {
        id: "R2",
        needs_any_of: &["R2", "R3"],
        cooldown: false,
        baseline: true,
        text: "Trigger: requests_per_minute > baseline * 2\nAction: suspend_token\nSeverity: MEDIUM",
    },
    PoolRule {
        id: "R3",
        needs_any_of: &["R3"],
        cooldown: false,
        baseline: true,
        text: "Trigger: requests_per_minute > baseline(requests_per_minute, 2h) * 3\nAction: suspend_token\nSeverity: HIGH",
    },
    PoolRule {
        id: "R4",
        needs_any_of: &["R4"],
        cooldown: false,
        baseline: false,
        text: "Trigger: count(outcome == \"FAILURE\") over 5m > {t}\nAction: deny\nSeverity: HIGH",
    },
    PoolRule {
        id: "R5",
        needs_any_of: &["R5"],
        cooldown: false,
        baseline: false,
        text: "Trigger: count over 1h > {t} * 4\nAction: flag_for_review\nSeverity: MEDIUM",
    },
    PoolRule {
        id: "R6",
        needs_any_of: &["R6"],
        cooldown: false,
        baseline: false,
        text: "Trigger: count over 5m by ip >= {t}\nAction: deny\nSeverity: CRITICAL",
    },
    PoolRule {
        id: "R7",
        needs_any_of: &["R7"],
        cooldown: false,
        baseline: false,
        text: "Trigger: distinct(ip) over 10m > {t}\nAction: suspend_token\nSeverity: HIGH",
    },
    PoolRule {
        id: "R8",
        needs_any_of: &["R8"],
        cooldown: false,
        baseline: false,
        text: "Trigger: token request AND first_seen(ip, 30m)\nAction: flag_for_review\nSeverity: LOW",
    },
    PoolRule {
        id: "R9",
        needs_any_of: &["R1", "R2", "R3", "R9"],
        cooldown: true,
        baseline: false,
        text: "Trigger: requests_per_minute > {t}\nAction: flag_for_review + alert security team\nSeverity: LOW\nCooldown: 10m",
    },
    PoolRule {
        id: "R11",
        needs_any_of: &["R11"],
        cooldown: false,
        baseline: false,
        text: "Trigger: since(outcome == \"FAILURE\", 1h) by ip < 2m\nAction: flag_for_review\nSeverity: LOW",
    },
    PoolRule {
        id: "R12",
        needs_any_of: &["R12"],
        cooldown: false,
        baseline: false,
        text: "Trigger: ip != first(ip where outcome == \"SUCCESS\", 30m)\nAction: flag_for_review\nSeverity: LOW",
    },
    PoolRule {
        id: "R13",
        needs_any_of: &["R13"],
        cooldown: false,
        baseline: false,
        text: "Trigger: previous(ip) by outcome != ip\nAction: flag_for_review\nSeverity: LOW",
    },
    PoolRule {
        id: "R14",
        needs_any_of: &["R14"],
        cooldown: false,
        baseline: false,
        text: "Trigger: sequence(outcome == \"FAILURE\", outcome == \"FAILURE\", outcome == \"SUCCESS\") within 10m by ip\nAction: deny\nSeverity: HIGH",
    },
    PoolRule {
        id: "R15",
        needs_any_of: &["R15"],
        cooldown: false,
        baseline: false,
        text: "Trigger: distinct(ip where token request) over 10m by (outcome, agent.id) > {t}\nAction: suspend_token\nSeverity: HIGH",
    },
    PoolRule {
        id: "R16",
        needs_any_of: &["R16"],
        cooldown: false,
        baseline: false,
        text: "Trigger: first_seen(ip where outcome == \"SUCCESS\", 30m) by outcome\nAction: flag_for_review\nSeverity: LOW",
    },
    PoolRule {
        id: "R17",
        needs_any_of: &["R17"],
        cooldown: false,
        baseline: false,
        text: "Trigger: zscore(count(outcome == \"SUCCESS\") over 2m, 1h) > 1 OR stddev(count(outcome == \"SUCCESS\") over 2m, 1h, active) > 2.5 OR zscore(distinct(ip) over 2m, 1h) > 1\nAction: suspend_token\nSeverity: MEDIUM",
    },
    PoolRule {
        id: "R18",
        needs_any_of: &["R18"],
        cooldown: false,
        baseline: false,
        text: "Trigger: tracked_for >= 30m AND outcome == \"FAILURE\"\nAction: flag_for_review\nSeverity: LOW",
    },
    PoolRule {
        id: "R10",
        needs_any_of: &[],
        cooldown: false,
        baseline: false,
        text: "Trigger: token request AND outcome == \"FAILURE\"\nAction: flag_for_review\nSeverity: LOW",
    },
];

pub fn rules_text(ids: &BTreeSet<usize>, t: u32) -> String {
    let mut out = String::new();
    for &i in ids {
        let r = &POOL[i];
        out.push_str(&format!(
            "Rule {} — pool rule\n{}\n\n",
            r.id,
            r.text.replace("{t}", &t.to_string())
        ));
    }
    out
}

pub fn program(ids: &BTreeSet<usize>, t: u32) -> Arc<riskgate::Program> {
    RuleSet::from_source("pool.rules", &rules_text(ids, t))
        .unwrap_or_else(|d| panic!("{d}\n{}", rules_text(ids, t)))
        .compile()
}

pub fn engine(p: Arc<riskgate::Program>) -> Engine {
    Engine::builder(p)
        .clock(Arc::new(ManualClock::new(BASE + 100 * HOUR)))
        .build()
        .expect("valid layout")
}

#[derive(Clone, Debug)]
pub struct Ev {
    pub agent: u8,
    pub t: i64,
    pub ip: Option<u8>,
    pub failure: bool,
    pub token: bool,
}

pub fn event(ev: &Ev) -> Event<'static> {
    let mut cats = Categories::AUTHENTICATION;
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

pub fn stream() -> impl Strategy<Value = Vec<Ev>> {
    let step = prop_oneof![
        4 => 0..3 * SECOND,
        3 => 0..5 * MINUTE,
        1 => 10 * MINUTE..2 * HOUR,
        2 => -2 * HOUR..0, // late
    ];
    prop::collection::vec(
        (
            step,
            0u8..3,
            prop::option::weighted(0.9, 0u8..8),
            prop::bool::weighted(0.3),
            any::<bool>(),
        ),
        1..300,
    )
    .prop_map(|raw| {
        let mut now = BASE;
        raw.into_iter()
            .map(|(d, agent, ip, failure, token)| {
                let t = if d < 0 {
                    now + d
                } else {
                    now += d;
                    now
                };
                Ev {
                    agent,
                    t,
                    ip,
                    failure,
                    token,
                }
            })
            .collect()
    })
}

pub fn rule_set() -> impl Strategy<Value = BTreeSet<usize>> {
    prop::collection::btree_set(0..POOL.len(), 1..POOL.len())
}
