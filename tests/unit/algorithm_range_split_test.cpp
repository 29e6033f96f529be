// SPDX-License-Identifier: Apache-2.0
// The shared range splitter (detail/range_split.hpp) and gather(range) on top of it.
#include <cohort/algorithm.hpp>
#include <cohort/gather.hpp>
#include <cohort/scheduler.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <numeric>
#include <ranges>
#include <thread>
#include <utility>
#include <vector>

#include "test_support.hpp"

namespace {

using cohort::detail::splitter;

// The pieces a splitter makes of [0, n), cutting serially (nothing stolen).
std::vector<std::pair<std::size_t, std::size_t>> pieces(splitter sp, std::size_t lo,
                                                        std::size_t hi) {
  std::size_t mid = 0;
  splitter right = sp;
  if (!sp.split(lo, hi, false, mid, right)) return {{lo, hi}};
  auto left = pieces(sp, lo, mid);
  auto rest = pieces(right, mid, hi);
  left.insert(left.end(), rest.begin(), rest.end());
  return left;
}

TEST(range_split, static_split_makes_one_contiguous_piece_per_worker) {
  for (std::size_t workers : {1, 2, 3, 5, 8}) {
    auto p = pieces(splitter::static_parts(workers), 0, 1000);
    ASSERT_EQ(p.size(), workers);
    EXPECT_EQ(p.front().first, 0u);
    EXPECT_EQ(p.back().second, 1000u);
    for (std::size_t k = 0; k < p.size(); ++k) {
      if (k > 0) {
        EXPECT_EQ(p[k].first, p[k - 1].second);
      }
      const std::size_t len = p[k].second - p[k].first;
      EXPECT_GE(len, 1000 / workers - 1);
      EXPECT_LE(len, 1000 / workers + 1);
    }
  }
  EXPECT_EQ(pieces(splitter::static_parts(4), 0, 2).size(), 2u);  // never an empty piece
}

TEST(range_split, fixed_grain_tree_depends_on_n_and_grain_alone) {
  auto p = pieces(splitter::fixed(100), 0, 1001);
  for (auto [lo, hi] : p) EXPECT_LE(hi - lo, 100u);
  EXPECT_EQ(p.size(), 16u);
  // Stolen or not, a fixed splitter cuts the same way.
  splitter a = splitter::fixed(100), b = splitter::fixed(100), ra = a, rb = b;
  std::size_t ma = 0, mb = 0;
  ASSERT_TRUE(a.split(0, 1001, false, ma, ra));
  ASSERT_TRUE(b.split(0, 1001, true, mb, rb));
  EXPECT_EQ(ma, mb);
}

TEST(range_split, adaptive_cuts_about_log2_workers_levels_unless_stolen) {
  auto p = pieces(splitter::adaptive(4), 0, 1 << 20);
  EXPECT_GE(p.size(), 4u);
  EXPECT_LE(p.size(), 16u);
  // A stolen piece starts over: it is cut again although its budget ran out.
  splitter sp = splitter::adaptive(4);
  sp.budget = 0;
  splitter right = sp;
  std::size_t mid = 0;
  EXPECT_FALSE(sp.split(0, 1000, false, mid, right));
  EXPECT_TRUE(sp.split(0, 1000, true, mid, right));
  EXPECT_GE(right.budget, 2u);
}

TEST(range_split, adaptive_with_a_user_grain_caps_the_pieces) {
  auto p = pieces(splitter::adaptive(2, 64), 0, 10'000);
  for (auto [lo, hi] : p) EXPECT_LE(hi - lo, 64u);
}

TEST(range_split, a_blocked_element_leaves_the_rest_of_the_loop_to_the_other_worker) {
  // Element 0 waits (bounded) until the last element ran: only a loop that was cut and
  // handed to the second worker can finish in time, whatever the OS scheduling.
  cohort::scheduler s({.workers = 2, .name = "ub"});
  for (std::size_t n : {std::size_t{2}, std::size_t{1000}, std::size_t{1'000'000}}) {
    std::atomic<bool> last_ran{false};
    std::atomic<bool> waited_in_vain{false};
    cohort::for_each_index(s, std::size_t{0}, n, [&](std::size_t i) {
      if (i == n - 1) last_ran = true;
      if (i == 0 && !cohort_test::poll_until([&] { return last_ran.load(); }))
        waited_in_vain = true;
    });
    EXPECT_FALSE(waited_in_vain.load()) << "n=" << n << ": the loop was not shared";
  }
}

TEST(range_split, a_long_leaf_offers_its_rest_to_a_hungry_thief) {
  // With 2 workers the adaptive splitter makes [0, n/4) one leaf of the worker that
  // started the loop. Its elements are slow (1 ms each, up to n/4 s in all) until another
  // thread runs one of them; the rest of the loop is instant, so the other worker turns
  // hungry early. Only a leaf that offers what it has left (run_offering) lets the second
  // worker into [0, n/4); one that runs whole never does.
  cohort::scheduler s({.workers = 2, .name = "of"});
  const std::size_t n = 4000;
  std::atomic<std::thread::id> owner{};
  std::atomic<bool> shared{false};
  std::atomic<std::size_t> ran{0};
  cohort::for_each_index(s, std::size_t{0}, n, [&](std::size_t i) {
    ran.fetch_add(1, std::memory_order_relaxed);
    if (i >= n / 4) return;
    if (i == 0)
      owner = std::this_thread::get_id();
    else if (owner.load() != std::thread::id{} && std::this_thread::get_id() != owner.load())
      shared = true;
    if (!shared.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  EXPECT_EQ(ran.load(), n);
  EXPECT_TRUE(shared.load()) << "the first quarter ran on one thread only";
}

// gather(range) with bool results once stored them in a std::vector<bool>: neighbouring
// results share a word, and two workers writing neighbouring bits lost one of the writes.
TEST(gather_range, bool_results_are_not_packed_across_threads) {
  cohort::scheduler s({.workers = 2, .name = "gb"});
  const int n = 1000;
  const int runs = static_cast<int>(cohort_test::scaled(2000, 200));
  // A vector, not std::views::iota: clang 14 cannot compile libstdc++ 12's views.
  std::vector<int> indexes(static_cast<std::size_t>(n));
  std::iota(indexes.begin(), indexes.end(), 0);
  for (int run = 0; run < runs; ++run) {
    std::vector<bool> got =
        cohort::gather(s, indexes, [](int i) { return i % 2 == 0 || i % 7 == 3; });
    ASSERT_EQ(got.size(), static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i)
      ASSERT_EQ(got[static_cast<std::size_t>(i)], i % 2 == 0 || i % 7 == 3)
          << "run " << run << ": result " << i << " lost";
  }
}

}  // namespace
