#!/usr/bin/env bash
# Builds and runs the Savina benchmarks against CAF (build/savina.json), the
# storage benchmarks against raw SQLite (build/storage_bench.json), and the HTTP
# benchmark against bare Beast and nginx (build/http_bench.json), the
# sandbox against workerd's Worker Loader (build/sandbox_bench.json), and the
# JavaScript actors against workerd's Durable Objects (build/js_bench.json).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "${root}/scripts/setup.sh" --bench
bash "${root}/scripts/build.sh" "${root}/build"
"${root}/build/perf/savina" --json "${root}/build/savina.json" "$@"
# Storage: cairn's per-actor SQLite against raw SQLite; writes build/storage_bench.json.
"${root}/build/perf/storage_bench" --json "${root}/build/storage_bench.json"
# HTTP: wrk against bare Beast, nginx and cairn's server; writes build/http_bench.json.
bash "${root}/perf/http_bench.sh" --build "${root}/build"
# The sandbox: in-process figures and workerd's Worker Loader; writes build/sandbox_bench.json.
bash "${root}/perf/sandbox_bench.sh" --build "${root}/build"
# JavaScript actors: the documented counter and a broadcast room on cairn serve and workerd; writes build/js_bench.json.
bash "${root}/perf/js_bench.sh" --build "${root}/build"
