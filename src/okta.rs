//! The Okta System Log `LogEvent` adapter.
//!
//! | event field | from the `LogEvent` |
//! |---|---|
//! | `time_ms` | `published`: `2020-05-01T10:20:22.243Z`, `2022-12-13 15:22:58.759` (UTC), `2024-03-26T06:43:02Z`, any fraction of 1–9 digits |
//! | `agent` | `actor.id` |
//! | `actor` | `actor.type`: `PublicClientApp` / `PublicClientAppEntity` → service app, `User` → user, `SystemPrincipal` → system, else other |
//! | `categories` | `eventType`, see [`categories_for`] |
//! | `event_type` | `eventType` |
//! | `ip` | `client.ipAddress`, else `request.ipChain[0].ip`; the unspecified address (`0.0.0.0`, `::`), `""`, `"null"` and `null` are absent; an IPv4-mapped address (`::ffff:10.1.1.1`) is its IPv4 address ([`crate::event::client_ip`]) |
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
//! Keys match case-insensitively at every level, as [`crate::event::get_ci`]
//! does (the exact key wins, else the first in document order), since
//! some pipelines lower-case them (`eventtype`, `debugcontext`). `null` is the
//! same as an absent key, and so is the string `"null"`, which Okta writes for
//! values it does not have (`"rawUserAgent": "null"`), and `""` where an
//! object is expected (Panther has `debugData: ""`). In `attrs` the string
//! stays as it is, and `exists`/`missing` treat it as absent there too. An event without `published` or without `actor` is
//! rejected with that reason; so is a `published` that is not a real time
//! (`2017-09-31T22:23:07.777Z`, `"redacted"`), a value of the wrong JSON type
//! where a field is read, and a `client.ipAddress` that is not an address.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use crate::event::{
    excerpt, get_ci, json_kind, parse_client_ip, parse_timestamp_ms, strip_bom, ActorKind,
    Categories, Event, EventError,
};
use crate::native::{native_line, split_scopes};
use crate::num::{parse_number_text, parse_unsigned_text};

mod attrs;
mod typed;

pub use attrs::AttrFilter;

/// Parses one Okta `LogEvent` line.
///
/// # Errors
/// [`EventError::InvalidJson`] when the line is not JSON, else the error of
/// [`from_okta_value`].
///
/// ```
/// use riskgate::event::{ActorKind, Categories};
/// let line = r#"{"eventType": "app.oauth2.as.token.grant.access_token",
///   "published": "2026-05-20T10:15:00.000Z",
///   "actor": {"id": "0oa1", "type": "PublicClientAppEntity"},
///   "client": {"ipAddress": "203.0.113.9"},
///   "debugContext": {"debugData": {"requestedScopes": "okta.users.manage, okta.apps.read",
///                                  "grantType": "client_credentials"}}}"#;
/// let event = riskgate::okta::parse_okta(line)?;
/// assert_eq!(event.agent, "0oa1");
/// assert_eq!(event.actor, ActorKind::ServiceApp);
/// assert_eq!(event.categories, Categories::AUTHENTICATION | Categories::TOKEN_REQUEST);
/// assert_eq!(event.scopes, ["okta.users.manage", "okta.apps.read"]);
/// assert_eq!(event.attr(&["actor", "type"]), Some(&serde_json::json!("PublicClientAppEntity")));
/// # Ok::<(), riskgate::event::EventError>(())
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
/// in the same order (those of [`from_okta_value`]).
///
/// # Errors
/// As [`parse_okta`].
///
/// ```
/// use riskgate::okta::{parse_okta, parse_okta_with, AttrFilter};
/// let line = r#"{"eventType": "app.oauth2.as.token.grant.access_token",
///   "published": "2026-05-20T10:15:00.000Z", "uuid": "b7e1",
///   "actor": {"id": "0oa1", "type": "PublicClientAppEntity"},
///   "securityContext": {"asNumber": 16509, "isProxy": false}}"#;
/// let event = parse_okta_with(line, &AttrFilter::paths([["securityContext", "isProxy"]]))?;
/// assert_eq!(event.attrs, serde_json::json!({"securityContext": {"isProxy": false}}));
/// assert_eq!(event.asn, Some(16509));
/// let whole = parse_okta(line)?;
/// assert_eq!(riskgate::event::Event { attrs: event.attrs.clone(), ..whole }, event);
/// # Ok::<(), riskgate::event::EventError>(())
/// ```
pub fn parse_okta_with<'l>(line: &'l str, filter: &AttrFilter) -> Result<Event<'l>, EventError> {
    typed::okta(strip_bom(line), filter)
}

/// Converts an Okta `LogEvent` object; the object becomes the event's `attrs`.
///
/// # Errors
/// - [`EventError::NotAnObject`] when `v` is not an object;
/// - [`EventError::MissingField`] `published` when it is absent or `null`
///   (checked first), [`EventError::BadTime`] when it is not a valid time;
/// - [`EventError::NoActor`] when `actor` is absent or `null`,
///   [`EventError::MissingField`] `actor.id` when the actor has no id;
/// - [`EventError::WrongType`] or [`EventError::BadValue`] naming the field
///   (by its camelCase path) when a value that is read has the wrong type or
///   cannot be used (`client.ipAddress: "redacted"`, a negative `asNumber`).
pub fn from_okta_value(v: Value) -> Result<Event<'static>, EventError> {
    if !v.is_object() {
        return Err(EventError::NotAnObject {
            found: json_kind(&v),
        });
    }
    let time_ms = {
        let published = get_str(&v, &["published"], "published")?
            .ok_or(EventError::MissingField("published"))?;
        parse_timestamp_ms(published, false).map_err(|reason| EventError::BadTime {
            field: "published",
            value: excerpt(published),
            reason,
        })?
    };
    let actor = get(&v, &["actor"], "actor")?.ok_or(EventError::NoActor)?;
    if !actor.is_object() {
        return Err(EventError::WrongType {
            field: "actor".into(),
            expected: "an object",
            found: json_kind(actor),
        });
    }
    let agent = get_str(actor, &["id"], "actor.id")?.ok_or(EventError::MissingField("actor.id"))?;
    if agent.is_empty() {
        return Err(EventError::BadValue {
            field: "actor.id".into(),
            value: String::new(),
            reason: "an agent id must not be empty".into(),
        });
    }
    let actor_kind = get_str(actor, &["type"], "actor.type")?.map_or(ActorKind::Other, actor_kind);
    let event_type = get_str(&v, &["eventType"], "eventType")?;
    let categories = event_type.map_or(Categories::NONE, categories_for);

    let debug_data = get(&v, &["debugContext", "debugData"], "debugContext.debugData")?;
    let (mut scopes, mut granted_scopes, mut grant_type, mut auth_method) =
        (Vec::new(), Vec::new(), None, None);
    let mut ext = Extensions::default();
    if let Some(dd) = debug_data {
        ext = Extensions::read(dd)?;
        scopes = get_scopes(
            dd,
            "requestedScopes",
            "debugContext.debugData.requestedScopes",
        )?;
        granted_scopes = get_scopes(dd, "grantedScopes", "debugContext.debugData.grantedScopes")?;
        grant_type = get_str(dd, &["grantType"], "debugContext.debugData.grantType")?.map(owned);
        auth_method = get_str(
            dd,
            &["clientAuthType"],
            "debugContext.debugData.clientAuthType",
        )?
        .map(owned);
    }

    let client = get(&v, &["client"], "client")?;
    let ip = match client {
        Some(c) => ip_at(c, "ipAddress", "client.ipAddress")?,
        None => None,
    };
    let ip = match ip {
        Some(ip) => Some(ip),
        None => match get(&v, &["request", "ipChain"], "request.ipChain")? {
            Some(Value::Array(chain)) => match chain.first() {
                Some(first) => ip_at(first, "ip", "request.ipChain[0].ip")?,
                None => None,
            },
            Some(other) => {
                return Err(EventError::WrongType {
                    field: "request.ipChain".into(),
                    expected: "an array",
                    found: json_kind(other),
                })
            }
            None => None,
        },
    };
    let (country, user_agent) = match client {
        Some(c) => (
            get_str(
                c,
                &["geographicalContext", "country"],
                "client.geographicalContext.country",
            )?
            .map(owned),
            get_str(
                c,
                &["userAgent", "rawUserAgent"],
                "client.userAgent.rawUserAgent",
            )?
            .map(owned),
        ),
        None => (None, None),
    };
    let outcome = get_str(&v, &["outcome", "result"], "outcome.result")?.map(owned);
    let asn = match get(
        &v,
        &["securityContext", "asNumber"],
        "securityContext.asNumber",
    )? {
        Some(n) => asn(n)?,
        None => None,
    };
    let event_type = event_type.map(owned);
    let agent = owned(agent);

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
        cert: crate::event::Cert {
            issuer: ext.cert_issuer,
            age_days: ext.cert_age_days,
        },
        token_lifetime_minutes: ext.token_lifetime_minutes,
        secret_age_days: ext.secret_age_days,
        device_posture: ext.device_posture,
        attrs: v,
    })
}

/// The riskgate extension keys of `debugData`.
#[derive(Default)]
struct Extensions {
    cert_issuer: Option<Cow<'static, str>>,
    cert_age_days: Option<f64>,
    token_lifetime_minutes: Option<f64>,
    secret_age_days: Option<f64>,
    device_posture: Option<Cow<'static, str>>,
}

impl Extensions {
    fn read(dd: &Value) -> Result<Self, EventError> {
        let num = |key: &str, field: &'static str| -> Result<Option<f64>, EventError> {
            match get(dd, &[key], field)? {
                None => Ok(None),
                Some(Value::Number(n)) => Ok(n.as_f64()),
                Some(Value::String(s)) => number_text(s, field).map(Some),
                Some(other) => Err(EventError::WrongType {
                    field: field.to_string(),
                    expected: "a number",
                    found: json_kind(other),
                }),
            }
        };
        Ok(Extensions {
            cert_issuer: get_str(dd, &["certIssuer"], "debugContext.debugData.certIssuer")?
                .map(owned),
            cert_age_days: num("certAgeDays", "debugContext.debugData.certAgeDays")?,
            token_lifetime_minutes: num(
                "tokenLifetimeMinutes",
                "debugContext.debugData.tokenLifetimeMinutes",
            )?,
            secret_age_days: num("secretAgeDays", "debugContext.debugData.secretAgeDays")?,
            device_posture: get_str(
                dd,
                &["devicePosture"],
                "debugContext.debugData.devicePosture",
            )?
            .map(owned),
        })
    }
}

/// The actor kind of an Okta `actor.type`.
///
/// ```
/// use riskgate::event::ActorKind;
/// use riskgate::okta::actor_kind;
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
/// use riskgate::event::Categories;
/// use riskgate::okta::categories_for;
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

fn owned(s: &str) -> Cow<'static, str> {
    Cow::Owned(s.to_owned())
}

/// The value at `path` below `v`, keys matched as [`lookup_ci`] does; `null`
/// or the string `"null"` (Okta writes it for unknown values) anywhere is
/// absent, and so is `""` on the way. Every step but the last must be an object:
/// anything else is [`EventError::WrongType`] naming the step by its
/// camelCase path (`field` is the full path).
fn get<'v>(
    v: &'v Value,
    path: &[&str],
    field: &'static str,
) -> Result<Option<&'v Value>, EventError> {
    let mut cur = v;
    for (i, seg) in path.iter().enumerate() {
        let map = match cur {
            Value::Object(map) => map,
            Value::Null => return Ok(None),
            // Panther's `debugData: ""`: an empty string stands for an empty object.
            Value::String(s) if s.is_empty() || is_null_text(s) => return Ok(None),
            other => {
                // `field` ends with `path`; the value that is not an object is
                // the one named by `field` without its last `path.len() - i` segments.
                let step = field_prefix(field, path.len() - i);
                return Err(EventError::WrongType {
                    field: step.to_owned(),
                    expected: "an object",
                    found: json_kind(other),
                });
            }
        };
        match get_ci(map, seg) {
            Some(next) => cur = next,
            None => return Ok(None),
        }
    }
    Ok(match cur {
        Value::Null => None,
        Value::String(s) if is_null_text(s) => None,
        _ => Some(cur),
    })
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

/// The string at `path`, `None` when absent or `null`.
fn get_str<'v>(
    v: &'v Value,
    path: &[&str],
    field: &'static str,
) -> Result<Option<&'v str>, EventError> {
    match get(v, path, field)? {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(EventError::WrongType {
            field: field.to_owned(),
            expected: "a string",
            found: json_kind(other),
        }),
    }
}

/// A scope list: a string split on commas and/or whitespace, or an array of strings.
fn get_scopes(
    dd: &Value,
    key: &str,
    field: &'static str,
) -> Result<Vec<Cow<'static, str>>, EventError> {
    match get(dd, &[key], field)? {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(split_scopes(s).map(owned).collect()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter(|(_, item)| !item.is_null())
            .map(|(i, item)| match item {
                Value::String(s) => Ok(owned(s)),
                other => Err(EventError::WrongType {
                    field: format!("{field}[{i}]"),
                    expected: "a string",
                    found: json_kind(other),
                }),
            })
            .collect(),
        Some(other) => Err(EventError::WrongType {
            field: field.to_owned(),
            expected: "a string or an array of strings",
            found: json_kind(other),
        }),
    }
}

/// The address at `key` of `parent`, as [`crate::event::client_ip`] makes
/// it; `""`, `"null"`, `0.0.0.0` and `::` are absent.
fn ip_at(
    parent: &Value,
    key: &str,
    field: &'static str,
) -> Result<Option<std::net::IpAddr>, EventError> {
    if !parent.is_object() {
        return match parent {
            Value::Null => Ok(None),
            other => Err(EventError::WrongType {
                field: field_prefix(field, 1).to_owned(),
                expected: "an object",
                found: json_kind(other),
            }),
        };
    }
    match get_str(parent, &[key], field)? {
        None => Ok(None),
        Some(text) => parse_client_ip(field, text),
    }
}

/// `securityContext.asNumber`: a non-negative integer, or a string of one.
fn asn(v: &Value) -> Result<Option<u64>, EventError> {
    const FIELD: &str = "securityContext.asNumber";
    let bad = |value: String| EventError::BadValue {
        field: FIELD.into(),
        value,
        reason: "not an autonomous system number (a non-negative integer)".into(),
    };
    match v {
        Value::Number(n) => n.as_u64().map(Some).ok_or_else(|| bad(n.to_string())),
        Value::String(s) => asn_text(s),
        other => Err(EventError::WrongType {
            field: FIELD.into(),
            expected: "a number or a numeric string",
            found: json_kind(other),
        }),
    }
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
// Case-insensitive paths (keys matched by [`crate::event::get_ci`])

pub use crate::event::lookup_ci;

/// Collects every value at a dotted path, flattening through arrays: where the
/// path meets an array, the rest of the path is followed in each element (a
/// decimal segment instead picks one element), and an array found at the end
/// contributes its elements. Keys match as in [`lookup_ci`]; `null`s are not
/// collected, so `out` never receives an array or a `null`.
///
/// ```
/// use riskgate::okta::collect_path;
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
    /// The native form ([`crate::native::parse_native`]).
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
    /// use riskgate::okta::Format;
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
/// use riskgate::okta::{parse_event, Format};
/// let okta = r#"{"eventType": "user.session.start", "published": "2020-05-01T10:20:22.243Z",
///                "actor": {"id": "00u1", "type": "User"}}"#;
/// assert_eq!(parse_event(okta, Format::Auto)?.agent, "00u1");
/// let native = r#"{"time": "2020-05-01T10:20:22.243Z", "agent": "svc",
///                  "attrs": {"eventType": "not at the top level"}}"#;
/// assert_eq!(parse_event(native, Format::Auto)?.agent, "svc");
/// # Ok::<(), riskgate::event::EventError>(())
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
    let b = line.as_bytes();
    b.iter().enumerate().any(|(i, &c)| match c {
        b'\\' => b.get(i + 1) == Some(&b'u'),
        b'e' | b'E' => b
            .get(i..i + 9)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"eventtype")),
        _ => false,
    })
}
