//! The compiled, immutable program: rules as typed condition trees over
//! resolved fields, list indices, profile slots and metric indices.
//!
//! A [`Program`] is built once by [`RuleSet::compile`](crate::RuleSet::compile)
//! and shared (`Arc`, `Send + Sync`). Evaluating it never parses, never looks a
//! name up by string (JSON attribute paths excepted: events are schemaless
//! there) and never allocates where no rule fires.

use std::net::IpAddr;
use std::sync::Arc;

use ahash::AHashSet;
use chrono_tz::Tz;
use regex::Regex;

use crate::compile::vocab::Categories;
use crate::lang::ast::{ArithOp, CmpOp};
use crate::num::Num;

/// What a rule decides. Ordered weakest first: `allow < flag < suspend < deny`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Nothing to do.
    Allow,
    /// `flag_for_review`
    Flag,
    /// `suspend_token`
    Suspend,
    /// `deny`
    Deny,
}

impl Decision {
    /// The name used in verdicts (`allow`, `flag`, `suspend`, `deny`).
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Flag => "flag",
            Decision::Suspend => "suspend",
            Decision::Deny => "deny",
        }
    }
}

impl std::fmt::Display for Decision {
    /// As [`Decision::as_str`]: `allow`, `flag`, `suspend`, `deny`.
    ///
    /// ```
    /// assert_eq!(riskgate::Decision::Suspend.to_string(), "suspend");
    /// ```
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Decision {
    type Err = String;
    /// Accepts verdict names and action names (`suspend_token`, `flag_for_review`).
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "allow" => Ok(Decision::Allow),
            "flag" | "flag_for_review" => Ok(Decision::Flag),
            "suspend" | "suspend_token" => Ok(Decision::Suspend),
            "deny" => Ok(Decision::Deny),
            _ => Err(format!("unknown decision `{s}`")),
        }
    }
}

/// How severe a rule is. Ordered `LOW < MEDIUM < HIGH < CRITICAL`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    /// `LOW`
    Low,
    /// `MEDIUM`
    Medium,
    /// `HIGH`
    High,
    /// `CRITICAL`
    Critical,
}

impl Severity {
    /// `LOW`, `MEDIUM`, `HIGH`, `CRITICAL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }
}

impl std::fmt::Display for Severity {
    /// As [`Severity::as_str`]: `LOW`, `MEDIUM`, `HIGH`, `CRITICAL`.
    ///
    /// ```
    /// assert_eq!(riskgate::Severity::High.to_string(), "HIGH");
    /// ```
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_uppercase().as_str() {
            "LOW" => Ok(Severity::Low),
            "MEDIUM" => Ok(Severity::Medium),
            "HIGH" => Ok(Severity::High),
            "CRITICAL" => Ok(Severity::Critical),
            _ => Err(format!("unknown severity `{s}`")),
        }
    }
}

pub use crate::compile::value::Tri;

/// Built-in event fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// `ip`
    Ip,
    /// `agent.id`
    AgentId,
    /// `actor`
    Actor,
    /// `event.type`
    EventType,
    /// `scopes` (a list)
    Scopes,
    /// `granted_scopes` (a list)
    GrantedScopes,
    /// `outcome`
    Outcome,
    /// `country`
    Country,
    /// `asn`
    Asn,
    /// `user_agent`
    UserAgent,
    /// `grant_type`
    GrantType,
    /// `auth.method`
    AuthMethod,
    /// `cert.issuer`
    CertIssuer,
    /// `cert.age_days`
    CertAgeDays,
    /// `token.lifetime_minutes`
    TokenLifetimeMinutes,
    /// `secret.age_days`
    SecretAgeDays,
    /// `device_posture`
    DevicePosture,
    /// `user`: the agent id of an event whose actor is a user (absent for
    /// other actors); a key field, `by user`.
    User,
}

/// The static type of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ty {
    /// A condition.
    Bool,
    /// A number.
    Num,
    /// A string.
    Str,
    /// An IP address.
    Ip,
    /// A time of day.
    Time,
    /// A duration.
    Dur,
    /// A JSON value from `attr.` or `agent.`: its type is known per event.
    Dyn,
    /// A list of strings.
    StrList,
    /// A list of CIDRs / IPs.
    IpList,
    /// A list of numbers.
    NumList,
    /// A list whose element type is known per event (profile and attr lists).
    DynList,
    /// An empty list literal.
    EmptyList,
}

impl Ty {
    /// Name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Ty::Bool => "a condition",
            Ty::Num => "a number",
            Ty::Str => "a string",
            Ty::Ip => "an IP address",
            Ty::Time => "a time of day",
            Ty::Dur => "a duration",
            Ty::Dyn => "an attribute value",
            Ty::StrList => "a list of strings",
            Ty::IpList => "a list of CIDRs",
            Ty::NumList => "a list of numbers",
            Ty::DynList => "a list",
            Ty::EmptyList => "an empty list",
        }
    }
    /// True for list types.
    pub fn is_list(self) -> bool {
        matches!(
            self,
            Ty::StrList | Ty::IpList | Ty::NumList | Ty::DynList | Ty::EmptyList
        )
    }
}

/// The first and last IPv4-mapped IPv6 addresses (`::ffff:0.0.0.0/96`).
const MAPPED: (u128, u128) = (0xffff_0000_0000, 0xffff_ffff_ffff);

/// A set of CIDR blocks as sorted, merged address ranges (binary search).
///
/// IPv4-mapped IPv6 space is kept as IPv4: a block `::ffff:10.0.0.0/104`
/// is the block `10.0.0.0/8`, and a block that covers mapped space and more
/// (`::/0`, `::/64`) holds the IPv4 addresses whose mapped form it contains
/// besides its other IPv6 addresses. Addresses are looked up the same way
/// ([`CidrSet::contains`]), so an IPv4 address and its mapped form are
/// always both in the set or both out of it.
#[derive(Debug, Clone, Default)]
pub struct CidrSet {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

impl CidrSet {
    /// Builds the set from networks.
    ///
    /// ```
    /// use riskgate::compile::program::CidrSet;
    /// let set = CidrSet::new(["::ffff:10.0.0.0/104".parse().unwrap()]);
    /// assert!(set.contains("10.1.1.1".parse().unwrap()));
    /// assert!(set.contains("::ffff:10.1.1.1".parse().unwrap()));
    /// assert!(!set.contains("11.0.0.1".parse().unwrap()));
    /// ```
    pub fn new(nets: impl IntoIterator<Item = ipnet::IpNet>) -> Self {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for n in nets {
            match n {
                ipnet::IpNet::V4(n) => v4.push((u32::from(n.network()), u32::from(n.broadcast()))),
                ipnet::IpNet::V6(n) => {
                    let (start, end) = (u128::from(n.network()), u128::from(n.broadcast()));
                    let (m0, m1) = MAPPED;
                    if end < m0 || start > m1 {
                        v6.push((start, end));
                        continue;
                    }
                    // The mapped part, as IPv4; the rest stays IPv6.
                    let (lo, hi) = (start.max(m0) - m0, end.min(m1) - m0);
                    v4.push((lo as u32, hi as u32));
                    if start < m0 {
                        v6.push((start, m0 - 1));
                    }
                    if end > m1 {
                        v6.push((m1 + 1, end));
                    }
                }
            }
        }
        CidrSet {
            v4: merge(v4),
            v6: merge(v6),
        }
    }
    /// True when `ip` is in one of the blocks (IPv4-mapped IPv6 addresses
    /// are matched as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => find(&self.v4, u32::from(a)),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => find(&self.v4, u32::from(v4)),
                None => find(&self.v6, u128::from(a)),
            },
        }
    }
    /// Number of merged ranges (a block that covers IPv4-mapped space and
    /// more counts as its IPv4 part and its IPv6 parts).
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether `text`, an IP address or a CIDR block (an item of a list read from
/// a profile or an event), holds `ip`: addresses compare and blocks contain
/// as in a [`CidrSet`] (IPv4-mapped forms are their IPv4 addresses). `None`
/// when `text` is neither an address nor a block.
///
/// ```
/// use riskgate::compile::program::ip_in_text;
/// let ip = "10.1.1.1".parse().unwrap();
/// assert_eq!(ip_in_text(ip, "::ffff:10.1.1.1"), Some(true));
/// assert_eq!(ip_in_text(ip, "::ffff:10.0.0.0/104"), Some(true));
/// assert_eq!(ip_in_text(ip, "192.168.0.0/16"), Some(false));
/// assert_eq!(ip_in_text(ip, "corp"), None);
/// ```
pub fn ip_in_text(ip: IpAddr, text: &str) -> Option<bool> {
    let ip = crate::compile::value::canonical_ip(ip);
    if text.contains('/') {
        let net: ipnet::IpNet = text.parse().ok()?;
        Some(match (net, ip) {
            (ipnet::IpNet::V4(n), IpAddr::V4(a)) => n.contains(&a),
            (ipnet::IpNet::V6(n), IpAddr::V4(a)) => n.contains(&a.to_ipv6_mapped()),
            (ipnet::IpNet::V6(n), IpAddr::V6(a)) => n.contains(&a),
            (ipnet::IpNet::V4(_), IpAddr::V6(_)) => false,
        })
    } else {
        let other: IpAddr = text.parse().ok()?;
        Some(crate::compile::value::canonical_ip(other) == ip)
    }
}

fn merge<T: Ord + Copy + num_like::Succ>(mut v: Vec<(T, T)>) -> Vec<(T, T)> {
    v.sort_unstable();
    let mut out: Vec<(T, T)> = Vec::with_capacity(v.len());
    for (s, e) in v {
        match out.last_mut() {
            Some(last) if s <= last.1.succ() => {
                if e > last.1 {
                    last.1 = e;
                }
            }
            _ => out.push((s, e)),
        }
    }
    out
}

fn find<T: Ord + Copy>(ranges: &[(T, T)], x: T) -> bool {
    let i = ranges.partition_point(|(s, _)| *s <= x);
    i > 0 && ranges.get(i - 1).is_some_and(|(_, e)| x <= *e)
}

mod num_like {
    pub trait Succ {
        fn succ(self) -> Self;
    }
    impl Succ for u32 {
        fn succ(self) -> Self {
            self.saturating_add(1)
        }
    }
    impl Succ for u128 {
        fn succ(self) -> Self {
            self.saturating_add(1)
        }
    }
}

/// A constant list, indexed for membership tests.
#[derive(Debug, Clone)]
pub enum ListData {
    /// CIDR blocks and addresses.
    Ips(CidrSet),
    /// Strings (exact comparison).
    Strs(AHashSet<Box<str>>),
    /// Numbers.
    Nums(Vec<Num>),
    /// `[]`
    Empty,
}

impl ListData {
    /// Number of items.
    pub fn len(&self) -> usize {
        match self {
            ListData::Ips(s) => s.len(),
            ListData::Strs(s) => s.len(),
            ListData::Nums(n) => n.len(),
            ListData::Empty => 0,
        }
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Where a list comes from.
#[derive(Debug, Clone)]
pub enum ListRef {
    /// A constant list (index into [`Program::lists`]).
    Const(u32, Arc<str>),
    /// A profile field of the evaluated agent (slot).
    Profile(u32, Arc<str>),
    /// `scopes` / `granted_scopes` of the event.
    Field(Field, Arc<str>),
    /// The values at a JSON path of the event (through arrays).
    Attr(Box<[Seg]>, Arc<str>),
}

impl ListRef {
    /// The list's name as written, for explanations.
    pub fn label(&self) -> &str {
        match self {
            ListRef::Const(_, l)
            | ListRef::Profile(_, l)
            | ListRef::Field(_, l)
            | ListRef::Attr(_, l) => l,
        }
    }
}

/// A time zone for time-of-day and day phrases.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    /// A fixed offset from UTC, in seconds.
    Fixed(i32),
    /// An IANA zone.
    Named(Tz),
}

/// A value-producing node.
#[derive(Debug, Clone)]
pub enum Val {
    /// A constant number.
    Num(Num),
    /// A constant string.
    Str(Arc<str>),
    /// A constant IP.
    Ip(IpAddr),
    /// A constant time of day (minutes).
    Time(u16),
    /// A constant duration (ms).
    Dur(u64),
    /// A constant boolean.
    Bool(bool),
    /// A built-in field.
    Field(Field),
    /// `attr.<path>` (case-insensitive JSON path).
    Attr(Box<[Seg]>),
    /// A field of the current element inside `any()`.
    Elem(Box<[Seg]>),
    /// `agent.<path>`: a profile slot.
    Profile(u32),
    /// The value of counter `i` (`requests_per_minute`, `count(...) over W`).
    Count(u32),
    /// `distinct(F) over W`
    Distinct(u32),
    /// The baseline of counter `counter` over `windows` windows.
    Baseline {
        /// Counter index.
        counter: u32,
        /// Windows of history.
        windows: u32,
    },
    /// Statistics of counter `counter`'s history: `stddev`, `zscore`, or a
    /// baseline of active windows.
    Stat(StatRef),
    /// Cell metric `i`'s value (`since`, `first`, `previous`,
    /// `tracked_for`, a keyed `distinct`).
    Cell(u32),
    /// Arithmetic.
    Arith(ArithOp, Box<Val>, Box<Val>),
    /// Unary minus.
    Neg(Box<Val>),
    /// `min(a, b, ...)`
    Min(Box<[Val]>),
    /// `max(a, b, ...)`
    Max(Box<[Val]>),
    /// `abs(x)`
    Abs(Box<Val>),
    /// `len(L)`
    Len(ListRef),
    /// A metric read by the name a `metric` declaration gave it: the value
    /// is the metric's, the name is for explanations.
    Named(Arc<str>, Box<Val>),
    /// `json(F)`, and a path into what it decodes.
    Json(Box<JsonRead>),
    /// A field of the event time: `hour`, `weekday`, `hour_of_week`, `date`.
    Clock(Box<ClockRead>),
    /// `similarity(a, b)`: Jaro-Winkler, a number in `[0, 1]`.
    Similarity(Box<Val>, Box<Val>),
}

/// One step of a compiled path into a JSON value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seg {
    /// An object key, matched ignoring ASCII case (the exact key first).
    Key(Box<str>),
    /// An array index; negative counts from the end (`-1` is the last).
    Index(i64),
}

impl Seg {
    /// The key, for a key segment.
    pub fn key(&self) -> Option<&str> {
        match self {
            Seg::Key(k) => Some(k),
            Seg::Index(_) => None,
        }
    }
}

impl From<&crate::lang::path::Segment> for Seg {
    fn from(s: &crate::lang::path::Segment) -> Seg {
        match s {
            crate::lang::path::Segment::Key(k) => Seg::Key(k.as_str().into()),
            crate::lang::path::Segment::Index(i) => Seg::Index(*i),
        }
    }
}

/// `json(source)` followed by `path`: the source's string decoded as JSON
/// (once per evaluation, in scratch slot `slot`; an object or array is
/// read as it is), then the path followed into it.
#[derive(Debug, Clone)]
pub struct JsonRead {
    /// The slot of the decoded value in an evaluation's scratch (one per
    /// distinct source).
    pub slot: u32,
    /// What is decoded: `attr.<path>`, a built-in or profile field, or
    /// another `json(...)`.
    pub source: Val,
    /// The path into the decoded value.
    pub path: Box<[Seg]>,
    /// Canonical text, for explanations.
    pub label: Arc<str>,
}

/// A field of the event time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClockField {
    /// `hour`: 0–23.
    Hour,
    /// `weekday`: `mon` … `sun`.
    Weekday,
    /// `hour_of_week`: 0–167, Monday 00:00 = 0.
    HourOfWeek,
    /// `date`: `YYYY-MM-DD`, written in scratch slot `slot`.
    Date {
        /// The slot (one per zone).
        slot: u32,
    },
}

/// A time field in a zone.
#[derive(Debug, Clone)]
pub struct ClockRead {
    /// Which field.
    pub field: ClockField,
    /// The zone (UTC unless one is given).
    pub zone: Zone,
    /// Canonical text (`hour_of_week("Europe/Berlin")`), for explanations.
    pub label: Arc<str>,
}

/// A condition node (three-valued).
#[derive(Debug, Clone)]
pub enum Cond {
    /// A constant.
    Const(Tri),
    /// All of.
    And(Box<[Cond]>),
    /// Any of.
    Or(Box<[Cond]>),
    /// Negation.
    Not(Box<Cond>),
    /// Comparison (values of the same type; a runtime type mismatch is UNKNOWN).
    Cmp(CmpOp, Val, Val, Arc<str>),
    /// `x [not] in L`
    In {
        /// `not in`
        negated: bool,
        /// The value.
        item: Val,
        /// The list.
        list: ListRef,
        /// Source text of the value, for explanations.
        label: Arc<str>,
    },
    /// `starts_with`, `ends_with`, `contains` with a value on the right.
    StrOp(crate::lang::ast::StrOp, Val, Val, Arc<str>),
    /// `matches "re"`
    Matches(Val, Regex, Arc<str>),
    /// `[kind] category`: actor kind in `kinds` (bit per [`crate::compile::vocab::ActorKind`]) and
    /// categories containing `cat`.
    Actor {
        /// Allowed actor kinds (bit mask).
        kinds: u8,
        /// Required category (may be empty: any).
        cat: Categories,
        /// The phrase, for explanations.
        label: Arc<str>,
    },
    /// `includes scope [not] in L`
    Scope {
        /// `not in`
        negated: bool,
        /// The list.
        list: ListRef,
    },
    /// `outside/within HH:MM-HH:MM zone`
    TimeOfDay {
        /// `outside`
        outside: bool,
        /// Minutes.
        start: u16,
        /// Minutes.
        end: u16,
        /// Zone.
        zone: Zone,
        /// Zone as written.
        zone_label: Arc<str>,
    },
    /// `on days [zone]`: bit `i` = weekday `i` (Monday = 0).
    Days {
        /// Day mask.
        mask: u8,
        /// Zone.
        zone: Zone,
        /// The phrase as written.
        label: Arc<str>,
    },
    /// `exists(v)`
    Exists(Val, Arc<str>),
    /// `missing(v)`: absent, JSON null or the string "null".
    Missing(Val, Arc<str>),
    /// `first_seen(F)`: index into the program's first-seen metrics.
    FirstSeen(u32, Arc<str>),
    /// A cell metric that is a condition (`sequence(...)`, a keyed
    /// `first_seen`).
    Cell(u32, Arc<str>),
    /// `zscore(M) > k`, `stddev(M) <= k`, ... against a literal: decided
    /// exactly in integers.
    StatCmp(CmpOp, StatRef, crate::num::Num, Arc<str>),
    /// A boolean value used as a condition (`attr.securityContext.isProxy`).
    Truthy(Val, Arc<str>),
    /// `any(attr.path, cond)`
    Any(Box<[Seg]>, Box<Cond>, Arc<str>),
}

/// A condition compiled for evaluation: the tests rules use most, on
/// built-in fields against constants, specialised (no intermediate value,
/// no generic comparison), everything else evaluated as written.
/// Three-valued like [`Cond`], and equal to it on every event.
#[derive(Debug, Clone)]
pub enum Op {
    /// A constant.
    Const(Tri),
    /// All of (cheapest first).
    And(Box<[Op]>),
    /// Any of (cheapest first).
    Or(Box<[Op]>),
    /// Negation.
    Not(Box<Op>),
    /// A string field `==` (`eq`) or `!=` a constant; unknown when absent.
    StrEq {
        /// The field (a string field).
        field: Field,
        /// The constant.
        value: Box<str>,
        /// `==` (else `!=`).
        eq: bool,
    },
    /// A string field `[not] in` a constant list of strings; unknown when
    /// absent.
    StrIn {
        /// The field (a string field).
        field: Field,
        /// Index into [`Program::lists`] (a [`ListData::Strs`]).
        list: u32,
        /// `not in`
        negated: bool,
    },
    /// `ip [not] in` a constant list of CIDR blocks; unknown without an
    /// address.
    IpIn {
        /// Index into [`Program::lists`] (a [`ListData::Ips`]).
        list: u32,
        /// `not in`
        negated: bool,
    },
    /// A number field compared with a constant.
    NumCmp {
        /// The field (a number field).
        field: Field,
        /// The comparison.
        op: CmpOp,
        /// The constant.
        value: Num,
    },
    /// `[kind] category`, as [`Cond::Actor`].
    Actor {
        /// Allowed actor kinds (bit mask).
        kinds: u8,
        /// Required categories.
        cat: Categories,
    },
    /// Any other condition, evaluated as written.
    Cond(Cond),
}

/// An alert to raise when a rule fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertDef {
    /// Channel (`security team`), or none for the default channel.
    pub channel: Option<Arc<str>>,
    /// `immediate alert`
    pub immediate: bool,
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// Rule id.
    pub id: Arc<str>,
    /// Title.
    pub title: Option<Arc<str>>,
    /// The trigger, as written (explanations follow it).
    pub trigger: Cond,
    /// The exception, as written.
    pub unless: Option<Cond>,
    /// The trigger as evaluated for a candidate event (one the rule index
    /// selected, so the trigger's top-level actor/category phrases hold):
    /// specialised operations, each `and`/`or` cheapest part first.
    pub plan: Op,
    /// The exception as evaluated.
    pub unless_plan: Option<Op>,
    /// The decision action, if any.
    pub decision: Option<Decision>,
    /// Severity.
    pub severity: Severity,
    /// Actions in canonical spelling (`suspend_token`, `alert security team`).
    pub actions: Arc<[Arc<str>]>,
    /// Alerts.
    pub alerts: Arc<[AlertDef]>,
    /// `Mode: shadow`
    pub shadow: bool,
    /// `Cooldown:` in ms.
    pub cooldown_ms: Option<u64>,
    /// Tags.
    pub tags: Arc<[Arc<str>]>,
}

/// What a counter counts.
#[derive(Debug, Clone)]
pub struct CounterDef {
    /// The condition (none: every event).
    pub cond: Option<Cond>,
    /// Window width in ms.
    pub width_ms: u64,
    /// `by F` / `by (F, G)`: the fields whose values key the state.
    pub by: Option<Box<[Val]>>,
    /// Window totals kept for baselines.
    pub history_windows: u32,
    /// Canonical text, for explanations and de-duplication.
    pub label: Arc<str>,
}

/// A `distinct(F) over W` metric.
#[derive(Debug, Clone)]
pub struct DistinctDef {
    /// The field.
    pub field: Val,
    /// `where`: the events that update it.
    pub scope: Option<Cond>,
    /// Window width in ms.
    pub width_ms: u64,
    /// Complete windows whose totals are kept for statistics.
    pub history_windows: u32,
    /// Canonical text.
    pub label: Arc<str>,
}

/// A `first_seen(F, R)` metric.
#[derive(Debug, Clone)]
pub struct FirstSeenDef {
    /// The field (a list field: any element new).
    pub field: Val,
    /// `where`: the events that update it (every event reads it).
    pub scope: Option<Cond>,
    /// Retention in ms.
    pub retention_ms: u64,
    /// Values kept per agent.
    pub capacity: u16,
    /// Canonical text.
    pub label: Arc<str>,
}

/// How many values a first-seen set of `field` keeps: every value of a
/// time field of few values (`hour_of_week`: 168, so a learned weekly
/// schedule holds every hour), else [`DEFAULT_FIRST_SEEN_CAPACITY`].
pub fn first_seen_capacity(field: &Val) -> u16 {
    match field {
        Val::Clock(c) => match c.field {
            ClockField::HourOfWeek => 168,
            ClockField::Hour => 24,
            ClockField::Weekday => 7,
            ClockField::Date { .. } => DEFAULT_FIRST_SEEN_CAPACITY,
        },
        Val::Named(_, inner) => first_seen_capacity(inner),
        _ => DEFAULT_FIRST_SEEN_CAPACITY,
    }
}

/// Most steps a `sequence` may have.
pub const MAX_SEQUENCE_STEPS: usize = 8;
/// Default number of values a first-seen set keeps per agent or key.
pub const DEFAULT_FIRST_SEEN_CAPACITY: u16 = 64;

/// What a cell keeps, and its parameters.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum CellKind {
    /// `since(cond, R)`: the latest time `cond` held.
    Since {
        /// Retention: an older time reads UNKNOWN.
        retention_ms: u64,
    },
    /// `first(F, R)`: the first value of F and when it was recorded.
    First {
        /// The value expires this long after it was recorded.
        retention_ms: u64,
    },
    /// `previous(F)`: the value of F on the latest earlier event with one.
    Previous,
    /// `sequence(c1, …, cn) within W`.
    Sequence {
        /// `n`, 2 to [`MAX_SEQUENCE_STEPS`].
        steps: u8,
        /// `W`.
        within_ms: u64,
    },
    /// `tracked_for`: the earliest counted event.
    Tracked,
    /// `distinct(F) over W by K`: a window per key.
    Distinct {
        /// Window width, a multiple of 60 ms.
        width_ms: u64,
        /// Complete windows whose totals a statistic reads (0: none).
        history_windows: u32,
    },
    /// `first_seen(F, R) by K`: a set per key.
    FirstSeen {
        /// Retention.
        retention_ms: u64,
        /// Values kept per key.
        capacity: u16,
    },
}

/// What a statistic of a counter's history computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatKind {
    /// The mean window total (`baseline`).
    Mean,
    /// The population standard deviation of the window totals.
    Stddev,
    /// `(current − mean) / stddev`.
    Zscore,
}

/// The kind of metric a statistic reads the history of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatOf {
    /// A counter (`count`, `requests_per_minute`).
    Counter,
    /// A per-agent `distinct(F) over W`.
    Distinct,
    /// A keyed `distinct(F) over W by K` (a cell metric).
    KeyedDistinct,
}

/// A statistic of a counter's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatRef {
    /// What it computes.
    pub kind: StatKind,
    /// The index of the metric among those of its kind (`of`).
    pub counter: u32,
    /// Which kind of metric it is.
    pub of: StatOf,
    /// History windows it reads.
    pub windows: u32,
    /// Only windows with a total above 0 count (`active`).
    pub active: bool,
}

/// A metric that remembers earlier events of the agent or of a key (a
/// "cell" of the state store).
#[derive(Debug, Clone)]
pub struct CellDef {
    /// What the store keeps.
    pub kind: CellKind,
    /// `by K`: the key's fields.
    pub by: Option<Box<[Val]>>,
    /// What each event brings.
    pub arg: CellArg,
    /// `where`: the events that update it.
    pub scope: Option<Cond>,
    /// Canonical text, for explanations and de-duplication.
    pub label: Arc<str>,
}

/// The per-event input of a cell metric.
#[derive(Debug, Clone)]
pub enum CellArg {
    /// `since(cond)`: the condition.
    Cond(Cond),
    /// `first(F)`, `previous(F)`, keyed `distinct(F)` and `first_seen(F)`:
    /// the field.
    Value(Val),
    /// `sequence(c1, …)`: the steps.
    Steps(Box<[Cond]>),
    /// `tracked_for`: nothing.
    None,
}

/// Number of actor kinds in the rule index.
pub const ACTOR_KINDS: usize = 5;

/// The compiled program: immutable, shared by `Arc`.
#[derive(Debug)]
pub struct Program {
    /// Rules in source order.
    pub rules: Vec<CompiledRule>,
    /// Constant lists.
    pub lists: Vec<ListData>,
    /// Profile paths read by the rules (`agent.<path>`), by slot.
    pub profile_paths: Vec<Box<[Box<str>]>>,
    /// For each slot, whether the rules read it as a list (the engine then
    /// reads anything but an array as an empty list).
    pub profile_list_slots: Vec<bool>,
    /// Counters (count metrics).
    pub counters: Vec<CounterDef>,
    /// Distinct metrics.
    pub distincts: Vec<DistinctDef>,
    /// First-seen metrics.
    pub first_seens: Vec<FirstSeenDef>,
    /// Cell metrics (`since`, `first`, `previous`, `sequence`,
    /// `tracked_for`, keyed `distinct` and `first_seen`).
    pub cells: Vec<CellDef>,
    /// The rule index: candidate rules by actor kind, categories and the
    /// values of the fields the rules test for equality.
    pub index: RuleIndex,
    /// Distinct `json(...)` sources read (scratch slots).
    pub json_slots: u32,
    /// Distinct `date` zones read (scratch slots).
    pub date_slots: u32,
    /// Bounds on what `json(...)` decodes.
    pub json_limits: JsonLimits,
}

/// Bounds on what `json(...)` decodes, from [`crate::Limits`]: a longer
/// string, or one nested deeper, reads as absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonLimits {
    /// Longest string decoded, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting of arrays and objects.
    pub max_depth: usize,
}

/// Fields whose equality tests index rules, most discriminating first.
pub const INDEXED_FIELDS: [Field; 4] = [
    Field::EventType,
    Field::Outcome,
    Field::GrantType,
    Field::AuthMethod,
];

/// The rule index. A rule is a candidate for an event when the event has
/// the actor kind and categories its trigger's phrases require and, if its
/// trigger requires one of [`INDEXED_FIELDS`] to equal one of some strings
/// (`event.type == "…"`, `outcome in ["…", "…"]`, an `or` of such tests),
/// when the event's value is one of them. A rule that cannot match the
/// event is never looked at: its cost is a part of one hash lookup per
/// indexed field the slot uses.
#[derive(Debug, Clone, Default)]
pub struct RuleIndex {
    /// By `[actor kind * 16 + category bits]`.
    pub slots: Vec<IndexSlot>,
}

/// The candidates for one actor kind and set of categories.
#[derive(Debug, Clone, Default)]
pub struct IndexSlot {
    /// Rules that require no indexed field's value, in source order.
    pub any: Vec<u32>,
    /// Per indexed field the slot's rules test: value → rules (source order).
    pub by_field: Vec<(Field, RulesByValue)>,
}

/// Rules (indices, source order) by the value a field must have for them.
pub type RulesByValue = ahash::AHashMap<Box<str>, Vec<u32>>;

/// The candidate rules of one event, in source order (a merge of at most
/// `1 + INDEXED_FIELDS.len()` sorted lists; allocates nothing).
#[derive(Debug, Clone)]
pub struct Candidates<'p> {
    /// The non-empty lists are `lists[..live]`.
    lists: [&'p [u32]; 1 + INDEXED_FIELDS.len()],
    live: usize,
}

impl Iterator for Candidates<'_> {
    type Item = u32;
    #[inline]
    fn next(&mut self) -> Option<u32> {
        if self.live <= 1 {
            // One list (the common case): no merge.
            let (&head, rest) = self.lists[0].split_first()?;
            self.lists[0] = rest;
            return Some(head);
        }
        // The list whose head is smallest (a rule is in one list only).
        let mut best = 0;
        let mut min = u32::MAX;
        for (i, list) in self.lists.iter().take(self.live).enumerate() {
            if let Some(&head) = list.first() {
                if head < min {
                    (best, min) = (i, head);
                }
            }
        }
        let list = self.lists.get_mut(best)?;
        let (&head, rest) = list.split_first()?;
        *list = rest;
        if rest.is_empty() {
            // Keep the live lists first.
            self.live -= 1;
            self.lists.swap(best, self.live);
        }
        Some(head)
    }
}

impl Program {
    /// The rules that can fire for an event of this actor kind and
    /// categories whose indexed fields have these values (`field` gives an
    /// indexed field's value, `None` when absent), in source order.
    #[inline]
    pub fn candidates<'a>(
        &self,
        actor: crate::compile::vocab::ActorKind,
        cats: Categories,
        field: impl Fn(Field) -> Option<&'a str>,
    ) -> Candidates<'_> {
        let mut lists: [&[u32]; 1 + INDEXED_FIELDS.len()] = Default::default();
        let mut live = 0;
        let i = actor_bit_index(actor) * 16 + usize::from(cats.0 & 15);
        if let Some(slot) = self.index.slots.get(i) {
            if slot.by_field.is_empty() {
                // No rule of the slot tests an indexed field.
                lists[0] = &slot.any;
                return Candidates { lists, live: 1 };
            }
            let typed = slot
                .by_field
                .iter()
                .filter_map(|(f, by_value)| field(*f).and_then(|v| by_value.get(v)));
            for list in std::iter::once(&slot.any).chain(typed) {
                if let Some(out) = lists.get_mut(live).filter(|_| !list.is_empty()) {
                    *out = list;
                    live += 1;
                }
            }
        }
        Candidates { lists, live }
    }
    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }
    /// True when there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
    /// True when the program keeps per-agent state.
    pub fn has_state(&self) -> bool {
        !(self.counters.is_empty()
            && self.distincts.is_empty()
            && self.first_seens.is_empty()
            && self.cells.is_empty())
    }
}

/// The bit position of an actor kind in [`Cond::Actor`] masks.
pub fn actor_bit_index(a: crate::compile::vocab::ActorKind) -> usize {
    use crate::compile::vocab::ActorKind::*;
    match a {
        ServiceApp => 0,
        User => 1,
        Agent => 2,
        System => 3,
        Other => 4,
    }
}

/// Built-in fields: name, field, type.
pub const FIELDS: &[(&str, Field, Ty)] = &[
    ("ip", Field::Ip, Ty::Ip),
    ("agent.id", Field::AgentId, Ty::Str),
    ("actor", Field::Actor, Ty::Str),
    ("event.type", Field::EventType, Ty::Str),
    ("scopes", Field::Scopes, Ty::StrList),
    ("granted_scopes", Field::GrantedScopes, Ty::StrList),
    ("outcome", Field::Outcome, Ty::Str),
    ("country", Field::Country, Ty::Str),
    ("asn", Field::Asn, Ty::Num),
    ("user_agent", Field::UserAgent, Ty::Str),
    ("grant_type", Field::GrantType, Ty::Str),
    ("auth.method", Field::AuthMethod, Ty::Str),
    ("cert.issuer", Field::CertIssuer, Ty::Str),
    ("cert.age_days", Field::CertAgeDays, Ty::Num),
    (
        "token.lifetime_minutes",
        Field::TokenLifetimeMinutes,
        Ty::Num,
    ),
    ("secret.age_days", Field::SecretAgeDays, Ty::Num),
    ("device_posture", Field::DevicePosture, Ty::Str),
    ("user", Field::User, Ty::Str),
];

/// The name of a built-in field.
pub fn field_name(f: Field) -> &'static str {
    FIELDS
        .iter()
        .find(|(_, g, _)| *g == f)
        .map_or("?", |(n, _, _)| n)
}

/// Default `first_seen` retention: 30 days.
pub const DEFAULT_RETENTION_MS: u64 = 30 * 86_400_000;

/// Default baseline history, in windows (`P = 60 W`).
pub const DEFAULT_HISTORY_WINDOWS: u32 = 60;

/// Most windows a baseline keeps.
pub const MAX_HISTORY_WINDOWS: u32 = 2160;
/// Most windows a period may hold without `active` (90 days of 1h windows
/// need `active`, or 1d windows).
pub const MAX_PERIOD_WINDOWS: u32 = 1440;
