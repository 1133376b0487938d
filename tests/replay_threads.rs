//! `riskgate replay --threads N` prints what `--threads 1` prints: the same
//! verdicts (text, JSON, explained), the same bad lines, the same summary
//! counts and exit code, and leaves the same state, whether the rules keep
//! state per agent only (evaluated by agent on every thread) or shared
//! between agents (`count(..) by ip`, evaluated in input order on one).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tmp(name: &str) -> PathBuf {
    let dir = root()
        .join("target")
        .join("test-tmp")
        .join("replay_threads");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir.join(name)
}

fn write(name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let p = tmp(name);
    std::fs::write(&p, contents).unwrap_or_else(|e| panic!("{e}"));
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_riskgate"))
        .current_dir(root())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run riskgate: {e}"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Standard error without what differs from run to run: the time and rate
/// of the summary, the name and size of a snapshot written (its hashes are
/// seeded per process, so its size varies by a few bytes).
fn stable_stderr(out: &Output) -> String {
    text(&out.stderr)
        .lines()
        .map(|l| {
            if l.starts_with("events: ") {
                l.split("  time:").next().unwrap_or(l).to_string()
            } else if let Some((head, _)) = l.split_once(" written to ") {
                head.to_string()
            } else if let (Some((head, _)), Some((_, tail))) =
                (l.split_once(" restored from "), l.split_once(" (taken"))
            {
                format!("{head} restored ({tail}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `args` with `--threads 1` and then 2, 3 and 4, and checks that
/// every run prints the same (stdout, stderr, exit code); returns the
/// single-thread run.
fn same_at_every_thread_count(args: &[&str]) -> Output {
    let one = run(&[args, &["--threads", "1"]].concat());
    for n in ["2", "3", "4"] {
        let many = run(&[args, &["--threads", n]].concat());
        assert_eq!(
            many.status.code(),
            one.status.code(),
            "--threads {n}: {}",
            text(&many.stderr)
        );
        assert!(
            text(&many.stdout) == text(&one.stdout),
            "--threads {n} printed other verdicts than --threads 1 for {args:?}"
        );
        assert_eq!(stable_stderr(&many), stable_stderr(&one), "--threads {n}");
    }
    one
}

const RULES: &str = "examples/rules/agents.rules";
const EVENTS: &str = "examples/events/okta-day.jsonl";
const PROFILES: &str = "examples/profiles/agents.json";

/// Rules whose state is per agent only: windows, a baseline, first-seen
/// and distinct sets, a cooldown.
const PER_AGENT_RULES: &str = "\
Rule P1 — Burst
Trigger: service_app authentication AND requests_per_minute > max(baseline * 3, 6)
Action: flag_for_review
Severity: MEDIUM

Rule P2 — New address
Trigger: authentication AND first_seen(ip) AND count over 1h > 3
Action: suspend_token + alert security team
Severity: HIGH
Cooldown: 10m

Rule P3 — Many addresses
Trigger: distinct(ip) over 1h > 8
Action: deny
Severity: HIGH

Rule P4 — Failures
Trigger: count(outcome == \"FAILURE\") over 10m >= 3
Action: flag_for_review
Severity: LOW
";

/// The per-agent rules and counters kept per address, whichever agent
/// the events come from.
fn keyed_rules() -> String {
    format!(
        "{PER_AGENT_RULES}
Rule K1 — Failures from one address
Trigger: count(authentication AND outcome == \"FAILURE\") over 10m by ip >= 60
Action: deny + alert security team
Severity: CRITICAL
Cooldown: 5m

Rule K2 — Busy address
Trigger: count over 1m by ip > 32
Action: flag_for_review
Severity: MEDIUM
"
    )
}

/// A seeded stream of `n` native events: 300 agents over 12 shared
/// addresses (each agent mostly on its own), one failure in six, a few
/// hundred milliseconds apart: more than three batches of lines.
fn events(n: usize) -> String {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut t: u64 = 1_793_500_000_000; // 2026-11-02
    let mut out = String::new();
    for _ in 0..n {
        t += next() % 400;
        let agent = next() % 300;
        let ip = if next() % 4 == 0 {
            next() % 12
        } else {
            agent % 12
        };
        let outcome = if next() % 6 == 0 {
            "FAILURE"
        } else {
            "SUCCESS"
        };
        let secs = t / 1000;
        let (h, m, sec) = (secs / 3600 % 24, secs / 60 % 60, secs % 60);
        let day = 2 + (secs - 1_793_500_000) / 86_400;
        out.push_str(&format!(
            "{{\"time\": \"2026-11-{day:02}T{h:02}:{m:02}:{sec:02}.{:03}Z\", \"agent\": \"agent-{agent}\", \
             \"actor\": \"service_app\", \"categories\": [\"authentication\"], \
             \"ip\": \"203.0.113.{ip}\", \"outcome\": \"{outcome}\"}}\n",
            t % 1000
        ));
    }
    out
}

#[test]
fn the_bundled_day_prints_the_same_at_every_thread_count() {
    for extra in [
        &["--output", "text"][..],
        &["--output", "json"],
        &["--output", "json", "--explain"],
        &["--output", "text", "--explain", "--hide-shadow"],
    ] {
        let one = same_at_every_thread_count(
            &[
                &["replay", RULES, EVENTS, "--profiles", PROFILES][..],
                extra,
            ]
            .concat(),
        );
        assert_eq!(one.status.code(), Some(0), "{}", text(&one.stderr));
        assert!(text(&one.stdout).lines().count() > 900, "{extra:?}");
    }
}

#[test]
fn per_agent_and_shared_state_print_the_same_at_every_thread_count() {
    let stream = write("stream.jsonl", events(30_000));
    let per_agent = write("per-agent.rules", PER_AGENT_RULES);
    let keyed = write("keyed.rules", keyed_rules());
    for rules in [&per_agent, &keyed] {
        for output in ["text", "json"] {
            let one =
                same_at_every_thread_count(&["replay", s(rules), s(&stream), "--output", output]);
            assert_eq!(one.status.code(), Some(0), "{}", text(&one.stderr));
            let out = text(&one.stdout);
            // Every rule fired somewhere: the verdicts depend on the state.
            let ids: &[&str] = if rules == &keyed {
                &["P1", "P2", "P3", "P4", "K1", "K2"]
            } else {
                &["P1", "P2", "P3", "P4"]
            };
            for id in ids {
                assert!(
                    out.contains(&format!("{id}\"")) || out.contains(&format!("rule {id} ")),
                    "{id} never fired ({output})"
                );
            }
        }
    }
    // At the agent cap, which agents stay untracked depends on the order
    // they come in: the same at every thread count too.
    let capped =
        same_at_every_thread_count(&["replay", s(&per_agent), s(&stream), "--max-agents", "120"]);
    assert!(
        text(&capped.stderr).contains("agents tracked: 120 "),
        "{}",
        text(&capped.stderr)
    );
}

#[test]
fn bad_lines_are_reported_in_order_at_every_thread_count() {
    let good = events(20_000);
    let mut mixed: Vec<u8> = Vec::new();
    for (i, line) in good.lines().enumerate() {
        match i % 997 {
            3 => mixed.extend_from_slice(b"not json at all\n"),
            100 => mixed.extend_from_slice(b"\n   \n"),
            200 => mixed.extend_from_slice(b"{\"time\": \"yesterday\", \"agent\": \"a\"}\n"),
            300 => mixed.extend_from_slice(b"{\"agent\": \"no-time\"}\n"),
            400 => mixed.extend_from_slice(
                b"{\"time\": \"2026-11-02T00:00:00Z\", \"agent\": \"\xff\xfe\"}\n",
            ),
            500 => mixed.extend_from_slice(&line.as_bytes()[..line.len() / 2]),
            _ => {}
        }
        mixed.extend_from_slice(line.as_bytes());
        mixed.push(b'\n');
    }
    // The last line without its line break.
    mixed.extend_from_slice(b"{\"truncated\": ");
    let stream = write("mixed.jsonl", &mixed);
    let keyed = write("keyed-bad.rules", keyed_rules());
    let per_agent = write("per-agent-bad.rules", PER_AGENT_RULES);
    for rules in [&keyed, &per_agent] {
        let one = same_at_every_thread_count(&["replay", s(rules), s(&stream)]);
        assert_eq!(one.status.code(), Some(2));
        let err = text(&one.stderr);
        let bad: Vec<&str> = err.lines().filter(|l| l.starts_with("line ")).collect();
        // Five kinds of bad line, each about 20 times, and the last line.
        assert!(bad.len() > 90, "{} bad lines", bad.len());
        let numbers: Vec<u64> = bad
            .iter()
            .filter_map(|l| l.strip_prefix("line ")?.split(':').next()?.parse().ok())
            .collect();
        assert_eq!(numbers.len(), bad.len());
        assert!(
            numbers.windows(2).all(|w| w[0] < w[1]),
            "not in input order"
        );
        assert!(err.contains(&format!("bad lines: {} ", bad.len())), "{err}");
        assert!(err.contains("not UTF-8 text"), "{err}");
    }
    // Standard input too.
    let piped = |threads: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_riskgate"))
            .current_dir(root())
            .args(["replay", s(&keyed), "-", "--threads", threads])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        // Written by another thread while this one reads the output: the
        // child stops reading when its stdout pipe is full.
        let feeder = child.stdin.take().map(|mut stdin| {
            let input = mixed.clone();
            std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &input))
        });
        let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
        if let Some(f) = feeder {
            let written = f.join().unwrap_or_else(|_| panic!("feeder panicked"));
            written.unwrap_or_else(|e| panic!("{e}"));
        }
        out
    };
    let (one, three) = (piped("1"), piped("3"));
    assert_eq!(one.status.code(), Some(2));
    assert_eq!(three.status.code(), Some(2));
    assert!(one.stdout == three.stdout);
    assert_eq!(stable_stderr(&one), stable_stderr(&three));
}

/// The records of a snapshot (format in `src/run/snapshot.rs`): its agents
/// by stored key, and its keys by map and hash.
fn snapshot_records(path: &Path) -> (Vec<String>, Vec<String>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bytes.get(..8), Some(&b"RGSNAP\r\n"[..]));
    let mut at = 10;
    let (mut agents, mut keys) = (Vec::new(), Vec::new());
    while at < bytes.len() {
        let kind = bytes[at];
        let len = u32::from_le_bytes([bytes[at + 1], bytes[at + 2], bytes[at + 3], bytes[at + 4]]);
        let payload = &bytes[at + 9..at + 9 + len as usize];
        match kind {
            2 => {
                let records: Vec<riskgate::run::state::AgentRecord> =
                    postcard::from_bytes(payload).unwrap_or_else(|e| panic!("{e}"));
                agents.extend(records.iter().map(|r| format!("{r:?}")));
            }
            3 => {
                let records: Vec<riskgate::run::state::KeyRecord> =
                    postcard::from_bytes(payload).unwrap_or_else(|e| panic!("{e}"));
                keys.extend(records.iter().map(|r| format!("{r:?}")));
            }
            _ => {}
        }
        at += 9 + len as usize;
    }
    agents.sort();
    keys.sort();
    (agents, keys)
}

/// The state written by `--state-out` is the same at every thread count.
/// Values are kept as hashes seeded per process, so every run starts from
/// one snapshot (whose seeds it then uses) to compare them; the maps'
/// order is their own, so the records are compared sorted.
#[test]
fn snapshots_hold_the_same_state_at_every_thread_count() {
    let all = events(26_000);
    let lines: Vec<&str> = all.lines().collect();
    let parts = |from: usize, to: usize| lines[from..to].join("\n") + "\n";
    let start = write("start.jsonl", parts(0, 2_000));
    let first = write("first.jsonl", parts(2_000, 17_000));
    let second = write("second.jsonl", parts(17_000, 26_000));
    let keyed = write("keyed-snap.rules", keyed_rules());
    let per_agent = write("per-agent-snap.rules", PER_AGENT_RULES);
    let day: Vec<&str> = include_str!("../examples/events/okta-day.jsonl")
        .lines()
        .collect();
    let day_start = write("day-start.jsonl", day[..500].join("\n") + "\n");
    let day_first = write("day-first.jsonl", day[500..3000].join("\n") + "\n");
    let day_second = write("day-second.jsonl", day[3000..].join("\n") + "\n");
    let cases = [
        (s(&keyed), [&start, &first, &second], None),
        (s(&per_agent), [&start, &first, &second], None),
        (RULES, [&day_start, &day_first, &day_second], Some(PROFILES)),
    ];
    for (rules, [start, first, second], profiles) in cases {
        let profiles: Vec<&str> = profiles.map_or(vec![], |p| vec!["--profiles", p]);
        let seeded = tmp("seeded.snap");
        let out = run(&[
            &[
                "replay",
                rules,
                s(start),
                "--threads",
                "1",
                "--state-out",
                s(&seeded),
            ][..],
            &profiles,
        ]
        .concat());
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let mut states = Vec::new();
        let mut continued = Vec::new();
        for threads in ["1", "2", "4"] {
            let snap = tmp(&format!("state-{threads}.snap"));
            let _ = std::fs::remove_file(&snap);
            let out = run(&[
                &[
                    "replay",
                    rules,
                    s(first),
                    "--threads",
                    threads,
                    "--state-in",
                    s(&seeded),
                    "--state-out",
                    s(&snap),
                ][..],
                &profiles,
            ]
            .concat());
            assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
            assert!(text(&out.stderr).contains("written to"));
            let records = snapshot_records(&snap);
            assert!(records.0.len() > 50, "{rules}: {} agents", records.0.len());
            states.push((records, stable_stderr(&out)));
            // Going on from it, at another thread count.
            let again = if threads == "1" { "3" } else { "1" };
            let next = run(&[
                &[
                    "replay",
                    rules,
                    s(second),
                    "--threads",
                    again,
                    "--state-in",
                    s(&snap),
                ][..],
                &profiles,
            ]
            .concat());
            assert_eq!(next.status.code(), Some(0), "{}", text(&next.stderr));
            continued.push((text(&next.stdout), stable_stderr(&next)));
        }
        for (i, st) in states.iter().enumerate().skip(1) {
            assert!(
                st.0 .0 == states[0].0 .0,
                "{rules}: agents' state differs (run {i})"
            );
            assert!(
                st.0 .1 == states[0].0 .1,
                "{rules}: keys' state differs (run {i})"
            );
            assert_eq!(st.1, states[0].1, "{rules}");
        }
        for c in &continued[1..] {
            assert!(
                c.0 == continued[0].0,
                "{rules}: other verdicts after the snapshot"
            );
            assert_eq!(c.1, continued[0].1, "{rules}");
        }
        assert!(continued[0].0.contains("line "), "{rules}: no verdicts");
    }
}
