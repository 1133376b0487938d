//! The store's side of snapshots: agents and keys read out one at a time
//! (each copied under its own lock, so evaluations of the others go on),
//! and put back into an empty store after their shape is checked against
//! the layout they were written with.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::{
    entry_bytes, key_hasher, lock, release, reserve, AgentState, Generation, KeyState, Plan, Slot,
    StateError, StateStore, StoreConfig,
};

/// One agent as a snapshot holds it: the key it is stored under (its id, or
/// for an over-long id its start and hash) and its state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgentRecord {
    /// The stored key.
    pub key: String,
    /// The state.
    pub state: AgentState,
}

/// One key of a keyed counter as a snapshot holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyRecord {
    /// The keyed map (in the layout's order of keyed counters).
    pub map: u32,
    /// The key's hash (with the store's seeds, which the snapshot carries).
    pub hash: u64,
    /// The state.
    pub state: KeyState,
}

/// Why a record does not fit the layout it claims.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The agent's state has another shape than the layout's.
    #[error("agent `{0}`: its state does not have the layout's shape")]
    AgentShape(String),
    /// The key's state has another shape than its counter's.
    #[error("key {hash:#018x} of keyed map {map}: its state does not have the counter's shape")]
    KeyShape {
        /// Keyed map.
        map: u32,
        /// Key hash.
        hash: u64,
    },
    /// An agent or key is there twice.
    #[error("`{0}` is in the snapshot twice")]
    Duplicate(String),
    /// More agents or keys than the store may track.
    #[error("the snapshot holds more {what} than the limit of {max}")]
    TooMany {
        /// `agents` or `keys`.
        what: &'static str,
        /// The limit.
        max: usize,
    },
}

impl AgentState {
    /// `true` when this state has the shape `plan` gives an agent (for
    /// state read from a snapshot); makes its sets as roomy as fresh ones.
    pub(super) fn fits(&mut self, plan: &Plan) -> bool {
        if self.counters.len() != plan.counters.len()
            || !self
                .counters
                .iter()
                .zip(&plan.counters)
                .all(|(w, c)| w.fits(c.plan, c.keyed_map.is_some()))
        {
            return false;
        }
        let needs_more = plan.agent_more();
        let Some(more) = self.more.as_deref_mut() else {
            return !needs_more;
        };
        let cooldowns_sorted = more
            .cooldowns
            .windows(2)
            .all(|w| matches!(w, [a, b] if a.slot < b.slot));
        more.distincts.len() == plan.distincts.len()
            && more.first_seens.len() == plan.first_seens.len()
            && more
                .distincts
                .iter_mut()
                .zip(&plan.distinct_history)
                .all(|(d, &h)| d.fits(h))
            && more
                .first_seens
                .iter_mut()
                .zip(&plan.first_seens)
                .all(|(s, f)| s.fits(f.capacity))
            && (more.cells.len() == plan.agent_cells_len()
                || (more.cells.is_empty() && !plan.has_agent_cells()))
            && more
                .cells
                .iter_mut()
                .zip(plan.cells.iter().filter(|c| c.agent_slot.is_some()))
                .all(|(c, info)| c.fits(info.kind))
            && cooldowns_sorted
            && more
                .cooldowns
                .iter()
                .all(|e| (e.slot as usize) < plan.cooldowns_ms.len())
            && more.keys.iter().all(|k| (k.map as usize) < plan.keyed_maps)
    }
}

impl StateStore {
    /// An empty store for `layout` whose key hasher has `seeds` (those of
    /// the store a snapshot was written from).
    pub(crate) fn with_seeds(
        layout: super::Layout,
        config: StoreConfig,
        seeds: [u64; 4],
    ) -> Result<Self, StateError> {
        let mut store = Self::new(layout, config)?;
        store.key_hasher = key_hasher(seeds);
        store.key_seeds = seeds;
        Ok(store)
    }

    /// The seeds of the key hasher.
    pub(crate) fn key_seeds(&self) -> [u64; 4] {
        self.key_seeds
    }

    /// Calls `f` with every tracked agent whose stored key `keep` accepts,
    /// its state copied under its lock (in the generation in force; the
    /// caller holds off reloads), with no lock held while `f` runs.
    pub(crate) fn each_agent<E>(
        &self,
        keep: &dyn Fn(&str) -> bool,
        f: &mut dyn FnMut(AgentRecord) -> Result<(), E>,
    ) -> Result<(), E> {
        let _one_at_a_time = lock(&self.maintenance);
        let gen = self.gen.load_full();
        let guard = self.agents.guard();
        for (key, slot) in self.agents.iter(&guard) {
            if !keep(key) {
                continue;
            }
            let state = {
                let mut cell = lock(slot);
                if cell.retired {
                    continue;
                }
                if cell.gen != gen.id {
                    let from = cell.gen;
                    let (grown, shrunk) = super::Held::upgrade(&mut cell.state, from, &gen);
                    cell.gen = gen.id;
                    self.grow(grown);
                    self.shrink(shrunk);
                }
                cell.state.clone()
            };
            f(AgentRecord {
                key: key.to_string(),
                state,
            })?;
        }
        Ok(())
    }

    /// Calls `f` with every key of the keyed maps that `keep` accepts (by
    /// map and hash, and the key's serial number), copied under its lock.
    pub(crate) fn each_key<E>(
        &self,
        keep: &dyn Fn(u32, u64, u32) -> bool,
        f: &mut dyn FnMut(KeyRecord) -> Result<(), E>,
    ) -> Result<(), E> {
        let gen = self.gen.load_full();
        for (m, map) in gen.keyed.iter().enumerate() {
            let m = u32::try_from(m).unwrap_or(u32::MAX);
            let guard = map.guard();
            for (&hash, slot) in map.iter(&guard) {
                let state = {
                    let cell = lock(slot);
                    if cell.retired || !keep(m, hash, cell.state.serial) {
                        continue;
                    }
                    cell.state.clone()
                };
                f(KeyRecord {
                    map: m,
                    hash,
                    state,
                })?;
            }
        }
        Ok(())
    }

    /// Puts an agent read from a snapshot into this (fresh) store, after
    /// checking its shape; `tag` is kept with it as on a first event.
    pub(crate) fn insert_agent(
        &self,
        mut record: AgentRecord,
        tag: u32,
    ) -> Result<(), RecordError> {
        let gen = self.gen.load_full();
        if !record.state.fits(&gen.plan) {
            return Err(RecordError::AgentShape(excerpt(&record.key)));
        }
        if !reserve(&self.reserved_agents, self.config.max_agents) {
            return Err(RecordError::TooMany {
                what: "agents",
                max: self.config.max_agents,
            });
        }
        let key: Box<str> = Box::from(record.key.as_str());
        let bytes = entry_bytes(&key, &record.state);
        let slot = Mutex::new(Slot {
            retired: false,
            fresh: false,
            gen: gen.id,
            tag,
            state: record.state,
        });
        let guard = self.agents.guard();
        if self.agents.try_insert(key, slot, &guard).is_err() {
            release(&self.reserved_agents, 1);
            return Err(RecordError::Duplicate(excerpt(&record.key)));
        }
        self.grow(bytes);
        Ok(())
    }

    /// Puts a key read from a snapshot into this (fresh) store.
    pub(crate) fn insert_key(&self, record: KeyRecord) -> Result<(), RecordError> {
        let gen = self.gen.load_full();
        let shape = RecordError::KeyShape {
            map: record.map,
            hash: record.hash,
        };
        let Some((map, plan, kind)) = keyed_plan(&gen, record.map) else {
            return Err(shape);
        };
        let mut record = record;
        if !record.state.fits(plan, kind) {
            return Err(shape);
        }
        if !reserve(&self.reserved_keys, self.config.max_keys) {
            return Err(RecordError::TooMany {
                what: "keys",
                max: self.config.max_keys,
            });
        }
        let serial = record.state.serial;
        let bytes = entry_bytes(&record.hash, &record.state);
        let slot = Mutex::new(Slot {
            retired: false,
            fresh: false,
            gen: gen.id,
            tag: 0,
            state: record.state,
        });
        let guard = map.guard();
        if map.try_insert(record.hash, slot, &guard).is_err() {
            release(&self.reserved_keys, 1);
            return Err(RecordError::Duplicate(format!("key {:#018x}", record.hash)));
        }
        self.key_serial
            .fetch_max(serial.saturating_add(1), Ordering::Relaxed);
        self.grow(bytes);
        Ok(())
    }

    /// Keys the agents' quotas refer to, by (map, hash, serial): what a
    /// partial snapshot writes besides its agents.
    pub(crate) fn owned_keys_of(record: &AgentRecord) -> VecDeque<(u32, u64, u32)> {
        record
            .state
            .more
            .as_ref()
            .map(|m| m.keys.iter().map(|k| (k.map, k.key, k.serial)).collect())
            .unwrap_or_default()
    }
}

/// A keyed map, and its counter's plan or its cell's kind.
type KeyedPlan<'g> = (
    &'g super::SlotMap<u64, KeyState>,
    Option<crate::run::window::CounterPlan>,
    Option<super::CellKind>,
);

/// The map of keyed map `map`, and its counter's plan or its cell's kind.
fn keyed_plan(gen: &Generation, map: u32) -> Option<KeyedPlan<'_>> {
    let (counter, cell) = gen.plan.keyed_shape(map as usize);
    if counter.is_none() && cell.is_none() {
        return None;
    }
    Some((gen.keyed.get(map as usize)?, counter, cell))
}

/// At most 80 characters of `text`, for messages.
fn excerpt(text: &str) -> String {
    match text.char_indices().nth(80) {
        None => text.to_owned(),
        Some((at, _)) => format!("{}…", text.get(..at).unwrap_or("")),
    }
}
