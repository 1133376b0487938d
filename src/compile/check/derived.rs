//! Values derived from the event: the time fields `hour`, `weekday`,
//! `hour_of_week` and `date` (in UTC, or in a zone:
//! `hour_of_week("Europe/Berlin")`), and `similarity(a, b)`.

use super::*;

/// The time fields: name, field (the date's slot is filled in), type.
pub(super) const CLOCK_FIELDS: [(&str, ClockField, Ty); 4] = [
    ("hour", ClockField::Hour, Ty::Num),
    ("weekday", ClockField::Weekday, Ty::Str),
    ("hour_of_week", ClockField::HourOfWeek, Ty::Num),
    ("date", ClockField::Date { slot: 0 }, Ty::Str),
];

/// The time field named `name`, if it is one.
pub(super) fn clock_field(name: &str) -> Option<(ClockField, Ty)> {
    CLOCK_FIELDS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, f, t)| (*f, *t))
}

impl Checker {
    /// A time field in `zone` (UTC when `None`); `whole` is its text.
    pub(super) fn clock_value(
        &mut self,
        field: ClockField,
        ty: Ty,
        zone: Zone,
        whole: &Expr,
    ) -> (Val, Ty) {
        let field = match field {
            ClockField::Date { .. } => ClockField::Date {
                slot: self.build.date_slot(zone),
            },
            f => f,
        };
        let read = ClockRead {
            field,
            zone,
            label: Arc::from(expr_text(whole).as_str()),
        };
        (Val::Clock(Box::new(read)), ty)
    }

    /// `hour_of_week("Europe/Berlin")` and the other time fields called
    /// with a zone.
    pub(super) fn clock_call(
        &mut self,
        name: &Spanned<String>,
        args: &[Spanned<Expr>],
        whole: &Spanned<Expr>,
    ) -> Option<(Val, Ty)> {
        let (field, ty) = clock_field(&name.node)?;
        let [arg] = args else {
            self.error(
                "E0211",
                name.span,
                format!(
                    "`{}(...)` takes 1 argument, a time zone, not {}",
                    name.node,
                    args.len()
                ),
                Some(format!(
                    "write `{0}` for UTC, or `{0}(\"Europe/Berlin\")` for a zone",
                    name.node
                )),
            );
            return None;
        };
        let Expr::Lit(Literal::Str(z, _)) = &arg.node else {
            self.error(
                "E0304",
                arg.span,
                format!(
                    "`{}` takes a time zone as a string, found `{}`",
                    name.node,
                    expr_text(&arg.node)
                ),
                Some(format!(
                    "quote the zone: `{}(\"America/New_York\")`",
                    name.node
                )),
            );
            return None;
        };
        match parse_zone(z) {
            Ok(zone) => Some(self.clock_value(field, ty, zone, &whole.node)),
            Err(msg) => {
                self.error("E0304", arg.span, msg, zone_help(z));
                None
            }
        }
    }

    /// `similarity(a, b)`: two strings, a number in `[0, 1]`.
    pub(super) fn similarity(
        &mut self,
        name: &Spanned<String>,
        args: &[Spanned<Expr>],
    ) -> Option<(Val, Ty)> {
        let [a, b] = args else {
            self.error(
                "E0211",
                name.span,
                format!("`similarity` takes 2 arguments, not {}", args.len()),
                Some(
                    "compare two strings: `similarity(attr.actor.displayName, agent.owner) > 0.8`"
                        .into(),
                ),
            );
            return None;
        };
        let mut vals = Vec::with_capacity(2);
        for arg in [a, b] {
            let (v, t) = self.value(arg)?;
            if !matches!(t, Ty::Str | Ty::Dyn) {
                self.error(
                    "E0206",
                    arg.span,
                    format!(
                        "`similarity` compares strings, but `{}` is {}",
                        expr_text(&arg.node),
                        t.name()
                    ),
                    Some(
                        "for example `similarity(attr.actor.displayName, agent.owner) > 0.8`"
                            .into(),
                    ),
                );
                return None;
            }
            vals.push(v);
        }
        let b = vals.pop()?;
        let a = vals.pop()?;
        Some((Val::Similarity(Box::new(a), Box::new(b)), Ty::Num))
    }
}
