//! Values: literals, fields, paths into `attr.` and `agent.`, arithmetic
//! and the metric functions (`count`, `distinct`, `baseline`, ...).

use super::*;
use crate::num::Num;

impl Checker {
    pub(super) fn value(&mut self, e: &Spanned<Expr>) -> Option<(Val, Ty)> {
        match &e.node {
            Expr::Lit(l) => Some(match l {
                Literal::Num(n, text) => (
                    Val::Num(Num::parse_decimal(text).unwrap_or(Num::from_f64(*n))),
                    Ty::Num,
                ),
                Literal::Str(s, _) => (Val::Str(Arc::from(s.as_str())), Ty::Str),
                Literal::Ip(ip) => (Val::Ip(*ip), Ty::Ip),
                Literal::Cidr(_) => {
                    self.error(
                        "E0206",
                        e.span,
                        format!("a CIDR `{l}` is not a value"),
                        Some("test membership with `ip in [10.0.0.0/8]`".into()),
                    );
                    return None;
                }
                Literal::Time(m) => (Val::Time(*m), Ty::Time),
                Literal::Duration(ms, _) => (Val::Dur(*ms), Ty::Dur),
                Literal::Bool(b) => (Val::Bool(*b), Ty::Bool),
            }),
            Expr::Paren(inner) => self.value(inner),
            Expr::Path(p) => self.path_value(p, e.span),
            Expr::Arith(op, a, b) => {
                let (va, ta) = self.value(a)?;
                let (vb, tb) = self.value(b)?;
                for (t, side) in [(ta, a), (tb, b)] {
                    if !matches!(t, Ty::Num | Ty::Dyn) {
                        self.error(
                            "E0206",
                            side.span,
                            format!(
                                "`{}` needs numbers, but `{}` is {}",
                                op.as_str(),
                                expr_text(&side.node),
                                t.name()
                            ),
                            None,
                        );
                        return None;
                    }
                }
                Some((fold_arith(*op, va, vb), Ty::Num))
            }
            Expr::Neg(a) => {
                let (v, t) = self.value(a)?;
                if !matches!(t, Ty::Num | Ty::Dyn) {
                    self.error(
                        "E0206",
                        a.span,
                        format!(
                            "`-` needs a number, but `{}` is {}",
                            expr_text(&a.node),
                            t.name()
                        ),
                        None,
                    );
                    return None;
                }
                Some((
                    match v {
                        Val::Num(n) => Val::Num(n.neg()),
                        v => Val::Neg(Box::new(v)),
                    },
                    Ty::Num,
                ))
            }
            Expr::Call(name, args) => self.call_value(name, args, e),
            Expr::Access(base, tail) => self.access_value(base, tail, e),
            Expr::Count {
                cond,
                scope,
                window,
                by,
                ..
            } => {
                if self.metric_in_count(e.span) {
                    return None;
                }
                let width = self.window(window)?;
                if let (None, Some(s)) = (cond, scope) {
                    self.no_where_by(s.span, "`where` needs a counted condition");
                    return None;
                }
                let c = match cond {
                    Some(c) => {
                        let c = self.scope_cond(c, "a `count` condition");
                        Some(match scope {
                            Some(s) => fold_and(vec![c, self.scope_cond(s, stateful::WHERE)]),
                            None => c,
                        })
                    }
                    None => None,
                };
                let by_val = match by {
                    Some(by) => Some(self.by_key(by)?),
                    None => None,
                };
                let label = expr_text(&e.node);
                let i = self.build.counter(c, width, by_val, &label);
                Some((Val::Count(i), Ty::Num))
            }
            Expr::Distinct {
                field,
                scope,
                window,
                by,
                ..
            } => {
                if self.metric_in_count(e.span) {
                    return None;
                }
                let width = self.window(window)?;
                let (v, _) = self.field_arg(field, "distinct", false)?;
                let scope = scope.as_ref().map(|c| self.scope_cond(c, stateful::WHERE));
                let label: Arc<str> = Arc::from(expr_text(&e.node).as_str());
                match by {
                    None => {
                        let i = self.build.distinct(DistinctDef {
                            field: v,
                            scope,
                            width_ms: width,
                            history_windows: 0,
                            label,
                        });
                        Some((Val::Distinct(i), Ty::Num))
                    }
                    Some(by) => {
                        let key = self.by_key(by)?;
                        let i = self.build.cell(CellDef {
                            kind: CellKind::Distinct {
                                width_ms: width,
                                history_windows: 0,
                            },
                            by: Some(key),
                            arg: CellArg::Value(v),
                            scope,
                            label,
                        });
                        Some((Val::Cell(i), Ty::Num))
                    }
                }
            }
            Expr::By(inner, by, _) => self.by_value(inner, by, e),
            Expr::Scoped(_, c, _) => {
                self.no_where_by(
                    c.span,
                    "`where` belongs inside the parentheses of a stateful metric",
                );
                None
            }
            Expr::List(_) => {
                let (l, t) = self.list_ref(e)?;
                let _ = l;
                self.error(
                    "E0206",
                    e.span,
                    "a list is not a value here",
                    Some("test membership with `x in [...]`".into()),
                );
                let _ = t;
                None
            }
            Expr::Or(_)
            | Expr::And(_)
            | Expr::Juxt(_)
            | Expr::Not(..)
            | Expr::Cmp(..)
            | Expr::In { .. }
            | Expr::Str(..)
            | Expr::Sequence { .. }
            | Expr::Phrase(..) => {
                self.error(
                    "E0206",
                    e.span,
                    format!(
                        "expected a value, found a condition `{}`",
                        expr_text(&e.node)
                    ),
                    None,
                );
                None
            }
        }
    }

    pub(super) fn window(&mut self, w: &Spanned<Expr>) -> Option<u64> {
        let ms = self.duration_arg(w)?;
        if ms % 60 != 0 || ms < 60 {
            self.error(
                "E0303",
                w.span,
                format!(
                    "window `{}` cannot be split into 60 buckets of whole milliseconds",
                    expr_text(&w.node)
                ),
                Some(
                    "use a window of at least 60ms that is a multiple of 60ms, like `1m` or `10m`"
                        .into(),
                ),
            );
            return None;
        }
        Some(ms)
    }

    pub(super) fn path_value(&mut self, p: &str, span: Span) -> Option<(Val, Ty)> {
        // A metric's name means the metric everywhere, inside `any(...)` too.
        if self.is_metric(p) {
            return self.metric_value(p, span);
        }
        // Inside `any(attr.path, cond)` a bare name is a key of the element
        // under test, even where it is also a built-in field (`ip`,
        // `country`): `any(attr.request.ipChain, ip in corp)` tests each
        // hop's `ip`, not the event's client address. `attr.`, `agent.` and
        // the metrics keep their meaning.
        if self.in_any
            && !p.starts_with("attr.")
            && !p.starts_with("agent.")
            && p != "requests_per_minute"
            && p != "baseline"
        {
            return Some((Val::Elem(self.segs(p, span)?), Ty::Dyn));
        }
        if self.extended_outside_attr(p, span) {
            return None;
        }
        if let Some((_, f, t)) = FIELDS.iter().find(|(n, _, _)| *n == p) {
            return Some((Val::Field(*f), *t));
        }
        if p == "tracked_for" {
            return self.tracked_for(span);
        }
        if let Some((field, ty)) = derived::clock_field(p) {
            let path = Expr::Path(p.to_string());
            return Some(self.clock_value(field, ty, Zone::Fixed(0), &path));
        }
        if p == "requests_per_minute" {
            if self.metric_in_count(span) {
                return None;
            }
            return Some((
                Val::Count(
                    self.build
                        .counter(None, 60_000, None, "requests_per_minute"),
                ),
                Ty::Num,
            ));
        }
        if p == "baseline" {
            return match self.baseline_target {
                Some((counter, _)) => {
                    self.build.need_history(counter, DEFAULT_HISTORY_WINDOWS);
                    Some((
                        Val::Baseline {
                            counter,
                            windows: DEFAULT_HISTORY_WINDOWS,
                        },
                        Ty::Num,
                    ))
                }
                None => {
                    self.error(
                        "E0210",
                        span,
                        "`baseline` has no metric to refer to",
                        Some("use it in a comparison with one metric: `requests_per_minute > baseline * 3`".into()),
                    );
                    None
                }
            };
        }
        if let Some(rest) = p.strip_prefix("attr.") {
            return Some((Val::Attr(self.segs(rest, span)?), Ty::Dyn));
        }
        if let Some(rest) = p.strip_prefix("agent.") {
            return Some((Val::Profile(self.build.profile_slot(rest)), Ty::Dyn));
        }
        if self.lists.contains_key(p) {
            if let Some(info) = self.lists.get_mut(p) {
                info.used = true;
            }
            self.error(
                "E0206",
                span,
                format!("`{p}` is a list, not a value"),
                Some(format!(
                    "test membership with `x in {p}`, or count it with `len({p})`"
                )),
            );
            return None;
        }
        let mut names: Vec<&str> = FIELDS.iter().map(|(n, _, _)| *n).collect();
        names.push("requests_per_minute");
        names.push("baseline");
        names.extend(derived::CLOCK_FIELDS.iter().map(|(n, _, _)| *n));
        let list_names: Vec<String> = self.lists.keys().cloned().collect();
        names.extend(list_names.iter().map(String::as_str));
        let metric_names: Vec<String> = self.metrics.keys().cloned().collect();
        names.extend(metric_names.iter().map(String::as_str));
        let help = did_you_mean(p, names.iter().copied()).map(|s| format!("did you mean `{s}`?")).or_else(|| {
            Some("fields are the built-ins (`ip`, `country`, ...), `attr.<path>` for any event value, and `agent.<field>` for the profile".into())
        });
        self.error("E0202", span, format!("unknown field `{p}`"), help);
        None
    }

    pub(super) fn call_value(
        &mut self,
        name: &Spanned<String>,
        args: &[Spanned<Expr>],
        whole: &Spanned<Expr>,
    ) -> Option<(Val, Ty)> {
        match name.node.as_str() {
            "since" | "first" | "previous" => self.cell_value(name, args, None, whole),
            "zscore" | "stddev" => self.stat_value(name, args, whole),
            "baseline"
                if args.len() == 3
                    || args
                        .iter()
                        .any(|a| matches!(&a.node, Expr::Path(p) if p == "active")) =>
            {
                self.stat_value(name, args, whole)
            }
            "min" | "max" => {
                if args.len() < 2 {
                    self.error(
                        "E0211",
                        name.span,
                        format!(
                            "`{}` takes at least 2 arguments, not {}",
                            name.node,
                            args.len()
                        ),
                        None,
                    );
                    return None;
                }
                let mut vals = Vec::new();
                for a in args {
                    let (v, t) = self.value(a)?;
                    if !matches!(t, Ty::Num | Ty::Dyn) {
                        self.error(
                            "E0206",
                            a.span,
                            format!(
                                "`{}` needs numbers, but `{}` is {}",
                                name.node,
                                expr_text(&a.node),
                                t.name()
                            ),
                            None,
                        );
                        return None;
                    }
                    vals.push(v);
                }
                let v = if name.node == "min" {
                    Val::Min(vals.into())
                } else {
                    Val::Max(vals.into())
                };
                Some((v, Ty::Num))
            }
            "abs" => {
                let [a] = args else {
                    self.arity(name, 1, args.len());
                    return None;
                };
                let (v, t) = self.value(a)?;
                if !matches!(t, Ty::Num | Ty::Dyn) {
                    self.error(
                        "E0206",
                        a.span,
                        format!(
                            "`abs` needs a number, but `{}` is {}",
                            expr_text(&a.node),
                            t.name()
                        ),
                        None,
                    );
                    return None;
                }
                Some((Val::Abs(Box::new(v)), Ty::Num))
            }
            "len" => {
                let [a] = args else {
                    self.arity(name, 1, args.len());
                    return None;
                };
                let (l, _) = self.list_ref(a)?;
                Some((Val::Len(l), Ty::Num))
            }
            "baseline" => self.stat_value(name, args, whole),
            "json" => self.json_value(name, args, &[], whole),
            "similarity" => self.similarity(name, args),
            "hour" | "weekday" | "hour_of_week" | "date" => self.clock_call(name, args, whole),
            "exists" | "missing" | "first_seen" | "any" => {
                self.condition_not_value(whole);
                None
            }
            other => {
                self.unknown_function(name, other);
                None
            }
        }
    }
}

impl Checker {
    /// A condition where a value is needed (E0206).
    pub(super) fn condition_not_value(&mut self, whole: &Spanned<Expr>) {
        self.error(
            "E0206",
            whole.span,
            format!(
                "expected a value, found a condition `{}`",
                expr_text(&whole.node)
            ),
            None,
        );
    }
}

pub(super) fn is_count_metric(v: &Val) -> Option<u32> {
    match v {
        Val::Count(i) => Some(*i),
        Val::Named(_, inner) => is_count_metric(inner),
        _ => None,
    }
}
