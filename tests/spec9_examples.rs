//! Every example the language reference gives for keys, scopes, `since`,
//! `sequence`, `first`/`previous`, statistics, schedules, paths, `json`,
//! `similarity`, time fields and named metrics checks as written, and the
//! file is in canonical form.

use riskgate::lang::format::format_source;
use riskgate::RuleSet;

const EXAMPLES: &str = include_str!("fixtures/spec9.rules");

#[test]
fn every_example_checks() {
    let set = RuleSet::from_source("spec9.rules", EXAMPLES).unwrap_or_else(|d| panic!("{d}"));
    let program = set.compile();
    assert_eq!(program.rules.len(), 8);
    // One cell for each of: first_seen by hour_of_week is a plain first-seen
    // set; since, first by session, tracked_for, keyed distinct by user.
    assert!(program.cells.len() >= 4, "{:?}", program.cells.len());
    // A learned weekly schedule keeps every hour of the week.
    let schedule = program
        .first_seens
        .iter()
        .find(|f| f.label.contains("hour_of_week"))
        .expect("the schedule's first-seen set");
    assert_eq!(schedule.capacity, 168);
    let plain = program
        .first_seens
        .iter()
        .find(|f| f.label.starts_with("first_seen(ip"))
        .expect("a first-seen set of addresses");
    assert_eq!(plain.capacity, 64);
}

#[test]
fn the_examples_are_canonical() {
    let formatted = format_source("spec9.rules", EXAMPLES).unwrap_or_else(|d| panic!("{d:?}"));
    assert_eq!(formatted, EXAMPLES);
}

/// `zscore(M, P) by K` is the statistic of `M` keyed by `K`: one counter,
/// the one `M by K` names.
#[test]
fn a_key_after_a_statistic_keys_its_metric() {
    let text = "Rule A — keyed after\nTrigger: zscore(count over 1h, 24h) by ip > 3\nAction: flag\nSeverity: LOW\n\nRule B — keyed inside\nTrigger: zscore(count over 1h by ip, 24h) > 2\nAction: flag\nSeverity: LOW\n";
    let program = RuleSet::from_source("k.rules", text)
        .unwrap_or_else(|d| panic!("{d}"))
        .compile();
    let labels: Vec<&str> = program.counters.iter().map(|c| &*c.label).collect();
    assert_eq!(labels, ["count over 1h by ip"]);
    assert_eq!(program.counters[0].history_windows, 24);
    assert!(program.counters[0].by.is_some());
}
