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
    /// `key` in words, as [`Words::of`] makes them, for [`find_key`].
    exact: Words,
    /// `exact` with every byte's 0x20 bit set.
    folded: Words,
    shape: Shape,
    children: &'static [usize],
    /// One past the last node of this node's subtree (nodes are in preorder).
    end: usize,
}

/// The longest key [`Words`] holds.
const WORD_BYTES: usize = 24;

/// A key of at most [`WORD_BYTES`] bytes as little-endian words, zero-padded.
#[derive(Debug, Clone, Copy, Eq)]
struct Words([u64; 3]);

impl PartialEq for Words {
    /// Word by word in scalar registers: a derived comparison reads the
    /// words as one vector, which stalls when they were just stored one by one.
    fn eq(&self, other: &Words) -> bool {
        let [a0, a1, a2] = self.0;
        let [b0, b1, b2] = other.0;
        ((a0 ^ b0) | (a1 ^ b1) | (a2 ^ b2)) == 0
    }
}

impl Words {
    /// The words of `s` (its first [`WORD_BYTES`] bytes).
    const fn of(s: &str) -> Words {
        let b = s.as_bytes();
        let mut w = [0u64; 3];
        let mut i = 0;
        while i < b.len() && i < WORD_BYTES {
            w[i / 8] |= (b[i] as u64) << (8 * (i % 8));
            i += 1;
        }
        Words(w)
    }

    /// [`Words::of`] for the first `len` bytes of `src`, which may go on past
    /// them: whole words are read from it where it has them, rather than
    /// copying the key into a buffer and reading that back (a store-to-load
    /// forwarding stall).
    fn load(src: &[u8], len: usize) -> Words {
        let mut w = [0u64; 3];
        for (i, word) in w.iter_mut().enumerate() {
            let from = 8 * i;
            if from >= len.min(WORD_BYTES) {
                break;
            }
            let n = (len - from).min(8);
            *word = match src.get(from..from + 8) {
                Some(bytes) => {
                    let mut b8 = [0u8; 8];
                    b8.copy_from_slice(bytes);
                    let x = u64::from_le_bytes(b8);
                    if n == 8 {
                        x
                    } else {
                        x & ((1u64 << (8 * n)) - 1)
                    }
                }
                // Fewer than eight bytes left in `src`: one at a time.
                None => src
                    .get(from..from + n)
                    .unwrap_or(&[])
                    .iter()
                    .rev()
                    .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
            };
        }
        Words(w)
    }

    /// Every byte with its 0x20 bit set: for keys made of ASCII letters
    /// only, two keys of one length are equal ignoring ASCII case exactly
    /// when their folded words are equal (`b | 0x20` is a given lowercase
    /// letter only for that letter and its uppercase form).
    const fn folded(self) -> Words {
        const FOLD: u64 = u64::from_ne_bytes([0x20; 8]);
        Words([self.0[0] | FOLD, self.0[1] | FOLD, self.0[2] | FOLD])
    }
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
        exact: Words::of(key),
        folded: Words::of(key).folded(),
        shape: Shape::Leaf,
        children: &[],
        end: at + 1,
    }
}

const fn obj(key: &'static str, children: &'static [usize], end: usize) -> Node {
    Node {
        key,
        exact: Words::of(key),
        folded: Words::of(key).folded(),
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
        exact: Words::of("ipChain"),
        folded: Words::of("ipChain").folded(),
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
/// The one candidate is found in the parent's [`TABLES`] slot; schema keys
/// are ASCII letters of at most [`WORD_BYTES`] bytes, so it is compared a
/// word at a time ([`Words::folded`]).
fn find_key(parent: usize, key: &str) -> Option<(usize, bool)> {
    find_key_in(parent, key.as_bytes(), key.len())
}

/// [`find_key`] for the key made of the first `len` bytes of `src` (the
/// rest of the line after them, for the byte scanner: see [`Words::load`]).
fn find_key_in(parent: usize, src: &[u8], len: usize) -> Option<(usize, bool)> {
    let first = *src.first()?;
    let last = *src.get(len.checked_sub(1)?)?;
    let c = usize::from(*TABLES.get(parent)?.get(key_slot(len, first, last))?);
    let d = node(c)?;
    if d.key.len() != len {
        return None;
    }
    let w = Words::load(src, len);
    if w == d.exact {
        Some((c, true))
    } else if w.folded() == d.folded {
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

impl Raw<'_> {
    /// As [`crate::input::event::json_kind`] names it.
    fn kind(&self) -> &'static str {
        match self {
            Raw::Null => "null",
            Raw::Bool => "a boolean",
            Raw::Num(_) => "a number",
            Raw::Str(_) => "a string",
            Raw::Array(_) => "an array",
            Raw::Object => "an object",
        }
    }
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

    /// The reference reader's `get` over the captured values: the value at the child nodes
    /// `path` below `base`.
    fn get<'c>(
        &'c self,
        base: &'c Raw<'de>,
        path: &[usize],
        field: &'static str,
    ) -> Result<Option<&'c Raw<'de>>, EventError> {
        let mut cur = base;
        for (i, &n) in path.iter().enumerate() {
            match cur {
                Raw::Object => {}
                Raw::Null => return Ok(None),
                Raw::Str(s) if s.is_empty() || is_null_text(s) => return Ok(None),
                other => {
                    return Err(EventError::WrongType {
                        field: field_prefix(field, path.len() - i).to_owned(),
                        expected: "an object",
                        found: other.kind(),
                    });
                }
            }
            match self.at(n) {
                Some(next) => cur = next,
                None => return Ok(None),
            }
        }
        Ok(match cur {
            Raw::Null => None,
            Raw::Str(s) if is_null_text(s) => None,
            _ => Some(cur),
        })
    }

    /// The reference reader's `get_str` over the captured values.
    fn get_str<'c>(
        &'c self,
        base: &'c Raw<'de>,
        path: &[usize],
        field: &'static str,
    ) -> Result<Option<&'c Cow<'de, str>>, EventError> {
        match self.get(base, path, field)? {
            None => Ok(None),
            Some(Raw::Str(s)) => Ok(Some(s)),
            Some(other) => Err(EventError::WrongType {
                field: field.to_owned(),
                expected: "a string",
                found: other.kind(),
            }),
        }
    }

    /// The reference reader's `ip_at` over the captured values.
    fn ip_at(
        &self,
        parent: &Raw<'de>,
        key: usize,
        field: &'static str,
    ) -> Result<Option<std::net::IpAddr>, EventError> {
        match parent {
            Raw::Object => {}
            Raw::Null => return Ok(None),
            other => {
                return Err(EventError::WrongType {
                    field: field_prefix(field, 1).to_owned(),
                    expected: "an object",
                    found: other.kind(),
                })
            }
        }
        match self.get_str(parent, &[key], field)?.map(AsRef::as_ref) {
            None => Ok(None),
            Some(text) => parse_client_ip(field, text),
        }
    }

    /// The reference reader's `get_scopes` over the captured values.
    fn scopes(
        &self,
        dd: &Raw<'de>,
        key: usize,
        field: &'static str,
    ) -> Result<Vec<Cow<'de, str>>, EventError> {
        match self.get(dd, &[key], field)? {
            None => Ok(Vec::new()),
            Some(Raw::Str(s)) => Ok(split(s)),
            Some(Raw::Array(items)) => items
                .iter()
                .enumerate()
                .filter(|(_, item)| !matches!(item, Raw::Null))
                .map(|(i, item)| match item {
                    Raw::Str(s) => Ok(s.clone()),
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
    fn num(
        &self,
        dd: &Raw<'de>,
        key: usize,
        field: &'static str,
    ) -> Result<Option<f64>, EventError> {
        match self.get(dd, &[key], field)? {
            None => Ok(None),
            Some(Raw::Num(n)) => Ok(n.as_f64()),
            Some(Raw::Str(s)) => number_text(s, field).map(Some),
            Some(other) => Err(EventError::WrongType {
                field: field.to_string(),
                expected: "a number",
                found: other.kind(),
            }),
        }
    }
}

/// The scopes of a scope string, borrowed from the line when the string is.
fn split<'de>(s: &Cow<'de, str>) -> Vec<Cow<'de, str>> {
    match s {
        Cow::Borrowed(b) => split_scopes(b).map(Cow::Borrowed).collect(),
        Cow::Owned(o) => split_scopes(o).map(|p| Cow::Owned(p.to_owned())).collect(),
    }
}

/// The reference reader's `asn` over a captured value.
fn asn(v: &Raw<'_>) -> Result<Option<u64>, EventError> {
    const FIELD: &str = "securityContext.asNumber";
    let bad = |value: String| EventError::BadValue {
        field: FIELD.into(),
        value,
        reason: "not an autonomous system number (a non-negative integer)".into(),
    };
    match v {
        Raw::Num(n) => n.as_u64().map(Some).ok_or_else(|| bad(n.to_string())),
        Raw::Str(s) => asn_text(s),
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
pub(super) fn auto<'de>(
    line: &'de str,
    filter: &AttrFilter,
) -> Result<Option<Event<'de>>, EventError> {
    let mut cap = Capture::new();
    let attrs = read(line, filter, &mut cap)?;
    if !(matches!(cap.at(ROOT), Some(Raw::Object)) && cap.event_type_key) {
        return Ok(None);
    }
    build(&cap, attrs).map(Some)
}

/// Reads `line` in one pass into `cap`; returns the `attrs` kept.
///
/// With a filter, the byte scanner ([`fast`]) reads the line when it can;
/// the serde pass reads it when the scanner gives up (and reports the
/// errors). Keeping everything, the serde pass builds the `Value` and
/// captures in one go, which is cheaper than scanning and then building.
fn read<'de>(
    line: &'de str,
    filter: &AttrFilter,
    cap: &mut Capture<'de>,
) -> Result<Option<Value>, EventError> {
    let keep = filter.trie().map_or(Keep::All, Keep::Part);
    if let Keep::Part(_) = keep {
        if let Some(attrs) = fast::read(line, keep, cap) {
            return Ok(Some(attrs));
        }
        *cap = Capture::new();
    }
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

/// The event of a line read by [`read`]: the adapter's checks, in their
/// order, with their errors.
fn build<'de>(cap: &Capture<'de>, attrs: Option<Value>) -> Result<Event<'de>, EventError> {
    let root = cap.at(ROOT).unwrap_or(&Raw::Null);
    if !matches!(root, Raw::Object) {
        return Err(EventError::NotAnObject { found: root.kind() });
    }
    let time_ms = {
        let published = cap
            .get_str(root, &[PUBLISHED], "published")?
            .ok_or(EventError::MissingField("published"))?;
        parse_timestamp_ms(published, false).map_err(|reason| EventError::BadTime {
            field: "published",
            value: excerpt(published),
            reason,
        })?
    };
    let actor = cap
        .get(root, &[ACTOR], "actor")?
        .ok_or(EventError::NoActor)?;
    if !matches!(actor, Raw::Object) {
        return Err(EventError::WrongType {
            field: "actor".into(),
            expected: "an object",
            found: actor.kind(),
        });
    }
    let agent = cap
        .get_str(actor, &[ACTOR_ID], "actor.id")?
        .ok_or(EventError::MissingField("actor.id"))?;
    if agent.is_empty() {
        return Err(EventError::BadValue {
            field: "actor.id".into(),
            value: String::new(),
            reason: "an agent id must not be empty".into(),
        });
    }
    let actor_kind = cap
        .get_str(actor, &[ACTOR_TYPE], "actor.type")?
        .map_or(ActorKind::Other, |t| actor_kind(t));
    let event_type = cap.get_str(root, &[EVENT_TYPE], "eventType")?;
    let categories = event_type.map_or(Categories::NONE, |t| categories_for(t));

    let debug_data = cap.get(root, &[DEBUG_CONTEXT, DEBUG_DATA], "debugContext.debugData")?;
    let (mut scopes, mut granted_scopes, mut grant_type, mut auth_method) =
        (Vec::new(), Vec::new(), None, None);
    let mut cert = Cert::default();
    let (mut token_lifetime_minutes, mut secret_age_days, mut device_posture) = (None, None, None);
    if let Some(dd) = debug_data {
        cert.issuer = cap
            .get_str(dd, &[CERT_ISSUER], "debugContext.debugData.certIssuer")?
            .cloned();
        cert.age_days = cap.num(dd, CERT_AGE_DAYS, "debugContext.debugData.certAgeDays")?;
        token_lifetime_minutes = cap.num(
            dd,
            TOKEN_LIFETIME_MINUTES,
            "debugContext.debugData.tokenLifetimeMinutes",
        )?;
        secret_age_days = cap.num(dd, SECRET_AGE_DAYS, "debugContext.debugData.secretAgeDays")?;
        device_posture = cap
            .get_str(
                dd,
                &[DEVICE_POSTURE],
                "debugContext.debugData.devicePosture",
            )?
            .cloned();
        scopes = cap.scopes(
            dd,
            REQUESTED_SCOPES,
            "debugContext.debugData.requestedScopes",
        )?;
        granted_scopes = cap.scopes(dd, GRANTED_SCOPES, "debugContext.debugData.grantedScopes")?;
        grant_type = cap
            .get_str(dd, &[GRANT_TYPE], "debugContext.debugData.grantType")?
            .cloned();
        auth_method = cap
            .get_str(
                dd,
                &[CLIENT_AUTH_TYPE],
                "debugContext.debugData.clientAuthType",
            )?
            .cloned();
    }

    let client = cap.get(root, &[CLIENT], "client")?;
    let ip = match client {
        Some(c) => cap.ip_at(c, IP_ADDRESS, "client.ipAddress")?,
        None => None,
    };
    let ip = match ip {
        Some(ip) => Some(ip),
        None => match cap.get(root, &[REQUEST, IP_CHAIN], "request.ipChain")? {
            Some(Raw::Array(_)) => match cap.at(IP_CHAIN_FIRST) {
                Some(first) => cap.ip_at(first, IP_CHAIN_IP, "request.ipChain[0].ip")?,
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
            cap.get_str(c, &[GEO, COUNTRY], "client.geographicalContext.country")?
                .cloned(),
            cap.get_str(
                c,
                &[USER_AGENT, RAW_USER_AGENT],
                "client.userAgent.rawUserAgent",
            )?
            .cloned(),
        ),
        None => (None, None),
    };
    let outcome = cap
        .get_str(root, &[OUTCOME, RESULT], "outcome.result")?
        .cloned();
    let asn = match cap.get(
        root,
        &[SECURITY_CONTEXT, AS_NUMBER],
        "securityContext.asNumber",
    )? {
        Some(n) => asn(n)?,
        None => None,
    };
    let event_type = event_type.cloned();
    let agent = agent.clone();
    let attrs = attrs.unwrap_or(Value::Null);
    Ok(Event {
        time_ms,
        agent,
        actor: actor_kind,
        categories,
        event_type,
        ip,
        scopes,
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
                assert_eq!(Words::load(key.as_bytes(), key.len()), Words::of(key));
                // Followed by the rest of a line.
                let line = format!("{key}\": \"value\", \"more\": 1}}");
                assert_eq!(find_key_in(n, line.as_bytes(), key.len()), want, "{key:?}");
                assert_eq!(Words::load(line.as_bytes(), key.len()), Words::of(key));
            }
        }
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
            assert!(def.key.len() <= WORD_BYTES);
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
