//! The parser on hostile and broken input (SPEC §1 "nothing panics on any
//! input", STYLE "limits that make hostile input fail with an error, never with
//! a stack overflow").
//!
//! Every parse here goes through [`parse_checked`], which asserts what a
//! diagnostic must look like: a code `E0xxx` or `Wxxxx`, a span inside the text
//! on character boundaries whose line and column agree with the text, a
//! lowercase message. When a text parses without errors, its canonical form
//! must parse back to the same tree and be a fixed point of the formatter.

use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use proptest::sample::{select, Index};
use riskgate::lang::ast::RuleFile;
use riskgate::lang::diagnostic::Diagnostic;
use riskgate::lang::format::format_file;
use riskgate::lang::syntax::parse_file;
use riskgate::Limits;

// ---------------------------------------------------------------------------
// The checked parse
// ---------------------------------------------------------------------------

const FILE: &str = "robust.rules";

/// 1-based line and column (in characters) of byte `at` of `text`.
fn line_col(text: &str, at: usize) -> (u32, u32) {
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = text[line_start..at].chars().count() + 1;
    (line as u32, col as u32)
}

fn check_diagnostic(text: &str, d: &Diagnostic) {
    let code = d.code;
    let well_formed = code.len() == 5
        && (code.starts_with("E0") || code.starts_with('W'))
        && code[1..].chars().all(|c| c.is_ascii_digit());
    assert!(well_formed, "bad code {code:?} in {d:?}");
    assert_eq!(&*d.file, FILE, "{d:?}");
    let s = d.span;
    assert!(
        s.start <= s.end && s.end <= text.len(),
        "span {s:?} outside a text of {} bytes: {d:?}",
        text.len()
    );
    assert!(
        text.is_char_boundary(s.start) && text.is_char_boundary(s.end),
        "span {s:?} splits a character: {d:?}"
    );
    assert_eq!(
        (s.line, s.col),
        line_col(text, s.start),
        "line/column of {d:?}"
    );
    assert!(!d.message.is_empty(), "{d:?}");
    assert!(
        !d.message.ends_with('.'),
        "message ends with a period: {d:?}"
    );
    assert!(
        !d.message.starts_with(|c: char| c.is_ascii_uppercase()),
        "message is not lowercase: {d:?}"
    );
}

/// Parses `text` with `limits`, checks every diagnostic, and when there is no
/// error checks that formatting round-trips.
fn parse_with(text: &str, limits: &Limits) -> (RuleFile, Vec<Diagnostic>) {
    let name: Arc<str> = Arc::from(FILE);
    let (file, diags) = parse_file(&name, text, limits);
    for d in &diags {
        check_diagnostic(text, d);
    }
    if !diags.iter().any(Diagnostic::is_error) {
        let formatted = format_file(&file);
        let (again, diags2) = parse_file(&name, &formatted, limits);
        assert!(
            !diags2.iter().any(Diagnostic::is_error),
            "the canonical form of {text:?} does not parse: {diags2:?}\n{formatted}"
        );
        assert_eq!(
            again, file,
            "the canonical form of {text:?} parses differently:\n{formatted}"
        );
        assert_eq!(
            format_file(&again),
            formatted,
            "formatting {text:?} is not a fixed point"
        );
    }
    (file, diags)
}

fn parse_checked(text: &str) -> (RuleFile, Vec<Diagnostic>) {
    parse_with(text, &Limits::default())
}

fn codes(diags: &[Diagnostic]) -> Vec<&'static str> {
    diags.iter().map(|d| d.code).collect()
}

fn errors(diags: &[Diagnostic]) -> Vec<&'static str> {
    diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.code)
        .collect()
}

/// The rules files of `examples/rules/`, read once.
fn examples() -> &'static [(String, String)] {
    static EXAMPLES: OnceLock<Vec<(String, String)>> = OnceLock::new();
    EXAMPLES.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/rules");
        let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
            .expect("examples/rules exists")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("rules"))
            .map(|p| {
                let text = std::fs::read_to_string(&p).expect("readable rules file");
                (p.display().to_string(), text)
            })
            .collect();
        files.sort();
        files
    })
}

// ---------------------------------------------------------------------------
// Huge inputs, on a thread with a small stack
// ---------------------------------------------------------------------------

/// Runs `f` on a thread with a 2 MiB stack: a parser that recursed once per
/// term or bracket of the inputs below would overflow it.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .name("small-stack".into())
        .stack_size(2 << 20)
        .spawn(f)
        .expect("spawn a thread")
        .join()
        .expect("the parser neither panics nor overflows its stack")
}

/// Terms in the huge chains. The depth bound, not the term count, is what keeps
/// the stack small (before it, 20 000 terms overflowed 2 MiB); pest is slow
/// without optimisations, so debug builds use fewer terms for the costliest
/// shapes.
const HUGE: usize = 100_000;
const LARGE: usize = if cfg!(debug_assertions) {
    20_000
} else {
    100_000
};

fn rule_with_trigger(trigger: &str) -> String {
    format!("Rule 1\nTrigger: {trigger}\nAction: deny\nSeverity: HIGH\n")
}

fn huge_codes(text: String) -> Vec<&'static str> {
    on_small_stack(move || codes(&parse_checked(&text).1))
}

#[test]
fn a_100k_term_sum_is_one_depth_error() {
    let text = rule_with_trigger(&format!("requests_per_minute > {}1", "1+".repeat(HUGE)));
    assert_eq!(huge_codes(text), ["E0103"]);
}

#[test]
fn a_100k_not_run_is_one_depth_error() {
    let text = rule_with_trigger(&format!("{}ip in L", "NOT ".repeat(HUGE)));
    assert_eq!(huge_codes(text), ["E0103"]);
}

#[test]
fn a_100k_minus_run_is_one_depth_error() {
    let text = rule_with_trigger(&format!("x > {}1", "- ".repeat(HUGE)));
    assert_eq!(huge_codes(text), ["E0103"]);
}

#[test]
fn deep_brackets_are_one_depth_error() {
    for open in ["(", "[", "max(", "count(", "any(x, "] {
        let text = rule_with_trigger(&format!("{}x", open.repeat(HUGE)));
        assert_eq!(huge_codes(text), ["E0103"], "{open}");
        let text = rule_with_trigger(&format!("{}x{}", open.repeat(HUGE), ")".repeat(HUGE)));
        assert_eq!(huge_codes(text), ["E0103"], "{open}...)");
    }
    // Inside a list declaration too.
    let text = format!("list L = {}a\n", "[".repeat(HUGE));
    assert_eq!(huge_codes(text), ["E0103"]);
}

#[test]
fn huge_mixed_arithmetic_and_comparison_chains_fail_cleanly() {
    let text = rule_with_trigger(&format!("x > {}1", "1 * 2 - ".repeat(LARGE / 2)));
    assert_eq!(huge_codes(text), ["E0103"]);
    let text = rule_with_trigger(&format!("{}1", "1 == ".repeat(LARGE)));
    let got = huge_codes(text);
    assert!(
        !got.is_empty() && got.iter().all(|c| matches!(*c, "E0103" | "E0105")),
        "{got:?}"
    );
}

#[test]
fn huge_and_or_chains_stay_flat_and_parse_cleanly() {
    let ands = format!("{}ip in L", "ip in L AND ".repeat(LARGE));
    let text = rule_with_trigger(&ands);
    let (file, diags) = on_small_stack(move || parse_checked(&text));
    assert!(diags.is_empty(), "{:?}", codes(&diags));
    let trigger = file
        .rules()
        .next()
        .and_then(|r| r.trigger())
        .map(|t| &t.node);
    match trigger {
        Some(riskgate::lang::ast::Expr::And(ops)) => assert_eq!(ops.len(), LARGE + 1),
        other => panic!(
            "expected one flat AND, got {:?}",
            other.map(std::mem::discriminant)
        ),
    }
    // OR of ANDs over many lines, and juxtaposed phrases.
    let lines = "service_app authentication from IP in L\nOR ".repeat(LARGE / 10);
    let text = rule_with_trigger(&format!("{lines}token request"));
    let (_, diags) = on_small_stack(move || parse_checked(&text));
    assert!(diags.is_empty(), "{:?}", codes(&diags));
}

#[test]
fn oversized_inputs_are_limit_errors() {
    // A file past the byte limit: one error, at its start, and nothing parsed.
    let limits = Limits {
        max_file_bytes: 1_000,
        ..Limits::default()
    };
    let text = rule_with_trigger(&"ip in L AND ".repeat(200));
    let (file, diags) = parse_with(&text, &limits);
    assert_eq!(codes(&diags), ["E0102"]);
    assert_eq!((diags[0].span.line, diags[0].span.col), (1, 1));
    assert!(file.items.is_empty());
    // The default limit (4 MiB).
    let big = format!("# {}\n", "x".repeat(5 << 20));
    assert_eq!(codes(&parse_checked(&big).1), ["E0102"]);

    // Too many list items.
    let limits = Limits {
        max_list_items: 10,
        ..Limits::default()
    };
    let items: Vec<String> = (0..11).map(|i| format!("s{i}")).collect();
    let text = format!("list L = [{}]\n", items.join(", "));
    assert_eq!(codes(&parse_with(&text, &limits).1), ["E0102"]);
    let text = format!("list L = [{}]\n", items[..10].join(", "));
    assert!(parse_with(&text, &limits).1.is_empty());

    // Too many rules.
    let limits = Limits {
        max_rules: 3,
        ..Limits::default()
    };
    let rules: String = (0..4)
        .map(|i| format!("Rule {i}\nAction: deny\n\n"))
        .collect();
    let (_, diags) = parse_with(&rules, &limits);
    assert_eq!(codes(&diags), ["E0102"]);
    let three: String = (0..3)
        .map(|i| format!("Rule {i}\nAction: deny\n\n"))
        .collect();
    assert!(parse_with(&three, &limits).1.is_empty());
}

#[test]
fn many_rules_past_the_default_limit_are_one_error() {
    let n = Limits::default().max_rules + 1;
    let text: String = (0..n)
        .map(|i| format!("Rule r{i}\nTrigger: ip in L\n"))
        .collect();
    let (file, diags) = on_small_stack(move || parse_checked(&text));
    assert_eq!(codes(&diags), ["E0102"]);
    assert_eq!(file.rules().count(), n);
}

// ---------------------------------------------------------------------------
// Depth limits, exactly
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Nesting up to half the limit parses; past the limit it is exactly one
    /// E0103, whatever the nesting is made of.
    #[test]
    fn nesting_is_bounded_by_max_depth(
        n in 0usize..160,
        shape in select(vec!["paren", "not", "neg", "sum", "call", "list"]),
    ) {
        let max = Limits::default().max_depth;
        let trigger = match shape {
            "paren" => format!("{}ip in L{}", "(".repeat(n), ")".repeat(n)),
            "not" => format!("{}ip in L", "NOT ".repeat(n)),
            "neg" => format!("x > {}y", "-".repeat(n)),
            "sum" => format!("x > {}1", "1 + ".repeat(n)),
            "call" => format!("{}x{}", "max(1, ".repeat(n), ")".repeat(n)),
            _ => format!("x in {}a{}", "[".repeat(n + 1), "]".repeat(n + 1)),
        };
        let text = rule_with_trigger(&trigger);
        let (_, diags) = parse_checked(&text);
        let got = codes(&diags);
        if n > max + 1 {
            prop_assert_eq!(got, vec!["E0103"]);
        } else if shape == "list" && n > 0 {
            // Lists do not nest: a syntax error, unless too deep.
            prop_assert!(got.len() == 1 && matches!(got[0], "E0101" | "E0103"), "{:?}", got);
        } else if n <= max / 2 {
            prop_assert!(got.is_empty(), "{:?}", got);
        } else {
            prop_assert!(got.is_empty() || got == vec!["E0103"], "{:?}", got);
        }
    }
}

// ---------------------------------------------------------------------------
// Arbitrary text
// ---------------------------------------------------------------------------

/// Pieces of the language and of what breaks it.
const TOKENS: &[&str] = &[
    "Rule",
    "rule",
    "RULE",
    "list",
    "List",
    "Trigger:",
    "trigger :",
    "Unless:",
    "Action:",
    "Severity:",
    "Mode:",
    "Cooldown:",
    "Tags:",
    "Foo:",
    "AND",
    "and",
    "OR",
    "NOT",
    "not in",
    "in",
    "matches",
    "starts_with",
    "ends_with",
    "contains",
    "(",
    ")",
    "[",
    "]",
    ",",
    "+",
    "-",
    "*",
    "/",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "=",
    ":",
    "\"",
    "\"abc\"",
    "\"a\\\"b\"",
    "\"\\d+\"",
    "#",
    "# note",
    "\n",
    "\n\n",
    "\r\n",
    "\r",
    "\t",
    " ",
    "—",
    "–",
    "1",
    "2.5",
    "-3",
    "007",
    "10.0.0.0/8",
    "10.0.0.256",
    "::1",
    "2001:db8::/32",
    "fe80::1%eth0",
    "09:00",
    "25:99",
    "09:00-17:00",
    "00:00-00:00",
    "30s",
    "15m",
    "99999999999999999999d",
    "UTC",
    "EST",
    "America/New_York",
    "+05:30",
    "service_app",
    "user",
    "agent",
    "authentication",
    "token",
    "request",
    "api",
    "call",
    "admin",
    "change",
    "from",
    "IP",
    "includes",
    "scope",
    "outside",
    "within",
    "on",
    "weekends",
    "Mon,Tue",
    "count",
    "over",
    "by",
    "distinct",
    "max(",
    "min(",
    "any(",
    "first_seen(",
    "baseline",
    "baseline(",
    "ip",
    "agent.id",
    "attr.a.b",
    "agent.scopes",
    "requests_per_minute",
    "true",
    "false",
    "file",
    "L",
    "x",
    "deny",
    "suspend_token",
    "alert",
    "immediate",
    "security",
    "team",
    "HIGH",
    "shadow",
    "T1078",
    "\u{feff}",
    "é",
    "\u{0}",
    "😀",
    "\u{2028}",
    "\u{85}",
    "ﬀ",
    "İ",
    "Ⅻ",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (select(TOKENS), select(vec!["", " ", " ", " ", "\n"])),
        0..60,
    )
    .prop_map(|parts| parts.into_iter().flat_map(|(t, sep)| [t, sep]).collect())
}

fn unicode_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::char::range(' ', '~'),
            1 => select(vec!['\n', '\r', '\t', '\u{feff}', '—', '\u{0}', '\u{7f}', '\u{2028}']),
            1 => any::<char>(),
        ],
        0..200,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_give_well_formed_diagnostics(text in any::<String>()) {
        parse_checked(&text);
    }

    #[test]
    fn arbitrary_unicode_text_gives_well_formed_diagnostics(text in unicode_text()) {
        parse_checked(&text);
    }

    #[test]
    fn token_soup_gives_well_formed_diagnostics(text in token_soup()) {
        parse_checked(&text);
    }

    #[test]
    fn token_soup_inside_a_rule_gives_well_formed_diagnostics(soup in token_soup()) {
        parse_checked(&format!("Rule 1 — t\nTrigger: {soup}\nAction: deny\nSeverity: LOW\n"));
        parse_checked(&format!("list L = [{soup}]\nRule 2\nTrigger: ip in L\n"));
    }
}

// ---------------------------------------------------------------------------
// Mutated valid files
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Mutation {
    DeleteChars(Index, usize),
    InsertToken(Index, &'static str),
    InsertChar(Index, char),
    ReplaceChar(Index, char),
    DuplicateLine(Index),
    DeleteLine(Index),
    SwapLines(Index, Index),
    DeleteByte(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 1usize..8).prop_map(|(i, n)| Mutation::DeleteChars(i, n)),
        (any::<Index>(), select(TOKENS)).prop_map(|(i, t)| Mutation::InsertToken(i, t)),
        (any::<Index>(), any::<char>()).prop_map(|(i, c)| Mutation::InsertChar(i, c)),
        (any::<Index>(), any::<char>()).prop_map(|(i, c)| Mutation::ReplaceChar(i, c)),
        any::<Index>().prop_map(Mutation::DuplicateLine),
        any::<Index>().prop_map(Mutation::DeleteLine),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        any::<Index>().prop_map(Mutation::DeleteByte),
    ]
}

/// Applies `m` to `text`. Byte deletions may split a character: the result is
/// then repaired lossily, as a reader of a damaged file would see it.
fn apply(text: &str, m: &Mutation) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    match m {
        Mutation::DeleteChars(i, n) if !chars.is_empty() => {
            let at = i.index(chars.len());
            let end = (at + n).min(chars.len());
            chars.drain(at..end);
        }
        Mutation::InsertToken(i, t) => {
            let at = i.index(chars.len() + 1);
            chars.splice(at..at, t.chars());
        }
        Mutation::InsertChar(i, c) => {
            let at = i.index(chars.len() + 1);
            chars.insert(at, *c);
        }
        Mutation::ReplaceChar(i, c) if !chars.is_empty() => {
            let at = i.index(chars.len());
            chars[at] = *c;
        }
        Mutation::DuplicateLine(i) if !lines.is_empty() => {
            let at = i.index(lines.len());
            let line = lines[at].clone();
            lines.insert(at, line);
            return lines.concat();
        }
        Mutation::DeleteLine(i) if !lines.is_empty() => {
            lines.remove(i.index(lines.len()));
            return lines.concat();
        }
        Mutation::SwapLines(a, b) if !lines.is_empty() => {
            let (a, b) = (a.index(lines.len()), b.index(lines.len()));
            lines.swap(a, b);
            return lines.concat();
        }
        Mutation::DeleteByte(i) if !text.is_empty() => {
            let mut bytes = text.as_bytes().to_vec();
            bytes.remove(i.index(bytes.len()));
            return String::from_utf8_lossy(&bytes).into_owned();
        }
        _ => {}
    }
    chars.into_iter().collect()
}

#[test]
fn example_files_parse_without_diagnostics() {
    assert!(
        examples().len() >= 2,
        "expected seed.rules and agents.rules"
    );
    for (name, text) in examples() {
        let (file, diags) = parse_checked(text);
        assert!(diags.is_empty(), "{name}: {:?}", codes(&diags));
        assert!(file.rules().count() >= 3, "{name}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn mutated_example_files_give_well_formed_diagnostics(
        which in any::<Index>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let files = examples();
        let (_, text) = &files[which.index(files.len())];
        let mut text = text.clone();
        for m in &mutations {
            text = apply(&text, m);
        }
        parse_checked(&text);
    }

    /// Lines kept intact, in another order or repeated, never make the parser
    /// report anything but syntax and value errors.
    #[test]
    fn reordered_example_lines_give_well_formed_diagnostics(
        which in any::<Index>(),
        picks in prop::collection::vec(any::<Index>(), 0..40),
    ) {
        let files = examples();
        let (_, text) = &files[which.index(files.len())];
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let shuffled: String = picks.iter().map(|i| lines[i.index(lines.len())]).collect();
        parse_checked(&shuffled);
    }
}

// ---------------------------------------------------------------------------
// Valid files in many spellings
// ---------------------------------------------------------------------------

/// Trigger conditions that are valid on their own.
const TRIGGERS: &[&str] = &[
    "service_app authentication from IP not in approved_ranges",
    "service_app authentication outside 00:00-23:59 UTC\nAND requests_per_minute > baseline * 3",
    "token request includes scope NOT in approved_scope_list",
    "agent authentication\nAND (missing(ip) OR ip not in corp)",
    "count(outcome == \"FAILURE\") over 10m by ip >= 20",
    "distinct(country) over 1h > 3 AND first_seen(asn, 7d)",
    "requests_per_minute > max(baseline * 3, 20)",
    "agent admin change on weekends America/New_York",
    "any(attr.target, type == \"User\" and alternateId != attr.actor.alternateId)",
    "user_agent matches \"^curl/\\d+\" or user_agent starts_with \"python\"",
    "cert.age_days > 90 OR cert.issuer != \"internal-ca\" # mTLS",
    "token.lifetime_minutes > agent.token_lifetime_minutes",
    "NOT within 09:00-18:00 America/New_York token request",
    "-x + 2 * (y - 3) / 4 <= abs(z)",
];

fn cased_word(word: &'static str) -> impl Strategy<Value = String> {
    select(vec![0u8, 1, 2]).prop_map(move |s| match s {
        0 => word.to_string(),
        1 => word.to_lowercase(),
        _ => word.to_uppercase(),
    })
}

fn valid_rule(i: usize) -> impl Strategy<Value = (String, String, Option<String>)> {
    let id = format!("r{i}");
    (
        cased_word("Rule"),
        select(vec![" — ", " – ", " - ", ": ", ":", " "]),
        prop::option::of("[A-Za-z][A-Za-z0-9 ,.()#—-]{0,30}"),
        cased_word("Trigger"),
        select(TRIGGERS),
        cased_word("Action"),
        select(vec![
            "deny",
            "suspend_token + alert security team",
            "deny + immediate alert \"#sec\"",
            "flag",
        ]),
        select(vec!["LOW", "high", "Critical"]),
        select(vec!["", "\n", "\n# a comment\n", "\n\n\n"]),
    )
        .prop_map(
            move |(rule, sep, title, trigger_kw, trigger, action_kw, action, sev, gap)| {
                let title = title
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty());
                let header = match &title {
                    Some(t) if sep != " " => format!("{rule} {id}{sep}{t}"),
                    _ => format!("{rule} {id}"),
                };
                let text = format!(
                "{header}\n{trigger_kw}:  {trigger}{gap}\n{action_kw}: {action}\nSeverity:{sev}\n\n"
            );
                let title = title.filter(|_| sep != " ");
                (text, id.clone(), title)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Valid rules, in any keyword case, separator and spacing, parse without
    /// a diagnostic, with their ids and titles as written.
    #[test]
    fn valid_rules_in_any_spelling_parse_cleanly(
        rules in (1usize..6).prop_flat_map(|n| (0..n).map(valid_rule).collect::<Vec<_>>()),
    ) {
        let lists = "list approved_ranges = [10.0.0.0/8, 2001:db8::/32]\nlist corp = [192.168.0.0/16]\nlist approved_scope_list = agent.scopes\n\n";
        let text: String = std::iter::once(lists.to_string())
            .chain(rules.iter().map(|(t, _, _)| t.clone()))
            .collect();
        let (file, diags) = parse_checked(&text);
        prop_assert!(diags.is_empty(), "{:?} in\n{}", codes(&diags), text);
        let got: Vec<(String, Option<String>)> =
            file.rules().map(|r| (r.id.node.clone(), r.title.clone())).collect();
        let want: Vec<(String, Option<String>)> =
            rules.iter().map(|(_, id, title)| (id.clone(), title.clone())).collect();
        prop_assert_eq!(got, want);
        prop_assert_eq!(file.lists().count(), 3);
        prop_assert!(errors(&diags).is_empty());
    }
}

// ---------------------------------------------------------------------------
// Regressions
// ---------------------------------------------------------------------------

/// Inputs that once crashed or misparsed, kept as plain tests.
#[test]
fn fuzz_and_proptest_regressions() {
    let cases: &[(&str, &[&str])] = &[];
    for (text, want) in cases {
        let (_, diags) = on_small_stack({
            let text = text.to_string();
            move || {
                let (f, d) = parse_checked(&text);
                (f, d)
            }
        });
        assert_eq!(&codes(&diags), want, "{text:?}");
    }
}
