// SPDX-License-Identifier: Apache-2.0
// Shared by every workload of cohort_bench: which worker counts to run, how a benchmark
// is named and registered, result checks, and the peers' pool setup.
//
// Names are machine-parseable: <workload>/<impl>/workers:<N>, e.g. fib35/tbb/workers:2.
// Google Benchmark appends its own suffixes (/min_time:..., /real_time, /manual_time,
// /iterations:...); tools/compare.py finds the `workers:` component and ignores the rest.
//
// Impl names: `serial` (the baseline, workers:1 only), `cohort` (what a user would
// naturally write with cohort), `cohort_<variant>` (another cohort API for the same job),
// `tbb` / `tbb_<variant>` (oneTBB) and `omp` (OpenMP tasks or worksharing).
//
// Fairness of "N workers": cohort runs N pool threads while the benchmark thread blocks;
// oneTBB runs in a task_arena of N slots, one of them the benchmark thread (execute) or,
// for work submitted from outside (enqueue), N worker slots; OpenMP runs a team of N.
#pragma once

#include <benchmark/benchmark.h>

#include <omp.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace bench {

// 1 and 2, then powers of two up to hardware_concurrency() on bigger machines.
inline std::vector<int> worker_counts() {
  const int hw = static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
  std::vector<int> counts{1, 2};
  for (int n = 4; n <= hw; n *= 2) counts.push_back(n);
  return counts;
}

struct run_options {
  benchmark::TimeUnit unit = benchmark::kMillisecond;
  // Seconds each repetition runs at least (0: Google Benchmark's default, 0.5 s). An
  // iteration longer than this runs once per repetition.
  double min_time = 0.2;
  std::int64_t iterations = 0;  // a fixed count instead of min_time
  bool manual_time = false;     // the body reports each iteration with SetIterationTime
};

using body_fn = std::function<void(benchmark::State&, int workers)>;

// Registers <workload>/<impl>/workers:<N> for every worker count (the serial baseline:
// workers:1 only). Benchmarks run in registration order, so each file registers one
// workload's implementations next to each other.
inline void add(std::string_view workload, std::string_view impl, const run_options& o,
                body_fn body) {
  const std::vector<int> counts = impl == "serial" ? std::vector<int>{1} : worker_counts();
  for (int n : counts) {
    const std::string name =
        std::string(workload) + "/" + std::string(impl) + "/workers:" + std::to_string(n);
    auto* b = benchmark::RegisterBenchmark(name.c_str(),
                                           [body, n](benchmark::State& st) { body(st, n); });
    b->Unit(o.unit);
    if (o.manual_time)
      b->UseManualTime();
    else
      b->UseRealTime();
    if (o.iterations > 0)
      b->Iterations(o.iterations);
    else if (o.min_time > 0)
      b->MinTime(o.min_time);
  }
}

// Marks the run failed when the result is wrong; the caller breaks out of its loop.
template <class T>
bool check(benchmark::State& st, const T& got, const T& want) {
  if (got == want) return true;
  const std::string msg =
      "wrong result: got " + std::to_string(got) + ", expected " + std::to_string(want);
  st.SkipWithError(msg.c_str());
  return false;
}

// oneTBB with exactly `workers` threads. The global_control raises the process-wide cap
// (by default hardware_concurrency(), which is too low for an arena whose N slots are all
// workers); the arena then decides how many take part.
struct tbb_pool {
  enum class caller { joins, stays_out };
  explicit tbb_pool(int workers, caller c = caller::joins)
      : limit(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(workers) + 1),
        arena(workers, c == caller::joins ? 1 : 0) {
    arena.initialize();
  }
  tbb::global_control limit;
  tbb::task_arena arena;
};

// Runs f() on one thread of an OpenMP team of `workers` threads (the usual
// parallel + single preamble for task-parallel code).
template <class F>
void omp_single(int workers, F&& f) {
  omp_set_num_threads(workers);
#pragma omp parallel
#pragma omp single
  f();
}

// Resident set size of this process, in MiB.
inline double rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

// User + system CPU time of the whole process (every thread), in milliseconds.
inline double process_cpu_ms() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto ms = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) * 1e3 + static_cast<double>(tv.tv_usec) / 1e3;
  };
  return ms(ru.ru_utime) + ms(ru.ru_stime);
}

// The value at quantile q (0..1) of the samples (nearest rank); sorts them.
inline double quantile(std::vector<double>& samples, double q) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const auto last = static_cast<double>(samples.size() - 1);
  return samples[static_cast<std::size_t>(q * last + 0.5)];
}

}  // namespace bench
