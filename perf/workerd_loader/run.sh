#!/usr/bin/env bash
# Starts the workerd peer of the sandbox benchmark (config.capnp, worker.js)
# on a free 127.0.0.1 port, checks that /load and /get answer n + 1, prints
# the workerd command line it ran, and stops workerd on exit.
#
#   perf/workerd_loader/run.sh [--serve] [--port-file FILE] [--memory N]
#     --serve           after the checks, print `listening on PORT` and keep
#                       workerd running until this script is killed (the form
#                       start_server in perf/http_bench.sh waits for)
#     --port-file FILE  write the port to FILE once the checks pass
#     --memory N        load N differently named cached Workers (/get?id=X)
#                       and print workerd's VmRSS before and after, and the
#                       difference per Worker
#
# A bench script can also run workerd itself; the command is
#   cd perf/workerd_loader &&
#   ../workerd/node_modules/.bin/workerd serve --experimental config.capnp \
#     --socket-addr http=127.0.0.1:PORT
# `--experimental` is required: without it workerd rejects the Worker Loader
# binding at startup. No compatibility flag is needed.
#
# What the routes measure (checked against workerd 2026-11-17): every
# /load request creates a new Worker::Isolate (its own V8 isolate, named
# LOADER:dynamic:<uuid> on the inspector's /json/list) and compiles the guest
# in it, and the isolate is torn down once the request is over. /get?n=K
# reuses one isolate. Named Workers are never unloaded by workerd, so
# /get?id=X keeps one idle isolate per X for the life of the process.
# workerd serves all of this on one thread.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
workerd="$(cd "${here}/../workerd" && pwd)/node_modules/.bin/workerd"
serve=0 port_file="" memory=0
while (($#)); do
  case "$1" in
    --serve) serve=1; shift ;;
    --port-file) port_file="$2"; shift 2 ;;
    --memory) memory="$2"; shift 2 ;;
    *) echo "workerd_loader: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [[ ! -x "$workerd" ]]; then
  echo "workerd_loader: $workerd is missing: run npm install in perf/workerd" >&2; exit 2
fi

pid="" log=""
stop_workerd() {
  if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  pid=""
}
cleanup() { stop_workerd; [[ -z "$log" ]] || rm -f "$log"; }
trap cleanup EXIT
# A bench script stops a server with SIGTERM; exit so that the EXIT trap
# takes workerd down with it.
trap 'exit 143' TERM
trap 'exit 130' INT

# The port is free when chosen but not reserved: another process could take
# it before workerd binds it, so startup is retried on a new port.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
log="$(mktemp /tmp/workerd-loader-XXXXXX.log)"
for _ in 1 2 3; do
  port="$(free_port)"
  cmd=("$workerd" serve --experimental config.capnp --socket-addr "http=127.0.0.1:${port}")
  (cd "$here" && exec "${cmd[@]}") >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:${port}/get?n=0" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  curl -s -o /dev/null "http://127.0.0.1:${port}/get?n=0" && break
  stop_workerd
done
if [[ -z "$pid" ]]; then
  echo "workerd_loader: workerd did not start:" >&2; cat "$log" >&2; exit 1
fi

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/${pid}/status"; }
started="$(rss_kib)"

check() {
  local got
  got="$(curl -s "http://127.0.0.1:${port}$1")"
  if [[ "$got" != "$2" ]]; then
    echo "workerd_loader: GET $1 answered '${got}', not '$2'" >&2; cat "$log" >&2; exit 1
  fi
}
check "/load?n=41" 42
check "/get?n=41" 42
check "/get?id=check&n=-1" 0
echo "workerd: (cd ${here} && ${cmd[*]})" >&2
echo "workerd_loader: /load and /get answer n + 1 (pid ${pid})" >&2

if ((memory > 0)); then
  before="$(rss_kib)"
  echo "VmRSS just after startup ${started} KiB"
  for ((i = 0; i < memory; i++)); do check "/get?id=m${i}&n=${i}" "$((i + 1))"; done
  after="$(rss_kib)"
  echo "VmRSS before ${before} KiB, after ${memory} cached Workers ${after} KiB:" \
    "$(( (after - before) / memory )) KiB per cached Worker"
fi

[[ -n "$port_file" ]] && echo "$port" >"$port_file"
if ((serve)); then
  echo "listening on ${port}"
  wait "$pid"
fi
