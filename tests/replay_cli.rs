//! `riskgate replay` and `riskgate test` as a user runs them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_riskgate"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    bin()
        .current_dir(root())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run riskgate: {e}"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn temp(name: &str, contents: &str) -> PathBuf {
    let dir = root().join("target").join("test-tmp");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let p = dir.join(name);
    std::fs::write(&p, contents).unwrap_or_else(|e| panic!("{e}"));
    p
}

/// The JSON verdicts of a replay, without their line numbers.
fn verdicts(out: &Output) -> Vec<Value> {
    text(&out.stdout)
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            if let Some(o) = v.as_object_mut() {
                o.remove("line");
            }
            v
        })
        .collect()
}

const EVENTS: &str = "examples/events/okta-day.jsonl";

fn replay(events: &Path) -> Output {
    run(&[
        "replay",
        "examples/rules/agents.rules",
        events.to_str().unwrap_or_default(),
        "--profiles",
        "examples/profiles/agents.json",
        "--output",
        "json",
    ])
}

#[test]
fn garbage_lines_are_reported_with_their_numbers_and_change_no_other_verdict() {
    let clean_text = std::fs::read_to_string(root().join(EVENTS)).unwrap_or_else(|e| panic!("{e}"));
    let clean_lines: Vec<&str> = clean_text.lines().take(1500).collect();
    let clean = temp("clean.jsonl", &(clean_lines.join("\n") + "\n"));
    let garbage = [
        "this is not json",
        r#"{"published": "2026-11-22T10:00:00Z", "eventType": "user.session.start"}"#,
        r#"{"published": "2017-09-31T22:23:07.777Z", "eventType": "x", "actor": {"id": "a", "type": "User"}}"#,
        r#"{"time": "yesterday", "agent": "a"}"#,
        r#"{"time": "2026-11-22T10:00:00Z", "agent": "a", "colour": "blue"}"#,
        "[1, 2, 3]",
        r#"{"time": "2026-11-22T10:00:00Z", "agent": 42}"#,
    ];
    let mut dirty = Vec::new();
    let mut bad_numbers = Vec::new();
    for (i, l) in clean_lines.iter().enumerate() {
        if i % 200 == 17 {
            let g = garbage[(i / 200) % garbage.len()];
            dirty.push(g.to_string());
            bad_numbers.push(dirty.len());
        }
        dirty.push((*l).to_string());
    }
    let dirty = temp("dirty.jsonl", &(dirty.join("\n") + "\n"));

    let a = replay(&clean);
    let b = replay(&dirty);
    assert_eq!(a.status.code(), Some(0), "{}", text(&a.stderr));
    assert_eq!(b.status.code(), Some(2), "bad lines make the exit code 2");
    let (va, vb) = (verdicts(&a), verdicts(&b));
    assert!(va.len() > 10, "the sample should produce verdicts");
    assert_eq!(va, vb, "good lines give the same verdicts");
    let err = text(&b.stderr);
    for n in &bad_numbers {
        assert!(
            err.contains(&format!("line {n}: ")),
            "line {n} not reported:\n{err}"
        );
    }
    assert!(
        err.contains(&format!("bad lines: {}", bad_numbers.len())),
        "{err}"
    );
    assert!(err.contains("events: 1500 "), "{err}");
}

#[test]
fn json_output_has_the_stable_field_names_and_line_numbers() {
    let out = replay(&root().join(EVENTS));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let first = text(&out.stdout)
        .lines()
        .next()
        .map(str::to_string)
        .unwrap_or_default();
    let v: Value = serde_json::from_str(&first).unwrap_or_else(|e| panic!("{e}: {first}"));
    for key in ["line", "time", "agent", "decision", "severity", "matches"] {
        assert!(v.get(key).is_some(), "missing `{key}` in {first}");
    }
    let m = &v["matches"][0];
    for key in [
        "rule", "title", "decision", "severity", "actions", "shadow", "alerts",
    ] {
        assert!(m.get(key).is_some(), "missing `matches[].{key}` in {first}");
    }
    assert!(m.get("explanation").is_none());
    assert!(v["line"].as_u64().is_some_and(|n| n >= 1));
}

#[test]
fn explain_adds_the_values_that_made_each_rule_fire() {
    let out = run(&[
        "replay",
        "examples/rules/seed.rules",
        temp(
            "one.jsonl",
            r#"{"time": "2026-11-22T23:59:30Z", "agent": "datadog-remediation-prod", "actor": "service_app", "categories": ["authentication", "token_request"], "ip": "203.0.113.9", "scopes": ["okta:users:manage"]}
"#,
        )
        .to_str()
        .unwrap_or_default(),
        "--explain",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("DENY CRITICAL rules=1,3"), "{s}");
    assert!(
        s.contains("because ip 203.0.113.9 not in approved_ranges"),
        "{s}"
    );
    assert!(
        s.contains("because requested scope `okta:users:manage` not in approved_scope_list"),
        "{s}"
    );
}

#[test]
fn a_rules_error_exits_1_with_diagnostics() {
    let bad = temp(
        "bad.rules",
        "Rule 1\nTrigger: ip in nowhere\nAction: deny\nSeverity: HIGH\n",
    );
    let out = run(&["replay", bad.to_str().unwrap_or_default(), EVENTS]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("error[E0201]: unknown list `nowhere`"));
}

#[test]
fn replay_reads_standard_input() {
    let mut child = bin()
        .current_dir(root())
        .args([
            "replay",
            "examples/rules/seed.rules",
            "-",
            "--output",
            "json",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        let _ = stdin.write_all(
            br#"{"time": "2026-11-22T12:00:00Z", "agent": "a", "actor": "service_app", "categories": ["authentication"], "ip": "8.8.8.8"}
"#,
        );
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(0));
    let v = verdicts(&out);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["decision"], "suspend");
    assert_eq!(v[0]["matches"][0]["rule"], "1");
}

#[test]
fn test_command_passes_the_bundled_cases() {
    let out = run(&[
        "test",
        "examples/rules/agents.rules",
        "examples/tests/agents.jsonl",
        "--profiles",
        "examples/profiles/agents.json",
    ]);
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{s}\n{}", text(&out.stderr));
    assert!(s.contains(" passed, 0 failed"), "{s}");
    let seed = run(&[
        "test",
        "examples/rules/seed.rules",
        "examples/tests/seed.jsonl",
    ]);
    assert_eq!(seed.status.code(), Some(0), "{}", text(&seed.stdout));
}

#[test]
fn test_command_fails_with_a_readable_diff_on_a_wrong_case() {
    let out = run(&[
        "test",
        "examples/rules/seed.rules",
        "tests/cases/wrong.jsonl",
    ]);
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{s}");
    assert!(
        s.contains("FAIL  deliberately wrong: expects allow for a new network"),
        "{s}"
    );
    assert!(
        s.contains("- decision: allow\n      + decision: suspend"),
        "{s}"
    );
    assert!(s.contains("(missing [], unexpected [\"1\"])"), "{s}");
    assert!(s.contains("1 passed, 1 failed"), "{s}");
}

/// Every rule of every bundled rule file fires in at least one bundled case.
#[test]
fn bundled_cases_cover_every_example_rule() {
    for (rules, cases) in [
        ("examples/rules/agents.rules", "examples/tests/agents.jsonl"),
        ("examples/rules/seed.rules", "examples/tests/seed.jsonl"),
    ] {
        let set = riskgate::RuleSet::from_files(&[root().join(rules)])
            .unwrap_or_else(|d| panic!("{rules}: {d:?}"));
        let program = set.compile();
        let src = std::fs::read_to_string(root().join(cases)).unwrap_or_else(|e| panic!("{e}"));
        let mut expected = std::collections::BTreeSet::new();
        for line in src.lines() {
            let case: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}"));
            let expects = match &case["expect"] {
                Value::Array(a) => a.clone(),
                other => vec![other.clone()],
            };
            for e in expects {
                for r in e["rules"].as_array().into_iter().flatten() {
                    expected.insert(r.as_str().unwrap_or_default().to_string());
                }
            }
        }
        let missing: Vec<_> = program
            .rules
            .iter()
            .map(|r| &*r.id)
            .filter(|id| !expected.contains(*id))
            .collect();
        assert!(missing.is_empty(), "{cases}: no case fires {missing:?}");
        assert!(expected.len() >= 3, "{cases}: {expected:?}");
    }
}

/// A line that is not UTF-8 is a bad line like any other: reported with its
/// number, skipped, and the replay goes on to the end with the same
/// verdicts for the good lines (it used to stop the replay).
#[test]
fn a_line_that_is_not_utf8_is_skipped_and_the_replay_goes_on() {
    let clean_text = std::fs::read_to_string(root().join(EVENTS)).unwrap_or_else(|e| panic!("{e}"));
    let clean_lines: Vec<&str> = clean_text.lines().take(600).collect();
    let clean = temp("clean-utf8.jsonl", &(clean_lines.join("\n") + "\n"));
    let mut dirty: Vec<u8> = Vec::new();
    for (i, l) in clean_lines.iter().enumerate() {
        if i == 100 {
            dirty.extend_from_slice(b"{\"agent\": \"\xff\xfe\"}\n");
        }
        dirty.extend_from_slice(l.as_bytes());
        dirty.push(b'\n');
    }
    let path = root()
        .join("target")
        .join("test-tmp")
        .join("not-utf8.jsonl");
    std::fs::write(&path, &dirty).unwrap_or_else(|e| panic!("{e}"));
    let (a, b) = (replay(&clean), replay(&path));
    assert_eq!(a.status.code(), Some(0), "{}", text(&a.stderr));
    assert_eq!(b.status.code(), Some(2), "{}", text(&b.stderr));
    assert_eq!(verdicts(&a), verdicts(&b));
    let err = text(&b.stderr);
    assert!(err.contains("line 101: not UTF-8 text (byte 11)"), "{err}");
    assert!(err.contains("events: 600 "), "{err}");
    assert!(err.contains("bad lines: 1"), "{err}");
}

/// Input files given by mistake (a device without end) are read only up to
/// a limit and refused with a message: rules (4 MiB), profiles (checked in
/// `tests/profiles.rs`), test cases (256 MiB).
#[test]
fn endless_inputs_are_refused_at_their_limits() {
    let rules = run(&["check", "/dev/zero"]);
    assert_eq!(rules.status.code(), Some(1));
    let err = text(&rules.stderr);
    assert!(
        err.contains("error[E0102]: file is larger than the limit of 4194304 bytes"),
        "{err}"
    );
    let cases = run(&["test", "examples/rules/seed.rules", "/dev/zero"]);
    assert_eq!(cases.status.code(), Some(1));
    let err = text(&cases.stderr);
    assert!(
        err.contains("cannot read `/dev/zero`: larger than the limit of 268435456 bytes"),
        "{err}"
    );
}

#[test]
fn rules_that_read_profiles_warn_when_none_are_given() {
    let events = temp(
        "profile-warning.jsonl",
        &include_str!("../examples/events/okta-day.jsonl")
            .lines()
            .take(50)
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    );
    let events = events.to_str().unwrap_or_default();
    let without = run(&["replay", "examples/rules/seed.rules", events]);
    let err = text(&without.stderr);
    assert!(
        err.contains("warning: the rules read agent.scopes but no --profiles were given"),
        "{err}"
    );
    let with = run(&[
        "replay",
        "examples/rules/seed.rules",
        events,
        "--profiles",
        "examples/profiles/agents.json",
    ]);
    assert!(
        !text(&with.stderr).contains("warning:"),
        "{}",
        text(&with.stderr)
    );
    // Rules that read no profile field: no warning either.
    let plain = temp(
        "no-profile.rules",
        "Rule 1 — any\nTrigger: service_app authentication\nAction: flag_for_review\nSeverity: LOW\n",
    );
    let out = run(&["replay", plain.to_str().unwrap_or_default(), events]);
    assert!(
        !text(&out.stderr).contains("warning:"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn json_verdicts_carry_the_events_uuid_type_and_address() {
    let out = replay(&root().join(EVENTS));
    let lines: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(lines.len() > 100, "{} verdicts", lines.len());
    let source: Vec<Value> = include_str!("../examples/events/okta-day.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
        .collect();
    for v in &lines {
        // The line number finds the event; its uuid, type and address
        // are the ones written.
        let line = v["line"].as_u64().unwrap_or(0) as usize;
        let event = &source[line - 1];
        assert_eq!(v["uuid"], event["uuid"], "{v}");
        assert_eq!(v["event_type"], event["eventType"], "{v}");
        assert_eq!(v["ip"], event["client"]["ipAddress"], "{v}");
    }
    // A rule's tags ride with its match.
    assert!(
        lines
            .iter()
            .flat_map(|v| v["matches"].as_array().cloned().unwrap_or_default())
            .any(|m| m["tags"].as_array().is_some_and(|t| !t.is_empty())),
        "no match with tags"
    );
}

#[test]
fn a_rule_set_spanning_files_replays_as_one() {
    let seed = include_str!("../examples/rules/seed.rules");
    let (lists, rules): (Vec<&str>, Vec<&str>) = seed.lines().partition(|l| l.starts_with("list "));
    let lists = temp("span-lists.rules", &(lists.join("\n") + "\n"));
    let rules = temp("span-rules.rules", &(rules.join("\n") + "\n"));
    let args = |files: &[&str]| {
        let mut a = vec!["replay"];
        a.extend_from_slice(files);
        a.extend_from_slice(&[
            EVENTS,
            "--profiles",
            "examples/profiles/agents.json",
            "--output",
            "json",
        ]);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let run_strs = |v: Vec<String>| run(&v.iter().map(String::as_str).collect::<Vec<_>>());
    let whole = run_strs(args(&["examples/rules/seed.rules"]));
    let split = run_strs(args(&[
        lists.to_str().unwrap_or_default(),
        rules.to_str().unwrap_or_default(),
    ]));
    assert_eq!(whole.status.code(), Some(0), "{}", text(&whole.stderr));
    assert_eq!(split.status.code(), Some(0), "{}", text(&split.stderr));
    assert!(!whole.stdout.is_empty());
    assert_eq!(text(&split.stdout), text(&whole.stdout));
    // The rules file alone lacks its lists: an error, nothing replayed.
    let alone = run_strs(args(&[rules.to_str().unwrap_or_default()]));
    assert_eq!(alone.status.code(), Some(1), "{}", text(&alone.stderr));
    assert!(alone.stdout.is_empty());
}
