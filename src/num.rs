//! Numbers that compare exactly: a rational of two `i128` while it fits, a
//! float after that.
//!
//! Baseline comparisons must not flip by rounding (`41 > 4.2 * 3`
//! is `41 > 12.6`, exactly). Literals are read from their decimal text,
//! counts and baselines are integers and integer ratios, so everything the
//! rules compute with is exact unless a value comes from a JSON float.
//!
//! ```
//! use riskgate::num::Num;
//! let lhs = Num::int(41);
//! let rhs = Num::parse_decimal("4.2").unwrap().mul(Num::int(3));
//! assert!(lhs > rhs);
//! assert_eq!(Num::parse_decimal("0.1").unwrap().add(Num::parse_decimal("0.2").unwrap()),
//!            Num::parse_decimal("0.3").unwrap());
//! ```

use std::cmp::Ordering;
use std::fmt;

/// An exact rational (`num / den`, `den > 0`, not necessarily reduced) or a float.
#[derive(Debug, Clone, Copy)]
pub enum Num {
    /// `num / den` with `den > 0`.
    Ratio(i128, i128),
    /// A float (from JSON, or after an overflow).
    Float(f64),
}

impl Num {
    /// An integer.
    pub fn int(n: i64) -> Num {
        Num::Ratio(i128::from(n), 1)
    }

    /// From an unsigned count.
    pub fn count(n: u64) -> Num {
        Num::Ratio(i128::from(n), 1)
    }

    /// The ratio `num / den` (a float if `den` is 0, which callers avoid).
    pub fn ratio(num: u64, den: u64) -> Num {
        if den == 0 {
            return Num::Float(f64::NAN);
        }
        Num::Ratio(i128::from(num), i128::from(den)).reduce()
    }

    /// From a float: exact when it is an integer or a short binary fraction.
    pub fn from_f64(f: f64) -> Num {
        if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e30 {
            return Num::Ratio(f as i128, 1);
        }
        Num::Float(f)
    }

    /// Parses decimal text (`42`, `4.2`, `-0.25`) exactly.
    pub fn parse_decimal(s: &str) -> Option<Num> {
        let (neg, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.is_empty()
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let mut num: i128 = 0;
        let mut den: i128 = 1;
        for b in int.bytes().chain(frac.bytes()) {
            num = num.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
        }
        for _ in frac.bytes() {
            den = den.checked_mul(10)?;
        }
        Some(Num::Ratio(if neg { -num } else { num }, den).reduce())
    }

    /// As a float.
    pub fn to_f64(self) -> f64 {
        match self {
            Num::Ratio(n, d) => n as f64 / d as f64,
            Num::Float(f) => f,
        }
    }

    fn reduce(self) -> Num {
        match self {
            Num::Ratio(n, d) => {
                let g = gcd(n.unsigned_abs(), d.unsigned_abs());
                if g > 1 {
                    let g = g as i128;
                    Num::Ratio(n / g, d / g)
                } else {
                    self
                }
            }
            f => f,
        }
    }

    fn op(
        self,
        other: Num,
        exact: impl Fn(i128, i128, i128, i128) -> Option<(i128, i128)>,
        float: impl Fn(f64, f64) -> f64,
    ) -> Num {
        match (self, other) {
            (Num::Ratio(a, b), Num::Ratio(c, d)) => match exact(a, b, c, d) {
                Some((n, den)) if den > 0 => Num::Ratio(n, den).reduce(),
                Some((n, den)) if den < 0 => match (n.checked_neg(), den.checked_neg()) {
                    (Some(n), Some(den)) => Num::Ratio(n, den).reduce(),
                    _ => Num::Float(float(self.to_f64(), other.to_f64())),
                },
                Some(_) => Num::Float(f64::NAN),
                None => Num::Float(float(self.to_f64(), other.to_f64())),
            },
            _ => Num::Float(float(self.to_f64(), other.to_f64())),
        }
    }

    /// `self + other`
    #[allow(clippy::should_implement_trait)]
    pub fn add(self, other: Num) -> Num {
        self.op(
            other,
            |a, b, c, d| {
                Some((
                    a.checked_mul(d)?.checked_add(c.checked_mul(b)?)?,
                    b.checked_mul(d)?,
                ))
            },
            |x, y| x + y,
        )
    }
    /// `self - other`
    #[allow(clippy::should_implement_trait)]
    pub fn sub(self, other: Num) -> Num {
        self.op(
            other,
            |a, b, c, d| {
                Some((
                    a.checked_mul(d)?.checked_sub(c.checked_mul(b)?)?,
                    b.checked_mul(d)?,
                ))
            },
            |x, y| x - y,
        )
    }
    /// `self * other`
    #[allow(clippy::should_implement_trait)]
    pub fn mul(self, other: Num) -> Num {
        self.op(
            other,
            |a, b, c, d| Some((a.checked_mul(c)?, b.checked_mul(d)?)),
            |x, y| x * y,
        )
    }
    /// `self / other`; division by zero gives NaN, which compares as unknown.
    #[allow(clippy::should_implement_trait)]
    pub fn div(self, other: Num) -> Num {
        self.op(
            other,
            |a, b, c, d| Some((a.checked_mul(d)?, b.checked_mul(c)?)),
            |x, y| x / y,
        )
    }
    /// `-self`
    #[allow(clippy::should_implement_trait)]
    pub fn neg(self) -> Num {
        match self {
            Num::Ratio(n, d) => n
                .checked_neg()
                .map_or(Num::Float(-(n as f64) / d as f64), |n| Num::Ratio(n, d)),
            Num::Float(f) => Num::Float(-f),
        }
    }
    /// `|self|`
    pub fn abs(self) -> Num {
        if self.partial_cmp(&Num::int(0)) == Some(Ordering::Less) {
            self.neg()
        } else {
            self
        }
    }
    /// True for NaN (division by zero).
    pub fn is_nan(self) -> bool {
        matches!(self, Num::Float(f) if f.is_nan())
    }
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}

impl PartialEq for Num {
    fn eq(&self, other: &Num) -> bool {
        self.partial_cmp(other) == Some(Ordering::Equal)
    }
}

impl PartialOrd for Num {
    fn partial_cmp(&self, other: &Num) -> Option<Ordering> {
        match (*self, *other) {
            (Num::Ratio(a, b), Num::Ratio(c, d)) => match (a.checked_mul(d), c.checked_mul(b)) {
                (Some(x), Some(y)) => Some(x.cmp(&y)),
                _ => self.to_f64().partial_cmp(&other.to_f64()),
            },
            _ => self.to_f64().partial_cmp(&other.to_f64()),
        }
    }
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Num::Ratio(n, 1) => write!(f, "{n}"),
            Num::Ratio(n, d) => {
                let x = n as f64 / d as f64;
                // Short decimals print as such (4.2); others with 4 places.
                let s = format!("{x}");
                if s.len() <= 8 {
                    f.write_str(&s)
                } else {
                    write!(f, "{x:.4}")
                }
            }
            // Bounded: `1e308` is not printed as 309 digits.
            Num::Float(x) if x != 0.0 && !(1e-6..1e15).contains(&x.abs()) => write!(f, "{x:e}"),
            Num::Float(x) => write!(f, "{x}"),
        }
    }
}

// ---------------------------------------------------------------------------
// Numbers written as text in events

/// Why the text of a number in an event cannot be used (the reason of an
/// [`crate::input::event::EventError::BadValue`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NumberTextError {
    /// Not written as JSON writes a number (`NaN`, `inf`, `0x10`, `1.`, `+1`).
    #[error("not a number: expected JSON number syntax such as `12`, `-4.5` or `1e3`")]
    Syntax,
    /// Written as a number, but too large for a finite floating-point value (`1e400`).
    #[error("out of range: not a finite number")]
    NotFinite,
    /// A number, but not a non-negative integer that fits in 64 bits.
    #[error("not a non-negative integer")]
    NotUnsigned,
}

/// The JSON whitespace that may surround a JSON number (space, tab, CR, LF).
fn trim_json_whitespace(text: &str) -> &str {
    text.trim_matches([' ', '\t', '\n', '\r'])
}

/// True when `s` is a number as JSON writes one:
/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let from = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - from
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = b.get(i) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Reads a number written as text in an event (an Okta extension key such as
/// `"certAgeDays": "400"`): exactly JSON's number grammar, optionally
/// surrounded by JSON whitespace, to the value a JSON number of the same
/// text has. The one grammar for every numeric string riskgate reads, so a
/// string and a JSON number of the same text never differ.
///
/// # Errors
/// [`NumberTextError::Syntax`] for anything JSON does not write as a number
/// (`NaN`, `inf`, `infinity`, `0x1A`, `1_000`, `.5`, `+1`, `""`);
/// [`NumberTextError::NotFinite`] for a number too large for a finite `f64`
/// (`1e400`, which a JSON reader also rejects).
///
/// ```
/// use riskgate::num::{parse_number_text, NumberTextError};
/// assert_eq!(parse_number_text("400"), Ok(400.0));
/// assert_eq!(parse_number_text(" -4.5e1 "), Ok(-45.0));
/// assert_eq!(parse_number_text("NaN"), Err(NumberTextError::Syntax));
/// assert_eq!(parse_number_text("inf"), Err(NumberTextError::Syntax));
/// assert_eq!(parse_number_text("1e400"), Err(NumberTextError::NotFinite));
/// ```
pub fn parse_number_text(text: &str) -> Result<f64, NumberTextError> {
    let s = trim_json_whitespace(text);
    if !is_json_number(s) {
        return Err(NumberTextError::Syntax);
    }
    // serde_json's conversion, so that the string and the JSON number of one
    // text are the same `f64`; it rejects what overflows.
    match serde_json::from_str::<f64>(s) {
        Ok(n) if n.is_finite() => Ok(n),
        _ => Err(NumberTextError::NotFinite),
    }
}

/// [`parse_number_text`] for a non-negative integer that fits in a `u64`
/// (an autonomous system number written as a string): JSON's grammar
/// without fraction or exponent, and no minus sign.
///
/// # Errors
/// [`NumberTextError::Syntax`] as for [`parse_number_text`];
/// [`NumberTextError::NotUnsigned`] for a number with a fraction, an
/// exponent or a minus sign, or one past `u64::MAX`.
///
/// ```
/// use riskgate::num::{parse_unsigned_text, NumberTextError};
/// assert_eq!(parse_unsigned_text("16509"), Ok(16509));
/// assert_eq!(parse_unsigned_text("16509.0"), Err(NumberTextError::NotUnsigned));
/// assert_eq!(parse_unsigned_text("+16509"), Err(NumberTextError::Syntax));
/// ```
pub fn parse_unsigned_text(text: &str) -> Result<u64, NumberTextError> {
    let s = trim_json_whitespace(text);
    if !is_json_number(s) {
        return Err(NumberTextError::Syntax);
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NumberTextError::NotUnsigned);
    }
    // Only ASCII digits, as JSON writes an integer: `u64`'s own parser
    // accepts exactly these, and fails only past `u64::MAX`.
    s.parse::<u64>().map_err(|_| NumberTextError::NotUnsigned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_number_grammar() {
        for ok in [
            "0", "-0", "12", "-12", "0.5", "1e3", "1E+3", "1e-3", "12.25e2",
        ] {
            assert!(is_json_number(ok), "{ok}");
        }
        for bad in [
            "", "-", "NaN", "nan", "inf", "-inf", "infinity", "Infinity", "+1", "01", ".5", "1.",
            "1e", "1e+", "0x10", "1_000", "1 2", "١٢",
        ] {
            assert!(!is_json_number(bad), "{bad}");
        }
    }

    #[test]
    fn a_string_and_a_json_number_of_one_text_agree() {
        for text in [
            "0.1",
            "1e-7",
            "123456789.123456789",
            "2.2250738585072014e-308",
            "1e308",
        ] {
            let json: f64 = serde_json::from_str(text).expect("a JSON number");
            assert_eq!(parse_number_text(text), Ok(json), "{text}");
        }
    }
}
