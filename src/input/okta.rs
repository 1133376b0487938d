//! The Okta System Log `LogEvent` adapter.
//!
//! | event field | from the `LogEvent` |
//! |---|---|
//! | `time_ms` | `published`: `2020-05-01T10:20:22.243Z`, `2022-12-13 15:22:58.759` (UTC), `2024-03-26T06:43:02Z`, any fraction of 1–9 digits |
//! | `agent` | `actor.id` |
//! | `actor` | `actor.type`: `PublicClientApp` / `PublicClientAppEntity` → service app, `User` → user, `SystemPrincipal` → system, else other |
//! | `categories` | `eventType`, see [`categories_for`] |
//! | `event_type` | `eventType` |
//! | `ip` | `client.ipAddress`, else `request.ipChain[0].ip`; the unspecified address (`0.0.0.0`, `::`), `""`, `"null"` and `null` are absent; an IPv4-mapped address (`::ffff:10.1.1.1`) is its IPv4 address ([`crate::input::event::client_ip`]) |
//! | `scopes`, `granted_scopes` | `debugContext.debugData.requestedScopes` / `grantedScopes`, split on commas and/or whitespace |
//! | `grant_type`, `auth_method` | `debugContext.debugData.grantType` / `clientAuthType` |
//! | `outcome` | `outcome.result`, verbatim |
//! | `country` | `client.geographicalContext.country` (Okta's country name) |
//! | `asn` | `securityContext.asNumber` (a number or a numeric string) |
//! | `user_agent` | `client.userAgent.rawUserAgent` |
//! | `attrs` | the whole `LogEvent` object |
//! | `cert.issuer`, `cert.age_days` | `debugContext.debugData.certIssuer` / `certAgeDays` (riskgate extension) |
//! | `token.lifetime_minutes` | `debugContext.debugData.tokenLifetimeMinutes` (riskgate extension) |
//! | `secret.age_days` | `debugContext.debugData.secretAgeDays` (riskgate extension) |
//! | `device_posture` | `debugContext.debugData.devicePosture` (riskgate extension) |
//!
//! Okta does not log mTLS certificates, token lifetimes, secret ages or device
//! posture for service apps. A gateway or hook that knows them can add them to
//! `debugData` under the extension keys above (numbers or numeric strings);
//! the bundled example stream does. A numeric string is read with JSON's
//! number grammar ([`crate::num::parse_number_text`]), so `"NaN"`, `"inf"`,
//! `"0x10"` and `"1e400"` reject the event with the field and the reason, as
//! a JSON `1e400` does; `asNumber` strings are non-negative JSON integers.
//!
//! Keys match case-insensitively at every level, as [`crate::input::event::get_ci`]
//! does (the exact key wins, else the first in document order), since
//! some pipelines lower-case them (`eventtype`, `debugcontext`). `null` is the
//! same as an absent key, and so is the string `"null"`, which Okta writes for
//! values it does not have (`"rawUserAgent": "null"`), and `""` where an
//! object is expected (Panther has `debugData: ""`). In `attrs` the string
//! stays as it is, and `exists`/`missing` treat it as absent there too. An event without `published` or without `actor` is
//! rejected with that reason; so is a `published` that is not a real time
//! (`2017-09-31T22:23:07.777Z`, `"redacted"`), a value of the wrong JSON type
//! where a field is read, and a `client.ipAddress` that is not an address.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use crate::input::event::{excerpt, get_ci, strip_bom, ActorKind, Categories, Event, EventError};
use crate::input::native::native_line;
use crate::num::{parse_number_text, parse_unsigned_text};

mod attrs;
mod typed;

pub use attrs::AttrFilter;

/// Parses one Okta `LogEvent` line.
///
/// # Errors
/// - [`EventError::InvalidJson`] when the line is not JSON;
/// - [`EventError::NotAnObject`] when it is not an object;
/// - [`EventError::MissingField`] `published` when it is absent or `null`
///   (checked first), [`EventError::BadTime`] when it is not a valid time;
/// - [`EventError::NoActor`] when `actor` is absent or `null`,
///   [`EventError::MissingField`] `actor.id` when the actor has no id;
/// - [`EventError::WrongType`] or [`EventError::BadValue`] naming the field
///   (by its camelCase path) when a value that is read has the wrong type or
///   cannot be used (`client.ipAddress: "redacted"`, a negative `asNumber`).
///
/// ```
/// use riskgate::input::event::{ActorKind, Categories};
/// let line = r#"{"eventType": "app.oauth2.as.token.grant.access_token",
///   "published": "2026-05-20T10:15:00.000Z",
///   "actor": {"id": "0oa1", "type": "PublicClientAppEntity"},
///   "client": {"ipAddress": "203.0.113.9"},
///   "debugContext": {"debugData": {"requestedScopes": "okta.users.manage, okta.apps.read",
///                                  "grantType": "client_credentials"}}}"#;
/// let event = riskgate::input::okta::parse_okta(line)?;
/// assert_eq!(event.agent, "0oa1");
/// assert_eq!(event.actor, ActorKind::ServiceApp);
/// assert_eq!(event.categories, Categories::AUTHENTICATION | Categories::TOKEN_REQUEST);
/// assert_eq!(event.scopes, ["okta.users.manage", "okta.apps.read"]);
/// assert_eq!(event.attr(&["actor", "type"]), Some(&serde_json::json!("PublicClientAppEntity")));
/// # Ok::<(), riskgate::input::event::EventError>(())
/// ```
pub fn parse_okta(line: &str) -> Result<Event<'static>, EventError> {
    parse_okta_with(line, &AttrFilter::all()).map(Event::into_owned)
}

/// Parses one Okta `LogEvent` line, keeping as `attrs` what `filter` asks
/// for, and borrowing the event's strings from `line` where they hold no
/// escape.
///
/// A byte-order mark (U+FEFF) at the start of `line` is skipped.
///
/// The line is read in one pass, without building a `serde_json::Value` of
/// the parts of it that are not kept. The event is the one [`parse_okta`]
/// returns but for its `attrs`, and so is the error: the same JSON is
/// accepted, with the same message when it is not, and the same checks run
/// in the same order.
///
/// # Errors
/// As [`parse_okta`].
///
/// ```
/// use riskgate::input::okta::{parse_okta, parse_okta_with, AttrFilter};
/// let line = r#"{"eventType": "app.oauth2.as.token.grant.access_token",
///   "published": "2026-05-20T10:15:00.000Z", "uuid": "b7e1",
///   "actor": {"id": "0oa1", "type": "PublicClientAppEntity"},
///   "securityContext": {"asNumber": 16509, "isProxy": false}}"#;
/// let event = parse_okta_with(line, &AttrFilter::paths([["securityContext", "isProxy"]]))?;
/// assert_eq!(event.attrs, serde_json::json!({"securityContext": {"isProxy": false}}));
/// assert_eq!(event.asn, Some(16509));
/// let whole = parse_okta(line)?;
/// assert_eq!(riskgate::input::event::Event { attrs: event.attrs.clone(), ..whole }, event);
/// # Ok::<(), riskgate::input::event::EventError>(())
/// ```
pub fn parse_okta_with<'l>(line: &'l str, filter: &AttrFilter) -> Result<Event<'l>, EventError> {
    typed::okta(strip_bom(line), filter)
}

/// The actor kind of an Okta `actor.type`.
///
/// ```
/// use riskgate::input::event::ActorKind;
/// use riskgate::input::okta::actor_kind;
/// assert_eq!(actor_kind("PublicClientAppEntity"), ActorKind::ServiceApp);
/// assert_eq!(actor_kind("IP address"), ActorKind::Other);
/// ```
pub fn actor_kind(okta_type: &str) -> ActorKind {
    match okta_type {
        "PublicClientApp" | "PublicClientAppEntity" => ActorKind::ServiceApp,
        "User" => ActorKind::User,
        "SystemPrincipal" => ActorKind::System,
        _ => ActorKind::Other,
    }
}

/// The categories of an Okta `eventType`:
///
/// - `token request`: `app.oauth2.*` types containing `token.grant`;
/// - `authentication`: token requests, `user.authentication.*`, `user.session.start`;
/// - `admin change`: `policy.*`, `application.*`, `group.privilege.*`,
///   `user.account.privilege.*`, `system.idp.*`, `system.api_token.*`.
///
/// ```
/// use riskgate::input::event::Categories;
/// use riskgate::input::okta::categories_for;
/// assert_eq!(categories_for("app.oauth2.token.grant.access_token"),
///            Categories::AUTHENTICATION | Categories::TOKEN_REQUEST);
/// assert_eq!(categories_for("user.session.start"), Categories::AUTHENTICATION);
/// assert_eq!(categories_for("system.api_token.create"), Categories::ADMIN_CHANGE);
/// assert_eq!(categories_for("app.oauth2.authorize.code"), Categories::NONE);
/// ```
pub fn categories_for(event_type: &str) -> Categories {
    const ADMIN: [&str; 6] = [
        "policy.",
        "application.",
        "group.privilege.",
        "user.account.privilege.",
        "system.idp.",
        "system.api_token.",
    ];
    let mut set = Categories::NONE;
    if event_type.starts_with("app.oauth2.") && event_type.contains("token.grant") {
        set = Categories::AUTHENTICATION | Categories::TOKEN_REQUEST;
    } else if event_type.starts_with("user.authentication.") || event_type == "user.session.start" {
        set = Categories::AUTHENTICATION;
    } else if ADMIN.iter().any(|p| event_type.starts_with(p)) {
        set = Categories::ADMIN_CHANGE;
    }
    set
}

/// The string `"null"`, which Okta writes for a value it does not have
/// (`"rawUserAgent": "null"`, `"ipAddress": "null"`): read as JSON `null`.
pub(crate) fn is_null_text(s: &str) -> bool {
    s == "null"
}

/// `field` without its last `drop` dot-separated segments (`a.b.c`, 1 → `a.b`).
fn field_prefix(field: &str, drop: usize) -> &str {
    let mut end = field.len();
    for _ in 0..drop {
        end = field.get(..end).and_then(|f| f.rfind('.')).unwrap_or(0);
    }
    field.get(..end).filter(|f| !f.is_empty()).unwrap_or(field)
}

/// An extension number written as a string (`"certAgeDays": "400"`): JSON's
/// number grammar, a finite value ([`parse_number_text`]), else
/// [`EventError::BadValue`] naming `field` with the reason.
fn number_text(s: &str, field: &str) -> Result<f64, EventError> {
    parse_number_text(s).map_err(|e| EventError::BadValue {
        field: field.to_owned(),
        value: excerpt(s),
        reason: e.to_string(),
    })
}

/// `securityContext.asNumber` written as a string: absent when blank, else a
/// non-negative integer in JSON's number grammar ([`parse_unsigned_text`]).
fn asn_text(s: &str) -> Result<Option<u64>, EventError> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    parse_unsigned_text(s)
        .map(Some)
        .map_err(|_| EventError::BadValue {
            field: "securityContext.asNumber".into(),
            value: excerpt(s),
            reason: "not an autonomous system number (a non-negative integer)".into(),
        })
}

// ---------------------------------------------------------------------------
// Case-insensitive paths (keys matched by [`crate::input::event::get_ci`])

pub use crate::input::event::lookup_ci;

/// Collects every value at a dotted path, flattening through arrays: where the
/// path meets an array, the rest of the path is followed in each element (a
/// decimal segment instead picks one element), and an array found at the end
/// contributes its elements. Keys match as in [`lookup_ci`]; `null`s are not
/// collected, so `out` never receives an array or a `null`.
///
/// ```
/// use riskgate::input::okta::collect_path;
/// use serde_json::json;
/// let v = json!({"target": [{"type": "User", "alternateId": "a@x"},
///                           {"type": "AppInstance", "alternateId": null},
///                           {"type": ["Group", "Role"]}]});
/// let mut out = Vec::new();
/// collect_path(&v, &["target", "type"], &mut out);
/// assert_eq!(out, [&json!("User"), &json!("AppInstance"), &json!("Group"), &json!("Role")]);
/// out.clear();
/// collect_path(&v, &["target", "alternateId"], &mut out);
/// assert_eq!(out, [&json!("a@x")]);
/// ```
pub fn collect_path<'v>(v: &'v Value, path: &[&str], out: &mut Vec<&'v Value>) {
    match v {
        Value::Null => {}
        Value::Array(items) => {
            if let Some((seg, rest)) = path.split_first() {
                if let Ok(i) = seg.parse::<usize>() {
                    if let Some(item) = items.get(i) {
                        collect_path(item, rest, out);
                    }
                    return;
                }
            }
            for item in items {
                collect_path(item, path, out);
            }
        }
        Value::Object(map) => match path.split_first() {
            None => out.push(v),
            Some((seg, rest)) => {
                if let Some(next) = get_ci(map, seg) {
                    collect_path(next, rest, out);
                }
            }
        },
        _ => {
            if path.is_empty() {
                out.push(v);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Formats

/// The form of the events of a stream (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// Each line on its own: Okta when its object has an `eventType` key (in any
    /// case), native otherwise.
    #[default]
    Auto,
    /// Okta System Log `LogEvent`s ([`parse_okta`]).
    Okta,
    /// The native form ([`crate::input::native::parse_native`]).
    Native,
}

impl Format {
    /// The lowercase name (`auto`, `okta`, `native`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::Okta => "okta",
            Format::Native => "native",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown event format name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event format `{0}`, expected `auto`, `okta` or `native`")]
pub struct ParseFormatError(pub String);

impl FromStr for Format {
    type Err = ParseFormatError;

    /// Reads `auto`, `okta` or `native`, in any case.
    ///
    /// ```
    /// use riskgate::input::okta::Format;
    /// assert_eq!("Okta".parse::<Format>(), Ok(Format::Okta));
    /// assert_eq!(Format::Native.to_string().parse::<Format>(), Ok(Format::Native));
    /// assert!("csv".parse::<Format>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Format, ParseFormatError> {
        [Format::Auto, Format::Okta, Format::Native]
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseFormatError(s.to_owned()))
    }
}

/// Parses one line in `format`. A byte-order mark (U+FEFF) at its start, as
/// the first line of a file may have, is skipped.
///
/// `Auto` reads the line as Okta when its top-level object has an `eventType`
/// key in any case, else as native. A line holding neither `eventtype` (in
/// any case) nor a `\u` escape goes straight to the native parser, so native
/// streams pay one quick byte scan; other lines are read once as Okta events
/// ([`parse_okta_with`]), and a line that turns out to have no top-level
/// `eventType` (a native line with `eventType` only below its top level) is
/// then parsed again, as native.
///
/// # Errors
/// The [`EventError`] of the parser chosen.
///
/// ```
/// use riskgate::input::okta::{parse_event, Format};
/// let okta = r#"{"eventType": "user.session.start", "published": "2020-05-01T10:20:22.243Z",
///                "actor": {"id": "00u1", "type": "User"}}"#;
/// assert_eq!(parse_event(okta, Format::Auto)?.agent, "00u1");
/// let native = r#"{"time": "2020-05-01T10:20:22.243Z", "agent": "svc",
///                  "attrs": {"eventType": "not at the top level"}}"#;
/// assert_eq!(parse_event(native, Format::Auto)?.agent, "svc");
/// # Ok::<(), riskgate::input::event::EventError>(())
/// ```
pub fn parse_event(line: &str, format: Format) -> Result<Event<'_>, EventError> {
    parse_event_with(line, format, &AttrFilter::all())
}

/// [`parse_event`], keeping of Okta events the `attrs` that `filter` asks
/// for (see [`parse_okta_with`]); native events keep their `attrs` whole.
///
/// # Errors
/// As [`parse_event`].
pub fn parse_event_with<'l>(
    line: &'l str,
    format: Format,
    filter: &AttrFilter,
) -> Result<Event<'l>, EventError> {
    let line = strip_bom(line);
    match format {
        Format::Native => native_line(line),
        Format::Okta => typed::okta(line, filter),
        Format::Auto if !may_have_event_type(line) => native_line(line),
        Format::Auto => match typed::auto(line, filter)? {
            Some(event) => Ok(event),
            None => native_line(line),
        },
    }
}

/// False only when no top-level key of `line` can be `eventType`: the line
/// holds neither `eventtype` in any case nor a `\u` escape (which could spell it).
fn may_have_event_type(line: &str) -> bool {
    // Okta's own spelling, found by the standard library's vectorised search:
    // most Okta lines stop here.
    if line.contains("eventType") {
        return true;
    }
    let b = line.as_bytes();
    b.iter().enumerate().any(|(i, &c)| match c {
        b'\\' => b.get(i + 1) == Some(&b'u'),
        b'e' | b'E' => b
            .get(i..i + 9)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"eventtype")),
        _ => false,
    })
}
