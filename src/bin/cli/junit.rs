//! `riskgate test --junit FILE`: the cases' results as a JUnit XML report,
//! the format CI services (GitHub Actions reporters, GitLab, Jenkins) read.

use std::fmt::Write as _;

/// How one case ended.
pub enum Status {
    /// Every expectation held.
    Passed,
    /// A verdict differed from the expectation: the mismatch text.
    Failed(String),
    /// The case could not be run (invalid JSON, an unknown key, a bad
    /// event): what was wrong.
    Broken(String),
}

/// One case of the report.
pub struct Case {
    /// The case's name (or `line N`).
    pub name: String,
    /// The line of the cases file it is on.
    pub line: usize,
    /// Seconds it took.
    pub seconds: f64,
    /// How it ended.
    pub status: Status,
}

/// The report: one `<testsuite>` named after the cases file, whose name
/// every `<testcase>` carries as `classname` and `file` (with its `line`); a failed case has a `<failure>`
/// whose `message` and text are the mismatch, a case that could not be run
/// an `<error>`.
pub fn report(suite: &str, cases: &[Case], seconds: f64) -> String {
    let failures = cases
        .iter()
        .filter(|c| matches!(c.status, Status::Failed(_)))
        .count();
    let errors = cases
        .iter()
        .filter(|c| matches!(c.status, Status::Broken(_)))
        .count();
    let suite = attr(suite);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let counts = format!(
        "tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\" time=\"{seconds:.6}\"",
        cases.len()
    );
    let _ = writeln!(out, "<testsuites name=\"riskgate test\" {counts}>");
    let _ = writeln!(out, "  <testsuite name=\"{suite}\" {counts}>");
    for c in cases {
        let _ = write!(
            out,
            "    <testcase name=\"{}\" classname=\"{suite}\" file=\"{suite}\" line=\"{}\" time=\"{:.6}\"",
            attr(&c.name),
            c.line,
            c.seconds
        );
        match &c.status {
            Status::Passed => out.push_str("/>\n"),
            Status::Failed(text) | Status::Broken(text) => {
                let tag = if matches!(c.status, Status::Failed(_)) {
                    "failure"
                } else {
                    "error"
                };
                let _ = writeln!(
                    out,
                    ">\n      <{tag} message=\"{}\" type=\"{}\">{}</{tag}>\n    </testcase>",
                    attr(text),
                    if tag == "failure" {
                        "mismatch"
                    } else {
                        "invalid case"
                    },
                    body(text)
                );
            }
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// `c` as XML 1.0 allows it: the characters XML forbids (C0 controls other
/// than tab, newline and carriage return; `U+FFFE`, `U+FFFF`) have no
/// escape, not even as character references, so they are shown as their
/// Unicode control pictures (`␛`) or `�`.
fn allowed(c: char) -> char {
    match c {
        '\t' | '\n' | '\r' => c,
        '\0'..='\u{1f}' => char::from_u32(0x2400 + u32::from(c)).unwrap_or('\u{fffd}'),
        '\u{fffe}' | '\u{ffff}' => '\u{fffd}',
        c => c,
    }
}

/// `text` escaped for an attribute value in double quotes: `&`, `<`, `>`,
/// `"` and `'` as entities, tab, newline and carriage return as character
/// references (a parser would turn them into spaces otherwise).
pub fn attr(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().map(allowed) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` escaped for element content (newlines kept as they are; a
/// carriage return as a reference, which a parser would otherwise drop).
pub fn body(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().map(allowed) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_control_characters() {
        assert_eq!(
            attr("a&b<c>d\"e'f\tg\nh\u{1b}i\u{0}"),
            "a&amp;b&lt;c&gt;d&quot;e&apos;f&#9;g&#10;h\u{241b}i\u{2400}"
        );
        assert_eq!(
            body("x < y && \"z\"\n\u{7}\r"),
            "x &lt; y &amp;&amp; \"z\"\n\u{2407}&#13;"
        );
        assert_eq!(body("\u{ffff}ok\u{e9}"), "\u{fffd}ok\u{e9}");
    }

    #[test]
    fn counts_failures_and_errors_apart() {
        let case = |name: &str, status| Case {
            name: name.into(),
            line: 1,
            seconds: 0.0,
            status,
        };
        let xml = report(
            "c.jsonl",
            &[
                case("ok", Status::Passed),
                case(
                    "bad",
                    Status::Failed("- decision: deny\n+ decision: allow".into()),
                ),
                case("broken", Status::Broken("invalid JSON".into())),
            ],
            0.5,
        );
        assert!(xml.contains("<testsuite name=\"c.jsonl\" tests=\"3\" failures=\"1\" errors=\"1\" skipped=\"0\" time=\"0.500000\">"), "{xml}");
        assert!(xml.contains("<testcase name=\"ok\" classname=\"c.jsonl\" file=\"c.jsonl\" line=\"1\" time=\"0.000000\"/>"), "{xml}");
        assert!(xml.contains("<failure message=\"- decision: deny&#10;+ decision: allow\" type=\"mismatch\">- decision: deny\n+ decision: allow</failure>"), "{xml}");
        assert!(
            xml.contains(
                "<error message=\"invalid JSON\" type=\"invalid case\">invalid JSON</error>"
            ),
            "{xml}"
        );
    }
}
