// SPDX-License-Identifier: Apache-2.0
// Reductions, scans and sorting: cohort's algorithms against the idiomatic oneTBB call.
//
// reduce_sum   sum of 10^7 doubles (small integers: every order gives the exact sum)
//                cohort                reduce(s, v, 0.0, std::plus<>{})
//                cohort_deterministic  the same with partition::deterministic
//                tbb                   parallel_reduce(blocked_range, 0.0, body, std::plus<>)
// scan         inclusive prefix sum of 10^7 doubles into a second vector
//                cohort   inclusive_scan(s, v, out.begin(), std::plus<>{})
//                tbb      parallel_scan(blocked_range, 0.0, scan body, std::plus<>)
// sort         10^7 random ints (a fresh copy per iteration, copied outside the timing)
//                cohort   cohort::sort(s, v)
//                tbb      tbb::parallel_sort
//                std_par  std::sort(std::execution::par, ...) (libstdc++'s PSTL on oneTBB)
#include <cohort/cohort.hpp>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_reduce.h>
#include <oneapi/tbb/parallel_scan.h>
#include <oneapi/tbb/parallel_sort.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <execution>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "common.hpp"

namespace {

constexpr std::size_t n = 10'000'000;

const std::vector<double>& numbers() {
  static const std::vector<double> v = [] {
    std::vector<double> x(n);
    for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<double>(i % 1000);
    return x;
  }();
  return v;
}

double expected_sum() {
  return static_cast<double>(n / 1000) * (999.0 * 1000.0 / 2.0);
}

template <class Sum>
void measure_reduce(benchmark::State& st, Sum&& sum) {
  numbers();  // built outside the timed loop
  double got = 0;
  // A volatile sink, not benchmark::DoNotOptimize(got): Debian's Google Benchmark 1.7
  // ("+m,r" asm constraint) handed back 0.0 for a double in this -O3 build.
  volatile double sink = 0;
  for (auto _ : st) {
    got = sum(numbers());
    sink = got;
  }
  (void)sink;
  if (got != expected_sum()) {
    const std::string msg = "wrong sum: " + std::to_string(got);
    st.SkipWithError(msg.c_str());
  }
  st.SetBytesProcessed(st.iterations() * static_cast<std::int64_t>(sizeof(double) * n));
}

template <class Scan>
void measure_scan(benchmark::State& st, Scan&& scan) {
  std::vector<double> out(n);
  numbers();
  for (auto _ : st) {
    scan(numbers(), out);
    benchmark::DoNotOptimize(out.data());
  }
  std::vector<double> want(n);
  std::inclusive_scan(numbers().begin(), numbers().end(), want.begin());
  if (out != want) st.SkipWithError("wrong prefix sums");
}

const std::vector<int>& unsorted() {
  static const std::vector<int> v = [] {
    std::vector<int> x(n);
    std::mt19937 rng(2024);
    for (auto& e : x) e = static_cast<int>(rng());
    return x;
  }();
  return v;
}

// Each iteration sorts a fresh copy; only the sort is timed (manual time).
template <class Sort>
void measure_sort(benchmark::State& st, Sort&& sort) {
  std::vector<int> v;
  for (auto _ : st) {
    v = unsorted();
    const auto start = std::chrono::steady_clock::now();
    sort(v);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    st.SetIterationTime(took.count());
  }
  if (!std::is_sorted(v.begin(), v.end())) st.SkipWithError("not sorted");
}

[[maybe_unused]] const bool registered = [] {
  const bench::run_options o{.min_time = 0.3};
  bench::add("reduce_sum", "serial", o, [](benchmark::State& st, int) {
    measure_reduce(st, [](const std::vector<double>& v) {
      double s = 0;
      for (double x : v) s += x;
      return s;
    });
  });
  bench::add("reduce_sum", "cohort", o, [](benchmark::State& st, int workers) {
    cohort::scheduler s({.workers = static_cast<std::size_t>(workers), .name = "bench"});
    measure_reduce(
        st, [&](const std::vector<double>& v) { return cohort::reduce(s, v, 0.0, std::plus<>{}); });
  });
  bench::add("reduce_sum", "cohort_deterministic", o, [](benchmark::State& st, int workers) {
    cohort::scheduler s({.workers = static_cast<std::size_t>(workers), .name = "bench"});
    cohort::loop_options det;
    det.split = cohort::partition::deterministic;
    measure_reduce(st, [&](const std::vector<double>& v) {
      return cohort::reduce(s, v, 0.0, std::plus<>{}, det);
    });
  });
  bench::add("reduce_sum", "tbb", o, [](benchmark::State& st, int workers) {
    bench::tbb_pool p(workers);
    measure_reduce(st, [&](const std::vector<double>& v) {
      double sum = 0;
      p.arena.execute([&] {
        sum = tbb::parallel_reduce(
            tbb::blocked_range<std::size_t>(0, v.size()), 0.0,
            [&](const auto& r, double acc) {
              for (std::size_t i = r.begin(); i != r.end(); ++i) acc += v[i];
              return acc;
            },
            std::plus<>{});
      });
      return sum;
    });
  });

  bench::add("scan", "serial", o, [](benchmark::State& st, int) {
    measure_scan(st, [](const std::vector<double>& v, std::vector<double>& out) {
      std::inclusive_scan(v.begin(), v.end(), out.begin());
    });
  });
  bench::add("scan", "cohort", o, [](benchmark::State& st, int workers) {
    cohort::scheduler s({.workers = static_cast<std::size_t>(workers), .name = "bench"});
    measure_scan(st, [&](const std::vector<double>& v, std::vector<double>& out) {
      cohort::inclusive_scan(s, v, out.begin(), std::plus<>{});
    });
  });
  bench::add("scan", "tbb", o, [](benchmark::State& st, int workers) {
    bench::tbb_pool p(workers);
    measure_scan(st, [&](const std::vector<double>& v, std::vector<double>& out) {
      p.arena.execute([&] {
        tbb::parallel_scan(
            tbb::blocked_range<std::size_t>(0, v.size()), 0.0,
            [&](const auto& r, double sum, bool is_final) {
              for (std::size_t i = r.begin(); i != r.end(); ++i) {
                sum += v[i];
                if (is_final) out[i] = sum;
              }
              return sum;
            },
            std::plus<>{});
      });
    });
  });

  const bench::run_options sort_o{.min_time = 0.5, .manual_time = true};
  bench::add("sort", "serial", sort_o, [](benchmark::State& st, int) {
    measure_sort(st, [](std::vector<int>& v) { std::sort(v.begin(), v.end()); });
  });
  bench::add("sort", "cohort", sort_o, [](benchmark::State& st, int workers) {
    cohort::scheduler s({.workers = static_cast<std::size_t>(workers), .name = "bench"});
    measure_sort(st, [&](std::vector<int>& v) { cohort::sort(s, v); });
  });
  bench::add("sort", "tbb", sort_o, [](benchmark::State& st, int workers) {
    bench::tbb_pool p(workers);
    measure_sort(st, [&](std::vector<int>& v) {
      p.arena.execute([&] { tbb::parallel_sort(v.begin(), v.end()); });
    });
  });
  bench::add("sort", "std_par", sort_o, [](benchmark::State& st, int workers) {
    bench::tbb_pool p(workers);  // libstdc++'s parallel algorithms run on oneTBB
    measure_sort(st, [&](std::vector<int>& v) {
      p.arena.execute([&] { std::sort(std::execution::par, v.begin(), v.end()); });
    });
  });
  return true;
}();

}  // namespace
