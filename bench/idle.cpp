// SPDX-License-Identifier: Apache-2.0
// idle: CPU burnt by a pool with nothing to do. After a short burst of work that wakes
// every worker, the process's CPU time (getrusage RUSAGE_SELF, user + system, all
// threads) is measured over 2 s of idleness, starting right when the work ends, so
// spinning before parking counts. Counter: cpu_ms_per_2s. The time column means nothing.
//
// The other libraries' threads live in the same process; each run first sleeps 200 ms so
// they settle (they park within microseconds to milliseconds after their last work).
#include <cohort/cohort.hpp>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>

#include <chrono>
#include <cmath>
#include <thread>
#include <vector>

#include "common.hpp"

namespace {

constexpr auto idle_for = std::chrono::seconds(2);
constexpr std::size_t burst = 1 << 20;

double work(std::size_t i) {
  return std::sqrt(static_cast<double>(i)) * 1.5;
}

// run_burst() returns the burst's results, checked before the idle time starts.
template <class Burst>
void measure(benchmark::State& st, Burst&& run_burst) {
  for (auto _ : st) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const std::vector<double>& out = run_burst();
    if (out.size() != burst || out[burst - 1] != work(burst - 1) ||
        out[burst / 3] != work(burst / 3)) {
      st.SkipWithError("wrong result from the burst of work");
      break;
    }
    const double before = bench::process_cpu_ms();
    std::this_thread::sleep_for(idle_for);
    st.counters["cpu_ms_per_2s"] = bench::process_cpu_ms() - before;
  }
}

[[maybe_unused]] const bool registered = [] {
  const bench::run_options o{.iterations = 1};
  bench::add("idle", "cohort", o, [](benchmark::State& st, int workers) {
    cohort::scheduler s({.workers = static_cast<std::size_t>(workers), .name = "bench"});
    std::vector<std::size_t> idx(burst);
    for (std::size_t i = 0; i < burst; ++i) idx[i] = i;
    std::vector<double> out;
    measure(st, [&]() -> const std::vector<double>& {
      out = cohort::gather(s, idx, work);
      return out;
    });
  });
  bench::add("idle", "tbb", o, [](benchmark::State& st, int workers) {
    bench::tbb_pool p(workers);
    std::vector<double> out(burst);
    measure(st, [&]() -> const std::vector<double>& {
      p.arena.execute([&] {
        tbb::parallel_for(tbb::blocked_range<std::size_t>(0, burst), [&](const auto& r) {
          for (std::size_t i = r.begin(); i != r.end(); ++i) out[i] = work(i);
        });
      });
      return out;
    });
  });
  bench::add("idle", "omp", o, [](benchmark::State& st, int workers) {
    std::vector<double> out(burst);
    measure(st, [&]() -> const std::vector<double>& {
      omp_set_num_threads(workers);
#pragma omp parallel for schedule(static)
      for (std::size_t i = 0; i < burst; ++i) out[i] = work(i);
      return out;
    });
  });
  return true;
}();

}  // namespace
