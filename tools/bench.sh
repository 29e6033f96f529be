#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds cohort_bench (Release, build/release), runs every workload for cohort, oneTBB,
# OpenMP and a serial baseline, and prints the comparison (tools/compare.py), which also
# writes bench/results/comparison.{md,json,png}. The raw Google Benchmark JSON goes to
# bench/results/raw.json.
#
# Usage: tools/bench.sh [benchmark arguments...]
#   tools/bench.sh                                   # everything, 3 repetitions (~5 min on 2 cores)
#   tools/bench.sh --benchmark_filter='fib|skynet'   # a subset
# Environment: COHORT_BENCH_REPETITIONS (default 3); COHORT_BENCH_BUILD_DIR (build there,
# with plain cmake, instead of the `release` preset's build/release).
set -euo pipefail
cd "$(dirname "$0")/.."

repetitions="${COHORT_BENCH_REPETITIONS:-3}"
jobs=$(nproc 2>/dev/null || echo 2)

if [[ -n "${COHORT_BENCH_BUILD_DIR:-}" ]]; then
  build="$COHORT_BENCH_BUILD_DIR"
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCOHORT_BUILD_BENCHMARKS=ON >/dev/null
  cmake --build "$build" -j "$jobs" --target cohort_bench
else
  build=build/release
  cmake --preset release -DCOHORT_BUILD_BENCHMARKS=ON >/dev/null
  cmake --build --preset release -j "$jobs" --target cohort_bench
fi

mkdir -p bench/results
# Console report on the terminal; the JSON, with every repetition, into raw.json.
"$build/bench/cohort_bench" \
  --benchmark_repetitions="$repetitions" \
  --benchmark_out_format=json --benchmark_out=bench/results/raw.json \
  "$@"

python3 tools/compare.py --input bench/results/raw.json --targets
