// SPDX-License-Identifier: Apache-2.0
// nqueens(n): count the placements of n queens on an n x n board, with one task per
// placement of a queen (each valid square of the next row), n = 10, 11, 12 (724, 2680
// and 14200 solutions; about 35 thousand, 166 thousand and 856 thousand tasks). The tree
// is irregular: the number of children varies from node to node.
//
// cohort        gather over the valid columns of the next row (a range), sum the vector
// cohort_group  task_group: a spawn per valid column with its handle, join, sum
// tbb           tbb::task_group: a run per valid column writing into an array, wait
// omp           a #pragma omp task per valid column + taskwait
#include <cohort/cohort.hpp>

#include <oneapi/tbb/task_group.h>

#include <array>
#include <cstdlib>
#include <numeric>
#include <span>

#include "common.hpp"

namespace {

constexpr int max_n = 16;

// board[r] is the column of the queen in row r, for the rows placed so far.
struct board {
  std::array<signed char, max_n> cols{};
  int rows = 0;

  bool allows(int col) const {
    for (int r = 0; r < rows; ++r) {
      const int d = cols[r] - col;
      if (d == 0 || std::abs(d) == rows - r) return false;
    }
    return true;
  }
  board with(int col) const {
    board b = *this;
    b.cols[rows] = static_cast<signed char>(col);
    ++b.rows;
    return b;
  }
};

// The columns where the next row's queen may go.
struct moves {
  std::array<signed char, max_n> cols{};
  int count = 0;
  moves(const board& b, int n) {
    for (int c = 0; c < n; ++c)
      if (b.allows(c)) cols[count++] = static_cast<signed char>(c);
  }
  std::span<const signed char> all() const {
    return {cols.data(), static_cast<std::size_t>(count)};
  }
};

long nq_serial(const board& b, int n) {
  if (b.rows == n) return 1;
  long sum = 0;
  for (signed char c : moves(b, n).all()) sum += nq_serial(b.with(c), n);
  return sum;
}

long nq_cohort(const board& b, int n) {
  if (b.rows == n) return 1;
  const moves m(b, n);
  const std::vector<long> counts =
      cohort::gather(m.all(), [&](signed char c) { return nq_cohort(b.with(c), n); });
  return std::accumulate(counts.begin(), counts.end(), 0L);
}

long nq_cohort_group(const board& b, int n) {
  if (b.rows == n) return 1;
  const moves m(b, n);
  cohort::task_group g;
  std::array<cohort::task<long>, max_n> children;
  for (int i = 0; i < m.count; ++i) {
    children[i] = g.spawn([child = b.with(m.cols[i]), n] { return nq_cohort_group(child, n); });
  }
  g.join();
  long sum = 0;
  for (int i = 0; i < m.count; ++i) sum += children[i].get();
  return sum;
}

long nq_tbb(const board& b, int n) {
  if (b.rows == n) return 1;
  const moves m(b, n);
  std::array<long, max_n> counts{};
  tbb::task_group g;
  for (int i = 0; i < m.count; ++i) {
    g.run([&counts, i, child = b.with(m.cols[i]), n] { counts[i] = nq_tbb(child, n); });
  }
  g.wait();
  return std::accumulate(counts.begin(), counts.begin() + m.count, 0L);
}

long nq_omp(const board& b, int n) {
  if (b.rows == n) return 1;
  const moves m(b, n);
  std::array<long, max_n> counts{};
  for (int i = 0; i < m.count; ++i) {
    const board child = b.with(m.cols[i]);
#pragma omp task shared(counts) firstprivate(i, child, n)
    counts[i] = nq_omp(child, n);
  }
#pragma omp taskwait
  return std::accumulate(counts.begin(), counts.begin() + m.count, 0L);
}

void register_nqueens(int n, long want) {
  const std::string w = "nqueens" + std::to_string(n);
  const bench::run_options o{.min_time = 0.2};
  bench::add(w, "serial", o, [=](benchmark::State& st, int) {
    for (auto _ : st) {
      const long r = nq_serial(board{}, n);
      if (!bench::check(st, r, want)) break;
    }
  });
  bench::add(w, "cohort", o, [=](benchmark::State& st, int workers) {
    cohort::scheduler s({.workers = static_cast<std::size_t>(workers), .name = "bench"});
    for (auto _ : st) {
      auto [r] = cohort::gather(s, [=] { return nq_cohort(board{}, n); });
      if (!bench::check(st, r, want)) break;
    }
  });
  bench::add(w, "cohort_group", o, [=](benchmark::State& st, int workers) {
    cohort::scheduler s({.workers = static_cast<std::size_t>(workers), .name = "bench"});
    for (auto _ : st) {
      auto [r] = cohort::gather(s, [=] { return nq_cohort_group(board{}, n); });
      if (!bench::check(st, r, want)) break;
    }
  });
  bench::add(w, "tbb", o, [=](benchmark::State& st, int workers) {
    bench::tbb_pool p(workers);
    for (auto _ : st) {
      long r = 0;
      p.arena.execute([&] { r = nq_tbb(board{}, n); });
      if (!bench::check(st, r, want)) break;
    }
  });
  bench::add(w, "omp", o, [=](benchmark::State& st, int workers) {
    for (auto _ : st) {
      long r = 0;
      bench::omp_single(workers, [&] { r = nq_omp(board{}, n); });
      if (!bench::check(st, r, want)) break;
    }
  });
}

[[maybe_unused]] const bool registered = [] {
  register_nqueens(10, 724);
  register_nqueens(11, 2680);
  register_nqueens(12, 14200);
  return true;
}();

}  // namespace
