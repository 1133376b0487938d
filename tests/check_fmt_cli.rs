//! `riskgate check` and `riskgate fmt` as a user runs them: exit codes, which
//! stream carries what, and in-place formatting.

use std::path::PathBuf;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_riskgate"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run riskgate: {e}"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A fresh directory under `target/` for one test's files.
fn dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("test-tmp")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
    d
}

fn write(dir: &std::path::Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap_or_else(|e| panic!("{e}"));
    p.to_string_lossy().into_owned()
}

const BAD: &str =
    "Rule 1 — x\nTrigger: service_app authentication\nAction: suspnd\nSeverity: HIHG\n";
const WARN_ONLY: &str =
    "list unused = [192.0.2.0/24]\nRule 1 — x\nTrigger: service_app   authentication\nAction: deny\nSeverity: HIGH\n";

#[test]
fn check_passes_the_bundled_rules() {
    let out = run(&[
        "check",
        "examples/rules/agents.rules",
        "examples/rules/seed.rules",
    ]);
    // Like cargo, status lines go to stderr; there are no diagnostics.
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert_eq!(
        err,
        "ok: 26 rules in examples/rules/agents.rules\nok: 3 rules in examples/rules/seed.rules\n"
    );
}

#[test]
fn check_reports_every_error_of_every_file_and_exits_1() {
    let d = dir("check-errors");
    let bad = write(&d, "bad.rules", BAD);
    let warn = write(&d, "warn.rules", WARN_ONLY);
    let out = run(&["check", &bad, &warn]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("error[E0203]: unknown action `suspnd`"),
        "{err}"
    );
    assert!(err.contains(&format!("--> {bad}:3:9")), "{err}");
    assert!(err.contains("= help: did you mean `suspend`?"), "{err}");
    assert!(
        err.contains("error[E0204]: unknown severity `HIHG`"),
        "{err}"
    );
    assert!(err.contains(&format!("--> {bad}:4:11")), "{err}");
    // The other file is still checked, and its warning shown.
    assert!(
        err.contains("warning[W0003]: list `unused` is never used"),
        "{err}"
    );
}

#[test]
fn check_with_warnings_only_exits_0() {
    let d = dir("check-warnings");
    let warn = write(&d, "warn.rules", WARN_ONLY);
    let out = run(&["check", &warn]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("warning[W0003]"));
    assert!(text(&out.stderr).contains("ok: 1 rule in"));
}

#[test]
fn fmt_check_names_the_files_that_differ_and_fmt_rewrites_them() {
    let d = dir("fmt");
    let messy = write(&d, "messy.rules", WARN_ONLY);
    let canonical = write(
        &d,
        "canonical.rules",
        include_str!("../examples/rules/seed.rules"),
    );
    let out = run(&["fmt", "--check", &messy, &canonical]);
    assert_eq!(out.status.code(), Some(1));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(all.contains(&format!("{messy}: not formatted")), "{all}");
    assert!(
        !all.contains(&format!("{canonical}: not formatted")),
        "{all}"
    );
    // --check leaves the file alone.
    assert_eq!(
        std::fs::read_to_string(&messy).unwrap_or_default(),
        WARN_ONLY
    );

    let out = run(&["fmt", &messy, &canonical]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let now = std::fs::read_to_string(&messy).unwrap_or_default();
    assert!(
        now.contains("Trigger: service_app authentication\n"),
        "{now}"
    );
    assert_eq!(
        std::fs::read_to_string(&canonical).unwrap_or_default(),
        include_str!("../examples/rules/seed.rules")
    );
    let out = run(&["fmt", "--check", &messy, &canonical]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn fmt_refuses_a_file_with_syntax_errors_and_leaves_it_alone() {
    // Like rustfmt, fmt needs a file that parses; names it need not resolve.
    const SYNTAX: &str =
        "Rule 1 — x\nTrigger service_app authentication\nAction: deny\nSeverity: HIGH\n";
    let d = dir("fmt-errors");
    let bad = write(&d, "bad.rules", SYNTAX);
    let out = run(&["fmt", &bad]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("error[E0101]: expected `:` after `Trigger`"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&bad).unwrap_or_default(), SYNTAX);
    let unresolved = write(&d, "unresolved.rules", BAD);
    let out = run(&["fmt", "--check", &unresolved]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn help_lists_the_subcommands() {
    let out = run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for cmd in ["check", "fmt", "replay", "test"] {
        assert!(help.contains(&format!("  {cmd} ")), "{help}");
    }
    let out = run(&["replay", "--help"]);
    let help = text(&out.stdout);
    assert!(help.contains("--format"), "{help}");
    assert!(help.contains("--explain"), "{help}");
}
