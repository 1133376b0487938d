//! Heap allocations per `evaluate`, counted by a global allocator: none on a
//! warmed agent when no rule fires; a fixed, small number when rules fire.
//!
//! The counter is per thread, so the test harness's other threads do not
//! disturb the count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use riskgate::input::profile::Profiles;
use riskgate::run::engine::Engine;
use riskgate::{ActorKind, Categories, Event, RuleSet};

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
    /// Bytes allocated and not yet freed by this thread.
    static HELD: Cell<i64> = const { Cell::new(0) };
    /// The most `HELD` has been since [`peak_reset`].
    static PEAK: Cell<i64> = const { Cell::new(0) };
}

fn held(delta: i64) {
    let _ = HELD.try_with(|c| {
        c.set(c.get() + delta);
        let _ = PEAK.try_with(|p| p.set(p.get().max(c.get())));
    });
}

/// What `f` returns, the bytes it leaves held, and the most it held at once
/// on the way (both over what was held before).
fn held_by<T>(f: impl FnOnce() -> T) -> (T, i64, i64) {
    let before = HELD.with(Cell::get);
    PEAK.with(|p| p.set(before));
    let out = f();
    let after = HELD.with(Cell::get);
    (out, after - before, PEAK.with(Cell::get) - before)
}

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        held(layout.size() as i64);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        held(-(layout.size() as i64));
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        held(new_size as i64 - layout.size() as i64);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = ALLOCS.with(Cell::get);
    let out = f();
    (out, ALLOCS.with(Cell::get) - before)
}

const T0: i64 = 1_795_305_600_000; // 2026-11-22T00:00:00Z

fn engine(source: &str) -> Engine {
    let rules = RuleSet::from_source("alloc.rules", source).unwrap_or_else(|d| panic!("{d}"));
    let profiles = Profiles::from_json_str(
        r#"{"agent_id": "svc", "scopes": ["read", "write"], "token_lifetime_minutes": 15}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    Engine::builder(rules.compile())
        .profiles(&profiles)
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn event(t: i64, ip: &str, scopes: &[&'static str]) -> Event<'static> {
    Event::builder("svc", t)
        .actor(ActorKind::ServiceApp)
        .categories(Categories::AUTHENTICATION | Categories::TOKEN_REQUEST)
        .ip(ip.parse().unwrap_or_else(|e| panic!("{e}")))
        .scopes(scopes.iter().copied())
        .build()
}

#[test]
fn seed_rules_allocate_nothing_when_no_rule_fires_on_a_warmed_agent() {
    let engine = engine(include_str!("../examples/rules/seed.rules"));
    // Warm the agent (and this thread's scratch) for 20 minutes.
    for k in 0..40 {
        let e = event(T0 + 12 * 3_600_000 + k * 30_000, "10.0.0.1", &["read"]);
        assert!(engine.evaluate(&e).matches().next().is_none());
    }
    let quiet: Vec<Event<'static>> = (0..100)
        .map(|k| {
            event(
                T0 + 13 * 3_600_000 + k * 1_000,
                "10.0.0.1",
                &["read", "write"],
            )
        })
        .collect();
    for e in &quiet {
        let (v, n) = allocations(|| engine.evaluate(e));
        assert!(v.matches().next().is_none());
        assert_eq!(n, 0, "a quiet evaluation allocated {n} times");
    }
}

#[test]
fn a_firing_rule_allocates_nothing_up_to_four_matches() {
    let engine = engine(include_str!("../examples/rules/seed.rules"));
    for k in 0..40 {
        let e = event(T0 + 12 * 3_600_000 + k * 30_000, "10.0.0.1", &["read"]);
        assert!(engine.evaluate(&e).matches().next().is_none());
    }
    // Rule 1 fires (new network): the match names the rule in the program,
    // kept inline in the verdict; the alerts are read from the program.
    let e = event(T0 + 13 * 3_600_000, "203.0.113.9", &["read"]);
    let (v, n) = allocations(|| engine.evaluate(&e));
    assert_eq!(v.rule_ids().collect::<Vec<_>>(), ["1"]);
    let m = v.matches().next().map(|m| m.alerts().count());
    assert_eq!(m, Some(1));
    drop(v);
    assert_eq!(n, 0);
    // Rules 1 and 3 fire.
    let e = event(T0 + 13 * 3_600_000 + 1, "203.0.113.9", &["read", "admin"]);
    let (v, n) = allocations(|| engine.evaluate(&e));
    assert_eq!(v.rule_ids().collect::<Vec<_>>(), ["1", "3"]);
    drop(v);
    assert_eq!(n, 0);
}

#[test]
fn a_fifth_match_moves_the_matches_to_one_allocation() {
    let rule = |i: u32| {
        format!("Rule {i} — any\nTrigger: service_app authentication\nAction: flag_for_review + alert security team\nSeverity: LOW\n\n")
    };
    let four: String = (1..=4).map(rule).collect();
    let five: String = (1..=5).map(rule).collect();
    for (source, fired, allocs) in [(four, 4, 0), (five, 5, 1)] {
        let engine = engine(&source);
        let e = event(T0, "10.0.0.1", &["read"]);
        let _ = engine.evaluate(&e); // this thread's scratch
        let (v, n) = allocations(|| engine.evaluate(&e));
        assert_eq!(v.matches().count(), fired);
        drop(v);
        assert_eq!(n, allocs, "{fired} matches");
    }
}

#[test]
fn windowed_metrics_allocate_nothing_when_quiet() {
    let engine = engine(
        r#"
Rule 1 — Failures from one address
Trigger: count(outcome == "FAILURE") over 10m by ip > 5 and distinct(country) over 1h > 3 and first_seen(ip)
Action: flag
Severity: LOW
"#,
    );
    for k in 0..40 {
        let e = event(T0 + k * 30_000, "10.0.0.1", &["read"]);
        let _ = engine.evaluate(&e);
    }
    let e = event(T0 + 40 * 30_000, "10.0.0.1", &["read"]);
    let (v, n) = allocations(|| engine.evaluate(&e));
    assert!(v.matches().next().is_none());
    assert_eq!(n, 0);
}

/// Hardening item 8: the cooldown map kept every alerting agent's full id
/// (5,000 ids of 200 KB reached 987 MB). Now cooldowns live in the agent's
/// state, and an agent id over 1 KiB is kept as its first bytes and a hash.
#[test]
fn item08_cooldowns_hold_no_copy_of_long_agent_ids() {
    let engine = engine(
        "Rule A: a\nTrigger: count over 1m > 0\nAction: flag + alert security team\nSeverity: LOW\nCooldown: 1h\n",
    );
    let ids: Vec<String> = (0..1_000)
        .map(|i| format!("{i:08}{}", "x".repeat(64 * 1024)))
        .collect();
    let before = HELD.with(Cell::get);
    for (k, id) in ids.iter().enumerate() {
        let e = Event::builder(id.as_str(), T0 + k as i64).build();
        let v = engine.evaluate(&e);
        assert_eq!(v.rule_ids().collect::<Vec<_>>(), ["A"]);
    }
    let retained = HELD.with(Cell::get) - before;
    assert_eq!(engine.cooldown_entries(), 1_000);
    // 64 MiB of ids went through; each agent is kept under its id capped at
    // 1 KiB (first bytes and a hash), so under 2 KiB an agent stays.
    assert!(retained < 2 << 20, "{retained} bytes retained");
    // The cooldown still applies to each of them.
    let again = Event::builder(ids[7].as_str(), T0 + 5_000).build();
    let v = engine.evaluate(&again);
    assert!(v.matches().all(|m| m.alerts().all(|a| a.suppressed)));
}

/// Profiles made of `n` copies of the bundled profiles, each agent id made
/// unique: a profiles file of realistic shape (names, scope lists, networks,
/// numbers), one object a line.
fn realistic_profiles(n: usize) -> String {
    let bundled: serde_json::Value =
        serde_json::from_str(include_str!("../examples/profiles/agents.json"))
            .unwrap_or_else(|e| panic!("{e}"));
    let items = bundled.as_array().cloned().unwrap_or_default();
    let mut out = String::new();
    for copy in 0..n {
        for item in &items {
            let mut item = item.clone();
            if let Some(id) = item.get_mut("agent_id") {
                *id = format!("{}-{copy}", id.as_str().unwrap_or("a")).into();
            }
            out.push_str(&item.to_string());
            out.push('\n');
        }
    }
    out
}

/// Bytes held by the loaded profiles, and the most held while loading, per
/// byte of `text`.
fn profile_ratios(text: &str) -> (f64, f64) {
    let (profiles, held, peak) = held_by(|| Profiles::from_json_str(text));
    let profiles = profiles.unwrap_or_else(|e| panic!("{e}"));
    assert!(!profiles.is_empty());
    let len = text.len() as f64;
    (held as f64 / len, peak as f64 / len)
}

/// Hardening item 9: a 50 MB profiles file held 1.57 GB (about 31 bytes a
/// byte). Profiles are held compactly now: strings interned, lists and
/// objects as slices of 24-byte values, no JSON maps, and a file is read
/// one profile at a time (an array too). Realistic profiles hold at most 3
/// bytes a byte of JSON (4 at the peak of loading), an engine built from
/// them 1.5; no shape of file holds more than 12.5 (25 at the peak).
#[test]
fn item09_profiles_hold_a_bounded_multiple_of_their_json() {
    let realistic = realistic_profiles(40);
    assert!(realistic.len() > 800_000, "{}", realistic.len());
    let (held, peak) = profile_ratios(&realistic);
    eprintln!("realistic: held {held:.2}, peak {peak:.2}");
    assert!(
        held <= 3.0,
        "realistic profiles: {held:.2} bytes held a byte"
    );
    assert!(
        peak <= 4.0,
        "realistic profiles: {peak:.2} bytes at peak a byte"
    );
    // The same profiles as one JSON array: read one element at a time.
    let array = format!("[{}]", realistic.trim_end().replace('\n', ",\n"));
    let (held, peak) = profile_ratios(&array);
    eprintln!("array: held {held:.2}, peak {peak:.2}");
    assert!(
        held <= 3.0,
        "an array of profiles: {held:.2} bytes held a byte"
    );
    assert!(
        peak <= 4.0,
        "an array of profiles: {peak:.2} bytes at peak a byte"
    );
    // An engine keeps what its rules read of each profile, shared with the
    // loaded profiles (which replay drops once the engine is built).
    let rules = RuleSet::from_source(
        "agents.rules",
        include_str!("../examples/rules/agents.rules"),
    )
    .unwrap_or_else(|d| panic!("{d}"));
    let (bare, without, _) = held_by(|| Engine::builder(rules.compile()).build());
    let (engine, with_profiles, _) = held_by(|| {
        let profiles = Profiles::from_json_str(&realistic).unwrap_or_else(|e| panic!("{e}"));
        Engine::builder(rules.compile()).profiles(&profiles).build()
    });
    assert!(engine.is_ok() && bare.is_ok());
    let engine_held = (with_profiles - without) as f64 / realistic.len() as f64;
    eprintln!("engine: held {engine_held:.2}");
    assert!(
        engine_held <= 1.5,
        "an engine: {engine_held:.2} bytes held a byte of profiles"
    );
    // The shapes that cost the most a byte: the smallest values (`0,`, `[],`,
    // `{},`), short distinct strings and keys, and tiny profiles.
    let n = 100_000;
    let worst = [
        (
            "tiny numbers",
            format!("{{\"agent_id\": \"a\", \"n\": [{}0]}}", "0,".repeat(n)),
        ),
        (
            "empty arrays",
            format!("{{\"agent_id\": \"a\", \"n\": [{}[]]}}", "[],".repeat(n)),
        ),
        (
            "empty objects",
            format!("{{\"agent_id\": \"a\", \"n\": [{}{{}}]}}", "{},".repeat(n)),
        ),
        (
            "distinct strings",
            format!(
                "{{\"agent_id\": \"a\", \"n\": [{}\"\"]}}",
                (0..n).map(|i| format!("\"{i:x}\",")).collect::<String>()
            ),
        ),
        (
            "distinct keys",
            format!(
                "{{\"agent_id\": \"a\"{}}}",
                (0..n).map(|i| format!(",\"{i:x}\":0")).collect::<String>()
            ),
        ),
        (
            "tiny profiles",
            (0..n)
                .map(|i| format!("{{\"agent_id\":\"{i:x}\"}}\n"))
                .collect::<String>(),
        ),
        (
            "tiny profiles in an array",
            format!(
                "[{}{{\"agent_id\":\"end\"}}]",
                (0..n)
                    .map(|i| format!("{{\"agent_id\":\"{i:x}\"}},"))
                    .collect::<String>()
            ),
        ),
    ];
    for (shape, text) in &worst {
        let (held, peak) = profile_ratios(text);
        eprintln!("{shape}: held {held:.2}, peak {peak:.2}");
        assert!(held <= 12.5, "{shape}: {held:.2} bytes held a byte");
        assert!(peak <= 25.0, "{shape}: {peak:.2} bytes at peak a byte");
    }
}

/// Paths with indexes and quoted keys, the time fields (`date` included,
/// in a zone) and `similarity` read what the event holds: no allocation
/// when no rule fires. `json(...)` allocates only when a rule reads it,
/// for what it decodes.
#[test]
fn paths_time_fields_and_similarity_allocate_nothing_when_no_rule_fires() {
    let paths = engine(
        "Rule P — Paths and time\n\
         Trigger: attr.target[-1].\"alternate id\" == \"x\" OR hour_of_week(\"Europe/Berlin\") == 200\n\
         OR date(\"America/New_York\") == \"1999-01-01\" OR weekday == \"funday\"\n\
         OR first_seen(date) AND distinct(date) over 1d > 5\n\
         OR similarity(attr.actor.displayName, \"Completely Different\") > 0.99\n\
         Action: flag\nSeverity: LOW\n",
    );
    let with = |t: i64| {
        Event::builder("svc", t)
            .attrs(serde_json::json!({
                "actor": {"displayName": "Datadog Remediation"},
                "target": [{"alternate id": "a"}, {"alternate id": "b"}],
            }))
            .build()
    };
    for k in 0..5 {
        let _ = paths.evaluate(&with(T0 + k * 1_000));
    }
    for k in 5..50 {
        let e = with(T0 + k * 1_000);
        let (v, n) = allocations(|| paths.evaluate(&e));
        assert!(v.matches().next().is_none());
        assert_eq!(n, 0, "a quiet evaluation allocated {n} times");
    }
    // `json(...)` decodes (and so allocates) only when it is read: an
    // event that no rule reading it is a candidate for allocates nothing.
    let decoding = engine(
        "Rule J — Decoded\n\
         Trigger: token request AND json(attr.data).level == \"HIGH\"\n\
         Action: flag\nSeverity: LOW\n",
    );
    let e = Event::builder("svc", T0)
        .actor(ActorKind::ServiceApp)
        .categories(Categories::AUTHENTICATION)
        .attrs(serde_json::json!({"data": "{\"level\": \"LOW\"}"}))
        .build();
    let _ = decoding.evaluate(&e);
    let (v, n) = allocations(|| decoding.evaluate(&e));
    assert!(v.matches().next().is_none());
    assert_eq!(
        n, 0,
        "an event the json rule is no candidate for allocated {n} times"
    );
    let read = Event::builder("svc", T0)
        .actor(ActorKind::ServiceApp)
        .categories(Categories::TOKEN_REQUEST)
        .attrs(serde_json::json!({"data": "{\"level\": \"LOW\"}"}))
        .build();
    let (v, n) = allocations(|| decoding.evaluate(&read));
    assert!(v.matches().next().is_none());
    assert!(n > 0, "decoding allocates");
}

#[path = "../benches/support/stateful.rs"]
mod stateful;

/// Every construct of the language (`benches/support/stateful.rs`: one rule
/// set per construct, and one set with every stateful construct), on an agent
/// warmed with 91 days of traffic: an evaluation that fires no rule allocates
/// nothing, the windows and histories advancing as they would live, but for
/// `json(...)`, which allocates what it decodes when a rule reads it, and
/// frees it before `evaluate` returns.
#[test]
fn every_construct_allocates_nothing_when_no_rule_fires_on_a_warmed_agent() {
    let all = stateful::all_constructs();
    let sets = stateful::SETS
        .iter()
        .copied()
        .chain([("all_constructs", all.as_str())]);
    for (name, rules) in sets {
        let (engine, mut t) = stateful::warmed(rules);
        let mut e = stateful::event(t);
        // Three days: across day and hour boundaries, and the pace changes.
        let end = t + 3 * stateful::DAY_MS;
        while t < end {
            e.time_ms = t;
            t += stateful::step(t);
            let ((fired, n), left, peak) =
                held_by(|| allocations(|| engine.evaluate(&e).matches().next().is_some()));
            assert!(!fired, "{name}: a rule fired at {}", e.time_ms);
            assert_eq!(left, 0, "{name}: an evaluation left bytes held");
            if name == "json_path" {
                // The decoded document, freed before `evaluate` returns
                // (what is left held is 0).
                assert!(n > 0 && peak > 0, "{name}: json decodes");
            } else {
                assert_eq!(n, 0, "{name}: a quiet evaluation allocated {n} times");
            }
        }
    }
}
