//! The metrics that remember earlier events, against a naive model.
//!
//! The model keeps every event it was given, in order, and recomputes each
//! metric for each event from that history alone: per agent, or per value of
//! a key (`by user_agent`, `by (user_agent, event.type)`, `by (ip,
//! event.type)`), with `where` scopes, composite keys whose components may be
//! absent, late and out-of-order events, idle gaps of days and a midnight
//! crossing and, from a second start, the end of daylight saving time in
//! New York (for `first_seen(hour_of_week("America/New_York"), R)`). It
//! follows the documented definitions literally:
//!
//! * `since(c, R)`: `t − L`, `L` the latest time of an *earlier* event of the
//!   owner on which `c` held; UNKNOWN if there is none, if `L > t` (a late
//!   event), or if `t − L ≥ R`.
//! * `first(F where s, R)`: the value recorded by the first event with F
//!   present and `s` true; it expires `R` after it was recorded, and the next
//!   such event records a new one.
//! * `previous(F where s)`: F of the latest earlier event with F present and
//!   `s` true.
//! * `sequence(c1, …, cn) within W`: per step, the latest start time of a
//!   completed prefix; an event is tested against the steps from the last to
//!   the first and advances at most one; a completed sequence clears its
//!   prefixes.
//! * `tracked_for`: `t` minus the agent's earliest event time.
//! * keyed `distinct`, `first_seen` and `count`: as their per-agent forms, on
//!   the key's events since the first one that updated it (a key gets state
//!   only from an event that updates it; before, it reads 0 / TRUE).
//! * `zscore`, `stddev` (and `active`): from the per-minute totals of the
//!   complete minutes `max(f, m − 60) ..= m − 1`, compared with the literal
//!   exactly.
//!
//! Shadow probe rules print each value in their explanation; the test
//! compares those and the set of rules that fired, event by event.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;
use riskgate::lang::ast::format_duration;
use riskgate::{ActorKind, Categories, Engine, Event, RuleSet};

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// 2026-11-21T23:00:00Z: the streams cross midnight UTC within the hour.
const BASE: i64 = 1_795_734_000_000;
/// 2026-11-01T05:00:00Z, 01:00 in New York an hour before daylight saving
/// time ends: the streams that start here cross it (and local midnight).
const DST_BASE: i64 = 1_793_509_200_000;

/// The hour of the week (Monday 00:00 = 0) of `t` in New York, computed
/// with chrono-tz directly.
fn new_york_hour_of_week(t: i64) -> u8 {
    use chrono::{Datelike, TimeZone, Timelike};
    let local = chrono_tz::America::New_York
        .timestamp_millis_opt(t)
        .single()
        .expect("a valid time");
    (local.weekday().num_days_from_monday() * 24 + local.hour()) as u8
}

/// The random parts of the rule file.
#[derive(Clone, Debug)]
struct Params {
    /// `since` retention and threshold, minutes.
    since_keyed: (u32, u32),
    since_agent: u32,
    /// `first` retention, minutes.
    first: u32,
    /// `sequence` spans, minutes.
    seq3: u32,
    seq2: u32,
    /// `first_seen` retention, minutes.
    first_seen: u32,
    /// `tracked_for` threshold, minutes.
    tracked: u32,
    /// `zscore > k`, `zscore(.., active) > k2`, `stddev > s` (decimal text).
    z: &'static str,
    z_active: &'static str,
    sd: &'static str,
}

const TYPES: [&str; 3] = ["t.a", "t.b", "t.c"];

fn rules_text(p: &Params) -> String {
    let probe = |id: &str, trigger: String| {
        format!("Rule {id} — probe\nTrigger: {trigger}\nMode: shadow\nAction: flag_for_review\nSeverity: LOW\n\n")
    };
    let rule = |id: &str, trigger: String| {
        format!("Rule {id} — rule\nTrigger: {trigger}\nAction: flag_for_review\nSeverity: LOW\n\n")
    };
    let (sr, st) = p.since_keyed;
    let mut out = String::new();
    out += &rule(
        "SI",
        format!("since(event.type == \"t.a\", {sr}m) by user_agent < {st}m"),
    );
    out += &probe(
        "PSI",
        format!("since(event.type == \"t.a\", {sr}m) by user_agent >= 0ms"),
    );
    out += &probe(
        "PSA",
        format!("since(outcome == \"FAILURE\", {}m) >= 0ms", p.since_agent),
    );
    out += &probe(
        "PFI",
        format!(
            "first(ip where outcome == \"SUCCESS\", {}m) by user_agent != 0.0.0.0",
            p.first
        ),
    );
    out += &rule(
        "FD",
        format!(
            "ip != first(ip where outcome == \"SUCCESS\", {}m) by user_agent",
            p.first
        ),
    );
    out += &probe(
        "PPA",
        "previous(ip where event.type != \"t.c\") != 0.0.0.0".to_string(),
    );
    out += &rule(
        "PV",
        "previous(ip where event.type != \"t.c\") by user_agent != ip".to_string(),
    );
    out += &rule(
        "SQ",
        format!(
            "sequence(event.type == \"t.a\", event.type == \"t.b\", outcome == \"FAILURE\") within {}m by user_agent",
            p.seq3
        ),
    );
    out += &rule(
        "S2",
        format!(
            "sequence(event.type == \"t.b\", event.type == \"t.a\") within {}m",
            p.seq2
        ),
    );
    out += &probe("PTR", "tracked_for >= 0ms".to_string());
    out += &rule(
        "FW",
        format!(
            "first_seen(hour_of_week(\"America/New_York\"), {}m)",
            p.first_seen
        ),
    );
    out += &rule("TR", format!("tracked_for >= {}m", p.tracked));
    out += &probe(
        "PDK",
        "distinct(ip where outcome == \"SUCCESS\") over 10m by (user_agent, event.type) >= 0"
            .to_string(),
    );
    out += &probe(
        "PDA",
        "distinct(ip where outcome == \"FAILURE\") over 10m >= 0".to_string(),
    );
    out += &rule(
        "FK",
        format!(
            "first_seen(ip where outcome == \"SUCCESS\", {}m) by user_agent",
            p.first_seen
        ),
    );
    out += &rule(
        "FA",
        format!(
            "first_seen(ip where event.type == \"t.a\", {}m)",
            p.first_seen
        ),
    );
    out += &probe(
        "PCK",
        "count(outcome == \"FAILURE\") over 10m by (ip, event.type) >= 0".to_string(),
    );
    out += &probe(
        "PCW",
        "count(event.type == \"t.b\" where outcome == \"SUCCESS\") over 10m >= 0".to_string(),
    );
    out += &rule("Z", format!("zscore(count over 1m, 60m) > {}", p.z));
    out += &rule(
        "ZA",
        format!("{} < zscore(count over 1m, 60m, active)", p.z_active),
    );
    out += &rule("SD", format!("stddev(count over 1m, 60m) > {}", p.sd));
    out += &rule("ZD", format!("zscore(distinct(ip) over 1m, 30m) > {}", p.z));
    out += &rule(
        "ZK",
        format!(
            "zscore(distinct(ip) over 1m by user_agent, 30m) > {}",
            p.z_active
        ),
    );
    out += &rule(
        "BD",
        "distinct(ip) over 1m > baseline(distinct(ip) over 1m, 30m) * 2".to_string(),
    );
    out
}

/// The probes and the label of the metric each prints.
const PROBES: [(&str, &str); 9] = [
    ("PSI", "by user_agent"),
    ("PSA", "since(outcome"),
    ("PFI", "by user_agent"),
    ("PPA", "previous(ip"),
    ("PTR", "tracked_for"),
    ("PDK", "by (user_agent, event.type)"),
    ("PDA", "over 10m"),
    ("PCK", "by (ip, event.type)"),
    ("PCW", "over 10m"),
];

/// One event of a stream.
#[derive(Clone, Debug)]
struct Ev {
    agent: u8,
    t: i64,
    ip: Option<u8>,
    failure: bool,
    kind: u8,
    session: Option<u8>,
}

impl Ev {
    fn ty(&self) -> &'static str {
        TYPES[usize::from(self.kind)]
    }
    fn success(&self) -> bool {
        !self.failure
    }
}

/// What the engine or the model says about one event.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    rules: BTreeSet<String>,
    values: BTreeMap<&'static str, String>,
}

// ---------------------------------------------------------------------------
// The model

fn ip_text(ip: u8) -> String {
    format!("10.0.0.{ip}")
}

/// `b(t)` of a window of width `w` (60 buckets).
fn bucket(w: i64, t: i64) -> i64 {
    t.div_euclid(w / 60)
}

#[derive(Default)]
struct Model {
    /// Every event so far, in the order given.
    events: Vec<Ev>,
}

/// The events `(index, event)` of an owner among `history`, in order.
fn owned<'h>(
    history: &'h [Ev],
    same: impl Fn(&Ev) -> bool + 'h,
) -> impl Iterator<Item = (usize, &'h Ev)> + 'h {
    history.iter().enumerate().filter(move |(_, e)| same(e))
}

/// The newest time of the owner's events from index `from` to the last of
/// `history` (the state's newest time, the state made at `from`).
fn newest_from(history: &[Ev], same: &dyn Fn(&Ev) -> bool, from: usize) -> i64 {
    history
        .iter()
        .enumerate()
        .filter(|(j, e)| *j >= from && same(e))
        .map(|(_, e)| e.t)
        .max()
        .unwrap_or(i64::MIN)
}

/// The index of the owner's first event that `update` accepts.
fn created(
    history: &[Ev],
    same: &dyn Fn(&Ev) -> bool,
    update: &dyn Fn(&Ev) -> bool,
) -> Option<usize> {
    history
        .iter()
        .enumerate()
        .find(|(_, e)| same(e) && update(e))
        .map(|(j, _)| j)
}

/// `since(c, R)` at the last event of `history`.
fn since(
    history: &[Ev],
    same: &dyn Fn(&Ev) -> bool,
    c: &dyn Fn(&Ev) -> bool,
    r: i64,
) -> Option<i64> {
    let (last, earlier) = history.split_last()?;
    let l = earlier
        .iter()
        .filter(|e| same(e) && c(e))
        .map(|e| e.t)
        .max()?;
    (last.t >= l && last.t - l < r).then_some(last.t - l)
}

/// `first(F where s, R)` at the last event of `history`.
fn first(
    history: &[Ev],
    same: &dyn Fn(&Ev) -> bool,
    f: &dyn Fn(&Ev) -> Option<u8>,
    s: &dyn Fn(&Ev) -> bool,
    r: i64,
) -> Option<u8> {
    let mut rec: Option<(u8, i64)> = None;
    for e in history.iter().filter(|e| same(e)) {
        if let (Some(v), true) = (f(e), s(e)) {
            if rec.is_none_or(|(_, at)| e.t - at >= r) {
                rec = Some((v, e.t));
            }
        }
    }
    let t = history.last()?.t;
    rec.filter(|&(_, at)| t - at < r).map(|(v, _)| v)
}

/// `previous(F where s)` at the last event of `history`.
fn previous(
    history: &[Ev],
    same: &dyn Fn(&Ev) -> bool,
    f: &dyn Fn(&Ev) -> Option<u8>,
    s: &dyn Fn(&Ev) -> bool,
) -> Option<u8> {
    let (_, earlier) = history.split_last()?;
    earlier.iter().rev().filter(|e| same(e) && s(e)).find_map(f)
}

/// `sequence(steps) within W` at the last event of `history`: replays the
/// owner's events through the step rule.
fn sequence(
    history: &[Ev],
    same: &dyn Fn(&Ev) -> bool,
    steps: &[&dyn Fn(&Ev) -> bool],
    w: i64,
) -> bool {
    let n = steps.len();
    // prefix[k]: latest start of a completed prefix of k + 1 steps.
    let mut prefix: Vec<Option<i64>> = vec![None; n - 1];
    let mut fired = false;
    for e in history.iter().filter(|e| same(e)) {
        fired = false;
        for k in (0..n).rev() {
            if !steps[k](e) {
                continue;
            }
            if k == 0 {
                prefix[0] = Some(prefix[0].map_or(e.t, |s| s.max(e.t)));
                break;
            }
            let Some(start) = prefix[k - 1] else { continue };
            if e.t < start || e.t - start > w {
                continue;
            }
            if k == n - 1 {
                fired = true;
                prefix.iter_mut().for_each(|p| *p = None);
            } else {
                prefix[k] = Some(prefix[k].map_or(start, |s| s.max(start)));
            }
            break;
        }
    }
    fired
}

/// Distinct values of `f` over a window of width `w` on the owner's events
/// from `from` (the state's creation) that `s` accepts.
fn distinct(
    history: &[Ev],
    same: &dyn Fn(&Ev) -> bool,
    from: usize,
    f: &dyn Fn(&Ev) -> Option<u8>,
    s: &dyn Fn(&Ev) -> bool,
    w: i64,
) -> u64 {
    let nb = bucket(w, newest_from(history, same, from));
    let set: HashSet<u8> = owned(history, same)
        .filter(|(j, e)| *j >= from && s(e))
        .filter(|(_, e)| bucket(w, e.t) <= nb && bucket(w, e.t) > nb - 60)
        .filter_map(|(_, e)| f(e))
        .collect();
    set.len() as u64
}

/// Events the owner counted (`hit`) over width `w`, from `from`.
fn count(
    history: &[Ev],
    same: &dyn Fn(&Ev) -> bool,
    from: usize,
    hit: &dyn Fn(&Ev) -> bool,
    w: i64,
) -> u64 {
    let nb = bucket(w, newest_from(history, same, from));
    owned(history, same)
        .filter(|(j, e)| *j >= from && hit(e))
        .filter(|(_, e)| bucket(w, e.t) <= nb && bucket(w, e.t) > nb - 60)
        .count() as u64
}

/// `first_seen(F where s, R)` on the owner's events from `from`: TRUE when
/// no earlier event remembered F within R of the newest time.
fn first_seen(
    history: &[Ev],
    same: &dyn Fn(&Ev) -> bool,
    from: usize,
    f: &dyn Fn(&Ev) -> Option<u8>,
    s: &dyn Fn(&Ev) -> bool,
    r: i64,
) -> Option<bool> {
    let (last, _) = history.split_last()?;
    let v = f(last)?;
    let n = history.len() - 1;
    let newest = newest_from(history, same, from);
    let known = (from..n).any(|j| {
        let e = &history[j];
        let newest_j = newest_from(&history[..=j], same, from);
        same(e) && s(e) && f(e) == Some(v) && newest_j - e.t < r && newest - e.t < r
    });
    Some(!known)
}

/// `(n, S, n·Q − S², x)` of `count over 1m` with 60 minutes of history, or
/// `None` while warming up.
fn minute_stats(
    history: &[Ev],
    same: &dyn Fn(&Ev) -> bool,
    active: bool,
) -> Option<(i128, i128, i128, i128)> {
    let newest = newest_from(history, same, 0);
    let m = newest.div_euclid(MINUTE);
    // Counted in the history: its minute was still held when it came.
    let f = history
        .iter()
        .enumerate()
        .filter(|(_, e)| same(e))
        .filter(|(j, e)| {
            let newest_j = newest_from(&history[..=*j], same, 0);
            e.t.div_euclid(MINUTE) >= newest_j.div_euclid(MINUTE) - 60
        })
        .map(|(_, e)| e.t.div_euclid(MINUTE))
        .min()?;
    let lo = f.max(m - 60);
    let totals: Vec<i128> = (lo..m)
        .map(|w| {
            history
                .iter()
                .filter(|e| same(e) && e.t.div_euclid(MINUTE) == w)
                .count() as i128
        })
        .collect();
    let n = if active {
        totals.iter().filter(|&&x| x > 0).count() as i128
    } else {
        if m - f < 10 {
            return None;
        }
        totals.len() as i128
    };
    if n < 10 {
        return None;
    }
    let s: i128 = totals.iter().sum();
    let q: i128 = totals.iter().map(|x| x * x).sum();
    let x = count(history, same, 0, &|_| true, MINUTE) as i128;
    Some((n, s, n * q - s * s, x))
}

/// `(n, S, n·Q − S², x)` of `distinct(ip) over 1m` with 30 minutes of
/// history: each complete minute's total is the number of addresses of the
/// events of that minute that came while it was the agent's newest minute
/// (a late event reaches the window, not a total already taken).
fn distinct_minute_stats(
    history: &[Ev],
    same: &dyn Fn(&Ev) -> bool,
    from: usize,
) -> Option<(i128, i128, i128, i128)> {
    let newest = newest_from(history, same, from);
    let m = newest.div_euclid(MINUTE);
    // (minute, address) of the events that count in a minute's total.
    let counted: Vec<(i64, u8)> = history
        .iter()
        .enumerate()
        .filter(|(j, e)| *j >= from && same(e))
        .filter_map(|(j, e)| {
            let newest_j = newest_from(&history[..=j], same, from);
            let w = e.t.div_euclid(MINUTE);
            (w == newest_j.div_euclid(MINUTE)).then_some((w, e.ip?))
        })
        .collect();
    let f = counted.iter().map(|&(w, _)| w).min()?;
    if m - f < 10 {
        return None;
    }
    let lo = f.max(m - 30);
    let totals: Vec<i128> = (lo..m)
        .map(|w| {
            let set: HashSet<u8> = counted
                .iter()
                .filter(|&&(cw, _)| cw == w)
                .map(|&(_, ip)| ip)
                .collect();
            set.len() as i128
        })
        .collect();
    let n = totals.len() as i128;
    let s: i128 = totals.iter().sum();
    let q: i128 = totals.iter().map(|x| x * x).sum();
    let x = distinct(history, same, from, &|e: &Ev| e.ip, &|_| true, MINUTE) as i128;
    Some((n, s, n * q - s * s, x))
}

/// `p/q` of a decimal literal.
fn ratio(text: &str) -> (i128, i128) {
    match text.split_once('.') {
        None => (text.parse().unwrap(), 1),
        Some((a, b)) => {
            let q = 10i128.pow(b.len() as u32);
            (
                a.parse::<i128>().unwrap() * q + b.parse::<i128>().unwrap(),
                q,
            )
        }
    }
}

/// `zscore > k` (k ≥ 0): `D > 0 ∧ D²q² > p²V`.
fn z_above(stats: Option<(i128, i128, i128, i128)>, k: &str) -> bool {
    let Some((n, s, v, x)) = stats else {
        return false;
    };
    let (p, q) = ratio(k);
    let d = n * x - s;
    v > 0 && d > 0 && d * d * q * q > p * p * v
}

impl Model {
    fn observe(&mut self, p: &Params, ev: &Ev) -> Seen {
        self.events.push(ev.clone());
        let h = &self.events[..];
        let agent = ev.agent;
        let same_agent = move |e: &Ev| e.agent == agent;
        let session = ev.session;
        // A key is UNKNOWN when a component is absent; the key's events are
        // those with the same (present) components.
        let same_session = move |e: &Ev| session.is_some() && e.session == session;
        let (kind, ip) = (ev.kind, ev.ip);
        let same_session_type = move |e: &Ev| same_session(e) && e.kind == kind;
        let same_ip_type = move |e: &Ev| ip.is_some() && e.ip == ip && e.kind == kind;
        let ip_of = |e: &Ev| e.ip;
        let min = |m: u32| i64::from(m) * MINUTE;

        let mut rules = BTreeSet::new();
        let mut values = BTreeMap::new();
        let mut probe = |id: &'static str, v: Option<String>| {
            if let Some(v) = v {
                rules.insert(id.to_string());
                values.insert(id, v);
            }
        };
        let (sr, st) = p.since_keyed;
        let is_a = |e: &Ev| e.kind == 0;
        let si = session.and_then(|_| since(h, &same_session, &is_a, min(sr)));
        probe("PSI", si.map(|d| format_duration(d as u64)));
        let sa = since(h, &same_agent, &|e: &Ev| e.failure, min(p.since_agent));
        probe("PSA", sa.map(|d| format_duration(d as u64)));
        let fi = session.and_then(|_| first(h, &same_session, &ip_of, &Ev::success, min(p.first)));
        probe("PFI", fi.map(ip_text));
        let not_c = |e: &Ev| e.kind != 2;
        let pa = previous(h, &same_agent, &ip_of, &not_c);
        probe("PPA", pa.map(ip_text));
        let tracked = ev.t
            - h.iter()
                .filter(|e| same_agent(e))
                .map(|e| e.t)
                .min()
                .unwrap_or(ev.t);
        probe("PTR", Some(format_duration(tracked as u64)));
        let dk = session.map(|_| match created(h, &same_session_type, &Ev::success) {
            Some(c) => distinct(h, &same_session_type, c, &ip_of, &Ev::success, 10 * MINUTE),
            None => 0,
        });
        probe("PDK", dk.map(|n| n.to_string()));
        let da = distinct(h, &same_agent, 0, &ip_of, &|e: &Ev| e.failure, 10 * MINUTE);
        probe("PDA", Some(da.to_string()));
        let failure = |e: &Ev| e.failure;
        let ck = ip.map(|_| match created(h, &same_ip_type, &failure) {
            Some(c) => count(h, &same_ip_type, c, &failure, 10 * MINUTE),
            None => 0,
        });
        probe("PCK", ck.map(|n| n.to_string()));
        let b_ok = |e: &Ev| e.kind == 1 && e.success();
        let cw = count(h, &same_agent, 0, &b_ok, 10 * MINUTE);
        probe("PCW", Some(cw.to_string()));

        let mut fire = |id: &str, yes: bool| {
            if yes {
                rules.insert(id.to_string());
            }
        };
        fire("SI", si.is_some_and(|d| d < min(st)));
        fire("FD", matches!((ip, fi), (Some(a), Some(b)) if a != b));
        let pv = session.and_then(|_| previous(h, &same_session, &ip_of, &not_c));
        fire("PV", matches!((pv, ip), (Some(a), Some(b)) if a != b));
        let is_b = |e: &Ev| e.kind == 1;
        fire(
            "SQ",
            session.is_some() && sequence(h, &same_session, &[&is_a, &is_b, &failure], min(p.seq3)),
        );
        fire("S2", sequence(h, &same_agent, &[&is_b, &is_a], min(p.seq2)));
        fire("TR", tracked >= min(p.tracked));
        let fk = session.and_then(|_| match created(h, &same_session, &Ev::success) {
            Some(c) => first_seen(h, &same_session, c, &ip_of, &Ev::success, min(p.first_seen)),
            // No state yet: a present value is new.
            None => ip.map(|_| true),
        });
        fire("FK", fk == Some(true));
        let fa = first_seen(h, &same_agent, 0, &ip_of, &is_a, min(p.first_seen));
        fire("FA", fa == Some(true));
        let how = |e: &Ev| Some(new_york_hour_of_week(e.t));
        let fw = first_seen(h, &same_agent, 0, &how, &|_| true, min(p.first_seen));
        fire("FW", fw == Some(true));
        fire("Z", z_above(minute_stats(h, &same_agent, false), p.z));
        fire(
            "ZA",
            z_above(minute_stats(h, &same_agent, true), p.z_active),
        );
        let sd = minute_stats(h, &same_agent, false).is_some_and(|(n, _, v, _)| {
            let (a, b) = ratio(p.sd);
            v * b * b > a * a * n * n
        });
        fire("SD", sd);
        let dstats = distinct_minute_stats(h, &same_agent, 0);
        // Per session: the key's state is made by its first event.
        let kstats = session
            .and_then(|_| created(h, &same_session, &|_| true))
            .and_then(|c| distinct_minute_stats(h, &same_session, c));
        fire("ZK", z_above(kstats, p.z_active));
        fire("ZD", z_above(dstats, p.z));
        fire("BD", dstats.is_some_and(|(n, s, _, x)| x * n > 2 * s));
        Seen { rules, values }
    }
}

// ---------------------------------------------------------------------------
// The engine

fn event(ev: &Ev) -> Event<'static> {
    let mut b = Event::builder(format!("agent-{}", ev.agent), ev.t)
        .actor(ActorKind::ServiceApp)
        .categories(Categories::AUTHENTICATION)
        .event_type(ev.ty())
        .outcome(if ev.failure { "FAILURE" } else { "SUCCESS" });
    if let Some(ip) = ev.ip {
        b = b.ip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, ip)));
    }
    if let Some(s) = ev.session {
        b = b.user_agent(format!("s{s}"));
    }
    b.build()
}

/// The value a probe printed: `… <value> <op> <literal>`, the word before
/// the comparison on the line that names the metric.
fn probe_value(label: &str, lines: &[String]) -> Option<String> {
    let line = lines.iter().find(|l| l.contains(label))?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let value = words.len().checked_sub(3)?;
    words.get(value).map(|w| (*w).to_string())
}

fn run_engine(engine: &Engine, ev: &Ev) -> Seen {
    let e = event(ev);
    let v = engine.evaluate_explained(&e);
    let rules: BTreeSet<String> = v.rule_ids().map(str::to_string).collect();
    let values = PROBES
        .iter()
        .filter_map(|&(id, label)| {
            let m = v.matches().find(|m| m.rule() == id)?;
            Some((id, probe_value(label, m.explanation().unwrap_or_default())?))
        })
        .collect();
    Seen { rules, values }
}

// ---------------------------------------------------------------------------
// Streams

#[derive(Clone, Debug)]
enum Step {
    Same,
    Soon(i64),
    Later(i64),
    Gap(i64),
    /// An idle gap of a day or more.
    Days(i64),
    Late(i64),
}

fn step() -> impl Strategy<Value = Step> {
    // Whole seconds and half minutes, so that spans of exactly a window,
    // a retention or a sequence's `within` are common (their bounds are
    // where an off-by-one would hide).
    prop_oneof![
        3 => Just(Step::Same),
        8 => (0..20i64).prop_map(|s| Step::Soon(s * SECOND)),
        4 => (0..10i64).prop_map(|h| Step::Later(h * 30 * SECOND)),
        1 => (10 * MINUTE..3 * HOUR).prop_map(Step::Gap),
        1 => (DAY..3 * DAY).prop_map(Step::Days),
        2 => (0..240i64).prop_map(|h| Step::Late(h * 30 * SECOND)),
    ]
}

type Raw = (Step, u8, Option<u8>, bool, u8, Option<u8>);

fn raw() -> impl Strategy<Value = Raw> {
    (
        step(),
        0u8..2,
        prop::option::weighted(0.9, 0u8..6),
        prop::bool::weighted(0.3),
        0u8..3,
        prop::option::weighted(0.85, 0u8..3),
    )
}

fn stream(base: i64, raw: Vec<Raw>) -> Vec<Ev> {
    let mut now = base;
    raw.into_iter()
        .map(|(step, agent, ip, failure, kind, session)| {
            let t = match step {
                Step::Same => now,
                Step::Soon(d) | Step::Later(d) | Step::Gap(d) | Step::Days(d) => {
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
                kind,
                session,
            }
        })
        .collect()
}

fn params() -> impl Strategy<Value = Params> {
    let minutes = || prop::sample::select(vec![1u32, 2, 5, 30, 120, 2880]);
    let k = || prop::sample::select(vec!["0", "0.5", "1", "2.5", "3"]);
    (
        (minutes(), minutes(), minutes(), minutes()),
        (minutes(), minutes(), minutes(), minutes()),
        (k(), k(), k()),
    )
        .prop_map(
            |((sr, st, sa, first), (seq3, seq2, first_seen, tracked), (z, z_active, sd))| Params {
                since_keyed: (sr, st),
                since_agent: sa,
                first,
                seq3,
                seq2,
                first_seen,
                tracked,
                z,
                z_active,
                sd,
            },
        )
}

fn check(p: &Params, events: &[Ev]) -> Result<(), TestCaseError> {
    let text = rules_text(p);
    let set = RuleSet::from_source("stateful.rules", &text)
        .map_err(|d| TestCaseError::fail(format!("{d:?}\n{text}")))?;
    let engine = Engine::builder(set.compile())
        .forward_skew_limit_ms(None)
        .build()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut model = Model::default();
    for (i, ev) in events.iter().enumerate() {
        let want = model.observe(p, ev);
        let got = run_engine(&engine, ev);
        prop_assert_eq!(
            &got,
            &want,
            "event {} of {}: {:?}\n{:?}",
            i,
            events.len(),
            ev,
            p
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn stateful_metrics_agree_with_the_naive_model(
        p in params(),
        base in prop::sample::select(vec![BASE, DST_BASE]),
        raw in prop::collection::vec(raw(), 300..=300),
    ) {
        check(&p, &stream(base, raw))?;
    }
}

/// A steady hour of traffic then a burst: the z-score and standard
/// deviation rules certainly warm up and fire (not just likely).
#[test]
fn a_steady_hour_then_a_burst_fires_the_statistics() {
    let p = Params {
        since_keyed: (30, 5),
        since_agent: 30,
        first: 30,
        seq3: 30,
        seq2: 30,
        first_seen: 30,
        tracked: 30,
        z: "3",
        z_active: "2.5",
        sd: "0.4",
    };
    let mut events = Vec::new();
    // Two events a minute for 40 minutes, one in some minutes.
    for m in 0..40i64 {
        let n = if m % 3 == 0 { 1 } else { 2 };
        for i in 0..n {
            events.push(Ev {
                agent: 0,
                t: BASE + m * MINUTE + i * SECOND,
                ip: Some(1 + (i as u8) * (m % 2) as u8),
                failure: false,
                kind: 2,
                session: Some(0),
            });
        }
    }
    // A burst of 12 in the 41st minute.
    for i in 0..12 {
        events.push(Ev {
            agent: 0,
            t: BASE + 40 * MINUTE + i * SECOND,
            ip: Some((i % 6) as u8),
            failure: false,
            kind: 2,
            session: Some(0),
        });
    }
    check(&p, &events).unwrap();
    let engine = Engine::builder(
        RuleSet::from_source("s.rules", &rules_text(&p))
            .unwrap()
            .compile(),
    )
    .forward_skew_limit_ms(None)
    .build()
    .unwrap();
    let mut fired = BTreeSet::new();
    for ev in &events {
        fired.extend(engine.evaluate(&event(ev)).rule_ids().map(str::to_string));
    }
    for id in ["Z", "ZA", "SD", "TR", "PTR", "ZD", "BD", "ZK"] {
        assert!(fired.contains(id), "{id} never fired: {fired:?}");
    }
}
