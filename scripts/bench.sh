#!/usr/bin/env bash
# Builds and runs the Savina benchmarks against CAF (build/savina.json), then the
# storage benchmarks against raw SQLite (build/storage_bench.json).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "${root}/scripts/setup.sh"
bash "${root}/scripts/build.sh" "${root}/build"
"${root}/build/perf/savina" --json "${root}/build/savina.json" "$@"
# Storage: cairn's per-actor SQLite against raw SQLite; writes build/storage_bench.json.
"${root}/build/perf/storage_bench" --json "${root}/build/storage_bench.json"
