//! Adversarial inputs: the `riskgate` binary (pipes, escaping, exit codes).

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_riskgate"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A file under `target/adversarial-tmp/` with `contents`.
fn temp(name: &str, contents: &[u8]) -> PathBuf {
    let dir = root().join("target").join("adversarial-tmp");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let p = dir.join(name);
    std::fs::write(&p, contents).unwrap_or_else(|e| panic!("{e}"));
    p
}

fn run(args: &[&str]) -> Output {
    bin()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run riskgate: {e}"))
}

fn path(p: &std::path::Path) -> &str {
    p.to_str().unwrap_or_default()
}

const FAILURES: &str = "Rule F: Repeated failures\n\
    Trigger: count(outcome == \"FAILURE\") over 10m > 3\n\
    Action: deny\nSeverity: HIGH\n";

fn failure_line(time: &str) -> String {
    format!(r#"{{"time":"{time}","agent":"a","outcome":"FAILURE"}}"#)
}

#[test]
fn item13_replay_limits_forward_skew_by_default_and_off_turns_it_off() {
    let rules = temp("skew.rules", FAILURES.as_bytes());
    let mut events = failure_line("9999-12-31T00:00:00Z");
    for s in 0..6 {
        events.push('\n');
        events.push_str(&failure_line(&format!("2026-11-22T10:00:0{s}Z")));
    }
    let events = temp("skew.jsonl", events.as_bytes());
    let denies = |out: &Output| text(&out.stdout).matches(" DENY ").count();
    let default = run(&["replay", path(&rules), path(&events)]);
    assert_eq!(default.status.code(), Some(0), "{}", text(&default.stderr));
    assert_eq!(denies(&default), 3, "{}", text(&default.stdout));
    assert!(
        text(&default.stderr).contains("past the forward skew: 1"),
        "{}",
        text(&default.stderr)
    );
    let off = run(&["replay", path(&rules), path(&events), "--max-skew", "off"]);
    assert_eq!(denies(&off), 0, "{}", text(&off.stdout));
    let wide = run(&["replay", path(&rules), path(&events), "--max-skew", "1d"]);
    assert_eq!(denies(&wide), 3);
    let bad = run(&["replay", path(&rules), path(&events), "--max-skew", "soon"]);
    assert_ne!(bad.status.code(), Some(0));
    assert!(
        text(&bad.stderr).contains("--max-skew"),
        "{}",
        text(&bad.stderr)
    );
}
