//! The state store: per-agent sliding windows, baselines, distinct and
//! first-seen sets in concurrent maps, updated then read once per event.
//!
//! The store knows nothing about the rule language. The engine compiles the
//! metrics its rules use into a [`Layout`] (which counters, distinct windows
//! and first-seen sets exist, and how much history each counter keeps), and
//! for every event hands [`StateStore::observe`] an [`Observation`]: the
//! event time, the injected clock, which `count(cond)` conditions held, the
//! keys of keyed counters and the hashed values for `distinct`/`first_seen`.
//! `observe` counts the event and then reads every metric of the agent into
//! a caller-owned [`Metrics`] scratch (update-then-evaluate): the
//! current event is always included. [`StateStore::observe_then`] (what the
//! engine uses) counts the event the same way but, instead of copying the
//! agent's counters out, hands a [`MetricsView`] to a closure that runs under
//! the agent's lock and computes a count or baseline in place only if it is
//! read, together with the agent's [`Cooldowns`] (alert cooldowns live in
//! the agent's state).
//!
//! ```
//! use riskgate::run::state::{Layout, Metrics, Observation, StateStore, StoreConfig};
//!
//! let store = StateStore::new(Layout::seed(), StoreConfig::default()).unwrap();
//! let mut metrics = store.metrics();
//! let t = 1_795_910_400_000; // 2026-11-28T00:00:00Z
//! for i in 0..3 {
//!     let obs = Observation { counter_hits: &[true], ..Observation::at(t + i * 100) };
//!     store.observe("datadog-remediation-prod", &obs, &mut metrics);
//! }
//! assert_eq!(metrics.count(0), Some(3)); // requests_per_minute
//! assert_eq!(metrics.baseline(0, 60), None); // warming up: fewer than 10 minutes seen
//! ```
//!
//! # Semantics
//!
//! * Time is event time. A counter of width `W` sums the 60 epoch-aligned
//!   buckets of `W / 60` ms ending at the bucket of the agent's **newest**
//!   event time ([`window`](crate::run::window) has the details).
//! * `baseline(M, k)`: with `m = floor(newest / W)` and `f` the earliest
//!   window the counter accepted an event of the agent in, the history is the
//!   windows `max(f, m - k) ..= m - 1`, empty windows counting 0, and the
//!   baseline is the exact pair ([`Baseline`]) of their summed totals and
//!   their number; it is absent while `m - f < 10` ([`WARMUP_WINDOWS`]). A
//!   counter keeps `history_windows` totals, and any `k` up to that is
//!   readable, so `baseline(M)` and `baseline(M, 24h)` share one history.
//! * A late event (older than the agent's newest) is counted in the ring if
//!   its bucket is still held and in the history if its window is still held,
//!   and moves `f` back only when the history took it; every metric is read as
//!   it stands at the newest time. A newer event advances the rings; a gap
//!   longer than a ring clears it in one pass.
//! * Forward skew: with [`StoreConfig::max_forward_skew_ms`] = `Some(s)`
//!   (default 5 minutes), an event later than `now + s` (`now` the injected
//!   clock, [`Observation::now_ms`]) changes nothing (not counted, does not
//!   move the window, not remembered as seen) but its metrics are still
//!   read, and it is tallied in [`StoreStats::skewed_events`]. One forged
//!   far-future time therefore cannot push an agent's windows past its
//!   real events.
//! * Keyed counters (`count(..) over W by F`) live in their own map,
//!   keyed by F's value alone (a 64-bit hash of it), with their own newest
//!   time; an event without a key is not counted and reads `None` (UNKNOWN).
//!   A key gets state only from an event its counter counts (its condition
//!   held, not past the forward skew); before that it reads 0, so events
//!   that count nothing create nothing. Its window then ends at the newest
//!   event seen since, counted or not.
//! * Cooldowns: an alert of cooldown slot `i` at `t` is suppressed iff
//!   `t < last + D`, `last` the time of the agent's last alert of that slot
//!   not suppressed; an event past the forward skew checks but does not
//!   start a cooldown. The times live in the agent's state, so they are
//!   bounded by the layout, and go with the agent when it is evicted (the
//!   next alert is then not suppressed).
//! * `first_seen(F)` is TRUE iff none of the values the event carries was
//!   seen by an earlier event of the agent less than the retention before the
//!   agent's newest time; `None` in the observation reads `None` (UNKNOWN),
//!   an empty list reads FALSE (no element is new).
//!
//! # Concurrency: why a lock per agent
//!
//! The agents live in a lock-free map (`papaya::HashMap<Box<str>,
//! Mutex<Slot<AgentState>>, ahash::RandomState>`). The hot path is a lookup
//! that writes nothing shared (threads on different agents pass no cache
//! line between cores), then the agent's own `Mutex` for the update and the
//! read together; an insert only runs when an agent is first seen. Eviction
//! marks a slot retired under its lock before taking it out of the map, and
//! a thread that finds a retired slot looks again, so no event is counted in
//! a removed state. Plain atomic buckets would keep the final counts exact, but
//! The semantics also ask that every `observe` read a state that includes its
//! own event and is consistent with *some serial order* of the agent's events
//! (per-agent linearizable update-and-read): with atomics, a reader could see
//! a ring half advanced by another thread, or a later event counted but an
//! earlier one not, or a baseline from one minute and a count from the next.
//! Holding the agent's lock from the update to the end of the read makes each
//! `observe` one atomic step of that agent's history; the critical section is
//! a few hundred nanoseconds (with `observe_then`, the engine's rule
//! evaluation included) and contends only between events of the *same*
//! agent. Keyed counters use the same scheme in their own maps, counted
//! before the agent's lock is taken. The one lock taken under an agent's
//! lock is that of a key the agent's quota evicts; nothing takes a key's
//! lock and then an agent's. Evictions by age (at the key cap, past the
//! budget) run with no lock held, one at a time, locking one slot at a
//! time.
//!
//! # Bounds
//!
//! * At most [`StoreConfig::max_agents`] agents and [`StoreConfig::max_keys`]
//!   keys are tracked (an atomic reservation makes the bound exact under
//!   concurrency). A new agent or key arriving at the cap first triggers an
//!   idle sweep (at most one per [`StoreConfig::cap_sweep_interval_ms`] of
//!   event time, if an idle TTL is set). If that frees nothing, a new agent
//!   is evaluated on fresh temporary state, not inserted, and tallied in
//!   [`StoreStats::untracked_events`]; a new key evicts the least recently
//!   seen eighth of the keys ([`StoreStats::cap_evicted_keys`]). The sweep's
//!   watermark is that event's time: a skewed (far-future) time never
//!   reaches it.
//! * Quotas: an agent keeps at most [`StoreConfig::max_keys_per_agent`] of
//!   the keys its events created; its next new key evicts the oldest of them
//!   ([`StoreStats::quota_evicted_keys`]), so one agent's flood of values
//!   cannot fill the key space and starve everyone's `by` counters.
//! * Budget: [`StateStore::bytes`] counts the bytes of every agent and key
//!   (map entries and owned heap, requested sizes), exactly, as they are
//!   inserted, grow and go. An event that leaves it above
//!   [`StoreConfig::max_state_bytes`] evicts, with no lock held, the least
//!   recently seen agents and keys until an eighth of the budget is free
//!   ([`StoreStats::budget_evicted_agents`],
//!   [`StoreStats::budget_evicted_keys`]). "Least recently seen" is
//!   estimated: a sample of a few hundred entries of each map gives the
//!   newest time below which enough bytes lie, and one pass over the maps
//!   removes entries older than it. Each eviction frees an eighth of the
//!   budget for one pass, so its cost is amortised O(1) per byte stored.
//! * Input-derived bytes are capped: an agent id longer than
//!   [`StoreConfig::max_key_bytes`] is stored as its start and a 64-bit
//!   hash (at most `max(max_key_bytes, 17)` bytes); keys of keyed counters,
//!   distinct and first-seen values are stored as 64-bit hashes; cooldowns
//!   are per (slot, agent) in the agent's state.
//! * [`StateStore::evict_idle`] drops agents and keys whose newest time is
//!   older than `watermark - idle_ttl` (event time).
//! * Every structure has a fixed size or a fixed bound: rings and histories
//!   are allocated once per agent, distinct sets hold 16 values plus a
//!   448-byte sketch, first-seen sets hold at most their capacity, an
//!   agent's cooldowns one entry per cooldown of the layout, its list of
//!   created keys its quota.
//!
//! # Memory per agent
//!
//! [`StateStore::agent_memory_bytes`] counts, for one tracked agent, its map
//! entry ([`AGENT_ENTRY_BYTES`]: the hash table's pointer and metadata byte,
//! and the entry block they point to), the key's bytes, and every heap block
//! the state owns (requested sizes; the allocator adds its own header, 8–16
//! bytes a block with glibc). For the seed layout ([`Layout::seed`]: one
//! counter of 60 s with a 60-window history, i.e. `requests_per_minute` and
//! its baseline) and a 24-byte agent id such as `datadog-remediation-prod`:
//!
//! | part | bytes |
//! |---|---|
//! | map entry: `Box<str>` (16) + `Mutex<Slot<AgentState>>` (48) + table pointer and metadata (9) | 73 |
//! | key | 24 |
//! | counter header (`f`, cells box) | 32 |
//! | ring, 60 × `u16` | 120 |
//! | history, 61 × `u16` | 122 |
//! | **total** | **371** |
//!
//! Four heap blocks (entry, key, counter header, cells); with glibc's headers
//! about 405 bytes. The table keeps some of its slots empty, 9 bytes each, so
//! count on 405–450 bytes per tracked agent (469 were measured at a million
//! with the entry of the earlier layout, 24 bytes larger: distinct and
//! first-seen sets, cooldowns and created keys now share one optional block,
//! which an agent of plain counters never allocates). Cells double (to 484
//! bytes of ring and history) only for an agent that once put more than
//! 65,535 events in one bucket or window. Each further counter adds 32 + 120
//! bytes, plus `2 (H + 1)` with a history of `H` windows (a 24-hour baseline
//! of a one-minute counter: 2,882 bytes). The first distinct, first-seen,
//! cooldown or created key allocates the agent's second block,
//! [`AGENT_MORE_BYTES`] (104), once; then each distinct window adds 296 bytes
//! (+ 496 with a sketch; + 48 + 4 (H + 1) with a history of `H` windows, the
//! 48 shared with a sketch), each first-seen set 24 bytes plus 16 a value held,
//! each (cooldown, agent) that alerted 16 ([`COOLDOWN_ENTRY_BYTES`]), each
//! key the agent created 16 ([`OWNED_KEY_BYTES`]) while in its quota (both
//! lists start with room for 4 and double).
//!
//! A key of a keyed counter takes [`KEY_ENTRY_BYTES`] (81: the hash, its
//! locked state, the table slot) plus its cells: 201 bytes with a ring of 60
//! `u16` (no history), whatever the key's length.
//!
//! A cell metric ([`CellSpec`]: `since`, `first`, `previous`, `sequence`,
//! `tracked_for`, keyed `distinct` and `first_seen`) takes one 48-byte
//! [`Cell`] in the agent's second block, plus what it owns: a stored string's
//! bytes (`first`/`previous`, at most about [`MAX_STORED_BYTES`]), the step
//! times of each prefix (`sequence` of `n` steps: `4 n (n − 1)` bytes). A
//! keyed one takes, per key, [`KEY_ENTRY_BYTES`] + 48 + what it owns
//! (a distinct window 256, +496 with a sketch; a first-seen set 16 a value
//! held, room for 4 first) ([`StateStore::new_cell_key_memory_bytes`]) and
//! nothing in the agent (a keyed counter leaves a 32-byte placeholder). `tests/footprint_budget.rs`
//! checks these figures and the README's table "State, windows and memory".
//!
//! The test `seed_layout_agent_fits_in_512_bytes` in `tests/state_model.rs`
//! checks these figures.
//!
//! # Allocation
//!
//! `observe` on an existing agent allocates nothing, except bounded,
//! rare events: a counter's cells promoted to `u32`, a distinct window's
//! sketch started, a first-seen set grown (by doubling, up to its
//! capacity), the agent's second block, cooldown list or list of created
//! keys grown (by doubling, up to their bounds). A new agent or key
//! allocates its key and state; an untracked one allocates temporary state;
//! a key that does not exist and is not created (the event counts nothing)
//! allocates nothing.

#![deny(clippy::indexing_slicing)]

mod cell;
mod generation;
mod inputs;
pub(crate) mod owned;
mod persist;

pub use cell::{
    Cell, CellInput, CellKind, CellOut, CellRead, CellSpec, Stored, MAX_SEQUENCE_STEPS,
    MAX_STORED_BYTES,
};
pub(crate) use generation::Generation;
pub(crate) use generation::MetricKey;
pub use generation::MetricNames;
pub use inputs::Inputs;
pub(crate) use inputs::{layout_of, with_observation};
pub use persist::{AgentRecord, KeyRecord, RecordError};

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use arc_swap::ArcSwap;

use ahash::RandomState;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use thiserror::Error;

pub use crate::run::window::HistoryStats;
use crate::run::window::{
    history_stats, history_sum, CounterPlan, CounterWindow, DistinctWindow, FirstSeenSet, Grid,
    HistoryRead,
};

/// Windows a counter must have seen before its baseline exists (absent
/// while `m - f < 10`).
pub const WARMUP_WINDOWS: u64 = 10;
/// Windows `baseline(M)` reads when no period is given (`P = 60 W`).
pub const DEFAULT_BASELINE_WINDOWS: u32 = crate::compile::program::DEFAULT_HISTORY_WINDOWS;
/// Most window totals a counter keeps.
pub use crate::compile::program::MAX_HISTORY_WINDOWS;
/// Default `first_seen` retention: 30 days.
pub const DEFAULT_FIRST_SEEN_RETENTION_MS: u64 = 30 * 86_400_000;
/// Default forward-skew limit: 5 minutes.
pub const DEFAULT_MAX_FORWARD_SKEW_MS: u64 = 5 * 60_000;
/// Default number of values a first-seen set keeps per agent.
pub const DEFAULT_FIRST_SEEN_CAPACITY: u16 = crate::compile::program::DEFAULT_FIRST_SEEN_CAPACITY;
/// Largest first-seen capacity a layout may ask for.
pub const MAX_FIRST_SEEN_CAPACITY: u16 = 4096;

/// Bytes of one agent's map entry: the table's pointer and metadata byte,
/// and the entry block it points to (key box, locked state, retired flag).
pub const AGENT_ENTRY_BYTES: usize =
    std::mem::size_of::<(Box<str>, Mutex<Slot<AgentState>>)>() + TABLE_SLOT_BYTES;
/// Bytes of one key of a keyed counter in its map (as [`AGENT_ENTRY_BYTES`];
/// a key is kept as a 64-bit hash of its value, whatever the value's length).
pub const KEY_ENTRY_BYTES: usize =
    std::mem::size_of::<(u64, Mutex<Slot<KeyState>>)>() + TABLE_SLOT_BYTES;
/// Bytes of the block an agent allocates, once, for its distinct and
/// first-seen metrics, cooldowns and the keys it created, when the program
/// has any of them.
pub const AGENT_MORE_BYTES: usize = std::mem::size_of::<AgentMore>();
/// Bytes of one (rule, agent) cooldown entry.
pub const COOLDOWN_ENTRY_BYTES: usize = std::mem::size_of::<CooldownEntry>();
/// Bytes of one entry of an agent's list of the keys it created.
pub const OWNED_KEY_BYTES: usize = std::mem::size_of::<OwnedKey>();
/// Default [`StoreConfig::max_keys_per_agent`].
pub const DEFAULT_MAX_KEYS_PER_AGENT: usize = 10_000;
/// Default [`StoreConfig::max_state_bytes`]: 1 GiB.
pub const DEFAULT_MAX_STATE_BYTES: usize = 1 << 30;
/// Bytes of the hash suffix that stands for the end of an over-long agent
/// id (`#` and 16 hex digits).
const ID_HASH_BYTES: usize = 17;
/// A hash table slot: an entry pointer and a metadata byte.
const TABLE_SLOT_BYTES: usize = std::mem::size_of::<usize>() + 1;

/// An invalid [`Layout`].
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StateError {
    /// A cell metric of an impossible shape (a sequence of fewer than 2 or
    /// more than 8 steps, a bad window or capacity, a keyed `tracked_for`).
    #[error("cell metric {index}: invalid shape")]
    Cell {
        /// Index of the cell metric in the layout.
        index: usize,
    },
    /// A counter's width is not a positive multiple of 60 ms.
    #[error("counter {index}: width of {width_ms} ms is not a positive multiple of 60 ms")]
    CounterWidth {
        /// Index of the counter in the layout.
        index: usize,
        /// The width given.
        width_ms: u64,
    },
    /// A counter keeps more history than [`MAX_HISTORY_WINDOWS`].
    #[error("counter {index}: a history of {windows} windows exceeds the maximum of {max}")]
    HistoryTooLong {
        /// Index of the counter in the layout.
        index: usize,
        /// The number of windows asked for.
        windows: u32,
        /// The maximum.
        max: u32,
    },
    /// A distinct window's width is not a positive multiple of 60 ms.
    #[error("distinct {index}: width of {width_ms} ms is not a positive multiple of 60 ms")]
    DistinctWidth {
        /// Index of the distinct metric in the layout.
        index: usize,
        /// The width given.
        width_ms: u64,
    },
    /// A first-seen set's capacity is 0 or above [`MAX_FIRST_SEEN_CAPACITY`].
    #[error("first_seen {index}: capacity {capacity} is not between 1 and {max}")]
    FirstSeenCapacity {
        /// Index of the first-seen metric in the layout.
        index: usize,
        /// The capacity given.
        capacity: u16,
        /// The maximum.
        max: u16,
    },
}

/// The metrics a program needs, by index: the engine refers to them by
/// these indices in [`Observation`] and [`Metrics`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// `requests_per_minute` and `count(..) over W [by F]` metrics.
    pub counters: Vec<CounterSpec>,
    /// `distinct(F) over W` metrics.
    pub distincts: Vec<DistinctSpec>,
    /// `first_seen(F[, retention])` metrics.
    pub first_seens: Vec<FirstSeenSpec>,
    /// Metrics that remember earlier events (`since`, `first`, `previous`,
    /// `sequence`, `tracked_for`, keyed `distinct` and `first_seen`).
    #[serde(default)]
    pub cells: Vec<CellSpec>,
    /// Cooldowns, by slot: the duration `D` in ms. An alert of slot `i` at
    /// `t` is suppressed iff `t < last + D`, `last` the time of the agent's
    /// last alert of that slot that was not suppressed ([`Cooldowns`]).
    #[serde(default)]
    pub cooldowns_ms: Vec<u64>,
    /// The identity of each metric and cooldown: what a reload or a restore
    /// matches state by (a metric keeps its state across programs exactly
    /// when its name and shape are equal). Empty lists name metrics by
    /// their position.
    #[serde(default)]
    pub names: MetricNames,
}

impl Layout {
    /// The seed rules' layout: `requests_per_minute` with the 60-window
    /// history its `baseline` reads.
    pub fn seed() -> Self {
        Self {
            counters: vec![
                CounterSpec::requests_per_minute().with_history(DEFAULT_BASELINE_WINDOWS)
            ],
            ..Self::default()
        }
    }

    /// Checks widths, history lengths and capacities.
    pub fn validate(&self) -> Result<(), StateError> {
        for (index, c) in self.counters.iter().enumerate() {
            if Grid::new(c.width_ms).is_none() {
                return Err(StateError::CounterWidth {
                    index,
                    width_ms: c.width_ms,
                });
            }
            if c.history_windows > MAX_HISTORY_WINDOWS {
                return Err(StateError::HistoryTooLong {
                    index,
                    windows: c.history_windows,
                    max: MAX_HISTORY_WINDOWS,
                });
            }
        }
        for (index, d) in self.distincts.iter().enumerate() {
            if Grid::new(d.width_ms).is_none() {
                return Err(StateError::DistinctWidth {
                    index,
                    width_ms: d.width_ms,
                });
            }
            if d.history_windows > MAX_HISTORY_WINDOWS {
                return Err(StateError::HistoryTooLong {
                    index,
                    windows: d.history_windows,
                    max: MAX_HISTORY_WINDOWS,
                });
            }
        }
        for (index, f) in self.first_seens.iter().enumerate() {
            if f.capacity == 0 || f.capacity > MAX_FIRST_SEEN_CAPACITY {
                return Err(StateError::FirstSeenCapacity {
                    index,
                    capacity: f.capacity,
                    max: MAX_FIRST_SEEN_CAPACITY,
                });
            }
        }
        for (index, c) in self.cells.iter().enumerate() {
            let ok = match c.kind {
                CellKind::Sequence { steps, .. } => {
                    (2..=MAX_SEQUENCE_STEPS).contains(&usize::from(steps))
                }
                CellKind::Distinct {
                    width_ms,
                    history_windows,
                } => Grid::new(width_ms).is_some() && history_windows <= MAX_HISTORY_WINDOWS,
                CellKind::FirstSeen { capacity, .. } => {
                    capacity > 0 && capacity <= MAX_FIRST_SEEN_CAPACITY
                }
                CellKind::Tracked => !c.keyed,
                _ => true,
            };
            if !ok {
                return Err(StateError::Cell { index });
            }
        }
        Ok(())
    }
}

/// A counter: `count(cond) over W [by F]` (`requests_per_minute` is
/// `count over 1m`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterSpec {
    /// Window width `W` in ms, a multiple of 60 (buckets are `W / 60` ms).
    pub width_ms: u64,
    /// `by F`: state keyed by F's value alone, not by agent.
    pub keyed: bool,
    /// Complete windows kept for baselines (`P / W`), 0 if no baseline reads
    /// this counter, at most [`MAX_HISTORY_WINDOWS`].
    pub history_windows: u32,
}

impl CounterSpec {
    /// A counter over `width_ms`, per agent, without history.
    pub const fn over(width_ms: u64) -> Self {
        Self {
            width_ms,
            keyed: false,
            history_windows: 0,
        }
    }

    /// `requests_per_minute`: a counter over 60 s of every event.
    pub const fn requests_per_minute() -> Self {
        Self::over(60_000)
    }

    /// The same counter, keyed by a field's value (`by F`).
    pub const fn keyed(self) -> Self {
        Self {
            keyed: true,
            ..self
        }
    }

    /// The same counter, keeping `windows` window totals for baselines.
    pub const fn with_history(self, windows: u32) -> Self {
        Self {
            history_windows: windows,
            ..self
        }
    }
}

/// A `distinct(F) over W` metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistinctSpec {
    /// Window width `W` in ms, a multiple of 60.
    pub width_ms: u64,
    /// Complete windows whose totals are kept for `baseline`, `stddev` and
    /// `zscore` (0: none), at most [`MAX_HISTORY_WINDOWS`].
    #[serde(default)]
    pub history_windows: u32,
}

impl DistinctSpec {
    /// Distinct values over `width_ms`.
    pub const fn over(width_ms: u64) -> Self {
        Self {
            width_ms,
            history_windows: 0,
        }
    }

    /// The same metric, keeping the totals of `windows` complete windows.
    pub const fn with_history(self, windows: u32) -> Self {
        Self {
            history_windows: windows,
            ..self
        }
    }
}

/// A `first_seen(F[, retention])` metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstSeenSpec {
    /// How long a value stays known after it was last seen (default 30 d).
    pub retention_ms: u64,
    /// Values kept per agent (default 64); past it the least recently seen
    /// value is forgotten.
    pub capacity: u16,
}

impl Default for FirstSeenSpec {
    fn default() -> Self {
        Self {
            retention_ms: DEFAULT_FIRST_SEEN_RETENTION_MS,
            capacity: DEFAULT_FIRST_SEEN_CAPACITY,
        }
    }
}

impl FirstSeenSpec {
    /// A first-seen set with the given retention and the default capacity.
    pub const fn with_retention(retention_ms: u64) -> Self {
        Self {
            retention_ms,
            capacity: DEFAULT_FIRST_SEEN_CAPACITY,
        }
    }
}

/// Bounds and policies of a [`StateStore`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoreConfig {
    /// Most agents tracked at once (default 1,000,000). A new agent past it
    /// is evaluated on fresh state and tallied as untracked.
    pub max_agents: usize,
    /// Most keys tracked at once over all keyed counters (default
    /// 1,000,000). A new key at the cap first evicts the least recently
    /// seen eighth of the keys.
    pub max_keys: usize,
    /// Most keys one agent's events create and keep (default 10,000): an
    /// agent's new key past it evicts the oldest key that agent created, so
    /// one agent cannot fill the key space. 0: keys are dropped right after
    /// the event that created them.
    pub max_keys_per_agent: usize,
    /// Budget of state bytes (default 1 GiB), as [`StateStore::bytes`]
    /// counts them (requested sizes: the allocator and the hash tables'
    /// spare room add 10–20 %). An event that leaves the store above it
    /// evicts the least recently seen agents and keys, an eighth of the
    /// budget at a time.
    pub max_state_bytes: usize,
    /// Agents and keys idle longer than this (event time) may be evicted;
    /// `None` (default) never evicts.
    pub idle_ttl_ms: Option<u64>,
    /// Events later than the injected clock ([`Observation::now_ms`]) plus
    /// this are evaluated but not counted; default 5 minutes
    /// ([`DEFAULT_MAX_FORWARD_SKEW_MS`]); `None` accepts any time.
    pub max_forward_skew_ms: Option<u64>,
    /// Least event time between two idle sweeps triggered by a new agent at
    /// the cap (default 1 s), so a flood of new agents cannot make every
    /// event scan the map.
    pub cap_sweep_interval_ms: u64,
    /// Longest agent id stored as it is (default 1,024 bytes). A longer id
    /// is stored as its first `max_key_bytes - 17` bytes, `#` and a 64-bit
    /// hash of the whole id (16 hex digits; the hash has a random seed per
    /// store), so no agent's key takes more than `max(max_key_bytes, 17)`
    /// bytes. Keys of keyed counters are always kept as a 64-bit hash.
    pub max_key_bytes: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            max_agents: 1_000_000,
            max_keys: 1_000_000,
            max_keys_per_agent: DEFAULT_MAX_KEYS_PER_AGENT,
            max_state_bytes: DEFAULT_MAX_STATE_BYTES,
            idle_ttl_ms: None,
            max_forward_skew_ms: Some(DEFAULT_MAX_FORWARD_SKEW_MS),
            cap_sweep_interval_ms: 1_000,
            max_key_bytes: 1_024,
        }
    }
}

/// What the engine knows about one event, by metric index. Missing entries
/// (slices shorter than the layout) read as "no hit", "no key", "no value".
#[derive(Clone, Copy, Debug)]
pub struct Observation<'a> {
    /// Event time, ms since the Unix epoch (any `i64`).
    pub time_ms: i64,
    /// The injected clock, for the forward-skew check.
    pub now_ms: i64,
    /// Per counter: did its condition hold (`count over W`: always true).
    pub counter_hits: &'a [bool],
    /// Per counter: the key of a keyed counter (`None`: F absent).
    /// Ignored for counters that are not keyed.
    pub counter_keys: &'a [Option<&'a str>],
    /// Per distinct metric: hashes of the event's value(s) of F (`None` or
    /// empty: F absent, nothing counted).
    pub distinct_values: &'a [Option<&'a [u64]>],
    /// Per first-seen metric: hashes of the event's value(s) of F (`None`:
    /// F absent, UNKNOWN; a list field gives one hash per element).
    pub first_seen_values: &'a [Option<&'a [u64]>],
    /// Per first-seen metric: whether the event may update it (its `where`
    /// scope held); missing entries read `true`.
    pub first_seen_updates: &'a [bool],
    /// Per cell metric: what the event brings to it.
    pub cells: &'a [CellInput<'a>],
}

impl<'a> Observation<'a> {
    /// An event at `time_ms` with the clock at the same time and nothing
    /// else; fill the rest with struct update syntax.
    pub const fn at(time_ms: i64) -> Self {
        Self {
            time_ms,
            now_ms: time_ms,
            counter_hits: &[],
            counter_keys: &[],
            distinct_values: &[],
            first_seen_values: &[],
            first_seen_updates: &[],
            cells: &[],
        }
    }
}

/// A baseline as exact integers: `sum / windows` is the mean window total.
/// Compare `count * windows` with `sum * factor` to stay exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    /// Sum of the totals of the history windows.
    pub sum: u64,
    /// Number of history windows (at least 1).
    pub windows: u64,
}

impl Baseline {
    /// The mean, for display only.
    pub fn mean(&self) -> f64 {
        if self.windows == 0 {
            0.0
        } else {
            self.sum as f64 / self.windows as f64
        }
    }
}

/// The metric values of one event, written by [`StateStore::observe`].
///
/// Caller-owned scratch: make one per thread with [`StateStore::metrics`]
/// and reuse it; `observe` then allocates nothing in it.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    counts: Vec<Option<u64>>,
    /// Per counter: the windows it keeps (`H`).
    kept: Vec<u32>,
    /// Per counter: where its `H + 1` window totals start in `rings`.
    offsets: Vec<usize>,
    /// Per counter: `m - f` and the position of window `m`, if read.
    reads: Vec<Option<HistoryRead>>,
    /// The counters' history rings, copied under the agent's lock; baselines
    /// are summed from them only when asked for. Narrow (`u16`) cells are
    /// copied as they are into `narrow`, wide ones into `rings`; `wide` says
    /// which holds each counter's copy.
    rings: Vec<u32>,
    narrow: Vec<u16>,
    wide: Vec<bool>,
    distinct: Vec<u64>,
    /// Per distinct metric: where its `H + 1` window totals start in
    /// `distinct_rings` and how many, and what the copy read.
    distinct_hist: Vec<(usize, usize, Option<HistoryRead>)>,
    distinct_rings: Vec<u32>,
    first_seen: Vec<Option<bool>>,
    cells: Vec<CellOut>,
}

impl Metrics {
    /// Scratch sized for `layout` (history lengths clamped to the maximum).
    pub fn new(layout: &Layout) -> Self {
        let kept: Vec<u32> = layout
            .counters
            .iter()
            .map(|c| c.history_windows.min(MAX_HISTORY_WINDOWS))
            .collect();
        let mut offsets = Vec::with_capacity(kept.len());
        let mut total = 0usize;
        for &h in &kept {
            offsets.push(total);
            if h > 0 {
                total = total.saturating_add(h as usize + 1);
            }
        }
        // Each distinct metric's `H + 1` window totals (none without a
        // history), one after the other.
        let mut distinct_total = 0usize;
        let distinct_hist = layout
            .distincts
            .iter()
            .map(|d| {
                let h = d.history_windows.min(MAX_HISTORY_WINDOWS) as usize;
                let len = if h == 0 { 0 } else { h + 1 };
                distinct_total += len;
                (distinct_total - len, len, None)
            })
            .collect();
        Self {
            counts: vec![None; layout.counters.len()],
            reads: vec![None; layout.counters.len()],
            kept,
            offsets,
            rings: vec![0; total],
            narrow: vec![0; total],
            wide: vec![false; layout.counters.len()],
            distinct: vec![0; layout.distincts.len()],
            distinct_hist,
            distinct_rings: vec![0; distinct_total],
            first_seen: vec![None; layout.first_seens.len()],
            cells: vec![CellOut::default(); layout.cells.len()],
        }
    }

    fn fits(&self, plan: &Plan) -> bool {
        self.counts.len() == plan.counters.len()
            && self
                .kept
                .iter()
                .copied()
                .eq(plan.counters.iter().map(|c| c.plan.history))
            && self.distinct.len() == plan.distincts.len()
            && self
                .distinct_hist
                .iter()
                .map(|&(_, len, _)| len.saturating_sub(1))
                .eq(plan.distinct_history.iter().map(|&h| h as usize))
            && self.first_seen.len() == plan.first_seens.len()
            && self.cells.len() == plan.cells.len()
    }

    /// Value of counter `counter`; `None` for a keyed counter whose key was
    /// absent (UNKNOWN), or an index out of range.
    pub fn count(&self, counter: usize) -> Option<u64> {
        self.counts.get(counter).copied().flatten()
    }

    /// `m - f` of counter `counter`: complete windows since its first
    /// accepted one (`None` without history).
    pub fn history_age(&self, counter: usize) -> Option<u64> {
        self.reads.get(counter).copied().flatten().map(|r| r.age)
    }

    /// `baseline(M, windows × W)` of counter `counter`: the mean of windows
    /// `max(f, m - windows) ..= m - 1`, as exact integers. `None` (UNKNOWN)
    /// during warm-up (`m - f < 10`), for a key that was absent, and when
    /// `windows` is 0 or more than the counter keeps.
    ///
    /// Sums at most two runs of `windows` values (cheap, and only paid by
    /// the rules that read a baseline).
    pub fn baseline(&self, counter: usize, windows: u32) -> Option<Baseline> {
        let kept = *self.kept.get(counter)?;
        if windows == 0 || windows > kept {
            return None;
        }
        let read = self.reads.get(counter).copied().flatten()?;
        if read.age < WARMUP_WINDOWS {
            return None;
        }
        let start = *self.offsets.get(counter)?;
        let range = start..start.checked_add(kept as usize + 1)?;
        // Windows before f hold 0, so the sum over m - windows ..= m - 1 is
        // the sum over max(f, m - windows) ..= m - 1.
        let sum = if self.wide.get(counter).copied().unwrap_or(false) {
            history_sum(self.rings.get(range)?, read.newest, windows as usize)
        } else {
            history_sum(self.narrow.get(range)?, read.newest, windows as usize)
        };
        Some(Baseline {
            sum,
            windows: read.age.min(u64::from(windows)),
        })
    }

    /// Value of distinct metric `i` (0 when F was never present).
    pub fn distinct(&self, i: usize) -> Option<u64> {
        self.distinct.get(i).copied()
    }

    /// Value of first-seen metric `i`; `None` when F was absent (UNKNOWN).
    pub fn first_seen(&self, i: usize) -> Option<bool> {
        self.first_seen.get(i).copied().flatten()
    }

    /// What cell metric `i` read for this event.
    pub fn cell(&self, i: usize) -> Option<&CellOut> {
        self.cells.get(i)
    }

    /// History statistics of distinct metric `i` over `windows` windows
    /// (as [`history_stats`](Self::history_stats) for a counter).
    pub fn distinct_history_stats(&self, i: usize, windows: u32) -> Option<HistoryStats> {
        let &(at, len, read) = self.distinct_hist.get(i)?;
        let read = read?;
        if windows == 0 || windows as usize >= len {
            return None;
        }
        let ring = self.distinct_rings.get(at..at.checked_add(len)?)?;
        let stats = history_stats(ring, read.newest, windows as usize);
        Some(HistoryStats {
            age: read.age,
            windows: read.age.min(u64::from(windows)),
            ..stats
        })
    }

    /// History statistics of counter `counter` over `windows` windows (see
    /// [`HistoryStats`]); `None` without history or for a key that was
    /// absent.
    pub fn history_stats(&self, counter: usize, windows: u32) -> Option<HistoryStats> {
        let kept = *self.kept.get(counter)?;
        if windows == 0 || windows > kept {
            return None;
        }
        let read = self.reads.get(counter).copied().flatten()?;
        let start = *self.offsets.get(counter)?;
        let range = start..start.checked_add(kept as usize + 1)?;
        let k = windows as usize;
        let stats = if self.wide.get(counter).copied().unwrap_or(false) {
            history_stats(self.rings.get(range)?, read.newest, k)
        } else {
            history_stats(self.narrow.get(range)?, read.newest, k)
        };
        Some(HistoryStats {
            age: read.age,
            windows: read.age.min(u64::from(windows)),
            ..stats
        })
    }

    fn write_counter(&mut self, c: usize, plan: CounterPlan, window: &CounterWindow, newest: i64) {
        if let Some(slot) = self.counts.get_mut(c) {
            *slot = Some(window.count());
        }
        let kept = self.kept.get(c).copied().unwrap_or(0) as usize;
        let read =
            if kept == 0 {
                None
            } else {
                let start = self.offsets.get(c).copied().unwrap_or(0);
                let range = start..start.saturating_add(kept + 1);
                match (
                    self.narrow.get_mut(range.clone()),
                    self.rings.get_mut(range),
                ) {
                    (Some(narrow), Some(wide)) => window
                        .history_into(plan, newest, narrow, wide)
                        .map(|(read, is_wide)| {
                            if let Some(w) = self.wide.get_mut(c) {
                                *w = is_wide;
                            }
                            read
                        }),
                    _ => None,
                }
            };
        if let Some(slot) = self.reads.get_mut(c) {
            *slot = read;
        }
    }

    fn write_unknown_counter(&mut self, c: usize) {
        if let Some(slot) = self.counts.get_mut(c) {
            *slot = None;
        }
        if let Some(slot) = self.reads.get_mut(c) {
            *slot = None;
        }
    }

    /// A keyed counter whose key has no state: 0, and no history yet.
    fn write_zero_counter(&mut self, c: usize) {
        if let Some(slot) = self.counts.get_mut(c) {
            *slot = Some(0);
        }
        if let Some(slot) = self.reads.get_mut(c) {
            *slot = None;
        }
    }
}

/// The metrics of one event read in place, during
/// [`StateStore::observe_then`], from the agent's locked state (its own
/// counters) and from the scratch [`Metrics`] (keyed counters, distinct and
/// first-seen metrics). Same values as [`Metrics`] after
/// [`StateStore::observe`].
pub struct MetricsView<'a> {
    plan: &'a Plan,
    newest_ms: i64,
    counters: &'a [CounterWindow],
    out: &'a Metrics,
    tag: u32,
}

impl MetricsView<'_> {
    /// What the `tag` function of [`StateStore::observe_then`] returned when
    /// this agent was first tracked.
    pub fn tag(&self) -> u32 {
        self.tag
    }

    /// The agent's own counter `counter`, if it is one (not keyed).
    fn own(&self, counter: usize) -> Option<(CounterPlan, &CounterWindow)> {
        match self.plan.counters.get(counter) {
            Some(CounterInfo {
                plan,
                keyed_map: None,
            }) => Some((*plan, self.counters.get(counter)?)),
            _ => None,
        }
    }

    /// As [`Metrics::count`].
    pub fn count(&self, counter: usize) -> Option<u64> {
        match self.own(counter) {
            Some((_, w)) => Some(w.count()),
            None => self.out.count(counter),
        }
    }

    /// As [`Metrics::baseline`].
    pub fn baseline(&self, counter: usize, windows: u32) -> Option<Baseline> {
        let Some((plan, w)) = self.own(counter) else {
            return self.out.baseline(counter, windows);
        };
        if windows == 0 || windows > plan.history.min(MAX_HISTORY_WINDOWS) {
            return None;
        }
        let (age, sum) = w.baseline_in_place(plan, self.newest_ms, windows as usize)?;
        if age < WARMUP_WINDOWS {
            return None;
        }
        Some(Baseline {
            sum,
            windows: age.min(u64::from(windows)),
        })
    }

    /// As [`Metrics::distinct`].
    pub fn distinct(&self, i: usize) -> Option<u64> {
        self.out.distinct(i)
    }

    /// As [`Metrics::first_seen`].
    pub fn first_seen(&self, i: usize) -> Option<bool> {
        self.out.first_seen(i)
    }

    /// As [`Metrics::cell`].
    pub fn cell(&self, i: usize) -> Option<&CellOut> {
        self.out.cell(i)
    }

    /// As [`Metrics::distinct_history_stats`].
    pub fn distinct_history_stats(&self, i: usize, windows: u32) -> Option<HistoryStats> {
        self.out.distinct_history_stats(i, windows)
    }

    /// As [`Metrics::history_stats`].
    pub fn history_stats(&self, counter: usize, windows: u32) -> Option<HistoryStats> {
        let Some((plan, w)) = self.own(counter) else {
            return self.out.history_stats(counter, windows);
        };
        if windows == 0 || windows > plan.history.min(MAX_HISTORY_WINDOWS) {
            return None;
        }
        let (age, stats) = w.stats_in_place(plan, self.newest_ms, windows as usize)?;
        Some(HistoryStats {
            age,
            windows: age.min(u64::from(windows)),
            ..stats
        })
    }
}

/// The cooldowns of the agent of one event, handed by
/// [`StateStore::observe_then`] to its reader next to the metrics, under the
/// agent's lock: they live in the agent's own state, so checking one costs a
/// binary search among the agent's alerted slots, and they are bounded and
/// evicted with the agent.
pub struct Cooldowns<'a> {
    durations: &'a [u64],
    more: &'a mut Option<Box<AgentMore>>,
    time_ms: i64,
    /// `false` for an event past the forward skew: checked, not recorded.
    record: bool,
    /// Heap bytes the agent's state grew by.
    grown: usize,
}

impl Cooldowns<'_> {
    /// An alert of cooldown `slot` ([`Layout::cooldowns_ms`]) at the event's
    /// time `t`: `true` when it is suppressed, i.e. `t < last + D` (exactly,
    /// past `i64::MAX` too) with `last` the time of the last alert of that
    /// slot not suppressed. Otherwise `t` becomes `last`, unless the event
    /// is past the forward skew (a forged far-future time must not silence
    /// the agent's alerts). A slot out of range never suppresses.
    pub fn alert(&mut self, slot: usize) -> bool {
        let (Some(&d), Ok(slot)) = (self.durations.get(slot), u32::try_from(slot)) else {
            return false;
        };
        let t = self.time_ms;
        let at = match self.more.as_deref_mut() {
            Some(more) => match more.cooldowns.binary_search_by_key(&slot, |e| e.slot) {
                Ok(i) => {
                    let Some(e) = more.cooldowns.get_mut(i) else {
                        return false;
                    };
                    if suppresses(t, e.last_ms, d) {
                        return true;
                    }
                    if self.record {
                        e.last_ms = t;
                    }
                    return false;
                }
                Err(i) => i,
            },
            None => 0,
        };
        if self.record {
            let more = more_of(self.more, &mut self.grown);
            let before = more.cooldowns.capacity();
            more.cooldowns
                .insert(at, CooldownEntry { slot, last_ms: t });
            self.grown += (more.cooldowns.capacity() - before) * COOLDOWN_ENTRY_BYTES;
        }
        false
    }
}

/// `t < last + d`, exactly (no saturation at `i64::MAX`).
fn suppresses(t: i64, last: i64, d: u64) -> bool {
    i128::from(t) < i128::from(last) + i128::from(d)
}

/// The agent's [`AgentMore`] block, allocated (and its bytes added to
/// `grown`) if it has none yet.
fn more_of<'m>(more: &'m mut Option<Box<AgentMore>>, grown: &mut usize) -> &'m mut AgentMore {
    more.get_or_insert_with(|| {
        *grown += AGENT_MORE_BYTES;
        Box::default()
    })
}

/// How the store held the agent an event belongs to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tracking {
    /// The agent was already tracked.
    #[default]
    Existing,
    /// The agent was new and is now tracked.
    Inserted,
    /// The agent is not tracked: at the cap (counted in
    /// [`StoreStats::untracked_events`]), or new with a skewed event. Its
    /// metrics come from fresh temporary state.
    Untracked,
}

/// What [`StateStore::observe`] did with an event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObserveOutcome {
    /// How the agent was held.
    pub tracking: Tracking,
    /// Beyond the allowed forward skew: evaluated, not counted.
    pub skewed: bool,
    /// Older than the agent's newest event.
    pub late: bool,
    /// Too old for every window it was offered to (each counter's ring and
    /// history, each distinct window, each key's ring): counted nowhere.
    pub late_dropped: bool,
    /// Too old for some window but counted in another (a five-minute-late
    /// event misses a one-minute ring but enters the minute history).
    pub late_partial: bool,
    /// A keyed counter's key was not tracked (key cap).
    pub untracked_key: bool,
    /// Which windows took the event, for `late_dropped` / `late_partial`.
    #[serde(skip)]
    windows: Offered,
}

impl ObserveOutcome {
    /// Settles the late flags from the windows the event was offered to,
    /// once every window saw it.
    fn settle_late(&mut self) {
        let Offered { missed, entered } = self.windows;
        self.late_dropped = missed && !entered;
        self.late_partial = missed && entered;
    }

    /// An untracked agent's event, as the stores count them (not one past
    /// the forward skew: those are counted as skewed).
    fn untracked_event(&self) -> bool {
        self.tracking == Tracking::Untracked && !self.skewed
    }
}

/// Whether the windows an event was offered to took it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Offered {
    /// At least one window was too short to hold the event.
    missed: bool,
    /// At least one window counted it.
    entered: bool,
}

impl Offered {
    fn offered(&mut self, took: bool) {
        if took {
            self.entered = true;
        } else {
            self.missed = true;
        }
    }
}

/// Counters of what the store did since it was created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreStats {
    /// Agents tracked now.
    pub agents: usize,
    /// Keys of keyed counters tracked now.
    pub keys: usize,
    /// State bytes held now ([`StateStore::bytes`]).
    pub bytes: usize,
    /// Events of agents not tracked because of the cap.
    pub untracked_events: u64,
    /// Keyed-counter updates on keys that could not be kept (at the key cap
    /// while another thread was making room): counted on fresh state.
    pub untracked_key_events: u64,
    /// Events beyond the forward skew (evaluated, not counted).
    pub skewed_events: u64,
    /// Events too old for every window they were offered to (counted in
    /// none).
    pub late_dropped_events: u64,
    /// Events too old for some window but counted in another.
    pub late_partial_events: u64,
    /// Agents removed by idle eviction.
    pub evicted_agents: u64,
    /// Keys removed by idle eviction.
    pub evicted_keys: u64,
    /// Agents removed, least recently seen first, to keep the state within
    /// [`StoreConfig::max_state_bytes`].
    pub budget_evicted_agents: u64,
    /// Keys removed, least recently seen first, to keep the state within
    /// [`StoreConfig::max_state_bytes`].
    pub budget_evicted_keys: u64,
    /// Keys removed, least recently seen first, to make room at
    /// [`StoreConfig::max_keys`].
    pub cap_evicted_keys: u64,
    /// Keys removed because the agent that created them created
    /// [`StoreConfig::max_keys_per_agent`] newer ones.
    pub quota_evicted_keys: u64,
}

/// One counter of the compiled layout.
#[derive(Clone, Copy, Debug)]
struct CounterInfo {
    plan: CounterPlan,
    /// Index of its map among the keyed maps, for a keyed counter.
    keyed_map: Option<usize>,
}

/// First-seen parameters.
#[derive(Clone, Copy, Debug)]
struct FirstSeenInfo {
    retention_ms: u64,
    capacity: usize,
}

/// The validated layout, in the form the hot path uses.
#[derive(Clone, Debug)]
struct Plan {
    counters: Vec<CounterInfo>,
    distincts: Vec<Grid>,
    /// Per distinct metric: the complete windows whose totals it keeps.
    distinct_history: Vec<u32>,
    first_seens: Vec<FirstSeenInfo>,
    cells: Vec<CellInfo>,
    cooldowns_ms: Vec<u64>,
    keyed_maps: usize,
}

/// A cell metric's kind and, for a keyed one, its map; for one per agent,
/// its place among the agent's cells (which hold no keyed one).
#[derive(Clone, Copy, Debug)]
struct CellInfo {
    kind: CellKind,
    keyed_map: Option<usize>,
    agent_slot: Option<usize>,
}

impl Plan {
    /// `true` when an agent's state needs its second block from the start.
    fn agent_more(&self) -> bool {
        !self.distincts.is_empty() || !self.first_seens.is_empty() || self.has_agent_cells()
    }

    /// The counter plan or the cell kind whose keys keyed map `map` holds.
    fn keyed_shape(&self, map: usize) -> (Option<CounterPlan>, Option<CellKind>) {
        let m = Some(map);
        (
            self.counters
                .iter()
                .find(|c| c.keyed_map == m)
                .map(|c| c.plan),
            self.cells.iter().find(|c| c.keyed_map == m).map(|c| c.kind),
        )
    }

    /// `true` when some cell metric is per agent (not keyed).
    fn has_agent_cells(&self) -> bool {
        self.agent_cells_len() > 0
    }

    /// How many cell metrics are per agent.
    fn agent_cells_len(&self) -> usize {
        self.cells.iter().filter(|c| c.agent_slot.is_some()).count()
    }

    /// The agent's own cells, fresh: one per cell metric kept per agent
    /// (a keyed one's state is in its map), in their slot order.
    fn agent_cells(&self, time_ms: i64) -> Box<[Cell]> {
        self.cells
            .iter()
            .filter(|c| c.agent_slot.is_some())
            .map(|c| Cell::new(c.kind, time_ms))
            .collect()
    }

    fn new(layout: &Layout) -> Result<Self, StateError> {
        layout.validate()?;
        let mut keyed_maps = 0;
        let mut counters = Vec::with_capacity(layout.counters.len());
        for (index, c) in layout.counters.iter().enumerate() {
            let grid = Grid::new(c.width_ms).ok_or(StateError::CounterWidth {
                index,
                width_ms: c.width_ms,
            })?;
            let keyed_map = if c.keyed {
                keyed_maps += 1;
                Some(keyed_maps - 1)
            } else {
                None
            };
            counters.push(CounterInfo {
                plan: CounterPlan {
                    grid,
                    history: c.history_windows,
                },
                keyed_map,
            });
        }
        let mut distincts = Vec::with_capacity(layout.distincts.len());
        for (index, d) in layout.distincts.iter().enumerate() {
            distincts.push(Grid::new(d.width_ms).ok_or(StateError::DistinctWidth {
                index,
                width_ms: d.width_ms,
            })?);
        }
        let first_seens = layout
            .first_seens
            .iter()
            .map(|f| FirstSeenInfo {
                retention_ms: f.retention_ms,
                capacity: usize::from(f.capacity),
            })
            .collect();
        let mut agent_slots = 0;
        let cells = layout
            .cells
            .iter()
            .map(|c| CellInfo {
                kind: c.kind,
                keyed_map: c.keyed.then(|| {
                    keyed_maps += 1;
                    keyed_maps - 1
                }),
                agent_slot: (!c.keyed).then(|| {
                    agent_slots += 1;
                    agent_slots - 1
                }),
            })
            .collect();
        Ok(Self {
            counters,
            distincts,
            distinct_history: layout
                .distincts
                .iter()
                .map(|d| d.history_windows.min(MAX_HISTORY_WINDOWS))
                .collect(),
            first_seens,
            cells,
            cooldowns_ms: layout.cooldowns_ms.clone(),
            keyed_maps,
        })
    }
}

/// What the map holds for an agent or a key, as eviction sees it.
trait Held {
    /// Newest counted event time.
    fn newest_ms(&self) -> i64;
    /// Heap bytes owned.
    fn heap_bytes(&self) -> usize;
    /// Brings state of generation `from` up to generation `gen`; the heap
    /// bytes it grew and shrank by.
    fn upgrade(&mut self, _from: u16, _gen: &Generation) -> (usize, usize) {
        (0, 0)
    }
}

/// Everything the store keeps about one agent.
///
/// Serializable so that state can be snapshotted and restored; the
/// layout it was built for is not part of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentState {
    newest_ms: i64,
    counters: Box<[CounterWindow]>,
    /// Allocated with the agent when the layout has distinct or first-seen
    /// metrics, else at its first cooldown or created key; `None` costs an
    /// agent of plain counters (the seed rules) nothing.
    more: Option<Box<AgentMore>>,
}

/// The part of an agent's state that not every program needs, in one block.
#[derive(Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentMore {
    distincts: Box<[DistinctWindow]>,
    first_seens: Box<[FirstSeenSet]>,
    /// The agent's cell metrics kept per agent, in slot order (a keyed
    /// one's state is in its map).
    cells: Box<[Cell]>,
    /// Per cooldown slot that alerted: the last alert not suppressed, sorted
    /// by slot. At most one entry per slot of the layout.
    cooldowns: Vec<CooldownEntry>,
    /// Keys the agent's events created, oldest first, at most
    /// [`StoreConfig::max_keys_per_agent`] (some may have been evicted
    /// since by age or budget; they are skipped when their turn comes).
    keys: VecDeque<OwnedKey>,
}

/// The last alert of one cooldown slot of an agent that was not suppressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CooldownEntry {
    slot: u32,
    last_ms: i64,
}

/// A key an agent's event created: its keyed map, its hash, and the serial
/// number it was created with (a key evicted and created again by another
/// agent has a new one, so the first agent's quota never evicts it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedKey {
    map: u32,
    serial: u32,
    key: u64,
}

impl AgentState {
    fn new(plan: &Plan, time_ms: i64) -> Self {
        let more = plan.agent_more().then(|| {
            Box::new(AgentMore {
                distincts: plan
                    .distinct_history
                    .iter()
                    .map(|&h| DistinctWindow::with_history(h))
                    .collect(),
                first_seens: plan
                    .first_seens
                    .iter()
                    .map(|_| FirstSeenSet::new())
                    .collect(),
                cells: plan.agent_cells(time_ms),
                ..AgentMore::default()
            })
        });
        Self {
            newest_ms: time_ms,
            counters: plan
                .counters
                .iter()
                .map(|c| {
                    if c.keyed_map.is_some() {
                        CounterWindow::placeholder()
                    } else {
                        CounterWindow::new(c.plan)
                    }
                })
                .collect(),
            more,
        }
    }

    /// The agent's newest counted event time.
    pub fn newest_ms(&self) -> i64 {
        self.newest_ms
    }

    /// Heap bytes this state owns (requested sizes, without allocator
    /// headers).
    pub fn heap_bytes(&self) -> usize {
        boxed_bytes(&self.counters, CounterWindow::heap_bytes)
            + self.more.as_deref().map_or(0, AgentMore::bytes)
    }

    /// (slot, time of the last alert not suppressed) of every cooldown slot
    /// that alerted, by slot.
    pub fn cooldowns(&self) -> impl Iterator<Item = (usize, i64)> + '_ {
        self.more
            .iter()
            .flat_map(|m| m.cooldowns.iter())
            .map(|e| (e.slot as usize, e.last_ms))
    }

    /// Number of keys this agent's events created that it still holds in
    /// its quota (some may have been evicted since by age or budget).
    pub fn owned_keys(&self) -> usize {
        self.more.as_ref().map_or(0, |m| m.keys.len())
    }

    /// Counts the event and writes the distinct and first-seen metrics into
    /// `out`, and the counters too unless `in_place` (a [`MetricsView`] then
    /// reads them from this state). Returns the heap bytes the state grew by.
    fn observe(
        &mut self,
        plan: &Plan,
        obs: &Observation<'_>,
        skewed: bool,
        out: &mut Metrics,
        outcome: &mut ObserveOutcome,
        in_place: bool,
    ) -> usize {
        let mut grown = 0;
        let t = obs.time_ms;
        let (distincts, first_seens, cells) = match self.more.as_deref_mut() {
            Some(m) => (
                &mut m.distincts[..],
                &mut m.first_seens[..],
                &mut m.cells[..],
            ),
            None => (&mut [][..], &mut [][..], &mut [][..]),
        };
        if !skewed {
            if t > self.newest_ms {
                let old = self.newest_ms;
                for (w, c) in self.counters.iter_mut().zip(&plan.counters) {
                    w.advance(c.plan, old, t);
                }
                for (d, &g) in distincts.iter_mut().zip(&plan.distincts) {
                    d.advance(g, old, t);
                }
                self.newest_ms = t;
            } else if t < self.newest_ms {
                outcome.late = true;
            }
        }
        let newest = self.newest_ms;
        for (i, (w, c)) in self.counters.iter_mut().zip(&plan.counters).enumerate() {
            if c.keyed_map.is_some() {
                continue;
            }
            if !skewed {
                let hit = obs.counter_hits.get(i).copied().unwrap_or(false);
                let done = w.record(c.plan, newest, t, hit);
                outcome.windows.offered(done.in_ring);
                if c.plan.history > 0 {
                    outcome.windows.offered(done.in_history);
                }
                if done.promoted {
                    // Every cell went from two bytes to four.
                    grown += w.heap_bytes() / 2;
                }
            }
            if !in_place {
                out.write_counter(i, c.plan, w, newest);
            }
        }
        for (i, (d, &g)) in distincts.iter_mut().zip(&plan.distincts).enumerate() {
            if !skewed {
                if let Some(values) = obs.distinct_values.get(i).copied().flatten() {
                    if !values.is_empty() {
                        let before = d.heap_bytes();
                        outcome.windows.offered(d.record(g, newest, t, values));
                        grown += d.heap_bytes().saturating_sub(before);
                    }
                }
            }
            if let Some(slot) = out.distinct.get_mut(i) {
                *slot = d.count(g, newest);
            }
            if let Some(&(at, len, _)) = out.distinct_hist.get(i).filter(|h| h.1 > 0) {
                let read = match out.distinct_rings.get_mut(at..at.saturating_add(len)) {
                    Some(ring) => d.history_into(g, newest, ring),
                    None => None,
                };
                if let Some(h) = out.distinct_hist.get_mut(i) {
                    h.2 = read;
                }
            }
        }
        for (i, (set, f)) in first_seens.iter_mut().zip(&plan.first_seens).enumerate() {
            let value = obs
                .first_seen_values
                .get(i)
                .copied()
                .flatten()
                .map(|values| {
                    let new = values
                        .iter()
                        .any(|&h| !set.knows(h, newest, f.retention_ms));
                    let scoped = obs.first_seen_updates.get(i).copied().unwrap_or(true);
                    if !skewed && scoped {
                        let before = set.heap_bytes();
                        for &h in values {
                            set.remember(h, t, newest, f.retention_ms, f.capacity);
                        }
                        grown += set.heap_bytes().saturating_sub(before);
                    }
                    new
                });
            if let Some(slot) = out.first_seen.get_mut(i) {
                *slot = value;
            }
        }
        for (i, c) in plan.cells.iter().enumerate() {
            let Some(cell) = c.agent_slot.and_then(|s| cells.get_mut(s)) else {
                continue;
            };
            let input = obs.cells.get(i).copied().unwrap_or_default();
            if let Some(o) = out.cells.get_mut(i) {
                grown += cell.observe(c.kind, &input, t, newest, skewed, o);
            }
        }
        grown
    }

    /// Adds `key` (just created by this agent's event) to the agent's keys,
    /// moving the oldest ones past `quota` into `evict`. Returns the heap
    /// bytes the state grew by.
    fn own_key(
        &mut self,
        key: OwnedKey,
        quota: usize,
        evict: &mut SmallVec<[OwnedKey; 4]>,
    ) -> usize {
        if quota == 0 {
            evict.push(key);
            return 0;
        }
        let mut grown = 0;
        let more = more_of(&mut self.more, &mut grown);
        while more.keys.len() >= quota {
            match more.keys.pop_front() {
                Some(old) => evict.push(old),
                None => break,
            }
        }
        let before = more.keys.capacity();
        if more.keys.len() == before {
            // Grow by doubling up to the quota, never past it.
            // (A quota under 4 is the whole allowance: `clamp(4, quota)`
            // would panic.)
            let cap = quota.max(1);
            let want = if cap < 4 {
                cap
            } else {
                before.saturating_mul(2).clamp(4, cap)
            };
            more.keys
                .reserve_exact(want.saturating_sub(more.keys.len()).max(1));
        }
        more.keys.push_back(key);
        grown + more.keys.capacity().saturating_sub(before) * OWNED_KEY_BYTES
    }
}

impl Clone for AgentMore {
    /// A copy with the same room as the original (a copy made for a
    /// partition or a snapshot counts the bytes the original counts).
    fn clone(&self) -> Self {
        let mut cooldowns = Vec::with_capacity(self.cooldowns.capacity());
        cooldowns.extend_from_slice(&self.cooldowns);
        let mut keys = VecDeque::with_capacity(self.keys.capacity());
        keys.extend(self.keys.iter().copied());
        AgentMore {
            distincts: self.distincts.clone(),
            first_seens: self.first_seens.clone(),
            cells: self.cells.clone(),
            cooldowns,
            keys,
        }
    }
}

impl AgentMore {
    /// The block and what it owns.
    fn bytes(&self) -> usize {
        AGENT_MORE_BYTES
            + boxed_bytes(&self.distincts, DistinctWindow::heap_bytes)
            + boxed_bytes(&self.first_seens, FirstSeenSet::heap_bytes)
            + boxed_bytes(&self.cells, Cell::heap_bytes)
            + self.cooldowns.capacity() * COOLDOWN_ENTRY_BYTES
            + self.keys.capacity() * OWNED_KEY_BYTES
    }
}

impl Held for AgentState {
    fn newest_ms(&self) -> i64 {
        self.newest_ms
    }
    fn heap_bytes(&self) -> usize {
        AgentState::heap_bytes(self)
    }
    fn upgrade(&mut self, from: u16, gen: &Generation) -> (usize, usize) {
        let before = AgentState::heap_bytes(self);
        self.migrate(from, gen);
        let after = AgentState::heap_bytes(self);
        (after.saturating_sub(before), before.saturating_sub(after))
    }
}

/// The state of one key of a keyed metric (`count(..) over W by F`,
/// `first(ip) by session`, ...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyState {
    newest_ms: i64,
    /// Set when the key was created (see [`OwnedKey`]).
    serial: u32,
    body: KeyBody,
}

/// What a key keeps: a counter's window or a cell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyBody {
    /// A keyed counter.
    Counter(CounterWindow),
    /// A keyed cell metric.
    Cell(Box<Cell>),
}

impl KeyState {
    fn new(plan: CounterPlan, time_ms: i64, serial: u32) -> Self {
        Self {
            newest_ms: time_ms,
            serial,
            body: KeyBody::Counter(CounterWindow::new(plan)),
        }
    }

    fn new_cell(kind: CellKind, time_ms: i64, serial: u32) -> Self {
        Self {
            newest_ms: time_ms,
            serial,
            body: KeyBody::Cell(Box::new(Cell::new(kind, time_ms))),
        }
    }

    /// The key's newest counted event time.
    pub fn newest_ms(&self) -> i64 {
        self.newest_ms
    }

    /// `true` when this key has the shape of a counter of `plan` (`Some`)
    /// or of a cell of `kind`: for state read from a snapshot.
    fn fits(&mut self, plan: Option<CounterPlan>, kind: Option<CellKind>) -> bool {
        match (&mut self.body, plan, kind) {
            (KeyBody::Counter(w), Some(plan), _) => w.fits(plan, false),
            (KeyBody::Cell(c), None, Some(kind)) => c.fits(kind),
            _ => false,
        }
    }

    /// Counts an event of the key, writes the counter into `out`; returns
    /// the heap bytes the state grew by.
    #[allow(clippy::too_many_arguments)]
    fn observe(
        &mut self,
        plan: CounterPlan,
        counter: usize,
        t: i64,
        hit: bool,
        skewed: bool,
        out: &mut Metrics,
        outcome: &mut ObserveOutcome,
    ) -> usize {
        let KeyBody::Counter(window) = &mut self.body else {
            out.write_unknown_counter(counter);
            return 0;
        };
        let mut grown = 0;
        if !skewed {
            if t > self.newest_ms {
                window.advance(plan, self.newest_ms, t);
                self.newest_ms = t;
            }
            let done = window.record(plan, self.newest_ms, t, hit);
            outcome.windows.offered(done.in_ring);
            if plan.history > 0 {
                outcome.windows.offered(done.in_history);
            }
            if done.promoted {
                grown += window.heap_bytes() / 2;
            }
        }
        out.write_counter(counter, plan, window, self.newest_ms);
        grown
    }

    /// Updates a keyed cell with an event of the key and writes what it
    /// reads into `out`; returns the heap bytes the state grew by.
    fn observe_cell(
        &mut self,
        kind: CellKind,
        input: &CellInput<'_>,
        t: i64,
        skewed: bool,
        out: &mut CellOut,
    ) -> usize {
        let KeyBody::Cell(cell) = &mut self.body else {
            out.read = CellRead::Unknown;
            return 0;
        };
        if !skewed && t > self.newest_ms {
            cell.advance(kind, self.newest_ms, t);
            self.newest_ms = t;
        }
        cell.observe(kind, input, t, self.newest_ms, skewed, out)
    }
}

impl Held for KeyState {
    fn newest_ms(&self) -> i64 {
        self.newest_ms
    }
    fn heap_bytes(&self) -> usize {
        match &self.body {
            KeyBody::Counter(w) => w.heap_bytes(),
            KeyBody::Cell(c) => std::mem::size_of::<Cell>() + c.heap_bytes(),
        }
    }
}

/// Agents (or keys) to their state. A lock-free map (papaya): a lookup
/// writes nothing shared, so threads working on different agents never pass
/// a cache line back and forth (with dashmap every lookup took its shard's
/// read lock, an atomic write to a line all threads touch: two threads on
/// distinct agents ran 1.66x one thread, against 2.0x for private state).
/// Each entry is its own heap block, so neighbouring agents' locks and
/// windows do not share a line either.
type SlotMap<K, S> = papaya::HashMap<K, Mutex<Slot<S>>, RandomState>;

fn slot_map<K, S>() -> SlotMap<K, S> {
    papaya::HashMap::builder()
        .hasher(RandomState::new())
        .build()
}

/// A map key, as the memory figures count it.
trait MapKey: std::hash::Hash + Eq {
    /// Heap bytes the key owns.
    fn heap_bytes(&self) -> usize;
}

impl MapKey for Box<str> {
    fn heap_bytes(&self) -> usize {
        self.len()
    }
}

impl MapKey for u64 {
    fn heap_bytes(&self) -> usize {
        0
    }
}

/// One agent's (or key's) state, and whether eviction has taken it out of
/// the map: a thread that looked the slot up just before its removal finds
/// `retired` under the lock and looks again, so no event is counted in a
/// state that is gone.
#[derive(Debug)]
struct Slot<S> {
    retired: bool,
    /// Inserted but its first event not yet counted (the inserting thread
    /// is about to lock it): eviction leaves it alone.
    fresh: bool,
    /// The generation of the layout the state is in ([`Generation`]);
    /// older state is brought up to date under the slot's lock.
    gen: u16,
    /// The caller's word about this agent, fixed when the slot is created
    /// (the engine keeps the index of the agent's profile here, so that
    /// resolving it costs no second lookup by id). It fits in the padding.
    tag: u32,
    state: S,
}

/// Heap bytes of a boxed slice: its elements, and what each owns.
fn boxed_bytes<T>(items: &[T], owned: impl Fn(&T) -> usize) -> usize {
    std::mem::size_of_val(items) + items.iter().map(owned).sum::<usize>()
}

fn lock<S>(m: &Mutex<S>) -> MutexGuard<'_, S> {
    // Nothing in this module panics while holding the lock; should a caller's
    // panic ever poison it, the state is still whole.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn reserve(counter: &AtomicUsize, cap: usize) -> bool {
    counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < cap).then_some(n + 1)
        })
        .is_ok()
}

fn release(counter: &AtomicUsize, n: usize) {
    let _ = counter.fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
        Some(c.saturating_sub(n))
    });
}

/// Where [`StateStore::with_slot`] found (or put) a state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Found {
    /// In the map.
    Existing,
    /// Inserted for this event.
    Inserted,
    /// Not in the map and not inserted: the event ran on fresh temporary
    /// state.
    Temporary,
    /// Not in the map, not inserted, and nothing ran (the caller asked for
    /// no temporary state).
    Absent,
}

impl Found {
    fn tracking(self) -> Tracking {
        match self {
            Found::Existing => Tracking::Existing,
            Found::Inserted => Tracking::Inserted,
            Found::Temporary | Found::Absent => Tracking::Untracked,
        }
    }
}

/// Which map [`StateStore::with_slot`] works on: its cap and how it makes
/// room at the cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MapKind {
    Agents,
    Keys,
}

/// What one eviction pass removed.
#[derive(Clone, Copy, Debug, Default)]
struct Evicted {
    agents: usize,
    keys: usize,
    bytes: usize,
}

/// The hasher of keys and over-long agent ids, from its seeds.
fn key_hasher(seeds: [u64; 4]) -> RandomState {
    RandomState::with_seeds(seeds[0], seeds[1], seeds[2], seeds[3])
}

/// Entries an eviction round samples from each map to estimate the age
/// below which it evicts.
const EVICTION_SAMPLE: usize = 256;

/// Per-agent (and per-key) window state in concurrent maps. `Send + Sync`:
/// share it by reference or `Arc` and call [`observe`](Self::observe) from
/// any number of threads.
#[derive(Debug)]
pub struct StateStore {
    /// The layout in force, its plan and its keyed maps; swapped by a
    /// reload.
    gen: ArcSwap<Generation>,
    config: StoreConfig,
    agents: SlotMap<Box<str>, AgentState>,
    /// Hashes the keys of keyed counters and over-long agent ids (a random
    /// seed per store, so collisions cannot be prepared offline; a snapshot
    /// carries it, so a restored store finds its keys again).
    key_hasher: RandomState,
    key_seeds: [u64; 4],
    /// Held by a reload, a snapshot or a restore: one at a time.
    maintenance: Mutex<()>,
    reserved_agents: AtomicUsize,
    reserved_keys: AtomicUsize,
    /// State bytes held ([`StateStore::bytes`]).
    bytes: AtomicUsize,
    /// Serial number of the next key created.
    key_serial: AtomicU32,
    /// An eviction by age is running (one at a time; others go on).
    evicting: AtomicBool,
    last_cap_sweep_ms: AtomicI64,
    untracked_events: AtomicU64,
    untracked_key_events: AtomicU64,
    skewed_events: AtomicU64,
    late_dropped_events: AtomicU64,
    late_partial_events: AtomicU64,
    evicted_agents: AtomicU64,
    evicted_keys: AtomicU64,
    budget_evicted_agents: AtomicU64,
    budget_evicted_keys: AtomicU64,
    cap_evicted_keys: AtomicU64,
    quota_evicted_keys: AtomicU64,
}

impl StateStore {
    /// A store for `layout`; fails if the layout is invalid.
    pub fn new(layout: Layout, config: StoreConfig) -> Result<Self, StateError> {
        let gen = Generation::first(layout)?;
        let seeds = RandomState::new();
        let key_seeds = [0u64, 1, 2, 3].map(|i| seeds.hash_one(i));
        Ok(Self {
            gen: ArcSwap::from_pointee(gen),
            config,
            agents: slot_map(),
            key_hasher: key_hasher(key_seeds),
            key_seeds,
            maintenance: Mutex::new(()),
            reserved_agents: AtomicUsize::new(0),
            reserved_keys: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            key_serial: AtomicU32::new(0),
            evicting: AtomicBool::new(false),
            last_cap_sweep_ms: AtomicI64::new(i64::MIN),
            untracked_events: AtomicU64::new(0),
            untracked_key_events: AtomicU64::new(0),
            skewed_events: AtomicU64::new(0),
            late_dropped_events: AtomicU64::new(0),
            late_partial_events: AtomicU64::new(0),
            evicted_agents: AtomicU64::new(0),
            evicted_keys: AtomicU64::new(0),
            budget_evicted_agents: AtomicU64::new(0),
            budget_evicted_keys: AtomicU64::new(0),
            cap_evicted_keys: AtomicU64::new(0),
            quota_evicted_keys: AtomicU64::new(0),
        })
    }

    /// The layout in force (the one the store was built for, or the last
    /// one installed by a reload).
    pub fn layout(&self) -> Layout {
        self.gen.load().layout.clone()
    }

    /// The generation in force.
    pub(crate) fn generation(&self) -> Arc<Generation> {
        self.gen.load_full()
    }

    /// The configuration.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// Scratch [`Metrics`] sized for this store's layout.
    pub fn metrics(&self) -> Metrics {
        Metrics::new(&self.gen.load().layout)
    }

    /// What `observe` and `observe_then` do first: scratch of the right
    /// shape, and whether the event is past the forward-skew limit.
    fn begin(&self, gen: &Generation, obs: &Observation<'_>, out: &mut Metrics) -> ObserveOutcome {
        if !out.fits(&gen.plan) {
            *out = Metrics::new(&gen.layout);
        }
        let skewed = match self.config.max_forward_skew_ms {
            Some(s) => i128::from(obs.time_ms) > i128::from(obs.now_ms) + i128::from(s),
            None => false,
        };
        ObserveOutcome {
            skewed,
            ..ObserveOutcome::default()
        }
    }

    /// The key `agent` is stored under: the id itself, or for an id longer
    /// than [`StoreConfig::max_key_bytes`] its start, `#` and a hash of the
    /// whole id.
    fn agent_key<'a>(&self, agent: &'a str) -> Cow<'a, str> {
        stored_key(&self.config, &self.key_hasher, agent)
    }

    /// Counts the event of `agent` described by `obs`, then writes every
    /// metric of the layout, as it stands after the event, into `out`
    /// (update-then-read, per-agent linearizable; see the module docs).
    ///
    /// `out` should come from [`metrics`](Self::metrics); scratch of another
    /// shape is replaced (one allocation) before use.
    pub fn observe(&self, agent: &str, obs: &Observation<'_>, out: &mut Metrics) -> ObserveOutcome {
        let gen = self.gen.load();
        self.observe_inner(&gen, agent, obs, out, || 0, false, |_, _| {})
    }

    /// [`observe`](Self::observe), except that the agent's own counters are
    /// not copied into `out`: `read` is called with a [`MetricsView`] while
    /// the agent's state is still locked, and computes a counter's value or
    /// baseline from the state in place only when asked for. Keyed counters
    /// are counted first (each under its own lock, as in `observe`), so
    /// `read` sees every metric of the event. `read` also gets the agent's
    /// [`Cooldowns`], to check and start the cooldowns of the alerts it
    /// raises.
    ///
    /// `tag` is called once when the agent is first tracked (and for every
    /// untracked event); what it returns is kept with the agent and handed
    /// to `read` by [`MetricsView::tag`] on each later event, unchanged.
    pub fn observe_then(
        &self,
        agent: &str,
        obs: &Observation<'_>,
        out: &mut Metrics,
        tag: impl Fn() -> u32,
        read: impl FnOnce(&MetricsView<'_>, &mut Cooldowns<'_>),
    ) -> ObserveOutcome {
        let gen = self.gen.load();
        self.observe_inner(&gen, agent, obs, out, tag, true, read)
    }

    /// [`observe_then`](Self::observe_then) in generation `gen` (the one
    /// the caller's program was compiled into).
    pub(crate) fn observe_then_in(
        &self,
        gen: &Generation,
        agent: &str,
        obs: &Observation<'_>,
        out: &mut Metrics,
        tag: impl Fn() -> u32,
        read: impl FnOnce(&MetricsView<'_>, &mut Cooldowns<'_>),
    ) -> ObserveOutcome {
        self.observe_inner(gen, agent, obs, out, tag, true, read)
    }

    /// `observe` and `observe_then`: the event's keys first (no lock held
    /// but each key's), then the agent under its lock (its counters, the
    /// keys it created against its quota, `read`), then, with no lock held,
    /// the budget.
    #[allow(clippy::too_many_arguments)]
    fn observe_inner(
        &self,
        gen: &Generation,
        agent: &str,
        obs: &Observation<'_>,
        out: &mut Metrics,
        tag: impl Fn() -> u32,
        in_place: bool,
        read: impl FnOnce(&MetricsView<'_>, &mut Cooldowns<'_>),
    ) -> ObserveOutcome {
        let mut outcome = self.begin(gen, obs, out);
        let skewed = outcome.skewed;
        let plan = &gen.plan;
        let mut created: SmallVec<[OwnedKey; 4]> = SmallVec::new();
        if !gen.keyed.is_empty() {
            self.observe_keys(gen, obs, skewed, out, &mut outcome, &mut created);
        }
        let key = self.agent_key(agent);
        let quota = self.config.max_keys_per_agent;
        let found = self.with_slot(
            gen,
            &self.agents,
            MapKind::Agents,
            &*key,
            || Box::from(&*key),
            obs.time_ms,
            !skewed,
            true,
            || AgentState::new(plan, obs.time_ms),
            tag,
            |state, tag, tracked| {
                let mut grown = state.observe(plan, obs, skewed, out, &mut outcome, in_place);
                if tracked && !created.is_empty() {
                    let mut evict = SmallVec::new();
                    for &k in &created {
                        grown += state.own_key(k, quota, &mut evict);
                    }
                    // Under the agent's lock: agent, then key, the one order
                    // in which the store nests locks.
                    for k in evict {
                        self.evict_owned(gen, k);
                    }
                }
                grown + read_agent(state, plan, obs, skewed, out, tag, read)
            },
        );
        outcome.tracking = found.tracking();
        self.tally(&mut outcome);
        if self.bytes() > self.config.max_state_bytes {
            self.enforce_budget();
        }
        outcome
    }

    /// Counts the keyed counters of an event, each under its key's lock. A
    /// key gets state only from an event its counter counts (a hit, not
    /// past the forward skew); until then it reads 0. Keys created are
    /// pushed to `created`.
    fn observe_keys(
        &self,
        gen: &Generation,
        obs: &Observation<'_>,
        skewed: bool,
        out: &mut Metrics,
        outcome: &mut ObserveOutcome,
        created: &mut SmallVec<[OwnedKey; 4]>,
    ) {
        for (c, info) in gen.plan.counters.iter().enumerate() {
            let Some((m, map)) = info.keyed_map.and_then(|k| Some((k, &**gen.keyed.get(k)?)))
            else {
                continue;
            };
            let Some(key) = obs.counter_keys.get(c).copied().flatten() else {
                out.write_unknown_counter(c);
                continue;
            };
            let hit = obs.counter_hits.get(c).copied().unwrap_or(false);
            let found = self.observe_key(
                gen,
                m,
                map,
                key,
                hit && !skewed,
                obs.time_ms,
                |serial| KeyState::new(info.plan, obs.time_ms, serial),
                |state| state.observe(info.plan, c, obs.time_ms, hit, skewed, out, outcome),
                created,
            );
            match found {
                Found::Absent => out.write_zero_counter(c),
                Found::Temporary => outcome.untracked_key = true,
                Found::Existing | Found::Inserted => {}
            }
        }
        for (i, info) in gen.plan.cells.iter().enumerate() {
            let Some((m, map)) = info.keyed_map.and_then(|k| Some((k, &**gen.keyed.get(k)?)))
            else {
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
                gen,
                m,
                map,
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

    /// Runs `observe` on the state of `key` in keyed map `m` under its
    /// lock, making the state with `create` (given its serial number) if
    /// `insert` and there is room, or on temporary state if not; a key it
    /// made goes to `created`, an event on temporary state is tallied.
    #[allow(clippy::too_many_arguments)]
    fn observe_key(
        &self,
        gen: &Generation,
        m: usize,
        map: &SlotMap<u64, KeyState>,
        key: &str,
        insert: bool,
        time_ms: i64,
        create: impl Fn(u32) -> KeyState,
        observe: impl FnOnce(&mut KeyState) -> usize,
        created: &mut SmallVec<[OwnedKey; 4]>,
    ) -> Found {
        let hash = self.key_hasher.hash_one(key);
        let mut serial = 0;
        let found = self.with_slot(
            gen,
            map,
            MapKind::Keys,
            &hash,
            || hash,
            time_ms,
            insert,
            insert,
            || create(self.key_serial.fetch_add(1, Ordering::Relaxed)),
            || 0,
            |state, _, _| {
                serial = state.serial;
                observe(state)
            },
        );
        match found {
            Found::Inserted => created.push(OwnedKey {
                map: u32::try_from(m).unwrap_or(u32::MAX),
                serial,
                key: hash,
            }),
            Found::Temporary => {
                self.untracked_key_events.fetch_add(1, Ordering::Relaxed);
            }
            Found::Existing | Found::Absent => {}
        }
        found
    }

    /// The store's tallies of one observed event.
    fn tally(&self, outcome: &mut ObserveOutcome) {
        outcome.settle_late();
        if outcome.untracked_event() {
            self.untracked_events.fetch_add(1, Ordering::Relaxed);
        }
        if outcome.skewed {
            self.skewed_events.fetch_add(1, Ordering::Relaxed);
        }
        if outcome.late_dropped {
            self.late_dropped_events.fetch_add(1, Ordering::Relaxed);
        }
        if outcome.late_partial {
            self.late_partial_events.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Runs `f` on the state of `key` in `map` under its lock: the existing
    /// state, or one inserted if `insert` (and there is room), or else fresh
    /// temporary state if `temporary`. `f` gets the state, the slot's tag
    /// and whether the state is in the map, and returns the heap bytes the
    /// state grew by (counted in [`StateStore::bytes`] for a state in the
    /// map).
    #[allow(clippy::too_many_arguments)]
    fn with_slot<K, Q, S>(
        &self,
        gen: &Generation,
        map: &SlotMap<K, S>,
        kind: MapKind,
        key: &Q,
        new_key: impl Fn() -> K,
        time_ms: i64,
        insert: bool,
        temporary: bool,
        create: impl Fn() -> S,
        tag: impl Fn() -> u32,
        f: impl FnOnce(&mut S, u32, bool) -> usize,
    ) -> Found
    where
        K: std::borrow::Borrow<Q> + std::hash::Hash + Eq + MapKey,
        Q: std::hash::Hash + Eq + ?Sized,
        S: Held,
    {
        let guard = map.guard();
        // A retired slot is being removed by eviction; each round either
        // finds a live slot, inserts one, or takes a retired one out, so two
        // rounds suffice unless eviction and insertion race on this key.
        for _ in 0..4 {
            // Hot path: a lock-free lookup, then the slot's own lock.
            if let Some(slot) = map.get(key, &guard) {
                let mut cell = lock(slot);
                if !cell.retired {
                    if cell.gen != gen.id {
                        let from = cell.gen;
                        let (grown, shrunk) = cell.state.upgrade(from, gen);
                        cell.gen = gen.id;
                        self.grow(grown);
                        self.shrink(shrunk);
                    }
                    let tag = cell.tag;
                    let grown = f(&mut cell.state, tag, true);
                    drop(cell);
                    self.grow(grown);
                    return Found::Existing;
                }
                drop(cell);
                let _ = map.remove_if(key, |_, v| std::ptr::eq(v, slot), &guard);
                continue;
            }
            if !insert || !self.reserve_slot(kind, time_ms) {
                break;
            }
            let k = new_key();
            let state = create();
            let bytes = entry_bytes::<K, S>(&k, &state);
            let fresh = Mutex::new(Slot {
                retired: false,
                fresh: true,
                gen: gen.id,
                tag: tag(),
                state,
            });
            match map.try_insert(k, fresh, &guard) {
                Ok(slot) => {
                    // Eviction does not retire a fresh slot.
                    let mut cell = lock(slot);
                    cell.fresh = false;
                    let tag = cell.tag;
                    let grown = f(&mut cell.state, tag, true);
                    drop(cell);
                    self.grow(bytes + grown);
                    return Found::Inserted;
                }
                // Another thread inserted it meanwhile: use that one.
                Err(_) => self.release_slot(kind),
            }
        }
        if !temporary {
            return Found::Absent;
        }
        let _ = f(&mut create(), tag(), false);
        Found::Temporary
    }

    // The byte figure and the eviction flag are sequentially consistent, so
    // that a thread that finds the flag taken has its growth seen by the
    // evicting thread's next look (see `enforce_budget`).
    fn grow(&self, bytes: usize) {
        if bytes > 0 {
            self.bytes.fetch_add(bytes, Ordering::SeqCst);
        }
    }

    fn shrink(&self, bytes: usize) {
        if bytes > 0 {
            let _ = self
                .bytes
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| {
                    Some(b.saturating_sub(bytes))
                });
        }
    }

    /// Reserves room for one more agent or key: at the agent cap after an
    /// idle sweep, at the key cap after an idle sweep or else an eviction of
    /// the least recently seen keys.
    fn reserve_slot(&self, kind: MapKind, time_ms: i64) -> bool {
        match kind {
            MapKind::Agents => {
                let (reserved, cap) = (&self.reserved_agents, self.config.max_agents);
                reserve(reserved, cap) || (self.cap_sweep(time_ms) && reserve(reserved, cap))
            }
            MapKind::Keys => {
                let (reserved, cap) = (&self.reserved_keys, self.config.max_keys);
                if reserve(reserved, cap) {
                    return true;
                }
                if self.cap_sweep(time_ms) && reserve(reserved, cap) {
                    return true;
                }
                let need = (cap / 8).max(1);
                let Some(done) = self.evict_oldest(false, 0, need) else {
                    return false;
                };
                self.cap_evicted_keys
                    .fetch_add(done.keys as u64, Ordering::Relaxed);
                done.keys > 0 && reserve(reserved, cap)
            }
        }
    }

    fn release_slot(&self, kind: MapKind) {
        match kind {
            MapKind::Agents => release(&self.reserved_agents, 1),
            MapKind::Keys => release(&self.reserved_keys, 1),
        }
    }

    /// Evicts a key an agent's quota pushed out, unless it is gone or was
    /// created anew since (another serial). Called under that agent's lock.
    fn evict_owned(&self, gen: &Generation, k: OwnedKey) {
        let Some(map) = gen.keyed.get(k.map as usize) else {
            return;
        };
        let guard = map.guard();
        let Some(slot) = map.get(&k.key, &guard) else {
            return;
        };
        let mut cell = lock(slot);
        if cell.retired || cell.fresh || cell.state.serial != k.serial {
            return;
        }
        cell.retired = true;
        let bytes = KEY_ENTRY_BYTES + cell.state.heap_bytes();
        drop(cell);
        let _ = map.remove_if(&k.key, |_, v| std::ptr::eq(v, slot), &guard);
        self.shrink(bytes);
        release(&self.reserved_keys, 1);
        self.quota_evicted_keys.fetch_add(1, Ordering::Relaxed);
    }

    /// Brings the state back under the budget: evicts the least recently
    /// seen agents and keys until an eighth of the budget is free. Called
    /// with no lock held; a thread that finds another one evicting goes on.
    fn enforce_budget(&self) {
        let budget = self.config.max_state_bytes;
        let target = budget - budget / 8;
        // Again while over: another thread may have grown the state while
        // this one evicted (and found it busy, so left the work here).
        for _ in 0..4 {
            if self.bytes() <= budget {
                return;
            }
            let need = self.bytes().saturating_sub(target);
            let Some(done) = self.evict_oldest(true, need, 0) else {
                return;
            };
            self.budget_evicted_agents
                .fetch_add(done.agents as u64, Ordering::Relaxed);
            self.budget_evicted_keys
                .fetch_add(done.keys as u64, Ordering::Relaxed);
            if done.bytes == 0 {
                return;
            }
        }
    }

    /// Evicts agents (if `agents`) and keys, least recently seen first,
    /// until `need_bytes` bytes and `need_keys` keys are freed, and returns
    /// what it removed; `None` if another thread is evicting. Amortised O(1) per entry: each round samples a few
    /// hundred entries of each map to estimate the newest time below which
    /// enough would go, then makes one pass over the maps; one round almost
    /// always suffices, and the next call comes only after the freed room
    /// (an eighth of the cap or budget) has filled again.
    fn evict_oldest(&self, agents: bool, need_bytes: usize, need_keys: usize) -> Option<Evicted> {
        let mut done = Evicted::default();
        if self
            .evicting
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return None;
        }
        for round in 0..3 {
            let want_bytes = need_bytes.saturating_sub(done.bytes);
            let want_keys = need_keys.saturating_sub(done.keys);
            if want_bytes == 0 && want_keys == 0 {
                break;
            }
            // Newest times and sizes of a sample, in table (hash) order,
            // which is unrelated to age.
            let mut sample: Vec<(i64, usize)> = Vec::new();
            if agents {
                sample_map(&self.agents, &mut sample);
            }
            let from_keys = sample.len();
            let gen = self.gen.load();
            for map in &gen.keyed {
                sample_map(map, &mut sample);
            }
            if sample.is_empty() {
                break;
            }
            // What share of the population must go, measured in bytes or
            // in keys, and the newest time of the sample at that share.
            let (share, weighed) = if want_bytes > 0 {
                let total = self.bytes().max(1);
                (want_bytes as f64 / total as f64, &sample[..])
            } else {
                let total = self.keys_len().max(1);
                (
                    want_keys as f64 / total as f64,
                    sample.get(from_keys..).unwrap_or(&[]),
                )
            };
            let mut weighed: Vec<(i64, usize)> = weighed.to_vec();
            weighed.sort_unstable();
            let weight = |&(_, b): &(i64, usize)| if want_bytes > 0 { b as f64 } else { 1.0 };
            let total: f64 = weighed.iter().map(weight).sum();
            let mut acc = 0.0;
            let mut threshold = i64::MAX;
            for e in &weighed {
                acc += weight(e);
                if acc >= share * total {
                    threshold = e.0;
                    break;
                }
            }
            // Round 0: strictly older than the threshold; round 1: up to it;
            // round 2: anything, in table order.
            let cut = match round {
                0 => i128::from(threshold),
                1 => i128::from(threshold) + 1,
                _ => i128::MAX,
            };
            let enough = |d: &Evicted| d.bytes >= need_bytes && d.keys >= need_keys;
            if agents && !enough(&done) {
                let base = done;
                let (n, b) = self.retire_older(&self.agents, cut, |_, b| {
                    enough(&Evicted {
                        bytes: base.bytes + b,
                        ..base
                    })
                });
                release(&self.reserved_agents, n);
                done.agents += n;
                done.bytes += b;
            }
            let gen = self.gen.load();
            for map in &gen.keyed {
                if enough(&done) {
                    break;
                }
                let base = done;
                let (n, b) = self.retire_older(map, cut, |n, b| {
                    enough(&Evicted {
                        agents: base.agents,
                        keys: base.keys + n,
                        bytes: base.bytes + b,
                    })
                });
                release(&self.reserved_keys, n);
                done.keys += n;
                done.bytes += b;
            }
        }
        self.evicting.store(false, Ordering::SeqCst);
        Some(done)
    }

    /// Retires and removes the slots of `map` whose newest event time is
    /// before `cut`, until `enough(removed, bytes freed)`; returns how many
    /// it removed and the bytes they held.
    fn retire_older<K: MapKey, S: Held>(
        &self,
        map: &SlotMap<K, S>,
        cut: i128,
        enough: impl Fn(usize, usize) -> bool,
    ) -> (usize, usize) {
        let (mut removed, mut freed) = (0usize, 0usize);
        let guard = map.guard();
        map.retain(
            |key, slot| {
                if enough(removed, freed) {
                    return true;
                }
                let mut cell = lock(slot);
                if cell.retired {
                    // Counted when it was retired (retain may ask twice).
                    return false;
                }
                if cell.fresh || i128::from(cell.state.newest_ms()) >= cut {
                    return true;
                }
                cell.retired = true;
                removed += 1;
                freed += entry_bytes(key, &cell.state);
                false
            },
            &guard,
        );
        self.shrink(freed);
        (removed, freed)
    }

    /// An idle sweep on behalf of a new agent or key at the cap, at most one
    /// per `cap_sweep_interval_ms` of event time. `true` if it freed a slot.
    fn cap_sweep(&self, time_ms: i64) -> bool {
        if self.config.idle_ttl_ms.is_none() {
            return false;
        }
        let last = self.last_cap_sweep_ms.load(Ordering::Acquire);
        let due =
            i128::from(time_ms) >= i128::from(last) + i128::from(self.config.cap_sweep_interval_ms);
        if !due
            || self
                .last_cap_sweep_ms
                .compare_exchange(last, time_ms, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            return false;
        }
        let agents = self.agents.len();
        let keys = self.keys_len();
        self.evict_idle(time_ms);
        self.agents.len() < agents || self.keys_len() < keys
    }

    /// Removes the agents and keys whose newest event time is older than
    /// `watermark_ms - idle_ttl_ms` (event time); returns the number of
    /// agents removed (keys are tallied in [`StoreStats::evicted_keys`]).
    /// Does nothing without an idle TTL.
    pub fn evict_idle(&self, watermark_ms: i64) -> usize {
        let Some(ttl) = self.config.idle_ttl_ms else {
            return 0;
        };
        let threshold = i128::from(watermark_ms) - i128::from(ttl);
        let (agents, _) = self.retire_older(&self.agents, threshold, |_, _| false);
        release(&self.reserved_agents, agents);
        let keys = self
            .gen
            .load()
            .keyed
            .iter()
            .map(|map| self.retire_older(map, threshold, |_, _| false).0)
            .sum();
        release(&self.reserved_keys, keys);
        self.evicted_agents
            .fetch_add(agents as u64, Ordering::Relaxed);
        self.evicted_keys.fetch_add(keys as u64, Ordering::Relaxed);
        agents
    }

    /// Agents tracked now.
    pub fn len(&self) -> usize {
        self.agents.len()
    }

    /// `true` when no agent is tracked.
    pub fn is_empty(&self) -> bool {
        self.agents.is_empty()
    }

    /// Keys of keyed counters tracked now.
    pub fn keys_len(&self) -> usize {
        self.gen.load().keyed.iter().map(|m| m.len()).sum()
    }

    /// State bytes held now: for every agent and key, its map entry
    /// ([`AGENT_ENTRY_BYTES`], [`KEY_ENTRY_BYTES`]), the agent's key and the
    /// heap its state owns (requested sizes). What
    /// [`StoreConfig::max_state_bytes`] bounds.
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::SeqCst)
    }

    /// `true` when `agent` is tracked.
    pub fn contains(&self, agent: &str) -> bool {
        let key = self.agent_key(agent);
        let guard = self.agents.guard();
        self.agents
            .get(&*key, &guard)
            .is_some_and(|slot| !lock(slot).retired)
    }

    /// Counters of what the store did, and its current size.
    pub fn stats(&self) -> StoreStats {
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StoreStats {
            agents: self.len(),
            keys: self.keys_len(),
            bytes: self.bytes(),
            untracked_events: n(&self.untracked_events),
            untracked_key_events: n(&self.untracked_key_events),
            skewed_events: n(&self.skewed_events),
            late_dropped_events: n(&self.late_dropped_events),
            late_partial_events: n(&self.late_partial_events),
            evicted_agents: n(&self.evicted_agents),
            evicted_keys: n(&self.evicted_keys),
            budget_evicted_agents: n(&self.budget_evicted_agents),
            budget_evicted_keys: n(&self.budget_evicted_keys),
            cap_evicted_keys: n(&self.cap_evicted_keys),
            quota_evicted_keys: n(&self.quota_evicted_keys),
        }
    }

    /// Bytes `agent` takes now: its map entry inline ([`AGENT_ENTRY_BYTES`]),
    /// its key, and the heap its state owns. `None` if it is not tracked.
    pub fn agent_memory_bytes(&self, agent: &str) -> Option<usize> {
        let key = self.agent_key(agent);
        let guard = self.agents.guard();
        let (key, slot) = self.agents.get_key_value(&*key, &guard)?;
        let cell = lock(slot);
        (!cell.retired).then(|| entry_bytes(key, &cell.state))
    }

    /// Bytes a newly tracked agent with a key of `key_len` bytes takes under
    /// this layout (before any set grows or cells widen).
    pub fn new_agent_memory_bytes(&self, key_len: usize) -> usize {
        AGENT_ENTRY_BYTES + key_len + AgentState::new(&self.gen.load().plan, 0).heap_bytes()
    }

    /// Bytes a newly created key of keyed counter `counter` takes.
    pub fn new_key_memory_bytes(&self, counter: usize) -> Option<usize> {
        let gen = self.gen.load();
        let info = gen.plan.counters.get(counter)?;
        info.keyed_map?;
        Some(KEY_ENTRY_BYTES + KeyState::new(info.plan, 0, 0).heap_bytes())
    }

    /// Bytes a newly created key of keyed cell metric `cell` (`since(..) by
    /// K`, `distinct(..) over W by K`, ...) takes: its map entry
    /// ([`KEY_ENTRY_BYTES`]), the boxed cell and what the cell owns when
    /// new. `None` if the cell is not keyed.
    pub fn new_cell_key_memory_bytes(&self, cell: usize) -> Option<usize> {
        let gen = self.gen.load();
        let info = gen.plan.cells.get(cell)?;
        info.keyed_map?;
        Some(KEY_ENTRY_BYTES + Held::heap_bytes(&KeyState::new_cell(info.kind, 0, 0)))
    }

    /// A copy of `agent`'s state (for snapshots and tests).
    pub fn agent_state(&self, agent: &str) -> Option<AgentState> {
        let key = self.agent_key(agent);
        let guard = self.agents.guard();
        let slot = self.agents.get(&*key, &guard)?;
        let cell = lock(slot);
        (!cell.retired).then(|| cell.state.clone())
    }

    /// A copy of the state of `key` of keyed counter `counter` (for tests):
    /// `None` if the counter is not keyed or the key has no state.
    pub fn key_state(&self, counter: usize, key: &str) -> Option<KeyState> {
        let gen = self.gen.load();
        let map = gen.keyed.get(gen.plan.counters.get(counter)?.keyed_map?)?;
        let hash = self.key_hasher.hash_one(key);
        let guard = map.guard();
        let slot = map.get(&hash, &guard)?;
        let cell = lock(slot);
        (!cell.retired).then(|| cell.state.clone())
    }

    /// The bytes of every agent and key counted afresh, by a scan of the
    /// maps: equal to [`bytes`](Self::bytes) when no event is under way
    /// (for tests).
    pub fn bytes_by_scan(&self) -> usize {
        fn scan<K: MapKey, S: Held>(map: &SlotMap<K, S>) -> usize {
            let guard = map.guard();
            map.iter(&guard)
                .map(|(key, slot)| {
                    let cell = lock(slot);
                    if cell.retired {
                        0
                    } else {
                        entry_bytes(key, &cell.state)
                    }
                })
                .sum()
        }
        scan(&self.agents) + self.gen.load().keyed.iter().map(|m| scan(m)).sum::<usize>()
    }

    /// (rule, agent) cooldown entries held, over all agents (a scan: for
    /// memory figures and tests).
    pub fn cooldown_entries(&self) -> usize {
        let guard = self.agents.guard();
        self.agents
            .iter(&guard)
            .map(|(_, slot)| {
                let cell = lock(slot);
                if cell.retired {
                    0
                } else {
                    cell.state.cooldowns().count()
                }
            })
            .sum()
    }
}

/// Calls `read` with the agent's metrics (after its event) and cooldowns;
/// returns the heap bytes the cooldowns grew by.
fn read_agent(
    state: &mut AgentState,
    plan: &Plan,
    obs: &Observation<'_>,
    skewed: bool,
    out: &Metrics,
    tag: u32,
    read: impl FnOnce(&MetricsView<'_>, &mut Cooldowns<'_>),
) -> usize {
    let AgentState {
        newest_ms,
        counters,
        more,
    } = state;
    let mut cooldowns = Cooldowns {
        durations: &plan.cooldowns_ms,
        more,
        time_ms: obs.time_ms,
        record: !skewed,
        grown: 0,
    };
    read(
        &MetricsView {
            plan,
            newest_ms: *newest_ms,
            counters,
            out,
            tag,
        },
        &mut cooldowns,
    );
    cooldowns.grown
}

/// The key `agent` is stored under: the id itself, or for an id longer than
/// [`StoreConfig::max_key_bytes`] its start, `#` and a hash of the whole id.
fn stored_key<'a>(config: &StoreConfig, hasher: &RandomState, agent: &'a str) -> Cow<'a, str> {
    let max = config.max_key_bytes;
    if agent.len() <= max {
        return Cow::Borrowed(agent);
    }
    let mut keep = max.saturating_sub(ID_HASH_BYTES);
    while !agent.is_char_boundary(keep) {
        keep -= 1;
    }
    let hash = hasher.hash_one(agent);
    Cow::Owned(format!("{}#{hash:016x}", agent.get(..keep).unwrap_or("")))
}

/// Bytes of one map entry: the entry itself, its key's heap and its state's.
fn entry_bytes<K: MapKey, S: Held>(key: &K, state: &S) -> usize {
    std::mem::size_of::<(K, Mutex<Slot<S>>)>()
        + TABLE_SLOT_BYTES
        + key.heap_bytes()
        + state.heap_bytes()
}

/// Appends the (newest time, bytes) of up to [`EVICTION_SAMPLE`] live
/// entries of `map` to `out`.
fn sample_map<K: MapKey, S: Held>(map: &SlotMap<K, S>, out: &mut Vec<(i64, usize)>) {
    let guard = map.guard();
    for (key, slot) in map.iter(&guard).take(EVICTION_SAMPLE) {
        let cell = lock(slot);
        if !cell.retired {
            out.push((cell.state.newest_ms(), entry_bytes(key, &cell.state)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Retires `agent`'s slot without taking it out of the map: the moment
    /// between eviction's mark and its removal, which another thread can
    /// observe.
    fn retire_in_place(store: &StateStore, agent: &str) {
        let guard = store.agents.guard();
        if let Some(slot) = store.agents.get(agent, &guard) {
            lock(slot).retired = true;
        }
    }

    fn observe(store: &StateStore, agent: &str, t: i64) -> (Tracking, Option<u64>) {
        let mut m = store.metrics();
        let obs = Observation {
            counter_hits: &[true],
            ..Observation::at(t)
        };
        let outcome = store.observe(agent, &obs, &mut m);
        (outcome.tracking, m.count(0))
    }

    /// An event that finds its agent's slot retired by eviction (but not yet
    /// removed) is not counted there: the retired slot is taken out and the
    /// event starts a fresh state, the only state the agent has afterwards.
    #[test]
    fn an_event_on_a_retired_slot_goes_to_a_fresh_one() {
        let store = StateStore::new(Layout::seed(), StoreConfig::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(observe(&store, "a", 1_000), (Tracking::Inserted, Some(1)));
        assert_eq!(observe(&store, "a", 1_000), (Tracking::Existing, Some(2)));
        retire_in_place(&store, "a");
        assert!(!store.contains("a"));
        assert_eq!(observe(&store, "a", 1_000), (Tracking::Inserted, Some(1)));
        assert_eq!(observe(&store, "a", 1_000), (Tracking::Existing, Some(2)));
        assert_eq!(store.len(), 1);
        assert!(store.contains("a"));
        assert_eq!(store.agent_state("a").map(|s| s.newest_ms()), Some(1_000));
    }

    /// Eviction never retires a slot whose first event is not counted yet.
    #[test]
    fn eviction_leaves_a_fresh_slot_alone() {
        let store = StateStore::new(
            Layout::seed(),
            StoreConfig {
                idle_ttl_ms: Some(1),
                ..StoreConfig::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(observe(&store, "a", 0).0, Tracking::Inserted);
        let guard = store.agents.guard();
        if let Some(slot) = store.agents.get("a", &guard) {
            lock(slot).fresh = true;
        }
        assert_eq!(store.evict_idle(i64::MAX), 0);
        if let Some(slot) = store.agents.get("a", &guard) {
            lock(slot).fresh = false;
        }
        assert_eq!(store.evict_idle(i64::MAX), 1);
        assert!(store.is_empty());
    }
}
