//! What decides a replay's events: an engine the worker threads share
//! (each evaluating the agents of its partition), or a partition one
//! thread owns, which evaluates with no atomic operation, lock or guard per
//! event: the replay's choice whenever one thread evaluates every event
//! (`--threads 1`, or rules whose state is shared between agents).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use riskgate::run::engine::{Engine, Stats};
use riskgate::run::partition::Partition;
use riskgate::run::snapshot::{SnapshotFilter, SnapshotSummary};
use riskgate::run::verdict::Verdict;
use riskgate::{Event, Program};

/// The engine or the partition of a replay (one a replay: its size does
/// not matter).
#[allow(clippy::large_enum_variant)]
pub(super) enum Decider {
    /// Shared by the worker threads.
    Shared(Engine),
    /// Owned by the one thread that evaluates (locked once a chunk of
    /// lines, not once an event).
    Owned(Mutex<Partition>),
}

/// A [`Decider`] ready to evaluate: the engine, or the partition locked.
pub(super) enum Evaluator<'d> {
    Shared(&'d Engine),
    Owned(MutexGuard<'d, Partition>),
}

impl Decider {
    /// Ready to evaluate (for a whole chunk of lines).
    pub(super) fn evaluator(&self) -> Evaluator<'_> {
        match self {
            Decider::Shared(e) => Evaluator::Shared(e),
            Decider::Owned(p) => Evaluator::Owned(p.lock().unwrap_or_else(PoisonError::into_inner)),
        }
    }

    /// The counters so far.
    pub(super) fn stats(&self) -> Stats {
        match self {
            Decider::Shared(e) => e.stats(),
            Decider::Owned(p) => p.lock().unwrap_or_else(PoisonError::into_inner).stats(),
        }
    }

    /// The program.
    pub(super) fn program(&self) -> Arc<Program> {
        match self {
            Decider::Shared(e) => e.program(),
            Decider::Owned(p) => {
                Arc::clone(p.lock().unwrap_or_else(PoisonError::into_inner).program())
            }
        }
    }

    /// Writes the whole state as a snapshot taken at `position`.
    pub(super) fn snapshot_at(
        &self,
        w: &mut dyn std::io::Write,
        position: std::collections::BTreeMap<String, u64>,
    ) -> std::io::Result<SnapshotSummary> {
        match self {
            Decider::Shared(e) => e.snapshot_at(w, &SnapshotFilter::All, position),
            Decider::Owned(p) => p
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .snapshot_at(w, &SnapshotFilter::All, position),
        }
    }
}

impl Evaluator<'_> {
    /// Evaluates `event`, with explanations if asked.
    pub(super) fn evaluate<'e>(&mut self, event: &'e Event<'e>, explain: bool) -> Verdict<'e> {
        match (self, explain) {
            (Evaluator::Shared(e), false) => e.evaluate(event),
            (Evaluator::Shared(e), true) => e.evaluate_explained(event),
            (Evaluator::Owned(p), false) => p.evaluate(event),
            (Evaluator::Owned(p), true) => p.evaluate_explained(event),
        }
    }
}
