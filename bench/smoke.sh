#!/bin/sh
# smoke.sh - the benchmark's only test: a tiny grid with --json and --plot,
# then a strict parse of the JSON.  Never checks times.
# Usage: smoke.sh MLP2_BENCH JSON_CHECK
set -eu
bench=$1
check=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$bench" --quick --budget 0.002 --shapes 2-3-1,5-7-3 --batches 1,9 \
    --json "$dir/out.json" --plot "$dir/out.svg"
"$check" "$dir/out.json" predict grad step gemm loops
grep -q '</svg>' "$dir/out.svg"
echo "1 passed, 0 failed"
