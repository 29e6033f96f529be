// SPDX-License-Identifier: Apache-2.0
// skynet: a 10-ary tree of tasks, depth 6, whose 10^6 leaves return their own number;
// every inner task sums its ten children (1,111,111 tasks; the sum is 499999500000).
// Like fib, mostly scheduling, but ten children per join instead of two.
//
// cohort         task_group: ten spawns with their handles, join, sum the results
// cohort_gather  gather over the ten child indices (a range), sum the vector
// tbb            tbb::task_group: ten runs writing into an array, wait
// omp            ten #pragma omp task + taskwait
#include <cohort/cohort.hpp>

#include <oneapi/tbb/task_group.h>

#include <array>
#include <numeric>
#include <ranges>

#include "common.hpp"

namespace {

constexpr long leaves = 1'000'000;
constexpr int fanout = 10;
constexpr long expected = leaves * (leaves - 1) / 2;

long skynet_serial(long num, long size) {
  if (size == 1) return num;
  long sum = 0;
  for (int i = 0; i < fanout; ++i) sum += skynet_serial(num + i * (size / fanout), size / fanout);
  return sum;
}

long skynet_cohort(long num, long size) {
  if (size == 1) return num;
  cohort::task_group g;
  std::array<cohort::task<long>, fanout> children;
  for (int i = 0; i < fanout; ++i) {
    const long sub = size / fanout;
    children[i] = g.spawn([=] { return skynet_cohort(num + i * sub, sub); });
  }
  g.join();
  long sum = 0;
  for (auto& c : children) sum += c.get();
  return sum;
}

long skynet_cohort_gather(long num, long size) {
  if (size == 1) return num;
  const long sub = size / fanout;
  const std::vector<long> sums = cohort::gather(
      std::views::iota(0, fanout), [=](int i) { return skynet_cohort_gather(num + i * sub, sub); });
  return std::accumulate(sums.begin(), sums.end(), 0L);
}

long skynet_tbb(long num, long size) {
  if (size == 1) return num;
  std::array<long, fanout> sums{};
  tbb::task_group g;
  for (int i = 0; i < fanout; ++i) {
    g.run(
        [&sums, i, num, size] { sums[i] = skynet_tbb(num + i * (size / fanout), size / fanout); });
  }
  g.wait();
  return std::accumulate(sums.begin(), sums.end(), 0L);
}

long skynet_omp(long num, long size) {
  if (size == 1) return num;
  std::array<long, fanout> sums{};
  for (int i = 0; i < fanout; ++i) {
#pragma omp task shared(sums) firstprivate(i, num, size)
    sums[i] = skynet_omp(num + i * (size / fanout), size / fanout);
  }
#pragma omp taskwait
  return std::accumulate(sums.begin(), sums.end(), 0L);
}

[[maybe_unused]] const bool registered = [] {
  const bench::run_options o{.min_time = 0.3};
  bench::add("skynet", "serial", o, [](benchmark::State& st, int) {
    for (auto _ : st) {
      // Opaque, or the compiler folds the whole constant-size recursion away.
      long size = leaves;
      benchmark::DoNotOptimize(size);
      const long r = skynet_serial(0, size);
      if (!bench::check(st, r, expected)) break;
    }
  });
  bench::add("skynet", "cohort", o, [](benchmark::State& st, int workers) {
    cohort::scheduler s({.workers = static_cast<std::size_t>(workers), .name = "bench"});
    for (auto _ : st) {
      auto [r] = cohort::gather(s, [] { return skynet_cohort(0, leaves); });
      if (!bench::check(st, r, expected)) break;
    }
  });
  bench::add("skynet", "cohort_gather", o, [](benchmark::State& st, int workers) {
    cohort::scheduler s({.workers = static_cast<std::size_t>(workers), .name = "bench"});
    for (auto _ : st) {
      auto [r] = cohort::gather(s, [] { return skynet_cohort_gather(0, leaves); });
      if (!bench::check(st, r, expected)) break;
    }
  });
  bench::add("skynet", "tbb", o, [](benchmark::State& st, int workers) {
    bench::tbb_pool p(workers);
    for (auto _ : st) {
      long r = 0;
      p.arena.execute([&] { r = skynet_tbb(0, leaves); });
      if (!bench::check(st, r, expected)) break;
    }
  });
  bench::add("skynet", "omp", o, [](benchmark::State& st, int workers) {
    for (auto _ : st) {
      long r = 0;
      bench::omp_single(workers, [&] { r = skynet_omp(0, leaves); });
      if (!bench::check(st, r, expected)) break;
    }
  });
  return true;
}();

}  // namespace
