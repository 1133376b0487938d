//! What the store takes from a program and an event: the state layout of a
//! program's metrics, and each event's per-metric inputs (which counters
//! count it, the `by` key of each keyed counter, the hashed values of each
//! `distinct` and `first_seen`), computed into reused buffers.

use std::fmt::Write as _;
use std::hash::{BuildHasher, Hash, Hasher};

use crate::compile::program::{CellArg, CellDef, Cond, Field, Program, Tri, Val};
use crate::input::event::Event;
use crate::run::eval::{Ctx, MetricSource, NoMetrics, ResolvedProfile, V};

use super::{
    CellInput, CellKind, CellSpec, Cooldowns, CounterSpec, DistinctSpec, FirstSeenSpec, Layout,
    MetricNames, Metrics, MetricsView, Observation, StateStore,
};

/// The state layout of a program, and each rule's cooldown slot in it (a
/// rule with a cooldown and at least one alert).
pub(crate) fn layout_of(p: &Program) -> (Layout, Box<[Option<u32>]>) {
    let mut cooldowns_ms = Vec::new();
    let mut cooldown_names = Vec::new();
    let slots = p
        .rules
        .iter()
        .map(|r| {
            let d = r.cooldown_ms.filter(|_| !r.alerts.is_empty())?;
            let slot = u32::try_from(cooldowns_ms.len()).ok()?;
            cooldowns_ms.push(d);
            cooldown_names.push(r.id.to_string());
            Some(slot)
        })
        .collect();
    // A metric is its definition's canonical text (the formatter's), which
    // the checker interned it by: two programs share a metric's state
    // exactly when the texts (and shapes) are equal.
    let names = MetricNames {
        counters: p.counters.iter().map(|c| c.label.to_string()).collect(),
        distincts: p.distincts.iter().map(|d| d.label.to_string()).collect(),
        first_seens: p.first_seens.iter().map(|f| f.label.to_string()).collect(),
        cooldowns: cooldown_names,
        cells: p.cells.iter().map(|c| c.label.to_string()).collect(),
    };
    let layout = Layout {
        counters: p
            .counters
            .iter()
            .map(|c| CounterSpec {
                width_ms: c.width_ms,
                keyed: c.by.is_some(),
                history_windows: c.history_windows,
            })
            .collect(),
        distincts: p
            .distincts
            .iter()
            .map(|d| DistinctSpec {
                width_ms: d.width_ms,
                history_windows: d.history_windows,
            })
            .collect(),
        first_seens: p
            .first_seens
            .iter()
            .map(|f| FirstSeenSpec {
                retention_ms: f.retention_ms,
                capacity: f.capacity,
            })
            .collect(),
        cells: p
            .cells
            .iter()
            .map(|c| CellSpec {
                kind: c.kind,
                keyed: c.by.is_some(),
            })
            .collect(),
        cooldowns_ms,
        names,
    };
    (layout, slots)
}

/// Buffers for one event's per-metric inputs, reused from event to event so
/// that observing does not allocate.
#[derive(Default)]
pub struct Inputs {
    hits: Vec<bool>,
    /// Keys of keyed counters that are not strings of the event, written out.
    keys: Vec<String>,
    hashes: Vec<u64>,
    distinct_ranges: Vec<Option<(u32, u32)>>,
    first_seen_ranges: Vec<Option<(u32, u32)>>,
    first_seen_updates: Vec<bool>,
    /// Keys of keyed cell metrics, written out.
    cell_keys: Vec<String>,
    cell_ranges: Vec<Option<(u32, u32)>>,
    /// Room for the per-event views, which borrow the event and the buffers
    /// above and so are kept here empty, as `'static` ([`recycle`]): a
    /// program with more than a few metrics of a kind allocates nothing per
    /// event (inline arrays of 8 did, every event, past 8).
    key_sources: Vec<Option<KeySource<'static>>>,
    counter_keys: Vec<Option<&'static str>>,
    distinct_values: Vec<Option<&'static [u64]>>,
    first_seen_values: Vec<Option<&'static [u64]>>,
    cell_sources: Vec<Option<KeySource<'static>>>,
    cell_inputs: Vec<CellInput<'static>>,
}

/// An empty vector with `v`'s allocation, for elements of another lifetime
/// (of the same size and alignment: collecting a `vec::IntoIter` into such
/// elements reuses its allocation; `tests/alloc.rs` checks that a quiet
/// evaluation allocates nothing).
fn recycle<T, U>(mut v: Vec<T>) -> Vec<U> {
    v.clear();
    v.into_iter().filter_map(|_| None).collect()
}

/// Where the key of a keyed counter is, for one event.
#[derive(Clone, Copy)]
enum KeySource<'a> {
    /// A string of the event (or of the program).
    Event(&'a str),
    /// Written into the scratch buffer of its counter.
    Written,
}

/// Fixed seeds: value hashes are stable across runs (snapshots stay valid).
fn value_hasher() -> ahash::RandomState {
    ahash::RandomState::with_seeds(0x7269_736b, 0x6761_7465, 0x5f76_616c, 0x7565_7321)
}

fn hash_value(v: &V<'_>) -> Option<u64> {
    let mut h = value_hasher().build_hasher();
    match v {
        V::Absent => return None,
        V::Str(s) => s.hash(&mut h),
        V::Num(n) => n.to_f64().to_bits().hash(&mut h),
        V::Ip(ip) => ip.hash(&mut h),
        V::Bool(b) => b.hash(&mut h),
        V::Time(t) => t.hash(&mut h),
        V::Dur(d) => d.hash(&mut h),
    }
    Some(h.finish())
}

impl StateStore {
    /// Computes the per-metric inputs of `event` under `program` into `s`,
    /// counts the event, and calls `read` with its metrics while the
    /// agent's state is still locked.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn observe_event(
        &self,
        gen: &super::Generation,
        program: &Program,
        event: &Event<'_>,
        profile: Option<&ResolvedProfile>,
        now_ms: i64,
        s: &mut Inputs,
        metrics: &mut Metrics,
        read: impl FnOnce(&MetricsView<'_>, &mut Cooldowns<'_>),
    ) {
        with_observation(program, event, profile, now_ms, s, |obs| {
            self.observe_then_in(gen, &event.agent, obs, metrics, || 0, read);
        });
    }
}

/// Computes the per-metric inputs of `event` under `program` into `s` and
/// calls `f` with the [`Observation`] they make.
pub(crate) fn with_observation<R>(
    program: &Program,
    event: &Event<'_>,
    profile: Option<&ResolvedProfile>,
    now_ms: i64,
    s: &mut Inputs,
    f: impl FnOnce(&Observation<'_>) -> R,
) -> R {
    {
        let scratch = crate::run::derived::Scratch::new(program);
        let ctx = Ctx {
            program,
            event,
            metrics: &NoMetrics,
            profile,
            elem: None,
            scratch: &scratch,
        };
        let n = program.counters.len();
        let keyed = program.counters.iter().any(|c| c.by.is_some());
        s.hits.clear();
        s.keys.resize_with(n, String::new);
        // Where each counter's key is: a string of the event (borrowed, never
        // copied, however long) or written into `s.keys` (a number, an
        // address: a few bytes).
        let mut sources: Vec<Option<KeySource<'_>>> = recycle(std::mem::take(&mut s.key_sources));
        for (i, c) in program.counters.iter().enumerate() {
            s.hits.push(
                c.cond
                    .as_ref()
                    .is_none_or(|cond| ctx.cond(cond) == Tri::True),
            );
            if !keyed {
                continue;
            }
            let source = match (&c.by, s.keys.get_mut(i)) {
                (Some(by), Some(buf)) => key_of(&ctx, by, buf),
                _ => None,
            };
            sources.push(source);
        }
        s.hashes.clear();
        s.distinct_ranges.clear();
        for d in &program.distincts {
            let range = if scope_holds(&ctx, d.scope.as_ref()) {
                push_hashes(&mut s.hashes, &ctx, &d.field, event)
            } else {
                None
            };
            s.distinct_ranges.push(range);
        }
        s.first_seen_ranges.clear();
        s.first_seen_updates.clear();
        for f in &program.first_seens {
            let range = push_hashes(&mut s.hashes, &ctx, &f.field, event);
            s.first_seen_ranges.push(range);
            if f.scope.is_some() {
                s.first_seen_updates
                    .resize(s.first_seen_ranges.len() - 1, true);
                s.first_seen_updates
                    .push(scope_holds(&ctx, f.scope.as_ref()));
            }
        }
        // Cell metrics: keys and hashed values first (they go into the
        // buffers), then the inputs that borrow them.
        let cells = program.cells.len();
        s.cell_keys.resize_with(cells, String::new);
        s.cell_ranges.clear();
        let mut cell_sources: Vec<Option<KeySource<'_>>> =
            recycle(std::mem::take(&mut s.cell_sources));
        for (c, buf) in program.cells.iter().zip(s.cell_keys.iter_mut()) {
            cell_sources.push(match &c.by {
                Some(by) => key_of(&ctx, by, buf),
                None => None,
            });
            let range = match (&c.kind, &c.arg) {
                (CellKind::Distinct { .. } | CellKind::FirstSeen { .. }, CellArg::Value(v)) => {
                    push_hashes(&mut s.hashes, &ctx, v, event)
                }
                _ => None,
            };
            s.cell_ranges.push(range);
        }
        let mut cell_inputs: Vec<CellInput<'_>> = recycle(std::mem::take(&mut s.cell_inputs));
        cell_inputs.extend(program.cells.iter().enumerate().map(|(i, c)| {
            let key = match cell_sources.get(i).copied().flatten() {
                Some(KeySource::Event(x)) => Some(x),
                Some(KeySource::Written) => s.cell_keys.get(i).map(String::as_str),
                None => None,
            };
            let hashes = s
                .cell_ranges
                .get(i)
                .copied()
                .flatten()
                .and_then(|(a, b)| s.hashes.get(a as usize..b as usize));
            cell_input(&ctx, c, key, hashes)
        }));
        // Only the kinds of metric the program has are handed over: an empty
        // slice reads as "no key" / "no value", and building the per-metric
        // views costs more than the rest of a quiet evaluation.
        let mut keys: Vec<Option<&str>> = recycle(std::mem::take(&mut s.counter_keys));
        keys.extend(
            sources
                .iter()
                .zip(&s.keys)
                .map(|(source, buf)| match source {
                    Some(KeySource::Event(x)) => Some(*x),
                    Some(KeySource::Written) => Some(buf.as_str()),
                    None => None,
                }),
        );
        let hashes = &s.hashes;
        let slices = |room: Vec<Option<&'static [u64]>>, ranges: &[Option<(u32, u32)>]| {
            let mut out: Vec<Option<&[u64]>> = recycle(room);
            out.extend(
                ranges
                    .iter()
                    .map(|r| r.and_then(|(a, b)| hashes.get(a as usize..b as usize))),
            );
            out
        };
        let distinct = slices(std::mem::take(&mut s.distinct_values), &s.distinct_ranges);
        let first_seen = slices(
            std::mem::take(&mut s.first_seen_values),
            &s.first_seen_ranges,
        );
        let obs = Observation {
            time_ms: event.time_ms,
            now_ms,
            counter_hits: &s.hits,
            counter_keys: &keys,
            distinct_values: &distinct,
            first_seen_values: &first_seen,
            first_seen_updates: &s.first_seen_updates,
            cells: &cell_inputs,
        };
        let out = f(&obs);
        s.key_sources = recycle(sources);
        s.counter_keys = recycle(keys);
        s.distinct_values = recycle(distinct);
        s.first_seen_values = recycle(first_seen);
        s.cell_sources = recycle(cell_sources);
        s.cell_inputs = recycle(cell_inputs);
        out
    }
}

/// `true` when there is no scope or it holds.
fn scope_holds(ctx: &Ctx<'_>, scope: Option<&Cond>) -> bool {
    scope.is_none_or(|c| ctx.cond(c) == Tri::True)
}

/// Where the key of a keyed metric is: one string field borrowed from the
/// event; anything else written into `buf` (a number, an address, or the
/// components of a composite key, each as its length and text, so that
/// `("a,b", "c")` and `("a", "b,c")` stay apart). `None` when a component
/// is absent.
fn key_of<'e>(ctx: &Ctx<'e>, by: &'e [Val], buf: &mut String) -> Option<KeySource<'e>> {
    if let [one] = by {
        return match ctx.val(one) {
            V::Absent => None,
            V::Str(x) => Some(KeySource::Event(x)),
            other => {
                buf.clear();
                let _ = write!(buf, "{other}");
                Some(KeySource::Written)
            }
        };
    }
    buf.clear();
    for part in by {
        let v = ctx.val(part);
        if matches!(v, V::Absent) {
            return None;
        }
        let start = buf.len();
        let _ = write!(buf, "{v}");
        let len = buf.len() - start;
        let _ = write!(buf, "\u{1f}{len}\u{1e}");
    }
    Some(KeySource::Written)
}

/// What one event brings to cell metric `c`.
fn cell_input<'e>(
    ctx: &Ctx<'e>,
    c: &'e CellDef,
    key: Option<&'e str>,
    hashes: Option<&'e [u64]>,
) -> CellInput<'e> {
    let scoped = scope_holds(ctx, c.scope.as_ref());
    let mut input = CellInput {
        key,
        hashes,
        ..CellInput::default()
    };
    match &c.arg {
        CellArg::Cond(cond) => input.update = scoped && ctx.cond(cond) == Tri::True,
        CellArg::Value(v) => match c.kind {
            CellKind::Distinct { .. } | CellKind::FirstSeen { .. } => input.update = scoped,
            _ => {
                input.value = ctx.val(v);
                input.update = scoped && !matches!(input.value, V::Absent);
            }
        },
        CellArg::Steps(steps) => {
            for (k, step) in steps.iter().enumerate().take(8) {
                if ctx.cond(step) == Tri::True {
                    input.steps |= 1 << k;
                }
            }
            input.update = input.steps & 1 != 0;
        }
        CellArg::None => input.update = true,
    }
    input
}

/// Hashes the value(s) of `field` into `out`; the range they occupy, or
/// `None` when the field is absent (scopes: when none were requested).
fn push_hashes(
    out: &mut Vec<u64>,
    ctx: &Ctx<'_>,
    field: &Val,
    event: &Event<'_>,
) -> Option<(u32, u32)> {
    let start = u32::try_from(out.len()).unwrap_or(u32::MAX);
    match field {
        Val::Field(f @ (Field::Scopes | Field::GrantedScopes)) => {
            let list = if *f == Field::Scopes {
                &event.scopes
            } else {
                &event.granted_scopes
            };
            if list.is_empty() {
                return None;
            }
            out.extend(list.iter().filter_map(|sc| hash_value(&V::Str(sc))));
        }
        field => out.push(hash_value(&ctx.val(field))?),
    }
    Some((start, u32::try_from(out.len()).unwrap_or(u32::MAX)))
}

impl MetricSource for MetricsView<'_> {
    fn count(&self, i: u32) -> Option<u64> {
        MetricsView::count(self, i as usize)
    }
    fn baseline(&self, i: u32, windows: u32) -> Option<(u64, u64)> {
        MetricsView::baseline(self, i as usize, windows).map(|b| (b.sum, b.windows))
    }
    fn distinct(&self, i: u32) -> Option<u64> {
        MetricsView::distinct(self, i as usize)
    }
    fn first_seen(&self, i: u32) -> Option<bool> {
        MetricsView::first_seen(self, i as usize)
    }
    fn cell(&self, i: u32) -> Option<&super::CellOut> {
        MetricsView::cell(self, i as usize)
    }
    fn stats(&self, i: u32, windows: u32) -> Option<super::HistoryStats> {
        MetricsView::history_stats(self, i as usize, windows)
    }
    fn distinct_stats(&self, i: u32, windows: u32) -> Option<super::HistoryStats> {
        MetricsView::distinct_history_stats(self, i as usize, windows)
    }
}

impl MetricSource for Metrics {
    fn count(&self, i: u32) -> Option<u64> {
        Metrics::count(self, i as usize)
    }
    fn baseline(&self, i: u32, windows: u32) -> Option<(u64, u64)> {
        Metrics::baseline(self, i as usize, windows).map(|b| (b.sum, b.windows))
    }
    fn distinct(&self, i: u32) -> Option<u64> {
        Metrics::distinct(self, i as usize)
    }
    fn first_seen(&self, i: u32) -> Option<bool> {
        Metrics::first_seen(self, i as usize)
    }
    fn cell(&self, i: u32) -> Option<&super::CellOut> {
        Metrics::cell(self, i as usize)
    }
    fn stats(&self, i: u32, windows: u32) -> Option<super::HistoryStats> {
        Metrics::history_stats(self, i as usize, windows)
    }
    fn distinct_stats(&self, i: u32, windows: u32) -> Option<super::HistoryStats> {
        Metrics::distinct_history_stats(self, i as usize, windows)
    }
}
