#!/usr/bin/env bash
# Configures and builds cairn: scripts/build.sh [build-dir] [extra cmake args...]
# Release by default; pass -DCAIRN_SANITIZE=ON for the ASan+UBSan build.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-${root}/build}"
shift || true
cmake -S "$root" -B "$build" -G Ninja "$@" >/dev/null
cmake --build "$build" -j "${CAIRN_JOBS:-2}"
