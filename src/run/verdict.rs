//! Verdicts: what the engine decided for one event, and why.
//!
//! Serialized field names are stable: `time`, `agent`, `decision`,
//! `severity`, `matches[].{rule, title, decision, severity, actions, shadow,
//! alerts[].{channel, immediate, suppressed}, tags, explanation}` (`tags`
//! only for a rule with tags, `explanation` only when asked for).

use std::sync::Arc;

use serde::ser::{SerializeSeq, SerializeStruct};
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::compile::program::{CompiledRule, Decision, Program, Severity};

/// The verdict for one event. Borrows the agent id from the event and the
/// fired rules' ids, titles, actions and alerts from the program that
/// decided it, so that evaluating allocates nothing when no rule fires, and
/// a firing rule copies no string and counts no reference: a verdict with
/// matches holds one reference to its program (kept alive across
/// [`Engine::reload`](crate::Engine::reload)), and up to four matches are
/// kept inline.
///
/// ```
/// use riskgate::{ActorKind, Categories, Engine, Event, RuleSet};
/// let rules = RuleSet::from_source("r.rules",
///     "Rule 1 — any\nTrigger: service_app authentication\nAction: suspend_token + alert security team\nSeverity: HIGH\n")?;
/// let engine = Engine::builder(rules.compile()).build()?;
/// let event = Event::builder("svc-1", 1_795_910_400_000)
///     .actor(ActorKind::ServiceApp)
///     .categories(Categories::AUTHENTICATION)
///     .build();
/// let v = engine.evaluate(&event);
/// assert_eq!(v.decision, riskgate::Decision::Suspend);
/// let m = v.matches().next().expect("rule 1 fired");
/// assert_eq!(m.rule(), "1");
/// let actions: Vec<&str> = m.actions().iter().map(|a| &**a).collect();
/// assert_eq!(actions, ["suspend_token", "alert security team"]);
/// assert_eq!(m.alerts().next().and_then(|a| a.channel), Some("security team"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Verdict<'e> {
    /// Event time.
    pub time_ms: i64,
    /// The agent.
    pub agent: &'e str,
    /// The strongest decision among the non-shadow rules that fired (`allow` if none).
    pub decision: Decision,
    /// The highest severity among them (`None` if none fired).
    pub severity: Option<Severity>,
    /// The program whose rules fired (set with the first match).
    program: Option<Arc<Program>>,
    /// The rules that fired, in source order.
    hits: SmallVec<[Hit; 4]>,
}

/// One fired rule, by index into the verdict's program (16 bytes: the
/// explanation, rare, is boxed to keep the inline matches small).
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::box_collection)] // a thin pointer: 8 bytes, not a Vec's 24
struct Hit {
    rule: u32,
    suppressed: bool,
    explanation: Option<Box<Vec<String>>>,
}

impl<'e> Verdict<'e> {
    /// The verdict of an event on which no rule has fired yet.
    pub(crate) fn allow(time_ms: i64, agent: &'e str) -> Self {
        Verdict {
            time_ms,
            agent,
            decision: Decision::Allow,
            severity: None,
            program: None,
            hits: SmallVec::new(),
        }
    }

    /// Records that rule `rule` of `program` fired (`program` is the one
    /// of the earlier matches: one program decides an event).
    pub(crate) fn push(
        &mut self,
        program: &Arc<Program>,
        rule: u32,
        suppressed: bool,
        explanation: Option<Vec<String>>,
    ) {
        if self.program.is_none() {
            self.program = Some(Arc::clone(program));
        }
        self.hits.push(Hit {
            rule,
            suppressed,
            explanation: explanation.map(Box::new),
        });
    }
}

impl Verdict<'_> {
    /// The decision.
    pub fn decision(&self) -> Decision {
        self.decision
    }
    /// Every rule that fired, shadow ones too, in source order.
    pub fn matches(&self) -> Matches<'_> {
        Matches {
            program: self.program.as_deref(),
            hits: self.hits.iter(),
        }
    }
    /// True when some rule fired (shadow rules included).
    pub fn has_matches(&self) -> bool {
        !self.hits.is_empty()
    }
    /// True when an enforced rule fired or an alert is to be raised.
    pub fn is_notable(&self) -> bool {
        self.decision != Decision::Allow
            || self
                .matches()
                .any(|m| !m.shadow() && m.alerts().next().is_some())
    }
    /// The ids of the rules that fired.
    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.matches().map(|m| m.rule())
    }

    /// The verdict with its own copy of the agent id and of the fired
    /// rules' ids, titles, actions and alerts, to keep past the event
    /// (send it over a channel, queue it, return it).
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
            matches: self.matches().map(|m| m.to_owned_match()).collect(),
        }
    }
}

impl std::fmt::Debug for Verdict<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verdict")
            .field("time_ms", &self.time_ms)
            .field("agent", &self.agent)
            .field("decision", &self.decision)
            .field("severity", &self.severity)
            .field("matches", &self.matches().collect::<Vec<_>>())
            .finish()
    }
}

impl PartialEq for Verdict<'_> {
    /// Equal when they say the same: time, agent, decision, severity and
    /// the same matches (rule ids, titles, actions, alerts, explanations),
    /// whichever program decided them.
    fn eq(&self, other: &Self) -> bool {
        self.time_ms == other.time_ms
            && self.agent == other.agent
            && self.decision == other.decision
            && self.severity == other.severity
            && self.matches().eq(other.matches())
    }
}

impl Serialize for Verdict<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Verdict", 5)?;
        st.serialize_field("time", &format_time(self.time_ms))?;
        st.serialize_field("agent", self.agent)?;
        st.serialize_field("decision", &self.decision)?;
        st.serialize_field("severity", &self.severity)?;
        st.serialize_field("matches", &self.matches())?;
        st.end()
    }
}

/// The matches of a [`Verdict`], in source order.
#[derive(Clone)]
pub struct Matches<'v> {
    program: Option<&'v Program>,
    hits: std::slice::Iter<'v, Hit>,
}

impl<'v> Iterator for Matches<'v> {
    type Item = MatchRef<'v>;
    fn next(&mut self) -> Option<MatchRef<'v>> {
        let program = self.program?;
        loop {
            let hit = self.hits.next()?;
            // A hit always names a rule of its program.
            if let Some(rule) = program.rules.get(hit.rule as usize) {
                return Some(MatchRef { rule, hit });
            }
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.hits.len()))
    }
}

impl Serialize for Matches<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.hits.len()))?;
        for m in self.clone() {
            seq.serialize_element(&m)?;
        }
        seq.end()
    }
}

/// One rule that fired, borrowed from its [`Verdict`]: the same fields as
/// [`Match`], read from the program that decided it.
#[derive(Clone, Copy)]
pub struct MatchRef<'v> {
    rule: &'v CompiledRule,
    hit: &'v Hit,
}

impl<'v> MatchRef<'v> {
    /// Rule id.
    pub fn rule(&self) -> &'v str {
        &self.rule.id
    }
    /// Title.
    pub fn title(&self) -> Option<&'v str> {
        self.rule.title.as_deref()
    }
    /// Its decision action (`None` for alert-only rules).
    pub fn decision(&self) -> Option<Decision> {
        self.rule.decision
    }
    /// Its severity.
    pub fn severity(&self) -> Severity {
        self.rule.severity
    }
    /// Its actions, canonical (`suspend_token`, `alert security team`).
    pub fn actions(&self) -> &'v [Arc<str>] {
        &self.rule.actions
    }
    /// `Mode: shadow`: reported, never affects the decision.
    pub fn shadow(&self) -> bool {
        self.rule.shadow
    }
    /// The rule's tags (`T1078`, `nhi`), as written.
    pub fn tags(&self) -> &'v [Arc<str>] {
        &self.rule.tags
    }
    /// Alerts to raise.
    pub fn alerts(&self) -> impl ExactSizeIterator<Item = AlertRef<'v>> + 'v {
        let suppressed = self.hit.suppressed;
        self.rule.alerts.iter().map(move |a| AlertRef {
            channel: a.channel.as_deref(),
            immediate: a.immediate,
            suppressed,
        })
    }
    /// The true sub-conditions with their values, when asked for.
    pub fn explanation(&self) -> Option<&'v [String]> {
        self.hit.explanation.as_deref().map(Vec::as_slice)
    }
    /// An owned copy.
    pub fn to_owned_match(&self) -> Match {
        Match {
            rule: Arc::clone(&self.rule.id),
            title: self.rule.title.clone(),
            decision: self.rule.decision,
            severity: self.rule.severity,
            actions: Arc::clone(&self.rule.actions),
            shadow: self.rule.shadow,
            alerts: self.alerts().map(AlertRef::to_owned_alert).collect(),
            tags: Arc::clone(&self.rule.tags),
            explanation: self.hit.explanation.as_deref().cloned(),
        }
    }
}

impl PartialEq for MatchRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.rule() == other.rule()
            && self.title() == other.title()
            && self.decision() == other.decision()
            && self.severity() == other.severity()
            && self.actions() == other.actions()
            && self.shadow() == other.shadow()
            && self.alerts().eq(other.alerts())
            && self.tags() == other.tags()
            && self.explanation() == other.explanation()
    }
}

impl std::fmt::Debug for MatchRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Match")
            .field("rule", &self.rule())
            .field("title", &self.title())
            .field("decision", &self.decision())
            .field("severity", &self.severity())
            .field("actions", &self.actions())
            .field("shadow", &self.shadow())
            .field("alerts", &self.alerts().collect::<Vec<_>>())
            .field("tags", &self.tags())
            .field("explanation", &self.explanation())
            .finish()
    }
}

impl Serialize for MatchRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let explanation = self.explanation();
        let tags = self.tags();
        let n = 7 + usize::from(explanation.is_some()) + usize::from(!tags.is_empty());
        let mut st = s.serialize_struct("Match", n)?;
        st.serialize_field("rule", self.rule())?;
        st.serialize_field("title", &self.title())?;
        st.serialize_field("decision", &self.decision())?;
        st.serialize_field("severity", &self.severity())?;
        st.serialize_field("actions", self.actions())?;
        st.serialize_field("shadow", &self.shadow())?;
        st.serialize_field("alerts", &AlertsSer(*self))?;
        if tags.is_empty() {
            st.skip_field("tags")?;
        } else {
            st.serialize_field("tags", tags)?;
        }
        if let Some(lines) = explanation {
            st.serialize_field("explanation", lines)?;
        } else {
            st.skip_field("explanation")?;
        }
        st.end()
    }
}

struct AlertsSer<'v>(MatchRef<'v>);

impl Serialize for AlertsSer<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let alerts = self.0.alerts();
        let mut seq = s.serialize_seq(Some(alerts.len()))?;
        for a in alerts {
            seq.serialize_element(&a)?;
        }
        seq.end()
    }
}

/// An alert of a [`MatchRef`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AlertRef<'v> {
    /// Channel (`security team`), `None` for the default.
    pub channel: Option<&'v str>,
    /// `immediate alert`
    pub immediate: bool,
    /// Suppressed by the rule's cooldown.
    pub suppressed: bool,
}

impl AlertRef<'_> {
    /// An owned copy.
    pub fn to_owned_alert(self) -> Alert {
        Alert {
            channel: self.channel.map(Arc::from),
            immediate: self.immediate,
            suppressed: self.suppressed,
        }
    }
}

/// A [`Verdict`] that owns its agent id and matches: `'static`, `Send`,
/// serializable and deserializable (the same JSON as [`Verdict`]'s).
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
    /// As [`Verdict::is_notable`].
    pub fn is_notable(&self) -> bool {
        self.decision != Decision::Allow
            || self
                .matches
                .iter()
                .any(|m| !m.shadow && !m.alerts.is_empty())
    }

    /// As [`Verdict::rule_ids`].
    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.matches.iter().map(|m| &*m.rule)
    }
}

impl PartialEq<Verdict<'_>> for OwnedVerdict {
    fn eq(&self, other: &Verdict<'_>) -> bool {
        self.time_ms == other.time_ms
            && self.agent == other.agent
            && self.decision == other.decision
            && self.severity == other.severity
            && self.matches.len() == other.hits.len()
            && self
                .matches
                .iter()
                .zip(other.matches())
                .all(|(a, b)| *a == b.to_owned_match())
    }
}

/// One rule that fired, owned (in an [`OwnedVerdict`]).
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
    /// The rule's `Tags` (MITRE ATT&CK ids, `nhi`...), as written; left out
    /// of the JSON when there are none.
    #[serde(default, skip_serializing_if = "no_tags")]
    pub tags: Arc<[Arc<str>]>,
    /// The true sub-conditions with their values, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Vec<String>>,
}

fn no_tags(tags: &Arc<[Arc<str>]>) -> bool {
    tags.is_empty()
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
