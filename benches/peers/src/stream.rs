//! The shared deterministic event stream (a few hundred events), and the
//! single warmed event of the per-event benchmark.
//!
//! Five identities on 2026-11-22 from 22:40 to 00:01 UTC the next day:
//! three profiled service apps (one mostly on IPv6), one service app with no
//! profile, one human user. Rule 1 fires on addresses outside the approved
//! ranges (v4 and v6), rule 2 on bursts at 23:59 once a baseline exists,
//! rule 3 on unapproved scopes and on every scope of the unprofiled app and
//! of the user. Near misses on purpose: bursts at 23:30 (wrong time), a
//! burst at 23:59 by the app still warming up (no baseline), API-call
//! bursts (not authentications), exactly three times the baseline, no IP,
//! an IPv4-mapped IPv6 address inside a range, empty scope lists, late
//! events (a few seconds and two minutes late), 23:59:59.999 and 00:00:00.

use riskgate::{ActorKind, Categories, Event};

/// Agent profiles: id and approved scopes.
pub const PROFILES: &[(&str, &[&str])] = &[
    (
        "datadog-remediation-prod",
        &["servicenow:incidents:create", "servicenow:incidents:update", "datadog:monitors:read", "datadog:events:create"],
    ),
    ("github-actions-deployer", &["okta:apps:read", "okta:apps:manage", "github:repo:read"]),
    ("claude-support-agent", &["zendesk:tickets:read", "zendesk:tickets:write", "okta:users:read"]),
];

/// The service app with no profile (no approved scopes at all).
pub const UNPROFILED: &str = "unregistered-bot";
/// The human user.
pub const USER: &str = "alice@example.com";

/// 2026-11-22T00:00:00Z in ms.
pub const DAY: i64 = 1_795_305_600_000;

/// `DAY` + h:m:s.ms.
pub const fn at(h: i64, m: i64, s: i64, ms: i64) -> i64 {
    DAY + ((h * 60 + m) * 60 + s) * 1000 + ms
}

/// A tiny deterministic generator (64-bit LCG, high bits).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const GRANT: Categories = Categories(Categories::AUTHENTICATION.0 | Categories::TOKEN_REQUEST.0);

fn ev(agent: &str, actor: ActorKind, t: i64, cats: Categories, ip: Option<&str>, scopes: &[&str]) -> Event<'static> {
    let mut b = Event::builder(agent.to_string(), t).actor(actor).categories(cats);
    if let Some(ip) = ip {
        b = b.ip(ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}")));
    }
    b.scopes(scopes.iter().map(|s| s.to_string())).build()
}

fn app(agent: &str, t: i64, cats: Categories, ip: Option<&str>, scopes: &[&str]) -> Event<'static> {
    ev(agent, ActorKind::ServiceApp, t, cats, ip, scopes)
}

const V4_IN: &[&str] = &["10.12.0.7", "10.200.3.4", "192.168.1.20", "192.168.77.3"];
const V4_OUT: &[&str] = &["203.0.113.9", "198.51.100.23", "8.8.8.8", "172.16.0.5"];
const V6_IN: &[&str] = &["2001:db8::17", "2001:db8:abcd::1", "2001:db8:ffff:ffff::42"];
const V6_OUT: &[&str] = &["2001:db9::1", "2606:4700::1111", "fe80::1"];

/// One routine event of a profiled app: mostly grants with approved
/// scopes from approved ranges, sometimes API calls, plain
/// authentications, an unapproved scope, an outside address or no address.
fn routine(r: &mut Lcg, agent: &str, approved: &[&str], t: i64, v6: bool) -> Event<'static> {
    let ip = match r.below(100) {
        0..=5 => Some(if v6 { V6_OUT[r.below(3) as usize] } else { V4_OUT[r.below(4) as usize] }),
        6..=8 => None,
        9 if v6 => Some("::ffff:10.9.8.7"),
        _ => Some(if v6 { V6_IN[r.below(3) as usize] } else { V4_IN[r.below(4) as usize] }),
    };
    let pick = approved[r.below(approved.len() as u64) as usize];
    match r.below(100) {
        0..=19 => app(agent, t, Categories::API_CALL, ip, &[]),
        20..=29 => app(agent, t, Categories::AUTHENTICATION, ip, &[]),
        30..=37 => app(agent, t, GRANT, ip, &[pick, "okta:users:manage"]),
        38..=41 => app(agent, t, GRANT, ip, &[]),
        _ => app(agent, t, GRANT, ip, &[pick, approved[0]]),
    }
}

/// The shared stream, in arrival order (with a few late events).
pub fn events() -> Vec<Event<'static>> {
    let mut r = Lcg(0x5eed_2026_1122);
    let mut out = Vec::new();
    let (dd, gh, cl) = (PROFILES[0], PROFILES[1], PROFILES[2]);
    // 22:40 .. 23:58: about one event a minute for each profiled app, some minutes two.
    for minute in 0..79 {
        let base = at(22, 40, 0, 0) + minute * 60_000;
        let mut batch = Vec::new();
        for (k, (agent, approved)) in [dd, gh, cl].into_iter().enumerate() {
            if r.below(10) == 0 {
                continue; // a quiet minute
            }
            let n = if r.below(10) < 3 { 2 } else { 1 };
            for _ in 0..n {
                let t = base + (r.below(60_000) as i64);
                batch.push(routine(&mut r, agent, approved, t, k == 2));
            }
        }
        // 23:30: a github burst, 9 grants in one second — high rate, wrong time.
        if minute == 50 {
            for i in 0..9 {
                batch.push(app(gh.0, at(23, 30, 5, i * 50), GRANT, Some("10.1.1.1"), &["okta:apps:read"]));
            }
        }
        // The unprofiled bot starts at 23:52 (still warming up at 23:59).
        if minute >= 72 {
            let t = base + (r.below(60_000) as i64);
            let ip = if minute % 3 == 0 { "203.0.113.50" } else { "10.3.3.3" };
            let scopes: &[&str] = if minute % 2 == 0 { &["okta:apps:read"] } else { &[] };
            batch.push(app(UNPROFILED, t, GRANT, Some(ip), scopes));
        }
        // The user: token requests (rule 3: a user has no profile) and
        // authentications from outside (rule 1 is for service apps only).
        if minute % 9 == 4 {
            let t = base + 30_000;
            batch.push(ev(USER, ActorKind::User, t, GRANT, Some("203.0.113.77"), &["okta:users:read"]));
            batch.push(ev(USER, ActorKind::User, t + 5, Categories::AUTHENTICATION, Some("198.51.100.1"), &[]));
            batch.push(ev(USER, ActorKind::User, t + 9, Categories::TOKEN_REQUEST, None, &[]));
        }
        batch.sort_by_key(|e| e.time_ms);
        out.extend(batch);
    }
    // 23:59: the window of rule 2.
    // The bot bursts but has no baseline yet (m - f < 10).
    for i in 0..8 {
        out.push(app(UNPROFILED, at(23, 59, 2, i * 10), Categories::AUTHENTICATION, Some("10.3.3.3"), &[]));
    }
    // datadog: 8 authentications in two seconds, IPv4 in range: rule 2 fires once rpm > 3 x baseline.
    for i in 0..8 {
        let ip = if i == 5 { "203.0.113.9" } else { "10.12.0.7" };
        out.push(app(dd.0, at(23, 59, 10, i * 200), Categories::AUTHENTICATION, Some(ip), &[]));
    }
    // Late by a few seconds (counted in the ring, read at the newest time), and by two minutes
    // (misses the second ring, enters the minute history; its own time is outside the window).
    out.push(app(dd.0, at(23, 59, 4, 0), GRANT, Some("10.12.0.7"), &["datadog:events:create"]));
    out.push(app(dd.0, at(23, 57, 1, 0), Categories::AUTHENTICATION, Some("10.12.0.7"), &[]));
    // claude (IPv6): a few events in the window, at or under three times its baseline.
    for i in 0..3 {
        out.push(app(cl.0, at(23, 59, 30, i), Categories::AUTHENTICATION, Some("2001:db8::17"), &[]));
    }
    out.push(app(cl.0, at(23, 59, 31, 0), GRANT, Some("2606:4700::1111"), &["zendesk:tickets:read", "okta:users:manage"]));
    // github: an API-call burst (counts in the rate, fires nothing), then one authentication (rule 2).
    for i in 0..10 {
        out.push(app(gh.0, at(23, 59, 40, i * 10), Categories::API_CALL, Some("10.1.1.1"), &[]));
    }
    out.push(app(gh.0, at(23, 59, 41, 0), Categories::AUTHENTICATION, Some("10.1.1.1"), &[]));
    out.push(app(gh.0, at(23, 59, 59, 999), GRANT, None, &["okta:apps:read"]));
    // Past midnight: the next day's 00:00 is outside the 23:59 window again.
    out.push(app(dd.0, at(24, 0, 0, 0), Categories::AUTHENTICATION, Some("10.12.0.7"), &[]));
    out.push(app(gh.0, at(24, 0, 0, 1), GRANT, Some("192.168.77.3"), &["okta:apps:manage", "okta:users:manage"]));
    for i in 0..20 {
        let ip = if i % 4 == 0 { "2001:db8::99" } else { "10.200.3.4" };
        out.push(app(cl.0, at(24, 0, 30, i * 20), Categories::AUTHENTICATION, Some(ip), &[]));
    }
    out
}

/// The per-event benchmark: datadog-remediation-prod warmed with one grant a
/// minute from 11:00 to 11:59 (baseline 1/min), then the measured event at
/// 12:00:00 — a token grant from 192.168.10.20 asking for one approved and
/// one unapproved scope: rule 3 fires (deny), rules 1 and 2 are evaluated
/// and do not. Returns (warm-up events, measured event).
pub fn warmed_one_fires() -> (Vec<Event<'static>>, Event<'static>) {
    let (agent, approved) = PROFILES[0];
    let warm = (0..60)
        .map(|k| app(agent, at(11, k, 0, 0), GRANT, Some("10.12.0.7"), &[approved[2], approved[3]]))
        .collect();
    let event = app(agent, at(12, 0, 0, 0), GRANT, Some("192.168.10.20"), &[approved[2], "okta:users:manage"]);
    (warm, event)
}
