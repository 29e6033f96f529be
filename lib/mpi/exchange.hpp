// SPDX-License-Identifier: Apache-2.0
// Waiting for MPI requests without burning a core, and exchanging byte blobs of any size
// between all ranks.
#pragma once

#include <mpi.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace cohort::mpi::detail {

// The progress thread's sleep between polls: short right after something happened,
// doubling while nothing does, up to a cap that bounds how late a message is seen. Each
// wake-up costs the thread 20-60 us of CPU on a VM (measured: bench/mpi), so the cap
// while items run is 10 ms (~0.5% of a core; a stop then reaches every rank within ~10
// ms); 1 ms once the call is ending (a stop is spreading, or the final exchange).
class backoff {
 public:
  static constexpr std::chrono::microseconds min{2};
  static constexpr std::chrono::microseconds working_max{10'000};  // items run; nothing expected
  static constexpr std::chrono::microseconds ending_max{
      1'000};  // stopping, or in the final exchange
  void reset() noexcept { current_ = min; }
  // The sleep to take now; the next one is twice as long (up to `cap`).
  std::chrono::microseconds next(std::chrono::microseconds cap) noexcept {
    const auto d = current_ < cap ? current_ : cap;
    current_ = d * 2 < cap ? d * 2 : cap;
    return d;
  }

 private:
  std::chrono::microseconds current_ = min;
};

// One MPI progress call may not move a message that has arrived or been posted: Open MPI
// polls some transports only every few calls, MPICH advances a non-blocking collective a
// step per call (measured: a stop seen one poll interval late with one probe per wake-up;
// 5-byte exchange rounds 90x slower under MPICH). A wake-up costs far more than a few
// calls, so every poll makes up to progress_calls of them.
inline constexpr int progress_calls = 8;

// MPI_Test up to progress_calls times; true when the request completed.
bool test_a_few_times(MPI_Request& request);

// MPI_Test in a loop with backoff sleeps: a blocking MPI wait spins at 100% CPU in Open
// MPI and MPICH.
void wait_polling(MPI_Request& request);

// Most bytes one MPI_Iallgatherv moves in all (counts and displacements are int).
// Settable for tests, which exchange small blobs in many pieces.
std::size_t piece_limit() noexcept;
void set_piece_limit(std::size_t bytes) noexcept;

// Every rank contributes `mine` (its size is sizes[my rank]); every rank receives all
// contributions concatenated in rank order. sizes: every rank's byte count (the same on
// every rank). Sent in rounds of at most piece_limit() bytes, so any size works.
std::vector<std::byte> allgather_bytes(MPI_Comm comm, const std::vector<std::byte>& mine,
                                       const std::vector<std::uint64_t>& sizes);

}  // namespace cohort::mpi::detail
