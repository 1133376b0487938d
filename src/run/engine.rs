//! The engine: a compiled program, agent profiles, the per-agent state store
//! and a clock; `evaluate(&self, &Event)` from any number of threads.
//!
//! ```
//! use riskgate::{Engine, Event, RuleSet, Decision, ActorKind, Categories};
//! let rules = RuleSet::from_source("seed.rules", include_str!("../../examples/rules/seed.rules"))?;
//! let engine = Engine::builder(rules.compile()).build()?;
//! let event = Event::builder("svc-1", 1_700_000_000_000)
//!     .actor(ActorKind::ServiceApp)
//!     .categories(Categories::AUTHENTICATION)
//!     .ip("203.0.113.9".parse()?)
//!     .build();
//! let verdict = engine.evaluate(&event);
//! assert_eq!(verdict.decision, Decision::Suspend);
//! assert_eq!(verdict.rule_ids().collect::<Vec<_>>(), ["1"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::cell::RefCell;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use ahash::AHashMap;
use arc_swap::ArcSwap;

use crate::compile::program::Program;
use crate::input::event::Event;
pub use crate::run::clock::{Clock, EventClock, ManualClock, SystemClock};
use crate::run::decide::{decide, shape};
use crate::run::eval::{NoMetrics, ResolvedProfile};
use crate::run::profiles::{carry_resolved, fresh_profiles};
use crate::run::reload::{ReloadError, ReloadReport};
use crate::run::snapshot::{self, RestoreError, SnapshotFilter, SnapshotSummary};
use crate::run::state::{self, StateStore};
pub use crate::run::stats::Stats;
use crate::run::verdict::Verdict;

/// Builds an [`Engine`].
pub struct EngineBuilder {
    program: Arc<Program>,
    profiles: crate::input::profile::Profiles,
    config: state::StoreConfig,
    clock: Arc<dyn Clock>,
}

impl EngineBuilder {
    /// The program the engine will run.
    pub fn program(&self) -> &Arc<Program> {
        &self.program
    }

    /// Agent profiles (read by `agent.<field>` and profile-bound lists).
    pub fn profiles(mut self, profiles: &crate::input::profile::Profiles) -> Self {
        // A copy of the map of shared profiles, kept to resolve them again
        // for the program of a reload.
        self.profiles = profiles.clone();
        self
    }
    /// Most agents with state (default 1 000 000). Agents past it are still
    /// evaluated, with fresh state (windows holding only the event, no
    /// cooldown: their alerts are not suppressed), and counted in
    /// [`Stats::untracked`].
    pub fn max_agents(mut self, n: usize) -> Self {
        self.config.max_agents = n;
        self
    }
    /// Most keys of keyed counters (`count(..) by F`) kept at once
    /// (default 1,000,000); a new key at the cap first evicts the least
    /// recently seen eighth of the keys ([`Stats::evicted_keys`]).
    pub fn max_keys(mut self, n: usize) -> Self {
        self.config.max_keys = n;
        self
    }
    /// Most keys one agent's events create and keep (default 10,000): past
    /// it, the agent's new key evicts the oldest key it created
    /// ([`Stats::quota_evicted_keys`]), so one agent cannot fill the key
    /// space and starve the others' counters.
    pub fn max_keys_per_agent(mut self, n: usize) -> Self {
        self.config.max_keys_per_agent = n;
        self
    }
    /// Budget of state bytes, over all agents and keys (default 1 GiB;
    /// [`Stats::state_bytes`] is the figure it bounds). An evaluation that
    /// leaves the state above it evicts the least recently seen agents and
    /// keys, an eighth of the budget at a time ([`Stats::evicted_agents`],
    /// [`Stats::evicted_keys`]).
    pub fn max_state_bytes(mut self, bytes: usize) -> Self {
        self.config.max_state_bytes = bytes;
        self
    }
    /// Longest agent id kept as it is (default 1,024 bytes); a longer one is
    /// kept as its start and a 64-bit hash of the whole id.
    pub fn max_key_bytes(mut self, bytes: usize) -> Self {
        self.config.max_key_bytes = bytes;
        self
    }
    /// Drop an agent's state after this long without events (event time).
    pub fn idle_ttl_ms(mut self, ms: u64) -> Self {
        self.config.idle_ttl_ms = Some(ms);
        self
    }
    /// Events stamped more than `ms` ahead of the [clock](Self::clock) are
    /// evaluated but not counted: they do not move the agent's windows, are
    /// not remembered as seen and start no cooldown, and each is tallied in
    /// [`Stats::skewed`]. Default: 5 minutes
    /// ([`state::DEFAULT_MAX_FORWARD_SKEW_MS`]).
    pub fn max_forward_skew_ms(self, ms: u64) -> Self {
        self.forward_skew_limit_ms(Some(ms))
    }
    /// The forward-skew limit of [`max_forward_skew_ms`](Self::max_forward_skew_ms),
    /// or `None` to trust every event time (one event stamped in the year
    /// 9999 then moves its agent's windows past every later event).
    pub fn forward_skew_limit_ms(mut self, ms: Option<u64>) -> Self {
        self.config.max_forward_skew_ms = ms;
        self
    }
    /// The clock the forward skew is measured against (default:
    /// [`SystemClock`], also in replays; tests inject a [`ManualClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
    /// The engine. Fails only if the program asks for state the store cannot
    /// keep (the checker rules such programs out).
    pub fn build(self) -> Result<Engine, state::StateError> {
        let (layout, cooldown_slots) = state::layout_of(&self.program);
        let store = StateStore::new(layout, self.config.clone())?;
        let resolved = fresh_profiles(&self.program, &self.profiles);
        Ok(self.finish(store, cooldown_slots, resolved))
    }

    /// A [`Partition`](crate::run::partition::Partition): this builder's
    /// program, profiles, limits and clock, for the agents one thread owns.
    ///
    /// # Errors
    /// As [`build`](Self::build).
    pub fn build_partition(self) -> Result<crate::run::partition::Partition, state::StateError> {
        let (layout, cooldown_slots) = state::layout_of(&self.program);
        let store = state::owned::OwnedStore::new(layout, self.config.clone())?;
        let resolved = fresh_profiles(&self.program, &self.profiles);
        Ok(crate::run::partition::Partition::new(
            self.program,
            store,
            cooldown_slots,
            resolved,
            self.clock,
        ))
    }

    /// A [`Partition`](crate::run::partition::Partition) whose state comes
    /// from a snapshot (of an engine or of a partition), as
    /// [`restore`](Self::restore) restores an engine.
    ///
    /// # Errors
    /// As [`restore`](Self::restore).
    pub fn restore_partition<R: std::io::Read>(
        self,
        reader: R,
    ) -> Result<(crate::run::partition::Partition, RestoreReport), RestoreError> {
        let clock = Arc::clone(&self.clock);
        let (engine, report) = self.restore(reader)?;
        let core = engine.core.load_full();
        // An agent's tag is its profile's index + 1 (0: none), as a new
        // agent's in a partition.
        let ids = &core.profile_ids;
        let tag = |key: &str| ids.get(key).map_or(0, |&i| i.saturating_add(1));
        let store = state::owned::OwnedStore::from_shared(&engine.store, &tag)?;
        let resolved = (core.profile_ids.clone(), core.profile_list.clone());
        let partition = crate::run::partition::Partition::new(
            Arc::clone(&core.program),
            store,
            core.cooldown_slots.clone(),
            resolved,
            clock,
        );
        Ok((partition, report))
    }

    /// The engine, its state restored from a snapshot
    /// ([`Engine::snapshot`]), under this builder's program: the state of
    /// every metric the program shares with the snapshot (by canonical
    /// definition, as [`Engine::reload`] matches them) is restored, the
    /// program's other metrics start empty, and the snapshot's others are
    /// left out. The snapshot's store limits are not restored: this
    /// builder's apply.
    ///
    /// # Errors
    /// [`RestoreError`] when the snapshot is truncated, corrupt, of another
    /// format version, holds state that does not fit its own layout, or
    /// shares nothing with the program. Nothing is loaded then.
    ///
    /// ```
    /// use riskgate::{ActorKind, Categories, Engine, Event, RuleSet};
    /// use riskgate::run::snapshot::SnapshotFilter;
    /// let rules = RuleSet::from_source("r.rules",
    ///     "Rule 1 — burst\nTrigger: requests_per_minute > 2\nAction: deny\nSeverity: HIGH\n")?;
    /// let event = |t: i64| Event::builder("svc-1", 1_795_910_400_000 + t)
    ///     .actor(ActorKind::ServiceApp).categories(Categories::AUTHENTICATION).build();
    /// let before = Engine::builder(rules.compile()).build()?;
    /// for t in 0..2 {
    ///     before.evaluate(&event(t));
    /// }
    /// let mut bytes = Vec::new();
    /// before.snapshot(&mut bytes, &SnapshotFilter::All)?;
    /// let (after, report) = Engine::builder(rules.compile()).restore(&bytes[..])?;
    /// assert_eq!(report.summary.agents, 1);
    /// // The third request of the minute, on the restored engine.
    /// assert_eq!(after.evaluate(&event(2)).decision, riskgate::Decision::Deny);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn restore<R: std::io::Read>(
        self,
        reader: R,
    ) -> Result<(Engine, RestoreReport), RestoreError> {
        let resolved = fresh_profiles(&self.program, &self.profiles);
        let ids = &resolved.0;
        let tag = |key: &str| ids.get(key).map_or(0, |&i| i.saturating_add(1));
        let restored = snapshot::read_snapshot(reader, self.config.clone(), &tag)?;
        self.finish_restored(restored, resolved)
    }

    /// [`restore`](Self::restore) from several snapshots of one engine's
    /// state (a changelog's latest records: agents written apart, keys
    /// apart), merged into one store; they must share one layout and key
    /// hasher. No parts at all: a fresh engine, as [`build`](Self::build).
    ///
    /// # Errors
    /// As [`restore`](Self::restore); an agent in two parts is an error.
    pub fn restore_parts<'p>(
        self,
        parts: impl IntoIterator<Item = &'p [u8]>,
    ) -> Result<(Engine, RestoreReport), RestoreError> {
        let resolved = fresh_profiles(&self.program, &self.profiles);
        let ids = &resolved.0;
        let tag = |key: &str| ids.get(key).map_or(0, |&i| i.saturating_add(1));
        match snapshot::read_parts(parts, self.config.clone(), &tag)? {
            Some(restored) => self.finish_restored(restored, resolved),
            None => {
                let (layout, cooldown_slots) = state::layout_of(&self.program);
                let store = StateStore::new(layout, self.config.clone())?;
                Ok((
                    self.finish(store, cooldown_slots, resolved),
                    RestoreReport::default(),
                ))
            }
        }
    }

    fn finish_restored(
        self,
        restored: snapshot::Restored,
        resolved: (AHashMap<Box<str>, u32>, Box<[ResolvedProfile]>),
    ) -> Result<(Engine, RestoreReport), RestoreError> {
        let store = restored.store;
        let (layout, cooldown_slots) = state::layout_of(&self.program);
        let metrics = ReloadReport::metrics_between(&store.layout(), &layout);
        if metrics.shares_nothing() {
            return Err(RestoreError::WrongProgram {
                snapshot: metrics.old_count(),
                program: metrics.new_count(),
            });
        }
        let gen = store.prepare(layout)?;
        let old = store.swap_generation(gen);
        store.settle(&old);
        drop(old);
        let report = RestoreReport {
            summary: restored.summary,
            kept_metrics: metrics.kept,
            new_metrics: metrics.new,
            dropped_metrics: metrics.dropped,
        };
        Ok((self.finish(store, cooldown_slots, resolved), report))
    }

    fn finish(
        self,
        store: StateStore,
        cooldown_slots: Box<[Option<u32>]>,
        resolved: (AHashMap<Box<str>, u32>, Box<[ResolvedProfile]>),
    ) -> Engine {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let core = Core::new(
            self.program,
            store.generation(),
            cooldown_slots,
            resolved,
            NEXT_ID.fetch_add(1, Ordering::Relaxed),
        );
        Engine {
            core: ArcSwap::from_pointee(core),
            store,
            tags_valid: std::sync::atomic::AtomicBool::new(true),
            clock_monotonic: self.clock.is_monotonic(),
            clock: self.clock,
            now_cache: AtomicI64::new(i64::MIN),
            events: EventCount::default(),
            reload_lock: Mutex::new(()),
            reloads: AtomicU64::new(0),
        }
    }
}

/// What [`EngineBuilder::restore`] restored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RestoreReport {
    /// Agents, keys, bytes and input position of the snapshot.
    pub summary: SnapshotSummary,
    /// Metrics of the program found in the snapshot (restored).
    pub kept_metrics: Vec<String>,
    /// Metrics of the program not in the snapshot (they start empty).
    pub new_metrics: Vec<String>,
    /// Metrics in the snapshot the program does not use (left out).
    pub dropped_metrics: Vec<String>,
}

/// Everything an evaluation reads that comes with the program: swapped as
/// one by [`Engine::reload`], so an evaluation sees one program throughout.
struct Core {
    /// Sizes the thread's scratch buffers: a new one per program.
    id: u64,
    /// False from the swap that installs it until the evaluations on the
    /// program before it have finished: an evaluation that loads it waits
    /// until then, so no agent's state is ever read by an older program
    /// after a newer one brought it up to date.
    ready: std::sync::atomic::AtomicBool,
    program: Arc<Program>,
    /// The state layout the program was compiled into.
    gen: Arc<state::Generation>,
    /// Agent id → index in `profile_list`.
    profile_ids: AHashMap<Box<str>, u32>,
    /// The profiles, resolved for this program's profile paths.
    profile_list: Box<[ResolvedProfile]>,
    /// The profile is found through the agent's slot in the store (its index
    /// kept there when the agent was first tracked), not by a second lookup
    /// by id: when the program has state and nothing needs the profile
    /// before the agent's lock (see [`Engine::observe`]).
    profile_in_slot: bool,
    fired: Box<[AtomicU64]>,
    /// Per rule: its cooldown slot in the agent state, if it has a
    /// cooldown and alerts.
    cooldown_slots: Box<[Option<u32>]>,
    /// The program keeps per-agent state (metrics or cooldowns).
    stateful: bool,
    /// `Some(hits)` (every counter hit) when the program's metrics are all
    /// plain per-agent counters (`count over W`, `requests_per_minute`): such
    /// an event's observation needs nothing computed.
    plain_hits: Option<Box<[bool]>>,
}

impl Core {
    /// Counts a firing of rule `i`.
    fn count_fired(&self, i: usize) {
        if let Some(f) = self.fired.get(i) {
            f.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Adds the rule counts of `old` (no longer evaluating) to this core's,
    /// by rule id.
    fn carry_counts(&self, old: &Core) {
        let counts: AHashMap<&str, u64> = old
            .program
            .rules
            .iter()
            .zip(old.fired.iter())
            .map(|(r, n)| (&*r.id, n.load(Ordering::Relaxed)))
            .collect();
        for (r, n) in self.program.rules.iter().zip(self.fired.iter()) {
            if let Some(&c) = counts.get(&*r.id) {
                n.fetch_add(c, Ordering::Relaxed);
            }
        }
    }

    /// The core of `program` (rule counts start at 0; a reload adds the old
    /// core's with [`Core::carry_counts`]).
    fn new(
        program: Arc<Program>,
        gen: Arc<state::Generation>,
        cooldown_slots: Box<[Option<u32>]>,
        (profile_ids, profile_list): (AHashMap<Box<str>, u32>, Box<[ResolvedProfile]>),
        id: u64,
    ) -> Self {
        let fired = program.rules.iter().map(|_| AtomicU64::new(0)).collect();
        let (stateful, plain_hits) = shape(&program, &cooldown_slots);
        // Tags are `index + 1` (0: no profile).
        let profile_in_slot =
            stateful && plain_hits.is_some() && profile_list.len() < u32::MAX as usize;
        Core {
            id,
            ready: std::sync::atomic::AtomicBool::new(true),
            program,
            gen,
            profile_ids,
            profile_list,
            profile_in_slot,
            fired,
            cooldown_slots,
            stateful,
            plain_hits,
        }
    }
}

/// The rule engine. `Send + Sync`: share it (`Arc`) across threads.
pub struct Engine {
    /// The program and what comes with it, swapped by [`Engine::reload`].
    core: ArcSwap<Core>,
    store: StateStore,
    /// The profile indices kept in the agents' slots are those of the
    /// program in force: false once a reload changed the set of profiles
    /// (profiles are then found by id).
    tags_valid: std::sync::atomic::AtomicBool,
    clock: Arc<dyn Clock>,
    /// `clock.is_monotonic()`: `now_cache` may stand for the clock.
    clock_monotonic: bool,
    /// The latest time read from a monotonic clock.
    now_cache: AtomicI64,
    events: EventCount,
    /// One reload at a time.
    reload_lock: Mutex<()>,
    reloads: AtomicU64,
}

impl std::fmt::Debug for Engine {
    /// The program's size and the state's, not their contents.
    ///
    /// ```
    /// let rules = riskgate::RuleSet::from_source("r.rules",
    ///     "Rule 1 — any\nTrigger: authentication\nAction: flag_for_review\nSeverity: LOW\n")?;
    /// let engine = riskgate::Engine::builder(rules.compile()).build()?;
    /// assert_eq!(format!("{engine:?}"),
    ///     "Engine { rules: 1, tracked_agents: 0, events: 0, reloads: 0, .. }");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let stats = self.stats();
        f.debug_struct("Engine")
            .field("rules", &self.core.load().program.rules.len())
            .field("tracked_agents", &stats.tracked_agents)
            .field("events", &stats.events)
            .field("reloads", &stats.reloads)
            .finish_non_exhaustive()
    }
}

/// The number of events evaluated, striped over cache lines so that threads
/// evaluating at once do not all write one line (a single shared counter
/// costs a cache-line transfer per event between cores).
struct EventCount {
    stripes: [Stripe; EVENT_STRIPES],
}

const EVENT_STRIPES: usize = 16;

/// One counter on a cache line of its own.
#[repr(align(128))]
#[derive(Default)]
struct Stripe(AtomicU64);

impl Default for EventCount {
    fn default() -> Self {
        Self {
            stripes: std::array::from_fn(|_| Stripe::default()),
        }
    }
}

thread_local! {
    /// This thread's stripe of every [`EventCount`].
    static STRIPE: usize = {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        (NEXT.fetch_add(1, Ordering::Relaxed) % EVENT_STRIPES as u64) as usize
    };
}

impl EventCount {
    fn add_one(&self) {
        let i = STRIPE.with(|s| *s);
        if let Some(s) = self.stripes.get(i) {
            s.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn total(&self) -> u64 {
        self.stripes
            .iter()
            .map(|s| s.0.load(Ordering::Relaxed))
            .fold(0u64, u64::wrapping_add)
    }
}

/// Per-thread buffers, reused so that evaluating does not allocate.
#[derive(Default)]
struct Scratch {
    /// The engine these buffers are sized for.
    engine: u64,
    /// The per-metric inputs of the event being evaluated.
    inputs: state::Inputs,
    metrics: state::Metrics,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl Engine {
    /// Starts building an engine for `program`.
    pub fn builder(program: Arc<Program>) -> EngineBuilder {
        EngineBuilder {
            program,
            profiles: crate::input::profile::Profiles::new(),
            config: state::StoreConfig::default(),
            clock: Arc::new(SystemClock),
        }
    }

    /// The program in force.
    pub fn program(&self) -> Arc<Program> {
        Arc::clone(&self.core.load().program)
    }

    /// Evaluates one event: counts it in the agent's windows, then evaluates
    /// the rules that can fire for its actor kind and categories.
    pub fn evaluate<'e>(&self, event: &'e Event<'e>) -> Verdict<'e> {
        self.run(event, false)
    }

    /// [`Engine::evaluate`], with an explanation on every match.
    pub fn evaluate_explained<'e>(&self, event: &'e Event<'e>) -> Verdict<'e> {
        self.run(event, true)
    }

    fn run<'e>(&self, event: &'e Event<'e>, explain: bool) -> Verdict<'e> {
        self.events.add_one();
        // One program for the whole evaluation: a reload waits for it.
        let core = self.core.load();
        let core = &**core;
        if !core.ready.load(Ordering::Acquire) {
            wait_for(&core.ready);
        }
        let profile = if core.profile_in_slot {
            None
        } else {
            self.profile_of(core, &event.agent)
        };
        SCRATCH.with(|cell| {
            let mut guard = cell.borrow_mut();
            let scratch = &mut *guard;
            if scratch.engine != core.id {
                scratch.metrics = state::Metrics::new(core.gen.layout());
                scratch.engine = core.id;
            }
            let mut verdict = Verdict::allow(event.time_ms, &event.agent);
            if core.stateful {
                // The rules are evaluated under the agent's lock, reading its
                // windows in place (nothing copied, a metric computed only if
                // a rule reads it) and its cooldowns.
                self.observe(core, event, profile, scratch, |metrics, cooldowns| {
                    let profile = if core.profile_in_slot {
                        profile_tagged(core, metrics.tag())
                    } else {
                        profile
                    };
                    decide(
                        &core.program,
                        &core.cooldown_slots,
                        event,
                        profile,
                        metrics,
                        Some(cooldowns),
                        explain,
                        &mut verdict,
                        |i| core.count_fired(i),
                    );
                });
            } else {
                decide(
                    &core.program,
                    &core.cooldown_slots,
                    event,
                    profile,
                    &NoMetrics,
                    None,
                    explain,
                    &mut verdict,
                    |i| core.count_fired(i),
                );
            }
            verdict
        })
    }

    /// `agent`'s profile, by a lookup of its id.
    fn profile_of<'c>(&self, core: &'c Core, agent: &str) -> Option<&'c ResolvedProfile> {
        profile_tagged(core, profile_tag(core, agent))
    }

    /// (rule, agent) pairs with a cooldown entry, over all tracked agents
    /// (a scan of the store: for memory figures and tests). The entries live
    /// in the agents' state and go with it.
    pub fn cooldown_entries(&self) -> usize {
        self.store.cooldown_entries()
    }

    /// Computes the per-metric inputs of this event, counts it, and calls
    /// `read` with its metrics while the agent's state is still locked.
    fn observe(
        &self,
        core: &Core,
        event: &Event<'_>,
        profile: Option<&ResolvedProfile>,
        s: &mut Scratch,
        read: impl FnOnce(&state::MetricsView<'_>, &mut state::Cooldowns<'_>),
    ) {
        let program = &*core.program;
        if let Some(hits) = &core.plain_hits {
            // Nothing to compute: every counter counts every event.
            let obs = state::Observation {
                counter_hits: hits,
                now_ms: self.now_ms(event),
                ..state::Observation::at(event.time_ms)
            };
            let tag = || profile_tag(core, &event.agent);
            self.store
                .observe_then_in(&core.gen, &event.agent, &obs, &mut s.metrics, tag, read);
            return;
        }
        self.store.observe_event(
            &core.gen,
            program,
            event,
            profile,
            self.now_ms(event),
            &mut s.inputs,
            &mut s.metrics,
            read,
        );
    }

    /// The clock for the forward-skew check ([`skew_now`](crate::run::clock::skew_now)),
    /// the last reading shared by the threads.
    fn now_ms(&self, event: &Event<'_>) -> i64 {
        let (now, read) = crate::run::clock::skew_now(
            &*self.clock,
            self.clock_monotonic,
            self.store.config().max_forward_skew_ms,
            || self.now_cache.load(Ordering::Relaxed),
            event.time_ms,
        );
        if let Some(read) = read {
            self.now_cache.fetch_max(read, Ordering::Relaxed);
        }
        now
    }

    /// Replaces the program, keeping the state of every metric the new one
    /// shares with the old (by its canonical definition: `count(outcome ==
    /// "FAILURE") over 10m` is the same metric in both whatever rules read
    /// it), starting its new metrics empty (they warm up) and releasing the
    /// state of metrics it no longer uses. Cooldowns are kept by rule id,
    /// and so are the counts of [`Stats::fired`]. The profiles are resolved
    /// again for the new program.
    ///
    /// The swap is atomic: an evaluation sees the old program or the new
    /// one, never a mix. `reload` returns once every evaluation still on the
    /// old program has finished and every agent's state is in the new
    /// layout (each agent under its own lock, while evaluations go on).
    ///
    /// # Errors
    /// [`ReloadError`] when the new program asks for state the store cannot
    /// keep; the old program then keeps running, unchanged.
    ///
    /// ```
    /// use riskgate::{ActorKind, Categories, Decision, Engine, Event, RuleSet};
    /// let rules = |action| format!(
    ///     "Rule 1 — burst\nTrigger: service_app authentication AND requests_per_minute > 2\n\
    ///      Action: {action}\nSeverity: HIGH\n");
    /// let old = RuleSet::from_source("old.rules", &rules("flag_for_review"))?;
    /// let engine = Engine::builder(old.compile()).build()?;
    /// let event = |t: i64| Event::builder("svc-1", 1_795_910_400_000 + t)
    ///     .actor(ActorKind::ServiceApp)
    ///     .categories(Categories::AUTHENTICATION)
    ///     .build();
    /// for t in 0..2 {
    ///     engine.evaluate(&event(t));
    /// }
    /// let new = RuleSet::from_source("new.rules", &rules("deny"))?;
    /// let report = engine.reload(new.compile())?;
    /// assert_eq!(report.kept_metrics, ["requests_per_minute"]);
    /// // The third request of the minute: the count survived the reload.
    /// assert_eq!(engine.evaluate(&event(2)).decision, Decision::Deny);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reload(&self, program: Arc<Program>) -> Result<ReloadReport, ReloadError> {
        self.install(program, None)
    }

    /// [`reload`](Self::reload) with new profiles too (the set of agents
    /// with a profile may change). Needed when the new program reads a
    /// profile path the old one did not: the engine keeps only what its
    /// program reads of each profile.
    ///
    /// # Errors
    /// As [`reload`](Self::reload).
    pub fn reload_with_profiles(
        &self,
        program: Arc<Program>,
        profiles: &crate::input::profile::Profiles,
    ) -> Result<ReloadReport, ReloadError> {
        self.install(program, Some(profiles))
    }

    /// New profiles for the program in force (its state is kept as it is).
    ///
    /// # Errors
    /// As [`reload`](Self::reload).
    pub fn reload_profiles(
        &self,
        profiles: &crate::input::profile::Profiles,
    ) -> Result<ReloadReport, ReloadError> {
        self.install(self.program(), Some(profiles))
    }

    fn install(
        &self,
        program: Arc<Program>,
        profiles: Option<&crate::input::profile::Profiles>,
    ) -> Result<ReloadReport, ReloadError> {
        let _one_at_a_time = self
            .reload_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let old = self.core.load_full();
        let (layout, cooldown_slots) = state::layout_of(&program);
        let mut report = ReloadReport::between(&old.program, old.gen.layout(), &program, &layout);
        let gen = self.store.prepare(layout)?;
        let resolved = match profiles {
            Some(profiles) => fresh_profiles(&program, profiles),
            None => (old.profile_ids.clone(), carry_profiles(&old, &program)?),
        };
        let core = Core::new(
            program,
            Arc::clone(&gen),
            cooldown_slots,
            resolved,
            old.id.wrapping_add(1 << 32),
        );
        let mut core = Core {
            ready: std::sync::atomic::AtomicBool::new(false),
            ..core
        };
        if core.profile_ids != old.profile_ids {
            self.tags_valid.store(false, Ordering::Relaxed);
        }
        core.profile_in_slot &= self.tags_valid.load(Ordering::Relaxed);
        let old_gen = self.store.swap_generation(gen);
        let new_core = Arc::new(core);
        let old_core = self.core.swap(Arc::clone(&new_core));
        drop(old);
        // Wait for the evaluations still on the old program: the swap paid
        // their loans, so the count is exact. They run for microseconds.
        wait_until_alone(&old_core);
        new_core.carry_counts(&old_core);
        new_core.ready.store(true, Ordering::Release);
        drop(old_core);
        wait_until_alone(&old_gen);
        let settled = self.store.settle(&old_gen);
        report.swept_agents = settled.swept_agents;
        report.released_keys = settled.released_keys;
        report.released_bytes = settled.released_bytes;
        self.reloads.fetch_add(1, Ordering::Relaxed);
        Ok(report)
    }

    /// Writes a snapshot of the state of the agents `filter` selects (and
    /// the keys of keyed counters they created) to `writer`, in the format
    /// of [`snapshot`]. Each agent is copied under its
    /// own lock: evaluations go on meanwhile (an agent evaluated during the
    /// snapshot is in it as it stood when copied); reloads wait.
    ///
    /// # Errors
    /// What writing to `writer` returns.
    pub fn snapshot<W: std::io::Write>(
        &self,
        writer: W,
        filter: &SnapshotFilter,
    ) -> std::io::Result<SnapshotSummary> {
        self.snapshot_at(writer, filter, std::collections::BTreeMap::new())
    }

    /// [`snapshot`](Self::snapshot), recording the input position it
    /// corresponds to (a line number, Kafka offsets by `topic/partition`),
    /// which [`RestoreReport::summary`] gives back.
    ///
    /// # Errors
    /// What writing to `writer` returns.
    pub fn snapshot_at<W: std::io::Write>(
        &self,
        writer: W,
        filter: &SnapshotFilter,
        position: std::collections::BTreeMap<String, u64>,
    ) -> std::io::Result<SnapshotSummary> {
        let _no_reload = self
            .reload_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        snapshot::write_snapshot(&self.store, writer, filter, position)
    }

    /// Counters since the engine was built.
    pub fn stats(&self) -> Stats {
        let core = self.core.load();
        let fired = core
            .program
            .rules
            .iter()
            .zip(core.fired.iter())
            .map(|(r, n)| (r.id.clone(), n.load(Ordering::Relaxed)))
            .collect();
        Stats::from_store(
            self.store.stats(),
            self.events.total(),
            self.reloads.load(Ordering::Relaxed),
            fired,
        )
    }
}

impl Engine {
    /// Drops the state of agents (and keys) idle since before
    /// `watermark_ms - idle_ttl`; an agent's cooldowns go with it.
    pub fn evict_idle(&self, watermark_ms: i64) -> usize {
        self.store.evict_idle(watermark_ms)
    }

    /// The state store (for memory figures and tests).
    pub fn store(&self) -> &StateStore {
        &self.store
    }
}

/// The tag the store keeps with `agent`: its profile's index + 1, or 0.
fn profile_tag(core: &Core, agent: &str) -> u32 {
    if core.profile_ids.is_empty() {
        return 0;
    }
    core.profile_ids
        .get(agent)
        .map_or(0, |&i| i.saturating_add(1))
}

/// The profile of a tag from [`profile_tag`].
fn profile_tagged(core: &Core, tag: u32) -> Option<&ResolvedProfile> {
    let i = tag.checked_sub(1)?;
    core.profile_list.get(i as usize)
}

/// Waits until `flag` is set (a reload finishing its swap: microseconds).
fn wait_for(flag: &std::sync::atomic::AtomicBool) {
    let mut spins = 0u32;
    while !flag.load(Ordering::Acquire) {
        if spins < 64 {
            std::hint::spin_loop();
            spins += 1;
        } else {
            std::thread::yield_now();
        }
    }
}

/// Waits until `arc` is the last reference to its value.
fn wait_until_alone<T>(arc: &Arc<T>) {
    let mut spins = 0u32;
    while Arc::strong_count(arc) > 1 {
        if spins < 64 {
            std::hint::spin_loop();
            spins += 1;
        } else {
            std::thread::yield_now();
        }
    }
}

/// The profiles of `old`, resolved for `program` from what `old` kept: each
/// path the new program reads (as a value or as a list, as the old one
/// did). Fails when it reads one the old program did not.
fn carry_profiles(old: &Core, program: &Program) -> Result<Box<[ResolvedProfile]>, ReloadError> {
    carry_resolved(&old.program, &old.profile_list, program)
}
