#!/usr/bin/env bash
# run.sh - mlp2-bench and the NumPy / PyTorch peers on the same grid with the
# same thread count, one after the other in one run, then the per-cell ratio
# table (mlp2 against each peer); then FANN (bench/peers/fann_peer.c, built
# when libfann-dev is installed), which times libmlp2 and FANN interleaved
# in one process after checking that FANN computes libmlp2's step.
#
# Usage: bench/peers/run.sh [--shapes S] [--batches B] [--threads N]
#                           [--budget SECONDS] [--quick] [--out DIR]
# Results go to DIR (default bench/results): mlp2.json, peers.json,
# ns_per_sample.svg, ratios.txt, ratios.md, fann.json, fann.txt.
# Installs what is missing (Debian packages) unless MLP2_NO_INSTALL=1.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=bench/results
build=${MLP2_BENCH_BUILD:-build-bench}
args=()
while (($#)); do
  case $1 in
    --shapes|--batches|--threads|--budget) args+=("$1" "$2"); shift 2 ;;
    --quick) args+=("$1"); shift ;;
    --out) out=$2; shift 2 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"

if [[ ${MLP2_NO_INSTALL:-0} != 1 ]]; then
  scripts/deps.sh python3 python3-numpy python3-torch python3-threadpoolctl
fi
[[ -d $build ]] || meson setup "$build" --buildtype=release >/dev/null
ninja -C "$build" bench/mlp2-bench >/dev/null
have_fann=0
if [[ -f /usr/include/doublefann.h ]]; then
  ninja -C "$build" bench/fann_peer >/dev/null && have_fann=1
fi

py=/usr/bin/python3
[[ -x $py ]] || py=python3
for v in OPENBLAS_CORETYPE OPENBLAS_L2_SIZE; do
  [[ -n ${!v:-} ]] && echo "note: $v=${!v} is set; mlp2 and the peers both run with it" >&2
done

echo "== mlp2-bench ${args[*]}"
"$build/bench/mlp2-bench" "${args[@]}" --json "$out/mlp2.json" --plot "$out/ns_per_sample.svg"
echo
echo "== peers ${args[*]}"
"$py" bench/peers/peers.py "${args[@]}" --json "$out/peers.json"
echo
echo "== mlp2 / peers"
"$py" bench/peers/peers.py --join "$out/mlp2.json" "$out/peers.json" | tee "$out/ratios.txt"
"$py" bench/peers/peers.py --join "$out/mlp2.json" "$out/peers.json" --markdown > "$out/ratios.md"
echo
if ((have_fann)); then
  echo "== FANN ${args[*]}"
  "$build/bench/fann_peer" "${args[@]}" --json "$out/fann.json" | tee "$out/fann.txt"
else
  echo "== FANN: libfann-dev is not installed (apt-get install libfann-dev); FANN peer skipped"
fi
