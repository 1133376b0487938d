//! Evaluating compiled conditions on one event, with Kleene three-valued
//! logic for absent values.
//!
//! Nothing here allocates, except [`Ctx::explain`], which runs only for rules
//! that fired and only when an explanation was asked for.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::Arc;

use ahash::AHashSet;
use chrono::{Offset, TimeZone};
use serde_json::Value;

use crate::compile::program::field_name;
use crate::compile::program::*;
use crate::input::event::{client_ip, ActorKind, Event};
use crate::input::profile::ProfileValue;
use crate::lang::ast::{ArithOp, CmpOp, StrOp};
use crate::num::Num;
use crate::run::derived::clock_value;
use crate::run::similarity::jaro_winkler;

pub use crate::compile::value::{compare_values, V};
use crate::run::state::{CellOut, CellRead, HistoryStats};

/// Where metric values come from (the state store's read of this event).
pub trait MetricSource {
    /// Counter `i` (`None`: unknown, e.g. `by F` with F absent).
    fn count(&self, i: u32) -> Option<u64>;
    /// Baseline of counter `i` over `windows`: exact `(sum, windows)`, `None` while warming up.
    fn baseline(&self, i: u32, windows: u32) -> Option<(u64, u64)>;
    /// Distinct metric `i`.
    fn distinct(&self, i: u32) -> Option<u64>;
    /// First-seen metric `i`.
    fn first_seen(&self, i: u32) -> Option<bool>;
    /// What cell metric `i` read (`None`: no state store).
    fn cell(&self, _i: u32) -> Option<&CellOut> {
        None
    }
    /// History statistics of counter `i` over `windows` windows.
    fn stats(&self, _i: u32, _windows: u32) -> Option<HistoryStats> {
        None
    }
    /// History statistics of distinct metric `i` over `windows` windows.
    fn distinct_stats(&self, _i: u32, _windows: u32) -> Option<HistoryStats> {
        None
    }
}

/// No state: every metric is unknown.
pub struct NoMetrics;

impl MetricSource for NoMetrics {
    fn count(&self, _: u32) -> Option<u64> {
        None
    }
    fn baseline(&self, _: u32, _: u32) -> Option<(u64, u64)> {
        None
    }
    fn distinct(&self, _: u32) -> Option<u64> {
        None
    }
    fn first_seen(&self, _: u32) -> Option<bool> {
        None
    }
}

/// A profile with the program's profile paths resolved to slots.
#[derive(Debug, Clone, Default)]
pub struct ResolvedProfile {
    /// Slot values.
    pub slots: Box<[ProfileSlot]>,
}

/// One resolved profile value.
#[derive(Debug, Clone, Default)]
pub struct ProfileSlot {
    /// The value, if the profile has it (shared with the profile, not copied).
    pub value: Option<ProfileValue>,
    /// For an array of strings longer than a short scan: the strings, hashed.
    pub set: Option<Box<AHashSet<Arc<str>>>>,
    /// The value is an array of strings only (known once, not per event).
    pub strings: bool,
}

impl ResolvedProfile {
    /// The slots `from` names, in that order (a program's profile paths
    /// found among another's).
    pub fn select(&self, from: &[usize]) -> Self {
        ResolvedProfile {
            slots: from
                .iter()
                .map(|&i| self.slots.get(i).cloned().unwrap_or_default())
                .collect(),
        }
    }

    /// Resolves a profile for `program`'s profile paths; `get` reads a
    /// (nested) field of the profile.
    pub fn resolve<'p>(
        program: &Program,
        get: impl Fn(&[&str]) -> Option<&'p ProfileValue>,
    ) -> Self {
        let slots = program
            .profile_paths
            .iter()
            .enumerate()
            .map(|(slot, path)| {
                let segs: Vec<&str> = path.iter().map(|s| &**s).collect();
                let mut value = get(&segs).cloned();
                if program
                    .profile_list_slots
                    .get(slot)
                    .copied()
                    .unwrap_or(false)
                {
                    // Read as a list: an array of strings, anything else is
                    // the empty list (fail closed: `not in` is true), and
                    // an element that is not a string is skipped. A list
                    // with a stray element no longer makes every test of it
                    // unknown. `Profiles::check_types` reports both.
                    value = match value {
                        Some(ProfileValue::Array(items))
                            if items.iter().all(ProfileValue::is_string) =>
                        {
                            Some(ProfileValue::Array(items))
                        }
                        Some(ProfileValue::Array(items)) => Some(ProfileValue::Array(
                            items.iter().filter(|v| v.is_string()).cloned().collect(),
                        )),
                        _ => None,
                    };
                }
                let set = match &value {
                    Some(ProfileValue::Array(items))
                        if items.len() > SCAN_MAX && items.iter().all(ProfileValue::is_string) =>
                    {
                        Some(Box::new(
                            items
                                .iter()
                                .filter_map(|v| match v {
                                    ProfileValue::String(s) => Some(Arc::clone(s)),
                                    _ => None,
                                })
                                .collect(),
                        ))
                    }
                    _ => None,
                };
                let strings = matches!(&value, Some(ProfileValue::Array(items))
                    if items.iter().all(ProfileValue::is_string));
                ProfileSlot {
                    value,
                    set,
                    strings,
                }
            })
            .collect();
        ResolvedProfile { slots }
    }
}

/// Profile string lists up to this long are searched by a scan, not a hash.
const SCAN_MAX: usize = 8;

/// Everything a condition can read while one event is evaluated.
pub struct Ctx<'a> {
    /// The program.
    pub program: &'a Program,
    /// The event.
    pub event: &'a Event<'a>,
    /// Metric values after counting this event.
    pub metrics: &'a dyn MetricSource,
    /// The agent's profile, if it has one.
    pub profile: Option<&'a ResolvedProfile>,
    /// The element inside `any(...)`.
    pub elem: Option<&'a Value>,
    /// What this evaluation's values borrow beyond the event: decoded
    /// `json(...)` sources and dates (`Scratch::new(program)`).
    pub scratch: &'a Scratch,
}

/// Looks a key up in a JSON object: exact first, then the first key in
/// document order equal to it ignoring ASCII case ([`crate::input::event::get_ci`]).
pub use crate::input::event::get_ci;

/// Follows a path (keys through objects, indexes through arrays), and
/// every value at a path (arrays flattened); see [`crate::input::json_path`].
pub use crate::input::json_path::{any_at_path, scalar_path};

pub use crate::run::derived::Scratch;

/// What a value reads before it is made a scalar: `json(...)` decodes a
/// string and keeps an object or array as it is.
enum Raw<'a> {
    Json(&'a Value),
    Str(&'a str),
    Absent,
}

/// A JSON scalar as a value.
pub fn json_value(v: &Value) -> V<'_> {
    match v {
        Value::String(s) => V::Str(s),
        Value::Number(n) => number_value(n),
        Value::Bool(b) => V::Bool(*b),
        _ => V::Absent,
    }
}

/// A profile's scalar as a value.
pub fn profile_value(v: &ProfileValue) -> V<'_> {
    match v {
        ProfileValue::String(s) => V::Str(s),
        ProfileValue::Number(n) => number_value(n),
        ProfileValue::Bool(b) => V::Bool(*b),
        _ => V::Absent,
    }
}

fn number_value(n: &serde_json::Number) -> V<'static> {
    match n.as_i64() {
        Some(i) => V::Num(Num::int(i)),
        None => n.as_f64().map_or(V::Absent, |f| V::Num(Num::from_f64(f))),
    }
}

fn and<T>(parts: &[T], mut f: impl FnMut(&T) -> Tri) -> Tri {
    let mut out = Tri::True;
    for p in parts {
        match f(p) {
            Tri::False => return Tri::False,
            Tri::Unknown => out = Tri::Unknown,
            Tri::True => {}
        }
    }
    out
}

fn or<T>(parts: &[T], mut f: impl FnMut(&T) -> Tri) -> Tri {
    let mut out = Tri::False;
    for p in parts {
        match f(p) {
            Tri::True => return Tri::True,
            Tri::Unknown => out = Tri::Unknown,
            Tri::False => {}
        }
    }
    out
}

/// Minute of the day of `time_ms` in `zone` ([`local_clock`] without the
/// day of the week).
pub fn local_minute(time_ms: i64, zone: Zone) -> u16 {
    match zone {
        Zone::Fixed(s) => {
            let local = time_ms.div_euclid(1000).saturating_add(i64::from(s));
            u16::try_from(local.rem_euclid(86_400) / 60).unwrap_or(0)
        }
        Zone::Named(_) => local_clock(time_ms, zone).0,
    }
}

/// Minute of the day and day of the week (Monday = 0) of `time_ms` in `zone`.
pub fn local_clock(time_ms: i64, zone: Zone) -> (u16, u8) {
    let secs = time_ms.div_euclid(1000);
    let offset = match zone {
        Zone::Fixed(s) => i64::from(s),
        Zone::Named(tz) => match chrono::DateTime::from_timestamp(secs, 0) {
            Some(dt) => i64::from(
                tz.offset_from_utc_datetime(&dt.naive_utc())
                    .fix()
                    .local_minus_utc(),
            ),
            None => 0,
        },
    };
    let local = secs.saturating_add(offset);
    let minute = u16::try_from(local.rem_euclid(86_400) / 60).unwrap_or(0);
    // 1970-01-01 was a Thursday (3 when Monday is 0).
    let weekday = u8::try_from((local.div_euclid(86_400) + 3).rem_euclid(7)).unwrap_or(0);
    (minute, weekday)
}

impl<'a> Ctx<'a> {
    /// Evaluates a rule's trigger for an event that the program's candidate
    /// index selected for the rule: the actor-and-category phrases directly
    /// under the trigger's top-level `AND` (or the trigger itself) are implied
    /// by that selection, so they are not tested again.
    pub fn candidate_trigger(&self, c: &'a Cond) -> Tri {
        match c {
            Cond::Actor { .. } => Tri::True,
            Cond::And(parts) => and(parts, |p| match p {
                Cond::Actor { .. } => Tri::True,
                p => self.cond(p),
            }),
            c => self.cond(c),
        }
    }

    /// Evaluates a compiled condition ([`Op`]): the same value as the
    /// [`Cond`] it was compiled from.
    pub fn op(&self, op: &'a Op) -> Tri {
        match op {
            Op::Const(t) => *t,
            Op::And(parts) => and(parts, |p| self.op(p)),
            Op::Or(parts) => or(parts, |p| self.op(p)),
            Op::Not(inner) => self.op(inner).not(),
            Op::StrEq { field, value, eq } => match self.field(*field) {
                V::Str(s) => Tri::from_bool((s == &**value) == *eq),
                _ => Tri::Unknown,
            },
            Op::StrIn {
                field,
                list,
                negated,
            } => match (self.field(*field), self.program.lists.get(*list as usize)) {
                (V::Str(s), Some(ListData::Strs(set))) => {
                    Tri::from_bool(set.contains(s) != *negated)
                }
                _ => Tri::Unknown,
            },
            Op::IpIn { list, negated } => {
                match (
                    self.event.ip.and_then(client_ip),
                    self.program.lists.get(*list as usize),
                ) {
                    (Some(ip), Some(ListData::Ips(set))) => {
                        Tri::from_bool(set.contains(ip) != *negated)
                    }
                    _ => Tri::Unknown,
                }
            }
            Op::NumCmp { field, op, value } => {
                compare_values(*op, &self.field(*field), &V::Num(*value))
            }
            Op::Actor { kinds, cat } => {
                let bit = 1u8 << actor_bit_index(self.event.actor);
                Tri::from_bool(kinds & bit != 0 && self.event.categories.contains(*cat))
            }
            Op::Cond(c) => self.cond(c),
        }
    }

    /// Evaluates a condition.
    pub fn cond(&self, c: &'a Cond) -> Tri {
        match c {
            Cond::Const(t) => *t,
            Cond::And(parts) => and(parts, |p| self.cond(p)),
            Cond::Or(parts) => or(parts, |p| self.cond(p)),
            Cond::Not(inner) => self.cond(inner).not(),
            Cond::Cmp(op, a, b, _) => compare_values(*op, &self.val(a), &self.val(b)),
            Cond::In {
                negated,
                item,
                list,
                ..
            } => {
                let t = self.member(&self.val(item), list);
                if *negated {
                    t.not()
                } else {
                    t
                }
            }
            Cond::StrOp(op, a, b, _) => match (self.val(a), self.val(b)) {
                (V::Str(x), V::Str(y)) => Tri::from_bool(match op {
                    StrOp::StartsWith => x.starts_with(y),
                    StrOp::EndsWith => x.ends_with(y),
                    StrOp::Contains => x.contains(y),
                    StrOp::Matches => false,
                }),
                _ => Tri::Unknown,
            },
            Cond::Matches(a, re, _) => match self.val(a) {
                V::Str(s) => Tri::from_bool(re.is_match(s)),
                _ => Tri::Unknown,
            },
            Cond::Actor { kinds, cat, .. } => {
                let bit = 1u8 << actor_bit_index(self.event.actor);
                Tri::from_bool(kinds & bit != 0 && self.event.categories.contains(*cat))
            }
            Cond::Scope { negated, list } => self.scope(*negated, list).0,
            Cond::TimeOfDay {
                outside,
                start,
                end,
                zone,
                ..
            } => {
                let m = local_minute(self.event.time_ms, *zone);
                let inside = if start < end {
                    *start <= m && m < *end
                } else {
                    m >= *start || m < *end
                };
                Tri::from_bool(inside != *outside)
            }
            Cond::Days { mask, zone, .. } => {
                let (_, d) = local_clock(self.event.time_ms, *zone);
                Tri::from_bool(mask & (1 << d) != 0)
            }
            // Exactly one of the two holds for every value.
            Cond::Exists(v, _) => Tri::from_bool(!self.is_missing(v)),
            Cond::Missing(v, _) => Tri::from_bool(self.is_missing(v)),
            Cond::FirstSeen(i, _) => self
                .metrics
                .first_seen(*i)
                .map_or(Tri::Unknown, Tri::from_bool),
            Cond::Cell(i, _) => match self.metrics.cell(*i).map(|c| c.read) {
                Some(CellRead::Bool(b)) => Tri::from_bool(b),
                _ => Tri::Unknown,
            },
            Cond::StatCmp(op, stat, k, _) => match self.stat_order(stat, *k) {
                Some(ord) => Tri::from_bool(match op {
                    CmpOp::Eq => ord.is_eq(),
                    CmpOp::Ne => ord.is_ne(),
                    CmpOp::Lt => ord.is_lt(),
                    CmpOp::Le => ord.is_le(),
                    CmpOp::Gt => ord.is_gt(),
                    CmpOp::Ge => ord.is_ge(),
                }),
                None => Tri::Unknown,
            },
            Cond::Truthy(v, _) => match self.val(v) {
                V::Bool(b) => Tri::from_bool(b),
                _ => Tri::Unknown,
            },
            Cond::Any(path, cond, _) => {
                let mut out = Tri::False;
                let Some(root) = self.attr_root() else {
                    return Tri::False;
                };
                let Some(at) = scalar_path(root, path) else {
                    return Tri::False;
                };
                let items: &[Value] = match at {
                    Value::Array(items) => items,
                    other => std::slice::from_ref(other),
                };
                for item in items {
                    let sub = Ctx {
                        elem: Some(item),
                        ..*self
                    };
                    match sub.cond(cond) {
                        Tri::True => return Tri::True,
                        Tri::Unknown => out = Tri::Unknown,
                        Tri::False => {}
                    }
                }
                out
            }
        }
    }

    /// `missing(v)`: no value (absent, JSON `null`, not a present list) or
    /// the string `"null"`, which stands for null (Okta writes it); `exists(v)`
    /// is its negation.
    fn is_missing(&self, v: &'a Val) -> bool {
        match self.val(v) {
            V::Absent => !self.is_present_list(v),
            V::Str(s) => s == "null",
            _ => false,
        }
    }

    /// True when `v` names a profile list that is present (lists are not scalar values).
    fn is_present_list(&self, v: &Val) -> bool {
        match v {
            Val::Profile(slot) => self
                .slot(*slot)
                .is_some_and(|s| s.value.as_ref().is_some_and(|v| !v.is_null())),
            Val::Field(Field::Scopes) => !self.event.scopes.is_empty(),
            Val::Field(Field::GrantedScopes) => !self.event.granted_scopes.is_empty(),
            Val::Attr(path) => self
                .attr_root()
                .and_then(|r| scalar_path(r, path))
                .is_some_and(|v| !v.is_null()),
            Val::Json(j) => self.json(j).is_some_and(|v| !v.is_null()),
            _ => false,
        }
    }

    fn attr_root(&self) -> Option<&'a Value> {
        match &self.event.attrs {
            Value::Null => None,
            v => Some(v),
        }
    }

    fn slot(&self, slot: u32) -> Option<&'a ProfileSlot> {
        self.profile.and_then(|p| p.slots.get(slot as usize))
    }

    /// Is `item` in `list`? An absent item is UNKNOWN; an absent list is empty.
    fn member(&self, item: &V<'_>, list: &ListRef) -> Tri {
        if matches!(item, V::Absent) {
            return Tri::Unknown;
        }
        match list {
            ListRef::Const(i, _) => match self.program.lists.get(*i as usize) {
                Some(ListData::Ips(set)) => match item {
                    V::Ip(ip) => Tri::from_bool(set.contains(*ip)),
                    V::Str(s) => s
                        .parse::<IpAddr>()
                        .map_or(Tri::Unknown, |ip| Tri::from_bool(set.contains(ip))),
                    _ => Tri::Unknown,
                },
                Some(ListData::Strs(set)) => match item {
                    V::Str(s) => Tri::from_bool(set.contains(*s)),
                    _ => Tri::Unknown,
                },
                Some(ListData::Nums(nums)) => match item {
                    V::Num(n) => Tri::from_bool(nums.iter().any(|x| x == n)),
                    _ => Tri::Unknown,
                },
                Some(ListData::Empty) | None => Tri::False,
            },
            ListRef::Profile(slot, _) => match self.slot(*slot) {
                None
                | Some(ProfileSlot {
                    value: None | Some(ProfileValue::Null),
                    ..
                }) => Tri::False,
                Some(ProfileSlot {
                    value: Some(ProfileValue::Array(items)),
                    set,
                    strings: only_strings,
                }) => {
                    // A short list of strings (the usual scope list) is
                    // scanned: cheaper than hashing the string.
                    let strings = set.is_some() || (items.len() <= SCAN_MAX && *only_strings);
                    match (item, set) {
                        // A list of addresses and CIDR blocks.
                        (V::Ip(_), _) => profile_member(item, items),
                        (V::Str(s), Some(set)) => Tri::from_bool(set.contains(*s)),
                        (V::Str(s), None) if strings => {
                            Tri::from_bool(items.iter().any(|v| v.as_str() == Some(*s)))
                        }
                        _ if strings => Tri::Unknown,
                        _ => profile_member(item, items),
                    }
                }
                Some(_) => Tri::Unknown,
            },
            ListRef::Field(f, _) => {
                let list = if *f == Field::Scopes {
                    &self.event.scopes
                } else {
                    &self.event.granted_scopes
                };
                match item {
                    V::Str(s) => Tri::from_bool(list.iter().any(|x| x == s)),
                    _ => Tri::Unknown,
                }
            }
            ListRef::Attr(path, _) => {
                let Some(root) = self.attr_root() else {
                    return Tri::False;
                };
                let mut unknown = false;
                let found = any_at_path(root, path, &mut |v| match member_eq(
                    item,
                    v.as_str(),
                    json_value(v),
                ) {
                    Tri::True => true,
                    Tri::Unknown => {
                        unknown |= !v.is_null();
                        false
                    }
                    Tri::False => false,
                });
                if found {
                    Tri::True
                } else if unknown {
                    Tri::Unknown
                } else {
                    Tri::False
                }
            }
        }
    }

    /// `includes scope [not] in L`, and the scope that decided it.
    fn scope(&self, negated: bool, list: &ListRef) -> (Tri, Option<&'a str>) {
        let mut out = (Tri::False, None);
        for s in &self.event.scopes {
            if s.is_empty() {
                continue;
            }
            let t = self.member(&V::Str(s), list);
            let t = if negated { t.not() } else { t };
            match t {
                Tri::True => return (Tri::True, Some(s)),
                Tri::Unknown => out = (Tri::Unknown, None),
                Tri::False => {}
            }
        }
        out
    }

    /// The statistics a [`StatRef`] reads: `(n, S, n·Q − S², x)` with `n`
    /// the history windows (active ones with `active`), `S` and `Q` the sum
    /// and sum of squares of their totals and `x` the current value; `None`
    /// during warm-up.
    fn stat_parts(&self, stat: &StatRef) -> Option<(u64, u64, u128, u64)> {
        let h = match stat.of {
            StatOf::Counter => self.metrics.stats(stat.counter, stat.windows)?,
            StatOf::Distinct => self.metrics.distinct_stats(stat.counter, stat.windows)?,
            StatOf::KeyedDistinct => self
                .metrics
                .cell(stat.counter)?
                .history_stats(stat.windows)?,
        };
        let n = if stat.active {
            h.active
        } else {
            if h.age < crate::run::state::WARMUP_WINDOWS {
                return None;
            }
            h.windows
        };
        if n < crate::run::state::WARMUP_WINDOWS || n == 0 {
            return None;
        }
        let var = u128::from(n)
            .checked_mul(h.sum_sq)?
            .checked_sub(u128::from(h.sum).checked_mul(u128::from(h.sum))?)?;
        let x = match stat.of {
            StatOf::Counter => self.metrics.count(stat.counter)?,
            StatOf::Distinct => self.metrics.distinct(stat.counter)?,
            StatOf::KeyedDistinct => match self.metrics.cell(stat.counter)?.read {
                CellRead::Count(n) => n,
                _ => return None,
            },
        };
        Some((n, h.sum, var, x))
    }

    /// A statistic's value: the mean (exact), the standard deviation or
    /// the z-score (floats); `None` when unknown (warm-up, a z-score with
    /// a standard deviation of 0).
    fn stat_value(&self, stat: &StatRef) -> Option<Num> {
        let (n, sum, var, x) = self.stat_parts(stat)?;
        match stat.kind {
            StatKind::Mean => Some(Num::ratio(sum, n)),
            StatKind::Stddev => Some(Num::Float((var as f64).sqrt() / n as f64)),
            StatKind::Zscore => {
                if var == 0 {
                    return None;
                }
                let d = i128::from(n) * i128::from(x) - i128::from(sum);
                Some(Num::Float(d as f64 / (var as f64).sqrt()))
            }
        }
    }

    /// How a statistic compares with the literal `k`, decided exactly in
    /// integers: `z = D / sqrt(V)` with `D = n·x − S`, `V = n·Q − S²`, so
    /// for `k = p/q ≥ 0`, `z > k ⟺ D > 0 ∧ D²q² > p²V`; and
    /// `stddev = sqrt(V) / n`, so `stddev > k ⟺ V q² > p² n²`.
    fn stat_order(&self, stat: &StatRef, k: Num) -> Option<std::cmp::Ordering> {
        use std::cmp::Ordering;
        let (n, sum, var, x) = self.stat_parts(stat)?;
        let (p, q) = match k {
            Num::Ratio(p, q) if q > 0 => (p, q),
            _ => {
                let v = self.stat_value(stat)?;
                return v.partial_cmp(&k);
            }
        };
        let exact = || -> Option<Ordering> {
            let p2 = p.checked_mul(p)?;
            let q2 = q.checked_mul(q)?;
            let var = i128::try_from(var).ok()?;
            match stat.kind {
                StatKind::Mean => None,
                StatKind::Stddev => {
                    if p < 0 {
                        return Some(Ordering::Greater);
                    }
                    let n = i128::from(n);
                    let lhs = var.checked_mul(q2)?;
                    let rhs = p2.checked_mul(n.checked_mul(n)?)?;
                    Some(lhs.cmp(&rhs))
                }
                StatKind::Zscore => {
                    if var == 0 {
                        return None;
                    }
                    let d = i128::from(n)
                        .checked_mul(i128::from(x))?
                        .checked_sub(i128::from(sum))?;
                    let d2q2 = d.checked_mul(d)?.checked_mul(q2)?;
                    let p2v = p2.checked_mul(var)?;
                    Some(if p >= 0 {
                        if d < 0 {
                            Ordering::Less
                        } else {
                            d2q2.cmp(&p2v)
                        }
                    } else if d >= 0 {
                        Ordering::Greater
                    } else {
                        p2v.cmp(&d2q2)
                    })
                }
            }
        };
        match exact() {
            Some(o) => Some(o),
            None if stat.kind == StatKind::Zscore && var == 0 => None,
            None => self.stat_value(stat)?.partial_cmp(&k),
        }
    }

    /// A statistic with what it was computed from, for explanations.
    fn show_stat(&self, stat: &StatRef, value: &V<'_>) -> String {
        let name = match stat.kind {
            StatKind::Mean => "baseline",
            StatKind::Stddev => "stddev",
            StatKind::Zscore => "zscore",
        };
        let i = stat.counter as usize;
        let label = match stat.of {
            StatOf::Counter => self.program.counters.get(i).map_or("count", |c| &*c.label),
            StatOf::Distinct => self
                .program
                .distincts
                .get(i)
                .map_or("distinct", |d| &*d.label),
            StatOf::KeyedDistinct => self.program.cells.get(i).map_or("distinct", |c| &*c.label),
        };
        let shown = match value {
            V::Num(Num::Float(f)) => format!("{f:.3}"),
            other => other.to_string(),
        };
        let windows = if stat.active {
            "active windows"
        } else {
            "windows"
        };
        match self.stat_parts(stat) {
            Some((n, sum, var, x)) => format!(
                "{name}({label}) {shown} (current {x}, mean {:.3}, stddev {:.3} over {n} {windows})",
                sum as f64 / n as f64,
                (var as f64).sqrt() / n as f64
            ),
            None => format!("{name}({label}) unknown (warming up)"),
        }
    }

    /// Evaluates a value.
    pub fn val(&self, v: &'a Val) -> V<'a> {
        match v {
            Val::Num(n) => V::Num(*n),
            Val::Str(s) => V::Str(s),
            Val::Ip(ip) => V::Ip(*ip),
            Val::Time(t) => V::Time(*t),
            Val::Dur(d) => V::Dur(*d),
            Val::Bool(b) => V::Bool(*b),
            Val::Field(f) => self.field(*f),
            Val::Attr(path) => self
                .attr_root()
                .and_then(|r| scalar_path(r, path))
                .map_or(V::Absent, json_value),
            Val::Elem(path) => self
                .elem
                .and_then(|e| scalar_path(e, path))
                .map_or(V::Absent, json_value),
            Val::Profile(slot) => self
                .slot(*slot)
                .and_then(|s| s.value.as_ref())
                .map_or(V::Absent, profile_value),
            Val::Count(i) => self
                .metrics
                .count(*i)
                .map_or(V::Absent, |c| V::Num(Num::count(c))),
            Val::Distinct(i) => self
                .metrics
                .distinct(*i)
                .map_or(V::Absent, |c| V::Num(Num::count(c))),
            Val::Baseline { counter, windows } => self
                .metrics
                .baseline(*counter, *windows)
                .map_or(V::Absent, |(sum, n)| V::Num(Num::ratio(sum, n))),
            Val::Stat(stat) => self.stat_value(stat).map_or(V::Absent, V::Num),
            Val::Cell(i) => match self.metrics.cell(*i) {
                Some(c) => match c.read {
                    CellRead::Unknown => V::Absent,
                    CellRead::Dur(d) => V::Dur(d),
                    CellRead::Bool(b) => V::Bool(b),
                    CellRead::Count(n) => V::Num(Num::count(n)),
                    CellRead::Value => c.value.as_v(),
                },
                None => V::Absent,
            },
            Val::Arith(op, a, b) => match (self.val(a), self.val(b)) {
                (V::Num(x), V::Num(y)) => {
                    let r = match op {
                        ArithOp::Add => x.add(y),
                        ArithOp::Sub => x.sub(y),
                        ArithOp::Mul => x.mul(y),
                        ArithOp::Div => x.div(y),
                    };
                    if r.is_nan() {
                        V::Absent
                    } else {
                        V::Num(r)
                    }
                }
                _ => V::Absent,
            },
            Val::Neg(a) => match self.val(a) {
                V::Num(x) => V::Num(x.neg()),
                _ => V::Absent,
            },
            Val::Abs(a) => match self.val(a) {
                V::Num(x) => V::Num(x.abs()),
                _ => V::Absent,
            },
            Val::Min(args) | Val::Max(args) => {
                let want_max = matches!(v, Val::Max(_));
                let mut best: Option<Num> = None;
                for a in args.iter() {
                    if let V::Num(x) = self.val(a) {
                        best = Some(match best {
                            None => x,
                            Some(b) if want_max == (x > b) && x != b => x,
                            Some(b) => b,
                        });
                    }
                }
                best.map_or(V::Absent, V::Num)
            }
            Val::Len(list) => V::Num(Num::count(self.len(list))),
            Val::Named(_, inner) => self.val(inner),
            Val::Json(j) => self.json(j).map_or(V::Absent, json_value),
            Val::Clock(c) => clock_value(c.field, c.zone, self.event.time_ms, self.scratch),
            Val::Similarity(a, b) => match (self.val(a), self.val(b)) {
                (V::Str(x), V::Str(y)) => V::Num(Num::from_f64(jaro_winkler(x, y))),
                _ => V::Absent,
            },
        }
    }

    /// The JSON value `v` reads before it is made a scalar.
    fn raw(&self, v: &'a Val) -> Raw<'a> {
        let json = |found: Option<&'a Value>| found.map_or(Raw::Absent, Raw::Json);
        match v {
            Val::Attr(path) => json(self.attr_root().and_then(|r| scalar_path(r, path))),
            Val::Elem(path) => json(self.elem.and_then(|e| scalar_path(e, path))),
            Val::Json(j) => json(self.json(j)),
            other => match self.val(other) {
                V::Str(s) => Raw::Str(s),
                _ => Raw::Absent,
            },
        }
    }

    /// `json(source)` and its path: the source's string decoded (once per
    /// evaluation), or its object or array as it is; absent for a string
    /// that is not JSON (or past [`JsonLimits`]) and for `null`.
    fn json(&self, j: &'a JsonRead) -> Option<&'a Value> {
        let limits = self.program.json_limits;
        let text = match self.raw(&j.source) {
            Raw::Json(Value::String(s)) => s.as_str(),
            Raw::Str(s) => s,
            Raw::Json(Value::Null) | Raw::Absent => return None,
            Raw::Json(v) => return scalar_path(v, &j.path),
        };
        let root = self
            .scratch
            .json(j.slot, || crate::input::json_path::decode(text, limits))?;
        scalar_path(root, &j.path)
    }

    fn len(&self, list: &ListRef) -> u64 {
        let n = match list {
            ListRef::Const(i, _) => self.program.lists.get(*i as usize).map_or(0, ListData::len),
            ListRef::Profile(slot, _) => match self.slot(*slot).and_then(|s| s.value.as_ref()) {
                Some(ProfileValue::Array(a)) => a.len(),
                _ => 0,
            },
            ListRef::Field(Field::Scopes, _) => self.event.scopes.len(),
            ListRef::Field(_, _) => self.event.granted_scopes.len(),
            ListRef::Attr(path, _) => {
                let mut n = 0usize;
                if let Some(root) = self.attr_root() {
                    any_at_path(root, path, &mut |_| {
                        n += 1;
                        false
                    });
                }
                n
            }
        };
        u64::try_from(n).unwrap_or(u64::MAX)
    }

    fn field(&self, f: Field) -> V<'a> {
        let e = self.event;
        let s = |o: &'a Option<std::borrow::Cow<'a, str>>| o.as_deref().map_or(V::Absent, V::Str);
        let n = |o: Option<f64>| o.map_or(V::Absent, |x| V::Num(Num::from_f64(x)));
        match f {
            // Events made without the builder may hold any address.
            Field::Ip => e.ip.and_then(client_ip).map_or(V::Absent, V::Ip),
            Field::AgentId => V::Str(&e.agent),
            Field::Actor => V::Str(actor_name(e.actor)),
            Field::EventType => s(&e.event_type),
            Field::Scopes | Field::GrantedScopes => V::Absent,
            Field::Outcome => s(&e.outcome),
            Field::Country => s(&e.country),
            Field::Asn => e.asn.map_or(V::Absent, |a| V::Num(Num::count(a))),
            Field::UserAgent => s(&e.user_agent),
            Field::GrantType => s(&e.grant_type),
            Field::AuthMethod => s(&e.auth_method),
            Field::CertIssuer => s(&e.cert.issuer),
            Field::CertAgeDays => n(e.cert.age_days),
            Field::TokenLifetimeMinutes => n(e.token_lifetime_minutes),
            Field::SecretAgeDays => n(e.secret_age_days),
            Field::DevicePosture => s(&e.device_posture),
            Field::User => match e.actor {
                ActorKind::User => V::Str(&e.agent),
                _ => V::Absent,
            },
        }
    }

    // ----- explanations (only for rules that fired) ------------------------

    /// The true sub-conditions of `c` with the values seen, one line each.
    pub fn explain(&self, c: &'a Cond, out: &mut Vec<String>) {
        match c {
            Cond::And(parts) => parts.iter().for_each(|p| self.explain(p, out)),
            Cond::Or(parts) => {
                if let Some(p) = parts.iter().find(|p| self.cond(p) == Tri::True) {
                    self.explain(p, out);
                }
            }
            Cond::Const(_) => {}
            Cond::Not(inner) => {
                let mut sub = Vec::new();
                self.explain_false(inner, &mut sub);
                out.push(format!("not ({})", sub.join(" and ")));
            }
            other => out.push(self.describe(other)),
        }
    }

    fn explain_false(&self, c: &'a Cond, out: &mut Vec<String>) {
        match c {
            Cond::Or(parts) => parts.iter().for_each(|p| self.explain_false(p, out)),
            other => out.push(self.describe(other)),
        }
    }

    fn describe(&self, c: &'a Cond) -> String {
        match c {
            Cond::Cmp(op, a, b, _) => format!("{} {} {}", self.show(a), op.as_str(), self.show(b)),
            Cond::In {
                negated,
                item,
                list,
                ..
            } => {
                // The item with its name (`ip 10.1.1.1`), or a literal
                // once (`"x"`, not `"x" "x"`).
                let not = if *negated { "not " } else { "" };
                format!("{} {not}in {}", self.show(item), list.label())
            }
            Cond::Scope { negated, list } => {
                let not = if *negated { "not " } else { "" };
                match self.scope(*negated, list).1 {
                    Some(s) => format!("requested scope `{s}` {not}in {}", list.label()),
                    None => format!("a requested scope {not}in {}", list.label()),
                }
            }
            Cond::Actor { label, .. } => {
                let cats: Vec<&str> = crate::input::event::Categories::ALL
                    .iter()
                    .filter(|(c, _, _)| self.event.categories.contains(*c))
                    .map(|(_, _, phrase)| *phrase)
                    .collect();
                format!(
                    "{label} (actor {}, {})",
                    actor_name(self.event.actor),
                    cats.join(" + ")
                )
            }
            Cond::TimeOfDay {
                outside,
                start,
                end,
                zone,
                zone_label,
            } => {
                let (m, _) = local_clock(self.event.time_ms, *zone);
                let secs = self.event.time_ms.div_euclid(1000).rem_euclid(60);
                let word = if *outside { "outside" } else { "within" };
                format!(
                    "time {:02}:{:02}:{secs:02} {zone_label} {word} {:02}:{:02}-{:02}:{:02}",
                    m / 60,
                    m % 60,
                    start / 60,
                    start % 60,
                    end / 60,
                    end % 60
                )
            }
            Cond::Days { zone, label, .. } => {
                const NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
                let (_, d) = local_clock(self.event.time_ms, *zone);
                format!(
                    "{label} (day {})",
                    NAMES.get(usize::from(d)).unwrap_or(&"?")
                )
            }
            Cond::StrOp(_, a, _, label) | Cond::Matches(a, _, label) => {
                format!("{label} ({})", self.show(a))
            }
            Cond::Exists(v, label) | Cond::Missing(v, label) | Cond::Truthy(v, label) => {
                format!("{label} ({})", self.show(v))
            }
            Cond::Cell(i, label) => match self.metrics.cell(*i) {
                Some(c) if c.read == CellRead::Bool(true) && c.steps[0] != i64::MIN => {
                    let times: Vec<String> = c
                        .steps
                        .iter()
                        .take_while(|&&t| t != i64::MIN)
                        .map(|&t| show_time(t))
                        .collect();
                    format!("{label} (steps at {})", times.join(", "))
                }
                Some(c) => format!("{label} ({})", show_read(c)),
                None => label.to_string(),
            },
            Cond::StatCmp(_, stat, _, label) => {
                let value = self.stat_value(stat).map_or(V::Absent, V::Num);
                format!("{label} ({})", self.show_stat(stat, &value))
            }
            Cond::FirstSeen(i, label) => {
                let field = self
                    .program
                    .first_seens
                    .get(*i as usize)
                    .map(|f| self.show(&f.field));
                format!("{label} ({})", field.unwrap_or_default())
            }
            Cond::Any(path, cond, label) => {
                // The first element that made it true, and why.
                let items: &[Value] = match self.attr_root().and_then(|r| scalar_path(r, path)) {
                    Some(Value::Array(items)) => items,
                    Some(other) => std::slice::from_ref(other),
                    None => &[],
                };
                let found = items.iter().enumerate().find_map(|(i, item)| {
                    let sub = Ctx {
                        elem: Some(item),
                        ..*self
                    };
                    (sub.cond(cond) == Tri::True).then(|| {
                        let mut why = Vec::new();
                        sub.explain(cond, &mut why);
                        format!("{label} (element [{i}]: {})", why.join(" and "))
                    })
                });
                found.unwrap_or_else(|| label.to_string())
            }
            Cond::Const(t) => format!("{t:?}"),
            Cond::And(_) | Cond::Or(_) | Cond::Not(_) => {
                let mut sub = Vec::new();
                self.explain(c, &mut sub);
                sub.join(" and ")
            }
        }
    }

    /// A value with its name: `requests_per_minute 41`, `baseline 4.2`.
    fn show(&self, v: &'a Val) -> String {
        let value = self.val(v);
        match v {
            Val::Num(_) | Val::Str(_) | Val::Ip(_) | Val::Time(_) | Val::Dur(_) | Val::Bool(_) => {
                value.to_string()
            }
            Val::Field(f) => match f {
                Field::Scopes => format!("scopes [{}]", self.event.scopes.join(", ")),
                Field::GrantedScopes => {
                    format!("granted_scopes [{}]", self.event.granted_scopes.join(", "))
                }
                f => format!("{} {value}", field_name(*f)),
            },
            Val::Attr(p) => {
                let raw = self.attr_root().and_then(|r| scalar_path(r, p));
                format!("attr.{} {}", path_text(p), shape_or(raw, &value))
            }
            Val::Elem(p) => {
                let raw = self.elem.and_then(|e| scalar_path(e, p));
                format!("{} {}", path_text(p), shape_or(raw, &value))
            }
            Val::Json(j) => format!("{} {}", j.label, shape_or(self.json(j), &value)),
            Val::Clock(c) => format!("{} {value}", c.label),
            Val::Similarity(a, b) => {
                format!("similarity({}, {}) {value}", self.show(a), self.show(b))
            }
            Val::Profile(slot) => {
                let path = self
                    .program
                    .profile_paths
                    .get(*slot as usize)
                    .map(|p| p.join("."))
                    .unwrap_or_default();
                format!("agent.{path} {value}")
            }
            Val::Count(i) => {
                let label = self
                    .program
                    .counters
                    .get(*i as usize)
                    .map_or("count", |c| &*c.label);
                format!("{label} {value}")
            }
            Val::Distinct(i) => {
                let label = self
                    .program
                    .distincts
                    .get(*i as usize)
                    .map_or("distinct", |c| &*c.label);
                format!("{label} {value}")
            }
            Val::Baseline { .. } => format!("baseline {value}"),
            Val::Stat(stat) => self.show_stat(stat, &value),
            Val::Cell(i) => {
                let label = self
                    .program
                    .cells
                    .get(*i as usize)
                    .map_or("metric", |c| &*c.label);
                format!("{label} {value}")
            }
            Val::Arith(op, a, b) => {
                let mut s = self.show(a);
                let _ = write!(s, " {} {}", op.as_str(), self.show(b));
                s
            }
            Val::Neg(a) => format!("-{}", self.show(a)),
            Val::Abs(a) => format!("abs({}) {value}", self.show(a)),
            Val::Min(args) | Val::Max(args) => {
                let name = if matches!(v, Val::Min(_)) {
                    "min"
                } else {
                    "max"
                };
                let parts: Vec<String> = args.iter().map(|a| self.show(a)).collect();
                format!("{name}({}) {value}", parts.join(", "))
            }
            Val::Len(l) => format!("len({}) {value}", l.label()),
            Val::Named(name, _) => format!("{name} {value}"),
        }
    }
}

/// Is `item` the list item `text` (if a string) of value `value`? An
/// address is in a string that is an equal address or a CIDR block holding
/// it ([`ip_in_text`]); else [`compare_values`].
fn member_eq(item: &V<'_>, text: Option<&str>, value: V<'_>) -> Tri {
    if let (V::Ip(ip), Some(text)) = (item, text) {
        if let Some(found) = ip_in_text(*ip, text) {
            return Tri::from_bool(found);
        }
    }
    compare_values(CmpOp::Eq, item, &value)
}

/// Is `item` among a profile list's `items` ([`member_eq`] each)?
fn profile_member(item: &V<'_>, items: &[ProfileValue]) -> Tri {
    let mut unknown = false;
    for v in items {
        match member_eq(item, v.as_str(), profile_value(v)) {
            Tri::True => return Tri::True,
            Tri::Unknown => unknown = true,
            Tri::False => {}
        }
    }
    if unknown {
        Tri::Unknown
    } else {
        Tri::False
    }
}

/// The name of an actor kind as rules see it (`actor == "service_app"`).
pub fn actor_name(a: ActorKind) -> &'static str {
    match a {
        ActorKind::ServiceApp => "service_app",
        ActorKind::User => "user",
        ActorKind::Agent => "agent",
        ActorKind::System => "system",
        ActorKind::Other => "other",
    }
}

/// A compiled path as rules write it (`target[0]."a.b"`).
fn path_text(path: &[Seg]) -> String {
    let segs: Vec<crate::lang::path::Segment> = path
        .iter()
        .map(|s| match s {
            Seg::Key(k) => crate::lang::path::Segment::Key(k.to_string()),
            Seg::Index(i) => crate::lang::path::Segment::Index(*i),
        })
        .collect();
    let mut out = String::new();
    crate::lang::path::write_segments(&mut out, &segs);
    out.strip_prefix('.').map_or(out.clone(), str::to_string)
}

/// How an explanation shows a JSON value: an array or an object (which have
/// no scalar value, so `value` reads absent) by its shape, anything else as
/// `value`.
fn shape_or(raw: Option<&Value>, value: &V<'_>) -> String {
    match raw {
        Some(Value::Array(items)) => format!(
            "[{} item{}]",
            items.len(),
            if items.len() == 1 { "" } else { "s" }
        ),
        Some(Value::Object(map)) => format!(
            "{{object of {} key{}}}",
            map.len(),
            if map.len() == 1 { "" } else { "s" }
        ),
        _ => value.to_string(),
    }
}

/// An event time as RFC 3339 (UTC), for explanations.
fn show_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
    )
}

/// What a cell read, for explanations.
fn show_read(c: &CellOut) -> String {
    match c.read {
        CellRead::Unknown => "unknown".to_string(),
        CellRead::Dur(d) => crate::lang::ast::format_duration(d),
        CellRead::Bool(b) => b.to_string(),
        CellRead::Count(n) => n.to_string(),
        CellRead::Value => c.value.as_v().to_string(),
    }
}
