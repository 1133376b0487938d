//! `metric` declarations: a stateful metric named once and read by that
//! name in every rule of the set (`metric ad_auths = count(...) over 1d`,
//! then `ad_auths >= 5`).
//!
//! A name is checked like a list's: unique in the set (E0220), not the name
//! of a list, a built-in field, metric or function (E0223), used by some
//! rule (W0004). Its definition must be one stateful metric
//! ([`metric_shape`], E0221) that names no metric, itself included (E0222).
//! It is checked once, where it is declared, against a scratch program; a
//! rule that reads the name checks it again into the real program, so the
//! name compiles to exactly what the definition written inline compiles to
//! (the builder interns metrics by their canonical text: one state however
//! many rules read it, and a reload keeps it across a rename or an
//! inlining). Only what the reader sees differs: explanations show the name.

use super::*;

/// How a named metric reads in a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MetricShape {
    /// A number (`count`, `distinct`, `requests_per_minute`): compared, or
    /// given to `baseline`.
    Value,
    /// A condition (`first_seen`): true or false by itself.
    Cond,
}

/// Which expressions a `metric` declaration may name, and how each reads:
/// `None` for anything that is not one stateful metric. A new kind of
/// metric is one more arm here.
pub(super) fn metric_shape(e: &Expr) -> Option<MetricShape> {
    match e {
        Expr::Count { .. } | Expr::Distinct { .. } => Some(MetricShape::Value),
        Expr::Path(p) if p == "requests_per_minute" || p == "tracked_for" => {
            Some(MetricShape::Value)
        }
        Expr::Call(name, _) if name.node == "first_seen" => Some(MetricShape::Cond),
        Expr::Call(name, _) if matches!(name.node.as_str(), "since" | "first" | "previous") => {
            Some(MetricShape::Value)
        }
        Expr::Sequence { .. } => Some(MetricShape::Cond),
        Expr::By(call, ..) => metric_shape(&call.node),
        Expr::Paren(inner) => metric_shape(&inner.node),
        _ => None,
    }
}

/// A declared metric.
pub(super) struct MetricInfo {
    /// Its definition.
    def: Spanned<Expr>,
    /// How it reads; `None` when its declaration had an error (already
    /// reported): the rules that read it get no further error about it.
    shape: Option<MetricShape>,
    /// Where its name was declared.
    span: Span,
    file: Arc<str>,
    pub(super) used: bool,
}

/// Help of E0221.
const METRIC_HELP: &str = "a metric is one of `count(<condition>) over <window> [by <key>]`, `distinct(<field>) over <window> [by <key>]`, `requests_per_minute`, `tracked_for`, `first_seen(<field>)`, `since(<condition>)`, `first(<field>)`, `previous(<field>)` (each `[by <key>]`) or `sequence(...) within <span> [by <key>]`";

impl Checker {
    /// Declares metric `m` (first pass, after every list: every name of
    /// the set is known before any definition is checked).
    pub(super) fn metric_decl(&mut self, m: &ast::MetricDecl) {
        let name = &m.name.node;
        if let Some(prev) = self.metrics.get(name) {
            let help = format!(
                "metric names are unique in a rule set; the first is at {}:{}:{}",
                prev.file, prev.span.line, prev.span.col
            );
            self.error(
                "E0220",
                m.name.span,
                format!("duplicate metric `{name}`"),
                Some(help),
            );
            return;
        }
        // A name the language or a list has already is not a metric's:
        // the rules go on reading it as before.
        if let Some(clash) = self.builtin_name(name) {
            self.error(
                "E0223",
                m.name.span,
                format!("metric `{name}` has the name of {clash}"),
                Some("give the metric a name of its own".into()),
            );
            return;
        }
        if let Some(list) = self.lists.get(name) {
            let help = format!(
                "a name is a list or a metric, not both; the list is at {}:{}:{}",
                list.file, list.span.line, list.span.col
            );
            self.error(
                "E0223",
                m.name.span,
                format!("metric `{name}` has the name of a list"),
                Some(help),
            );
            return;
        }
        self.metrics.insert(
            name.clone(),
            MetricInfo {
                def: m.value.clone(),
                shape: None,
                span: m.name.span,
                file: self.file.clone(),
                used: false,
            },
        );
    }

    /// Checks the name and the definition of metric `m` (second pass, once
    /// every list and metric of the set is declared).
    pub(super) fn metric_def(&mut self, m: &ast::MetricDecl) {
        let name = &m.name.node;
        // A duplicate was reported by `metric_decl`; the first one counts.
        match self.metrics.get(name) {
            Some(info) if info.span.start == m.name.span.start && info.file == self.file => {}
            _ => return,
        }
        let shape = self.metric_shape_checked(m);
        if let Some(info) = self.metrics.get_mut(name) {
            info.shape = shape;
            // Reported already: no "never used" on top.
            info.used |= shape.is_none();
        }
    }

    fn metric_shape_checked(&mut self, m: &ast::MetricDecl) -> Option<MetricShape> {
        let name = m.name.node.as_str();
        let def = &m.value;
        if matches!(&def.node, Expr::Path(p) if p == POISON) {
            return None;
        }
        let mut refs = Vec::new();
        self.metric_refs(&def.node, def.span, &mut refs);
        if let Some((other, span)) = refs.into_iter().next() {
            let (msg, help) = if other == name {
                (
                    format!("metric `{name}` refers to itself"),
                    "a metric is defined by the event's fields, not by a metric".to_string(),
                )
            } else {
                (
                    format!("metric `{name}` refers to metric `{other}`"),
                    format!("a metric is defined by the event's fields: write `{other}`'s definition out, or compare the two metrics in a rule"),
                )
            };
            self.error("E0222", span, msg, Some(help));
            return None;
        }
        let Some(shape) = metric_shape(&def.node) else {
            self.error(
                "E0221",
                def.span,
                format!("`{}` is not a stateful metric", expr_text(&def.node)),
                Some(METRIC_HELP.into()),
            );
            return None;
        };
        // Checked here once, for its errors, into a scratch program: an
        // unused metric keeps no state.
        let scratch = Builder::new(&self.limits);
        let real = std::mem::replace(&mut self.build, scratch);
        let errors = self.diags.iter().filter(|d| d.is_error()).count();
        self.metric_in_scope(def, shape);
        self.build = real;
        let ok = self.diags.iter().filter(|d| d.is_error()).count() == errors;
        ok.then_some(shape)
    }

    /// Checks `def` as a metric of `shape`, outside any rule's context.
    fn metric_in_scope(&mut self, def: &Spanned<Expr>, shape: MetricShape) -> MetricRead {
        let saved = (self.in_any, self.in_count, self.baseline_target.take());
        self.in_any = false;
        self.in_count = false;
        let out = match shape {
            MetricShape::Value => MetricRead::Value(self.value(def)),
            MetricShape::Cond => MetricRead::Cond(self.cond(def)),
        };
        (self.in_any, self.in_count, self.baseline_target) = saved;
        out
    }

    /// What `name` would clash with among the names the language defines.
    fn builtin_name(&self, name: &str) -> Option<&'static str> {
        if FIELDS.iter().any(|(n, _, _)| *n == name) {
            Some("a built-in field")
        } else if matches!(
            name,
            "requests_per_minute" | "baseline" | "count" | "distinct"
        ) {
            Some("a built-in metric")
        } else if FUNCTIONS.contains(&name) {
            Some("a function")
        } else {
            None
        }
    }

    /// The metric names `e` reads, with where (the fields of `by` and
    /// `distinct` included).
    fn metric_refs(&self, e: &Expr, span: Span, out: &mut Vec<(String, Span)>) {
        let named = |p: &str, s: Span, out: &mut Vec<(String, Span)>| {
            if self.metrics.contains_key(p) {
                out.push((p.to_string(), s));
            }
        };
        match e {
            Expr::Path(p) => named(p, span, out),
            Expr::Or(ops) | Expr::And(ops) | Expr::Juxt(ops) => {
                for o in ops {
                    self.metric_refs(&o.expr.node, o.expr.span, out);
                }
            }
            Expr::Not(a, _) | Expr::Neg(a) | Expr::Paren(a) => {
                self.metric_refs(&a.node, a.span, out)
            }
            Expr::Cmp(_, a, b) | Expr::Arith(_, a, b) | Expr::Str(_, a, b, _) => {
                self.metric_refs(&a.node, a.span, out);
                self.metric_refs(&b.node, b.span, out);
            }
            Expr::In { item, list, .. } => {
                self.metric_refs(&item.node, item.span, out);
                self.metric_refs(&list.node, list.span, out);
            }
            Expr::Call(_, args) => {
                for a in args {
                    self.metric_refs(&a.node, a.span, out);
                }
            }
            Expr::Count {
                cond, scope, by, ..
            } => {
                for c in cond.iter().chain(scope) {
                    self.metric_refs(&c.node, c.span, out);
                }
                for f in by.iter().flat_map(|b| &b.fields) {
                    named(&f.node, f.span, out);
                }
            }
            Expr::Distinct {
                field, scope, by, ..
            } => {
                for c in std::iter::once(field).chain(scope) {
                    self.metric_refs(&c.node, c.span, out);
                }
                for f in by.iter().flat_map(|b| &b.fields) {
                    named(&f.node, f.span, out);
                }
            }
            Expr::Sequence { steps, by, .. } => {
                for c in steps {
                    self.metric_refs(&c.node, c.span, out);
                }
                for f in by.iter().flat_map(|b| &b.fields) {
                    named(&f.node, f.span, out);
                }
            }
            Expr::Scoped(a, b, _) => {
                self.metric_refs(&a.node, a.span, out);
                self.metric_refs(&b.node, b.span, out);
            }
            Expr::By(call, by, _) => {
                self.metric_refs(&call.node, call.span, out);
                for f in &by.fields {
                    named(&f.node, f.span, out);
                }
            }
            Expr::Access(base, _) => self.metric_refs(&base.node, base.span, out),
            Expr::Lit(_) | Expr::List(_) | Expr::Phrase(..) => {}
        }
    }

    /// Is `p` a declared metric?
    pub(super) fn is_metric(&self, p: &str) -> bool {
        self.metrics.contains_key(p)
    }

    /// Reads metric `p` as a value at `span`; `None` after an error, or
    /// quietly when its declaration had one.
    pub(super) fn metric_value(&mut self, p: &str, span: Span) -> Option<(Val, Ty)> {
        let (def, shape) = match self.use_metric(p)? {
            Some(found) => found,
            None => return Some((poisoned(), Ty::Dyn)),
        };
        if self.metric_in_count(span) {
            return None;
        }
        match shape {
            MetricShape::Cond => {
                self.error(
                    "E0206",
                    span,
                    format!("metric `{p}` is a condition, not a value"),
                    Some(format!("use it as a condition: `{p}`, `NOT {p}`")),
                );
                None
            }
            MetricShape::Value => match self.metric_again(&def, shape) {
                MetricRead::Value(Some((v, t))) => Some((Val::Named(Arc::from(p), Box::new(v)), t)),
                _ => None,
            },
        }
    }

    /// Reads metric `p` as a condition at `span`, or `None` when it is a
    /// value (the caller reports that as for any value).
    pub(super) fn metric_cond(&mut self, p: &str, span: Span) -> Option<Cond> {
        let shape = self.metrics.get(p).map(|m| m.shape);
        match shape {
            None | Some(Some(MetricShape::Value)) => return None,
            Some(None) => {
                self.use_metric(p);
                return Some(Cond::Truthy(poisoned(), Arc::from(p)));
            }
            Some(Some(MetricShape::Cond)) => {}
        }
        let (def, shape) = self.use_metric(p).flatten()?;
        if self.metric_in_count(span) {
            return Some(Cond::Const(Tri::False));
        }
        Some(match self.metric_again(&def, shape) {
            MetricRead::Cond(c) => named_cond(c, p),
            MetricRead::Value(_) => Cond::Const(Tri::False),
        })
    }

    /// Marks metric `p` used; its definition and shape, or `Some(None)`
    /// when its declaration had an error.
    fn use_metric(&mut self, p: &str) -> Option<Option<(Spanned<Expr>, MetricShape)>> {
        let info = self.metrics.get_mut(p)?;
        info.used = true;
        Some(info.shape.map(|shape| (info.def.clone(), shape)))
    }

    /// Checks a definition that passed already into the program: its
    /// diagnostics were reported where it was declared.
    fn metric_again(&mut self, def: &Spanned<Expr>, shape: MetricShape) -> MetricRead {
        let n = self.diags.len();
        let read = self.metric_in_scope(def, shape);
        self.diags.truncate(n);
        read
    }

    /// Warnings for metrics no rule reads (like lists: only for a set
    /// without errors).
    pub(super) fn unused_metrics(&mut self) {
        let mut unused: Vec<(String, Span, Arc<str>)> = self
            .metrics
            .iter()
            .filter(|(_, m)| !m.used)
            .map(|(n, m)| (n.clone(), m.span, m.file.clone()))
            .collect();
        unused.sort_by(|a, b| (&a.2, a.1.start).cmp(&(&b.2, b.1.start)));
        for (name, span, file) in unused {
            let mut d =
                Diagnostic::warning("W0004", span, format!("metric `{name}` is never used"))
                    .with_help("read it in a rule's trigger, or remove it");
            d.file = file;
            self.diags.push(d);
        }
    }
}

/// A definition checked as a value or as a condition.
enum MetricRead {
    Value(Option<(Val, Ty)>),
    Cond(Cond),
}

/// What a metric whose declaration had an error reads as: a value of the
/// event known only per event, so the rules that read it get no further
/// error or warning about it (the set is not compiled).
fn poisoned() -> Val {
    Val::Attr(Box::new([]))
}

/// A condition metric read by name: explanations show the name.
fn named_cond(c: Cond, name: &str) -> Cond {
    match c {
        Cond::FirstSeen(i, _) => Cond::FirstSeen(i, Arc::from(name)),
        Cond::Cell(i, _) => Cond::Cell(i, Arc::from(name)),
        other => other,
    }
}
