//! A fixed valid program (the seed rules, the agents rules and the probes of
//! `evaluate_probes.rules`, compiled once) against `arbitrary` event
//! sequences: a few agents (with and without profiles, two ids longer than
//! the store keeps whole), times moving forward, repeating, out of order,
//! late by hours, far in the future and at the ends of `i64`,
//! IPv4/IPv6/absent addresses, scopes, categories, outcomes, over-long user
//! agents and the other fields, and floods of one agent's events from
//! distinct addresses and clients (key floods); engines on a manual clock
//! with the default forward-skew limit (5 minutes), another limit or none,
//! with and without an agent cap, an idle TTL, a small key cap and key
//! quota, a small state budget, with idle sweeps between events.
//!
//! Invariants checked after every event:
//! - nothing panics, and the verdict serializes;
//! - `decision` is the strongest decision of the non-shadow rules that fired
//!   (deny > suspend > flag > allow) and `severity` their highest severity;
//!   matches are in source order, each rule at most once, and the engine's
//!   per-rule fired counts grow by exactly the matches;
//! - the engine's event count grows by one per `evaluate`;
//! - the store's byte figure equals a fresh count of what it holds, the key
//!   cap holds, and the state is within its budget after the event;
//! - cooldown: an alert of (rule, agent) at `t` is suppressed iff
//!   `t < last + D`, `last` the time of the agent's last alert not
//!   suppressed; an event past the forward skew checks but records nothing;
//!   cooldowns live in the agent's state, so an agent not tracked (new,
//!   untracked, evicted) has none;
//! - counters (read from the shadow probes' explanations): an unconditional
//!   counter always includes the agent's newest event (>= 1), and while the
//!   agent's (or key's) newest time stays put, an event adds exactly one if
//!   its bucket is still in the ring (and zero otherwise, or when it is past
//!   the forward skew): a `count over W` / `requests_per_minute` value never
//!   decreases for events within the window;
//! - keyed counter (`count(outcome == "FAILURE") over 1m by ip`): a key
//!   without state gets some only from a counted failure (then it reads 1)
//!   and otherwise reads 0; a key never vanishes without an eviction;
//! - `tracked_for` (probe P5) always reads a value, and on the same agent
//!   state grows at least as fast as event time (`v >= v0 + (t - t0)` for
//!   `t >= t0`); a keyed `since` (probe P6, by user agent, retention 1h)
//!   reads a value only when the event has the key, and under 1h.

#![no_main]

mod invariants;

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, OnceLock};

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use riskgate::input::profile::Profiles;
use riskgate::run::engine::ManualClock;
use riskgate::run::verdict::Verdict;
use riskgate::{ActorKind, Categories, Engine, Event, Limits, Program, RuleSet};

/// The explanation label of probe P3.
const P3_LABEL: &str = "count(outcome == \"FAILURE\") over 1m by ip";

/// 2026-11-28T23:50:00Z.
const BASE: i64 = 1_795_996_200_000;

const AGENTS: [&str; 5] = [
    "datadog-remediation-prod",
    "ci-deployer",
    "svc-no-profile",
    "user@example.com",
    "",
];

/// Two agent ids longer than the store keeps whole (1,024 bytes), with the
/// same first 1,100 bytes: stored as their start and a hash, two agents.
fn long_agents() -> &'static [String; 2] {
    static LONG: OnceLock<[String; 2]> = OnceLock::new();
    LONG.get_or_init(|| ["x".repeat(1_100), "x".repeat(1_100) + "y"])
}

struct Fixture {
    program: Arc<Program>,
    profiles: Profiles,
    /// Rule index by id.
    index: HashMap<String, usize>,
    /// Counter probes: (rule id, label in the explanation, bucket width in ms).
    probes: Vec<(&'static str, &'static str, i64)>,
    /// Index of probe P3's keyed counter among the program's counters.
    p3_counter: usize,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        // The agents rules redeclare the seed's `approved_scope_list`: lists
        // are global across the files of a set, so rename theirs.
        let agents = include_str!("../../examples/rules/agents.rules")
            .replace("approved_scope_list", "agent_scope_list");
        let sources = vec![
            (
                "seed.rules".to_string(),
                None,
                include_str!("../../examples/rules/seed.rules").to_string(),
            ),
            ("agents.rules".to_string(), None, agents),
            (
                "evaluate_probes.rules".to_string(),
                None,
                include_str!("evaluate_probes.rules").to_string(),
            ),
        ];
        let set = match RuleSet::from_sources(sources, &Limits::default()) {
            Ok(set) => set,
            Err(d) => panic!("the fixed program does not compile:\n{}", d.render(false)),
        };
        let profiles = Profiles::from_json_str(concat!(
            r#"{"agent_id": "datadog-remediation-prod", "scopes": ["servicenow:incidents:create", "datadog:monitors:read"], "excluded_scopes": ["okta:users:manage"], "token_lifetime_minutes": 15, "allowed_countries": ["United States"]}"#,
            "\n",
            r#"{"agent_id": "ci-deployer", "scopes": [], "token_lifetime_minutes": "fifteen", "allowed_countries": "Germany"}"#,
            "\n"
        ))
        .unwrap_or_else(|e| panic!("profiles: {e}"));
        let program = set.compile();
        let index = program
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.to_string(), i))
            .collect();
        let p3_counter = program
            .counters
            .iter()
            .position(|c| c.by.is_some() && &*c.label == P3_LABEL)
            .unwrap_or_else(|| panic!("no counter labelled {P3_LABEL}"));
        Fixture {
            program,
            profiles,
            index,
            probes: vec![
                ("P1", "requests_per_minute", 1_000),
                ("P2", "count over 5m", 5_000),
                ("P4", "count over 6s", 100),
            ],
            p3_counter,
        }
    })
}

/// When an event happens, relative to the previous one's time (the cursor).
/// Read from the input by hand, one tag byte and a small payload, so that an
/// event costs a few bytes and sequences of many events are cheap to find.
#[derive(Debug, Clone, Copy)]
enum TimeSpec {
    Same,
    ForwardMs(u16),
    ForwardSecs(u16),
    ForwardHours(u8),
    BackMs(u16),
    BackMinutes(u16),
    FarFuture(u32),
    Base,
    Zero,
    Min,
    Max,
    NearMin(u16),
    NearMax(u16),
    Raw(i64),
}

impl<'a> Arbitrary<'a> for TimeSpec {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u.arbitrary::<u8>()? % 32 {
            0..=7 => TimeSpec::Same,
            8..=11 => TimeSpec::ForwardMs(u.arbitrary()?),
            12..=15 => TimeSpec::ForwardSecs(u.arbitrary::<u8>()?.into()),
            16 => TimeSpec::ForwardSecs(u.arbitrary()?),
            17 => TimeSpec::ForwardHours(u.arbitrary()?),
            18..=20 => TimeSpec::BackMs(u.arbitrary()?),
            21 | 22 => TimeSpec::BackMinutes(u.arbitrary()?),
            23 => TimeSpec::FarFuture(u.arbitrary()?),
            24 => TimeSpec::Base,
            25 => TimeSpec::Zero,
            26 => TimeSpec::Min,
            27 => TimeSpec::Max,
            28 => TimeSpec::NearMin(u.arbitrary()?),
            29 => TimeSpec::NearMax(u.arbitrary()?),
            _ => TimeSpec::Raw(u.arbitrary()?),
        })
    }
}

impl TimeSpec {
    fn apply(self, cursor: i64) -> i64 {
        match self {
            TimeSpec::Same => cursor,
            TimeSpec::ForwardMs(d) => cursor.saturating_add(i64::from(d)),
            TimeSpec::ForwardSecs(d) => cursor.saturating_add(i64::from(d) * 1_000),
            TimeSpec::ForwardHours(d) => cursor.saturating_add(i64::from(d) * 3_600_000),
            TimeSpec::BackMs(d) => cursor.saturating_sub(i64::from(d)),
            TimeSpec::BackMinutes(d) => cursor.saturating_sub(i64::from(d) * 60_000),
            TimeSpec::FarFuture(days) => cursor.saturating_add(i64::from(days) * 86_400_000),
            TimeSpec::Base => BASE,
            TimeSpec::Zero => 0,
            TimeSpec::Min => i64::MIN,
            TimeSpec::Max => i64::MAX,
            TimeSpec::NearMin(d) => i64::MIN + i64::from(d),
            TimeSpec::NearMax(d) => i64::MAX - i64::from(d),
            TimeSpec::Raw(t) => t,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum IpSpec {
    Absent,
    Known(u8),
    V4([u8; 4]),
    V6([u16; 8]),
    Mapped([u8; 4]),
}

impl<'a> Arbitrary<'a> for IpSpec {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let tag = u.arbitrary::<u8>()?;
        Ok(match tag % 16 {
            0..=3 => IpSpec::Absent,
            4..=11 => IpSpec::Known(tag / 16),
            12 | 13 => IpSpec::V4(u.arbitrary()?),
            14 => IpSpec::V6(u.arbitrary()?),
            _ => IpSpec::Mapped(u.arbitrary()?),
        })
    }
}

const KNOWN_IPS: [IpAddr; 8] = [
    IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)),
    IpAddr::V4(Ipv4Addr::new(192, 168, 0, 7)),
    IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9)),
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, 4)),
    IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xdead, 0, 0, 0, 0, 9)),
    IpAddr::V6(Ipv6Addr::LOCALHOST),
];

impl IpSpec {
    fn ip(self) -> Option<IpAddr> {
        match self {
            IpSpec::Absent => None,
            IpSpec::Known(i) => KNOWN_IPS.get(usize::from(i) % KNOWN_IPS.len()).copied(),
            IpSpec::V4(b) => Some(IpAddr::V4(Ipv4Addr::from(b))),
            IpSpec::V6(s) => Some(IpAddr::V6(Ipv6Addr::from(s))),
            IpSpec::Mapped(b) => Some(IpAddr::V6(Ipv4Addr::from(b).to_ipv6_mapped())),
        }
    }
}

const SCOPES: [&str; 8] = [
    "servicenow:incidents:create",
    "datadog:monitors:read",
    "okta:users:manage",
    "okta:apps:manage",
    "datadog:api_keys:write",
    "",
    "null",
    "a b,c",
];
const OUTCOMES: [&str; 5] = ["SUCCESS", "FAILURE", "DENY", "success", ""];
const COUNTRIES: [&str; 4] = ["United States", "Germany", "North Korea", ""];
const USER_AGENTS: [&str; 5] = [
    "curl/8.4.0",
    "python-requests/2.31",
    "datadog-agent/7.50",
    "sqlmap/1.7",
    "",
];
const EVENT_TYPES: [&str; 4] = [
    "app.oauth2.as.token.grant.access_token",
    "user.account.privilege.grant",
    "policy.lifecycle.update",
    "",
];

#[derive(Arbitrary, Debug, Clone)]
enum Text {
    Known(u8),
    Own(String),
    /// A character repeated up to 65,535 times (an over-long key or value).
    Long(char, u16),
}

impl Text {
    fn get(&self, known: &'static [&'static str]) -> String {
        match self {
            Text::Known(i) => known
                .get(usize::from(*i) % known.len())
                .copied()
                .unwrap_or("")
                .to_string(),
            Text::Own(s) => s.clone(),
            Text::Long(c, n) => std::iter::repeat_n(*c, usize::from(*n)).collect(),
        }
    }
}

/// One event, in a few bytes: the fields the rules and probes key on most.
#[derive(Arbitrary, Debug, Clone)]
struct Ev {
    /// Bit 0: evaluate without an explanation (so that probes are not read);
    /// bits 1-3: actor kind; bits 4-7: index of the outcome (past the
    /// known ones: absent).
    flags: u8,
    agent: u8,
    time: TimeSpec,
    /// Category bits (high bit: keep the undefined bits too).
    categories: u8,
    ip: IpSpec,
    /// Requested scopes, a bit per entry of `SCOPES`.
    scopes: u8,
    extra: Option<Box<Extra>>,
}

/// The rest of an event, rarely needed.
#[derive(Arbitrary, Debug, Clone)]
struct Extra {
    event_type: Option<Text>,
    own_scopes: Vec<Text>,
    granted: Vec<Text>,
    country: Option<Text>,
    asn: Option<u64>,
    user_agent: Option<Text>,
    grant_type: bool,
    auth_method: Option<u8>,
    cert_issuer: Option<bool>,
    cert_age_days: Option<f64>,
    token_lifetime_minutes: Option<f64>,
    secret_age_days: Option<f64>,
    device_posture: Option<bool>,
    attrs: u8,
}

/// Many events of one agent in a row, 1 ms apart, each from its own
/// address (and, with `clients`, its own user agent): a key flood.
#[derive(Arbitrary, Debug, Clone)]
struct Flood {
    agent: u8,
    /// Events, 1 to 64.
    count: u8,
    /// First address (consecutive after it).
    base: u32,
    failures: bool,
    clients: bool,
    time: TimeSpec,
}

#[derive(Debug)]
enum Op {
    Eval(Ev),
    Flood(Flood),
    Evict(TimeSpec),
    SetClock(TimeSpec),
}

impl<'a> Arbitrary<'a> for Op {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u.arbitrary::<u8>()? {
            0..=231 => Op::Eval(u.arbitrary()?),
            232..=239 => Op::Flood(u.arbitrary()?),
            240..=247 => Op::Evict(u.arbitrary()?),
            _ => Op::SetClock(u.arbitrary()?),
        })
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// Bit 0: at most 2 agents tracked; bit 1: a forward-skew limit of
    /// `skew_secs` (else the default, 5 minutes); bit 2: an idle TTL;
    /// bit 3: no forward-skew limit; bit 4: at most 8 keys, 3 an agent;
    /// bit 5: a state budget of three agents.
    config: u8,
    skew_secs: u16,
    idle_ttl_secs: u16,
    ops: Vec<Op>,
}

fn agent_id(i: u8) -> &'static str {
    let i = usize::from(i) % (AGENTS.len() + 2);
    match AGENTS.get(i) {
        Some(a) => a,
        None => long_agents()
            .get(i - AGENTS.len())
            .map_or("", String::as_str),
    }
}

/// The events of a flood op, from `cursor`.
fn flood_events(f: &Flood, cursor: i64) -> Vec<(Ev, i64)> {
    let t0 = f.time.apply(cursor);
    (0..u32::from(f.count % 64) + 1)
        .map(|i| {
            let ev = Ev {
                // Explained, service app, outcome FAILURE (index 1) or
                // SUCCESS (index 0).
                flags: if f.failures { 1 << 4 } else { 0 },
                agent: f.agent,
                time: TimeSpec::Same,
                categories: 1,
                ip: IpSpec::V4(f.base.wrapping_add(i).to_be_bytes()),
                scopes: 0,
                extra: f.clients.then(|| {
                    Box::new(Extra {
                        event_type: None,
                        own_scopes: Vec::new(),
                        granted: Vec::new(),
                        country: None,
                        asn: None,
                        user_agent: Some(Text::Own(format!("client-{i}"))),
                        grant_type: false,
                        auth_method: None,
                        cert_issuer: None,
                        cert_age_days: None,
                        token_lifetime_minutes: None,
                        secret_age_days: None,
                        device_posture: None,
                        attrs: 0,
                    })
                }),
            };
            (ev, t0.saturating_add(i64::from(i)))
        })
        .collect()
}

fn build_event(ev: &Ev, time_ms: i64) -> Event<'static> {
    let actor = match (ev.flags >> 1) & 7 {
        0 | 5 => ActorKind::ServiceApp,
        1 => ActorKind::User,
        2 | 6 => ActorKind::Agent,
        3 => ActorKind::System,
        _ => ActorKind::Other,
    };
    // Mostly the four defined bits; sometimes stray high bits.
    let categories = if ev.categories & 0x80 != 0 {
        ev.categories
    } else {
        ev.categories & 0x0f
    };
    let scopes = SCOPES
        .iter()
        .enumerate()
        .filter(|(i, _)| ev.scopes & (1 << i) != 0)
        .map(|(_, s)| s.to_string());
    let mut b = Event::builder(agent_id(ev.agent), time_ms)
        .actor(actor)
        .categories(Categories(categories))
        .scopes(scopes);
    if let Some(ip) = ev.ip.ip() {
        b = b.ip(ip);
    }
    if let Some(o) = OUTCOMES.get(usize::from(ev.flags >> 4)) {
        b = b.outcome(*o);
    }
    let Some(x) = &ev.extra else {
        return b.build();
    };
    for s in x.own_scopes.iter().take(6) {
        b = b.scope(s.get(&SCOPES));
    }
    b = b.granted_scopes(x.granted.iter().take(6).map(|s| s.get(&SCOPES)));
    if let Some(t) = &x.event_type {
        b = b.event_type(t.get(&EVENT_TYPES));
    }
    if let Some(c) = &x.country {
        b = b.country(c.get(&COUNTRIES));
    }
    if let Some(asn) = x.asn {
        b = b.asn(if asn % 3 == 0 { 16509 } else { asn });
    }
    if let Some(ua) = &x.user_agent {
        b = b.user_agent(ua.get(&USER_AGENTS));
    }
    if x.grant_type {
        b = b.grant_type("client_credentials");
    }
    if let Some(m) = x.auth_method {
        b = b.auth_method(match m % 3 {
            0 => "client_secret_basic",
            1 => "private_key_jwt",
            _ => "tls_client_auth",
        });
    }
    if let Some(internal) = x.cert_issuer {
        b = b.cert_issuer(if internal { "internal-ca" } else { "evil-ca" });
    }
    if let Some(d) = x.cert_age_days {
        b = b.cert_age_days(d);
    }
    if let Some(m) = x.token_lifetime_minutes {
        b = b.token_lifetime_minutes(m);
    }
    if let Some(d) = x.secret_age_days {
        b = b.secret_age_days(d);
    }
    if let Some(ok) = x.device_posture {
        b = b.device_posture(if ok { "compliant" } else { "jailbroken" });
    }
    let attrs = match x.attrs % 4 {
        0 => serde_json::Value::Null,
        1 => serde_json::json!({
            "target": [{"type": "User", "alternateId": "alice@example.com"},
                       {"type": "AppInstance", "alternateId": "app"}],
            "actor": {"alternateId": "bot@example.com"},
            "securityContext": {"isProxy": true},
            "debugData": "{\"behaviors\": {\"New Device\": \"POSITIVE\"}}"
        }),
        2 => serde_json::json!({
            "target": [{"type": "User", "alternateId": "bot@automation.example.com"}],
            "actor": {"alternateId": "bot@automation.example.com"},
            "securityContext": {"isProxy": "true"},
            "debugData": "{not json"
        }),
        _ => serde_json::json!({"target": {"type": "User"}, "actor": null}),
    };
    if !attrs.is_null() {
        b = b.attrs(attrs);
    }
    b.build()
}

/// The value of a `<label> N >= 0` probe in a verdict, if the probe fired.
fn probe(v: &Verdict<'_>, rule: &str, label: &str) -> Option<u64> {
    let m = v.matches().find(|m| m.rule() == rule)?;
    let lines = m.explanation()?;
    let line = lines.first()?;
    let value = line
        .strip_prefix(label)
        .and_then(|rest| rest.strip_suffix(" >= 0"))
        .map(str::trim);
    match value.and_then(|s| s.parse::<u64>().ok()) {
        Some(n) => Some(n),
        None => panic!("probe {rule}: unexpected explanation {lines:?}"),
    }
}

/// The duration a `<metric> >= 0ms` probe read (the word before the
/// comparison: `tracked_for 5m >= 0ms`), in ms, if the probe fired.
fn duration_probe(v: &Verdict<'_>, rule: &str) -> Option<u64> {
    let m = v.matches().find(|m| m.rule() == rule)?;
    let lines = m.explanation()?;
    let line = lines.first()?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let word = words.len().checked_sub(3).and_then(|i| words.get(i));
    match word.and_then(|w| parse_duration(w)) {
        Some(ms) => Some(ms),
        None => panic!("probe {rule}: unexpected explanation {lines:?}"),
    }
}

/// `5m`, `1500ms`, `0s` (as explanations print durations), in ms.
fn parse_duration(w: &str) -> Option<u64> {
    let digits = w.find(|c: char| !c.is_ascii_digit())?;
    let n: u64 = w.get(..digits)?.parse().ok()?;
    let unit = match w.get(digits..)? {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => return None,
    };
    n.checked_mul(unit)
}

/// `true` when the bucket of `t` is one of the 60 ending at the bucket of `newest`.
fn in_ring(t: i64, newest: i64, bucket_ms: i64) -> bool {
    let b = i128::from(t.div_euclid(bucket_ms));
    let nb = i128::from(newest.div_euclid(bucket_ms));
    b <= nb && b > nb - 60
}

#[derive(Default)]
struct Model {
    /// Per agent: the probe values after its last event, if it was explained.
    counts: HashMap<&'static str, (i64, Vec<u64>)>,
    /// Per `by ip` key of probe P3: its newest time and count after its
    /// last explained event.
    keys: HashMap<IpAddr, (i64, u64)>,
    /// Per (rule, agent): the time of the last alert not suppressed.
    cooldowns: HashMap<(usize, &'static str), i64>,
    /// Per agent: the time of its last explained event that was neither
    /// skewed nor on a replaced state, and what `tracked_for` (probe P5)
    /// read then.
    tracked: HashMap<&'static str, (i64, u64)>,
    /// Agents whose state may have been replaced during an event (an idle
    /// sweep for a new key evicted agents): their cooldowns are unknown
    /// until they are no longer tracked.
    unknown: HashSet<&'static str>,
}

/// Keys removed by any eviction so far.
fn evicted_keys(engine: &Engine) -> u64 {
    let s = engine.store().stats();
    s.evicted_keys + s.cap_evicted_keys + s.budget_evicted_keys + s.quota_evicted_keys
}

/// Agents removed by idle eviction so far (during an event, by the sweep
/// of a new agent or key at its cap: before the event's agent is looked up,
/// so its state may be a fresh one). Budget evictions run after the event.
fn idle_evicted_agents(engine: &Engine) -> u64 {
    engine.store().stats().evicted_agents
}

/// The model forgets the cooldowns of agents that are no longer tracked.
fn forget_untracked(model: &mut Model, engine: &Engine) {
    let gone: Vec<&'static str> = model
        .cooldowns
        .keys()
        .map(|(_, a)| *a)
        .chain(model.unknown.iter().copied())
        .filter(|a| !engine.store().contains(a))
        .collect();
    for a in gone {
        model.cooldowns.retain(|(_, x), _| *x != a);
        model.unknown.remove(a);
    }
}

fn check_verdict(fx: &Fixture, v: &Verdict<'_>) {
    invariants::decision_is_the_max_of_the_matches(v);
    let mut last = None;
    for m in &v.clone().into_owned().matches {
        let i = fx.index.get(&*m.rule).copied();
        assert!(i.is_some(), "unknown rule {}", m.rule);
        assert!(i > last, "matches out of source order: {v:?}");
        last = i;
    }
    if let Err(e) = serde_json::to_string(v) {
        panic!("verdict does not serialize: {e}");
    }
}

fuzz_target!(|input: Input| {
    let fx = fixture();
    let clock = Arc::new(ManualClock::new(BASE));
    // Always the manual clock (never the system's): the default limit of
    // 5 minutes is measured against it too.
    let configured = || {
        let mut builder = Engine::builder(fx.program.clone())
            .profiles(&fx.profiles)
            .clock(clock.clone());
        if input.config & 1 != 0 {
            builder = builder.max_agents(2);
        }
        if input.config & 2 != 0 {
            builder = builder.max_forward_skew_ms(u64::from(input.skew_secs) * 1_000);
        }
        if input.config & 4 != 0 {
            builder = builder.idle_ttl_ms(u64::from(input.idle_ttl_secs) * 1_000);
        }
        if input.config & 8 != 0 {
            builder = builder.forward_skew_limit_ms(None);
        }
        if input.config & 16 != 0 {
            builder = builder.max_keys(8).max_keys_per_agent(3);
        }
        builder
    };
    let mut builder = configured();
    // A partition beside the engine, where their eviction policies cannot
    // differ (the engine evicts by a sample, a partition exactly): every
    // verdict and statistic must be the same.
    let mut partition =
        (input.config & (16 | 32) == 0).then(|| match configured().build_partition() {
            Ok(p) => p,
            Err(e) => panic!("partition: {e}"),
        });
    let budget = if input.config & 32 != 0 {
        let probe = match Engine::builder(fx.program.clone()).build() {
            Ok(e) => e,
            Err(e) => panic!("engine: {e}"),
        };
        let b = probe.store().new_agent_memory_bytes(24) * 3;
        builder = builder.max_state_bytes(b);
        Some(b)
    } else {
        None
    };
    let engine = match builder.build() {
        Ok(e) => e,
        Err(e) => panic!("engine: {e}"),
    };
    let mut model = Model::default();
    let mut cursor = BASE;
    let mut events = 0usize;
    for op in input.ops.iter().take(256) {
        let batch = match op {
            Op::Eval(ev) => {
                let t = ev.time.apply(cursor);
                vec![(ev.clone(), t)]
            }
            Op::Flood(f) => flood_events(f, cursor),
            Op::Evict(t) => {
                let watermark = t.apply(cursor);
                engine.evict_idle(watermark);
                if let Some(p) = partition.as_mut() {
                    p.evict_idle(watermark);
                }
                // Cooldowns go with their agents; keys may be gone.
                forget_untracked(&mut model, &engine);
                model.keys.clear();
                continue;
            }
            Op::SetClock(t) => {
                clock.set(t.apply(cursor));
                continue;
            }
        };
        for (ev, t) in batch {
            events += 1;
            if events > 1_024 {
                return;
            }
            cursor = t;
            let mut decided = String::new();
            step(fx, &engine, &mut model, &ev, (t, budget), &mut decided);
            if let Some(p) = partition.as_mut() {
                let event = build_event(&ev, t);
                let v = if ev.flags & 1 == 0 {
                    p.evaluate_explained(&event)
                } else {
                    p.evaluate(&event)
                };
                let ours = serde_json::to_string(&v).unwrap_or_default();
                assert_eq!(ours, decided, "partition and engine differ");
                assert_eq!(
                    p.stats(),
                    engine.stats(),
                    "partition and engine statistics differ"
                );
            }
        }
    }
});

/// Evaluates one event and checks every invariant.
/// `json` gets the verdict as JSON.
fn step(
    fx: &Fixture,
    engine: &Engine,
    model: &mut Model,
    ev: &Ev,
    (t, budget): (i64, Option<usize>),
    json: &mut String,
) {
    let event = build_event(ev, t);
    let agent = agent_id(ev.agent);
    let store = engine.store();
    let key = event.ip.map(|ip| ip.to_string());
    let key_newest = |k: &Option<String>| {
        k.as_ref()
            .and_then(|k| store.key_state(fx.p3_counter, k))
            .map(|s| s.newest_ms())
    };
    let before = engine.stats();
    let newest_before = store.agent_state(agent).map(|s| s.newest_ms());
    let key_before = key_newest(&key);
    let keys_evicted_before = evicted_keys(engine);
    let idle_evicted_before = idle_evicted_agents(engine);
    if newest_before.is_none() {
        // Not tracked: the event runs on a fresh state, with no cooldown.
        model.cooldowns.retain(|(_, a), _| *a != agent);
        model.unknown.remove(agent);
    }
    let explain = ev.flags & 1 == 0;
    let v = if explain {
        engine.evaluate_explained(&event)
    } else {
        engine.evaluate(&event)
    };
    *json = serde_json::to_string(&v).unwrap_or_default();
    let after = engine.stats();
    let newest_after = store.agent_state(agent).map(|s| s.newest_ms());
    let key_after = key_newest(&key);
    let skewed = after.skewed > before.skewed;
    let untracked = after.untracked > before.untracked;
    let keys_evicted = evicted_keys(engine) > keys_evicted_before;
    // The agent's state may have been replaced by a fresh one mid-event.
    let replaced = idle_evicted_agents(engine) > idle_evicted_before && newest_before.is_some();
    let agents_evicted = engine.stats().evicted_agents > before.evicted_agents;
    // The event ran on the agent's state in the map (not on a temporary one).
    let on_map = !untracked && !(skewed && newest_before.is_none());

    assert_eq!(v.agent, agent);
    assert_eq!(v.time_ms, t);
    check_verdict(fx, &v);
    assert_eq!(after.events, before.events + 1, "one evaluate, one event");
    for (i, ((_, n0), (_, n1))) in before.fired.iter().zip(&after.fired).enumerate() {
        let fired = fx
            .program
            .rules
            .get(i)
            .is_some_and(|r| v.matches().any(|m| m.rule() == &*r.id));
        assert_eq!(*n1, n0 + u64::from(fired), "fired count of rule {i}");
    }

    // Memory: the figure is exact, the bounds hold.
    assert_eq!(store.bytes(), store.bytes_by_scan(), "byte figure");
    assert!(store.keys_len() <= store.config().max_keys);
    if let Some(b) = budget {
        assert!(
            store.bytes() <= b,
            "{} bytes over a budget of {b}",
            store.bytes()
        );
    }

    // Cooldowns, in the agent's state.
    if replaced {
        // An idle sweep (for a new key at the cap) may have replaced the
        // agent's state during the event: its cooldowns are unknown now.
        model.cooldowns.retain(|(_, a), _| *a != agent);
        model.unknown.insert(agent);
    }
    let known = !model.unknown.contains(agent);
    for m in &v.clone().into_owned().matches {
        let Some(&i) = fx.index.get(&*m.rule) else {
            continue;
        };
        let Some(rule) = fx.program.rules.get(i) else {
            continue;
        };
        if rule.alerts.is_empty() {
            continue;
        }
        let expected = match (rule.cooldown_ms, model.cooldowns.get(&(i, agent))) {
            (Some(d), Some(&last)) => i128::from(t) < i128::from(last) + i128::from(d),
            _ => false,
        };
        if known {
            for a in &m.alerts {
                assert_eq!(
                    a.suppressed,
                    expected,
                    "rule {} at {t}: last alert {:?}",
                    m.rule,
                    model.cooldowns.get(&(i, agent))
                );
            }
        }
        let suppressed = m.alerts.iter().any(|a| a.suppressed);
        if rule.cooldown_ms.is_some() && on_map && !skewed && !suppressed {
            model.cooldowns.insert((i, agent), t);
        }
    }
    if newest_after.is_none() {
        // Evicted at the end of its event (budget), or never tracked.
        model.cooldowns.retain(|(_, a), _| *a != agent);
        model.unknown.remove(agent);
    }
    if agents_evicted {
        forget_untracked(model, engine);
    }

    // Unconditional counters of the agent.
    let tracked = newest_after.is_some();
    if !tracked || replaced {
        model.counts.remove(agent);
    }
    if tracked && !replaced {
        let expected = match (newest_before, skewed) {
            (Some(n), true) => Some(n),
            (Some(n), false) => Some(n.max(t)),
            (None, _) => Some(t),
        };
        assert_eq!(
            newest_after, expected,
            "newest time {newest_before:?} -> {newest_after:?} after an event at {t} (skewed {skewed})"
        );
    }
    if explain {
        let mut values = Vec::new();
        for &(rule, label, bucket_ms) in &fx.probes {
            let value = probe(&v, rule, label);
            let Some(n) = value else {
                panic!("probe {rule} did not fire: {v:?}");
            };
            if !(skewed && newest_before.is_none()) {
                assert!(n >= 1, "probe {rule}: {n} without the newest event");
            }
            values.push((n, bucket_ms));
        }
        if let (Some(n0), Some(n1), Some((newest, prev))) =
            (newest_before, newest_after, model.counts.get(agent))
        {
            if n0 == n1 && *newest == n1 && !replaced {
                for (i, ((n, bucket_ms), p)) in values.iter().zip(prev).enumerate() {
                    let added = u64::from(!skewed && in_ring(t, n1, *bucket_ms));
                    assert_eq!(
                        *n,
                        p + added,
                        "probe {i}: {p} before, event at {t}, newest {n1}, skewed {skewed}"
                    );
                }
            }
        }
        match newest_after {
            Some(n1) if !replaced => {
                model
                    .counts
                    .insert(agent, (n1, values.iter().map(|(n, _)| *n).collect()));
            }
            _ => {
                model.counts.remove(agent);
            }
        }
    } else {
        model.counts.remove(agent);
    }

    // `tracked_for` (P5): the time from the agent's earliest counted event
    // to this one. On the same state, for an event at `t` no earlier than
    // the last one recorded (`t0`, reading `v0`), it reads at least
    // `v0 + (t - t0)`: the earliest time only moves back (saturating at
    // `i64::MAX` ms).
    let previous = model.tracked.remove(agent);
    if explain {
        let Some(d) = duration_probe(&v, "P5") else {
            panic!("probe P5 (tracked_for >= 0ms) did not fire: {v:?}");
        };
        if let (Some(_), Some((t0, v0))) = (newest_before, previous) {
            if !replaced && !skewed && on_map && t >= t0 {
                let floor =
                    (i128::from(v0) + i128::from(t) - i128::from(t0)).min(i128::from(i64::MAX));
                assert!(
                    i128::from(d) >= floor,
                    "tracked_for {d} ms at {t}, {v0} ms at {t0}"
                );
            }
        }
        if tracked && !replaced && !skewed && on_map {
            model.tracked.insert(agent, (t, d));
        }
    }

    // A keyed `since` (P6, `since(outcome == "FAILURE", 1h) by
    // user_agent`): known only for an event with a user agent, and then
    // under its retention.
    if explain {
        if let Some(d) = duration_probe(&v, "P6") {
            assert!(
                event.user_agent.is_some(),
                "keyed since read {d} ms without a key"
            );
            assert!(
                d < 3_600_000,
                "keyed since read {d} ms, past its 1h retention"
            );
        }
    }

    // The failures-by-address counter (P3), keyed by IP across agents.
    let Some(ip) = event.ip else {
        if explain {
            assert!(
                !v.matches().any(|m| m.rule() == "P3"),
                "keyed probe fired without a key: {v:?}"
            );
        }
        return;
    };
    let hit = event.outcome.as_deref() == Some("FAILURE");
    let counted = hit && !skewed;
    let value = if explain {
        let n = probe(&v, "P3", P3_LABEL);
        assert!(n.is_some(), "keyed probe did not fire with a key: {v:?}");
        n
    } else {
        None
    };
    if keys_evicted {
        // Any key may have gone (and been created again) meanwhile.
        model.keys.clear();
    } else {
        match (key_before, key_after) {
            (None, after) => {
                // No state yet: only a counted failure creates one (unless
                // its key could not be kept), and reads 1; else 0.
                if let Some(n) = value {
                    assert_eq!(
                        n,
                        u64::from(counted),
                        "key {ip} without state, event at {t}"
                    );
                }
                // (Unless some key of the event could not be kept.)
                if !after_untracked_keys(engine, &before) {
                    assert_eq!(
                        after.is_some(),
                        counted,
                        "key {ip}: state {after:?} after an event at {t} (counted {counted})"
                    );
                }
            }
            (Some(n0), Some(n1)) => {
                let expected = if skewed { n0 } else { n0.max(t) };
                assert_eq!(n1, expected, "key {ip}: newest {n0} -> {n1}, event at {t}");
                if let (Some(n), Some(&(newest, prev))) = (value, model.keys.get(&ip)) {
                    if newest == n0 && n0 == n1 {
                        let added = u64::from(counted && in_ring(t, n1, 1_000));
                        assert_eq!(n, prev + added, "key {ip}: {prev} before, event at {t}");
                    }
                }
            }
            (Some(n0), None) => panic!("key {ip} (newest {n0}) vanished without an eviction"),
        }
    }
    match (value, key_after) {
        (Some(n), Some(n1)) => {
            model.keys.insert(ip, (n1, n));
        }
        _ => {
            model.keys.remove(&ip);
        }
    }
}

/// Whether the event just evaluated could not keep a key (at the key cap
/// while another eviction ran).
fn after_untracked_keys(engine: &Engine, before: &riskgate::run::engine::Stats) -> bool {
    engine.stats().untracked_keys > before.untracked_keys
}
