//! Golden explanations: `riskgate replay --explain` of a rule per condition
//! kind (comparisons, lists, IP and scope phrases, time and day phrases,
//! string operators, exists/missing on arrays and absent values, `any()`,
//! metrics and first_seen) on events made to fire them, compared with the
//! `.stdout` beside each `.rules`/`.jsonl` pair in `tests/explanations/`.
//! `RISKGATE_BLESS=1 cargo test --test explanations` rewrites the goldens.

use std::path::Path;
use std::process::Command;

#[test]
fn explanations_show_the_values_that_made_each_rule_true() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("explanations");
    let mut cases = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{e}")) {
        let rules = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if rules.extension().is_none_or(|x| x != "rules") {
            continue;
        }
        let events = rules.with_extension("jsonl");
        let golden = rules.with_extension("stdout");
        let out = Command::new(env!("CARGO_BIN_EXE_riskgate"))
            .arg("replay")
            .arg(&rules)
            .arg(&events)
            .args(["--explain", "--max-skew", "off"])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let got = String::from_utf8_lossy(&out.stdout).into_owned();
        if std::env::var_os("RISKGATE_BLESS").is_some() {
            std::fs::write(&golden, &got).unwrap_or_else(|e| panic!("{e}"));
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got, want, "{}", rules.display());
        // Hardening item 24: an array that made exists() true is shown as
        // one, and a literal is not repeated.
        if got.contains("rule EX ") {
            assert!(
                got.contains("exists(attr.target) (attr.target [2 items])"),
                "{got}"
            );
            assert!(
                got.contains("because \"Bob\" in attr.target.displayName\n"),
                "{got}"
            );
            // `any()` names the element that matched, and why.
            assert!(
                got.contains("(element [0]: type \"User\" == \"User\""),
                "{got}"
            );
        }
        // The metrics that remember earlier events show their values: a
        // sequence the times of its steps, a z-score what it was computed
        // from, a named metric its name.
        if got.contains("rule SQ ") {
            for want in [
                "within 10m by user_agent (steps at 2026-11-22T12:14:01.000Z, 2026-11-22T12:14:20.000Z, 2026-11-22T12:14:40.000Z)",
                "because since(event.type == \"t.a\") by user_agent 19s < 2m",
                "because ip 10.0.0.2 != first(ip) by user_agent 10.0.0.1",
                "because previous(ip) 10.0.0.1 != ip 10.0.0.2",
                "because tracked_for 10m >= 10m",
                "(zscore(requests_per_minute) 3.429 (current 3, mean 1.357, stddev 0.479 over 14 windows))",
                "because fails 1 >= 1",
            ] {
                assert!(got.contains(want), "missing {want:?} in\n{got}");
            }
            // Each instance of a sequence fires once.
            assert_eq!(got.matches("rule SQ ").count(), 1, "{got}");
        }
        cases += 1;
    }
    assert!(cases > 1);
}
