//! Parsing: text → pest pairs → [`ast::RuleFile`](crate::lang::ast::RuleFile).
//!
//! The pest types never leave this module. A file is split at every line that
//! starts with `rule`, `list` or `metric`, and each block is parsed on its own, so every
//! block's syntax error is reported, not only the first. Bracket depth and
//! sizes are checked against [`Limits`] before pest sees the text, so hostile
//! input fails with an error, never with a stack overflow.

use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};
use pest::Parser as _;

use crate::lang::ast::*;
use crate::lang::diagnostic::{Diagnostic, LineIndex};
use crate::lang::literal::{bare_literal, invalid_ip, number_literal, MAX_INT_DIGITS};
use crate::lang::path::Segment;
use crate::limits::Limits;

mod parser {
    //! The pest parser; its `Rule` enum stays private to `syntax`.
    #![allow(missing_docs)]
    #[derive(pest_derive::Parser)]
    #[grammar = "../grammar/rules.pest"]
    pub struct RulesParser;
}
use parser::{Rule, RulesParser};

/// Parses one rules file. Returns the tree of everything that parsed, and every
/// syntax and value diagnostic (the tree is only meaningful when there are none).
pub fn parse_file(name: &Arc<str>, text: &str, limits: &Limits) -> (RuleFile, Vec<Diagnostic>) {
    let idx = LineIndex::new(text);
    let mut out = RuleFile::default();
    let mut diags = Vec::new();
    if text.len() > limits.max_file_bytes {
        diags.push(Diagnostic::error(
            "E0102",
            idx.span(text, 0, 0),
            format!(
                "file is larger than the limit of {} bytes",
                limits.max_file_bytes
            ),
        ));
        return (out, with_file(diags, name));
    }
    let mut pending: Vec<String> = Vec::new();
    for (base, block) in split_blocks(text) {
        let lower = Lower {
            text,
            base,
            idx: &idx,
            limits,
            diags: RefCell::new(Vec::new()),
        };
        if let Some(d) = lower.check_depth(block) {
            diags.push(d);
            continue;
        }
        match RulesParser::parse(Rule::block, block) {
            Ok(pairs) => {
                let comments = lower.scan_comments(block, pairs.clone());
                let item = lower.block(pairs);
                diags.extend(lower.diags.into_inner());
                match item {
                    Some(mut item) => {
                        attach_comments(&mut item, comments, &mut pending, text);
                        out.items.push(item);
                    }
                    None => pending.extend(comments.into_iter().map(|c| c.text)),
                }
            }
            Err(e) => {
                diags.push(lower.syntax_error(block, &e));
                // Keep the name of a list or metric that did not parse, so
                // the rules using it are not also told that it does not exist.
                if let Some(decl) = lower.recover_decl(block) {
                    out.items.push(decl);
                }
            }
        }
    }
    out.trailing_comments = pending;
    let rules = out.rules().count();
    if rules > limits.max_rules {
        // At the header of the first rule past the limit.
        let first_over = out
            .rules()
            .nth(limits.max_rules)
            .map_or_else(|| idx.span(text, 0, 0), |r| r.span);
        diags.push(Diagnostic::error(
            "E0102",
            first_over,
            format!(
                "file has {rules} rules, more than the limit of {}",
                limits.max_rules
            ),
        ));
    }
    (out, with_file(diags, name))
}

fn with_file(mut diags: Vec<Diagnostic>, name: &Arc<str>) -> Vec<Diagnostic> {
    for d in &mut diags {
        d.file = name.clone();
    }
    diags
}

/// Splits `text` at the start of every line whose first word is `rule`,
/// `list` or `metric` (any case). Returns (byte offset, block text) pairs covering `text`.
fn split_blocks(text: &str) -> Vec<(usize, &str)> {
    let mut cuts = vec![0];
    let mut pos = 0;
    for line in grammar_lines(text) {
        let trimmed = line.trim_start_matches([' ', '\t', '\u{feff}']);
        if pos > 0 && starts_item(trimmed) {
            cuts.push(pos);
        }
        pos += line.len();
    }
    cuts.push(text.len());
    cuts.windows(2)
        .filter_map(|w| match w {
            [a, b] => text.get(*a..*b).map(|s| (*a, s)),
            _ => None,
        })
        .collect()
}

/// The lines of `text`, each with its line break, where a line break is what
/// the grammar's `NEWLINE` matches: `\n`, `\r\n` or a lone `\r`. (Splitting
/// at `\n` alone made a comment run on past a lone `\r` that ended it for
/// the grammar, so the formatter printed the next clause twice.)
fn grammar_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = match rest.find(['\n', '\r']) {
            Some(i) if rest.get(i..).is_some_and(|r| r.starts_with("\r\n")) => i + 2,
            Some(i) => i + 1,
            None => rest.len(),
        };
        let (line, tail) = rest.split_at_checked(end).unwrap_or((rest, ""));
        rest = tail;
        Some(line)
    })
}

fn starts_item(line: &str) -> bool {
    let word_end = line
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '.'))
        .map_or(line.len(), |(i, _)| i);
    let word = line.get(..word_end).unwrap_or("");
    ["rule", "list", "metric"]
        .iter()
        .any(|w| word.eq_ignore_ascii_case(w))
}

/// Unescapes a string literal's body: `\"`, `\\`, `\n`, `\t`, `\r`; other
/// escapes stay verbatim (`"\d+"` is the regex `\d+`).
pub fn unescape(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Parses `H:MM` / `HH:MM` into minutes after midnight.
fn parse_clock(s: &str) -> Option<u16> {
    let (h, m) = s.split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && s.len() >= 4).then_some(h * 60 + m)
}

/// Parses a duration literal (`30s`, `15m`, `1500ms`, `90d`, `2w`) into ms.
pub fn parse_duration(s: &str) -> Option<u64> {
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let mult = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// The slug of a quoted rule title: lowercase words joined by `-`.
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

fn pratt() -> &'static PrattParser<Rule> {
    static PRATT: OnceLock<PrattParser<Rule>> = OnceLock::new();
    PRATT.get_or_init(|| {
        PrattParser::new()
            .op(Op::infix(Rule::op_or, Assoc::Left))
            .op(Op::infix(Rule::op_and, Assoc::Left))
            .op(Op::infix(Rule::op_juxt, Assoc::Left))
            .op(Op::prefix(Rule::op_not))
            .op(Op::infix(Rule::op_eq, Assoc::Left)
                | Op::infix(Rule::op_ne, Assoc::Left)
                | Op::infix(Rule::op_lt, Assoc::Left)
                | Op::infix(Rule::op_le, Assoc::Left)
                | Op::infix(Rule::op_gt, Assoc::Left)
                | Op::infix(Rule::op_ge, Assoc::Left)
                | Op::infix(Rule::op_in, Assoc::Left)
                | Op::infix(Rule::op_not_in, Assoc::Left)
                | Op::infix(Rule::op_matches, Assoc::Left)
                | Op::infix(Rule::op_starts, Assoc::Left)
                | Op::infix(Rule::op_ends, Assoc::Left)
                | Op::infix(Rule::op_contains, Assoc::Left))
            .op(Op::infix(Rule::op_add, Assoc::Left) | Op::infix(Rule::op_sub, Assoc::Left))
            .op(Op::infix(Rule::op_mul, Assoc::Left) | Op::infix(Rule::op_div, Assoc::Left))
            .op(Op::prefix(Rule::op_neg))
    })
}

/// A comment found in a block.
struct Comment {
    pos: usize,
    text: String,
    own_line: bool,
}

/// An expression under construction, with its tree depth.
type Lowered = (Spanned<Expr>, u32);

struct Lower<'a> {
    text: &'a str,
    base: usize,
    idx: &'a LineIndex,
    limits: &'a Limits,
    diags: RefCell<Vec<Diagnostic>>,
}

impl<'a> Lower<'a> {
    fn span_at(&self, start: usize, end: usize) -> Span {
        self.idx.span(self.text, self.base + start, self.base + end)
    }

    fn span(&self, p: &Pair<'_, Rule>) -> Span {
        let s = p.as_span();
        self.span_at(s.start(), s.end())
    }

    fn err(&self, d: Diagnostic) {
        self.diags.borrow_mut().push(d);
    }

    /// Rejects blocks nested deeper than the limit before pest recurses into them.
    fn check_depth(&self, block: &str) -> Option<Diagnostic> {
        let mut depth = 0usize;
        let (mut in_str, mut in_comment, mut escaped) = (false, false, false);
        for (i, c) in block.char_indices() {
            if in_comment {
                in_comment = !matches!(c, '\n' | '\r');
                continue;
            }
            if in_str {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' | '\n' | '\r' => in_str = false,
                    _ => {}
                }
                continue;
            }
            match c {
                '"' => in_str = true,
                '#' => in_comment = true,
                '(' | '[' => {
                    depth += 1;
                    if depth > self.limits.max_depth {
                        return Some(
                            Diagnostic::error(
                                "E0103",
                                self.span_at(i, i + 1),
                                format!(
                                    "expression nested deeper than {} levels",
                                    self.limits.max_depth
                                ),
                            )
                            .with_help("split the condition into simpler parts"),
                        );
                    }
                }
                ')' | ']' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        None
    }

    fn syntax_error(&self, block: &str, e: &pest::error::Error<Rule>) -> Diagnostic {
        let pos = match e.location {
            pest::error::InputLocation::Pos(p) => p,
            pest::error::InputLocation::Span((s, _)) => s,
        };
        let rest = block.get(pos..).unwrap_or("");
        let (found, len) = found_token(rest);
        let before = block.get(..pos).unwrap_or("");
        let line = before.rsplit('\n').next().unwrap_or("");
        // A bracket left open explains an error at the end of its line (or
        // at the bracket itself) better than what pest expected there.
        if let Some((open, close)) = unclosed_bracket(block) {
            if open == pos || (open < pos && !found.contains('`')) {
                let c = block
                    .get(open..)
                    .and_then(|s| s.chars().next())
                    .unwrap_or('(');
                return Diagnostic::error(
                    "E0101",
                    self.span_at(open, open + 1),
                    format!("unclosed `{c}`"),
                )
                .with_help(format!("add the matching `{close}`"));
            }
        }
        // `"US` without its closing quote.
        if rest.starts_with('"') {
            let body = rest.get(1..).unwrap_or("");
            let line_end = body.find('\n').unwrap_or(body.len());
            let (mut escaped, mut closed) = (false, false);
            for c in body.get(..line_end).unwrap_or("").chars() {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => {
                        closed = true;
                        break;
                    }
                    _ => {}
                }
            }
            if !closed {
                return Diagnostic::error("E0101", self.span_at(pos, pos + 1), "unclosed string")
                    .with_help("add the closing `\"` on the same line");
            }
        }
        // `(a == 1))`: a closing bracket that closes nothing.
        if unmatched_closer(block) == Some(pos) {
            let c = rest.chars().next().unwrap_or(')');
            let open = if c == ']' { '[' } else { '(' };
            return Diagnostic::error(
                "E0101",
                self.span_at(pos, pos + 1),
                format!("unmatched `{c}`"),
            )
            .with_help(format!("remove it, or add the `{open}` it closes"));
        }
        // `Trigger country == "US"`: a clause name without its `:`.
        if line.trim().is_empty() {
            let word = rest.get(..len).unwrap_or("");
            let next = rest
                .get(len..)
                .unwrap_or("")
                .trim_start_matches([' ', '\t']);
            if CLAUSE_NAMES.iter().any(|c| c.eq_ignore_ascii_case(word)) && !next.starts_with(':') {
                return Diagnostic::error(
                    "E0101",
                    self.span_at(pos, pos + len),
                    format!("expected `:` after `{word}`"),
                )
                .with_help(format!("a clause is its name and a colon: `{word}: ...`"));
            }
        }
        // `Rule 1 —Title`, `Rule 1— Title`: a dash separator needs spaces.
        let header = line
            .trim_start()
            .get(..4)
            .is_some_and(|w| w.eq_ignore_ascii_case("rule"));
        if header {
            let dash_before = line
                .trim_end_matches([' ', '\t'])
                .ends_with(['—', '–', '-'])
                && line.ends_with(['—', '–', '-']);
            let dash_here = rest.starts_with(['—', '–', '-']) && !line.ends_with([' ', '\t']);
            if dash_before || dash_here {
                let (at, side) = if dash_here {
                    (pos, "before")
                } else {
                    (
                        pos - line.chars().next_back().map_or(1, char::len_utf8),
                        "after",
                    )
                };
                let dash = block
                    .get(at..)
                    .and_then(|s| s.chars().next())
                    .unwrap_or('-');
                return Diagnostic::error("E0101", self.span_at(at, at + dash.len_utf8()), format!("expected a space {side} `{dash}` in the rule header"))
                    .with_help("a dash between the rule id and the title needs a space on each side: `Rule 7 — Title` (or write `Rule 7: Title`)");
            }
        }
        let expected = match &e.variant {
            pest::error::ErrorVariant::ParsingError { positives, .. } => expected_names(positives),
            pest::error::ErrorVariant::CustomError { message } => message.clone(),
        };
        let d = Diagnostic::error(
            "E0101",
            self.span_at(pos, pos + len),
            format!("expected {expected}, found {found}"),
        );
        let open = line.matches('(').count() + line.matches('[').count();
        let close = line.matches(')').count() + line.matches(']').count();
        let help = if open > close && !found.contains('`') {
            Some("close the `(` or `[` opened on this line".to_string())
        } else if line.trim().is_empty()
            && expected.contains("an operator")
            && !before.trim().is_empty()
        {
            // A line that is not a clause continues the condition above it.
            Some("this line continues the condition above: start it with `AND` or `OR`, or make it a clause (`Name: ...`) or a comment (`# ...`)".to_string())
        } else {
            help_for(&expected, rest, line)
        };
        match help {
            Some(h) => d.with_help(h),
            None => d,
        }
    }

    /// The name of the list or metric a block that did not parse declares,
    /// if it declares one: an empty list of that name (an empty list fits
    /// any use), or a metric defined by the expression that stands for an
    /// error already reported.
    fn recover_decl(&self, block: &str) -> Option<Item> {
        let mut at = 0;
        for line in block.split_inclusive('\n') {
            let body = line.trim_start_matches([' ', '\t', '\u{feff}']);
            if body.trim().is_empty() || body.starts_with('#') {
                at += line.len();
                continue;
            }
            let keyword = ["list", "metric"].into_iter().find(|k| {
                body.get(..k.len())
                    .is_some_and(|w| w.eq_ignore_ascii_case(k))
            })?;
            let rest = body.get(keyword.len()..)?;
            let name_rest = rest.trim_start_matches([' ', '\t']);
            if name_rest.len() == rest.len() {
                return None;
            }
            let len = name_rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(name_rest.len());
            let name = name_rest
                .get(..len)
                .filter(|n| n.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'))?;
            let start = at + (line.len() - name_rest.len());
            let span = self.span_at(start, start + len);
            let name = Spanned::new(name.to_string(), span);
            return Some(if keyword == "list" {
                Item::List(ListDecl {
                    name,
                    value: ListValue::Items(Vec::new()),
                    layout: Layout::default(),
                    span,
                })
            } else {
                Item::Metric(MetricDecl {
                    name,
                    value: poison(span),
                    layout: Layout::default(),
                    span,
                })
            });
        }
        None
    }

    /// Finds the comments of a block: `#` outside strings, titles and unknown
    /// clause texts, to the end of the line.
    fn scan_comments(&self, block: &str, pairs: Pairs<'_, Rule>) -> Vec<Comment> {
        let opaque: Vec<(usize, usize)> = pairs
            .flatten()
            .filter(|p| matches!(p.as_rule(), Rule::string | Rule::title | Rule::rest_of_line))
            .map(|p| (p.as_span().start(), p.as_span().end()))
            .collect();
        let mut out = Vec::new();
        let mut line_start = 0;
        for line in grammar_lines(block) {
            let mut from = 0;
            while let Some(i) = line.get(from..).and_then(|l| l.find('#')) {
                let at = line_start + from + i;
                if opaque.iter().any(|(s, e)| *s <= at && at < *e) {
                    from += i + 1;
                    continue;
                }
                let own_line = line.get(..from + i).is_some_and(|b| b.trim().is_empty());
                let text = line.get(from + i..).unwrap_or("").trim_end().to_string();
                out.push(Comment {
                    pos: self.base + at,
                    text,
                    own_line,
                });
                break;
            }
            line_start += line.len();
        }
        out
    }

    fn block(&self, mut pairs: Pairs<'_, Rule>) -> Option<Item> {
        let block = pairs.next()?;
        for p in block.into_inner() {
            match p.as_rule() {
                Rule::list_decl => return self.list_decl(p).map(Item::List),
                Rule::metric_decl => return self.metric_decl(p).map(Item::Metric),
                Rule::rule => return self.rule(p).map(Item::Rule),
                _ => {}
            }
        }
        None
    }

    fn list_decl(&self, p: Pair<'_, Rule>) -> Option<ListDecl> {
        let span = self.span(&p);
        let mut layout = Layout::default();
        let mut name = None;
        let mut value = None;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::kw_list => layout.words.push(c.as_str().to_string()),
                Rule::name => name = Some(Spanned::new(c.as_str().to_string(), self.span(&c))),
                Rule::list_lit => value = Some(ListValue::Items(self.list_items(c))),
                Rule::list_file => {
                    for f in c.into_inner() {
                        match f.as_rule() {
                            Rule::kw_file => layout.words.push(f.as_str().to_string()),
                            Rule::string => value = Some(ListValue::File(self.string(&f))),
                            _ => {}
                        }
                    }
                }
                Rule::path => {
                    value = Some(ListValue::Field(Spanned::new(
                        self.path_text(&c),
                        self.span(&c),
                    )))
                }
                _ => {}
            }
        }
        Some(ListDecl {
            name: name?,
            value: value?,
            layout,
            span,
        })
    }

    fn metric_decl(&self, p: Pair<'_, Rule>) -> Option<MetricDecl> {
        let span = self.span(&p);
        let mut layout = Layout::default();
        let (mut name, mut value) = (None, None);
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::kw_metric => layout.words.push(c.as_str().to_string()),
                Rule::name => name = Some(Spanned::new(c.as_str().to_string(), self.span(&c))),
                Rule::expr => value = Some(self.expr(c)),
                _ => {}
            }
        }
        Some(MetricDecl {
            name: name?,
            value: value?,
            layout,
            span,
        })
    }

    fn string(&self, p: &Pair<'_, Rule>) -> Spanned<String> {
        let body = p.clone().into_inner().next().map_or("", |b| b.as_str());
        Spanned::new(unescape(body), self.span(p))
    }

    fn list_items(&self, p: Pair<'_, Rule>) -> Vec<Spanned<Literal>> {
        let mut items = Vec::new();
        for c in p.into_inner() {
            let span = self.span(&c);
            let lit = match c.as_rule() {
                Rule::string => Literal::Str(self.string(&c).node, false),
                Rule::bare_item => match bare_literal(c.as_str()) {
                    Ok(l) => l,
                    Err((code, msg, help)) => {
                        self.err(Diagnostic::error(code, span, msg).with_help_opt(help));
                        continue;
                    }
                },
                _ => continue,
            };
            items.push(Spanned::new(lit, span));
        }
        if items.len() > self.limits.max_list_items {
            self.err(Diagnostic::error(
                "E0102",
                // At the first item past the limit.
                items
                    .get(self.limits.max_list_items)
                    .map_or_else(Span::default, |i| i.span),
                format!(
                    "list has {} items, more than the limit of {}",
                    items.len(),
                    self.limits.max_list_items
                ),
            ));
        }
        items
    }

    fn rule(&self, p: Pair<'_, Rule>) -> Option<Rule_> {
        let mut layout = Layout::default();
        let mut id = None;
        let mut title = None;
        let mut header = HeaderForm::Id;
        let mut span = self.span(&p);
        let mut clauses = Vec::new();
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::rule_header => {
                    let hs = self.span(&c);
                    span = hs;
                    for h in c.into_inner() {
                        match h.as_rule() {
                            Rule::kw_rule => layout.words.push(h.as_str().to_string()),
                            Rule::string => {
                                let t = self.string(&h);
                                let s = slug(&t.node);
                                if s.is_empty() {
                                    self.err(
                                        Diagnostic::error("E0101", t.span, "a quoted rule title needs at least one letter or digit")
                                            .with_help("the rule id is made from the title's letters and digits"),
                                    );
                                }
                                id = Some(Spanned::new(s, t.span));
                                title = Some(t.node);
                                header = HeaderForm::Quoted;
                            }
                            Rule::rule_id => {
                                id = Some(Spanned::new(h.as_str().to_string(), self.span(&h)))
                            }
                            Rule::title => {
                                let t = h.as_str().trim();
                                if !t.is_empty() {
                                    title = Some(t.to_string());
                                }
                            }
                            _ => {}
                        }
                    }
                }
                Rule::clause => {
                    if let Some(cl) = self.clause(c) {
                        clauses.push(cl);
                    }
                }
                _ => {}
            }
        }
        Some(Rule_ {
            id: id?,
            title,
            header,
            clauses,
            layout,
            span,
        })
    }

    fn clause(&self, p: Pair<'_, Rule>) -> Option<Clause> {
        let inner = p.into_inner().find(|c| c.as_rule() != Rule::EOI)?;
        let span = self.span(&inner);
        let mut layout = Layout::default();
        let which = inner.as_rule();
        let mut parts = inner.into_inner();
        let name = parts.next()?;
        layout.words.push(name.as_str().to_string());
        let body = match which {
            Rule::trigger | Rule::unless => {
                let e = self.expr(parts.next()?);
                if which == Rule::trigger {
                    ClauseBody::Trigger(e)
                } else {
                    ClauseBody::Unless(e)
                }
            }
            Rule::action_clause => ClauseBody::Action(parts.map(|a| self.action(a)).collect()),
            Rule::severity | Rule::mode | Rule::cooldown => {
                let v = parts.next()?;
                let v = Spanned::new(v.as_str().to_string(), self.span(&v));
                match which {
                    Rule::severity => ClauseBody::Severity(v),
                    Rule::mode => ClauseBody::Mode(v),
                    _ => ClauseBody::Cooldown(v),
                }
            }
            Rule::tags => ClauseBody::Tags(
                parts
                    .filter(|t| !t.as_str().trim().is_empty())
                    .map(|t| {
                        let lead = t.as_str().len() - t.as_str().trim_start().len();
                        let s = t.as_span().start() + lead;
                        Spanned::new(
                            t.as_str().trim().to_string(),
                            self.span_at(s, s + t.as_str().trim().len()),
                        )
                    })
                    .collect(),
            ),
            _ => {
                let text = parts.next().map_or("", |r| r.as_str()).trim().to_string();
                layout.words.clear();
                ClauseBody::Unknown {
                    name: Spanned::new(name.as_str().to_string(), self.span(&name)),
                    text,
                }
            }
        };
        Some(Clause { body, layout, span })
    }

    fn action(&self, p: Pair<'_, Rule>) -> Spanned<Action> {
        // From the first word to the last (pest's span runs on over the
        // spaces before a following `+`).
        let end = p
            .clone()
            .into_inner()
            .last()
            .map_or(p.as_span().end(), |w| w.as_span().end());
        let span = self.span_at(p.as_span().start(), end);
        let mut words = Vec::new();
        let mut quoted = None;
        for w in p.into_inner() {
            match w.as_rule() {
                Rule::action_word => words.push(w.as_str().to_string()),
                Rule::string => {
                    let s = self.string(&w);
                    if quoted.is_some() {
                        self.err(Diagnostic::error(
                            "E0101",
                            s.span,
                            "an alert has at most one quoted channel",
                        ));
                    }
                    quoted = Some(s.node);
                }
                _ => {}
            }
        }
        Spanned::new(Action { words, quoted }, span)
    }

    /// Lowers an `expr` pair with the Pratt parser.
    fn expr(&self, p: Pair<'_, Rule>) -> Spanned<Expr> {
        let span = self.span(&p);
        // A run of prefix operators makes the Pratt parser recurse once per
        // operator: bound it first.
        let mut run = 0usize;
        for c in p.clone().into_inner() {
            if matches!(c.as_rule(), Rule::op_not | Rule::op_neg) {
                run += 1;
                if run > self.limits.max_depth {
                    self.err(
                        Diagnostic::error(
                            "E0103",
                            self.span(&c),
                            format!(
                                "expression nested deeper than {} levels",
                                self.limits.max_depth
                            ),
                        )
                        .with_help("split the condition into simpler parts"),
                    );
                    return poison(span);
                }
            } else {
                run = 0;
            }
        }
        let (e, depth) = pratt()
            .map_primary(|p| self.primary(p))
            .map_prefix(|op, rhs| self.prefix(op, rhs))
            .map_infix(|lhs, op, rhs| self.infix(lhs, op, rhs))
            .parse(p.into_inner());
        if depth as usize > self.limits.max_depth {
            self.err(
                Diagnostic::error(
                    "E0103",
                    span,
                    format!(
                        "expression nested deeper than {} levels",
                        self.limits.max_depth
                    ),
                )
                .with_help("split the condition into simpler parts"),
            );
            return poison(span);
        }
        e
    }

    fn prefix(&self, op: Pair<'_, Rule>, (rhs, d): Lowered) -> Lowered {
        let span = merge(self.span(&op), rhs.span);
        let e = match op.as_rule() {
            Rule::op_neg => match rhs.node {
                Expr::Lit(Literal::Num(n, text)) => Expr::Lit(Literal::Num(-n, format!("-{text}"))),
                other => Expr::Neg(Box::new(Spanned::new(other, rhs.span))),
            },
            _ => Expr::Not(
                Box::new(rhs),
                Layout {
                    words: vec![op.as_str().to_string()],
                    ..Layout::default()
                },
            ),
        };
        (Spanned::new(e, span), d + 1)
    }

    fn infix(&self, (lhs, dl): Lowered, op: Pair<'_, Rule>, (rhs, dr): Lowered) -> Lowered {
        let span = merge(lhs.span, rhs.span);
        let depth = dl.max(dr) + 1;
        if depth as usize > self.limits.max_depth {
            // Too deep: `expr` reports it. Build nothing deeper, so that a
            // 100 000-term `1+1+...` chain is not dropped by deep recursion.
            return (Spanned::new(Expr::Lit(Literal::Bool(false)), span), depth);
        }
        let which = op.as_rule();
        let words: Vec<String> = if which == Rule::op_not_in {
            op.clone()
                .into_inner()
                .map(|w| w.as_str().to_string())
                .collect()
        } else {
            vec![op.as_str().to_string()]
        };
        let nary = match which {
            Rule::op_or => Some(0),
            Rule::op_and => Some(1),
            Rule::op_juxt => Some(2),
            _ => None,
        };
        if let Some(kind) = nary {
            // Once per run of juxtaposed operands (`a b c` is one mistake).
            let reported = matches!(&lhs.node, Expr::Juxt(ops) if ops.iter().any(|o| !is_phrase(&o.expr.node)));
            if kind == 2 && !(is_phrase(&lhs.node) && is_phrase(&rhs.node)) && !reported {
                let text = self.text.get(rhs.span.start..rhs.span.end).unwrap_or("");
                let line = text.lines().next().unwrap_or("").trim_end();
                let shown = match line.char_indices().nth(32) {
                    Some((cut, _)) => format!("{}...", line.get(..cut).unwrap_or("")),
                    None => line.to_string(),
                };
                self.err(
                    Diagnostic::error("E0104", rhs.span, format!("expected an operator before `{shown}`"))
                        .with_help("only phrases like `service_app authentication` and `from IP in L` can stand side by side; insert `AND`"),
                );
            }
            let newline = self
                .text
                .get(lhs.span.end..rhs.span.start)
                .is_some_and(|between| between.contains(['\n', '\r']));
            let operand = Operand {
                expr: rhs,
                layout: Layout {
                    newline,
                    words,
                    ..Layout::default()
                },
            };
            let (mut ops, d) = match (kind, lhs.node) {
                (0, Expr::Or(ops)) | (1, Expr::And(ops)) | (2, Expr::Juxt(ops)) => {
                    (ops, dl.max(dr + 1))
                }
                (_, node) => (
                    vec![Operand {
                        expr: Spanned::new(node, lhs.span),
                        layout: Layout::default(),
                    }],
                    depth,
                ),
            };
            ops.push(operand);
            let e = match kind {
                0 => Expr::Or(ops),
                1 => Expr::And(ops),
                _ => Expr::Juxt(ops),
            };
            return (Spanned::new(e, span), d);
        }
        let is_cmp = |e: &Expr| matches!(e, Expr::Cmp(..) | Expr::In { .. } | Expr::Str(..));
        let cmp_like = !matches!(
            which,
            Rule::op_add | Rule::op_sub | Rule::op_mul | Rule::op_div
        );
        if cmp_like && is_cmp(&lhs.node) {
            self.err(
                Diagnostic::error(
                    "E0105",
                    self.span(&op),
                    format!("comparison operators cannot be chained: `{}`", op.as_str()),
                )
                .with_help("combine comparisons with `AND`, or add parentheses"),
            );
            // Check the first comparison only: the chain has been reported.
            return (lhs, dl);
        }
        let (l, r) = (Box::new(lhs), Box::new(rhs));
        let layout = Layout {
            words,
            ..Layout::default()
        };
        let e = match which {
            Rule::op_eq => Expr::Cmp(CmpOp::Eq, l, r),
            Rule::op_ne => Expr::Cmp(CmpOp::Ne, l, r),
            Rule::op_lt => Expr::Cmp(CmpOp::Lt, l, r),
            Rule::op_le => Expr::Cmp(CmpOp::Le, l, r),
            Rule::op_gt => Expr::Cmp(CmpOp::Gt, l, r),
            Rule::op_ge => Expr::Cmp(CmpOp::Ge, l, r),
            Rule::op_in => Expr::In {
                negated: false,
                item: l,
                list: r,
                layout,
            },
            Rule::op_not_in => Expr::In {
                negated: true,
                item: l,
                list: r,
                layout,
            },
            Rule::op_matches => Expr::Str(StrOp::Matches, l, r, layout),
            Rule::op_starts => Expr::Str(StrOp::StartsWith, l, r, layout),
            Rule::op_ends => Expr::Str(StrOp::EndsWith, l, r, layout),
            Rule::op_contains => Expr::Str(StrOp::Contains, l, r, layout),
            Rule::op_add => Expr::Arith(ArithOp::Add, l, r),
            Rule::op_sub => Expr::Arith(ArithOp::Sub, l, r),
            Rule::op_mul => Expr::Arith(ArithOp::Mul, l, r),
            _ => Expr::Arith(ArithOp::Div, l, r),
        };
        (Spanned::new(e, span), depth)
    }

    /// `by F` / `by (F, G)`; the spelling of `by` goes into `layout`.
    fn by_key(&self, p: Pair<'_, Rule>, layout: &mut Layout) -> ByKey {
        let mut fields = Vec::new();
        let mut paren = false;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::kw_by => layout.words.push(c.as_str().to_string()),
                Rule::path => fields.push(Spanned::new(self.path_text(&c), self.span(&c))),
                _ => fields.push(Spanned::new(c.as_str().to_string(), self.span(&c))),
            }
        }
        if fields.len() > 1 {
            paren = true;
        } else if let Some(f) = fields.first() {
            // `by (ip)`: parenthesised if the text before the field has `(`.
            paren = self
                .text
                .get(..f.span.start)
                .is_some_and(|t| t.trim_end().ends_with('('));
        }
        ByKey { fields, paren }
    }

    /// The first argument of a call: `x` or `x where cond`.
    fn call_arg(&self, p: Pair<'_, Rule>) -> Spanned<Expr> {
        let span = self.span(&p);
        let mut value = None;
        let mut scope = None;
        let mut layout = Layout::default();
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::kw_where => layout.words.push(c.as_str().to_string()),
                Rule::expr if value.is_none() => value = Some(self.expr(c)),
                _ => scope = Some(self.expr(c)),
            }
        }
        let value = value.unwrap_or_else(|| Spanned::new(Expr::Path(String::new()), span));
        match scope {
            Some(scope) => {
                Spanned::new(Expr::Scoped(Box::new(value), Box::new(scope), layout), span)
            }
            None => value,
        }
    }

    fn primary(&self, p: Pair<'_, Rule>) -> Lowered {
        let span = match p.as_rule() {
            // These end with an optional part: pest's span then runs on over
            // the whitespace and comments skipped while looking for it.
            Rule::count
            | Rule::distinct
            | Rule::sequence
            | Rule::call
            | Rule::time_phrase
            | Rule::day_phrase => {
                let end = p
                    .clone()
                    .into_inner()
                    .last()
                    .map_or(p.as_span().end(), |c| c.as_span().end());
                self.span_at(p.as_span().start(), end)
            }
            _ => self.span(&p),
        };
        let lit = |l: Literal| (Spanned::new(Expr::Lit(l), span), 1);
        match p.as_rule() {
            Rule::paren => {
                let inner = p.into_inner().next();
                let e = inner.map_or_else(
                    || Spanned::new(Expr::Lit(Literal::Bool(false)), span),
                    |i| self.expr(i),
                );
                let d = expr_depth_hint(&e);
                (Spanned::new(Expr::Paren(Box::new(e)), span), d + 1)
            }
            Rule::list_lit => (Spanned::new(Expr::List(self.list_items(p)), span), 1),
            Rule::actor_phrase => {
                let mut layout = Layout::default();
                let mut kind = None;
                let mut category = CategoryPhrase::Authentication;
                for c in p.into_inner() {
                    match c.as_rule() {
                        Rule::actor_kind => {
                            let w = c.as_str();
                            layout.words.push(w.to_string());
                            kind = Some(match w.to_ascii_lowercase().as_str() {
                                "service_app" => ActorPhrase::ServiceApp,
                                "user" => ActorPhrase::User,
                                _ => ActorPhrase::Agent,
                            });
                        }
                        Rule::category => {
                            let words: Vec<&str> =
                                c.clone().into_inner().map(|w| w.as_str()).collect();
                            layout.words.extend(words.iter().map(|w| w.to_string()));
                            category =
                                match words.first().map(|w| w.to_ascii_lowercase()).as_deref() {
                                    Some("token") => CategoryPhrase::TokenRequest,
                                    Some("api") => CategoryPhrase::ApiCall,
                                    Some("admin") => CategoryPhrase::AdminChange,
                                    _ => CategoryPhrase::Authentication,
                                };
                        }
                        _ => {}
                    }
                }
                (
                    Spanned::new(Expr::Phrase(Phrase::Actor { kind, category }, layout), span),
                    1,
                )
            }
            Rule::from_ip | Rule::scope_phrase => {
                let from = p.as_rule() == Rule::from_ip;
                let mut layout = Layout::default();
                let mut negated = false;
                let mut list = None;
                for c in p.into_inner() {
                    match c.as_rule() {
                        Rule::op_not => {
                            negated = true;
                            layout.words.push(c.as_str().to_string());
                        }
                        Rule::list_lit => {
                            list = Some(Spanned::new(
                                Expr::List(self.list_items(c.clone())),
                                self.span(&c),
                            ))
                        }
                        Rule::name => {
                            list = Some(Spanned::new(
                                Expr::Path(c.as_str().to_string()),
                                self.span(&c),
                            ))
                        }
                        _ => layout.words.push(c.as_str().to_string()),
                    }
                }
                let list =
                    Box::new(list.unwrap_or_else(|| Spanned::new(Expr::List(Vec::new()), span)));
                let phrase = if from {
                    Phrase::FromIp { negated, list }
                } else {
                    Phrase::IncludesScope { negated, list }
                };
                (Spanned::new(Expr::Phrase(phrase, layout), span), 1)
            }
            Rule::time_phrase => {
                let mut layout = Layout::default();
                let (mut outside, mut start, mut end, mut zone) = (false, 0, 0, None);
                for c in p.into_inner() {
                    match c.as_rule() {
                        Rule::kw_outside | Rule::kw_within => {
                            outside = c.as_rule() == Rule::kw_outside;
                            layout.words.push(c.as_str().to_string());
                        }
                        Rule::time_range => {
                            let cs = self.span(&c);
                            let (a, b) = c.as_str().split_once('-').unwrap_or(("", ""));
                            let at = c.as_span().start();
                            for (t, dst, off) in [(a, &mut start, 0), (b, &mut end, a.len() + 1)] {
                                match parse_clock(t) {
                                    Some(m) => *dst = m,
                                    None => self.err(
                                        Diagnostic::error(
                                            "E0302",
                                            self.span_at(at + off, at + off + t.len()),
                                            format!("invalid time `{t}`"),
                                        )
                                        .with_help("times of day run from 00:00 to 23:59"),
                                    ),
                                }
                            }
                            if parse_clock(a).is_some() && a == b {
                                self.err(
                                    Diagnostic::error("E0307", cs, format!("empty time range `{}`", c.as_str()))
                                        .with_help("a range is half-open [start, end): its start and end must differ"),
                                );
                            }
                        }
                        Rule::zone => {
                            zone = Some(Spanned::new(c.as_str().to_string(), self.span(&c)))
                        }
                        _ => {}
                    }
                }
                let ph = Phrase::TimeOfDay {
                    outside,
                    start,
                    end,
                    zone,
                };
                (Spanned::new(Expr::Phrase(ph, layout), span), 1)
            }
            Rule::day_phrase => {
                let mut layout = Layout::default();
                let (mut days, mut zone) = (Vec::new(), None);
                for c in p.into_inner() {
                    match c.as_rule() {
                        Rule::kw_on => layout.words.push(c.as_str().to_string()),
                        Rule::day => days.push(Spanned::new(c.as_str().to_string(), self.span(&c))),
                        Rule::zone => {
                            zone = Some(Spanned::new(c.as_str().to_string(), self.span(&c)))
                        }
                        _ => {}
                    }
                }
                (
                    Spanned::new(Expr::Phrase(Phrase::Days { days, zone }, layout), span),
                    1,
                )
            }
            Rule::count => {
                let mut layout = Layout::default();
                let (mut cond, mut scope, mut window, mut by) = (None, None, None, None);
                for c in p.into_inner() {
                    match c.as_rule() {
                        Rule::kw_count | Rule::kw_over | Rule::kw_where => {
                            layout.words.push(c.as_str().to_string())
                        }
                        Rule::expr if cond.is_none() => cond = Some(Box::new(self.expr(c))),
                        Rule::expr => scope = Some(Box::new(self.expr(c))),
                        Rule::by_key => by = Some(self.by_key(c, &mut layout)),
                        _ => window = Some(Box::new(self.primary(c).0)),
                    }
                }
                let window = window.unwrap_or_else(|| zero_window(span));
                let e = Spanned::new(
                    Expr::Count {
                        cond,
                        scope,
                        window,
                        by,
                        layout,
                    },
                    span,
                );
                // One more than its deepest part.
                let d = expr_depth_hint(&e);
                (e, d)
            }
            Rule::distinct => {
                let mut layout = Layout::default();
                let (mut field, mut scope, mut window, mut by) = (None, None, None, None);
                for c in p.into_inner() {
                    match c.as_rule() {
                        Rule::kw_distinct | Rule::kw_over | Rule::kw_where => {
                            layout.words.push(c.as_str().to_string())
                        }
                        Rule::expr if field.is_none() => field = Some(Box::new(self.expr(c))),
                        Rule::expr => scope = Some(Box::new(self.expr(c))),
                        Rule::by_key => by = Some(self.by_key(c, &mut layout)),
                        _ => window = Some(Box::new(self.primary(c).0)),
                    }
                }
                let field = field
                    .unwrap_or_else(|| Box::new(Spanned::new(Expr::Path(String::new()), span)));
                let window = window.unwrap_or_else(|| zero_window(span));
                let e = Spanned::new(
                    Expr::Distinct {
                        field,
                        scope,
                        window,
                        by,
                        layout,
                    },
                    span,
                );
                // One more than its deepest part.
                let d = expr_depth_hint(&e);
                (e, d)
            }
            Rule::sequence => {
                let mut layout = Layout::default();
                let (mut steps, mut within, mut by) = (Vec::new(), None, None);
                for c in p.into_inner() {
                    match c.as_rule() {
                        Rule::kw_sequence | Rule::kw_within => {
                            layout.words.push(c.as_str().to_string())
                        }
                        Rule::expr => steps.push(self.expr(c)),
                        Rule::by_key => by = Some(self.by_key(c, &mut layout)),
                        _ => within = Some(Box::new(self.primary(c).0)),
                    }
                }
                let within = within.unwrap_or_else(|| zero_window(span));
                let e = Spanned::new(
                    Expr::Sequence {
                        steps,
                        within,
                        by,
                        layout,
                    },
                    span,
                );
                // One more than its deepest part.
                let d = expr_depth_hint(&e);
                (e, d)
            }
            Rule::call => {
                let mut inner = p.into_inner();
                let name = inner.next().map_or_else(
                    || Spanned::new(String::new(), span),
                    |n| Spanned::new(n.as_str().to_string(), self.span(&n)),
                );
                let mut args: Vec<Spanned<Expr>> = Vec::new();
                let mut by = None;
                let mut by_layout = Layout::default();
                let mut tail = Vec::new();
                for a in inner {
                    match a.as_rule() {
                        Rule::call_arg => args.push(self.call_arg(a)),
                        Rule::by_key => by = Some(self.by_key(a, &mut by_layout)),
                        Rule::call_end => {
                            if let Some(t) = a.into_inner().next() {
                                tail = self.segments(t);
                            }
                        }
                        _ => args.push(self.expr(a)),
                    }
                }
                let d = args.iter().map(expr_depth_hint).max().unwrap_or(0) + 1;
                let call = Spanned::new(Expr::Call(name, args), span);
                let call = if tail.is_empty() {
                    call
                } else {
                    Spanned::new(Expr::Access(Box::new(call), tail), span)
                };
                match by {
                    Some(by) => (
                        Spanned::new(Expr::By(Box::new(call), by, by_layout), span),
                        d + 1,
                    ),
                    None => (call, d),
                }
            }
            Rule::string => lit(Literal::Str(self.string(&p).node, false)),
            Rule::time_lit => match parse_clock(p.as_str()) {
                Some(m) => lit(Literal::Time(m)),
                None => {
                    self.err(
                        Diagnostic::error("E0302", span, format!("invalid time `{}`", p.as_str()))
                            .with_help("times of day run from 00:00 to 23:59"),
                    );
                    lit(Literal::Time(0))
                }
            },
            Rule::duration => match parse_duration(p.as_str()) {
                Some(ms) => lit(Literal::Duration(ms, p.as_str().to_string())),
                None => {
                    self.err(Diagnostic::error(
                        "E0303",
                        span,
                        format!("duration `{}` is too long", p.as_str()),
                    ));
                    // Any valid window, so no second error follows.
                    lit(Literal::Duration(60_000, p.as_str().to_string()))
                }
            },
            Rule::ipv4 | Rule::ipv6 => match bare_literal(p.as_str()) {
                Ok(l @ (Literal::Ip(_) | Literal::Cidr(_))) => lit(l),
                Ok(_) | Err(_) => {
                    let (code, msg, help) = invalid_ip(p.as_str());
                    self.err(Diagnostic::error(code, span, msg).with_help_opt(help));
                    (poison(span), 1)
                }
            },
            Rule::number => match number_literal(p.as_str()) {
                Ok(n) => lit(Literal::Num(n, p.as_str().to_string())),
                Err(msg) => {
                    self.err(Diagnostic::error("E0303", span, msg).with_help(format!(
                        "numbers are written with at most {MAX_INT_DIGITS} digits before the decimal point"
                    )));
                    lit(Literal::Num(0.0, String::new()))
                }
            },
            Rule::boolean => {
                let b = p.as_str().eq_ignore_ascii_case("true");
                lit(Literal::Bool(b))
            }
            _ => (Spanned::new(Expr::Path(self.path_text(&p)), span), 1),
        }
    }

    /// The canonical text of a `path` (`attr.a[0]."b c"`): keys quoted only
    /// where they must be, indexes as numbers. An index past `i64` is
    /// reported (E0309) and read as 0.
    fn path_text(&self, p: &Pair<'_, Rule>) -> String {
        let mut out = String::new();
        for c in p.clone().into_inner() {
            match c.as_rule() {
                Rule::path_head => out.push_str(c.as_str()),
                Rule::path_tail => crate::lang::path::write_segments(&mut out, &self.segments(c)),
                _ => {}
            }
        }
        if out.is_empty() {
            out.push_str(p.as_str());
        }
        out
    }

    /// The segments of a `path_tail`.
    fn segments(&self, tail: Pair<'_, Rule>) -> Vec<Segment> {
        let mut out = Vec::new();
        for s in tail.into_inner() {
            match s.as_rule() {
                Rule::path_index => {
                    let num = s.clone().into_inner().next().map_or("", |n| n.as_str());
                    match num.parse::<i64>() {
                        Ok(i) => out.push(Segment::Index(i)),
                        Err(_) => {
                            self.err(
                                Diagnostic::error(
                                    "E0309",
                                    self.span(&s),
                                    format!("index `{num}` is out of range"),
                                )
                                .with_help("an index counts elements from 0 (`[0]` is the first), or from the end when negative (`[-1]` is the last)"),
                            );
                            out.push(Segment::Index(0));
                        }
                    }
                }
                Rule::string => out.push(Segment::Key(self.string(&s).node)),
                _ => out.push(Segment::Key(s.as_str().to_string())),
            }
        }
        out
    }
}

/// The placeholder window of a metric whose window did not lower.
fn zero_window(span: Span) -> Box<Spanned<Expr>> {
    Box::new(Spanned::new(
        Expr::Lit(Literal::Duration(0, String::new())),
        span,
    ))
}

/// Depth of an already lowered (and so already bounded) expression; only used
/// to carry depth through parentheses and calls.
fn expr_depth_hint(e: &Spanned<Expr>) -> u32 {
    fn go(e: &Expr, budget: u32) -> u32 {
        if budget == 0 {
            return 0;
        }
        let kids: Vec<&Spanned<Expr>> = match e {
            Expr::Or(o) | Expr::And(o) | Expr::Juxt(o) => o.iter().map(|o| &o.expr).collect(),
            Expr::Not(a, _) | Expr::Neg(a) | Expr::Paren(a) => vec![a],
            Expr::Cmp(_, a, b) | Expr::Arith(_, a, b) | Expr::Str(_, a, b, _) => vec![a, b],
            Expr::In { item, list, .. } => vec![item, list],
            Expr::Call(_, args) => args.iter().collect(),
            Expr::Count { cond, scope, .. } => cond.iter().chain(scope).map(|c| &**c).collect(),
            Expr::Distinct { field, scope, .. } => {
                std::iter::once(field).chain(scope).map(|c| &**c).collect()
            }
            Expr::Sequence { steps, .. } => steps.iter().collect(),
            Expr::Scoped(a, b, _) => vec![a, b],
            Expr::By(a, _, _) => vec![a],
            Expr::Access(base, _) => vec![base],
            _ => vec![],
        };
        1 + kids
            .iter()
            .map(|k| go(&k.node, budget - 1))
            .max()
            .unwrap_or(0)
    }
    go(&e.node, 1024)
}

/// Stands for an expression that had an error already reported: a value of
/// the event (`attr.`) whose type is only known per event, so it fits every
/// use and is never constant (no type error nor "never true" warning
/// follows). Files with errors are never compiled nor formatted.
fn poison(span: Span) -> Spanned<Expr> {
    Spanned::new(Expr::Path(POISON.to_string()), span)
}

/// The path that stands for an expression with an error already reported
/// (what the parser lowers it to): no `attr.` path the grammar accepts is empty
/// after its dot, so only an error already reported reads this.
pub const POISON: &str = "attr.";

/// Clause names, for "expected `:` after ...".
const CLAUSE_NAMES: [&str; 7] = [
    "Trigger", "Unless", "Action", "Severity", "Mode", "Cooldown", "Tags",
];

/// The innermost bracket of `block` left open at its end (outside strings,
/// comments and rule header lines), and the bracket that closes it.
fn unclosed_bracket(block: &str) -> Option<(usize, char)> {
    bracket_scan(block).0
}

/// The offset of the first closing bracket of `block` that closes nothing.
fn unmatched_closer(block: &str) -> Option<usize> {
    bracket_scan(block).1
}

fn bracket_scan(block: &str) -> (Option<(usize, char)>, Option<usize>) {
    let mut stack: Vec<(usize, char)> = Vec::new();
    let mut stray = None;
    let mut at = 0;
    for line in block.split_inclusive('\n') {
        let start = at;
        at += line.len();
        let body = line.trim_start_matches([' ', '\t', '\u{feff}']);
        let first_word = body
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .next()
            .unwrap_or("");
        if first_word.eq_ignore_ascii_case("rule") || first_word.eq_ignore_ascii_case("tags") {
            continue;
        }
        let (mut in_str, mut escaped) = (false, false);
        for (i, c) in line.char_indices() {
            if in_str {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => in_str = false,
                    _ => {}
                }
                continue;
            }
            match c {
                '"' => in_str = true,
                '#' => break,
                '(' => stack.push((start + i, ')')),
                '[' => stack.push((start + i, ']')),
                ')' | ']' => {
                    let opener = stack.pop();
                    if opener.is_none() && stray.is_none() {
                        stray = Some(start + i);
                    }
                }
                _ => {}
            }
        }
    }
    (stack.pop(), stray)
}

fn is_phrase(e: &Expr) -> bool {
    match e {
        Expr::Phrase(..) => true,
        Expr::Not(inner, _) => matches!(inner.node, Expr::Phrase(..)),
        Expr::Juxt(_) => true,
        _ => false,
    }
}

fn merge(a: Span, b: Span) -> Span {
    Span {
        start: a.start,
        end: b.end.max(a.end),
        line: a.line,
        col: a.col,
    }
}

/// The token at the start of `rest`, for "found ..." in messages, and its length.
fn found_token(rest: &str) -> (String, usize) {
    let mut chars = rest.chars();
    match chars.next() {
        None => ("end of file".to_string(), 0),
        Some('\n') | Some('\r') => ("end of line".to_string(), 1),
        Some(c) if c.is_alphanumeric() || c == '_' => {
            let end = rest
                .char_indices()
                .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '.'))
                .map_or(rest.len(), |(i, _)| i);
            let tok = rest.get(..end).unwrap_or("");
            (format!("`{tok}`"), end)
        }
        // `&&` and `||` as one token.
        Some(c @ ('&' | '|')) => {
            let n = rest.chars().take_while(|d| *d == c).count();
            let tok = rest.get(..n).unwrap_or("");
            (format!("`{tok}`"), n)
        }
        Some(c) => (format!("`{c}`"), c.len_utf8()),
    }
}

/// Readable names of what the parser expected, deduplicated, in a fixed order.
fn expected_names(rules: &[Rule]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for r in rules {
        let n = rule_name(*r);
        if !names.contains(&n) {
            names.push(n);
        }
    }
    // Where an operator could follow, the expression could also end there;
    // a stray token is far more often a missing or misspelt operator.
    if names.contains(&"an operator") {
        names.retain(|n| !matches!(*n, "a clause" | "end of file" | "a condition"));
    }
    // Where a condition may start, a name is one (a field, a list, a call).
    if names.contains(&"a condition") {
        names.retain(|n| *n != "a name");
    }
    if names.len() > 1 {
        names.retain(|n| *n != "something else");
    }
    // After `Rule`, a string is the quoted title of `rule "Title"`.
    if names.contains(&"a rule id") {
        for n in &mut names {
            if *n == "a value" {
                *n = "a quoted title";
            }
        }
    }
    names.sort_by_key(|n| name_rank(n));
    match names.as_slice() {
        [] => "something else".to_string(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn name_rank(n: &str) -> usize {
    const ORDER: [&str; 13] = [
        "a clause",
        "a rule",
        "a list",
        "a metric",
        "a rule id",
        "a condition",
        "an operator",
        "a value",
        "`)`",
        "`]`",
        "`=`",
        "a time zone",
        "a duration",
    ];
    ORDER.iter().position(|o| *o == n).unwrap_or(ORDER.len())
}

fn rule_name(r: Rule) -> &'static str {
    match r {
        Rule::clause
        | Rule::trigger
        | Rule::unless
        | Rule::action_clause
        | Rule::severity
        | Rule::mode
        | Rule::cooldown
        | Rule::tags
        | Rule::unknown_clause => "a clause",
        Rule::kw_rule | Rule::rule | Rule::rule_header => "a rule",
        Rule::kw_list | Rule::list_decl => "a list",
        Rule::kw_metric | Rule::metric_decl => "a metric",
        Rule::rule_id => "a rule id",
        Rule::name => "a name",
        Rule::expr
        | Rule::paren
        | Rule::actor_phrase
        | Rule::from_ip
        | Rule::time_phrase
        | Rule::day_phrase
        | Rule::scope_phrase
        | Rule::count
        | Rule::distinct
        | Rule::sequence
        | Rule::call
        | Rule::call_arg
        | Rule::by_key
        | Rule::path
        | Rule::op_not
        | Rule::kw_not
        | Rule::op_neg
        | Rule::kw_count
        | Rule::kw_distinct
        | Rule::kw_sequence
        | Rule::kw_where
        | Rule::kw_by
        | Rule::kw_from
        | Rule::kw_outside
        | Rule::kw_within
        | Rule::kw_on
        | Rule::kw_includes
        | Rule::actor_kind
        | Rule::kw_service_app
        | Rule::kw_user
        | Rule::kw_agent
        | Rule::kw_authentication
        | Rule::kw_token
        | Rule::kw_api
        | Rule::kw_admin => "a condition",
        Rule::kw_and
        | Rule::kw_or
        | Rule::kw_in
        | Rule::kw_matches
        | Rule::kw_starts
        | Rule::kw_ends
        | Rule::kw_contains
        | Rule::op_or
        | Rule::op_and
        | Rule::op_not_in
        | Rule::op_in
        | Rule::op_matches
        | Rule::op_starts
        | Rule::op_ends
        | Rule::op_contains
        | Rule::op_eq
        | Rule::op_ne
        | Rule::op_le
        | Rule::op_ge
        | Rule::op_lt
        | Rule::op_gt
        | Rule::op_add
        | Rule::op_sub
        | Rule::op_mul
        | Rule::op_div
        | Rule::op_juxt => "an operator",
        Rule::string
        | Rule::time_lit
        | Rule::duration
        | Rule::ipv4
        | Rule::ipv6
        | Rule::number
        | Rule::boolean
        | Rule::kw_true
        | Rule::kw_false
        | Rule::list_lit
        | Rule::bare_item
        | Rule::value_word
        | Rule::list_file => "a value",
        Rule::action | Rule::action_word => "an action",
        Rule::tag => "a tag",
        Rule::zone => "a time zone",
        Rule::day => "a day",
        Rule::time_range => "a time range `HH:MM-HH:MM`",
        Rule::kw_ip => "`IP`",
        Rule::kw_over => "`over`",
        Rule::kw_scope => "`scope`",
        Rule::kw_request => "`request`",
        Rule::kw_call => "`call`",
        Rule::kw_change => "`change`",
        Rule::title | Rule::colon_sep | Rule::dash_sep => "a title",
        Rule::category => "a category",
        Rule::EOI => "end of file",
        _ => "something else",
    }
}

/// Help for "expected `expected`" at `rest`, on a line that starts with `line`.
fn help_for(expected: &str, rest: &str, line: &str) -> Option<String> {
    // A name with a look-alike letter (a Cyrillic `с` for a Latin `c`) is
    // refused: say which character, not just "expected a name".
    let word: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    if let Some(c) = word.chars().find(|c| !c.is_ascii()) {
        return Some(format!(
            "`{c}` (U+{:04X}) is not an ASCII letter: names are made of ASCII letters, digits and `_`",
            u32::from(c)
        ));
    }
    if expected.starts_with("a rule, a list") {
        return Some("a rule starts with `Rule <id> — <title>`, a list with `list NAME = ...`, a metric with `metric NAME = ...`, a comment with `#`".to_string());
    }
    if expected.starts_with("a rule id") {
        return Some("a rule header is `Rule <id> — <title>` (the id a number or a word), or `rule \"<title>\"`".to_string());
    }
    if expected == "a name" && rest.starts_with('=') {
        let metric = line
            .trim_start()
            .get(..6)
            .is_some_and(|w| w.eq_ignore_ascii_case("metric"));
        return Some(if metric {
            "name the metric: `metric NAME = count over 1h`".to_string()
        } else {
            "name the list: `list NAME = [a, b]`".to_string()
        });
    }
    if rest.starts_with('=') && !rest.starts_with("==") && expected.contains("operator") {
        return Some("use `==` to compare".to_string());
    }
    if rest.starts_with('&') {
        let op = if rest.starts_with("&&") { "&&" } else { "&" };
        return Some(format!("write `AND` instead of `{op}`"));
    }
    if rest.starts_with('|') {
        let op = if rest.starts_with("||") { "||" } else { "|" };
        return Some(format!("write `OR` instead of `{op}`"));
    }
    None
}

/// Attaches the comments of one block to the item: whole-line comments to the
/// next clause or trigger line after them (or, after the last one, to the next
/// item), end-of-line comments to the line they end.
fn attach_comments(item: &mut Item, comments: Vec<Comment>, pending: &mut Vec<String>, text: &str) {
    let mut anchors: Vec<(usize, &mut Layout)> = Vec::new();
    match item {
        Item::List(l) => anchors.push((l.span.start, &mut l.layout)),
        Item::Metric(m) => {
            anchors.push((m.span.start, &mut m.layout));
            collect_breaks(&mut m.value.node, text, &mut anchors);
        }
        Item::Rule(r) => {
            anchors.push((r.span.start, &mut r.layout));
            for c in &mut r.clauses {
                anchors.push((c.span.start, &mut c.layout));
                if let ClauseBody::Trigger(e) | ClauseBody::Unless(e) = &mut c.body {
                    collect_breaks(&mut e.node, text, &mut anchors);
                }
            }
        }
    }
    let mut after = Vec::new();
    for c in comments {
        if c.own_line {
            match anchors.iter_mut().find(|(pos, _)| *pos > c.pos) {
                Some((_, layout)) => layout.leading.push(c.text),
                None => after.push(c.text),
            }
        } else if let Some((_, layout)) = anchors.iter_mut().rev().find(|(pos, _)| *pos <= c.pos) {
            layout.trailing = Some(match layout.trailing.take() {
                Some(t) => format!("{t} {}", c.text),
                None => c.text,
            });
        }
    }
    if let Some((_, layout)) = anchors.first_mut() {
        if !pending.is_empty() {
            let mut lead = std::mem::take(pending);
            lead.append(&mut layout.leading);
            layout.leading = lead;
        }
    }
    *pending = after;
}

/// The operands of a trigger that start a new line, with the offset of the
/// start of that line.
fn collect_breaks<'t>(e: &'t mut Expr, text: &str, out: &mut Vec<(usize, &'t mut Layout)>) {
    match e {
        Expr::Or(ops) | Expr::And(ops) | Expr::Juxt(ops) => {
            for op in ops.iter_mut() {
                if op.layout.newline {
                    let start = op.expr.span.start;
                    let line_start = text
                        .get(..start)
                        .and_then(|s| s.rfind(['\n', '\r']))
                        .map_or(0, |i| i + 1);
                    out.push((line_start, &mut op.layout));
                }
                collect_breaks(&mut op.expr.node, text, out);
            }
        }
        Expr::Not(a, _) | Expr::Paren(a) | Expr::Neg(a) => collect_breaks(&mut a.node, text, out),
        // Line breaks inside `x in (...)`, `count(...)`, calls and other
        // operands are anchors too, so their comments stay on their line.
        Expr::Cmp(_, a, b) | Expr::Arith(_, a, b) | Expr::Str(_, a, b, _) => {
            collect_breaks(&mut a.node, text, out);
            collect_breaks(&mut b.node, text, out);
        }
        Expr::In { item, list, .. } => {
            collect_breaks(&mut item.node, text, out);
            collect_breaks(&mut list.node, text, out);
        }
        Expr::Call(_, args) => {
            for a in args.iter_mut() {
                collect_breaks(&mut a.node, text, out);
            }
        }
        Expr::Count { cond, scope, .. } => {
            for c in cond.iter_mut().chain(scope.iter_mut()) {
                collect_breaks(&mut c.node, text, out);
            }
        }
        Expr::Distinct { field, scope, .. } => {
            for c in std::iter::once(field).chain(scope.iter_mut()) {
                collect_breaks(&mut c.node, text, out);
            }
        }
        Expr::Sequence { steps, .. } => {
            for c in steps.iter_mut() {
                collect_breaks(&mut c.node, text, out);
            }
        }
        Expr::Scoped(a, b, _) => {
            collect_breaks(&mut a.node, text, out);
            collect_breaks(&mut b.node, text, out);
        }
        Expr::By(a, _, _) => collect_breaks(&mut a.node, text, out),
        Expr::Access(base, _) => collect_breaks(&mut base.node, text, out),
        _ => {}
    }
}

type Rule_ = crate::lang::ast::Rule;

#[doc(hidden)]
pub fn debug_parse(block: &str) -> String {
    match RulesParser::parse(Rule::block, block) {
        Ok(p) => format!("{p:#?}")
            .lines()
            .filter(|l| l.contains("rule:"))
            .collect::<Vec<_>>()
            .join("\n"),
        Err(e) => format!("{e:?}"),
    }
}
