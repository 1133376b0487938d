//! State across runs and `riskgate diff`, as a user runs them: a replay
//! split in two processes with a snapshot between prints what one replay
//! prints; a bad snapshot stops the replay with its reason; `diff` counts
//! per rule what a replay of each rule set shows.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_riskgate"))
        .current_dir(root())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run riskgate: {e}"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn tmp(name: &str) -> PathBuf {
    let dir = root().join("target").join("test-tmp").join("state_cli");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir.join(name)
}

const RULES: &str = "examples/rules/agents.rules";
const EVENTS: &str = "examples/events/okta-day.jsonl";
const PROFILES: &str = "examples/profiles/agents.json";

fn halves() -> (PathBuf, PathBuf) {
    let all = std::fs::read_to_string(root().join(EVENTS)).unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<&str> = all.lines().collect();
    let cut = lines.len() * 3 / 5;
    let (a, b) = (tmp("first.jsonl"), tmp("second.jsonl"));
    std::fs::write(&a, lines[..cut].join("\n") + "\n").unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&b, lines[cut..].join("\n") + "\n").unwrap_or_else(|e| panic!("{e}"));
    (a, b)
}

#[test]
fn a_replay_split_by_a_snapshot_prints_what_one_replay_prints() {
    let (a, b) = halves();
    let snap = tmp("day.snap");
    let _ = std::fs::remove_file(&snap);
    let (a, b, s) = (
        a.to_str().unwrap_or(""),
        b.to_str().unwrap_or(""),
        snap.to_str().unwrap_or(""),
    );
    for output in ["text", "json"] {
        let whole = run(&[
            "replay",
            RULES,
            EVENTS,
            "--profiles",
            PROFILES,
            "--output",
            output,
        ]);
        assert_eq!(whole.status.code(), Some(0), "{}", text(&whole.stderr));
        let first = run(&[
            "replay",
            RULES,
            a,
            "--profiles",
            PROFILES,
            "--output",
            output,
            "--state-out",
            s,
        ]);
        assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
        assert!(
            text(&first.stderr).contains("written to"),
            "{}",
            text(&first.stderr)
        );
        let second = run(&[
            "replay",
            RULES,
            b,
            "--profiles",
            PROFILES,
            "--output",
            output,
            "--state-in",
            s,
        ]);
        assert_eq!(second.status.code(), Some(0), "{}", text(&second.stderr));
        assert!(
            text(&second.stderr).contains("restored from"),
            "{}",
            text(&second.stderr)
        );
        let split = text(&first.stdout) + &text(&second.stdout);
        assert!(
            split.lines().count() > 500,
            "{} lines",
            split.lines().count()
        );
        assert_eq!(split, text(&whole.stdout), "--output {output}");
    }
    // Without the snapshot the second half forgets the first: fewer
    // verdicts come out the same (baselines, first-seen, cooldowns differ).
    let cold = run(&[
        "replay",
        RULES,
        b,
        "--profiles",
        PROFILES,
        "--output",
        "json",
    ]);
    let warm = run(&[
        "replay",
        RULES,
        b,
        "--profiles",
        PROFILES,
        "--output",
        "json",
        "--state-in",
        s,
    ]);
    let strip = |o: &Output| -> Vec<Value> {
        text(&o.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .map(|mut v| {
                v.as_object_mut().map(|m| m.remove("line"));
                v
            })
            .collect()
    };
    assert_ne!(
        strip(&cold),
        strip(&warm),
        "state must matter for this stream"
    );
}

#[test]
fn a_bad_snapshot_stops_the_replay_with_its_reason() {
    let bad = tmp("bad.snap");
    std::fs::write(&bad, b"RGSNAP\r\n\x02\x00\x01\xff\xff").unwrap_or_else(|e| panic!("{e}"));
    let out = run(&[
        "replay",
        RULES,
        EVENTS,
        "--state-in",
        bad.to_str().unwrap_or(""),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("bad.snap") && err.contains("truncated"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "no verdict is printed");
    let missing = run(&["replay", RULES, EVENTS, "--state-in", "no/such.snap"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("no/such.snap"));
}

/// The rules each verdict of a JSON replay names, per line.
fn fired(out: &Output) -> Vec<(u64, Vec<(String, String)>)> {
    text(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| {
            let line = v["line"].as_u64().unwrap_or(0);
            let rules = v["matches"]
                .as_array()
                .map(|ms| {
                    ms.iter()
                        .map(|m| {
                            (
                                m["rule"].as_str().unwrap_or("").to_string(),
                                m["severity"].to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            (line, rules)
        })
        .collect()
}

#[test]
fn diff_counts_what_replays_of_both_rule_sets_show() {
    let old = std::fs::read_to_string(root().join(RULES)).unwrap_or_else(|e| panic!("{e}"));
    // A1 becomes CRITICAL; C4 is removed; a new rule N1 flags every token
    // request from a hosting provider.
    let mut new = old.replacen(
        "Severity: HIGH\nCooldown: 15m",
        "Severity: CRITICAL\nCooldown: 15m",
        1,
    );
    let c4 = new.find("Rule C4").unwrap_or_else(|| panic!("no C4"));
    let c4_end = new[c4..].find("\nRule ").map_or(new.len(), |i| c4 + i + 1);
    new.replace_range(c4..c4_end, "");
    new.push_str("\nRule N1 — Any token request\nTrigger: service_app token request\nMode: shadow\nAction: flag_for_review\nSeverity: LOW\n");
    let new_path = tmp("new.rules");
    std::fs::write(&new_path, &new).unwrap_or_else(|e| panic!("{e}"));
    let np = new_path.to_str().unwrap_or("");
    let out = run(&[
        "diff",
        RULES,
        np,
        EVENTS,
        "--profiles",
        PROFILES,
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    let rule = |id: &str| -> Value {
        report["rules"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["rule"] == id).cloned())
            .unwrap_or_else(|| panic!("no {id} in {report}"))
    };
    // What separate replays say.
    let a = fired(&run(&[
        "replay",
        RULES,
        EVENTS,
        "--profiles",
        PROFILES,
        "--output",
        "json",
    ]));
    let b = fired(&run(&[
        "replay",
        np,
        EVENTS,
        "--profiles",
        PROFILES,
        "--output",
        "json",
    ]));
    let count = |v: &[(u64, Vec<(String, String)>)], id: &str| {
        v.iter()
            .filter(|(_, rs)| rs.iter().any(|(r, _)| r == id))
            .count() as u64
    };
    assert!(count(&a, "A1") > 0 && count(&a, "C4") > 0);
    assert_eq!(rule("A1")["changed"]["count"], count(&a, "A1"));
    assert_eq!(rule("A1")["unchanged"], 0);
    assert_eq!(rule("C4")["no_longer_firing"]["count"], count(&a, "C4"));
    assert_eq!(rule("N1")["newly_firing"]["count"], count(&b, "N1"));
    assert_eq!(rule("A2")["unchanged"], count(&a, "A2"));
    assert_eq!(rule("A2")["newly_firing"]["count"], 0);
    // Examples name real lines where the rule fired.
    let ex = &rule("A1")["changed"]["examples"][0];
    let line = ex["line"].as_u64().unwrap_or(0);
    assert!(
        a.iter()
            .any(|(l, rs)| *l == line && rs.iter().any(|(r, s)| r == "A1" && s == "\"HIGH\"")),
        "{ex}"
    );
    assert_eq!(ex["old"], "suspend HIGH");
    assert_eq!(ex["new"], "suspend CRITICAL");
    // The text form has the table.
    let t = run(&["diff", RULES, np, EVENTS, "--profiles", PROFILES]);
    let t = text(&t.stdout);
    assert!(t.contains("newly") && t.contains("rule A1 changed"), "{t}");
}
