//! Verdicts: what the engine decided for one event, and why.
//!
//! Serialized field names are stable: `time`, `agent`, `decision`,
//! `severity`, `matches[].{rule, title, decision, severity, actions, shadow,
//! alerts[].{channel, immediate, suppressed}, explanation}`.

use std::sync::Arc;

use serde::Serialize;

use crate::compile::program::{Decision, Severity};

/// The verdict for one event. Borrows the agent id from the event, so that
/// evaluating allocates nothing when no rule fires.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict<'e> {
    /// Event time.
    #[serde(rename = "time", serialize_with = "ser_time")]
    pub time_ms: i64,
    /// The agent.
    pub agent: &'e str,
    /// The strongest decision among the non-shadow rules that fired (`allow` if none).
    pub decision: Decision,
    /// The highest severity among them (`null` if none fired).
    pub severity: Option<Severity>,
    /// Every rule that fired, shadow ones too, in source order.
    pub matches: Vec<Match>,
}

impl Verdict<'_> {
    /// The decision.
    pub fn decision(&self) -> Decision {
        self.decision
    }
    /// True when an enforced rule fired or an alert is to be raised.
    pub fn is_notable(&self) -> bool {
        self.decision != Decision::Allow
            || self
                .matches
                .iter()
                .any(|m| !m.shadow && !m.alerts.is_empty())
    }
    /// The ids of the rules that fired.
    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.matches.iter().map(|m| &*m.rule)
    }
}

/// One rule that fired.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    /// Rule id.
    pub rule: Arc<str>,
    /// Title.
    pub title: Option<Arc<str>>,
    /// Its decision action (`null` for alert-only rules).
    pub decision: Option<Decision>,
    /// Its severity.
    pub severity: Severity,
    /// Its actions, canonical (`suspend_token`, `alert security team`).
    pub actions: Arc<[Arc<str>]>,
    /// `Mode: shadow`: reported, never affects the decision.
    pub shadow: bool,
    /// Alerts to raise.
    pub alerts: Vec<Alert>,
    /// The true sub-conditions with their values, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Vec<String>>,
}

/// An alert to raise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// Channel (`security team`), `null` for the default.
    pub channel: Option<Arc<str>>,
    /// `immediate alert`
    pub immediate: bool,
    /// Suppressed by the rule's cooldown.
    pub suppressed: bool,
}

fn ser_time<S: serde::Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_time(*ms))
}

/// RFC 3339 UTC with milliseconds only when non-zero (`2026-11-22T23:59:30Z`).
pub fn format_time(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        None => ms.to_string(),
    }
}
