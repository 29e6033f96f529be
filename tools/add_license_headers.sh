#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Puts the SPDX license line at the top of every C++ source and header, CMake file, shell
# script and Python script of the tree (git ls-files) that lacks it. Idempotent: re-run it
# after a merge. A #! line stays first; the SPDX line goes right after it.
# Usage: tools/add_license_headers.sh [--check]   (--check: list files without it, exit 1)
set -euo pipefail
cd "$(dirname "$0")/.."
spdx="SPDX-License-Identifier: Apache-2.0"
check=0
[[ "${1:-}" == "--check" ]] && check=1
missing=0
while IFS= read -r -d '' file; do
  case "$file" in
    *.cpp | *.hpp | *.h | *.cc | *.in.cpp) prefix="// " ;;
    *.cmake | */CMakeLists.txt | CMakeLists.txt | *.sh | *.py | .ci/run) prefix="# " ;;
    *) continue ;;
  esac
  [[ -f "$file" ]] || continue
  # Already there (in the first three lines)?
  if head -n 3 "$file" | grep -q "$spdx"; then continue; fi
  missing=$((missing + 1))
  if ((check)); then
    echo "$file"
    continue
  fi
  tmp=$(mktemp)
  if head -n 1 "$file" | grep -q '^#!'; then
    { head -n 1 "$file"; echo "${prefix}${spdx}"; tail -n +2 "$file"; } >"$tmp"
  else
    { echo "${prefix}${spdx}"; cat "$file"; } >"$tmp"
  fi
  cat "$tmp" >"$file"   # keeps the file's mode (scripts stay executable)
  rm -f "$tmp"
done < <(git ls-files -z)
if ((check && missing)); then
  echo "$missing file(s) without '$spdx'" >&2
  exit 1
fi
