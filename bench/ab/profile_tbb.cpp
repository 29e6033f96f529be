// SPDX-License-Identifier: Apache-2.0
// Instruction-count profile of spawn+join via tbb::task_group: fib(n) (one group per level) or
// skynet(n leaves, 10 spawns per node), run once. Usage: PROG WORKERS f|s N. Under
// callgrind the counts repeat on a noisy machine:
//   valgrind --tool=callgrind PROG 1 f 25; valgrind --tool=callgrind PROG 1 s 100000
// Build: see bench/ab/README.md.
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>
#include <cstdio>
#include <cstdlib>
#include <vector>
long fib_tg(int n) {
  if (n < 2) return n;
  tbb::task_group g;
  long a = 0;
  g.run([&] { a = fib_tg(n - 1); });
  long b = fib_tg(n - 2);
  g.wait();
  return a + b;
}
long skynet_tg(long num, long size) {
  if (size == 1) return num;
  tbb::task_group g;
  long r[10];
  for (long i = 0; i < 10; ++i)
    g.run([=, &r] { r[i] = skynet_tg(num + i * (size / 10), size / 10); });
  g.wait();
  long s = 0;
  for (long x : r) s += x;
  return s;
}
int main(int argc, char** argv) {
  int workers = std::atoi(argv[1]);
  const char* what = argv[2];
  long n = std::atol(argv[3]);
  tbb::global_control gc(tbb::global_control::max_allowed_parallelism, workers + 1);
  tbb::task_arena arena(workers, 1);
  long r = 0;
  arena.execute([&] { r = what[0] == 'f' ? fib_tg(n) : skynet_tg(0, n); });
  std::printf("%ld\n", r);
}
