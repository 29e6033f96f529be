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
// doubling while nothing does, up to `max` (which bounds how late a message is seen).
class backoff {
 public:
  static constexpr std::chrono::microseconds min{2};
  static constexpr std::chrono::microseconds max{1000};
  void reset() noexcept { current_ = min; }
  // The sleep to take now; the next one is twice as long (up to max).
  std::chrono::microseconds next() noexcept {
    const auto d = current_;
    current_ = current_ * 2 < max ? current_ * 2 : max;
    return d;
  }

 private:
  std::chrono::microseconds current_ = min;
};

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
