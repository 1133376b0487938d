//! Footprint figures, printed (no timing): heap allocations per `evaluate`
//! of the seed rules (counted by a global allocator, on this thread), and
//! memory per tracked agent (the store's own figure and the resident-set
//! growth of a million tracked agents, engine and hand-written reference),
//! and the bytes per agent and per key of each construct of the language
//! (`benches/support/stateful.rs`: one rule set per construct, and one with
//! every stateful construct) on an agent warmed with 91 days of traffic.
//!
//! `cargo bench --bench footprint` (`-- constructs`: the constructs' table
//! only)

#[path = "support/common.rs"]
mod common;
#[path = "support/reference.rs"]
mod reference;
#[path = "support/stateful.rs"]
mod stateful;

use std::alloc::{GlobalAlloc, Layout, System};
use std::borrow::Cow;
use std::cell::Cell;

use common::Case;

struct Counting;

thread_local! {
    /// Allocations and bytes requested on this thread.
    static ALLOCS: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
    /// Heap bytes live, allocated on this thread minus freed on it.
    static LIVE: Cell<i64> = const { Cell::new(0) };
}

fn count(bytes: usize) {
    let _ = ALLOCS.try_with(|c| {
        let (n, b) = c.get();
        c.set((n + 1, b + bytes as u64));
    });
}

fn live(delta: i64) {
    let _ = LIVE.try_with(|c| c.set(c.get() + delta));
}

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        live(layout.size() as i64);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        live(-(layout.size() as i64));
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        live(new_size as i64 - layout.size() as i64);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations and bytes requested by `f` on this thread.
fn allocations<T>(f: impl FnOnce() -> T) -> (T, u64, u64) {
    let (n0, b0) = ALLOCS.with(Cell::get);
    let out = f();
    let (n1, b1) = ALLOCS.with(Cell::get);
    (out, n1 - n0, b1 - b0)
}

/// Bytes per agent and per key of each construct's rule set, warmed.
fn constructs() {
    println!("## memory per construct (warmed agent, 24-byte id)\n");
    println!(
        "| set | agent, new | agent, warmed | over an agent of no metric | keys | bytes per key |"
    );
    println!("|---|---|---|---|---|---|");
    let none = stateful::engine(stateful::SETS[1].1);
    let bare = none.store().new_agent_memory_bytes(stateful::AGENT.len());
    let all = stateful::all_constructs();
    let sets = stateful::SETS
        .iter()
        .copied()
        .chain([("all_constructs", all.as_str())]);
    for (name, rules) in sets {
        let (engine, _) = stateful::warmed(rules);
        let store = engine.store();
        let Some(agent) = store.agent_memory_bytes(stateful::AGENT) else {
            // No metric: the agent is not tracked.
            println!("| {name} | – | – | – | – | – |");
            continue;
        };
        let keys = store.keys_len();
        let per_key = (store.bytes() - agent)
            .checked_div(keys)
            .map_or("–".to_string(), |b| b.to_string());
        println!(
            "| {name} | {} | {agent} | {} | {keys} | {per_key} |",
            store.new_agent_memory_bytes(stateful::AGENT.len()),
            agent - bare,
        );
        assert_eq!(store.bytes(), store.bytes_by_scan());
    }
    println!();
}

fn main() {
    constructs();
    // `cargo bench --bench footprint -- constructs`: that table only.
    if std::env::args().any(|a| a == "constructs") {
        return;
    }
    println!("## allocations per event (seed rules, warmed agent)\n");
    println!("| case | evaluate | evaluate_explained |");
    println!("|---|---|---|");
    for case in Case::ALL {
        let mut cells = Vec::new();
        for explained in [false, true] {
            let (engine, e) = common::warmed_engine(case);
            // Twice first: the thread's scratch buffers are sized on first use.
            for _ in 0..2 {
                let _ = engine.evaluate_explained(&e);
            }
            let (_, n, bytes) = allocations(|| {
                let v = if explained {
                    engine.evaluate_explained(&e)
                } else {
                    engine.evaluate(&e)
                };
                assert_eq!(v.rule_ids().collect::<Vec<_>>(), case.expected());
            });
            // The assertion's own `Vec` of ids is one allocation when non-empty.
            let own = u64::from(!case.expected().is_empty());
            cells.push(format!(
                "{} ({} B)",
                n - own,
                bytes - own * 16 * case.expected().len() as u64
            ));
        }
        println!("| {} | {} | {} |", case.name(), cells[0], cells[1]);
    }
    let (mut reference, e) = common::warmed_reference(Case::All);
    let (_, n, _) = allocations(|| reference.evaluate(&e));
    println!("\nreference, all three fire: {n} allocations");

    println!("\n## memory per tracked agent (seed rules)\n");
    let (engine, _) = common::warmed_engine(Case::None);
    let agent = common::AGENT;
    println!(
        "store figure, `{agent}` ({} B id): agent_memory_bytes = {} B (new agent: {} B)",
        agent.len(),
        engine.store().agent_memory_bytes(agent).unwrap_or(0),
        engine.store().new_agent_memory_bytes(agent.len()),
    );
    drop(engine);

    const N: usize = 1_000_000;
    let ids = common::agent_ids(N);
    let id_len = ids[0].len();
    let mut e = common::quiet_event(&ids[0], common::NOON);
    // The engine first, in a process that has not freed anything big yet, so
    // the resident-set growth is its own.
    let (rss0, live0) = (common::rss_bytes().unwrap_or(0), LIVE.with(Cell::get));
    let engine = common::seed_engine(N);
    for id in &ids {
        e.agent = Cow::Borrowed(id.as_str());
        let _ = engine.evaluate(&e);
    }
    let (rss1, live1) = (common::rss_bytes().unwrap_or(0), LIVE.with(Cell::get));
    let figure = engine.store().agent_memory_bytes(&ids[N / 2]).unwrap_or(0);
    println!(
        "engine, {N} agents ({id_len} B ids): heap requested {} B/agent; resident set grew {:.1} MiB = {} B/agent; store figure {figure} B/agent",
        (live1 - live0) / N as i64,
        rss1.saturating_sub(rss0) as f64 / 1_048_576.0,
        rss1.saturating_sub(rss0) / N,
    );
    drop(engine);

    let live0 = LIVE.with(Cell::get);
    let mut reference = reference::Reference::new();
    for id in &ids {
        e.agent = Cow::Borrowed(id.as_str());
        let _ = reference.evaluate(&e);
    }
    let live1 = LIVE.with(Cell::get);
    println!(
        "reference, {N} agents: heap requested {} B/agent",
        (live1 - live0) / N as i64
    );
    assert_eq!(reference.len(), N);
}
