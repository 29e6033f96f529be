#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs torture seeds [FIRST, FIRST+COUNT) and keeps going past hangs: a hang aborts the
# test binary, so this restarts it after the hung seed, saves each hang's report as
# $OUT/hang_<label>_<seed>.log and prints one line per hang (seed, seconds since start).
# Contract violations (BROKEN lines) are printed as they come.
#   usage: hunt.sh LABEL FIRST COUNT [NAME=VALUE...]   (extra COHORT_TORTURE_* settings)
#   e.g.   tests/stress/torture/hunt.sh item5 1 100 COHORT_TORTURE_WORKERS=1 \
#            COHORT_TORTURE_WITHOUT=foreign,past_deadline
# BIN (default build/release/tests/torture_test), OUT (default /tmp), HANG_MS (default 2000).
set -u
label=$1; first=$2; count=$3; shift 3
bin=${BIN:-build/release/tests/torture_test}; out=${OUT:-/tmp}; hang_ms=${HANG_MS:-2000}
mkdir -p "$out"
end=$((first + count)); seed=$first; t0=$(date +%s.%N)
while [ "$seed" -lt "$end" ]; do
  log=$(env "$@" COHORT_TORTURE_KEEP_GOING=1 COHORT_TORTURE_FIRST_SEED=$seed \
        COHORT_TORTURE_SEEDS=$((end - seed)) COHORT_TORTURE_SECONDS=1000000 \
        COHORT_TORTURE_HANG_MS=$hang_ms "$bin" 2>&1)
  echo "$log" | grep "^BROKEN" | sed "s/^/[$label] /"
  hung=$(echo "$log" | grep -o "reproduce: COHORT_TORTURE_SEED=[0-9]*" | head -1 | grep -o "[0-9]*$")
  if [ -z "$hung" ]; then echo "[$label] done: $(echo "$log" | grep 'torture:')"; break; fi
  echo "[$label] HANG seed $hung at $(echo "$(date +%s.%N) - $t0" | bc) s"
  echo "$log" > "$out/hang_${label}_$hung.log"
  seed=$((hung + 1))
done
