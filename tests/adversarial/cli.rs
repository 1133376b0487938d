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

/// Runs `args` with stdout (or stderr, when `on_stderr`) a pipe whose
/// reading end is already closed: every write to it fails with EPIPE.
fn run_into_closed_pipe(args: &[&str], on_stderr: bool) -> Output {
    let (reader, writer) = std::io::pipe().unwrap_or_else(|e| panic!("{e}"));
    drop(reader);
    let mut cmd = bin();
    cmd.args(args).stdin(Stdio::null());
    if on_stderr {
        cmd.stdout(Stdio::null()).stderr(writer);
    } else {
        cmd.stdout(writer).stderr(Stdio::piped());
    }
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run riskgate: {e}"))
}

const EXAMPLE_RULES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/rules/agents.rules");
const EXAMPLE_EVENTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/events/okta-day.jsonl"
);
const EXAMPLE_PROFILES: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/examples/profiles/agents.json");

#[test]
fn item01_a_closed_stdout_ends_every_command_quietly_with_141() {
    let unformatted = temp(
        "unformatted.rules",
        FAILURES
            .replace("Action: deny", "Action:   deny")
            .as_bytes(),
    );
    let cases = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/tests/agents.jsonl");
    let runs: [&[&str]; 3] = [
        &[
            "replay",
            EXAMPLE_RULES,
            EXAMPLE_EVENTS,
            "--profiles",
            EXAMPLE_PROFILES,
        ],
        &["fmt", "--check", path(&unformatted)],
        &["test", EXAMPLE_RULES, cases, "--profiles", EXAMPLE_PROFILES],
    ];
    for args in runs {
        let out = run_into_closed_pipe(args, false);
        assert_eq!(
            out.status.code(),
            Some(141),
            "{args:?}: {}",
            text(&out.stderr)
        );
        // Quietly: no panic, no "Broken pipe" message.
        assert_eq!(text(&out.stderr), "", "{args:?}");
    }
}

#[test]
fn item01_a_closed_stderr_ends_check_and_replay_quietly_with_141() {
    let broken = temp(
        "broken.rules",
        b"Rule 1: x\nTrigger: ip in nowhere\nAction: deny\nSeverity: LOW\n",
    );
    for args in [
        &["check", path(&broken)][..],
        &[
            "replay",
            EXAMPLE_RULES,
            EXAMPLE_EVENTS,
            "--profiles",
            EXAMPLE_PROFILES,
        ],
    ] {
        let out = run_into_closed_pipe(args, true);
        assert_eq!(out.status.code(), Some(141), "{args:?}");
    }
}

#[test]
fn item01_a_full_disk_on_stdout_is_an_io_error_with_exit_1() {
    let unformatted = temp(
        "unformatted-full.rules",
        FAILURES
            .replace("Action: deny", "Action:   deny")
            .as_bytes(),
    );
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap_or_else(|e| panic!("/dev/full: {e}"));
    let out = bin()
        .args(["fmt", "--check", path(&unformatted)])
        .stdout(full)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: writing to standard output:"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn item01_the_binary_uses_no_printing_macro_that_can_panic() {
    let mut found = Vec::new();
    let mut dirs = vec![root().join("src").join("bin")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{e}")) {
            let p = entry.unwrap_or_else(|e| panic!("{e}")).path();
            if p.is_dir() {
                dirs.push(p);
                continue;
            }
            let src = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{e}"));
            for (i, line) in src.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for mac in ["print!(", "println!(", "eprint!(", "eprintln!(", "dbg!("] {
                    let hit = code.match_indices(mac).any(|(at, _)| {
                        // `errln!(`/`outln!(` are ours; `eprintln!(` contains `println!(`.
                        !code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                    });
                    if hit {
                        found.push(format!("{}:{}: {line}", p.display(), i + 1));
                    }
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "printing macros that panic on a closed stream:\n{}",
        found.join("\n")
    );
}

#[test]
fn item16_values_from_input_cannot_forge_lines_or_drive_the_terminal() {
    let rules = temp(
        "forge.rules",
        b"Rule R: any\nTrigger: count over 1m > 0\nAction: deny\nSeverity: LOW\n",
    );
    let agent =
        "evil\\nline 999 2026-11-22T10:00:00.000Z x DENY CRITICAL rules=S1\\u001b[2J\\u202eabc";
    let events = format!(
        "{{\"time\":\"2026-11-22T10:00:00Z\",\"agent\":\"{agent}\"}}\n{{\"time\":\"2026-11-22T10:00:00Z\",\"agent\":\"\\u001b]0;x\",\"ip\":\"\\u001b[31m\"}}\n"
    );
    let events = temp("forge.jsonl", events.as_bytes());
    let out = run(&["replay", path(&rules), path(&events), "--explain"]);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    for (name, s) in [("stdout", &stdout), ("stderr", &stderr)] {
        assert!(!s.contains('\u{1b}'), "{name} holds an escape: {s:?}");
        assert!(
            !s.contains('\u{202e}'),
            "{name} holds a bidi control: {s:?}"
        );
    }
    // One verdict, one header line, not two.
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("line ")).count(),
        1,
        "{stdout}"
    );
    assert!(stdout.contains("evil\u{240a}line 999"), "{stdout}");
    // The bad line (an IP that is an escape sequence) is reported escaped.
    assert!(stderr.contains("line 2: "), "{stderr}");
    assert!(stderr.contains("\u{241b}[31m"), "{stderr}");
}

#[test]
fn item17_every_path_follows_the_exit_code_table() {
    let rules = temp("codes.rules", FAILURES.as_bytes());
    let dir = root().join("target");
    let good = temp(
        "codes.jsonl",
        failure_line("2026-11-22T10:00:00Z").as_bytes(),
    );
    let bad = temp("codes-bad.jsonl", b"{not json}\n");
    let code = |args: &[&str]| run(args).status.code();
    assert_eq!(code(&["replay", path(&rules), path(&good)]), Some(0));
    assert_eq!(code(&["replay", path(&rules), path(&bad)]), Some(2));
    // A directory is an I/O error, not a bad line.
    assert_eq!(code(&["replay", path(&rules), path(&dir)]), Some(1));
    assert_eq!(
        code(&["replay", path(&rules), "/nonexistent/events"]),
        Some(1)
    );
    // Usage errors have their own code, apart from replay's 2.
    assert_eq!(code(&["replay", path(&rules)]), Some(64));
    assert_eq!(
        code(&["replay", path(&rules), path(&good), "--bogus"]),
        Some(64)
    );
    assert_eq!(code(&["frobnicate"]), Some(64));
    assert_eq!(code(&["--help"]), Some(0));
    let help = text(&run(&["--help"]).stdout);
    assert!(
        help.contains("Exit codes:") && help.contains("141"),
        "{help}"
    );
}

#[test]
fn item25_replay_prints_verdicts_whose_only_matches_are_shadow_rules() {
    let rules = temp(
        "shadow.rules",
        b"Rule S: would deny\nTrigger: count over 1m > 0\nAction: deny\nSeverity: HIGH\nMode: shadow\n",
    );
    let events = temp(
        "shadow.jsonl",
        failure_line("2026-11-22T10:00:00Z").as_bytes(),
    );
    let json = run(&["replay", path(&rules), path(&events), "--output", "json"]);
    let lines: Vec<serde_json::Value> = text(&json.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 1, "{}", text(&json.stdout));
    assert_eq!(lines[0]["decision"], "allow", "the decision is unchanged");
    assert_eq!(lines[0]["matches"][0]["rule"], "S");
    assert_eq!(lines[0]["matches"][0]["shadow"], true);
    let plain = run(&["replay", path(&rules), path(&events)]);
    let stdout = text(&plain.stdout);
    assert!(stdout.contains("ALLOW - rules=S(shadow)"), "{stdout}");
    let hidden = run(&["replay", path(&rules), path(&events), "--hide-shadow"]);
    assert_eq!(text(&hidden.stdout), "");
}

#[test]
fn item21_test_cases_without_events_or_with_unknown_keys_fail() {
    let rules = temp("cases.rules", FAILURES.as_bytes());
    let event = failure_line("2026-11-22T10:00:00Z");
    let cases = format!(
        "{{\"name\":\"empty\",\"events\":[],\"expect\":{{\"decision\":\"allow\"}}}}\n\
         {{\"name\":\"typo\",\"events\":[{event}],\"expect\":{{\"decision\":\"allow\"}},\"expects\":{{}}}}\n\
         {{\"name\":\"good\",\"events\":[{event}],\"expect\":{{\"decision\":\"allow\"}}}}\n"
    );
    let cases = temp("cases.jsonl", cases.as_bytes());
    let out = run(&["test", path(&rules), path(&cases)]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL  empty"), "{stdout}");
    assert!(stdout.contains("`events` is empty"), "{stdout}");
    assert!(stdout.contains("FAIL  typo"), "{stdout}");
    assert!(stdout.contains("unknown key `expects`"), "{stdout}");
    assert!(stdout.contains("PASS  good"), "{stdout}");
    assert!(stdout.contains("1 passed, 2 failed"), "{stdout}");
}

#[test]
fn item19_a_byte_order_mark_starts_an_events_file_or_a_cases_file() {
    let rules = temp("bom.rules", FAILURES.as_bytes());
    let event = failure_line("2026-11-22T10:00:00Z");
    let events = temp("bom.jsonl", format!("\u{feff}{event}\n").as_bytes());
    let out = run(&["replay", path(&rules), path(&events)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("events: 1  bad lines: 0"));
    let cases = temp(
        "bom-cases.jsonl",
        format!("\u{feff}{{\"name\":\"bom\",\"events\":[{event}],\"expect\":{{\"decision\":\"allow\"}}}}\n").as_bytes(),
    );
    let out = run(&["test", path(&rules), path(&cases)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("1 passed, 0 failed"));
}
