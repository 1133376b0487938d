//! Adversarial inputs: the front end (parser, checker, diagnostics).

use riskgate::lang::diagnostic::{LineIndex, MAX_RENDERED_PER_FILE};
use riskgate::RuleSet;

/// A rule whose trigger is one line of `n` chained comparisons `a==a==a…`,
/// each `==` after the first an error (chained comparison).
fn chained(n: usize) -> String {
    format!(
        "Rule 1: t\nTrigger: a{}\nAction: deny\nSeverity: LOW\n",
        "==a".repeat(n)
    )
}

#[test]
fn item02_rendering_stops_after_a_bounded_number_of_diagnostics_per_file() {
    for n in [1_000, 4_000] {
        let Err(d) = RuleSet::from_source("long.rules", &chained(n)) else {
            panic!("accepted")
        };
        assert!(
            d.error_count() > MAX_RENDERED_PER_FILE,
            "{}",
            d.error_count()
        );
        let text = d.render(false);
        // Each rendered diagnostic starts with `error[`; the rest are counted.
        assert_eq!(text.matches("error[").count(), MAX_RENDERED_PER_FILE);
        let more = d.error_count() - MAX_RENDERED_PER_FILE;
        assert!(
            text.contains(&format!(
                "note: {more} more errors and 0 more warnings in `long.rules` not shown"
            )),
            "{}",
            &text[text.len().saturating_sub(400)..]
        );
        // Bounded output: the same size whatever the number of errors, but
        // for the digits of the counts.
        assert!(text.len() < 40_000, "{} bytes", text.len());
    }
}

#[test]
fn item02_columns_are_character_counts_on_long_lines_of_any_text() {
    // Multi-byte characters straddling the index's checkpoints.
    let line: String = (0..3_000)
        .map(|i| ["a", "—", "é", "𝔸", " "][i % 5])
        .collect();
    let text = format!("x\n{line}\n{line}");
    let idx = LineIndex::new(&text);
    let second = text.find('\n').unwrap_or(0) + 1;
    for (offset, _) in text.char_indices().step_by(7) {
        let span = idx.span(&text, offset, offset);
        let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let col = text[line_start..offset].chars().count() + 1;
        assert_eq!(span.col as usize, col, "offset {offset}");
        let line_no = 1 + text[..offset].matches('\n').count();
        assert_eq!(span.line as usize, line_no, "offset {offset}");
        let _ = second;
    }
}

#[test]
fn item03_suggestions_are_bounded_to_names_of_reasonable_length() {
    use riskgate::lang::diagnostic::{did_you_mean, MAX_SUGGESTED_LEN};
    // Short names still get their suggestion.
    assert_eq!(did_you_mean("suspnd", ["suspend", "deny"]), Some("suspend"));
    assert_eq!(
        did_you_mean("approved", ["approved_ranges"]),
        Some("approved_ranges")
    );
    // A name past the bound gets none, however close a candidate is, and a
    // candidate past it is never aligned.
    let long = "n".repeat(MAX_SUGGESTED_LEN + 1);
    let typo = format!("{}m", &long[1..]);
    assert_eq!(did_you_mean(&typo, [long.as_str()]), None);
    assert_eq!(did_you_mean("nnn", [long.as_str()]), None);
    // A file of long list names and misspelt uses: every use is reported,
    // without suggestions.
    let mut src = String::new();
    for i in 0..20 {
        src.push_str(&format!("list L{i}{} = [10.0.0.0/8]\n", "x".repeat(2_000)));
    }
    for i in 0..20 {
        src.push_str(&format!(
            "Rule R{i}: t\nTrigger: from IP in L{i}{}y\nAction: deny\nSeverity: LOW\n\n",
            "x".repeat(1_999)
        ));
    }
    let Err(d) = RuleSet::from_source("long-names.rules", &src) else {
        panic!("accepted")
    };
    let unknown: Vec<_> = d.items.iter().filter(|i| i.code == "E0201").collect();
    assert_eq!(unknown.len(), 20);
    assert!(unknown
        .iter()
        .all(|i| !i.help.as_deref().unwrap_or("").contains("did you mean")));
}

/// Runs `f` on another thread and returns its result, or fails the test if
/// it has not returned after a minute: a guard so that a regression hangs
/// no CI run (the bound asserted is the error, not the time).
fn without_hanging<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("blocked on a FIFO"))
}

fn fifo(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("adversarial-tmp");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    let status = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap_or_else(|e| panic!("mkfifo: {e}"));
    assert!(status.success());
    path
}

#[test]
fn item04_a_fifo_as_list_file_rules_file_or_profiles_file_is_an_error_not_a_hang() {
    let list = fifo("list.fifo");
    let src = format!(
        "list L = file \"{}\"\nRule 1: t\nTrigger: from IP in L\nAction: deny\nSeverity: LOW\n",
        list.display()
    );
    let rendered = without_hanging(move || match RuleSet::from_source("fifo.rules", &src) {
        Ok(_) => String::from("accepted"),
        Err(d) => d.render(false),
    });
    assert!(rendered.contains("error[E0308]"), "{rendered}");
    assert!(
        rendered.contains("it is a FIFO (named pipe), not a regular file"),
        "{rendered}"
    );

    let rules = fifo("rules.fifo");
    let err = without_hanging(move || match RuleSet::from_files([rules]) {
        Ok(_) => String::from("accepted"),
        Err(d) => d.render(false),
    });
    assert!(err.contains("FIFO"), "{err}");

    let profiles = fifo("profiles.fifo");
    let err =
        without_hanging(
            move || match riskgate::input::profile::Profiles::from_path(&profiles) {
                Ok(_) => String::from("accepted"),
                Err(e) => e.to_string(),
            },
        );
    assert!(err.contains("FIFO"), "{err}");
}

fn load_with(src: &str, limits: &riskgate::Limits) -> Result<RuleSet, riskgate::Diagnostics> {
    RuleSet::from_sources(vec![("t.rules".into(), None, src.into())], limits)
}

fn matches_rules(patterns: impl Iterator<Item = String>) -> String {
    patterns
        .enumerate()
        .map(|(i, p)| {
            format!("Rule R{i}: t\nTrigger: user_agent matches \"{p}\"\nAction: deny\nSeverity: LOW\n\n")
        })
        .collect()
}

#[test]
fn item06_regexes_share_a_total_budget_and_identical_ones_compile_once() {
    let limits = riskgate::Limits {
        max_regex_bytes: 4 << 20,
        ..riskgate::Limits::default()
    };
    // 2,000 copies of one pattern: compiled and charged once.
    let same = matches_rules((0..2_000).map(|_| r"\w{20}".to_string()));
    assert!(load_with(&same, &limits).is_ok());
    // 200 distinct patterns: past the budget, an E0102 at the first regex
    // that does not fit, not gigabytes.
    let distinct = matches_rules((0..200).map(|i| format!(r"\w{{8}}-{i}")));
    let Err(d) = load_with(&distinct, &limits) else {
        panic!("accepted past the regex budget")
    };
    let over: Vec<_> = d
        .items
        .iter()
        .filter(|i| i.code == "E0102" && i.message.contains("regexes of this rule set"))
        .collect();
    assert!(!over.is_empty(), "{}", d.render(false));
    // The default budget takes a realistic rule set of distinct patterns.
    let few = matches_rules((0..20).map(|i| format!(r"^svc-{i}-\w+$")));
    assert!(load_with(&few, &riskgate::Limits::default()).is_ok());
}

#[test]
fn item07_a_list_file_named_many_times_is_read_and_counted_once() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("adversarial-tmp");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.join("l10k.txt");
    let items: String = (0..10_000)
        .map(|i| format!("10.{}.{}.0/24\n", i / 256, i % 256))
        .collect();
    std::fs::write(&file, format!("\u{feff}{items}")).unwrap_or_else(|e| panic!("{e}"));
    let limits = riskgate::Limits {
        max_total_list_items: 50_000,
        ..riskgate::Limits::default()
    };
    let mut src: String = (0..200)
        .map(|i| format!("list L{i} = file \"{}\"\n", file.display()))
        .collect();
    src.push_str(
        "Rule 1: t\nTrigger: from IP in L0 or from IP in L199\nAction: deny\nSeverity: LOW\n",
    );
    let set = load_with(&src, &limits).unwrap_or_else(|d| panic!("{}", d.render(false)));
    // One list of 10,000 items held, not 200 copies.
    assert_eq!(set.program().lists.len(), 1);
    // Distinct lists count toward the total: six inline lists of 10,000.
    let inline: String = (0..6)
        .map(|i| {
            let items: Vec<String> = (0..10_000).map(|k| format!("\"s{i}-{k}\"")).collect();
            format!("list S{i} = [{}]\n", items.join(", "))
        })
        .collect();
    let Err(d) = load_with(&inline, &limits) else {
        panic!("accepted past the total item budget")
    };
    assert!(d
        .render(false)
        .contains("more than the limit of 50000 items in all"));
}

#[test]
fn item19_a_byte_order_mark_starts_a_rules_file_or_a_profiles_file() {
    let src =
        "\u{feff}Rule 1: t\nTrigger: from IP not in [10.0.0.0/8]\nAction: deny\nSeverity: LOW\n";
    let set =
        RuleSet::from_source("bom.rules", src).unwrap_or_else(|d| panic!("{}", d.render(false)));
    assert_eq!(set.program().rules.len(), 1);
    let profiles = riskgate::input::profile::Profiles::from_json_str(
        "\u{feff}{\"agent_id\": \"a\", \"scopes\": []}",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(profiles.len(), 1);
}

#[test]
fn item20_numbers_are_printed_in_a_bounded_form_and_huge_literals_are_refused() {
    use riskgate::num::Num;
    assert_eq!(Num::Float(1e308).to_string(), "1e308");
    assert_eq!(Num::Float(-2.5e20).to_string(), "-2.5e20");
    assert_eq!(Num::Float(12.5).to_string(), "12.5");
    assert!(Num::Float(f64::MAX).to_string().len() < 30);
    let src = format!(
        "Rule 1: t\nTrigger: asn > {}\nAction: deny\nSeverity: LOW\n",
        "1".repeat(50)
    );
    let Err(d) = RuleSet::from_source("n.rules", &src) else {
        panic!("a 50-digit literal was accepted")
    };
    assert!(
        d.render(false).contains("is out of range"),
        "{}",
        d.render(false)
    );
    // 18 digits are still exact.
    let src = "Rule 1: t\nTrigger: asn > 999999999999999999\nAction: deny\nSeverity: LOW\n";
    assert!(RuleSet::from_source("n.rules", src).is_ok());
}
