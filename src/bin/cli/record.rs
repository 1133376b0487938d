//! The JSON of a verdict as `replay --output json` and `serve` write it:
//! the input line, the event's identity and context (its `uuid`, Okta
//! `eventType` and client address, when it has them), then the verdict.

use riskgate::run::verdict::Verdict;
use riskgate::Event;

/// One verdict line.
#[derive(serde::Serialize)]
pub struct Record<'a, 'e> {
    /// The event's line in the input.
    pub line: u64,
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

impl<'a, 'e> Record<'a, 'e> {
    /// The record of `verdict`, decided for `event` read from `text`.
    pub fn of(line: u64, text: &str, event: &'a Event<'_>, verdict: &'a Verdict<'e>) -> Self {
        Record {
            line,
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
