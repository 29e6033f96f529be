// SPDX-License-Identifier: Apache-2.0
// fib(n) with no cutoff: one task per call, almost no work per task, so this measures
// the cost of a fork and a join. n = 30 (1.6 million calls) and n = 35 (30 million).
//
// cohort        gather of the two recursive calls: the allocation-free fork-join path
// cohort_group  task_group: spawn one half, compute the other, join (vs tbb::task_group)
// tbb           tbb::task_group: run one half, compute the other, wait
// omp           #pragma omp task + taskwait
#include <cohort/cohort.hpp>

#include <oneapi/tbb/task_group.h>

#include "common.hpp"

namespace {

long fib_serial(int n) {
  return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2);
}

long fib_cohort(int n) {
  if (n < 2) return n;
  auto [a, b] =
      cohort::gather([&] { return fib_cohort(n - 1); }, [&] { return fib_cohort(n - 2); });
  return a + b;
}

long fib_cohort_group(int n) {
  if (n < 2) return n;
  cohort::task_group g;
  auto a = g.spawn([n] { return fib_cohort_group(n - 1); });
  const long b = fib_cohort_group(n - 2);
  g.join();
  return a.get() + b;
}

long fib_tbb(int n) {
  if (n < 2) return n;
  long a = 0;
  tbb::task_group g;
  g.run([&] { a = fib_tbb(n - 1); });
  const long b = fib_tbb(n - 2);
  g.wait();
  return a + b;
}

long fib_omp(int n) {
  if (n < 2) return n;
  long a = 0;
#pragma omp task shared(a) firstprivate(n)
  a = fib_omp(n - 1);
  const long b = fib_omp(n - 2);
#pragma omp taskwait
  return a + b;
}

void register_fib(int n, const bench::run_options& o) {
  const std::string w = "fib" + std::to_string(n);
  const long want = fib_serial(n);

  bench::add(w, "serial", o, [=](benchmark::State& st, int) {
    for (auto _ : st) {
      const long r = fib_serial(n);
      if (!bench::check(st, r, want)) break;
    }
  });
  bench::add(w, "cohort", o, [=](benchmark::State& st, int workers) {
    cohort::scheduler s({.workers = static_cast<std::size_t>(workers), .name = "bench"});
    for (auto _ : st) {
      auto [r] = cohort::gather(s, [=] { return fib_cohort(n); });
      if (!bench::check(st, r, want)) break;
    }
  });
  bench::add(w, "cohort_group", o, [=](benchmark::State& st, int workers) {
    cohort::scheduler s({.workers = static_cast<std::size_t>(workers), .name = "bench"});
    for (auto _ : st) {
      auto [r] = cohort::gather(s, [=] { return fib_cohort_group(n); });
      if (!bench::check(st, r, want)) break;
    }
  });
  bench::add(w, "tbb", o, [=](benchmark::State& st, int workers) {
    bench::tbb_pool p(workers);
    for (auto _ : st) {
      long r = 0;
      p.arena.execute([&] { r = fib_tbb(n); });
      if (!bench::check(st, r, want)) break;
    }
  });
  bench::add(w, "omp", o, [=](benchmark::State& st, int workers) {
    for (auto _ : st) {
      long r = 0;
      bench::omp_single(workers, [&] { r = fib_omp(n); });
      if (!bench::check(st, r, want)) break;
    }
  });
}

[[maybe_unused]] const bool registered = [] {
  register_fib(30, {.min_time = 0.2});
  register_fib(35, {.min_time = 0.5});
  return true;
}();

}  // namespace
