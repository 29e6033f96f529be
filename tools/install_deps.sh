#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what cohort's build, tests and benchmarks need on Debian 12, skipping what is
# already there. Usage: tools/install_deps.sh [--bench]
#   (no option)  the build and every test: GoogleTest, plus what the optional parts'
#                tests use (Open MPI, GNU parallel, CLI11, Relacy, Spin)
#   --bench      also oneTBB, Google Benchmark and gnuplot (the comparison)
# Each optional package serves one part; a build without it skips that part with a message.
set -euo pipefail

want=(cmake g++ make pkg-config libgtest-dev)
want+=(libcli11-dev parallel)           # cohort-run: argument parsing; conformance vs GNU parallel
want+=(libopenmpi-dev openmpi-bin)      # the cohort::mpi component and its tests
want+=(relacy-dev spin)                 # model checks of the lock-free protocols
if [[ "${1:-}" == "--bench" ]]; then
  want+=(libtbb-dev libbenchmark-dev gnuplot-nox python3)
fi

missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "cohort: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
