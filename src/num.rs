//! Numbers that compare exactly: a rational of two `i128` while it fits, a
//! float after that.
//!
//! Baseline comparisons must not flip by rounding (SPEC §2.7: `41 > 4.2 * 3`
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
            Num::Float(x) => write!(f, "{x}"),
        }
    }
}
