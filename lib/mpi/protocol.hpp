// SPDX-License-Identifier: Apache-2.0
// The messages of one collective call on cohort's communicator (lib/mpi/README.md has
// the whole protocol). Every message is a few uint64 values; every message sent in a call
// is received in the same call, so nothing is left to mix with the next one.
#pragma once

#include <cstdint>

namespace cohort::mpi::detail {

enum tag : int {
  tag_request = 1,  // rank r -> 0: "one more chunk, please" (payload: unused 0)
  tag_grant = 2,    // 0 -> rank r: {begin, end}; begin == end: nothing more for you
  tag_stop = 3,     // rank r -> every other rank: {reason}: stop. A rank sends it at most
                    // once per call, and only if no stop reached it first.
};

// The messages of an item_stream (stream.cpp): variable-length bytes, the first one the
// kind. One tag per direction, so each direction is one ordered stream (MPI's
// non-overtaking rule): a stop is seen before the end, a result before the request after it.
enum stream_tag : int {
  tag_stream_down = 11,  // 0 -> r: 'G' grant {count, (index, length, bytes)...},
                         //         'S' stop {code}, 'E' end (the last message 0 sends r)
  tag_stream_up = 12,    // r -> 0: 'R' request {wanted}, 'C' completed {count, (index,
                         //         length, bytes)...}, 'X' dropped {count}, 'S' stop {code},
                         //         'B' bye (the last message r sends 0)
};

// Why a call stops, as bits: a rank may have seen several.
enum reason : std::uint64_t {
  reason_failure = 1,    // an item failed under cancel_siblings
  reason_timeout = 2,    // the deadline passed on some rank
  reason_cancelled = 4,  // the calling task was cancelled, or an item threw task_cancelled
};

// What each rank tells every other one at the start of a call (the arguments, to catch a
// rank that passed different ones) and at its end (how it ended, what it will send).
struct call_arguments {
  std::uint64_t n, chunk, policy, timeout_ns, workers;
};
struct call_summary {
  std::uint64_t reasons;        // reason bits this rank raised itself
  std::uint64_t failures;       // items that failed on this rank
  std::uint64_t failure_bytes;  // their serialised size
  std::uint64_t chunks;         // chunks this rank ran
  std::uint64_t result_bytes;   // their packed results
  std::uint64_t sent_stop;      // this rank sent tag_stop to every other rank
};

}  // namespace cohort::mpi::detail
