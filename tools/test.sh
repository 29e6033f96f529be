#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds cohort and runs every test. Usage: tools/test.sh [preset]
#   preset: release (default), dev, tsan (ThreadSanitizer), asan (AddressSanitizer+UBSan)
# Under tsan only the tests labelled `concurrency` run (all of the scheduler's tests are);
# under asan all but the package, docs and mpi ones. Neither builds cohort::mpi.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"

tools/install_deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
config_args=(-DCOHORT_BUILD_BENCHMARKS=OFF -DCOHORT_BUILD_TESTS=ON)
# Neither sanitizer run starts the MPI tests (label mpi, below), so neither builds
# cohort::mpi and its test programs: 15 of ~110 compilations per run, about a minute each
# of CI's 30 (the fresh-clone CI run took 1761 s on 2026-12-02 with them).
if [[ "$preset" == "tsan" || "$preset" == "asan" ]]; then
  config_args+=(-DCOHORT_WITH_MPI=OFF)
fi
cmake --preset "$preset" "${config_args[@]}" >/dev/null
cmake --build --preset "$preset" -j "$jobs"
label_args=()
if [[ "$preset" == "tsan" ]]; then
  label_args=(-L concurrency)
elif [[ "$preset" == "asan" ]]; then
  # The package consumers and the docs build test packaging, not memory safety, and the
  # release run covers them; under ASan they cost ~1 min of CI's 30. The mpi label
  # (mpirun of the MPI component and cohort-run --mpi, ~190 s of process time) too: the
  # full CI run took 29.5 min on 2026-12-01; the release stage still runs it.
  label_args=(-LE '^(package|docs|mpi)$')
fi
ctest --preset "$preset" -j "$jobs" "${label_args[@]}"
