#!/usr/bin/env bash
# Builds and runs the Savina benchmarks against CAF; writes build/savina.json.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "${root}/scripts/setup.sh"
bash "${root}/scripts/build.sh" "${root}/build"
"${root}/build/perf/savina" --json "${root}/build/savina.json" "$@"
