//! Deciding one event: the candidate rules evaluated, the verdict built,
//! cooldowns checked. Shared by the engine and a partition, which differ
//! only in where the agent's state lives.

use std::sync::Arc;

use crate::compile::program::{Field, Program, Tri};
use crate::input::event::Event;
use crate::run::eval::{Ctx, MetricSource, ResolvedProfile};
use crate::run::state;
use crate::run::verdict::Verdict;

/// Whether `program` keeps per-agent state, and every counter hit when its
/// metrics are all plain per-agent counters (`count over W`,
/// `requests_per_minute`): such an event's observation needs nothing
/// computed.
pub(crate) fn shape(
    program: &Program,
    cooldown_slots: &[Option<u32>],
) -> (bool, Option<Box<[bool]>>) {
    let p = program;
    let plain = p.distincts.is_empty()
        && p.first_seens.is_empty()
        && p.cells.is_empty()
        && p.counters
            .iter()
            .all(|c| c.cond.is_none() && c.by.is_none());
    let plain_hits = plain.then(|| vec![true; p.counters.len()].into_boxed_slice());
    // Cooldowns live in the agent's state: a program with one keeps agents
    // even if it has no metric.
    let stateful = p.has_state() || cooldown_slots.iter().any(Option::is_some);
    (stateful, plain_hits)
}

/// Evaluates the candidate rules of `event` and adds what fires to
/// `verdict`; an alert of a rule with a cooldown is checked against (and
/// starts) the agent's `cooldowns`: suppressed iff `t < last_alert + D`,
/// the decision still applies.
#[allow(clippy::too_many_arguments)]
pub(crate) fn decide<'e>(
    program: &Arc<Program>,
    cooldown_slots: &[Option<u32>],
    event: &'e Event<'e>,
    profile: Option<&ResolvedProfile>,
    metrics: &dyn MetricSource,
    mut cooldowns: Option<&mut state::Cooldowns<'_>>,
    explain: bool,
    verdict: &mut Verdict<'e>,
    mut fired: impl FnMut(usize),
) {
    let shared = program;
    let program = &**program;
    let scratch = crate::run::derived::Scratch::new(program);
    let ctx = Ctx {
        program,
        event,
        metrics,
        profile,
        elem: None,
        scratch: &scratch,
    };
    let field = |f: Field| match f {
        Field::EventType => event.event_type.as_deref(),
        Field::Outcome => event.outcome.as_deref(),
        Field::GrantType => event.grant_type.as_deref(),
        Field::AuthMethod => event.auth_method.as_deref(),
        _ => None,
    };
    for i in program.candidates(event.actor, event.categories, field) {
        let Some(rule) = program.rules.get(i as usize) else {
            continue;
        };
        // `candidates` selected the rule by actor kind and categories.
        if ctx.op(&rule.plan) != Tri::True {
            continue;
        }
        if rule
            .unless_plan
            .as_ref()
            .is_some_and(|u| ctx.op(u) == Tri::True)
        {
            continue;
        }
        fired(i as usize);
        let slot = cooldown_slots.get(i as usize).copied().flatten();
        let suppressed = match (slot, cooldowns.as_deref_mut()) {
            (Some(slot), Some(c)) => c.alert(slot as usize),
            _ => false,
        };
        if !rule.shadow {
            if let Some(d) = rule.decision {
                verdict.decision = verdict.decision.max(d);
            }
            verdict.severity = verdict.severity.max(Some(rule.severity));
        }
        let explanation = explain.then(|| {
            let mut lines = Vec::new();
            ctx.explain(&rule.trigger, &mut lines);
            lines
        });
        verdict.push(shared, i, suppressed, explanation);
    }
}
