//! Conditions: `and`/`or`/`not`, comparisons, list membership and string
//! operators, checked and turned into [`Cond`]s.

use super::lists::list_ty_of;
use super::*;

impl Checker {
    pub(super) fn cond(&mut self, e: &Spanned<Expr>) -> Cond {
        match &e.node {
            Expr::Or(ops) => fold_or(ops.iter().map(|o| self.cond(&o.expr)).collect()),
            Expr::And(ops) => fold_and(ops.iter().map(|o| self.cond(&o.expr)).collect()),
            // Operands that are not phrases were reported (E0104, "insert
            // `AND`") when parsing: checking them too would only add noise.
            Expr::Juxt(ops) => fold_and(
                ops.iter()
                    .filter(|o| juxtaposable(&o.expr.node))
                    .map(|o| self.cond(&o.expr))
                    .collect(),
            ),
            Expr::Not(inner, _) => match self.cond(inner) {
                Cond::Const(t) => Cond::Const(t.not()),
                c => Cond::Not(Box::new(c)),
            },
            Expr::Paren(inner) => self.cond(inner),
            Expr::Cmp(op, a, b) => self.cmp(*op, a, b, e),
            Expr::In {
                negated,
                item,
                list,
                ..
            } => self.membership(*negated, item, list),
            Expr::Str(op, a, b, _) => self.str_op(*op, a, b, e),
            Expr::Call(name, args) => self.call_cond(name, args, e),
            Expr::By(inner, by, _) => self.by_cond(inner, by, e),
            Expr::Sequence {
                steps, within, by, ..
            } => self.sequence_cond(steps, within, by.as_ref(), e),
            Expr::Phrase(p, _) => self.phrase(p, e),
            Expr::Lit(Literal::Bool(b)) => Cond::Const(Tri::from_bool(*b)),
            Expr::Path(p) => match self.metric_cond(p, e.span) {
                Some(c) => c,
                None => self.path_cond(p, e),
            },
            Expr::Access(..) => self.path_cond(&expr_text(&e.node), e),
            _ => {
                let ty = self.value(e).map(|(_, t)| t);
                if let Some(ty) = ty {
                    self.error(
                        "E0206",
                        e.span,
                        format!(
                            "expected a condition, found {} `{}`",
                            ty.name(),
                            expr_text(&e.node)
                        ),
                        Some("compare it with something, for example `> 10`".into()),
                    );
                }
                Cond::Const(Tri::False)
            }
        }
    }

    /// A path used as a condition: a boolean field or value of the event.
    fn path_cond(&mut self, p: &str, e: &Spanned<Expr>) -> Cond {
        match self.value(e) {
            Some((v, Ty::Dyn | Ty::Bool)) => Cond::Truthy(v, Arc::from(p)),
            Some((_, ty)) => {
                self.error(
                    "E0206",
                    e.span,
                    format!("expected a condition, found `{p}` ({})", ty.name()),
                    Some(format!("compare it, for example `{p} == ...`")),
                );
                Cond::Const(Tri::False)
            }
            None => Cond::Const(Tri::False),
        }
    }

    pub(super) fn cmp(
        &mut self,
        op: ast::CmpOp,
        a: &Spanned<Expr>,
        b: &Spanned<Expr>,
        whole: &Spanned<Expr>,
    ) -> Cond {
        // `baseline` binds to the one count metric on the other side.
        let (ba, bb) = (has_bare_baseline(&a.node), has_bare_baseline(&b.node));
        let saved = self.baseline_target;
        if ba || bb {
            let (base_side, metric_side) = if ba { (a, b) } else { (b, a) };
            if ba && bb {
                self.error(
                    "E0210",
                    whole.span,
                    "`baseline` on both sides of a comparison",
                    Some(
                        "compare a metric with its baseline: `requests_per_minute > baseline * 3`"
                            .into(),
                    ),
                );
                return Cond::Const(Tri::False);
            }
            let metrics = self.metrics_in(metric_side);
            match metrics.as_slice() {
                [one] => self.baseline_target = Some((*one, base_side.span)),
                [] => {
                    let span = find_baseline_span(base_side).unwrap_or(base_side.span);
                    self.error(
                        "E0210",
                        span,
                        "`baseline` has no metric to refer to",
                        Some("put one metric on the other side: `requests_per_minute > baseline * 3`, or write `baseline(metric)`".into()),
                    );
                    return Cond::Const(Tri::False);
                }
                _ => {
                    let span = find_baseline_span(base_side).unwrap_or(base_side.span);
                    self.error(
                        "E0210",
                        span,
                        "`baseline` is ambiguous: the other side of the comparison has more than one metric",
                        Some("write `baseline(metric)` to say which".into()),
                    );
                    return Cond::Const(Tri::False);
                }
            }
        }
        let va = self.value(a);
        let vb = self.value(b);
        self.baseline_target = saved;
        let ((va, ta), (vb, tb)) = match (va, vb) {
            (Some(x), Some(y)) => (x, y),
            _ => return Cond::Const(Tri::False),
        };
        if ta.is_list() || tb.is_list() {
            let (side, t) = if ta.is_list() { (a, ta) } else { (b, tb) };
            let name = expr_text(&side.node);
            self.error(
                "E0206",
                side.span,
                format!("cannot compare {} with `{}`", t.name(), op.as_str()),
                Some(format!(
                    "test membership with `x in {name}`, or compare its length: `len({name})`"
                )),
            );
            return Cond::Const(Tri::False);
        }
        if !compatible(ta, tb) {
            let help = if matches!((ta, tb), (Ty::Num, Ty::Dur) | (Ty::Dur, Ty::Num)) {
                Some(
                    "a number field counts its own unit (days, minutes); write a plain number"
                        .to_string(),
                )
            } else {
                None
            };
            self.error(
                "E0206",
                whole.span,
                format!(
                    "mismatched types: `{}` is {} but `{}` is {}",
                    expr_text(&a.node),
                    ta.name(),
                    expr_text(&b.node),
                    tb.name()
                ),
                help,
            );
            return Cond::Const(Tri::False);
        }
        let ordered = !matches!(op, ast::CmpOp::Eq | ast::CmpOp::Ne);
        if ordered && matches!(ta, Ty::Ip | Ty::Bool) | matches!(tb, Ty::Ip | Ty::Bool) {
            let t = if matches!(ta, Ty::Ip | Ty::Bool) {
                ta
            } else {
                tb
            };
            self.error(
                "E0206",
                whole.span,
                format!("`{}` does not order {}", op.as_str(), t.name()),
                Some("use `==`, `!=`, or `in` with a CIDR list".into()),
            );
            return Cond::Const(Tri::False);
        }
        let label: Arc<str> = Arc::from(expr_text(&whole.node).as_str());
        // `zscore(M) > k`, `k < stddev(M)`: decided exactly in integers.
        match (&va, &vb) {
            (Val::Stat(st), Val::Num(k)) if st.kind != StatKind::Mean => {
                return Cond::StatCmp(op, *st, *k, label);
            }
            (Val::Num(k), Val::Stat(st)) if st.kind != StatKind::Mean => {
                return Cond::StatCmp(flip(op), *st, *k, label);
            }
            _ => {}
        }
        if let Some(folded) = fold_cmp(op, &va, &vb) {
            return folded;
        }
        Cond::Cmp(op, va, vb, label)
    }

    pub(super) fn metrics_in(&mut self, e: &Spanned<Expr>) -> Vec<u32> {
        let mut out = Vec::new();
        let mut stack = vec![e];
        while let Some(e) = stack.pop() {
            match &e.node {
                Expr::Path(p) if p == "requests_per_minute" => {
                    out.push(
                        self.build
                            .counter(None, 60_000, None, "requests_per_minute"),
                    )
                }
                Expr::Count { .. } => {
                    if let Some((v, _)) = self.value(e) {
                        if let Some(i) = is_count_metric(&v) {
                            out.push(i);
                        }
                    }
                }
                Expr::Path(p) if self.is_metric(p) => {
                    if let Some((v, _)) = self.value(e) {
                        if let Some(i) = is_count_metric(&v) {
                            out.push(i);
                        }
                    }
                }
                Expr::Arith(_, a, b) => {
                    stack.push(a);
                    stack.push(b);
                }
                Expr::Neg(a) | Expr::Paren(a) => stack.push(a),
                Expr::Call(n, args) if matches!(n.node.as_str(), "min" | "max" | "abs") => {
                    stack.extend(args.iter())
                }
                _ => {}
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    pub(super) fn membership(
        &mut self,
        negated: bool,
        item: &Spanned<Expr>,
        list: &Spanned<Expr>,
    ) -> Cond {
        if let Expr::Path(p) = &item.node {
            if p == "scopes" || p == "granted_scopes" {
                let not = if negated { "not " } else { "" };
                self.error(
                    "E0212",
                    item.span,
                    format!("`{p}` is a list; `{not}in` tests one value"),
                    Some(format!(
                        "to test each requested scope, write `includes scope {not}in {}`",
                        expr_text(&list.node)
                    )),
                );
                return Cond::Const(Tri::False);
            }
        }
        let v = self.value(item);
        let l = self.list_ref(list);
        let ((v, vt), (l, lt)) = match (v, l) {
            (Some(v), Some(l)) => (v, l),
            _ => return Cond::Const(Tri::False),
        };
        if vt.is_list() {
            self.error(
                "E0206",
                item.span,
                format!(
                    "`{}` is {}; `in` tests one value",
                    expr_text(&item.node),
                    vt.name()
                ),
                None,
            );
            return Cond::Const(Tri::False);
        }
        let ok = matches!(
            (vt, lt),
            (Ty::Ip, Ty::IpList)
                | (Ty::Str, Ty::StrList)
                | (Ty::Num, Ty::NumList)
                | (Ty::Dyn, _)
                | (_, Ty::DynList)
                | (_, Ty::EmptyList)
        );
        if !ok {
            self.error(
                "E0206",
                list.span,
                format!(
                    "mismatched types: `{}` is {} but `{}` is {}",
                    expr_text(&item.node),
                    vt.name(),
                    expr_text(&list.node),
                    lt.name()
                ),
                None,
            );
            return Cond::Const(Tri::False);
        }
        Cond::In {
            negated,
            item: v,
            list: l,
            label: Arc::from(expr_text(&item.node).as_str()),
        }
    }

    /// The list of a `from IP in` / `includes scope in` phrase, which must be
    /// a `want` list (or one whose items are known only at run time, or
    /// empty); else E0206 `mismatched types: {why}, but ...`.
    pub(super) fn phrase_list(
        &mut self,
        list: &Spanned<Expr>,
        want: Ty,
        why: &str,
    ) -> Option<ListRef> {
        let (l, lt) = self.list_ref(list)?;
        if lt == want || matches!(lt, Ty::DynList | Ty::EmptyList) {
            return Some(l);
        }
        self.error(
            "E0206",
            list.span,
            format!(
                "mismatched types: {why}, but `{}` is {}",
                expr_text(&list.node),
                lt.name()
            ),
            None,
        );
        None
    }

    pub(super) fn list_ref(&mut self, e: &Spanned<Expr>) -> Option<(ListRef, Ty)> {
        match &e.node {
            Expr::Paren(inner) => self.list_ref(inner),
            Expr::List(items) => match list_ty_of(items) {
                Ok(ty) => {
                    let label = Arc::from(expr_text(&e.node).as_str());
                    Some((self.build.const_list(list_data(items, ty), label), ty))
                }
                Err((span, msg)) => {
                    self.error(
                        "E0305",
                        span,
                        msg,
                        Some("a list holds only CIDRs/IPs, only strings or only numbers".into()),
                    );
                    None
                }
            },
            Expr::Path(p) => {
                if let Some(info) = self.lists.get_mut(p) {
                    info.used = true;
                    return Some((info.list.clone(), info.ty));
                }
                let label: Arc<str> = Arc::from(p.as_str());
                match p.as_str() {
                    "scopes" => return Some((ListRef::Field(Field::Scopes, label), Ty::StrList)),
                    "granted_scopes" => {
                        return Some((ListRef::Field(Field::GrantedScopes, label), Ty::StrList))
                    }
                    _ => {}
                }
                if let Some(rest) = p.strip_prefix("agent.") {
                    if rest != "id" {
                        return Some((
                            ListRef::Profile(self.build.profile_list_slot(rest), label),
                            Ty::DynList,
                        ));
                    }
                }
                if let Some(rest) = p.strip_prefix("attr.") {
                    let segs = self.segs(rest, e.span)?;
                    return Some((ListRef::Attr(segs, label), Ty::DynList));
                }
                if self.is_metric(p) {
                    if let Some((_, ty)) = self.value(e) {
                        self.error(
                            "E0206",
                            e.span,
                            format!("expected a list, found metric `{p}` ({})", ty.name()),
                            Some(format!("compare it, for example `{p} > 10`")),
                        );
                    }
                    return None;
                }
                let names: Vec<String> = self.lists.keys().cloned().collect();
                let help = did_you_mean(p, names.iter().map(String::as_str))
                    .map(|s| format!("did you mean `{s}`?"));
                let help = help.or_else(|| Some("declare it: `list NAME = [a, b]`".into()));
                self.error("E0201", e.span, format!("unknown list `{p}`"), help);
                None
            }
            _ => {
                if let Some((_, ty)) = self.value(e) {
                    self.error(
                        "E0206",
                        e.span,
                        format!(
                            "expected a list, found {} `{}`",
                            ty.name(),
                            expr_text(&e.node)
                        ),
                        None,
                    );
                }
                None
            }
        }
    }

    pub(super) fn str_op(
        &mut self,
        op: ast::StrOp,
        a: &Spanned<Expr>,
        b: &Spanned<Expr>,
        whole: &Spanned<Expr>,
    ) -> Cond {
        let va = self.value(a);
        let label: Arc<str> = Arc::from(expr_text(&whole.node).as_str());
        let Some((va, ta)) = va else {
            return Cond::Const(Tri::False);
        };
        if !matches!(ta, Ty::Str | Ty::Dyn) {
            self.error(
                "E0206",
                a.span,
                format!(
                    "`{}` needs a string, but `{}` is {}",
                    op.as_str(),
                    expr_text(&a.node),
                    ta.name()
                ),
                None,
            );
            return Cond::Const(Tri::False);
        }
        if op == ast::StrOp::Matches {
            return match &b.node {
                Expr::Lit(Literal::Str(re, _)) => match self.build.regex(re) {
                    Ok(r) => Cond::Matches(va, r, label),
                    Err(help) if help.starts_with("the regexes of this rule set") => {
                        self.error(
                            "E0102",
                            b.span,
                            help,
                            Some(
                                "use fewer or smaller regexes, or raise `Limits::max_regex_bytes`"
                                    .into(),
                            ),
                        );
                        Cond::Const(Tri::False)
                    }
                    Err(help) => {
                        self.error("E0306", b.span, format!("invalid regex `{re}`"), Some(help));
                        Cond::Const(Tri::False)
                    }
                },
                _ => {
                    self.error(
                        "E0206",
                        b.span,
                        "`matches` takes a string literal",
                        Some("write the pattern in quotes: `matches \"^svc-\"`".into()),
                    );
                    Cond::Const(Tri::False)
                }
            };
        }
        let Some((vb, tb)) = self.value(b) else {
            return Cond::Const(Tri::False);
        };
        if !matches!(tb, Ty::Str | Ty::Dyn) {
            self.error(
                "E0206",
                b.span,
                format!(
                    "`{}` needs a string, but `{}` is {}",
                    op.as_str(),
                    expr_text(&b.node),
                    tb.name()
                ),
                None,
            );
            return Cond::Const(Tri::False);
        }
        Cond::StrOp(op, va, vb, label)
    }
}

/// What may stand side by side: phrases, negated phrases, and runs of them.
pub(super) fn juxtaposable(e: &Expr) -> bool {
    match e {
        Expr::Phrase(..) | Expr::Juxt(_) => true,
        Expr::Not(inner, _) => matches!(inner.node, Expr::Phrase(..)),
        _ => false,
    }
}

pub(super) fn compatible(a: Ty, b: Ty) -> bool {
    a == b || a == Ty::Dyn || b == Ty::Dyn
}

pub(super) fn has_bare_baseline(e: &Expr) -> bool {
    match e {
        Expr::Path(p) => p == "baseline",
        Expr::Arith(_, a, b) => has_bare_baseline(&a.node) || has_bare_baseline(&b.node),
        Expr::Neg(a) | Expr::Paren(a) => has_bare_baseline(&a.node),
        Expr::Call(n, args) if matches!(n.node.as_str(), "min" | "max" | "abs") => {
            args.iter().any(|a| has_bare_baseline(&a.node))
        }
        _ => false,
    }
}

pub(super) fn find_baseline_span(e: &Spanned<Expr>) -> Option<Span> {
    match &e.node {
        Expr::Path(p) if p == "baseline" => Some(e.span),
        Expr::Arith(_, a, b) => find_baseline_span(a).or_else(|| find_baseline_span(b)),
        Expr::Neg(a) | Expr::Paren(a) => find_baseline_span(a),
        Expr::Call(_, args) => args.iter().find_map(find_baseline_span),
        _ => None,
    }
}

/// The operator with its sides swapped: `k < z` is `z > k`.
fn flip(op: ast::CmpOp) -> ast::CmpOp {
    use ast::CmpOp::*;
    match op {
        Lt => Gt,
        Le => Ge,
        Gt => Lt,
        Ge => Le,
        other => other,
    }
}
