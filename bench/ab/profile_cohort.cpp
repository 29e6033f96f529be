// SPDX-License-Identifier: Apache-2.0
// Instruction-count profile of spawn+join via cohort task_group: fib(n) (one group per level) or
// skynet(n leaves, 10 spawns per node), run once. Usage: PROG WORKERS f|s N. Under
// callgrind the counts repeat on a noisy machine:
//   valgrind --tool=callgrind PROG 1 f 25; valgrind --tool=callgrind PROG 1 s 100000
// Build: see bench/ab/README.md.
#include <cohort/cohort.hpp>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "workloads.hpp"
int main(int argc, char** argv) {
  int workers = std::atoi(argv[1]);
  const char* what = argv[2];
  long n = std::atol(argv[3]);
  cohort::scheduler s({.workers = (std::size_t)workers});
  long r = 0;
  cohort::gather(s, [&] { r = what[0] == 'f' ? fib_tg(n) : skynet_tg(0, n); });
  auto st = s.stats();
  unsigned long stolen = 0, parks = 0, inj = 0, run = 0;
  for (auto& w : st.workers) {
    stolen += w.tasks_stolen;
    parks += w.parks;
    inj += w.injected_taken;
    run += w.tasks_run;
  }
  std::printf("%ld run=%lu stolen=%lu parks=%lu injected_taken=%lu spares=%lu\n", r, run, stolen,
              parks, inj, (unsigned long)st.spare_threads);
}
