// SPDX-License-Identifier: Apache-2.0
// wait_polling and allgather_bytes (see exchange.hpp).
#include "exchange.hpp"

#include "runtime.hpp"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>
#include <thread>

namespace cohort::mpi::detail {
namespace {
// Relaxed: a test sets it before any collective, on the thread that makes them.
std::atomic<std::size_t> configured_piece_limit{std::size_t(1) << 30};
}  // namespace

std::size_t piece_limit() noexcept {
  return configured_piece_limit.load(std::memory_order_relaxed);
}
void set_piece_limit(std::size_t bytes) noexcept {
  configured_piece_limit.store(std::clamp<std::size_t>(bytes, 1, INT_MAX),
                               std::memory_order_relaxed);
}

bool test_a_few_times(MPI_Request& request) {
  int done = 0;
  for (int k = 0; k < progress_calls && !done; ++k)
    check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
  return done != 0;
}

void wait_polling(MPI_Request& request) {
  backoff pause;
  for (;;) {
    if (test_a_few_times(request)) return;
    std::this_thread::sleep_for(pause.next(backoff::ending_max));
  }
}

std::vector<std::byte> allgather_bytes(MPI_Comm comm, const std::vector<std::byte>& mine,
                                       const std::vector<std::uint64_t>& sizes) {
  const int ranks = static_cast<int>(sizes.size());
  int me = 0;
  check(MPI_Comm_rank(comm, &me), "MPI_Comm_rank");
  std::vector<std::uint64_t> offset(sizes.size() + 1, 0);
  for (int r = 0; r < ranks; ++r) offset[r + 1] = offset[r] + sizes[r];
  std::vector<std::byte> all(offset.back());
  if (all.empty()) return all;

  // Each round, each rank sends at most `share` bytes, so one round's receive buffer (the
  // sum of all counts, and every displacement) stays within piece_limit() <= INT_MAX.
  const std::uint64_t share = std::max<std::uint64_t>(1, piece_limit() / sizes.size());
  const std::uint64_t largest = *std::max_element(sizes.begin(), sizes.end());
  const std::uint64_t rounds = (largest + share - 1) / share;
  std::vector<int> counts(sizes.size()), displs(sizes.size());
  std::vector<std::byte> round_buffer;
  for (std::uint64_t round = 0; round < rounds; ++round) {
    const std::uint64_t start = round * share;
    int total = 0;
    for (int r = 0; r < ranks; ++r) {
      const std::uint64_t left = sizes[r] > start ? sizes[r] - start : 0;
      counts[r] = static_cast<int>(std::min(left, share));
      displs[r] = total;
      total += counts[r];
    }
    round_buffer.resize(static_cast<std::size_t>(total));
    MPI_Request request;
    // The send buffer is not modified by MPI, but MPI-2 signatures take it as non-const.
    void* send = counts[me] > 0 ? const_cast<std::byte*>(mine.data() + start) : nullptr;
    check(MPI_Iallgatherv(send, counts[me], MPI_BYTE, round_buffer.data(), counts.data(),
                          displs.data(), MPI_BYTE, comm, &request),
          "MPI_Iallgatherv");
    wait_polling(request);
    for (int r = 0; r < ranks; ++r)
      if (counts[r] > 0)
        std::memcpy(all.data() + offset[r] + start, round_buffer.data() + displs[r],
                    static_cast<std::size_t>(counts[r]));
  }
  return all;
}

}  // namespace cohort::mpi::detail
