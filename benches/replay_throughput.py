#!/usr/bin/env python3
"""`riskgate replay` throughput on a million generated Okta events, by
number of threads.

    python3 benches/replay_throughput.py [--threads 1,2] [--rounds 3] [--rules FILE]

Builds the release binary and the seeded generator, writes the stream if it
is not there yet (`cargo run --release --example gen_events -- --events
1000000`: `target/gen/okta-1000000.jsonl` and `target/gen/agents.json`),
then replays it through `examples/rules/agents.rules` (with the profiles,
verdicts to /dev/null) at each thread count, the counts back to back in
each round so that a busy machine weighs on all of them alike. Prints, per
run, wall and user time, events/s and MB/s (wall), and the speed-up over
`--threads 1` of the same round; then the median of each. Also checks that
every run printed the same verdicts (their SHA-256) and times three floors:
`wc -l` of the stream, `cat` of it to /dev/null, and a replay through one
stateless rule that never fires (reading and parsing, next to nothing
evaluated) at each thread count.
"""

import argparse
import hashlib
import os
import re
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STREAM = os.path.join(ROOT, "target", "gen", "okta-1000000.jsonl")
PROFILES = os.path.join(ROOT, "target", "gen", "agents.json")
BINARY = os.path.join(ROOT, "target", "release", "riskgate")


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime, r.ru_stime


def timed(cmd, stdout):
    """Runs `cmd`: (wall s, user s, sys s, stderr)."""
    u0, s0 = children_cpu()
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=stdout, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    wall = time.monotonic() - t0
    u1, s1 = children_cpu()
    if p.returncode not in (0, 2):
        sys.exit(f"{' '.join(cmd)}: exit {p.returncode}\n{p.stderr}")
    return wall, u1 - u0, s1 - s0, p.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default=None,
                    help="thread counts, comma-separated (default: 1, 2, ... up to the cores)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rules", default="examples/rules/agents.rules")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    counts = [int(t) for t in args.threads.split(",")] if args.threads else \
        sorted({1, 2, *range(4, cores + 1, 2), cores})
    subprocess.run(["cargo", "build", "--release", "--bin", "riskgate", "--example", "gen_events"],
                   check=True, cwd=ROOT)
    if not (os.path.exists(STREAM) and os.path.exists(PROFILES)):
        subprocess.run(["cargo", "run", "--release", "--example", "gen_events", "--",
                        "--events", "1000000"], check=True, cwd=ROOT)
    size = os.path.getsize(STREAM)
    print(f"stream: {STREAM} ({size / 1e6:.0f} MB); rules: {args.rules}; "
          f"cores: {cores}; load average: {os.getloadavg()[0]:.2f}")

    with open(os.devnull, "wb") as null:
        wall, user, _, _ = timed(["wc", "-l", STREAM], null)
        print(f"floor wc -l: {wall:.2f} s wall, {size / 1e6 / wall:.0f} MB/s")
        wall, user, _, _ = timed(["cat", STREAM], null)
        print(f"floor cat:   {wall:.2f} s wall, {size / 1e6 / wall:.0f} MB/s")
        # Reading and parsing alone: one stateless rule that never fires.
        parse_only = os.path.join(ROOT, "target", "gen", "parse-only.rules")
        with open(parse_only, "w") as f:
            f.write("Rule X1 — Never\nTrigger: event.type == \"never.happens\"\n"
                    "Action: flag_for_review\nSeverity: LOW\n")
        for t in counts:
            wall, user, _, _ = timed([BINARY, "replay", parse_only, STREAM, "--profiles", PROFILES,
                                      "--threads", str(t)], null)
            print(f"floor read+parse (a rule that never fires), --threads {t}: "
                  f"{wall:.2f} s wall, {user:.2f} s user, {size / 1e6 / wall:.0f} MB/s")

    results = {t: [] for t in counts}
    digests = set()
    print(f"{'round':>5} {'threads':>7} {'wall s':>7} {'user s':>7} {'sys s':>6} "
          f"{'events/s':>10} {'MB/s':>6} {'speed-up':>8}")
    for r in range(1, args.rounds + 1):
        base = None
        for t in counts:
            out_path = os.path.join(ROOT, "target", "gen", f"replay-{t}.out")
            with open(out_path, "wb") as out:
                wall, user, sys_, err = timed(
                    [BINARY, "replay", args.rules, STREAM, "--profiles", PROFILES,
                     "--threads", str(t)], out)
            with open(out_path, "rb") as f:
                digests.add(hashlib.sha256(f.read()).hexdigest())
            os.remove(out_path)
            m = re.search(r"^events: (\d+)", err, re.M)
            events = int(m.group(1)) if m else 0
            base = base or wall
            results[t].append((wall, user, events))
            print(f"{r:>5} {t:>7} {wall:>7.2f} {user:>7.2f} {sys_:>6.2f} "
                  f"{events / wall:>10,.0f} {size / 1e6 / wall:>6.0f} {base / wall:>7.2f}x")
    print("median:")
    base = statistics.median(w for w, _, _ in results[counts[0]])
    for t in counts:
        wall = statistics.median(w for w, _, _ in results[t])
        user = statistics.median(u for _, u, _ in results[t])
        events = results[t][0][2]
        print(f"  --threads {t}: {wall:.2f} s wall, {user:.2f} s user, "
              f"{events / wall:,.0f} events/s, {size / 1e6 / wall:.0f} MB/s, "
              f"{base / wall:.2f}x")
    if len(digests) != 1:
        sys.exit("the runs printed different verdicts")
    print("every run printed the same verdicts")


if __name__ == "__main__":
    main()
