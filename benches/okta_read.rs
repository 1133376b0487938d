//! Reading Okta System Log lines: riskgate's reader against serde_json and a
//! plain byte scan. `benches/readers` runs the same readers and two SIMD
//! JSON parsers (simd-json, sonic-rs) in one run: the table of "Reading Okta
//! lines" in BENCHMARKS.md comes from there.
//!
//! Two groups of lines, each read whole per iteration (criterion's figure is
//! per line: `python3 benches/okta_read.py` prints ns/line and MB/s):
//!
//! * `generated`: the first 10,000 lines of `target/gen/okta-100000.jsonl`
//!   (`cargo run --release --example gen_events -- --events 100000`), the
//!   shape the replay benchmark reads (~900 bytes a line); if the file is
//!   missing, the lines of `examples/events/okta-day.jsonl`;
//! * `fixtures`: the lines of `tests/fixtures/okta/*.jsonl`, Okta's and
//!   other projects' examples (varied shapes, escapes, long arrays).
//!
//! Readers:
//!
//! * `memchr_quotes`: counts the quotes of the line with `memchr` (SIMD):
//!   every byte touched once, the floor of any reader;
//! * `serde_validate`: `serde_json` checking the line, building nothing
//!   (`serde::de::IgnoredAny`);
//! * `serde_value`: a `serde_json::Value` of the whole line (how riskgate
//!   read a line before its one-pass reader);
//! * `riskgate_auto`: `parse_event_with(line, Format::Auto, filter)` with
//!   the `AttrFilter` of `examples/rules/agents.rules`: what `replay` does;
//! * `riskgate_okta`: the same with `Format::Okta` (no format detection).
//!
//! `cargo bench --bench okta_read -- generated` runs one group.

#[path = "support/okta_read.rs"]
mod okta_read;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn read(c: &mut Criterion) {
    let root = okta_read::repo_root(env!("CARGO_MANIFEST_DIR"));
    let filter = okta_read::agents_filter(&root);
    let groups = okta_read::groups(&root);
    for lines in &groups {
        okta_read::describe(lines, &filter);
        let mut g = c.benchmark_group(format!("okta_read_{}", lines.group));
        g.throughput(Throughput::Elements(lines.lines.len() as u64));
        g.sample_size(30);
        okta_read::common_readers(&mut g, &lines.lines, &filter);
        g.finish();
    }
    okta_read::write_sizes(
        &okta_read::criterion_dir(env!("CARGO_MANIFEST_DIR")),
        &groups,
    );
}

criterion_group!(benches, read);
criterion_main!(benches);
