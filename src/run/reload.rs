//! What [`Engine::reload`](crate::run::engine::Engine::reload) reports: the
//! metrics and rules the new program keeps, adds and drops.

use std::collections::BTreeSet;

use crate::compile::program::Program;
use crate::run::state::{Layout, StateError};

/// Why a reload was refused (the old program keeps running).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError {
    /// The new program asks for state the store cannot keep.
    #[error("the new program's state layout is invalid: {0}")]
    Layout(#[from] StateError),
    /// The new program reads a profile path (or reads it as a list where
    /// the old one read a value) that the engine did not keep: reload with
    /// the profiles ([`Engine::reload_with_profiles`](crate::run::engine::Engine::reload_with_profiles)).
    #[error("the new program reads `agent.{0}`, which the engine did not keep: reload with the profiles")]
    ProfilesNeeded(String),
    /// A partition's state could not be carried over to the new program
    /// (it did not fit its own layout: a defect, not an input error); the
    /// partition goes on with the old program.
    #[error("the partition's state could not be carried over: {0}")]
    State(String),
}

/// What a reload kept, added and dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ReloadReport {
    /// Metrics both programs use (by canonical definition): their windows
    /// and baselines were kept.
    pub kept_metrics: Vec<String>,
    /// Kept counters whose baselines read another length of history in the
    /// new program: their windows and the history both programs hold are
    /// kept; a longer history fills as windows pass (baselines over more
    /// windows than the old program kept read only those it kept).
    pub reshaped_metrics: Vec<String>,
    /// Metrics only the new program uses: they start empty and warm up.
    pub new_metrics: Vec<String>,
    /// Metrics only the old program used: their state was released.
    pub dropped_metrics: Vec<String>,
    /// Rule ids in both programs.
    pub kept_rules: Vec<String>,
    /// Rule ids only in the new program.
    pub new_rules: Vec<String>,
    /// Rule ids only in the old program.
    pub dropped_rules: Vec<String>,
    /// Agents the reload brought into the new layout itself (the others
    /// were brought by their own events meanwhile).
    pub swept_agents: usize,
    /// Keys of dropped keyed counters released.
    pub released_keys: usize,
    /// Bytes released with them.
    pub released_bytes: usize,
}

/// Metrics kept, new and dropped between two layouts.
pub(crate) struct MetricChanges {
    pub(crate) kept: Vec<String>,
    pub(crate) new: Vec<String>,
    pub(crate) dropped: Vec<String>,
    old_count: usize,
    new_count: usize,
    shared: usize,
}

impl MetricChanges {
    /// Both layouts have state, and share none of it (metrics or
    /// cooldowns): the sign of a snapshot of another rule set.
    pub(crate) fn shares_nothing(&self) -> bool {
        self.shared == 0 && self.old_count > 0 && self.new_count > 0
    }
    pub(crate) fn old_count(&self) -> usize {
        self.old_count
    }
    pub(crate) fn new_count(&self) -> usize {
        self.new_count
    }
}

impl ReloadReport {
    /// Metrics (and cooldowns, for counting) kept, new and dropped.
    pub(crate) fn metrics_between(old: &Layout, new: &Layout) -> MetricChanges {
        let old_keys: BTreeSet<_> = old.metric_keys().into_iter().collect();
        let new_keys: BTreeSet<_> = new.metric_keys().into_iter().collect();
        let names = |keys: &mut dyn Iterator<Item = &crate::run::state::MetricKey>| -> Vec<String> {
            let mut v: Vec<String> = keys.map(|k| k.name().to_owned()).collect();
            v.sort();
            v.dedup();
            v
        };
        let old_cd: BTreeSet<String> = old.cooldown_names().into_iter().collect();
        let new_cd: BTreeSet<String> = new.cooldown_names().into_iter().collect();
        MetricChanges {
            kept: names(&mut new_keys.intersection(&old_keys)),
            new: names(&mut new_keys.difference(&old_keys)),
            dropped: names(&mut old_keys.difference(&new_keys)),
            old_count: old_keys.len() + old_cd.len(),
            new_count: new_keys.len() + new_cd.len(),
            shared: new_keys.intersection(&old_keys).count() + new_cd.intersection(&old_cd).count(),
        }
    }

    /// Kept, new and dropped metrics and rules between two programs and
    /// their layouts (metric lists sorted, rule lists in program order).
    pub(crate) fn between(
        old: &Program,
        old_layout: &Layout,
        new: &Program,
        layout: &Layout,
    ) -> Self {
        let metrics = Self::metrics_between(old_layout, layout);
        let history = |l: &Layout| -> std::collections::BTreeMap<String, u32> {
            l.counters
                .iter()
                .enumerate()
                .filter(|(_, c)| !c.keyed)
                .map(|(i, c)| {
                    let name = l
                        .names
                        .counters
                        .get(i)
                        .cloned()
                        .unwrap_or_else(|| format!("#{i}"));
                    (name, c.history_windows)
                })
                .collect()
        };
        let (old_h, new_h) = (history(old_layout), history(layout));
        let reshaped_metrics = new_h
            .iter()
            .filter(|(n, h)| old_h.get(*n).is_some_and(|o| o != *h))
            .map(|(n, _)| n.clone())
            .collect();
        let old_ids: BTreeSet<&str> = old.rules.iter().map(|r| &*r.id).collect();
        let new_ids: BTreeSet<&str> = new.rules.iter().map(|r| &*r.id).collect();
        ReloadReport {
            kept_metrics: metrics.kept,
            reshaped_metrics,
            new_metrics: metrics.new,
            dropped_metrics: metrics.dropped,
            kept_rules: new
                .rules
                .iter()
                .filter(|r| old_ids.contains(&*r.id))
                .map(|r| r.id.to_string())
                .collect(),
            new_rules: new
                .rules
                .iter()
                .filter(|r| !old_ids.contains(&*r.id))
                .map(|r| r.id.to_string())
                .collect(),
            dropped_rules: old
                .rules
                .iter()
                .filter(|r| !new_ids.contains(&*r.id))
                .map(|r| r.id.to_string())
                .collect(),
            ..ReloadReport::default()
        }
    }
}
