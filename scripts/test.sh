#!/usr/bin/env bash
# The whole test suite: set up, build, run every test; then the same suite
# again in the ASan+UBSan build (optimised: GCC turns the symmetric transfer
# of coroutines into tail calls only when optimising; line tables only, -g1,
# which is all a sanitizer report needs: full debug info made that build
# 3.3 GB instead of 2.1 GB, and CI's disk filled up). Exits non-zero on any
# failure.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "${root}/scripts/setup.sh"

# What the builds take and what is left: a full disk fails a link with no
# other sign, so every run's log says where the space went.
disk_report() {
  du -sh "${root}"/build* "$(ccache -k cache_dir 2>/dev/null || echo "${HOME}/.cache/ccache")" 2>/dev/null | sed 's/^/disk: /'
  df -h "${root}" | awk 'NR == 2 { print "disk: " $4 " free of " $2 }'
}

echo "== Release build and tests =="
bash "${root}/scripts/build.sh" "${root}/build"
disk_report
(cd "${root}/build" && ctest -j2 --output-on-failure --timeout 300)

echo "== ASan+UBSan build and tests =="
bash "${root}/scripts/build.sh" "${root}/build-asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" -DCAIRN_SANITIZE=ON -DCAIRN_BUILD_PERF=OFF
disk_report
(cd "${root}/build-asan" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest -j2 --output-on-failure --timeout 600)
