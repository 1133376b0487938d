//! What `/metrics` says, in the Prometheus (OpenMetrics) text format:
//! counters the service keeps as it goes, and gauges read from the engine
//! at each scrape.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use riskgate::run::engine::Engine;
use riskgate::run::verdict::Verdict;

type Labels = Vec<(String, String)>;

/// What the engines hold now (summed over the partitions' engines).
#[derive(Clone, Copy, Debug, Default)]
pub struct Gauges {
    /// Agents with state.
    pub agents: u64,
    /// Agents evicted since the start.
    pub evicted_agents: u64,
    /// Keys of keyed counters.
    pub keys: u64,
    /// Bytes of state.
    pub bytes: u64,
}

impl Gauges {
    /// The gauges of one engine.
    pub fn of(engine: &Engine) -> Self {
        let s = engine.stats();
        Gauges {
            agents: s.tracked_agents,
            evicted_agents: s.evicted_agents,
            keys: s.tracked_keys,
            bytes: s.state_bytes,
        }
    }

    /// The sum of two.
    #[cfg_attr(not(feature = "kafka"), allow(dead_code))]
    pub fn add(self, o: Gauges) -> Self {
        Gauges {
            agents: self.agents + o.agents,
            evicted_agents: self.evicted_agents + o.evicted_agents,
            keys: self.keys + o.keys,
            bytes: self.bytes + o.bytes,
        }
    }
}

/// The service's metrics.
pub struct Metrics {
    registry: Registry,
    events: Counter,
    bad_events: Counter,
    decisions: Family<Labels, Counter>,
    fired: Family<Labels, Counter>,
    reloads: Counter,
    reload_errors: Counter,
    reload_failing: Gauge,
    agents: Gauge,
    agents_evicted: Gauge,
    keys: Gauge,
    state_bytes: Gauge,
    snapshot_age: Gauge,
    lag: Gauge,
    /// Unix time (s) of the last snapshot written or restored; 0: none.
    pub last_snapshot_s: AtomicI64,
    /// Input not yet evaluated: lines read (stdin), or records of the
    /// owned partitions behind their end (Kafka, at each commit).
    pub queued: AtomicU64,
    /// The last reload error, for the log and `/metrics`.
    pub last_reload_error: Mutex<Option<String>>,
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("riskgate");
        let m = Metrics {
            events: Counter::default(),
            bad_events: Counter::default(),
            decisions: Family::default(),
            fired: Family::default(),
            reloads: Counter::default(),
            reload_errors: Counter::default(),
            reload_failing: Gauge::default(),
            agents: Gauge::default(),
            agents_evicted: Gauge::default(),
            keys: Gauge::default(),
            state_bytes: Gauge::default(),
            snapshot_age: Gauge::default(),
            lag: Gauge::default(),
            last_snapshot_s: AtomicI64::new(0),
            queued: AtomicU64::new(0),
            last_reload_error: Mutex::new(None),
            registry: Registry::default(),
        };
        registry.register("events", "Events evaluated", m.events.clone());
        registry.register(
            "bad_events",
            "Input lines that were not events (reported, skipped)",
            m.bad_events.clone(),
        );
        registry.register("decisions", "Verdicts by decision", m.decisions.clone());
        registry.register(
            "rule_fired",
            "Rule matches by rule and severity (shadow rules included)",
            m.fired.clone(),
        );
        registry.register("reloads", "Rules or profiles reloaded", m.reloads.clone());
        registry.register(
            "reload_errors",
            "Reloads refused (the old rules ran on)",
            m.reload_errors.clone(),
        );
        registry.register(
            "reload_failing",
            "1 while the files on disk fail to load",
            m.reload_failing.clone(),
        );
        registry.register("agents_tracked", "Agents with state", m.agents.clone());
        registry.register(
            "agents_evicted",
            "Agents whose state was dropped since the start",
            m.agents_evicted.clone(),
        );
        registry.register(
            "keys_tracked",
            "Keys of keyed counters with state",
            m.keys.clone(),
        );
        registry.register("state_bytes", "Bytes of state held", m.state_bytes.clone());
        registry.register(
            "snapshot_age_seconds",
            "Seconds since the last snapshot written or restored (-1: none)",
            m.snapshot_age.clone(),
        );
        registry.register(
            "lag",
            "Input lines read and not yet evaluated",
            m.lag.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Counts a verdict.
    pub fn verdict(&self, v: &Verdict<'_>) {
        self.events.inc();
        self.decisions
            .get_or_create(&vec![("decision".into(), v.decision.as_str().into())])
            .inc();
        for m in v.matches() {
            self.fired
                .get_or_create(&vec![
                    ("rule".into(), m.rule().to_string()),
                    ("severity".into(), m.severity().as_str().into()),
                ])
                .inc();
        }
    }

    /// Counts a bad line.
    pub fn bad(&self) {
        self.bad_events.inc();
    }

    /// Counts a reload, or a refused one with its error.
    pub fn reload(&self, error: Option<String>) {
        match &error {
            None => {
                self.reloads.inc();
                self.reload_failing.set(0);
            }
            Some(_) => {
                self.reload_errors.inc();
                self.reload_failing.set(1);
            }
        }
        if error.is_some() {
            if let Ok(mut last) = self.last_reload_error.lock() {
                *last = error;
            }
        }
    }

    /// The text of `/metrics`, with the engines' gauges read now.
    pub fn render(&self, state: Gauges, now_s: i64) -> String {
        let gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.agents.set(gauge(state.agents));
        self.agents_evicted.set(gauge(state.evicted_agents));
        self.keys.set(gauge(state.keys));
        self.state_bytes.set(gauge(state.bytes));
        let last = self.last_snapshot_s.load(Ordering::Relaxed);
        self.snapshot_age
            .set(if last == 0 { -1 } else { (now_s - last).max(0) });
        self.lag.set(gauge(self.queued.load(Ordering::Relaxed)));
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
