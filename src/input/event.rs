//! The typed authentication event that the engine evaluates.

use std::borrow::Cow;
use std::net::IpAddr;

use serde_json::Value;

pub use crate::compile::vocab::{ActorKind, Categories};

/// An mTLS client certificate, as far as rules look at it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Cert<'a> {
    /// `cert.issuer`
    pub issuer: Option<Cow<'a, str>>,
    /// `cert.age_days`
    pub age_days: Option<f64>,
}

/// One authentication event of a non-human (or human) identity.
///
/// Only `time_ms` and `agent` are required; every other field is optional and an
/// absent field makes the comparisons that read it UNKNOWN.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Event<'a> {
    /// Event time (`published`), milliseconds since the Unix epoch, UTC.
    pub time_ms: i64,
    /// The agent (actor) id; the key of all per-agent state.
    pub agent: Cow<'a, str>,
    /// Who acted.
    pub actor: ActorKind,
    /// What kind of event this is.
    pub categories: Categories,
    /// The source's event type verbatim (Okta `eventType`).
    pub event_type: Option<Cow<'a, str>>,
    /// Client IP address, as [`client_ip`] makes it: never IPv4-mapped,
    /// never unspecified (the event parsers and the builder see to that;
    /// rules read an address set here otherwise through [`client_ip`] too).
    pub ip: Option<IpAddr>,
    /// Requested scopes.
    pub scopes: Vec<Cow<'a, str>>,
    /// Granted scopes.
    pub granted_scopes: Vec<Cow<'a, str>>,
    /// Outcome verbatim (`SUCCESS`, `FAILURE`, `DENY`, ...).
    pub outcome: Option<Cow<'a, str>>,
    /// Country (Okta keeps the country name).
    pub country: Option<Cow<'a, str>>,
    /// Autonomous system number.
    pub asn: Option<u64>,
    /// Raw user agent.
    pub user_agent: Option<Cow<'a, str>>,
    /// OAuth grant type.
    pub grant_type: Option<Cow<'a, str>>,
    /// Client authentication method (`auth.method`).
    pub auth_method: Option<Cow<'a, str>>,
    /// Client certificate.
    pub cert: Cert<'a>,
    /// Requested/issued token lifetime in minutes.
    pub token_lifetime_minutes: Option<f64>,
    /// Age of the client secret in days.
    pub secret_age_days: Option<f64>,
    /// Device posture (`compliant`, ...).
    pub device_posture: Option<Cow<'a, str>>,
    /// Any other value of the source event, read by `attr.<path>`. For Okta events
    /// this is the whole source object; for native events the `attrs` object.
    /// `Value::Null` when there is none.
    pub attrs: Value,
}

impl Event<'_> {
    /// Copies every borrowed string, so the event no longer borrows its source.
    ///
    /// ```
    /// use riskgate::input::event::Event;
    /// let line = String::from(r#"{"time": "2026-11-22T23:59:30Z", "agent": "a"}"#);
    /// let event: Event<'static> = riskgate::input::native::parse_native(&line).unwrap().into_owned();
    /// drop(line);
    /// assert_eq!(event.agent, "a");
    /// ```
    pub fn into_owned(self) -> Event<'static> {
        Event {
            time_ms: self.time_ms,
            agent: own(self.agent),
            actor: self.actor,
            categories: self.categories,
            event_type: self.event_type.map(own),
            ip: self.ip,
            scopes: self.scopes.into_iter().map(own).collect(),
            granted_scopes: self.granted_scopes.into_iter().map(own).collect(),
            outcome: self.outcome.map(own),
            country: self.country.map(own),
            asn: self.asn,
            user_agent: self.user_agent.map(own),
            grant_type: self.grant_type.map(own),
            auth_method: self.auth_method.map(own),
            cert: Cert {
                issuer: self.cert.issuer.map(own),
                age_days: self.cert.age_days,
            },
            token_lifetime_minutes: self.token_lifetime_minutes,
            secret_age_days: self.secret_age_days,
            device_posture: self.device_posture.map(own),
            attrs: self.attrs,
        }
    }

    /// Reads `attr.<path>`: the value at `path` in [`Event::attrs`], keys
    /// matched as [`lookup_ci`] does (ignoring ASCII case; among keys that
    /// differ only by case, the exact one, else the first in document order).
    ///
    /// ```
    /// use riskgate::input::event::Event;
    /// let event = Event::builder("a", 0)
    ///     .attrs(serde_json::json!({"outcome": {"reason": "INVALID_CREDENTIALS"}}))
    ///     .build();
    /// assert_eq!(event.attr(&["outcome", "reason"]), Some(&serde_json::json!("INVALID_CREDENTIALS")));
    /// ```
    pub fn attr(&self, path: &[&str]) -> Option<&Value> {
        lookup_ci(&self.attrs, path)
    }
}

impl<'a> Event<'a> {
    /// Starts an event of `agent` at `time_ms` (milliseconds since the Unix
    /// epoch, UTC); every other field is absent until set.
    ///
    /// ```
    /// use riskgate::input::event::{ActorKind, Categories, Event};
    /// let event = Event::builder("datadog-remediation-prod", 1_795_391_970_000)
    ///     .actor(ActorKind::ServiceApp)
    ///     .categories(Categories::AUTHENTICATION | Categories::TOKEN_REQUEST)
    ///     .try_ip("203.0.113.9")?
    ///     .scope("okta:users:manage")
    ///     .grant_type("client_credentials")
    ///     .build();
    /// assert_eq!(event.ip, Some("203.0.113.9".parse().unwrap()));
    /// assert_eq!(event.scopes, ["okta:users:manage"]);
    /// # Ok::<(), riskgate::input::event::EventError>(())
    /// ```
    pub fn builder(agent: impl Into<Cow<'a, str>>, time_ms: i64) -> EventBuilder<'a> {
        EventBuilder {
            event: Event {
                time_ms,
                agent: agent.into(),
                ..Event::default()
            },
        }
    }
}

// ---------------------------------------------------------------------------
// Keys matched ignoring case

/// The value of `key` in `map`, keys matched ignoring ASCII case: the key
/// spelled exactly `key` if there is one, else the first key in document
/// order equal to it ignoring ASCII case.
///
/// This is how every path segment after `attr.` and `agent.` finds its key,
/// in every event format and in profiles, and how the Okta adapter finds
/// the keys it reads: producers disagree on key case. (JSON objects keep
/// their document order: riskgate builds `serde_json` with `preserve_order`.)
///
/// ```
/// use riskgate::input::event::get_ci;
/// let v: serde_json::Value =
///     serde_json::from_str(r#"{"team": "a", "TEAM": "b", "Team": "c"}"#).unwrap();
/// let map = v.as_object().unwrap();
/// assert_eq!(get_ci(map, "TEAM"), Some(&"b".into())); // exact
/// assert_eq!(get_ci(map, "tEaM"), Some(&"a".into())); // first in document order
/// assert_eq!(get_ci(map, "teams"), None);
/// ```
pub fn get_ci<'v>(map: &'v serde_json::Map<String, Value>, key: &str) -> Option<&'v Value> {
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The value at a dotted path (`["outcome", "reason"]` for `outcome.reason`),
/// each key found by [`get_ci`]. A segment that is a decimal number indexes
/// an array (`["target", "0", "type"]`). An empty path is `v` itself. `null`
/// values are returned as they are.
///
/// ```
/// use riskgate::input::event::lookup_ci;
/// use serde_json::json;
/// let v = json!({"debugcontext": {"debugData": {"grantType": "client_credentials"}},
///                "target": [{"type": "AppInstance"}]});
/// assert_eq!(lookup_ci(&v, &["debugContext", "debugData", "grantType"]), Some(&json!("client_credentials")));
/// assert_eq!(lookup_ci(&v, &["target", "0", "type"]), Some(&json!("AppInstance")));
/// assert_eq!(lookup_ci(&v, &["target", "type"]), None);
/// ```
pub fn lookup_ci<'v>(v: &'v Value, path: &[&str]) -> Option<&'v Value> {
    let mut cur = v;
    for seg in path {
        cur = match cur {
            Value::Object(map) => get_ci(map, seg)?,
            Value::Array(items) => items.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn own(s: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(s.into_owned())
}

/// Builds an [`Event`] field by field; made by [`Event::builder`].
///
/// Every setter replaces the field's value, except [`EventBuilder::category`],
/// [`EventBuilder::scope`], [`EventBuilder::granted_scope`] and
/// [`EventBuilder::attr`], which add to it.
#[derive(Debug, Clone, PartialEq, Default)]
#[must_use = "an event builder does nothing until `build` is called"]
pub struct EventBuilder<'a> {
    event: Event<'a>,
}

impl<'a> EventBuilder<'a> {
    /// Sets who acted.
    pub fn actor(mut self, actor: ActorKind) -> Self {
        self.event.actor = actor;
        self
    }
    /// Sets the whole category set.
    pub fn categories(mut self, categories: Categories) -> Self {
        self.event.categories = categories;
        self
    }
    /// Adds the categories of `category` to the set.
    pub fn category(mut self, category: Categories) -> Self {
        self.event.categories.insert(category);
        self
    }
    /// Sets the source's event type.
    pub fn event_type(mut self, event_type: impl Into<Cow<'a, str>>) -> Self {
        self.event.event_type = Some(event_type.into());
        self
    }
    /// Sets the client IP address, as [`client_ip`] stores it: an
    /// IPv4-mapped address as its IPv4 address, the unspecified address
    /// (`0.0.0.0`, `::`) as no address.
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.event.ip = client_ip(ip);
        self
    }
    /// Sets the client IP address from its text form, as every event format
    /// reads it: `""`, `"null"` and the unspecified address leave the event
    /// without an address, an IPv4-mapped address is stored as its IPv4 address.
    ///
    /// # Errors
    /// [`EventError::BadValue`] naming `ip` when `ip` is not an IPv4 or IPv6 address.
    pub fn try_ip(mut self, ip: &str) -> Result<Self, EventError> {
        self.event.ip = parse_client_ip("ip", ip)?;
        Ok(self)
    }
    /// Sets the requested scopes.
    pub fn scopes<S: Into<Cow<'a, str>>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.event.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }
    /// Adds one requested scope.
    pub fn scope(mut self, scope: impl Into<Cow<'a, str>>) -> Self {
        self.event.scopes.push(scope.into());
        self
    }
    /// Sets the granted scopes.
    pub fn granted_scopes<S: Into<Cow<'a, str>>>(
        mut self,
        scopes: impl IntoIterator<Item = S>,
    ) -> Self {
        self.event.granted_scopes = scopes.into_iter().map(Into::into).collect();
        self
    }
    /// Adds one granted scope.
    pub fn granted_scope(mut self, scope: impl Into<Cow<'a, str>>) -> Self {
        self.event.granted_scopes.push(scope.into());
        self
    }
    /// Sets the outcome (`SUCCESS`, `FAILURE`, ...), kept verbatim.
    pub fn outcome(mut self, outcome: impl Into<Cow<'a, str>>) -> Self {
        self.event.outcome = Some(outcome.into());
        self
    }
    /// Sets the country.
    pub fn country(mut self, country: impl Into<Cow<'a, str>>) -> Self {
        self.event.country = Some(country.into());
        self
    }
    /// Sets the autonomous system number.
    pub fn asn(mut self, asn: u64) -> Self {
        self.event.asn = Some(asn);
        self
    }
    /// Sets the raw user agent.
    pub fn user_agent(mut self, user_agent: impl Into<Cow<'a, str>>) -> Self {
        self.event.user_agent = Some(user_agent.into());
        self
    }
    /// Sets the OAuth grant type.
    pub fn grant_type(mut self, grant_type: impl Into<Cow<'a, str>>) -> Self {
        self.event.grant_type = Some(grant_type.into());
        self
    }
    /// Sets the client authentication method.
    pub fn auth_method(mut self, auth_method: impl Into<Cow<'a, str>>) -> Self {
        self.event.auth_method = Some(auth_method.into());
        self
    }
    /// Sets the client certificate's issuer.
    pub fn cert_issuer(mut self, issuer: impl Into<Cow<'a, str>>) -> Self {
        self.event.cert.issuer = Some(issuer.into());
        self
    }
    /// Sets the client certificate's age in days.
    pub fn cert_age_days(mut self, days: f64) -> Self {
        self.event.cert.age_days = Some(days);
        self
    }
    /// Sets the token lifetime in minutes.
    pub fn token_lifetime_minutes(mut self, minutes: f64) -> Self {
        self.event.token_lifetime_minutes = Some(minutes);
        self
    }
    /// Sets the client secret's age in days.
    pub fn secret_age_days(mut self, days: f64) -> Self {
        self.event.secret_age_days = Some(days);
        self
    }
    /// Sets the device posture.
    pub fn device_posture(mut self, posture: impl Into<Cow<'a, str>>) -> Self {
        self.event.device_posture = Some(posture.into());
        self
    }
    /// Sets the extra attributes (read by `attr.<path>`).
    pub fn attrs(mut self, attrs: Value) -> Self {
        self.event.attrs = attrs;
        self
    }
    /// Sets one top-level extra attribute. When the attributes are not an
    /// object yet (`null`, or set to another value by [`EventBuilder::attrs`]),
    /// they become an object holding this key alone.
    pub fn attr(mut self, key: impl Into<String>, value: Value) -> Self {
        if !self.event.attrs.is_object() {
            self.event.attrs = Value::Object(serde_json::Map::new());
        }
        if let Value::Object(map) = &mut self.event.attrs {
            map.insert(key.into(), value);
        }
        self
    }
    /// Returns the event.
    pub fn build(self) -> Event<'a> {
        self.event
    }
}

pub use crate::compile::value::canonical_ip;

/// The client address an event holds for `ip`: [`canonical_ip`], and `None`
/// for the unspecified address (`0.0.0.0`, `::`, `::ffff:0.0.0.0`), which is
/// never a real client (sources write it when they do not know the address).
///
/// Every event format and [`EventBuilder::ip`] store addresses through this,
/// so rules see one form of each address and no unspecified one.
///
/// ```
/// use riskgate::input::event::client_ip;
/// let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
/// assert_eq!(client_ip(ip("::ffff:10.1.1.1")), Some(ip("10.1.1.1")));
/// assert_eq!(client_ip(ip("0.0.0.0")), None);
/// assert_eq!(client_ip(ip("::")), None);
/// ```
pub fn client_ip(ip: IpAddr) -> Option<IpAddr> {
    let ip = canonical_ip(ip);
    (!ip.is_unspecified()).then_some(ip)
}

/// The client address written as `text` in field `field`: `None` for `""`,
/// `"null"` and the unspecified address, else the [`client_ip`] of the
/// address; an error naming `field` when `text` is not an IPv4 or IPv6
/// address.
pub(crate) fn parse_client_ip(field: &str, text: &str) -> Result<Option<IpAddr>, EventError> {
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

/// `line` without the byte-order mark (U+FEFF) it may start with: the first
/// line of a file saved by some editors and tools has one, and it is not
/// part of the JSON. Only one is removed.
///
/// ```
/// assert_eq!(riskgate::input::event::strip_bom("\u{feff}{}"), "{}");
/// assert_eq!(riskgate::input::event::strip_bom("{}"), "{}");
/// ```
pub fn strip_bom(line: &str) -> &str {
    line.strip_prefix('\u{feff}').unwrap_or(line)
}

/// At most 80 characters of `text`, for error messages about values of any size.
pub(crate) fn excerpt(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}…", text.get(..end).unwrap_or(text)),
    }
}

// ---------------------------------------------------------------------------
// Errors

/// Why one event (one line of a JSONL stream) was rejected.
///
/// Messages are lowercase and name the offending field or key in backticks; the
/// caller adds the line number.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// The line is not JSON (serde's message, with its column).
    #[error("invalid JSON: {message}")]
    InvalidJson {
        /// What the JSON parser said.
        message: String,
    },
    /// The line is JSON but not an object.
    #[error("an event must be a JSON object, found {found}")]
    NotAnObject {
        /// The JSON kind found (`an array`, `a string`, ...).
        found: &'static str,
    },
    /// A required field is absent or `null` (`time`, `agent`, Okta `published`, `actor.id`).
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// An Okta event without an `actor` object.
    #[error("no `actor`: the event does not say who acted")]
    NoActor,
    /// A time that is not a valid timestamp.
    #[error("bad time `{value}` in `{field}`: {reason}")]
    BadTime {
        /// `time` (native) or `published` (Okta).
        field: &'static str,
        /// The text found (at most 80 characters).
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A field of the wrong JSON type.
    #[error("`{field}` must be {expected}, found {found}")]
    WrongType {
        /// The field's path (`ip`, `cert.age_days`, `client.ipAddress`, `scopes[2]`).
        field: String,
        /// What it must be (`a string`, `a non-negative integer`, ...).
        expected: &'static str,
        /// The JSON kind found (`a number`, `an object`, ...).
        found: &'static str,
    },
    /// A field of the right type whose value is not allowed.
    #[error("bad value `{value}` in `{field}`: {reason}")]
    BadValue {
        /// The field's path.
        field: String,
        /// The value found (at most 80 characters).
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A key the native form does not define.
    #[error("unknown key `{key}`{}", did_you_mean(*suggestion))]
    UnknownKey {
        /// The key, with its path for nested objects (`cert.isuer`).
        key: String,
        /// The nearest known key, when one is close.
        suggestion: Option<&'static str>,
    },
    /// A key given twice in one object.
    #[error("duplicate key `{0}`")]
    DuplicateKey(String),
}

fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion.map_or_else(String::new, |s| format!(", did you mean `{s}`?"))
}

impl EventError {
    pub(crate) fn from_json(e: &serde_json::Error) -> EventError {
        EventError::InvalidJson {
            message: e.to_string(),
        }
    }

    /// The field or key the error is about, when there is one.
    ///
    /// ```
    /// let err = riskgate::input::native::parse_native(r#"{"time": "2026-11-22T23:59:30Z"}"#).unwrap_err();
    /// assert_eq!(err.field(), Some("agent"));
    /// ```
    pub fn field(&self) -> Option<&str> {
        match self {
            EventError::MissingField(f) => Some(f),
            EventError::NoActor => Some("actor"),
            EventError::BadTime { field, .. } => Some(field),
            EventError::WrongType { field, .. } | EventError::BadValue { field, .. } => Some(field),
            EventError::UnknownKey { key, .. } | EventError::DuplicateKey(key) => Some(key),
            EventError::InvalidJson { .. } | EventError::NotAnObject { .. } => None,
        }
    }
}

/// The JSON kind of `v` as error messages name it (`a string`, `an object`, ...).
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

// ---------------------------------------------------------------------------
// Timestamps

/// Parses a timestamp to milliseconds since the Unix epoch, UTC.
///
/// Accepts `YYYY-MM-DDTHH:MM:SS`, with `T`, `t` or a space between date and
/// time, an optional fraction of 1 to 9 digits (truncated to milliseconds) and
/// a zone `Z`, `z`, `±HH:MM` or `±HHMM`. Without a zone the time is UTC, unless
/// `zone_required` (RFC 3339, the native form) makes that an error. The date
/// must exist (`2017-09-31` does not).
///
/// The error is the reason, for [`EventError::BadTime`].
///
/// ```
/// use riskgate::input::event::parse_timestamp_ms;
/// assert_eq!(parse_timestamp_ms("2020-05-01T10:20:22.243Z", true), Ok(1_588_328_422_243));
/// assert_eq!(parse_timestamp_ms("2020-05-01 10:20:22.243", false), Ok(1_588_328_422_243));
/// assert_eq!(parse_timestamp_ms("2020-05-01T12:20:22.243+02:00", true), Ok(1_588_328_422_243));
/// assert!(parse_timestamp_ms("2017-09-31T22:23:07.777Z", true).unwrap_err().contains("30 days"));
/// ```
pub fn parse_timestamp_ms(text: &str, zone_required: bool) -> Result<i64, String> {
    let b = text.as_bytes();
    const SHAPE: &str = "expected `YYYY-MM-DDTHH:MM:SS` with an optional fraction and zone";
    let digits = |from: usize, n: usize| -> Option<i64> {
        let s = b.get(from..from + n)?;
        s.iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let at = |i: usize| b.get(i).copied();
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        digits(0, 4),
        digits(5, 2),
        digits(8, 2),
        digits(11, 2),
        digits(14, 2),
        digits(17, 2),
    ) else {
        return Err(SHAPE.to_owned());
    };
    if at(4) != Some(b'-')
        || at(7) != Some(b'-')
        || !matches!(at(10), Some(b'T' | b't' | b' '))
        || at(13) != Some(b':')
        || at(16) != Some(b':')
    {
        return Err(SHAPE.to_owned());
    }
    if !(1..=12).contains(&month) {
        return Err(format!("month {month:02} is out of range"));
    }
    let month_days = days_in_month(year, month);
    if day < 1 || day > month_days {
        return Err(format!(
            "`{}` is not a calendar date ({year:04}-{month:02} has {month_days} days)",
            text.get(..10).unwrap_or(text)
        ));
    }
    if hour > 23 {
        return Err(format!("hour {hour:02} is out of range"));
    }
    if minute > 59 {
        return Err(format!("minute {minute:02} is out of range"));
    }
    if second > 59 {
        return Err(format!("second {second:02} is out of range"));
    }
    let mut i = 19;
    let mut millis = 0i64;
    if at(i) == Some(b'.') {
        i += 1;
        let start = i;
        while at(i).is_some_and(|c| c.is_ascii_digit()) {
            if i - start < 3 {
                millis = millis * 10 + i64::from(at(i).unwrap_or(b'0') - b'0');
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return Err("expected digits after `.`".to_owned());
        }
        if n > 9 {
            return Err("more than 9 fraction digits".to_owned());
        }
        for _ in n..3 {
            millis *= 10;
        }
    }
    let offset_minutes = match at(i) {
        None if zone_required => {
            return Err("missing zone: add `Z` or an offset such as `+00:00`".to_owned());
        }
        None => 0,
        Some(b'Z' | b'z') => {
            i += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            let (Some(h), colon) = (digits(i + 1, 2), at(i + 3) == Some(b':')) else {
                return Err("expected a zone offset `±HH:MM`".to_owned());
            };
            let m_at = if colon { i + 4 } else { i + 3 };
            let Some(m) = digits(m_at, 2) else {
                return Err("expected a zone offset `±HH:MM`".to_owned());
            };
            if h > 23 || m > 59 {
                return Err(format!(
                    "zone offset `{}` is out of range",
                    text.get(i..m_at + 2).unwrap_or("")
                ));
            }
            i = m_at + 2;
            let total = h * 60 + m;
            if sign == b'-' {
                -total
            } else {
                total
            }
        }
        Some(_) => {
            return Err(format!(
                "unexpected `{}` after the time",
                excerpt(text.get(i..).unwrap_or(""))
            ))
        }
    };
    if i < b.len() {
        return Err(format!(
            "unexpected `{}` after the zone",
            excerpt(text.get(i..).unwrap_or(""))
        ));
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    Ok(seconds * 1_000 + millis)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
