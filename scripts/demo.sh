#!/usr/bin/env bash
# demo.sh - install what is missing, build, then train the seed's 2-3-1
# network on the embedded default data (Franke's function, 400 seeded points)
# with the `mlp2` command, and show what was saved.
# Leaves build/demo-model.mlp2 and build/demo-curve.svg (open it in a browser).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
[[ -f build/build.ninja ]] || meson setup build >/dev/null
ninja -C build >/dev/null
./build/tools/mlp2 train -o build/demo-model.mlp2 --plot build/demo-curve.svg
echo
exec ./build/tools/mlp2 info build/demo-model.mlp2
