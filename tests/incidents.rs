//! The bundled day of Okta traffic (`examples/events/okta-day.jsonl`, made by
//! `examples/gen_events.rs`) through `examples/rules/agents.rules`: every
//! injected incident is found (recall 100 %), and the false positives are
//! exactly the number the README states.

use std::collections::{BTreeMap, BTreeSet};

use riskgate::input::okta::{parse_event, Format};
use riskgate::input::profile::Profiles;
use riskgate::run::engine::Engine;
use riskgate::RuleSet;

/// The rules that detect each kind of incident.
const DETECTORS: &[(&str, &[&str])] = &[
    ("new_network", &["A1", "A2"]),
    ("night_burst", &["T2", "T3"]),
    ("scope_escalation", &["S1", "S2"]),
    ("expired_cert", &["C1"]),
    ("long_token", &["C2"]),
];

/// Enforced verdicts (decision other than allow, or an alert) on events that
/// belong to no incident; the README's figure.
const FALSE_POSITIVES: usize = 0;

#[derive(serde::Deserialize)]
struct Label {
    incident: String,
    agent: String,
    lines: Vec<usize>,
}

#[test]
fn every_injected_incident_is_found_and_false_positives_are_as_stated() {
    let root = env!("CARGO_MANIFEST_DIR");
    let rules = RuleSet::from_files([format!("{root}/examples/rules/agents.rules")])
        .unwrap_or_else(|d| panic!("{d}"));
    let profiles = Profiles::from_path(format!("{root}/examples/profiles/agents.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    let engine = Engine::builder(rules.compile())
        .profiles(&profiles)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let labels: Vec<Label> =
        std::fs::read_to_string(format!("{root}/examples/events/okta-day.labels.jsonl"))
            .unwrap_or_else(|e| panic!("{e}"))
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
    let incident_lines: BTreeSet<usize> = labels
        .iter()
        .flat_map(|l| l.lines.iter().copied())
        .collect();

    // Line number → (agent, enforced rule ids) for every notable verdict.
    let mut fired: BTreeMap<usize, (String, BTreeSet<String>)> = BTreeMap::new();
    let text = std::fs::read_to_string(format!("{root}/examples/events/okta-day.jsonl"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut events = 0;
    for (i, line) in text.lines().enumerate() {
        let event =
            parse_event(line, Format::Auto).unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
        events += 1;
        let v = engine.evaluate(&event);
        if v.is_notable() {
            let ids = v
                .matches()
                .filter(|m| !m.shadow())
                .map(|m| m.rule().to_string())
                .collect();
            fired.insert(i + 1, (v.agent.to_string(), ids));
        }
    }
    assert!(events > 1000);

    let mut missed = Vec::new();
    let mut kinds = BTreeMap::<&str, usize>::new();
    for label in &labels {
        *kinds.entry(label.incident.as_str()).or_default() += 1;
        let detectors = DETECTORS
            .iter()
            .find(|(k, _)| *k == label.incident)
            .map(|(_, d)| *d)
            .unwrap_or_else(|| panic!("no detector for incident kind `{}`", label.incident));
        let found = label.lines.iter().any(|n| {
            fired.get(n).is_some_and(|(agent, ids)| {
                *agent == label.agent && ids.iter().any(|id| detectors.contains(&id.as_str()))
            })
        });
        if !found {
            missed.push(format!(
                "{} {} lines {:?}",
                label.incident, label.agent, label.lines
            ));
        }
    }
    assert!(
        missed.is_empty(),
        "missed incidents:\n{}",
        missed.join("\n")
    );
    for (kind, _) in DETECTORS {
        assert!(
            kinds.get(kind).copied().unwrap_or(0) >= 3,
            "at least 3 `{kind}` incidents are injected: {kinds:?}"
        );
    }

    let false_positives: Vec<(&usize, &(String, BTreeSet<String>))> = fired
        .iter()
        .filter(|(n, _)| !incident_lines.contains(n))
        .collect();
    assert_eq!(
        false_positives.len(),
        FALSE_POSITIVES,
        "false positives (line, agent, rules): {:?}",
        false_positives.iter().take(20).collect::<Vec<_>>()
    );
}

/// The rules of SPEC §9 and the incident kind each detects in the weeks stream.
const WEEKS_DETECTORS: &[(&str, &str)] = &[
    ("rotated_then_new_network", "B1"),
    ("off_schedule", "B2"),
    ("secret_read_spike", "B3"),
    ("session_ip_change", "B4"),
    ("token_ip_fanout", "B5"),
];

/// Line number → enforced (non-shadow) rule ids, for every line with one.
fn enforced(events: &str) -> BTreeMap<usize, BTreeSet<String>> {
    let root = env!("CARGO_MANIFEST_DIR");
    let rules = RuleSet::from_files([format!("{root}/examples/rules/agents.rules")])
        .unwrap_or_else(|d| panic!("{d}"));
    let profiles = Profiles::from_path(format!("{root}/examples/profiles/agents.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    let engine = Engine::builder(rules.compile())
        .profiles(&profiles)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = std::fs::read_to_string(format!("{root}/examples/events/{events}"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut fired = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let event =
            parse_event(line, Format::Auto).unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
        let v = engine.evaluate(&event);
        let ids: BTreeSet<String> = v
            .matches()
            .filter(|m| !m.shadow())
            .map(|m| m.rule().to_string())
            .collect();
        if !ids.is_empty() {
            fired.insert(i + 1, ids);
        }
    }
    assert_eq!(
        engine.stats().skewed,
        0,
        "no event of {events} is past the forward skew"
    );
    fired
}

/// Six weeks of twelve agents (`okta-weeks.jsonl`): each rule B1-B5 fires on
/// exactly the labelled lines of its incidents (every one of them, nothing
/// else), and no rule fires outside an incident.
#[test]
fn each_stateful_rule_fires_exactly_on_its_incidents_over_the_weeks() {
    let root = env!("CARGO_MANIFEST_DIR");
    let labels: Vec<Label> =
        std::fs::read_to_string(format!("{root}/examples/events/okta-weeks.labels.jsonl"))
            .unwrap_or_else(|e| panic!("{e}"))
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
    let fired = enforced("okta-weeks.jsonl");
    assert!(fired.len() >= 80, "{} lines fired", fired.len());
    for (kind, rule) in WEEKS_DETECTORS {
        let expected: BTreeSet<usize> = labels
            .iter()
            .filter(|l| l.incident == *kind)
            .flat_map(|l| l.lines.iter().copied())
            .collect();
        assert!(
            labels.iter().filter(|l| l.incident == *kind).count() >= 2,
            "at least 2 `{kind}` incidents"
        );
        let got: BTreeSet<usize> = fired
            .iter()
            .filter(|(_, ids)| ids.contains(*rule))
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(got, expected, "{rule} vs the lines of `{kind}`");
    }
    let incident_lines: BTreeSet<usize> = labels
        .iter()
        .flat_map(|l| l.lines.iter().copied())
        .collect();
    let outside: Vec<_> = fired
        .iter()
        .filter(|(n, _)| !incident_lines.contains(n))
        .collect();
    assert!(
        outside.is_empty(),
        "enforced verdicts outside incidents: {outside:?}"
    );
    // Each incident is on its labelled agent.
    let text = std::fs::read_to_string(format!("{root}/examples/events/okta-weeks.jsonl"))
        .unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<&str> = text.lines().collect();
    for l in &labels {
        for n in &l.lines {
            assert!(
                lines[n - 1].contains(&l.agent),
                "line {n} is not {}'s",
                l.agent
            );
        }
    }
}

/// The rules B1-B5 need history or events the day does not have: on the
/// bundled day they fire nowhere.
#[test]
fn the_stateful_rules_are_quiet_on_the_bundled_day() {
    let fired = enforced("okta-day.jsonl");
    let b: Vec<_> = fired
        .iter()
        .filter(|(_, ids)| ids.iter().any(|id| id.starts_with('B')))
        .collect();
    assert!(b.is_empty(), "{b:?}");
    assert!(fired.len() > 100);
}
