// SPDX-License-Identifier: Apache-2.0
// The triad (a[i] = b[i] + 3 c[i], 10^7 doubles) at 2 workers outside Google Benchmark:
// cohort's for_each_index (default and static_split), for_each_chunk and oneTBB's
// parallel_for, interleaved, 3 rounds, each the median of 15 calls. It checks whether the
// benchmark's 2-worker gap (README) is the library's or the harness's. Build (one line):
//   g++ -std=c++20 -O2 -Iinclude -Ibuild/bench/include bench/ab/triad_2workers.cpp
//   build/bench/libcohort.a -ltbb -lpthread -o /tmp/triad2
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>
#include <algorithm>
#include <chrono>
#include <cohort/cohort.hpp>
#include <cstdio>
#include <vector>
constexpr std::size_t n = 10'000'000;
int main() {
  std::vector<double> a(n, 1), b(n, 2), c(n, 3);
  double* __restrict pa = a.data();
  const double* __restrict pb = b.data();
  const double* __restrict pc = c.data();
  cohort::scheduler s({.workers = 2});
  tbb::global_control gc(tbb::global_control::max_allowed_parallelism, 2);
  tbb::task_arena arena(2);
  auto time = [&](auto f) {
    std::vector<double> t;
    for (int r = 0; r < 15; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      f();
      t.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
  };
  for (int round = 0; round < 3; ++round) {
    double d = time([&] {
      cohort::for_each_index(s, std::size_t{0}, n,
                             [=](std::size_t i) { pa[i] = pb[i] + 3 * pc[i]; });
    });
    double st = time([&] {
      cohort::for_each_index(s, std::size_t{0}, n,
                             [=](std::size_t i) { pa[i] = pb[i] + 3 * pc[i]; },
                             {.split = cohort::partition::static_split});
    });
    double ch = time([&] {
      cohort::for_each_chunk(s, std::size_t{0}, n, [=](std::size_t lo, std::size_t hi) {
        for (std::size_t i = lo; i < hi; ++i) pa[i] = pb[i] + 3 * pc[i];
      });
    });
    double tb = time([&] {
      arena.execute([&] {
        tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n), [=](const auto& r) {
          for (std::size_t i = r.begin(); i < r.end(); ++i) pa[i] = pb[i] + 3 * pc[i];
        });
      });
    });
    auto st2 = s.stats();
    std::printf("default %.2f  static %.2f  chunk %.2f  tbb %.2f ms   (stolen so far %lu)\n", d, st,
                ch, tb, (unsigned long)st2.total.tasks_stolen);
  }
}
