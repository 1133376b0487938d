//! `replay --summary-json FILE`: the summary as one JSON object, with the
//! counts the text summary prints and the bad lines with their line numbers
//! and errors, on the bundled day with two lines spoiled.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

#[test]
fn the_summary_and_the_bad_lines_as_json() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("target").join("test-tmp").join("summary_json");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let day = std::fs::read_to_string(root.join("examples/events/okta-day.jsonl"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut lines: Vec<&str> = day.lines().collect();
    let total = lines.len();
    lines[9] = "{not json";
    lines[99] = r#"{"eventType": "x", "published": "yesterday"}"#;
    let events = dir.join("spoiled.jsonl");
    std::fs::write(&events, lines.join("\n") + "\n").unwrap_or_else(|e| panic!("{e}"));
    let summary = dir.join("summary.json");
    let out = Command::new(env!("CARGO_BIN_EXE_riskgate"))
        .current_dir(&root)
        .args(["replay", "examples/rules/agents.rules"])
        .arg(&events)
        .args([
            "--profiles",
            "examples/profiles/agents.json",
            "--output",
            "json",
        ])
        .arg("--summary-json")
        .arg(&summary)
        .output()
        .unwrap_or_else(|e| panic!("cannot run riskgate: {e}"));
    // Bad lines: exit code 2, every other line evaluated.
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s["events"], (total - 2) as u64);
    assert_eq!(s["bad_lines"], 2);
    let errors = s["errors"].as_array().cloned().unwrap_or_default();
    let at: Vec<u64> = errors.iter().filter_map(|e| e["line"].as_u64()).collect();
    assert_eq!(at, [10, 100]);
    assert!(errors
        .iter()
        .all(|e| e["error"].as_str().is_some_and(|m| !m.is_empty())));
    // The decisions add up to the events, and match the verdicts printed.
    let d = &s["decisions"];
    let sum: u64 = ["allow", "flag", "suspend", "deny"]
        .iter()
        .filter_map(|k| d[*k].as_u64())
        .sum();
    assert_eq!(sum, (total - 2) as u64);
    let verdicts: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let denies = verdicts.iter().filter(|v| v["decision"] == "deny").count() as u64;
    assert_eq!(d["deny"], denies);
    // Each rule's count is its matches among the verdicts.
    let fired = s["fired"].as_object().cloned().unwrap_or_default();
    assert!(!fired.is_empty());
    for (rule, n) in &fired {
        let matches = verdicts
            .iter()
            .flat_map(|v| v["matches"].as_array().cloned().unwrap_or_default())
            .filter(|m| m["rule"] == rule.as_str())
            .count() as u64;
        assert_eq!(n.as_u64(), Some(matches), "{rule}");
    }
    assert!(s["agents"]["tracked"].as_u64().is_some_and(|n| n > 0));
    assert!(s["state_bytes"].as_u64().is_some_and(|n| n > 0));
}
