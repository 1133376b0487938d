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
echo "corpora seeded under $here/corpus/"
