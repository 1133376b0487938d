//! The metrics that remember earlier events: composite `by` keys, `where`
//! scopes, `since`, `first`, `previous`, `sequence`, `tracked_for`, and the
//! statistics of a counter's history (`stddev`, `zscore`, active baselines).

use super::*;
use crate::compile::program::{
    first_seen_capacity, CellArg, CellDef, CellKind, StatKind, StatOf, StatRef, MAX_SEQUENCE_STEPS,
};
use crate::lang::ast::ByKey;

/// Most fields in a composite key.
pub(super) const MAX_KEY_FIELDS: usize = 8;
/// Longest retention of `since`, `first` and `first_seen`: 400 days.
pub(super) const MAX_RETENTION_MS: u64 = 400 * 86_400_000;
/// Longest `sequence` span: 90 days.
pub(super) const MAX_WITHIN_MS: u64 = 90 * 86_400_000;
/// Most history windows a statistic of active windows may read.
pub(super) const MAX_ACTIVE_WINDOWS: u32 = 2160;

/// Help of E0224.
const WHERE_BY_HELP: &str = "`where` and `by` belong to the stateful metrics: \
     `count`, `distinct`, `first_seen`, `since`, `first`, `previous` and `sequence` \
     (`where` only inside their parentheses); `zscore`, `stddev` and `baseline` take a `by` \
     for the metric they read";

/// What a `where` scope is called in E0215.
pub(super) const WHERE: &str = "a `where` scope";

/// The metrics a `by` may follow.
const KEYED_METRICS: &[&str] = &["first_seen", "since", "first", "previous"];

impl Checker {
    /// `by F` / `by (F, G)`: each field checked; `None` after an error.
    pub(super) fn by_key(&mut self, by: &ByKey) -> Option<Box<[Val]>> {
        if by.fields.len() > MAX_KEY_FIELDS {
            let span = by
                .fields
                .get(MAX_KEY_FIELDS)
                .map_or(Span::default(), |f| f.span);
            self.error(
                "E0224",
                span,
                format!(
                    "a key of {} fields; at most {MAX_KEY_FIELDS}",
                    by.fields.len()
                ),
                None,
            );
            return None;
        }
        let mut out = Vec::with_capacity(by.fields.len());
        for f in &by.fields {
            let fe = Spanned::new(Expr::Path(f.node.clone()), f.span);
            out.push(self.field_arg(&fe, "by", false)?.0);
        }
        Some(out.into_boxed_slice())
    }

    /// A `where` scope (or another condition evaluated before the state is
    /// read: a `since` condition, a `sequence` step): metrics are not
    /// allowed in it.
    pub(super) fn scope_cond(&mut self, c: &Spanned<Expr>, what: &'static str) -> Cond {
        let saved = (self.in_count, self.in_count_what);
        self.in_count = true;
        self.in_count_what = what;
        let r = self.cond(c);
        (self.in_count, self.in_count_what) = saved;
        r
    }

    /// A retention argument: a duration up to [`MAX_RETENTION_MS`].
    pub(super) fn retention_arg(&mut self, e: &Spanned<Expr>) -> Option<u64> {
        let ms = self.duration_arg(e)?;
        if ms > MAX_RETENTION_MS {
            self.error(
                "E0226",
                e.span,
                format!(
                    "retention `{}` is longer than the limit of 400d",
                    expr_text(&e.node)
                ),
                Some("state older than 400 days is not kept; use a shorter span".into()),
            );
            return None;
        }
        Some(ms)
    }

    /// `where` or `by` where none is allowed: E0224 at `span`.
    pub(super) fn no_where_by(&mut self, span: Span, what: &str) {
        self.error("E0224", span, what.to_string(), Some(WHERE_BY_HELP.into()));
    }

    /// The first argument of a call, split into value and scope.
    fn split_scope(arg: &Spanned<Expr>) -> (&Spanned<Expr>, Option<&Spanned<Expr>>) {
        match &arg.node {
            Expr::Scoped(v, c, _) => (v, Some(c)),
            _ => (arg, None),
        }
    }

    /// `call(...) by K` in a value position.
    pub(super) fn by_value(
        &mut self,
        inner: &Spanned<Expr>,
        by: &ByKey,
        whole: &Spanned<Expr>,
    ) -> Option<(Val, Ty)> {
        match &inner.node {
            Expr::Call(name, args)
                if matches!(name.node.as_str(), "since" | "first" | "previous") =>
            {
                self.cell_value(name, args, Some(by), whole)
            }
            Expr::Call(name, _) if KEYED_METRICS.contains(&name.node.as_str()) => {
                self.condition_not_value(whole);
                None
            }
            // `zscore(count over 1d, 90d) by user`: the statistic of the
            // metric keyed so (`count over 1d by user`).
            Expr::Call(name, args)
                if matches!(name.node.as_str(), "zscore" | "stddev" | "baseline") =>
            {
                let keyed = args.first().and_then(|m| with_key(m, by));
                let Some(keyed) = keyed else {
                    self.no_where_by(
                        by_span(by, whole),
                        &format!(
                            "`{} ... by` keys the metric it reads, which must be a `count` or `distinct` without a key of its own",
                            name.node
                        ),
                    );
                    return None;
                };
                let mut args = args.clone();
                if let Some(first) = args.first_mut() {
                    *first = keyed;
                }
                self.stat_value(name, &args, whole)
            }
            Expr::Call(name, _) => {
                self.no_where_by(
                    by_span(by, whole),
                    &format!("`{}` takes no `by`", name.node),
                );
                None
            }
            _ => {
                self.no_where_by(by_span(by, whole), "`by` follows a stateful metric");
                None
            }
        }
    }

    /// `call(...) by K` in a condition position.
    pub(super) fn by_cond(
        &mut self,
        inner: &Spanned<Expr>,
        by: &ByKey,
        whole: &Spanned<Expr>,
    ) -> Cond {
        match &inner.node {
            Expr::Call(name, args) if name.node == "first_seen" => {
                self.first_seen_cond(name, args, Some(by), whole)
            }
            _ => {
                if let Some((v, Ty::Bool | Ty::Dyn)) = self.by_value(inner, by, whole) {
                    return Cond::Truthy(v, Arc::from(expr_text(&whole.node).as_str()));
                }
                Cond::Const(Tri::False)
            }
        }
    }

    /// `first_seen(F [where c] [, R]) [by K]`.
    pub(super) fn first_seen_cond(
        &mut self,
        name: &Spanned<String>,
        args: &[Spanned<Expr>],
        by: Option<&ByKey>,
        whole: &Spanned<Expr>,
    ) -> Cond {
        let (first, retention) = match args {
            [f] => (f, DEFAULT_RETENTION_MS),
            [f, r] => match self.retention_arg(r) {
                Some(ms) => (f, ms),
                None => return Cond::Const(Tri::False),
            },
            _ => {
                self.arity(name, 1, args.len());
                return Cond::Const(Tri::False);
            }
        };
        if self.metric_in_count(whole.span) {
            return Cond::Const(Tri::False);
        }
        let (field, scope) = Self::split_scope(first);
        let Some((v, _)) = self.field_arg(field, "first_seen", true) else {
            return Cond::Const(Tri::False);
        };
        let scope = scope.map(|c| self.scope_cond(c, WHERE));
        let label: Arc<str> = Arc::from(expr_text(&whole.node).as_str());
        match by {
            None => {
                let i = self.build.first_seen(FirstSeenDef {
                    capacity: first_seen_capacity(&v),
                    field: v,
                    scope,
                    retention_ms: retention,
                    label: label.clone(),
                });
                Cond::FirstSeen(i, label)
            }
            Some(by) => {
                let Some(key) = self.by_key(by) else {
                    return Cond::Const(Tri::False);
                };
                let i = self.build.cell(CellDef {
                    kind: CellKind::FirstSeen {
                        retention_ms: retention,
                        capacity: first_seen_capacity(&v),
                    },
                    by: Some(key),
                    arg: CellArg::Value(v),
                    scope,
                    label: label.clone(),
                });
                Cond::Cell(i, label)
            }
        }
    }

    /// `since(c [, R])`, `first(F [where c] [, R])`, `previous(F [where c])`,
    /// each optionally `by K`.
    pub(super) fn cell_value(
        &mut self,
        name: &Spanned<String>,
        args: &[Spanned<Expr>],
        by: Option<&ByKey>,
        whole: &Spanned<Expr>,
    ) -> Option<(Val, Ty)> {
        if self.metric_in_count(whole.span) {
            return None;
        }
        let fname = name.node.as_str();
        let (first, retention) = match (fname, args) {
            ("previous", [f]) => (f, None),
            ("previous", _) => {
                self.arity(name, 1, args.len());
                return None;
            }
            (_, [f]) => (f, Some(DEFAULT_RETENTION_MS)),
            (_, [f, r]) => (f, Some(self.retention_arg(r)?)),
            _ => {
                self.arity(name, 1, args.len());
                return None;
            }
        };
        let (value, scope) = Self::split_scope(first);
        let (kind, arg, ty, scope) = if fname == "since" {
            if let Some(s) = scope {
                self.no_where_by(s.span, "`since` takes its condition itself, not a `where`");
                return None;
            }
            let c = self.scope_cond(value, "a `since` condition");
            let kind = CellKind::Since {
                retention_ms: retention.unwrap_or(DEFAULT_RETENTION_MS),
            };
            (kind, CellArg::Cond(c), Ty::Dur, None)
        } else {
            let (v, ty) = self.field_arg(value, fname, false)?;
            let scope = scope.map(|c| self.scope_cond(c, WHERE));
            let kind = match retention {
                Some(r) if fname == "first" => CellKind::First { retention_ms: r },
                _ => CellKind::Previous,
            };
            (kind, CellArg::Value(v), ty, scope)
        };
        let key = match by {
            Some(by) => Some(self.by_key(by)?),
            None => None,
        };
        let i = self.build.cell(CellDef {
            kind,
            by: key,
            arg,
            scope,
            label: Arc::from(expr_text(&whole.node).as_str()),
        });
        Some((Val::Cell(i), ty))
    }

    /// `tracked_for`: the time since the agent's earliest event.
    pub(super) fn tracked_for(&mut self, span: Span) -> Option<(Val, Ty)> {
        if self.metric_in_count(span) {
            return None;
        }
        let i = self.build.cell(CellDef {
            kind: CellKind::Tracked,
            by: None,
            arg: CellArg::None,
            scope: None,
            label: Arc::from("tracked_for"),
        });
        Some((Val::Cell(i), Ty::Dur))
    }

    /// `sequence(c1, …, cn) within W [by K]`.
    pub(super) fn sequence_cond(
        &mut self,
        steps: &[Spanned<Expr>],
        within: &Spanned<Expr>,
        by: Option<&ByKey>,
        whole: &Spanned<Expr>,
    ) -> Cond {
        if self.metric_in_count(whole.span) {
            return Cond::Const(Tri::False);
        }
        if !(2..=MAX_SEQUENCE_STEPS).contains(&steps.len()) {
            self.error(
                "E0225",
                whole.span,
                format!(
                    "a sequence of {} step{}; it takes 2 to {MAX_SEQUENCE_STEPS}",
                    steps.len(),
                    if steps.len() == 1 { "" } else { "s" }
                ),
                Some(if steps.len() < 2 {
                    "one step is a plain condition: drop `sequence(...) within`".into()
                } else {
                    "split it into two rules, or drop steps that add nothing".into()
                }),
            );
            return Cond::Const(Tri::False);
        }
        let Some(within_ms) = self.duration_arg(within) else {
            return Cond::Const(Tri::False);
        };
        if within_ms > MAX_WITHIN_MS {
            self.error(
                "E0226",
                within.span,
                format!(
                    "sequence span `{}` is longer than the limit of 90d",
                    expr_text(&within.node)
                ),
                None,
            );
            return Cond::Const(Tri::False);
        }
        let conds: Box<[Cond]> = steps
            .iter()
            .map(|s| self.scope_cond(s, "a `sequence` step"))
            .collect();
        let key = match by {
            Some(by) => match self.by_key(by) {
                Some(k) => Some(k),
                None => return Cond::Const(Tri::False),
            },
            None => None,
        };
        let label: Arc<str> = Arc::from(expr_text(&whole.node).as_str());
        let i = self.build.cell(CellDef {
            kind: CellKind::Sequence {
                steps: u8::try_from(steps.len()).unwrap_or(2),
                within_ms,
            },
            by: key,
            arg: CellArg::Steps(conds),
            scope: None,
            label: label.clone(),
        });
        Cond::Cell(i, label)
    }

    /// `zscore(M [, P] [, active])`, `stddev(...)`, `baseline(M, P, active)`.
    pub(super) fn stat_value(
        &mut self,
        name: &Spanned<String>,
        args: &[Spanned<Expr>],
        whole: &Spanned<Expr>,
    ) -> Option<(Val, Ty)> {
        let stat = self.stat_ref(name, args, whole)?;
        Some(match stat.kind {
            StatKind::Mean if !stat.active && stat.of == StatOf::Counter => (
                Val::Baseline {
                    counter: stat.counter,
                    windows: stat.windows,
                },
                Ty::Num,
            ),
            _ => (Val::Stat(stat), Ty::Num),
        })
    }

    /// The statistic a `zscore`/`stddev`/`baseline` call reads.
    pub(super) fn stat_ref(
        &mut self,
        name: &Spanned<String>,
        args: &[Spanned<Expr>],
        whole: &Spanned<Expr>,
    ) -> Option<StatRef> {
        if self.metric_in_count(whole.span) {
            return None;
        }
        let kind = match name.node.as_str() {
            "zscore" => StatKind::Zscore,
            "stddev" => StatKind::Stddev,
            _ => StatKind::Mean,
        };
        let (metric, rest) = match args.split_first() {
            Some((m, rest)) if rest.len() <= 2 => (m, rest),
            _ => {
                self.arity(name, 1, args.len());
                return None;
            }
        };
        let mut period = None;
        let mut active = false;
        for a in rest {
            match &a.node {
                Expr::Path(p) if p == "active" && !active => active = true,
                _ if period.is_none() && !active => period = Some((self.duration_arg(a)?, a)),
                _ => {
                    self.error(
                        "E0206",
                        a.span,
                        format!(
                            "`{}` takes a metric, then a period and `active`, found `{}`",
                            name.node,
                            expr_text(&a.node)
                        ),
                        Some(format!(
                            "for example `{}(count over 1d, 90d, active)`",
                            name.node
                        )),
                    );
                    return None;
                }
            }
        }
        let (v, _) = self.value(metric)?;
        let source = match is_count_metric(&v) {
            Some(c) => Some((c, StatOf::Counter)),
            None => distinct_metric(&v).and_then(|(d, keyed)| {
                if !keyed {
                    return Some((d, StatOf::Distinct));
                }
                self.build
                    .keyed_distinct_width_ms(d)
                    .map(|_| (d, StatOf::KeyedDistinct))
            }),
        };
        let Some((counter, of)) = source else {
            self.error(
                "E0210",
                metric.span,
                format!(
                    "`{}` needs a count metric, found `{}`",
                    name.node,
                    expr_text(&metric.node)
                ),
                Some(format!(
                    "{} exist for `requests_per_minute`, `count(...) over W` and `distinct(F) over W`",
                    if kind == StatKind::Mean {
                        "baselines"
                    } else {
                        "statistics"
                    }
                )),
            );
            return None;
        };
        let width = match of {
            StatOf::Counter => self.build.counter_width_ms(counter),
            StatOf::Distinct => self.build.distinct_width_ms(counter),
            StatOf::KeyedDistinct => self.build.keyed_distinct_width_ms(counter),
        }
        .unwrap_or(60_000);
        let max = if active {
            MAX_ACTIVE_WINDOWS
        } else {
            MAX_PERIOD_WINDOWS
        };
        let windows = match period {
            None => DEFAULT_HISTORY_WINDOWS,
            Some((p, arg)) => {
                if p % width != 0 || p / width == 0 || p / width > u64::from(max) {
                    let help = (p / width > u64::from(max)).then(|| {
                        if active {
                            "with `active`, a period may hold up to 2,160 windows (90 days of hours)"
                                .to_string()
                        } else {
                            "a period may hold up to 1,440 windows (90 days of 1h windows are 2,160: add `active`, or use 1d windows)".to_string()
                        }
                    });
                    self.error(
                        "E0303",
                        arg.span,
                        format!(
                            "{} period `{}` is not 1 to {max} whole windows of `{}`",
                            name.node,
                            expr_text(&arg.node),
                            crate::lang::ast::format_duration(width)
                        ),
                        help,
                    );
                    return None;
                }
                u32::try_from(p / width).unwrap_or(max)
            }
        };
        match of {
            StatOf::Counter => self.build.need_history(counter, windows),
            StatOf::Distinct => self.build.need_distinct_history(counter, windows),
            StatOf::KeyedDistinct => self.build.need_keyed_distinct_history(counter, windows),
        }
        Some(StatRef {
            of,
            kind,
            counter,
            windows,
            active,
        })
    }
}

/// Where to point a diagnostic about a `by`: its first field.
fn by_span(by: &ByKey, whole: &Spanned<Expr>) -> Span {
    by.fields.first().map_or(whole.span, |f| f.span)
}

/// The index of a `distinct` metric (read directly or by name), and
/// whether it is keyed (a cell metric: the caller checks its kind).
fn distinct_metric(v: &Val) -> Option<(u32, bool)> {
    match v {
        Val::Distinct(i) => Some((*i, false)),
        Val::Cell(i) => Some((*i, true)),
        Val::Named(_, inner) => distinct_metric(inner),
        _ => None,
    }
}

/// `m` (a `count` or `distinct` written out, without a key) keyed by `by`.
fn with_key(m: &Spanned<Expr>, by: &ByKey) -> Option<Spanned<Expr>> {
    let node = match &m.node {
        Expr::Count {
            cond,
            scope,
            window,
            by: None,
            layout,
        } => Expr::Count {
            cond: cond.clone(),
            scope: scope.clone(),
            window: window.clone(),
            by: Some(by.clone()),
            layout: layout.clone(),
        },
        Expr::Distinct {
            field,
            scope,
            window,
            by: None,
            layout,
        } => Expr::Distinct {
            field: field.clone(),
            scope: scope.clone(),
            window: window.clone(),
            by: Some(by.clone()),
            layout: layout.clone(),
        },
        Expr::Paren(inner) => return with_key(inner, by),
        _ => return None,
    };
    Some(Spanned::new(node, m.span))
}
