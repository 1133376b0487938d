//! `riskgate serve` through a Kafka-protocol broker: events per second and
//! produce-to-verdict latency, with the broker's own produce and consume
//! rates as the floor. Not a criterion benchmark (it times a pipeline of
//! processes, once); it prints a table for BENCHMARKS.md.
//!
//! ```sh
//! cargo build --release --features kafka
//! RISKGATE_BROKER=$(scripts/broker start) cargo bench --features kafka --bench serve_kafka
//! scripts/broker stop
//! ```

#[path = "../tests/support/broker.rs"]
mod broker;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use broker::{config, create_topic as topic};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::Message;

const N: usize = 100_000;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `N` Okta events of 500 agents, one a second, each with a uuid.
fn events() -> Vec<(String, String, String)> {
    (0..N)
        .map(|i| {
            let agent = format!("0oa-bench-{:03}", i % 500);
            let uuid = format!("bench-{i:08}");
            let t = chrono::DateTime::from_timestamp_millis(1_795_651_200_000 + i as i64 * 1_000)
                .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
                .unwrap_or_default();
            let line = serde_json::json!({
                "uuid": uuid, "published": t,
                "eventType": "app.oauth2.as.token.grant.access_token",
                "actor": {"id": agent, "type": "PublicClientApp"},
                "client": {"ipAddress": format!("10.0.{}.{}", i % 7, i % 5)},
                "outcome": {"result": if i % 29 == 0 { "FAILURE" } else { "SUCCESS" }},
                "debugContext": {"debugData": {"grantType": "client_credentials", "requestedScopes": "okta.users.read"}},
            })
            .to_string();
            (agent, uuid, line)
        })
        .collect()
}

fn produce(p: &BaseProducer, topic: &str, key: &str, payload: &str) {
    let mut r = BaseRecord::to(topic).key(key).payload(payload);
    loop {
        match p.send(r) {
            Ok(()) => return,
            Err((_, back)) => {
                p.poll(Duration::from_millis(1));
                r = back;
            }
        }
    }
}

fn consumer(addr: &str, group: &str, t: &str) -> BaseConsumer {
    let c: BaseConsumer = config(addr)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    c.subscribe(&[t]).expect("subscribe");
    c
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let Ok(addr) = std::env::var("RISKGATE_BROKER") else {
        eprintln!("serve_kafka: set RISKGATE_BROKER (scripts/broker start); skipped");
        return;
    };
    let bin = root().join("target/release/riskgate");
    assert!(
        bin.exists(),
        "build it first: cargo build --release --features kafka"
    );
    let run = std::process::id();
    let events = events();

    // The floor: the broker alone, produce then consume the same records.
    let floor_topic = format!("bench-floor-{run}");
    topic(&addr, &floor_topic, 4);
    let producer: BaseProducer = config(&addr)
        .set("partitioner", "murmur2_random")
        .set("linger.ms", "5")
        .create()
        .expect("producer");
    let t0 = Instant::now();
    for (agent, _, line) in &events {
        produce(&producer, &floor_topic, agent, line);
    }
    producer.flush(Duration::from_secs(120)).expect("flush");
    let produce_rate = N as f64 / t0.elapsed().as_secs_f64();
    let c = consumer(&addr, &format!("bench-floor-{run}"), &floor_topic);
    let t0 = Instant::now();
    let mut n = 0;
    while n < N {
        if let Some(m) = c.poll(Duration::from_millis(100)) {
            m.expect("message");
            n += 1;
        }
    }
    let consume_rate = N as f64 / t0.elapsed().as_secs_f64();

    // riskgate serve, one instance, all four partitions.
    let input = format!("bench-in-{run}");
    let out = format!("bench-out-{run}");
    topic(&addr, &input, 4);
    topic(&addr, &out, 1);
    let rules = root().join("examples/rules/agents.rules");
    let cfg = root().join(format!("target/bench-serve-{run}.toml"));
    std::fs::write(
        &cfg,
        format!(
            "rules = {rules:?}\ninput = \"kafka\"\nlisten = \"127.0.0.1:0\"\n[output]\nstdout = false\nverdicts = \"all\"\n\
             [limits]\nmax_skew = \"off\"\n[kafka]\nbrokers = {addr:?}\ntopic = {input:?}\ngroup = \"bench-{run}\"\nverdicts_topic = {out:?}\n"
        ),
    )
    .expect("config");
    let mut child = Command::new(&bin)
        .args(["serve", "--config"])
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve");
    let mut log = BufReader::new(child.stderr.take().expect("stderr")).lines();
    for line in log.by_ref() {
        if line.expect("log").contains("assigned") {
            break;
        }
    }
    std::thread::spawn(move || for _ in log {});
    let verdicts = consumer(&addr, &format!("bench-out-{run}"), &out);

    // Throughput: everything at once.
    let mut sent: HashMap<String, Instant> = HashMap::with_capacity(N);
    let t0 = Instant::now();
    for (agent, uuid, line) in &events {
        sent.insert(uuid.clone(), Instant::now());
        produce(&producer, &input, agent, line);
    }
    producer.flush(Duration::from_secs(120)).expect("flush");
    let mut seen = 0;
    let mut lat = Vec::with_capacity(N);
    while seen < N {
        let Some(m) = verdicts.poll(Duration::from_millis(100)) else {
            continue;
        };
        let m = m.expect("verdict");
        let v: serde_json::Value =
            serde_json::from_slice(m.payload().unwrap_or_default()).expect("json");
        if let Some(at) = v["uuid"].as_str().and_then(|u| sent.remove(u)) {
            lat.push(at.elapsed().as_secs_f64() * 1e3);
            seen += 1;
        }
    }
    let serve_rate = N as f64 / t0.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    let (burst_p50, burst_p99) = (pct(&lat, 0.5), pct(&lat, 0.99));

    // Latency at a steady 2,000 events a second (the same events again,
    // other uuids).
    let mut sent: HashMap<String, Instant> = HashMap::new();
    let mut lat = Vec::new();
    let paced = 20_000;
    let t0 = Instant::now();
    let mut i = 0;
    while lat.len() < paced {
        while i < paced && t0.elapsed() >= Duration::from_micros(500 * i as u64) {
            let (agent, _, line) = &events[i];
            let uuid = format!("paced-{i:08}");
            let line = line.replacen(&format!("bench-{i:08}"), &uuid, 1);
            sent.insert(uuid, Instant::now());
            produce(&producer, &input, agent, &line);
            producer.poll(Duration::ZERO);
            i += 1;
        }
        if let Some(Ok(m)) = verdicts.poll(Duration::from_millis(1)) {
            let v: serde_json::Value =
                serde_json::from_slice(m.payload().unwrap_or_default()).expect("json");
            if let Some(at) = v["uuid"].as_str().and_then(|u| sent.remove(u)) {
                lat.push(at.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    lat.sort_by(f64::total_cmp);
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let _ = std::fs::remove_file(&cfg);

    println!("| measure | figure |");
    println!("|---|---|");
    println!("| broker alone: produce {N} events | {produce_rate:.0} events/s |");
    println!("| broker alone: consume them | {consume_rate:.0} events/s |");
    println!(
        "| serve: {N} events produced at once, to the last verdict | {serve_rate:.0} events/s |"
    );
    println!("| serve: produce-to-verdict latency in that burst, p50 / p99 | {burst_p50:.0} ms / {burst_p99:.0} ms |");
    println!(
        "| serve: latency at 2,000 events/s, p50 / p99 / max | {:.1} ms / {:.1} ms / {:.1} ms |",
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        lat[lat.len() - 1]
    );
}
