//! Invariants shared by the fuzz targets (a module, not a target: it has no
//! `[[bin]]` entry).

use riskgate::run::verdict::Verdict;
use riskgate::Decision;

/// A verdict's decision is the strongest decision of the non-shadow rules
/// that fired (allow if none), and its severity their highest severity.
pub fn decision_is_the_max_of_the_matches(v: &Verdict<'_>) {
    let decision = v
        .matches()
        .filter(|m| !m.shadow())
        .filter_map(|m| m.decision())
        .max()
        .unwrap_or(Decision::Allow);
    assert_eq!(v.decision, decision, "{v:?}");
    let severity = v
        .matches()
        .filter(|m| !m.shadow())
        .map(|m| m.severity())
        .max();
    assert_eq!(v.severity, severity, "{v:?}");
}
