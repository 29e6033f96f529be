#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main job: installs what is missing, builds Release with the benchmarks, runs the
# benchmark suite (cohort beside oneTBB, OpenMP and a serial baseline) and prints the
# comparison table. Extra arguments go to tools/bench.sh (e.g. a --benchmark_filter).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh --bench
exec tools/bench.sh "$@"
