//! A fixed valid program (the seed rules, the agents rules and the probes of
//! `evaluate_probes.rules`, compiled once) against `arbitrary` event
//! sequences: a few agents (with and without profiles, one id too long to
//! track), times moving forward, repeating, out of order, late by hours, far
//! in the future and at the ends of `i64`, IPv4/IPv6/absent addresses,
//! scopes, categories, outcomes and the other fields; engines with and
//! without an agent cap, a forward-skew limit on a manual clock and an idle
//! TTL, with idle sweeps between events.
//!
//! Invariants checked after every event:
//! - nothing panics, and the verdict serializes;
//! - `decision` is the strongest decision of the non-shadow rules that fired
//!   (deny > suspend > flag > allow) and `severity` their highest severity;
//!   matches are in source order, each rule at most once, and the engine's
//!   per-rule fired counts grow by exactly the matches;
//! - the engine's event count grows by one per `evaluate`;
//! - cooldown (SPEC §7.16): an alert of (rule, agent) at `t` is suppressed
//!   iff `t < last + D`, `last` the time of the last alert not suppressed
//!   (an `evict_idle(w)` forgets the entries with `w >= last + D`, as
//!   documented);
//! - counters (read from the shadow probes' explanations): an unconditional
//!   counter always includes the agent's newest event (>= 1), and while the
//!   agent's (or key's) newest time stays put, an event adds exactly one if
//!   its bucket is still in the ring (and zero otherwise, or when it is past
//!   the forward skew): a `count over W` / `requests_per_minute` value never
//!   decreases for events within the window.

#![no_main]

mod invariants;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, OnceLock};

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use riskgate::engine::ManualClock;
use riskgate::profile::Profiles;
use riskgate::verdict::Verdict;
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

/// An agent id longer than the store keeps (1,024 bytes): never tracked.
fn long_agent() -> &'static str {
    static LONG: OnceLock<String> = OnceLock::new();
    LONG.get_or_init(|| "x".repeat(1_100))
}

struct Fixture {
    program: Arc<Program>,
    profiles: Profiles,
    /// Rule index by id.
    index: HashMap<String, usize>,
    /// Counter probes: (rule id, label in the explanation, bucket width in ms).
    probes: Vec<(&'static str, &'static str, i64)>,
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
        Fixture {
            program,
            profiles,
            index,
            probes: vec![
                ("P1", "requests_per_minute", 1_000),
                ("P2", "count over 5m", 5_000),
                ("P4", "count over 6s", 100),
            ],
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

#[derive(Debug)]
enum Op {
    Eval(Ev),
    Evict(TimeSpec),
    SetClock(TimeSpec),
    /// A key flood by an agent outside the model: `n` events (at most 512)
    /// from as many new addresses, all failures or all successes, with an
    /// agent id of `id_len` bytes (long ones are never tracked).
    Flood { n: u16, failures: bool, id_len: u16 },
}

impl<'a> Arbitrary<'a> for Op {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u.arbitrary::<u8>()? {
            0..=235 => Op::Eval(u.arbitrary()?),
            236..=239 => Op::Flood {
                n: u.arbitrary()?,
                failures: u.arbitrary()?,
                id_len: u.arbitrary()?,
            },
            240..=247 => Op::Evict(u.arbitrary()?),
            _ => Op::SetClock(u.arbitrary()?),
        })
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// Bit 0: at most 2 agents tracked; bit 1: a forward-skew limit of
    /// `skew_secs` (else the default, 5 minutes);
    /// bit 2: an idle TTL.
    config: u8,
    skew_secs: u16,
    idle_ttl_secs: u16,
    ops: Vec<Op>,
}

fn agent_id(i: u8) -> &'static str {
    let i = usize::from(i) % (AGENTS.len() + 1);
    AGENTS.get(i).copied().unwrap_or_else(long_agent)
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
            "securityContext": {"isProxy": true}
        }),
        2 => serde_json::json!({
            "target": [{"type": "User", "alternateId": "bot@automation.example.com"}],
            "actor": {"alternateId": "bot@automation.example.com"},
            "securityContext": {"isProxy": "true"}
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
    let m = v.matches.iter().find(|m| &*m.rule == rule)?;
    let lines = m.explanation.as_ref()?;
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

/// `true` when the bucket of `t` is one of the 60 ending at the bucket of `newest`.
fn in_ring(t: i64, newest: i64, bucket_ms: i64) -> bool {
    let b = i128::from(t.div_euclid(bucket_ms));
    let nb = i128::from(newest.div_euclid(bucket_ms));
    b <= nb && b > nb - 60
}

#[derive(Default)]
struct KeyRec {
    newest: i64,
    /// The key's count after its last event, if that one was explained.
    count: Option<u64>,
}

struct Model {
    /// Per agent: the probe values after its last event, if it was explained.
    counts: HashMap<&'static str, (i64, Vec<u64>)>,
    /// Per `by ip` key of probe P3.
    keys: HashMap<IpAddr, KeyRec>,
    /// Per (rule, agent): the time of the last alert not suppressed.
    cooldowns: HashMap<(usize, &'static str), i64>,
    /// Keys were evicted at some point: a key the model does not know may
    /// still be in the store.
    keys_evicted: bool,
}

fn check_verdict(fx: &Fixture, v: &Verdict<'_>) {
    invariants::decision_is_the_max_of_the_matches(v);
    let mut last = None;
    for m in &v.matches {
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
    let mut builder = Engine::builder(fx.program.clone()).profiles(&fx.profiles);
    if input.config & 1 != 0 {
        builder = builder.max_agents(2);
    }
    // Always the manual clock: the default limit (5 minutes) or one chosen
    // by the input, so far-future events are measured deterministically.
    let skew_ms = if input.config & 2 != 0 {
        u64::from(input.skew_secs) * 1_000
    } else {
        riskgate::engine::DEFAULT_MAX_FORWARD_SKEW_MS
    };
    builder = builder.clock(clock.clone());
    if input.config & 2 != 0 {
        builder = builder.max_forward_skew_ms(skew_ms);
    }
    if input.config & 4 != 0 {
        builder = builder.idle_ttl_ms(u64::from(input.idle_ttl_secs) * 1_000);
    }
    let engine = match builder.build() {
        Ok(e) => e,
        Err(e) => panic!("engine: {e}"),
    };
    let mut model = Model {
        counts: HashMap::new(),
        keys: HashMap::new(),
        cooldowns: HashMap::new(),
        keys_evicted: false,
    };
    let mut cursor = BASE;
    for op in input.ops.iter().take(256) {
        let ev = match op {
            Op::Eval(ev) => ev,
            Op::Flood { n, failures, id_len } => {
                let id = format!("flood-{}", "x".repeat(usize::from(*id_len) % 4_096));
                let keys_before = engine.stats().tracked_keys;
                for k in 0..u32::from(*n % 512) {
                    let ip = std::net::Ipv4Addr::from(0xc612_0000 + k); // 198.18.0.0/15
                    let event = Event::builder(id.as_str(), cursor)
                        .ip(std::net::IpAddr::V4(ip))
                        .outcome(if *failures { "FAILURE" } else { "SUCCESS" })
                        .build();
                    let v = engine.evaluate_explained(&event);
                    check_verdict(fx, &v);
                }
                // An event a keyed counter does not count creates no key.
                if !*failures {
                    // (Every keyed counter of the fixture has a condition a
                    // success without categories fails.)
                    assert_eq!(engine.stats().tracked_keys, keys_before);
                }
                // The flood's keys are shared with the model's agents.
                model.keys.clear();
                model.keys_evicted = true;
                continue;
            }
            Op::Evict(t) => {
                let watermark = t.apply(cursor);
                engine.evict_idle(watermark);
                // Documented: cooldown entries that no longer suppress at the
                // watermark go too (event time is taken to be there).
                model.cooldowns.retain(|(i, _), last| {
                    let d = fx.program.rules.get(*i).and_then(|r| r.cooldown_ms);
                    d.is_some_and(|d| i128::from(watermark) < i128::from(*last) + i128::from(d))
                });
                // Keys may be gone: forget what we knew of them.
                model.keys.clear();
                model.keys_evicted = true;
                continue;
            }
            Op::SetClock(t) => {
                clock.set(t.apply(cursor));
                continue;
            }
        };
        let t = ev.time.apply(cursor);
        cursor = t;
        let event = build_event(ev, t);
        let agent = agent_id(ev.agent);
        let before = engine.stats();
        let newest_before = engine.store().agent_state(agent).map(|s| s.newest_ms());
        let evicted_keys = engine.store().stats().evicted_keys;
        let explain = ev.flags & 1 == 0;
        let v = if explain {
            engine.evaluate_explained(&event)
        } else {
            engine.evaluate(&event)
        };
        let after = engine.stats();
        let newest_after = engine.store().agent_state(agent).map(|s| s.newest_ms());
        let skewed = after.skewed > before.skewed;
        // An event is past the limit exactly when later than the clock plus
        // the limit, and then it is tallied (never silently dropped).
        let now = clock.0.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(
            skewed,
            i128::from(t) > i128::from(now) + i128::from(skew_ms),
            "event at {t}, clock {now}, limit {skew_ms} ms"
        );
        if engine.store().stats().evicted_keys > evicted_keys {
            // An idle sweep for a new agent at the cap dropped keys.
            model.keys.clear();
            model.keys_evicted = true;
        }

        assert_eq!(v.agent, agent);
        assert_eq!(v.time_ms, t);
        check_verdict(fx, &v);
        assert_eq!(after.events, before.events + 1, "one evaluate, one event");
        for (i, ((_, n0), (_, n1))) in before.fired.iter().zip(&after.fired).enumerate() {
            let fired = fx
                .program
                .rules
                .get(i)
                .is_some_and(|r| v.matches.iter().any(|m| m.rule == r.id));
            assert_eq!(*n1, n0 + u64::from(fired), "fired count of rule {i}");
        }

        // Cooldown, SPEC §7.16.
        for m in &v.matches {
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
            for a in &m.alerts {
                assert_eq!(
                    a.suppressed,
                    expected,
                    "rule {} at {t}: last alert {:?}",
                    m.rule,
                    model.cooldowns.get(&(i, agent))
                );
            }
            if rule.cooldown_ms.is_some() && !expected {
                model.cooldowns.insert((i, agent), t);
            }
        }

        // Unconditional counters of the agent.
        let tracked = newest_after.is_some();
        if !tracked {
            model.counts.remove(agent);
        }
        if tracked {
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
                if n0 == n1 && *newest == n1 {
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
                Some(n1) => {
                    model
                        .counts
                        .insert(agent, (n1, values.iter().map(|(n, _)| *n).collect()));
                }
                None => {
                    model.counts.remove(agent);
                }
            }
        } else {
            model.counts.remove(agent);
        }

        // The failures-by-address counter (P3), keyed by IP across agents.
        if let Some(ip) = event.ip {
            let hit = event.outcome.as_deref() == Some("FAILURE");
            let value = if explain {
                probe(&v, "P3", P3_LABEL)
            } else {
                None
            };
            let rec = model.keys.get(&ip);
            match (rec, skewed) {
                (Some(rec), _) => {
                    let newest = if skewed {
                        rec.newest
                    } else {
                        rec.newest.max(t)
                    };
                    if let (Some(prev), Some(n)) = (rec.count, value) {
                        if newest == rec.newest {
                            let added = u64::from(hit && !skewed && in_ring(t, newest, 1_000));
                            assert_eq!(n, prev + added, "key {ip}: {prev} before, event at {t}");
                        }
                    }
                    model.keys.insert(
                        ip,
                        KeyRec {
                            newest,
                            count: value,
                        },
                    );
                }
                (None, false) => {
                    if let (Some(n), false) = (value, model.keys_evicted) {
                        assert_eq!(n, u64::from(hit), "new key {ip}");
                    }
                    model.keys.insert(
                        ip,
                        KeyRec {
                            newest: t,
                            count: value,
                        },
                    );
                }
                (None, true) => {}
            }
        } else if explain {
            assert!(
                !v.matches.iter().any(|m| &*m.rule == "P3"),
                "keyed probe fired without a key: {v:?}"
            );
        }
    }
});
