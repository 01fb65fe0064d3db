#!/usr/bin/env bash
# The whole test suite: set up, build, run every test; then the same suite
# again in the ASan+UBSan build (optimised: GCC turns the symmetric transfer
# of coroutines into tail calls only when optimising). Exits non-zero on any
# failure.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "${root}/scripts/setup.sh"

echo "== Release build and tests =="
bash "${root}/scripts/build.sh" "${root}/build"
(cd "${root}/build" && ctest -j2 --output-on-failure --timeout 300)

echo "== ASan+UBSan build and tests =="
bash "${root}/scripts/build.sh" "${root}/build-asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCAIRN_SANITIZE=ON -DCAIRN_BUILD_PERF=OFF
(cd "${root}/build-asan" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest -j2 --output-on-failure --timeout 600)
