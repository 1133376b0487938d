#!/usr/bin/env python3
"""Markdown tables of the criterion medians, for BENCHMARKS.md.

    python3 benches/tables.py [CRITERION_DIR ...]

Reads `<dir>/<group>/<bench>/[<param>/]new/estimates.json` (the median,
divided by the element count of a throughput, so per event) under each
directory given (default: `$CARGO_TARGET_DIR/criterion`, else
`target/criterion`, and `benches/peers/target/criterion`) and prints one table
per group it finds. Every ratio in a table is computed from the medians of
that group's latest run, so run a group in one command before printing it.
"""

import json
import os
import sys


def load(dirs):
    """{(group, bench, param): median ns} of the latest run."""
    out = {}
    for root in dirs:
        if not os.path.isdir(root):
            continue
        for path, _, files in os.walk(root):
            if "estimates.json" not in files or os.path.basename(path) != "new":
                continue
            rel = os.path.relpath(os.path.dirname(path), root).split(os.sep)
            if rel[0] == "report":
                continue
            with open(os.path.join(path, "estimates.json")) as f:
                est = json.load(f)
            with open(os.path.join(path, "benchmark.json")) as f:
                elements = ((json.load(f).get("throughput") or {}).get("Elements")) or 1
            key = tuple(rel) + (None,) * (3 - len(rel))
            # Per element: a pass over the peers' stream counts its events.
            out[key] = est["median"]["point_estimate"] / elements
    return out


def ns(x):
    if x is None:
        return "–"
    if x >= 1e6:
        return f"{x / 1e6:.2f} ms"
    if x >= 1e3:
        return f"{x / 1e3:.2f} µs"
    return f"{x:.1f} ns"


def ratio(a, b):
    return "–" if a is None or b is None or b == 0 else f"{a / b:.1f}×"


def table(head, rows):
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()


def main():
    dirs = sys.argv[1:]
    if not dirs:
        target = os.environ.get("CARGO_TARGET_DIR", "target")
        dirs = [os.path.join(target, "criterion"), "benches/peers/target/criterion"]
    m = load(dirs)
    g = lambda *k: m.get(tuple(k) + (None,) * (3 - len(k)))

    if any(k[0] == "compile" for k in m):
        print("### compile (parse + check + compile)\n")
        table(["rule file", "median"],
              [[b, ns(g("compile", b))] for b in ("agents.rules", "generated_1000")])

    if any(k[0] == "seed" for k in m):
        print("### seed rules, one event on a warmed agent\n")
        rows = []
        for case in ("none_fire", "one_fires", "all_three_fire"):
            ev, ex, ref = (g("seed", b, case) for b in ("evaluate", "evaluate_explained", "reference"))
            rows.append([case, ns(ref), ns(ev), ratio(ev, ref), ns(ex), ratio(ex, ref)])
        table(["case", "hand-written", "evaluate", "÷ hand-written",
               "evaluate_explained", "÷ hand-written"], rows)

    if any(k[0] == "rules" for k in m):
        print("### number of rules (none fires)\n")
        rows = []
        base = {mix: g("rules", mix, "10") for mix in ("selective", "all_candidates")}
        for n in ("10", "100", "1000"):
            s, a = g("rules", "selective", n), g("rules", "all_candidates", n)
            rows.append([n, ns(s), ratio(s, base["selective"]), ns(a), ratio(a, base["all_candidates"])])
        table(["rules", "selective (1 in 20 a candidate)", "÷ 10 rules",
               "all candidates", "÷ 10 rules"], rows)

    if any(k[0] == "agents" for k in m):
        print("### tracked agents (round-robin, seed rules, none fires)\n")
        rows = []
        for n in ("1", "10000", "1000000"):
            e, r = g("agents", "evaluate", n), g("agents", "reference", n)
            rows.append([n, ns(r), ns(e), ratio(e, r)])
        table(["agents", "hand-written", "evaluate", "÷ hand-written"], rows)

    if any(k[0] == "threads" for k in m):
        print("### threads (time per event over all threads; `_on_cpu`: longest on-CPU time of a thread)\n")
        rows = []
        for label in ("distinct_agents", "distinct_agents_on_cpu", "one_hot_agent", "one_hot_agent_on_cpu",
                      "engine_private", "engine_private_on_cpu",
                      "reference_private", "reference_private_on_cpu"):
            t1, t2 = g("threads", label, "1"), g("threads", label, "2")
            speed = "–" if not t1 or not t2 else f"{t1 / t2:.2f}×"
            rows.append([label, ns(t1), ns(t2), speed])
        table(["workload", "1 thread", "2 threads", "throughput 2 ÷ 1"], rows)

    for group, what in (("seed_one_event", "one warmed event, rule 3 fires"),
                        ("seed_stream", "shared stream, per event")):
        if not any(k[0] == group for k in m):
            continue
        print(f"### peers: {what}\n")
        rg = g(group, "riskgate")
        rows = [["riskgate: windows + rules + verdict", ns(rg), "1×", "–", "–"]]
        for peer in ("cel", "evalexpr", "rhai", "cedar"):
            bind, pre = g(group, peer), g(group, peer + "_prebuilt")
            rows.append([peer, ns(bind), ratio(bind, rg), ns(pre), ratio(pre, rg)])
        table(["engine", "bind + evaluate", "÷ riskgate", "evaluate only (input prebuilt)", "÷ riskgate"], rows)


if __name__ == "__main__":
    main()
