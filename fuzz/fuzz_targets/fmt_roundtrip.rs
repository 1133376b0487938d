//! Structured syntax trees built from the fuzz input: format, parse the text
//! back, and compare (spans and layout are ignored by the AST's equality):
//!
//! - `format(ast)` parses without any diagnostic;
//! - `parse(format(ast)) == ast`;
//! - `format(parse(format(ast))) == format(ast)` (a fixed point).
//!
//! The AST types have no `arbitrary` derives, so the tree is built here from
//! the bytes with `arbitrary::Unstructured`, by a generator that follows the
//! proptest generator of `tests/format_roundtrip.rs`: it makes only trees the
//! parser can produce (`Expr::Paren` exactly where precedence needs it,
//! n-ary operators never directly holding their own kind, only phrases
//! juxtaposed, no unary minus on a number literal, comments only where the
//! parser attaches them, bare list strings only when they read back as
//! strings). It reaches every form of the language: composite keys
//! `by (a, b)`, `where` scopes in `count`, `distinct`, `first_seen`,
//! `first`, `previous` and `since`, `sequence(...) within W by K`, stateful
//! calls followed by `by`, `zscore`/`stddev` calls, paths with indexes and
//! quoted keys, `json(...)` with a path after it.

#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use arbitrary::{Result, Unstructured};
use ipnet::IpNet;
use libfuzzer_sys::fuzz_target;
use riskgate::lang::ast::*;
use riskgate::lang::diagnostic::Diagnostic;
use riskgate::lang::format::format_file;
use riskgate::lang::path::write_segments;
use riskgate::lang::syntax::{parse_file, slug};
use riskgate::Limits;

type U<'a, 'b> = &'b mut Unstructured<'a>;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn sp<T>(node: T) -> Spanned<T> {
    Spanned::new(node, Span::default())
}

fn boxed(e: Expr) -> Box<Spanned<Expr>> {
    Box::new(sp(e))
}

fn layout(words: Vec<String>) -> Layout {
    Layout {
        words,
        ..Layout::default()
    }
}

/// An index in `0..weights.len()`, with the given weights; the first choice
/// when the input runs out.
fn pick(u: U, weights: &[u32]) -> Result<usize> {
    let total: u32 = weights.iter().sum();
    let mut x = u.int_in_range(0..=total.saturating_sub(1))?;
    for (i, &w) in weights.iter().enumerate() {
        if x < w {
            return Ok(i);
        }
        x -= w;
    }
    Ok(0)
}

fn select<T: Clone>(u: U, options: &[T]) -> Result<T> {
    Ok(u.choose(options)?.clone())
}

fn chance(u: U, in_ten: u8) -> Result<bool> {
    Ok(u.int_in_range(0..=9u8)? < in_ten)
}

/// Characters of a regex-like class given as inclusive ranges.
fn class_char(u: U, ranges: &[(char, char)]) -> Result<char> {
    let sizes: Vec<u32> = ranges
        .iter()
        .map(|&(a, b)| u32::from(b) - u32::from(a) + 1)
        .collect();
    let i = pick(u, &sizes)?;
    let (a, b) = ranges[i];
    let c = u.int_in_range(u32::from(a)..=u32::from(b))?;
    Ok(char::from_u32(c).unwrap_or(a))
}

/// `[first][rest]{min..=max}`
fn word(
    u: U,
    first: &[(char, char)],
    rest: &[(char, char)],
    min: usize,
    max: usize,
) -> Result<String> {
    let mut s = String::new();
    if !first.is_empty() {
        s.push(class_char(u, first)?);
    }
    let n = u.int_in_range(min..=max)?;
    for _ in 0..n {
        s.push(class_char(u, rest)?);
    }
    Ok(s)
}

const LOWER: (char, char) = ('a', 'z');
const UPPER: (char, char) = ('A', 'Z');
const DIGIT: (char, char) = ('0', '9');
const UNDERSCORE: (char, char) = ('_', '_');
const PRINTABLE: (char, char) = (' ', '~');

/// Words the grammar reserves: never a list name, field or day.
const RESERVED: &[&str] = &[
    "and",
    "or",
    "not",
    "in",
    "matches",
    "starts_with",
    "ends_with",
    "contains",
    "from",
    "outside",
    "within",
    "on",
    "includes",
    "over",
    "by",
    "true",
    "false",
    "service_app",
    "user",
    "agent",
    "authentication",
];

fn is_reserved(w: &str) -> bool {
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(w))
}

/// A keyword as an author may spell it: as given, lower, upper or capitalised.
fn cased(u: U, w: &str) -> Result<String> {
    Ok(match u.int_in_range(0..=3u8)? {
        0 => w.to_string(),
        1 => w.to_lowercase(),
        2 => w.to_uppercase(),
        _ => {
            let lower = w.to_lowercase();
            let mut chars = lower.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
    })
}

/// A comment as the parser keeps it: `#`, no line break, no trailing space.
fn comment(u: U) -> Result<String> {
    let body = word(u, &[], &[PRINTABLE, ('é', 'é'), ('—', '—')], 0, 16)?;
    Ok(format!("#{body}").trim_end().to_string())
}

fn comments(u: U, max: usize) -> Result<Vec<String>> {
    if pick(u, &[3, 1])? == 0 {
        return Ok(Vec::new());
    }
    let n = u.int_in_range(1..=max)?;
    (0..n).map(|_| comment(u)).collect()
}

fn opt_comment(u: U) -> Result<Option<String>> {
    Ok(if pick(u, &[3, 1])? == 0 {
        None
    } else {
        Some(comment(u)?)
    })
}

/// Characters for strings: plain text, the characters that need escaping, and
/// any Unicode scalar value.
fn string_char(u: U) -> Result<char> {
    Ok(match pick(u, &[6, 2, 1])? {
        0 => class_char(u, &[LOWER])?,
        1 => select(
            u,
            &[
                '"', '\\', '\n', '\t', '\r', '#', ',', '[', ']', '(', ')', ' ', ':', '.', '/', '-',
                'd', 'n', 't', 'r', '{', '}', '*', '—', 'é', '\u{feff}', '\u{2028}', '\0',
            ],
        )?,
        _ => u.arbitrary::<char>()?,
    })
}

fn any_string(u: U) -> Result<String> {
    let n = u.int_in_range(0..=11usize)?;
    (0..n).map(|_| string_char(u)).collect()
}

/// Scope-like strings (`servicenow:incidents:create`), mostly bare-safe.
fn scope_string(u: U) -> Result<String> {
    word(
        u,
        &[LOWER],
        &[
            LOWER,
            DIGIT,
            ('_', '_'),
            ('.', '.'),
            (':', ':'),
            ('*', '*'),
            ('/', '/'),
            ('-', '-'),
        ],
        0,
        20,
    )
}

/// Strings that look like other values when written bare.
fn tricky_string(u: U) -> Result<String> {
    Ok(select(
        u,
        &[
            "1.2.3",
            "1.2.3.4.5",
            "a:b:c",
            "dead:beef::",
            "::",
            "10.0.0.256",
            "10.0.0.0/33",
            "1/2",
            "1.",
            ".5",
            "007",
            "1e5",
            "-3",
            "09:00",
            "30s",
            "true",
            "and",
            "rule",
            "\u{feff}x",
            "x\u{feff}",
            "\\d+",
        ],
    )?
    .to_string())
}

fn name(u: U) -> Result<String> {
    let n = word(
        u,
        &[UPPER, LOWER, UNDERSCORE],
        &[UPPER, LOWER, DIGIT, UNDERSCORE],
        0,
        10,
    )?;
    Ok(if is_reserved(&n) { format!("{n}_") } else { n })
}

/// One to three path segments: bare keys, keys that need quotes, indexes.
fn segments(u: U) -> Result<Vec<Segment>> {
    let n = u.int_in_range(1..=3usize)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(match u.int_in_range(0..=4u8)? {
            0 => Segment::Key(word(u, &[], &[UPPER, LOWER, DIGIT, UNDERSCORE], 1, 6)?),
            1 => Segment::Key(u.arbitrary::<String>()?),
            2 => Segment::Index(u.int_in_range(-3..=20i64)?),
            3 => Segment::Key(
                select(
                    u,
                    &["client.ipAddress", "New Device", " New Geo-Location", ""],
                )?
                .to_string(),
            ),
            _ => Segment::Index(u.arbitrary::<i64>()?),
        });
    }
    Ok(out)
}

fn path(u: U) -> Result<String> {
    if pick(u, &[1, 1])? == 0 {
        return Ok(select(
            u,
            &[
                "ip",
                "agent.id",
                "actor",
                "event.type",
                "scopes",
                "granted_scopes",
                "outcome",
                "country",
                "asn",
                "user_agent",
                "grant_type",
                "auth.method",
                "cert.issuer",
                "cert.age_days",
                "token.lifetime_minutes",
                "secret.age_days",
                "device_posture",
                "requests_per_minute",
                "baseline",
                "agent.scopes",
                "agent.token_lifetime_minutes",
                "attr.actor.alternateId",
                "attr.debugContext.debugData.privilegeGranted",
                "hour",
                "weekday",
                "hour_of_week",
                "date",
            ],
        )?
        .to_string());
    }
    if u.arbitrary::<bool>()? {
        // `attr.` with indexes and quoted keys, in canonical text.
        let mut text = String::from("attr");
        write_segments(&mut text, &segments(u)?);
        return Ok(text);
    }
    let mut parts = vec![name(u)?];
    let n = u.int_in_range(0..=2usize)?;
    for _ in 0..n {
        parts.push(word(u, &[], &[UPPER, LOWER, DIGIT, UNDERSCORE], 1, 6)?);
    }
    Ok(parts.join("."))
}

// ---------------------------------------------------------------------------
// Literals
// ---------------------------------------------------------------------------

fn num_text(n: f64) -> Literal {
    Literal::Num(n, format!("{n}"))
}

/// A finite non-negative number, as the parser reads it back.
fn non_negative(u: U) -> Result<f64> {
    let n = if pick(u, &[1, 1])? == 0 {
        u.int_in_range(0..=99u32)?
    } else {
        u.int_in_range(0..=99_999u32)?
    };
    Ok(match u.int_in_range(0..=2u8)? {
        0 => f64::from(n),
        1 => f64::from(n) / 100.0,
        _ => f64::from(n) * 1e12,
    })
}

fn ipv4(u: U) -> Result<Ipv4Addr> {
    Ok(Ipv4Addr::from(u.arbitrary::<[u8; 4]>()?))
}

fn ipv6(u: U) -> Result<Ipv6Addr> {
    Ok(match u.int_in_range(0..=4u8)? {
        0 => Ipv6Addr::from(u.arbitrary::<[u16; 8]>()?),
        1 => {
            // Zero runs, so that `::` forms appear.
            let mut segs = [0u16; 8];
            segs[0] = u.arbitrary()?;
            let at = u.int_in_range(0..=7usize)?;
            segs[at] = u.arbitrary()?;
            Ipv6Addr::from(segs)
        }
        2 => ipv4(u)?.to_ipv6_mapped(),
        3 => Ipv6Addr::LOCALHOST,
        _ => Ipv6Addr::UNSPECIFIED,
    })
}

fn ip(u: U) -> Result<IpAddr> {
    Ok(if u.arbitrary::<bool>()? {
        IpAddr::V6(ipv6(u)?)
    } else {
        IpAddr::V4(ipv4(u)?)
    })
}

fn cidr(u: U) -> Result<IpNet> {
    let net = if u.arbitrary::<bool>()? {
        let a = ipv6(u)?;
        IpNet::new(IpAddr::V6(a), u.int_in_range(0..=128u8)?)
    } else {
        let a = ipv4(u)?;
        IpNet::new(IpAddr::V4(a), u.int_in_range(0..=32u8)?)
    };
    Ok(net.unwrap_or_default())
}

fn duration(u: U) -> Result<Literal> {
    let n = u.int_in_range(0..=999u64)?;
    let (unit, mult) = select(
        u,
        &[
            ("ms", 1),
            ("s", 1_000),
            ("m", 60_000),
            ("h", 3_600_000),
            ("d", 86_400_000),
            ("w", 604_800_000),
        ],
    )?;
    Ok(Literal::Duration(n * mult, format!("{n}{unit}")))
}

/// A list item: what a `[...]` can hold (bare strings only when they read back
/// as strings).
fn list_item(u: U) -> Result<Literal> {
    Ok(match u.int_in_range(0..=3u8)? {
        0 => Literal::Cidr(cidr(u)?),
        1 => Literal::Ip(ip(u)?),
        2 => num_text(non_negative(u)?),
        _ => {
            let s = match u.int_in_range(0..=2u8)? {
                0 => scope_string(u)?,
                1 => any_string(u)?,
                _ => tricky_string(u)?,
            };
            let bare = u.arbitrary::<bool>()? && is_bare_safe(&s);
            Literal::Str(s, bare)
        }
    })
}

fn list_items(u: U) -> Result<Vec<Spanned<Literal>>> {
    let n = u.int_in_range(0..=4usize)?;
    (0..n).map(|_| list_item(u).map(sp)).collect()
}

/// A literal in an expression.
fn literal(u: U) -> Result<Literal> {
    Ok(match u.int_in_range(0..=7u8)? {
        0 => num_text(non_negative(u)?),
        1 => num_text(-non_negative(u)?),
        2 => Literal::Str(any_string(u)?, false),
        3 => Literal::Ip(ip(u)?),
        4 => Literal::Cidr(cidr(u)?),
        5 => Literal::Time(u.int_in_range(0..=1439u16)?),
        6 => duration(u)?,
        _ => Literal::Bool(u.arbitrary()?),
    })
}

// ---------------------------------------------------------------------------
// Phrases
// ---------------------------------------------------------------------------

fn zone(u: U) -> Result<Option<Spanned<String>>> {
    if !u.arbitrary::<bool>()? {
        return Ok(None);
    }
    let z = select(
        u,
        &[
            "UTC",
            "utc",
            "Z",
            "GMT",
            "America/New_York",
            "Europe/Berlin",
            "Asia/Kolkata",
            "Etc/GMT+5",
            "+05:30",
            "-08:00",
            "+1",
        ],
    )?;
    Ok(Some(sp(z.to_string())))
}

/// The list of a `from IP in L` / `includes scope in L` phrase: a name or `[...]`.
fn phrase_list(u: U) -> Result<Box<Spanned<Expr>>> {
    Ok(if u.arbitrary::<bool>()? {
        boxed(Expr::Path(name(u)?))
    } else {
        boxed(Expr::List(list_items(u)?))
    })
}

fn phrase(u: U) -> Result<Expr> {
    Ok(match u.int_in_range(0..=3u8)? {
        0 => {
            let kind = if u.arbitrary::<bool>()? {
                Some(select(
                    u,
                    &[
                        ActorPhrase::ServiceApp,
                        ActorPhrase::User,
                        ActorPhrase::Agent,
                    ],
                )?)
            } else {
                None
            };
            let category = select(
                u,
                &[
                    CategoryPhrase::Authentication,
                    CategoryPhrase::TokenRequest,
                    CategoryPhrase::ApiCall,
                    CategoryPhrase::AdminChange,
                ],
            )?;
            let mut words: Vec<&str> = kind.iter().map(|k| k.as_str()).collect();
            words.extend(category.as_str().split(' '));
            let mut out = Vec::new();
            for w in words {
                out.push(match u.int_in_range(0..=3u8)? {
                    0 => w.to_uppercase(),
                    1 => w.to_lowercase(),
                    _ => w.to_string(),
                });
            }
            Expr::Phrase(Phrase::Actor { kind, category }, layout(out))
        }
        1 => {
            let from = u.arbitrary::<bool>()?;
            let negated = u.arbitrary::<bool>()?;
            let list = phrase_list(u)?;
            let mut words = if from {
                vec![cased(u, "from")?, cased(u, "IP")?]
            } else {
                vec![cased(u, "includes")?, cased(u, "scope")?]
            };
            if negated {
                words.push(cased(u, "not")?);
            }
            words.push(cased(u, "in")?);
            let ph = if from {
                Phrase::FromIp { negated, list }
            } else {
                Phrase::IncludesScope { negated, list }
            };
            Expr::Phrase(ph, layout(words))
        }
        2 => {
            let outside = u.arbitrary::<bool>()?;
            let start = u.int_in_range(0..=1439u16)?;
            let len = u.int_in_range(1..=1439u16)?;
            let end = (start + len) % 1440;
            let zone = zone(u)?;
            let w = cased(u, if outside { "outside" } else { "within" })?;
            Expr::Phrase(
                Phrase::TimeOfDay {
                    outside,
                    start,
                    end,
                    zone,
                },
                layout(vec![w]),
            )
        }
        _ => {
            let n = u.int_in_range(1..=3usize)?;
            let mut days = Vec::new();
            for _ in 0..n {
                let d = select(
                    u,
                    &[
                        "weekends", "weekdays", "Mon", "Tue", "wed", "Thursday", "FRI", "Sat",
                        "sun",
                    ],
                )?;
                days.push(sp(d.to_string()));
            }
            let zone = zone(u)?;
            let on = cased(u, "on")?;
            Expr::Phrase(Phrase::Days { days, zone }, layout(vec![on]))
        }
    })
}

/// An operand that may stand in a juxtaposition: a phrase or `NOT` phrase.
fn juxt_operand(u: U) -> Result<Expr> {
    Ok(if pick(u, &[3, 1])? == 0 {
        phrase(u)?
    } else {
        let p = phrase(u)?;
        Expr::Not(boxed(p), layout(vec![cased(u, "NOT")?]))
    })
}

// ---------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------

fn count(
    cond: Option<Expr>,
    scope: Option<Expr>,
    window: Literal,
    by: Option<ByKey>,
    words: [String; 3],
) -> Expr {
    let [c, o, b] = words;
    let mut words = vec![c, o];
    if by.is_some() {
        words.push(b);
    }
    Expr::Count {
        // `where` only inside the parentheses of a condition.
        scope: scope.filter(|_| cond.is_some()).map(boxed),
        cond: cond.map(boxed),
        window: boxed(Expr::Lit(window)),
        by,
        layout: layout(words),
    }
}

fn count_words(u: U) -> Result<[String; 3]> {
    Ok([cased(u, "count")?, cased(u, "over")?, cased(u, "by")?])
}

/// `by f` or `by (f, g, ...)`.
fn by_key(u: U) -> Result<ByKey> {
    let n = u.int_in_range(1..=3usize)?;
    let mut fields = Vec::with_capacity(n);
    for _ in 0..n {
        fields.push(sp(path(u)?));
    }
    let paren = u.arbitrary::<bool>()? || n > 1;
    Ok(ByKey { fields, paren })
}

fn opt_by_key(u: U) -> Result<Option<ByKey>> {
    Ok(if u.arbitrary::<bool>()? {
        Some(by_key(u)?)
    } else {
        None
    })
}

/// An optional expression (a `where` scope), `depth` levels deep at most.
fn opt_expr(u: U, depth: u32) -> Result<Option<Expr>> {
    Ok(if u.arbitrary::<bool>()? {
        Some(expr_tree(u, depth)?)
    } else {
        None
    })
}

fn leaf(u: U) -> Result<Expr> {
    Ok(match pick(u, &[3, 3, 1, 3, 1, 1])? {
        0 => Expr::Path(path(u)?),
        1 => Expr::Lit(literal(u)?),
        2 => Expr::List(list_items(u)?),
        3 => phrase(u)?,
        4 => {
            let f = path(u)?;
            let w = duration(u)?;
            let d = cased(u, "distinct")?;
            let o = cased(u, "over")?;
            Expr::Distinct {
                field: boxed(Expr::Path(f)),
                scope: None,
                window: boxed(Expr::Lit(w)),
                by: None,
                layout: layout(vec![d, o]),
            }
        }
        _ => {
            let w = duration(u)?;
            let by = opt_by_key(u)?;
            count(None, None, w, by, count_words(u)?)
        }
    })
}

/// An operand of an n-ary operator: its operator spelling, and sometimes a line
/// break before it, with comments (cleared for the first operand).
fn operand(u: U, e: Expr, op: &str) -> Result<Operand> {
    let word = cased(u, op)?;
    let newline = chance(u, 3)?;
    Ok(Operand {
        expr: sp(e),
        layout: if newline {
            Layout {
                leading: comments(u, 2)?,
                trailing: opt_comment(u)?,
                newline,
                words: vec![word],
            }
        } else {
            layout(vec![word])
        },
    })
}

fn operands(u: U, depth: u32, op: &str, juxt: bool) -> Result<Vec<Operand>> {
    let n = u.int_in_range(2..=3usize)?;
    let mut ops = Vec::with_capacity(n);
    for i in 0..n {
        let e = if juxt {
            juxt_operand(u)?
        } else {
            expr_tree(u, depth)?
        };
        let mut o = operand(u, e, op)?;
        if i == 0 {
            o.layout = Layout::default();
        }
        ops.push(o);
    }
    Ok(ops)
}

/// An unfixed tree: `depth` levels of operators at most.
fn expr_tree(u: U, depth: u32) -> Result<Expr> {
    if depth == 0 {
        return leaf(u);
    }
    let d = depth - 1;
    // Index 0 (a leaf) is what an exhausted input gives: the tree ends.
    Ok(
        match pick(u, &[8, 2, 2, 2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1])? {
            0 => leaf(u)?,
            1 => Expr::Or(operands(u, d, "OR", false)?),
            2 => Expr::And(operands(u, d, "AND", false)?),
            3 => Expr::Juxt(operands(u, d, "", true)?),
            4 => {
                let e = expr_tree(u, d)?;
                Expr::Not(boxed(e), layout(vec![cased(u, "NOT")?]))
            }
            5 => {
                let op = select(
                    u,
                    &[
                        CmpOp::Eq,
                        CmpOp::Ne,
                        CmpOp::Lt,
                        CmpOp::Le,
                        CmpOp::Gt,
                        CmpOp::Ge,
                    ],
                )?;
                let a = expr_tree(u, d)?;
                let b = expr_tree(u, d)?;
                Expr::Cmp(op, boxed(a), boxed(b))
            }
            6 => {
                let negated = u.arbitrary::<bool>()?;
                let a = expr_tree(u, d)?;
                let b = expr_tree(u, d)?;
                let not = cased(u, "not")?;
                let inn = cased(u, "in")?;
                Expr::In {
                    negated,
                    item: boxed(a),
                    list: boxed(b),
                    layout: layout(if negated { vec![not, inn] } else { vec![inn] }),
                }
            }
            7 => {
                let op = select(
                    u,
                    &[
                        StrOp::Matches,
                        StrOp::StartsWith,
                        StrOp::EndsWith,
                        StrOp::Contains,
                    ],
                )?;
                let a = expr_tree(u, d)?;
                let b = expr_tree(u, d)?;
                let w = match u.int_in_range(0..=2u8)? {
                    0 => op.as_str().to_uppercase(),
                    _ => op.as_str().to_string(),
                };
                Expr::Str(op, boxed(a), boxed(b), layout(vec![w]))
            }
            8 => {
                let op = select(u, &[ArithOp::Add, ArithOp::Sub, ArithOp::Mul, ArithOp::Div])?;
                let a = expr_tree(u, d)?;
                let b = expr_tree(u, d)?;
                Expr::Arith(op, boxed(a), boxed(b))
            }
            9 => Expr::Neg(boxed(expr_tree(u, d)?)),
            10 => Expr::Paren(boxed(expr_tree(u, d)?)),
            11 => {
                let n = select(
                    u,
                    &[
                        "min",
                        "max",
                        "abs",
                        "len",
                        "exists",
                        "missing",
                        "first_seen",
                        "baseline",
                        "any",
                        "since",
                        "first",
                        "previous",
                        "zscore",
                        "stddev",
                        "json",
                        "similarity",
                        "hour",
                        "weekday",
                        "hour_of_week",
                        "date",
                    ],
                )?;
                let k = u.int_in_range(0..=2usize)?;
                let mut args = Vec::with_capacity(k);
                for _ in 0..k {
                    args.push(sp(expr_tree(u, d)?));
                }
                let call = Expr::Call(sp(n.to_string()), args);
                // A path after a call (`json(x)."New Device"[0]`).
                if u.arbitrary::<bool>()? {
                    Expr::Access(boxed(call), segments(u)?)
                } else {
                    call
                }
            }
            12 => {
                let cond = expr_tree(u, d)?;
                let scope = opt_expr(u, d)?;
                let w = duration(u)?;
                let by = opt_by_key(u)?;
                count(Some(cond), scope, w, by, count_words(u)?)
            }
            13 => {
                // `distinct(F [where cond]) over W [by K]`
                let f = path(u)?;
                let scope = opt_expr(u, d)?;
                let w = duration(u)?;
                let by = opt_by_key(u)?;
                let dw = cased(u, "distinct")?;
                let wh = cased(u, "where")?;
                Expr::Distinct {
                    field: boxed(Expr::Path(f)),
                    scope: scope.map(boxed),
                    window: boxed(Expr::Lit(w)),
                    by,
                    layout: layout(vec![dw, wh]),
                }
            }
            14 => {
                // `sequence(c1, ..., cn) within W [by K]`
                let n = u.int_in_range(1..=3usize)?;
                let mut steps = Vec::with_capacity(n);
                for _ in 0..n {
                    steps.push(sp(expr_tree(u, d)?));
                }
                let w = duration(u)?;
                let by = opt_by_key(u)?;
                let sq = cased(u, "sequence")?;
                let wi = cased(u, "within")?;
                Expr::Sequence {
                    steps,
                    within: boxed(Expr::Lit(w)),
                    by,
                    layout: layout(vec![sq, wi]),
                }
            }
            _ => {
                // A stateful call: `first_seen(v where c, R) by K`, `since(c) by K`,
                // `first(v where c)`, `previous(v) by (K1, K2)`.
                let n = select(u, &["first_seen", "since", "first", "previous"])?;
                let first = expr_tree(u, d)?;
                let first = match opt_expr(u, d)? {
                    Some(c) => {
                        Expr::Scoped(boxed(first), boxed(c), layout(vec![cased(u, "where")?]))
                    }
                    None => first,
                };
                let k = u.int_in_range(0..=1usize)?;
                let mut args = vec![sp(first)];
                for _ in 0..k {
                    args.push(sp(expr_tree(u, d)?));
                }
                let call = Expr::Call(sp(n.to_string()), args);
                match opt_by_key(u)? {
                    Some(by) => Expr::By(boxed(call), by, layout(vec![cased(u, "by")?])),
                    None => call,
                }
            }
        },
    )
}

fn expr(u: U) -> Result<Expr> {
    Ok(fix(expr_tree(u, 4)?))
}

/// Binding strength: 1 OR, 2 AND, 3 juxtaposition, 4 NOT, 5 comparison,
/// 6 `+ -`, 7 `* /`, 8 unary minus (and negative number literals), 9 atoms.
fn prec(e: &Expr) -> u8 {
    match e {
        Expr::Or(_) => 1,
        Expr::And(_) => 2,
        Expr::Juxt(_) => 3,
        Expr::Not(..) => 4,
        Expr::Cmp(..) | Expr::In { .. } | Expr::Str(..) => 5,
        Expr::Arith(ArithOp::Add | ArithOp::Sub, ..) => 6,
        Expr::Arith(ArithOp::Mul | ArithOp::Div, ..) => 7,
        Expr::Neg(_) => 8,
        Expr::Lit(Literal::Num(n, _)) if n.is_sign_negative() => 8,
        _ => 9,
    }
}

/// `e`, in parentheses when it binds looser than `min`.
fn at_least(e: Spanned<Expr>, min: u8) -> Spanned<Expr> {
    let e = sp(fix(e.node));
    if prec(&e.node) < min {
        sp(Expr::Paren(Box::new(e)))
    } else {
        e
    }
}

#[allow(clippy::boxed_local)] // takes the AST's own `Box` field and gives one back
fn at_least_box(e: Box<Spanned<Expr>>, min: u8) -> Box<Spanned<Expr>> {
    Box::new(at_least(*e, min))
}

/// True when `e` is written ending with a day phrase, whose `,` list would run
/// on into a following call argument (`max(on Mon, x)` reads `on Mon,x`).
fn ends_with_days(e: &Expr) -> bool {
    match e {
        Expr::Phrase(Phrase::Days { .. }, _) => true,
        Expr::Or(ops) | Expr::And(ops) | Expr::Juxt(ops) => {
            ops.last().is_some_and(|o| ends_with_days(&o.expr.node))
        }
        Expr::Not(a, _) | Expr::Neg(a) => ends_with_days(&a.node),
        Expr::Cmp(_, _, b) | Expr::Arith(_, _, b) | Expr::Str(_, _, b, _) => {
            ends_with_days(&b.node)
        }
        Expr::In { list, .. } => ends_with_days(&list.node),
        _ => false,
    }
}

/// Inserts the parentheses precedence requires and folds `-<number>`.
fn fix(e: Expr) -> Expr {
    let ops = |ops: Vec<Operand>, min: u8| -> Vec<Operand> {
        ops.into_iter()
            .map(|o| Operand {
                expr: at_least(o.expr, min),
                layout: o.layout,
            })
            .collect()
    };
    match e {
        Expr::Or(o) => Expr::Or(ops(o, 2)),
        Expr::And(o) => Expr::And(ops(o, 3)),
        Expr::Juxt(o) => Expr::Juxt(ops(o, 4)),
        Expr::Not(a, l) => Expr::Not(at_least_box(a, 4), l),
        Expr::Cmp(op, a, b) => Expr::Cmp(op, at_least_box(a, 6), at_least_box(b, 6)),
        Expr::In {
            negated,
            item,
            list,
            layout,
        } => Expr::In {
            negated,
            item: at_least_box(item, 6),
            list: at_least_box(list, 6),
            layout,
        },
        Expr::Str(op, a, b, l) => Expr::Str(op, at_least_box(a, 6), at_least_box(b, 6), l),
        Expr::Arith(op @ (ArithOp::Add | ArithOp::Sub), a, b) => {
            Expr::Arith(op, at_least_box(a, 6), at_least_box(b, 7))
        }
        Expr::Arith(op, a, b) => Expr::Arith(op, at_least_box(a, 7), at_least_box(b, 8)),
        Expr::Neg(a) => match fix(a.node) {
            Expr::Lit(Literal::Num(n, _)) => Expr::Lit(num_text(-n)),
            inner => Expr::Neg(at_least_box(boxed(inner), 8)),
        },
        Expr::Paren(a) => Expr::Paren(boxed(fix(a.node))),
        Expr::Call(name, args) => {
            let n = args.len();
            let args = args
                .into_iter()
                .enumerate()
                .map(|(i, a)| {
                    let a = sp(fix(a.node));
                    if i + 1 < n && ends_with_days(&a.node) {
                        sp(Expr::Paren(Box::new(a)))
                    } else {
                        a
                    }
                })
                .collect();
            Expr::Call(name, args)
        }
        Expr::Access(base, segs) => Expr::Access(boxed(fix(base.node)), segs),
        Expr::Count {
            cond,
            scope,
            window,
            by,
            layout,
        } => Expr::Count {
            cond: cond.map(|c| boxed(fix(c.node))),
            scope: scope.map(|c| boxed(fix(c.node))),
            window,
            by,
            layout,
        },
        Expr::Distinct {
            field,
            scope,
            window,
            by,
            layout,
        } => Expr::Distinct {
            field,
            scope: scope.map(|c| boxed(fix(c.node))),
            window,
            by,
            layout,
        },
        Expr::Sequence {
            steps,
            within,
            by,
            layout,
        } => {
            let n = steps.len();
            let steps = steps
                .into_iter()
                .enumerate()
                .map(|(i, a)| {
                    let a = sp(fix(a.node));
                    if i + 1 < n && ends_with_days(&a.node) {
                        sp(Expr::Paren(Box::new(a)))
                    } else {
                        a
                    }
                })
                .collect();
            Expr::Sequence {
                steps,
                within,
                by,
                layout,
            }
        }
        Expr::Scoped(value, cond, layout) => {
            // The value ends before `where` (a reserved word); a trailing day
            // list in the scope would run on into a following argument.
            let cond = sp(fix(cond.node));
            let cond = if ends_with_days(&cond.node) {
                sp(Expr::Paren(Box::new(cond)))
            } else {
                cond
            };
            Expr::Scoped(boxed(fix(value.node)), Box::new(cond), layout)
        }
        Expr::By(call, by, layout) => Expr::By(boxed(fix(call.node)), by, layout),
        other => other,
    }
}

// ---------------------------------------------------------------------------
// Clauses, rules, lists, files
// ---------------------------------------------------------------------------

fn action(u: U) -> Result<Spanned<Action>> {
    let mut words: Vec<String> = if u.arbitrary::<bool>()? {
        select(
            u,
            &[
                &["deny"][..],
                &["suspend_token"],
                &["suspend"],
                &["flag_for_review"],
                &["allow"],
                &["revoke_sessions"],
                &["alert"],
                &["immediate", "alert"],
                &["alert", "security", "team"],
                &["immediate", "alert", "security", "team"],
            ],
        )?
        .iter()
        .map(|w| w.to_string())
        .collect()
    } else {
        let n = u.int_in_range(0..=3usize)?;
        let mut w = Vec::new();
        for _ in 0..n {
            w.push(word(
                u,
                &[UPPER, LOWER, UNDERSCORE],
                &[UPPER, LOWER, DIGIT, UNDERSCORE, ('-', '-')],
                0,
                10,
            )?);
        }
        w
    };
    let quoted = if u.arbitrary::<bool>()? {
        Some(if u.arbitrary::<bool>()? {
            "#sec-oncall".to_string()
        } else {
            any_string(u)?
        })
    } else {
        None
    };
    // An action has a word or a channel.
    if words.is_empty() && quoted.is_none() {
        words.push("deny".to_string());
    }
    Ok(sp(Action { words, quoted }))
}

/// A tag as the parser keeps it: trimmed, without `,`, `#` or line breaks.
fn tag(u: U) -> Result<String> {
    let t = if u.arbitrary::<bool>()? {
        select(
            u,
            &[
                "T1078.004",
                "T1528",
                "attack.credential_access",
                "nhi",
                "MITRE ATT&CK T1098",
            ],
        )?
        .to_string()
    } else {
        word(
            u,
            &[],
            &[
                UPPER,
                LOWER,
                DIGIT,
                UNDERSCORE,
                ('.', '.'),
                (':', ':'),
                ('/', '/'),
                (' ', ' '),
                ('&', '&'),
                ('é', 'é'),
                ('-', '-'),
            ],
            1,
            12,
        )?
    };
    let t = t.trim().to_string();
    Ok(if t.is_empty() { "t".to_string() } else { t })
}

fn value_word(u: U, options: &[&str]) -> Result<Spanned<String>> {
    let w = if pick(u, &[4, 1])? == 0 {
        select(u, options)?.to_string()
    } else {
        word(
            u,
            &[],
            &[
                UPPER,
                LOWER,
                DIGIT,
                UNDERSCORE,
                ('.', '.'),
                (':', ':'),
                ('/', '/'),
                ('-', '-'),
            ],
            1,
            10,
        )?
    };
    Ok(sp(w))
}

const KNOWN_CLAUSES: &[&str] = &[
    "trigger", "unless", "action", "severity", "mode", "cooldown", "tags", "rule", "list",
];

fn clause(u: U) -> Result<Clause> {
    let body = match pick(u, &[4, 2, 3, 2, 1, 1, 1, 1])? {
        0 => ClauseBody::Trigger(sp(expr(u)?)),
        1 => ClauseBody::Unless(sp(expr(u)?)),
        2 => {
            let n = u.int_in_range(1..=3usize)?;
            let mut actions = Vec::new();
            for _ in 0..n {
                actions.push(action(u)?);
            }
            ClauseBody::Action(actions)
        }
        3 => ClauseBody::Severity(value_word(
            u,
            &["LOW", "MEDIUM", "HIGH", "CRITICAL", "high"],
        )?),
        4 => ClauseBody::Mode(value_word(u, &["enforce", "shadow", "SHADOW"])?),
        5 => ClauseBody::Cooldown(value_word(u, &["15m", "1h", "30s", "1d"])?),
        6 => {
            let n = u.int_in_range(1..=3usize)?;
            let mut tags = Vec::new();
            for _ in 0..n {
                tags.push(sp(tag(u)?));
            }
            ClauseBody::Tags(tags)
        }
        _ => {
            let mut n = word(u, &[UPPER, LOWER], &[UPPER, LOWER, UNDERSCORE], 0, 8)?;
            if KNOWN_CLAUSES.iter().any(|k| k.eq_ignore_ascii_case(&n)) {
                n.insert(0, 'X');
            }
            // A `#` right after the colon starts a comment, not the text.
            let text = if u.arbitrary::<bool>()? {
                let first = class_char(u, &[('!', '"'), ('$', '~')])?;
                let rest = word(u, &[], &[PRINTABLE], 0, 19)?;
                format!("{first}{rest}").trim().to_string()
            } else {
                String::new()
            };
            ClauseBody::Unknown { name: sp(n), text }
        }
    };
    let mut clause = Clause {
        body,
        layout: Layout::default(),
        span: Span::default(),
    };
    let style = u.int_in_range(0..=3u8)?;
    let leading = comments(u, 2)?;
    let trailing = opt_comment(u)?;
    let name = clause.kind().name();
    if clause.kind() != ClauseKind::Unknown {
        let word = match style {
            0 => name.to_uppercase(),
            1 => name.to_lowercase(),
            _ => name.to_string(),
        };
        clause.layout.words = vec![word];
        // The rest of an unknown clause's line is its text, comments included.
        clause.layout.trailing = trailing;
    }
    clause.layout.leading = leading;
    Ok(clause)
}

/// A rule title as the parser keeps it: trimmed, one line.
fn title(u: U) -> Result<String> {
    let t = if u.arbitrary::<bool>()? {
        select(
            u,
            &[
                "New network for agent credentials",
                "Unusual hours",
                "Scope escalation attempt",
                "Token — lifetime > policy",
            ],
        )?
        .to_string()
    } else {
        word(u, &[], &[PRINTABLE, ('é', 'é'), ('—', '—')], 1, 24)?
    };
    let t = t.trim().to_string();
    Ok(if t.is_empty() { "T".to_string() } else { t })
}

fn rule(u: U) -> Result<Rule> {
    let (id, title, header) = if u.arbitrary::<bool>()? {
        let id = word(
            u,
            &[UPPER, LOWER, DIGIT, UNDERSCORE],
            &[UPPER, LOWER, DIGIT, UNDERSCORE, ('.', '.'), ('-', '-')],
            0,
            8,
        )?;
        let title = if u.arbitrary::<bool>()? {
            Some(title(u)?)
        } else {
            None
        };
        (id, title, HeaderForm::Id)
    } else {
        let mut t = if u.arbitrary::<bool>()? {
            title(u)?
        } else {
            any_string(u)?
        };
        // A quoted title needs a letter or digit.
        if slug(&t).is_empty() {
            t.push('T');
        }
        (slug(&t), Some(t), HeaderForm::Quoted)
    };
    let n = u.int_in_range(0..=5usize)?;
    let mut clauses = Vec::new();
    for _ in 0..n {
        clauses.push(clause(u)?);
    }
    let kw = cased(u, "Rule")?;
    let leading = comments(u, 2)?;
    let trailing = opt_comment(u)?;
    // After `Rule 1 — Title`, a `#` is part of the title.
    let trailing = if header == HeaderForm::Id && title.is_some() {
        None
    } else {
        trailing
    };
    Ok(Rule {
        id: sp(id),
        title,
        header,
        clauses,
        layout: Layout {
            leading,
            trailing,
            newline: false,
            words: vec![kw],
        },
        span: Span::default(),
    })
}

fn list_decl(u: U) -> Result<ListDecl> {
    let value = match pick(u, &[3, 1, 1])? {
        0 => ListValue::Items(list_items(u)?),
        1 => ListValue::File(sp(any_string(u)?)),
        _ => ListValue::Field(sp(select(
            u,
            &[
                "agent.scopes",
                "agent.excluded_scopes",
                "agent.allowed_countries",
                "agent.owner_team",
            ],
        )?
        .to_string())),
    };
    let name = name(u)?;
    let mut words = vec![cased(u, "list")?];
    if matches!(value, ListValue::File(_)) {
        words.push(cased(u, "file")?);
    }
    let leading = comments(u, 2)?;
    let trailing = opt_comment(u)?;
    Ok(ListDecl {
        name: sp(name),
        value,
        layout: Layout {
            leading,
            trailing,
            newline: false,
            words,
        },
        span: Span::default(),
    })
}

/// `metric NAME = <expr>`: any expression parses (the checker decides
/// which are metrics), with line breaks and comments as in triggers.
fn metric_decl(u: U) -> Result<MetricDecl> {
    let name = name(u)?;
    let value = if pick(u, &[2, 1])? == 0 {
        leaf(u)?
    } else {
        expr(u)?
    };
    let words = vec![cased(u, "metric")?];
    let leading = comments(u, 2)?;
    let trailing = opt_comment(u)?;
    Ok(MetricDecl {
        name: sp(name),
        value: sp(fix(value)),
        layout: Layout {
            leading,
            trailing,
            newline: false,
            words,
        },
        span: Span::default(),
    })
}

fn rule_file(u: U) -> Result<RuleFile> {
    let n = u.int_in_range(0..=5usize)?;
    let mut items = Vec::new();
    for _ in 0..n {
        items.push(match pick(u, &[1, 1, 2])? {
            0 => Item::List(list_decl(u)?),
            1 => Item::Metric(metric_decl(u)?),
            _ => Item::Rule(rule(u)?),
        });
    }
    Ok(RuleFile {
        items,
        trailing_comments: comments(u, 2)?,
    })
}

// ---------------------------------------------------------------------------
// The property
// ---------------------------------------------------------------------------

fn messages(diags: &[Diagnostic]) -> Vec<String> {
    diags
        .iter()
        .map(|d| format!("{}:{}: {} {}", d.span.line, d.span.col, d.code, d.message))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(file) = rule_file(&mut u) else {
        return;
    };
    let name: Arc<str> = Arc::from("gen.rules");
    let limits = Limits::default();
    let text = format_file(&file);
    let (parsed, diags) = parse_file(&name, &text, &limits);
    assert!(
        diags.is_empty(),
        "diagnostics {:?} for\n{text}",
        messages(&diags)
    );
    assert!(
        parsed == file,
        "the text parses to another tree\n--- text\n{text}\n--- generated\n{file:#?}\n--- parsed\n{parsed:#?}"
    );
    let again = format_file(&parsed);
    assert!(
        again == text,
        "formatting is not a fixed point\n--- first\n{text}\n--- second\n{again}"
    );
});
