// SPDX-License-Identifier: Apache-2.0
// Instruction-count profile of children spawned oneTBB style, their handles discarded:
// from inside a task, N children into one group, one join, two passes. Usage: PROG
// WORKERS N. Under callgrind the counts repeat on a noisy machine:
//   valgrind --tool=callgrind PROG 1 100000
// Build: as profile_cohort.cpp (bench/ab/README.md).
#include <cohort/cohort.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s WORKERS N\n", argv[0]);
    return 255;
  }
  cohort::scheduler s({.workers = static_cast<std::size_t>(std::atoi(argv[1]))});
  const long n = std::atol(argv[2]);
  std::atomic<long> ran{0};
  cohort::gather(s, [&] {
    for (int pass = 0; pass < 2; ++pass) {
      cohort::task_group g;
      for (long i = 0; i < n; ++i) g.spawn([&ran] { ran.fetch_add(1, std::memory_order_relaxed); });
      g.join();
    }
  });
  std::printf("%ld\n", ran.load());
}
