#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# cohort-run's tests: each function is one CTest test (tests/CMakeLists.txt registers them
# as cohort_run.<name>). Usage: cases.sh <cohort-run binary> <case>
# Exit 0 pass, 1 fail (with a message), 77 skipped (GNU parallel missing for conformance
# cases). Every wait is bounded by `timeout`.
set -u
CR=$(realpath "$1")
CASE=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/cohort_run_test.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

function fail { echo "FAIL: $*" >&2; exit 1; }
function need_parallel {
  command -v parallel >/dev/null || { echo "GNU parallel not installed: conformance case skipped"; exit 77; }
}
# Runs cohort-run bounded; stdout in out, stderr in err, status in rc.
function cr { timeout 60 "$CR" "$@" >out 2>err; rc=$?; }
function gp { timeout 120 parallel "$@" >gout 2>gerr; grc=$?; }
# Both tools on the same command line: stdout and exit status must match.
function same {
  gp "$@"
  cr "$@"
  cmp -s out gout || { diff gout out >&2; fail "stdout differs from GNU parallel for: $*"; }
  [ "$rc" = "$grc" ] || fail "exit status $rc, GNU parallel $grc, for: $*"
}
function alive { kill -0 "$1" 2>/dev/null && ! grep -q '^[^ ]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null; }
function all_dead {
  local deadline=$((SECONDS + 5)) p
  for p in "$@"; do
    while alive "$p"; do
      [ $SECONDS -ge $deadline ] && return 1
      sleep 0.02
    done
  done
}
function now_ms { date +%s%3N; }

# ---- conformance with GNU parallel ---------------------------------------------------------
conf_cartesian_keep_order() { need_parallel; same -k echo {} ::: a 'b c' ::: 1 2; }
conf_positional_seq_slot() { need_parallel; same -k -j1 echo {2}-{1} {#} {%} ::: a b ::: 1 2; }
conf_path_replacements() {
  need_parallel
  printf 'x.tar.gz\n/a/b/c.txt\nplain\ndir/sub/\n/x\n.bashrc\na.b/c\n' >in
  gp -k echo {} {.} {/} {//} {/.} <in; cr -k echo {} {.} {/} {//} {/.} <in
  cmp -s out gout || { diff gout out; fail "path replacements differ"; }
}
conf_input_appended_and_quoted() { need_parallel; same -k echo ::: 'a b' 'c;d' "e'f" ''; }
conf_argument_files() {
  need_parallel
  printf 'a\nb\n' >f1; printf '1\n2\n' >f2
  same -k echo {1}{2} :::: f1 f2
  same -k echo {1}{2} :::: f1 ::: x y
}
conf_tag() { need_parallel; same -k --tag echo ::: a ::: 1 2; }
conf_stdin_lines_and_null() {
  need_parallel
  printf 'a\nb c\n' >in; gp -k echo <in; cr -k echo <in; cmp -s out gout || fail "stdin lines differ"
  printf 'a\0b c\0' >in; gp -0 -k echo <in; cr -0 -k echo <in; cmp -s out gout || fail "-0 differs"
}
conf_lines_are_commands() {
  need_parallel
  printf 'echo one\necho two; echo three\n' >in; gp -k <in; cr -k <in
  cmp -s out gout || fail "no-COMMAND mode differs"
}
conf_literal_braces() { need_parallel; same -k echo {foo} '${HOME-x}' ::: a; }
conf_exit_status_is_failure_count() { need_parallel; same 'exit {}' ::: 0 3 4 0 1; }
conf_exit_status_over_100() {
  need_parallel
  seq 102 >in; gp -j2 false <in; cr -j2 false <in
  [ "$rc" = 101 ] && [ "$grc" = 101 ] || fail "102 failures: cohort-run $rc, GNU $grc (want 101)"
}
conf_halt_now_status() { need_parallel; same -k --halt now,fail=1 'sleep {1}; exit {2}' ::: 0.2 3 ::: 7; }
conf_halt_soon_status() { need_parallel; same -j1 --halt soon,fail=1 'exit {}' ::: 0 5 0 0; }
conf_command_not_found() {
  need_parallel
  gp --joblog gjl cohort-no-such-command ::: 1; cr --joblog jl cohort-no-such-command ::: 1
  [ "$rc" = "$grc" ] || fail "status $rc vs GNU $grc"
  [ "$(cut -f7 jl | tail -1)" = 127 ] || fail "joblog Exitval $(cut -f7 jl | tail -1), want 127"
}
conf_dry_run() { need_parallel; same --dry-run -k echo ::: a 'b c' x; }
conf_empty_input() { need_parallel; same echo </dev/null; }
conf_joblog_columns() {
  need_parallel
  gp -k --joblog gjl 'echo {2}; exit {1}' ::: 0 1 2 ::: x; cr -k --joblog jl 'echo {2}; exit {1}' ::: 0 1 2 ::: x
  head -1 jl | cmp -s - <(head -1 gjl) || fail "joblog header differs"
  # Seq Host Send Receive Exitval Signal Command (times differ, of course)
  diff <(tail -n +2 gjl | sort -n | cut -f1,2,5-9) <(tail -n +2 jl | sort -n | cut -f1,2,5-9) ||
    fail "joblog columns differ"
  awk -F'\t' 'NR>1 && ($3 !~ /^[0-9]+\.[0-9][0-9][0-9]$/ || $4 !~ /^ *[0-9]+\.[0-9][0-9][0-9]$/) {exit 1}' jl ||
    fail "joblog times not in GNU's format"
}
conf_resume_across_tools() {
  need_parallel
  # GNU writes the log for jobs 1-3; cohort-run --resume runs only 4 and 5.
  parallel --joblog jl -k echo ::: 1 2 3 >/dev/null
  cr --resume --joblog jl -k echo ::: 1 2 3 4 5
  [ "$(cat out)" = "$(printf '4\n5')" ] || fail "cohort-run --resume ran: $(cat out)"
  # cohort-run's log (now 1-5) read by GNU's --resume: nothing left to run.
  gp --resume --joblog jl -k echo ::: 1 2 3 4 5
  [ ! -s gout ] || fail "GNU parallel --resume reran: $(cat gout)"
}

# ---- every option ------------------------------------------------------------------------------
bad_usage_exits_255_naming_the_option() {
  local args opt
  for args in "--bogus echo" "-j x echo" "--halt soon echo" "--halt now,oops=1 echo" "--timeout 5x echo" \
              "--deadline -1 echo" "--retries 0 echo" "--resume echo" "--fail-fast --halt never echo" \
              "--term-grace x echo"; do
    # shellcheck disable=SC2086
    cr $args ::: 1
    [ "$rc" = 255 ] || fail "'$args': status $rc, want 255"
    opt=${args%% *}
    grep -q -- "$opt" err || fail "'$args': message does not name $opt: $(cat err)"
  done
}
unknown_positional_replacement_is_bad_usage() {
  cr echo {3} ::: a ::: b
  [ "$rc" = 255 ] && grep -q '{3}' err || fail "{3} with 2 sources: status $rc, $(cat err)"
  cr echo {0} ::: a
  [ "$rc" = 255 ] || fail "{0}: status $rc"
}
command_not_found_exits_127() {
  cr --joblog jl cohort-no-such-command ::: 1
  [ "$rc" = 1 ] || fail "status $rc"
  [ "$(tail -1 jl | cut -f7)" = 127 ] || fail "Exitval $(tail -1 jl | cut -f7)"
  grep -q 'command not found' err || fail "no 'command not found' in: $(cat err)"
  cr 'cohort-no-such-command; echo' ::: 1   # through /bin/sh: the shell's 127
  cr --joblog jl 'cohort-no-such-command {}' ::: 'a;b'
  [ "$(tail -1 jl | cut -f7)" = 127 ] || fail "shell path Exitval $(tail -1 jl | cut -f7)"
  # A script without a #! line runs through /bin/sh, as from a shell.
  printf 'echo script ran with $1\n' >noshebang; chmod +x noshebang
  cr ./noshebang ::: x
  [ "$rc" = 0 ] && [ "$(cat out)" = "script ran with x" ] || fail "script without #!: $rc $(cat out) $(cat err)"
}
empty_input_runs_nothing() {
  cr echo </dev/null
  [ "$rc" = 0 ] && [ ! -s out ] && grep -q '^0 jobs' err || fail "empty input: $rc $(cat err)"
}
summary_lists_failures_in_input_order() {
  cr -j3 'sleep 0.$((4-{})); echo "oops {}" >&2; exit {}' ::: 1 2 3
  [ "$rc" = 3 ] || fail "status $rc"
  grep 'failed (' err | sed 's/.*job \([0-9]*\).*/\1/' | tr '\n' ' ' | grep -q '^1 2 3 $' ||
    fail "not in input order: $(cat err)"
  grep -q 'job 2 failed (exit 2): .*: oops 2' err || fail "no last stderr line: $(cat err)"
  grep -q '^3 jobs: 0 succeeded, 3 failed, 0 cancelled, 0 skipped$' err || fail "summary: $(cat err)"
}
output_is_never_interleaved() {
  cr -j4 'for i in $(seq 300); do echo {}-$i; [ $((i % 50)) = 0 ] && sleep 0.01; done' ::: a b c d
  [ "$(sed 's/-.*//' out | uniq | wc -l)" = 4 ] || fail "output interleaved"
  [ "$(wc -l <out)" = 1200 ] || fail "lines lost"
}
keep_order_holds_and_spills_past_the_budget() {
  COHORT_RUN_KEEP_ORDER_MEMORY=1000 cr -k -j4 'sleep 0.$((9 - {})); head -c 20000 /dev/zero | tr "\0" {}; echo' ::: 1 2 3 4 5 6
  for i in 1 2 3 4 5 6; do printf '%s\n' "$(head -c 20000 /dev/zero | tr '\0' $i)"; done >want
  cmp -s out want || fail "-k output wrong after spilling"
}
a_job_writing_megabytes() {
  cr -k 'head -c 30000000 /dev/zero; head -c 3000000 /dev/zero >&2' ::: 1 2
  [ "$(wc -c <out)" = 60000000 ] || fail "stdout bytes $(wc -c <out)"
  [ "$(wc -c <err | tr -d ' ')" -ge 6000000 ] || fail "stderr bytes"
}
grandchildren_holding_the_pipe_do_not_hang_it() {
  local t0; t0=$(now_ms)
  cr 'sleep 30 & echo $!' ::: 1
  [ $(($(now_ms) - t0)) -lt 5000 ] || fail "took $(($(now_ms) - t0)) ms"
  all_dead "$(cat out)" || fail "grandchild $(cat out) survived"
}
halt_now_kills_every_job_and_grandchild() {
  # Jobs 2-4 start a grandchild each (a background sleep) and wait; job 1 fails.
  local t0; t0=$(now_ms)
  cr -j4 --halt now,fail=1 'if [ {} = 1 ]; then sleep 0.5; exit 3; fi; sleep 30 & echo $$ $! >>pids; wait' ::: 1 2 3 4
  local took=$(($(now_ms) - t0))
  [ "$rc" = 3 ] || fail "status $rc, want 3"
  [ "$took" -lt 3000 ] || fail "halt took $took ms"
  # shellcheck disable=SC2046
  all_dead $(cat pids) || fail "a job process survived: $(cat pids)"
  grep -q '1 failed, 3 cancelled' err || fail "summary: $(cat err)"
}
halt_now_latency_is_reported() {
  # From the failing job's exit to cohort-run's own exit (every other job reaped).
  cr -j4 --halt now,fail=1 'if [ {} = 1 ]; then sleep 0.3; date +%s%3N >failed_at; exit 1; fi; sleep 30' ::: 1 2 3 4
  local latency=$(($(now_ms) - $(cat failed_at)))
  echo "halt now,fail=1: first failure to every job dead and cohort-run exited: ${latency} ms"
  [ "$latency" -lt 1000 ] || fail "latency ${latency} ms"
}
a_job_ignoring_sigterm_is_killed_after_the_grace() {
  local t0; t0=$(now_ms)
  cr -j2 --term-grace 300ms --halt now,fail=1 \
     'if [ {} = 1 ]; then sleep 0.3; exit 1; fi; trap "" TERM; echo $$ >pid; while :; do sleep 0.05; done' ::: 1 2
  local took=$(($(now_ms) - t0))
  [ "$took" -ge 550 ] && [ "$took" -lt 4000 ] || fail "took $took ms (want >= 0.3 s + grace)"
  all_dead "$(cat pid)" || fail "the SIGTERM-ignoring job survived"
}
sigterm_and_ctrl_c_kill_every_job() {
  local sig want
  for sig in TERM INT; do
    rm -f pids
    env --default-signal=INT "$CR" -j3 ': {}; sleep 30 & echo $$ $! >>pids; wait' ::: 1 2 3 >out 2>err &
    local crpid=$!
    for _ in $(seq 100); do [ "$(cat pids 2>/dev/null | wc -l)" = 3 ] && break; sleep 0.05; done
    kill -$sig $crpid
    local deadline=$((SECONDS + 10))
    while kill -0 $crpid 2>/dev/null; do [ $SECONDS -ge $deadline ] && fail "cohort-run ignored SIG$sig"; sleep 0.05; done
    wait $crpid; local rc=$?
    want=$((128 + $(kill -l $sig)))
    [ "$rc" = "$want" ] || fail "SIG$sig: status $rc, want $want"
    # shellcheck disable=SC2046
    all_dead $(cat pids) || fail "SIG$sig: a job survived"
  done
}
timeout_kills_and_fails_the_job() {
  local t0; t0=$(now_ms)
  cr --timeout 200ms --joblog jl 'sleep {}' ::: 10 0.01
  [ $(($(now_ms) - t0)) -lt 3000 ] || fail "timeout not enforced"
  [ "$rc" = 1 ] || fail "status $rc"
  grep -P '^1\t.*\t-1\t15\tsleep 10$' jl >/dev/null || fail "joblog: $(cat jl)"
  grep -q 'timed out' err || fail "summary: $(cat err)"
}
deadline_stops_the_batch() {
  local t0; t0=$(now_ms)
  cr -j2 --deadline 300ms sleep ::: 10 10 10 10
  [ $(($(now_ms) - t0)) -lt 3000 ] || fail "deadline not enforced"
  [ "$rc" -ge 1 ] || fail "status $rc"
  grep -q '2 cancelled, 2 skipped' err || fail "summary: $(cat err)"
}
retries_run_a_failing_job_again() {
  cr --retries 3 ': {}; n=$(cat count 2>/dev/null || echo 0); echo $((n+1)) >count; [ $n -ge 1 ]' ::: 1
  [ "$rc" = 0 ] && [ "$(cat count)" = 2 ] || fail "status $rc, attempts $(cat count)"
  rm -f count; cr --retries 2 'echo {} >>count; exit 1' ::: 1
  [ "$rc" = 1 ] && [ "$(wc -l <count)" = 2 ] || fail "gave up wrongly: $rc $(wc -l <count)"
}
resume_and_resume_failed() {
  cr --joblog jl 'exit {}' ::: 0 1 0
  cr --resume --joblog jl 'echo ran {#}; exit {}' ::: 0 1 0 0
  [ "$(cat out)" = "ran 4" ] || fail "--resume ran: $(cat out)"
  grep -q '3 skipped' err || fail "--resume summary: $(cat err)"
  cr --resume-failed --joblog jl 'echo ran {#}; exit 0' ::: 0 1 0 0 0
  [ "$(sort out | tr '\n' ' ')" = "ran 2 ran 5 " ] || fail "--resume-failed ran: $(cat out)"
}
results_dir_holds_each_jobs_output() {
  cr --results res 'echo out {}; echo err {} >&2' ::: a b
  [ "$(cat res/2/stdout)" = "out b" ] && [ "$(cat res/1/stderr)" = "err a" ] || fail "results: $(ls -R res)"
}
bar_draws_progress() {
  cr --bar -j2 true ::: 1 2 3 4
  grep -q '4/4 done' err || fail "bar: $(cat err)"
  seq 5 | timeout 60 "$CR" --bar true >/dev/null 2>err; grep -q '5/5 done' err || fail "bar with stdin"
}
report_is_json_with_every_job() {
  cr --report rep.json --timeout 500ms 'sleep {}' ::: 0 5 x
  python3 - <<'PY' || fail "report: $(cat rep.json)"
import json
jobs = {j["seq"]: j for j in json.load(open("rep.json"))}
assert jobs[1]["status"] == "succeeded" and jobs[1]["exit_code"] == 0, jobs[1]
assert jobs[2]["status"] == "timed_out", jobs[2]
assert jobs[3]["status"] == "failed" and jobs[3]["input"] == ["x"], jobs[3]
for j in jobs.values():
    for k in ("command", "start", "runtime", "user_cpu", "system_cpu", "max_rss_kb", "signal"): assert k in j
PY
}
dry_run_runs_nothing() {
  cr --dry-run 'touch {}' ::: f1 f2
  [ ! -e f1 ] && [ "$(cat out)" = "$(printf 'touch f1\ntouch f2')" ] || fail "dry run: $(cat out)"
}
line_buffer_passes_lines_as_they_come() {
  timeout 20 "$CR" --line-buffer 'echo first; sleep 3; echo second; : {}' ::: 1 2>/dev/null |
    { IFS= read -r -t 2 line; echo "$line" >got; cat >/dev/null; }
  [ "$(cat got)" = first ] || fail "first line not passed through early"
  cr --line-buffer --tag 'echo a; echo b; : {}' ::: x
  [ "$(cat out)" = "$(printf 'x\ta\nx\tb')" ] || fail "line-buffer --tag: $(cat out)"
}
input_is_streamed_as_jobs_start() {
  { echo 1; sleep 2; echo 2; } | timeout 20 "$CR" -j1 echo 2>/dev/null | { IFS= read -r -t 1.5 line; echo "$line" >got; cat >/dev/null; }
  [ "$(cat got)" = 1 ] || fail "the first job waited for the end of the input"
}
a_halt_does_not_wait_for_the_next_input_line() {
  { echo 1; sleep 8; echo 2; } | { t0=$(now_ms); timeout 30 "$CR" --halt now,fail=1 'exit {}' 2>/dev/null; echo $? $(($(now_ms) - t0)) >res; }
  read -r status took <res
  [ "$status" = 1 ] && [ "$took" -lt 4000 ] || fail "status $status after $took ms"
}
halt_variants() {
  cr -j1 --halt soon,success=1 'exit {}' ::: 1 0 1 1
  [ "$rc" = 0 ] && grep -q '^4 jobs: 1 succeeded, 1 failed, 0 cancelled, 2 skipped' err || fail "soon,success: $rc $(cat err)"
  cr -j1 --halt soon,fail=50% 'exit {}' ::: 2 2 0 0
  [ "$rc" = 2 ] && grep -q '2 failed, 0 cancelled, 2 skipped' err || fail "fail=50%: $rc $(cat err)"
  cr --fail-fast -j1 'exit {}' ::: 0 4 0
  [ "$rc" = 4 ] || fail "--fail-fast: $rc"
  local t0; t0=$(now_ms)
  cr -j2 --halt now,success=1 'sleep {}' ::: 0.1 20
  [ "$rc" = 0 ] && [ $(($(now_ms) - t0)) -lt 3000 ] || fail "now,success: $rc"
}
slots_are_within_jobs() {
  cr -j3 'echo {%}; : {}' ::: $(seq 30)
  sort -u out | grep -qv '^[123]$' && fail "slots: $(sort -u out | tr '\n' ' ')"
  [ "$(wc -l <out)" = 30 ] || fail "jobs lost"
}
watchdog_shows_running_jobs() {
  COHORT_WATCHDOG=200ms cr 'echo hello-from-job; sleep 1; : {}' ::: 1
  grep -q 'watchdog' err && grep -q 'pid [0-9]' err && grep -q 'hello-from-job' err || fail "watchdog: $(cat err)"
}
trace_has_a_span_per_job() {
  COHORT_TRACE="$T/trace.json" cr true ::: 1 2
  grep -q '#1 true 1' trace.json && grep -q '#2 true 2' trace.json || fail "trace: $(head -c 500 trace.json)"
}

"$CASE"
