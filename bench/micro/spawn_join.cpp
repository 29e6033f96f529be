// SPDX-License-Identifier: Apache-2.0
// The cost of one fork and its join, with the measuring loop itself running on a worker
// (where recursive code forks): one empty child, joined, per iteration.
//
// cohort        gather of two trivial callables (the second runs inline)
// cohort_group  task_group: spawn one, join, get
// tbb           tbb::task_group: run one, wait
#include <cohort/cohort.hpp>

#include <oneapi/tbb/task_group.h>

#include "common.hpp"

namespace {

[[maybe_unused]] const bool registered = [] {
  const bench::run_options o{.unit = benchmark::kNanosecond, .min_time = 0.2};
  bench::add("spawn_join", "cohort", o, [](benchmark::State& st, int workers) {
    cohort::scheduler s({.workers = static_cast<std::size_t>(workers), .name = "micro"});
    cohort::gather(s, [&] {
      for (auto _ : st) {
        auto [a, b] = cohort::gather([] { return 1; }, [] { return 2; });
        benchmark::DoNotOptimize(a + b);
      }
    });
  });
  bench::add("spawn_join", "cohort_group", o, [](benchmark::State& st, int workers) {
    cohort::scheduler s({.workers = static_cast<std::size_t>(workers), .name = "micro"});
    cohort::gather(s, [&] {
      for (auto _ : st) {
        cohort::task_group g;
        auto t = g.spawn([] { return 1; });
        g.join();
        benchmark::DoNotOptimize(t.get());
      }
    });
  });
  bench::add("spawn_join", "tbb", o, [](benchmark::State& st, int workers) {
    bench::tbb_pool p(workers);
    p.arena.execute([&] {
      for (auto _ : st) {
        int r = 0;
        tbb::task_group g;
        g.run([&r] { r = 1; });
        g.wait();
        benchmark::DoNotOptimize(r);
      }
    });
  });
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
