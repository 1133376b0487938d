//! `riskgate serve` scaled out on a Kafka consumer group (against
//! `scripts/broker`): two instances share four partitions; one is killed
//! with `SIGKILL` mid-stream and the other takes its partitions over from
//! the changelog; then both are restarted one at a time. Each time the
//! verdicts, with duplicates dropped by event `uuid`, are exactly those of
//! one `riskgate replay` over the same stream, and no event is lost.
#![cfg(feature = "kafka")]

#[path = "support/broker.rs"]
mod broker;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::Message;
use serde_json::Value;

const AGENTS: usize = 240;
const EVENTS: usize = 20_000;
/// 2026-11-26T00:00:00Z.
const START_MS: i64 = 1_795_651_200_000;

const RULES: &str = "\
Rule K1 — burst
Trigger: requests_per_minute > 6
Action: flag_for_review + alert security team
Severity: LOW
Cooldown: 10m

Rule K2 — over the baseline
Trigger: requests_per_minute > baseline * 4
Action: suspend_token
Severity: HIGH

Rule K3 — failures
Trigger: count(outcome == \"FAILURE\") over 5m > 3
Action: deny
Severity: CRITICAL

Rule K4 — new address
Trigger: token request AND first_seen(ip, 2h)
Action: flag_for_review
Severity: LOW

Rule K5 — many addresses
Trigger: distinct(ip) over 10m > 3
Action: suspend_token
Severity: MEDIUM
";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tmp(name: &str) -> PathBuf {
    let dir = root().join("target").join("test-tmp").join("kafka_serve");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir.join(name)
}

/// A labelled stream: `EVENTS` Okta lines of `AGENTS` agents over five
/// hours, with bursts, failure runs and address changes (a fixed
/// pseudo-random sequence).
fn stream() -> Vec<(String, String)> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let span_ms = 5 * 3_600_000;
    let mut out = Vec::with_capacity(EVENTS);
    let mut t = START_MS;
    while out.len() < EVENTS {
        let r = next();
        let agent = (r % AGENTS as u64) as usize;
        // Bursts: a few agents send runs of requests a second apart.
        let run = if r % 97 == 0 { 12 } else { 1 };
        for k in 0..run {
            if out.len() == EVENTS {
                break;
            }
            let r2 = next();
            t += (span_ms / EVENTS as i64).max(1) + if k > 0 { 0 } else { (r2 % 400) as i64 };
            let failure = r2 % 23 == 0 || (agent % 40 == 7 && r2 % 3 == 0);
            let ip_last = if r2 % 31 == 0 {
                10 + (r2 % 200)
            } else {
                1 + (agent % 5) as u64
            };
            let uuid = format!("{:016x}-{:08x}", next(), out.len());
            let published = chrono::DateTime::from_timestamp_millis(t)
                .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
                .unwrap_or_default();
            let line = serde_json::json!({
                "uuid": uuid,
                "published": published,
                "eventType": "app.oauth2.as.token.grant.access_token",
                "actor": {"id": format!("0oa-agent-{agent:03}"), "type": "PublicClientApp"},
                "client": {"ipAddress": format!("10.{}.0.{ip_last}", agent % 200)},
                "outcome": {"result": if failure { "FAILURE" } else { "SUCCESS" }},
                "debugContext": {"debugData": {"grantType": "client_credentials"}},
            })
            .to_string();
            out.push((format!("0oa-agent-{agent:03}"), line));
        }
    }
    out
}

/// The verdicts of one replay over the stream, by `uuid`.
fn replay(rules: &PathBuf, lines: &[(String, String)]) -> BTreeMap<String, Value> {
    let events = tmp("stream.jsonl");
    let text: String = lines.iter().map(|(_, l)| format!("{l}\n")).collect();
    std::fs::write(&events, text).unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(env!("CARGO_BIN_EXE_riskgate"))
        .args(["replay"])
        .arg(rules)
        .arg(&events)
        .args(["--output", "json", "--max-skew", "off"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let uuids: Vec<String> = lines
        .iter()
        .map(|(_, l)| {
            serde_json::from_str::<Value>(l)
                .ok()
                .and_then(|v| v["uuid"].as_str().map(str::to_string))
                .unwrap_or_default()
        })
        .collect();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| {
            let line = v["line"].as_u64().unwrap_or(0) as usize;
            (uuids[line - 1].clone(), strip(v))
        })
        .collect()
}

fn strip(mut v: Value) -> Value {
    if let Some(m) = v.as_object_mut() {
        for k in ["line", "uuid", "partition", "offset"] {
            m.remove(k);
        }
    }
    v
}

/// One `riskgate serve` instance.
struct Instance {
    child: Child,
    log: Receiver<String>,
    /// Its HTTP address.
    addr: String,
}

fn start(config: &PathBuf) -> Instance {
    let mut child = Command::new(env!("CARGO_BIN_EXE_riskgate"))
        .args(["serve", "--config"])
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let (tx, log) = channel();
    let err = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut i = Instance {
        child,
        log,
        addr: String::new(),
    };
    let line = i.wait_for("listening on http://");
    i.addr = line.rsplit("http://").next().unwrap_or("").to_string();
    i.wait_for("ready:");
    i
}

impl Drop for Instance {
    /// A test that fails leaves no instance running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Instance {
    /// A metric of its `/metrics`.
    fn metric(&self, name: &str) -> f64 {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(&self.addr) else {
            return -1.0;
        };
        let _ = write!(
            s,
            "GET /metrics HTTP/1.1\r\nHost: riskgate\r\nConnection: close\r\n\r\n"
        );
        let mut body = String::new();
        let _ = s.read_to_string(&mut body);
        body.lines()
            .find(|l| l.split([' ', '{']).next() == Some(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(-1.0)
    }

    fn wait_for(&self, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = Vec::new();
        loop {
            match self
                .log
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(l) if l.contains(what) => return l,
                Ok(l) => seen.push(l),
                Err(_) => panic!("no `{what}` in the log: {seen:#?}"),
            }
        }
    }

    fn kill(mut self, signal: &str) -> i32 {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill")
            .args([signal, &pid])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill {signal} {pid}");
        self.child
            .wait()
            .map(|s| s.code().unwrap_or(-1))
            .unwrap_or(-1)
    }
}

struct Setup {
    addr: String,
    input: String,
    verdicts: String,
    config: PathBuf,
    rules: PathBuf,
    producer: BaseProducer,
    collector: BaseConsumer,
    got: BTreeMap<String, Value>,
    duplicates: usize,
}

fn setup(name: &str) -> Setup {
    setup_with(name, 4, false)
}

/// An input topic of `partitions`, re-keyed by `serve` when `rekey`.
fn setup_with(name: &str, partitions: i32, rekey: bool) -> Setup {
    let addr = broker::address();
    let input = broker::unique(&format!("{name}-in"));
    let verdicts = broker::unique(&format!("{name}-verdicts"));
    broker::create_topic(&addr, &input, partitions);
    broker::create_topic(&addr, &verdicts, 1);
    let rules = tmp(&format!("{name}.rules"));
    std::fs::write(&rules, RULES).unwrap_or_else(|e| panic!("{e}"));
    let config = tmp(&format!("{name}.toml"));
    std::fs::write(
        &config,
        format!(
            "rules = {rules:?}\ninput = \"kafka\"\nlisten = \"127.0.0.1:0\"\n\
             [output]\nstdout = false\nverdicts = \"all\"\n\
             [limits]\nmax_skew = \"off\"\n\
             [kafka]\nbrokers = {addr:?}\ntopic = {input:?}\ngroup = {:?}\nverdicts_topic = {verdicts:?}\n\
             session_timeout = \"6s\"\ncommit_interval = \"300ms\"\nrekey = {rekey}\nrekey_partitions = 4\n",
            broker::unique(&format!("{name}-group"))
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let producer: BaseProducer = broker::config(&addr)
        .set("partitioner", "murmur2_random")
        .create()
        .unwrap_or_else(|e| panic!("{e}"));
    let collector: BaseConsumer = broker::config(&addr)
        .set("group.id", broker::unique("collector"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap_or_else(|e| panic!("{e}"));
    collector
        .subscribe(&[&verdicts])
        .unwrap_or_else(|e| panic!("{e}"));
    Setup {
        addr,
        input,
        verdicts,
        config,
        rules,
        producer,
        collector,
        got: BTreeMap::new(),
        duplicates: 0,
    }
}

impl Setup {
    fn produce(&self, lines: &[(String, String)]) {
        for (agent, line) in lines {
            self.producer
                .send(BaseRecord::to(&self.input).key(agent).payload(line))
                .unwrap_or_else(|(e, _)| panic!("{e}"));
            self.producer.poll(Duration::ZERO);
        }
        self.producer
            .flush(Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Produces `lines` keyed by something else than the agent (the line's
    /// position), as a pipeline that does not know agents would.
    fn produce_unkeyed(&self, lines: &[(String, String)]) {
        for (i, (_, line)) in lines.iter().enumerate() {
            let key = format!("line-{i}");
            self.producer
                .send(BaseRecord::to(&self.input).key(&key).payload(line))
                .unwrap_or_else(|(e, _)| panic!("{e}"));
            self.producer.poll(Duration::ZERO);
        }
        self.producer
            .flush(Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Reads verdicts until `n` distinct uuids are in; duplicates must
    /// equal the first verdict of their uuid.
    fn collect(&mut self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.got.len() < n {
            assert!(
                Instant::now() < deadline,
                "{} of {n} verdicts after 120 s ({} duplicates)",
                self.got.len(),
                self.duplicates
            );
            let Some(m) = self.collector.poll(Duration::from_millis(200)) else {
                continue;
            };
            let m = m.unwrap_or_else(|e| panic!("{e}"));
            let v: Value = serde_json::from_slice(m.payload().unwrap_or_default())
                .unwrap_or_else(|e| panic!("{e}"));
            let uuid = v["uuid"].as_str().unwrap_or_default().to_string();
            let v = strip(v);
            match self.got.get(&uuid) {
                Some(first) => {
                    assert_eq!(first, &v, "a duplicate of {uuid} with another verdict");
                    self.duplicates += 1;
                }
                None => {
                    self.got.insert(uuid, v);
                }
            }
        }
    }

    fn check(&self, lines: &[(String, String)]) {
        let expected = replay(&self.rules, lines);
        assert_eq!(self.got.len(), lines.len(), "no event lost");
        let fired = expected
            .values()
            .filter(|v| v["matches"].as_array().is_some_and(|m| !m.is_empty()))
            .count();
        assert!(
            fired > 500,
            "the stream must exercise the rules ({fired} verdicts with matches)"
        );
        let mut differ = Vec::new();
        for (uuid, want) in &expected {
            if self.got.get(uuid) != Some(want) {
                differ.push(uuid.clone());
            }
        }
        assert!(
            differ.is_empty(),
            "{} verdicts differ from one replay's; first: {:?} got {:?} want {:?}",
            differ.len(),
            differ[0],
            self.got.get(&differ[0]),
            expected.get(&differ[0])
        );
        let _ = (&self.addr, &self.verdicts);
    }
}

#[test]
fn a_killed_instance_hands_its_partitions_over_without_changing_a_verdict() {
    let lines = stream();
    let mut s = setup("failover");
    let a = start(&s.config);
    let b = start(&s.config);
    let cut = EVENTS * 2 / 5;
    s.produce(&lines[..cut]);
    s.collect(cut);
    // Mid-stream, with unflushed state: SIGKILL, no goodbye.
    let code = a.kill("-KILL");
    assert_ne!(code, 0);
    s.produce(&lines[cut..]);
    s.collect(EVENTS);
    b.wait_for("assigned");
    // (Events after the killed instance's last flush were evaluated again
    // by the survivor: duplicates, each equal to its first verdict.)
    eprintln!("failover: {} duplicate verdicts dropped", s.duplicates);
    s.check(&lines);
    // The survivor owns every partition and has caught up: no lag left.
    let deadline = Instant::now() + Duration::from_secs(30);
    while b.metric("riskgate_lag") != 0.0 {
        assert!(
            Instant::now() < deadline,
            "lag {}",
            b.metric("riskgate_lag")
        );
        std::thread::yield_now();
    }
    assert!(b.metric("riskgate_events_total") >= (EVENTS - cut) as f64);
    assert_eq!(b.kill("-TERM"), 0, "a graceful stop exits 0");
}

#[test]
fn a_rolling_restart_changes_no_verdict() {
    let lines = stream();
    let mut s = setup("rolling");
    let a = start(&s.config);
    let b = start(&s.config);
    let (third, two_thirds) = (EVENTS / 3, EVENTS * 2 / 3);
    s.produce(&lines[..third]);
    s.collect(third);
    assert_eq!(a.kill("-TERM"), 0);
    let a = start(&s.config);
    s.produce(&lines[third..two_thirds]);
    s.collect(two_thirds);
    assert_eq!(b.kill("-TERM"), 0);
    let b = start(&s.config);
    s.produce(&lines[two_thirds..]);
    s.collect(EVENTS);
    s.check(&lines);
    assert_eq!(a.kill("-TERM"), 0);
    assert_eq!(b.kill("-TERM"), 0);
}

/// An input keyed by something else (one partition, so the stream's order
/// is the order of each agent's events): `serve` re-keys it through its
/// internal topic, and the verdicts are one replay's.
#[test]
fn an_input_not_keyed_by_agent_is_rekeyed_first() {
    let lines = stream();
    let mut s = setup_with("rekey", 1, true);
    let a = start(&s.config);
    let b = start(&s.config);
    // The engines' stage runs on four partitions of the re-keyed topic,
    // shared by the two instances.
    let assigned = |i: &Instance| i.wait_for("] assigned");
    let (x, y) = (assigned(&a), assigned(&b));
    assert!(!x.contains("[]") && !y.contains("[]"), "{x} / {y}");
    s.produce_unkeyed(&lines);
    s.collect(EVENTS);
    s.check(&lines);
    assert_eq!(a.kill("-TERM"), 0);
    assert_eq!(b.kill("-TERM"), 0);
}
