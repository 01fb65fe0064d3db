#!/usr/bin/env bash
# Installs everything cairn needs on Debian bookworm, idempotently.
# Fast when everything is already there: it only checks.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
third_party="${root}/third_party"

apt_packages=(
  build-essential g++ cmake ninja-build ccache pkg-config git curl ca-certificates
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-test1.81-dev
  liburing-dev libsqlite3-dev libssl-dev zlib1g-dev
  libcaf-dev
  # runtime libraries of Debian's libnode (V8), unpacked below
  libuv1 libicu72 libc-ares2 libnghttp2-14 libbrotli1 libssl3 zlib1g
)

# Node and npm run the WebSocket tests' independent client (test/ws) and
# fetch workerd for the benchmarks. Skipped if the commands are there already
# (a node from elsewhere brings its own npm, and Debian's npm would conflict).
command -v node >/dev/null && command -v npm >/dev/null || apt_packages+=(nodejs npm)

# Benchmark peers, only with --bench (scripts/bench.sh): wrk drives the HTTP
# benchmark, nginx is one of its peers.
if [[ "${1:-}" == "--bench" ]]; then
  command -v wrk >/dev/null || apt_packages+=(wrk)
  command -v nginx >/dev/null || apt_packages+=(nginx-light)
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi

missing=()
for p in "${apt_packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# V8 from Debian's libnode, unpacked into third_party/libnode (DESIGN.md 6):
# installing libnode-dev clashes with non-Debian nodejs packages, so we
# download the .debs and extract them instead.
libnode_dir="${third_party}/libnode"
if [[ ! -f "${libnode_dir}/usr/include/node/v8.h" || ! -e "${libnode_dir}/usr/lib/x86_64-linux-gnu/libnode.so.108" ]]; then
  echo "setup: extracting V8 from Debian's libnode into ${libnode_dir}"
  tmp="$(mktemp -d)"; chmod 755 "$tmp"
  if ! (cd "$tmp" && apt-get download libnode108 libnode-dev >/dev/null 2>&1); then
    "${sudo_cmd[@]}" apt-get update -qq  # package lists missing or stale
    (cd "$tmp" && apt-get download libnode108 libnode-dev >/dev/null)
  fi
  rm -rf "$libnode_dir" && mkdir -p "$libnode_dir"
  for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$libnode_dir"; done
  rm -rf "$tmp"
fi

# npm packages, exactly as locked: the WebSocket tests' client (test/ws), the
# sandbox's web platform prelude with esbuild, which bundles it at build time
# (sandbox/js), and workerd, which the JS actors' comparison test
# (test/ws/workerd_compat.test.mjs) and the benchmarks run (perf/workerd).
for dir in "${root}/test/ws" "${root}/sandbox/js" "${root}/perf/workerd"; do
  if [[ ! -f "${dir}/node_modules/.package-lock.json" ||
        "${dir}/package-lock.json" -nt "${dir}/node_modules/.package-lock.json" ]]; then
    echo "setup: installing the npm packages of ${dir#"${root}/"}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
done

echo "setup: ok"
