// SPDX-License-Identifier: Apache-2.0
// A/B workload for bench/ab/run.sh: fib(32) via task_group, skynet 10^6 via task_group,
// fib(35) via gather, 10^6 children spawned from main (handles kept, one join); prints
// the median of 5 runs in ms. Usage: fib_skynet WORKERS f|s|g|m
#include <algorithm>
#include <chrono>
#include <cohort/cohort.hpp>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "workloads.hpp"
using clk = std::chrono::steady_clock;
int main(int argc, char** argv) {
  int workers = std::atoi(argv[1]);
  const char* what = argv[2];
  cohort::scheduler s({.workers = (std::size_t)workers});
  auto run = [&] {
    auto t0 = clk::now();
    long r = 0;
    if (what[0] == 'm') {
      std::vector<cohort::task<long>> t;
      t.reserve(1000000);
      cohort::task_group g(s);
      for (long i = 0; i < 1000000; ++i) t.push_back(g.spawn([i] { return i; }));
      g.join();
      r = t.back().get();
      return std::chrono::duration<double, std::milli>(clk::now() - t0).count();
    }
    cohort::gather(s, [&] {
      if (what[0] == 'f')
        r = fib_tg(32);
      else if (what[0] == 'g')
        r = fib_ga(35);
      else
        r = skynet_tg(0, 1000000);
    });
    if (r == 0) std::abort();
    return std::chrono::duration<double, std::milli>(clk::now() - t0).count();
  };
  run();
  std::vector<double> v;
  for (int i = 0; i < 5; ++i) v.push_back(run());
  std::sort(v.begin(), v.end());
  std::printf("%.1f\n", v[2]);
}
