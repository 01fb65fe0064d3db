#!/usr/bin/env bash
# The main job: set up, build, and run every example, saying what each does.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "${root}/scripts/setup.sh"
bash "${root}/scripts/build.sh" "${root}/build"
for example in counter ping_pong; do
  echo
  echo "== examples/${example} =="
  "${root}/build/examples/example_${example}"
done
