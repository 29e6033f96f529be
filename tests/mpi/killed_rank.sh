#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A killed rank must not leave the others hanging: runs killed_rank under the MPI launcher
# and checks that the launcher exits non-zero within LIMIT seconds and that no process of
# the program is left behind.
# Usage: killed_rank.sh LIMIT PROGRAM LAUNCHER [LAUNCHER ARGS...]
set -u
limit=$1 program=$2
name=$(basename "$program" | cut -c1-15)  # the kernel keeps 15 characters of a name
shift 2
start=$(date +%s.%N)
timeout --kill-after=5 "$((limit * 3))" "$@" "$program" >/dev/null 2>&1
rc=$?
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
echo "launcher exit status $rc after ${elapsed}s"
status=0
if [[ $rc -eq 0 ]]; then echo "FAIL: the launcher reported success"; status=1; fi
# 137 is also how Open MPI's launcher reports a rank killed by SIGKILL; only timeout's 124,
# or 137 at timeout's limit, means the job hung.
if [[ $rc -eq 124 ]] || (($(echo "$elapsed >= $limit * 3" | bc))); then
  echo "FAIL: the job hung (killed by timeout)"; status=1
fi
if (($(echo "$elapsed > $limit" | bc))); then echo "FAIL: took more than ${limit}s"; status=1; fi
# No process of the program may survive (give the launcher's cleanup a moment).
for _ in $(seq 20); do
  pgrep -x -- "$name" >/dev/null || break
  sleep 0.1
done
if pgrep -x -- "$name" >/dev/null; then
  echo "FAIL: processes left behind:"; pgrep -ax -- "$name"; status=1
fi
[[ $status -eq 0 ]] && echo "ok: the job ended and nothing was left behind"
exit $status
