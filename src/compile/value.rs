//! Runtime values and how they compare: shared by constant folding in the
//! checker and by evaluation in the engine, so a folded comparison and an
//! evaluated one always agree.

use std::net::IpAddr;

use crate::lang::ast::CmpOp;
use crate::num::Num;

/// Three-valued truth (Kleene logic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tri {
    /// False.
    False,
    /// Unknown: an absent value was involved.
    Unknown,
    /// True.
    True,
}

impl Tri {
    /// `NOT`
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Tri {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            Tri::Unknown => Tri::Unknown,
        }
    }
    /// From a known boolean.
    pub fn from_bool(b: bool) -> Tri {
        if b {
            Tri::True
        } else {
            Tri::False
        }
    }
}

/// A runtime value. Strings borrow from the event, the program or the profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum V<'a> {
    /// No value: comparisons with it are UNKNOWN.
    Absent,
    /// A number.
    Num(Num),
    /// A string.
    Str(&'a str),
    /// An IP address.
    Ip(IpAddr),
    /// A boolean.
    Bool(bool),
    /// A time of day (minutes).
    Time(u16),
    /// A duration (ms).
    Dur(u64),
}

impl std::fmt::Display for V<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            V::Absent => f.write_str("absent"),
            V::Num(n) => write!(f, "{n}"),
            V::Str(s) => write!(f, "{s:?}"),
            V::Ip(ip) => write!(f, "{ip}"),
            V::Bool(b) => write!(f, "{b}"),
            V::Time(m) => write!(f, "{:02}:{:02}", m / 60, m % 60),
            V::Dur(d) => f.write_str(&crate::lang::ast::format_duration(*d)),
        }
    }
}

/// Compares two values; absent values and values of different types give UNKNOWN.
pub fn compare_values(op: CmpOp, a: &V<'_>, b: &V<'_>) -> Tri {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (a, b) {
        (V::Num(x), V::Num(y)) => {
            if x.is_nan() || y.is_nan() {
                None
            } else {
                x.partial_cmp(y)
            }
        }
        (V::Str(x), V::Str(y)) => Some(x.cmp(y)),
        (V::Ip(x), V::Ip(y)) => Some(canonical_ip(*x).cmp(&canonical_ip(*y))),
        (V::Ip(x), V::Str(y)) | (V::Str(y), V::Ip(x)) => {
            let parsed = y
                .parse::<IpAddr>()
                .ok()
                .map(|y| canonical_ip(y).cmp(&canonical_ip(*x)));
            // (Only equality is meaningful across the swap.)
            return match (op, parsed) {
                (CmpOp::Eq, Some(o)) => Tri::from_bool(o == Ordering::Equal),
                (CmpOp::Ne, Some(o)) => Tri::from_bool(o != Ordering::Equal),
                _ => Tri::Unknown,
            };
        }
        (V::Bool(x), V::Bool(y)) => Some(x.cmp(y)),
        (V::Time(x), V::Time(y)) => Some(x.cmp(y)),
        (V::Dur(x), V::Dur(y)) => Some(x.cmp(y)),
        _ => None,
    };
    match ord {
        None => Tri::Unknown,
        Some(o) => Tri::from_bool(match op {
            CmpOp::Eq => o == Ordering::Equal,
            CmpOp::Ne => o != Ordering::Equal,
            CmpOp::Lt => o == Ordering::Less,
            CmpOp::Le => o != Ordering::Greater,
            CmpOp::Gt => o == Ordering::Greater,
            CmpOp::Ge => o != Ordering::Less,
        }),
    }
}

/// `ip` with an IPv4-mapped IPv6 address (`::ffff:10.1.1.1`) written as the
/// IPv4 address it maps (`10.1.1.1`); any other address as it is.
///
/// ```
/// use riskgate::compile::value::canonical_ip;
/// let mapped: std::net::IpAddr = "::ffff:10.1.1.1".parse().unwrap();
/// assert_eq!(canonical_ip(mapped), "10.1.1.1".parse::<std::net::IpAddr>().unwrap());
/// let v6: std::net::IpAddr = "2001:db8::1".parse().unwrap();
/// assert_eq!(canonical_ip(v6), v6);
/// ```
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    }
}
