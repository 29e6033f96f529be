// SPDX-License-Identifier: Apache-2.0
// UTS, unbalanced tree search: count the nodes of a random tree that is only known by
// exploring it, one task per node. T1-like: the number of children of a node is
// geometric with mean 4 (so a fifth of the nodes are leaves and whole subtrees end
// early), capped at 64, and the tree stops at depth 10. The randomness is a hash of the
// node's id (splitmix64), so every implementation explores the same tree of 2,380,082
// nodes. Little work per node: this measures load balancing under irregular parallelism.
//
// cohort        gather over the child indices (a range), sum the vector
// cohort_group  task_group: a spawn per child with its handle, join, sum
// tbb           tbb::task_group: a run per child writing into an array, wait
// omp           a #pragma omp task per child + taskwait
#include <cohort/cohort.hpp>

#include <oneapi/tbb/task_group.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <ranges>

#include "common.hpp"

namespace {

constexpr double mean_children = 4.0;
constexpr int max_children = 64;
constexpr int max_depth = 10;
constexpr std::uint64_t root_id = 3;
constexpr long expected_nodes = 2'380'082;

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

struct node {
  std::uint64_t id;
  int depth;

  int children() const {
    if (depth >= max_depth) return 0;
    // P(k) = p (1-p)^k with p = 1 / (1 + mean): inverse transform of u in (0, 1).
    static const double log_q = std::log(1.0 - 1.0 / (1.0 + mean_children));
    const double u = (static_cast<double>(splitmix64(id) >> 11) + 0.5) * 0x1p-53;
    return std::min(max_children, static_cast<int>(std::log(u) / log_q));
  }
  node child(int i) const {
    return {splitmix64(id ^ splitmix64(static_cast<std::uint64_t>(i) + 1)), depth + 1};
  }
};

long uts_serial(const node& n) {
  long count = 1;
  const int k = n.children();
  for (int i = 0; i < k; ++i) count += uts_serial(n.child(i));
  return count;
}

long uts_cohort(const node& n) {
  const int k = n.children();
  if (k == 0) return 1;
  const std::vector<long> counts =
      cohort::gather(std::views::iota(0, k), [&](int i) { return uts_cohort(n.child(i)); });
  return std::accumulate(counts.begin(), counts.end(), 1L);
}

long uts_cohort_group(const node& n) {
  const int k = n.children();
  if (k == 0) return 1;
  cohort::task_group g;
  std::array<cohort::task<long>, max_children> children;
  for (int i = 0; i < k; ++i)
    children[i] = g.spawn([c = n.child(i)] { return uts_cohort_group(c); });
  g.join();
  long count = 1;
  for (int i = 0; i < k; ++i) count += children[i].get();
  return count;
}

long uts_tbb(const node& n) {
  const int k = n.children();
  if (k == 0) return 1;
  std::array<long, max_children> counts;
  tbb::task_group g;
  for (int i = 0; i < k; ++i) g.run([&counts, i, c = n.child(i)] { counts[i] = uts_tbb(c); });
  g.wait();
  return std::accumulate(counts.begin(), counts.begin() + k, 1L);
}

long uts_omp(const node& n) {
  const int k = n.children();
  if (k == 0) return 1;
  std::array<long, max_children> counts;
  for (int i = 0; i < k; ++i) {
    const node c = n.child(i);
#pragma omp task shared(counts) firstprivate(i, c)
    counts[i] = uts_omp(c);
  }
#pragma omp taskwait
  return std::accumulate(counts.begin(), counts.begin() + k, 1L);
}

[[maybe_unused]] const bool registered = [] {
  const bench::run_options o{.min_time = 0.3};
  const node root{root_id, 0};
  bench::add("uts", "serial", o, [=](benchmark::State& st, int) {
    for (auto _ : st) {
      const long r = uts_serial(root);
      if (!bench::check(st, r, expected_nodes)) break;
    }
  });
  bench::add("uts", "cohort", o, [=](benchmark::State& st, int workers) {
    cohort::scheduler s({.workers = static_cast<std::size_t>(workers), .name = "bench"});
    for (auto _ : st) {
      auto [r] = cohort::gather(s, [=] { return uts_cohort(root); });
      if (!bench::check(st, r, expected_nodes)) break;
    }
  });
  bench::add("uts", "cohort_group", o, [=](benchmark::State& st, int workers) {
    cohort::scheduler s({.workers = static_cast<std::size_t>(workers), .name = "bench"});
    for (auto _ : st) {
      auto [r] = cohort::gather(s, [=] { return uts_cohort_group(root); });
      if (!bench::check(st, r, expected_nodes)) break;
    }
  });
  bench::add("uts", "tbb", o, [=](benchmark::State& st, int workers) {
    bench::tbb_pool p(workers);
    for (auto _ : st) {
      long r = 0;
      p.arena.execute([&] { r = uts_tbb(root); });
      if (!bench::check(st, r, expected_nodes)) break;
    }
  });
  bench::add("uts", "omp", o, [=](benchmark::State& st, int workers) {
    for (auto _ : st) {
      long r = 0;
      bench::omp_single(workers, [&] { r = uts_omp(root); });
      if (!bench::check(st, r, expected_nodes)) break;
    }
  });
  return true;
}();

}  // namespace
