#!/usr/bin/env bash
# Installs what cohort's build, tests and benchmarks need on Debian 12, skipping what is
# already there. Usage: tools/install_deps.sh [--bench]   (--bench adds oneTBB and gnuplot)
set -euo pipefail

want=(cmake g++ make libgtest-dev)
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
