//! The hand-written reference of the seed rules (`benches/support/reference.rs`,
//! the benchmarks' physical-limit baseline) and the engine fire the same rules
//! on every event of long random streams: several agents with and without
//! profiles, bursts, gaps, days crossing 23:59 and midnight, IPv4 and IPv6
//! addresses in and out of the approved ranges, scopes in and out of the
//! profiles.

#[path = "../benches/support/reference.rs"]
mod reference;

use std::net::IpAddr;

use reference::Reference;
use riskgate::input::profile::Profiles;
use riskgate::run::engine::Engine;
use riskgate::{ActorKind, Categories, Event, RuleSet};

/// 2026-11-22T00:00:00Z in ms.
const DAY: i64 = 1_795_305_600_000;
const MINUTE: i64 = 60_000;

/// splitmix64: small, deterministic, good enough to shuffle test cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo) as u64) as i64
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

struct Agent {
    id: &'static str,
    actor: ActorKind,
    /// Profile scopes: `Some(list)` has a profile (maybe without a `scopes`
    /// field, which reads as the empty list), `None` has none.
    scopes: Option<&'static [&'static str]>,
    /// Has a profile without a `scopes` field.
    scopeless_profile: bool,
}

const AGENTS: &[Agent] = &[
    Agent {
        id: "datadog-remediation-prod",
        actor: ActorKind::ServiceApp,
        scopes: Some(&[
            "servicenow:incidents:create",
            "servicenow:incidents:update",
            "datadog:monitors:read",
            "datadog:events:create",
        ]),
        scopeless_profile: false,
    },
    Agent {
        id: "svc-read-write",
        actor: ActorKind::ServiceApp,
        scopes: Some(&["read", "write"]),
        scopeless_profile: false,
    },
    Agent {
        id: "svc-no-scopes-field",
        actor: ActorKind::ServiceApp,
        scopes: Some(&[]),
        scopeless_profile: true,
    },
    Agent {
        id: "svc-empty-scopes",
        actor: ActorKind::ServiceApp,
        scopes: Some(&[]),
        scopeless_profile: false,
    },
    Agent {
        id: "svc-unprofiled",
        actor: ActorKind::ServiceApp,
        scopes: None,
        scopeless_profile: false,
    },
    Agent {
        id: "svc-unprofiled-2",
        actor: ActorKind::ServiceApp,
        scopes: None,
        scopeless_profile: false,
    },
    Agent {
        id: "alice@example.com",
        actor: ActorKind::User,
        scopes: None,
        scopeless_profile: false,
    },
    Agent {
        id: "bot-agent",
        actor: ActorKind::Agent,
        scopes: Some(&["read"]),
        scopeless_profile: false,
    },
    Agent {
        id: "okta-system",
        actor: ActorKind::System,
        scopes: None,
        scopeless_profile: false,
    },
];

const SCOPES: &[&str] = &[
    "servicenow:incidents:create",
    "datadog:monitors:read",
    "read",
    "write",
    "okta:users:manage",
    "datadog:api_keys:write",
    "READ",
    "",
];

const IPS: &[&str] = &[
    "10.0.0.1",
    "10.255.255.255",
    "192.168.0.1",
    "192.168.255.254",
    "2001:db8::1",
    "2001:db8:ffff:ffff::42",
    "::ffff:10.1.2.3",
    "203.0.113.9",
    "9.255.255.255",
    "11.0.0.0",
    "192.169.0.1",
    "192.167.255.255",
    "2001:db9::1",
    "2001:db7:ffff::1",
    "::ffff:8.8.8.8",
    "::1",
];

const CATEGORIES: &[Categories] = &[
    Categories::AUTHENTICATION,
    Categories::AUTHENTICATION,
    Categories(Categories::AUTHENTICATION.0 | Categories::TOKEN_REQUEST.0),
    Categories(Categories::AUTHENTICATION.0 | Categories::TOKEN_REQUEST.0),
    Categories::TOKEN_REQUEST,
    Categories::API_CALL,
    Categories::ADMIN_CHANGE,
    Categories::NONE,
];

fn profiles_json() -> String {
    let mut out = String::new();
    for a in AGENTS {
        let Some(scopes) = a.scopes else { continue };
        let line = if a.scopeless_profile {
            serde_json::json!({"agent_id": a.id, "token_lifetime_minutes": 15})
        } else {
            serde_json::json!({"agent_id": a.id, "scopes": scopes})
        };
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

fn engine() -> Engine {
    let rules = RuleSet::from_source("seed.rules", include_str!("../examples/rules/seed.rules"))
        .unwrap_or_else(|d| panic!("{d}"));
    let profiles = Profiles::from_json_str(&profiles_json()).unwrap_or_else(|e| panic!("{e}"));
    // The streams run for weeks from 2026-11-22, past the system clock;
    // the reference knows no forward skew, so the limit is off.
    Engine::builder(rules.compile())
        .profiles(&profiles)
        .forward_skew_limit_ms(None)
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn reference() -> Reference {
    let mut r = Reference::new();
    for a in AGENTS {
        if let Some(scopes) = a.scopes {
            r.profile(a.id, scopes.iter());
        }
    }
    r
}

fn random_event(rng: &mut Rng, agent: &Agent, t: i64) -> Event<'static> {
    let mut b = Event::builder(agent.id, t)
        .actor(agent.actor)
        .categories(*rng.pick(CATEGORIES));
    if !rng.chance(10) {
        let ip: IpAddr = rng.pick(IPS).parse().unwrap_or_else(|e| panic!("{e}"));
        b = b.ip(ip);
    }
    let n = rng.below(4);
    let scopes: Vec<&'static str> = (0..n).map(|_| *rng.pick(SCOPES)).collect();
    b.scopes(scopes).build()
}

/// Events in time order: for each of `days` days, an episode from a few to
/// forty minutes before 23:59 to a quarter of an hour after midnight, with a
/// steady trickle, bursts (one agent, tens of events within seconds; always
/// one in the 23:59 minute), gaps of minutes to an hour, and late events
/// (up to three minutes behind the agent's newest) when `late` is set.
fn stream(seed: u64, days: i64, late: bool) -> Vec<Event<'static>> {
    let mut rng = Rng(seed);
    let mut events = Vec::new();
    let mut newest = vec![i64::MIN; AGENTS.len()];
    for d in 0..days {
        let last_minute = DAY + d * 86_400_000 + 1_439 * MINUTE;
        let mut t = last_minute - rng.range(2, 40) * MINUTE + rng.range(0, MINUTE);
        let end = last_minute + rng.range(1, 16) * MINUTE;
        let mut burst_done = false;
        while t < end {
            let in_last_minute = (last_minute..last_minute + MINUTE).contains(&t);
            let burst = (in_last_minute && !burst_done) || rng.chance(1);
            if burst {
                burst_done |= in_last_minute;
                let i = rng.below(AGENTS.len() as u64) as usize;
                for _ in 0..rng.range(5, 60) {
                    events.push(random_event(&mut rng, &AGENTS[i], t));
                    newest[i] = newest[i].max(t);
                    t += rng.range(0, 400);
                }
            } else if rng.below(1_000) < 3 {
                t += rng.range(1, 70) * MINUTE;
            } else {
                let i = rng.below(AGENTS.len() as u64) as usize;
                let mut at = t;
                if late && newest[i] != i64::MIN && rng.chance(3) {
                    at = newest[i] - rng.range(0, 3 * MINUTE);
                }
                events.push(random_event(&mut rng, &AGENTS[i], at));
                newest[i] = newest[i].max(at);
                t += rng.range(0, 6_000);
            }
        }
    }
    events
}

fn assert_agree(events: &[Event<'static>]) -> [usize; 3] {
    let engine = engine();
    let mut reference = reference();
    let mut fired = [0usize; 3];
    for (n, e) in events.iter().enumerate() {
        let expected = reference::rule_ids(reference.evaluate(e));
        let verdict = engine.evaluate(e);
        let got: Vec<&str> = verdict.rule_ids().collect();
        assert_eq!(got, expected, "event {n} disagrees: {e:?}");
        for id in got {
            fired[id.parse::<usize>().unwrap_or_else(|e| panic!("{e}")) - 1] += 1;
        }
    }
    fired
}

#[test]
fn reference_and_engine_fire_the_same_rules_on_in_order_streams() {
    let mut total = [0usize; 3];
    let mut events = 0;
    for seed in [1, 2, 3] {
        let s = stream(seed, 20, false);
        events += s.len();
        let fired = assert_agree(&s);
        for (t, f) in total.iter_mut().zip(fired) {
            *t += f;
        }
    }
    println!("{events} events, rules fired {total:?}");
    assert!(events > 10_000, "only {events} events");
    for (rule, n) in total.iter().enumerate() {
        assert!(
            *n >= 5,
            "rule {} fired only {n} times in {events} events",
            rule + 1
        );
        assert!(
            *n < events / 2,
            "rule {} fired {n} times in {events} events: not selective",
            rule + 1
        );
    }
}

#[test]
fn reference_and_engine_fire_the_same_rules_with_late_events() {
    let s = stream(42, 10, true);
    let fired = assert_agree(&s);
    println!("{} events, rules fired {fired:?}", s.len());
    assert!(fired.iter().all(|&n| n >= 3), "fired {fired:?}");
}

#[test]
fn rule_two_fires_only_in_the_last_minute_of_the_day_after_warm_up() {
    // A direct check of the stream's premise: one event a minute for 30
    // minutes, then a burst at 23:59:30 fires rule 2 in both.
    let engine = engine();
    let mut reference = reference();
    let agent = &AGENTS[1];
    let start = DAY + 1_439 * MINUTE + 30_000 - 30 * MINUTE;
    let mut last = Vec::new();
    for k in 0..30 {
        let e = Event::builder(agent.id, start + k * MINUTE)
            .actor(ActorKind::ServiceApp)
            .categories(Categories::AUTHENTICATION)
            .build();
        assert_eq!(engine.evaluate(&e).rule_ids().count(), 0);
        assert_eq!(reference.evaluate(&e), 0);
    }
    for k in 0..4 {
        let e = Event::builder(agent.id, start + 30 * MINUTE + k)
            .actor(ActorKind::ServiceApp)
            .categories(Categories::AUTHENTICATION)
            .build();
        last = engine
            .evaluate(&e)
            .rule_ids()
            .map(str::to_owned)
            .collect::<Vec<_>>();
        assert_eq!(last, reference::rule_ids(reference.evaluate(&e)));
    }
    assert_eq!(last, ["2"]);
}
