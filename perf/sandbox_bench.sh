#!/usr/bin/env bash
# The sandbox against workerd's Worker Loader (Dynamic Workers), in one run.
#
# In-process (perf/sandbox_bench, no peer: against the issue's absolute targets):
#   load-to-result latency and fresh workers per second in a warm tenant, in
#   new tenants, the cached worker's call rate, idle cached worker memory;
#   then the warm-tenant rows again with a pool that never grants WebAssembly.
# Over HTTP, wrk (2 threads, C connections, S seconds) against `cairn serve`
# (examples/serve, its /sandbox routes) and against workerd from npm
# (perf/workerd_loader: `workerd serve --experimental`, a LOADER binding),
# each request running the same trivial module (n => n + 1):
#   (a) cairn  GET /sandbox/load?n=1             a fresh worker in a new tenant (a new isolate) per request
#   (b) workerd GET /load?n=1                    LOADER.load() per request (a new isolate, see run.sh)
#   (c) cairn  GET /sandbox/load?n=1&tenant=warm a fresh worker (a new context) in a warm tenant
#   (d) cairn  GET /sandbox/get?n=1              one cached worker: pool.get() + call
#   (e) workerd GET /get?n=1                     LOADER.get() of one cached worker + call
#   memory: each server's RSS growth over M sequential requests to distinct
#   cached workers (/sandbox/get?id=X, /get?id=X; an isolate each on both).
# Targets: (a) at least 2x (b); (d) at least 5x (e).
#
#   perf/sandbox_bench.sh [--seconds S] [--connections C] [--memory M] [--json FILE] [--build DIR]
# Needs wrk (scripts/setup.sh --bench) and npm; installs workerd into
# perf/workerd/node_modules at the version its package.json pins.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds=5 connections=16 memory=1000 build="${root}/build" json=""
while (($#)); do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --memory) memory="$2"; shift 2 ;;
    --json) json="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    *) echo "sandbox_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
json="${json:-${build}/sandbox_bench.json}"
for bin in perf/sandbox_bench examples/cairn; do
  [[ -x "${build}/${bin}" ]] || { echo "sandbox_bench: ${build}/${bin} is missing: build it first" >&2; exit 2; }
done
# shellcheck source=perf/bench_lib.sh
source "${root}/perf/bench_lib.sh"
bench=sandbox_bench
bench_require wrk npm curl
bench_begin sandbox_bench

# RSS growth per cached worker of the server started last, over $memory
# sequential GETs of $1 with id=0..M-1 (each answer checked), in KiB.
rss_per_worker() {
  local url="$1" pid="${pids[-1]}" before after i got
  before="$(awk '/^VmRSS:/ { print $2 }' "/proc/${pid}/status")"
  for ((i = 0; i < memory; i++)); do
    got="$(curl -s "${url}?id=m${i}&n=${i}")"
    [[ "$got" == "$((i + 1))" ]] || { echo "${bench}: ${url} answered '${got}'" >&2; exit 1; }
  done
  after="$(awk '/^VmRSS:/ { print $2 }' "/proc/${pid}/status")"
  echo $(( (after - before) / memory ))
}

declare -A rate p50 p99
record() { rate[$1]="$2"; p50[$1]="$(wrk_latency 50)"; p99[$1]="$(wrk_latency 99)"; }

echo "== in-process (perf/sandbox_bench, 2 pool threads, 2 shards, 8 callers)"
"${build}/perf/sandbox_bench" --seconds "$seconds" --idle-spin-us 0 --json "${scratch}/inproc.json"
echo "== in-process, a pool that never grants WebAssembly (pool_options::webassembly = false, as cairn serve's)"
"${build}/perf/sandbox_bench" --seconds "$seconds" --idle-spin-us 0 --no-wasm --only warm_load_latency,warm_load_rate \
  --json "${scratch}/inproc_nowasm.json"

start_server "${build}/examples/cairn" serve --port 0 --shards 2 --durability memory --idle-spin-us 0 \
  --data-dir "${scratch}/data"
base="http://127.0.0.1:${port}"
[[ "$(curl -s "${base}/sandbox/load?n=41")" == 42 ]] || { echo "${bench}: cairn answers wrongly" >&2; exit 1; }
record cairn_load "$(measure "${base}/sandbox/load?n=1")"
record cairn_warm "$(measure "${base}/sandbox/load?n=1&tenant=warm")"
record cairn_get "$(measure "${base}/sandbox/get?n=1")"
stop_server
# A fresh server for memory, as for workerd.
start_server "${build}/examples/cairn" serve --port 0 --shards 2 --durability memory --idle-spin-us 0 \
  --data-dir "${scratch}/data2"
cairn_kib="$(rss_per_worker "http://127.0.0.1:${port}/sandbox/get")"
stop_server

run_workerd() {
  cd "${root}/perf/workerd_loader"
  exec "${workerd_dir}/node_modules/.bin/workerd" serve --experimental config.capnp --socket-addr "http=127.0.0.1:$1"
}
start_on_free_port run_workerd "/get?n=0"
base="http://127.0.0.1:${port}"
[[ "$(curl -s "${base}/load?n=41")" == 42 ]] || { echo "${bench}: workerd answers wrongly" >&2; exit 1; }
record workerd_load "$(measure "${base}/load?n=1")"
record workerd_get "$(measure "${base}/get?n=1")"
stop_server
start_on_free_port run_workerd "/get?n=0"
workerd_kib="$(rss_per_worker "http://127.0.0.1:${port}/get")"
stop_server

echo "== over HTTP (wrk: 2 threads, ${connections} connections, ${seconds} s)"
printf '%-50s %10s %9s %9s %8s\n' "" "requests/s" "p50 ms" "p99 ms" "ratio"
row() { printf '%-50s %10.0f %9s %9s %8s\n' "$1" "${rate[$2]}" "${p50[$2]}" "${p99[$2]}" "$3"; }
row "(a) cairn, fresh worker, new tenant" cairn_load "$(ratio "${rate[cairn_load]}" "${rate[workerd_load]}")"
row "(b) workerd, LOADER.load() per request" workerd_load "1.00"
row "(c) cairn, fresh worker, warm tenant" cairn_warm "$(ratio "${rate[cairn_warm]}" "${rate[workerd_load]}")"
row "(d) cairn, cached worker" cairn_get "$(ratio "${rate[cairn_get]}" "${rate[workerd_get]}")"
row "(e) workerd, LOADER.get() per request" workerd_get "1.00"
echo "((a) and (c) against (b); (d) against (e))"
printf '%-50s %10s KiB (cairn)  %s KiB (workerd)  ratio %s\n' "memory per cached idle worker (${memory} ids)" \
  "$cairn_kib" "$workerd_kib" "$(ratio "$workerd_kib" "$cairn_kib")"
cat >"$json" <<JSON
{"seconds": ${seconds}, "connections": ${connections},
 "in_process": $(cat "${scratch}/inproc.json"),
 "in_process_without_webassembly": $(cat "${scratch}/inproc_nowasm.json"),
 "requests_per_s": {"cairn_load_new_tenant": ${rate[cairn_load]}, "workerd_load": ${rate[workerd_load]},
   "cairn_load_warm_tenant": ${rate[cairn_warm]}, "cairn_get": ${rate[cairn_get]}, "workerd_get": ${rate[workerd_get]}},
 "p50_ms": {"cairn_load_new_tenant": ${p50[cairn_load]}, "workerd_load": ${p50[workerd_load]},
   "cairn_load_warm_tenant": ${p50[cairn_warm]}, "cairn_get": ${p50[cairn_get]}, "workerd_get": ${p50[workerd_get]}},
 "ratio_load_new_tenant_vs_workerd": $(ratio "${rate[cairn_load]}" "${rate[workerd_load]}"),
 "ratio_get_vs_workerd": $(ratio "${rate[cairn_get]}" "${rate[workerd_get]}"),
 "idle_worker_kib": {"cairn": ${cairn_kib}, "workerd": ${workerd_kib}}}
JSON
echo "wrote $json"
