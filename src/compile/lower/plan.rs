//! Evaluation plans: a rule's conditions with the parts of every `and` and
//! `or` ordered cheapest first, so that a field test that is false (or, in
//! an `or`, true) decides before a window is read, a list searched or a
//! regex run.
//!
//! Three-valued `and` and `or` do not depend on the order of their parts
//! (`and` is false if any part is false, else unknown if any is unknown,
//! else true), so the plan decides exactly what the written condition
//! decides; the written one is kept for explanations, which follow the
//! source.

use crate::compile::program::{Cond, Field, ListData, ListRef, Op, Tri, Ty, Val, FIELDS};
use crate::lang::ast::CmpOp;

/// The evaluation plan of a trigger (`candidate`: for events the rule index
/// selected, whose top-level actor/category phrases therefore hold) or of an
/// exception: [`ordered`], then specialised ([`Op`]).
pub(crate) fn compile(c: &Cond, lists: &[ListData], candidate: bool) -> Op {
    let c = ordered(c);
    match (&c, candidate) {
        (Cond::Actor { .. }, true) => Op::Const(Tri::True),
        (Cond::And(parts), true) => and(parts
            .iter()
            .filter(|p| !matches!(p, Cond::Actor { .. }))
            .map(|p| op(p, lists))
            .collect()),
        _ => op(&c, lists),
    }
}

fn and(mut parts: Vec<Op>) -> Op {
    match parts.len() {
        0 => Op::Const(Tri::True),
        1 => parts.pop().unwrap_or(Op::Const(Tri::True)),
        _ => Op::And(parts.into()),
    }
}

fn or(mut parts: Vec<Op>) -> Op {
    match parts.len() {
        0 => Op::Const(Tri::False),
        1 => parts.pop().unwrap_or(Op::Const(Tri::False)),
        _ => Op::Or(parts.into()),
    }
}

fn field_ty(f: Field) -> Option<Ty> {
    FIELDS.iter().find(|(_, g, _)| *g == f).map(|(_, _, t)| *t)
}

/// `c` (already ordered) as an operation.
fn op(c: &Cond, lists: &[ListData]) -> Op {
    match c {
        Cond::Const(t) => Op::Const(*t),
        Cond::And(parts) => and(parts.iter().map(|p| op(p, lists)).collect()),
        Cond::Or(parts) => or(parts.iter().map(|p| op(p, lists)).collect()),
        Cond::Not(inner) => Op::Not(Box::new(op(inner, lists))),
        Cond::Actor { kinds, cat, .. } => Op::Actor {
            kinds: *kinds,
            cat: *cat,
        },
        Cond::Cmp(cmp, Val::Field(f), Val::Str(s), _)
        | Cond::Cmp(cmp, Val::Str(s), Val::Field(f), _)
            if matches!(cmp, CmpOp::Eq | CmpOp::Ne) && field_ty(*f) == Some(Ty::Str) =>
        {
            Op::StrEq {
                field: *f,
                value: Box::from(&**s),
                eq: *cmp == CmpOp::Eq,
            }
        }
        Cond::Cmp(cmp, Val::Field(f), Val::Num(n), _) if field_ty(*f) == Some(Ty::Num) => {
            Op::NumCmp {
                field: *f,
                op: *cmp,
                value: *n,
            }
        }
        Cond::In {
            negated,
            item: Val::Field(f),
            list: ListRef::Const(i, _),
            ..
        } => match (lists.get(*i as usize), field_ty(*f)) {
            (Some(ListData::Strs(_)), Some(Ty::Str)) => Op::StrIn {
                field: *f,
                list: *i,
                negated: *negated,
            },
            (Some(ListData::Ips(_)), Some(Ty::Ip)) => Op::IpIn {
                list: *i,
                negated: *negated,
            },
            _ => Op::Cond(c.clone()),
        },
        other => Op::Cond(other.clone()),
    }
}

/// `c` with the parts of each `and`/`or` sorted by [`cost`] (stable: equal
/// costs keep their written order).
pub(crate) fn ordered(c: &Cond) -> Cond {
    match c {
        Cond::And(parts) => Cond::And(sorted(parts)),
        Cond::Or(parts) => Cond::Or(sorted(parts)),
        Cond::Not(inner) => Cond::Not(Box::new(ordered(inner))),
        Cond::Any(path, inner, label) => {
            Cond::Any(path.clone(), Box::new(ordered(inner)), label.clone())
        }
        other => other.clone(),
    }
}

fn sorted(parts: &[Cond]) -> Box<[Cond]> {
    let mut out: Vec<(u32, Cond)> = parts.iter().map(|p| (cost(p), ordered(p))).collect();
    out.sort_by_key(|(k, _)| *k);
    out.into_iter().map(|(_, p)| p).collect()
}

/// A rough cost of evaluating `c`, in units of one field comparison.
pub(crate) fn cost(c: &Cond) -> u32 {
    match c {
        Cond::Const(_) | Cond::Actor { .. } => 0,
        Cond::And(parts) | Cond::Or(parts) => parts.iter().map(cost).fold(0, u32::saturating_add),
        Cond::Not(inner) => cost(inner),
        Cond::Cmp(_, a, b, _) => 1u32.saturating_add(val_cost(a)).saturating_add(val_cost(b)),
        Cond::In { item, list, .. } => 2u32
            .saturating_add(val_cost(item))
            .saturating_add(list_cost(list)),
        Cond::StrOp(_, a, b, _) => 3u32.saturating_add(val_cost(a)).saturating_add(val_cost(b)),
        Cond::Matches(v, _, _) => 40u32.saturating_add(val_cost(v)),
        Cond::Scope { list, .. } => 4u32.saturating_add(list_cost(list)),
        Cond::TimeOfDay { .. } | Cond::Days { .. } => 3,
        Cond::Exists(v, _) | Cond::Missing(v, _) | Cond::Truthy(v, _) => {
            1u32.saturating_add(val_cost(v))
        }
        Cond::FirstSeen(..) | Cond::Cell(..) => 12,
        Cond::StatCmp(..) => 40,
        Cond::Any(_, inner, _) => 40u32.saturating_add(cost(inner).saturating_mul(4)),
    }
}

fn val_cost(v: &Val) -> u32 {
    match v {
        Val::Num(_)
        | Val::Str(_)
        | Val::Ip(_)
        | Val::Time(_)
        | Val::Dur(_)
        | Val::Bool(_)
        | Val::Field(_) => 0,
        Val::Profile(_) => 1,
        Val::Attr(path) | Val::Elem(path) => 2u32.saturating_add(path.len() as u32),
        // A window's sum, computed from the agent's state.
        Val::Count(_) | Val::Distinct(_) => 8,
        Val::Baseline { .. } | Val::Cell(_) => 12,
        Val::Stat(_) => 40,
        Val::Arith(_, a, b) => 1u32.saturating_add(val_cost(a)).saturating_add(val_cost(b)),
        Val::Neg(a) | Val::Abs(a) => 1u32.saturating_add(val_cost(a)),
        Val::Named(_, inner) => val_cost(inner),
        Val::Min(items) | Val::Max(items) => {
            items.iter().map(val_cost).fold(1, u32::saturating_add)
        }
        Val::Len(list) => 1u32.saturating_add(list_cost(list)),
        // A string decoded (once per event), then a path.
        Val::Json(j) => 30u32
            .saturating_add(val_cost(&j.source))
            .saturating_add(j.path.len() as u32),
        Val::Clock(_) => 2,
        Val::Similarity(a, b) => 20u32
            .saturating_add(val_cost(a))
            .saturating_add(val_cost(b)),
    }
}

fn list_cost(l: &ListRef) -> u32 {
    match l {
        ListRef::Const(..) | ListRef::Field(..) => 1,
        ListRef::Profile(..) => 2,
        ListRef::Attr(path, _) => 4u32.saturating_add(path.len() as u32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::program::Tri;
    use crate::RuleSet;

    fn trigger(text: &str) -> Cond {
        let src = format!("Rule 1 — t\nTrigger: {text}\nAction: flag_for_review\nSeverity: LOW\n");
        let set = RuleSet::from_source("plan.rules", &src).unwrap_or_else(|d| panic!("{d}"));
        let program = set.compile();
        let rule = program.rules.first().unwrap_or_else(|| panic!("one rule"));
        ordered(&rule.trigger)
    }

    #[test]
    fn window_reads_and_regexes_go_after_field_tests() {
        let Cond::And(parts) = trigger(
            "requests_per_minute > baseline * 3 and user_agent matches \"^x\" and outcome == \"FAILURE\"",
        ) else {
            panic!("an and");
        };
        let kinds: Vec<&str> = parts
            .iter()
            .map(|p| match p {
                Cond::Cmp(_, Val::Field(_), _, _) => "field",
                Cond::Matches(..) => "regex",
                Cond::Cmp(_, Val::Count(_), _, _) => "window",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["field", "window", "regex"]);
    }

    #[test]
    fn costs_order_as_documented() {
        let field = trigger("outcome == \"FAILURE\"");
        let window = trigger("requests_per_minute > 5");
        let any = trigger("any(attr.target, type == \"User\")");
        assert!(cost(&field) < cost(&window));
        assert!(cost(&window) < cost(&any));
        assert_eq!(cost(&Cond::Const(Tri::True)), 0);
    }
}
