//! The JSON of a verdict as `replay --output json` and `serve` write it:
//! where the event was read (its input line, or its Kafka partition and
//! offset), the event's identity and context (its `uuid`, Okta `eventType`
//! and client address, when it has them), then the verdict.

use riskgate::run::verdict::Verdict;
use riskgate::Event;

/// Where an event was read: its line in the input.
#[derive(serde::Serialize)]
pub struct Line {
    /// The line number.
    pub line: u64,
}

/// One verdict line; `P` says where the event was read ([`Line`], or a
/// Kafka partition and offset).
#[derive(serde::Serialize)]
pub struct Record<'a, 'e, P> {
    /// Where the event was read.
    #[serde(flatten)]
    pub at: P,
    /// The event's `uuid` (Okta's id of the event), if the line has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// The event's type (`app.oauth2.as.token.grant`), if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_type: Option<&'a str>,
    /// The client's address, if the event has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// The verdict.
    #[serde(flatten)]
    pub verdict: &'a Verdict<'e>,
}

impl<'a, 'e, P> Record<'a, 'e, P> {
    /// The record of `verdict`, decided for `event` read from `text` at `at`.
    pub fn of(at: P, text: &str, event: &'a Event<'_>, verdict: &'a Verdict<'e>) -> Self {
        Record {
            at,
            uuid: uuid_of(text),
            event_type: event.event_type.as_deref(),
            ip: event.ip.map(|ip| ip.to_string()),
            verdict,
        }
    }
}

/// The `uuid` of an event line, if it has one (a second, small read of the
/// line: only for the verdicts written out).
pub fn uuid_of(text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Id {
        uuid: Option<String>,
    }
    serde_json::from_str::<Id>(text).ok()?.uuid
}
