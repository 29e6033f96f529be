// SPDX-License-Identifier: Apache-2.0
// Under MPI_THREAD_FUNNELED only the thread that initialised MPI may call it: a cohort::mpi
// collective from any other thread is a std::logic_error saying so (and costs the other
// ranks nothing: the check is local, before any communication). From main it works.
#include <cohort/mpi.hpp>

#include <gtest/gtest.h>
#include <mpi.h>

#include <string>
#include <thread>

namespace mpi = cohort::mpi;

TEST(MpiFunneled, ACollectiveFromAnotherThreadIsALogicErrorSayingSo) {
  int level = 0;
  MPI_Query_thread(&level);
  if (level != MPI_THREAD_FUNNELED) GTEST_SKIP() << "MPI did not grant MPI_THREAD_FUNNELED";
  std::string message;
  std::thread other([&] {
    try {
      mpi::for_each(10, [](std::size_t) {});
    } catch (const std::logic_error& e) {
      message = e.what();
    }
  });
  other.join();
  EXPECT_NE(message.find("MPI_THREAD_FUNNELED"), std::string::npos) << message;
  EXPECT_EQ(mpi::rank() >= 0, true);  // cached: also fine from other threads
}

TEST(MpiFunneled, TheMainThreadDrivesTheCallWhileWorkersRunTheItems) {
  const auto got = mpi::gather(2000, [](std::size_t i) { return i + 1; });
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], i + 1);
}

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int result = 0;
  {
    mpi::environment env(argc, argv);  // MPI is initialised: it only checks the level
    ::testing::InitGoogleTest(&argc, argv);
    int failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
    MPI_Allreduce(&failed, &result, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  }
  MPI_Finalize();
  return result;
}
