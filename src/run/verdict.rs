//! Verdicts: what the engine decided for one event, and why.
//!
//! Serialized field names are stable: `time`, `agent`, `decision`,
//! `severity`, `matches[].{rule, title, decision, severity, actions, shadow,
//! alerts[].{channel, immediate, suppressed}, explanation}`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

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

impl Verdict<'_> {
    /// The verdict with its own copy of the agent id, to keep past the
    /// event (send it over a channel, queue it, return it).
    ///
    /// ```
    /// use riskgate::{ActorKind, Categories, Engine, Event, RuleSet};
    /// use riskgate::run::verdict::OwnedVerdict;
    /// fn decide(engine: &Engine, agent: String) -> OwnedVerdict {
    ///     let event = Event::builder(agent, 1_795_910_400_000)
    ///         .actor(ActorKind::ServiceApp)
    ///         .categories(Categories::AUTHENTICATION)
    ///         .build();
    ///     engine.evaluate(&event).into_owned() // the event is dropped here
    /// }
    /// let rules = RuleSet::from_source("r.rules",
    ///     "Rule 1 — any\nTrigger: service_app authentication\nAction: flag_for_review\nSeverity: LOW\n")?;
    /// let engine = Engine::builder(rules.compile()).build()?;
    /// let v = decide(&engine, "svc-1".to_string());
    /// assert_eq!(v.agent, "svc-1");
    /// assert_eq!(v.decision, riskgate::Decision::Flag);
    /// // The same JSON as the borrowed verdict, and it reads back.
    /// let json = serde_json::to_string(&v)?;
    /// assert_eq!(serde_json::from_str::<OwnedVerdict>(&json)?, v);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_owned(self) -> OwnedVerdict {
        OwnedVerdict {
            time_ms: self.time_ms,
            agent: self.agent.to_owned(),
            decision: self.decision,
            severity: self.severity,
            matches: self.matches,
        }
    }
}

/// A [`Verdict`] that owns its agent id: `'static`, `Send`, serializable
/// and deserializable (the same JSON as [`Verdict`]'s).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnedVerdict {
    /// Event time.
    #[serde(
        rename = "time",
        serialize_with = "ser_time",
        deserialize_with = "de_time"
    )]
    pub time_ms: i64,
    /// The agent.
    pub agent: String,
    /// As [`Verdict::decision`].
    pub decision: Decision,
    /// As [`Verdict::severity`].
    pub severity: Option<Severity>,
    /// As [`Verdict::matches`].
    pub matches: Vec<Match>,
}

impl OwnedVerdict {
    /// A borrowed view, for code written for [`Verdict`].
    pub fn as_verdict(&self) -> Verdict<'_> {
        Verdict {
            time_ms: self.time_ms,
            agent: &self.agent,
            decision: self.decision,
            severity: self.severity,
            matches: self.matches.clone(),
        }
    }

    /// As [`Verdict::is_notable`].
    pub fn is_notable(&self) -> bool {
        self.as_verdict().is_notable()
    }

    /// As [`Verdict::rule_ids`].
    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.matches.iter().map(|m| &*m.rule)
    }
}

/// One rule that fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Vec<String>>,
}

/// An alert to raise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

fn de_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let text = String::deserialize(d)?;
    chrono::DateTime::parse_from_rfc3339(&text)
        .map(|t| t.timestamp_millis())
        .or_else(|_| text.parse::<i64>())
        .map_err(|_| serde::de::Error::custom(format!("`{text}` is not an RFC 3339 time")))
}

/// RFC 3339 UTC with milliseconds only when non-zero (`2026-11-22T23:59:30Z`).
pub fn format_time(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        None => ms.to_string(),
    }
}
