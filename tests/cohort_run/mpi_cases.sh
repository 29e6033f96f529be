#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# cohort-run --mpi under the MPI launcher: each function is one CTest test per rank count
# (tests/mpi/CMakeLists.txt registers them as mpi.cohort_run.<name>.np<N>, label mpi).
# The reference is cohort-run without --mpi on the same input.
# Usage: mpi_cases.sh <cohort-run binary> <case> <launcher> [launcher args...] (e.g.
# mpirun --oversubscribe -np 4). Exit 0 pass, 1 fail (with a message). Every run is bounded
# by `timeout`.
set -u
CR=$(realpath "$1")
CASE=$2
shift 2
LAUNCH=("$@")
T=$(mktemp -d "${TMPDIR:-/tmp}/cohort_run_mpi_test.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

function fail { echo "FAIL: $*" >&2; exit 1; }
function now_ms { date +%s%3N; }
# Plain cohort-run: stdout in out0, stderr in err0, status in rc0.
function plain { timeout 120 "$CR" "$@" >out0 2>err0; rc0=$?; }
# The same under the launcher with --mpi: out1, err1, rc1.
function mpi { timeout 120 "${LAUNCH[@]}" "$CR" --mpi "$@" >out1 2>err1; rc1=$?; }
# What cohort-run itself wrote to stderr (jobs' lines start with "E "), without the
# launcher's notices about a rank's non-zero exit status.
function own_stderr { grep -E '^(E |cohort-run:|[0-9]+ jobs:)' "$1"; }
function alive_marked { pgrep -f "$1" >/dev/null; }

# A few hundred jobs of varied duration and output (several lines, stderr, some fail).
JOB='i={}; sleep 0.00$((i % 10)); for k in $(seq $((i % 4))); do echo "job $i line $k"; done; echo "E $i" >&2; exit $(( i % 37 == 0 ? 3 : 0 ))'
N=300

output_equals_plain_run_keep_order() {
  seq $N >in
  plain -k -j2 "$JOB" <in
  mpi -k -j2 "$JOB" <in
  cmp -s out0 out1 || { diff out0 out1 | head >&2; fail "-k stdout differs from the plain run"; }
  diff <(own_stderr err0) <(own_stderr err1) >&2 || fail "-k stderr differs from the plain run"
  [ "$rc1" = "$rc0" ] || fail "status $rc1, plain run $rc0"
  [ "$rc0" = 8 ] || fail "plain run status $rc0, want 8 (failed jobs)"
}
output_equals_plain_run_unordered() {
  # Without -k, output comes as jobs end (as without --mpi): the same lines, and each
  # job's output in one piece.
  seq $N >in
  plain -j2 "$JOB" <in
  mpi -j2 "$JOB" <in
  cmp -s <(sort out0) <(sort out1) || fail "stdout lines differ from the plain run"
  [ "$rc1" = "$rc0" ] || fail "status $rc1, plain run $rc0"
  awk '/^job/ { split($0, w, " "); if (w[4] != 1 && w[2] != prev) bad = 1; prev = w[2] } END { exit bad }' out1 ||
    fail "a job's output was interleaved with another's"
  diff <(own_stderr err0 | grep -v '^E ') <(own_stderr err1 | grep -v '^E ') >&2 || fail "summary differs"
}
joblog_in_input_order_with_hosts() {
  seq $N >in
  plain -j2 --joblog jl0 "$JOB" <in
  mpi -j2 --joblog jl1 "$JOB" <in
  [ "$(head -1 jl1)" = "$(head -1 jl0)" ] || fail "joblog header"
  cut -f1 jl1 | tail -n +2 >seqs
  cmp -s seqs <(seq $N) || fail "joblog not in input order: $(tr '\n' ' ' <seqs | head -c 300)"
  cut -f2 jl1 | tail -n +2 | sort -u >hosts
  [ "$(cat hosts)" = "$(hostname)" ] || fail "host column: $(cat hosts)"
  # Seq, Receive, Exitval, Signal, Command as the plain run's (sorted: its log is in end order).
  cmp -s <(cut -f1,6- jl0 | sort) <(cut -f1,6- jl1 | sort) || fail "joblog columns differ"
}
failures_and_exit_status_equal() {
  plain 'exit {}' ::: 0 3 4 0 1 0 2
  mpi 'exit {}' ::: 0 3 4 0 1 0 2
  [ "$rc1" = "$rc0" ] && [ "$rc0" = 4 ] || fail "status $rc1, plain run $rc0 (want 4)"
  diff <(own_stderr err0) <(own_stderr err1) >&2 || fail "failure summary differs"
  # More than 100 failures: 101, as GNU parallel.
  mpi -j2 false ::: $(seq 120)
  [ "$rc1" = 101 ] || fail "120 failures: status $rc1, want 101"
}
command_not_found() {
  plain -k no_such_command_cohort_mpi ::: 1 2 3
  mpi -k no_such_command_cohort_mpi ::: 1 2 3
  [ "$rc1" = "$rc0" ] && [ "$rc0" = 3 ] || fail "status $rc1, plain run $rc0 (want 3)"
  [ "$(grep -c '^cohort-run: no_such_command_cohort_mpi: command not found$' err1)" = 3 ] || fail "stderr: $(cat err1)"
  diff <(own_stderr err0) <(own_stderr err1) >&2 || fail "stderr differs from the plain run"
}
halt_now_stops_every_rank() {
  # Job 3 fails after 0.5 s; every other job would sleep 30 s (a marked sleep, so a
  # survivor is found). Every rank must kill its jobs and end within the bound. Each rank
  # notes when its cohort-run ended, so the latency is to the last rank's end (the
  # launcher's own teardown comes after).
  local mark=30.$$
  local t0; t0=$(now_ms)
  timeout 120 "${LAUNCH[@]}" bash -c '"$0" --mpi "$@"; rc=$?; date +%s%3N >"ended.$OMPI_COMM_WORLD_RANK$PMI_RANK"; exit $rc' \
    "$CR" -j2 --halt now,fail=1 'if [ {} = 3 ]; then sleep 0.5; date +%s%3N >failed_at; exit 5; fi; sleep '$mark ::: $(seq 40) >out1 2>err1
  rc1=$?
  local t1; t1=$(now_ms)
  [ "$rc1" = 5 ] || fail "status $rc1, want 5 (the failed job's)"
  local last; last=$(cat ended.* | sort -n | tail -1)
  local latency=$((last - $(cat failed_at)))
  echo "halt now,fail=1: first failure to the last rank's end: ${latency} ms ($(ls ended.* | wc -l) ranks); launcher exited after $((t1 - $(cat failed_at))) ms"
  [ "$latency" -lt 3000 ] || fail "halt took ${latency} ms"
  [ $((t1 - t0)) -lt 15000 ] || fail "the run took $((t1 - t0)) ms"
  ! alive_marked "sleep $mark" || fail "a job survived the halt: $(pgrep -af "sleep $mark")"
  grep -qE '1 failed, [0-9]+ cancelled' err1 || fail "summary: $(own_stderr err1)"
}
halt_soon_on_an_endless_input() {
  # The input never ends: rank 0 hands jobs out as lines come; the halt ends the run.
  local t0; t0=$(now_ms)
  timeout 60 "${LAUNCH[@]}" "$CR" --mpi -j2 --halt soon,done=200 true < <(yes 1) >out1 2>err1
  rc1=$?
  [ "$rc1" = 0 ] || fail "status $rc1: $(own_stderr err1)"
  grep -qE '^[0-9]+ jobs: ([2-9][0-9][0-9]|[0-9]{4,}) succeeded' err1 || fail "summary: $(own_stderr err1)"
  echo "endless input, halt soon,done=200: $(($(now_ms) - t0)) ms"
}
deadline_stops_every_rank() {
  local mark=31.$$
  local t0; t0=$(now_ms)
  mpi -j2 --deadline 1s sleep ::: $(seq 20 | sed "s/.*/$mark/")
  local took=$(($(now_ms) - t0))
  echo "--deadline 1s: the launcher exited after ${took} ms"
  [ "$took" -lt 6000 ] || fail "deadline not enforced: ${took} ms"
  [ "$rc1" -ge 1 ] || fail "status $rc1"
  ! alive_marked "sleep $mark" || fail "a job survived the deadline"
  grep -qE '0 succeeded, 0 failed, [1-9][0-9]* cancelled, [0-9]+ skipped' err1 || fail "summary: $(own_stderr err1)"
}
tag_report_results_and_resume() {
  mpi -k --tag --report rep.json --results res --joblog jl echo ::: a b ::: 1 2
  printf 'a 1\ta 1\na 2\ta 2\nb 1\tb 1\nb 2\tb 2\n' >want
  cmp -s out1 want || fail "--tag output: $(cat out1)"
  [ "$(cat res/3/stdout)" = "b 1" ] || fail "--results: $(ls -R res)"
  [ "$(grep -o '"seq": [0-9]*' rep.json | grep -o '[0-9]*' | tr '\n' ' ')" = "1 2 3 4 " ] ||
    fail "report not in input order: $(cat rep.json)"
  # --resume: nothing left to run.
  mpi -k --joblog jl --resume echo ::: a b ::: 1 2
  [ ! -s out1 ] && [ "$rc1" = 0 ] || fail "--resume ran jobs again: $(cat out1)"
}
every_rank_runs_jobs() {
  # Enough slow jobs that every rank gets some: the joblog's commands name the rank.
  mpi -j1 ': {}; sleep 0.2; echo $OMPI_COMM_WORLD_RANK$PMI_RANK' ::: $(seq 16)
  [ "$rc1" = 0 ] || fail "status $rc1"
  local ranks; ranks=$(sort -u out1 | wc -l)
  echo "ranks that ran jobs: $ranks ($(sort out1 | uniq -c | tr -s ' \n' ' '))"
  [ "$ranks" -ge 2 ] || fail "only one rank ran jobs"
}

"$CASE"
