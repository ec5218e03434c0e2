#!/usr/bin/env bash
# test.sh - install what is missing, build with warnings as errors, and run
# the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh

echo "== release build, -Werror: meson test"
rm -rf build-test
meson setup build-test -Dwerror=true >/dev/null
ninja -C build-test
meson test -C build-test --print-errorlogs
