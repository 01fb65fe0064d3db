#!/usr/bin/env bash
# HTTP and WebSocket benchmark: wrk (and perf/ws_load.cpp for WebSockets)
# against five servers on 127.0.0.1, one after the other, in one run; prints
# requests/s, messages/s and ratios, and writes the same as JSON.
#   (a) perf/beast_hello.cpp: bare Beast, one thread per core (the peer)
#   (b) nginx (Debian) returning a fixed 200
#   (c) cairn routing GET /hello/bench to a native actor with a fixed body
#   (d) cairn POST /counter/bench: the example counter, `full` durability
#       (every increment fsync-ed before its response; group commit)
#   (e) workerd (npm, perf/workerd/) POST /counter/bench: the same counter as
#       a JavaScript Durable Object with SQLite-backed storage on local disk
#   (f) cairn WebSocket echo: C connections, one echo actor each, every
#       connection a closed loop with W 32-byte messages in flight (W = 1
#       for latency-bound, 16 for throughput)
#   (g) workerd: the same echo as a Durable Object with the hibernation API
#   (h) examples/loadgen (virtual users as cairn actors, cairn::fetch) against
#       the server of (c), as many users as wrk has connections: its rate
#       against wrk's on the same server
#
#   perf/http_bench.sh [--seconds S] [--connections C] [--json FILE] [--build DIR]
# Needs wrk, nginx and npm (scripts/setup.sh --bench installs them); installs
# workerd into perf/workerd/node_modules at the version package.json pins.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds=5 connections=64 build="${root}/build" json=""
while (($#)); do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --json) json="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    *) echo "http_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
json="${json:-${build}/http_bench.json}"
# shellcheck source=perf/bench_lib.sh
source "${root}/perf/bench_lib.sh"
bench=http_bench
bench_require wrk nginx npm
bench_begin http_bench

# perf/ws_load for $seconds against /echo/c<i> on $port with $1 messages in
# flight per connection, three times; prints the median messages/s (workerd's
# echo moves by a third between single runs).
measure_ws() {
  for _ in 1 2 3; do
    "${build}/perf/ws_load" 127.0.0.1 "$port" /echo/c --connections "$connections" --threads 2 --window "$1" \
      --seconds "$seconds" --warmup 1 | awk '/^messages\/s/ {print $2}'
  done | sort -g | sed -n 2p
}

cat >"${scratch}/post.lua" <<'LUA'
wrk.method = "POST"
LUA

declare -A rate
start_server "${build}/perf/beast_hello" 0 2
rate[beast]="$(measure "http://127.0.0.1:${port}/")"; stop_server

run_nginx() {
  mkdir -p "${scratch}/nginx"
  cat >"${scratch}/nginx/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid ${scratch}/nginx/nginx.pid;
error_log ${scratch}/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${scratch}/nginx/body;
  proxy_temp_path ${scratch}/nginx/proxy;
  fastcgi_temp_path ${scratch}/nginx/fastcgi;
  uwsgi_temp_path ${scratch}/nginx/uwsgi;
  scgi_temp_path ${scratch}/nginx/scgi;
  server { listen 127.0.0.1:$1; location / { return 200 "hello"; } }
}
CONF
  exec nginx -p "${scratch}/nginx" -c "${scratch}/nginx/nginx.conf"
}
start_on_free_port run_nginx /
rate[nginx]="$(measure "http://127.0.0.1:${port}/")"; stop_server

start_server "${build}/perf/cairn_http_peer" serve --port 0 --shards 2 --durability full --data-dir "${scratch}/data"
rate[cairn_hello]="$(measure "http://127.0.0.1:${port}/hello/bench")"
rate[loadgen_hello]="$("${build}/examples/cairn-loadgen" http "http://127.0.0.1:${port}/hello/bench" \
  --users "$connections" --seconds "$seconds" --warmup 1 --shards 2 --json |
  sed -E 's/.*"per_s":([0-9.eE+-]+).*/\1/')"
rate[cairn_counter]="$(measure "http://127.0.0.1:${port}/counter/bench" "${scratch}/post.lua")"
count="$(curl -s "http://127.0.0.1:${port}/counter/bench")"
rate[cairn_echo]="$(measure_ws 1)"
rate[cairn_echo16]="$(measure_ws 16)"
stop_server

# (e) workerd
run_workerd() {
  mkdir -p "${scratch}/workerd"
  cd "$workerd_dir"
  exec ./node_modules/.bin/workerd serve config.capnp --socket-addr "http=127.0.0.1:$1" \
    --directory-path "do-storage=${scratch}/workerd"
}
start_on_free_port run_workerd /hello
rate[workerd_counter]="$(measure "http://127.0.0.1:${port}/counter/bench" "${scratch}/post.lua")"
wcount="$(curl -s "http://127.0.0.1:${port}/counter/bench")"
rate[workerd_echo]="$(measure_ws 1)"
rate[workerd_echo16]="$(measure_ws 16)"
stop_server

printf '%-44s %12s %8s\n' "server (wrk: 2 threads, ${connections} connections, ${seconds} s)" "requests/s" "ratio"
printf '%-44s %12.0f %8s\n' "(a) bare Beast, fixed 200" "${rate[beast]}" "1.00"
printf '%-44s %12.0f %8s\n' "(b) nginx, fixed 200" "${rate[nginx]}" "$(ratio "${rate[nginx]}" "${rate[beast]}")"
printf '%-44s %12.0f %8s\n' "(c) cairn -> native actor, fixed body" "${rate[cairn_hello]}" "$(ratio "${rate[cairn_hello]}" "${rate[beast]}")"
printf '%-44s %12.0f %8s\n' "(d) cairn counter, full durability (POST)" "${rate[cairn_counter]}" "$(ratio "${rate[cairn_counter]}" "${rate[beast]}")"
printf '%-44s %12.0f %8s\n' "(e) workerd JS Durable Object counter (POST)" "${rate[workerd_counter]}" "$(ratio "${rate[workerd_counter]}" "${rate[beast]}")"
echo "(ratios against (a); (d) against (e): $(ratio "${rate[cairn_counter]}" "${rate[workerd_counter]}")x; counters ended at ${count} and ${wcount})"
printf '%-44s %12.0f %8s\n' "(h) examples/loadgen against (c)'s server" "${rate[loadgen_hello]}" "$(ratio "${rate[loadgen_hello]}" "${rate[cairn_hello]}")"
echo "((h) against wrk's rate on the same server, (c))"
printf '%-44s %12s %8s\n' "WebSocket echo (${connections} connections)" "messages/s" "ratio"
printf '%-44s %12.0f %8s\n' "(f) cairn echo actor, 16 in flight" "${rate[cairn_echo16]}" "$(ratio "${rate[cairn_echo16]}" "${rate[workerd_echo16]}")"
printf '%-44s %12.0f %8s\n' "(g) workerd echo object, 16 in flight" "${rate[workerd_echo16]}" "1.00"
printf '%-44s %12.0f %8s\n' "(f) cairn echo actor, 1 in flight" "${rate[cairn_echo]}" "$(ratio "${rate[cairn_echo]}" "${rate[workerd_echo]}")"
printf '%-44s %12.0f %8s\n' "(g) workerd echo object, 1 in flight" "${rate[workerd_echo]}" "1.00"
cat >"$json" <<JSON
{"seconds": ${seconds}, "connections": ${connections},
 "requests_per_s": {"beast": ${rate[beast]}, "nginx": ${rate[nginx]}, "cairn_hello": ${rate[cairn_hello]}, "cairn_counter_full": ${rate[cairn_counter]}, "workerd_counter": ${rate[workerd_counter]}},
 "websocket_messages_per_s": {"cairn_echo_1": ${rate[cairn_echo]}, "workerd_echo_1": ${rate[workerd_echo]}, "cairn_echo_16": ${rate[cairn_echo16]}, "workerd_echo_16": ${rate[workerd_echo16]}},
 "ratio_cairn_echo_vs_workerd_1": $(ratio "${rate[cairn_echo]}" "${rate[workerd_echo]}"),
 "ratio_cairn_echo_vs_workerd_16": $(ratio "${rate[cairn_echo16]}" "${rate[workerd_echo16]}"),
 "loadgen_hello": ${rate[loadgen_hello]},
 "ratio_loadgen_vs_wrk": $(ratio "${rate[loadgen_hello]}" "${rate[cairn_hello]}"),
 "ratio_cairn_hello_vs_beast": $(ratio "${rate[cairn_hello]}" "${rate[beast]}"),
 "ratio_cairn_counter_vs_workerd": $(ratio "${rate[cairn_counter]}" "${rate[workerd_counter]}"),
 "counter_final": ${count:-0}, "workerd_counter_final": ${wcount:-0}}
JSON
echo "wrote $json"
