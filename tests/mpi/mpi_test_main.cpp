// SPDX-License-Identifier: Apache-2.0
// main() of the MPI test programs: every rank runs every test case in the same order (the
// collectives must match); rank 0 prints the usual GoogleTest output, the other ranks only
// their failures, prefixed with their rank. The exit status is non-zero on every rank if
// any rank failed.
#include <cohort/mpi.hpp>

#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdio>

namespace {

class failure_printer : public ::testing::EmptyTestEventListener {
 public:
  explicit failure_printer(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (r.failed())
      std::fprintf(stderr, "[rank %d] %s:%d: %s\n", rank_, r.file_name() ? r.file_name() : "?",
                   r.line_number(), r.message());
  }

 private:
  int rank_;
};

}  // namespace

int main(int argc, char** argv) {
  cohort::mpi::environment env(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  const int rank = cohort::mpi::rank();
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new failure_printer(rank));
  }
  int failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  int any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (rank == 0 && any && !failed)
    std::fprintf(stderr, "a test failed on another rank (see above)\n");
  return any;
}
