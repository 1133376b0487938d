//! The native JSON form of an [`Event`]: one object a line.
//!
//! ```json
//! {"time": "2026-11-22T23:59:30Z", "agent": "datadog-remediation-prod",
//!  "actor": "service_app", "categories": ["authentication", "token_request"],
//!  "type": "app.oauth2.as.token.grant.access_token", "ip": "203.0.113.9",
//!  "scopes": ["okta:users:manage"], "granted_scopes": [], "outcome": "SUCCESS",
//!  "country": "US", "asn": 16509, "user_agent": "python-requests/2.31",
//!  "grant_type": "client_credentials", "auth_method": "tls_client_auth",
//!  "cert": {"issuer": "internal-ca", "age_days": 12}, "token_lifetime_minutes": 15,
//!  "secret_age_days": 30, "device_posture": "compliant", "attrs": {"team": "sre"}}
//! ```
//!
//! Only `time` (RFC 3339) and `agent` are required. `null` is the same as an
//! absent field. `ip` is read as every format reads a client address
//! ([`crate::input::event::client_ip`]): `""`, `"null"` and the unspecified address
//! (`0.0.0.0`, `::`) are no address, an IPv4-mapped address is its IPv4 address. `scopes` and `granted_scopes` are arrays of strings, or one
//! string of scopes separated by commas and/or whitespace. `attrs` is any JSON
//! object; `attr.<path>` finds its keys ignoring ASCII case, the exact key
//! first, else the first in document order ([`crate::input::event::get_ci`]). Every other top-level key, and any key of `cert` other than `issuer`
//! and `age_days`, is an error naming the key, as is a value of
//! the wrong type (naming the field) and a key given twice.
//!
//! [`parse_native`] borrows strings from the line when they hold no escapes, so
//! a typical event allocates only its scope vectors.
//!
//! [`crate::input::okta::parse_event`] reads a line in any [`crate::input::okta::Format`];
//! `Auto` tells Okta `LogEvent`s (an `eventType` key in any case) from native events.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::input::event::{
    excerpt, parse_client_ip, parse_timestamp_ms, ActorKind, Categories, Event, EventError,
};

// ---------------------------------------------------------------------------
// Reading

/// The top-level keys of the native form, in the order [`to_native_json`] writes them.
pub const NATIVE_KEYS: [&str; 19] = [
    "time",
    "agent",
    "actor",
    "categories",
    "type",
    "ip",
    "scopes",
    "granted_scopes",
    "outcome",
    "country",
    "asn",
    "user_agent",
    "grant_type",
    "auth_method",
    "cert",
    "token_lifetime_minutes",
    "secret_age_days",
    "device_posture",
    "attrs",
];

const CERT_KEYS: [&str; 2] = ["issuer", "age_days"];

/// The native names of the actor kinds, as `actor` spells them.
pub const ACTOR_NAMES: [(ActorKind, &str); 5] = [
    (ActorKind::ServiceApp, "service_app"),
    (ActorKind::User, "user"),
    (ActorKind::Agent, "agent"),
    (ActorKind::System, "system"),
    (ActorKind::Other, "other"),
];

/// The native name of an actor kind (`service_app`, ...).
pub fn actor_name(kind: ActorKind) -> &'static str {
    match kind {
        ActorKind::ServiceApp => "service_app",
        ActorKind::User => "user",
        ActorKind::Agent => "agent",
        ActorKind::System => "system",
        ActorKind::Other => "other",
    }
}

/// Parses one native event, borrowing its strings from `line` where it can.
/// A byte-order mark (U+FEFF) at the start of `line`, as the first line of a
/// file may have, is skipped.
///
/// # Errors
/// An [`EventError`] for the first problem found: invalid JSON, not an object,
/// an unknown or duplicate key, a value of the wrong type or a bad value (each
/// naming the field), a bad `time`, or a missing `time` or `agent`.
///
/// ```
/// use riskgate::input::event::{ActorKind, Categories, EventError};
/// use riskgate::input::native::parse_native;
///
/// let line = r#"{"time": "2026-11-22T23:59:30Z", "agent": "svc-1", "actor": "service_app",
///                "categories": ["authentication", "token_request"], "scopes": ["a:read"]}"#;
/// let event = parse_native(line)?;
/// assert_eq!(event.agent, "svc-1");
/// assert_eq!(event.actor, ActorKind::ServiceApp);
/// assert!(event.categories.contains(Categories::TOKEN_REQUEST));
/// assert_eq!(event.scopes, ["a:read"]);
///
/// let err = parse_native(r#"{"time": "2026-11-22T23:59:30Z", "agent": "a", "scope": []}"#).unwrap_err();
/// assert_eq!(err.to_string(), "unknown key `scope`, did you mean `scopes`?");
/// # Ok::<(), EventError>(())
/// ```
pub fn parse_native(line: &str) -> Result<Event<'_>, EventError> {
    native_line(crate::input::event::strip_bom(line))
}

/// [`parse_native`] of a line without a byte-order mark.
pub(crate) fn native_line(line: &str) -> Result<Event<'_>, EventError> {
    let mut slot = None;
    let mut de = serde_json::Deserializer::from_str(line);
    let result = NativeSeed { err: &mut slot }
        .deserialize(&mut de)
        .and_then(|event| de.end().map(|()| event));
    result.map_err(|e| slot.take().unwrap_or_else(|| EventError::from_json(&e)))
}

/// Records `err` for the caller and aborts deserialisation.
fn fail<T, E: de::Error>(slot: &mut Option<EventError>, err: EventError) -> Result<T, E> {
    let message = err.to_string();
    *slot = Some(err);
    Err(E::custom(message))
}

struct NativeSeed<'s> {
    err: &'s mut Option<EventError>,
}

impl<'de> DeserializeSeed<'de> for NativeSeed<'_> {
    type Value = Event<'de>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Event<'de>, D::Error> {
        d.deserialize_any(NativeVisitor { err: self.err })
    }
}

struct NativeVisitor<'s> {
    err: &'s mut Option<EventError>,
}

impl NativeVisitor<'_> {
    fn not_object<T, E: de::Error>(self, found: &'static str) -> Result<T, E> {
        fail(self.err, EventError::NotAnObject { found })
    }
}

impl<'de> Visitor<'de> for NativeVisitor<'_> {
    type Value = Event<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an event object")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Event<'de>, E> {
        self.not_object("null")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Event<'de>, E> {
        self.not_object("a boolean")
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Event<'de>, E> {
        self.not_object("a number")
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Event<'de>, E> {
        self.not_object("a number")
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Event<'de>, E> {
        self.not_object("a number")
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Event<'de>, E> {
        self.not_object("a string")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Event<'de>, A::Error> {
        self.not_object("an array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event<'de>, A::Error> {
        let err = self.err;
        let mut event = Event::default();
        let mut seen = 0u32;
        while let Some(key) = map.next_key_seed(KeySeed {
            known: &NATIVE_KEYS,
        })? {
            let index = match key {
                Key::Known(i) => i,
                Key::Unknown(name) => {
                    let suggestion = crate::lang::diagnostic::did_you_mean(&name, NATIVE_KEYS);
                    return fail(
                        err,
                        EventError::UnknownKey {
                            key: name,
                            suggestion,
                        },
                    );
                }
            };
            let name = NATIVE_KEYS.get(index).copied().unwrap_or("?");
            if seen & (1 << index) != 0 {
                return fail(err, EventError::DuplicateKey(name.to_owned()));
            }
            seen |= 1 << index;
            if name == "cert" {
                map.next_value_seed(CertSeed {
                    err: &mut *err,
                    event: &mut event,
                })?;
                continue;
            }
            if name == "attrs" {
                match map.next_value::<Value>()? {
                    v @ (Value::Object(_) | Value::Null) => event.attrs = v,
                    other => {
                        return fail(
                            err,
                            wrong_type(
                                "attrs",
                                "an object",
                                crate::input::event::json_kind(&other),
                            ),
                        )
                    }
                }
                continue;
            }
            let value: Loose<'de> = map.next_value()?;
            if let Err(e) = set_field(&mut event, name, value) {
                return fail(err, e);
            }
        }
        for required in ["time", "agent"] {
            let index = NATIVE_KEYS.iter().position(|k| *k == required).unwrap_or(0);
            if seen & (1 << index) == 0 {
                return fail(err, EventError::MissingField(required));
            }
        }
        Ok(event)
    }
}

fn wrong_type(field: &str, expected: &'static str, found: &'static str) -> EventError {
    EventError::WrongType {
        field: field.to_owned(),
        expected,
        found,
    }
}

/// Stores one top-level value (not `cert`, not `attrs`) into `event`.
fn set_field<'de>(
    event: &mut Event<'de>,
    name: &'static str,
    value: Loose<'de>,
) -> Result<(), EventError> {
    if let Loose::Null = value {
        return match name {
            "time" => Err(EventError::MissingField("time")),
            "agent" => Err(EventError::MissingField("agent")),
            _ => Ok(()),
        };
    }
    match name {
        "time" => {
            let text = value.into_str(name)?;
            event.time_ms =
                parse_timestamp_ms(&text, true).map_err(|reason| EventError::BadTime {
                    field: "time",
                    value: excerpt(&text),
                    reason,
                })?;
        }
        "agent" => {
            let agent = value.into_str(name)?;
            if agent.is_empty() {
                return Err(EventError::BadValue {
                    field: name.to_owned(),
                    value: String::new(),
                    reason: "an agent id must not be empty".to_owned(),
                });
            }
            event.agent = agent;
        }
        "actor" => {
            let text = value.into_str(name)?;
            event.actor = ACTOR_NAMES
                .iter()
                .find(|(_, n)| *n == text)
                .map(|(k, _)| *k)
                .ok_or_else(|| EventError::BadValue {
                    field: name.to_owned(),
                    value: excerpt(&text),
                    reason: "expected `service_app`, `user`, `agent`, `system` or `other`"
                        .to_owned(),
                })?;
        }
        "categories" => event.categories = categories_from(value)?,
        "type" => event.event_type = Some(value.into_str(name)?),
        "ip" => event.ip = parse_client_ip(name, &value.into_str(name)?)?,
        "scopes" => event.scopes = value.into_scopes(name)?,
        "granted_scopes" => event.granted_scopes = value.into_scopes(name)?,
        "outcome" => event.outcome = Some(value.into_str(name)?),
        "country" => event.country = Some(value.into_str(name)?),
        "asn" => {
            event.asn = Some(match value {
                Loose::U64(n) => n,
                other => return Err(wrong_type(name, "a non-negative integer", other.kind())),
            })
        }
        "user_agent" => event.user_agent = Some(value.into_str(name)?),
        "grant_type" => event.grant_type = Some(value.into_str(name)?),
        "auth_method" => event.auth_method = Some(value.into_str(name)?),
        "token_lifetime_minutes" => event.token_lifetime_minutes = Some(value.into_f64(name)?),
        "secret_age_days" => event.secret_age_days = Some(value.into_f64(name)?),
        "device_posture" => event.device_posture = Some(value.into_str(name)?),
        _ => {
            return Err(EventError::UnknownKey {
                key: name.to_owned(),
                suggestion: None,
            });
        }
    }
    Ok(())
}

fn categories_from(value: Loose<'_>) -> Result<Categories, EventError> {
    let items = match value {
        Loose::Array(items) => items,
        other => {
            return Err(wrong_type(
                "categories",
                "an array of strings",
                other.kind(),
            ))
        }
    };
    let mut set = Categories::NONE;
    for (i, item) in items.into_iter().enumerate() {
        let field = || format!("categories[{i}]");
        let Loose::Str(name) = item else {
            return Err(wrong_type(&field(), "a string", item.kind()));
        };
        let Some((bit, _, _)) = Categories::ALL.iter().find(|(_, n, _)| *n == name) else {
            return Err(EventError::BadValue {
                field: field(),
                value: excerpt(&name),
                reason: "expected `authentication`, `token_request`, `api_call` or `admin_change`"
                    .to_owned(),
            });
        };
        set.insert(*bit);
    }
    Ok(set)
}

/// Splits a scope string on commas and/or whitespace, dropping empty pieces.
///
/// ```
/// let scopes: Vec<&str> = riskgate::input::native::split_scopes("openid, profile okta.users.read,,").collect();
/// assert_eq!(scopes, ["openid", "profile", "okta.users.read"]);
/// ```
pub fn split_scopes(text: &str) -> impl Iterator<Item = &str> {
    ScopeSplit { rest: text }
}

/// The pieces of `rest` between commas and whitespace ([`char::is_whitespace`]),
/// empty ones skipped: `text.split(|c| c == ',' || c.is_whitespace())` without
/// empty pieces, deciding ASCII bytes without decoding them.
struct ScopeSplit<'a> {
    rest: &'a str,
}

impl<'a> Iterator for ScopeSplit<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        while !self.rest.is_empty() {
            let (piece, rest) = split_at_separator(self.rest);
            self.rest = rest;
            if !piece.is_empty() {
                return Some(piece);
            }
        }
        None
    }
}

/// `s` up to its first comma or whitespace character, and what follows that
/// character (`(s, "")` when there is none).
fn split_at_separator(s: &str) -> (&str, &str) {
    let bytes = s.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let len = if b.is_ascii() {
            // The ASCII characters `char::is_whitespace` accepts, and `,`.
            if matches!(b, b',' | b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r') {
                return (s.get(..i).unwrap_or(s), s.get(i + 1..).unwrap_or(""));
            }
            1
        } else {
            let Some(c) = s.get(i..).and_then(|t| t.chars().next()) else {
                break;
            };
            if c.is_whitespace() {
                return (
                    s.get(..i).unwrap_or(s),
                    s.get(i + c.len_utf8()..).unwrap_or(""),
                );
            }
            c.len_utf8()
        };
        i += len;
    }
    (s, "")
}

/// A JSON value as read for one field: strings borrowed where possible, arrays
/// one level deep, objects skipped (a field that wants an object reads it
/// itself).
enum Loose<'de> {
    Null,
    Bool,
    U64(u64),
    Num(f64),
    Str(Cow<'de, str>),
    Array(Vec<Loose<'de>>),
    Object,
}

impl<'de> Loose<'de> {
    fn kind(&self) -> &'static str {
        match self {
            Loose::Null => "null",
            Loose::Bool => "a boolean",
            Loose::U64(_) | Loose::Num(_) => "a number",
            Loose::Str(_) => "a string",
            Loose::Array(_) => "an array",
            Loose::Object => "an object",
        }
    }

    fn into_str(self, field: &str) -> Result<Cow<'de, str>, EventError> {
        match self {
            Loose::Str(s) => Ok(s),
            other => Err(wrong_type(field, "a string", other.kind())),
        }
    }

    fn into_f64(self, field: &str) -> Result<f64, EventError> {
        match self {
            Loose::U64(n) => Ok(n as f64),
            Loose::Num(n) => Ok(n),
            other => Err(wrong_type(field, "a number", other.kind())),
        }
    }

    fn into_scopes(self, field: &str) -> Result<Vec<Cow<'de, str>>, EventError> {
        match self {
            Loose::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Loose::Str(s) => Ok(s),
                    other => Err(wrong_type(
                        &format!("{field}[{i}]"),
                        "a string",
                        other.kind(),
                    )),
                })
                .collect(),
            Loose::Str(Cow::Borrowed(s)) => Ok(split_scopes(s).map(Cow::Borrowed).collect()),
            Loose::Str(Cow::Owned(s)) => {
                Ok(split_scopes(&s).map(|p| Cow::Owned(p.to_owned())).collect())
            }
            other => Err(wrong_type(
                field,
                "an array of strings or a string",
                other.kind(),
            )),
        }
    }
}

impl<'de> de::Deserialize<'de> for Loose<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LooseVisitor { depth: 0 })
    }
}

struct LooseVisitor {
    depth: u8,
}

impl<'de> DeserializeSeed<'de> for LooseVisitor {
    type Value = Loose<'de>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Loose<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Loose<'de>, E> {
        Ok(Loose::Null)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Loose<'de>, E> {
        Ok(Loose::Bool)
    }
    fn visit_u64<E>(self, n: u64) -> Result<Loose<'de>, E> {
        Ok(Loose::U64(n))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Loose<'de>, E> {
        Ok(Loose::Num(n as f64))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Loose<'de>, E> {
        Ok(Loose::Num(n))
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Loose<'de>, E> {
        Ok(Loose::Str(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<Loose<'de>, E> {
        Ok(Loose::Str(Cow::Owned(s.to_owned())))
    }
    fn visit_string<E>(self, s: String) -> Result<Loose<'de>, E> {
        Ok(Loose::Str(Cow::Owned(s)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Loose<'de>, A::Error> {
        if self.depth > 0 {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(Loose::Array(Vec::new()));
        }
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(LooseVisitor { depth: 1 })? {
            items.push(item);
        }
        Ok(Loose::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Loose<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Loose::Object)
    }
}

/// A key of a native object: the index of a known key, or the unknown key.
enum Key {
    Known(usize),
    Unknown(String),
}

struct KeySeed<'k> {
    known: &'k [&'static str],
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Key;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Key;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E>(self, s: &str) -> Result<Key, E> {
        Ok(match self.known.iter().position(|k| *k == s) {
            Some(i) => Key::Known(i),
            None => Key::Unknown(s.to_owned()),
        })
    }
}

/// Reads `cert` (an object with `issuer` and `age_days`, or `null`) into the event.
struct CertSeed<'s, 'e, 'de> {
    err: &'s mut Option<EventError>,
    event: &'e mut Event<'de>,
}

impl<'de> DeserializeSeed<'de> for CertSeed<'_, '_, 'de> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl CertSeed<'_, '_, '_> {
    fn not_object<E: de::Error>(self, found: &'static str) -> Result<(), E> {
        fail(self.err, wrong_type("cert", "an object", found))
    }
}

impl<'de> Visitor<'de> for CertSeed<'_, '_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a certificate object")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.not_object("a boolean")
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.not_object("a number")
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.not_object("a number")
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.not_object("a number")
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.not_object("a string")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.not_object("an array")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = [false; 2];
        while let Some(key) = map.next_key_seed(KeySeed { known: &CERT_KEYS })? {
            let index = match key {
                Key::Known(i) => i,
                Key::Unknown(name) => {
                    let suggestion = crate::lang::diagnostic::did_you_mean(&name, CERT_KEYS);
                    return fail(
                        self.err,
                        EventError::UnknownKey {
                            key: format!("cert.{name}"),
                            suggestion,
                        },
                    );
                }
            };
            let name = CERT_KEYS.get(index).copied().unwrap_or("?");
            if let Some(flag) = seen.get_mut(index) {
                if *flag {
                    return fail(self.err, EventError::DuplicateKey(format!("cert.{name}")));
                }
                *flag = true;
            }
            let value: Loose<'de> = map.next_value()?;
            if let Loose::Null = value {
                continue;
            }
            let stored = if index == 0 {
                value
                    .into_str("cert.issuer")
                    .map(|s| self.event.cert.issuer = Some(s))
            } else {
                value
                    .into_f64("cert.age_days")
                    .map(|n| self.event.cert.age_days = Some(n))
            };
            if let Err(e) = stored {
                return fail(self.err, e);
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Writing

/// The native JSON form of `event`, the inverse of [`parse_native`]: absent
/// fields, empty scope lists, no categories, actor `other` and `null` attrs are
/// left out, and the time is written in RFC 3339 UTC with milliseconds when it
/// has any. A time outside the years chrono can print (±262,000) is written as
/// its number of milliseconds, which [`parse_native`] does not read back.
///
/// ```
/// use riskgate::input::event::Event;
/// use riskgate::input::native::{parse_native, to_native_json};
///
/// let event = Event::builder("svc-1", 1_795_391_970_000).scope("a:read").build();
/// let json = to_native_json(&event);
/// assert_eq!(json, serde_json::json!({"time": "2026-11-22T23:59:30Z", "agent": "svc-1", "scopes": ["a:read"]}));
/// assert_eq!(parse_native(&json.to_string()).unwrap(), event);
/// ```
pub fn to_native_json(event: &Event<'_>) -> Value {
    let mut m = Map::new();
    let time = chrono::DateTime::from_timestamp_millis(event.time_ms).map_or_else(
        || Value::from(event.time_ms),
        |t| Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
    );
    m.insert("time".into(), time);
    m.insert("agent".into(), Value::String(event.agent.to_string()));
    if event.actor != ActorKind::Other {
        m.insert("actor".into(), actor_name(event.actor).into());
    }
    if !event.categories.is_empty() {
        let names = Categories::ALL
            .iter()
            .filter(|(bit, _, _)| event.categories.contains(*bit))
            .map(|(_, name, _)| Value::from(*name))
            .collect();
        m.insert("categories".into(), Value::Array(names));
    }
    let mut text = |key: &str, v: &Option<Cow<'_, str>>| {
        if let Some(v) = v {
            m.insert(key.into(), Value::String(v.to_string()));
        }
    };
    text("type", &event.event_type);
    text("outcome", &event.outcome);
    text("country", &event.country);
    text("user_agent", &event.user_agent);
    text("grant_type", &event.grant_type);
    text("auth_method", &event.auth_method);
    text("device_posture", &event.device_posture);
    if let Some(ip) = event.ip {
        m.insert("ip".into(), Value::String(ip.to_string()));
    }
    for (key, scopes) in [
        ("scopes", &event.scopes),
        ("granted_scopes", &event.granted_scopes),
    ] {
        if !scopes.is_empty() {
            m.insert(
                key.into(),
                scopes
                    .iter()
                    .map(|s| Value::String(s.to_string()))
                    .collect(),
            );
        }
    }
    if let Some(asn) = event.asn {
        m.insert("asn".into(), asn.into());
    }
    if event.cert.issuer.is_some() || event.cert.age_days.is_some() {
        let mut cert = Map::new();
        if let Some(issuer) = &event.cert.issuer {
            cert.insert("issuer".into(), Value::String(issuer.to_string()));
        }
        if let Some(days) = event.cert.age_days {
            cert.insert("age_days".into(), number(days));
        }
        m.insert("cert".into(), Value::Object(cert));
    }
    if let Some(n) = event.token_lifetime_minutes {
        m.insert("token_lifetime_minutes".into(), number(n));
    }
    if let Some(n) = event.secret_age_days {
        m.insert("secret_age_days".into(), number(n));
    }
    if !event.attrs.is_null() {
        m.insert("attrs".into(), event.attrs.clone());
    }
    Value::Object(m)
}

/// `n` as a JSON number: an integer when it is one (so `12.0` prints `12`),
/// `null` when not finite.
fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}
