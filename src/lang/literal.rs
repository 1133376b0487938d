//! Literal values as rules write them: numbers, strings (quoted or bare),
//! IP addresses, CIDRs, times, durations and booleans; how a bare list item
//! is classified, and how each literal prints back so that it reads the same.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

/// A literal value.
#[derive(Debug, Clone)]
pub enum Literal {
    /// A number, with its source text (kept for formatting, ignored by equality).
    Num(f64, String),
    /// A string; `bare` records that a list item was written without quotes.
    Str(String, bool),
    /// An IP address.
    Ip(IpAddr),
    /// A CIDR block.
    Cidr(IpNet),
    /// A time of day, minutes after midnight.
    Time(u16),
    /// A duration in milliseconds, with its source text.
    Duration(u64, String),
    /// `true` / `false`
    Bool(bool),
}

impl PartialEq for Literal {
    fn eq(&self, other: &Literal) -> bool {
        match (self, other) {
            (Literal::Num(a, _), Literal::Num(b, _)) => a == b,
            (Literal::Str(a, _), Literal::Str(b, _)) => a == b,
            (Literal::Ip(a), Literal::Ip(b)) => a == b,
            (Literal::Cidr(a), Literal::Cidr(b)) => a == b,
            (Literal::Time(a), Literal::Time(b)) => a == b,
            (Literal::Duration(a, _), Literal::Duration(b, _)) => a == b,
            (Literal::Bool(a), Literal::Bool(b)) => a == b,
            _ => false,
        }
    }
}

impl Literal {
    /// A short name of the literal's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Literal::Num(..) => "number",
            Literal::Str(..) => "string",
            Literal::Ip(_) => "IP address",
            Literal::Cidr(_) => "CIDR",
            Literal::Time(_) => "time",
            Literal::Duration(..) => "duration",
            Literal::Bool(_) => "boolean",
        }
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Num(n, text) => {
                if !text.is_empty() {
                    f.write_str(text)
                } else {
                    write!(f, "{n}")
                }
            }
            Literal::Str(s, bare) => {
                if *bare && is_bare_safe(s) {
                    f.write_str(s)
                } else {
                    write_quoted(f, s)
                }
            }
            Literal::Ip(ip) => write!(f, "{ip}"),
            Literal::Cidr(net) => write!(f, "{net}"),
            Literal::Time(m) => write!(f, "{:02}:{:02}", m / 60, m % 60),
            Literal::Duration(ms, text) => {
                if !text.is_empty() {
                    f.write_str(text)
                } else {
                    f.write_str(&format_duration(*ms))
                }
            }
            Literal::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// The shortest duration text for `ms` (`90d`, `15m`, `1500ms`).
pub fn format_duration(ms: u64) -> String {
    const UNITS: [(u64, &str); 6] = [
        (604_800_000, "w"),
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1_000, "s"),
        (1, "ms"),
    ];
    for (size, unit) in UNITS {
        if ms != 0 && ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    "0s".to_string()
}

/// Writes `s` as a quoted string, escaping `"` and `\` where needed so that it
/// reads back as the same string.
pub fn write_quoted(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => f.write_str("\\\"")?,
            // A backslash that cannot be read as an escape stays as it is
            // (`"\d+"` keeps its regex spelling); others are doubled.
            '\\' => match chars.peek() {
                // Doubled, too, before a character written as an escape.
                Some(n) if !matches!(n, '"' | '\\' | 'n' | 't' | 'r' | '\n' | '\t' | '\r') => {
                    f.write_char('\\')?
                }
                _ => f.write_str("\\\\")?,
            },
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\r' => f.write_str("\\r")?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// True when `s` reads back as the same bare string list item (and is not
/// taken for another kind of value).
pub fn is_bare_safe(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| {
            // U+FEFF is skipped as whitespace around list items.
            !matches!(
                c,
                ',' | '[' | ']' | '(' | ')' | '#' | '"' | '\\' | '\u{feff}'
            ) && !c.is_whitespace()
        })
        && bare_is_string(s)
}

/// The kind of a bare list item: CIDR, IP address, number, or string.
pub fn classify_bare(s: &str) -> Literal {
    bare_literal(s).unwrap_or_else(|_| Literal::Str(s.to_string(), true))
}

/// True when `s` written bare in a list reads back as the string `s`, not as
/// a CIDR, an IP address, a number or an invalid address.
pub fn bare_is_string(s: &str) -> bool {
    matches!(bare_literal(s), Ok(Literal::Str(..)))
}

pub(crate) fn bare_literal(s: &str) -> Result<Literal, (&'static str, String, Option<String>)> {
    if s.contains('/') {
        if let Ok(net) = s.parse::<IpNet>() {
            return Ok(Literal::Cidr(net));
        }
    } else if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(Literal::Ip(ip));
    }
    let numeric = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '/');
    if numeric && (s.contains('/') || s.matches('.').count() >= 2) {
        return Err(invalid_ip(s));
    }
    if numeric && s.matches('.').count() <= 1 && !s.starts_with('.') && !s.ends_with('.') {
        return number_literal(s)
            .map(|n| Literal::Num(n, s.to_string()))
            .map_err(|msg| ("E0303", msg, None));
    }
    let hexish = s
        .chars()
        .all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | '.' | '/'));
    if hexish && (s.contains("::") || s.matches(':').count() >= 2) {
        return Err(invalid_ip(s));
    }
    Ok(Literal::Str(s.to_string(), true))
}

/// Most digits before the decimal point of a number literal: every such
/// number is exact in the rationals comparisons use, and none silently
/// becomes a rounded `1e50`.
pub const MAX_INT_DIGITS: usize = 18;

/// A number literal (`digits` or `digits.digits`), or why it is refused.
pub(crate) fn number_literal(text: &str) -> Result<f64, String> {
    let int = text.split('.').next().unwrap_or("");
    if int.trim_start_matches('0').len() > MAX_INT_DIGITS {
        return Err(format!("number `{}` is out of range", excerpt(text)));
    }
    text.parse::<f64>()
        .map_err(|_| format!("invalid number `{}`", excerpt(text)))
}

/// At most 40 characters of `text`, for messages about literals of any length.
pub(crate) fn excerpt(text: &str) -> String {
    match text.char_indices().nth(40) {
        None => text.to_owned(),
        Some((at, _)) => format!("{}...", text.get(..at).unwrap_or("")),
    }
}

pub(crate) fn invalid_ip(s: &str) -> (&'static str, String, Option<String>) {
    let (what, help) = match s.split_once('/') {
        Some((addr, bits)) => {
            let max = if addr.contains(':') { 128 } else { 32 };
            let help = match bits.parse::<u32>() {
                Ok(b) if b > max => Some(format!("a prefix length is at most {max}")),
                _ => None,
            };
            ("CIDR", help)
        }
        None => ("IP address", None),
    };
    let help = help.or_else(|| {
        s.split(['.', '/'])
            .next()
            .filter(|_| !s.contains(':'))
            .and(s.split('/').next())
            .filter(|a| {
                a.split('.')
                    .any(|o| o.parse::<u32>().is_ok_and(|v| v > 255))
            })
            .map(|_| "each part of an IPv4 address is at most 255".to_string())
    });
    ("E0301", format!("invalid {what} `{s}`"), help)
}
