//! Adversarial inputs: agent profiles.

use riskgate::input::profile::Profiles;
use riskgate::run::engine::Engine;
use riskgate::{ActorKind, Categories, Decision, Event, RuleSet};

const SEED: &str = include_str!("../../examples/rules/seed.rules");
/// 2026-11-22T12:00:00Z in ms.
const NOON: i64 = 1_795_348_800_000;

fn token_request<'a>(agent: &'a str, scopes: &[&'a str]) -> Event<'a> {
    Event::builder(agent, NOON)
        .actor(ActorKind::ServiceApp)
        .categories(Categories::TOKEN_REQUEST)
        .ip("10.0.0.1".parse().unwrap_or_else(|e| panic!("{e}")))
        .scopes(scopes.iter().copied())
        .build()
}

/// Seed rule 3's verdict for `agent` requesting `scopes` under `profiles`.
fn rule3_fires(profiles: &str, scopes: &[&str]) -> bool {
    let rules = RuleSet::from_source("seed.rules", SEED).unwrap_or_else(|d| panic!("{d}"));
    let profiles = Profiles::from_json_str(profiles).unwrap_or_else(|e| panic!("{e}"));
    let engine = Engine::builder(rules.compile())
        .profiles(&profiles)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let event = token_request("e", scopes);
    let v = engine.evaluate(&event);
    v.rule_ids().any(|r| r == "3") && v.decision == Decision::Deny
}

#[test]
fn item15_a_mistyped_profile_list_fails_closed_and_is_reported() {
    // A string where a list of scopes belongs: read as an empty list, so
    // every requested scope is outside it (before: unknown, never fired).
    let as_string = r#"{"agent_id": "e", "scopes": "datadog:read"}"#;
    assert!(rule3_fires(as_string, &["datadog:read"]));
    // A stray number among the scopes: skipped, the strings still count.
    let mixed = r#"{"agent_id": "e", "scopes": ["datadog:read", 1]}"#;
    assert!(rule3_fires(mixed, &["okta:users:manage"]));
    assert!(!rule3_fires(mixed, &["datadog:read"]));
    // Both are reported, with the line and the field.
    let rules = RuleSet::from_source("seed.rules", SEED).unwrap_or_else(|d| panic!("{d}"));
    let profiles =
        Profiles::from_json_str(&format!("{as_string}\n{}", mixed.replace("\"e\"", "\"f\"")))
            .unwrap_or_else(|e| panic!("{e}"));
    let warnings: Vec<String> = profiles
        .check_types(rules.program())
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        warnings,
        [
            "line 1: profile `e`: `agent.scopes` is a string, not a list of strings: read as an empty list",
            "line 2: profile `f`: `agent.scopes` holds a number at [1], not a string: that element is skipped",
        ]
    );
}

#[test]
fn item15_duplicate_keys_in_a_profile_are_an_error_with_their_line() {
    for text in [
        r#"{"agent_id": "e", "agent_id": "zzz"}"#,
        "{\"agent_id\": \"a\"}\n{\"agent_id\": \"e\", \"owner\": {\"team\": 1, \"team\": 2}}",
        r#"[{"agent_id": "e", "scopes": [], "scopes": ["x"]}]"#,
    ] {
        let err = Profiles::from_json_str(text)
            .err()
            .unwrap_or_else(|| panic!("accepted: {text}"))
            .to_string();
        assert!(err.contains("duplicate key"), "{err}");
        let line = 1 + text.matches('\n').count();
        assert!(err.starts_with(&format!("line {line}:")), "{err}");
    }
}

#[test]
fn item15_replay_warns_about_mistyped_profiles_and_strict_refuses_them() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("adversarial-tmp");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let profiles = dir.join("mistyped.json");
    std::fs::write(
        &profiles,
        "{\"agent_id\": \"e\", \"scopes\": \"datadog:read\"}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let events = dir.join("one.jsonl");
    std::fs::write(
        &events,
        "{\"time\":\"2026-11-22T12:00:00Z\",\"agent\":\"e\"}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/rules/seed.rules");
    let run = |strict: bool| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_riskgate"));
        cmd.args(["replay", seed])
            .arg(&events)
            .arg("--profiles")
            .arg(&profiles);
        if strict {
            cmd.arg("--strict");
        }
        cmd.output().unwrap_or_else(|e| panic!("{e}"))
    };
    let lax = run(false);
    let err = String::from_utf8_lossy(&lax.stderr);
    assert_eq!(lax.status.code(), Some(0), "{err}");
    assert!(
        err.contains("warning: ")
            && err.contains("line 1: profile `e`: `agent.scopes` is a string"),
        "{err}"
    );
    let strict = run(true);
    assert_eq!(strict.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&strict.stderr).contains("(--strict)"));
}

#[test]
fn item21_a_profiles_error_names_the_file_once() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_riskgate"))
        .args([
            "replay",
            concat!(env!("CARGO_MANIFEST_DIR"), "/examples/rules/seed.rules"),
            "-",
        ])
        .args(["--profiles", "/nonexistent/p.json"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(err.matches("/nonexistent/p.json").count(), 1, "{err}");
}

#[test]
fn item09_a_profiles_file_that_is_not_json_fails_at_its_first_block() {
    // `/dev/zero` was read to the 1 GiB limit before failing.
    let err = Profiles::from_path("/dev/zero")
        .err()
        .unwrap_or_else(|| panic!("accepted /dev/zero"))
        .to_string();
    assert!(err.contains("not JSON") && err.contains("0x00"), "{err}");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("adversarial-tmp");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let log = dir.join("not-profiles.log");
    std::fs::write(&log, "2026-11-22 10:00:00 INFO started\n").unwrap_or_else(|e| panic!("{e}"));
    let err = Profiles::from_path(&log)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("not JSON"), "{err}");
    // White space and a byte-order mark before the JSON are fine.
    let ok = dir.join("ok-profiles.json");
    std::fs::write(&ok, "\u{feff}\n\n  [{\"agent_id\": \"a\"}]").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(Profiles::from_path(&ok).map(|p| p.len()).unwrap_or(0), 1);
}
