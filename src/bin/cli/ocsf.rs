//! `replay --output ocsf`: each rule that fired as an OCSF Detection
//! Finding (class 2004, OCSF 1.3), one JSON object a line, with the fields a
//! SIEM maps: the finding (its rule, title and MITRE ATT&CK techniques and
//! tactics from the rule's `Tags`), severity, time, the actor (the agent),
//! the source endpoint (the client address), the evidence (the event's type
//! and `uuid`, and the explanation when `--explain` asked for one), and what
//! riskgate decided.

use std::io::Write;

use riskgate::run::verdict::{MatchRef, Verdict};
use riskgate::{Decision, Event, Severity};
use serde_json::{json, Map, Value};

/// The OCSF schema version the findings follow.
pub const OCSF_VERSION: &str = "1.3.0";
/// Detection Finding.
const CLASS_UID: u64 = 2004;
/// Findings.
const CATEGORY_UID: u64 = 2;
/// Create: a new finding.
const ACTIVITY_ID: u64 = 1;

/// OCSF `severity_id` and its caption.
fn severity(s: Severity) -> (u64, &'static str) {
    match s {
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

/// OCSF `action_id` and its caption for a decision: allowed, denied (a
/// suspended token is denied too), or other (flagged for review).
fn action(d: Option<Decision>) -> (u64, &'static str) {
    match d {
        Some(Decision::Allow) => (1, "Allowed"),
        Some(Decision::Deny | Decision::Suspend) => (2, "Denied"),
        Some(Decision::Flag) => (99, "Flagged"),
        None => (0, "Unknown"),
    }
}

/// MITRE ATT&CK techniques (`T1078`, `T1078.004`) and tactics (`TA0006`)
/// among `tags`, as OCSF `attacks`: one per technique, with the first
/// tactic if the rule names one; a tactic alone when there is no
/// technique.
fn attacks(tags: &[std::sync::Arc<str>]) -> Vec<Value> {
    let is_tactic = |t: &str| {
        t.strip_prefix("TA")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    let is_technique = |t: &str| {
        !is_tactic(t)
            && t.strip_prefix('T').is_some_and(|n| {
                let (main, sub) = n.split_once('.').unwrap_or((n, ""));
                !main.is_empty()
                    && main.bytes().all(|b| b.is_ascii_digit())
                    && sub.bytes().all(|b| b.is_ascii_digit())
            })
    };
    let tactic = tags
        .iter()
        .find(|t| is_tactic(t))
        .map(|t| json!({ "uid": &**t }));
    let mut out: Vec<Value> = tags
        .iter()
        .filter(|t| is_technique(t))
        .map(|t| {
            let mut a = Map::new();
            a.insert("technique".into(), json!({ "uid": &**t }));
            if let Some(tac) = &tactic {
                a.insert("tactic".into(), tac.clone());
            }
            a.insert("version".into(), json!("v15"));
            Value::Object(a)
        })
        .collect();
    if out.is_empty() {
        if let Some(tac) = tactic {
            out.push(json!({ "tactic": tac, "version": "v15" }));
        }
    }
    out
}

/// The finding of rule `m` of verdict `v`, for `event` read at `line`
/// (its `uuid`, if it has one).
pub fn finding(
    line: u64,
    uuid: Option<&str>,
    event: &Event<'_>,
    v: &Verdict<'_>,
    m: &MatchRef<'_>,
) -> Value {
    let (severity_id, severity_name) = severity(m.severity());
    let (action_id, action_name) = action(m.decision());
    let title = m.title().unwrap_or(m.rule());
    let explanation = m.explanation().unwrap_or_default();
    let message = if explanation.is_empty() {
        title.to_string()
    } else {
        format!("{title}: {}", explanation.join("; "))
    };
    let uid = match uuid {
        Some(u) => format!("{u}:{}", m.rule()),
        None => format!("{}:{}:{}", v.agent, v.time_ms, m.rule()),
    };
    let mut info = Map::new();
    info.insert("uid".into(), json!(uid));
    info.insert("title".into(), json!(title));
    info.insert(
        "analytic".into(),
        json!({ "uid": m.rule(), "name": title, "type_id": 1, "type": "Rule" }),
    );
    info.insert("types".into(), json!(["riskgate"]));
    let attacks = attacks(m.tags());
    if !attacks.is_empty() {
        info.insert("attacks".into(), Value::Array(attacks));
    }
    let mut evidence = Map::new();
    if let Some(t) = event.event_type.as_deref() {
        evidence.insert("event_type".into(), json!(t));
    }
    if let Some(u) = uuid {
        evidence.insert("uuid".into(), json!(u));
    }
    if !explanation.is_empty() {
        evidence.insert("explanation".into(), json!(explanation));
    }
    let mut finding = json!({
        "activity_id": ACTIVITY_ID,
        "activity_name": "Create",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Detection Finding",
        "type_uid": CLASS_UID * 100 + ACTIVITY_ID,
        "type_name": "Detection Finding: Create",
        "severity_id": severity_id,
        "severity": severity_name,
        "status_id": 1,
        "status": "New",
        "time": v.time_ms,
        "message": message,
        "action_id": action_id,
        "action": action_name,
        "metadata": {
            "version": OCSF_VERSION,
            "product": {
                "name": "riskgate",
                "vendor_name": "riskgate",
                "version": env!("CARGO_PKG_VERSION"),
            },
        },
        "finding_info": info,
        "actor": { "user": { "uid": v.agent, "type_id": 99, "type": "Agent" } },
        "evidences": [{ "data": evidence }],
        "unmapped": {
            "riskgate": {
                "line": line,
                "decision": m.decision().map(Decision::as_str),
                "verdict": v.decision.as_str(),
                "actions": m.actions().iter().map(|a| &**a).collect::<Vec<&str>>(),
                "shadow": m.shadow(),
            }
        },
    });
    if let (Some(ip), Some(obj)) = (event.ip, finding.as_object_mut()) {
        obj.insert("src_endpoint".into(), json!({ "ip": ip.to_string() }));
    }
    finding
}

/// Writes one finding a line for each rule of `v` that fired.
pub fn write_findings(
    out: &mut impl Write,
    (line, text, event): (u64, &str, &Event<'_>),
    v: &Verdict<'_>,
) -> std::io::Result<()> {
    if !v.has_matches() {
        return Ok(());
    }
    let uuid = super::record::uuid_of(text);
    for m in v.matches() {
        serde_json::to_writer(&mut *out, &finding(line, uuid.as_deref(), event, v, &m))?;
        writeln!(out)?;
    }
    Ok(())
}
