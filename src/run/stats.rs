//! What an engine or a partition counts: events, reloads, rule firings and
//! the state store's figures.

use std::sync::Arc;

use crate::run::state;

/// Counters since the engine was built.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Events evaluated.
    pub events: u64,
    /// Programs installed by [`Engine::reload`](crate::Engine::reload).
    pub reloads: u64,
    /// Times each rule fired, by rule id, in source order.
    pub fired: Vec<(Arc<str>, u64)>,
    /// Agents with state now.
    pub tracked_agents: u64,
    /// Evaluations of agents that could not be tracked (at `max_agents`).
    pub untracked: u64,
    /// Agents whose state was dropped: idle (`idle_ttl_ms`) or least
    /// recently seen when the state passed `max_state_bytes`.
    pub evicted_agents: u64,
    /// Keys of keyed counters (`count(..) by F`) with state now.
    pub tracked_keys: u64,
    /// Keyed-counter updates on keys that could not be kept (at the key cap
    /// while another thread was making room): counted on fresh state.
    pub untracked_keys: u64,
    /// Keys whose state was dropped: idle, least recently seen at
    /// `max_keys` or past `max_state_bytes`, or pushed out of an agent's
    /// `max_keys_per_agent` quota (those also in `quota_evicted_keys`).
    pub evicted_keys: u64,
    /// Keys dropped because the agent that created them created
    /// `max_keys_per_agent` newer ones.
    pub quota_evicted_keys: u64,
    /// State bytes held now (map entries and the heap the states own,
    /// requested sizes), what `max_state_bytes` bounds.
    pub state_bytes: u64,
    /// Events stamped past the forward-skew limit (evaluated, not counted).
    pub skewed: u64,
    /// Late events too old for every window they would enter (each
    /// counter's ring and history, each distinct window, each key's ring):
    /// evaluated, counted in none.
    pub late_dropped: u64,
    /// Late events too old for some window but counted in another (a
    /// five-minute-late event misses a one-minute ring but enters the
    /// minute history of a baseline).
    pub late_partial: u64,
}

impl Stats {
    /// The figures of a store's counters and the engine's own.
    pub(crate) fn from_store(
        st: state::StoreStats,
        events: u64,
        reloads: u64,
        fired: Vec<(Arc<str>, u64)>,
    ) -> Self {
        let as_u64 = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        Stats {
            events,
            reloads,
            fired,
            tracked_agents: as_u64(st.agents),
            untracked: st.untracked_events,
            evicted_agents: st.evicted_agents + st.budget_evicted_agents,
            tracked_keys: as_u64(st.keys),
            untracked_keys: st.untracked_key_events,
            evicted_keys: st.evicted_keys
                + st.cap_evicted_keys
                + st.budget_evicted_keys
                + st.quota_evicted_keys,
            quota_evicted_keys: st.quota_evicted_keys,
            state_bytes: as_u64(st.bytes),
            skewed: st.skewed_events,
            late_dropped: st.late_dropped_events,
            late_partial: st.late_partial_events,
        }
    }
}
