//! Paths with indexes and quoted keys (`attr.target[0]."a.b"`), and
//! `json(F)` with a path into what it decodes.

use super::*;
use crate::compile::lower::lists::path_segs;
use crate::lang::path::{has_extended_segments, Segment};

/// Help of E0309 for an index or quoted key outside `attr.`.
const EXTENDED_HELP: &str =
    "indexes (`[0]`) and quoted keys (`.\"a.b\"`) follow `attr.` paths and `json(...)`: `attr.target[0].alternateId`";

impl Checker {
    /// The compiled segments of a path's canonical text (after `attr.`, or
    /// an element path inside `any`).
    pub(super) fn segs(&mut self, text: &str, span: Span) -> Option<Box<[Seg]>> {
        let segs = path_segs(text);
        if segs.is_none() {
            self.error(
                "E0309",
                span,
                format!("invalid path `{text}`"),
                Some(EXTENDED_HELP.into()),
            );
        }
        segs
    }

    /// Reports (E0309) a path with an index or a quoted key that is not an
    /// `attr.` path; true when it did.
    pub(super) fn extended_outside_attr(&mut self, p: &str, span: Span) -> bool {
        if !has_extended_segments(p) || p.starts_with("attr.") {
            return false;
        }
        self.error(
            "E0309",
            span,
            format!("`{p}`: only `attr.` paths and `json(...)` take indexes and quoted keys"),
            Some(EXTENDED_HELP.into()),
        );
        true
    }

    /// `json(F)` followed by `tail` (maybe empty): F's string decoded as
    /// JSON per event (an object or array as it is), then the path.
    pub(super) fn json_value(
        &mut self,
        name: &Spanned<String>,
        args: &[Spanned<Expr>],
        tail: &[Segment],
        whole: &Spanned<Expr>,
    ) -> Option<(Val, Ty)> {
        let [arg] = args else {
            self.arity(name, 1, args.len());
            return None;
        };
        let (source, ty) = self.value(arg)?;
        let text = expr_text(&arg.node);
        match (&source, ty) {
            (Val::Attr(_) | Val::Profile(_) | Val::Json(_), _) | (Val::Field(_), Ty::Str) => {}
            (Val::Elem(_), _) => {
                self.error(
                    "E0206",
                    arg.span,
                    format!("`json` cannot decode `{text}`, a field of the element under `any`"),
                    Some(
                        "decode a field of the event (`json(attr.a.b)`) and test it outside `any`"
                            .into(),
                    ),
                );
                return None;
            }
            _ => {
                self.error(
                    "E0206",
                    arg.span,
                    format!(
                        "`json` takes a field that holds JSON text, but `{text}` is {}",
                        ty.name()
                    ),
                    Some(
                        "for example `json(attr.debugContext.debugData.logOnlySecurityData)`"
                            .into(),
                    ),
                );
                return None;
            }
        }
        let slot = self.build.json_slot(&text);
        let read = JsonRead {
            slot,
            source,
            path: tail.iter().map(Into::into).collect(),
            label: Arc::from(expr_text(&whole.node).as_str()),
        };
        Some((Val::Json(Box::new(read)), Ty::Dyn))
    }

    /// `base<tail>`: a path after a call, allowed after `json(...)` only.
    pub(super) fn access_value(
        &mut self,
        base: &Spanned<Expr>,
        tail: &[Segment],
        whole: &Spanned<Expr>,
    ) -> Option<(Val, Ty)> {
        match &base.node {
            Expr::Call(name, args) if name.node == "json" => {
                self.json_value(name, args, tail, whole)
            }
            _ => {
                self.error(
                    "E0309",
                    whole.span,
                    format!(
                        "a path cannot follow `{}`: only `json(...)` can be followed by one",
                        expr_text(&base.node)
                    ),
                    Some(EXTENDED_HELP.into()),
                );
                None
            }
        }
    }
}
