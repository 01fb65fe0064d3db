#!/usr/bin/env bash
# libFuzzer on cairn's own parsing (test/fuzz/target_fuzz.cpp), with ASan and
# UBSan, for a while. Installs clang if it is missing.
#   scripts/fuzz.sh [SECONDS]      (default 60; corpus in build-fuzz/corpus)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-60}"
if ! command -v clang++ >/dev/null; then
  sudo_cmd=(); [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends clang >/dev/null
fi
out="${root}/build-fuzz"
mkdir -p "${out}/corpus"
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -I"${root}/include" \
  "${root}/test/fuzz/target_fuzz.cpp" "${root}/io/target.cpp" -o "${out}/target_fuzz"
"${out}/target_fuzz" -max_total_time="${seconds}" -max_len=512 "${out}/corpus"
