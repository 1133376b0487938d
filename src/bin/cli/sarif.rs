//! `riskgate check --output sarif`: diagnostics as a SARIF 2.1.0 log, the
//! format code-scanning services (GitHub, GitLab, Azure DevOps) read.
//!
//! One run, one result per diagnostic of every checked file (all of them,
//! not only the first [`MAX_RENDERED_PER_FILE`] the text output shows).
//! Columns are counted in UTF-16 code units, SARIF's default
//! `columnKind`, stated explicitly; `endColumn` is the column just past
//! the region's last character, as SARIF defines it.
//!
//! [`MAX_RENDERED_PER_FILE`]: riskgate::lang::diagnostic::MAX_RENDERED_PER_FILE

use std::collections::BTreeMap;

use serde_json::{json, Value};

use riskgate::lang::diagnostic::{Diagnostic, Diagnostics, Level};

/// The schema of SARIF 2.1.0 (OASIS errata 01).
pub const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// Short descriptions of the diagnostic codes, as in README's table.
const CODES: &[(&str, &str)] = &[
    (
        "E0100",
        "A rules file that cannot be read (missing, not UTF-8, a FIFO)",
    ),
    ("E0101", "Syntax error"),
    ("E0102", "A limit exceeded (file size, rules, list length)"),
    ("E0103", "Nesting too deep"),
    ("E0104", "Missing operator between terms"),
    ("E0105", "Chained comparisons"),
    ("E0107", "Unknown clause"),
    ("E0108", "Missing Trigger, Action or Severity"),
    ("E0109", "A clause given twice"),
    ("E0201", "Unknown list"),
    ("E0202", "Unknown field or profile field"),
    ("E0203", "Unknown action"),
    ("E0204", "Unknown severity"),
    ("E0205", "Unknown function"),
    ("E0206", "Type mismatch"),
    ("E0207", "Duplicate rule id"),
    ("E0208", "Duplicate list name"),
    ("E0209", "Two decision actions in one rule"),
    ("E0210", "baseline with no metric, or an ambiguous one"),
    ("E0211", "Wrong number of arguments"),
    (
        "E0212",
        "`in` on a list-valued field (use `includes ... in`)",
    ),
    ("E0213", "Unknown mode"),
    ("E0214", "Unknown day"),
    ("E0215", "A count condition that uses metrics"),
    ("E0220", "Duplicate metric name"),
    (
        "E0221",
        "A metric declaration that is not a stateful metric",
    ),
    ("E0222", "A metric defined by a metric"),
    (
        "E0223",
        "A metric name taken by a list, a field, a built-in metric or a function",
    ),
    (
        "E0224",
        "`where` or `by` on a metric that takes none, or a key of too many fields",
    ),
    ("E0225", "A sequence of 1 or more than 8 steps"),
    (
        "E0226",
        "A window, retention or sequence span past its limit",
    ),
    ("E0301", "Invalid IP address or CIDR"),
    ("E0302", "Invalid time"),
    ("E0303", "Invalid duration or baseline period"),
    ("E0304", "Missing or invalid time zone"),
    ("E0305", "Mixed list (IPs and strings)"),
    ("E0306", "Invalid regex"),
    ("E0307", "Empty time range"),
    ("E0308", "Unreadable list file"),
    (
        "E0309",
        "Invalid path (an index or quoted key outside attr., an index out of range)",
    ),
    ("W0001", "Trigger can never be true"),
    ("W0002", "Unless always true: the rule never fires"),
    ("W0003", "List never used"),
    ("W0004", "Metric never used"),
];

/// The short description of `code`.
fn describe(code: &str) -> String {
    CODES.iter().find(|(c, _)| *c == code).map_or_else(
        || format!("riskgate diagnostic {code}"),
        |(_, d)| (*d).to_string(),
    )
}

fn level(l: Level) -> &'static str {
    match l {
        Level::Error => "error",
        Level::Warning => "warning",
    }
}

/// Where the tool's documentation is: the package's homepage or
/// repository when Cargo.toml names one, else its documentation page.
fn information_uri() -> &'static str {
    match (env!("CARGO_PKG_HOMEPAGE"), env!("CARGO_PKG_REPOSITORY")) {
        (h, _) if !h.is_empty() => h,
        (_, r) if !r.is_empty() => r,
        _ => "https://docs.rs/riskgate",
    }
}

/// A SARIF log of the diagnostics of every checked rule set.
pub fn log<'a>(sets: impl IntoIterator<Item = &'a Diagnostics>) -> Value {
    let mut rule_index: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut rules = Vec::new();
    let mut results = Vec::new();
    for set in sets {
        for d in &set.items {
            let index = *rule_index.entry(d.code).or_insert_with(|| {
                let default = if d.code.starts_with('W') {
                    "warning"
                } else {
                    "error"
                };
                rules.push(json!({
                    "id": d.code,
                    "shortDescription": { "text": describe(d.code) },
                    "defaultConfiguration": { "level": default },
                }));
                rules.len() - 1
            });
            let text = set
                .sources
                .iter()
                .find(|s| s.name == d.file)
                .map(|s| &*s.text);
            results.push(result(d, index, text));
        }
    }
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "riskgate",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": information_uri(),
                    "rules": rules,
                }
            },
            "columnKind": "utf16CodeUnits",
            "results": results,
        }]
    })
}

fn result(d: &Diagnostic, rule_index: usize, text: Option<&str>) -> Value {
    let message = match &d.help {
        Some(help) => format!("{}\nhelp: {help}", d.message),
        None => d.message.clone(),
    };
    json!({
        "ruleId": d.code,
        "ruleIndex": rule_index,
        "level": level(d.level),
        "message": { "text": message },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": uri(&d.file) },
                "region": region(d, text),
            }
        }],
    })
}

/// UTF-16 code units in `s`.
fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// The 1-based (line, UTF-16 column) of byte `offset` of `text`, counting
/// lines as the diagnostics do (ended by `\n`); `None` when `offset` is not
/// a character boundary of `text`.
fn position(text: &str, offset: usize) -> Option<(usize, usize)> {
    let before = text.get(..offset)?;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    Some((line, utf16_len(before.get(line_start..)?) + 1))
}

/// The region of `d`: its span in `text`, at least one character wide when
/// there is a character on its line (as the text output's caret is); just
/// its start when the text is not at hand (a file that could not be read).
fn region(d: &Diagnostic, text: Option<&str>) -> Value {
    let found = text.and_then(|text| {
        let start = d.span.start;
        let mut end = d.span.end.clamp(start, text.len().max(start));
        if end == start {
            if let Some(c) = text.get(start..).and_then(|s| s.chars().next()) {
                if c != '\n' && c != '\r' {
                    end = start + c.len_utf8();
                }
            }
        }
        Some((position(text, start)?, position(text, end)?))
    });
    match found {
        Some(((start_line, start_col), (end_line, end_col))) => json!({
            "startLine": start_line,
            "startColumn": start_col,
            "endLine": end_line,
            "endColumn": end_col,
        }),
        None => json!({
            "startLine": d.span.line,
            "startColumn": d.span.col,
            "endLine": d.span.line,
            "endColumn": d.span.col,
        }),
    }
}

/// The file's name as a URI reference: relative paths stay relative (to
/// the directory `check` ran in, as code-scanning services expect), absolute
/// ones become `file://` URIs; bytes other than unreserved characters and
/// `/` are percent-encoded (a space, `%`, `#`, `:`), and `\` separators are `/`.
pub fn uri(name: &str) -> String {
    let path = if std::path::MAIN_SEPARATOR == '\\' {
        name.replace('\\', "/")
    } else {
        name.to_string()
    };
    let mut out = String::with_capacity(path.len() + 8);
    // A Windows drive (`C:/x`) is absolute too.
    let drive = path.as_bytes().get(1) == Some(&b':') && std::path::MAIN_SEPARATOR == '\\';
    if path.starts_with('/') {
        out.push_str("file://");
    } else if drive {
        out.push_str("file:///");
    }
    for (i, b) in path.bytes().enumerate() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/')
            || (drive && i == 1);
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_encoded_and_absolute_paths_are_file_uris() {
        assert_eq!(uri("rules/agents.rules"), "rules/agents.rules");
        assert_eq!(uri("my rules/50%.rules"), "my%20rules/50%25.rules");
        assert_eq!(uri("a:b#c.rules"), "a%3Ab%23c.rules");
        assert_eq!(uri("/tmp/x.rules"), "file:///tmp/x.rules");
        assert_eq!(uri("règles.rules"), "r%C3%A8gles.rules");
    }

    #[test]
    fn columns_are_utf16_code_units() {
        // `—` is one UTF-16 unit, `𝒳` two.
        let text = "Rule 1 — 𝒳 x\nab";
        let x = text.rfind('x').unwrap_or(0);
        assert_eq!(position(text, x), Some((1, 13)));
        assert_eq!(position(text, text.len()), Some((2, 3)));
        // Inside a character: no position.
        assert_eq!(position(text, "Rule 1 ".len() + 1), None);
    }

    /// Every code the library can emit has a description here: a new code
    /// needs a line in `CODES` (and in README's table).
    #[test]
    fn every_code_in_the_library_is_described() {
        let mut missing = Vec::new();
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut dirs = vec![src];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    if !p.ends_with("bin") {
                        dirs.push(p);
                    }
                    continue;
                }
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                for (i, _) in text.match_indices('"') {
                    let Some(code) = text.get(i + 1..i + 6) else {
                        continue;
                    };
                    let shaped = code.len() == 5
                        && matches!(code.as_bytes()[0], b'E' | b'W')
                        && code.bytes().skip(1).all(|b| b.is_ascii_digit())
                        && text.get(i + 6..i + 7) == Some("\"");
                    if shaped && !CODES.iter().any(|(c, _)| *c == code) {
                        missing.push(format!("{code} ({})", p.display()));
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "codes without a description: {missing:?}"
        );
    }
}
