//! The state of the metrics that remember earlier events of an agent or a
//! key, one "cell" each: the time of the latest event that met a condition
//! (`since`), a value and when it was recorded (`first`), the value of the
//! previous event (`previous`), the progress of an ordered sequence
//! (`sequence`), the earliest event (`tracked_for`), and, for a metric
//! keyed `by` fields, a `distinct` window or a `first_seen` set of its own.
//!
//! Every cell has a fixed size but for a stored string (at most
//! [`MAX_STORED_BYTES`], its buffer reused), a distinct window (a fixed
//! bound) and a first-seen set (its capacity); see the README's table
//! "State, windows and memory".

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

pub use crate::compile::program::{CellKind, MAX_SEQUENCE_STEPS};
use crate::compile::value::V;
use crate::num::Num;
use crate::run::window::{
    history_stats, DistinctWindow, FirstSeenSet, Grid, HistoryRead, HistoryStats,
};

/// Longest string `first`/`previous` keep as it is. A longer value is kept
/// as its first 200 bytes, `…#` and a 64-bit hash of the whole: it never
/// equals another value, so `ip != first(ip)`-style tests of an over-long
/// value come out TRUE (they fire rather than go silent).
pub const MAX_STORED_BYTES: usize = 256;

/// One cell metric of a layout: what it keeps and whether its state is per
/// key (`by K`) rather than per agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellSpec {
    /// What it keeps.
    pub kind: CellKind,
    /// `by K`: state per value of the key, not per agent.
    pub keyed: bool,
}

/// What one event brings to a cell.
#[derive(Clone, Copy, Debug)]
pub struct CellInput<'a> {
    /// A keyed cell's key (`None`: a component is absent, the metric reads
    /// UNKNOWN and nothing is updated). Ignored for a cell per agent.
    pub key: Option<&'a str>,
    /// The event updates the cell: `since`: its condition held;
    /// `first`/`previous`: the value is present and the `where` scope held;
    /// `distinct`/`first_seen`: the scope held; `sequence`: its first step
    /// held (the only step that may create a key's state).
    pub update: bool,
    /// `first`/`previous`: the event's value.
    pub value: V<'a>,
    /// `distinct`/`first_seen`: the hashed values (`None`: absent).
    pub hashes: Option<&'a [u64]>,
    /// `sequence`: bit `i` set when step `i`'s condition held.
    pub steps: u8,
}

impl Default for CellInput<'_> {
    fn default() -> Self {
        Self {
            key: None,
            update: false,
            value: V::Absent,
            hashes: None,
            steps: 0,
        }
    }
}

/// A value `first`/`previous` keep.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stored {
    /// None kept.
    #[default]
    None,
    /// A string (its buffer reused from value to value).
    Str(String),
    /// An address.
    Ip(IpAddr),
    /// A number, by the bits of its `f64` (event values are JSON numbers).
    Num(u64),
    /// A boolean.
    Bool(bool),
    /// A time of day, minutes.
    Time(u16),
    /// A duration, ms.
    Dur(u64),
}

impl Stored {
    /// Overwrites this value with `v`, reusing a string buffer that is
    /// large enough. Returns the heap bytes it grew by.
    pub fn assign(&mut self, v: &V<'_>) -> usize {
        let before = self.heap_bytes();
        match v {
            V::Str(s) => {
                let long = s.len() > MAX_STORED_BYTES;
                if let Stored::Str(buf) = self {
                    buf.clear();
                } else {
                    *self = Stored::Str(String::new());
                }
                if let Stored::Str(buf) = self {
                    if long {
                        write_long(buf, s);
                    } else {
                        buf.push_str(s);
                    }
                }
            }
            V::Absent => *self = Stored::None,
            V::Ip(ip) => *self = Stored::Ip(*ip),
            V::Num(n) => *self = Stored::Num(n.to_f64().to_bits()),
            V::Bool(b) => *self = Stored::Bool(*b),
            V::Time(t) => *self = Stored::Time(*t),
            V::Dur(d) => *self = Stored::Dur(*d),
        }
        self.heap_bytes().saturating_sub(before)
    }

    /// Copies `other` into this value (a string into this one's buffer).
    pub fn copy_from(&mut self, other: &Stored) {
        match (self as &mut Stored, other) {
            (Stored::Str(buf), Stored::Str(s)) => {
                buf.clear();
                buf.push_str(s);
            }
            (this, other) => *this = other.clone(),
        }
    }

    /// The value, as the evaluator reads values.
    pub fn as_v(&self) -> V<'_> {
        match self {
            Stored::None => V::Absent,
            Stored::Str(s) => V::Str(s),
            Stored::Ip(ip) => V::Ip(*ip),
            Stored::Num(f) => V::Num(Num::from_f64(f64::from_bits(*f))),
            Stored::Bool(b) => V::Bool(*b),
            Stored::Time(t) => V::Time(*t),
            Stored::Dur(d) => V::Dur(*d),
        }
    }

    /// `true` when a value is kept.
    pub fn is_some(&self) -> bool {
        !matches!(self, Stored::None)
    }

    /// Heap bytes owned.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Stored::Str(s) => s.capacity(),
            _ => 0,
        }
    }
}

/// An over-long string: its start (at a character boundary), `…#` and a
/// hash of the whole.
fn write_long(buf: &mut String, s: &str) {
    let mut end = 200.min(s.len());
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    buf.push_str(s.get(..end).unwrap_or(""));
    let h = ahash::RandomState::with_seeds(1, 2, 3, 4).hash_one(s);
    let _ = std::fmt::Write::write_fmt(buf, format_args!("…#{h:016x}"));
}

/// What a cell read for one event (written into the caller's scratch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CellOut {
    /// The value read.
    pub read: CellRead,
    /// `first`/`previous`: the value (when `read` is [`CellRead::Value`]).
    pub value: Stored,
    /// `sequence`: the time of the first step of the instance this event
    /// completed; `first`: when the value was recorded.
    pub at: i64,
    /// `sequence`: the times of the steps of the instance this event
    /// completed, in step order ([`i64::MIN`] past the last).
    pub steps: [i64; MAX_SEQUENCE_STEPS],
    /// A keyed `distinct` a statistic reads: its window totals, copied,
    /// and where they stand (`None`: none yet).
    pub ring: Vec<u32>,
    /// Where `ring` stands.
    pub history: Option<HistoryRead>,
}

impl CellOut {
    /// History statistics of a keyed `distinct` over `windows` windows.
    pub fn history_stats(&self, windows: u32) -> Option<HistoryStats> {
        let read = self.history?;
        if windows == 0 || windows as usize >= self.ring.len() {
            return None;
        }
        let stats = history_stats(&self.ring, read.newest, windows as usize);
        Some(HistoryStats {
            age: read.age,
            windows: read.age.min(u64::from(windows)),
            ..stats
        })
    }
}

impl Default for CellOut {
    fn default() -> Self {
        Self {
            read: CellRead::Unknown,
            value: Stored::None,
            at: NONE,
            steps: [NONE; MAX_SEQUENCE_STEPS],
            ring: Vec::new(),
            history: None,
        }
    }
}

/// The value of a cell metric for one event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CellRead {
    /// UNKNOWN.
    #[default]
    Unknown,
    /// A duration, ms (`since`, `tracked_for`).
    Dur(u64),
    /// A truth value (`sequence`, `first_seen`).
    Bool(bool),
    /// A count (`distinct`).
    Count(u64),
    /// A stored value, in [`CellOut::value`] (`first`, `previous`).
    Value,
}

impl CellOut {
    /// What a key with no state reads: 0 distinct values, a new value
    /// (`first_seen` TRUE), a sequence not completed, UNKNOWN otherwise.
    pub fn fresh(&mut self, kind: CellKind, input: &CellInput<'_>) {
        self.history = None;
        self.read = match kind {
            CellKind::Distinct { .. } => CellRead::Count(0),
            CellKind::FirstSeen { .. } => match input.hashes {
                Some(_) => CellRead::Bool(true),
                None => CellRead::Unknown,
            },
            CellKind::Sequence { .. } => CellRead::Bool(false),
            _ => CellRead::Unknown,
        };
    }
}

/// No time recorded.
const NONE: i64 = i64::MIN;

/// Times a sequence of `steps` steps keeps: `1 + 2 + … + (steps − 1)`.
fn prefix_times(steps: u8) -> usize {
    let n = usize::from(steps.saturating_sub(1));
    n * (n + 1) / 2
}

/// Where prefix `k` (of `k + 1` steps) lies among a sequence's times.
fn prefix_range(k: usize) -> std::ops::Range<usize> {
    let at = k * (k + 1) / 2;
    at..at + k + 1
}

/// The times of prefix `k` (empty if out of range).
fn prefix(times: &[i64], k: usize) -> &[i64] {
    times.get(prefix_range(k)).unwrap_or(&[])
}

fn prefix_mut(times: &mut [i64], k: usize) -> Option<&mut [i64]> {
    times.get_mut(prefix_range(k))
}

/// Prefixes `k − 1` and `k`, the first to read and the second to write
/// (they are adjacent: `k − 1` ends where `k` starts).
fn two_prefixes(times: &mut [i64], k: usize) -> (&[i64], &mut [i64]) {
    let (lo, hi) = (prefix_range(k.saturating_sub(1)), prefix_range(k));
    match times.get_mut(lo.start..hi.end) {
        Some(both) => {
            let (a, b) = both.split_at_mut(hi.start - lo.start);
            (&*a, b)
        }
        None => (&[], &mut []),
    }
}

/// The state of one cell metric, for one agent or key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cell {
    /// `since`: the latest time the condition held ([`i64::MIN`]: never).
    Since(i64),
    /// `first`: when the value was recorded, and the value.
    First(i64, Stored),
    /// `previous`: the latest value.
    Previous(Stored),
    /// `sequence`: per prefix of `k + 1` steps (`k < n - 1`), the times of
    /// the steps of the completed one that started latest ([`i64::MIN`]:
    /// none), prefix `k` at offset `k (k + 1) / 2`.
    Sequence(Box<[i64]>),
    /// `tracked_for`: the earliest counted event.
    Tracked(i64),
    /// A keyed `distinct` window.
    Distinct(DistinctWindow),
    /// A keyed `first_seen` set.
    FirstSeen(FirstSeenSet),
}

/// `true` when `t` lies at most `span` after `start` (and not before it).
fn within(start: i64, t: i64, span: u64) -> bool {
    start != NONE && t >= start && (i128::from(t) - i128::from(start)) <= i128::from(span)
}

impl Cell {
    /// An empty cell of `kind` (allocates only a sequence's prefixes).
    pub fn new(kind: CellKind, time_ms: i64) -> Self {
        match kind {
            CellKind::Since { .. } => Cell::Since(NONE),
            CellKind::First { .. } => Cell::First(NONE, Stored::None),
            CellKind::Previous => Cell::Previous(Stored::None),
            CellKind::Sequence { steps, .. } => {
                Cell::Sequence(vec![NONE; prefix_times(steps)].into_boxed_slice())
            }
            CellKind::Tracked => Cell::Tracked(time_ms),
            CellKind::Distinct {
                history_windows, ..
            } => Cell::Distinct(DistinctWindow::with_history(history_windows)),
            CellKind::FirstSeen { .. } => Cell::FirstSeen(FirstSeenSet::new()),
        }
    }

    /// `true` when this cell is of `kind`'s shape (for state read from a
    /// snapshot).
    pub fn fits(&mut self, kind: CellKind) -> bool {
        match (self, kind) {
            (Cell::Since(_), CellKind::Since { .. })
            | (Cell::First(..), CellKind::First { .. })
            | (Cell::Previous(_), CellKind::Previous)
            | (Cell::Tracked(_), CellKind::Tracked) => true,
            (Cell::Sequence(s), CellKind::Sequence { steps, .. }) => s.len() == prefix_times(steps),
            (
                Cell::Distinct(d),
                CellKind::Distinct {
                    history_windows, ..
                },
            ) => d.fits(history_windows),
            (Cell::FirstSeen(f), CellKind::FirstSeen { capacity, .. }) => {
                f.fits(usize::from(capacity))
            }
            _ => false,
        }
    }

    /// Heap bytes owned.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Cell::First(_, v) | Cell::Previous(v) => v.heap_bytes(),
            Cell::Sequence(s) => std::mem::size_of_val::<[i64]>(s),
            Cell::Distinct(d) => d.heap_bytes(),
            Cell::FirstSeen(f) => f.heap_bytes(),
            Cell::Since(_) | Cell::Tracked(_) => 0,
        }
    }

    /// Moves a keyed window to `newest` (from `old`).
    pub fn advance(&mut self, kind: CellKind, old: i64, newest: i64) {
        let grid = match kind {
            CellKind::Distinct { width_ms, .. } => Grid::new(width_ms),
            _ => None,
        };
        if let (Cell::Distinct(d), Some(g)) = (self, grid) {
            d.advance(g, old, newest);
        }
    }

    /// Updates the cell with an event at `t` (unless `skewed`: past the
    /// forward skew, it is read but changes nothing) and writes what it
    /// reads into `out`. `newest` is the owner's newest time, after the
    /// event. Returns the heap bytes the cell grew by.
    pub fn observe(
        &mut self,
        kind: CellKind,
        input: &CellInput<'_>,
        t: i64,
        newest: i64,
        skewed: bool,
        out: &mut CellOut,
    ) -> usize {
        let update = input.update && !skewed;
        let mut grown = 0;
        out.read = CellRead::Unknown;
        match (self, kind) {
            (Cell::Since(last), CellKind::Since { retention_ms }) => {
                // The latest *earlier* time: read, then record this one.
                if *last != NONE
                    && t >= *last
                    && i128::from(t) - i128::from(*last) < i128::from(retention_ms)
                {
                    out.read = CellRead::Dur(u64::try_from(t - *last).unwrap_or(u64::MAX));
                }
                if update {
                    *last = (*last).max(t);
                }
            }
            (Cell::First(at, value), CellKind::First { retention_ms }) => {
                let expired = |at: i64| {
                    at == NONE || i128::from(t) - i128::from(at) >= i128::from(retention_ms)
                };
                if update && (!value.is_some() || expired(*at)) {
                    grown += value.assign(&input.value);
                    *at = t;
                }
                if value.is_some() && !expired(*at) {
                    out.value.copy_from(value);
                    out.read = CellRead::Value;
                    out.at = *at;
                }
            }
            (Cell::Previous(value), CellKind::Previous) => {
                if value.is_some() {
                    out.value.copy_from(value);
                    out.read = CellRead::Value;
                }
                if update {
                    grown += value.assign(&input.value);
                }
            }
            (Cell::Sequence(prefixes), CellKind::Sequence { steps, within_ms }) => {
                let n = usize::from(steps);
                let mut fired = false;
                for k in (0..n).rev() {
                    if input.steps & (1 << k) == 0 {
                        continue;
                    }
                    if k == 0 {
                        // A newer start replaces the prefix of one step.
                        if !skewed && prefix(prefixes, 0).first().is_none_or(|&s| t >= s) {
                            if let Some(p) = prefix_mut(prefixes, 0) {
                                p.copy_from_slice(&[t]);
                            }
                        }
                        break;
                    }
                    let start = prefix(prefixes, k - 1).first().copied().unwrap_or(NONE);
                    if !within(start, t, within_ms) {
                        continue;
                    }
                    if k == n - 1 {
                        fired = true;
                        out.at = start;
                        out.steps = [NONE; MAX_SEQUENCE_STEPS];
                        for (o, &s) in out.steps.iter_mut().zip(prefix(prefixes, k - 1)) {
                            *o = s;
                        }
                        if let Some(last) = out.steps.get_mut(k) {
                            *last = t;
                        }
                        if !skewed {
                            prefixes.iter_mut().for_each(|s| *s = NONE);
                        }
                    } else if !skewed {
                        // The prefix of k + 1 steps: the one of k steps and
                        // this event, if it starts no earlier than the one
                        // held (the latest start wins).
                        let held = prefix(prefixes, k).first().copied().unwrap_or(NONE);
                        if held == NONE || start >= held {
                            let (shorter, longer) = two_prefixes(prefixes, k);
                            if longer.len() == shorter.len() + 1 {
                                if let Some((last, head)) = longer.split_last_mut() {
                                    head.copy_from_slice(shorter);
                                    *last = t;
                                }
                            }
                        }
                    }
                    break;
                }
                out.read = CellRead::Bool(fired);
            }
            (Cell::Tracked(first), CellKind::Tracked) => {
                if !skewed {
                    *first = (*first).min(t);
                }
                out.read = CellRead::Dur(u64::try_from(t.saturating_sub(*first)).unwrap_or(0));
            }
            (
                Cell::Distinct(d),
                CellKind::Distinct {
                    width_ms,
                    history_windows,
                },
            ) => {
                if let Some(g) = Grid::new(width_ms) {
                    if update {
                        if let Some(values) = input.hashes.filter(|v| !v.is_empty()) {
                            let before = d.heap_bytes();
                            d.record(g, newest, t, values);
                            grown += d.heap_bytes().saturating_sub(before);
                        }
                    }
                    out.read = CellRead::Count(d.count(g, newest));
                    out.history = None;
                    if history_windows > 0 {
                        // A copy for the statistics, read after the key's
                        // lock is let go (the buffer is reused).
                        out.ring.resize(history_windows as usize + 1, 0);
                        out.history = d.history_into(g, newest, &mut out.ring);
                    }
                }
            }
            (
                Cell::FirstSeen(set),
                CellKind::FirstSeen {
                    retention_ms,
                    capacity,
                },
            ) => {
                if let Some(values) = input.hashes {
                    let new = values.iter().any(|&h| !set.knows(h, newest, retention_ms));
                    if update {
                        let before = set.heap_bytes();
                        for &h in values {
                            set.remember(h, t, newest, retention_ms, usize::from(capacity));
                        }
                        grown += set.heap_bytes().saturating_sub(before);
                    }
                    out.read = CellRead::Bool(new);
                }
            }
            // A cell of another shape (cannot happen: the layout made it).
            _ => {}
        }
        grown
    }
}
