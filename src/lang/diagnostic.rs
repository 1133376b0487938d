//! Diagnostics: errors and warnings about rules files, with codes, spans and
//! help, rendered rustc-style.
//!
//! Codes: `E01xx` syntax, `E02xx` names and types, `E03xx` values,
//! `Wxxxx` warnings. Lines and columns are 1-based and counted in characters.
//!
//! ```
//! use riskgate::RuleSet;
//! let err = RuleSet::from_source("x.rules", "Rule 1\nTrigger: ip in nowhere\nAction: deny\nSeverity: HIGH\n")
//!     .unwrap_err();
//! let text = err.render(false);
//! assert!(text.contains("error[E0201]: unknown list `nowhere`"));
//! assert!(text.contains(" --> x.rules:2:16"));
//! ```

use std::fmt;
use std::fmt::Write as _;
use std::sync::Arc;

use crate::lang::ast::Span;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// The rules file cannot be used.
    Error,
    /// The rules file works, but probably not as meant.
    Warning,
}

/// One finding about a rules file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub level: Level,
    /// Stable code, e.g. `E0201`.
    pub code: &'static str,
    /// Lowercase message naming the offending thing in backticks.
    pub message: String,
    /// The file it is about.
    pub file: Arc<str>,
    /// Where.
    pub span: Span,
    /// A suggestion, e.g. "did you mean `suspend_token`?".
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error.
    pub fn error(code: &'static str, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            level: Level::Error,
            code,
            message: message.into(),
            file: Arc::from(""),
            span,
            help: None,
        }
    }
    /// A warning.
    pub fn warning(code: &'static str, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            level: Level::Warning,
            ..Diagnostic::error(code, span, message)
        }
    }
    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    /// Adds a help line if there is one.
    pub fn with_help_opt(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }
    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.level == Level::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {level}[{}]: {}",
            printable(&self.file),
            self.span.line,
            self.span.col,
            self.code,
            printable(&self.message)
        )
    }
}

/// A source file, kept so diagnostics can quote it.
#[derive(Debug, Clone)]
pub struct Source {
    /// The name shown in diagnostics.
    pub name: Arc<str>,
    /// The text.
    pub text: Arc<str>,
}

/// Byte offsets of line starts, to turn offsets into 1-based (line, column in chars).
///
/// Columns count characters, found in bounded time whatever the length of
/// the line: the index keeps the number of characters before every
/// [`CHECKPOINT`]-th byte, so a column costs at most that many bytes of
/// counting (a 4 MiB one-line file with a span every few bytes is indexed
/// in linear time, not in time quadratic in the line).
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
    /// Characters in `text[..k * CHECKPOINT]`, for each `k`.
    chars_before: Vec<usize>,
}

/// Bytes between two character-count checkpoints of a [`LineIndex`].
pub const CHECKPOINT: usize = 256;

/// Characters in `bytes` of UTF-8 (any byte range: a character is counted
/// at its first byte).
fn count_chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b & 0xc0 != 0x80).count()
}

impl LineIndex {
    /// Indexes `text`.
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                starts.push(i + 1);
            }
        }
        let mut chars_before = Vec::with_capacity(text.len() / CHECKPOINT + 1);
        let mut n = 0;
        chars_before.push(0);
        for chunk in text.as_bytes().chunks(CHECKPOINT) {
            n += count_chars(chunk);
            chars_before.push(n);
        }
        LineIndex {
            starts,
            chars_before,
        }
    }

    /// Characters in `text[..offset]`, counting at most [`CHECKPOINT`] bytes.
    fn chars_to(&self, text: &str, offset: usize) -> usize {
        let offset = offset.min(text.len());
        let k = offset / CHECKPOINT;
        let base = self.chars_before.get(k).copied().unwrap_or(0);
        base + text
            .as_bytes()
            .get(k * CHECKPOINT..offset)
            .map_or(0, count_chars)
    }

    /// The span of bytes `start..end` of `text`, with line and column.
    pub fn span(&self, text: &str, start: usize, end: usize) -> Span {
        let line_idx = match self.starts.binary_search(&start) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let line_start = self.starts.get(line_idx).copied().unwrap_or(0);
        let col = self
            .chars_to(text, start)
            .saturating_sub(self.chars_to(text, line_start));
        Span {
            start,
            end: end.max(start),
            line: u32::try_from(line_idx + 1).unwrap_or(u32::MAX),
            col: u32::try_from(col + 1).unwrap_or(u32::MAX),
        }
    }
}

/// Every diagnostic of one rule set, with the sources they quote. Returned as
/// the error of loading rules; also carries warnings.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    /// Errors and warnings, sorted by file, then offset.
    pub items: Vec<Diagnostic>,
    /// The files they refer to.
    pub sources: Vec<Source>,
}

impl Diagnostics {
    /// True when at least one is an error.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }
    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }
    /// Number of warnings.
    pub fn warning_count(&self) -> usize {
        self.items.len() - self.error_count()
    }
    /// Sorts by file (in load order), then offset, then code; drops exact duplicates.
    pub fn sort(&mut self) {
        let order: Vec<Arc<str>> = self.sources.iter().map(|s| s.name.clone()).collect();
        let pos = |f: &Arc<str>| order.iter().position(|n| n == f).unwrap_or(usize::MAX);
        self.items.sort_by(|a, b| {
            (pos(&a.file), a.span.start, a.span.end, a.code, &a.message).cmp(&(
                pos(&b.file),
                b.span.start,
                b.span.end,
                b.code,
                &b.message,
            ))
        });
        self.items.dedup_by(|a, b| {
            a.file == b.file
                && a.span.start == b.span.start
                && a.code == b.code
                && a.message == b.message
        });
    }

    /// Renders every diagnostic rustc-style, then a summary line. With `color`,
    /// ANSI colours (for terminals).
    ///
    /// At most [`MAX_RENDERED_PER_FILE`] diagnostics of each file are shown
    /// in full, then one line says how many more there are (as rustc stops
    /// at an error limit): a file with a million errors renders in bounded
    /// size, and every rendered diagnostic costs at most the length of its
    /// line, so rendering is linear in the input.
    pub fn render(&self, color: bool) -> String {
        let mut out = String::new();
        let mut shown_in_file = 0usize;
        let mut i = 0;
        while let Some(d) = self.items.get(i) {
            let file_end = self
                .items
                .get(i..)
                .unwrap_or(&[])
                .iter()
                .position(|x| x.file != d.file)
                .map_or(self.items.len(), |n| i + n);
            let text = self
                .sources
                .iter()
                .find(|s| s.name == d.file)
                .map(|s| &*s.text);
            for d in self.items.get(i..file_end).unwrap_or(&[]) {
                if shown_in_file == MAX_RENDERED_PER_FILE {
                    break;
                }
                render_one(&mut out, d, text, color);
                shown_in_file += 1;
            }
            let rest = self.items.get(i + shown_in_file..file_end).unwrap_or(&[]);
            if !rest.is_empty() {
                let errors = rest.iter().filter(|d| d.is_error()).count();
                let warnings = rest.len() - errors;
                let _ = writeln!(
                    out,
                    "{}: {errors} more error{} and {warnings} more warning{} in `{}` not shown\n",
                    paint("note", BLUE, color),
                    plural(errors),
                    plural(warnings),
                    printable(&d.file)
                );
            }
            shown_in_file = 0;
            i = file_end;
        }
        let (e, w) = (self.error_count(), self.warning_count());
        if e > 0 {
            let _ = writeln!(
                out,
                "{}: could not compile due to {e} error{}{}",
                paint("error", RED, color),
                plural(e),
                if w > 0 {
                    format!("; {w} warning{} emitted", plural(w))
                } else {
                    String::new()
                }
            );
        } else if w > 0 {
            let _ = writeln!(
                out,
                "{}: {w} warning{} emitted",
                paint("warning", YELLOW, color),
                plural(w)
            );
        }
        out
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl std::error::Error for Diagnostics {}

/// Diagnostics of one file rendered in full by [`Diagnostics::render`].
pub const MAX_RENDERED_PER_FILE: usize = 50;

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[1;33m";
const BLUE: &str = "\x1b[1;34m";
const BOLD: &str = "\x1b[1m";

fn paint(s: &str, code: &str, color: bool) -> String {
    if color {
        format!("{code}{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

/// Renders one diagnostic:
///
/// ```text
/// error[E0203]: unknown action `suspnd`
///  --> x.rules:3:9
///   |
/// 3 | Action: suspnd
///   |         ^^^^^^
///   = help: did you mean `suspend_token`?
/// ```
fn render_one(out: &mut String, d: &Diagnostic, text: Option<&str>, color: bool) {
    let (label, col) = match d.level {
        Level::Error => ("error", RED),
        Level::Warning => ("warning", YELLOW),
    };
    let _ = writeln!(
        out,
        "{}{}",
        paint(&format!("{label}[{}]", d.code), col, color),
        paint(&format!(": {}", printable(&d.message)), BOLD, color)
    );
    let line_no = d.span.line.to_string();
    let pad = " ".repeat(line_no.len());
    let _ = writeln!(
        out,
        "{pad}{} {}:{}:{}",
        paint("-->", BLUE, color),
        printable(&d.file),
        d.span.line,
        d.span.col
    );
    if let Some(text) = text {
        let line_start = text
            .get(..d.span.start)
            .and_then(|s| s.rfind('\n'))
            .map_or(0, |i| i + 1);
        let line_end = text
            .get(d.span.start..)
            .and_then(|s| s.find('\n'))
            .map_or(text.len(), |i| d.span.start + i);
        let line = text
            .get(line_start..line_end)
            .unwrap_or("")
            .trim_end_matches('\r');
        let bar = paint("|", BLUE, color);
        // The caret runs from the start to the end of the span on this line
        // (at least one character).
        let before = text
            .get(line_start..d.span.start)
            .map_or(0, |s| s.chars().count());
        let end = d.span.end.min(line_end).max(d.span.start);
        let width = text
            .get(d.span.start..end)
            .map_or(0, |s| s.chars().count())
            .max(1);
        let (shown, before, width) = window(line, before, width);
        let _ = writeln!(out, "{pad} {bar}");
        let _ = writeln!(out, "{} {bar} {shown}", paint(&line_no, BLUE, color));
        let _ = writeln!(
            out,
            "{pad} {bar} {}{}",
            " ".repeat(before),
            paint(&"^".repeat(width), col, color)
        );
    }
    if let Some(help) = &d.help {
        let _ = writeln!(
            out,
            "{pad} {} help: {}",
            paint("=", BLUE, color),
            printable(help)
        );
    }
    out.push('\n');
}

/// A character as shown: tabs as spaces; other control characters as their
/// Unicode control pictures (NUL as `␀`), one column each, so none reaches
/// the terminal.
/// Characters that reorder or break the text around them (bidirectional
/// controls, line and paragraph separators) are shown as `�`.
fn visible(c: char) -> char {
    match c {
        '\t' => ' ',
        '\0'..='\u{1f}' => char::from_u32(0x2400 + u32::from(c)).unwrap_or('\u{fffd}'),
        '\u{7f}' => '\u{2421}',
        c if c.is_control() || reorders(c) => '\u{fffd}',
        c => c,
    }
}

/// Bidirectional controls (`U+202A`–`U+202E`, `U+2066`–`U+2069`, the marks
/// `U+200E`, `U+200F`, `U+061C`) and the line and paragraph separators: a
/// value holding one could make a terminal show text other than the bytes.
fn reorders(c: char) -> bool {
    matches!(
        c,
        '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{061c}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// `text` safe to print on a terminal: tabs as spaces, control characters
/// (newlines and escape sequences included) as their Unicode control
/// pictures (`␊`, `␛`), bidirectional controls and line separators as `�`.
/// Borrowed when there is nothing to replace. Every value from input that
/// the CLI prints goes through it, so no value can forge an output line or
/// drive the terminal.
///
/// ```
/// use riskgate::lang::diagnostic::printable;
/// assert_eq!(printable("evil\nline 9 DENY"), "evil\u{240a}line 9 DENY");
/// assert_eq!(printable("\u{1b}[31mred"), "\u{241b}[31mred");
/// assert_eq!(printable("abc\u{202e}fed"), "abc\u{fffd}fed");
/// assert!(matches!(printable("plain"), std::borrow::Cow::Borrowed(_)));
/// ```
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().all(|c| visible(c) == c) {
        std::borrow::Cow::Borrowed(text)
    } else {
        std::borrow::Cow::Owned(text.chars().map(visible).collect())
    }
}

/// Longest source line shown whole in a snippet, in characters.
const MAX_SHOWN: usize = 200;
/// Characters shown before the span when a long line is cut.
const CONTEXT: usize = 60;

/// The source line as shown (tabs as spaces, control characters as
/// symbols; a line longer than
/// [`MAX_SHOWN`] cut to a window around the span, with `...` where it was
/// cut, as rustc does), and the caret's column and width in it.
fn window(line: &str, before: usize, width: usize) -> (String, usize, usize) {
    let len = line.chars().count();
    if len <= MAX_SHOWN {
        return (line.chars().map(visible).collect(), before, width);
    }
    let start = before.saturating_sub(CONTEXT);
    let end = start.saturating_add(MAX_SHOWN).min(len);
    let mut shown = String::new();
    let mut caret = before - start;
    if start > 0 {
        shown.push_str("...");
        caret += 3;
    }
    shown.extend(line.chars().skip(start).take(end - start).map(visible));
    if end < len {
        shown.push_str("...");
    }
    let width = width.min(end.saturating_sub(before)).max(1);
    (shown, caret, width)
}

/// Longest name (in characters) that gets a "did you mean" suggestion, and
/// longest candidate considered: suggestions cost at most
/// `MAX_SUGGESTED_LEN²` steps per candidate, whatever names a file holds.
pub const MAX_SUGGESTED_LEN: usize = 64;

/// The candidate closest to `word` by edit distance, if it is close enough to
/// be a likely typo (case differences count as small).
///
/// Work is bounded: a word longer than [`MAX_SUGGESTED_LEN`] gets no
/// suggestion, longer candidates are skipped after a length check, and a
/// candidate whose length differs from the word's by more than the edit
/// budget is never aligned (it can only be a prefix match).
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    if word.len() > 4 * MAX_SUGGESTED_LEN {
        return None;
    }
    let n = word.chars().count();
    if n > MAX_SUGGESTED_LEN {
        return None;
    }
    let lower = word.to_ascii_lowercase();
    let max = (n / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c == word || c.len() > 4 * MAX_SUGGESTED_LEN {
            continue;
        }
        let m = c.chars().count();
        if m > MAX_SUGGESTED_LEN {
            continue;
        }
        // A prefix (`suspend` of `suspend_token`) is a likely intent too.
        let prefix = m > n && n >= 3 && c.to_ascii_lowercase().starts_with(&lower);
        let d = if c.eq_ignore_ascii_case(word) {
            0
        } else if prefix {
            m - n
        } else if m.abs_diff(n) > max {
            continue;
        } else {
            edit_distance(&lower, &c.to_ascii_lowercase())
        };
        if (d <= max || prefix) && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Edit distance in characters, counting a swap of two adjacent characters
/// as one edit (optimal string alignment), so `HIHG` is one edit from `HIGH`.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Rows i-2, i-1 and i of the distance table.
    let mut prev2: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, &ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            let mut d = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
            if i > 0 && j > 0 && ca == b[j - 1] && a[i - 1] == cb {
                d = d.min(prev2[j - 1] + 1);
            }
            cur[j + 1] = d;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_words_and_prefixes() {
        let actions = ["deny", "suspend_token", "flag_for_review", "allow", "alert"];
        assert_eq!(did_you_mean("suspend", actions), Some("suspend_token"));
        assert_eq!(did_you_mean("deyn", actions), Some("deny"));
        assert_eq!(did_you_mean("DENY", actions), Some("deny"));
        assert_eq!(did_you_mean("quarantine", actions), None);
        assert_eq!(
            did_you_mean("HIHG", ["LOW", "MEDIUM", "HIGH", "CRITICAL"]),
            Some("HIGH")
        );
    }

    #[test]
    fn a_swap_of_neighbours_is_one_edit() {
        assert_eq!(edit_distance("hihg", "high"), 1);
        assert_eq!(edit_distance("ab", "ba"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", ""), 3);
    }

    #[test]
    fn columns_count_characters() {
        let text = "Rule 1 — x\nab";
        let idx = LineIndex::new(text);
        let x = text.find('x').unwrap_or(0);
        let s = idx.span(text, x, x + 1);
        assert_eq!((s.line, s.col), (1, 10));
        let b = text.find('b').unwrap_or(0);
        assert_eq!(idx.span(text, b, b).line, 2);
    }
}
