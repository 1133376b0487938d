//! Shared fixtures of the benchmarks: the seed rules and profile, warmed
//! engines, events, and generated rule sets.

#![allow(dead_code)]

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::Arc;

use riskgate::input::profile::Profiles;
use riskgate::run::engine::Engine;
use riskgate::{ActorKind, Categories, Event, Program, RuleSet};

use crate::reference::Reference;

/// The seed rules (SPEC §2.1).
pub const SEED: &str = include_str!("../../examples/rules/seed.rules");
/// The bundled realistic rule set.
pub const AGENTS_RULES: &str = include_str!("../../examples/rules/agents.rules");

/// 2026-11-22T00:00:00Z in ms.
pub const DAY: i64 = 1_795_305_600_000;
pub const MINUTE: i64 = 60_000;
/// 12:00:30 UTC: no time-of-day rule applies.
pub const NOON: i64 = DAY + 12 * 3_600_000 + 30_000;
/// 23:59:30 UTC: inside the seed's rule 2 window.
pub const LAST_MINUTE: i64 = DAY + 1_439 * MINUTE + 30_000;

pub const AGENT: &str = "datadog-remediation-prod";
pub const PROFILE_SCOPES: [&str; 4] = [
    "servicenow:incidents:create",
    "servicenow:incidents:update",
    "datadog:monitors:read",
    "datadog:events:create",
];

pub fn profiles() -> Profiles {
    let json = serde_json::json!({
        "agent_id": AGENT,
        "scopes": PROFILE_SCOPES,
        "excluded_scopes": ["servicenow:users:admin", "datadog:api_keys:write", "okta:users:manage"],
        "token_lifetime_minutes": 15,
    });
    Profiles::from_json_str(&json.to_string()).unwrap_or_else(|e| panic!("{e}"))
}

pub fn compile(name: &str, text: &str) -> Arc<Program> {
    RuleSet::from_source(name, text)
        .unwrap_or_else(|d| panic!("{d}"))
        .compile()
}

pub fn seed_engine(max_agents: usize) -> Engine {
    Engine::builder(compile("seed.rules", SEED))
        .profiles(&profiles())
        .max_agents(max_agents)
        .clock(end_of_time())
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A clock at the end of time. The benchmarks advance event time by a
/// second an iteration from 2026-11-22, past the real clock after about a
/// million iterations; against this one no event is past the forward-skew
/// limit, and the check stays on the measured path.
pub fn end_of_time() -> Arc<riskgate::run::engine::ManualClock> {
    Arc::new(riskgate::run::engine::ManualClock::new(i64::MAX))
}

pub fn seed_reference() -> Reference {
    let mut r = Reference::new();
    r.profile(AGENT, PROFILE_SCOPES);
    r
}

/// The three cases of the seed benchmarks.
#[derive(Clone, Copy, Debug)]
pub enum Case {
    /// A client-credentials grant from an approved network, for an approved
    /// scope, at noon: no rule fires.
    None,
    /// The same from an address outside the approved ranges: rule 1 fires.
    One,
    /// At 23:59:30, from outside, for an unapproved scope, in a burst of
    /// more than three times the baseline: all three fire.
    All,
}

impl Case {
    pub const ALL: [Case; 3] = [Case::None, Case::One, Case::All];

    pub fn name(self) -> &'static str {
        match self {
            Case::None => "none_fire",
            Case::One => "one_fires",
            Case::All => "all_three_fire",
        }
    }

    /// The event of this case (its time is fixed: repeating it keeps the
    /// case's verdict, since the burst only grows).
    pub fn event(self) -> Event<'static> {
        let (t, ip, scope) = match self {
            Case::None => (NOON, "10.1.2.3", "datadog:monitors:read"),
            Case::One => (NOON, "203.0.113.9", "datadog:monitors:read"),
            Case::All => (LAST_MINUTE, "203.0.113.9", "okta:users:manage"),
        };
        Event::builder(AGENT, t)
            .actor(ActorKind::ServiceApp)
            .categories(Categories::AUTHENTICATION | Categories::TOKEN_REQUEST)
            .ip(ip.parse().unwrap_or_else(|e| panic!("{e}")))
            .scopes([scope])
            .grant_type("client_credentials")
            .build()
    }

    /// The rules that fire.
    pub fn expected(self) -> &'static [&'static str] {
        match self {
            Case::None => &[],
            Case::One => &["1"],
            Case::All => &["1", "2", "3"],
        }
    }

    /// The warm-up events: one authentication a minute from an approved
    /// network for the 30 minutes before the case's time, then (for
    /// [`Case::All`]) a burst of 4 at its time, so the baseline is 1 and the
    /// rate already above 3.
    pub fn warm_up(self) -> Vec<Event<'static>> {
        let t = self.event().time_ms;
        let mut out: Vec<Event<'static>> = (1..=30)
            .rev()
            .map(|k| {
                Event::builder(AGENT, t - k * MINUTE)
                    .actor(ActorKind::ServiceApp)
                    .categories(Categories::AUTHENTICATION)
                    .ip("10.0.0.1".parse().unwrap_or_else(|e| panic!("{e}")))
                    .build()
            })
            .collect();
        if let Case::All = self {
            out.extend((0..4).map(|_| self.event()));
        }
        out
    }
}

/// An engine warmed for `case`, checked to give the case's verdict.
pub fn warmed_engine(case: Case) -> (Engine, Event<'static>) {
    let engine = seed_engine(1_000_000);
    for e in case.warm_up() {
        let _ = engine.evaluate(&e);
    }
    let e = case.event();
    let verdict = engine.evaluate(&e);
    let got: Vec<&str> = verdict.rule_ids().collect();
    assert_eq!(got, case.expected(), "{case:?}");
    drop(verdict);
    (engine, e)
}

/// A partition-owned engine warmed for `case`, checked to give the case's
/// verdict.
pub fn warmed_partition(case: Case) -> (riskgate::run::partition::Partition, Event<'static>) {
    let mut partition = Engine::builder(compile("seed.rules", SEED))
        .profiles(&profiles())
        .clock(end_of_time())
        .build_partition()
        .unwrap_or_else(|e| panic!("{e}"));
    for e in case.warm_up() {
        let _ = partition.evaluate(&e);
    }
    let e = case.event();
    let verdict = partition.evaluate(&e);
    let got: Vec<&str> = verdict.rule_ids().collect();
    assert_eq!(got, case.expected(), "{case:?}");
    drop(verdict);
    (partition, e)
}

/// A reference warmed for `case`, checked to give the case's verdict.
pub fn warmed_reference(case: Case) -> (Reference, Event<'static>) {
    let mut r = seed_reference();
    for e in case.warm_up() {
        let _ = r.evaluate(&e);
    }
    let e = case.event();
    assert_eq!(
        crate::reference::rule_ids(r.evaluate(&e)),
        case.expected(),
        "{case:?}"
    );
    (r, e)
}

/// A quiet authentication (no rule of the seed fires: approved network, no
/// token request) of `agent` at `t`, for the agent-scaling and thread
/// benchmarks, which swap the agent and time in place.
pub fn quiet_event(agent: &str, t: i64) -> Event<'_> {
    Event::builder(Cow::Borrowed(agent), t)
        .actor(ActorKind::ServiceApp)
        .categories(Categories::AUTHENTICATION)
        .ip("10.0.0.1".parse().unwrap_or_else(|e| panic!("{e}")))
        .build()
}

/// `n` agent ids, `agent-0000000` ...
pub fn agent_ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("agent-{i:07}")).collect()
}

/// Which generated rules the benchmark event is a candidate for.
#[derive(Clone, Copy, Debug)]
pub enum Mix {
    /// One rule in 20 names an actor kind and category the benchmark's
    /// service-app token request has; the others are `user authentication`,
    /// `admin change`, `agent api call`...: the category index skips them.
    Selective,
    /// Every rule is a candidate for the event by its phrase and none fires
    /// (one in eight is skipped by the value index: `outcome == "FAILURE"`).
    AllCandidates,
    /// No phrase; each rule tests `event.type == "type.k"`, a type the
    /// event does not have: the value index skips them all.
    EventTypes,
}

/// `n` generated rules, none of which fires for [`scaling_event`]: each has a
/// phrase (`user authentication`, `service_app token request`, ...) and one
/// of eight condition shapes (CIDR list, string equality, number
/// comparison, regex, two equalities, scope list, rate, ASN).
pub fn generated_rules(n: usize, mix: Mix) -> String {
    const OTHER: [&str; 5] = [
        "user authentication",
        "admin change",
        "user token request",
        "agent api call",
        "service_app admin change",
    ];
    const CANDIDATE: [&str; 4] = [
        "service_app token request",
        "agent authentication",
        "token request",
        "service_app authentication",
    ];
    let mut out = String::from("# generated by benches/support/common.rs\n");
    if let Mix::EventTypes = mix {
        for k in 0..n {
            let _ = write!(
                out,
                "\nRule E{k} — event type {k}\nTrigger: event.type == \"type.{k}\" and outcome == \"FAILURE\"\nAction: flag_for_review\nSeverity: LOW\n"
            );
        }
        return out;
    }
    for k in 0..n {
        let candidate = match mix {
            Mix::Selective => k % 20 == 0,
            Mix::AllCandidates | Mix::EventTypes => true,
        };
        let phrase = if candidate {
            CANDIDATE[k % CANDIDATE.len()]
        } else {
            OTHER[k % OTHER.len()]
        };
        let cond = match k % 8 {
            0 => format!(
                "{phrase} from IP in [198.18.{}.0/24, 198.19.{}.0/24]",
                k % 256,
                (k / 256) % 256
            ),
            1 => format!("{phrase} and country == \"Country-{k}\""),
            2 => format!("{phrase} and token.lifetime_minutes > {}", 1000 + k),
            3 => format!("{phrase} and user_agent matches \"^scanner-{k}/\""),
            4 => format!("{phrase} and outcome == \"FAILURE\" and grant_type == \"password-{k}\""),
            5 => format!("{phrase} includes scope in [\"admin:{k}\", \"root:{k}\"]"),
            6 => format!("{phrase} and requests_per_minute > {}", 5000 + k),
            _ => format!("{phrase} and asn == {}", 100_000 + k),
        };
        let _ = write!(
            out,
            "\nRule G{k} — generated rule {k}\nTrigger: {cond}\nAction: flag_for_review\nSeverity: LOW\n"
        );
    }
    out
}

/// The event of the rule-scaling benchmarks: a service app's
/// client-credentials grant with every field the generated rules read.
pub fn scaling_event(t: i64) -> Event<'static> {
    Event::builder(AGENT, t)
        .actor(ActorKind::ServiceApp)
        .categories(Categories::AUTHENTICATION | Categories::TOKEN_REQUEST)
        .event_type("app.oauth2.as.token.grant")
        .ip("10.1.2.3".parse().unwrap_or_else(|e| panic!("{e}")))
        .scopes(["datadog:monitors:read"])
        .country("United States")
        .asn(16509)
        .user_agent("okta-sdk-python/2.9")
        .outcome("SUCCESS")
        .grant_type("client_credentials")
        .token_lifetime_minutes(15.0)
        .build()
}

/// Resident set size of this process in bytes (Linux), for memory figures.
pub fn rss_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
