//! The reference reader of Okta `LogEvent`s: a `serde_json::Value` walked
//! field by field, written for clarity rather than speed. It is not part of
//! the library: the differential tests compare the production reader
//! (`riskgate::input::okta::parse_okta`) with it, event for event and error
//! for error. The small helpers at the end are written again here, on
//! purpose, so that the two readers share only the public pieces.
#![allow(dead_code)]

use std::borrow::Cow;

use riskgate::input::event::{client_ip, get_ci, parse_timestamp_ms, Cert, EventError};
use riskgate::input::native::split_scopes;
use riskgate::input::okta::{actor_kind, categories_for};
use riskgate::num::{parse_number_text, parse_unsigned_text};
use riskgate::{ActorKind, Categories, Event};
use serde_json::Value;

/// Converts an Okta `LogEvent` object; the object becomes the event's
/// `attrs`. The production reader must agree with it on every line.
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
        cert: Cert {
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

/// The address at `key` of `parent`, as `client_ip` makes
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

fn is_null_text(s: &str) -> bool {
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

/// At most 80 characters of `text`.
fn excerpt(text: &str) -> String {
    match text.char_indices().nth(80) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}…", &text[..end]),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn parse_client_ip(field: &str, text: &str) -> Result<Option<std::net::IpAddr>, EventError> {
    if text.is_empty() || text == "null" {
        return Ok(None);
    }
    text.parse()
        .map(client_ip)
        .map_err(|_| EventError::BadValue {
            field: field.to_owned(),
            value: excerpt(text),
            reason: "not an IPv4 or IPv6 address".to_owned(),
        })
}

fn number_text(s: &str, field: &str) -> Result<f64, EventError> {
    parse_number_text(s).map_err(|e| EventError::BadValue {
        field: field.to_owned(),
        value: excerpt(s),
        reason: e.to_string(),
    })
}

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
