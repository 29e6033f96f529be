// SPDX-License-Identifier: Apache-2.0
// cohort::mpi load balance: items whose cost grows with their index (a static split gives
// the last rank most of the work) finish within 1.15x of the ideal makespan when handed
// out dynamically, and sooner than a static split would. When ranks outnumber cores, the
// wall-clock makespan measures the machine's scheduler more than ours (a rank waits for
// a core between two items), so there the test checks the distribution itself: the
// busiest rank's share of the work.
#include <cohort/mpi.hpp>
#include <cohort/scheduler.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include "mpi_test_support.hpp"

namespace mpi = cohort::mpi;
using namespace cohort_mpi_test;

// A timing bound on a shared 2-core machine: up to three attempts, every rank agreeing on
// the verdict; a distribution that is unbalanced every time still fails.
TEST(MpiBalance, SkewedCostsFinishNearTheIdealAndBeforeAStaticSplit) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    const bool last = attempt == 2;
    constexpr std::size_t n = 200;
    std::vector<std::int64_t> cost_us(n, 0);  // measured on the rank that ran the item
    std::vector<std::int64_t> ran_on(n, 0);   // 1 + the rank that ran it
    MPI_Barrier(MPI_COMM_WORLD);
    const std::int64_t start = now_us();
    mpi::for_each(n, [&](std::size_t i) {
      const std::int64_t t0 = now_us();
      std::this_thread::sleep_for(std::chrono::microseconds(30 * (i + 1)));  // 30 us .. 6 ms
      cost_us[i] = now_us() - t0;
      ran_on[i] = mpi::rank() + 1;
    });
    const std::int64_t end = now_us();
    const auto costs = all_sum(cost_us);
    const auto runner = all_sum(ran_on);
    const std::int64_t makespan = all_max(end) - all_min(start);
    const int ranks = mpi::size();
    const std::size_t workers = cohort::default_scheduler().workers();  // per rank (CI: 1)
    std::int64_t total = 0;
    for (auto c : costs) total += c;
    const double ideal = double(total) / double(ranks * workers);
    std::int64_t static_split = 0;  // one contiguous block per rank, as MPI codes often do
    for (int r = 0; r < ranks; ++r) {
      std::int64_t block = 0;
      for (std::size_t i = n * r / ranks; i < n * (r + 1) / ranks; ++i) block += costs[i];
      static_split = std::max(static_split, block);
    }
    std::vector<std::int64_t> busy(static_cast<std::size_t>(ranks), 0);  // work per rank
    for (std::size_t i = 0; i < n; ++i) busy[static_cast<std::size_t>(runner[i] - 1)] += costs[i];
    const std::int64_t busiest = *std::max_element(busy.begin(), busy.end());
    if (mpi::rank() == 0)
      std::printf(
          "[ figures  ] np %d x %zu workers: makespan %.1f ms, ideal %.1f ms (%.3fx), busiest "
          "rank %.3fx, static split %.1f ms (%.3fx)\n",
          ranks, workers, makespan / 1e3, ideal / 1e3, makespan / ideal, busiest / ideal,
          static_split / 1e3, static_split / ideal);
    // 1.15x ideal is the bound. Oversubscribed, the measure is the busiest rank's
    // work (the distribution), not the wall clock (see the top of the file), and 1.3x: a
    // rank starved of a core rightly takes fewer items, which loads the others (a static
    // split's busiest rank carries ~1.7x).
    const std::int64_t measured = oversubscribed() ? busiest : makespan;
    const double limit = oversubscribed() ? 1.3 : 1.15;
    const bool ok = double(measured) <= limit * ideal && (ranks == 1 || measured < static_split);
    if (all_min(ok ? 1 : 0) == 1) return;
    if (!last) continue;
    EXPECT_LE(double(measured), limit * ideal) << (oversubscribed() ? "busiest rank" : "makespan");
    if (ranks > 1) {
      EXPECT_LT(measured, static_split);
    }
  }
}
