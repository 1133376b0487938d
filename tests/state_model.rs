//! The state store against a naive reference model.
//!
//! The model keeps every accepted event of every agent (and key) in a plain
//! `Vec` and recomputes each metric from scratch, per event, following the
//! SPEC's definitions literally (§2.7, §7.12–§7.16) in `i128` arithmetic.
//! Property tests drive the store and the model with the same random streams
//! and compare counts, baselines, distinct counts and first-seen values on
//! every event; unit tests pin the named edge cases.

use std::alloc::{GlobalAlloc, Layout as AllocLayout, System};
use std::cell::Cell;
use std::collections::{HashMap, HashSet};

use proptest::prelude::*;
use riskgate::run::state::{
    Baseline, CounterSpec, DistinctSpec, FirstSeenSpec, Layout, Metrics, Observation, StateStore,
    StoreConfig, Tracking, AGENT_ENTRY_BYTES, AGENT_MORE_BYTES, COOLDOWN_ENTRY_BYTES,
    KEY_ENTRY_BYTES, MAX_HISTORY_WINDOWS, OWNED_KEY_BYTES,
};

/// Counts the heap allocations of the current thread, so a test can check
/// that `observe` on an existing agent allocates nothing.
struct CountingAlloc;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count_allocation() {
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: forwards every call to the system allocator unchanged.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: AllocLayout) -> *mut u8 {
        count_allocation();
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: AllocLayout) -> *mut u8 {
        count_allocation();
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: AllocLayout, new_size: usize) -> *mut u8 {
        count_allocation();
        System.realloc(ptr, layout, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: AllocLayout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;

// ---------------------------------------------------------------------------
// The reference model
// ---------------------------------------------------------------------------

/// One event as both the store and the model see it.
#[derive(Clone, Debug)]
struct Ev {
    agent: usize,
    t: i64,
    now: i64,
    hits: Vec<bool>,
    keys: Vec<Option<String>>,
    distinct: Vec<Option<Vec<u64>>>,
    first_seen: Vec<Option<Vec<u64>>>,
}

/// An accepted event as the model keeps it.
#[derive(Clone, Debug)]
struct Kept {
    t: i64,
    hits: Vec<bool>,
    /// Per counter: its window was inside the kept history (or, without
    /// history, its bucket inside the ring) when it arrived: "counted".
    counted: Vec<bool>,
    distinct: Vec<Option<Vec<u64>>>,
    first_seen: Vec<Option<Vec<u64>>>,
}

#[derive(Default)]
struct ModelAgent {
    newest: Option<i64>,
    events: Vec<Kept>,
}

/// A counter's events as (time, hit, counted).
type Series = Vec<(i64, bool, bool)>;

#[derive(Default)]
struct ModelKey {
    newest: Option<i64>,
    /// (time, hit, counted)
    events: Vec<(i64, bool, bool)>,
}

/// The metric values the model expects for one event.
#[derive(Debug, PartialEq, Eq)]
struct Expected {
    counts: Vec<Option<u64>>,
    /// Per counter, per probed window count `k`: `baseline(c, k)`.
    baselines: Vec<Vec<(u32, Option<Baseline>)>>,
    distinct: Vec<u64>,
    first_seen: Vec<Option<bool>>,
}

fn bucket(t: i64, width: u64) -> i128 {
    i128::from(t).div_euclid(i128::from(width / 60))
}

fn window(t: i64, width: u64) -> i128 {
    i128::from(t).div_euclid(i128::from(width))
}

/// The window counts `k` probed for a counter keeping `h` windows.
fn probes(h: u32) -> Vec<u32> {
    let mut ks: Vec<u32> = vec![0, 1, 9, 10, h / 2, h, h + 1];
    ks.sort_unstable();
    ks.dedup();
    ks
}

/// `count` of a counter: hits whose bucket is one of the 60 ending at the
/// bucket of `newest`.
fn model_count<'a>(
    spec: &CounterSpec,
    newest: i64,
    events: impl Iterator<Item = (i64, bool, bool)> + 'a,
) -> u64 {
    let nb = bucket(newest, spec.width_ms);
    events
        .filter(|&(t, hit, _)| {
            let b = bucket(t, spec.width_ms);
            hit && b <= nb && b >= nb - 59
        })
        .count() as u64
}

/// `baseline(M, k)` literally: history `max(f, m - k) ..= m - 1`, absent
/// while `m - f < 10`.
fn model_baseline(
    spec: &CounterSpec,
    newest: i64,
    events: &[(i64, bool, bool)],
    k: u32,
) -> Option<Baseline> {
    if k == 0 || k > spec.history_windows {
        return None;
    }
    let m = window(newest, spec.width_ms);
    let f = events
        .iter()
        .filter(|e| e.2)
        .map(|e| window(e.0, spec.width_ms))
        .min()?;
    if m - f < 10 {
        return None;
    }
    let lo = f.max(m - i128::from(k));
    let sum = events
        .iter()
        .filter(|&&(t, hit, _)| {
            let w = window(t, spec.width_ms);
            hit && w >= lo && w < m
        })
        .count() as u64;
    Some(Baseline {
        sum,
        windows: (m - lo) as u64,
    })
}

/// Was an event at `t` "counted" by a counter when the owner's newest time
/// (after it) was `newest`?
fn counted(spec: &CounterSpec, newest: i64, t: i64) -> bool {
    if spec.history_windows > 0 {
        window(t, spec.width_ms) >= window(newest, spec.width_ms) - i128::from(spec.history_windows)
    } else {
        bucket(t, spec.width_ms) >= bucket(newest, spec.width_ms) - 59
    }
}

struct Model {
    layout: Layout,
    skew: Option<u64>,
    agents: HashMap<usize, ModelAgent>,
    keys: HashMap<(usize, String), ModelKey>,
}

impl Model {
    fn new(layout: Layout, skew: Option<u64>) -> Self {
        Self {
            layout,
            skew,
            agents: HashMap::new(),
            keys: HashMap::new(),
        }
    }

    fn observe(&mut self, ev: &Ev) -> Expected {
        let skewed =
            matches!(self.skew, Some(s) if i128::from(ev.t) > i128::from(ev.now) + i128::from(s));
        let layout = self.layout.clone();
        let agent = self.agents.entry(ev.agent).or_default();
        if !skewed {
            let newest = agent.newest.map_or(ev.t, |n| n.max(ev.t));
            agent.newest = Some(newest);
        }
        // First seen: against the events before this one.
        let first_seen: Vec<Option<bool>> = layout
            .first_seens
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let values = ev.first_seen.get(i).cloned().flatten()?;
                let Some(newest) = agent.newest else {
                    return Some(!values.is_empty());
                };
                let known = |v: u64| {
                    agent.events.iter().any(|e| {
                        e.first_seen
                            .get(i)
                            .cloned()
                            .flatten()
                            .is_some_and(|vs| vs.contains(&v))
                            && i128::from(newest) - i128::from(e.t) < i128::from(spec.retention_ms)
                    })
                };
                Some(values.iter().any(|&v| !known(v)))
            })
            .collect();
        if !skewed {
            let newest = agent.newest.unwrap_or(ev.t);
            agent.events.push(Kept {
                t: ev.t,
                hits: ev.hits.clone(),
                counted: layout
                    .counters
                    .iter()
                    .map(|c| counted(c, newest, ev.t))
                    .collect(),
                distinct: ev.distinct.clone(),
                first_seen: ev.first_seen.clone(),
            });
        }
        let mut counts = Vec::new();
        let mut baselines = Vec::new();
        for (c, spec) in layout.counters.iter().enumerate() {
            let series: Option<(Option<i64>, Series)> = if spec.keyed {
                let hit = ev.hits.get(c).copied().unwrap_or(false);
                let creates = hit && !skewed;
                match ev.keys.get(c).cloned().flatten() {
                    None => None,
                    // A key gets state only from an event its counter
                    // counts; until then it reads 0 and has no history.
                    Some(key) if !creates && !self.keys.contains_key(&(c, key.clone())) => {
                        Some((None, Vec::new()))
                    }
                    Some(key) => {
                        let k = self.keys.entry((c, key)).or_default();
                        if !skewed {
                            let newest = k.newest.map_or(ev.t, |n| n.max(ev.t));
                            k.newest = Some(newest);
                            k.events.push((ev.t, hit, counted(spec, newest, ev.t)));
                        }
                        Some((k.newest, k.events.clone()))
                    }
                }
            } else {
                let series = agent
                    .events
                    .iter()
                    .map(|e| {
                        (
                            e.t,
                            e.hits.get(c).copied().unwrap_or(false),
                            e.counted.get(c).copied().unwrap_or(false),
                        )
                    })
                    .collect();
                Some((agent.newest, series))
            };
            match series {
                None => {
                    counts.push(None);
                    baselines.push(
                        probes(spec.history_windows)
                            .into_iter()
                            .map(|k| (k, None))
                            .collect(),
                    );
                }
                Some((None, _)) => {
                    counts.push(Some(0));
                    baselines.push(
                        probes(spec.history_windows)
                            .into_iter()
                            .map(|k| (k, None))
                            .collect(),
                    );
                }
                Some((Some(newest), series)) => {
                    counts.push(Some(model_count(spec, newest, series.iter().copied())));
                    baselines.push(
                        probes(spec.history_windows)
                            .into_iter()
                            .map(|k| (k, model_baseline(spec, newest, &series, k)))
                            .collect(),
                    );
                }
            }
        }
        let distinct = layout
            .distincts
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let Some(newest) = agent.newest else { return 0 };
                let nb = bucket(newest, spec.width_ms);
                let mut seen = HashSet::new();
                for e in &agent.events {
                    let b = bucket(e.t, spec.width_ms);
                    if b <= nb && b >= nb - 59 {
                        if let Some(vs) = e.distinct.get(i).cloned().flatten() {
                            seen.extend(vs);
                        }
                    }
                }
                seen.len() as u64
            })
            .collect();
        Expected {
            counts,
            baselines,
            distinct,
            first_seen,
        }
    }
}

/// Feeds one event to the store and reads what the model would compare.
fn observe_store(store: &StateStore, layout: &Layout, ev: &Ev, m: &mut Metrics) -> Expected {
    let keys: Vec<Option<&str>> = ev.keys.iter().map(|k| k.as_deref()).collect();
    let distinct: Vec<Option<&[u64]>> = ev.distinct.iter().map(|v| v.as_deref()).collect();
    let first_seen: Vec<Option<&[u64]>> = ev.first_seen.iter().map(|v| v.as_deref()).collect();
    let obs = Observation {
        time_ms: ev.t,
        now_ms: ev.now,
        counter_hits: &ev.hits,
        counter_keys: &keys,
        distinct_values: &distinct,
        first_seen_values: &first_seen,
        first_seen_updates: &[],
        cells: &[],
    };
    store.observe(&format!("agent-{}", ev.agent), &obs, m);
    Expected {
        counts: (0..layout.counters.len()).map(|c| m.count(c)).collect(),
        baselines: layout
            .counters
            .iter()
            .enumerate()
            .map(|(c, spec)| {
                probes(spec.history_windows)
                    .into_iter()
                    .map(|k| (k, m.baseline(c, k)))
                    .collect()
            })
            .collect(),
        distinct: (0..layout.distincts.len())
            .map(|i| m.distinct(i).unwrap_or(u64::MAX))
            .collect(),
        first_seen: (0..layout.first_seens.len())
            .map(|i| m.first_seen(i))
            .collect(),
    }
}

// ---------------------------------------------------------------------------
// Random streams
// ---------------------------------------------------------------------------

const WIDTHS: [u64; 6] = [60, 6_000, 60_000, 300_000, 3_600_000, 86_400_000];

fn counter_spec() -> impl Strategy<Value = CounterSpec> {
    (
        prop::sample::select(WIDTHS.to_vec()),
        prop::sample::select(vec![0u32, 0, 1, 5, 10, 11, 60, 100]),
        prop::bool::weighted(0.25),
    )
        .prop_map(|(width_ms, history_windows, keyed)| CounterSpec {
            width_ms,
            keyed,
            history_windows,
        })
}

fn layout() -> impl Strategy<Value = Layout> {
    (
        prop::collection::vec(counter_spec(), 1..=3),
        prop::collection::vec(
            prop::sample::select(WIDTHS.to_vec()).prop_map(DistinctSpec::over),
            0..=2,
        ),
        prop::collection::vec(
            prop::sample::select(vec![
                1_000u64,
                MINUTE as u64,
                HOUR as u64,
                DAY as u64,
                30 * DAY as u64,
            ])
            .prop_map(FirstSeenSpec::with_retention),
            0..=2,
        ),
    )
        .prop_map(|(counters, distincts, first_seens)| Layout {
            counters,
            distincts,
            first_seens,
            cells: Vec::new(),
            cooldowns_ms: Vec::new(),
            names: Default::default(),
        })
}

/// Where a stream starts: ordinary, negative, day boundaries, near the ends
/// of `i64`.
const BASES: [i64; 10] = [
    0,
    -1,
    -1_000 * DAY + 3,
    1_795_910_399_000, // 2026-11-27T23:59:59Z
    20_000 * DAY - 2 * MINUTE,
    1_000_000_000_000_000,
    i64::MAX - 100 * DAY,
    i64::MAX - 5_000,
    i64::MIN + 1_000,
    i64::MIN / 2,
];

/// One step of the stream: how the cursor moves, how late the event is.
#[derive(Clone, Debug)]
enum Step {
    Forward(i64),
    Burst,
    Late(i64),
    Gap(i64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0i64..3_000).prop_map(Step::Forward),
        2 => Just(Step::Burst),
        2 => (1i64..15 * MINUTE).prop_map(Step::Late),
        1 => (HOUR..3 * HOUR).prop_map(Step::Gap),
        1 => (MINUTE..20 * MINUTE).prop_map(Step::Forward),
    ]
}

#[derive(Clone, Debug)]
struct RawEvent {
    agent: usize,
    step: Step,
    now_offset: i64,
    hits: Vec<bool>,
    keys: Vec<Option<u8>>,
    distinct: Vec<Option<Vec<u64>>>,
    first_seen: Vec<Option<Vec<u64>>>,
}

fn raw_event() -> impl Strategy<Value = RawEvent> {
    (
        0usize..3,
        step(),
        -10_000i64..10_000,
        prop::collection::vec(any::<bool>(), 3),
        prop::collection::vec(prop::option::weighted(0.8, 0u8..3), 3),
        // Values from a domain of 12: the distinct sets stay exact (<= 16).
        prop::collection::vec(
            prop::option::weighted(0.8, prop::collection::vec(0u64..12, 0..3)),
            2,
        ),
        prop::collection::vec(
            prop::option::weighted(0.8, prop::collection::vec(0u64..20, 0..3)),
            2,
        ),
    )
        .prop_map(
            |(agent, step, now_offset, hits, keys, distinct, first_seen)| RawEvent {
                agent,
                step,
                now_offset,
                hits,
                keys,
                distinct,
                first_seen,
            },
        )
}

fn stream(base: i64, raw: Vec<RawEvent>) -> Vec<Ev> {
    let mut cursor = base;
    raw.into_iter()
        .map(|r| {
            let t = match r.step {
                Step::Forward(d) | Step::Gap(d) => {
                    cursor = cursor.saturating_add(d);
                    cursor
                }
                Step::Burst => cursor,
                Step::Late(d) => cursor.saturating_sub(d),
            };
            Ev {
                agent: r.agent,
                t,
                now: cursor.saturating_add(r.now_offset),
                hits: r.hits,
                keys: r
                    .keys
                    .into_iter()
                    .map(|k| k.map(|k| format!("key-{k}")))
                    .collect(),
                distinct: r.distinct,
                first_seen: r.first_seen,
            }
        })
        .collect()
}

fn run_against_model(
    layout: Layout,
    skew: Option<u64>,
    events: &[Ev],
) -> Result<(), TestCaseError> {
    let config = StoreConfig {
        max_forward_skew_ms: skew,
        ..StoreConfig::default()
    };
    let store =
        StateStore::new(layout.clone(), config).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut model = Model::new(layout.clone(), skew);
    let mut metrics = store.metrics();
    for (i, ev) in events.iter().enumerate() {
        let want = model.observe(ev);
        let got = observe_store(&store, &layout, ev, &mut metrics);
        prop_assert_eq!(&got, &want, "event {} of {}: {:?}", i, events.len(), ev);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Counts, baselines (sum, n or absent), distinct counts and first-seen
    /// values equal the model's on every event of random streams.
    #[test]
    fn store_matches_model_on_random_streams(
        layout in layout(),
        skew in prop::sample::select(vec![None, Some(0u64), Some(5_000)]),
        base in prop::sample::select(BASES.to_vec()),
        raw in prop::collection::vec(raw_event(), 1..200),
    ) {
        run_against_model(layout, skew, &stream(base, raw))?;
    }

    /// The seed layout (`requests_per_minute` with a 60-minute baseline) over
    /// long in-order streams with bursts, so baselines leave warm-up.
    #[test]
    fn seed_layout_matches_model_over_hours(
        base in prop::sample::select(BASES.to_vec()),
        gaps in prop::collection::vec((0i64..4 * MINUTE, 1usize..8), 20..90),
    ) {
        let mut t = base;
        let mut events = Vec::new();
        for (gap, burst) in gaps {
            t = t.saturating_add(gap);
            for j in 0..burst {
                events.push(Ev {
                    agent: j % 2,
                    t: t.saturating_add(j as i64 * 7),
                    now: t,
                    hits: vec![true],
                    keys: vec![None],
                    distinct: vec![],
                    first_seen: vec![],
                });
            }
        }
        run_against_model(Layout::seed(), None, &events)?;
    }
}

// ---------------------------------------------------------------------------
// Named edge cases
// ---------------------------------------------------------------------------

fn seed_store() -> StateStore {
    StateStore::new(Layout::seed(), StoreConfig::default()).unwrap()
}

/// One `requests_per_minute` event of `agent` at `t`.
fn hit(store: &StateStore, agent: &str, t: i64, m: &mut Metrics) {
    let obs = Observation {
        counter_hits: &[true],
        ..Observation::at(t)
    };
    store.observe(agent, &obs, m);
}

#[test]
fn warmup_boundary_nine_windows_absent_ten_present() {
    let store = seed_store();
    let mut m = store.metrics();
    let t0 = 1_795_910_400_000; // a minute boundary
    hit(&store, "a", t0, &mut m);
    hit(&store, "a", t0 + 9 * MINUTE, &mut m);
    assert_eq!(m.history_age(0), Some(9));
    assert_eq!(m.baseline(0, 60), None, "m - f = 9 is still warm-up");
    hit(&store, "a", t0 + 10 * MINUTE, &mut m);
    assert_eq!(m.history_age(0), Some(10));
    // History: minutes f ..= m - 1 = 0 ..= 9, with one event in 0 and one in 9.
    assert_eq!(
        m.baseline(0, 60),
        Some(Baseline {
            sum: 2,
            windows: 10
        })
    );
    assert_eq!(m.count(0), Some(1));
}

#[test]
fn baseline_reads_fewer_windows_than_the_counter_keeps() {
    let layout = Layout {
        counters: vec![CounterSpec::requests_per_minute().with_history(1440)],
        ..Layout::default()
    };
    let store = StateStore::new(layout, StoreConfig::default()).unwrap();
    let mut m = store.metrics();
    let t0 = 0;
    // 3 events a minute for 200 minutes, then one more minute.
    for minute in 0..200 {
        for j in 0..3 {
            hit(&store, "a", t0 + minute * MINUTE + j, &mut m);
        }
    }
    hit(&store, "a", t0 + 200 * MINUTE, &mut m);
    assert_eq!(
        m.baseline(0, 60),
        Some(Baseline {
            sum: 180,
            windows: 60
        })
    );
    assert_eq!(
        m.baseline(0, 1440),
        Some(Baseline {
            sum: 600,
            windows: 200
        })
    );
    assert_eq!(m.baseline(0, 1441), None);
    assert_eq!(m.baseline(0, 0), None);
}

#[test]
fn requests_per_minute_spans_the_2359_day_boundary() {
    let store = seed_store();
    let mut m = store.metrics();
    let midnight = 1_795_910_400_000; // 2026-11-28T00:00:00Z
    hit(&store, "a", midnight - 1, &mut m); // 23:59:59.999
    assert_eq!(m.count(0), Some(1));
    hit(&store, "a", midnight, &mut m); // 00:00:00.000
    assert_eq!(m.count(0), Some(2));
    // 00:00:58.999: seconds 23:59:59 ..= 00:00:58 still include 23:59:59.
    hit(&store, "a", midnight + 58_999, &mut m);
    assert_eq!(m.count(0), Some(3));
    // 00:00:59.000: seconds 00:00:00 ..= 00:00:59; 23:59:59.999 has left.
    hit(&store, "a", midnight + 59_000, &mut m);
    assert_eq!(m.count(0), Some(3));
}

#[test]
fn minute_at_2359_is_a_window_of_its_own_in_the_history() {
    let store = seed_store();
    let mut m = store.metrics();
    let midnight = 1_795_910_400_000;
    let start = midnight - 15 * MINUTE;
    hit(&store, "a", start, &mut m);
    for j in 0..5 {
        hit(&store, "a", midnight - MINUTE + j * 1000, &mut m); // 23:59:0j
    }
    hit(&store, "a", midnight + 30_000, &mut m);
    // History: 23:45 ..= 23:59, 15 minutes holding 1 + 5 events.
    assert_eq!(
        m.baseline(0, 60),
        Some(Baseline {
            sum: 6,
            windows: 15
        })
    );
    // The ring holds 23:59:31 ..= 00:00:30: the 23:59:0x burst has left it.
    assert_eq!(m.count(0), Some(1));
}

#[test]
fn late_event_enters_the_history_but_not_the_ring() {
    let store = seed_store();
    let mut m = store.metrics();
    let t0 = 0;
    for minute in 0..=12 {
        hit(&store, "a", t0 + minute * MINUTE, &mut m);
    }
    assert_eq!(m.count(0), Some(1));
    assert_eq!(
        m.baseline(0, 60),
        Some(Baseline {
            sum: 12,
            windows: 12
        })
    );
    // Five minutes late: minute 7, outside the one-second ring.
    let obs = Observation {
        counter_hits: &[true],
        ..Observation::at(t0 + 7 * MINUTE + 500)
    };
    let outcome = store.observe("a", &obs, &mut m);
    assert!(outcome.late);
    assert!(outcome.late_partial && !outcome.late_dropped);
    assert_eq!(m.count(0), Some(1), "read as it stands at the newest time");
    assert_eq!(
        m.baseline(0, 60),
        Some(Baseline {
            sum: 13,
            windows: 12
        })
    );
    // Late but inside the ring: counted in both.
    let obs = Observation {
        counter_hits: &[true],
        ..Observation::at(t0 + 12 * MINUTE - 30_000)
    };
    let outcome = store.observe("a", &obs, &mut m);
    assert!(outcome.late && !outcome.late_dropped && !outcome.late_partial);
    assert_eq!(m.count(0), Some(2));
    assert_eq!(
        m.baseline(0, 60),
        Some(Baseline {
            sum: 14,
            windows: 12
        })
    );
    assert_eq!(store.stats().late_partial_events, 1);
    assert_eq!(store.stats().late_dropped_events, 0);
    // Older than the 60-minute history too: counted nowhere.
    let obs = Observation {
        counter_hits: &[true],
        ..Observation::at(t0 - 2 * HOUR)
    };
    let outcome = store.observe("a", &obs, &mut m);
    assert!(outcome.late_dropped && !outcome.late_partial);
    assert_eq!(store.stats().late_dropped_events, 1);
    assert_eq!(store.stats().late_partial_events, 1);
}

#[test]
fn late_event_beyond_the_history_is_not_counted_and_does_not_move_f() {
    let layout = Layout {
        counters: vec![CounterSpec::requests_per_minute().with_history(10)],
        ..Layout::default()
    };
    let store = StateStore::new(layout, StoreConfig::default()).unwrap();
    let mut m = store.metrics();
    hit(&store, "a", 100 * MINUTE, &mut m);
    hit(&store, "a", 105 * MINUTE, &mut m);
    assert_eq!(m.history_age(0), Some(5));
    // Minute 94 is older than the 10 kept windows (95 ..= 105).
    hit(&store, "a", 94 * MINUTE, &mut m);
    assert_eq!(m.history_age(0), Some(5));
    // Minute 95 is still kept: counted, and f moves back.
    hit(&store, "a", 95 * MINUTE, &mut m);
    assert_eq!(m.history_age(0), Some(10));
    assert_eq!(
        m.baseline(0, 10),
        Some(Baseline {
            sum: 2,
            windows: 10
        })
    );
}

#[test]
fn forward_skew_is_evaluated_but_not_counted() {
    let config = StoreConfig {
        max_forward_skew_ms: Some(5_000),
        ..StoreConfig::default()
    };
    let store = StateStore::new(Layout::seed(), config).unwrap();
    let mut m = store.metrics();
    let now = 1_795_910_400_000;
    // Unknown agent, skewed: read on empty state, not inserted.
    let obs = Observation {
        counter_hits: &[true],
        now_ms: now,
        ..Observation::at(now + 5_001)
    };
    let out = store.observe("a", &obs, &mut m);
    assert!(out.skewed);
    assert_eq!(out.tracking, Tracking::Untracked);
    assert_eq!(m.count(0), Some(0));
    assert!(!store.contains("a"));
    // Exactly at the limit: counted.
    let obs = Observation {
        counter_hits: &[true],
        now_ms: now,
        ..Observation::at(now + 5_000)
    };
    let out = store.observe("a", &obs, &mut m);
    assert!(!out.skewed);
    assert_eq!(out.tracking, Tracking::Inserted);
    assert_eq!(m.count(0), Some(1));
    // A far-future event does not move the window.
    let obs = Observation {
        counter_hits: &[true],
        now_ms: now,
        ..Observation::at(now + DAY)
    };
    assert!(store.observe("a", &obs, &mut m).skewed);
    assert_eq!(m.count(0), Some(1));
    hit(&store, "a", now + 5_000, &mut m);
    assert_eq!(m.count(0), Some(2));
    assert_eq!(store.stats().skewed_events, 2);
}

#[test]
fn skew_is_five_minutes_by_default() {
    let store = seed_store();
    let mut m = store.metrics();
    let at = |t, now| Observation {
        counter_hits: &[true],
        now_ms: now,
        ..Observation::at(t)
    };
    assert!(!store.observe("a", &at(5 * MINUTE, 0), &mut m).skewed);
    assert_eq!(m.count(0), Some(1));
    assert!(store.observe("a", &at(5 * MINUTE + 1, 0), &mut m).skewed);
    assert!(store.observe("a", &at(10 * DAY, 0), &mut m).skewed);
    assert_eq!(m.count(0), Some(1));
    // Off: any time is trusted.
    let trusting = StateStore::new(
        Layout::seed(),
        StoreConfig {
            max_forward_skew_ms: None,
            ..StoreConfig::default()
        },
    )
    .unwrap();
    assert!(!trusting.observe("a", &at(10 * DAY, 0), &mut m).skewed);
    assert_eq!(m.count(0), Some(1));
}

#[test]
fn idle_gap_longer_than_the_history_clears_everything_but_f() {
    let store = seed_store();
    let mut m = store.metrics();
    for j in 0..50 {
        hit(&store, "a", j * 100, &mut m);
    }
    assert_eq!(m.count(0), Some(50));
    // 3 hours later.
    hit(&store, "a", 3 * HOUR, &mut m);
    assert_eq!(m.count(0), Some(1));
    assert_eq!(m.history_age(0), Some(180));
    assert_eq!(
        m.baseline(0, 60),
        Some(Baseline {
            sum: 0,
            windows: 60
        })
    );
}

#[test]
fn extreme_timestamps_count_without_panicking() {
    let store = seed_store();
    let mut m = store.metrics();
    for t in [i64::MIN, i64::MIN + 1, i64::MIN + 999] {
        hit(&store, "low", t, &mut m);
    }
    assert_eq!(m.count(0), Some(3));
    for t in [i64::MAX, i64::MAX - 1, i64::MAX - 999] {
        hit(&store, "high", t, &mut m);
    }
    assert_eq!(m.count(0), Some(3));
    // From one end to the other and back.
    hit(&store, "both", i64::MIN, &mut m);
    hit(&store, "both", i64::MAX, &mut m);
    assert_eq!(m.count(0), Some(1));
    assert_eq!(
        m.baseline(0, 60),
        Some(Baseline {
            sum: 0,
            windows: 60
        })
    );
    hit(&store, "both", i64::MIN, &mut m);
    assert_eq!(m.count(0), Some(1));
}

#[test]
fn bucket_past_u16_promotes_and_stays_exact() {
    let store = seed_store();
    let mut m = store.metrics();
    for _ in 0..70_000 {
        hit(&store, "a", 5, &mut m);
    }
    assert_eq!(m.count(0), Some(70_000));
    for minute in 1..=10 {
        hit(&store, "a", minute * MINUTE, &mut m);
    }
    assert_eq!(
        m.baseline(0, 60),
        Some(Baseline {
            sum: 70_009,
            windows: 10
        })
    );
    let state = store.agent_state("a").unwrap();
    assert!(store.agent_memory_bytes("a").unwrap() > store.new_agent_memory_bytes(1));
    assert_eq!(state.newest_ms(), 10 * MINUTE);
}

#[test]
fn count_with_condition_counts_hits_only_and_f_is_the_first_event() {
    let layout = Layout {
        counters: vec![
            CounterSpec::over(MINUTE as u64),
            CounterSpec::over(MINUTE as u64).with_history(60),
        ],
        ..Layout::default()
    };
    let store = StateStore::new(layout, StoreConfig::default()).unwrap();
    let mut m = store.metrics();
    let obs = Observation {
        counter_hits: &[true, false],
        ..Observation::at(0)
    };
    store.observe("a", &obs, &mut m);
    let obs = Observation {
        counter_hits: &[true, true],
        ..Observation::at(10 * MINUTE)
    };
    store.observe("a", &obs, &mut m);
    assert_eq!(m.count(0), Some(1));
    assert_eq!(m.count(1), Some(1));
    assert_eq!(
        m.baseline(1, 60),
        Some(Baseline {
            sum: 0,
            windows: 10
        })
    );
}

#[test]
fn keyed_counter_is_shared_across_agents_and_unknown_without_key() {
    let layout = Layout {
        counters: vec![
            CounterSpec::over(MINUTE as u64),
            CounterSpec::over(MINUTE as u64).keyed(),
        ],
        ..Layout::default()
    };
    let store = StateStore::new(layout, StoreConfig::default()).unwrap();
    let mut m = store.metrics();
    let ip = Some("203.0.113.9");
    let obs = Observation {
        counter_hits: &[true, true],
        counter_keys: &[None, ip],
        ..Observation::at(1_000)
    };
    store.observe("a", &obs, &mut m);
    store.observe(
        "b",
        &Observation {
            time_ms: 2_000,
            now_ms: 2_000,
            ..obs
        },
        &mut m,
    );
    assert_eq!(m.count(0), Some(1), "per agent");
    assert_eq!(m.count(1), Some(2), "per key, across agents");
    let obs = Observation {
        counter_hits: &[true, true],
        counter_keys: &[None, None],
        ..Observation::at(3_000)
    };
    store.observe("b", &obs, &mut m);
    assert_eq!(m.count(0), Some(2));
    assert_eq!(m.count(1), None, "absent key is UNKNOWN");
    assert_eq!(store.keys_len(), 1);
}

#[test]
fn first_seen_new_values_lists_absent_and_retention() {
    let layout = Layout {
        first_seens: vec![FirstSeenSpec::with_retention(DAY as u64)],
        ..Layout::default()
    };
    let store = StateStore::new(layout, StoreConfig::default()).unwrap();
    let mut m = store.metrics();
    let fs = |store: &StateStore, m: &mut Metrics, t: i64, v: Option<&[u64]>| {
        store.observe(
            "a",
            &Observation {
                first_seen_values: &[v],
                ..Observation::at(t)
            },
            m,
        );
        m.first_seen(0)
    };
    assert_eq!(fs(&store, &mut m, 0, Some(&[1])), Some(true));
    assert_eq!(fs(&store, &mut m, 1, Some(&[1])), Some(false));
    assert_eq!(
        fs(&store, &mut m, 2, Some(&[1, 2])),
        Some(true),
        "one new element"
    );
    assert_eq!(fs(&store, &mut m, 3, Some(&[2, 1])), Some(false));
    assert_eq!(fs(&store, &mut m, 4, None), None, "absent field is UNKNOWN");
    assert_eq!(
        fs(&store, &mut m, 5, Some(&[])),
        Some(false),
        "empty list: no new element"
    );
    // Last seen at 3: known while newest - 3 < DAY, new from 3 + DAY on.
    assert_eq!(fs(&store, &mut m, 3 + DAY - 1, Some(&[2])), Some(false));
    assert_eq!(fs(&store, &mut m, 3 + DAY, Some(&[1])), Some(true));
}

#[test]
fn first_seen_set_is_bounded_and_forgets_least_recent() {
    let layout = Layout {
        first_seens: vec![FirstSeenSpec {
            retention_ms: 30 * DAY as u64,
            capacity: 8,
        }],
        ..Layout::default()
    };
    let store = StateStore::new(layout, StoreConfig::default()).unwrap();
    let mut m = store.metrics();
    for v in 0..1_000u64 {
        store.observe(
            "a",
            &Observation {
                first_seen_values: &[Some(&[v])],
                ..Observation::at(v as i64)
            },
            &mut m,
        );
        assert_eq!(m.first_seen(0), Some(true));
    }
    let bytes = store.agent_memory_bytes("a").unwrap();
    assert!(bytes <= store.new_agent_memory_bytes(1) + 8 * 16, "{bytes}");
    // The 8 most recent are known, older ones were forgotten.
    store.observe(
        "a",
        &Observation {
            first_seen_values: &[Some(&[999])],
            ..Observation::at(1_000)
        },
        &mut m,
    );
    assert_eq!(m.first_seen(0), Some(false));
    store.observe(
        "a",
        &Observation {
            first_seen_values: &[Some(&[3])],
            ..Observation::at(1_001)
        },
        &mut m,
    );
    assert_eq!(m.first_seen(0), Some(true));
}

#[test]
fn distinct_is_exact_to_sixteen_then_estimates() {
    let layout = Layout {
        distincts: vec![DistinctSpec::over(HOUR as u64)],
        ..Layout::default()
    };
    let store = StateStore::new(layout, StoreConfig::default()).unwrap();
    let mut m = store.metrics();
    for v in 0..16u64 {
        store.observe(
            "a",
            &Observation {
                distinct_values: &[Some(&[v, v])],
                ..Observation::at(v as i64)
            },
            &mut m,
        );
        assert_eq!(m.distinct(0), Some(v + 1));
    }
    for v in 16..1_000u64 {
        store.observe(
            "a",
            &Observation {
                distinct_values: &[Some(&[v])],
                ..Observation::at(v as i64)
            },
            &mut m,
        );
    }
    let estimate = m.distinct(0).unwrap();
    assert!((700..=1_300).contains(&estimate), "estimate {estimate}");
    // An hour and more later the window holds only new values: exact again.
    store.observe(
        "a",
        &Observation {
            distinct_values: &[Some(&[1, 2, 3])],
            ..Observation::at(2 * HOUR)
        },
        &mut m,
    );
    assert_eq!(m.distinct(0), Some(3));
}

#[test]
fn new_agent_at_the_cap_is_evaluated_untracked() {
    let config = StoreConfig {
        max_agents: 2,
        ..StoreConfig::default()
    };
    let store = StateStore::new(Layout::seed(), config).unwrap();
    let mut m = store.metrics();
    let obs = Observation {
        counter_hits: &[true],
        ..Observation::at(0)
    };
    assert_eq!(
        store.observe("a", &obs, &mut m).tracking,
        Tracking::Inserted
    );
    assert_eq!(
        store.observe("b", &obs, &mut m).tracking,
        Tracking::Inserted
    );
    assert_eq!(
        store.observe("c", &obs, &mut m).tracking,
        Tracking::Untracked
    );
    assert_eq!(m.count(0), Some(1), "fresh state includes the event");
    assert_eq!(
        store.observe("c", &obs, &mut m).tracking,
        Tracking::Untracked
    );
    assert_eq!(m.count(0), Some(1), "not remembered");
    assert_eq!(
        store.observe("a", &obs, &mut m).tracking,
        Tracking::Existing
    );
    assert_eq!(m.count(0), Some(2));
    assert_eq!(store.len(), 2);
    assert_eq!(store.stats().untracked_events, 2);
}

#[test]
fn new_agent_at_the_cap_evicts_idle_agents_first() {
    let config = StoreConfig {
        max_agents: 2,
        idle_ttl_ms: Some(HOUR as u64),
        ..StoreConfig::default()
    };
    let store = StateStore::new(Layout::seed(), config).unwrap();
    let mut m = store.metrics();
    hit(&store, "a", 0, &mut m);
    hit(&store, "b", 2 * HOUR, &mut m);
    let obs = Observation {
        counter_hits: &[true],
        ..Observation::at(2 * HOUR + 1)
    };
    assert_eq!(
        store.observe("c", &obs, &mut m).tracking,
        Tracking::Inserted
    );
    assert!(!store.contains("a") && store.contains("b") && store.contains("c"));
    assert_eq!(store.stats().evicted_agents, 1);
}

#[test]
fn evict_idle_uses_event_time() {
    let config = StoreConfig {
        idle_ttl_ms: Some(HOUR as u64),
        ..StoreConfig::default()
    };
    let layout = Layout {
        counters: vec![
            CounterSpec::requests_per_minute(),
            CounterSpec::over(60_000).keyed(),
        ],
        ..Layout::default()
    };
    let store = StateStore::new(layout, config).unwrap();
    let mut m = store.metrics();
    let obs = |t| Observation {
        counter_hits: &[true, true],
        counter_keys: &[None, Some("k")],
        ..Observation::at(t)
    };
    store.observe("old", &obs(0), &mut m);
    store.observe("new", &obs(HOUR), &mut m);
    assert_eq!(
        store.evict_idle(HOUR),
        0,
        "newest 0 is not older than 1h - 1h"
    );
    assert_eq!(store.evict_idle(HOUR + 1), 1);
    assert!(!store.contains("old") && store.contains("new"));
    assert_eq!(store.keys_len(), 1);
    assert_eq!(store.evict_idle(3 * HOUR), 1);
    assert!(store.is_empty());
    assert_eq!(store.stats().evicted_keys, 1);
}

#[test]
fn seed_layout_agent_fits_in_512_bytes() {
    let store = seed_store();
    let mut m = store.metrics();
    let id = "datadog-remediation-prod";
    assert_eq!(id.len(), 24);
    for j in 0..2_000 {
        hit(&store, id, j * 1_700, &mut m);
    }
    let bytes = store.agent_memory_bytes(id).unwrap();
    println!("seed layout: {bytes} bytes per agent (map entry {AGENT_ENTRY_BYTES})");
    assert_eq!(AGENT_ENTRY_BYTES, 73);
    assert_eq!(bytes, 371);
    assert_eq!(store.new_agent_memory_bytes(24), 371);
    assert_eq!(store.bytes(), 371, "the store's figure is the agent's");
    assert!(bytes <= 512);
}

#[test]
fn each_metric_kind_adds_its_documented_bytes() {
    let bytes = |layout: Layout| {
        StateStore::new(layout, StoreConfig::default())
            .unwrap()
            .new_agent_memory_bytes(0)
    };
    let empty = bytes(Layout::default());
    assert_eq!(empty, AGENT_ENTRY_BYTES);
    let counter = |h| Layout {
        counters: vec![CounterSpec::requests_per_minute().with_history(h)],
        ..Layout::default()
    };
    assert_eq!(bytes(counter(0)) - empty, 32 + 120);
    assert_eq!(bytes(counter(1440)) - empty, 32 + 120 + 2 * 1441);
    // The first distinct, first-seen, cooldown or created key allocates the
    // agent's second block (104 bytes), once.
    assert_eq!(AGENT_MORE_BYTES, 104);
    let distinct = |n| Layout {
        distincts: vec![DistinctSpec::over(60_000); n],
        ..Layout::default()
    };
    assert_eq!(bytes(distinct(1)) - empty, 104 + 296);
    assert_eq!(bytes(distinct(2)) - empty, 104 + 2 * 296);
    // A distinct metric that a statistic reads keeps its windows' totals:
    // one more block (48 bytes, shared with a sketch) and 4 bytes a total.
    let with_history = Layout {
        distincts: vec![DistinctSpec::over(60_000).with_history(90)],
        ..Layout::default()
    };
    assert_eq!(bytes(with_history) - empty, 104 + 296 + 48 + 4 * 91);
    let first_seen = Layout {
        first_seens: vec![FirstSeenSpec::default()],
        ..Layout::default()
    };
    assert_eq!(bytes(first_seen) - empty, 104 + 24);
    // Cooldowns cost nothing until an alert: 16 bytes a (rule, agent) then.
    let cooldowns = Layout {
        cooldowns_ms: vec![60_000; 3],
        ..Layout::default()
    };
    assert_eq!(bytes(cooldowns), empty);
    assert_eq!((COOLDOWN_ENTRY_BYTES, OWNED_KEY_BYTES), (16, 16));
    // A key of a keyed counter: its map entry and its ring.
    let keyed = StateStore::new(
        Layout {
            counters: vec![CounterSpec::over(60_000).keyed()],
            ..Layout::default()
        },
        StoreConfig::default(),
    )
    .unwrap();
    assert_eq!(KEY_ENTRY_BYTES, 81);
    assert_eq!(keyed.new_key_memory_bytes(0), Some(81 + 120));
    assert_eq!(keyed.new_key_memory_bytes(1), None);
}

#[test]
fn overlong_agent_ids_are_stored_under_a_capped_key() {
    let config = StoreConfig {
        max_key_bytes: 32,
        ..StoreConfig::default()
    };
    let store = StateStore::new(Layout::seed(), config).unwrap();
    let mut m = store.metrics();
    let obs = Observation {
        counter_hits: &[true],
        ..Observation::at(0)
    };
    let short = "x".repeat(32);
    let long_a = "y".repeat(10_000) + "a";
    let long_b = "y".repeat(10_000) + "b";
    assert_eq!(
        store.observe(&short, &obs, &mut m).tracking,
        Tracking::Inserted
    );
    for n in 1..=3 {
        assert_eq!(
            store.observe(&long_a, &obs, &mut m).tracking,
            if n == 1 {
                Tracking::Inserted
            } else {
                Tracking::Existing
            }
        );
        assert_eq!(m.count(0), Some(n), "one agent, however long its id");
    }
    // Same start, another end: another agent.
    assert_eq!(
        store.observe(&long_b, &obs, &mut m).tracking,
        Tracking::Inserted
    );
    assert_eq!(m.count(0), Some(1));
    assert_eq!(store.len(), 3);
    assert_eq!(store.stats().untracked_events, 0);
    assert!(store.contains(&long_a) && store.contains(&long_b));
    // Each key is at most 32 bytes: 15 of the id, `#`, 16 hex digits.
    let seed_agent = store.new_agent_memory_bytes(0);
    assert_eq!(store.agent_memory_bytes(&short), Some(seed_agent + 32));
    assert_eq!(store.agent_memory_bytes(&long_a), Some(seed_agent + 32));
    assert_eq!(store.bytes(), 3 * (seed_agent + 32));
}

#[test]
fn invalid_layouts_are_errors() {
    let bad = Layout {
        counters: vec![CounterSpec::over(61)],
        ..Layout::default()
    };
    assert!(StateStore::new(bad, StoreConfig::default()).is_err());
    let bad = Layout {
        counters: vec![CounterSpec::over(60_000).with_history(MAX_HISTORY_WINDOWS + 1)],
        ..Layout::default()
    };
    assert!(StateStore::new(bad, StoreConfig::default()).is_err());
    let bad = Layout {
        distincts: vec![DistinctSpec::over(0)],
        ..Layout::default()
    };
    assert!(StateStore::new(bad, StoreConfig::default()).is_err());
    let bad = Layout {
        first_seens: vec![FirstSeenSpec {
            retention_ms: 1,
            capacity: 0,
        }],
        ..Layout::default()
    };
    let err = StateStore::new(bad, StoreConfig::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "first_seen 0: capacity 0 is not between 1 and 4096"
    );
}

#[test]
fn wrongly_sized_metrics_are_resized_and_short_observations_read_as_absent() {
    let layout = Layout {
        counters: vec![
            CounterSpec::requests_per_minute(),
            CounterSpec::over(60_000).keyed(),
        ],
        first_seens: vec![FirstSeenSpec::default()],
        ..Layout::default()
    };
    let store = StateStore::new(layout, StoreConfig::default()).unwrap();
    let mut m = Metrics::default();
    store.observe("a", &Observation::at(0), &mut m);
    assert_eq!(m.count(0), Some(0), "no hit given");
    assert_eq!(m.count(1), None, "no key given");
    assert_eq!(m.first_seen(0), None);
    assert_eq!(m.count(7), None);
}

#[test]
fn agent_state_round_trips_through_serde() {
    let layout = Layout {
        counters: vec![CounterSpec::requests_per_minute().with_history(60)],
        distincts: vec![DistinctSpec::over(60_000)],
        first_seens: vec![FirstSeenSpec::default()],
        cells: Vec::new(),
        cooldowns_ms: Vec::new(),
        names: Default::default(),
    };
    let store = StateStore::new(layout, StoreConfig::default()).unwrap();
    let mut m = store.metrics();
    for j in 0..40u64 {
        let v = [j % 7];
        store.observe(
            "a",
            &Observation {
                counter_hits: &[true],
                distinct_values: &[Some(&v)],
                first_seen_values: &[Some(&v)],
                ..Observation::at(j as i64 * 20_000)
            },
            &mut m,
        );
    }
    let state = store.agent_state("a").unwrap();
    let json = serde_json::to_string(&state).unwrap();
    let back: riskgate::run::state::AgentState = serde_json::from_str(&json).unwrap();
    assert_eq!(back, state);
}

#[test]
fn observe_on_an_existing_agent_allocates_nothing() {
    let layout = Layout {
        counters: vec![
            CounterSpec::requests_per_minute().with_history(60),
            CounterSpec::over(HOUR as u64).with_history(24).keyed(),
            CounterSpec::over(5 * MINUTE as u64),
        ],
        distincts: vec![DistinctSpec::over(HOUR as u64)],
        first_seens: vec![FirstSeenSpec::default()],
        cells: Vec::new(),
        cooldowns_ms: Vec::new(),
        names: Default::default(),
    };
    let store = StateStore::new(layout, StoreConfig::default()).unwrap();
    let mut m = store.metrics();
    let run = |m: &mut Metrics, from: i64, n: i64| {
        for j in from..from + n {
            let v = [(j % 5) as u64];
            let obs = Observation {
                counter_hits: &[true, j % 3 == 0, j % 2 == 0],
                counter_keys: &[None, Some("203.0.113.9"), None],
                distinct_values: &[Some(&v)],
                first_seen_values: &[Some(&v)],
                // Mostly forward, every 7th event two minutes late.
                ..Observation::at(j * 1_500 - if j % 7 == 0 { 2 * MINUTE } else { 0 })
            };
            store.observe("datadog-remediation-prod", &obs, m);
        }
    };
    // Warm up: agent and key inserted, sets at their steady size.
    run(&mut m, 0, 100);
    let before = allocations();
    run(&mut m, 100, 20_000);
    assert_eq!(allocations() - before, 0);
    assert!(m.baseline(0, 60).is_some());
    assert!(m.count(1).is_some());
    // The counter does count: a new agent allocates its key and state.
    let before = allocations();
    store.observe("another-agent", &Observation::at(0), &mut m);
    assert!(allocations() > before);
}
