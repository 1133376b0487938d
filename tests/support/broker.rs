//! The test broker: `RISKGATE_BROKER` if set (`.ci/run` sets it), else the
//! one `scripts/broker start` starts (and leaves running: `scripts/broker
//! stop` stops it by PID).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;

/// `host:port` of the broker.
pub fn address() -> String {
    if let Ok(a) = std::env::var("RISKGATE_BROKER") {
        return a;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(root.join("scripts/broker"))
        .arg("start")
        .output()
        .unwrap_or_else(|e| panic!("scripts/broker: {e}"));
    assert!(
        out.status.success(),
        "scripts/broker start failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A name no other test run uses.
pub fn unique(what: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "rg-{what}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A client configuration for `addr`.
pub fn config(addr: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", addr);
    c
}

/// Creates `topic` with `partitions` partitions.
pub fn create_topic(addr: &str, topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> =
        config(addr).create().unwrap_or_else(|e| panic!("{e}"));
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let done = futures_block_on(admin.create_topics([&new], &options));
    for r in done.unwrap_or_else(|e| panic!("{e}")) {
        r.unwrap_or_else(|(t, e)| panic!("{t}: {e}"));
    }
}

/// Runs a future to completion on this thread (the admin API is async;
/// nothing else here is).
pub fn futures_block_on<F: std::future::Future>(f: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        match f.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => std::thread::park_timeout(Duration::from_millis(50)),
        }
    }
}
