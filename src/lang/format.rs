//! The canonical text of a rules file (`riskgate fmt`).
//!
//! Kept from the author: keyword spelling, comments, and the line
//! breaks of triggers and metric definitions. Normalised: spacing, `—`
//! header separators, `[a, b]` lists, one blank line between items (none
//! between consecutive lists, nor between consecutive metrics),
//! continuation lines at column 0 starting with their operator.
//! `format_file(parse(format_file(x))) == format_file(x)`.
//!
//! ```
//! let src = "list   L=[a,b]\nrule 7:Burst\ntrigger: requests_per_minute>50\naction: flag\nseverity: low\n";
//! let text = riskgate::lang::format::format_source("x.rules", src).unwrap();
//! assert_eq!(text, "list L = [a, b]\n\nrule 7 — Burst\ntrigger: requests_per_minute > 50\naction: flag\nseverity: low\n");
//! ```

use std::fmt::Write as _;
use std::sync::Arc;

use crate::lang::ast::*;
use crate::lang::diagnostic::{Diagnostics, Source};
use crate::limits::Limits;

/// Parses `text` and returns its canonical form, or the syntax errors.
pub fn format_source(name: &str, text: &str) -> Result<String, Diagnostics> {
    let name: Arc<str> = Arc::from(name);
    let (file, diags) = crate::lang::syntax::parse_file(&name, text, &Limits::default());
    if diags.iter().any(|d| d.is_error()) {
        let mut d = Diagnostics {
            items: diags,
            sources: vec![Source {
                name,
                text: Arc::from(text),
            }],
        };
        d.sort();
        return Err(d);
    }
    Ok(format_file(&file))
}

/// The canonical text of a parsed file.
pub fn format_file(file: &RuleFile) -> String {
    let mut out = String::new();
    // Consecutive lists, and consecutive metrics, are one group each.
    let mut prev_group = None;
    for item in &file.items {
        let group = match item {
            Item::List(_) => Some(0),
            Item::Metric(_) => Some(1),
            Item::Rule(_) => None,
        };
        if let Some(prev) = prev_group {
            if group.is_none() || group != prev {
                out.push('\n');
            }
        }
        prev_group = Some(group);
        match item {
            Item::List(l) => list_decl(&mut out, l),
            Item::Metric(m) => metric_decl(&mut out, m),
            Item::Rule(r) => rule(&mut out, r),
        }
    }
    if !file.trailing_comments.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        for c in &file.trailing_comments {
            out.push_str(c);
            out.push('\n');
        }
    }
    out
}

fn leading(out: &mut String, layout: &Layout) {
    for c in &layout.leading {
        out.push_str(c);
        out.push('\n');
    }
}

fn end_line(out: &mut String, trailing: &Option<String>) {
    if let Some(t) = trailing {
        out.push(' ');
        out.push_str(t);
    }
    out.push('\n');
}

fn list_decl(out: &mut String, l: &ListDecl) {
    leading(out, &l.layout);
    let _ = write!(out, "{} {} = ", l.layout.word(0, "list"), l.name.node);
    match &l.value {
        ListValue::Items(items) => list_items(out, items),
        ListValue::File(path) => {
            let _ = write!(out, "{} ", l.layout.word(1, "file"));
            let _ = write_quoted(out, &path.node);
        }
        ListValue::Field(f) => out.push_str(&f.node),
    }
    end_line(out, &l.layout.trailing);
}

fn metric_decl(out: &mut String, m: &MetricDecl) {
    leading(out, &m.layout);
    let _ = write!(out, "{} {} = ", m.layout.word(0, "metric"), m.name.node);
    let mut trailing = m.layout.trailing.clone();
    let mut w = ExprWriter {
        out,
        trailing: &mut trailing,
        breaks: true,
    };
    w.expr(&m.value.node);
    end_line(out, &trailing);
}

fn list_items(out: &mut String, items: &[Spanned<Literal>]) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{}", item.node);
    }
    out.push(']');
}

fn rule(out: &mut String, r: &Rule) {
    leading(out, &r.layout);
    let kw = r.layout.word(0, "Rule");
    match (r.header, &r.title) {
        (HeaderForm::Quoted, title) => {
            let _ = write!(out, "{kw} ");
            let _ = write_quoted(out, title.as_deref().unwrap_or(""));
        }
        (HeaderForm::Id, Some(title)) => {
            let _ = write!(out, "{kw} {} — {title}", r.id.node);
        }
        (HeaderForm::Id, None) => {
            let _ = write!(out, "{kw} {}", r.id.node);
        }
    }
    end_line(out, &r.layout.trailing);
    for c in &r.clauses {
        clause(out, c);
    }
}

fn clause(out: &mut String, c: &Clause) {
    leading(out, &c.layout);
    let name = c.layout.word(0, c.kind().name());
    let mut trailing = c.layout.trailing.clone();
    match &c.body {
        ClauseBody::Trigger(e) | ClauseBody::Unless(e) => {
            let _ = write!(out, "{name}: ");
            let mut w = ExprWriter {
                out,
                trailing: &mut trailing,
                breaks: true,
            };
            w.expr(&e.node);
        }
        ClauseBody::Action(actions) => {
            let _ = write!(out, "{name}: ");
            for (i, a) in actions.iter().enumerate() {
                if i > 0 {
                    out.push_str(" + ");
                }
                out.push_str(&a.node.words.join(" "));
                if let Some(q) = &a.node.quoted {
                    if !a.node.words.is_empty() {
                        out.push(' ');
                    }
                    let _ = write_quoted(out, q);
                }
            }
        }
        ClauseBody::Severity(v) | ClauseBody::Mode(v) | ClauseBody::Cooldown(v) => {
            let _ = write!(out, "{name}: {}", v.node);
        }
        ClauseBody::Tags(tags) => {
            let _ = write!(out, "{name}: ");
            let tags: Vec<&str> = tags.iter().map(|t| t.node.as_str()).collect();
            out.push_str(&tags.join(", "));
        }
        ClauseBody::Unknown { name, text } if text.is_empty() => {
            // No trailing space after an empty clause.
            let _ = write!(out, "{}:", name.node);
        }
        ClauseBody::Unknown { name, text } => {
            let _ = write!(out, "{}: {text}", name.node);
        }
    }
    end_line(out, &trailing);
}

/// The canonical text of an expression on one line (no comments).
pub fn expr_text(e: &Expr) -> String {
    let mut out = String::new();
    let mut trailing = None;
    let mut w = ExprWriter {
        out: &mut out,
        trailing: &mut trailing,
        breaks: false,
    };
    w.expr(e);
    out
}

/// Writes expressions, breaking lines where the author did.
struct ExprWriter<'o> {
    out: &'o mut String,
    /// The comment that ends the current line.
    trailing: &'o mut Option<String>,
    /// Keep the author's line breaks (and comments).
    breaks: bool,
}

impl ExprWriter<'_> {
    fn sub(&mut self, e: &Spanned<Expr>) {
        self.expr(&e.node);
    }

    fn nary(&mut self, ops: &[Operand], default: &str) {
        for (i, op) in ops.iter().enumerate() {
            if i > 0 {
                let word = op.layout.word(0, default);
                if op.layout.newline && self.breaks {
                    let t = self.trailing.take();
                    end_line(self.out, &t);
                    leading(self.out, &op.layout);
                    *self.trailing = op.layout.trailing.clone();
                    if !word.is_empty() {
                        self.out.push_str(word);
                        self.out.push(' ');
                    }
                } else if word.is_empty() {
                    self.out.push(' ');
                } else {
                    let _ = write!(self.out, " {word} ");
                }
            }
            self.sub(&op.expr);
        }
    }

    fn expr(&mut self, e: &Expr) {
        match e {
            Expr::Or(ops) => self.nary(ops, "OR"),
            Expr::And(ops) => self.nary(ops, "AND"),
            Expr::Juxt(ops) => self.nary(ops, ""),
            Expr::Not(a, layout) => {
                let _ = write!(self.out, "{} ", layout.word(0, "NOT"));
                self.sub(a);
            }
            Expr::Cmp(op, a, b) => self.binary(a, op.as_str(), b),
            Expr::Arith(op, a, b) => self.binary(a, op.as_str(), b),
            Expr::Str(op, a, b, layout) => self.binary(a, layout.word(0, op.as_str()), b),
            Expr::In {
                negated,
                item,
                list,
                layout,
            } => {
                self.sub(item);
                if *negated {
                    let _ = write!(
                        self.out,
                        " {} {} ",
                        layout.word(0, "not"),
                        layout.word(1, "in")
                    );
                } else {
                    let _ = write!(self.out, " {} ", layout.word(0, "in"));
                }
                self.sub(list);
            }
            Expr::Neg(a) => {
                self.out.push('-');
                self.sub(a);
            }
            Expr::Paren(a) => {
                self.out.push('(');
                self.sub(a);
                self.out.push(')');
            }
            Expr::Call(name, args) => {
                self.out.push_str(&name.node);
                self.out.push('(');
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.sub(a);
                }
                self.out.push(')');
            }
            Expr::Count {
                cond,
                scope,
                window,
                by,
                layout,
            } => {
                self.out.push_str(layout.spelled("count"));
                if let Some(c) = cond {
                    self.out.push('(');
                    self.sub(c);
                    self.scope(scope.as_deref(), layout);
                    self.out.push(')');
                }
                let _ = write!(self.out, " {} ", layout.spelled("over"));
                self.sub(window);
                self.by(by.as_ref(), layout);
            }
            Expr::Distinct {
                field,
                scope,
                window,
                by,
                layout,
            } => {
                let _ = write!(self.out, "{}(", layout.spelled("distinct"));
                self.sub(field);
                self.scope(scope.as_deref(), layout);
                let _ = write!(self.out, ") {} ", layout.spelled("over"));
                self.sub(window);
                self.by(by.as_ref(), layout);
            }
            Expr::Sequence {
                steps,
                within,
                by,
                layout,
            } => {
                let _ = write!(self.out, "{}(", layout.spelled("sequence"));
                for (i, a) in steps.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.sub(a);
                }
                let _ = write!(self.out, ") {} ", layout.spelled("within"));
                self.sub(within);
                self.by(by.as_ref(), layout);
            }
            Expr::Scoped(value, cond, layout) => {
                self.sub(value);
                self.scope(Some(cond), layout);
            }
            Expr::By(call, by, layout) => {
                self.sub(call);
                self.by(Some(by), layout);
            }
            Expr::Access(base, path) => {
                self.sub(base);
                crate::lang::path::write_segments(self.out, path);
            }
            Expr::Path(p) => self.out.push_str(p),
            Expr::Lit(Literal::Str(s, _)) => {
                let _ = write_quoted(self.out, s);
            }
            Expr::Lit(l) => {
                let _ = write!(self.out, "{l}");
            }
            Expr::List(items) => list_items(self.out, items),
            Expr::Phrase(p, layout) => self.phrase(p, layout),
        }
    }

    /// ` where cond`, if there is a scope.
    fn scope(&mut self, scope: Option<&Spanned<Expr>>, layout: &Layout) {
        if let Some(c) = scope {
            let _ = write!(self.out, " {} ", layout.spelled("where"));
            self.sub(c);
        }
    }

    /// ` by F` / ` by (F, G)`, if there is a key.
    fn by(&mut self, by: Option<&ByKey>, layout: &Layout) {
        if let Some(by) = by {
            let _ = write!(self.out, " {} {}", layout.spelled("by"), by.text());
        }
    }

    fn binary(&mut self, a: &Spanned<Expr>, op: &str, b: &Spanned<Expr>) {
        self.sub(a);
        let _ = write!(self.out, " {op} ");
        self.sub(b);
    }

    fn phrase(&mut self, p: &Phrase, layout: &Layout) {
        match p {
            Phrase::Actor { kind, category } => {
                let mut i = 0;
                if let Some(k) = kind {
                    let _ = write!(self.out, "{} ", layout.word(0, k.as_str()));
                    i = 1;
                }
                let words: Vec<&str> = category.as_str().split(' ').collect();
                for (j, w) in words.iter().enumerate() {
                    if j > 0 {
                        self.out.push(' ');
                    }
                    self.out.push_str(layout.word(i + j, w));
                }
            }
            Phrase::FromIp { negated, list } | Phrase::IncludesScope { negated, list } => {
                let (a, b) = match p {
                    Phrase::FromIp { .. } => ("from", "IP"),
                    _ => ("includes", "scope"),
                };
                let _ = write!(self.out, "{} {} ", layout.word(0, a), layout.word(1, b));
                if *negated {
                    let _ = write!(
                        self.out,
                        "{} {} ",
                        layout.word(2, "not"),
                        layout.word(3, "in")
                    );
                } else {
                    let _ = write!(self.out, "{} ", layout.word(2, "in"));
                }
                self.sub(list);
            }
            Phrase::TimeOfDay {
                outside,
                start,
                end,
                zone,
            } => {
                let kw = if *outside { "outside" } else { "within" };
                let _ = write!(
                    self.out,
                    "{} {:02}:{:02}-{:02}:{:02}",
                    layout.word(0, kw),
                    start / 60,
                    start % 60,
                    end / 60,
                    end % 60
                );
                if let Some(z) = zone {
                    let _ = write!(self.out, " {}", z.node);
                }
            }
            Phrase::Days { days, zone } => {
                let days: Vec<&str> = days.iter().map(|d| d.node.as_str()).collect();
                let _ = write!(self.out, "{} {}", layout.word(0, "on"), days.join(","));
                if let Some(z) = zone {
                    let _ = write!(self.out, " {}", z.node);
                }
            }
        }
    }
}
