// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the MPI tests: clocks comparable across the ranks of one machine, and
// small all-rank reductions (on MPI_COMM_WORLD, from the main thread, between collectives).
#pragma once

#include <mpi.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <thread>
#include <vector>

namespace cohort_mpi_test {

// steady_clock is CLOCK_MONOTONIC: one clock for every process of one machine, which is
// where these tests run (mpirun on localhost).
inline std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline std::int64_t all_min(std::int64_t v) {
  std::int64_t r = 0;
  MPI_Allreduce(&v, &r, 1, MPI_INT64_T, MPI_MIN, MPI_COMM_WORLD);
  return r;
}
inline std::int64_t all_max(std::int64_t v) {
  std::int64_t r = 0;
  MPI_Allreduce(&v, &r, 1, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD);
  return r;
}
inline std::int64_t all_sum(std::int64_t v) {
  std::int64_t r = 0;
  MPI_Allreduce(&v, &r, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  return r;
}
inline std::vector<std::int64_t> all_sum(std::vector<std::int64_t> v) {
  std::vector<std::int64_t> r(v.size());
  MPI_Allreduce(v.data(), r.data(), static_cast<int>(v.size()), MPI_INT64_T, MPI_SUM,
                MPI_COMM_WORLD);
  return r;
}

// An item that runs until its stop token is requested, for at most `limit`.
inline void run_until_stopped(const std::stop_token& stop, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!stop.stop_requested() && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::microseconds(500));
}

}  // namespace cohort_mpi_test

// More ranks than this machine has cores: timing bounds loosen (see the tests).
inline bool oversubscribed() {
  int ranks = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  return static_cast<unsigned>(ranks) > std::thread::hardware_concurrency();
}
