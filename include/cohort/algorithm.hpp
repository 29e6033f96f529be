// SPDX-License-Identifier: Apache-2.0
// Parallel algorithms: loops, reductions, scans, sorting and search over index ranges and
// random access ranges, each one structured scope like a task group.
//
//   for_each_index, for_each_chunk, for_each, transform     algorithm/loops.hpp
//   reduce, transform_reduce                                algorithm/reduce.hpp
//   inclusive_scan, exclusive_scan                          algorithm/scan.hpp
//   sort, stable_sort                                       algorithm/sort.hpp
//   find_if, any_of, all_of, none_of                        algorithm/find.hpp
//   loop_options, partition                                 algorithm/loop_core.hpp
//
// Every algorithm also takes a leading scheduler& (else it runs on the ambient one) and a
// trailing loop_options. Guarantees, for all of them:
//   - Structured: nothing the call started runs after it returns or throws.
//   - The first failure (cancel_siblings) stops new pieces and requests the stop tokens of
//     running bodies; the call throws one task_group_error with every failure in index
//     order, names() "name[index]", what() "2 of 1000000 elements failed; first:
//     rows[17]: bad pixel". keep_going: every element runs, every failure is reported.
//   - timeout: no more pieces start, running bodies see their stop token, timeout_error.
//   - A cancel from outside stops the loop the same way: task_cancelled.
//   - Nested loops never deadlock: a waiting worker runs other pieces meanwhile.
//   - No grain to tune: the default partition splits on demand (see detail/range_split.hpp).
//   - Results are written to distinct objects only (never packed bits shared by threads).
//   - A value type's own copies, moves, assignments and comparisons are user code: one
//     that throws inside the library (a scan's carry, a partial result handed between
//     pieces, a sort's buffer) fails the loop like a throwing element, never terminates.
#pragma once

#include <cohort/algorithm/find.hpp>
#include <cohort/algorithm/loop_core.hpp>
#include <cohort/algorithm/loops.hpp>
#include <cohort/algorithm/reduce.hpp>
#include <cohort/algorithm/scan.hpp>
#include <cohort/algorithm/sort.hpp>
