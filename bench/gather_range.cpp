// SPDX-License-Identifier: Apache-2.0
// gather_range: 10^6 ordered results from a vector of inputs, each computed by a degree-16
// polynomial (32 flops: real work, not only memory traffic). Every implementation
// produces a fresh std::vector<double> of the results per iteration, so the allocation
// of the output is part of the cost everywhere.
//
// cohort   std::vector<double> out = cohort::gather(s, inputs, fn)
// tbb      tbb::parallel_for over a blocked_range writing into a pre-sized vector
// omp      #pragma omp parallel for writing into a pre-sized vector
// serial   a loop writing into a pre-sized vector
#include <cohort/cohort.hpp>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>

#include <cstddef>
#include <vector>

#include "common.hpp"

namespace {

constexpr std::size_t count = 1'000'000;

double poly(double x) {
  double y = 1.0;
  for (int k = 1; k <= 16; ++k) y = y * x + 1.0 / k;
  return y;
}

const std::vector<double>& inputs() {
  static const std::vector<double> in = [] {
    std::vector<double> v(count);
    for (std::size_t i = 0; i < count; ++i) v[i] = static_cast<double>(i % 1000) * 1e-3;
    return v;
  }();
  return in;
}

const std::vector<double>& expected() {
  static const std::vector<double> out = [] {
    std::vector<double> v(count);
    for (std::size_t i = 0; i < count; ++i) v[i] = poly(inputs()[i]);
    return v;
  }();
  return out;
}

// Runs the loop (each iteration builds a fresh vector of results), then checks the last
// vector outside the timed region.
template <class Compute>
void measure(benchmark::State& st, Compute&& compute) {
  const auto& want = expected();
  std::vector<double> out;
  for (auto _ : st) {
    out = compute(inputs());
    benchmark::DoNotOptimize(out.data());
  }
  if (out != want)
    st.SkipWithError("wrong result: the gathered vector differs from the serial one");
  st.SetItemsProcessed(st.iterations() * static_cast<std::int64_t>(count));
}

[[maybe_unused]] const bool registered = [] {
  const bench::run_options o{.min_time = 0.2};
  bench::add("gather_range", "serial", o, [](benchmark::State& st, int) {
    measure(st, [](const std::vector<double>& in) {
      std::vector<double> out(count);
      for (std::size_t i = 0; i < count; ++i) out[i] = poly(in[i]);
      return out;
    });
  });
  bench::add("gather_range", "cohort", o, [](benchmark::State& st, int workers) {
    cohort::scheduler s({.workers = static_cast<std::size_t>(workers), .name = "bench"});
    measure(st, [&](const std::vector<double>& in) {
      return cohort::gather(s, in, [](double x) { return poly(x); });
    });
  });
  bench::add("gather_range", "tbb", o, [](benchmark::State& st, int workers) {
    bench::tbb_pool p(workers);
    measure(st, [&](const std::vector<double>& in) {
      std::vector<double> out(count);
      p.arena.execute([&] {
        tbb::parallel_for(tbb::blocked_range<std::size_t>(0, count), [&](const auto& r) {
          for (std::size_t i = r.begin(); i != r.end(); ++i) out[i] = poly(in[i]);
        });
      });
      return out;
    });
  });
  bench::add("gather_range", "omp", o, [](benchmark::State& st, int workers) {
    measure(st, [&](const std::vector<double>& in) {
      std::vector<double> out(count);
      omp_set_num_threads(workers);
#pragma omp parallel for schedule(static)
      for (std::size_t i = 0; i < count; ++i) out[i] = poly(in[i]);
      return out;
    });
  });
  return true;
}();

}  // namespace
