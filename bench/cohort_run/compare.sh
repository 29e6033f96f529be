#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# cohort-run's per-job overhead against xargs -P and GNU parallel, and its peak memory.
#
#   bench/cohort_run/compare.sh [path/to/cohort-run]
#
# Environment (defaults in brackets):
#   N [10000]       jobs of `true` per run, for cohort-run and xargs
#   GNU_N [N]       jobs per GNU parallel run (it is ~30x slower: a smaller GNU_N keeps the
#                   run short; its figure is then scaled to N jobs, per-job cost being flat)
#   J [nproc]       jobs at once (-j / -P) for all three
#   RUNS [5]        interleaved rounds; the medians are reported
#   RSS_N [1000000] jobs for the peak-RSS run (0 skips it); also run at RSS_N/100 to show
#                   memory does not grow with the input
# Output: one line per tool with the median wall time and per-job cost, the ratios, and
# peak RSS from /usr/bin/time -v (or the shell's getrusage when it is missing).
set -eu
CR=${1:-build/release/tools/cohort-run/cohort-run}
N=${N:-10000}
GNU_N=${GNU_N:-$N}
J=${J:-$(nproc)}
RUNS=${RUNS:-5}
RSS_N=${RSS_N:-1000000}
command -v "$CR" >/dev/null || { echo "no cohort-run at $CR" >&2; exit 2; }
HAVE_GNU=1; command -v parallel >/dev/null || { HAVE_GNU=0; echo "GNU parallel not installed: skipped"; }
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
seq "$N" >"$TMP/in"
seq "$GNU_N" >"$TMP/gnu_in"

now_ns() { date +%s%N; }
timed() { local t0; t0=$(now_ns); "$@" >/dev/null 2>&1 || true; echo $(( $(now_ns) - t0 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: >"$TMP/cohort"; : >"$TMP/xargs"; : >"$TMP/gnu"
for r in $(seq "$RUNS"); do
  timed "$CR" -j "$J" true <"$TMP/in" >>"$TMP/cohort"
  timed xargs -P "$J" -n 1 true <"$TMP/in" >>"$TMP/xargs"
  [ "$HAVE_GNU" = 1 ] && timed parallel -j "$J" true <"$TMP/gnu_in" >>"$TMP/gnu"
  echo "round $r/$RUNS done" >&2
done
c=$(median <"$TMP/cohort"); x=$(median <"$TMP/xargs")
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); N=$N J=$J RUNS=$RUNS (medians)"
awk -v c="$c" -v x="$x" -v n="$N" 'BEGIN {
  printf "cohort-run -j: %8.3f s  %7.1f us/job\n", c/1e9, c/1e3/n
  printf "xargs -P:      %8.3f s  %7.1f us/job\n", x/1e9, x/1e3/n
  printf "cohort-run / xargs: %.2fx (target <= 1.1x)\n", c/x }'
if [ "$HAVE_GNU" = 1 ]; then
  g=$(median <"$TMP/gnu")
  awk -v c="$c" -v g="$g" -v n="$N" -v gn="$GNU_N" 'BEGIN {
    gs = g * n / gn
    printf "GNU parallel:  %8.3f s  %7.1f us/job (measured on %d jobs, scaled to %d)\n", gs/1e9, g/1e3/gn, gn, n
    printf "GNU parallel / cohort-run: %.1fx (target >= 5x)\n", gs/c }'
fi

peak_rss() {   # peak RSS in KiB of: cohort-run -j J true < (seq $1)
  if [ -x /usr/bin/time ]; then
    seq "$1" | /usr/bin/time -f '%M' "$CR" -j "$J" true 2>&1 >/dev/null | tail -1
  else
    python3 -c 'import resource,subprocess,sys
subprocess.run([sys.argv[1],"-j",sys.argv[2],"true"],stdin=subprocess.Popen(["seq",sys.argv[3]],stdout=subprocess.PIPE).stdout,stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$CR" "$J" "$1"
  fi
}
if [ "$RSS_N" -gt 0 ]; then
  small=$((RSS_N / 100)); [ "$small" -ge 1 ] || small=1
  echo "peak RSS, $small jobs: $(peak_rss "$small") KiB"
  t0=$(now_ns)
  echo "peak RSS, $RSS_N jobs: $(peak_rss "$RSS_N") KiB ($(( ($(now_ns) - t0) / 1000000000 )) s)"
fi
