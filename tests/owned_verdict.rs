//! Owned verdicts: they outlive the event, cross threads, and read back
//! from their JSON as they were written (explanations, alerts, extreme
//! times included); `Decision` and `Severity` print their verdict names.

use std::sync::mpsc::channel;

use riskgate::run::verdict::OwnedVerdict;
use riskgate::{ActorKind, Categories, Decision, Engine, Event, RuleSet, Severity};

const RULES: &str = "\
Rule A — burst with an alert
Trigger: service_app authentication AND requests_per_minute > 1
Action: suspend_token + alert security team
Severity: HIGH
Cooldown: 10m

Rule B — shadow
Trigger: authentication
Mode: shadow
Action: flag_for_review
Severity: LOW
";

fn engine() -> Engine {
    let rules = RuleSet::from_source("r.rules", RULES).unwrap_or_else(|d| panic!("{d}"));
    Engine::builder(rules.compile())
        .forward_skew_limit_ms(None)
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn event(t: i64) -> Event<'static> {
    Event::builder("svc-1", t)
        .actor(ActorKind::ServiceApp)
        .categories(Categories::AUTHENTICATION)
        .build()
}

#[test]
fn owned_verdicts_cross_threads_and_read_back_from_json() {
    let e = engine();
    let (tx, rx) = channel::<OwnedVerdict>();
    let t0 = 1_795_910_400_000;
    let sender = std::thread::spawn(move || {
        for i in 0..3 {
            let v = e.evaluate_explained(&event(t0 + i)).into_owned();
            tx.send(v).unwrap_or_else(|e| panic!("{e}"));
        }
    });
    let got: Vec<OwnedVerdict> = rx.iter().collect();
    sender.join().unwrap_or_else(|_| panic!("sender"));
    assert_eq!(got.len(), 3);
    let last = &got[2];
    assert_eq!(last.decision, Decision::Suspend);
    assert_eq!(last.severity, Some(Severity::High));
    assert_eq!(last.rule_ids().collect::<Vec<_>>(), ["A", "B"]);
    // The second event alerted; the third is within the cooldown.
    assert!(!got[1].matches[0].alerts[0].suppressed);
    assert!(last.matches[0].alerts[0].suppressed);
    assert!(last.matches[0]
        .explanation
        .as_ref()
        .is_some_and(|x| !x.is_empty()));
    for v in &got {
        let json = serde_json::to_string(v).unwrap_or_else(|e| panic!("{e}"));
        let back: OwnedVerdict =
            serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
        assert_eq!(&back, v);
    }
}

#[test]
fn times_outside_chrono_round_trip_too() {
    let e = engine();
    for t in [i64::MIN, -1, 0, i64::MAX] {
        let v = e.evaluate(&event(t)).into_owned();
        let json = serde_json::to_string(&v).unwrap_or_else(|e| panic!("{e}"));
        let back: OwnedVerdict =
            serde_json::from_str(&json).unwrap_or_else(|e| panic!("{t}: {e}: {json}"));
        assert_eq!(back.time_ms, t, "{json}");
    }
    let bad = r#"{"time": "yesterday", "agent": "a", "decision": "allow", "severity": null, "matches": []}"#;
    let err = serde_json::from_str::<OwnedVerdict>(bad)
        .map(|_| ())
        .unwrap_err();
    assert!(err.to_string().contains("not an RFC 3339 time"), "{err}");
}

#[test]
fn decisions_and_severities_print_their_verdict_names() {
    let names: Vec<String> = [
        Decision::Allow,
        Decision::Flag,
        Decision::Suspend,
        Decision::Deny,
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(names, ["allow", "flag", "suspend", "deny"]);
    let names: Vec<String> = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(names, ["LOW", "MEDIUM", "HIGH", "CRITICAL"]);
    // And they parse back.
    for n in ["allow", "flag", "suspend", "deny"] {
        assert_eq!(
            n.parse::<Decision>().map(|d| d.to_string()).as_deref(),
            Ok(n)
        );
    }
}

#[test]
fn a_rules_tags_travel_with_its_matches() {
    let rules = RuleSet::from_source(
        "tags.rules",
        "Rule T — tagged\nTrigger: service_app authentication\nAction: flag_for_review\nSeverity: LOW\nTags: T1078.004, attack.initial_access\n\n\
         Rule U — untagged\nTrigger: authentication\nAction: flag_for_review\nSeverity: LOW\n",
    )
    .unwrap_or_else(|d| panic!("{d}"));
    let engine = Engine::builder(rules.compile())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let e = event(1_795_910_400_000);
    let v = engine.evaluate(&e);
    let tags: Vec<Vec<&str>> = v
        .matches()
        .map(|m| m.tags().iter().map(|t| &**t).collect())
        .collect();
    assert_eq!(tags, [vec!["T1078.004", "attack.initial_access"], vec![]]);
    let json: serde_json::Value = serde_json::to_value(&v).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        json["matches"][0]["tags"],
        serde_json::json!(["T1078.004", "attack.initial_access"])
    );
    // No tags: no key (the JSON of untagged rules is unchanged).
    assert!(json["matches"][1].get("tags").is_none(), "{json}");
    // The owned form keeps them and reads them back.
    let owned = v.into_owned();
    let text = serde_json::to_string(&owned).unwrap_or_else(|e| panic!("{e}"));
    let back: OwnedVerdict = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, owned);
    assert_eq!(back.matches[0].tags.len(), 2);
    assert!(back.matches[1].tags.is_empty());
}
