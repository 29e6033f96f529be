// SPDX-License-Identifier: Apache-2.0
// The process-wide MPI state of cohort::mpi: its own communicator, the granted thread
// level, the cached rank and size, and the rule "one collective at a time, from a thread
// MPI allows at the granted level".
#pragma once

#include <mpi.h>

namespace cohort::mpi::detail {

// Held for the length of one collective call. The constructor checks that MPI is
// initialised (and not finalised), that the granted level lets this thread call MPI, and
// that no other cohort::mpi collective runs in this process; otherwise std::logic_error
// saying which. It duplicates MPI_COMM_WORLD on first use (every rank reaches its first
// collective at the same point, so the collective MPI_Comm_dup matches).
class collective_guard {
 public:
  explicit collective_guard(const char* what);
  ~collective_guard();
  collective_guard(const collective_guard&) = delete;
  collective_guard& operator=(const collective_guard&) = delete;

  MPI_Comm comm() const noexcept { return comm_; }
  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
};

// Throws std::runtime_error naming the MPI function and the error string.
void check(int mpi_status, const char* function);

}  // namespace cohort::mpi::detail
