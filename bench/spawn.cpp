// SPDX-License-Identifier: Apache-2.0
// spawn1m: 10^6 tiny children (each bumps a relaxed counter) spawned into one group,
// then joined: what a burst of spawns costs, and what the outstanding children weigh.
//
// cohort         from the benchmark thread (outside the pool), into a task_group, every
//                handle kept in a std::vector until after the join
// cohort_inpool  the same from a task running on the pool (spawns go to its own deque)
// tbb            tbb::task_group run() x 10^6 then wait(), inside arena.execute (the
//                benchmark thread is the arena's master); tbb has no handles
// omp            #pragma omp task x 10^6 inside parallel + single, then taskwait
//
// Counter rss_mb: VmRSS right after the last spawn (before the join) minus VmRSS just
// before the first, measured in an untimed pass before the timed iterations (which also
// warms the allocators, so the timed passes do not pay first-touch page faults).
// Before that baseline each library gives back what it caches (cohort's block reserve,
// oneTBB's allocator buffers) and malloc_trim(0) returns glibc's free heap, so memory
// kept from an earlier benchmark does not hide the growth.
#include <cohort/cohort.hpp>

#include <oneapi/tbb/scalable_allocator.h>
#include <oneapi/tbb/task_group.h>

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <vector>

#include "common.hpp"

namespace {

constexpr long children = 1'000'000;

struct rss_probe {
  double growth = 0;
  double base = 0;
  bool active = false;
  void before() {
    cohort::release_cached_memory();
    malloc_trim(0);
    scalable_allocation_command(TBBMALLOC_CLEAN_ALL_BUFFERS, nullptr);
    base = bench::rss_mib();
    active = true;
  }
  void after() {
    if (!active) return;
    growth = std::max(growth, bench::rss_mib() - base);
    active = false;
  }
};

// One untimed pass that measures the RSS growth, then the timed passes. `pass` runs
// 10^6 children (calling rss.after() after the last spawn) and returns how many ran.
template <class Pass>
void measure(benchmark::State& st, Pass&& pass) {
  rss_probe rss;
  rss.before();
  if (!bench::check(st, pass(rss), children)) return;
  for (auto _ : st) {
    if (!bench::check(st, pass(rss), children)) break;
  }
  st.counters["rss_mb"] = rss.growth;
  st.SetItemsProcessed(st.iterations() * children);
}

long spawn_all(cohort::task_group& g, rss_probe& rss) {
  std::atomic<long> ran{0};
  std::vector<cohort::task<void>> handles;
  handles.reserve(children);
  for (long i = 0; i < children; ++i)
    handles.push_back(g.spawn([&ran] { ran.fetch_add(1, std::memory_order_relaxed); }));
  rss.after();
  g.join();
  return ran.load();
}

[[maybe_unused]] const bool registered = [] {
  const bench::run_options o{.min_time = 0.3};
  bench::add("spawn1m", "cohort", o, [](benchmark::State& st, int workers) {
    cohort::scheduler s({.workers = static_cast<std::size_t>(workers), .name = "bench"});
    measure(st, [&](rss_probe& rss) {
      cohort::task_group g(s);
      return spawn_all(g, rss);
    });
  });
  bench::add("spawn1m", "cohort_inpool", o, [](benchmark::State& st, int workers) {
    cohort::scheduler s({.workers = static_cast<std::size_t>(workers), .name = "bench"});
    measure(st, [&](rss_probe& rss) {
      auto [ran] = cohort::gather(s, [&] {
        cohort::task_group g;
        return spawn_all(g, rss);
      });
      return ran;
    });
  });
  bench::add("spawn1m", "tbb", o, [](benchmark::State& st, int workers) {
    bench::tbb_pool p(workers);
    measure(st, [&](rss_probe& rss) {
      std::atomic<long> ran{0};
      p.arena.execute([&] {
        tbb::task_group g;
        for (long i = 0; i < children; ++i)
          g.run([&ran] { ran.fetch_add(1, std::memory_order_relaxed); });
        rss.after();
        g.wait();
      });
      return ran.load();
    });
  });
  bench::add("spawn1m", "omp", o, [](benchmark::State& st, int workers) {
    measure(st, [&](rss_probe& rss) {
      std::atomic<long> ran{0};
      bench::omp_single(workers, [&] {
        for (long i = 0; i < children; ++i) {
#pragma omp task shared(ran)
          ran.fetch_add(1, std::memory_order_relaxed);
        }
        rss.after();
#pragma omp taskwait
      });
      return ran.load();
    });
  });
  return true;
}();

}  // namespace
