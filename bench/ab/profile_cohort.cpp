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
long fib_tg(int n) {
  if (n < 2) return n;
  cohort::task_group g;
  auto a = g.spawn([n] { return fib_tg(n - 1); });
  long b = fib_tg(n - 2);
  g.join();
  return a.get() + b;
}
long skynet_tg(long num, long size) {
  if (size == 1) return num;
  cohort::task_group g;
  std::vector<cohort::task<long>> t;
  t.reserve(10);
  for (long i = 0; i < 10; ++i)
    t.push_back(g.spawn([=] { return skynet_tg(num + i * (size / 10), size / 10); }));
  g.join();
  long s = 0;
  for (auto& x : t) s += x.get();
  return s;
}
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
