// SPDX-License-Identifier: Apache-2.0
// Parallel loops: cohort's for_each_index / for_each_chunk against tbb::parallel_for with
// its default auto_partitioner (the call a oneTBB user writes), no grain given to either.
//
// loop_triad       a[i] = b[i] + 3 c[i] over 10^7 doubles (memory bound)
//                    cohort        for_each_index(s, 0, n, f(i))
//                    cohort_chunk  for_each_chunk(s, 0, n, f(lo, hi)) with a plain inner loop
//                    tbb           parallel_for(blocked_range(0, n), body)
//                    omp           #pragma omp parallel for schedule(static)
// loop_small       100 loops of 10^4 elements each (y[i] = sqrt(x[i]) + y[i]), run
//                  back to back inside the pool (one pool entry / one arena.execute):
//                  what a loop costs when it is short
// loop_unbalanced  element i costs ~i (a dependent chain of i / 4 multiply-adds):
//                  the last quarter holds 44% of the work
#include <cohort/cohort.hpp>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>

#include <cmath>
#include <cstddef>
#include <vector>

#include "common.hpp"

namespace {

// ---- triad ---------------------------------------------------------------------------

constexpr std::size_t triad_n = 10'000'000;
constexpr double k = 3.0;

struct triad_arrays {
  std::vector<double> a, b, c;
  triad_arrays() : a(triad_n), b(triad_n), c(triad_n) {
    for (std::size_t i = 0; i < triad_n; ++i) {
      b[i] = static_cast<double>(i % 1024);
      c[i] = 0.5 * static_cast<double>(i % 512);
    }
  }
  void run(std::size_t lo, std::size_t hi) {
    double* __restrict pa = a.data();
    const double* __restrict pb = b.data();
    const double* __restrict pc = c.data();
    for (std::size_t i = lo; i < hi; ++i) pa[i] = pb[i] + k * pc[i];
  }
  bool ok() const {
    for (std::size_t i = 0; i < triad_n; ++i)
      if (a[i] != b[i] + k * c[i]) return false;
    return true;
  }
};

triad_arrays& triad_data() {
  static triad_arrays d;
  return d;
}

template <class Loop>
void measure_triad(benchmark::State& st, Loop&& loop) {
  triad_arrays& d = triad_data();
  std::fill(d.a.begin(), d.a.end(), NAN);
  for (auto _ : st) loop(d);
  if (!d.ok()) st.SkipWithError("wrong result: a[i] != b[i] + k * c[i]");
  st.SetBytesProcessed(st.iterations() * static_cast<std::int64_t>(3 * sizeof(double) * triad_n));
}

// ---- small loops -----------------------------------------------------------------------

constexpr std::size_t small_n = 10'000;
constexpr int small_loops = 100;

struct small_arrays {
  std::vector<double> x, y;
  small_arrays() : x(small_n), y(small_n) {
    for (std::size_t i = 0; i < small_n; ++i) x[i] = static_cast<double>(i);
  }
  void element(std::size_t i) { y[i] = std::sqrt(x[i]) + y[i]; }
  bool ok(double loops) const {
    for (std::size_t i = 0; i < small_n; ++i)
      if (std::abs(y[i] - loops * std::sqrt(x[i])) > 1e-6 * loops * (1 + std::sqrt(x[i])))
        return false;
    return true;
  }
};

template <class Loops>
void measure_small(benchmark::State& st, Loops&& loops) {
  small_arrays d;
  for (auto _ : st) loops(d);
  if (!d.ok(static_cast<double>(st.iterations()) * small_loops))
    st.SkipWithError("wrong result: y[i] != loops * sqrt(x[i])");
  st.SetItemsProcessed(st.iterations() * small_loops * static_cast<std::int64_t>(small_n));
}

// ---- unbalanced ----------------------------------------------------------------------

constexpr std::size_t unbalanced_n = 20'000;

double unbalanced_element(std::size_t i) {
  double x = static_cast<double>(i);
  for (std::size_t r = 0; r < i / 4; ++r) x = x * 0.999999 + 1e-3;
  return x;
}

const std::vector<double>& unbalanced_expected() {
  static const std::vector<double> want = [] {
    std::vector<double> v(unbalanced_n);
    for (std::size_t i = 0; i < unbalanced_n; ++i) v[i] = unbalanced_element(i);
    return v;
  }();
  return want;
}

template <class Loop>
void measure_unbalanced(benchmark::State& st, Loop&& loop) {
  std::vector<double> out(unbalanced_n);
  for (auto _ : st) loop(out);
  if (out != unbalanced_expected()) st.SkipWithError("wrong result");
}

[[maybe_unused]] const bool registered = [] {
  const bench::run_options o{.min_time = 0.3};
  bench::add("loop_triad", "serial", o, [](benchmark::State& st, int) {
    measure_triad(st, [](triad_arrays& d) { d.run(0, triad_n); });
  });
  bench::add("loop_triad", "cohort", o, [](benchmark::State& st, int workers) {
    cohort::scheduler s({.workers = static_cast<std::size_t>(workers), .name = "bench"});
    measure_triad(st, [&](triad_arrays& d) {
      double* __restrict pa = d.a.data();
      const double* __restrict pb = d.b.data();
      const double* __restrict pc = d.c.data();
      cohort::for_each_index(s, std::size_t{0}, triad_n,
                             [=](std::size_t i) { pa[i] = pb[i] + k * pc[i]; });
    });
  });
  bench::add("loop_triad", "cohort_chunk", o, [](benchmark::State& st, int workers) {
    cohort::scheduler s({.workers = static_cast<std::size_t>(workers), .name = "bench"});
    measure_triad(st, [&](triad_arrays& d) {
      cohort::for_each_chunk(s, std::size_t{0}, triad_n,
                             [&](std::size_t lo, std::size_t hi) { d.run(lo, hi); });
    });
  });
  bench::add("loop_triad", "tbb", o, [](benchmark::State& st, int workers) {
    bench::tbb_pool p(workers);
    measure_triad(st, [&](triad_arrays& d) {
      p.arena.execute([&] {
        tbb::parallel_for(tbb::blocked_range<std::size_t>(0, triad_n),
                          [&](const auto& r) { d.run(r.begin(), r.end()); });
      });
    });
  });
  bench::add("loop_triad", "omp", o, [](benchmark::State& st, int workers) {
    measure_triad(st, [&](triad_arrays& d) {
      double* __restrict pa = d.a.data();
      const double* __restrict pb = d.b.data();
      const double* __restrict pc = d.c.data();
      omp_set_num_threads(workers);
#pragma omp parallel for schedule(static)
      for (std::size_t i = 0; i < triad_n; ++i) pa[i] = pb[i] + k * pc[i];
    });
  });

  const bench::run_options small_o{.unit = benchmark::kMicrosecond, .min_time = 0.3};
  bench::add("loop_small", "serial", small_o, [](benchmark::State& st, int) {
    measure_small(st, [](small_arrays& d) {
      for (int l = 0; l < small_loops; ++l)
        for (std::size_t i = 0; i < small_n; ++i) d.element(i);
    });
  });
  bench::add("loop_small", "cohort", small_o, [](benchmark::State& st, int workers) {
    cohort::scheduler s({.workers = static_cast<std::size_t>(workers), .name = "bench"});
    measure_small(st, [&](small_arrays& d) {
      cohort::gather(s, [&] {  // the 100 loops run inside the pool, as in a TBB arena
        for (int l = 0; l < small_loops; ++l)
          cohort::for_each_index(std::size_t{0}, small_n, [&](std::size_t i) { d.element(i); });
      });
    });
  });
  bench::add("loop_small", "tbb", small_o, [](benchmark::State& st, int workers) {
    bench::tbb_pool p(workers);
    measure_small(st, [&](small_arrays& d) {
      p.arena.execute([&] {
        for (int l = 0; l < small_loops; ++l)
          tbb::parallel_for(tbb::blocked_range<std::size_t>(0, small_n), [&](const auto& r) {
            for (std::size_t i = r.begin(); i != r.end(); ++i) d.element(i);
          });
      });
    });
  });

  const bench::run_options unbalanced_o{.min_time = 0.3};
  bench::add("loop_unbalanced", "serial", unbalanced_o, [](benchmark::State& st, int) {
    measure_unbalanced(st, [](std::vector<double>& out) {
      for (std::size_t i = 0; i < unbalanced_n; ++i) out[i] = unbalanced_element(i);
    });
  });
  bench::add("loop_unbalanced", "cohort", unbalanced_o, [](benchmark::State& st, int workers) {
    cohort::scheduler s({.workers = static_cast<std::size_t>(workers), .name = "bench"});
    measure_unbalanced(st, [&](std::vector<double>& out) {
      cohort::for_each_index(s, std::size_t{0}, unbalanced_n,
                             [&](std::size_t i) { out[i] = unbalanced_element(i); });
    });
  });
  bench::add("loop_unbalanced", "tbb", unbalanced_o, [](benchmark::State& st, int workers) {
    bench::tbb_pool p(workers);
    measure_unbalanced(st, [&](std::vector<double>& out) {
      p.arena.execute([&] {
        tbb::parallel_for(tbb::blocked_range<std::size_t>(0, unbalanced_n), [&](const auto& r) {
          for (std::size_t i = r.begin(); i != r.end(); ++i) out[i] = unbalanced_element(i);
        });
      });
    });
  });
  return true;
}();

}  // namespace
