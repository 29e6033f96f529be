#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Interleaved A/B of two cohort trees on fib(32) via task_group (f), skynet 10^6 via
# task_group (s), fib(35) via gather (g) and 10^6 children from main (m), at 1 and 2
# workers (AB_WORKLOADS="f m" picks some). Each invocation prints
# the median of 5 runs; three rounds alternate old and new. Build both libraries first.
# Usage: bench/ab/run.sh OLD_TREE OLD_BUILD NEW_TREE NEW_BUILD
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
old_tree=$1 old_build=$2 new_tree=$3 new_build=$4
tmp=$(mktemp -d)
g++ -std=c++20 -O2 -I"$old_tree/include" -I"$old_build/include" "$here/fib_skynet.cpp" "$old_build/libcohort.a" -lpthread -o "$tmp/old"
g++ -std=c++20 -O2 -I"$new_tree/include" -I"$new_build/include" "$here/fib_skynet.cpp" "$new_build/libcohort.a" -lpthread -o "$tmp/new"
for what in ${AB_WORKLOADS:-f s g m}; do for w in 1 2; do
  o=(); n=()
  for round in 1 2 3; do o+=("$("$tmp/old" $w $what)"); n+=("$("$tmp/new" $w $what)"); done
  echo "$what workers=$w old(ms) ${o[*]}  new(ms) ${n[*]}"
done; done
rm -rf "$tmp"
