//! Function calls that are conditions (`exists`, `first_seen`, `any`, ...)
//! and the argument checks every call shares.

use super::*;

impl Checker {
    pub(super) fn call_cond(
        &mut self,
        name: &Spanned<String>,
        args: &[Spanned<Expr>],
        whole: &Spanned<Expr>,
    ) -> Cond {
        let label: Arc<str> = Arc::from(expr_text(&whole.node).as_str());
        match name.node.as_str() {
            "exists" | "missing" => {
                let [arg] = args else {
                    self.arity(name, 1, args.len());
                    return Cond::Const(Tri::False);
                };
                let json = matches!(&arg.node, Expr::Access(..))
                    || matches!(&arg.node, Expr::Call(n, _) if n.node == "json");
                if json {
                    return match (self.value(arg), name.node == "exists") {
                        (Some((v, _)), true) => Cond::Exists(v, label),
                        (Some((v, _)), false) => Cond::Missing(v, label),
                        (None, _) => Cond::Const(Tri::False),
                    };
                }
                if !matches!(arg.node, Expr::Path(_)) {
                    self.error(
                        "E0206",
                        arg.span,
                        format!("`{}` takes a field", name.node),
                        None,
                    );
                    return Cond::Const(Tri::False);
                }
                let v = if let Expr::Path(p) = &arg.node {
                    if let Some(info) = self.lists.get_mut(p) {
                        info.used = true;
                        match info.list.clone() {
                            ListRef::Profile(slot, _) => Some(Val::Profile(slot)),
                            _ => {
                                self.error(
                                    "E0206",
                                    arg.span,
                                    format!(
                                        "`{p}` is a constant list; `{}` takes a field",
                                        name.node
                                    ),
                                    None,
                                );
                                return Cond::Const(Tri::False);
                            }
                        }
                    } else {
                        self.value(arg).map(|(v, _)| v)
                    }
                } else {
                    None
                };
                match v {
                    Some(v) if name.node == "exists" => Cond::Exists(v, label),
                    Some(v) => Cond::Missing(v, label),
                    None => Cond::Const(Tri::False),
                }
            }
            "first_seen" => self.first_seen_cond(name, args, None, whole),
            "any" => {
                let [path, cond] = args else {
                    self.arity(name, 2, args.len());
                    return Cond::Const(Tri::False);
                };
                let segs = match &path.node {
                    Expr::Path(p) if p.starts_with("attr.") => {
                        match self.segs(p.trim_start_matches("attr."), path.span) {
                            Some(segs) => segs,
                            None => return Cond::Const(Tri::False),
                        }
                    }
                    _ => {
                        self.error(
                            "E0206",
                            path.span,
                            "`any` takes an `attr.<path>` to a list of objects first",
                            Some("for example `any(attr.target, type == \"User\")`".into()),
                        );
                        return Cond::Const(Tri::False);
                    }
                };
                let saved = self.in_any;
                self.in_any = true;
                let c = self.cond(cond);
                self.in_any = saved;
                Cond::Any(segs, Box::new(c), label)
            }
            "json" => match self.json_value(name, args, &[], whole) {
                Some((v, _)) => Cond::Truthy(v, label),
                None => Cond::Const(Tri::False),
            },
            "min" | "max" | "abs" | "len" | "baseline" | "similarity" | "hour" | "weekday"
            | "hour_of_week" | "date" => {
                if let Some((_, ty)) = self.value(whole) {
                    self.error(
                        "E0206",
                        whole.span,
                        format!("expected a condition, found {} `{}`", ty.name(), label),
                        Some("compare it with something, for example `> 10`".into()),
                    );
                }
                Cond::Const(Tri::False)
            }
            other => {
                self.unknown_function(name, other);
                Cond::Const(Tri::False)
            }
        }
    }

    pub(super) fn unknown_function(&mut self, name: &Spanned<String>, other: &str) {
        let help = did_you_mean(other, FUNCTIONS.iter().copied())
            .map(|s| format!("did you mean `{s}`?"))
            .or_else(|| Some(format!("functions are {}", FUNCTIONS.join(", "))));
        self.error(
            "E0205",
            name.span,
            format!("unknown function `{other}`"),
            help,
        );
    }

    pub(super) fn arity(&mut self, name: &Spanned<String>, want: usize, got: usize) {
        let s = if want == 1 { "" } else { "s" };
        self.error(
            "E0211",
            name.span,
            format!("`{}` takes {want} argument{s}, not {got}", name.node),
            None,
        );
    }

    pub(super) fn duration_arg(&mut self, e: &Spanned<Expr>) -> Option<u64> {
        match &e.node {
            Expr::Lit(Literal::Duration(ms, _)) if *ms > 0 => Some(*ms),
            _ => {
                self.error(
                    "E0303",
                    e.span,
                    format!("expected a duration, found `{}`", expr_text(&e.node)),
                    Some("write a duration like `10m`, `1h` or `7d`".into()),
                );
                None
            }
        }
    }

    /// A field argument (`first_seen(ip)`, `distinct(country)`, `by ip`).
    pub(super) fn field_arg(
        &mut self,
        e: &Spanned<Expr>,
        what: &str,
        allow_list: bool,
    ) -> Option<(Val, Ty)> {
        if let Expr::Scoped(_, c, _) = &e.node {
            self.no_where_by(
                c.span,
                &format!("`{what}` takes no `where`: it belongs inside the parentheses of a stateful metric"),
            );
            return None;
        }
        let p = match &e.node {
            Expr::Path(p) => p,
            // A time field in a zone (`hour_of_week("America/New_York")`),
            // `json(...)` and a path into it.
            Expr::Call(n, _) if n.node == "json" || derived::clock_field(&n.node).is_some() => {
                return self.value(e);
            }
            Expr::Access(..) => return self.value(e),
            _ => {
                self.error(
                    "E0206",
                    e.span,
                    format!("`{what}` takes a field, found `{}`", expr_text(&e.node)),
                    None,
                );
                return None;
            }
        };
        if p == "scopes" || p == "granted_scopes" {
            if allow_list {
                let f = if p == "scopes" {
                    Field::Scopes
                } else {
                    Field::GrantedScopes
                };
                return Some((Val::Field(f), Ty::StrList));
            }
            self.error(
                "E0206",
                e.span,
                format!("`{what}` needs a single-valued field, but `{p}` is a list"),
                None,
            );
            return None;
        }
        let saved = self.in_count;
        self.in_count = false;
        let r = self.value(e);
        self.in_count = saved;
        match r {
            Some((
                v @ (Val::Field(_) | Val::Attr(_) | Val::Profile(_) | Val::Clock(_) | Val::Json(_)),
                t,
            )) => Some((v, t)),
            Some(_) => {
                self.error(
                    "E0206",
                    e.span,
                    format!("`{what}` takes a field of the event, found `{p}`"),
                    None,
                );
                None
            }
            None => None,
        }
    }
}
