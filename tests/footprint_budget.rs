//! The bytes per agent and per key of each construct that remembers earlier
//! events (`since`, `first`, `previous`, `sequence`, `tracked_for`, keyed
//! `count`/`distinct`/`first_seen`, `zscore`/`stddev`/`baseline` over long
//! histories, named metrics), exactly as the README's table "State, windows
//! and memory" and BENCHMARKS.md give them, and the budget of a rule set that
//! uses one of each.
//!
//! Figures are the store's own (`StateStore::agent_memory_bytes`, requested
//! sizes, no allocator headers), for a 24-byte agent id.

use riskgate::run::state::{
    Cell, CellKind, CellSpec, Layout, StateStore, StoreConfig, AGENT_ENTRY_BYTES, AGENT_MORE_BYTES,
    KEY_ENTRY_BYTES, OWNED_KEY_BYTES,
};

#[path = "../benches/support/stateful.rs"]
mod stateful;

const DAY: u64 = 86_400_000;

/// A layout's cells alone: what a new agent and a new key of cell 0 take.
#[test]
fn each_cell_kind_adds_its_documented_bytes() {
    assert_eq!(std::mem::size_of::<Cell>(), 48);
    assert_eq!((AGENT_MORE_BYTES, KEY_ENTRY_BYTES), (104, 81));
    let store = |cells: Vec<CellSpec>| {
        StateStore::new(
            Layout {
                cells,
                ..Layout::default()
            },
            StoreConfig::default(),
        )
        .unwrap()
    };
    // (kind, heap bytes a new cell owns)
    let kinds = [
        (
            CellKind::Since {
                retention_ms: 30 * DAY,
            },
            0,
        ),
        (
            CellKind::First {
                retention_ms: 30 * DAY,
            },
            0,
        ),
        (CellKind::Previous, 0),
        (CellKind::Tracked, 0),
        // The step times of each prefix but the whole: 1 + 2 + … + (n − 1)
        // times, 8 bytes each (4 n (n − 1)).
        (
            CellKind::Sequence {
                steps: 2,
                within_ms: 1_800_000,
            },
            8,
        ),
        (
            CellKind::Sequence {
                steps: 3,
                within_ms: 1_800_000,
            },
            24,
        ),
        (
            CellKind::Sequence {
                steps: 8,
                within_ms: 1_800_000,
            },
            224,
        ),
        // Room for the 16 exact values (hash and time, 16 bytes each).
        (
            CellKind::Distinct {
                width_ms: 3_600_000,
                history_windows: 0,
            },
            256,
        ),
        // Empty until a value: then room for 4, doubling up to the capacity.
        (
            CellKind::FirstSeen {
                retention_ms: 30 * DAY,
                capacity: 64,
            },
            0,
        ),
    ];
    let empty = store(Vec::new()).new_agent_memory_bytes(24);
    assert_eq!(empty, AGENT_ENTRY_BYTES + 24);
    assert_eq!(empty, 97);
    for (kind, heap) in kinds {
        // Per agent: the agent's second block (once) and the cell.
        let agent = store(vec![CellSpec { kind, keyed: false }]);
        assert_eq!(
            agent.new_agent_memory_bytes(24) - empty,
            104 + 48 + heap,
            "{kind:?}"
        );
        assert_eq!(agent.new_cell_key_memory_bytes(0), None, "{kind:?}");
        // Two cells share the block.
        let two = store(vec![CellSpec { kind, keyed: false }; 2]);
        assert_eq!(
            two.new_agent_memory_bytes(24) - empty,
            104 + 2 * (48 + heap),
            "{kind:?}"
        );
        if kind == CellKind::Tracked {
            continue; // `tracked_for` is per agent only
        }
        // Keyed: each key takes its map entry, the boxed cell and what the
        // cell owns. An agent whose metrics are all keyed allocates nothing
        // for it (its block comes with its first created key), and an agent
        // that has a block from the start keeps nothing for it there.
        let keyed = store(vec![CellSpec { kind, keyed: true }]);
        assert_eq!(keyed.new_agent_memory_bytes(24), empty, "{kind:?}");
        let since = CellKind::Since {
            retention_ms: 30 * DAY,
        };
        let beside = store(vec![
            CellSpec {
                kind: since,
                keyed: false,
            },
            CellSpec { kind, keyed: true },
        ]);
        assert_eq!(
            beside.new_agent_memory_bytes(24) - empty,
            104 + 48,
            "{kind:?}"
        );
        assert_eq!(
            keyed.new_cell_key_memory_bytes(0),
            Some(81 + 48 + heap),
            "{kind:?}"
        );
        assert_eq!(keyed.new_cell_key_memory_bytes(1), None);
    }
}

/// `(set, bytes of the warmed agent, keys, bytes of its keys)`: the figures
/// of the README's table and of BENCHMARKS.md ("Stateful constructs").
/// `None`: the set keeps no state, and the agent is not tracked.
const FIGURES: &[(&str, Option<usize>, usize, usize)] = &[
    // A counter of 10 minutes: header 32 + ring 60 × u16.
    ("count", Some(97 + 152), 0, 0),
    ("no_metric", None, 0, 0),
    // Per agent: the placeholder of the keyed counter (32), the second
    // block (104), room for 4 created keys (4 × 16); per key 81 + 120.
    ("count_by_pair", Some(97 + 32 + 104 + 64), 1, 201),
    ("count_where", Some(97 + 152), 0, 0),
    // Keyed cells alone: per agent the block (with the first created key)
    // and room for 4 created keys.
    ("distinct_by", Some(97 + 104 + 64), 1, 81 + 48 + 256),
    // A first-seen set holding one value: room for 4 (16 bytes each).
    ("first_seen_by", Some(97 + 104 + 64), 1, 81 + 48 + 64),
    ("since", Some(97 + 104 + 48), 0, 0),
    ("since_by", Some(97 + 104 + 64), 1, 81 + 48),
    // An address is kept inline.
    ("first_by", Some(97 + 104 + 64), 1, 81 + 48),
    // A string: its bytes (`okta-sync/2.4`, 13).
    ("first_str", Some(97 + 104 + 48 + 13), 0, 0),
    ("previous", Some(97 + 104 + 48), 0, 0),
    ("previous_str_by", Some(97 + 104 + 64), 1, 81 + 48 + 13),
    // Three steps: the times of the prefixes of one and two steps.
    ("sequence_by", Some(97 + 104 + 64), 1, 81 + 48 + 24),
    ("tracked_for", Some(97 + 104 + 48), 0, 0),
    // 90 daily totals and the current one: 2 × 91.
    ("zscore_1d_90d", Some(97 + 152 + 2 * 91), 0, 0),
    // 2,160 hourly totals and the current one.
    ("zscore_1h_90d_active", Some(97 + 152 + 2 * 2161), 0, 0),
    ("stddev_1h_30d", Some(97 + 152 + 2 * 721), 0, 0),
    ("baseline_active", Some(97 + 152 + 2 * 2161), 0, 0),
    // One state however many times the name is read.
    ("named_twice", Some(97 + 32 + 104 + 64), 1, 201),
    ("hour_of_week", None, 0, 0),
    ("json_path", None, 0, 0),
    ("similarity", None, 0, 0),
];

/// Bytes of the warmed agent, keys, and bytes of the keys, for `rules` after
/// three days of the benchmarks' traffic (state is allocated at its full size
/// when created: 91 days give the same figures).
fn measured(rules: &str) -> (Option<usize>, usize, usize) {
    let (engine, _) = stateful::warmed_for(rules, 3);
    let store = engine.store();
    let agent = store.agent_memory_bytes(stateful::AGENT);
    assert_eq!(store.bytes(), store.bytes_by_scan());
    let keys = store.bytes() - agent.unwrap_or(0);
    (agent, store.keys_len(), keys)
}

#[test]
fn each_construct_takes_its_documented_bytes_per_agent_and_key() {
    assert_eq!(stateful::AGENT.len(), 24);
    assert_eq!(FIGURES.len(), stateful::SETS.len());
    for (&(name, rules), &(fname, agent, keys, key_bytes)) in stateful::SETS.iter().zip(FIGURES) {
        assert_eq!(name, fname);
        assert_eq!(
            measured(rules),
            (agent, keys, key_bytes),
            "{name}: (agent, keys, bytes of the keys)"
        );
    }
}

/// The budget of a rule set with one of each stateful construct (19 rules:
/// 4 counters and 4 cells per agent, 8 keyed metrics): at most 6,144 bytes per
/// agent (4,474 of them the hourly counter that `zscore(…, 90d, active)` and
/// `baseline(…, 90d, active)` share: 2,161 two-byte totals for 90 days of
/// hours), plus at most 400 bytes per key (the largest, a keyed distinct
/// window, 385), plus 16 bytes in the agent per key it created.
#[test]
fn one_of_each_construct_fits_the_budget() {
    let (agent, keys, key_bytes) = measured(&stateful::all_constructs());
    // The counters (10 min × 2, 1 d with 90 d, 1 h with 90 d), the block,
    // 4 per-agent cells, a string of 13, 2 keyed counters' placeholders
    // (keyed cells leave none), 8 created keys.
    let counters = 2 * 152 + (152 + 2 * 91) + (152 + 2 * 2161);
    let expected = 97 + counters + 104 + 4 * 48 + 13 + 2 * 32 + 8 * OWNED_KEY_BYTES;
    assert_eq!(agent, Some(expected));
    assert_eq!(expected, 5_710);
    assert_eq!(keys, 8);
    assert_eq!(key_bytes, 2 * 201 + 385 + 193 + 129 + 129 + 142 + 153);
    assert!(expected <= 6_144);
    assert!(key_bytes <= 400 * keys);
}
