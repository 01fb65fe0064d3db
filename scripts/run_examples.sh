#!/usr/bin/env bash
# The main job: set up, build, run every example, saying what each does, then
# serve the example actors over HTTP on 127.0.0.1 (CAIRN_PORT, default 8080).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "${root}/scripts/setup.sh"
bash "${root}/scripts/build.sh" "${root}/build"
examples="${root}/build/examples"
data="${root}/build/example-data"  # actor databases of the durable examples
mkdir -p "${data}"

echo
echo "== examples/counter (durable: run twice, the second run continues) =="
"${examples}/example_counter" "${data}"
"${examples}/example_counter" "${data}"

echo
echo "== examples/ping_pong =="
"${examples}/example_ping_pong"

echo
echo "== examples/reminder (an alarm that fires in a later process) =="
"${examples}/example_reminder" "${data}" set "stretch your legs" 2
"${examples}/example_reminder" "${data}" wait 30

echo
echo "== cairn eval (a module in the V8 sandbox; result on stdout, console on stderr) =="
"${examples}/cairn" eval "${root}/examples/coder/sample.js" --input '{"items": [3, 4, 5]}'

echo
echo "== cairn serve (the example actors over HTTP; Ctrl-C stops it) =="
port="${CAIRN_PORT:-8080}"
echo "try: curl -X POST http://127.0.0.1:${port}/counter/visits   then   curl http://127.0.0.1:${port}/counter/visits"
echo "and: open http://127.0.0.1:${port}/room/lobby in two browser tabs (a multiplayer room over WebSockets)"
echo "code: curl -d '{\"code\": \"export default (i) => i * 2\", \"input\": 21}' http://127.0.0.1:${port}/coder/alice   (runs it in the sandbox, stores it)"
echo "load: ${examples}/cairn-loadgen http http://127.0.0.1:${port}/counter/load --method POST --users 64 --seconds 5"
echo "js: curl 'http://127.0.0.1:${port}/js/counter/increment?name=A'   (Cloudflare's Durable Objects counter, unchanged)"
echo "    a WebSocket to ws://127.0.0.1:${port}/js/chat/lobby?user=ann   (a JS room that asks a native C++ rate limiter)"
cd "$root"  # examples/js/cairn.json names the JS modules from here
exec "${examples}/cairn" serve --address 127.0.0.1 --port "${port}" --data-dir "${data}/server" \
  --config examples/js/cairn.json
