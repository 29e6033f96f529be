// SPDX-License-Identifier: Apache-2.0
// Instruction-count profile of the parallel algorithms, cohort and oneTBB side by side, the
// same calls as bench/algorithms_loops.cpp and bench/algorithms_numeric.cpp on smaller
// inputs. Usage: PROG WORKERS WORKLOAD [N] [CALLS]
//   WORKLOAD: sort_cohort sort_tbb sort_std | triad_cohort triad_chunk triad_tbb |
//             small_cohort small_tbb (CALLS x 100 loops of N elements) |
//             reduce_cohort reduce_tbb
// Under callgrind (1 worker) the counts repeat on a noisy machine; with `time` and 2
// workers it is a wall-clock A/B driver (bench/ab/algorithms_ab.sh). Build:
//   g++ -std=c++20 -O3 -DNDEBUG -g -Iinclude -Ibuild/bench/include \
//       bench/ab/algorithms_profile.cpp build/bench/libcohort.a -ltbb -lpthread -o /tmp/algos
//   valgrind --tool=callgrind /tmp/algos 1 sort_cohort 1000000
#include <cohort/cohort.hpp>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_reduce.h>
#include <oneapi/tbb/parallel_sort.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace {

struct tbb_pool {
  explicit tbb_pool(int workers)
      : limit(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(workers) + 1),
        arena(workers, 1) {
    arena.initialize();
  }
  tbb::global_control limit;
  tbb::task_arena arena;
};

std::vector<int> random_ints(std::size_t n) {
  std::vector<int> x(n);
  std::mt19937 rng(2024);
  for (auto& e : x) e = static_cast<int>(rng());
  return x;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s WORKERS WORKLOAD [N] [CALLS]\n", argv[0]);
    return 2;
  }
  const int workers = std::atoi(argv[1]);
  const std::string what = argv[2];
  const std::size_t n = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 1'000'000;
  const int calls = argc > 4 ? std::atoi(argv[4]) : 3;
  const bool use_tbb = what.ends_with("_tbb");
  std::optional<cohort::scheduler> s;
  std::optional<tbb_pool> p;
  if (use_tbb)
    p.emplace(workers);
  else
    s.emplace(cohort::scheduler_options{.workers = static_cast<std::size_t>(workers)});
  double check = 0;
  // Set after each workload's input is built: only the calls are timed.
  auto start = std::chrono::steady_clock::now();

  if (what.starts_with("sort_")) {
    const std::vector<int> input = random_ints(n);
    std::vector<int> v;
    start = std::chrono::steady_clock::now();
    for (int c = 0; c < calls; ++c) {
      v = input;
      if (what == "sort_cohort")
        cohort::sort(*s, v);
      else if (what == "sort_tbb")
        p->arena.execute([&] { tbb::parallel_sort(v.begin(), v.end()); });
      else
        std::sort(v.begin(), v.end());
    }
    check = std::is_sorted(v.begin(), v.end()) ? 1 : 0;
  } else if (what.starts_with("triad_")) {
    std::vector<double> a(n), b(n), c(n);
    for (std::size_t i = 0; i < n; ++i) {
      b[i] = static_cast<double>(i % 1024);
      c[i] = 0.5 * static_cast<double>(i % 512);
    }
    double* __restrict pa = a.data();
    const double* __restrict pb = b.data();
    const double* __restrict pc = c.data();
    auto run = [&](std::size_t lo, std::size_t hi) {
      double* __restrict qa = a.data();
      const double* __restrict qb = b.data();
      const double* __restrict qc = c.data();
      for (std::size_t i = lo; i < hi; ++i) qa[i] = qb[i] + 3.0 * qc[i];
    };
    start = std::chrono::steady_clock::now();
    for (int k = 0; k < calls; ++k) {
      if (what == "triad_cohort")
        cohort::for_each_index(*s, std::size_t{0}, n,
                               [=](std::size_t i) { pa[i] = pb[i] + 3.0 * pc[i]; });
      else if (what == "triad_chunk")
        cohort::for_each_chunk(*s, std::size_t{0}, n,
                               [&](std::size_t lo, std::size_t hi) { run(lo, hi); });
      else
        p->arena.execute([&] {
          tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n),
                            [&](const auto& r) { run(r.begin(), r.end()); });
        });
    }
    check = a[n / 3];
  } else if (what.starts_with("small_")) {
    std::vector<double> x(n), y(n);
    for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<double>(i);
    auto element = [&](std::size_t i) { y[i] = std::sqrt(x[i]) + y[i]; };
    start = std::chrono::steady_clock::now();
    for (int k = 0; k < calls; ++k) {
      if (what == "small_cohort")
        cohort::gather(*s, [&] {
          for (int l = 0; l < 100; ++l) cohort::for_each_index(std::size_t{0}, n, element);
        });
      else
        p->arena.execute([&] {
          for (int l = 0; l < 100; ++l)
            tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n), [&](const auto& r) {
              for (std::size_t i = r.begin(); i != r.end(); ++i) element(i);
            });
        });
    }
    check = y[n / 2];
  } else if (what.starts_with("reduce_")) {
    std::vector<double> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<double>(i % 1000);
    start = std::chrono::steady_clock::now();
    for (int k = 0; k < calls; ++k) {
      if (what == "reduce_cohort")
        check += cohort::reduce(*s, v, 0.0, std::plus<>{});
      else
        p->arena.execute([&] {
          check += tbb::parallel_reduce(
              tbb::blocked_range<std::size_t>(0, v.size()), 0.0,
              [&](const auto& r, double acc) {
                for (std::size_t i = r.begin(); i != r.end(); ++i) acc += v[i];
                return acc;
              },
              std::plus<>{});
        });
    }
  } else {
    std::fprintf(stderr, "unknown workload %s\n", what.c_str());
    return 2;
  }
  const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
  std::printf("%s workers=%d n=%zu calls=%d check=%g", what.c_str(), workers, n, calls, check);
  if (s) {  // zeros unless the library was built with COHORT_COUNTERS=ON
    const cohort::scheduler_stats st = s->stats();
    std::printf(" spawned=%llu stolen=%llu failed_steals=%llu parks=%llu",
                static_cast<unsigned long long>(st.total.tasks_spawned),
                static_cast<unsigned long long>(st.total.tasks_stolen),
                static_cast<unsigned long long>(st.total.steal_attempts_failed),
                static_cast<unsigned long long>(st.total.parks));
  }
  std::printf(" %.3f ms\n", took.count());
}
