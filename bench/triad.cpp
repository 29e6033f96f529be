// SPDX-License-Identifier: Apache-2.0
// triad: STREAM's a[i] = b[i] + k * c[i] over 2^24 doubles (3 x 128 MiB): bound by memory
// bandwidth, so every scheduler should land near the same time. It shows where the
// scheduler does not matter, and what a per-element call costs when it is all there is.
// bytes_per_second counts 24 bytes per element (STREAM's convention).
//
// cohort          cohort::gather(s, iota(0, n), fn) with fn(i) writing a[i] (void result)
// cohort_chunked  gather over 256 chunks, each a plain loop the compiler vectorizes
// tbb             tbb::parallel_for over a blocked_range
// omp             #pragma omp parallel for schedule(static)
#include <cohort/cohort.hpp>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>

#include <cmath>
#include <cstddef>
#include <ranges>
#include <vector>

#include "common.hpp"

namespace {

constexpr std::size_t n = std::size_t{1} << 24;
constexpr int chunks = 256;
constexpr double k = 3.0;

struct arrays {
  std::vector<double> a, b, c;
  arrays() : a(n), b(n), c(n) {
    for (std::size_t i = 0; i < n; ++i) {
      b[i] = static_cast<double>(i % 1024);
      c[i] = 0.5 * static_cast<double>(i % 512);
    }
  }
  void clear_a() { std::fill(a.begin(), a.end(), NAN); }
  void triad(std::size_t lo, std::size_t hi) {
    double* __restrict pa = a.data();
    const double* __restrict pb = b.data();
    const double* __restrict pc = c.data();
    for (std::size_t i = lo; i < hi; ++i) pa[i] = pb[i] + k * pc[i];
  }
  bool ok() const {
    for (std::size_t i = 0; i < n; ++i)
      if (a[i] != b[i] + k * c[i]) return false;
    return true;
  }
};

// One set for the whole process: allocating and touching 384 MiB per run would dominate.
arrays& data() {
  static arrays d;
  return d;
}

// Runs the loop, checks a, reports bandwidth.
template <class Triad>
void measure(benchmark::State& st, Triad&& triad) {
  arrays& d = data();
  d.clear_a();
  for (auto _ : st) triad(d);
  if (!d.ok()) st.SkipWithError("wrong result: a[i] != b[i] + k * c[i]");
  st.SetBytesProcessed(st.iterations() * static_cast<std::int64_t>(3 * sizeof(double) * n));
}

std::size_t chunk_begin(int i) {
  return n / chunks * static_cast<std::size_t>(i);
}

[[maybe_unused]] const bool registered = [] {
  const bench::run_options o{.min_time = 0.3};
  bench::add("triad", "serial", o,
             [](benchmark::State& st, int) { measure(st, [](arrays& d) { d.triad(0, n); }); });
  bench::add("triad", "cohort", o, [](benchmark::State& st, int workers) {
    cohort::scheduler s({.workers = static_cast<std::size_t>(workers), .name = "bench"});
    measure(st, [&](arrays& d) {
      cohort::gather(s, std::views::iota(std::size_t{0}, n),
                     [&](std::size_t i) { d.a[i] = d.b[i] + k * d.c[i]; });
    });
  });
  bench::add("triad", "cohort_chunked", o, [](benchmark::State& st, int workers) {
    cohort::scheduler s({.workers = static_cast<std::size_t>(workers), .name = "bench"});
    measure(st, [&](arrays& d) {
      cohort::gather(s, std::views::iota(0, chunks),
                     [&](int i) { d.triad(chunk_begin(i), chunk_begin(i + 1)); });
    });
  });
  bench::add("triad", "tbb", o, [](benchmark::State& st, int workers) {
    bench::tbb_pool p(workers);
    measure(st, [&](arrays& d) {
      p.arena.execute([&] {
        tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n),
                          [&](const auto& r) { d.triad(r.begin(), r.end()); });
      });
    });
  });
  bench::add("triad", "omp", o, [](benchmark::State& st, int workers) {
    measure(st, [&](arrays& d) {
      double* __restrict pa = d.a.data();
      const double* __restrict pb = d.b.data();
      const double* __restrict pc = d.c.data();
      omp_set_num_threads(workers);
#pragma omp parallel for schedule(static)
      for (std::size_t i = 0; i < n; ++i) pa[i] = pb[i] + k * pc[i];
    });
  });
  return true;
}();

}  // namespace
