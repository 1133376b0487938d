//! Reading an Okta `LogEvent` in one pass, without a `serde_json::Value` of
//! the whole object.
//!
//! A visitor walks the JSON once. The values the adapter reads (a fixed tree
//! of keys, [`SCHEMA`]) are captured into slots, strings borrowed from the
//! line where they hold no escape; the `attrs` the filter asks for are built
//! as `Value`s on the way; everything else is parsed and dropped. Then
//! [`build`] applies the adapter's checks, in their order, with their error
//! messages. This is the one production reader of Okta lines; a plain
//! `serde_json::Value` reader kept in the tests (`tests/support/okta_value.rs`)
//! is its reference, and the differential tests hold the two equal.
//!
//! Equivalence with the `Value` reader rests on three things:
//! - every value goes through `deserialize_any`, as it does for a `Value`,
//!   so exactly the same JSON is accepted and a bad line gets the same
//!   serde_json error (an ignored value is not skipped more leniently);
//! - among the keys of one object that match a key read, the slot keeps the
//!   one [`crate::input::event::get_ci`] would find in a `serde_json::Map`: the exact key if
//!   any (the last one given, as `Map::insert` keeps the last), else the first
//!   key equal ignoring ASCII case in the map's order (sorted, or insertion
//!   order under serde_json's `preserve_order`), which is decided key by key
//!   as they arrive;
//! - a key that is replaced drops everything captured below it.

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Number, Value};

use super::attrs::Trie;

mod fast;
use super::{
    actor_kind, asn_text, categories_for, field_prefix, is_null_text, number_text, AttrFilter,
};
use crate::input::event::{
    excerpt, parse_client_ip, parse_timestamp_ms, ActorKind, Categories, Cert, Event, EventError,
};
use crate::input::native::split_scopes;

// ---------------------------------------------------------------------------
// The keys read

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// A value read as it is.
    Leaf,
    /// An object whose children are read.
    Obj,
    /// An array whose first element is read (child node: the element).
    First,
}

struct Node {
    key: &'static str,
    shape: Shape,
    children: &'static [usize],
    /// One past the last node of this node's subtree (nodes are in preorder).
    end: usize,
}

const ROOT: usize = 0;
const PUBLISHED: usize = 1;
const ACTOR: usize = 2;
const ACTOR_ID: usize = 3;
const ACTOR_TYPE: usize = 4;
const EVENT_TYPE: usize = 5;
const DEBUG_CONTEXT: usize = 6;
const DEBUG_DATA: usize = 7;
const REQUESTED_SCOPES: usize = 8;
const GRANTED_SCOPES: usize = 9;
const GRANT_TYPE: usize = 10;
const CLIENT_AUTH_TYPE: usize = 11;
const CERT_ISSUER: usize = 12;
const CERT_AGE_DAYS: usize = 13;
const TOKEN_LIFETIME_MINUTES: usize = 14;
const SECRET_AGE_DAYS: usize = 15;
const DEVICE_POSTURE: usize = 16;
const CLIENT: usize = 17;
const IP_ADDRESS: usize = 18;
const GEO: usize = 19;
const COUNTRY: usize = 20;
const USER_AGENT: usize = 21;
const RAW_USER_AGENT: usize = 22;
const REQUEST: usize = 23;
const IP_CHAIN: usize = 24;
const IP_CHAIN_FIRST: usize = 25;
const IP_CHAIN_IP: usize = 26;
const OUTCOME: usize = 27;
const RESULT: usize = 28;
const SECURITY_CONTEXT: usize = 29;
const AS_NUMBER: usize = 30;
const NODES: usize = 31;

const fn leaf(key: &'static str, at: usize) -> Node {
    Node {
        key,
        shape: Shape::Leaf,
        children: &[],
        end: at + 1,
    }
}

const fn obj(key: &'static str, children: &'static [usize], end: usize) -> Node {
    Node {
        key,
        shape: Shape::Obj,
        children,
        end,
    }
}

/// The keys [`build`] reads, by node id.
static SCHEMA: [Node; NODES] = SCHEMA_DEF;

/// [`SCHEMA`] as a constant, for [`tables`].
const SCHEMA_DEF: [Node; NODES] = [
    obj(
        "",
        &[
            PUBLISHED,
            ACTOR,
            EVENT_TYPE,
            DEBUG_CONTEXT,
            CLIENT,
            REQUEST,
            OUTCOME,
            SECURITY_CONTEXT,
        ],
        NODES,
    ),
    leaf("published", PUBLISHED),
    obj("actor", &[ACTOR_ID, ACTOR_TYPE], ACTOR_TYPE + 1),
    leaf("id", ACTOR_ID),
    leaf("type", ACTOR_TYPE),
    leaf("eventType", EVENT_TYPE),
    obj("debugContext", &[DEBUG_DATA], DEVICE_POSTURE + 1),
    obj(
        "debugData",
        &[
            REQUESTED_SCOPES,
            GRANTED_SCOPES,
            GRANT_TYPE,
            CLIENT_AUTH_TYPE,
            CERT_ISSUER,
            CERT_AGE_DAYS,
            TOKEN_LIFETIME_MINUTES,
            SECRET_AGE_DAYS,
            DEVICE_POSTURE,
        ],
        DEVICE_POSTURE + 1,
    ),
    leaf("requestedScopes", REQUESTED_SCOPES),
    leaf("grantedScopes", GRANTED_SCOPES),
    leaf("grantType", GRANT_TYPE),
    leaf("clientAuthType", CLIENT_AUTH_TYPE),
    leaf("certIssuer", CERT_ISSUER),
    leaf("certAgeDays", CERT_AGE_DAYS),
    leaf("tokenLifetimeMinutes", TOKEN_LIFETIME_MINUTES),
    leaf("secretAgeDays", SECRET_AGE_DAYS),
    leaf("devicePosture", DEVICE_POSTURE),
    obj("client", &[IP_ADDRESS, GEO, USER_AGENT], RAW_USER_AGENT + 1),
    leaf("ipAddress", IP_ADDRESS),
    obj("geographicalContext", &[COUNTRY], COUNTRY + 1),
    leaf("country", COUNTRY),
    obj("userAgent", &[RAW_USER_AGENT], RAW_USER_AGENT + 1),
    leaf("rawUserAgent", RAW_USER_AGENT),
    obj("request", &[IP_CHAIN], IP_CHAIN_IP + 1),
    Node {
        key: "ipChain",
        shape: Shape::First,
        children: &[IP_CHAIN_FIRST],
        end: IP_CHAIN_IP + 1,
    },
    obj("", &[IP_CHAIN_IP], IP_CHAIN_IP + 1),
    leaf("ip", IP_CHAIN_IP),
    obj("outcome", &[RESULT], RESULT + 1),
    leaf("result", RESULT),
    obj("securityContext", &[AS_NUMBER], AS_NUMBER + 1),
    leaf("asNumber", AS_NUMBER),
];

fn node(n: usize) -> Option<&'static Node> {
    SCHEMA.get(n)
}

/// Slots of the key table of an object node ([`TABLES`]).
const TABLE: usize = 32;
/// An empty slot.
const NO_CHILD: u8 = u8::MAX;

/// The slot of a key of `len` bytes from `first` to `last` in its parent's
/// table: keys equal ignoring ASCII case have the same slot.
const fn key_slot(len: usize, first: u8, last: u8) -> usize {
    len.wrapping_mul(3)
        .wrapping_add((first | 0x20) as usize)
        .wrapping_add(((last | 0x20) as usize).wrapping_mul(3))
        % TABLE
}

/// For each object node, its children by [`key_slot`].
static TABLES: [[u8; TABLE]; NODES] = tables(&SCHEMA_DEF).0;

// No two children of a node share a slot: else this does not compile.
const _: () = assert!(
    tables(&SCHEMA_DEF).1,
    "two keys of one object share a slot of its key table"
);

/// The key tables, and whether every child got a slot of its own.
const fn tables(schema: &[Node; NODES]) -> ([[u8; TABLE]; NODES], bool) {
    let mut out = [[NO_CHILD; TABLE]; NODES];
    let mut fits = true;
    let mut n = 0;
    while n < NODES {
        if matches!(schema[n].shape, Shape::Obj) {
            let children = schema[n].children;
            let mut i = 0;
            while i < children.len() {
                let c = children[i];
                let k = schema[c].key.as_bytes();
                let slot = key_slot(k.len(), k[0], k[k.len() - 1]);
                if out[n][slot] != NO_CHILD || c >= NO_CHILD as usize {
                    fits = false;
                }
                out[n][slot] = c as u8;
                i += 1;
            }
        }
        n += 1;
    }
    (out, fits)
}

/// The child of object node `parent` whose key equals `key` ignoring ASCII
/// case (keys of siblings differ ignoring case, so there is at most one),
/// and whether it is spelled exactly so.
///
/// The one candidate is found in the parent's [`TABLES`] slot, then
/// compared.
fn find_key(parent: usize, key: &str) -> Option<(usize, bool)> {
    find_key_in(parent, key.as_bytes(), key.len())
}

/// [`find_key`] for the key made of the first `len` bytes of `src` (the
/// rest of the line after them, for the byte scanner).
fn find_key_in(parent: usize, src: &[u8], len: usize) -> Option<(usize, bool)> {
    let key = src.get(..len)?;
    let (&first, &last) = (key.first()?, key.last()?);
    let c = usize::from(*TABLES.get(parent)?.get(key_slot(len, first, last))?);
    let want = node(c)?.key.as_bytes();
    if want.len() != len {
        None
    } else if want == key {
        Some((c, true))
    } else if want.eq_ignore_ascii_case(key) {
        Some((c, false))
    } else {
        None
    }
}

// ---------------------------------------------------------------------------
// Captured values

/// A JSON value as far as the adapter reads it: scalars, the items of an
/// array read as a list (one level deep), and the kind of anything else.
#[derive(Debug, Default)]
enum Raw<'de> {
    #[default]
    Null,
    Bool,
    Num(Number),
    Str(Cow<'de, str>),
    /// An array: its items for a leaf (scope lists), else none.
    Array(Vec<Raw<'de>>),
    /// An object; what is read of it is in the slots of the node's children.
    Object,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Held {
    #[default]
    No,
    /// By the key spelled exactly as the node's.
    Exact,
    /// By a key equal to the node's ignoring ASCII case (kept in `Slot::key`).
    Folded,
}

#[derive(Debug, Default)]
struct Slot<'de> {
    held: Held,
    key: Cow<'de, str>,
    raw: Raw<'de>,
}

/// What one pass over a line captured.
struct Capture<'de> {
    slots: [Slot<'de>; NODES],
    /// The top-level object has a key `eventType` in some case.
    event_type_key: bool,
    /// `serde_json::Map` iterates in insertion order (`preserve_order`).
    ordered: bool,
}

/// Whether `serde_json::Map` keeps insertion order in this build.
fn map_is_ordered() -> bool {
    static ORDERED: OnceLock<bool> = OnceLock::new();
    *ORDERED.get_or_init(|| {
        let mut m = Map::new();
        m.insert("b".to_owned(), Value::Null);
        m.insert("a".to_owned(), Value::Null);
        m.keys().next().is_some_and(|k| k == "b")
    })
}

impl<'de> Capture<'de> {
    fn new() -> Self {
        Capture {
            slots: std::array::from_fn(|_| Slot::default()),
            event_type_key: false,
            ordered: map_is_ordered(),
        }
    }

    /// Decides whether the value of `key` (which equals node `n`'s key
    /// ignoring case, `exact`ly or not) is the one a case-insensitive lookup would find among
    /// the keys seen so far; if so, clears the node's subtree and holds the slot.
    // The key is kept (still borrowed from the line) when it is not exact.
    #[allow(clippy::ptr_arg)]
    fn claim(&mut self, n: usize, key: &Cow<'de, str>, exact: bool) -> bool {
        let Some(def) = node(n) else {
            return false;
        };
        let Some(slot) = self.slots.get(n) else {
            return false;
        };
        let take = match slot.held {
            Held::No => true,
            _ if exact => true,
            Held::Exact => false,
            Held::Folded if self.ordered => key.as_ref() == slot.key.as_ref(),
            Held::Folded => key.as_ref() <= slot.key.as_ref(),
        };
        if !take {
            return false;
        }
        // A slot never held has nothing below it: only a replaced key's
        // subtree needs clearing.
        if slot.held != Held::No {
            if let Some(subtree) = self.slots.get_mut(n..def.end) {
                subtree.iter_mut().for_each(|s| *s = Slot::default());
            }
        }
        if let Some(slot) = self.slots.get_mut(n) {
            if exact {
                slot.held = Held::Exact;
            } else {
                slot.held = Held::Folded;
                slot.key = key.clone();
            }
        }
        true
    }

    fn hold_first(&mut self, n: usize, raw: Raw<'de>) {
        if let Some(slot) = self.slots.get_mut(n) {
            slot.held = Held::Exact;
            slot.raw = raw;
        }
    }

    fn set_raw(&mut self, n: usize, raw: Raw<'de>) {
        if let Some(slot) = self.slots.get_mut(n) {
            slot.raw = raw;
        }
    }

    /// The value captured at node `n`, if a key of it was seen (may be `Null`).
    fn at(&self, n: usize) -> Option<&Raw<'de>> {
        self.slots
            .get(n)
            .filter(|s| s.held != Held::No)
            .map(|s| &s.raw)
    }
}

// ---------------------------------------------------------------------------
// The captured values, as `build` reads them

/// A captured value as [`build`] reads it, from either pass: the serde
/// pass's [`Raw`]s, or the byte scanner's places in the line ([`fast::Spans`]).
#[derive(Clone, Copy)]
enum Got<'c, 'de> {
    Null,
    Bool,
    Num(Num<'c, 'de>),
    Str(Text<'c, 'de>),
    Array(Items<'c, 'de>),
    Object,
}

/// A captured number.
#[derive(Clone, Copy)]
enum Num<'c, 'de> {
    Held(&'c Number),
    /// Its text in the line, as the scanner checked it.
    Line(&'de str),
}

/// A captured string.
#[derive(Clone, Copy)]
enum Text<'c, 'de> {
    Held(&'c Cow<'de, str>),
    /// Unescaped in the line.
    Line(&'de str),
}

/// A captured array (only a leaf's items are read).
#[derive(Clone, Copy)]
enum Items<'c, 'de> {
    Held(&'c [Raw<'de>]),
    /// Its text in the line, brackets included, as the scanner checked it.
    Line(&'de str),
}

impl<'c, 'de: 'c> Got<'c, 'de> {
    /// As [`crate::input::event::json_kind`] names it.
    #[inline]
    fn kind(self) -> &'static str {
        match self {
            Got::Null => "null",
            Got::Bool => "a boolean",
            Got::Num(_) => "a number",
            Got::Str(_) => "a string",
            Got::Array(_) => "an array",
            Got::Object => "an object",
        }
    }

    fn of(raw: &'c Raw<'de>) -> Got<'c, 'de> {
        match raw {
            Raw::Null => Got::Null,
            Raw::Bool => Got::Bool,
            Raw::Num(n) => Got::Num(Num::Held(n)),
            Raw::Str(s) => Got::Str(Text::Held(s)),
            Raw::Array(items) => Got::Array(Items::Held(items)),
            Raw::Object => Got::Object,
        }
    }
}

impl<'c, 'de: 'c> Num<'c, 'de> {
    /// The number as serde_json makes it (`None`: not one, which the scanner
    /// does not let through).
    fn number(self) -> Option<Number> {
        match self {
            Num::Held(n) => Some(n.clone()),
            Num::Line(text) => fast::number(text),
        }
    }
}

impl<'c, 'de: 'c> Text<'c, 'de> {
    #[inline(always)]
    fn as_str(self) -> &'c str {
        match self {
            Text::Held(s) => s,
            Text::Line(s) => s,
        }
    }

    #[inline(always)]
    fn to_cow(self) -> Cow<'de, str> {
        match self {
            Text::Held(s) => s.clone(),
            Text::Line(s) => Cow::Borrowed(s),
        }
    }
}

impl<'c, 'de: 'c> Items<'c, 'de> {
    fn items(self) -> Vec<Got<'c, 'de>> {
        match self {
            Items::Held(raws) => raws.iter().map(Got::of).collect(),
            Items::Line(text) => fast::items(text),
        }
    }
}

/// What a pass captured, for [`build`].
trait Captured<'de> {
    /// The value captured at node `n`, if a key of it was seen (may be `Null`).
    fn got(&self, n: usize) -> Option<Got<'_, 'de>>;
    /// The top-level object has a key `eventType` in some case.
    fn has_event_type_key(&self) -> bool;
}

impl<'de> Captured<'de> for Capture<'de> {
    fn got(&self, n: usize) -> Option<Got<'_, 'de>> {
        self.at(n).map(Got::of)
    }
    fn has_event_type_key(&self) -> bool {
        self.event_type_key
    }
}

/// The reference reader's `get` over the captured values: the value at the
/// child nodes `path` below `base`.
#[inline(always)]
fn get<'c, 'de: 'c, C: Captured<'de>>(
    cap: &'c C,
    base: Got<'c, 'de>,
    path: &[usize],
    field: &'static str,
) -> Result<Option<Got<'c, 'de>>, EventError> {
    let mut cur = base;
    for (i, &n) in path.iter().enumerate() {
        match cur {
            Got::Object => {}
            Got::Null => return Ok(None),
            Got::Str(s) if s.as_str().is_empty() || is_null_text(s.as_str()) => return Ok(None),
            other => {
                return Err(EventError::WrongType {
                    field: field_prefix(field, path.len() - i).to_owned(),
                    expected: "an object",
                    found: other.kind(),
                });
            }
        }
        match cap.got(n) {
            Some(next) => cur = next,
            None => return Ok(None),
        }
    }
    Ok(match cur {
        Got::Null => None,
        Got::Str(s) if is_null_text(s.as_str()) => None,
        _ => Some(cur),
    })
}

/// The reference reader's `get_str` over the captured values.
#[inline(always)]
fn get_str<'c, 'de: 'c, C: Captured<'de>>(
    cap: &'c C,
    base: Got<'c, 'de>,
    path: &[usize],
    field: &'static str,
) -> Result<Option<Text<'c, 'de>>, EventError> {
    match get(cap, base, path, field)? {
        None => Ok(None),
        Some(Got::Str(s)) => Ok(Some(s)),
        Some(other) => Err(EventError::WrongType {
            field: field.to_owned(),
            expected: "a string",
            found: other.kind(),
        }),
    }
}

/// [`get_str`], as the event's string.
#[inline(always)]
fn get_cow<'c, 'de: 'c, C: Captured<'de>>(
    cap: &'c C,
    base: Got<'c, 'de>,
    path: &[usize],
    field: &'static str,
) -> Result<Option<Cow<'de, str>>, EventError> {
    Ok(get_str(cap, base, path, field)?.map(Text::to_cow))
}

/// The reference reader's `ip_at` over the captured values.
#[inline(always)]
fn ip_at<'c, 'de: 'c, C: Captured<'de>>(
    cap: &'c C,
    parent: Got<'c, 'de>,
    key: usize,
    field: &'static str,
) -> Result<Option<std::net::IpAddr>, EventError> {
    match parent {
        Got::Object => {}
        Got::Null => return Ok(None),
        other => {
            return Err(EventError::WrongType {
                field: field_prefix(field, 1).to_owned(),
                expected: "an object",
                found: other.kind(),
            })
        }
    }
    match get_str(cap, parent, &[key], field)? {
        None => Ok(None),
        Some(text) => parse_client_ip(field, text.as_str()),
    }
}

/// The reference reader's `get_scopes` over the captured values.
fn scopes<'c, 'de: 'c, C: Captured<'de>>(
    cap: &'c C,
    dd: Got<'c, 'de>,
    key: usize,
    field: &'static str,
) -> Result<Vec<Cow<'de, str>>, EventError> {
    match get(cap, dd, &[key], field)? {
        None => Ok(Vec::new()),
        Some(Got::Str(s)) => Ok(split(s)),
        Some(Got::Array(items)) => items
            .items()
            .into_iter()
            .enumerate()
            .filter(|(_, item)| !matches!(item, Got::Null))
            .map(|(i, item)| match item {
                Got::Str(s) => Ok(s.to_cow()),
                other => Err(EventError::WrongType {
                    field: format!("{field}[{i}]"),
                    expected: "a string",
                    found: other.kind(),
                }),
            })
            .collect(),
        Some(other) => Err(EventError::WrongType {
            field: field.to_owned(),
            expected: "a string or an array of strings",
            found: other.kind(),
        }),
    }
}

/// An extension number of `debugData` (`Extensions::read`).
#[inline(always)]
fn num<'c, 'de: 'c, C: Captured<'de>>(
    cap: &'c C,
    dd: Got<'c, 'de>,
    key: usize,
    field: &'static str,
) -> Result<Option<f64>, EventError> {
    match get(cap, dd, &[key], field)? {
        None => Ok(None),
        Some(Got::Num(n)) => Ok(n.number().and_then(|n| n.as_f64())),
        Some(Got::Str(s)) => number_text(s.as_str(), field).map(Some),
        Some(other) => Err(EventError::WrongType {
            field: field.to_string(),
            expected: "a number",
            found: other.kind(),
        }),
    }
}

/// The scopes of a scope string, borrowed from the line when the string is.
fn split<'de>(s: Text<'_, 'de>) -> Vec<Cow<'de, str>> {
    match s {
        Text::Line(b) => split_borrowed(b),
        Text::Held(Cow::Borrowed(b)) => split_borrowed(b),
        Text::Held(Cow::Owned(o)) => split_scopes(o).map(|p| Cow::Owned(p.to_owned())).collect(),
    }
}

/// [`split_scopes`] of a borrowed string. An ASCII string is split here,
/// its separators found eight bytes at a time ([`next_separator`]); any
/// other is left to `split_scopes`, which also splits on Unicode spaces.
fn split_borrowed(s: &str) -> Vec<Cow<'_, str>> {
    if !s.is_ascii() {
        return split_scopes(s).map(Cow::Borrowed).collect();
    }
    let mut out = Vec::new();
    let mut start = 0;
    while let Some(end) = next_separator(s.as_bytes(), start) {
        if let Some(piece) = s.get(start..end).filter(|p| !p.is_empty()) {
            out.push(Cow::Borrowed(piece));
        }
        start = end + 1;
    }
    if let Some(piece) = s.get(start..).filter(|p| !p.is_empty()) {
        out.push(Cow::Borrowed(piece));
    }
    out
}

/// The first offset from `from` of a byte of ASCII `b` that separates
/// scopes: `,` or one of the ASCII characters `char::is_whitespace`
/// accepts (space, and 0x09 to 0x0D).
fn next_separator(b: &[u8], from: usize) -> Option<usize> {
    const LOW7: u64 = u64::from_ne_bytes([0x7F; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    // The high bit of each byte equal to `c`, exactly (no carries between bytes).
    let equal = |x: u64, c: u8| {
        let y = x ^ (ONES * u64::from(c));
        !(((y & LOW7) + LOW7) | y | LOW7)
    };
    let mut at = from;
    while let Some(chunk) = b.get(at..at + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        // Bytes from 0x09 to 0x0D: below 0x0E and not below 0x09, on the
        // low seven bits (the bytes are ASCII).
        let below = |n: u8| !((x & LOW7) + ONES * u64::from(0x80 - n)) & HIGH;
        let hits = equal(x, b',') | equal(x, b' ') | (below(0x0E) & !below(0x09));
        if hits != 0 {
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    b.get(at..)?
        .iter()
        .position(|c| matches!(c, b',' | b' ' | 0x09..=0x0D))
        .map(|i| at + i)
}

/// The reference reader's `asn` over a captured value.
fn asn(v: Got<'_, '_>) -> Result<Option<u64>, EventError> {
    const FIELD: &str = "securityContext.asNumber";
    let bad = |value: String| EventError::BadValue {
        field: FIELD.into(),
        value,
        reason: "not an autonomous system number (a non-negative integer)".into(),
    };
    match v {
        Got::Num(n) => match n.number() {
            Some(n) => n.as_u64().map(Some).ok_or_else(|| bad(n.to_string())),
            None => Ok(None),
        },
        Got::Str(s) => asn_text(s.as_str()),
        other => Err(EventError::WrongType {
            field: FIELD.into(),
            expected: "a number or a numeric string",
            found: other.kind(),
        }),
    }
}

// ---------------------------------------------------------------------------
// The pass

/// Where a value goes besides the `attrs`.
#[derive(Clone, Copy)]
enum At {
    /// Nowhere.
    Skip,
    /// Into the slot of this node (the caller stores the returned raw).
    Node(usize),
    /// An item of a leaf array: only its raw.
    Item,
}

/// How much of a value goes into the `attrs`.
#[derive(Clone, Copy)]
enum Keep<'k> {
    Nothing,
    All,
    Part(&'k Trie),
}

impl<'k> Keep<'k> {
    fn child(self, key: &str) -> Keep<'k> {
        match self {
            Keep::Nothing => Keep::Nothing,
            Keep::All => Keep::All,
            Keep::Part(t) => match t.child(key) {
                None => Keep::Nothing,
                Some(c) if c.leaf => Keep::All,
                Some(c) => Keep::Part(c),
            },
        }
    }
    /// Below a value that is not an object, everything is kept.
    fn elements(self) -> Keep<'k> {
        match self {
            Keep::Nothing => Keep::Nothing,
            _ => Keep::All,
        }
    }
    fn wants(self) -> bool {
        !matches!(self, Keep::Nothing)
    }
}

struct Out<'de> {
    value: Option<Value>,
    raw: Raw<'de>,
}

impl Out<'_> {
    const NONE: Out<'static> = Out {
        value: None,
        raw: Raw::Null,
    };
}

/// A value neither read nor kept: parsed as for a `Value` (through
/// `deserialize_any`, so that it is accepted or rejected exactly as then:
/// `IgnoredAny` would skip numbers out of range, lone surrogates and nesting
/// past the recursion limit), and dropped.
struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(Skip)?.is_some() {
            map.next_value_seed(Skip)?;
        }
        Ok(())
    }
}

/// One value: captured as `at` says, built as `keep` says.
struct Tee<'c, 'de, 'k> {
    cap: &'c mut Capture<'de>,
    at: At,
    keep: Keep<'k>,
}

impl Tee<'_, '_, '_> {
    fn captures(&self) -> bool {
        !matches!(self.at, At::Skip)
    }
    fn shape(&self) -> Option<Shape> {
        match self.at {
            At::Node(n) => node(n).map(|d| d.shape),
            At::Skip | At::Item => None,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Tee<'_, 'de, '_> {
    type Value = Out<'de>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Out<'de>, D::Error> {
        match (self.at, self.keep) {
            // serde_json's own code, for a value kept whole and not read.
            (At::Skip, Keep::All) => Value::deserialize(d).map(|v| Out {
                value: Some(v),
                raw: Raw::Null,
            }),
            _ => d.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for Tee<'_, 'de, '_> {
    type Value = Out<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Out<'de>, E> {
        Ok(Out {
            value: self.keep.wants().then_some(Value::Bool(b)),
            raw: Raw::Bool,
        })
    }

    fn visit_i64<E>(self, n: i64) -> Result<Out<'de>, E> {
        Ok(self.number(Some(n.into())))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Out<'de>, E> {
        Ok(self.number(Some(n.into())))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Out<'de>, E> {
        Ok(self.number(Number::from_f64(n)))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Out<'de>, E> {
        Ok(Out {
            value: self.keep.wants().then(|| Value::String(s.to_owned())),
            raw: if self.captures() {
                Raw::Str(Cow::Borrowed(s))
            } else {
                Raw::Null
            },
        })
    }

    fn visit_str<E>(self, s: &str) -> Result<Out<'de>, E> {
        Ok(Out {
            value: self.keep.wants().then(|| Value::String(s.to_owned())),
            raw: if self.captures() {
                Raw::Str(Cow::Owned(s.to_owned()))
            } else {
                Raw::Null
            },
        })
    }

    fn visit_string<E>(self, s: String) -> Result<Out<'de>, E> {
        let raw = if self.captures() {
            Raw::Str(Cow::Owned(s.clone()))
        } else {
            Raw::Null
        };
        Ok(Out {
            value: self.keep.wants().then_some(Value::String(s)),
            raw,
        })
    }

    fn visit_unit<E>(self) -> Result<Out<'de>, E> {
        Ok(Out {
            value: self.keep.wants().then_some(Value::Null),
            raw: Raw::Null,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Out<'de>, A::Error> {
        let shape = self.shape();
        let first_child = match self.at {
            At::Node(n) if shape == Some(Shape::First) => {
                node(n).and_then(|d| d.children.first().copied())
            }
            _ => None,
        };
        let keep = self.keep.elements();
        let mut values = keep.wants().then(Vec::new);
        let mut items = Vec::new();
        let mut index = 0usize;
        loop {
            let at = match (shape, first_child) {
                (Some(Shape::Leaf), _) => At::Item,
                (Some(Shape::First), Some(c)) if index == 0 => At::Node(c),
                _ => At::Skip,
            };
            let out = if matches!((at, keep), (At::Skip, Keep::Nothing)) {
                match seq.next_element_seed(Skip)? {
                    Some(()) => Out::NONE,
                    None => break,
                }
            } else {
                match seq.next_element_seed(Tee {
                    cap: &mut *self.cap,
                    at,
                    keep,
                })? {
                    Some(out) => out,
                    None => break,
                }
            };
            match at {
                At::Item => items.push(out.raw),
                At::Node(c) => self.cap.hold_first(c, out.raw),
                At::Skip => {}
            }
            if let (Some(values), Some(v)) = (&mut values, out.value) {
                values.push(v);
            }
            index += 1;
        }
        Ok(Out {
            value: values.map(Value::Array),
            raw: Raw::Array(items),
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Out<'de>, A::Error> {
        // The node whose children the keys may be.
        let parent = match self.at {
            At::Node(n) if node(n).is_some_and(|d| d.shape == Shape::Obj) => Some(n),
            _ => None,
        };
        let root = matches!(self.at, At::Node(ROOT));
        let mut values = self.keep.wants().then(Map::new);
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let mut at = At::Skip;
            if let Some((c, exact)) = parent.and_then(|p| find_key(p, &key)) {
                if root && c == EVENT_TYPE {
                    self.cap.event_type_key = true;
                }
                if self.cap.claim(c, &key, exact) {
                    at = At::Node(c);
                }
            }
            let keep = self.keep.child(&key);
            if matches!((at, keep), (At::Skip, Keep::Nothing)) {
                map.next_value_seed(Skip)?;
                continue;
            }
            let out = map.next_value_seed(Tee {
                cap: &mut *self.cap,
                at,
                keep,
            })?;
            if let At::Node(c) = at {
                self.cap.set_raw(c, out.raw);
            }
            if let (Some(values), Some(v)) = (&mut values, out.value) {
                values.insert(key.into_owned(), v);
            }
        }
        Ok(Out {
            value: values.map(Value::Object),
            raw: Raw::Object,
        })
    }
}

impl<'de> Tee<'_, 'de, '_> {
    /// A number, as serde_json's `Value` stores it (`None`: not finite, `null`).
    fn number(self, n: Option<Number>) -> Out<'de> {
        let value = self
            .keep
            .wants()
            .then(|| n.clone().map_or(Value::Null, Value::Number));
        Out {
            value,
            raw: n.map_or(Raw::Null, Raw::Num),
        }
    }
}

/// An object key, borrowed from the line when it holds no escape.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(s))
    }
    fn visit_str<E>(self, s: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(s))
    }
}

/// Parses one line as an Okta `LogEvent`.
///
/// # Errors
/// [`EventError::InvalidJson`] with serde_json's message, exactly as
/// `serde_json::from_str::<Value>` reports it; then the errors listed on
/// [`super::parse_okta`].
pub(super) fn okta<'de>(line: &'de str, filter: &AttrFilter) -> Result<Event<'de>, EventError> {
    if let Some(trie) = filter.trie() {
        let mut spans = fast::Spans::new(line);
        if let Some(attrs) = fast::read(&mut spans, Keep::Part(trie)) {
            return build(&spans, Some(attrs));
        }
    }
    // Filled in place: at some 2 KiB, the capture is better not moved.
    let mut cap = Capture::new();
    let attrs = read(line, filter, &mut cap)?;
    build(&cap, attrs)
}

/// [`okta`] for `Format::Auto`: `Ok(None)` when the line is not an object
/// with an `eventType` key in some case (a native event).
///
/// # Errors
/// As [`okta`].
#[inline]
pub(super) fn auto<'de>(
    line: &'de str,
    filter: &AttrFilter,
) -> Result<Option<Event<'de>>, EventError> {
    if let Some(trie) = filter.trie() {
        let mut spans = fast::Spans::new(line);
        if let Some(attrs) = fast::read(&mut spans, Keep::Part(trie)) {
            return okta_only(&spans, attrs);
        }
    }
    let mut cap = Capture::new();
    let attrs = read(line, filter, &mut cap)?;
    okta_only(&cap, attrs)
}

/// [`build`], or `Ok(None)` when the line is not an object with an
/// `eventType` key in some case.
#[inline]
fn okta_only<'de, C: Captured<'de>, A: Into<Option<Value>>>(
    cap: &C,
    attrs: A,
) -> Result<Option<Event<'de>>, EventError> {
    if !(matches!(cap.got(ROOT), Some(Got::Object)) && cap.has_event_type_key()) {
        return Ok(None);
    }
    build(cap, attrs.into()).map(Some)
}

/// Reads `line` in one pass of serde_json into `cap`; returns the `attrs`
/// kept.
///
/// With a filter, the byte scanner ([`fast`]) reads the line first when it
/// can ([`okta`]); this pass reads it when the scanner gives up (and
/// reports the errors). Keeping everything, this pass builds the `Value`
/// and captures in one go, which is cheaper than scanning and then building.
fn read<'de>(
    line: &'de str,
    filter: &AttrFilter,
    cap: &mut Capture<'de>,
) -> Result<Option<Value>, EventError> {
    let keep = filter.trie().map_or(Keep::All, Keep::Part);
    let mut de = serde_json::Deserializer::from_str(line);
    let out = Tee {
        cap: &mut *cap,
        at: At::Node(ROOT),
        keep,
    }
    .deserialize(&mut de)
    .and_then(|out| de.end().map(|()| out))
    .map_err(|e| EventError::from_json(&e))?;
    cap.hold_first(ROOT, out.raw);
    Ok(out.value)
}

/// The event of a line read by either pass: the adapter's checks, in their
/// order, with their errors.
fn build<'de, C: Captured<'de>>(cap: &C, attrs: Option<Value>) -> Result<Event<'de>, EventError> {
    let root = cap.got(ROOT).unwrap_or(Got::Null);
    if !matches!(root, Got::Object) {
        return Err(EventError::NotAnObject { found: root.kind() });
    }
    let time_ms = {
        let published = get_str(cap, root, &[PUBLISHED], "published")?
            .ok_or(EventError::MissingField("published"))?
            .as_str();
        parse_timestamp_ms(published, false).map_err(|reason| EventError::BadTime {
            field: "published",
            value: excerpt(published),
            reason,
        })?
    };
    let actor = get(cap, root, &[ACTOR], "actor")?.ok_or(EventError::NoActor)?;
    if !matches!(actor, Got::Object) {
        return Err(EventError::WrongType {
            field: "actor".into(),
            expected: "an object",
            found: actor.kind(),
        });
    }
    let agent = get_str(cap, actor, &[ACTOR_ID], "actor.id")?
        .ok_or(EventError::MissingField("actor.id"))?;
    if agent.as_str().is_empty() {
        return Err(EventError::BadValue {
            field: "actor.id".into(),
            value: String::new(),
            reason: "an agent id must not be empty".into(),
        });
    }
    let actor_kind = get_str(cap, actor, &[ACTOR_TYPE], "actor.type")?
        .map_or(ActorKind::Other, |t| actor_kind(t.as_str()));
    let event_type = get_str(cap, root, &[EVENT_TYPE], "eventType")?;
    let categories = event_type.map_or(Categories::NONE, |t| categories_for(t.as_str()));

    let debug_data = get(
        cap,
        root,
        &[DEBUG_CONTEXT, DEBUG_DATA],
        "debugContext.debugData",
    )?;
    let (mut scopes_, mut granted_scopes, mut grant_type, mut auth_method) =
        (Vec::new(), Vec::new(), None, None);
    let mut cert = Cert::default();
    let (mut token_lifetime_minutes, mut secret_age_days, mut device_posture) = (None, None, None);
    if let Some(dd) = debug_data {
        cert.issuer = get_cow(cap, dd, &[CERT_ISSUER], "debugContext.debugData.certIssuer")?;
        cert.age_days = num(cap, dd, CERT_AGE_DAYS, "debugContext.debugData.certAgeDays")?;
        token_lifetime_minutes = num(
            cap,
            dd,
            TOKEN_LIFETIME_MINUTES,
            "debugContext.debugData.tokenLifetimeMinutes",
        )?;
        secret_age_days = num(
            cap,
            dd,
            SECRET_AGE_DAYS,
            "debugContext.debugData.secretAgeDays",
        )?;
        device_posture = get_cow(
            cap,
            dd,
            &[DEVICE_POSTURE],
            "debugContext.debugData.devicePosture",
        )?;
        scopes_ = scopes(
            cap,
            dd,
            REQUESTED_SCOPES,
            "debugContext.debugData.requestedScopes",
        )?;
        granted_scopes = scopes(
            cap,
            dd,
            GRANTED_SCOPES,
            "debugContext.debugData.grantedScopes",
        )?;
        grant_type = get_cow(cap, dd, &[GRANT_TYPE], "debugContext.debugData.grantType")?;
        auth_method = get_cow(
            cap,
            dd,
            &[CLIENT_AUTH_TYPE],
            "debugContext.debugData.clientAuthType",
        )?;
    }

    let client = get(cap, root, &[CLIENT], "client")?;
    let ip = match client {
        Some(c) => ip_at(cap, c, IP_ADDRESS, "client.ipAddress")?,
        None => None,
    };
    let ip = match ip {
        Some(ip) => Some(ip),
        None => match get(cap, root, &[REQUEST, IP_CHAIN], "request.ipChain")? {
            Some(Got::Array(_)) => match cap.got(IP_CHAIN_FIRST) {
                Some(first) => ip_at(cap, first, IP_CHAIN_IP, "request.ipChain[0].ip")?,
                None => None,
            },
            Some(other) => {
                return Err(EventError::WrongType {
                    field: "request.ipChain".into(),
                    expected: "an array",
                    found: other.kind(),
                })
            }
            None => None,
        },
    };
    let (country, user_agent) = match client {
        Some(c) => (
            get_cow(
                cap,
                c,
                &[GEO, COUNTRY],
                "client.geographicalContext.country",
            )?,
            get_cow(
                cap,
                c,
                &[USER_AGENT, RAW_USER_AGENT],
                "client.userAgent.rawUserAgent",
            )?,
        ),
        None => (None, None),
    };
    let outcome = get_cow(cap, root, &[OUTCOME, RESULT], "outcome.result")?;
    let asn = match get(
        cap,
        root,
        &[SECURITY_CONTEXT, AS_NUMBER],
        "securityContext.asNumber",
    )? {
        Some(n) => asn(n)?,
        None => None,
    };
    let event_type = event_type.map(Text::to_cow);
    let agent = agent.to_cow();
    let attrs = attrs.unwrap_or(Value::Null);
    Ok(Event {
        time_ms,
        agent,
        actor: actor_kind,
        categories,
        event_type,
        ip,
        scopes: scopes_,
        granted_scopes,
        outcome,
        country,
        asn,
        user_agent,
        grant_type,
        auth_method,
        cert,
        token_lifetime_minutes,
        secret_age_days,
        device_posture,
        attrs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `find_key` is `eq_ignore_ascii_case` against each child.
    #[test]
    fn find_key_is_a_case_insensitive_comparison() {
        let mut keys: Vec<String> = Vec::new();
        for def in &SCHEMA {
            let k = def.key;
            keys.extend([
                k.to_owned(),
                k.to_ascii_lowercase(),
                k.to_ascii_uppercase(),
                format!("{k}x"),
                k.replace('a', "@").replace('e', "E"),
                k.chars().map(|c| ((c as u8) ^ 0x20) as char).collect(),
                k.chars().map(|c| ((c as u8) & !0x20) as char).collect(),
            ]);
            if let Some(cut) = k.get(1..) {
                keys.push(cut.to_owned());
                keys.push(format!("\0{cut}"));
            }
        }
        keys.extend(["", "a", "\0", "eventTypeeventTypeeventTypeX", "ipchaiN"].map(String::from));
        for (n, def) in SCHEMA.iter().enumerate() {
            if def.shape != Shape::Obj {
                continue;
            }
            for key in &keys {
                let want = def
                    .children
                    .iter()
                    .copied()
                    .find(|&c| node(c).is_some_and(|d| key.eq_ignore_ascii_case(d.key)))
                    .map(|c| (c, node(c).is_some_and(|d| d.key == key)));
                assert_eq!(find_key(n, key), want, "{key:?}");
                // Followed by the rest of a line.
                let line = format!("{key}\": \"value\", \"more\": 1}}");
                assert_eq!(find_key_in(n, line.as_bytes(), key.len()), want, "{key:?}");
            }
        }
    }

    /// `split_borrowed` is `split_scopes`, on every ASCII byte at every
    /// place of a few lengths, and on pseudo-random strings.
    #[test]
    fn split_borrowed_is_split_scopes() {
        let check = |text: &str| {
            let want: Vec<&str> = split_scopes(text).collect();
            assert_eq!(split_borrowed(text), want, "{text:?}");
        };
        for b in 0..=0x7Fu8 {
            for len in [1, 7, 8, 9, 17] {
                for pos in 0..len {
                    let mut s = vec![b'a'; len];
                    s[pos] = b;
                    check(std::str::from_utf8(&s).unwrap_or_default());
                }
            }
        }
        let alphabet = b"ab:.,, \t\n\x0b\x0c\r\x08\x0e\x1f!~\x7f";
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..5_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 40) as usize;
            let s: Vec<u8> = (0..len)
                .map(|i| alphabet[((seed >> (i % 50)) as usize + i * 7) % alphabet.len()])
                .collect();
            check(std::str::from_utf8(&s).unwrap_or_default());
        }
        check("caf\u{e9} a,\u{2003}b");
    }

    /// Children lie inside their parent's subtree, and each subtree is
    /// exactly its node and its children's subtrees (preorder).
    #[test]
    fn schema_is_a_preorder_tree() {
        for (n, def) in SCHEMA.iter().enumerate() {
            let mut next = n + 1;
            for &c in def.children {
                assert_eq!(c, next, "node {n}: children in order");
                let child = node(c).expect("child exists");
                assert!(child.end <= def.end);
                next = child.end;
            }
            assert_eq!(next, def.end, "node {n} ({}): subtree end", def.key);
            assert!(
                def.key.bytes().all(|b| b.is_ascii_alphabetic()),
                "{}",
                def.key
            );
            match def.shape {
                Shape::Leaf => assert!(def.children.is_empty()),
                Shape::Obj => {}
                Shape::First => assert_eq!(def.children.len(), 1),
            }
        }
    }
}
