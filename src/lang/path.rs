//! Paths into JSON values as rules write them: `attr.target[0].alternateId`,
//! `attr.p_enrichment.ipinfo_privacy."client.ipAddress".service`,
//! `json(attr.x)."New Device"`.
//!
//! A path is kept in the syntax tree as its canonical text (the formatter's):
//! a key is quoted only when it is not a bare word of letters, digits and
//! `_`, an index is written `[n]` (negative from the end). [`segments`]
//! reads such a text back into [`Segment`]s, once, when the rules are
//! checked.

use std::fmt::Write as _;

use super::literal::write_quoted;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// An object key (`.alternateId`, `."client.ipAddress"`), matched
    /// ignoring ASCII case.
    Key(String),
    /// An array index (`[0]`; `[-1]` is the last element).
    Index(i64),
}

/// True when `key` needs quotes after a `.` (it is empty, or holds anything
/// but ASCII letters, digits and `_`).
///
/// ```
/// use riskgate::lang::path::key_needs_quotes;
/// assert!(!key_needs_quotes("alternateId"));
/// assert!(key_needs_quotes("client.ipAddress"));
/// assert!(key_needs_quotes("New Device"));
/// assert!(key_needs_quotes(""));
/// ```
pub fn key_needs_quotes(key: &str) -> bool {
    key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Writes `segments` canonically: `.key`, `."quoted key"`, `[n]`.
///
/// ```
/// use riskgate::lang::path::{write_segments, Segment};
/// let mut out = String::from("attr");
/// write_segments(&mut out, &[Segment::Key("target".into()), Segment::Index(0),
///                            Segment::Key("a b".into())]);
/// assert_eq!(out, r#"attr.target[0]."a b""#);
/// ```
pub fn write_segments(out: &mut String, segments: &[Segment]) {
    for s in segments {
        match s {
            Segment::Key(k) if key_needs_quotes(k) => {
                out.push('.');
                let _ = write_quoted(out, k);
            }
            Segment::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Segment::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
        }
    }
}

/// True when a path's canonical text has an index or a quoted key (a path
/// only `attr.` and `json(...)` take).
pub fn has_extended_segments(text: &str) -> bool {
    text.contains(['[', '"'])
}

/// Reads the segments of a path's canonical text: `target[0].alternateId`
/// (the text after `attr.`), `"client.ipAddress".service`, or a tail that
/// starts with `.` or `[` (`."New Device"`). `None` when the text is not a
/// path (the parser never makes one).
///
/// ```
/// use riskgate::lang::path::{segments, Segment};
/// assert_eq!(segments(r#"target[-1]."a.b""#), Some(vec![
///     Segment::Key("target".into()), Segment::Index(-1), Segment::Key("a.b".into())]));
/// assert_eq!(segments("[0]"), Some(vec![Segment::Index(0)]));
/// assert_eq!(segments("a..b"), None);
/// ```
pub fn segments(text: &str) -> Option<Vec<Segment>> {
    let mut out = Vec::new();
    let mut rest = text;
    // The first key needs no leading dot.
    let mut need_dot = false;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let (num, after) = r.split_once(']')?;
            out.push(Segment::Index(num.parse().ok()?));
            rest = after;
            need_dot = false;
            continue;
        }
        if need_dot || rest.starts_with('.') {
            rest = rest.strip_prefix('.')?;
        }
        if let Some(r) = rest.strip_prefix('"') {
            let (key, after) = quoted(r)?;
            out.push(Segment::Key(key));
            rest = after;
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            let (key, after) = rest.split_at(end);
            if key.is_empty() || key_needs_quotes(key) {
                return None;
            }
            out.push(Segment::Key(key.to_string()));
            rest = after;
        }
        need_dot = true;
    }
    Some(out)
}

/// The body of a quoted key (after its opening quote) unescaped as string
/// literals are, and the text after its closing quote.
fn quoted(text: &str) -> Option<(String, &str)> {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => {
                let body = text.get(..i)?;
                return Some((super::syntax::unescape(body), text.get(i + 1..)?));
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_text_reads_back_as_the_same_segments() {
        let cases = vec![
            vec![Segment::Key("a".into())],
            vec![Segment::Key("a b".into()), Segment::Index(-3)],
            vec![Segment::Key("q\"uote\\d".into()), Segment::Key("".into())],
            vec![
                Segment::Key("x".into()),
                Segment::Index(0),
                Segment::Index(1),
            ],
            vec![Segment::Key("line\nbreak".into()), Segment::Key("é".into())],
        ];
        for segs in cases {
            let mut text = String::new();
            write_segments(&mut text, &segs);
            assert_eq!(segments(&text), Some(segs.clone()), "{text}");
            // After a head (`attr`) the text is the same tail.
            let tail = text.strip_prefix('.').unwrap_or(&text);
            assert_eq!(segments(tail), Some(segs), "{tail}");
        }
    }
}
