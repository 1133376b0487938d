//! A partition-owned engine: the agents of one partition, evaluated by the
//! one thread that owns them, behind `&mut self`.
//!
//! [`Engine`](crate::Engine) is shared: any thread evaluates any agent, so
//! every evaluation pays for a concurrent map lookup, an epoch guard, the
//! agent's lock and an atomic load of the program. A [`Partition`] is owned:
//! it holds its agents in plain hash maps, its counters in plain integers,
//! and evaluates with no atomic operation, no lock and no guard. Run one per
//! core and route each event to the partition of its agent
//! ([`partition_of`](crate::partition_of)), as stream processors with a
//! thread per core do. The semantics are the engine's (the same windows,
//! baselines, cooldowns, limits and verdicts), and so is the state: a
//! partition writes the engine's snapshots and starts from them, so state
//! moves between the two.
//!
//! ```
//! use riskgate::{ActorKind, Categories, Engine, Event, RuleSet};
//! let rules = RuleSet::from_source("r.rules",
//!     "Rule 1 — burst\nTrigger: requests_per_minute > 2\nAction: deny\nSeverity: HIGH\n")?;
//! let mut partition = Engine::builder(rules.compile()).build_partition()?;
//! let event = |t: i64| Event::builder("svc-1", 1_795_910_400_000 + t)
//!     .actor(ActorKind::ServiceApp).categories(Categories::AUTHENTICATION).build();
//! assert_eq!(partition.evaluate(&event(0)).decision, riskgate::Decision::Allow);
//! assert_eq!(partition.evaluate(&event(1)).decision, riskgate::Decision::Allow);
//! assert_eq!(partition.evaluate(&event(2)).decision, riskgate::Decision::Deny);
//! assert_eq!(partition.stats().events, 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::Arc;

use ahash::AHashMap;

use crate::compile::program::Program;
use crate::input::event::Event;
use crate::input::profile::Profiles;
use crate::run::clock::Clock;
use crate::run::decide::{decide, shape};
use crate::run::eval::{NoMetrics, ResolvedProfile};
use crate::run::profiles::{carry_resolved, fresh_profiles};
use crate::run::reload::{ReloadError, ReloadReport};
use crate::run::snapshot::{SnapshotFilter, SnapshotSummary};
use crate::run::state::owned::OwnedStore;
use crate::run::state::{self, Inputs, Metrics};
use crate::run::stats::Stats;
use crate::run::verdict::Verdict;

/// The agents of one partition and the program they are evaluated with
/// (see the module docs). `Send`: move it to the thread that owns it;
/// evaluating takes `&mut self`.
pub struct Partition {
    program: Arc<Program>,
    store: OwnedStore,
    profile_ids: AHashMap<Box<str>, u32>,
    profile_list: Box<[ResolvedProfile]>,
    cooldown_slots: Box<[Option<u32>]>,
    /// The program keeps per-agent state (metrics or cooldowns).
    stateful: bool,
    /// Every counter hit, when the program's metrics are all plain
    /// per-agent counters: nothing to compute per event.
    plain_hits: Option<Box<[bool]>>,
    fired: Vec<u64>,
    events: u64,
    reloads: u64,
    clock: Arc<dyn Clock>,
    clock_monotonic: bool,
    now_cache: i64,
    inputs: Inputs,
    metrics: Metrics,
}

impl std::fmt::Debug for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Partition")
            .field("rules", &self.program.rules.len())
            .field("tracked_agents", &self.store.len())
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

impl Partition {
    pub(crate) fn new(
        program: Arc<Program>,
        store: OwnedStore,
        cooldown_slots: Box<[Option<u32>]>,
        (profile_ids, profile_list): (AHashMap<Box<str>, u32>, Box<[ResolvedProfile]>),
        clock: Arc<dyn Clock>,
    ) -> Self {
        let (stateful, plain_hits) = shape(&program, &cooldown_slots);
        let metrics = store.metrics();
        Partition {
            fired: vec![0; program.rules.len()],
            program,
            store,
            profile_ids,
            profile_list,
            cooldown_slots,
            stateful,
            plain_hits,
            events: 0,
            reloads: 0,
            clock_monotonic: clock.is_monotonic(),
            clock,
            now_cache: i64::MIN,
            inputs: Inputs::default(),
            metrics,
        }
    }

    /// The program.
    pub fn program(&self) -> &Arc<Program> {
        &self.program
    }

    /// Evaluates one event of this partition's agents: counts it in the
    /// agent's windows, then evaluates the rules that can fire for it.
    pub fn evaluate<'e>(&mut self, event: &'e Event<'e>) -> Verdict<'e> {
        self.run(event, false)
    }

    /// [`Partition::evaluate`], with an explanation on every match.
    pub fn evaluate_explained<'e>(&mut self, event: &'e Event<'e>) -> Verdict<'e> {
        self.run(event, true)
    }

    fn run<'e>(&mut self, event: &'e Event<'e>, explain: bool) -> Verdict<'e> {
        self.events += 1;
        let now_ms = self.now_ms(event);
        let Partition {
            program,
            store,
            profile_ids,
            profile_list,
            cooldown_slots,
            stateful,
            plain_hits,
            fired,
            inputs,
            metrics,
            ..
        } = self;
        // With plain counters nothing needs the profile before the agent's
        // state is found: the profile's index is kept with the agent (its
        // tag) when it is first tracked, and found through it after.
        let in_slot = plain_hits.is_some() && *stateful;
        let profile = if in_slot {
            None
        } else {
            profile_of(profile_ids, profile_list, &event.agent)
        };
        let mut verdict = Verdict::allow(event.time_ms, &event.agent);
        let count = |i: usize| {
            if let Some(n) = fired.get_mut(i) {
                *n += 1;
            }
        };
        if !*stateful {
            decide(
                program,
                cooldown_slots,
                event,
                profile,
                &NoMetrics,
                None,
                explain,
                &mut verdict,
                count,
            );
            return verdict;
        }
        let list = &**profile_list;
        let read = |view: &state::MetricsView<'_>, cooldowns: &mut state::Cooldowns<'_>| {
            let profile = if in_slot {
                view.tag().checked_sub(1).and_then(|i| list.get(i as usize))
            } else {
                profile
            };
            decide(
                program,
                cooldown_slots,
                event,
                profile,
                view,
                Some(cooldowns),
                explain,
                &mut verdict,
                count,
            );
        };
        match plain_hits {
            Some(hits) => {
                let obs = state::Observation {
                    counter_hits: hits,
                    now_ms,
                    ..state::Observation::at(event.time_ms)
                };
                let tag = || {
                    profile_ids
                        .get(&*event.agent)
                        .map_or(0, |&i| i.saturating_add(1))
                };
                store.observe_then(&event.agent, &obs, metrics, tag, read);
            }
            None => {
                state::with_observation(program, event, profile, now_ms, inputs, |obs| {
                    store.observe_then(&event.agent, obs, metrics, || 0, read);
                });
            }
        }
        verdict
    }

    /// The clock for the forward-skew check; read only when a limit is set
    /// (a monotonic clock about once per limit of event time).
    fn now_ms(&mut self, event: &Event<'_>) -> i64 {
        let (now, read) = crate::run::clock::skew_now(
            &*self.clock,
            self.clock_monotonic,
            self.store.config().max_forward_skew_ms,
            || self.now_cache,
            event.time_ms,
        );
        if let Some(read) = read {
            self.now_cache = self.now_cache.max(read);
        }
        now
    }

    /// Installs `program` as [`Engine::reload`](crate::Engine::reload) does
    /// for an engine: the state of every metric both programs have (by
    /// canonical definition) is kept, new metrics start empty, the others'
    /// state is released; cooldowns and rule counts go on by rule id; the
    /// profiles are those in force, resolved for the new program. The
    /// state is copied through an engine store and back: a reload costs
    /// time in proportion to the partition's state (milliseconds for tens
    /// of thousands of agents), between two events.
    ///
    /// # Errors
    /// [`ReloadError`] when the new program reads profile fields the old one
    /// did not (use [`reload_with_profiles`](Self::reload_with_profiles)) or
    /// asks for state the store cannot keep; the partition then goes on with
    /// the old program, unchanged.
    pub fn reload(&mut self, program: Arc<Program>) -> Result<ReloadReport, ReloadError> {
        self.install(program, None)
    }

    /// [`reload`](Self::reload) with new profiles.
    ///
    /// # Errors
    /// As [`reload`](Self::reload).
    pub fn reload_with_profiles(
        &mut self,
        program: Arc<Program>,
        profiles: &Profiles,
    ) -> Result<ReloadReport, ReloadError> {
        self.install(program, Some(profiles))
    }

    fn install(
        &mut self,
        program: Arc<Program>,
        profiles: Option<&Profiles>,
    ) -> Result<ReloadReport, ReloadError> {
        let shared = self
            .store
            .to_shared()
            .map_err(|e| ReloadError::State(e.to_string()))?;
        let (layout, cooldown_slots) = state::layout_of(&program);
        let mut report = ReloadReport::between(&self.program, &shared.layout(), &program, &layout);
        let resolved = match profiles {
            Some(profiles) => fresh_profiles(&program, profiles),
            None => (
                self.profile_ids.clone(),
                carry_resolved(&self.program, &self.profile_list, &program)?,
            ),
        };
        let gen = shared.prepare(layout)?;
        let old_gen = shared.swap_generation(gen);
        let settled = shared.settle(&old_gen);
        report.swept_agents = settled.swept_agents;
        report.released_keys = settled.released_keys;
        report.released_bytes = settled.released_bytes;
        let ids = &resolved.0;
        let tag = |key: &str| ids.get(key).map_or(0, |&i| i.saturating_add(1));
        let store = OwnedStore::from_shared(&shared, &tag)?;
        let mut next = Partition::new(
            program,
            store,
            cooldown_slots,
            resolved,
            Arc::clone(&self.clock),
        );
        // Rule counts go on by rule id; the events counted and reloads too.
        let counts: AHashMap<&str, u64> = self
            .program
            .rules
            .iter()
            .zip(&self.fired)
            .map(|(r, n)| (&*r.id, *n))
            .collect();
        for (r, n) in next.program.rules.iter().zip(next.fired.iter_mut()) {
            *n += counts.get(&*r.id).copied().unwrap_or(0);
        }
        next.events = self.events;
        next.reloads = self.reloads + 1;
        next.now_cache = self.now_cache;
        *self = next;
        Ok(report)
    }

    /// Counters since the partition was built, as [`Engine::stats`](crate::Engine::stats).
    pub fn stats(&self) -> Stats {
        let fired = self
            .program
            .rules
            .iter()
            .zip(&self.fired)
            .map(|(r, n)| (r.id.clone(), *n))
            .collect();
        Stats::from_store(self.store.stats(), self.events, self.reloads, fired)
    }

    /// Drops the state of agents (and keys) idle since before
    /// `watermark_ms - idle_ttl`; returns the number of agents dropped.
    pub fn evict_idle(&mut self, watermark_ms: i64) -> usize {
        self.store.evict_idle(watermark_ms)
    }

    /// (rule, agent) pairs with a cooldown entry.
    pub fn cooldown_entries(&self) -> usize {
        self.store.cooldown_entries()
    }

    /// A copy of `agent`'s state, if the partition tracks it.
    pub fn agent_state(&self, agent: &str) -> Option<state::AgentState> {
        self.store.agent_state(agent)
    }

    /// Writes the partition's state as an engine snapshot (the format of
    /// [`Engine::snapshot`](crate::Engine::snapshot): an engine or a
    /// partition restores it). The state is copied into the snapshot
    /// writer's form first: the partition's whole state once more in memory
    /// while it is written.
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
    /// corresponds to.
    ///
    /// # Errors
    /// What writing to `writer` returns.
    pub fn snapshot_at<W: std::io::Write>(
        &self,
        writer: W,
        filter: &SnapshotFilter,
        position: std::collections::BTreeMap<String, u64>,
    ) -> std::io::Result<SnapshotSummary> {
        let shared = self.store.to_shared()?;
        crate::run::snapshot::write_snapshot(&shared, writer, filter, position)
    }
}

/// `agent`'s profile, by a lookup of its id.
fn profile_of<'p>(
    ids: &AHashMap<Box<str>, u32>,
    list: &'p [ResolvedProfile],
    agent: &str,
) -> Option<&'p ResolvedProfile> {
    if ids.is_empty() {
        return None;
    }
    list.get(*ids.get(agent)? as usize)
}
