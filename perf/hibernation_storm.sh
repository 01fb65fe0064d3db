#!/usr/bin/env bash
# Latency while many JS actors hibernate together, against the same run with
# nobody hibernating: `cairn serve` with perf/js/cairn.json (`full`
# durability), N counters made by wrk (8 connections, 3 s), then one
# connection increments another counter for S seconds while the N go idle
# past the idle timeout (3 s) and leave memory. The control run is the same
# with an idle timeout of 60 s. Prints requests/s, p50, p99 and the maximum
# of that one connection for both, and their ratio.
#
#   perf/hibernation_storm.sh [--actors N] [--seconds S] [--build DIR]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
actors=1000 seconds=8 build="${root}/build"
while (($#)); do
  case "$1" in
    --actors) actors="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    *) echo "hibernation_storm: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -x "${build}/examples/cairn" ]] || { echo "hibernation_storm: ${build}/examples/cairn is missing: build it first" >&2; exit 2; }
# shellcheck source=perf/bench_lib.sh
source "${root}/perf/bench_lib.sh"
bench=hibernation_storm
bench_require wrk curl python3
bench_begin hibernation_storm

printf 'local n = 0\nrequest = function() n = n + 1; return wrk.format("GET", "/counter/increment?name=storm" .. (n %% %d)) end\n' \
  "$actors" >"${scratch}/crowd.lua"
printf 'request = function() return wrk.format("GET", "/counter/increment?name=busy") end\n' >"${scratch}/busy.lua"

declare -A out
run() {  # $1: name, $2: actor idle timeout in ms
  python3 -c "import json,sys; c=json.load(open('perf/js/cairn.json')); c['actor_idle_timeout_ms']=int(sys.argv[1]); json.dump(c,open(sys.argv[2],'w'))" \
    "$2" "${scratch}/$1.json"
  sync
  start_server "${build}/examples/cairn" serve --port 0 --data-dir "${scratch}/data-$1" --config "${scratch}/$1.json"
  curl -sf "http://127.0.0.1:${port}/counter/increment?name=busy" >/dev/null
  wrk -t1 -c8 -d3s -s "${scratch}/crowd.lua" "http://127.0.0.1:${port}/" >/dev/null
  wrk -t1 -c1 -d"${seconds}s" --latency -s "${scratch}/busy.lua" "http://127.0.0.1:${port}/" >"${scratch}/wrk.txt"
  out[$1]="$(awk '/^Requests\/sec:/ {print $2}' "${scratch}/wrk.txt") $(wrk_latency 50) $(wrk_latency 99) $(awk '/^ +Latency +[0-9]/ {
    v = $4; unit = v; sub(/[0-9.]+/, "", unit); sub(/[a-z]+$/, "", v);
    if (unit == "us") v /= 1000; else if (unit == "s") v *= 1000; printf "%.2f", v }' "${scratch}/wrk.txt")"
  stop_server
}
cd "$root"
run storm 3000
run control 60000
read -r s_rate s_p50 s_p99 s_max <<<"${out[storm]}"
read -r c_rate c_p50 c_p99 c_max <<<"${out[control]}"
printf '%-44s %12s %12s %8s\n' "one connection, ${actors} actors" "hibernating" "control" "ratio"
printf '%-44s %12.0f %12.0f %8s\n' "requests/s" "$s_rate" "$c_rate" "$(ratio "$s_rate" "$c_rate")"
printf '%-44s %12s %12s %8s\n' "p50, ms" "$s_p50" "$c_p50" "$(ratio "$s_p50" "$c_p50")"
printf '%-44s %12s %12s %8s\n' "p99, ms" "$s_p99" "$c_p99" "$(ratio "$s_p99" "$c_p99")"
printf '%-44s %12s %12s %8s\n' "max, ms" "$s_max" "$c_max" "$(ratio "$s_max" "$c_max")"
