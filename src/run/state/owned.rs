//! The state of a partition of agents, owned by one thread: the same agent
//! and key states, windows, limits and byte figures as [`StateStore`], in
//! plain hash maps behind `&mut self` — no atomics, no locks, no epoch
//! guards. What [`crate::run::partition::Partition`] keeps its agents in.
//!
//! Limits behave as the shared store's: an agent at `max_agents` is
//! evaluated on fresh temporary state (after an idle sweep, at most one per
//! `cap_sweep_interval_ms`), a key at `max_keys` evicts the least recently
//! seen eighth of the keys, an agent's quota evicts its oldest keys, and past
//! `max_state_bytes` the least recently seen agents and keys go until an
//! eighth of the budget is free. Where the shared store estimates "least
//! recently seen" from a sample, this one sorts: the same policy, exact.

use ahash::{AHashMap, RandomState};
use smallvec::SmallVec;

use super::{
    entry_bytes, key_hasher, read_agent, stored_key, AgentRecord, AgentState, CellRead, Cooldowns,
    Found, Generation, KeyRecord, KeyState, Layout, Metrics, MetricsView, ObserveOutcome, OwnedKey,
    StateError, StateStore, StoreConfig, StoreStats, Tracking,
};

/// An agent and the tag kept with it.
#[derive(Debug, Clone)]
struct AgentSlot {
    tag: u32,
    state: AgentState,
}

/// The agents and keys of one partition (see the module docs).
#[derive(Debug)]
pub(crate) struct OwnedStore {
    gen: Generation,
    config: StoreConfig,
    agents: AHashMap<Box<str>, AgentSlot>,
    /// The keyed counters' maps, by keyed-map index: key hash → state.
    keyed: Vec<AHashMap<u64, KeyState>>,
    key_hasher: RandomState,
    key_seeds: [u64; 4],
    bytes: usize,
    key_serial: u32,
    last_cap_sweep_ms: i64,
    stats: StoreStats,
}

impl OwnedStore {
    /// An empty store for `layout`.
    pub(crate) fn new(layout: Layout, config: StoreConfig) -> Result<Self, StateError> {
        let seeds = RandomState::new();
        let key_seeds = [0u64, 1, 2, 3].map(|i| seeds.hash_one(i));
        Self::with_seeds(layout, config, key_seeds)
    }

    fn with_seeds(
        layout: Layout,
        config: StoreConfig,
        key_seeds: [u64; 4],
    ) -> Result<Self, StateError> {
        let gen = Generation::first(layout)?;
        let keyed = (0..gen.plan.keyed_maps).map(|_| AHashMap::new()).collect();
        Ok(Self {
            gen,
            config,
            agents: AHashMap::new(),
            keyed,
            key_hasher: key_hasher(key_seeds),
            key_seeds,
            bytes: 0,
            key_serial: 0,
            last_cap_sweep_ms: i64::MIN,
            stats: StoreStats::default(),
        })
    }

    /// The state of a shared store, moved into one a thread owns (the tags
    /// and limits of `store` kept).
    pub(crate) fn from_shared(
        store: &StateStore,
        tag: &dyn Fn(&str) -> u32,
    ) -> Result<Self, StateError> {
        let mut owned =
            Self::with_seeds(store.layout(), store.config().clone(), store.key_seeds())?;
        let plan = &owned.gen.plan;
        let mut agents = AHashMap::new();
        let mut bytes = 0;
        let _ = store.each_agent(&|_| true, &mut |mut record: AgentRecord| {
            // A copy is as tight as its contents: room made as a restore
            // makes it (the same byte figures as the store's).
            let _ = record.state.fits(plan);
            let slot = AgentSlot {
                tag: tag(&record.key),
                state: record.state,
            };
            let key: Box<str> = Box::from(record.key.as_str());
            bytes += entry_bytes(&key, &slot.state);
            agents.insert(key, slot);
            Ok::<(), std::convert::Infallible>(())
        });
        owned.agents = agents;
        owned.bytes = bytes;
        let _ = store.each_key(&|_, _, _| true, &mut |mut record: KeyRecord| {
            // As for agents: a keyed set made as roomy as a restore makes it.
            let (counter, cell) = owned.gen.plan.keyed_shape(record.map as usize);
            let _ = record.state.fits(counter, cell);
            if let Some(map) = owned.keyed.get_mut(record.map as usize) {
                owned.key_serial = owned.key_serial.max(record.state.serial.saturating_add(1));
                owned.bytes += entry_bytes(&record.hash, &record.state);
                map.insert(record.hash, record.state);
            }
            Ok::<(), std::convert::Infallible>(())
        });
        Ok(owned)
    }

    /// A shared store holding a copy of this state (for a snapshot, which
    /// is written from a shared store: the format is one).
    pub(crate) fn to_shared(&self) -> std::io::Result<StateStore> {
        let mut config = self.config.clone();
        // The copy holds what this store holds, whatever its limits.
        config.max_agents = config.max_agents.max(self.agents.len());
        config.max_keys = config.max_keys.max(self.keys_len());
        let store = StateStore::with_seeds(self.gen.layout.clone(), config, self.key_seeds)
            .map_err(std::io::Error::other)?;
        for (key, slot) in &self.agents {
            let record = AgentRecord {
                key: key.to_string(),
                state: slot.state.clone(),
            };
            store
                .insert_agent(record, slot.tag)
                .map_err(std::io::Error::other)?;
        }
        for (m, map) in self.keyed.iter().enumerate() {
            for (&hash, state) in map {
                let record = KeyRecord {
                    map: u32::try_from(m).unwrap_or(u32::MAX),
                    hash,
                    state: state.clone(),
                };
                store.insert_key(record).map_err(std::io::Error::other)?;
            }
        }
        Ok(store)
    }

    /// Scratch metrics of this store's shape.
    pub(crate) fn metrics(&self) -> Metrics {
        Metrics::new(&self.gen.layout)
    }

    /// The limits.
    pub(crate) fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// As [`StateStore::observe_then`]: the event's keys, then the agent
    /// (its counters, the keys it created against its quota, `read` with
    /// its metrics and cooldowns), then the budget.
    pub(crate) fn observe_then(
        &mut self,
        agent: &str,
        obs: &super::Observation<'_>,
        out: &mut Metrics,
        tag: impl Fn() -> u32,
        read: impl FnOnce(&MetricsView<'_>, &mut Cooldowns<'_>),
    ) -> ObserveOutcome {
        if !out.fits(&self.gen.plan) {
            *out = Metrics::new(&self.gen.layout);
        }
        let skewed = match self.config.max_forward_skew_ms {
            Some(s) => i128::from(obs.time_ms) > i128::from(obs.now_ms) + i128::from(s),
            None => false,
        };
        let mut outcome = ObserveOutcome {
            skewed,
            ..ObserveOutcome::default()
        };
        let mut created: SmallVec<[OwnedKey; 4]> = SmallVec::new();
        if !self.keyed.is_empty() {
            self.observe_keys(obs, skewed, out, &mut outcome, &mut created);
        }
        let key = stored_key(&self.config, &self.key_hasher, agent);
        let quota = self.config.max_keys_per_agent;
        if !skewed
            && !room(self.agents.len(), self.config.max_agents)
            && !self.agents.contains_key(&*key)
        {
            self.cap_sweep(obs.time_ms);
        }
        let plan = &self.gen.plan;
        let mut evict: SmallVec<[OwnedKey; 4]> = SmallVec::new();
        let run = |slot: &mut AgentSlot, tracked: bool, outcome: &mut ObserveOutcome| {
            let mut grown = slot.state.observe(plan, obs, skewed, out, outcome, true);
            if tracked {
                for &k in &created {
                    grown += slot.state.own_key(k, quota, &mut evict);
                }
            }
            grown + read_agent(&mut slot.state, plan, obs, skewed, out, slot.tag, read)
        };
        if let Some(slot) = self.agents.get_mut(&*key) {
            let grown = run(slot, true, &mut outcome);
            self.bytes += grown;
            outcome.tracking = Tracking::Existing;
        } else if !skewed && room(self.agents.len(), self.config.max_agents) {
            let mut slot = AgentSlot {
                tag: tag(),
                state: AgentState::new(plan, obs.time_ms),
            };
            let k: Box<str> = Box::from(&*key);
            let entry = entry_bytes(&k, &slot.state);
            let grown = run(&mut slot, true, &mut outcome);
            self.bytes += entry + grown;
            self.agents.insert(k, slot);
            outcome.tracking = Tracking::Inserted;
        } else {
            let mut slot = AgentSlot {
                tag: tag(),
                state: AgentState::new(plan, obs.time_ms),
            };
            let _ = run(&mut slot, false, &mut outcome);
            outcome.tracking = Tracking::Untracked;
        }
        for k in evict {
            self.evict_owned(k);
        }
        self.tally(&mut outcome);
        if self.bytes > self.config.max_state_bytes {
            self.enforce_budget();
        }
        outcome
    }

    /// Counts the keyed counters of an event (as the shared store does).
    fn observe_keys(
        &mut self,
        obs: &super::Observation<'_>,
        skewed: bool,
        out: &mut Metrics,
        outcome: &mut ObserveOutcome,
        created: &mut SmallVec<[OwnedKey; 4]>,
    ) {
        for c in 0..self.gen.plan.counters.len() {
            let Some(info) = self.gen.plan.counters.get(c).copied() else {
                continue;
            };
            let Some(m) = info.keyed_map else {
                continue;
            };
            let Some(key) = obs.counter_keys.get(c).copied().flatten() else {
                out.write_unknown_counter(c);
                continue;
            };
            let hit = obs.counter_hits.get(c).copied().unwrap_or(false);
            let found = self.observe_key(
                m,
                key,
                hit && !skewed,
                obs.time_ms,
                |serial| KeyState::new(info.plan, obs.time_ms, serial),
                |state| state.observe(info.plan, c, obs.time_ms, hit, skewed, out, outcome),
                created,
            );
            match found {
                // No state yet and none made: the counter reads 0.
                Found::Absent => out.write_zero_counter(c),
                Found::Temporary => outcome.untracked_key = true,
                Found::Existing | Found::Inserted => {}
            }
        }
        for i in 0..self.gen.plan.cells.len() {
            let Some(info) = self.gen.plan.cells.get(i).copied() else {
                continue;
            };
            let Some(m) = info.keyed_map else {
                continue;
            };
            let input = obs.cells.get(i).copied().unwrap_or_default();
            let Some(o) = out.cells.get_mut(i) else {
                continue;
            };
            let Some(key) = input.key else {
                o.read = CellRead::Unknown;
                continue;
            };
            let found = self.observe_key(
                m,
                key,
                input.update && !skewed,
                obs.time_ms,
                |serial| KeyState::new_cell(info.kind, obs.time_ms, serial),
                |state| state.observe_cell(info.kind, &input, obs.time_ms, skewed, o),
                created,
            );
            match found {
                Found::Absent => o.fresh(info.kind, &input),
                Found::Temporary => outcome.untracked_key = true,
                Found::Existing | Found::Inserted => {}
            }
        }
    }

    /// Runs `observe` on the state of `key` in keyed map `m`: the known
    /// state (the common case: one lookup), or one made with `create`
    /// (given its serial number) if `insert`, in the map if there is room
    /// (after making some at the cap), else temporary (tallied).
    #[allow(clippy::too_many_arguments)]
    fn observe_key(
        &mut self,
        m: usize,
        key: &str,
        insert: bool,
        time_ms: i64,
        create: impl FnOnce(u32) -> KeyState,
        observe: impl FnOnce(&mut KeyState) -> usize,
        created: &mut SmallVec<[OwnedKey; 4]>,
    ) -> Found {
        let hash = self.key_hasher.hash_one(key);
        if let Some(state) = self.keyed.get_mut(m).and_then(|map| map.get_mut(&hash)) {
            self.bytes += observe(state);
            return Found::Existing;
        }
        if !insert {
            return Found::Absent;
        }
        if !room(self.keys_len(), self.config.max_keys) {
            self.make_key_room(time_ms);
        }
        let tracked = room(self.keys_len(), self.config.max_keys);
        let serial = if tracked { self.key_serial } else { 0 };
        let mut state = create(serial);
        let entry = entry_bytes(&hash, &state);
        let grown = observe(&mut state);
        match self.keyed.get_mut(m) {
            Some(map) if tracked => {
                self.key_serial = self.key_serial.wrapping_add(1);
                self.bytes += entry + grown;
                map.insert(hash, state);
                created.push(OwnedKey {
                    map: u32::try_from(m).unwrap_or(u32::MAX),
                    serial,
                    key: hash,
                });
                Found::Inserted
            }
            // At the cap with no room made: counted on fresh state.
            _ => {
                self.stats.untracked_key_events += 1;
                Found::Temporary
            }
        }
    }

    /// Keys of keyed counters tracked now.
    pub(crate) fn keys_len(&self) -> usize {
        self.keyed.iter().map(|m| m.len()).sum()
    }

    /// Agents tracked now.
    pub(crate) fn len(&self) -> usize {
        self.agents.len()
    }

    /// At the key cap: an idle sweep if one is due, else the least recently
    /// seen eighth of the keys go.
    fn make_key_room(&mut self, time_ms: i64) {
        if self.cap_sweep(time_ms) && room(self.keys_len(), self.config.max_keys) {
            return;
        }
        let need = (self.config.max_keys / 8).max(1);
        let removed = self.evict_oldest(false, 0, need);
        self.stats.cap_evicted_keys += removed.1 as u64;
    }

    /// An idle sweep on behalf of a new agent or key at a cap, at most one
    /// per `cap_sweep_interval_ms` of event time. `true` if it freed room.
    fn cap_sweep(&mut self, time_ms: i64) -> bool {
        if self.config.idle_ttl_ms.is_none() {
            return false;
        }
        let due = i128::from(time_ms)
            >= i128::from(self.last_cap_sweep_ms) + i128::from(self.config.cap_sweep_interval_ms);
        if !due {
            return false;
        }
        self.last_cap_sweep_ms = time_ms;
        let (agents, keys) = (self.len(), self.keys_len());
        self.evict_idle(time_ms);
        self.len() < agents || self.keys_len() < keys
    }

    /// Removes the agents and keys whose newest event is older than
    /// `watermark_ms - idle_ttl_ms`; returns the number of agents removed.
    pub(crate) fn evict_idle(&mut self, watermark_ms: i64) -> usize {
        let Some(ttl) = self.config.idle_ttl_ms else {
            return 0;
        };
        let cut = i128::from(watermark_ms) - i128::from(ttl);
        let (agents, keys) = self.remove_older(cut, true);
        self.stats.evicted_agents += agents as u64;
        self.stats.evicted_keys += keys as u64;
        agents
    }

    /// Removes agents (if `agents`) and keys last seen before `cut`;
    /// returns how many of each.
    fn remove_older(&mut self, cut: i128, agents: bool) -> (usize, usize) {
        let mut freed = 0usize;
        let mut gone_agents = 0usize;
        if agents {
            self.agents.retain(|key, slot| {
                if i128::from(slot.state.newest_ms()) >= cut {
                    return true;
                }
                gone_agents += 1;
                freed += entry_bytes(key, &slot.state);
                false
            });
        }
        let mut gone_keys = 0usize;
        for map in &mut self.keyed {
            map.retain(|hash, state| {
                if i128::from(state.newest_ms()) >= cut {
                    return true;
                }
                gone_keys += 1;
                freed += entry_bytes(hash, state);
                false
            });
        }
        self.bytes = self.bytes.saturating_sub(freed);
        (gone_agents, gone_keys)
    }

    /// Evicts agents (if `agents`) and keys, least recently seen first,
    /// until `need_bytes` bytes and `need_keys` keys are freed, as the
    /// shared store does: the newest time `T` at which enough is older is
    /// found, then entries strictly older than `T` go, then entries of `T`,
    /// agents before keys and keyed maps in order, until enough went (the
    /// shared store estimates `T` from a sample; here it is exact, and
    /// within an agent map or a keyed map the oldest go first).
    fn evict_oldest(
        &mut self,
        agents: bool,
        need_bytes: usize,
        need_keys: usize,
    ) -> (usize, usize) {
        if need_bytes == 0 && need_keys == 0 {
            return (0, 0);
        }
        let mut weighed: Vec<(i64, usize)> = Vec::new();
        if agents && need_bytes > 0 {
            weighed.extend(
                self.agents
                    .iter()
                    .map(|(k, s)| (s.state.newest_ms(), entry_bytes(k, &s.state))),
            );
        }
        for map in &self.keyed {
            weighed.extend(map.iter().map(|(h, s)| (s.newest_ms(), entry_bytes(h, s))));
        }
        if weighed.is_empty() {
            return (0, 0);
        }
        weighed.sort_unstable();
        let (want, by_bytes) = if need_bytes > 0 {
            (need_bytes, true)
        } else {
            (need_keys, false)
        };
        let mut acc = 0usize;
        let mut threshold = i64::MAX;
        for &(t, b) in &weighed {
            acc += if by_bytes { b } else { 1 };
            if acc >= want {
                threshold = t;
                break;
            }
        }
        let (mut freed, mut gone_agents, mut gone_keys) = (0usize, 0usize, 0usize);
        let enough = |freed: usize, keys: usize| freed >= need_bytes && keys >= need_keys;
        for cut in [i128::from(threshold), i128::from(threshold) + 1, i128::MAX] {
            if agents && !enough(freed, gone_keys) {
                let mut old: Vec<(i64, Box<str>)> = self
                    .agents
                    .iter()
                    .filter(|(_, s)| i128::from(s.state.newest_ms()) < cut)
                    .map(|(k, s)| (s.state.newest_ms(), k.clone()))
                    .collect();
                old.sort_unstable();
                for (_, k) in old {
                    if enough(freed, gone_keys) {
                        break;
                    }
                    if let Some(slot) = self.agents.remove(&k) {
                        freed += entry_bytes(&k, &slot.state);
                        gone_agents += 1;
                    }
                }
            }
            for map in &mut self.keyed {
                if enough(freed, gone_keys) {
                    break;
                }
                let mut old: Vec<(i64, u64)> = map
                    .iter()
                    .filter(|(_, s)| i128::from(s.newest_ms()) < cut)
                    .map(|(h, s)| (s.newest_ms(), *h))
                    .collect();
                old.sort_unstable();
                for (_, h) in old {
                    if enough(freed, gone_keys) {
                        break;
                    }
                    if let Some(state) = map.remove(&h) {
                        freed += entry_bytes(&h, &state);
                        gone_keys += 1;
                    }
                }
            }
        }
        self.bytes = self.bytes.saturating_sub(freed);
        (gone_agents, gone_keys)
    }

    /// Back under the budget: the least recently seen agents and keys go
    /// until an eighth of the budget is free.
    fn enforce_budget(&mut self) {
        let budget = self.config.max_state_bytes;
        let target = budget - budget / 8;
        let need = self.bytes.saturating_sub(target);
        let (agents, keys) = self.evict_oldest(true, need, 0);
        self.stats.budget_evicted_agents += agents as u64;
        self.stats.budget_evicted_keys += keys as u64;
    }

    /// Evicts a key an agent's quota pushed out, unless it is gone or was
    /// created anew since (another serial).
    fn evict_owned(&mut self, k: OwnedKey) {
        let Some(map) = self.keyed.get_mut(k.map as usize) else {
            return;
        };
        if map.get(&k.key).is_some_and(|s| s.serial == k.serial) {
            if let Some(state) = map.remove(&k.key) {
                self.bytes = self.bytes.saturating_sub(entry_bytes(&k.key, &state));
                self.stats.quota_evicted_keys += 1;
            }
        }
    }

    fn tally(&mut self, outcome: &mut ObserveOutcome) {
        outcome.settle_late();
        let s = &mut self.stats;
        s.untracked_events += u64::from(outcome.untracked_event());
        s.skewed_events += u64::from(outcome.skewed);
        s.late_dropped_events += u64::from(outcome.late_dropped);
        s.late_partial_events += u64::from(outcome.late_partial);
    }

    /// Counters of what the store did, and its current size.
    pub(crate) fn stats(&self) -> StoreStats {
        StoreStats {
            agents: self.len(),
            keys: self.keys_len(),
            bytes: self.bytes,
            ..self.stats
        }
    }

    /// A copy of `agent`'s state, if tracked.
    pub(crate) fn agent_state(&self, agent: &str) -> Option<AgentState> {
        let key = stored_key(&self.config, &self.key_hasher, agent);
        self.agents.get(&*key).map(|s| s.state.clone())
    }

    /// (rule, agent) pairs with a cooldown entry.
    pub(crate) fn cooldown_entries(&self) -> usize {
        self.agents
            .values()
            .map(|s| s.state.cooldowns().count())
            .sum()
    }
}

/// Whether a map of `len` entries has room under `cap`.
fn room(len: usize, cap: usize) -> bool {
    len < cap
}
