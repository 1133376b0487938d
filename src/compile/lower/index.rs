//! The rule index: for each actor kind and set of categories, the rules
//! whose trigger can match, split by the value an indexed field must have
//! (`event.type == "…"`), so the engine evaluates only candidates.

use ahash::AHashMap;

use crate::compile::program::{
    CompiledRule, Cond, Field, IndexSlot, ListData, ListRef, RuleIndex, Tri, Val, ACTOR_KINDS,
    INDEXED_FIELDS,
};
use crate::lang::ast::CmpOp;

pub(crate) fn build_index(rules: &[CompiledRule], lists: &[ListData]) -> RuleIndex {
    let reqs: Vec<(u8, u8)> = rules
        .iter()
        .map(|r| actor_requirement(&r.trigger))
        .collect();
    let keys: Vec<Option<(Field, Vec<Box<str>>)>> = rules
        .iter()
        .map(|r| value_requirement(&r.trigger, lists))
        .collect();
    let mut slots = Vec::with_capacity(ACTOR_KINDS * 16);
    for actor in 0..ACTOR_KINDS {
        for cats in 0..16u8 {
            let mut slot = IndexSlot::default();
            for (i, ((kinds, need), key)) in reqs.iter().zip(&keys).enumerate() {
                if kinds & (1 << actor) == 0 || cats & need != *need {
                    continue;
                }
                let i = u32::try_from(i).unwrap_or(u32::MAX);
                match key {
                    None => slot.any.push(i),
                    Some((field, values)) => {
                        let at = match slot.by_field.iter().position(|(f, _)| f == field) {
                            Some(at) => at,
                            None => {
                                slot.by_field.push((*field, AHashMap::new()));
                                slot.by_field.len() - 1
                            }
                        };
                        if let Some((_, by_value)) = slot.by_field.get_mut(at) {
                            for v in values {
                                by_value.entry(v.clone()).or_default().push(i);
                            }
                        }
                    }
                }
            }
            // The order of INDEXED_FIELDS, whatever the rules' order.
            slot.by_field.sort_by_key(|(f, _)| field_rank(*f));
            slots.push(slot);
        }
    }
    RuleIndex { slots }
}

/// The actor kinds and categories an event must have for `c` to be true.
fn actor_requirement(c: &Cond) -> (u8, u8) {
    match c {
        Cond::Actor { kinds, cat, .. } => (*kinds, cat.0),
        Cond::And(parts) => parts.iter().fold((0xff, 0), |(k, n), p| {
            let (pk, pn) = actor_requirement(p);
            (k & pk, n | pn)
        }),
        Cond::Const(Tri::False) => (0, 0),
        _ => (0xff, 0),
    }
}

fn field_rank(f: Field) -> usize {
    INDEXED_FIELDS
        .iter()
        .position(|g| *g == f)
        .unwrap_or(INDEXED_FIELDS.len())
}

/// The indexed field and the values one of which it must equal for `c` to
/// be true, if `c` requires one: the field the fewest values allow (the
/// first in [`INDEXED_FIELDS`] order among equals). An empty list of values
/// means `c` is never true.
fn value_requirement(c: &Cond, lists: &[ListData]) -> Option<(Field, Vec<Box<str>>)> {
    let mut reqs = requirements(c, lists);
    reqs.sort_by_key(|(f, values)| (values.len(), field_rank(*f)));
    reqs.into_iter().next()
}

/// Every indexed field `c` constrains, each with the values it allows.
fn requirements(c: &Cond, lists: &[ListData]) -> Vec<(Field, Vec<Box<str>>)> {
    match c {
        // All must hold: each part's requirement holds, and two on one
        // field hold together (their intersection).
        Cond::And(parts) => {
            let mut out: Vec<(Field, Vec<Box<str>>)> = Vec::new();
            for (f, values) in parts.iter().flat_map(|p| requirements(p, lists)) {
                match out.iter_mut().find(|(g, _)| *g == f) {
                    Some((_, have)) => have.retain(|v| values.contains(v)),
                    None => out.push((f, values)),
                }
            }
            out
        }
        // One must hold: a field every part constrains, with the union of
        // the values.
        Cond::Or(parts) => {
            let Some((first, rest)) = parts.split_first() else {
                return Vec::new();
            };
            let mut out = requirements(first, lists);
            for p in rest {
                let theirs = requirements(p, lists);
                out.retain_mut(|(f, values)| match theirs.iter().find(|(g, _)| g == f) {
                    Some((_, more)) => {
                        for v in more {
                            if !values.contains(v) {
                                values.push(v.clone());
                            }
                        }
                        true
                    }
                    None => false,
                });
            }
            out
        }
        Cond::Cmp(CmpOp::Eq, Val::Field(f), Val::Str(s), _)
        | Cond::Cmp(CmpOp::Eq, Val::Str(s), Val::Field(f), _)
            if INDEXED_FIELDS.contains(f) =>
        {
            vec![(*f, vec![Box::from(&**s)])]
        }
        Cond::In {
            negated: false,
            item: Val::Field(f),
            list: ListRef::Const(i, _),
            ..
        } if INDEXED_FIELDS.contains(f) => match lists.get(*i as usize) {
            Some(ListData::Strs(set)) => {
                let mut values: Vec<Box<str>> = set.iter().cloned().collect();
                values.sort_unstable();
                vec![(*f, values)]
            }
            Some(ListData::Empty) => vec![(*f, Vec::new())],
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}
