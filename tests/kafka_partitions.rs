//! Against a Kafka-protocol broker (`scripts/broker`): a producer using
//! Kafka's default partitioner sends each agent where
//! `riskgate::partition_of` says, and a consumer group reads every record
//! back once and commits its offsets.
#![cfg(feature = "kafka")]

#[path = "support/broker.rs"]
mod broker;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Message, Offset};

#[test]
fn keyed_records_land_on_partition_of_their_key() {
    let addr = broker::address();
    let topic = broker::unique("partitions");
    broker::create_topic(&addr, &topic, 4);
    let producer: BaseProducer = broker::config(&addr)
        .set("partitioner", "murmur2_random")
        // No retry writes a record twice.
        .set("enable.idempotence", "true")
        .create()
        .unwrap_or_else(|e| panic!("{e}"));
    let agents: Vec<String> = (0..200).map(|i| format!("0oa-agent-{i:03}")).collect();
    for i in 0..1_000usize {
        let agent = &agents[i % agents.len()];
        let payload = format!("{{\"n\": {i}}}");
        producer
            .send(BaseRecord::to(&topic).key(agent).payload(&payload))
            .unwrap_or_else(|(e, _)| panic!("{e}"));
        producer.poll(Duration::ZERO);
    }
    producer
        .flush(Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}"));

    let consumer: BaseConsumer = broker::config(&addr)
        .set("group.id", broker::unique("group"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "6000")
        .create()
        .unwrap_or_else(|e| panic!("{e}"));
    consumer
        .subscribe(&[&topic])
        .unwrap_or_else(|e| panic!("{e}"));
    let mut seen: BTreeMap<usize, (String, i32)> = BTreeMap::new();
    let mut offsets: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.len() < 1_000 && Instant::now() < deadline {
        let Some(m) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let m = m.unwrap_or_else(|e| panic!("{e}"));
        let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
        let payload = String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned();
        let n: usize = payload
            .trim_start_matches("{\"n\": ")
            .trim_end_matches('}')
            .parse()
            .unwrap_or_else(|e| panic!("{e}: {payload}"));
        offsets.entry(m.partition()).or_default().push(m.offset());
        assert!(
            seen.insert(n, (key, m.partition())).is_none(),
            "record {n} twice"
        );
    }
    consumer
        .commit_consumer_state(CommitMode::Sync)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(seen.len(), 1_000, "every record arrived");
    // Each partition was read from offset 0 without a gap or a repeat, as
    // many records as partition_of sends it, and the group's committed
    // offset is the next one. (Not checked against the high watermark:
    // the test broker reports the last batch's first offset + 1 there.)
    let mut want = [0i64; 4];
    for agent in agents.iter().cycle().take(1_000) {
        want[riskgate::partition_of(agent, 4) as usize] += 1;
    }
    let committed = consumer
        .committed(Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("committed offsets: {e}"));
    for (p, want) in (0i32..).zip(want) {
        let read = offsets.get(&p).map_or(&[][..], Vec::as_slice);
        assert!(
            read.iter().copied().eq(0..want),
            "partition {p}: read offsets {read:?}, want 0..{want}"
        );
        assert_eq!(
            committed.find_partition(&topic, p).map(|e| e.offset()),
            Some(Offset::Offset(want)),
            "committed offset of partition {p}"
        );
    }
    for (n, (key, partition)) in &seen {
        assert_eq!(key, &agents[n % agents.len()]);
        assert_eq!(
            *partition as u32,
            riskgate::partition_of(key, 4),
            "record {n} of {key}"
        );
    }
}
