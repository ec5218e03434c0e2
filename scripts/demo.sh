#!/usr/bin/env bash
# demo.sh - install what is missing, build, and run the main job on the
# embedded default data.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
[[ -f build/build.ninja ]] || meson setup build >/dev/null
ninja -C build >/dev/null
exec ./build/examples/train_seed
