// SPDX-License-Identifier: Apache-2.0
// A program whose rank 1 dies (SIGKILL) in the middle of a cohort::mpi::for_each, for
// killed_rank.sh: the launcher must end the whole job, not leave rank 0 waiting for ever.
#include <cohort/mpi.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>

int main(int argc, char** argv) {
  cohort::mpi::environment env(argc, argv);
  cohort::mpi::for_each(100'000,
                        [](std::size_t i) {
                          std::this_thread::sleep_for(std::chrono::milliseconds(2));
                          if (cohort::mpi::rank() == 1 && i > 0) std::raise(SIGKILL);
                        },
                        {.chunk = 1});
  std::puts("killed_rank: for_each returned although a rank was killed");
  return 0;
}
