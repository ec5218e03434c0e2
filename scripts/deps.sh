#!/usr/bin/env bash
# deps.sh - install the Debian packages the project needs, only those missing.
# Usage: scripts/deps.sh [extra package ...]
set -euo pipefail

want=(gcc libc6-dev libopenblas-dev liblapacke-dev libcmocka-dev meson ninja-build pkgconf "$@")
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
