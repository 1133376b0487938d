//! Sliding-window building blocks on event time: the epoch-aligned bucket
//! ring of a counter with its per-window history (for baselines), the
//! windowed distinct-value set that turns into a sketch past a small bound,
//! and the bounded first-seen set.
//!
//! These types hold no locks and know nothing about agents or rules; the
//! [`state`](crate::run::state) module owns them per agent (or per key) and
//! serialises access. Every method takes the owner's *newest* event time
//! explicitly: a structure never reads a clock.
//!
//! # Time grid
//!
//! A window of width `W` (a positive multiple of 60 ms) is cut into buckets
//! of `W / 60` whole milliseconds aligned on the Unix epoch: the bucket of a
//! time `t` is `floor(t / (W / 60))` (`div_euclid`, so negative times work),
//! and its window is `floor(t / W)`. The window *value* is the sum of the 60
//! buckets ending at the bucket of the newest time, the current one included
//!. All time arithmetic is checked, saturating or done in
//! `i128`: any `i64` timestamp is accepted.
//!
//! # Counter: ring plus history ([`CounterWindow`])
//!
//! One allocation of `60 + (H + 1)` cells: 60 ring buckets, then `H + 1`
//! per-window totals (windows `m - H ..= m`, where `m` is the window of the
//! newest time) when the counter keeps a history of `H` windows for
//! baselines. Cells start as `u16` and the whole block is promoted to `u32`
//! the first time one of them would overflow (one allocation, once); `u32`
//! cells saturate. A late event is counted in the ring if its bucket is still
//! one of the 60, and in the history if its window is still one of the
//! `H + 1`, so a five-minute-late event misses a one-minute ring
//! but enters the minute history. An advance clears at most 60 ring cells and
//! `H + 1` history cells whatever the gap, never a loop over the gap itself.
//!
//! # Distinct values ([`DistinctWindow`])
//!
//! Exact up to [`DISTINCT_EXACT_MAX`] values, then a sketch:
//!
//! * an exact set of up to 16 `(hash, last bucket seen)` pairs. While no value
//!   that is still inside the window has been pushed out of it, the count is
//!   exact: the number of pairs whose last bucket lies in the window.
//! * when a 17th live value arrives, the least recently seen pair is pushed
//!   out and a windowed HyperLogLog is started (and seeded from the set):
//!   64 six-bit-precision registers (one byte each) per sub-window of
//!   10 buckets (`W / 6`), 7 sub-windows kept, 448 bytes. While a pushed-out
//!   value may still be inside the window, the count is the HyperLogLog
//!   estimate of the union of the sub-windows that overlap the window (with
//!   the small-range linear-counting correction, standard error about 13 %),
//!   and never less than the exact count of the pairs still held. The
//!   sketch's window edge is coarser than the exact one: it may include
//!   values last seen up to 9 buckets (15 % of `W`) before the window start.
//! * once every pushed-out value has left the window the count is exact again.
//!
//! Memory: 256 bytes for the set (allocated with the agent), plus 448 bytes
//! for the sketch once a window of the agent has held more than 16 values.
//!
//! # First seen ([`FirstSeenSet`])
//!
//! `(hash, last time seen)` pairs, at most `capacity` of them (default 64,
//! 16 bytes each). A value is *known* when its last time seen is less than the
//! retention before the owner's newest time. At the bound, expired pairs are
//! dropped first, then the least recently seen pair; a value pushed out reads
//! as new again if it comes back (so a flood of values makes rules fire
//! rather than go quiet). The set grows by doubling up to its bound, so it
//! allocates at most `log2(capacity)` times in an agent's life.

#![deny(clippy::indexing_slicing)]

use std::ops::Range;

use serde::{Deserialize, Serialize};

/// Buckets in every ring (a window is the last 60 buckets).
pub const BUCKETS: usize = 60;
const BUCKETS_I64: i64 = 60;

/// Values a [`DistinctWindow`] counts exactly before it starts a sketch.
pub const DISTINCT_EXACT_MAX: usize = 16;

/// HyperLogLog precision of the distinct sketch: `2^6 = 64` registers.
const SKETCH_PRECISION: u32 = 6;
const SKETCH_REGISTERS: usize = 1 << SKETCH_PRECISION;
/// Buckets per sketch sub-window.
const SKETCH_SUB_BUCKETS: i64 = 10;
/// Sub-windows the sketch keeps: enough to cover any 60-bucket window.
const SKETCH_SLOTS: usize = 7;
const SKETCH_SLOTS_I64: i64 = 7;

/// The epoch-aligned time grid of one window width.
///
/// Built only through [`Grid::new`], which guarantees a bucket width of at
/// least one millisecond, so the divisions below cannot fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    bucket_ms: i64,
}

impl Grid {
    /// The grid of a window of `width_ms`; `None` unless `width_ms` is a
    /// positive multiple of 60 whose bucket width fits an `i64`.
    pub fn new(width_ms: u64) -> Option<Self> {
        if width_ms == 0 || !width_ms.is_multiple_of(60) {
            return None;
        }
        let bucket_ms = i64::try_from(width_ms / 60).ok()?;
        Some(Self { bucket_ms })
    }

    /// Width of one bucket, in milliseconds (`W / 60`).
    pub fn bucket_ms(self) -> i64 {
        self.bucket_ms
    }

    /// The bucket holding time `t`: `floor(t / (W / 60))`.
    #[inline]
    pub fn bucket(self, t: i64) -> i64 {
        // The common widths get a division by a constant (a multiplication)
        // instead of a 64-bit `idiv`, which is most of the cost of an event.
        match self.bucket_ms {
            1_000 => t.div_euclid(1_000),
            60_000 => t.div_euclid(60_000),
            d => t.div_euclid(d),
        }
    }

    /// The window holding time `t`: `floor(t / W)`.
    pub fn window(self, t: i64) -> i64 {
        self.bucket(t).div_euclid(BUCKETS_I64)
    }
}

/// `true` when bucket `b` is one of the 60 buckets ending at `newest_bucket`.
fn in_ring(b: i64, newest_bucket: i64) -> bool {
    b <= newest_bucket && i128::from(b) > i128::from(newest_bucket) - i128::from(BUCKETS_I64)
}

/// Steps from `from` to `to`, 0 if `to <= from`, saturating.
fn steps(from: i64, to: i64) -> u64 {
    let d = i128::from(to) - i128::from(from);
    u64::try_from(d.max(0)).unwrap_or(u64::MAX)
}

/// Position of `x` in a ring of `len` slots (`len >= 1`).
#[inline]
fn ring_pos(x: i64, len: usize) -> usize {
    // Rings of 60 buckets and histories of 60 windows (61 slots) are the
    // common lengths: constant divisors, no `idiv`.
    let r = match len {
        60 => x.rem_euclid(60),
        61 => x.rem_euclid(61),
        _ => x.rem_euclid(i64::try_from(len).unwrap_or(i64::MAX).max(1)),
    };
    usize::try_from(r).unwrap_or(0)
}

/// The cells of a counter: `u16` until one would overflow, then `u32`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cells {
    /// Two bytes a cell.
    Narrow(Box<[u16]>),
    /// Four bytes a cell, saturating.
    Wide(Box<[u32]>),
}

impl Cells {
    /// `len` zero cells, narrow. `len == 0` allocates nothing.
    pub fn zeroed(len: usize) -> Self {
        Cells::Narrow(vec![0u16; len].into_boxed_slice())
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        match self {
            Cells::Narrow(c) => c.len(),
            Cells::Wide(c) => c.len(),
        }
    }

    /// `true` when there are no cells.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `true` once promoted to `u32`.
    pub fn is_wide(&self) -> bool {
        matches!(self, Cells::Wide(_))
    }

    /// The value of cell `i` (0 if out of range).
    pub fn get(&self, i: usize) -> u64 {
        match self {
            Cells::Narrow(c) => c.get(i).map_or(0, |&v| u64::from(v)),
            Cells::Wide(c) => c.get(i).map_or(0, |&v| u64::from(v)),
        }
    }

    /// Sets cell `i` to zero (no-op if out of range).
    fn clear(&mut self, i: usize) {
        match self {
            Cells::Narrow(c) => {
                if let Some(v) = c.get_mut(i) {
                    *v = 0;
                }
            }
            Cells::Wide(c) => {
                if let Some(v) = c.get_mut(i) {
                    *v = 0;
                }
            }
        }
    }

    /// Sets the cells of `range` to zero (the part in range).
    fn clear_range(&mut self, range: Range<usize>) {
        let end = range.end.min(self.len());
        let range = range.start.min(end)..end;
        match self {
            Cells::Narrow(c) => {
                if let Some(s) = c.get_mut(range) {
                    s.fill(0);
                }
            }
            Cells::Wide(c) => {
                if let Some(s) = c.get_mut(range) {
                    s.fill(0);
                }
            }
        }
    }

    /// Adds one to cell `i`, promoting every cell to `u32` first if it would
    /// overflow a `u16`. Returns `true` when it promoted.
    fn increment(&mut self, i: usize) -> bool {
        let promote = match self {
            Cells::Narrow(c) => match c.get_mut(i) {
                Some(v) if *v < u16::MAX => {
                    *v += 1;
                    return false;
                }
                Some(_) => true,
                None => return false,
            },
            Cells::Wide(c) => {
                if let Some(v) = c.get_mut(i) {
                    *v = v.saturating_add(1);
                }
                return false;
            }
        };
        if promote {
            if let Cells::Narrow(c) = self {
                let wide: Box<[u32]> = c.iter().map(|&v| u32::from(v)).collect();
                *self = Cells::Wide(wide);
            }
            if let Cells::Wide(c) = self {
                if let Some(v) = c.get_mut(i) {
                    *v = v.saturating_add(1);
                }
            }
        }
        promote
    }

    /// Sum of the cells of `range` (the part in range).
    fn sum(&self, range: Range<usize>) -> u64 {
        match self {
            // Up to 65,537 narrow cells sum without overflowing a `u32`
            // (which vectorises better than widening to `u64`).
            Cells::Narrow(c) => c.get(range).map_or(0, |s| {
                if s.len() <= 65_537 {
                    u64::from(s.iter().map(|&v| u32::from(v)).sum::<u32>())
                } else {
                    s.iter().map(|&v| u64::from(v)).sum()
                }
            }),
            Cells::Wide(c) => c
                .get(range)
                .map_or(0, |s| s.iter().map(|&v| u64::from(v)).sum()),
        }
    }

    /// Heap bytes of the cells.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Cells::Narrow(c) => std::mem::size_of_val::<[u16]>(c),
            Cells::Wide(c) => std::mem::size_of_val::<[u32]>(c),
        }
    }
}

/// Widening copy of a ring of window totals.
fn copy_widened<T: Copy + Into<u32>>(src: &[T], out: &mut [u32]) {
    let n = src.len().min(out.len());
    if let (Some(src), Some(out)) = (src.get(..n), out.get_mut(..n)) {
        for (o, &v) in out.iter_mut().zip(src) {
            *o = v.into();
        }
    }
}

/// Sum of the `k` windows before the newest one in a history ring copied by
/// [`CounterWindow::history`]: `ring` holds the `H + 1` window totals,
/// `newest` the position of window `m`; the result is the total of windows
/// `m - k ..= m - 1` (`k` is clamped to `H`).
pub fn history_sum<T: Copy + Into<u64>>(ring: &[T], newest: usize, k: usize) -> u64 {
    let len = ring.len();
    if len == 0 {
        return 0;
    }
    let newest = newest.min(len - 1);
    let k = k.min(len - 1);
    let sum = |s: &[T]| s.iter().map(|&v| v.into()).sum::<u64>();
    if k <= newest {
        ring.get(newest - k..newest).map_or(0, sum)
    } else {
        ring.get(..newest).map_or(0, sum) + ring.get(len - (k - newest)..).map_or(0, sum)
    }
}

/// Totals of the history windows `m - k ..= m - 1` of a counter, for
/// `baseline`, `stddev` and `zscore`: exact integers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HistoryStats {
    /// `m - f`: complete windows since the first accepted one.
    pub age: u64,
    /// Windows in the history: `min(m - f, k)` (empty windows count).
    pub windows: u64,
    /// Of those, the windows whose total is above 0.
    pub active: u64,
    /// Sum of the totals.
    pub sum: u64,
    /// Sum of the squared totals.
    pub sum_sq: u128,
}

/// [`HistoryStats`] of the `k` windows before the newest one in a history
/// ring (as [`history_sum`]; `age` and `windows` left 0 for the caller).
pub fn history_stats<T: Copy + Into<u64>>(ring: &[T], newest: usize, k: usize) -> HistoryStats {
    let mut out = HistoryStats::default();
    let len = ring.len();
    if len == 0 {
        return out;
    }
    let newest = newest.min(len - 1);
    let k = k.min(len - 1);
    let mut add = |s: &[T]| {
        for &v in s {
            let v: u64 = v.into();
            if v > 0 {
                out.active += 1;
                out.sum += v;
                out.sum_sq += u128::from(v) * u128::from(v);
            }
        }
    };
    if k <= newest {
        if let Some(s) = ring.get(newest - k..newest) {
            add(s);
        }
    } else {
        if let Some(s) = ring.get(..newest) {
            add(s);
        }
        if let Some(s) = ring.get(len - (k - newest)..) {
            add(s);
        }
    }
    out
}

/// What [`CounterWindow::history`] read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryRead {
    /// `m - f`: complete windows since the first accepted one.
    pub age: u64,
    /// Position of the newest window `m` in the copied ring.
    pub newest: usize,
}

/// The shape of one counter: its grid and how many complete windows it keeps
/// for baselines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CounterPlan {
    /// The counter's time grid.
    pub grid: Grid,
    /// Complete windows kept for baselines (`H`), 0 for none.
    pub history: u32,
}

impl CounterPlan {
    fn history_slots(self) -> usize {
        if self.history == 0 {
            0
        } else {
            usize::try_from(self.history)
                .unwrap_or(usize::MAX)
                .saturating_add(1)
        }
    }

    /// Cells a counter of this plan holds: 60 ring buckets plus `H + 1`
    /// window totals when it keeps a history.
    pub fn cells(self) -> usize {
        BUCKETS.saturating_add(self.history_slots())
    }
}

/// What [`CounterWindow::record`] did with an event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recorded {
    /// The event's bucket was in the ring (it counts in the window value).
    pub in_ring: bool,
    /// The event's window was one of the history's `H + 1` (always `false`
    /// without a history).
    pub in_history: bool,
    /// The cells were promoted from `u16` to `u32` (one allocation).
    pub promoted: bool,
}

/// One counter's ring of 60 buckets and its per-window history.
///
/// See the [module docs](self) for the layout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterWindow {
    /// Earliest window (`floor(t / W)`) of an event this counter accepted;
    /// `i64::MAX` before the first.
    first_window: i64,
    cells: Cells,
}

impl CounterWindow {
    /// An empty counter of `plan`'s shape (one allocation).
    pub fn new(plan: CounterPlan) -> Self {
        Self {
            first_window: i64::MAX,
            cells: Cells::zeroed(plan.cells()),
        }
    }

    /// A placeholder that holds nothing and allocates nothing (keyed counters
    /// keep their state outside the agent).
    pub fn placeholder() -> Self {
        Self {
            first_window: i64::MAX,
            cells: Cells::zeroed(0),
        }
    }

    /// `true` when this counter has the shape of `plan` (or is the
    /// placeholder of a keyed counter, when `keyed`): for state read from a
    /// snapshot.
    pub fn fits(&self, plan: CounterPlan, keyed: bool) -> bool {
        if keyed {
            self.cells.is_empty()
        } else {
            self.cells.len() == plan.cells()
        }
    }

    /// Earliest window of an accepted event (`f`), if any.
    pub fn first_window(&self) -> Option<i64> {
        (self.first_window != i64::MAX).then_some(self.first_window)
    }

    /// `true` once the cells were promoted to `u32`.
    pub fn is_wide(&self) -> bool {
        self.cells.is_wide()
    }

    /// Heap bytes of this counter.
    pub fn heap_bytes(&self) -> usize {
        self.cells.heap_bytes()
    }

    /// This counter as a counter of plan `new` (the same grid, another
    /// history length), at the owner's newest time `newest`: what a reload
    /// keeps when a program reads the same counter with other baselines.
    ///
    /// The ring is kept. Of the history, the windows both plans hold are
    /// kept; a longer history does not invent the windows it never held, so
    /// `f` moves up to the oldest window kept (a baseline over at most the
    /// old length reads exactly what it read before). A counter that had no
    /// history gets one holding the current window's total (from the ring)
    /// and `f` at that window: its baselines warm up.
    pub fn reshaped(&self, old: CounterPlan, new: CounterPlan, newest: i64) -> Self {
        if old == new || self.cells.is_empty() {
            return self.clone();
        }
        let mut values = vec![0u64; new.cells()];
        for (i, v) in values.iter_mut().enumerate().take(BUCKETS) {
            *v = self.cells.get(i);
        }
        let (os, ns) = (old.history_slots(), new.history_slots());
        let nm = new.grid.window(newest);
        let mut first = self.first_window;
        if ns > 0 && first != i64::MAX {
            if os > 0 {
                let keep = i64::from(old.history.min(new.history));
                for k in 0..=keep {
                    let w = nm.saturating_sub(k);
                    let v = self.cells.get(BUCKETS.saturating_add(ring_pos(w, os)));
                    if let Some(slot) = values.get_mut(BUCKETS.saturating_add(ring_pos(w, ns))) {
                        *slot = v;
                    }
                }
                if new.history > old.history {
                    first = first.max(nm.saturating_sub(i64::from(old.history)));
                }
            } else {
                let nb = new.grid.bucket(newest);
                let total: u64 = (0..BUCKETS_I64)
                    .map(|k| nb.saturating_sub(k))
                    .filter(|b| b.div_euclid(BUCKETS_I64) == nm)
                    .map(|b| self.cells.get(ring_pos(b, BUCKETS)))
                    .sum();
                if let Some(slot) = values.get_mut(BUCKETS.saturating_add(ring_pos(nm, ns))) {
                    *slot = total;
                }
                first = first.max(nm);
            }
        }
        let narrow = !self.cells.is_wide() && values.iter().all(|&v| v <= u64::from(u16::MAX));
        let cells = if narrow {
            Cells::Narrow(
                values
                    .iter()
                    .map(|&v| u16::try_from(v).unwrap_or(u16::MAX))
                    .collect(),
            )
        } else {
            Cells::Wide(
                values
                    .iter()
                    .map(|&v| u32::try_from(v).unwrap_or(u32::MAX))
                    .collect(),
            )
        };
        Self {
            first_window: first,
            cells,
        }
    }

    /// Moves the ring and the history from newest time `old` to `new`
    /// (clearing the buckets and windows that start), if `new` is later.
    pub fn advance(&mut self, plan: CounterPlan, old: i64, new: i64) {
        if self.cells.is_empty() {
            return;
        }
        let (ob, nb) = (plan.grid.bucket(old), plan.grid.bucket(new));
        if nb <= ob {
            return;
        }
        let gap = steps(ob, nb);
        if gap >= BUCKETS as u64 {
            self.cells.clear_range(0..BUCKETS);
        } else {
            let mut pos = ring_pos(ob, BUCKETS);
            for _ in 0..gap {
                pos = if pos + 1 == BUCKETS { 0 } else { pos + 1 };
                self.cells.clear(pos);
            }
        }
        let slots = plan.history_slots();
        if slots > 0 {
            let (om, nm) = (ob.div_euclid(BUCKETS_I64), nb.div_euclid(BUCKETS_I64));
            let gap = steps(om, nm);
            if gap >= slots as u64 {
                self.cells
                    .clear_range(BUCKETS..BUCKETS.saturating_add(slots));
            } else {
                let mut pos = ring_pos(om, slots);
                for _ in 0..gap {
                    pos = if pos + 1 == slots { 0 } else { pos + 1 };
                    self.cells.clear(BUCKETS.saturating_add(pos));
                }
            }
        }
    }

    /// Records an event at `t` (not after `newest`, the owner's newest time,
    /// to which the counter was advanced). `hit` says whether it counts.
    ///
    /// The event is counted in the ring if its bucket is still held, and in
    /// the history if its window is one of the last `H + 1`; it moves `f`
    /// back when the history (or, without history, the ring) accepted it.
    pub fn record(&mut self, plan: CounterPlan, newest: i64, t: i64, hit: bool) -> Recorded {
        let mut done = Recorded::default();
        if self.cells.is_empty() {
            return done;
        }
        let b = plan.grid.bucket(t);
        let nb = if t == newest {
            b
        } else {
            plan.grid.bucket(newest)
        };
        done.in_ring = in_ring(b, nb);
        let (w, nm) = (b.div_euclid(BUCKETS_I64), nb.div_euclid(BUCKETS_I64));
        let slots = plan.history_slots();
        let in_history =
            slots > 0 && w <= nm && i128::from(w) >= i128::from(nm) - i128::from(plan.history);
        done.in_history = in_history;
        let accepted = if slots > 0 { in_history } else { done.in_ring };
        if accepted && w < self.first_window {
            self.first_window = w;
        }
        if hit {
            if done.in_ring {
                done.promoted |= self.cells.increment(ring_pos(b, BUCKETS));
            }
            if in_history {
                let at = BUCKETS.saturating_add(ring_pos(w, slots));
                done.promoted |= self.cells.increment(at);
            }
        }
        done
    }

    /// The window value: the sum of the 60 buckets.
    pub fn count(&self) -> u64 {
        self.cells.sum(0..BUCKETS)
    }

    /// `(m - f, total of windows m - k ..= m - 1)` read in place, as
    /// [`history`](Self::history) then [`history_sum`] would give them;
    /// `None` without history or before the first accepted event.
    pub fn baseline_in_place(
        &self,
        plan: CounterPlan,
        newest: i64,
        k: usize,
    ) -> Option<(u64, u64)> {
        let (read, range) = self.history_at(plan, newest)?;
        let (age, at) = (read.age, read.newest);
        let sum = match &self.cells {
            Cells::Narrow(c) => history_sum(c.get(range).unwrap_or(&[]), at, k),
            Cells::Wide(c) => history_sum(c.get(range).unwrap_or(&[]), at, k),
        };
        Some((age, sum))
    }

    /// `(m - f, statistics of windows m - k ..= m - 1)` read in place, as
    /// [`history_stats`] of a copied ring would give them; `None` without
    /// history or before the first accepted event.
    pub fn stats_in_place(
        &self,
        plan: CounterPlan,
        newest: i64,
        k: usize,
    ) -> Option<(u64, HistoryStats)> {
        let (read, range) = self.history_at(plan, newest)?;
        let stats = match &self.cells {
            Cells::Narrow(c) => history_stats(c.get(range).unwrap_or(&[]), read.newest, k),
            Cells::Wide(c) => history_stats(c.get(range).unwrap_or(&[]), read.newest, k),
        };
        Some((read.age, stats))
    }

    /// Copies the `H + 1` window totals like [`history`](Self::history),
    /// without widening: narrow cells into `narrow` (a plain copy), wide
    /// ones into `wide`; also says which of the two it wrote (`true`: wide).
    pub fn history_into(
        &self,
        plan: CounterPlan,
        newest: i64,
        narrow: &mut [u16],
        wide: &mut [u32],
    ) -> Option<(HistoryRead, bool)> {
        let (read, range) = self.history_at(plan, newest)?;
        let is_wide = match &self.cells {
            Cells::Narrow(c) => {
                let src = c.get(range).unwrap_or(&[]);
                let n = src.len().min(narrow.len());
                if let (Some(src), Some(dst)) = (src.get(..n), narrow.get_mut(..n)) {
                    dst.copy_from_slice(src);
                }
                false
            }
            Cells::Wide(c) => {
                let src = c.get(range).unwrap_or(&[]);
                let n = src.len().min(wide.len());
                if let (Some(src), Some(dst)) = (src.get(..n), wide.get_mut(..n)) {
                    dst.copy_from_slice(src);
                }
                true
            }
        };
        Some((read, is_wide))
    }

    /// Copies the `H + 1` window totals (windows `m - H ..= m` in ring
    /// order) into `ring` (which should hold `H + 1` values) and says where
    /// window `m` is and how many windows have passed since `f`; `None` when
    /// the counter keeps no history or has accepted no event yet. Sum them
    /// with [`history_sum`].
    pub fn history(&self, plan: CounterPlan, newest: i64, ring: &mut [u32]) -> Option<HistoryRead> {
        let (read, range) = self.history_at(plan, newest)?;
        match &self.cells {
            Cells::Narrow(c) => copy_widened(c.get(range).unwrap_or(&[]), ring),
            Cells::Wide(c) => copy_widened(c.get(range).unwrap_or(&[]), ring),
        }
        Some(read)
    }

    /// Where the history stands at `newest`: windows since `f` and the ring
    /// position of window `m`, and the cells that hold the history; `None`
    /// when the counter keeps no history or has accepted no event yet.
    fn history_at(
        &self,
        plan: CounterPlan,
        newest: i64,
    ) -> Option<(HistoryRead, std::ops::Range<usize>)> {
        let slots = plan.history_slots();
        if slots == 0 || self.first_window == i64::MAX {
            return None;
        }
        let nm = plan.grid.window(newest);
        let age = u64::try_from(i128::from(nm) - i128::from(self.first_window)).ok()?;
        let read = HistoryRead {
            age,
            newest: ring_pos(nm, slots),
        };
        Some((read, BUCKETS..BUCKETS.saturating_add(slots)))
    }
}

/// Mixes a caller's hash so that its bits are uniform (splitmix64 finaliser):
/// the sketch needs that, and callers may pass small integers.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One value of a [`DistinctWindow`]'s exact set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistinctEntry {
    hash: u64,
    last_bucket: i64,
}

/// The windowed HyperLogLog of a [`DistinctWindow`] (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistinctSketch {
    /// Sub-window of the owner's newest bucket.
    newest_sub: i64,
    /// `SKETCH_SLOTS` rows of `SKETCH_REGISTERS` registers.
    registers: Box<[u8]>,
}

impl DistinctSketch {
    fn new(newest_bucket: i64) -> Self {
        Self {
            newest_sub: newest_bucket.div_euclid(SKETCH_SUB_BUCKETS),
            registers: vec![0u8; SKETCH_SLOTS * SKETCH_REGISTERS].into_boxed_slice(),
        }
    }

    fn clear_slot(&mut self, slot: usize) {
        let start = slot.saturating_mul(SKETCH_REGISTERS);
        if let Some(row) = self
            .registers
            .get_mut(start..start.saturating_add(SKETCH_REGISTERS))
        {
            row.fill(0);
        }
    }

    fn reset(&mut self, newest_bucket: i64) {
        self.registers.fill(0);
        self.newest_sub = newest_bucket.div_euclid(SKETCH_SUB_BUCKETS);
    }

    fn advance(&mut self, newest_bucket: i64) {
        let ns = newest_bucket.div_euclid(SKETCH_SUB_BUCKETS);
        let gap = steps(self.newest_sub, ns);
        if gap == 0 {
            return;
        }
        if gap >= SKETCH_SLOTS as u64 {
            self.registers.fill(0);
        } else {
            let mut pos = ring_pos(self.newest_sub, SKETCH_SLOTS);
            for _ in 0..gap {
                pos = if pos + 1 == SKETCH_SLOTS { 0 } else { pos + 1 };
                self.clear_slot(pos);
            }
        }
        self.newest_sub = ns;
    }

    fn insert(&mut self, bucket: i64, hash: u64) {
        let sub = bucket.div_euclid(SKETCH_SUB_BUCKETS);
        if sub > self.newest_sub
            || i128::from(sub) <= i128::from(self.newest_sub) - i128::from(SKETCH_SLOTS_I64)
        {
            return;
        }
        let x = mix(hash);
        let register = usize::try_from(x >> (64 - SKETCH_PRECISION)).unwrap_or(0);
        let rest = x << SKETCH_PRECISION;
        let rho =
            u8::try_from(rest.leading_zeros().min(64 - SKETCH_PRECISION) + 1).unwrap_or(u8::MAX);
        let at = ring_pos(sub, SKETCH_SLOTS)
            .saturating_mul(SKETCH_REGISTERS)
            .saturating_add(register);
        if let Some(r) = self.registers.get_mut(at) {
            *r = (*r).max(rho);
        }
    }

    /// HyperLogLog estimate of the values of the sub-windows that overlap the
    /// 60 buckets ending at `newest_bucket`.
    fn estimate(&self, newest_bucket: i64) -> u64 {
        let ns = newest_bucket.div_euclid(SKETCH_SUB_BUCKETS);
        // The oldest kept sub-window overlaps the window unless the newest
        // bucket is the last of its sub-window.
        let last_of_sub = newest_bucket.rem_euclid(SKETCH_SUB_BUCKETS) == SKETCH_SUB_BUCKETS - 1;
        let subs = if last_of_sub {
            SKETCH_SLOTS - 1
        } else {
            SKETCH_SLOTS
        };
        let mut merged = [0u8; SKETCH_REGISTERS];
        let mut sub = ns;
        for _ in 0..subs {
            let start = ring_pos(sub, SKETCH_SLOTS).saturating_mul(SKETCH_REGISTERS);
            if let Some(row) = self
                .registers
                .get(start..start.saturating_add(SKETCH_REGISTERS))
            {
                for (m, &r) in merged.iter_mut().zip(row) {
                    *m = (*m).max(r);
                }
            }
            sub = sub.saturating_sub(1);
        }
        let m = SKETCH_REGISTERS as f64;
        let mut sum = 0.0f64;
        let mut zeros = 0u32;
        for &r in &merged {
            sum += (-f64::from(r)).exp2();
            if r == 0 {
                zeros += 1;
            }
        }
        // alpha_64 (Flajolet et al.).
        let mut e = 0.709 * m * m / sum;
        if e <= 2.5 * m && zeros > 0 {
            e = m * (m / f64::from(zeros)).ln();
        }
        // `as` saturates and maps NaN to 0.
        e.round() as u64
    }

    fn heap_bytes(&self) -> usize {
        std::mem::size_of_val::<[u8]>(&self.registers)
    }
}

/// A `distinct(F) over W` window: exact up to [`DISTINCT_EXACT_MAX`] values,
/// then a sketch (see the [module docs](self)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistinctWindow {
    exact: Vec<DistinctEntry>,
    /// Latest bucket in which a value pushed out of `exact` was seen;
    /// `i64::MIN` when none was. Exact while this is before the window.
    overflow_until: i64,
    /// The sketch and the history, allocated when first needed.
    extra: Option<Box<DistinctExtra>>,
}

/// What a [`DistinctWindow`] keeps besides its exact set, in one block: the
/// sketch (past [`DISTINCT_EXACT_MAX`] values) and the history of its
/// complete windows' totals (when a statistic reads it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistinctExtra {
    sketch: Option<DistinctSketch>,
    history: Option<DistinctHistory>,
}

/// The distinct totals of a window's complete `W`-aligned windows: `H + 1`
/// slots by window number (the current window's slot is written when it
/// completes), and the first window an event was recorded in (`f`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistinctHistory {
    first_window: i64,
    totals: Box<[u32]>,
}

impl Default for DistinctWindow {
    fn default() -> Self {
        Self::new()
    }
}

impl DistinctWindow {
    /// An empty window; allocates the exact set (256 bytes).
    pub fn new() -> Self {
        Self {
            exact: Vec::with_capacity(DISTINCT_EXACT_MAX),
            overflow_until: i64::MIN,
            extra: None,
        }
    }

    /// An empty window that keeps the totals of `windows` complete windows
    /// for `baseline`, `stddev` and `zscore` (none when 0).
    pub fn with_history(windows: u32) -> Self {
        let mut w = Self::new();
        if windows > 0 {
            w.extra = Some(Box::new(DistinctExtra {
                sketch: None,
                history: Some(DistinctHistory {
                    first_window: i64::MAX,
                    totals: vec![0; windows as usize + 1].into_boxed_slice(),
                }),
            }));
        }
        w
    }

    /// Windows of history kept (0 for none).
    pub fn history_windows(&self) -> usize {
        self.history()
            .map_or(0, |h| h.totals.len().saturating_sub(1))
    }

    fn sketch(&self) -> Option<&DistinctSketch> {
        self.extra.as_ref().and_then(|e| e.sketch.as_ref())
    }

    fn sketch_mut(&mut self) -> Option<&mut DistinctSketch> {
        self.extra.as_mut().and_then(|e| e.sketch.as_mut())
    }

    fn history(&self) -> Option<&DistinctHistory> {
        self.extra.as_ref().and_then(|e| e.history.as_ref())
    }

    /// Copies the history's `H + 1` totals into `out` (which should hold
    /// as many) and says where window `m` (of `newest`) is and how many
    /// windows have passed since `f`; `None` without history or before the
    /// first recorded event. Sum them with [`history_stats`].
    pub fn history_into(&self, grid: Grid, newest: i64, out: &mut [u32]) -> Option<HistoryRead> {
        let h = self.history()?;
        if h.first_window == i64::MAX {
            return None;
        }
        let m = grid.window(newest);
        let age = u64::try_from(i128::from(m) - i128::from(h.first_window)).ok()?;
        let n = h.totals.len().min(out.len());
        if let (Some(src), Some(dst)) = (h.totals.get(..n), out.get_mut(..n)) {
            dst.copy_from_slice(src);
        }
        Some(HistoryRead {
            age,
            newest: ring_pos(m, h.totals.len()),
        })
    }

    /// `(m − f, statistics of the complete windows m − k ..= m − 1)`, `m`
    /// the window of `newest`: each window's total is the distinct count
    /// of its values, taken when it completed. `None` without history or
    /// before the first recorded event.
    pub fn stats(&self, grid: Grid, newest: i64, k: usize) -> Option<(u64, HistoryStats)> {
        let h = self.history()?;
        if h.first_window == i64::MAX {
            return None;
        }
        let m = grid.window(newest);
        let age = u64::try_from(i128::from(m) - i128::from(h.first_window)).ok()?;
        let pos = ring_pos(m, h.totals.len());
        Some((age, history_stats(&h.totals, pos, k)))
    }

    /// `true` when the window could have been built by recording (for
    /// state read from a snapshot) with a history of `history` windows: at
    /// most [`DISTINCT_EXACT_MAX`] exact values, a sketch of the right
    /// size. Gives the exact set the room a fresh window has, so a restored
    /// window allocates as a fresh one does.
    pub fn fits(&mut self, history: u32) -> bool {
        let sketch_ok = self
            .sketch()
            .is_none_or(|s| s.registers.len() == SKETCH_SLOTS * SKETCH_REGISTERS);
        let history_ok = match self.history() {
            Some(h) => h.totals.len() == history as usize + 1,
            None => history == 0,
        };
        if self.exact.len() > DISTINCT_EXACT_MAX || !sketch_ok || !history_ok {
            return false;
        }
        self.exact
            .reserve_exact(DISTINCT_EXACT_MAX.saturating_sub(self.exact.len()));
        true
    }

    /// `true` while a sketch is allocated.
    pub fn has_sketch(&self) -> bool {
        self.sketch().is_some()
    }

    /// Heap bytes of this window.
    pub fn heap_bytes(&self) -> usize {
        self.exact
            .capacity()
            .saturating_mul(std::mem::size_of::<DistinctEntry>())
            + self.extra.as_ref().map_or(0, |e| {
                std::mem::size_of::<DistinctExtra>()
                    + e.sketch.as_ref().map_or(0, DistinctSketch::heap_bytes)
                    + e.history
                        .as_ref()
                        .map_or(0, |h| std::mem::size_of_val::<[u32]>(&h.totals))
            })
    }

    /// Moves the window from newest time `old` to `new`, if later. With a
    /// history, each `W`-aligned window left behind gets its total: the
    /// distinct count of its 60 buckets (windows with no event, 0).
    pub fn advance(&mut self, grid: Grid, old: i64, new: i64) {
        let (ob, nb) = (grid.bucket(old), grid.bucket(new));
        if nb <= ob {
            return;
        }
        let (ow, nw) = (grid.window(old), grid.window(new));
        if nw > ow && self.history().is_some_and(|h| h.first_window != i64::MAX) {
            // The total of window `ow`, read at its last bucket.
            let last = ow
                .saturating_add(1)
                .saturating_mul(BUCKETS_I64)
                .saturating_sub(1);
            if let Some(sk) = self.sketch_mut() {
                sk.advance(last);
            }
            let total = u32::try_from(self.count_at(last)).unwrap_or(u32::MAX);
            if let Some(h) = self.extra.as_mut().and_then(|e| e.history.as_mut()) {
                let len = h.totals.len();
                if let Some(slot) = h.totals.get_mut(ring_pos(ow, len)) {
                    *slot = total;
                }
                // The windows between saw no event.
                let gap = steps(ow, nw).saturating_sub(1).min(len as u64);
                let mut w = ow;
                for _ in 0..gap {
                    w = w.saturating_add(1);
                    if let Some(slot) = h.totals.get_mut(ring_pos(w, len)) {
                        *slot = 0;
                    }
                }
            }
        }
        if steps(ob, nb) >= BUCKETS as u64 {
            self.exact.clear();
            self.overflow_until = i64::MIN;
            if let Some(s) = self.sketch_mut() {
                s.reset(nb);
            }
        } else if let Some(s) = self.sketch_mut() {
            s.advance(nb);
        }
    }

    /// Records the values `hashes` of an event at `t` (not after `newest`).
    /// Returns `false`, recording nothing, when the event's bucket has left
    /// the window. An event of the current `W`-aligned window starts the
    /// history (an earlier one is counted in the window, not in a total
    /// already taken).
    pub fn record(&mut self, grid: Grid, newest: i64, t: i64, hashes: &[u64]) -> bool {
        let (b, nb) = (grid.bucket(t), grid.bucket(newest));
        if !in_ring(b, nb) {
            return false;
        }
        let start = nb.saturating_sub(BUCKETS_I64 - 1);
        for &h in hashes {
            self.record_one(h, b, nb, start);
        }
        let (w, nw) = (grid.window(t), grid.window(newest));
        if w == nw {
            if let Some(h) = self.extra.as_mut().and_then(|e| e.history.as_mut()) {
                h.first_window = h.first_window.min(w);
            }
        }
        true
    }

    fn record_one(&mut self, hash: u64, b: i64, nb: i64, start: i64) {
        if let Some(e) = self.exact.iter_mut().find(|e| e.hash == hash) {
            e.last_bucket = e.last_bucket.max(b);
        } else if self.exact.len() < DISTINCT_EXACT_MAX {
            self.exact.push(DistinctEntry {
                hash,
                last_bucket: b,
            });
        } else {
            self.exact.retain(|e| e.last_bucket >= start);
            if self.exact.len() < DISTINCT_EXACT_MAX {
                self.exact.push(DistinctEntry {
                    hash,
                    last_bucket: b,
                });
            } else {
                // Full of live values: push out the least recently seen one
                // (or the new value itself when it is older than all).
                let pushed = match self.exact.iter_mut().min_by_key(|e| e.last_bucket) {
                    Some(e) if e.last_bucket < b => {
                        let out = *e;
                        *e = DistinctEntry {
                            hash,
                            last_bucket: b,
                        };
                        out
                    }
                    _ => DistinctEntry {
                        hash,
                        last_bucket: b,
                    },
                };
                self.overflow_until = self.overflow_until.max(pushed.last_bucket);
                if self.sketch().is_none() {
                    let mut sketch = DistinctSketch::new(nb);
                    for e in &self.exact {
                        sketch.insert(e.last_bucket, e.hash);
                    }
                    sketch.insert(pushed.last_bucket, pushed.hash);
                    self.extra.get_or_insert_with(Box::default).sketch = Some(sketch);
                }
            }
        }
        if let Some(s) = self.sketch_mut() {
            s.insert(b, hash);
        }
    }

    /// Distinct values in the 60 buckets ending at the bucket of `newest`.
    pub fn count(&self, grid: Grid, newest: i64) -> u64 {
        self.count_at(grid.bucket(newest))
    }

    /// Distinct values in the 60 buckets ending at bucket `nb`.
    fn count_at(&self, nb: i64) -> u64 {
        let start = nb.saturating_sub(BUCKETS_I64 - 1);
        let live = self
            .exact
            .iter()
            .filter(|e| e.last_bucket >= start && e.last_bucket <= nb)
            .count() as u64;
        match self.sketch() {
            Some(s) if self.overflow_until >= start => s.estimate(nb).max(live),
            _ => live,
        }
    }
}

/// One value of a [`FirstSeenSet`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstSeenEntry {
    hash: u64,
    last_ms: i64,
}

/// The values an agent produced within the retention (see the
/// [module docs](self)).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstSeenSet {
    entries: Vec<FirstSeenEntry>,
}

/// `true` when a value last seen at `last` is still retained at `newest`.
fn retained(last: i64, newest: i64, retention_ms: u64) -> bool {
    i128::from(newest) - i128::from(last) < i128::from(retention_ms)
}

impl FirstSeenSet {
    /// An empty set (allocates nothing).
    pub fn new() -> Self {
        Self::default()
    }

    /// Values held (live or expired).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` when no value is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Heap bytes of this set.
    pub fn heap_bytes(&self) -> usize {
        self.entries
            .capacity()
            .saturating_mul(std::mem::size_of::<FirstSeenEntry>())
    }

    /// `true` when the set could have been built with `capacity` (for
    /// state read from a snapshot).
    /// Gives the set the room growing to its size by doubling gives.
    pub fn fits(&mut self, capacity: usize) -> bool {
        let len = self.entries.len();
        if len > capacity {
            return false;
        }
        if len > 0 {
            let room = if capacity < 4 {
                capacity
            } else {
                len.next_power_of_two().clamp(4, capacity)
            };
            self.entries.reserve_exact(room.saturating_sub(len));
        }
        true
    }

    /// `true` when `hash` was seen less than `retention_ms` before `newest`.
    pub fn knows(&self, hash: u64, newest: i64, retention_ms: u64) -> bool {
        self.entries
            .iter()
            .any(|e| e.hash == hash && retained(e.last_ms, newest, retention_ms))
    }

    /// Remembers that `hash` was seen at `t`, keeping at most `capacity`
    /// values (expired ones go first, then the least recently seen).
    pub fn remember(&mut self, hash: u64, t: i64, newest: i64, retention_ms: u64, capacity: usize) {
        if !retained(t, newest, retention_ms) || capacity == 0 {
            return;
        }
        if let Some(e) = self.entries.iter_mut().find(|e| e.hash == hash) {
            e.last_ms = e.last_ms.max(t);
            return;
        }
        if self.entries.len() >= capacity {
            self.entries
                .retain(|e| retained(e.last_ms, newest, retention_ms));
        }
        if self.entries.len() < capacity {
            if self.entries.len() == self.entries.capacity() {
                // Grow by doubling up to the bound, never past it.
                // (`clamp(4, capacity)` would panic for a capacity under 4.)
                let want = if capacity < 4 {
                    capacity
                } else {
                    self.entries.capacity().saturating_mul(2).clamp(4, capacity)
                };
                self.entries
                    .reserve_exact(want.saturating_sub(self.entries.len()));
            }
            self.entries.push(FirstSeenEntry { hash, last_ms: t });
        } else if let Some(e) = self.entries.iter_mut().min_by_key(|e| e.last_ms) {
            if e.last_ms < t {
                *e = FirstSeenEntry { hash, last_ms: t };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(w: u64) -> Grid {
        Grid::new(w).unwrap()
    }

    #[test]
    fn grid_rejects_widths_that_are_not_multiples_of_60() {
        assert!(Grid::new(0).is_none());
        assert!(Grid::new(59).is_none());
        assert!(Grid::new(61).is_none());
        assert_eq!(Grid::new(60_000).map(Grid::bucket_ms), Some(1000));
    }

    #[test]
    fn negative_times_use_floor_buckets() {
        let g = grid(60_000);
        assert_eq!(g.bucket(-1), -1);
        assert_eq!(g.bucket(-1000), -1);
        assert_eq!(g.bucket(-1001), -2);
        assert_eq!(g.window(-1), -1);
        assert_eq!(g.bucket(i64::MIN), i64::MIN.div_euclid(1000));
    }

    #[test]
    fn cells_promote_to_u32_on_overflow() {
        let mut c = Cells::zeroed(3);
        for _ in 0..u16::MAX {
            assert!(!c.increment(1));
        }
        assert!(!c.is_wide());
        assert!(c.increment(1));
        assert!(c.is_wide());
        assert_eq!(c.get(1), u64::from(u16::MAX) + 1);
        assert_eq!(c.sum(0..3), u64::from(u16::MAX) + 1);
    }

    #[test]
    fn sketch_estimates_many_values_within_thirty_percent() {
        let g = grid(60_000);
        let mut d = DistinctWindow::new();
        let t = 1_700_000_000_000;
        for v in 0..2_000u64 {
            d.record(g, t, t, &[v]);
        }
        assert!(d.has_sketch());
        let n = d.count(g, t);
        assert!((1_400..=2_600).contains(&n), "estimate {n}");
    }

    #[test]
    fn distinct_is_exact_again_once_pushed_out_values_leave_the_window() {
        let g = grid(60_000);
        let mut d = DistinctWindow::new();
        let t0 = 0;
        for v in 0..40u64 {
            d.record(g, t0, t0, &[v]);
        }
        let t1 = 70_000;
        d.advance(g, t0, t1);
        d.record(g, t1, t1, &[1, 2, 3]);
        assert_eq!(d.count(g, t1), 3);
    }

    #[test]
    fn first_seen_set_evicts_least_recent_at_capacity() {
        let mut s = FirstSeenSet::new();
        for (i, h) in (0..4u64).enumerate() {
            s.remember(h, i as i64, i as i64, 1_000, 4);
        }
        s.remember(99, 10, 10, 1_000, 4);
        assert_eq!(s.len(), 4);
        assert!(!s.knows(0, 10, 1_000));
        assert!(s.knows(99, 10, 1_000));
        assert!(s.knows(1, 10, 1_000));
    }
}
