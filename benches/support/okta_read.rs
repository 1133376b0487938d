//! What `benches/okta_read.rs` and `benches/readers` share: the lines, the
//! `AttrFilter` of `examples/rules/agents.rules`, the readers that need no
//! other JSON library, and the sizes file `benches/okta_read.py` reads.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::measurement::WallTime;
use criterion::BenchmarkGroup;
use riskgate::input::okta::{parse_event_with, AttrFilter, Format};

/// Made by `cargo run --release --example gen_events -- --events 100000`.
pub const GENERATED: &str = "target/gen/okta-100000.jsonl";
pub const GENERATED_LINES: usize = 10_000;

/// The repository's root (`root_from_here` is the bench's `CARGO_MANIFEST_DIR`).
pub fn repo_root(root_from_here: &str) -> PathBuf {
    let here = Path::new(root_from_here);
    if here.join("examples/rules/agents.rules").is_file() {
        here.to_path_buf()
    } else {
        here.join("../..")
    }
}

/// A group of lines to read.
pub struct Lines {
    pub group: &'static str,
    pub source: String,
    pub lines: Vec<String>,
}

impl Lines {
    pub fn bytes(&self) -> usize {
        self.lines.iter().map(String::len).sum()
    }
}

/// `generated`: the first 10,000 lines of [`GENERATED`] (else the bundled
/// day); `fixtures`: the lines of `tests/fixtures/okta/*.jsonl`.
pub fn groups(root: &Path) -> Vec<Lines> {
    let generated = match std::fs::read_to_string(root.join(GENERATED)) {
        Ok(text) => Lines {
            group: "generated",
            source: GENERATED.to_owned(),
            lines: text
                .lines()
                .take(GENERATED_LINES)
                .map(str::to_owned)
                .collect(),
        },
        Err(_) => {
            let day = "examples/events/okta-day.jsonl";
            let text = std::fs::read_to_string(root.join(day)).unwrap_or_default();
            Lines {
                group: "generated",
                source: day.to_owned(),
                lines: text.lines().map(str::to_owned).collect(),
            }
        }
    };
    let mut fixtures = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(root.join("tests/fixtures/okta"))
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    for f in files {
        if f.extension().is_some_and(|e| e == "jsonl") {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            fixtures.extend(
                text.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(str::to_owned),
            );
        }
    }
    vec![
        generated,
        Lines {
            group: "fixtures",
            source: "tests/fixtures/okta".to_owned(),
            lines: fixtures,
        },
    ]
}

pub fn agents_filter(root: &Path) -> AttrFilter {
    let src = std::fs::read_to_string(root.join("examples/rules/agents.rules"))
        .unwrap_or_else(|e| panic!("examples/rules/agents.rules: {e}"));
    let program = riskgate::RuleSet::from_source("agents.rules", &src)
        .unwrap_or_else(|d| panic!("agents.rules: {d:?}"))
        .compile();
    AttrFilter::for_program(&program)
}

/// Prints the group's size and how many lines read as events.
pub fn describe(lines: &Lines, filter: &AttrFilter) {
    let bytes = lines.bytes();
    let events = lines
        .lines
        .iter()
        .filter(|l| parse_event_with(l, Format::Okta, filter).is_ok())
        .count();
    eprintln!(
        "okta_read/{}: {} lines ({}), {bytes} bytes, {:.0} bytes a line, {events} read as events",
        lines.group,
        lines.lines.len(),
        lines.source,
        bytes as f64 / lines.lines.len().max(1) as f64
    );
}

/// The readers of riskgate and serde_json, and the memchr floor.
pub fn common_readers(g: &mut BenchmarkGroup<'_, WallTime>, lines: &[String], filter: &AttrFilter) {
    g.bench_function("memchr_quotes", |b| {
        b.iter(|| {
            let mut n = 0;
            for l in lines {
                n += memchr::memchr_iter(b'"', black_box(l.as_bytes())).count();
            }
            n
        })
    });
    g.bench_function("serde_validate", |b| {
        b.iter(|| {
            let mut n = 0;
            for l in lines {
                n += usize::from(
                    serde_json::from_str::<serde::de::IgnoredAny>(black_box(l)).is_ok(),
                );
            }
            n
        })
    });
    g.bench_function("serde_value", |b| {
        b.iter(|| {
            let mut n = 0;
            for l in lines {
                n += usize::from(serde_json::from_str::<serde_json::Value>(black_box(l)).is_ok());
            }
            n
        })
    });
    for (name, format) in [
        ("riskgate_auto", Format::Auto),
        ("riskgate_okta", Format::Okta),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut n = 0;
                for l in lines {
                    if let Ok(e) = parse_event_with(black_box(l), format, filter) {
                        n += e.agent.len();
                    }
                }
                n
            })
        });
    }
}

/// Where criterion writes its figures for the package at `manifest_dir`.
pub fn criterion_dir(manifest_dir: &str) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(manifest_dir).join("target"))
        .join("criterion")
}

/// Writes `okta_read_sizes.json` (lines and bytes of each group) into
/// `criterion_dir`, for `benches/okta_read.py`.
pub fn write_sizes(criterion_dir: &Path, groups: &[Lines]) {
    let sizes: Vec<String> = groups
        .iter()
        .map(|l| {
            format!(
                "\"{}\": {{\"lines\": {}, \"bytes\": {}}}",
                l.group,
                l.lines.len(),
                l.bytes()
            )
        })
        .collect();
    if std::fs::create_dir_all(criterion_dir).is_ok() {
        let _ = std::fs::write(
            criterion_dir.join("okta_read_sizes.json"),
            format!("{{{}}}\n", sizes.join(", ")),
        );
    }
}
