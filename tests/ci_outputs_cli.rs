//! The CLI in CI: `check --output sarif`, `check --deny-warnings`,
//! `fmt -` and `fmt --check`'s diff, `test --junit`, rule sets spanning
//! files in `test` and `diff`, and the exit-code table in every `--help`.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_riskgate"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `args` in `dir` with `stdin` as standard input.
fn run_in(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = bin()
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run riskgate: {e}"));
    if let Some(mut input) = child.stdin.take() {
        // A command that refuses its arguments exits without reading its
        // input: the pipe may be closed before everything is written.
        if let Err(e) = input.write_all(stdin.as_bytes()) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
        }
    }
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("cannot run riskgate: {e}"))
}

fn run(args: &[&str]) -> Output {
    run_in(&root(), args, "")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A fresh directory under `target/` for one test's files.
fn dir(name: &str) -> PathBuf {
    let d = root().join("target").join("test-tmp").join("ci").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
    d
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap_or_else(|e| panic!("{e}"));
    p.to_string_lossy().into_owned()
}

/// Two errors: an unknown list after a character of two UTF-16 units (line
/// 2, characters 35-41, UTF-16 columns 36-42), an unknown action (line 3,
/// columns 9-14).
const BAD: &str =
    "Rule 1 — x\nTrigger: outcome == \"𝒳\" AND ip in nowhere\nAction: suspnd\nSeverity: HIGH\n";
/// One warning (an unused list, line 1, columns 6-11) and a trigger not in
/// canonical form.
const WARN_ONLY: &str =
    "list unused = [192.0.2.0/24]\nRule 1 — x\nTrigger: service_app   authentication\nAction: deny\nSeverity: HIGH\n";
/// `WARN_ONLY` formatted.
const WARN_ONLY_FORMATTED: &str =
    "list unused = [192.0.2.0/24]\n\nRule 1 — x\nTrigger: service_app authentication\nAction: deny\nSeverity: HIGH\n";

fn sarif(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(&out.stdout)))
}

/// The structure SARIF 2.1.0 requires of a log, a run and each result,
/// checked on `log`; returns its only run.
fn checked_run(log: &Value) -> &Value {
    assert_eq!(log["version"], "2.1.0");
    assert!(
        log["$schema"]
            .as_str()
            .is_some_and(|s| s.starts_with("https://") && s.ends_with("sarif-schema-2.1.0.json")),
        "{log}"
    );
    let runs = log["runs"].as_array().unwrap_or_else(|| panic!("{log}"));
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "riskgate");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    assert!(
        driver["informationUri"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://")),
        "{driver}"
    );
    assert_eq!(run["columnKind"], "utf16CodeUnits");
    let rules = driver["rules"]
        .as_array()
        .unwrap_or_else(|| panic!("{run}"));
    for r in rules {
        assert!(r["id"].as_str().is_some(), "{r}");
        assert!(
            r["shortDescription"]["text"]
                .as_str()
                .is_some_and(|t| !t.is_empty()),
            "{r}"
        );
    }
    for result in run["results"].as_array().unwrap_or_else(|| panic!("{run}")) {
        // Every result names a rule of the driver, by id and by index.
        let index = result["ruleIndex"].as_u64().unwrap_or(u64::MAX) as usize;
        assert_eq!(
            rules.get(index).map(|r| &r["id"]),
            Some(&result["ruleId"]),
            "{result}"
        );
        assert!(
            ["error", "warning", "note"].contains(&result["level"].as_str().unwrap_or("")),
            "{result}"
        );
        assert!(result["message"]["text"].as_str().is_some(), "{result}");
        let region = &result["locations"][0]["physicalLocation"]["region"];
        for key in ["startLine", "startColumn", "endLine", "endColumn"] {
            assert!(region[key].as_u64().is_some_and(|n| n >= 1), "{result}");
        }
    }
    run
}

/// (ruleId, level, uri, [startLine, startColumn, endLine, endColumn]) of each result.
fn located(run: &Value) -> Vec<(String, String, String, [u64; 4])> {
    run["results"]
        .as_array()
        .unwrap_or_else(|| panic!("{run}"))
        .iter()
        .map(|r| {
            let loc = &r["locations"][0]["physicalLocation"];
            let region = &loc["region"];
            let n = |k: &str| region[k].as_u64().unwrap_or(0);
            (
                r["ruleId"].as_str().unwrap_or("").to_string(),
                r["level"].as_str().unwrap_or("").to_string(),
                loc["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                [
                    n("startLine"),
                    n("startColumn"),
                    n("endLine"),
                    n("endColumn"),
                ],
            )
        })
        .collect()
}

#[test]
fn check_sarif_puts_each_error_and_warning_where_it_is() {
    let d = dir("sarif");
    write(&d, "bad.rules", BAD);
    write(&d, "warn.rules", WARN_ONLY);
    let out = run_in(
        &d,
        &["check", "--output", "sarif", "bad.rules", "warn.rules"],
        "",
    );
    // The exit code is the text output's: 1 for the errors.
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let log = sarif(&out);
    let run = checked_run(&log);
    assert_eq!(
        located(run),
        vec![
            (
                "E0201".into(),
                "error".into(),
                "bad.rules".into(),
                [2, 36, 2, 43]
            ),
            (
                "E0203".into(),
                "error".into(),
                "bad.rules".into(),
                [3, 9, 3, 15]
            ),
            (
                "W0003".into(),
                "warning".into(),
                "warn.rules".into(),
                [1, 6, 1, 12]
            ),
        ]
    );
    let results = &run["results"];
    assert_eq!(
        results[1]["message"]["text"],
        "unknown action `suspnd`\nhelp: did you mean `suspend`?"
    );
    assert_eq!(results[2]["message"]["text"], "list `unused` is never used");
    let ids: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .map(|r| r.iter().filter_map(|r| r["id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(ids, ["E0201", "E0203", "W0003"]);
    // Standard error says what happened, without the rendered diagnostics.
    let err = text(&out.stderr);
    assert!(
        err.contains("error: 2 errors and 0 warnings in bad.rules"),
        "{err}"
    );
    assert!(err.contains("ok: 1 rule in warn.rules"), "{err}");
    assert!(!err.contains("-->"), "{err}");
}

#[test]
fn check_sarif_of_clean_files_has_no_results_and_exits_0() {
    let out = run(&[
        "check",
        "--output",
        "sarif",
        "examples/rules/seed.rules",
        "examples/rules/agents.rules",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let log = sarif(&out);
    let run = checked_run(&log);
    assert_eq!(run["results"], Value::Array(Vec::new()));
    assert_eq!(run["tool"]["driver"]["rules"], Value::Array(Vec::new()));
}

#[test]
fn check_sarif_names_unreadable_and_oddly_named_files() {
    let d = dir("sarif-names");
    write(&d, "my rules#1.rules", WARN_ONLY);
    let out = run_in(
        &d,
        &[
            "check",
            "--output",
            "sarif",
            "my rules#1.rules",
            "missing.rules",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    let log = sarif(&out);
    let found = located(checked_run(&log));
    assert_eq!(
        found,
        vec![
            (
                "W0003".into(),
                "warning".into(),
                "my%20rules%231.rules".into(),
                [1, 6, 1, 12]
            ),
            (
                "E0100".into(),
                "error".into(),
                "missing.rules".into(),
                [1, 1, 1, 1]
            ),
        ]
    );
}

#[test]
fn deny_warnings_makes_a_warning_exit_1() {
    let d = dir("deny-warnings");
    let warn = write(&d, "warn.rules", WARN_ONLY);
    let out = run(&["check", &warn]);
    assert_eq!(out.status.code(), Some(0));
    let out = run(&["check", "--deny-warnings", &warn]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("warning[W0003]"), "{err}");
    assert!(
        err.contains(&format!(
            "error: 1 warning in {warn}, denied by --deny-warnings"
        )),
        "{err}"
    );
    assert!(!err.contains("ok: "), "{err}");
    let out = run(&["check", "--deny-warnings", "--output", "sarif", &warn]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(sarif(&out)["runs"][0]["results"][0]["level"], "warning");
    // Files without warnings still pass.
    let out = run(&["check", "--deny-warnings", "examples/rules/seed.rules"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn fmt_dash_formats_standard_input_to_standard_output() {
    let d = dir("fmt-stdin");
    let out = run_in(&d, &["fmt", "-"], WARN_ONLY);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), WARN_ONLY_FORMATTED);
    // Canonical input comes out the same.
    let out = run_in(&d, &["fmt", "-"], WARN_ONLY_FORMATTED);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), WARN_ONLY_FORMATTED);
    // Nothing is written next to it.
    assert_eq!(std::fs::read_dir(&d).map(|r| r.count()).unwrap_or(1), 0);
    // A syntax error: diagnostics naming standard input, nothing on stdout.
    let out = run_in(
        &d,
        &["fmt", "-"],
        "Rule 1 — x\nTrigger service_app authentication\nAction: deny\nSeverity: HIGH\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    let err = text(&out.stderr);
    assert!(err.contains("error[E0101]"), "{err}");
    assert!(err.contains("--> <stdin>:2:"), "{err}");
    // Standard input is read once.
    let out = run_in(&d, &["fmt", "-", "-"], WARN_ONLY);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn fmt_check_prints_a_unified_diff_and_exits_1() {
    let d = dir("fmt-diff");
    write(&d, "messy.rules", WARN_ONLY);
    write(&d, "tidy.rules", WARN_ONLY_FORMATTED);
    let out = run_in(&d, &["fmt", "--check", "messy.rules", "tidy.rules"], "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "--- messy.rules\n\
         +++ messy.rules (formatted)\n\
         @@ -1,5 +1,6 @@\n \
         list unused = [192.0.2.0/24]\n\
         +\n \
         Rule 1 — x\n\
         -Trigger: service_app   authentication\n\
         +Trigger: service_app authentication\n \
         Action: deny\n \
         Severity: HIGH\n\
         messy.rules: not formatted\n"
    );
    // --check leaves the file alone.
    assert_eq!(
        std::fs::read_to_string(d.join("messy.rules")).unwrap_or_default(),
        WARN_ONLY
    );
    let out = run_in(&d, &["fmt", "--check", "tidy.rules"], "");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "");
    // Standard input too.
    let out = run_in(&d, &["fmt", "--check", "-"], WARN_ONLY);
    assert_eq!(out.status.code(), Some(1));
    let diff = text(&out.stdout);
    assert!(
        diff.starts_with("--- <stdin>\n+++ <stdin> (formatted)\n@@ -1,5 +1,6 @@\n"),
        "{diff}"
    );
    assert!(diff.ends_with("<stdin>: not formatted\n"), "{diff}");
    let out = run_in(&d, &["fmt", "--check", "-"], WARN_ONLY_FORMATTED);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "");
}

/// An element of a parsed XML document.
#[derive(Debug, Default)]
struct Element {
    name: String,
    attrs: BTreeMap<String, String>,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn attr(&self, key: &str) -> &str {
        self.attrs.get(key).map_or("", String::as_str)
    }
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

/// Parses `xml` with a real parser (which refuses mismatched tags and
/// unknown entities): the root element.
fn parse_xml(xml: &str) -> Element {
    use quick_xml::events::{BytesStart, Event};
    use quick_xml::XmlVersion;
    fn element(e: &BytesStart<'_>) -> Element {
        let mut el = Element {
            name: e.name().as_ref().to_string(),
            ..Element::default()
        };
        for a in e.attributes() {
            let a = a.unwrap_or_else(|err| panic!("bad attribute: {err}"));
            let value = a
                .normalized_value(XmlVersion::Implicit1_0)
                .unwrap_or_else(|err| panic!("bad attribute value: {err}"));
            el.attrs
                .insert(a.key.as_ref().to_string(), value.into_owned());
        }
        el
    }
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<Element> = vec![Element::default()];
    loop {
        let event = reader
            .read_event()
            .unwrap_or_else(|e| panic!("not well-formed XML ({e}):\n{xml}"));
        match event {
            Event::Start(e) => stack.push(element(&e)),
            Event::Empty(e) => {
                let el = element(&e);
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(el);
                }
            }
            Event::End(_) => {
                let done = stack.pop().unwrap_or_default();
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(done);
                }
            }
            Event::Text(t) => {
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&t.xml_content(XmlVersion::Implicit1_0));
                }
            }
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => quick_xml::escape::resolve_predefined_entity(&r.xml10_content())
                        .unwrap_or_else(|| panic!("unknown entity {r:?}"))
                        .to_string(),
                };
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&c);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(stack.len(), 1, "unclosed elements:\n{xml}");
    let mut doc = stack.pop().unwrap_or_default();
    assert_eq!(doc.children.len(), 1, "one root element:\n{xml}");
    doc.children.pop().unwrap_or_default()
}

/// The first case of `examples/tests/seed.jsonl` (rule 1 suspends), under
/// another name.
fn seed_case(name: &str, decision: &str) -> String {
    let first = include_str!("../examples/tests/seed.jsonl")
        .lines()
        .next()
        .unwrap_or_default();
    let mut case: Value = serde_json::from_str(first).unwrap_or_else(|e| panic!("{e}"));
    case["name"] = Value::from(name);
    case["expect"]["decision"] = Value::from(decision);
    case.to_string()
}

#[test]
fn test_junit_reports_passing_failing_and_invalid_cases() {
    let d = dir("junit");
    let cases = write(
        &d,
        "cases.jsonl",
        &[
            seed_case("passes", "suspend_token"),
            seed_case("a <b> & \"c\" 'd'\u{1b}[31m", "deny"),
            "{\"name\": \"no events\", \"expect\": {}}".to_string(),
        ]
        .join("\n"),
    );
    let report = d.join("report.xml");
    let report_arg = report.to_string_lossy().into_owned();
    let out = run(&[
        "test",
        "examples/rules/seed.rules",
        &cases,
        "--junit",
        &report_arg,
    ]);
    assert_eq!(out.status.code(), Some(1));
    // The console output is today's.
    let console = text(&out.stdout);
    assert!(console.contains("PASS  passes\n"), "{console}");
    assert!(console.ends_with("1 passed, 2 failed\n"), "{console}");
    let xml = std::fs::read_to_string(&report).unwrap_or_else(|e| panic!("{e}"));
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
    // No character XML 1.0 forbids, even escaped.
    assert!(
        !xml.chars()
            .any(|c| c < ' ' && !matches!(c, '\n' | '\r' | '\t')),
        "{xml}"
    );
    let root = parse_xml(&xml);
    assert_eq!(root.name, "testsuites");
    let suites: Vec<&Element> = root.all("testsuite").collect();
    assert_eq!(suites.len(), 1);
    let suite = suites[0];
    assert_eq!(suite.attr("name"), cases);
    assert_eq!(
        (
            suite.attr("tests"),
            suite.attr("failures"),
            suite.attr("errors")
        ),
        ("3", "1", "1")
    );
    let tc: Vec<&Element> = suite.all("testcase").collect();
    assert_eq!(tc.len(), 3);
    for t in &tc {
        assert_eq!(t.attr("classname"), cases);
        assert!(
            t.attr("time").parse::<f64>().is_ok_and(|s| s >= 0.0),
            "{t:?}"
        );
    }
    assert_eq!(tc[0].attr("name"), "passes");
    assert!(tc[0].children.is_empty(), "{:?}", tc[0]);
    // The name comes back whole, the escape character as its picture.
    assert_eq!(tc[1].attr("name"), "a <b> & \"c\" 'd'\u{241b}[31m");
    assert_eq!(tc[1].attr("line"), "2");
    let failure = tc[1]
        .all("failure")
        .next()
        .unwrap_or_else(|| panic!("{:?}", tc[1]));
    let mismatch = "- decision: deny\n+ decision: suspend";
    assert!(failure.attr("message").contains(mismatch), "{failure:?}");
    assert!(failure.text.contains(mismatch), "{failure:?}");
    let error = tc[2]
        .all("error")
        .next()
        .unwrap_or_else(|| panic!("{:?}", tc[2]));
    assert_eq!(error.attr("message"), "missing `events` array");

    // All passing: no failure element, exit 0.
    let out = run(&[
        "test",
        "examples/rules/seed.rules",
        "examples/tests/seed.jsonl",
        "--junit",
        &report_arg,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let root = parse_xml(&std::fs::read_to_string(&report).unwrap_or_default());
    let suite = root
        .all("testsuite")
        .next()
        .unwrap_or_else(|| panic!("{root:?}"));
    let n = include_str!("../examples/tests/seed.jsonl").lines().count();
    assert_eq!(suite.attr("tests"), n.to_string());
    assert_eq!((suite.attr("failures"), suite.attr("errors")), ("0", "0"));
    assert!(suite.all("testcase").all(|t| t.children.is_empty()));

    // A report that cannot be written is an error.
    let out = run(&[
        "test",
        "examples/rules/seed.rules",
        "examples/tests/seed.jsonl",
        "--junit",
        "/nonexistent/report.xml",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot write `/nonexistent/report.xml`"));
}

/// `examples/rules/seed.rules` split in two: its lists, and its rules.
fn seed_split(d: &Path) -> (String, String) {
    let seed = include_str!("../examples/rules/seed.rules");
    let at = seed.find("Rule 1").unwrap_or(0);
    let (lists, rules) = seed.split_at(at);
    (
        write(d, "lists.rules", lists),
        write(d, "rules.rules", rules),
    )
}

#[test]
fn test_takes_a_rule_set_spanning_files() {
    let d = dir("test-files");
    let (lists, rules) = seed_split(&d);
    let out = run(&["test", &lists, &rules, "examples/tests/seed.jsonl"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let n = include_str!("../examples/tests/seed.jsonl").lines().count();
    assert!(
        text(&out.stdout).ends_with(&format!("{n} passed, 0 failed\n")),
        "{}",
        text(&out.stdout)
    );
    // The rules alone name lists they do not have.
    let out = run(&["test", &rules, "examples/tests/seed.jsonl"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("error[E0201]"));
}

#[test]
fn diff_takes_rule_sets_spanning_files() {
    let d = dir("diff-files");
    let (lists, rules) = seed_split(&d);
    let stricter = write(
        &d,
        "stricter.rules",
        &std::fs::read_to_string(&rules).unwrap_or_default().replace(
            "Action: suspend_token + alert security team",
            "Action: deny",
        ),
    );
    let events = write(
        &d,
        "events.jsonl",
        "{\"time\": \"2026-11-22T12:00:00Z\", \"agent\": \"svc-1\", \"actor\": \"service_app\", \"categories\": [\"authentication\"], \"ip\": \"203.0.113.9\"}\n",
    );
    let out = run(&[
        "diff", &rules, &stricter, &events, "--also", &lists, "--output", "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)));
    assert_eq!(report["events"], 1);
    assert_eq!(report["verdicts_changed"], 1);
    let rule1 = report["rules"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["rule"] == "1"))
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(rule1["changed"]["count"], 1);
    assert_eq!(rule1["changed"]["examples"][0]["old"], "suspend HIGH");
    assert_eq!(rule1["changed"]["examples"][0]["new"], "deny HIGH");
    // One side's own extra file: the lists only in the old set leave the new one broken.
    let out = run(&[
        "diff",
        &rules,
        &stricter,
        &events,
        "--old-also",
        &lists,
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("error[E0201]"));
    let out = run(&[
        "diff",
        &rules,
        &stricter,
        &events,
        "--old-also",
        &lists,
        "--new-also",
        &lists,
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// The exit-code table of `--help`, from `Exit codes` to the end.
fn exit_table(help: &str) -> &str {
    help.find("Exit codes").map_or("", |i| &help[i..])
}

#[test]
fn every_command_help_shows_the_one_exit_code_table() {
    let top = text(&run(&["--help"]).stdout);
    let table = exit_table(&top);
    for code in ["  0 ", "  1 ", "  2 ", "  64 ", "  141 "] {
        assert!(table.contains(code), "{table}");
    }
    for cmd in ["check", "fmt", "replay", "diff", "test", "serve"] {
        let out = run(&[cmd, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{cmd}");
        let help = text(&out.stdout);
        assert_eq!(exit_table(&help).trim_end(), table.trim_end(), "{cmd}");
    }
    // README has the same codes.
    let readme = include_str!("../README.md");
    for code in ["| 0 |", "| 1 |", "| 2 |", "| 64 |", "| 141 |"] {
        assert!(readme.contains(code), "README lacks {code}");
    }
    let check = text(&run(&["check", "--help"]).stdout);
    for flag in [
        "--output <OUTPUT>",
        "sarif",
        "--deny-warnings",
        "--together",
    ] {
        assert!(check.contains(flag), "{check}");
    }
    let test = text(&run(&["test", "--help"]).stdout);
    assert!(test.contains("--junit <FILE>"), "{test}");
}
