#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What `cohort-run --mpi` costs over plain cohort-run (bench/mpi/README.md has the figures).
# Usage: cohort_run_mpi.sh <cohort-run binary> [jobs=10000] [repetitions=3]
#   overhead: N `true` jobs, -j2 per rank: plain, then --mpi at np 1, 2, 4 under
#             `mpirun --bind-to none` (Open MPI binds a rank to one core by default at np <= 2,
#             and the jobs inherit it: np 1 would run every job on one core) (median wall
#             time of the repetitions, per job)
#   idle:     2 jobs sleeping 2 s (-j1 per rank, np 2), each rank's user+sys CPU (its
#             progress thread, MPI's threads, the scheduler), against 2 jobs of 0 s
#   halt:     --halt now,fail=1 with jobs sleeping 30 s: the failure to the last rank's end
# Open MPI's launcher; the environment is the one the tests use.
set -u
CR=$(realpath "$1")
N=${2:-10000}
REPS=${3:-3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
  OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_btl=self,vader \
  OMPI_MCA_oob_tcp_if_include=lo OMPI_MCA_rmaps_base_oversubscribe=1
T=$(mktemp -d "${TMPDIR:-/tmp}/cohort_run_mpi_bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
seq "$N" >in
now_ms() { date +%s%3N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo "== overhead: $N true jobs, -j2 per rank, median of $REPS (wall ms, us per job)"
run_plain() { "$CR" -j2 true <in >/dev/null 2>&1; }
run_mpi() { mpirun --oversubscribe --bind-to none -np "$1" "$CR" --mpi -j2 true <in >/dev/null 2>&1; }
# Interleaved (plain, np 1, np 2, np 4 in each repetition), so a change of load on a shared
# machine hits all of them alike.
rm -f times.*
for _ in $(seq "$REPS"); do
  for what in plain 1 2 4; do
    t0=$(now_ms)
    if [ "$what" = plain ]; then run_plain; else run_mpi "$what"; fi
    echo $(($(now_ms) - t0)) >>"times.$what"
  done
done
for what in plain 1 2 4; do
  m=$(median <"times.$what")
  label=$([ "$what" = plain ] && echo "plain      " || echo "--mpi np $what ")
  echo "$label $m ms  $((m * 1000 / N)) us/job  (runs: $(tr '\n' ' ' <"times.$what"))"
done
# The launcher alone (starting and ending np ranks of a trivial program).
for np in 1 2 4; do
  t0=$(now_ms); mpirun --oversubscribe -np "$np" true; echo "mpirun -np $np true: $(($(now_ms) - t0)) ms"
done

echo "== idle: CPU of each rank while 2 jobs sleep 2 s (np 2, -j1), against 2 jobs of 0 s"
for d in 0 2; do
  rm -f cpu.*
  mpirun --oversubscribe -np 2 bash -c \
    '/usr/bin/time -o "cpu.$OMPI_COMM_WORLD_RANK$PMI_RANK" -f "%U %S %e" "$0" "$@"' \
    "$CR" --mpi -j1 sleep ::: $d $d >/dev/null 2>&1
  for f in cpu.*; do
    read -r u s e <"$f"
    echo "jobs sleeping $d s: rank ${f#cpu.}: user $u s, sys $s s, wall $e s"
  done
done

echo "== halt: failure to the last rank's end (np 2 and 4, -j2)"
for np in 2 4; do
  rm -f ended.* failed_at
  mpirun --oversubscribe -np "$np" bash -c '"$0" --mpi "$@"; date +%s%3N >"ended.$OMPI_COMM_WORLD_RANK$PMI_RANK"' \
    "$CR" -j2 --halt now,fail=1 'if [ {} = 3 ]; then sleep 0.5; date +%s%3N >failed_at; exit 1; fi; sleep 30' ::: $(seq 20) >/dev/null 2>&1
  echo "np $np: $(($(cat ended.* | sort -n | tail -1) - $(cat failed_at))) ms"
done
