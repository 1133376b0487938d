//! Property tests of the formatter (SPEC §5 `riskgate fmt`, §7.10):
//!
//! - `parse(format(ast)) == ast`, with no diagnostics, for generated well-formed
//!   syntax trees covering every item, clause, expression and phrase form;
//! - `format(parse(format(ast))) == format(ast)`: the canonical text is a fixed
//!   point, keyword spellings, comments and trigger line breaks included;
//! - every file in `examples/rules/` is already canonical.
//!
//! The generator builds trees the parser can produce: `Expr::Paren` is inserted
//! exactly where precedence requires it (loosest first: OR, AND, juxtaposition,
//! NOT, comparison, `+ -`, `* /`, unary minus), n-ary operators never directly
//! hold their own kind, only phrases (or `NOT` phrase) juxtapose, unary minus
//! never wraps a number literal (the parser folds `-3` into the literal), and
//! comments sit only where the parser attaches them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use ipnet::IpNet;
use proptest::prelude::*;
use proptest::sample::select;
use riskgate::lang::ast::*;
use riskgate::lang::format::{format_file, format_source};
use riskgate::lang::path::write_segments;
use riskgate::lang::syntax::{parse_file, slug};
use riskgate::Limits;

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
fn cased(word: &'static str) -> impl Strategy<Value = String> {
    (0..4u8).prop_map(move |style| match style {
        0 => word.to_string(),
        1 => word.to_lowercase(),
        2 => word.to_uppercase(),
        _ => {
            let lower = word.to_lowercase();
            let mut chars = lower.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
    })
}

/// A comment as the parser keeps it: `#`, no line break, no trailing space.
fn comment() -> impl Strategy<Value = String> {
    "#[ -~é—]{0,16}".prop_map(|s| s.trim_end().to_string())
}

fn comments(max: usize) -> impl Strategy<Value = Vec<String>> {
    prop_oneof![
        3 => Just(Vec::new()),
        1 => prop::collection::vec(comment(), 1..=max),
    ]
}

fn opt_comment() -> impl Strategy<Value = Option<String>> {
    prop_oneof![3 => Just(None), 1 => comment().prop_map(Some)]
}

/// Characters for strings: plain text, the characters that need escaping, and
/// any Unicode scalar value.
fn string_char() -> impl Strategy<Value = char> {
    prop_oneof![
        6 => prop::char::range('a', 'z'),
        2 => select(vec![
            '"', '\\', '\n', '\t', '\r', '#', ',', '[', ']', '(', ')', ' ', ':', '.', '/', '-',
            'd', 'n', 't', 'r', '{', '}', '*', '—', 'é', '\u{feff}', '\u{2028}', '\0',
        ]),
        1 => any::<char>(),
    ]
}

fn any_string() -> impl Strategy<Value = String> {
    prop::collection::vec(string_char(), 0..12).prop_map(|cs| cs.into_iter().collect())
}

/// Scope-like strings (`servicenow:incidents:create`), mostly bare-safe.
fn scope_string() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_.:*/-]{0,20}"
}

/// Strings that look like other values when written bare.
fn tricky_string() -> impl Strategy<Value = String> {
    select(vec![
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
    ])
    .prop_map(str::to_string)
}

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_]{0,10}".prop_filter("reserved word", |s| !is_reserved(s))
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec![
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
        ])
        .prop_map(str::to_string),
        // `attr.` paths with indexes and quoted keys, in canonical text.
        prop::collection::vec(segment(), 1..4).prop_map(|segs| {
            let mut text = String::from("attr");
            write_segments(&mut text, &segs);
            text
        }),
        (name(), prop::collection::vec("[A-Za-z0-9_]{1,6}", 0..3)).prop_map(|(first, rest)| {
            std::iter::once(first)
                .chain(rest)
                .collect::<Vec<_>>()
                .join(".")
        }),
    ]
}

/// A path segment: a bare key, a key that needs quotes, an index.
fn segment() -> impl Strategy<Value = Segment> {
    prop_oneof![
        "[A-Za-z0-9_]{1,6}".prop_map(Segment::Key),
        any_string().prop_map(Segment::Key),
        select(vec![
            "client.ipAddress",
            "New Device",
            " New Geo-Location",
            ""
        ])
        .prop_map(|k| Segment::Key(k.to_string())),
        (-3i64..20).prop_map(Segment::Index),
        any::<i64>().prop_map(Segment::Index),
    ]
}

// ---------------------------------------------------------------------------
// Literals
// ---------------------------------------------------------------------------

fn num_text(n: f64) -> Literal {
    Literal::Num(n, format!("{n}"))
}

/// A finite non-negative number, as the parser reads it back.
fn non_negative() -> impl Strategy<Value = f64> {
    prop_oneof![0u32..100, 0u32..100_000,].prop_flat_map(|n| {
        prop_oneof![
            Just(f64::from(n)),
            Just(f64::from(n) / 100.0),
            Just(f64::from(n) * 1e12)
        ]
    })
}

fn ipv4() -> impl Strategy<Value = Ipv4Addr> {
    any::<[u8; 4]>().prop_map(Ipv4Addr::from)
}

fn ipv6() -> impl Strategy<Value = Ipv6Addr> {
    prop_oneof![
        any::<[u16; 8]>().prop_map(Ipv6Addr::from),
        // Zero runs, so that `::` forms appear.
        (any::<u16>(), any::<u16>(), 0usize..8).prop_map(|(a, b, at)| {
            let mut segs = [0u16; 8];
            segs[0] = a;
            segs[at] = b;
            Ipv6Addr::from(segs)
        }),
        ipv4().prop_map(|v4| v4.to_ipv6_mapped()),
        Just(Ipv6Addr::LOCALHOST),
        Just(Ipv6Addr::UNSPECIFIED),
    ]
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![ipv4().prop_map(IpAddr::V4), ipv6().prop_map(IpAddr::V6)]
}

fn cidr() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        (ipv4(), 0u8..=32).prop_map(|(a, p)| IpNet::new(IpAddr::V4(a), p)),
        (ipv6(), 0u8..=128).prop_map(|(a, p)| IpNet::new(IpAddr::V6(a), p)),
    ]
    .prop_filter_map("valid prefix", Result::ok)
}

fn duration() -> impl Strategy<Value = Literal> {
    (0u64..1000, select(vec!["ms", "s", "m", "h", "d", "w"])).prop_map(|(n, unit)| {
        let mult = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => 604_800_000,
        };
        Literal::Duration(n * mult, format!("{n}{unit}"))
    })
}

/// A list item: what a `[...]` can hold (bare strings only when they read back
/// as strings).
fn list_item() -> impl Strategy<Value = Literal> {
    prop_oneof![
        cidr().prop_map(Literal::Cidr),
        ip().prop_map(Literal::Ip),
        non_negative().prop_map(num_text),
        (
            prop_oneof![scope_string(), any_string(), tricky_string()],
            any::<bool>()
        )
            .prop_map(|(s, bare)| {
                let bare = bare && is_bare_safe(&s);
                Literal::Str(s, bare)
            }),
    ]
}

fn list_items() -> impl Strategy<Value = Vec<Spanned<Literal>>> {
    prop::collection::vec(list_item().prop_map(sp), 0..5)
}

/// A literal in an expression.
fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        non_negative().prop_map(num_text),
        non_negative().prop_map(|n| num_text(-n)),
        any_string().prop_map(|s| Literal::Str(s, false)),
        ip().prop_map(Literal::Ip),
        cidr().prop_map(Literal::Cidr),
        (0u16..1440).prop_map(Literal::Time),
        duration(),
        any::<bool>().prop_map(Literal::Bool),
    ]
}

// ---------------------------------------------------------------------------
// Phrases
// ---------------------------------------------------------------------------

fn zone() -> impl Strategy<Value = Option<Spanned<String>>> {
    prop::option::of(
        select(vec![
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
        ])
        .prop_map(|z| sp(z.to_string())),
    )
}

/// The list of a `from IP in L` / `includes scope in L` phrase: a name or `[...]`.
fn phrase_list() -> impl Strategy<Value = Box<Spanned<Expr>>> {
    prop_oneof![
        name().prop_map(|n| boxed(Expr::Path(n))),
        list_items().prop_map(|l| boxed(Expr::List(l))),
    ]
}

fn phrase() -> impl Strategy<Value = Expr> {
    let actor = (
        prop::option::of(select(vec![
            ActorPhrase::ServiceApp,
            ActorPhrase::User,
            ActorPhrase::Agent,
        ])),
        select(vec![
            CategoryPhrase::Authentication,
            CategoryPhrase::TokenRequest,
            CategoryPhrase::ApiCall,
            CategoryPhrase::AdminChange,
        ]),
        prop::collection::vec(0..4u8, 3),
    )
        .prop_map(|(kind, category, styles)| {
            let mut words: Vec<&str> = kind.iter().map(|k| k.as_str()).collect();
            words.extend(category.as_str().split(' '));
            let words = words
                .iter()
                .zip(styles.iter().cycle())
                .map(|(w, s)| match s {
                    0 => w.to_uppercase(),
                    1 => w.to_lowercase(),
                    _ => w.to_string(),
                })
                .collect();
            Expr::Phrase(Phrase::Actor { kind, category }, layout(words))
        });
    let membership = (
        any::<bool>(),
        any::<bool>(),
        phrase_list(),
        cased("from"),
        cased("IP"),
        cased("includes"),
        cased("scope"),
        cased("not"),
        cased("in"),
    )
        .prop_map(|(from, negated, list, f, i, inc, sc, not, inn)| {
            let mut words = if from { vec![f, i] } else { vec![inc, sc] };
            if negated {
                words.push(not);
            }
            words.push(inn);
            let ph = if from {
                Phrase::FromIp { negated, list }
            } else {
                Phrase::IncludesScope { negated, list }
            };
            Expr::Phrase(ph, layout(words))
        });
    let time = (
        any::<bool>(),
        0u16..1440,
        1u16..1440,
        zone(),
        cased("outside"),
        cased("within"),
    )
        .prop_map(|(outside, start, len, zone, o, w)| {
            let end = (start + len) % 1440;
            let ph = Phrase::TimeOfDay {
                outside,
                start,
                end,
                zone,
            };
            Expr::Phrase(ph, layout(vec![if outside { o } else { w }]))
        });
    let days = (
        prop::collection::vec(
            select(vec![
                "weekends", "weekdays", "Mon", "Tue", "wed", "Thursday", "FRI", "Sat", "sun",
            ])
            .prop_map(|d| sp(d.to_string())),
            1..4,
        ),
        zone(),
        cased("on"),
    )
        .prop_map(|(days, zone, on)| Expr::Phrase(Phrase::Days { days, zone }, layout(vec![on])));
    prop_oneof![actor, membership, time, days]
}

/// An operand that may stand in a juxtaposition: a phrase or `NOT` phrase.
fn juxt_operand() -> impl Strategy<Value = Expr> {
    prop_oneof![
        3 => phrase(),
        1 => (phrase(), cased("NOT")).prop_map(|(p, not)| Expr::Not(boxed(p), layout(vec![not]))),
    ]
}

// ---------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        3 => path().prop_map(Expr::Path),
        3 => literal().prop_map(Expr::Lit),
        1 => list_items().prop_map(Expr::List),
        3 => phrase(),
        1 => (path(), duration(), cased("distinct"), cased("over")).prop_map(|(f, w, d, o)| {
            Expr::Distinct {
                field: boxed(Expr::Path(f)),
                scope: None,
                window: boxed(Expr::Lit(w)),
                by: None,
                layout: layout(vec![d, o]),
            }
        }),
        1 => (duration(), prop::option::of(by_key()), cased("count"), cased("over"), cased("by"))
            .prop_map(|(w, by, c, o, b)| count(None, None, w, by, c, o, b)),
    ]
}

/// `by f` or `by (f, g, ...)`.
fn by_key() -> impl Strategy<Value = ByKey> {
    (prop::collection::vec(path(), 1..4), any::<bool>()).prop_map(|(fields, paren)| ByKey {
        paren: paren || fields.len() > 1,
        fields: fields.into_iter().map(sp).collect(),
    })
}

fn count(
    cond: Option<Expr>,
    scope: Option<Expr>,
    window: Literal,
    by: Option<ByKey>,
    c: String,
    o: String,
    b: String,
) -> Expr {
    let mut words = vec![c, o];
    if by.is_some() {
        words.push(b);
    }
    Expr::Count {
        scope: scope.filter(|_| cond.is_some()).map(boxed),
        cond: cond.map(boxed),
        window: boxed(Expr::Lit(window)),
        by,
        layout: layout(words),
    }
}

/// An operand of an n-ary operator: its operator spelling, and sometimes a line
/// break before it, with comments (fixed up for the first operand later).
fn operand(e: impl Strategy<Value = Expr>, op: &'static str) -> impl Strategy<Value = Operand> {
    (
        e,
        cased(op),
        prop::bool::weighted(0.3),
        comments(2),
        opt_comment(),
    )
        .prop_map(|(e, word, newline, leading, trailing)| Operand {
            expr: sp(e),
            layout: if newline {
                Layout {
                    leading,
                    trailing,
                    newline,
                    words: vec![word],
                }
            } else {
                layout(vec![word])
            },
        })
}

fn first_operand_plain(mut ops: Vec<Operand>) -> Vec<Operand> {
    if let Some(first) = ops.first_mut() {
        first.layout = Layout::default();
    }
    ops
}

fn expr() -> impl Strategy<Value = Expr> {
    let tree = leaf().prop_recursive(4, 40, 4, |inner| {
        let call_names = select(vec![
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
        ]);
        let cmp = select(vec![
            CmpOp::Eq,
            CmpOp::Ne,
            CmpOp::Lt,
            CmpOp::Le,
            CmpOp::Gt,
            CmpOp::Ge,
        ]);
        let arith = select(vec![ArithOp::Add, ArithOp::Sub, ArithOp::Mul, ArithOp::Div]);
        let strop = select(vec![
            StrOp::Matches,
            StrOp::StartsWith,
            StrOp::EndsWith,
            StrOp::Contains,
        ]);
        prop_oneof![
            2 => prop::collection::vec(operand(inner.clone(), "OR"), 2..4)
                .prop_map(|ops| Expr::Or(first_operand_plain(ops))),
            2 => prop::collection::vec(operand(inner.clone(), "AND"), 2..4)
                .prop_map(|ops| Expr::And(first_operand_plain(ops))),
            2 => prop::collection::vec(operand(juxt_operand(), ""), 2..4)
                .prop_map(|ops| Expr::Juxt(first_operand_plain(ops))),
            1 => (inner.clone(), cased("NOT")).prop_map(|(e, w)| Expr::Not(boxed(e), layout(vec![w]))),
            2 => (cmp, inner.clone(), inner.clone()).prop_map(|(op, a, b)| Expr::Cmp(op, boxed(a), boxed(b))),
            1 => (any::<bool>(), inner.clone(), inner.clone(), cased("not"), cased("in")).prop_map(
                |(negated, a, b, not, inn)| Expr::In {
                    negated,
                    item: boxed(a),
                    list: boxed(b),
                    layout: layout(if negated { vec![not, inn] } else { vec![inn] }),
                }
            ),
            1 => (strop, inner.clone(), inner.clone(), 0..3u8).prop_map(|(op, a, b, style)| {
                let w = match style {
                    0 => op.as_str().to_uppercase(),
                    _ => op.as_str().to_string(),
                };
                Expr::Str(op, boxed(a), boxed(b), layout(vec![w]))
            }),
            2 => (arith, inner.clone(), inner.clone()).prop_map(|(op, a, b)| Expr::Arith(op, boxed(a), boxed(b))),
            1 => inner.clone().prop_map(|e| Expr::Neg(boxed(e))),
            1 => inner.clone().prop_map(|e| Expr::Paren(boxed(e))),
            1 => (call_names, prop::collection::vec(inner.clone(), 0..3))
                .prop_map(|(n, args)| Expr::Call(sp(n.to_string()), args.into_iter().map(sp).collect())),
            1 => (inner.clone(), prop::option::of(inner.clone()), duration(), prop::option::of(by_key()), cased("count"), cased("over"), cased("by"))
                .prop_map(|(cond, scope, w, by, c, o, b)| count(Some(cond), scope, w, by, c, o, b)),
            1 => (path(), prop::option::of(inner.clone()), duration(), prop::option::of(by_key()), cased("distinct"), cased("where"))
                .prop_map(|(f, scope, w, by, d, wh)| Expr::Distinct {
                    field: boxed(Expr::Path(f)),
                    scope: scope.map(boxed),
                    window: boxed(Expr::Lit(w)),
                    by,
                    layout: layout(vec![d, wh]),
                }),
            1 => (prop::collection::vec(inner.clone(), 1..4), duration(), prop::option::of(by_key()), cased("sequence"), cased("within"))
                .prop_map(|(steps, w, by, sq, wi)| Expr::Sequence {
                    steps: steps.into_iter().map(sp).collect(),
                    within: boxed(Expr::Lit(w)),
                    by,
                    layout: layout(vec![sq, wi]),
                }),
            1 => (select(vec!["first_seen", "since", "first", "previous"]), inner.clone(), prop::option::of(inner.clone()), prop::collection::vec(inner.clone(), 0..2), prop::option::of(by_key()), cased("where"), cased("by"))
                .prop_map(|(n, first, scope, rest, by, wh, b)| {
                    let first = match scope {
                        Some(c) => Expr::Scoped(boxed(first), boxed(c), layout(vec![wh])),
                        None => first,
                    };
                    let args = std::iter::once(first).chain(rest).map(sp).collect();
                    let call = Expr::Call(sp(n.to_string()), args);
                    match by {
                        Some(by) => Expr::By(boxed(call), by, layout(vec![b])),
                        None => call,
                    }
                }),
            // `json(x)."New Device"[0]`: a path after a call.
            1 => (inner, prop::collection::vec(segment(), 1..3)).prop_map(|(arg, segs)| {
                let call = Expr::Call(sp("json".to_string()), vec![sp(arg)]);
                Expr::Access(boxed(call), segs)
            }),
        ]
    });
    tree.prop_map(fix)
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
            // The value ends before `where`; a trailing day list would not
            // run on into `where` (a reserved word), but its scope may end
            // the argument before a `,`.
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

fn action() -> impl Strategy<Value = Spanned<Action>> {
    let words = prop_oneof![
        select(vec![
            vec!["deny"],
            vec!["suspend_token"],
            vec!["suspend"],
            vec!["flag_for_review"],
            vec!["allow"],
            vec!["revoke_sessions"],
            vec!["alert"],
            vec!["immediate", "alert"],
            vec!["alert", "security", "team"],
            vec!["immediate", "alert", "security", "team"],
        ])
        .prop_map(|w| w.into_iter().map(str::to_string).collect::<Vec<_>>()),
        prop::collection::vec("[A-Za-z_][A-Za-z0-9_-]{0,10}", 0..4),
    ];
    (
        words,
        prop::option::of(prop_oneof![Just("#sec-oncall".to_string()), any_string()]),
    )
        .prop_filter("an action has a word or a channel", |(w, q)| {
            !w.is_empty() || q.is_some()
        })
        .prop_map(|(words, quoted)| sp(Action { words, quoted }))
}

/// A tag as the parser keeps it: trimmed, without `,`, `#` or line breaks.
fn tag() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec![
            "T1078.004",
            "T1528",
            "attack.credential_access",
            "nhi",
            "MITRE ATT&CK T1098"
        ])
        .prop_map(str::to_string),
        "[A-Za-z0-9_.:/ &é-]{1,12}",
    ]
    .prop_map(|t| t.trim().to_string())
    .prop_filter("non-empty tag", |t| !t.is_empty())
}

fn value_word(options: Vec<&'static str>) -> impl Strategy<Value = Spanned<String>> {
    prop_oneof![
        4 => select(options).prop_map(str::to_string),
        1 => "[A-Za-z0-9_.:/-]{1,10}",
    ]
    .prop_map(sp)
}

const KNOWN_CLAUSES: &[&str] = &[
    "trigger", "unless", "action", "severity", "mode", "cooldown", "tags", "rule", "list",
];

fn clause() -> impl Strategy<Value = Clause> {
    let body = prop_oneof![
        4 => expr().prop_map(|e| ClauseBody::Trigger(sp(e))),
        2 => expr().prop_map(|e| ClauseBody::Unless(sp(e))),
        3 => prop::collection::vec(action(), 1..4).prop_map(ClauseBody::Action),
        2 => value_word(vec!["LOW", "MEDIUM", "HIGH", "CRITICAL", "high"]).prop_map(ClauseBody::Severity),
        1 => value_word(vec!["enforce", "shadow", "SHADOW"]).prop_map(ClauseBody::Mode),
        1 => value_word(vec!["15m", "1h", "30s", "1d"]).prop_map(ClauseBody::Cooldown),
        1 => prop::collection::vec(tag().prop_map(sp), 1..4).prop_map(ClauseBody::Tags),
        1 => (
            "[A-Za-z][A-Za-z_]{0,8}".prop_filter("unknown clause name", |n| {
                !KNOWN_CLAUSES.iter().any(|k| k.eq_ignore_ascii_case(n))
            }),
            // A `#` right after the colon starts a comment, not the text.
            "([!-\"$-~][ -~]{0,19})?",
        )
            .prop_map(|(n, t)| ClauseBody::Unknown {
                name: sp(n),
                text: t.trim().to_string(),
            }),
    ];
    (body, 0..4u8, comments(2), opt_comment()).prop_map(|(body, style, leading, trailing)| {
        let mut clause = Clause {
            body,
            layout: Layout::default(),
            span: Span::default(),
        };
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
        clause
    })
}

/// A rule title as the parser keeps it: trimmed, one line.
fn title() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec![
            "New network for agent credentials",
            "Unusual hours",
            "Scope escalation attempt",
            "Token — lifetime > policy",
        ])
        .prop_map(str::to_string),
        "[ -~é—]{1,24}",
    ]
    .prop_map(|t| t.trim().to_string())
    .prop_filter("non-empty title", |t| !t.is_empty())
}

fn rule() -> impl Strategy<Value = Rule> {
    let header =
        prop_oneof![
            ("[A-Za-z0-9_][A-Za-z0-9_.-]{0,8}", prop::option::of(title()),)
                .prop_map(|(id, title)| (id, title, HeaderForm::Id)),
            prop_oneof![title(), any_string()]
                .prop_filter("a quoted title needs a letter or digit", |t| !slug(t)
                    .is_empty())
                .prop_map(|t| (slug(&t), Some(t), HeaderForm::Quoted)),
        ];
    (
        header,
        prop::collection::vec(clause(), 0..6),
        cased("Rule"),
        comments(2),
        opt_comment(),
    )
        .prop_map(|((id, title, header), clauses, kw, leading, trailing)| {
            // After `Rule 1 — Title`, a `#` is part of the title.
            let trailing = if header == HeaderForm::Id && title.is_some() {
                None
            } else {
                trailing
            };
            Rule {
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
            }
        })
}

fn list_decl() -> impl Strategy<Value = ListDecl> {
    let value = prop_oneof![
        3 => list_items().prop_map(ListValue::Items),
        1 => any_string().prop_map(|p| ListValue::File(sp(p))),
        1 => select(vec!["agent.scopes", "agent.excluded_scopes", "agent.allowed_countries", "agent.owner_team"])
            .prop_map(|f| ListValue::Field(sp(f.to_string()))),
    ];
    (
        name(),
        value,
        cased("list"),
        cased("file"),
        comments(2),
        opt_comment(),
    )
        .prop_map(|(name, value, l, f, leading, trailing)| {
            let mut words = vec![l];
            if matches!(value, ListValue::File(_)) {
                words.push(f);
            }
            ListDecl {
                name: sp(name),
                value,
                layout: Layout {
                    leading,
                    trailing,
                    newline: false,
                    words,
                },
                span: Span::default(),
            }
        })
}

/// `metric NAME = <expr>`: any expression parses (the checker decides
/// which are metrics), with line breaks and comments as in triggers.
fn metric_decl() -> impl Strategy<Value = MetricDecl> {
    (
        name(),
        prop_oneof![
            2 => leaf(),
            1 => expr(),
        ],
        cased("metric"),
        comments(2),
        opt_comment(),
    )
        .prop_map(|(name, value, kw, leading, trailing)| MetricDecl {
            name: sp(name),
            value: sp(fix(value)),
            layout: Layout {
                leading,
                trailing,
                newline: false,
                words: vec![kw],
            },
            span: Span::default(),
        })
}

fn rule_file() -> impl Strategy<Value = RuleFile> {
    (
        prop::collection::vec(
            prop_oneof![
                1 => list_decl().prop_map(Item::List),
                1 => metric_decl().prop_map(Item::Metric),
                2 => rule().prop_map(Item::Rule),
            ],
            0..6,
        ),
        comments(2),
    )
        .prop_map(|(items, trailing_comments)| RuleFile {
            items,
            trailing_comments,
        })
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

fn parse(text: &str) -> (RuleFile, Vec<riskgate::lang::diagnostic::Diagnostic>) {
    let name: Arc<str> = Arc::from("gen.rules");
    parse_file(&name, text, &Limits::default())
}

fn messages(diags: &[riskgate::lang::diagnostic::Diagnostic]) -> Vec<String> {
    diags
        .iter()
        .map(|d| format!("{}:{}: {} {}", d.span.line, d.span.col, d.code, d.message))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 768,
        max_shrink_iters: 4096,
        ..ProptestConfig::default()
    })]

    #[test]
    fn parsing_the_formatted_tree_gives_the_tree_back(file in rule_file()) {
        let text = format_file(&file);
        let (parsed, diags) = parse(&text);
        prop_assert!(diags.is_empty(), "diagnostics {:?} for\n{}", messages(&diags), text);
        prop_assert_eq!(&parsed, &file, "text:\n{}", text);
    }

    #[test]
    fn formatting_is_a_fixed_point(file in rule_file()) {
        let text = format_file(&file);
        let (parsed, diags) = parse(&text);
        prop_assert!(diags.is_empty(), "diagnostics {:?} for\n{}", messages(&diags), text);
        let again = format_file(&parsed);
        prop_assert_eq!(&text, &again, "left: format(ast), right: format(parse(format(ast)))");
    }
}

// ---------------------------------------------------------------------------
// Fixed examples
// ---------------------------------------------------------------------------

#[test]
fn example_rule_files_are_canonical() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/rules");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("examples/rules exists") {
        let path = entry.expect("readable directory entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("rules") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable rules file");
        let name = path.display().to_string();
        let (_, diags) = parse(&text);
        assert!(diags.is_empty(), "{name}: {:?}", messages(&diags));
        match format_source(&name, &text) {
            Ok(formatted) => assert_eq!(formatted, text, "{name} is not canonical"),
            Err(d) => panic!("{name}:\n{}", d.render(false)),
        }
        seen += 1;
    }
    assert!(
        seen >= 2,
        "expected seed.rules and agents.rules, found {seen} files"
    );
}

#[test]
fn seed_rules_parse_to_the_expected_tree() {
    let text = include_str!("../examples/rules/seed.rules");
    let (file, diags) = parse(text);
    assert!(diags.is_empty(), "{:?}", messages(&diags));
    let ids: Vec<&str> = file.rules().map(|r| r.id.node.as_str()).collect();
    assert_eq!(ids, ["1", "2", "3"]);
    let lists: Vec<&str> = file.lists().map(|l| l.name.node.as_str()).collect();
    assert_eq!(lists, ["approved_ranges", "approved_scope_list"]);
    let trigger = file
        .rules()
        .nth(1)
        .and_then(|r| r.trigger())
        .map(|t| &t.node);
    let Some(Expr::And(ops)) = trigger else {
        panic!("rule 2's trigger is not an AND: {trigger:?}");
    };
    assert_eq!(ops.len(), 2);
    assert!(ops[1].layout.newline, "the AND starts a new line");
    assert!(matches!(ops[0].expr.node, Expr::Juxt(ref j) if j.len() == 2));
}

/// Names of the forms in a tree, to check that the generator reaches them all.
fn forms(file: &RuleFile, out: &mut std::collections::BTreeSet<String>) {
    fn expr(e: &Expr, out: &mut std::collections::BTreeSet<String>) {
        let name = match e {
            Expr::Or(_) => "Or",
            Expr::And(_) => "And",
            Expr::Juxt(_) => "Juxt",
            Expr::Not(..) => "Not",
            Expr::Cmp(..) => "Cmp",
            Expr::In { negated: true, .. } => "NotIn",
            Expr::In { .. } => "In",
            Expr::Str(..) => "Str",
            Expr::Arith(..) => "Arith",
            Expr::Neg(_) => "Neg",
            Expr::Paren(_) => "Paren",
            Expr::Call(..) => "Call",
            Expr::Access(..) => "Access",
            Expr::Path(p) if p.contains(['[', '"']) => "PathIndexOrQuoted",
            Expr::Count { cond: Some(_), .. } => "CountCond",
            Expr::Count { .. } => "Count",
            Expr::Distinct { scope: Some(_), .. } => "DistinctWhere",
            Expr::Distinct { by: Some(_), .. } => "DistinctBy",
            Expr::Distinct { .. } => "Distinct",
            Expr::Sequence { .. } => "Sequence",
            Expr::Scoped(..) => "Scoped",
            Expr::By(..) => "By",
            Expr::Path(_) => "Path",
            Expr::Lit(l) => l.type_name(),
            Expr::List(_) => "List",
            Expr::Phrase(Phrase::Actor { .. }, _) => "Actor",
            Expr::Phrase(Phrase::FromIp { .. }, _) => "FromIp",
            Expr::Phrase(Phrase::IncludesScope { .. }, _) => "IncludesScope",
            Expr::Phrase(Phrase::TimeOfDay { .. }, _) => "TimeOfDay",
            Expr::Phrase(Phrase::Days { .. }, _) => "Days",
        };
        out.insert(name.to_string());
        match e {
            Expr::Or(ops) | Expr::And(ops) | Expr::Juxt(ops) => {
                for o in ops {
                    if o.layout.newline {
                        out.insert("newline".to_string());
                    }
                    if !o.layout.leading.is_empty() {
                        out.insert("operand comment".to_string());
                    }
                    expr(&o.expr.node, out);
                }
            }
            Expr::Not(a, _) | Expr::Neg(a) | Expr::Paren(a) => expr(&a.node, out),
            Expr::Cmp(_, a, b) | Expr::Arith(_, a, b) | Expr::Str(_, a, b, _) => {
                expr(&a.node, out);
                expr(&b.node, out);
            }
            Expr::In { item, list, .. } => {
                expr(&item.node, out);
                expr(&list.node, out);
            }
            Expr::Call(_, args) => args.iter().for_each(|a| expr(&a.node, out)),
            Expr::Access(base, _) => expr(&base.node, out),
            Expr::Count { cond: Some(c), .. } => expr(&c.node, out),
            Expr::Sequence { steps, .. } => steps.iter().for_each(|a| expr(&a.node, out)),
            Expr::Scoped(a, b, _) => {
                expr(&a.node, out);
                expr(&b.node, out);
            }
            Expr::By(a, _, _) => expr(&a.node, out),
            _ => {}
        }
    }
    for item in &file.items {
        match item {
            Item::List(l) => {
                out.insert(match l.value {
                    ListValue::Items(_) => "list items".to_string(),
                    ListValue::File(_) => "list file".to_string(),
                    ListValue::Field(_) => "list field".to_string(),
                });
            }
            Item::Metric(m) => {
                out.insert("metric".to_string());
                expr(&m.value.node, out);
            }
            Item::Rule(r) => {
                out.insert(format!("{:?} header", r.header));
                for c in &r.clauses {
                    out.insert(format!("{:?} clause", c.kind()));
                    if let ClauseBody::Trigger(e) | ClauseBody::Unless(e) = &c.body {
                        expr(&e.node, out);
                    }
                }
            }
        }
    }
}

#[test]
fn generator_covers_every_form() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = rule_file();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..400 {
        let file = strategy
            .new_tree(&mut runner)
            .expect("a generated file")
            .current();
        forms(&file, &mut seen);
    }
    let expected = [
        "Or",
        "And",
        "Juxt",
        "Not",
        "Cmp",
        "In",
        "NotIn",
        "Str",
        "Arith",
        "Neg",
        "Paren",
        "Call",
        "Access",
        "CountCond",
        "Count",
        "Distinct",
        "DistinctWhere",
        "Sequence",
        "Scoped",
        "By",
        "Path",
        "PathIndexOrQuoted",
        "number",
        "string",
        "IP address",
        "CIDR",
        "time",
        "duration",
        "boolean",
        "List",
        "Actor",
        "FromIp",
        "IncludesScope",
        "TimeOfDay",
        "Days",
        "newline",
        "operand comment",
        "list items",
        "list file",
        "list field",
        "metric",
        "Id header",
        "Quoted header",
        "Trigger clause",
        "Unless clause",
        "Action clause",
        "Severity clause",
        "Mode clause",
        "Cooldown clause",
        "Tags clause",
        "Unknown clause",
    ];
    let missing: Vec<&str> = expected
        .iter()
        .copied()
        .filter(|f| !seen.contains(*f))
        .collect();
    assert!(missing.is_empty(), "never generated: {missing:?}");
}

/// Regression cases found by the properties above, pinned as plain tests:
/// each source parses cleanly, and its canonical form parses back to the same
/// tree and is a fixed point.
#[test]
fn formatter_regressions_round_trip() {
    let cases: &[&str] = &[
        // A zone-less time or day phrase took the next phrase's `token` for a zone.
        "Rule a\nTrigger: within 00:00-00:01 token request\n",
        "Rule a\nTrigger: on weekends api call\nAction: deny\n",
        // `count ... over W` ended past the comment and line break after it, so
        // the next operand lost its line break and the comment moved.
        "Rule a\nTrigger: count over 1h > 3\n# c\nOR ip in L\n",
        "Rule a\nTrigger: count over 0ms\n#\nOR ip\n",
        "Rule a\nTrigger: outside 09:00-17:00\n# c\nAND on Mon\n# d\nOR x\n",
        // Comments before the second rule moved below its header.
        "Rule 1\nAction: deny\n\n# about rule 2\nRule 2\n# about the trigger\nTrigger: ip\n",
        "#C\n#%\nRule A\n#D\nUnless: -(ip OR 0.0.0.5)\n",
        // Comments on a continuation line inside `in (...)`, `count(...)` and calls.
        "Rule _\nUnless: ip in (a # one\n# two\nand b) # three\n",
        "Rule _\nTrigger: count(a\n# c\nAND b) over 1h > max(c,\nd\n# e\nOR f)\n",
        // A backslash before a line break in a string.
        "Rule 0\nAction: deny \"\\\\\\n\"\n",
        "Rule 0\nTrigger: x == \"a\\\\\\tb\\\\\\r\\\\\"\n",
    ];
    for src in cases {
        let (file, diags) = parse(src);
        assert!(diags.is_empty(), "{src:?}: {:?}", messages(&diags));
        let text = format_file(&file);
        let (again, diags) = parse(&text);
        assert!(diags.is_empty(), "{text:?}: {:?}", messages(&diags));
        assert_eq!(again, file, "{text}");
        assert_eq!(format_file(&again), text);
    }
}

#[test]
fn comments_stay_where_they_were_written() {
    let src = "Rule 1\nAction: deny\n\n# about rule 2\nRule 2\n# about the trigger\nTrigger: count(a # first line\n# inside\nAND b) over 1h > 3 # second line\n# before OR\nOR c # last line\n";
    let text = format_source("c.rules", src).expect("formats");
    assert_eq!(text, src);
    let (file, _) = parse(src);
    let rule2 = file.rules().nth(1).expect("two rules");
    assert_eq!(rule2.layout.leading, ["# about rule 2"]);
    let trigger = &rule2.clauses[0];
    assert_eq!(trigger.layout.leading, ["# about the trigger"]);
    assert_eq!(trigger.layout.trailing.as_deref(), Some("# first line"));
    let Some(Expr::Or(ops)) = rule2.trigger().map(|t| &t.node) else {
        panic!("not an OR");
    };
    let Expr::Cmp(_, count, _) = &ops[0].expr.node else {
        panic!("not a comparison");
    };
    let Expr::Count {
        cond: Some(cond), ..
    } = &count.node
    else {
        panic!("not a count with a condition");
    };
    let Expr::And(inner) = &cond.node else {
        panic!("not an AND");
    };
    assert_eq!(inner[1].layout.leading, ["# inside"]);
    assert_eq!(inner[1].layout.trailing.as_deref(), Some("# second line"));
    assert!(ops[1].layout.newline);
    assert_eq!(ops[1].layout.leading, ["# before OR"]);
    assert_eq!(ops[1].layout.trailing.as_deref(), Some("# last line"));
}

#[test]
fn zone_never_swallows_the_next_phrase() {
    let (file, diags) = parse("Rule a\nTrigger: on weekends token request\n");
    assert!(diags.is_empty(), "{:?}", messages(&diags));
    let Some(Expr::Juxt(ops)) = file
        .rules()
        .next()
        .and_then(|r| r.trigger())
        .map(|t| &t.node)
    else {
        panic!("not a juxtaposition");
    };
    assert!(matches!(
        &ops[0].expr.node,
        Expr::Phrase(Phrase::Days { zone: None, .. }, _)
    ));
    assert!(matches!(
        &ops[1].expr.node,
        Expr::Phrase(
            Phrase::Actor {
                kind: None,
                category: CategoryPhrase::TokenRequest
            },
            _
        )
    ));
}

#[test]
fn bare_list_strings_that_read_back_differently_are_quoted() {
    for s in [
        "1.2.3",
        "a:b:c",
        "dead:beef::",
        "::",
        "10.0.0.256",
        "10.0.0.0/33",
        "10.0.0.1",
        "3",
        "",
        "a b",
        "a,b",
        "\u{feff}x",
        "x\u{feff}",
        "#x",
        "\\d",
    ] {
        assert!(!is_bare_safe(s), "`{s}` must be quoted");
    }
    for s in [
        "servicenow:incidents:create",
        "python-requests",
        "1.",
        "09:00",
        "30s",
        "true",
        "é",
    ] {
        assert!(is_bare_safe(s), "`{s}` can be bare");
        let file = RuleFile {
            items: vec![Item::List(ListDecl {
                name: sp("l".to_string()),
                value: ListValue::Items(vec![sp(Literal::Str(s.to_string(), true))]),
                layout: Layout::default(),
                span: Span::default(),
            })],
            trailing_comments: Vec::new(),
        };
        let text = format_file(&file);
        assert_eq!(text, format!("list l = [{s}]\n"));
        assert_eq!(parse(&text).0, file);
    }
}

/// An unknown clause with no text (an error for the checker, E0107, but it
/// parses and formats) is written `Name:` with no trailing space, and
/// formatting is still a fixed point.
#[test]
fn an_empty_unknown_clause_has_no_trailing_space() {
    let src =
        "Rule 1 — T\nTrigger: service_app authentication\nOwner:\nAction: deny\nSeverity: HIGH\n";
    let once =
        riskgate::lang::format::format_source("x.rules", src).unwrap_or_else(|d| panic!("{d}"));
    assert!(once.lines().any(|l| l == "Owner:"), "{once}");
    assert!(!once.lines().any(|l| l.ends_with(' ')), "{once:?}");
    let twice =
        riskgate::lang::format::format_source("x.rules", &once).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(once, twice);
}
