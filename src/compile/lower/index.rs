//! The rule index: for each actor kind and set of categories, the rules
//! whose trigger can match, so the engine evaluates only candidates.

use crate::compile::program::{CompiledRule, Cond, Tri, ACTOR_KINDS};

pub(crate) fn build_index(rules: &[CompiledRule]) -> Vec<Vec<u32>> {
    let reqs: Vec<(u8, u8)> = rules
        .iter()
        .map(|r| actor_requirement(&r.trigger))
        .collect();
    let mut index = vec![Vec::new(); ACTOR_KINDS * 16];
    for actor in 0..ACTOR_KINDS {
        for cats in 0..16u8 {
            let slot = &mut index[actor * 16 + usize::from(cats)];
            for (i, (kinds, need)) in reqs.iter().enumerate() {
                if kinds & (1 << actor) != 0 && cats & need == *need {
                    slot.push(u32::try_from(i).unwrap_or(u32::MAX));
                }
            }
        }
    }
    index
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
