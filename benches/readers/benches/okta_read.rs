//! riskgate's Okta reader against two SIMD JSON parsers, serde_json and a
//! memchr scan, in one criterion run: the table of "Reading Okta lines" in
//! BENCHMARKS.md.
//!
//! ```sh
//! cargo run --release --example gen_events -- --events 100000
//! cargo bench --manifest-path benches/readers/Cargo.toml
//! python3 benches/okta_read.py benches/readers/target/criterion
//! ```
//!
//! The groups and the readers of `benches/okta_read.rs` (see there), and:
//!
//! * `simd_json_tape`: simd-json's tape of the line (copied into a reused,
//!   padded buffer, as simd-json parses in place; buffers and tape reused:
//!   `fill_tape_padded`, its cheapest entry), then the fields of the mapping
//!   looked up on it;
//! * `simd_json_borrowed`: simd-json's `BorrowedValue` (buffers reused);
//! * `sonic_get_many`: sonic-rs `get_many` of the fields the Okta mapping
//!   and `agents.rules` read (exact keys, one pass, the values it skips
//!   validated), each string found then read with `as_str`;
//! * `sonic_get_many_unchecked`: the same, skipping without validating.
//!
//! Only `riskgate_*` produce an `Event` with the adapter's semantics (keys
//! matched ignoring case, its duplicate-key rule, its checks and errors, the
//! `attrs` kept); the SIMD parsers here only find the values, which bounds
//! what a reader built on them could reach.

#[path = "../../support/okta_read.rs"]
mod okta_read;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sonic_rs::{JsonValueTrait, PointerTree};

/// The paths the Okta mapping reads, and those `agents.rules` reads.
pub const PATHS: &[&[&str]] = &[
    &["published"],
    &["eventType"],
    &["actor", "id"],
    &["actor", "type"],
    &["actor", "alternateId"],
    &["client", "ipAddress"],
    &["client", "geographicalContext", "country"],
    &["client", "userAgent", "rawUserAgent"],
    &["outcome", "result"],
    &["securityContext", "asNumber"],
    &["securityContext", "isProxy"],
    &["debugContext", "debugData", "requestedScopes"],
    &["debugContext", "debugData", "grantedScopes"],
    &["debugContext", "debugData", "grantType"],
    &["debugContext", "debugData", "clientAuthType"],
    &["debugContext", "debugData", "certIssuer"],
    &["debugContext", "debugData", "certAgeDays"],
    &["debugContext", "debugData", "tokenLifetimeMinutes"],
    &["debugContext", "debugData", "secretAgeDays"],
    &["debugContext", "debugData", "devicePosture"],
    &["target"],
];

/// Looks the fields of [`PATHS`] up on a simd-json tape (exact keys, the
/// first of duplicates): the cost of using the tape once it is built.
fn tape_fields(tape: &simd_json::Tape<'_>) -> usize {
    use simd_json::prelude::*;
    let v = tape.as_value();
    let mut n = 0;
    for path in PATHS {
        let mut cur = Some(v);
        for seg in *path {
            cur = cur.and_then(|c| c.get(*seg));
        }
        if let Some(c) = cur {
            n += c.as_str().map_or(1, str::len);
        }
    }
    n
}

fn read(c: &mut Criterion) {
    let root = okta_read::repo_root(env!("CARGO_MANIFEST_DIR"));
    let filter = okta_read::agents_filter(&root);
    let groups = okta_read::groups(&root);
    let mut tree = PointerTree::new();
    for p in PATHS {
        tree.add_path(p.iter().copied());
    }
    for group in &groups {
        okta_read::describe(group, &filter);
        let lines = &group.lines;
        let valid: Vec<bool> = lines
            .iter()
            .map(|l| serde_json::from_str::<serde::de::IgnoredAny>(l).is_ok())
            .collect();
        let mut g = c.benchmark_group(format!("okta_read_{}", group.group));
        g.throughput(Throughput::Elements(lines.len() as u64));
        g.sample_size(30);
        okta_read::common_readers(&mut g, lines, &filter);
        g.bench_function("simd_json_tape", |b| {
            let mut buffers = simd_json::Buffers::new(4096);
            let mut copy: Vec<u8> = Vec::with_capacity(4096 + simd_json::INPUT_PADDING);
            let mut kept = Some(simd_json::Tape::null());
            b.iter(|| {
                let mut n = 0;
                for l in lines {
                    // simd-json parses in place, the input padded.
                    copy.clear();
                    copy.extend_from_slice(black_box(l).as_bytes());
                    copy.resize(l.len() + simd_json::INPUT_PADDING, 0);
                    let mut tape = kept.take().unwrap_or_else(simd_json::Tape::null).reset();
                    if simd_json::fill_tape_padded(&mut copy, l.len(), &mut buffers, &mut tape)
                        .is_ok()
                    {
                        n += tape_fields(&tape);
                    }
                    kept = Some(tape.reset());
                }
                n
            })
        });
        g.bench_function("simd_json_borrowed", |b| {
            let mut buffers = simd_json::Buffers::new(4096);
            let mut copy: Vec<u8> = Vec::with_capacity(4096);
            b.iter(|| {
                let mut n = 0;
                for l in lines {
                    copy.clear();
                    copy.extend_from_slice(black_box(l).as_bytes());
                    n += usize::from(
                        simd_json::to_borrowed_value_with_buffers(&mut copy, &mut buffers).is_ok(),
                    );
                }
                n
            })
        });
        g.bench_function("sonic_get_many", |b| {
            b.iter(|| {
                let mut n = 0;
                for l in lines {
                    if let Ok(found) = sonic_rs::get_many(black_box(l.as_str()), &tree) {
                        for v in found.iter().flatten() {
                            n += v.as_str().map_or(1, str::len);
                        }
                    }
                }
                n
            })
        });
        g.bench_function("sonic_get_many_unchecked", |b| {
            b.iter(|| {
                let mut n = 0;
                for (l, _) in lines.iter().zip(&valid).filter(|(_, &ok)| ok) {
                    // SAFETY: sonic-rs's contract for the unchecked variant is
                    // well-formed JSON: the line was checked by serde_json.
                    if let Ok(found) =
                        unsafe { sonic_rs::get_many_unchecked(black_box(l.as_str()), &tree) }
                    {
                        for v in found.iter().flatten() {
                            n += v.as_str().map_or(1, str::len);
                        }
                    }
                }
                n
            })
        });
        g.finish();
    }
    okta_read::write_sizes(
        &okta_read::criterion_dir(env!("CARGO_MANIFEST_DIR")),
        &groups,
    );
}

criterion_group!(benches, read);
criterion_main!(benches);
