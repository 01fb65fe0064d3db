#!/usr/bin/env bash
# JavaScript actors against workerd, in one run: the same JS modules
# (examples/js_counter/counter.js, the documented counter with its Worker, and
# perf/js/broadcast.js) on `cairn serve` (perf/js/cairn.json; durability
# `full`, an fsync per group commit) and on workerd from npm
# (perf/js/workerd.capnp; SQLite-backed Durable Objects on local disk).
#
#   (a) one hot counter: wrk (2 threads, C connections, S seconds) GET
#       /increment?name=hot through the Worker (a read and a write per request)
#   (b) 1,000 counters: the same with name=c0..c999 at random
#   (c) memory per idle JS actor: each server's RSS growth over (b), per counter
#       (all 1,000 stay resident: the run is shorter than both servers' idle eviction)
#   (d) WebSocket broadcast: 100 sockets in one room, one of them sending with
#       W messages in flight; every message goes to all 100 (perf/ws_load
#       --shared-path); deliveries per second
#   (a') and (b') (a) and (b) again with H connections (64), the 1,000
#       counters existing by then: with C connections cairn waits on the disk
#       more than it works (each increment waits for the sync covering it),
#       with H it is saturated, as workerd already is with C (one thread,
#       an fsync per commit).
# Targets: (a) at least 5x workerd, (b) at least 10x.
#
# --rounds R runs both servers R times, alternating, each time on fresh data,
# and reports each figure's median (the ratio is of the medians): on these
# noisy machines one round's ratio moves by half of itself, mostly with
# workerd, whose every commit waits for its own fsync.
#
#   perf/js_bench.sh [--seconds S] [--connections C] [--saturating H] [--window W] [--rounds R] [--json FILE] [--build DIR]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds=5 connections=16 saturating=64 window=8 rounds=1 build="${root}/build" json=""
while (($#)); do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --saturating) saturating="$2"; shift 2 ;;
    --window) window="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --json) json="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    *) echo "js_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
json="${json:-${build}/js_bench.json}"
for bin in examples/cairn perf/ws_load; do
  [[ -x "${build}/${bin}" ]] || { echo "js_bench: ${build}/${bin} is missing: build it first" >&2; exit 2; }
done
# shellcheck source=perf/bench_lib.sh
source "${root}/perf/bench_lib.sh"
bench=js_bench
bench_require wrk npm curl
bench_begin js_bench

declare -A rate mem all
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# Appends value $2 to the figure named $1 (one per round).
note() { all[$1]="${all[$1]:+${all[$1]} }$2"; }
median() { tr ' ' '\n' <<<"$1" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# wrk scripts: one name, or one of 1,000 at random, under a path prefix.
write_scripts() {  # $1: prefix
  printf 'request = function() return wrk.format("GET", "%s/increment?name=hot") end\n' "$1" >"${scratch}/hot.lua"
  printf 'math.randomseed(os.time())\nrequest = function() return wrk.format("GET", "%s/increment?name=c" .. math.random(0, 999)) end\n' \
    "$1" >"${scratch}/many.lua"
}

# Runs (a)-(d) against the server started last; $1 names it, $2 is the HTTP
# base, $3 the path prefix of the counter Worker, $4 the broadcast port and
# $5 its path.
run_all() {
  local who="$1" base="$2" prefix="$3" ws_port="$4" ws_path="$5" pid="${pids[-1]}" before
  write_scripts "$prefix"
  curl -sf "${base}${prefix}/increment?name=warm" >/dev/null
  note "${who}_hot" "$(measure "${base}/" "${scratch}/hot.lua")"
  before="$(rss "$pid")"
  note "${who}_many" "$(measure "${base}/" "${scratch}/many.lua")"
  note "mem_${who}" $(( ($(rss "$pid") - before) / 1000 ))
  local usual="$connections"
  connections="$saturating"
  note "${who}_hot_sat" "$(measure "${base}/" "${scratch}/hot.lua")"
  note "${who}_many_sat" "$(measure "${base}/" "${scratch}/many.lua")"
  connections="$usual"
  note "${who}_broadcast" "$("${build}/perf/ws_load" 127.0.0.1 "$ws_port" "$ws_path" --connections 100 --senders 1 \
    --shared-path 1 --window "$window" --seconds "$seconds" | awk '{print $2}')"
}

# cairn serve, from the source folder (perf/js/cairn.json's paths are relative to it).
# Each server starts with no dirty pages left by what ran before (`sync`),
# so that neither pays for the other's writeback.
cd "$root"
run_workerd() {
  mkdir -p "${scratch}/workerd-${round}"
  exec "${workerd_dir}/node_modules/.bin/workerd" serve "${root}/perf/js/workerd.capnp" \
    --socket-addr "counter=127.0.0.1:$1" --socket-addr "broadcast=127.0.0.1:$(($1 + 1))" \
    --directory-path "do-storage=${scratch}/workerd-${round}"
}
for ((round = 1; round <= rounds; ++round)); do
  sync
  start_server "${build}/examples/cairn" serve --port 0 --data-dir "${scratch}/cairn-${round}" --config perf/js/cairn.json
  run_all cairn "http://127.0.0.1:${port}" /counter "$port" /broadcast/room
  hot_count="$(curl -s "http://127.0.0.1:${port}/counter/?name=hot")"
  stop_server

  sync
  start_on_free_port run_workerd "/?name=probe"
  run_all workerd "http://127.0.0.1:${port}" "" "$((port + 1))" /room
  whot_count="$(curl -s "http://127.0.0.1:${port}/?name=hot")"
  stop_server
done
for key in "${!all[@]}"; do
  if [[ "$key" == mem_* ]]; then mem[${key#mem_}]="$(median "${all[$key]}")"; else rate[$key]="$(median "${all[$key]}")"; fi
done

((rounds > 1)) && echo "medians of ${rounds} rounds"
printf '%-52s %12s %12s %8s\n' "" "cairn" "workerd" "ratio"
printf '%-52s %12.0f %12.0f %8s\n' "(a) one hot counter, requests/s" "${rate[cairn_hot]}" "${rate[workerd_hot]}" \
  "$(ratio "${rate[cairn_hot]}" "${rate[workerd_hot]}")"
printf '%-52s %12.0f %12.0f %8s\n' "(b) 1,000 counters, requests/s" "${rate[cairn_many]}" "${rate[workerd_many]}" \
  "$(ratio "${rate[cairn_many]}" "${rate[workerd_many]}")"
printf '%-52s %12s %12s\n' "(c) memory per idle JS actor, KiB" "${mem[cairn]}" "${mem[workerd]}"
printf '%-52s %12.0f %12.0f %8s\n' "(a') one hot counter, ${saturating} connections" "${rate[cairn_hot_sat]}" \
  "${rate[workerd_hot_sat]}" "$(ratio "${rate[cairn_hot_sat]}" "${rate[workerd_hot_sat]}")"
printf '%-52s %12.0f %12.0f %8s\n' "(b') 1,000 counters, ${saturating} connections" "${rate[cairn_many_sat]}" \
  "${rate[workerd_many_sat]}" "$(ratio "${rate[cairn_many_sat]}" "${rate[workerd_many_sat]}")"
printf '%-52s %12.0f %12.0f %8s\n' "(d) broadcast to 100 sockets, deliveries/s" "${rate[cairn_broadcast]}" \
  "${rate[workerd_broadcast]}" "$(ratio "${rate[cairn_broadcast]}" "${rate[workerd_broadcast]}")"
echo "(hot counters ended at: cairn '${hot_count}', workerd '${whot_count}')"
rounds_json=""
for key in $(printf '%s\n' "${!all[@]}" | sort); do rounds_json+="${rounds_json:+, }\"${key}\": [$(tr ' ' ',' <<<"${all[$key]}")]"; done
cat >"$json" <<JSON
{"seconds": ${seconds}, "connections": ${connections}, "saturating_connections": ${saturating}, "window": ${window},
 "rounds": ${rounds}, "per_round": {${rounds_json}},
 "requests_per_s": {"cairn_hot": ${rate[cairn_hot]}, "workerd_hot": ${rate[workerd_hot]},
                    "cairn_1000": ${rate[cairn_many]}, "workerd_1000": ${rate[workerd_many]}},
 "deliveries_per_s": {"cairn_broadcast_100": ${rate[cairn_broadcast]}, "workerd_broadcast_100": ${rate[workerd_broadcast]}},
 "kib_per_idle_actor": {"cairn": ${mem[cairn]}, "workerd": ${mem[workerd]}},
 "requests_per_s_saturating": {"cairn_hot": ${rate[cairn_hot_sat]}, "workerd_hot": ${rate[workerd_hot_sat]},
                               "cairn_1000": ${rate[cairn_many_sat]}, "workerd_1000": ${rate[workerd_many_sat]}},
 "ratio_hot_saturating": $(ratio "${rate[cairn_hot_sat]}" "${rate[workerd_hot_sat]}"),
 "ratio_1000_saturating": $(ratio "${rate[cairn_many_sat]}" "${rate[workerd_many_sat]}"),
 "ratio_hot": $(ratio "${rate[cairn_hot]}" "${rate[workerd_hot]}"),
 "ratio_1000": $(ratio "${rate[cairn_many]}" "${rate[workerd_many]}"),
 "ratio_broadcast": $(ratio "${rate[cairn_broadcast]}" "${rate[workerd_broadcast]}")}
JSON
echo "js_bench: wrote $json"
