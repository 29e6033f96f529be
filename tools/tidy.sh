#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# clang-tidy with the committed .clang-tidy on the core's files (lib/*.cpp, not its
# subfolders observe/, process/, mpi/), a count per check. Its warnings are reported, not
# fatal (.clang-tidy: WarningsAsErrors ''). Needs build/release's compile_commands.json
# (tools/test.sh release makes it). Usage: tools/tidy.sh [files...]
#
# Not part of .ci/run any more: it never failed a run, and its ~80 s took CI's fresh-clone
# time past the 30-minute budget (1810 s on 2026-12-02).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -f build/release/compile_commands.json ]]; then
  echo "tools/tidy.sh: build/release/compile_commands.json is missing; run tools/test.sh first" >&2
  exit 2
fi
if [[ $# -gt 0 ]]; then
  printf '%s\0' "$@"
else
  git ls-files -z ':(glob)lib/*.cpp'
fi |
  xargs -0 -n 1 -P "$(nproc 2>/dev/null || echo 2)" clang-tidy -p build/release --quiet 2>/dev/null |
  grep -Eo '\[[a-z]+-[a-z.-]+(,[a-z.-]+)*\]$' | sort | uniq -c | sort -rn || true
