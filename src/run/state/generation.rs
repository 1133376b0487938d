//! Generations of the layout: what lets a program be replaced while its
//! state lives on.
//!
//! Each layout the store runs is a [`Generation`]: the layout, its plan,
//! its keyed maps, and, for every generation after the first, how state of
//! the previous one maps into it (a [`Remap`]). A metric of the new layout
//! keeps the state of the metric of the old one with the same identity (its
//! name, the canonical text of its definition, and its shape: width, keyed
//! or not, retention); a metric without one starts empty and warms up; the
//! state of metrics no longer used is released. Cooldowns are matched by
//! their name (the rule id).
//!
//! Installing a generation is a pointer swap. An agent's state is brought
//! up to date under its own lock, by the first event that finds it in the
//! old generation or by the sweep that follows the swap, whichever comes
//! first; keyed maps of kept metrics are shared, not copied.

use std::collections::VecDeque;
use std::sync::Arc;

use ahash::AHashMap;
use serde::{Deserialize, Serialize};

use super::{
    slot_map, AgentMore, AgentState, Cell, CellKind, CooldownEntry, CounterSpec, DistinctSpec,
    FirstSeenSpec, KeyState, Layout, OwnedKey, Plan, SlotMap, StateError, StateStore,
};
use crate::run::window::{CounterWindow, DistinctWindow, FirstSeenSet};

/// The identity of each metric and cooldown slot of a [`Layout`], by index:
/// for the engine, the canonical text of each metric's definition
/// (`count(outcome == "FAILURE") over 10m by ip`) and each cooldown's rule
/// id. A missing name stands for the position (`#3`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricNames {
    /// Per counter.
    #[serde(default)]
    pub counters: Vec<String>,
    /// Per distinct metric.
    #[serde(default)]
    pub distincts: Vec<String>,
    /// Per first-seen metric.
    #[serde(default)]
    pub first_seens: Vec<String>,
    /// Per cooldown slot.
    #[serde(default)]
    pub cooldowns: Vec<String>,
    /// Per cell metric.
    #[serde(default)]
    pub cells: Vec<String>,
}

/// The name at `i`, or the position.
fn name(names: &[String], i: usize) -> String {
    names.get(i).cloned().unwrap_or_else(|| format!("#{i}"))
}

/// What state is kept by: a metric's kind, name and shape.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum MetricKey {
    /// A per-agent counter: its history may differ (it is reshaped).
    Counter { name: String, width_ms: u64 },
    /// A keyed counter: its keys' windows are shared as they are, so the
    /// history is part of the shape.
    Keyed {
        name: String,
        width_ms: u64,
        history: u32,
    },
    /// A distinct metric (its history is part of its shape).
    Distinct {
        name: String,
        width_ms: u64,
        history: u32,
    },
    /// A first-seen set.
    FirstSeen {
        name: String,
        retention_ms: u64,
        capacity: u16,
    },
    /// A cell metric (per agent or keyed).
    Cell {
        name: String,
        kind: CellKind,
        keyed: bool,
    },
}

impl MetricKey {
    /// The metric's name, for reports.
    pub(crate) fn name(&self) -> &str {
        match self {
            MetricKey::Counter { name, .. }
            | MetricKey::Keyed { name, .. }
            | MetricKey::Distinct { name, .. }
            | MetricKey::FirstSeen { name, .. }
            | MetricKey::Cell { name, .. } => name,
        }
    }
}

fn counter_key(c: &CounterSpec, name: String) -> MetricKey {
    if c.keyed {
        MetricKey::Keyed {
            name,
            width_ms: c.width_ms,
            history: c.history_windows,
        }
    } else {
        MetricKey::Counter {
            name,
            width_ms: c.width_ms,
        }
    }
}

fn distinct_key(d: &DistinctSpec, name: String) -> MetricKey {
    MetricKey::Distinct {
        name,
        width_ms: d.width_ms,
        history: d.history_windows,
    }
}

fn first_seen_key(f: &FirstSeenSpec, name: String) -> MetricKey {
    MetricKey::FirstSeen {
        name,
        retention_ms: f.retention_ms,
        capacity: f.capacity,
    }
}

impl Layout {
    /// The identity of every metric, in layout order: counters, distincts,
    /// first-seen sets.
    pub(crate) fn metric_keys(&self) -> Vec<MetricKey> {
        let n = &self.names;
        let counters = self
            .counters
            .iter()
            .enumerate()
            .map(|(i, c)| counter_key(c, name(&n.counters, i)));
        let distincts = self
            .distincts
            .iter()
            .enumerate()
            .map(|(i, d)| distinct_key(d, name(&n.distincts, i)));
        let first_seens = self
            .first_seens
            .iter()
            .enumerate()
            .map(|(i, f)| first_seen_key(f, name(&n.first_seens, i)));
        let cells = self.cells.iter().enumerate().map(|(i, c)| MetricKey::Cell {
            name: name(&n.cells, i),
            kind: c.kind,
            keyed: c.keyed,
        });
        counters
            .chain(distincts)
            .chain(first_seens)
            .chain(cells)
            .collect()
    }

    /// The name of every cooldown slot.
    pub(crate) fn cooldown_names(&self) -> Vec<String> {
        (0..self.cooldowns_ms.len())
            .map(|i| name(&self.names.cooldowns, i))
            .collect()
    }
}

/// One layout in force, and how the previous one's state maps into it.
pub struct Generation {
    /// Its number (wrapping); a slot records the one its state is in.
    pub(super) id: u16,
    pub(super) layout: Layout,
    pub(super) plan: Plan,
    /// The maps of the keyed counters, by keyed-map index (shared with the
    /// previous generation for the counters both have).
    pub(super) keyed: Vec<Arc<SlotMap<u64, KeyState>>>,
    /// From the previous generation, if any.
    pub(super) from: Option<Remap>,
}

impl std::fmt::Debug for Generation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generation")
            .field("id", &self.id)
            .field("layout", &self.layout)
            .finish_non_exhaustive()
    }
}

/// How the state of one generation maps into the next, by index.
pub(super) struct Remap {
    /// The generation it maps from.
    old_id: u16,
    old_plan: Plan,
    /// Per new counter: the old counter it continues.
    counters: Vec<Option<usize>>,
    /// Per new distinct metric: the old one.
    distincts: Vec<Option<usize>>,
    /// Per new first-seen metric: the old one.
    first_seens: Vec<Option<usize>>,
    /// Per new cell metric: the old one.
    cells: Vec<Option<usize>>,
    /// Per old cooldown slot: the new slot of the same name.
    cooldowns: Vec<Option<u32>>,
    /// Per old keyed map: the new map it is.
    keyed_maps: Vec<Option<u32>>,
}

impl Generation {
    /// The layout.
    pub(crate) fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The first generation of a store.
    pub(super) fn first(layout: Layout) -> Result<Self, StateError> {
        let plan = Plan::new(&layout)?;
        let keyed = (0..plan.keyed_maps).map(|_| Arc::new(slot_map())).collect();
        Ok(Self {
            id: 0,
            layout,
            plan,
            keyed,
            from: None,
        })
    }

    /// The generation after `old`, for `layout`: kept metrics matched by
    /// identity, their keyed maps shared.
    pub(super) fn next(old: &Generation, layout: Layout) -> Result<Self, StateError> {
        let plan = Plan::new(&layout)?;
        let old_keys = old.layout.metric_keys();
        let new_keys = layout.metric_keys();
        let (oc, od) = (old.layout.counters.len(), old.layout.distincts.len());
        let (nc, nd) = (layout.counters.len(), layout.distincts.len());
        let (of, nf) = (old.layout.first_seens.len(), layout.first_seens.len());
        let index: AHashMap<&MetricKey, usize> =
            old_keys.iter().enumerate().map(|(i, k)| (k, i)).collect();
        let find = |k: &MetricKey| index.get(k).copied();
        let counters: Vec<Option<usize>> = new_keys
            .get(..nc)
            .unwrap_or(&[])
            .iter()
            .map(|k| find(k).filter(|&i| i < oc))
            .collect();
        let distincts = new_keys
            .get(nc..nc + nd)
            .unwrap_or(&[])
            .iter()
            .map(|k| find(k).filter(|&i| i >= oc && i < oc + od).map(|i| i - oc))
            .collect();
        let first_seens = new_keys
            .get(nc + nd..nc + nd + nf)
            .unwrap_or(&[])
            .iter()
            .map(|k| {
                find(k)
                    .filter(|&i| i >= oc + od && i < oc + od + of)
                    .map(|i| i - oc - od)
            })
            .collect();
        let cells: Vec<Option<usize>> = new_keys
            .get(nc + nd + nf..)
            .unwrap_or(&[])
            .iter()
            .map(|k| {
                find(k)
                    .filter(|&i| i >= oc + od + of)
                    .map(|i| i - oc - od - of)
            })
            .collect();
        let new_cooldowns: AHashMap<String, u32> = layout
            .cooldown_names()
            .into_iter()
            .enumerate()
            .filter_map(|(i, n)| Some((n, u32::try_from(i).ok()?)))
            .collect();
        let cooldowns = old
            .layout
            .cooldown_names()
            .iter()
            .map(|n| new_cooldowns.get(n).copied())
            .collect();
        let mut keyed = Vec::with_capacity(plan.keyed_maps);
        let mut keyed_maps = vec![None; old.plan.keyed_maps];
        // Per keyed map of the new plan (counters' first, then cells', as
        // `Plan::new` numbers them): the old map it continues, if any.
        let counter_maps = plan
            .counters
            .iter()
            .enumerate()
            .filter(|(_, c)| c.keyed_map.is_some())
            .map(|(i, _)| {
                counters
                    .get(i)
                    .copied()
                    .flatten()
                    .and_then(|o| old.plan.counters.get(o)?.keyed_map)
            });
        let cell_maps = plan
            .cells
            .iter()
            .enumerate()
            .filter(|(_, c)| c.keyed_map.is_some())
            .map(|(i, _)| {
                cells
                    .get(i)
                    .copied()
                    .flatten()
                    .and_then(|o| old.plan.cells.get(o)?.keyed_map)
            });
        for old_map in counter_maps.chain(cell_maps) {
            let new_map = u32::try_from(keyed.len()).unwrap_or(u32::MAX);
            match old_map.and_then(|m| Some((m, old.keyed.get(m)?))) {
                Some((m, map)) => {
                    keyed.push(Arc::clone(map));
                    if let Some(slot) = keyed_maps.get_mut(m) {
                        *slot = Some(new_map);
                    }
                }
                None => keyed.push(Arc::new(slot_map())),
            }
        }
        Ok(Self {
            id: old.id.wrapping_add(1),
            layout,
            plan,
            keyed,
            from: Some(Remap {
                old_id: old.id,
                old_plan: old.plan.clone(),
                counters,
                distincts,
                first_seens,
                cells,
                cooldowns,
                keyed_maps,
            }),
        })
    }

    /// The keyed maps of `old` that this generation does not share.
    pub(super) fn dropped_maps<'o>(
        &self,
        old: &'o Generation,
    ) -> impl Iterator<Item = &'o Arc<SlotMap<u64, KeyState>>> + 'o {
        let kept: Vec<bool> = match &self.from {
            Some(r) => r.keyed_maps.iter().map(Option::is_some).collect(),
            None => Vec::new(),
        };
        old.keyed
            .iter()
            .enumerate()
            .filter(move |(i, _)| !kept.get(*i).copied().unwrap_or(false))
            .map(|(_, m)| m)
    }
}

impl AgentState {
    /// Brings state of generation `from` into `gen`: kept metrics keep their
    /// windows (a counter's history reshaped to the new length), new ones
    /// start empty, dropped ones are released; cooldowns and created keys
    /// follow their slot and map. State of a generation `gen` does not map
    /// from (it cannot happen while sweeps complete) starts afresh.
    pub(super) fn migrate(&mut self, from: u16, gen: &Generation) {
        let plan = &gen.plan;
        let Some(remap) = gen.from.as_ref().filter(|r| r.old_id == from) else {
            *self = AgentState::new(plan, self.newest_ms);
            return;
        };
        let newest = self.newest_ms;
        let old_counters = std::mem::take(&mut self.counters);
        self.counters = plan
            .counters
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if c.keyed_map.is_some() {
                    return CounterWindow::placeholder();
                }
                let old = remap.counters.get(i).copied().flatten().and_then(|o| {
                    let info = remap.old_plan.counters.get(o)?;
                    info.keyed_map
                        .is_none()
                        .then_some((old_counters.get(o)?, info.plan))
                });
                match old {
                    Some((w, old_plan)) => w.reshaped(old_plan, c.plan, newest),
                    None => CounterWindow::new(c.plan),
                }
            })
            .collect();
        let old_more = self.more.take().map(|m| *m).unwrap_or_default();
        let mut old_distincts: Vec<Option<DistinctWindow>> = old_more
            .distincts
            .into_vec()
            .into_iter()
            .map(Some)
            .collect();
        let mut old_first_seens: Vec<Option<FirstSeenSet>> = old_more
            .first_seens
            .into_vec()
            .into_iter()
            .map(Some)
            .collect();
        let distincts: Box<[DistinctWindow]> = (0..plan.distincts.len())
            .map(|i| {
                remap
                    .distincts
                    .get(i)
                    .copied()
                    .flatten()
                    .and_then(|o| old_distincts.get_mut(o)?.take())
                    .unwrap_or_else(|| {
                        DistinctWindow::with_history(
                            plan.distinct_history.get(i).copied().unwrap_or(0),
                        )
                    })
            })
            .collect();
        let first_seens: Box<[FirstSeenSet]> = (0..plan.first_seens.len())
            .map(|i| {
                remap
                    .first_seens
                    .get(i)
                    .copied()
                    .flatten()
                    .and_then(|o| old_first_seens.get_mut(o)?.take())
                    .unwrap_or_default()
            })
            .collect();
        let mut old_cells: Vec<Option<Cell>> =
            old_more.cells.into_vec().into_iter().map(Some).collect();
        let cells: Box<[Cell]> = plan
            .cells
            .iter()
            .enumerate()
            .filter(|(_, c)| c.agent_slot.is_some())
            .map(|(i, c)| {
                remap
                    .cells
                    .get(i)
                    .copied()
                    .flatten()
                    .and_then(|o| remap.old_plan.cells.get(o)?.agent_slot)
                    .and_then(|s| old_cells.get_mut(s)?.take())
                    .unwrap_or_else(|| Cell::new(c.kind, newest))
            })
            .collect();
        let mut cooldowns: Vec<CooldownEntry> = old_more
            .cooldowns
            .iter()
            .filter_map(|e| {
                let slot = remap.cooldowns.get(e.slot as usize).copied().flatten()?;
                Some(CooldownEntry {
                    slot,
                    last_ms: e.last_ms,
                })
            })
            .collect();
        cooldowns.sort_by_key(|e| e.slot);
        let keys: VecDeque<OwnedKey> = old_more
            .keys
            .iter()
            .filter_map(|k| {
                let map = remap.keyed_maps.get(k.map as usize).copied().flatten()?;
                Some(OwnedKey { map, ..*k })
            })
            .collect();
        let needs_more = plan.agent_more()
            || !distincts.is_empty()
            || !first_seens.is_empty()
            || !cooldowns.is_empty()
            || !keys.is_empty();
        self.more = needs_more.then(|| {
            Box::new(AgentMore {
                distincts,
                first_seens,
                cells,
                cooldowns,
                keys,
            })
        });
    }
}

/// What a reload did to the store's state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Installed {
    /// Agents brought into the new layout by the sweep (the others were
    /// brought by their own events meanwhile).
    pub swept_agents: usize,
    /// Keys of dropped keyed counters released.
    pub released_keys: usize,
    /// Bytes released with them.
    pub released_bytes: usize,
}

impl StateStore {
    /// Checks `layout` and builds the generation after the one in force,
    /// without installing it.
    pub(crate) fn prepare(&self, layout: Layout) -> Result<Arc<Generation>, StateError> {
        let old = self.gen.load();
        Generation::next(&old, layout).map(Arc::new)
    }

    /// Makes `gen` (from [`prepare`](Self::prepare)) the generation in
    /// force; returns the one it replaces. The caller lets evaluations on
    /// the old one finish, then calls [`settle`](Self::settle).
    pub(crate) fn swap_generation(&self, gen: Arc<Generation>) -> Arc<Generation> {
        self.gen.swap(gen)
    }

    /// After a swap, once no evaluation uses `old`: brings every agent into
    /// the generation in force (under each agent's own lock, one at a time:
    /// evaluations of other agents go on), and releases the keyed maps the
    /// new generation does not share.
    pub(crate) fn settle(&self, old: &Generation) -> Installed {
        let _one_at_a_time = super::lock(&self.maintenance);
        let gen = self.gen.load_full();
        let mut done = Installed::default();
        let guard = self.agents.guard();
        for (_, slot) in self.agents.iter(&guard) {
            let mut cell = super::lock(slot);
            if cell.retired || cell.gen == gen.id {
                continue;
            }
            let from = cell.gen;
            let (grown, shrunk) = super::Held::upgrade(&mut cell.state, from, &gen);
            cell.gen = gen.id;
            drop(cell);
            self.grow(grown);
            self.shrink(shrunk);
            done.swept_agents += 1;
        }
        for map in gen.dropped_maps(old) {
            let guard = map.guard();
            let mut keys = 0;
            let mut bytes = 0;
            for (_, slot) in map.iter(&guard) {
                let mut cell = super::lock(slot);
                if cell.retired {
                    continue;
                }
                cell.retired = true;
                keys += 1;
                bytes += super::KEY_ENTRY_BYTES + super::Held::heap_bytes(&cell.state);
            }
            map.clear(&guard);
            self.shrink(bytes);
            super::release(&self.reserved_keys, keys);
            done.released_keys += keys;
            done.released_bytes += bytes;
        }
        done
    }
}
