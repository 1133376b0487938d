#!/bin/sh
# Seeds the fuzz corpora (git-ignored) from the example rules and the golden
# diagnostic cases. Run from anywhere; idempotent.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
for target in parse check_compile fmt_roundtrip; do
    mkdir -p "$here/corpus/$target"
done
for f in "$root"/examples/rules/*.rules "$here"/fuzz_targets/*.rules; do
    cp "$f" "$here/corpus/parse/"
    cp "$f" "$here/corpus/check_compile/"
    # fmt_roundtrip reads bytes as generator choices, not text: the rules
    # files are only a varied start for its mutations.
    cp "$f" "$here/corpus/fmt_roundtrip/"
done
# The golden diagnostic cases: small files, each with one kind of error.
if [ -d "$root/tests/golden" ]; then
    find "$root/tests/golden" -name '*.rules' -exec cp {} "$here/corpus/parse/" \; \
        -exec cp {} "$here/corpus/check_compile/" \;
fi
mkdir -p "$here/corpus/evaluate"
# Snapshots: the state of replays of the bundled day (whole, and cut short)
# under the snapshot target's rules.
mkdir -p "$here/corpus/snapshot"
(cd "$root" && cargo build --release --quiet)
head -n 300 "$root/examples/events/okta-day.jsonl" > "$here/corpus/snapshot.events.tmp"
for events in "$root/examples/events/okta-day.jsonl" "$here/corpus/snapshot.events.tmp"; do
    n=$(basename "$events" | tr -c 'a-z0-9\n' _)
    "$root/target/release/riskgate" replay "$here/fuzz_targets/snapshot.rules" "$events" \
        --max-skew off --state-out "$here/corpus/snapshot/$n.snap" >/dev/null 2>&1 || true
done
rm -f "$here/corpus/snapshot.events.tmp"
echo "corpora seeded under $here/corpus/"
