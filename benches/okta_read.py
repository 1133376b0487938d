#!/usr/bin/env python3
"""The table of "Reading Okta lines" in BENCHMARKS.md, from the latest
`cargo bench --manifest-path benches/readers/Cargo.toml` run (all readers)
or `cargo bench --bench okta_read` run (those without other JSON crates).

    python3 benches/okta_read.py benches/readers/target/criterion
    python3 benches/okta_read.py              # target/criterion

Reads each reader's median (`new/estimates.json`, per line: the groups
count their lines as criterion elements) and the groups' sizes
(`okta_read_sizes.json`, written by the bench), and prints ns/line, MB/s
(10^6 bytes a second) and the ratio to `serde_validate`.
"""

import json
import os
import sys

ORDER = [
    "memchr_quotes",
    "serde_validate",
    "serde_value",
    "riskgate_auto",
    "riskgate_okta",
    "simd_json_tape",
    "simd_json_borrowed",
    "sonic_get_many",
    "sonic_get_many_unchecked",
]


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.environ.get("CARGO_TARGET_DIR", "target"), "criterion")
    with open(os.path.join(root, "okta_read_sizes.json")) as f:
        sizes = json.load(f)
    groups = [g for g in ("generated", "fixtures") if g in sizes]
    med = {}
    for g in groups:
        gdir = os.path.join(root, f"okta_read_{g}")
        if not os.path.isdir(gdir):
            continue
        for bench in os.listdir(gdir):
            est = os.path.join(gdir, bench, "new", "estimates.json")
            if not os.path.isfile(est):
                continue
            with open(est) as f:
                ns = json.load(f)["median"]["point_estimate"]
            med[(g, bench)] = ns / sizes[g]["lines"]
    names = [n for n in ORDER if any((g, n) in med for g in groups)]
    names += sorted({b for (_, b) in med} - set(names))
    head = ["reader"]
    for g in groups:
        per = sizes[g]["bytes"] / sizes[g]["lines"]
        head += [f"{g} ({sizes[g]['lines']} lines, {per:.0f} B): ns/line", "MB/s", "÷ serde validate"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for n in names:
        row = [f"`{n}`"]
        for g in groups:
            ns = med.get((g, n))
            base = med.get((g, "serde_validate"))
            if ns is None:
                row += ["–", "–", "–"]
                continue
            per = sizes[g]["bytes"] / sizes[g]["lines"]
            row += [f"{ns:,.0f}", f"{per / ns * 1e3:,.0f}",
                    f"{ns / base:.2f}×" if base else "–"]
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
