//! Golden tests for diagnostics.
//!
//! Every `tests/golden/NAME.rules` is loaded on its own with
//! [`RuleSet::from_files`]; a directory `tests/golden/NAME/` holding `.rules`
//! files is loaded as one set (its files in name order). The rendering of the
//! diagnostics (`Diagnostics::render(false)` of the error, or of the warnings
//! when the set loads) must equal `tests/golden/NAME.stderr` byte for byte.
//! Files are named by their path relative to the crate root, so the expected
//! text does not depend on where the crate is checked out.
//!
//! A case must produce at least one diagnostic, and every case needs its
//! `.stderr`. A first line `# golden-limits: max_rules=2` (keys of
//! [`Limits`]) loads the case with smaller limits, to test the limit errors
//! without megabytes of input. List files that cases read (`*.txt`) sit
//! beside them.
//!
//! `BLESS=1 cargo test --test golden` rewrites the `.stderr` files. Review
//! every change before keeping it: each case must point at the right token
//! with a lowercase message and a helpful suggestion.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use riskgate::{Limits, RuleSet};

/// Fewer cases than this means the folder was not found or lost files.
const MIN_CASES: usize = 40;

/// Codes that must each appear in at least one expected output, so a case
/// that stops reporting its error cannot be blessed away unnoticed.
const REQUIRED_CODES: &[&str] = &[
    "E0101", "E0102", "E0103", "E0104", "E0105", "E0107", "E0108", "E0109", "E0201", "E0202",
    "E0203", "E0204", "E0205", "E0206", "E0207", "E0208", "E0209", "E0210", "E0211", "E0212",
    "E0213", "E0214", "E0215", "E0220", "E0221", "E0222", "E0223", "E0224", "E0225", "E0226",
    "E0301", "E0302", "E0303", "E0304", "E0305", "E0306", "E0307", "E0308", "E0309", "W0001",
    "W0002", "W0003", "W0004",
];

const GOLDEN_DIR: &str = "tests/golden";

/// One golden case: the rules files it loads (relative to the crate root) and
/// the file holding the expected rendering.
struct Case {
    name: String,
    inputs: Vec<PathBuf>,
    expected: PathBuf,
}

fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Cargo runs integration tests from the crate root; make sure of it, since
/// file names in diagnostics (and `file "..."` lists) are relative to it.
fn enter_crate_root() {
    let root = crate_root();
    let here = std::env::current_dir()
        .ok()
        .and_then(|d| d.canonicalize().ok());
    if here != root.canonicalize().ok() {
        std::env::set_current_dir(&root).expect("cannot enter the crate root");
    }
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read `{}`: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    out.sort();
    out
}

fn has_ext(p: &Path, ext: &str) -> bool {
    p.extension().is_some_and(|e| e == ext)
}

/// Every case of the golden folder, in name order.
fn cases() -> Vec<Case> {
    let dir = Path::new(GOLDEN_DIR);
    let mut out = Vec::new();
    for entry in sorted_entries(dir) {
        let stem = entry
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        if entry.is_dir() {
            let inputs: Vec<PathBuf> = sorted_entries(&entry)
                .into_iter()
                .filter(|p| has_ext(p, "rules"))
                .collect();
            if !inputs.is_empty() {
                let name = entry
                    .file_name()
                    .and_then(|s| s.to_str())
                    .unwrap_or_default()
                    .to_string();
                out.push(Case {
                    expected: dir.join(format!("{name}.stderr")),
                    name,
                    inputs,
                });
            }
        } else if has_ext(&entry, "rules") {
            out.push(Case {
                expected: entry.with_extension("stderr"),
                name: stem,
                inputs: vec![entry],
            });
        }
    }
    out
}

/// What loading the case's files prints: the error's diagnostics, or the
/// warnings of a set that loads.
fn render(case: &Case) -> Result<String, String> {
    let inputs = case.inputs.clone();
    let limits = case_limits(&inputs)?;
    let result = catch_unwind(AssertUnwindSafe(move || {
        match RuleSet::from_files_with(&inputs, &limits) {
            Ok(set) => set.warnings().render(false),
            Err(diags) => diags.render(false),
        }
    }));
    result.map_err(|payload| {
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("(no message)");
        format!("loading the rules panicked: {msg}")
    })
}

/// The limits of a case: the defaults, changed by a first-line comment of its
/// first file such as `# golden-limits: max_rules=2 max_list_items=3`, so the
/// limit errors can be tested without megabytes of input.
fn case_limits(inputs: &[PathBuf]) -> Result<Limits, String> {
    let mut limits = Limits::default();
    let Some(first) = inputs.first() else {
        return Ok(limits);
    };
    let text = fs::read_to_string(first).unwrap_or_default();
    let Some(settings) = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("# golden-limits:"))
    else {
        return Ok(limits);
    };
    for setting in settings.split_whitespace() {
        let (key, value) = setting
            .split_once('=')
            .ok_or_else(|| format!("bad golden-limits setting `{setting}`"))?;
        let value: usize = value
            .parse()
            .map_err(|_| format!("bad golden-limits value `{setting}`"))?;
        match key {
            "max_file_bytes" => limits.max_file_bytes = value,
            "max_depth" => limits.max_depth = value,
            "max_list_items" => limits.max_list_items = value,
            "max_rules" => limits.max_rules = value,
            _ => return Err(format!("unknown golden-limits key `{key}`")),
        }
    }
    Ok(limits)
}

/// A unified-style line diff of `expected` (`-`) and `actual` (`+`), with
/// three lines of context around each change.
fn unified_diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    // Longest common subsequence table, from the end.
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    // The edit script: (tag, line number in a, line number in b, text).
    let mut ops: Vec<(char, usize, usize, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', i, j, a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', i, j, a[i]));
            i += 1;
        } else {
            ops.push(('+', i, j, b[j]));
            j += 1;
        }
    }
    const CONTEXT: usize = 3;
    let mut out = String::new();
    let mut k = 0;
    while k < ops.len() {
        if ops[k].0 == ' ' {
            k += 1;
            continue;
        }
        // A hunk: from CONTEXT lines before this change to CONTEXT lines
        // after the last change that is at most 2 * CONTEXT lines further.
        let start = k.saturating_sub(CONTEXT);
        let mut end = k;
        let mut last_change = k;
        while end < ops.len() {
            if ops[end].0 != ' ' {
                last_change = end;
            } else if end - last_change > 2 * CONTEXT {
                break;
            }
            end += 1;
        }
        let end = (last_change + CONTEXT + 1).min(ops.len());
        let hunk = &ops[start..end];
        let a_len = hunk.iter().filter(|o| o.0 != '+').count();
        let b_len = hunk.iter().filter(|o| o.0 != '-').count();
        let _ = writeln!(
            out,
            "@@ -{},{a_len} +{},{b_len} @@",
            hunk[0].1 + 1,
            hunk[0].2 + 1
        );
        for (tag, _, _, text) in hunk {
            let _ = writeln!(out, "{tag}{text}");
        }
        k = end;
    }
    if out.is_empty() && expected != actual {
        out.push_str("(the texts differ only in line endings or a final newline)\n");
    }
    out
}

#[test]
fn golden_diagnostics() {
    enter_crate_root();
    let bless = std::env::var_os("BLESS").is_some_and(|v| v != "0" && !v.is_empty());
    let cases = cases();
    let mut failures = Vec::new();
    let mut seen_codes = BTreeSet::new();
    for case in &cases {
        let actual = match render(case) {
            Ok(text) => text,
            Err(problem) => {
                failures.push(format!("{}: {problem}", case.name));
                continue;
            }
        };
        if actual.is_empty() {
            failures.push(format!(
                "{}: no diagnostic at all; a golden case must produce at least one",
                case.name
            ));
            continue;
        }
        for line in actual.lines() {
            for level in ["error[", "warning["] {
                if let Some(rest) = line.strip_prefix(level) {
                    if let Some(code) = rest.split(']').next() {
                        seen_codes.insert(code.to_string());
                    }
                }
            }
        }
        if bless {
            let old = fs::read_to_string(&case.expected).ok();
            if old.as_deref() != Some(actual.as_str()) {
                fs::write(&case.expected, &actual)
                    .unwrap_or_else(|e| panic!("cannot write `{}`: {e}", case.expected.display()));
                eprintln!("blessed {}", case.expected.display());
            }
            continue;
        }
        match fs::read_to_string(&case.expected) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!(
                "{}: output differs from `{}` (- expected, + actual):\n{}",
                case.name,
                case.expected.display(),
                unified_diff(&expected, &actual)
            )),
            Err(_) => failures.push(format!(
                "{}: `{}` is missing; run with BLESS=1 to create it, then review it. Actual output:\n{actual}",
                case.name,
                case.expected.display()
            )),
        }
    }
    // Expected outputs without a case are stale.
    let names: BTreeSet<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    for p in sorted_entries(Path::new(GOLDEN_DIR)) {
        if has_ext(&p, "stderr") {
            let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
            if !names.contains(stem) {
                failures.push(format!(
                    "`{}` has no `.rules` file (or directory of them)",
                    p.display()
                ));
            }
        }
    }
    let missing: Vec<&str> = REQUIRED_CODES
        .iter()
        .copied()
        .filter(|c| !seen_codes.contains(*c))
        .collect();
    if !missing.is_empty() {
        failures.push(format!("no golden case reports {}", missing.join(", ")));
    }
    assert!(
        failures.is_empty(),
        "{} golden failure(s):\n\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        cases.len() >= MIN_CASES,
        "only {} golden cases in `{GOLDEN_DIR}`, expected at least {MIN_CASES}",
        cases.len()
    );
}

#[test]
fn seed_rules_have_no_diagnostics() {
    let path = crate_root().join("examples/rules/seed.rules");
    match RuleSet::from_files([&path]) {
        Ok(set) => assert!(
            set.warnings().items.is_empty(),
            "the seed rules have warnings:\n{}",
            set.warnings().render(false)
        ),
        Err(d) => panic!("the seed rules do not load:\n{}", d.render(false)),
    }
}

#[test]
fn diff_shows_changed_lines_with_context() {
    let d = unified_diff("a\nb\nc\nd\n", "a\nB\nc\nd\n");
    assert_eq!(d, "@@ -1,4 +1,4 @@\n a\n-b\n+B\n c\n d\n");
    assert_eq!(unified_diff("x\n", "x\n"), "");
    assert!(unified_diff("x\n", "x").contains("final newline"));
}

/// A long source line is cut to a window around the span in the snippet
/// (`...` where it was cut), with the caret still under the span; control
/// characters are shown as symbols, never written raw.
#[test]
fn long_lines_are_cut_around_the_span_and_control_characters_shown() {
    let padding = "ip == 10.0.0.1 or ".repeat(30);
    let src = format!(
        "Rule 1 — Long\nTrigger: service_app authentication and ({padding}nosuchfield == 1 or {padding}ip == 10.0.0.2)\nAction: deny\nSeverity: HIGH\n"
    );
    let err = match RuleSet::from_source("long.rules", &src) {
        Ok(_) => panic!("`nosuchfield` must be an error"),
        Err(d) => d.render(false),
    };
    let lines: Vec<&str> = err.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("2 | "))
        .unwrap_or_else(|| panic!("no snippet line: {err}"));
    let shown = lines[at].trim_start_matches("2 | ");
    let caret = lines[at + 1];
    assert!(shown.starts_with("...") && shown.ends_with("..."), "{err}");
    assert!(shown.chars().count() <= 206, "{err}");
    let word = shown.find("nosuchfield").unwrap_or_else(|| panic!("{err}"));
    let caret_col = caret.find('^').unwrap_or_else(|| panic!("{err}")) - "  | ".len();
    assert_eq!(caret_col, shown[..word].chars().count(), "{err}");
    assert_eq!(caret.matches('^').count(), "nosuchfield".len(), "{err}");

    let nul = "Rule 1 — T\nTrigger: service_app authentication and \u{0}\u{1b}x\nAction: deny\nSeverity: HIGH\n";
    let err = match RuleSet::from_source("nul.rules", nul) {
        Ok(_) => panic!("a NUL in a trigger must be an error"),
        Err(d) => d.render(false),
    };
    assert!(!err.contains('\u{0}') && !err.contains('\u{1b}'), "{err:?}");
    assert!(err.contains("\u{2400}\u{241b}x"), "{err}");
}
