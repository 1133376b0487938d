//! `riskgate serve` on Kafka: a consumer group over the input topic (keyed
//! by agent id), one engine per assigned partition, verdicts to a topic,
//! and each partition's state in a changelog topic co-partitioned with the
//! input.
//!
//! The changelog holds, per partition, one record per agent (keyed by its
//! id: a snapshot of that agent; a tombstone once it has no state), one
//! record of the partition's keyed-counter keys (`\0keys`) and one of the
//! input offset the state stands at (`\0position`, written last). Every
//! `commit_interval`: the verdicts are flushed, then the changed agents,
//! the keys and the position, then the offsets are committed. On
//! assignment an instance reads the partition's changelog, takes for each
//! agent its latest record, restores them into a fresh engine and skips
//! input below the position; on revocation it flushes and commits first.
//! Processing is at-least-once: after a failover the events since the last
//! flush are evaluated again, with the same verdicts (same state, same
//! event), and carry the same `uuid`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use riskgate::input::okta::{parse_event_with, AttrFilter, Format};
use riskgate::input::profile::Profiles;
use riskgate::lang::diagnostic::printable;
use riskgate::run::engine::Engine;
use riskgate::run::snapshot::SnapshotFilter;
use riskgate::Program;

use super::super::record::Record;
use super::config::Config;
use super::metrics::{Gauges, Metrics};
use super::{http, log};
use crate::cli::output::errln;

/// Changelog key of a partition's keys record.
const KEYS: &str = "\u{0}keys";
/// Changelog key of a partition's position record.
const POSITION: &str = "\u{0}position";
/// Longest wait for the broker in one call.
const TIMEOUT: Duration = Duration::from_secs(30);

/// One assigned partition.
struct Part {
    engine: Engine,
    /// Agents with state in the changelog or since (to rewrite after a
    /// reload, when the layout changes).
    known: BTreeSet<String>,
    /// Agents whose state changed since the last flush.
    dirty: BTreeSet<String>,
    /// The offset of the next input record to evaluate.
    next: i64,
    /// The position written last.
    flushed: i64,
    /// Flushes since the known agents were last checked for eviction.
    since_sweep: u32,
}

/// Everything the consumer's rebalance callbacks and the loop share.
struct Worker {
    config: Config,
    program: Arc<Program>,
    profiles: Option<Profiles>,
    parts: BTreeMap<i32, Part>,
    producer: BaseProducer,
    changelog: String,
    metrics: Arc<Metrics>,
}

fn lock(w: &Mutex<Worker>) -> MutexGuard<'_, Worker> {
    w.lock().unwrap_or_else(PoisonError::into_inner)
}

fn client(config: &Config) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &config.kafka.brokers);
    c
}

/// An idempotent producer that partitions by key as Kafka's own clients do
/// (murmur2, as [`riskgate::partition_of`]); `what` names it in errors.
fn producer(config: &Config, what: &str) -> Result<BaseProducer, String> {
    client(config)
        .set("enable.idempotence", "true")
        .set("partitioner", "murmur2_random")
        .set("linger.ms", "5")
        .create()
        .map_err(|e| format!("{what}: {e}"))
}

impl Worker {
    /// A fresh engine builder for the program in force.
    fn builder(&self) -> riskgate::run::engine::EngineBuilder {
        let l = &self.config.limits;
        let mut b = Engine::builder(Arc::clone(&self.program))
            .max_agents(l.max_agents)
            .max_keys(l.max_keys)
            .max_keys_per_agent(l.max_keys_per_agent)
            .max_state_bytes(l.max_state_bytes)
            .forward_skew_limit_ms(self.config.skew().map_or(None, |s| s.0));
        if let Some(p) = &self.profiles {
            b = b.profiles(p);
        }
        b
    }

    /// Restores partition `p` from its changelog.
    fn restore(&mut self, p: i32) -> Result<(), String> {
        let started = Instant::now();
        let records = read_changelog(&self.config, &self.changelog, p)?;
        let position = records
            .get(POSITION)
            .and_then(|v| serde_json::from_slice::<serde_json::Value>(v).ok())
            .and_then(|v| v["offset"].as_i64())
            .unwrap_or(0);
        let known: BTreeSet<String> = records
            .keys()
            .filter(|k| !k.starts_with('\u{0}'))
            .cloned()
            .collect();
        let parts: Vec<&[u8]> = records
            .iter()
            .filter(|(k, _)| k.as_str() != POSITION)
            .map(|(_, v)| v.as_slice())
            .collect();
        let (engine, report) = self
            .builder()
            .restore_parts(parts.iter().copied())
            .map_err(|e| format!("partition {p}: the changelog does not restore: {e}"))?;
        log(&format!(
            "partition {p}: {} agents and {} keys restored from {} at offset {position} in {:.0?}",
            report.summary.agents,
            report.summary.keys,
            self.changelog,
            started.elapsed()
        ));
        self.metrics
            .last_snapshot_s
            .store(super::now_s(), Ordering::Relaxed);
        self.parts.insert(
            p,
            Part {
                engine,
                known,
                dirty: BTreeSet::new(),
                next: position,
                flushed: position,
                since_sweep: 0,
            },
        );
        Ok(())
    }

    /// Writes the changed state of the partitions `which` (all: `None`) to
    /// the changelog, after the verdicts, and waits for it.
    fn flush(&mut self, which: Option<&[i32]>) -> Result<(), String> {
        self.producer
            .flush(TIMEOUT)
            .map_err(|e| format!("flushing verdicts: {e}"))?;
        let mut any = false;
        for (&p, part) in &mut self.parts {
            if which.is_some_and(|w| !w.contains(&p)) {
                continue;
            }
            // Every tenth flush, agents the engine evicted (idle, or over
            // the state budget) since their last event get their tombstone.
            part.since_sweep += 1;
            if part.since_sweep >= 10 {
                part.since_sweep = 0;
                let gone: Vec<String> = part
                    .known
                    .iter()
                    .filter(|a| !part.engine.store().contains(a))
                    .cloned()
                    .collect();
                part.dirty.extend(gone);
            }
            if part.dirty.is_empty() && part.next == part.flushed {
                continue;
            }
            any = true;
            let position: BTreeMap<String, u64> =
                [("offset".to_string(), u64::try_from(part.next).unwrap_or(0))]
                    .into_iter()
                    .collect();
            for agent in std::mem::take(&mut part.dirty) {
                let value = if part.engine.store().contains(&agent) {
                    let mut bytes = Vec::new();
                    let only = SnapshotFilter::Agents([agent.clone()].into_iter().collect());
                    part.engine
                        .snapshot_at(&mut bytes, &only, position.clone())
                        .map_err(|e| e.to_string())?;
                    Some(bytes)
                } else {
                    part.known.remove(&agent);
                    None
                };
                send(&self.producer, &self.changelog, p, &agent, value.as_deref())?;
            }
            let mut keys = Vec::new();
            part.engine
                .snapshot_at(&mut keys, &SnapshotFilter::KeysOnly, position)
                .map_err(|e| e.to_string())?;
            send(&self.producer, &self.changelog, p, KEYS, Some(&keys))?;
            // The position goes last: a restore trusts the agents' records
            // only up to the last position written.
            let pos = serde_json::json!({ "offset": part.next }).to_string();
            self.producer
                .flush(TIMEOUT)
                .map_err(|e| format!("flushing the changelog: {e}"))?;
            send(
                &self.producer,
                &self.changelog,
                p,
                POSITION,
                Some(pos.as_bytes()),
            )?;
            part.flushed = part.next;
        }
        if any {
            self.producer
                .flush(TIMEOUT)
                .map_err(|e| format!("flushing the changelog: {e}"))?;
            self.metrics
                .last_snapshot_s
                .store(super::now_s(), Ordering::Relaxed);
        }
        Ok(())
    }

    /// The offsets to commit for partitions `which` (all: `None`).
    fn offsets(&self, which: Option<&[i32]>) -> TopicPartitionList {
        let mut tpl = TopicPartitionList::new();
        for (&p, part) in &self.parts {
            if which.is_some_and(|w| !w.contains(&p)) {
                continue;
            }
            let _ =
                tpl.add_partition_offset(&self.config.kafka.topic, p, Offset::Offset(part.flushed));
        }
        tpl
    }

    /// Reloads the program (and profiles) in every partition's engine;
    /// every agent is written again at the next flush (its layout changed).
    fn reload(&mut self, why: &str, color: bool) {
        // The metrics first, then the log line (see the stdin mode's).
        let refuse = |metrics: &Metrics, what: String| {
            let line = format!("reload ({why}) refused, the old rules run on: {what}");
            metrics.reload(Some(what));
            log(&line);
        };
        let (program, profiles) = match super::load_program(&self.config, color) {
            Ok(loaded) => loaded,
            Err(what) => {
                refuse(&self.metrics, what);
                return;
            }
        };
        for part in self.parts.values_mut() {
            let done = match &profiles {
                Some(p) => part.engine.reload_with_profiles(Arc::clone(&program), p),
                None => part.engine.reload(Arc::clone(&program)),
            };
            if let Err(e) = done {
                refuse(&self.metrics, e.to_string());
                return;
            }
            part.dirty.extend(part.known.iter().cloned());
        }
        self.program = program;
        self.profiles = profiles;
        self.metrics.reload(None);
        log(&format!(
            "reloaded ({why}): {} rules",
            self.program.rules.len()
        ));
    }
}

/// Produces one changelog record to partition `p` (`None`: a tombstone).
fn send(
    producer: &BaseProducer,
    topic: &str,
    p: i32,
    key: &str,
    value: Option<&[u8]>,
) -> Result<(), String> {
    let mut record = BaseRecord::<str, [u8]>::to(topic).partition(p).key(key);
    if let Some(v) = value {
        record = record.payload(v);
    }
    produce(producer, record)
}

/// Sends `record`, waiting while the producer's queue is full (bounded);
/// any other error is returned.
fn produce<K, P>(producer: &BaseProducer, mut record: BaseRecord<'_, K, P>) -> Result<(), String>
where
    K: rdkafka::message::ToBytes + ?Sized,
    P: rdkafka::message::ToBytes + ?Sized,
{
    let topic = record.topic.to_owned();
    for _ in 0..1_000 {
        match producer.send(record) {
            Ok(()) => {
                producer.poll(Duration::ZERO);
                return Ok(());
            }
            Err((
                rdkafka::error::KafkaError::MessageProduction(
                    rdkafka::types::RDKafkaErrorCode::QueueFull,
                ),
                back,
            )) => {
                producer.poll(Duration::from_millis(10));
                record = back;
            }
            Err((e, _)) => return Err(format!("writing to {topic}: {e}")),
        }
    }
    Err(format!("writing to {topic}: the producer queue stays full"))
}

/// A changelog record's offset and value (`None`: a tombstone).
type Version = (i64, Option<Vec<u8>>);

/// The latest record of every key of changelog partition `p` (tombstoned
/// keys left out), up to the partition's end now (read until the broker
/// reports the end, at or past its high watermark). Agents' records written
/// after the last position record (a flush cut short) are left out in
/// favour of their record before it.
fn read_changelog(
    config: &Config,
    topic: &str,
    p: i32,
) -> Result<HashMap<String, Vec<u8>>, String> {
    let consumer: BaseConsumer = client(config)
        .set("group.id", format!("{}-restore", config.kafka.group))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "true")
        .create()
        .map_err(|e| e.to_string())?;
    let (low, high) = consumer
        .fetch_watermarks(topic, p, TIMEOUT)
        .map_err(|e| format!("{topic}/{p}: {e}"))?;
    let mut latest: HashMap<String, Version> = HashMap::new();
    let mut position_at = -1;
    if high > low {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, p, Offset::Offset(low))
            .map_err(|e| e.to_string())?;
        consumer.assign(&tpl).map_err(|e| e.to_string())?;
        let deadline = Instant::now() + TIMEOUT;
        let mut history: HashMap<String, Vec<Version>> = HashMap::new();
        let mut last = low - 1;
        loop {
            if Instant::now() > deadline {
                return Err(format!("{topic}/{p}: reading the changelog took too long"));
            }
            let Some(m) = consumer.poll(Duration::from_millis(200)) else {
                continue;
            };
            // The end is where the broker says the partition ends (some
            // brokers report a high watermark short of the last batch's
            // end, so it is only a lower bound here).
            let m = match m {
                Err(rdkafka::error::KafkaError::PartitionEOF(_)) if last + 1 >= high => break,
                Err(rdkafka::error::KafkaError::PartitionEOF(_)) => continue,
                Err(e) => return Err(format!("{topic}/{p}: {e}")),
                Ok(m) => m,
            };
            last = m.offset();
            let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
            if key == POSITION {
                position_at = m.offset();
            }
            history
                .entry(key)
                .or_default()
                .push((m.offset(), m.payload().map(<[u8]>::to_vec)));
        }
        for (key, versions) in history {
            // The last version at or before the last position record
            // (for the position record itself: the last one).
            let pick = versions
                .iter()
                .rev()
                .find(|(at, _)| *at <= position_at || key == POSITION)
                .cloned();
            if let Some(v) = pick {
                latest.insert(key, v);
            }
        }
    }
    Ok(latest
        .into_iter()
        .filter_map(|(k, (_, v))| Some((k, v?)))
        .collect())
}

/// The number of partitions of `topic`, `None` if it does not exist.
fn partitions_of(config: &Config, topic: &str) -> Result<Option<usize>, String> {
    let probe: BaseConsumer = client(config)
        .set("group.id", format!("{}-probe", config.kafka.group))
        .create()
        .map_err(|e| e.to_string())?;
    let md = probe
        .fetch_metadata(Some(topic), TIMEOUT)
        .map_err(|e| format!("metadata: {e}"))?;
    Ok(md
        .topics()
        .iter()
        .find(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty())
        .map(|t| t.partitions().len()))
}

/// Creates `topic` with `n` partitions if it does not exist.
fn ensure_topic(config: &Config, topic: &str, n: usize, compact: bool) -> Result<(), String> {
    if partitions_of(config, topic)?.is_some() {
        return Ok(());
    }
    let admin: AdminClient<DefaultClientContext> =
        client(config).create().map_err(|e| e.to_string())?;
    let n = i32::try_from(n).map_err(|e| e.to_string())?;
    let mut new = NewTopic::new(topic, n, TopicReplication::Fixed(1));
    if compact {
        new = new.set("cleanup.policy", "compact");
    }
    let options = AdminOptions::new().operation_timeout(Some(TIMEOUT));
    let results = block_on(admin.create_topics([&new], &options)).map_err(|e| e.to_string())?;
    for r in results {
        match r {
            Ok(_) | Err((_, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((t, e)) => return Err(format!("creating {t}: {e}")),
        }
    }
    log(&format!("created {topic} ({n} partitions)"));
    Ok(())
}

/// Creates the changelog if missing, with the input's partition count.
fn ensure_changelog(config: &Config, changelog: &str) -> Result<(), String> {
    let probe: BaseConsumer = client(config)
        .set("group.id", format!("{}-probe", config.kafka.group))
        .create()
        .map_err(|e| e.to_string())?;
    let md = probe
        .fetch_metadata(None, TIMEOUT)
        .map_err(|e| format!("metadata: {e}"))?;
    let count = |name: &str| {
        md.topics()
            .iter()
            .find(|t| t.name() == name && t.error().is_none())
            .map(|t| t.partitions().len())
    };
    let Some(input) = count(&config.kafka.topic) else {
        return Err(format!(
            "the input topic `{}` does not exist",
            config.kafka.topic
        ));
    };
    match count(changelog) {
        Some(n) if n == input => Ok(()),
        Some(n) => Err(format!(
            "the changelog `{changelog}` has {n} partitions, the input {input}: they must be co-partitioned"
        )),
        None => {
            let admin: AdminClient<DefaultClientContext> =
                client(config).create().map_err(|e| e.to_string())?;
            let n = i32::try_from(input).map_err(|e| e.to_string())?;
            let topic = NewTopic::new(changelog, n, TopicReplication::Fixed(1))
                .set("cleanup.policy", "compact");
            let options = AdminOptions::new().operation_timeout(Some(TIMEOUT));
            let results = block_on(admin.create_topics([&topic], &options)).map_err(|e| e.to_string())?;
            for r in results {
                match r {
                    Ok(_) => {}
                    Err((_, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists)) => {}
                    Err((t, e)) => return Err(format!("creating {t}: {e}")),
                }
            }
            log(&format!("created the changelog {changelog} ({n} partitions)"));
            Ok(())
        }
    }
}

/// Runs a future on this thread (the admin API is async; nothing else is).
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        match f.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => std::thread::park_timeout(Duration::from_millis(50)),
        }
    }
}

/// The consumer's context: flush on revocation, restore on assignment.
struct Context {
    worker: Arc<Mutex<Worker>>,
    failed: Arc<Mutex<Option<String>>>,
}

impl ClientContext for Context {}

impl ConsumerContext for Context {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(tpl) = rebalance else {
            return;
        };
        let revoked: Vec<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
        let mut w = lock(&self.worker);
        let done = w.flush(Some(&revoked)).and_then(|()| {
            let offsets = w.offsets(Some(&revoked));
            if offsets.count() > 0 {
                consumer
                    .commit(&offsets, CommitMode::Sync)
                    .map_err(|e| format!("committing: {e}"))?;
            }
            Ok(())
        });
        if let Err(e) = done {
            log(&format!("revoking {revoked:?}: {e}"));
        }
        for p in &revoked {
            w.parts.remove(p);
        }
        log(&format!("partitions {revoked:?} revoked"));
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Assign(tpl) = rebalance else {
            return;
        };
        let assigned: Vec<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
        let mut w = lock(&self.worker);
        for p in &assigned {
            if let Err(e) = w.restore(*p) {
                log(&e);
                if let Ok(mut f) = self.failed.lock() {
                    *f = Some(e);
                }
            }
        }
        log(&format!("partitions {assigned:?} assigned"));
    }
}

/// Where a Kafka event was read: its partition and offset (first in its
/// verdict record).
#[derive(serde::Serialize)]
struct At {
    partition: i32,
    offset: i64,
}

/// Runs the service on Kafka until `term`.
pub fn run(
    config: &Config,
    metrics: &Arc<Metrics>,
    slot: &http::Source,
    term: &AtomicBool,
    hup: &AtomicBool,
    color: bool,
) -> std::process::ExitCode {
    use std::process::ExitCode;
    match serve(config, metrics, slot, term, hup, color) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            errln!("error: {}", printable(&e));
            ExitCode::FAILURE
        }
    }
}

fn serve(
    config: &Config,
    metrics: &Arc<Metrics>,
    slot: &http::Source,
    term: &AtomicBool,
    hup: &AtomicBool,
    color: bool,
) -> Result<(), String> {
    let set = super::super::load_rules(std::slice::from_ref(&config.rules), color)
        .ok_or_else(|| "the rules have errors".to_string())?;
    let profiles = match &config.profiles {
        Some(p) => Some(Profiles::from_path(p).map_err(|e| e.to_string())?),
        None => None,
    };
    let format: Format = config.format()?;
    // Re-keying: a stage that produces the input again keyed by agent id,
    // and the engines read that.
    let mut effective = config.clone();
    let rekey = if config.kafka.rekey {
        let repartition = format!("{}-repartition", config.kafka.group);
        let input = partitions_of(config, &config.kafka.topic)?
            .ok_or_else(|| format!("the input topic `{}` does not exist", config.kafka.topic))?;
        let n = config.kafka.rekey_partitions.unwrap_or(input);
        ensure_topic(config, &repartition, n, false)?;
        let stage = spawn_rekey(config, &repartition, format)?;
        effective.kafka.topic = repartition;
        Some(stage)
    } else {
        None
    };
    let config = &effective;
    let changelog = config.kafka.changelog();
    ensure_changelog(config, &changelog)?;
    let producer = producer(config, "producer")?;
    let worker = Arc::new(Mutex::new(Worker {
        config: config.clone(),
        program: set.compile(),
        profiles,
        parts: BTreeMap::new(),
        producer,
        changelog,
        metrics: Arc::clone(metrics),
    }));
    let failed = Arc::new(Mutex::new(None));
    let consumer: BaseConsumer<Context> = client(config)
        .set("group.id", &config.kafka.group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set(
            "session.timeout.ms",
            config.kafka.session_timeout.as_millis().to_string(),
        )
        .set(
            "heartbeat.interval.ms",
            (config.kafka.session_timeout.as_millis() / 6)
                .max(100)
                .to_string(),
        )
        .create_with_context(Context {
            worker: Arc::clone(&worker),
            failed: Arc::clone(&failed),
        })
        .map_err(|e| format!("consumer: {e}"))?;
    consumer
        .subscribe(&[&config.kafka.topic])
        .map_err(|e| format!("subscribing to {}: {e}", config.kafka.topic))?;
    {
        let worker = Arc::clone(&worker);
        let _ = slot.set(Box::new(move || {
            let w = lock(&worker);
            w.parts
                .values()
                .fold(Gauges::default(), |g, p| g.add(Gauges::of(&p.engine)))
        }));
    }
    let lag_stop = Arc::new(AtomicBool::new(false));
    let lag_thread = spawn_lag(config, &worker, &lag_stop)?;
    log(&format!(
        "ready: {} rules, consuming {} as group {}",
        lock(&worker).program.rules.len(),
        config.kafka.topic,
        config.kafka.group
    ));
    let files: Vec<std::path::PathBuf> = std::iter::once(config.rules.clone())
        .chain(config.profiles.clone())
        .collect();
    let mtimes = |files: &[std::path::PathBuf]| -> Vec<Option<SystemTime>> {
        files
            .iter()
            .map(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok())
            .collect()
    };
    let mut seen = mtimes(&files);
    let mut last_poll = Instant::now();
    let mut last_commit = Instant::now();
    let mut attrs = AttrFilter::for_program(&lock(&worker).program);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    while !term.load(Ordering::Relaxed) {
        if let Some(e) = failed.lock().ok().and_then(|mut f| f.take()) {
            return Err(e);
        }
        let message = consumer.poll(Duration::from_millis(50));
        {
            let mut w = lock(&worker);
            if let Some(m) = message {
                let m = m.map_err(|e| format!("consuming: {e}"))?;
                handle(&mut w, &m, format, &attrs, &mut out)?;
            }
            let signalled = hup.swap(false, Ordering::Relaxed);
            if signalled || last_poll.elapsed() >= config.reload_poll {
                last_poll = Instant::now();
                let now = mtimes(&files);
                if signalled || now != seen {
                    seen = now;
                    w.reload(
                        if signalled {
                            "SIGHUP"
                        } else {
                            "a file changed"
                        },
                        color,
                    );
                    attrs = AttrFilter::for_program(&w.program);
                }
            }
            if last_commit.elapsed() >= config.kafka.commit_interval {
                last_commit = Instant::now();
                use std::io::Write as _;
                let _ = out.flush();
                checkpoint(&mut w, &consumer)?;
            }
        }
    }
    // Stop: flush the verdicts and the state, commit, leave the group.
    use std::io::Write as _;
    let _ = out.flush();
    checkpoint(&mut lock(&worker), &consumer)?;
    consumer.unsubscribe();
    lag_stop.store(true, Ordering::Relaxed);
    let _ = lag_thread.join();
    if let Some((stop, stage)) = rekey {
        stop.store(true, Ordering::Relaxed);
        if let Ok(Err(e)) = stage.join() {
            return Err(e);
        }
    }
    Ok(())
}

/// A running stage: its stop flag and its thread.
type Stage = (Arc<AtomicBool>, std::thread::JoinHandle<Result<(), String>>);

/// The re-keying stage: a consumer group `<group>-rekey` over the input
/// topic, each record produced again to `repartition` keyed by its event's
/// agent id (a line that is not an event keeps its key, and is reported by
/// the engines' stage). Offsets are committed after the records are
/// flushed: at-least-once, so a failover of this stage can produce a record
/// twice.
fn spawn_rekey(config: &Config, repartition: &str, format: Format) -> Result<Stage, String> {
    let consumer: BaseConsumer = client(config)
        .set("group.id", format!("{}-rekey", config.kafka.group))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set(
            "session.timeout.ms",
            config.kafka.session_timeout.as_millis().to_string(),
        )
        .create()
        .map_err(|e| format!("re-keying consumer: {e}"))?;
    consumer
        .subscribe(&[&config.kafka.topic])
        .map_err(|e| format!("subscribing to {}: {e}", config.kafka.topic))?;
    let producer = producer(config, "re-keying producer")?;
    let stop = Arc::new(AtomicBool::new(false));
    let (flag, topic, interval) = (
        Arc::clone(&stop),
        repartition.to_string(),
        config.kafka.commit_interval,
    );
    let handle = std::thread::spawn(move || {
        let nothing = AttrFilter::paths(Vec::<Vec<String>>::new());
        let mut last = Instant::now();
        let mut pending = false;
        while !flag.load(Ordering::Relaxed) {
            if let Some(m) = consumer.poll(Duration::from_millis(50)) {
                let m = m.map_err(|e| format!("re-keying: {e}"))?;
                let payload = m.payload().unwrap_or_default();
                let agent = std::str::from_utf8(payload)
                    .ok()
                    .and_then(|t| parse_event_with(t.trim(), format, &nothing).ok())
                    .map(|e| e.agent.to_string());
                let key = agent
                    .map(String::into_bytes)
                    .unwrap_or_else(|| m.key().unwrap_or_default().to_vec());
                produce(
                    &producer,
                    BaseRecord::<[u8], [u8]>::to(&topic)
                        .key(&key)
                        .payload(payload),
                )?;
                pending = true;
            }
            if pending && last.elapsed() >= interval {
                last = Instant::now();
                producer
                    .flush(TIMEOUT)
                    .map_err(|e| format!("re-keying: {e}"))?;
                consumer
                    .commit_consumer_state(CommitMode::Sync)
                    .map_err(|e| format!("re-keying: committing: {e}"))?;
                pending = false;
            }
        }
        if pending {
            producer
                .flush(TIMEOUT)
                .map_err(|e| format!("re-keying: {e}"))?;
            consumer
                .commit_consumer_state(CommitMode::Sync)
                .map_err(|e| format!("re-keying: committing: {e}"))?;
        }
        Ok(())
    });
    Ok((stop, handle))
}

/// Measures the lag every two seconds, on a thread and a client of its own
/// (asking the broker for the partitions' ends takes a round trip each).
fn spawn_lag(
    config: &Config,
    worker: &Arc<Mutex<Worker>>,
    stop: &Arc<AtomicBool>,
) -> Result<std::thread::JoinHandle<()>, String> {
    let client: BaseConsumer = client(config)
        .set("group.id", format!("{}-lag", config.kafka.group))
        .create()
        .map_err(|e| format!("lag client: {e}"))?;
    let (worker, stop, topic) = (
        Arc::clone(worker),
        Arc::clone(stop),
        config.kafka.topic.clone(),
    );
    Ok(std::thread::spawn(move || {
        let mut last = Instant::now() - Duration::from_secs(2);
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50));
            if last.elapsed() < Duration::from_secs(2) {
                continue;
            }
            last = Instant::now();
            let (owned, metrics): (Vec<(i32, i64)>, Arc<Metrics>) = {
                let w = lock(&worker);
                (
                    w.parts.iter().map(|(&p, part)| (p, part.next)).collect(),
                    Arc::clone(&w.metrics),
                )
            };
            let lag: i64 = owned
                .iter()
                .filter_map(|&(p, next)| {
                    let (_, high) = client
                        .fetch_watermarks(&topic, p, Duration::from_secs(2))
                        .ok()?;
                    Some((high - next).max(0))
                })
                .sum();
            metrics
                .queued
                .store(u64::try_from(lag).unwrap_or(0), Ordering::Relaxed);
        }
    }))
}

/// Flushes every partition's verdicts and state, then commits its offset.
fn checkpoint(w: &mut Worker, consumer: &BaseConsumer<Context>) -> Result<(), String> {
    w.flush(None)?;
    let offsets = w.offsets(None);
    if offsets.count() > 0 {
        consumer
            .commit(&offsets, CommitMode::Sync)
            .map_err(|e| format!("committing: {e}"))?;
    }
    Ok(())
}

/// Evaluates one input record.
fn handle(
    w: &mut Worker,
    m: &rdkafka::message::BorrowedMessage<'_>,
    format: Format,
    attrs: &AttrFilter,
    out: &mut impl std::io::Write,
) -> Result<(), String> {
    let p = m.partition();
    if !w.parts.contains_key(&p) {
        w.restore(p)?;
    }
    let Some(part) = w.parts.get_mut(&p) else {
        return Ok(());
    };
    let offset = m.offset();
    if offset < part.next {
        // Already in the restored state (evaluated before a failover).
        return Ok(());
    }
    part.next = offset + 1;
    let text = match m.payload().map(std::str::from_utf8) {
        Some(Ok(t)) => t.trim(),
        _ => {
            w.metrics.bad();
            errln!("{}/{p}@{offset}: not UTF-8 text", w.config.kafka.topic);
            return Ok(());
        }
    };
    let event = match parse_event_with(text, format, attrs) {
        Ok(e) => e,
        Err(e) => {
            w.metrics.bad();
            errln!(
                "{}/{p}@{offset}: {}",
                w.config.kafka.topic,
                printable(&e.to_string())
            );
            return Ok(());
        }
    };
    let verdict = part.engine.evaluate(&event);
    part.dirty.insert(event.agent.to_string());
    part.known.insert(event.agent.to_string());
    w.metrics.verdict(&verdict);
    let shown = super::shown(&w.config, &verdict);
    if !shown {
        return Ok(());
    }
    let at = At {
        partition: p,
        offset,
    };
    let record = Record::of(at, text, &event, &verdict);
    let json = serde_json::to_string(&record).map_err(|e| e.to_string())?;
    if let Some(topic) = &w.config.kafka.verdicts_topic {
        let agent = event.agent.to_string();
        produce(
            &w.producer,
            BaseRecord::<str, str>::to(topic).key(&agent).payload(&json),
        )?;
    }
    if w.config.output.stdout {
        writeln!(out, "{json}").map_err(|e| e.to_string())?;
    }
    Ok(())
}
