// SPDX-License-Identifier: Apache-2.0
// wake: latency from submitting one task to an idle pool (every worker parked after 5 ms
// without work) until that task starts running, measured by the task itself. Each
// iteration reports its latency as the iteration time (manual timing); the counters
// p50_us and p99_us are the median and 99th percentile over all iterations.
//
// cohort  scheduler::spawn_detached from the benchmark thread
// tbb     task_arena::enqueue into an arena of N worker slots
#include <cohort/cohort.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "common.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
constexpr auto idle_before = std::chrono::milliseconds(5);

// What the probe task writes; outlives every task that touches it.
struct probe {
  clock_type::time_point started;
  std::atomic<int> ran{0};
  void run() {
    started = clock_type::now();
    ran.store(1, std::memory_order_release);
    ran.notify_one();
  }
};

template <class Submit>
void measure(benchmark::State& st, probe& p, Submit&& submit) {
  std::vector<double> samples_us;
  samples_us.reserve(static_cast<std::size_t>(st.max_iterations));
  for (auto _ : st) {
    std::this_thread::sleep_for(idle_before);
    p.ran.store(0, std::memory_order_relaxed);
    const auto submitted = clock_type::now();
    submit();
    p.ran.wait(0, std::memory_order_acquire);
    const std::chrono::duration<double> latency = p.started - submitted;
    st.SetIterationTime(latency.count());
    samples_us.push_back(latency.count() * 1e6);
  }
  st.counters["p50_us"] = bench::quantile(samples_us, 0.50);
  st.counters["p99_us"] = bench::quantile(samples_us, 0.99);
}

[[maybe_unused]] const bool registered = [] {
  const bench::run_options o{
      .unit = benchmark::kMicrosecond, .iterations = 200, .manual_time = true};
  bench::add("wake", "cohort", o, [](benchmark::State& st, int workers) {
    probe p;
    cohort::scheduler s({.workers = static_cast<std::size_t>(workers), .name = "bench"});
    measure(st, p, [&] { s.spawn_detached([&p] { p.run(); }); });
  });
  bench::add("wake", "tbb", o, [](benchmark::State& st, int workers) {
    // An arena does not wait for its tasks when destroyed, and the probe task may still be
    // in notify_one after the submitter woke: the probe outlives the function.
    static probe p;
    bench::tbb_pool pool(workers, bench::tbb_pool::caller::stays_out);
    measure(st, p, [&] { pool.arena.enqueue([] { p.run(); }); });
  });
  return true;
}();

}  // namespace
