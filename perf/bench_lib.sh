# Shell helpers of the HTTP benchmarks (perf/http_bench.sh, perf/sandbox_bench.sh).
# The sourcing script sets `root`, `seconds` and `connections`, then calls
# bench_begin NAME.

# Exits unless every tool named is on PATH.
bench_require() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "${bench}: $tool is missing: run scripts/setup.sh --bench" >&2; exit 2; }
  done
}

# Sets `bench` (the name, for messages), `scratch` (a folder removed at exit,
# when every server still running is stopped) and `workerd_dir`, and installs
# workerd from npm at the version perf/workerd/package.json pins.
bench_begin() {
  bench="$1"
  scratch="$(mktemp -d "/tmp/cairn-${bench}-XXXXXX")"
  pids=()
  trap bench_end EXIT
  workerd_dir="${root}/perf/workerd"
  if [[ ! -x "${workerd_dir}/node_modules/.bin/workerd" ]]; then
    (cd "$workerd_dir" && npm ci --no-audit --no-fund --silent >/dev/null)
  fi
}
bench_end() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$scratch"
}

# Starts "$@" in the background with stdout to $scratch/out.N and waits for a
# line naming a port (`listening on N` or `127.0.0.1:N`); sets `port`.
start_server() {
  local out="${scratch}/out.${#pids[@]}"
  "$@" >"$out" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    port="$(grep -oE '(listening on |127\.0\.0\.1:)[0-9]+' "$out" | grep -oE '[0-9]+$' | head -1 || true)"
    [[ -n "$port" ]] && return 0
    sleep 0.1
  done
  echo "${bench}: $1 did not start:" >&2; cat "$out" >&2; exit 1
}

# For servers that take their port on the command line: runs `$1 PORT` in the
# background on random ports until one answers GET $2; sets `port`.
start_on_free_port() {
  local launch="$1" probe="$2"
  for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 40000))
    ("$launch" "$port") >"${scratch}/out.${#pids[@]}" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:${port}${probe}" && return 0; sleep 0.1; done
    stop_server
  done
  echo "${bench}: $launch did not start" >&2; exit 1
}

# Stops the server started last.
stop_server() { kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'; }

# wrk for $seconds against URL (optionally with a Lua script); prints
# requests/s and leaves wrk's report in $scratch/wrk.txt (see wrk_latency).
measure() {
  local url="$1" script="${2:-}" args=(-t 2 -c "$connections" -d "${seconds}s" --latency)
  [[ -n "$script" ]] && args+=(-s "$script")
  wrk "${args[@]}" "$url" >"${scratch}/wrk.txt"
  if grep -q "Non-2xx" "${scratch}/wrk.txt"; then echo "${bench}: non-2xx answers from $url" >&2; cat "${scratch}/wrk.txt" >&2; exit 1; fi
  awk '/^Requests\/sec:/ {print $2}' "${scratch}/wrk.txt"
}

# The latency percentile $1 (50, 99) of the last measure, in ms.
wrk_latency() {
  awk -v p="$1%" '$1 == p {
    v = $2; unit = v; sub(/[0-9.]+/, "", unit); sub(/[a-z]+$/, "", v);
    if (unit == "us") v /= 1000; else if (unit == "s") v *= 1000; printf "%.2f", v }' "${scratch}/wrk.txt"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
