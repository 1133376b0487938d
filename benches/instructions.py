#!/usr/bin/env python3
"""Instructions per event of the `seed` benchmarks, by callgrind.

    python3 benches/instructions.py [CASE ...]
    python3 benches/instructions.py rules      # the `rules` group
    python3 benches/instructions.py stateful [SET ...]   # the `stateful` group

Builds `benches/engine.rs`, then for each case (`none_fire`, `one_fires`,
`all_three_fire`; all by default) runs `seed/<bench>/<case>` under
`valgrind --tool=callgrind`, collecting only inside the measured function
(`Engine::evaluate`, `Engine::evaluate_explained`, `Reference::evaluate`),
and prints the instructions per call. Unlike times, the counts do not depend
on the machine's load. Needs valgrind (`callgrind_annotate` too).
"""

import json
import os
import re
import subprocess
import sys
import tempfile

FUNCTIONS = {
    "reference": "engine::reference::Reference::evaluate",
    "evaluate": "riskgate::run::engine::Engine::evaluate",
    "evaluate_explained": "riskgate::run::engine::Engine::evaluate_explained",
    "partition": "riskgate::run::partition::Partition::evaluate",
}


def bench_binary():
    out = subprocess.run(
        ["cargo", "bench", "--bench", "engine", "--no-run", "--message-format=json"],
        check=True, capture_output=True, text=True,
    ).stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("target", {}).get("name") == "engine" \
                and msg.get("executable"):
            return msg["executable"]
    sys.exit("benches/engine.rs: no executable built")


def per_call(binary, bench, case, function, group="seed"):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
             f"--toggle-collect={function}", binary, "--bench",
             f"^{group}/{bench}/{case}$", "--profile-time", "1"],
            check=True, capture_output=True,
        )
        text = subprocess.run(
            ["callgrind_annotate", "--inclusive=yes", "--tree=caller", out],
            check=True, capture_output=True, text=True,
        ).stdout
    calls, total = 0, 0
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"\s*([\d,]+) \([^)]*\)\s+\*\s+\S*?\.rs:(\S+)", line)
        if not m or not m.group(2).endswith(function):
            continue
        total = int(m.group(1).replace(",", ""))
        for prev in reversed(lines[:i]):
            c = re.search(r"\(([\d,]+)x\)", prev)
            if not c or "<" not in prev:
                break
            calls += int(c.group(1).replace(",", ""))
        break
    if not calls:
        return None
    return total / calls


def rules(binary):
    """Instructions per event of the `rules` group: 10, 100, 1000 rules."""
    mixes = ["selective", "all_candidates", "event_types"]
    print("| rules | " + " | ".join(mixes) + " |")
    print("|---" * (len(mixes) + 1) + "|")
    for n in ["10", "100", "1000"]:
        row = [per_call(binary, m, n, FUNCTIONS["evaluate"], group="rules") for m in mixes]
        print(f"| {n} | " + " | ".join("–" if x is None else f"{x:,.0f}" for x in row) + " |")


STATEFUL_SETS = [
    "count", "no_metric", "count_by_pair", "count_where", "distinct_by", "first_seen_by",
    "since", "since_by", "first_by", "first_str", "previous", "previous_str_by",
    "sequence_by", "tracked_for", "zscore_1d_90d", "zscore_1h_90d_active", "stddev_1h_30d",
    "baseline_active", "named_twice", "hour_of_week", "json_path", "similarity",
    "all_constructs",
]


def stateful(binary, sets):
    """Instructions per event of the `stateful` group, and the ratio to `count`."""
    sets = sets or STATEFUL_SETS
    counts = {s: per_call(binary, "evaluate", s, FUNCTIONS["evaluate"], group="stateful")
              for s in dict.fromkeys(["count"] + sets)}
    reference = counts["count"]
    print("| set | instructions/event | ÷ count |")
    print("|---|---|---|")
    for s in sets:
        n = counts[s]
        ratio = "–" if not n or not reference else f"{n / reference:.2f}×"
        print(f"| {s} | {'–' if n is None else f'{n:,.0f}'} | {ratio} |")


def main():
    # RISKGATE_BENCH_BINARY: an engine bench binary built elsewhere (another
    # commit's), to compare counts.
    binary = os.environ.get("RISKGATE_BENCH_BINARY") or bench_binary()
    if sys.argv[1:] == ["rules"]:
        rules(binary)
        return
    if sys.argv[1:2] == ["stateful"]:
        stateful(binary, sys.argv[2:])
        return
    cases = sys.argv[1:] or ["none_fire", "one_fires", "all_three_fire"]
    print("| case | hand-written | evaluate | ÷ hand-written | evaluate_explained | partition | ÷ hand-written |")
    print("|---|---|---|---|---|---|---|")
    for case in cases:
        n = {b: per_call(binary, b, case, f) for b, f in FUNCTIONS.items()}
        fmt = lambda x: "–" if x is None else f"{x:,.0f}"
        ratio = "–" if not n["reference"] or not n["evaluate"] else f"{n['evaluate'] / n['reference']:.1f}×"
        pratio = "–" if not n["reference"] or not n["partition"] else f"{n['partition'] / n['reference']:.1f}×"
        print(f"| {case} | {fmt(n['reference'])} | {fmt(n['evaluate'])} | {ratio} | {fmt(n['evaluate_explained'])} | {fmt(n['partition'])} | {pratio} |")


if __name__ == "__main__":
    main()
